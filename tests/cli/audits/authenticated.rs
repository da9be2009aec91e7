//! `diff` authenticates both versions before it compares them, and lists only records proven
//! against TO's signed root. Each forgery is built as an attacker would: every unsigned
//! manifest recomputed, so only signatures or the signed tree can catch it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// The codes of the problems a refused side was refused for (`diff --json`).
fn refusal_codes(report: &Value) -> Vec<String> {
    report["refused"]["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no refusal: {report}"))
        .iter()
        .map(|p| p["code"].as_str().expect("code").to_string())
        .collect()
}

/// `fork/`: a copy of the archive at checkpoint 1, grown and sealed by an attacker's fresh key
/// that claims the real signer's name.
fn signed_by_an_impostor(ws: &Workspace) {
    copy_dir(ws, "arc", "fork");
    ok(
        ws,
        &[
            "key",
            "generate",
            "--out",
            "impostor",
            "--signer",
            "signer",
            "--unencrypted",
        ],
    );
    ws.write("forged.txt", "A statement that was never made.\n");
    ok(ws, &["--archive", "fork", "add", "forged.txt"]);
    ok(ws, &["--archive", "fork", "seal", "--key", "impostor.key"]);
}

#[test]
fn diff_without_trust_is_refused_unless_integrity_only() {
    let ws = three_seals();
    let (code, stdout, stderr) = ws.run(&["diff", "1", "3"]);
    assert_eq!(code, 2, "{stdout} {stderr}");
    assert!(stderr.contains("--trust FILE"), "{stderr}");
    assert!(stderr.contains("--integrity-only"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");

    let args = ["diff", "1", "3", "--integrity-only", "--json"];
    let (code, stdout, stderr) = ws.run(&args);
    let report = parse_json(&args, &stdout, &stderr);
    assert_eq!(code, 3, "{report}");
    assert_eq!(report["append_only"], "proven", "{report}");
    assert_eq!(report["signers_authenticated"], false, "{report}");
    let (code, stdout, _) = ws.run(&["diff", "1", "3", "--integrity-only"]);
    assert_eq!(code, 3, "{stdout}");
    assert!(
        stdout.starts_with("append-only: proven for the presented data, signers NOT AUTHENTICATED"),
        "{stdout}"
    );
    // Control: with the trust file the same comparison is proven and authenticated.
    let (code, report) = diff_json(&ws, "1", "3");
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["signers_authenticated"], true, "{report}");
}

#[test]
fn diff_refuses_a_version_signed_by_an_impostor_key() {
    let ws = three_seals();
    signed_by_an_impostor(&ws);
    let (code, report) = diff_json(&ws, "1", "fork");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "not-compared", "{report}");
    assert_eq!(report["refused"]["label"], "fork", "{report}");
    assert!(
        refusal_codes(&report).contains(&"signature-missing".to_string()),
        "{report}"
    );
    let (code, text) = diff_text(&ws, "1", "fork");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("append-only: NOT COMPARED"), "{text}");
    assert!(!text.contains("forged.txt"), "{text}");
    assert!(!text.contains("append-only: proven"), "{text}");
    // Integrity-only cannot tell the impostor from the signer, and says so.
    let (code, stdout, _) = ws.run(&["diff", "1", "fork", "--integrity-only"]);
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.contains("signers NOT AUTHENTICATED"), "{stdout}");
}

#[test]
fn diff_require_counts_trusted_signers() {
    let ws = three_seals();
    let args = [
        "diff",
        "1",
        "3",
        "--json",
        "--trust",
        "signer.pub",
        "--require",
        "2",
    ];
    let (code, stdout, stderr) = ws.run(&args);
    let report = parse_json(&args, &stdout, &stderr);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "not-compared", "{report}");
    assert!(
        refusal_codes(&report).contains(&"signatures-insufficient".to_string()),
        "{report}"
    );
}

#[test]
fn a_conflict_between_unauthenticated_versions_accuses_nobody() {
    let ws = forked();
    let args = ["diff", "arc", "fork", "--integrity-only", "--json"];
    let (code, stdout, stderr) = ws.run(&args);
    let report = parse_json(&args, &stdout, &stderr);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "not-provable", "{report}");
    assert_eq!(report["equivocation"], Value::Null, "{report}");
    assert!(
        report["detail"]
            .as_str()
            .unwrap()
            .contains("NOT AUTHENTICATED"),
        "{report}"
    );
    let (code, stdout, _) = ws.run(&["diff", "arc", "fork", "--integrity-only"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(!stdout.contains("VIOLATED"), "{stdout}");
    assert!(!stdout.contains("EQUIVOCATION"), "{stdout}");
    // verify --since without a trust file: the fork fails the check, but no report accuses.
    let held = "arc/checkpoints/0000000003";
    let args = [
        "--archive",
        "fork",
        "verify",
        "--json",
        "--integrity-only",
        "--since",
        held,
    ];
    let (code, stdout, stderr) = ws.run(&args);
    let report = parse_json(&args, &stdout, &stderr);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["equivocation"],
        "{report}"
    );
    assert_eq!(report["equivocation"], Value::Null, "{report}");
}

