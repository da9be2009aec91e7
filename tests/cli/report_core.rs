//! The one verification model: archive verify, bundle verify, verify-proof and consistency
//! proofs report the same core (schema, verdict, checkpoint, findings with severity, proven,
//! not proven) in JSON, and render it with the same text lines.

use serde_json::Value;

use crate::common::Workspace;

/// Two checkpoints over three documents; a bundle, a document proof and a consistency proof.
fn sealed_twice() -> Workspace {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.write("case/b.txt", "Statement of witness B.\n");
    ws.add(&["case"]);
    ws.seal();
    ws.write("later/c.txt", "A later statement.\n");
    ws.add(&["later"]);
    ws.seal();
    for args in [
        &["export", "--all", "--out", "bundle"][..],
        &["prove", "case/a.txt", "--out", "proof.json"],
        &["prove", "consistency", "1", "2", "--out", "c12.json"],
    ] {
        let (code, stdout, stderr) = ws.run(args);
        assert_eq!(code, 0, "{args:?}: {stdout}{stderr}");
    }
    ws
}

/// Each verifying command, as (what, arguments before the trust choice).
const COMMANDS: [(&str, &[&str]); 4] = [
    ("archive", &["verify"]),
    ("bundle", &["verify", "bundle"]),
    (
        "document proof",
        &["verify-proof", "proof.json", "case/a.txt"],
    ),
    ("consistency proof", &["verify-proof", "c12.json"]),
];

fn run(ws: &Workspace, args: &[&str], trust: &[&str], json: bool) -> (i32, String) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend_from_slice(trust);
    if json {
        all.push("--json");
    }
    let (code, stdout, stderr) = ws.run(&all);
    assert!(stderr.is_empty() || code != 2, "{all:?}: {stderr}");
    (code, stdout)
}

#[test]
fn every_verifier_reports_the_same_core() {
    let ws = sealed_twice();
    let mut origins = Vec::new();
    for (what, args) in COMMANDS {
        let (code, stdout) = run(&ws, args, &["--trust", "signer.pub"], true);
        let report: Value = serde_json::from_str(&stdout).expect("JSON report");
        assert_eq!(code, 0, "{what}: {report}");
        assert_eq!(report["schema"], "evidentia-verification/1", "{what}");
        assert_eq!(report["verdict"], "verified", "{what}");
        assert_eq!(report["ok"], true, "{what}");
        origins.push(report["origin"].clone());
        // The checkpoint relied on: the latest (a proof is made against the latest too).
        let cp = &report["checkpoint"];
        assert_eq!(cp["number"], 2, "{what}: {cp}");
        assert_eq!(cp["text_sha256"].as_str().map(str::len), Some(71), "{what}");
        assert_eq!(cp["signatures"][0]["status"], "valid", "{what}: {cp}");
        assert_eq!(report["problems"], Value::Array(Vec::new()), "{what}");
        assert!(report["findings"].is_array(), "{what}");
        assert!(report["proven"].is_array() && report["not_proven"].is_array());
        let mut findings = report["findings"].as_array().into_iter().flatten();
        assert!(
            findings.all(|f| f["severity"] == "warning"),
            "{what}: {report}"
        );

        // Integrity only: intact (exit 3) for every command, and the text ends with the one
        // verdict headline.
        let (code, stdout) = run(&ws, args, &["--integrity-only"], true);
        let report: Value = serde_json::from_str(&stdout).expect("JSON report");
        assert_eq!(code, 3, "{what}: {report}");
        assert_eq!(report["verdict"], "intact-unauthenticated", "{what}");
        let (code, text) = run(&ws, args, &["--integrity-only"], false);
        assert_eq!(code, 3, "{what}: {text}");
        assert!(
            text.lines()
                .last()
                .is_some_and(|l| l.starts_with("INTACT BUT SIGNER NOT AUTHENTICATED:")),
            "{what}: {text}"
        );
    }
    assert!(
        origins.iter().all(|o| *o == origins[0] && o.is_string()),
        "{origins:?}"
    );
}

#[test]
fn findings_carry_their_severity_in_json_and_text() {
    let ws = sealed_twice();
    // A warning: with --integrity-only the archive says the signers were not authenticated.
    let (code, stdout) = run(&ws, &["verify"], &["--integrity-only"], true);
    assert_eq!(code, 3, "{stdout}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    let warning = report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["code"] == "signers-not-authenticated"))
        .unwrap_or_else(|| panic!("no warning finding: {report}"));
    assert_eq!(warning["severity"], "warning");
    assert_eq!(warning["item"], "checkpoints/");
    assert_eq!(report["warnings"][0], warning["detail"], "{report}");
    let (_, text) = run(&ws, &["verify"], &["--integrity-only"], false);
    assert!(
        text.contains("WARNING [signers-not-authenticated] signers were not authenticated"),
        "{text}"
    );

    // A problem: a disclosed document's bytes changed in the bundle (its manifests left
    // alone, so the bag check names it too); the document's finding is a problem and fails.
    let doc = find_document(&ws.path("bundle/data"), "Statement of witness A.\n");
    std::fs::write(doc, "Altered statement.\n").expect("alter");
    let (code, stdout) = run(&ws, &["verify", "bundle"], &["--trust", "signer.pub"], true);
    assert_eq!(code, 1, "{stdout}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    let problems: Vec<&Value> = report["findings"]
        .as_array()
        .map(|f| f.iter().filter(|f| f["severity"] == "problem").collect())
        .unwrap_or_default();
    assert!(!problems.is_empty(), "{report}");
    assert_eq!(
        problems.len(),
        report["problems"].as_array().map_or(0, Vec::len),
        "{report}"
    );
    assert!(
        Workspace::problem_codes(&report).contains(&"content-corrupt".to_string()),
        "{report}"
    );
    let (_, text) = run(
        &ws,
        &["verify", "bundle"],
        &["--trust", "signer.pub"],
        false,
    );
    // The document is named as a person knows it: logical path and digest.
    let named = "PROBLEM [content-corrupt] case/a.txt (sha256:";
    assert!(text.contains(named), "{text}");
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.starts_with("FAILED:")),
        "{text}"
    );
}

/// The file under `dir` holding exactly `contents`.
fn find_document(dir: &std::path::Path, contents: &str) -> std::path::PathBuf {
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.expect("walk bundle");
        if entry.file_type().is_file()
            && std::fs::read(entry.path()).is_ok_and(|b| b == contents.as_bytes())
        {
            return entry.path().to_path_buf();
        }
    }
    panic!("no file holds {contents:?}");
}
