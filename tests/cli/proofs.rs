//! Single-document proofs: `prove` and `verify-proof`.

use std::fs;

use crate::common::Workspace;

fn sealed_workspace() -> Workspace {
    let ws = Workspace::new();
    ws.write("case/report.txt", "2,442 children were taken to Belarus.\n");
    ws.write("case/other.txt", "another document\n");
    ws.add(&["case"]);
    ws.seal();
    ws
}

fn prove(ws: &Workspace) -> serde_json::Value {
    ws.cmd()
        .args(["prove", "case/report.txt", "--out", "proof.json"])
        .assert()
        .success();
    let text = fs::read_to_string(ws.path("proof.json")).expect("proof file");
    serde_json::from_str(&text).expect("proof JSON")
}

fn verify_proof(ws: &Workspace, document: &str, trusted: bool) -> (i32, serde_json::Value) {
    let mut cmd = ws.cmd();
    cmd.args(["verify-proof", "proof.json", document, "--json"]);
    if trusted {
        cmd.args(["--trust", "signer.pub"]);
    } else {
        cmd.arg("--integrity-only");
    }
    let out = cmd.output().expect("run verify-proof");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!("no JSON: {}", String::from_utf8_lossy(&out.stderr));
    });
    (out.status.code().unwrap_or(-1), report)
}

fn codes(report: &serde_json::Value) -> Vec<String> {
    Workspace::problem_codes(report)
}

#[test]
fn a_proof_verifies_the_document_it_was_made_for() {
    let ws = sealed_workspace();
    let proof = prove(&ws);
    assert_eq!(proof["format"], "evidentia-proof/2");
    let (code, report) = verify_proof(&ws, "case/report.txt", true);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["signers_authenticated"], true);
    assert_eq!(report["verdict"], "verified");
    assert_eq!(report["path"], "case/report.txt");
    // Integrity only: intact (exit 3, never 0), and it says who signed is not proven.
    let (code, report) = verify_proof(&ws, "case/report.txt", false);
    assert_eq!(code, 3, "{report}");
    assert_eq!(report["verdict"], "intact-unauthenticated");
    assert!(report["not_proven"][0]
        .as_str()
        .unwrap_or("")
        .contains("who signed"));
}

#[test]
fn another_document_or_an_altered_copy_fails() {
    let ws = sealed_workspace();
    prove(&ws);
    let (code, report) = verify_proof(&ws, "case/other.txt", true);
    assert_eq!(code, 1);
    assert_eq!(codes(&report), vec!["content-mismatch"]);
    ws.write("copy.txt", "2,442 children were taken to Belarus!\n");
    let (code, report) = verify_proof(&ws, "copy.txt", true);
    assert_eq!(code, 1);
    assert_eq!(codes(&report), vec!["content-mismatch"]);
}

#[test]
fn a_tampered_proof_fails() {
    let ws = sealed_workspace();
    let mut proof = prove(&ws);
    // Swap in a proof hash that does not belong.
    proof["record"]["proof"][0] = serde_json::json!("00".repeat(32));
    fs::write(ws.path("proof.json"), proof.to_string()).expect("write");
    let (code, report) = verify_proof(&ws, "case/report.txt", true);
    assert_eq!(code, 1);
    assert!(
        codes(&report).contains(&"proof-invalid".to_string()),
        "{report}"
    );

    let mut proof = prove_again(&ws);
    let text = proof["checkpoint"]
        .as_str()
        .unwrap_or("")
        .replace("\n2\n", "\n3\n");
    proof["checkpoint"] = serde_json::json!(text);
    fs::write(ws.path("proof.json"), proof.to_string()).expect("write");
    let (code, report) = verify_proof(&ws, "case/report.txt", true);
    assert_eq!(code, 1, "{report}");
}

fn prove_again(ws: &Workspace) -> serde_json::Value {
    fs::remove_file(ws.path("proof.json")).expect("remove");
    prove(ws)
}