#[test]
fn diff_refuses_an_archive_copy_whose_records_no_longer_match_its_tree() {
    let ws = three_seals();
    copy_dir(&ws, "arc", "early");
    // Record #2 (c.txt) is replaced in log/records by record #3 (d.txt); the tree files, which
    // still give the signed roots, are left alone.
    let mut records = ws.record_digests();
    let leaves = ws.leaf_hashes();
    let c_record = records[2];
    records[2] = records[3];
    ws.rewrite_log(&records, &leaves);
    let (code, report) = diff_json(&ws, "early", "arc");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "not-compared", "{report}");
    assert_eq!(report["refused"]["label"], "arc", "{report}");
    let (code, text) = diff_text(&ws, "early", "arc");
    assert_eq!(code, 1, "{text}");
    assert!(!text.contains("append-only: proven"), "{text}");
    assert!(!text.contains("new documents"), "{text}");
    // Even unauthenticated, the records are not the signed tree's: not compared.
    let (code, stdout, _) = ws.run(&["diff", "early", "arc", "--integrity-only"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(!stdout.contains(&c_record.to_hex()), "{stdout}");
    assert!(stdout.contains("NOT COMPARED"), "{stdout}");
}

/// A bundle of checkpoint 2 (3 records) of `three_seals` disclosing case/a.txt, with record
/// #3 (d.txt, sealed only in checkpoint 3) added by hand as if it were #2, and every manifest
/// recomputed.
fn bundle_with_an_unproven_record(ws: &Workspace) -> String {
    ok(
        ws,
        &[
            "export",
            "--out",
            "bundle",
            "--select",
            "case/a.txt",
            "--checkpoint",
            "2",
        ],
    );
    let extra = ws.record_digests()[3].to_hex();
    let bytes = fs::read(ws.object_path(&extra)).expect("record object");
    let bundle = ws.path("bundle");
    fs::write(bundle.join(format!("data/records/{extra}.cbor")), bytes).unwrap();
    let manifest = bundle.join("data/bundle.json");
    let mut json: Value = serde_json::from_slice(&fs::read(&manifest).unwrap()).unwrap();
    let proof = json["records"][0]["proof"].clone();
    json["records"]
        .as_array_mut()
        .expect("records")
        .push(serde_json::json!({"index": 2, "id": extra, "kind": "document", "proof": proof}));
    Workspace::overwrite(&manifest, serde_json::to_vec_pretty(&json).unwrap());
    crate::bundles::rebag(&bundle);
    extra
}

#[test]
fn diff_does_not_list_a_bundles_unproven_records() {
    let ws = three_seals();
    let extra = bundle_with_an_unproven_record(&ws);
    let (code, report) = diff_json(&ws, "1", "bundle");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "not-compared", "{report}");
    assert!(
        refusal_codes(&report).contains(&"proof-invalid".to_string()),
        "{report}"
    );
    let (code, text) = diff_text(&ws, "1", "bundle");
    assert_eq!(code, 1, "{text}");
    // The forged record is named as the fault, never listed as an addition.
    assert!(
        text.contains(&format!("PROBLEM [proof-invalid] record #2 ({extra})")),
        "{text}"
    );
    assert!(!text.contains("new documents"), "{text}");
    assert!(!text.contains("append-only: proven"), "{text}");
}

/// Runs `evidentia args` and fails the test if it has not finished within 30 seconds.
fn run_with_deadline(ws: &Workspace, args: &[&str]) -> (i32, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("evidentia"))
        .current_dir(ws.path(""))
        .env("EVIDENTIA_ARCHIVE", ws.archive())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            child.kill().expect("kill");
            panic!("evidentia {args:?} blocked on a FIFO");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[cfg(unix)]
#[test]
fn fifos_in_a_bundle_are_refused_without_blocking() {
    let ws = three_seals();
    ok(&ws, &["export", "--out", "clean", "--all"]);
    let record = ws.record_digests()[0].to_hex();
    for victim in [
        "data/keys/extra.pub".to_string(),
        format!("data/records/{record}.cbor"),
    ] {
        let _ = fs::remove_dir_all(ws.path("bundle"));
        copy_dir(&ws, "clean", "bundle");
        let path = ws.path(&format!("bundle/{victim}"));
        let _ = fs::remove_file(&path);
        let made = Command::new("mkfifo").arg(&path).status().expect("mkfifo");
        assert!(made.success(), "mkfifo {victim}");
        for extra in [&["--trust", "signer.pub"][..], &["--integrity-only"][..]] {
            let args = [&["diff", "1", "bundle"][..], extra].concat();
            let (code, text) = run_with_deadline(&ws, &args);
            assert_eq!(code, 1, "{victim}: {text}");
            assert!(text.contains("unsafe-entry"), "{victim}: {text}");
        }
    }
}
