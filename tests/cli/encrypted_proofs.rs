//! `verify-proof` of a document stored encrypted (issue 14): the file given may be the stored
//! ciphertext or the plaintext. A plaintext is checked against the signed plaintext digest, or,
//! when the record hides it (`--hide-digest`), against the commitment opened with the
//! recipient's identity; without the identity such a plaintext is NOT PROVABLE (exit 4), never
//! called a mismatch. Altered plaintext is caught either way.

use std::fs;

use serde_json::Value;

use crate::common::Workspace;
use crate::encryption::{age_identity, encrypted_archive, vector_identity, SECRET};

fn prove(ws: &Workspace) {
    let (code, _, stderr) = ws.run(&["prove", "secret.txt", "--out", "proof.json"]);
    assert_eq!(code, 0, "{stderr}");
}

pub(crate) fn verify_proof(ws: &Workspace, document: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec![
        "verify-proof",
        "proof.json",
        document,
        "--json",
        "--trust",
        "signer.pub",
    ];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = ws.run(&args);
    let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (code, report, stderr)
}

#[test]
fn the_plaintext_and_the_ciphertext_of_an_encrypted_document_both_verify() {
    let (ws, digest) = encrypted_archive(&[]);
    prove(&ws);
    let (code, report, stderr) = verify_proof(&ws, "secret.txt", &[]);
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(report["checked_as"], "plaintext", "{report}");
    assert!(report["proven"][0]
        .as_str()
        .is_some_and(|p| p.contains("exactly the plaintext")));
    fs::copy(ws.object_path(&digest), ws.path("stored.age")).expect("copy object");
    let (code, report, stderr) = verify_proof(&ws, "stored.age", &[]);
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(report["checked_as"], "ciphertext", "{report}");
    assert!(report["proven"][0]
        .as_str()
        .is_some_and(|p| p.contains("its plaintext was not checked")));
}

#[test]
fn an_altered_plaintext_is_caught() {
    let (ws, _) = encrypted_archive(&[]);
    prove(&ws);
    ws.write("secret.txt", SECRET.replace("W-017", "W-018"));
    let (code, report, stderr) = verify_proof(&ws, "secret.txt", &[]);
    assert_eq!(code, 1, "{report} {stderr}");
    assert_eq!(Workspace::problem_codes(&report), vec!["content-mismatch"]);
}

#[test]
fn a_hidden_digest_needs_the_identity_and_is_never_called_a_mismatch() {
    let (ws, _) = encrypted_archive(&["--hide-digest"]);
    prove(&ws);
    let (code, report, stderr) = verify_proof(&ws, "secret.txt", &[]);
    assert_eq!(code, 4, "{report} {stderr}");
    assert_eq!(report["verdict"], "not-provable", "{report}");
    assert!(Workspace::problem_codes(&report).is_empty(), "{report}");
    assert!(
        !report["proven"].to_string().contains("exactly"),
        "nothing claimed about the file: {report}"
    );
    assert!(report.to_string().contains("--identity"), "{report}");
    let identity = vector_identity();
    let (code, report, stderr) = verify_proof(&ws, "secret.txt", &["--identity", &identity]);
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(report["checked_as"], "plaintext", "{report}");
    // Altered plaintext: caught once the commitment is opened.
    ws.write("secret.txt", SECRET.replace("W-017", "W-018"));
    let (code, report, stderr) = verify_proof(&ws, "secret.txt", &["--identity", &identity]);
    assert_eq!(code, 1, "{report} {stderr}");
    assert_eq!(Workspace::problem_codes(&report), vec!["content-mismatch"]);
}

#[test]
fn a_wrong_identity_is_refused_as_usage() {
    let (ws, _) = encrypted_archive(&["--hide-digest"]);
    prove(&ws);
    age_identity(&ws, "other.txt");
    let (code, report, stderr) = verify_proof(&ws, "secret.txt", &["--identity", "other.txt"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(report, Value::Null, "no report, no accusation");
    assert!(
        stderr.contains("none of the identities in other.txt can decrypt"),
        "{stderr}"
    );
}