#[test]
fn an_untrusted_signer_fails_with_a_trust_file() {
    let ws = sealed_workspace();
    prove(&ws);
    ws.cmd()
        .args(["key", "generate", "--out", "stranger", "--unencrypted"])
        .assert()
        .success();
    let out = ws
        .cmd()
        .args([
            "verify-proof",
            "proof.json",
            "case/report.txt",
            "--trust",
            "stranger.pub",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("signature-missing"));
}

#[test]
fn prove_refuses_unsealed_or_unknown_documents() {
    let ws = sealed_workspace();
    ws.write("late.txt", "added after the seal\n");
    ws.add(&["late.txt"]);
    let out = ws
        .cmd()
        .args(["prove", "late.txt", "--out", "p.json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not sealed"));
    let out = ws
        .cmd()
        .args(["prove", "nothing-here.txt", "--out", "p.json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(!ws.path("p.json").exists());
}

#[test]
fn verify_proof_needs_a_trust_file_or_integrity_only() {
    let ws = sealed_workspace();
    prove(&ws);
    ws.write("more.txt", "more\n");
    ws.add(&["more.txt"]);
    ws.seal();
    ws.cmd()
        .args(["prove", "consistency", "1", "2", "--out", "c.json"])
        .assert()
        .success();
    for args in [
        &["verify-proof", "proof.json", "case/report.txt"][..],
        &["verify-proof", "c.json"][..],
    ] {
        let (code, stdout, stderr) = ws.run(args);
        assert_eq!(code, 2, "{args:?}: {stdout}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(stderr.contains("--trust FILE"), "{stderr}");
        let mut integrity = args.to_vec();
        integrity.push("--integrity-only");
        let (code, stdout, _) = ws.run(&integrity);
        assert_eq!(code, 3, "{integrity:?}: {stdout}");
        assert!(
            stdout.contains("INTACT BUT SIGNER NOT AUTHENTICATED"),
            "{stdout}"
        );
        assert!(!stdout.contains("VERIFIED"), "{stdout}");
        let mut trusted = args.to_vec();
        trusted.extend(["--trust", "signer.pub"]);
        let (code, stdout, _) = ws.run(&trusted);
        assert_eq!(code, 0, "{trusted:?}: {stdout}");
        assert!(stdout.contains("VERIFIED"), "{stdout}");
    }
}

/// verify-proof of case/report.txt with the trust file fails (exit 1) with problem `code`.
fn assert_refused(ws: &Workspace, code: &str) {
    let (exit, report) = verify_proof(ws, "case/report.txt", true);
    assert_eq!(exit, 1, "{report}");
    assert!(codes(&report).contains(&code.to_string()), "{report}");
}

fn write_proof(ws: &Workspace, proof: &serde_json::Value) {
    fs::write(
        ws.path("proof.json"),
        serde_json::to_vec_pretty(proof).expect("encode"),
    )
    .expect("write proof");
}

#[test]
fn a_retracted_document_is_proven_with_its_retraction_and_the_retraction_cannot_be_hidden() {
    let ws = Workspace::new();
    ws.write("case/report.txt", "2,442 children were taken to Belarus.\n");
    ws.add(&["case"]);
    ws.cmd()
        .args([
            "retract",
            "case/report.txt",
            "--reason",
            "misattributed source",
        ])
        .assert()
        .success();
    ws.seal();
    let proof = prove(&ws);
    assert_eq!(proof["retractions"].as_array().map(Vec::len), Some(1));
    let (code, report) = verify_proof(&ws, "case/report.txt", true);
    assert_eq!(code, 0, "{report}");
    let proven = report["proven"].to_string();
    assert!(proven.contains("RETRACTED"), "{report}");
    assert!(proven.contains("misattributed source"), "{report}");
    let text = ws
        .cmd()
        .args([
            "verify-proof",
            "proof.json",
            "case/report.txt",
            "--trust",
            "signer.pub",
        ])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&text.stdout).contains("RETRACTED"));

    // The forger drops the retraction: the signed reference map still lists it.
    let mut forged = proof.clone();
    forged["retractions"] = serde_json::json!([]);
    write_proof(&ws, &forged);
    assert_refused(&ws, "retraction-withheld");
    // ... and its completeness entry too: the chain no longer matches.
    for subject in forged["completeness"]["subjects"]
        .as_array_mut()
        .expect("subjects")
    {
        subject["entries"]
            .as_array_mut()
            .expect("entries")
            .retain(|e| e["kind"] != "retraction");
    }
    write_proof(&ws, &forged);
    assert_refused(&ws, "completeness-invalid");
    // ... or the whole section, relabelled as format 1.
    forged
        .as_object_mut()
        .expect("object")
        .remove("completeness");
    forged["format"] = "evidentia-proof/1".into();
    write_proof(&ws, &forged);
    assert_refused(&ws, "completeness-missing");
}

#[test]
fn a_revocation_dropped_from_a_proof_is_caught() {
    let ws = sealed_workspace();
    ws.cmd()
        .args(["key", "revoke", "signer.pub", "--reason", "stolen"])
        .assert()
        .success();
    ws.write("case/late.txt", "sealed by the thief\n");
    ws.add(&["case/late.txt"]);
    ws.seal();
    let mut proof = prove(&ws);
    let (code, report) = verify_proof(&ws, "case/report.txt", true);
    assert_eq!(
        code, 1,
        "the revoked key's checkpoint must not verify: {report}"
    );
    proof["key_records"] = serde_json::json!([]);
    write_proof(&ws, &proof);
    assert_refused(&ws, "key-record-withheld");
}

#[test]
fn a_proof_of_an_older_version_says_a_later_one_exists() {
    let ws = sealed_workspace();
    fs::copy(ws.path("case/report.txt"), ws.path("old-report.txt")).expect("keep v1");
    ws.write(
        "case/report.txt",
        "2,442 children; corrected figure follows.\n",
    );
    ws.add(&["case"]);
    ws.seal();
    // A proof of version 1 against the latest checkpoint: valid, and it says v1 was replaced.
    let old = fs::read(ws.path("old-report.txt")).expect("v1");
    let digest = evidentia::core::digest::Digest::of(&old);
    ws.cmd()
        .args(["prove", &digest.to_hex(), "--out", "proof.json"])
        .assert()
        .success();
    let (code, report) = verify_proof(&ws, "old-report.txt", true);
    assert_eq!(code, 0, "{report}");
    assert!(
        report["proven"]
            .to_string()
            .contains("1 later version(s) of 'case/report.txt' exist"),
        "{report}"
    );
}
