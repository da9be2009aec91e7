//! Key lineage, built as a thief would with the real binary: a revoked or rotated-out key
//! rotating to a key the thief holds, one key rotated to two successors to fake two signers,
//! and the honest history of an archive sealed by one key and later by two. Each attack is
//! checked in the archive, in a bundle exported from it and in a single-document proof.

use super::*;
use crate::common::{hand_check, hand_check_codes, script_tools_present};

/// Whether a report's warnings mention a refused rotation.
fn rotation_refused(report: &Value) -> bool {
    report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .any(|w| w.as_str().unwrap_or("").starts_with("key-rotation-refused"))
}

/// Exports every document into `bundle/` and verifies it with `trust`, `--require N`; with one
/// signature required, docs/verify-bundle.py must reach the same exit code and problem codes.
fn verify_exported_bundle(ws: &Workspace, trust: &str, require: usize) -> (i32, Value) {
    ok(ws, &["export", "--out", "bundle", "--all"]);
    let required = require.to_string();
    let (code, stdout, stderr) = ws.run(&[
        "verify",
        "bundle",
        "--json",
        "--trust",
        trust,
        "--require",
        &required,
    ]);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("verify printed no JSON ({e}): {stdout} {stderr}"));
    if require == 1 && script_tools_present() {
        let (script_exit, text) = hand_check(&ws.path("bundle"), &ws.path(trust), None);
        assert_eq!(
            (script_exit, hand_check_codes(&text)),
            (code, Workspace::problem_codes(&report)),
            "verify-bundle.py and evidentia disagree (left: the script):\n{text}"
        );
    }
    (code, report)
}

/// Proves `document` and verifies the proof with `trust`.
fn verify_document_proof(ws: &Workspace, document: &str, trust: &str) -> (i32, Value) {
    ok(ws, &["prove", document, "--out", "proof.json"]);
    let (code, stdout, stderr) = ws.run(&[
        "verify-proof",
        "proof.json",
        document,
        "--json",
        "--trust",
        trust,
    ]);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("verify-proof printed no JSON ({e}): {stdout} {stderr}"));
    (code, report)
}

fn rotate(ws: &Workspace, old: &str, new: &str) -> String {
    let old = format!("{old}.key");
    let new = format!("{new}.pub");
    recorded(ws, &["key", "rotate", "--old", &old, "--new", &new])
}

#[test]
fn revoked_key_rotating_to_a_thief_key_gives_it_no_trust() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ws.seal();
    ok(
        &ws,
        &["key", "revoke", "signer.pub", "--reason", "laptop stolen"],
    );
    // The thief holds the stolen secret key: it endorses the thief's own key, which seals.
    generate_key(&ws, "thief");
    rotate(&ws, "signer", "thief");
    ws.write("forged.txt", "A forged statement.\n");
    add_one(&ws, &["forged.txt"]);
    ok(&ws, &["seal", "--key", "thief.key"]);

    let (code, report) = verify_with(&ws, "signer.pub", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["verdict"], "failed", "{report}");
    assert_eq!(
        problems(&report),
        [("signature-missing".to_string(), "checkpoint 2".to_string())]
    );
    assert_eq!(
        statuses(&report, 2),
        [("thief".into(), "unknown-key".into())]
    );
    assert!(rotation_refused(&report), "{report}");
    assert!(checkpoint_ok(&report, 1), "sealed before the revocation");

    let (code, report) = verify_exported_bundle(&ws, "signer.pub", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(Workspace::problem_codes(&report), ["signature-missing"]);
    assert!(rotation_refused(&report), "{report}");

    let (code, report) = verify_document_proof(&ws, "forged.txt", "signer.pub");
    assert_eq!(code, 1, "{report}");
    assert_eq!(Workspace::problem_codes(&report), ["signature-missing"]);
    assert!(rotation_refused(&report), "{report}");
}

#[test]
fn rotated_out_key_cannot_rotate_again() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ws.seal();
    generate_key(&ws, "successor");
    generate_key(&ws, "thief");
    rotate(&ws, "signer", "successor");
    // The old key, stolen after the honest rotation, endorses a second successor.
    rotate(&ws, "signer", "thief");
    ws.write("forged.txt", "A forged statement.\n");
    add_one(&ws, &["forged.txt"]);
    ok(&ws, &["seal", "--key", "thief.key"]);

    let (code, report) = verify_with(&ws, "signer.pub", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [("signature-missing".to_string(), "checkpoint 2".to_string())]
    );
    assert!(rotation_refused(&report), "{report}");

    let (code, report) = verify_exported_bundle(&ws, "signer.pub", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(Workspace::problem_codes(&report), ["signature-missing"]);

    let (code, report) = verify_document_proof(&ws, "forged.txt", "signer.pub");
    assert_eq!(code, 1, "{report}");
    assert_eq!(Workspace::problem_codes(&report), ["signature-missing"]);

    // The honest successor keeps the authority: its checkpoint verifies (no false accusation
    // of the successor), with the refused rotation still reported.
    ok(&ws, &["seal", "--key", "successor.key"]);
    let (code, report) = verify_with(&ws, "signer.pub", 1);
    assert_eq!(
        code, 1,
        "checkpoint 2 still has no trusted signer: {report}"
    );
    assert_eq!(statuses(&report, 3), [("successor".into(), "valid".into())]);
    assert!(checkpoint_ok(&report, 3), "{report}");
}

#[test]
fn one_key_rotated_to_two_successors_is_not_two_signers() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ws.seal();
    generate_key(&ws, "first");
    generate_key(&ws, "second");
    rotate(&ws, "signer", "first");
    rotate(&ws, "signer", "second");
    ws.write("b.txt", "Witness B.\n");
    add_one(&ws, &["b.txt"]);
    ok(&ws, &["seal", "--key", "first.key", "--key", "second.key"]);

    let (code, report) = verify_with(&ws, "signer.pub", 2);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [(
            "signatures-insufficient".to_string(),
            "checkpoint 2".to_string()
        )]
    );
    assert_eq!(
        statuses(&report, 2),
        [
            ("first".into(), "valid".into()),
            ("second".into(), "unknown-key".into())
        ]
    );
    assert!(rotation_refused(&report), "{report}");

    let (code, report) = verify_exported_bundle(&ws, "signer.pub", 2);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["signatures-insufficient"]
    );
}

#[test]
fn successor_and_its_trusted_predecessor_are_one_lineage() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ws.seal();
    // A key listed twice is one signer.
    let signer = read_pub(&ws, "signer");
    ws.write(
        "twice.trust",
        format!("{signer}\n{signer} signer=\"Again\"\n"),
    );
    let (code, report) = verify_with(&ws, "twice.trust", 2);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["signatures-insufficient"]
    );

    // The trust file lists the old key and, separately, its successor: the old key's
    // signature after the rotation does not make a second signer.
    generate_key(&ws, "successor");
    rotate(&ws, "signer", "successor");
    ws.write("b.txt", "Witness B.\n");
    add_one(&ws, &["b.txt"]);
    ok(
        &ws,
        &["seal", "--key", "successor.key", "--key", "signer.key"],
    );
    let both = format!("{signer}\n{}\n", read_pub(&ws, "successor"));
    ws.write("both.trust", both);
    let (code, report) = verify_with(&ws, "both.trust", 2);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [(
            "signatures-insufficient".to_string(),
            "checkpoint 2".to_string()
        )]
    );
    assert_eq!(
        statuses(&report, 2),
        [
            ("successor".into(), "valid".into()),
            ("signer".into(), "revoked".into())
        ]
    );
}

#[test]
fn earlier_checkpoint_sealed_by_fewer_signers_is_history_not_failure() {
    let ws = Workspace::new();
    generate_key(&ws, "second");
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ws.seal();
    ws.write("b.txt", "Witness B.\n");
    add_one(&ws, &["b.txt"]);
    ok(&ws, &["seal", "--key", "signer.key", "--key", "second.key"]);
    let both = format!("{}\n{}\n", read_pub(&ws, "signer"), read_pub(&ws, "second"));
    ws.write("both.trust", both);

    let report = assert_verifies(&ws, "both.trust", 2);
    assert_eq!(report["verdict"], "verified", "{report}");
    let warned = report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .any(|w| {
            w.as_str()
                .unwrap_or("")
                .starts_with("checkpoint 1 is signed by 1")
        });
    assert!(warned, "the earlier checkpoint is reported: {report}");

    // A bundle of checkpoint 2 meets --require 2; one of checkpoint 1 cannot.
    let (code, report) = verify_exported_bundle(&ws, "both.trust", 2);
    assert_eq!(code, 0, "{report}");
    ok(
        &ws,
        &[
            "export",
            "--out",
            "old-bundle",
            "--all",
            "--checkpoint",
            "1",
        ],
    );
    let (code, stdout, _) = ws.run(&[
        "verify",
        "old-bundle",
        "--json",
        "--trust",
        "both.trust",
        "--require",
        "2",
    ]);
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["signatures-insufficient"]
    );

    // The latest checkpoint is the one relied on: sealed by one key, --require 2 fails.
    ws.write("c.txt", "Witness C.\n");
    add_one(&ws, &["c.txt"]);
    ws.seal();
    let (code, report) = verify_with(&ws, "both.trust", 2);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [(
            "signatures-insufficient".to_string(),
            "checkpoint 3".to_string()
        )]
    );
}

#[test]
fn consistency_proof_from_one_signer_to_two_meets_require_two() {
    let ws = Workspace::new();
    generate_key(&ws, "second");
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ws.seal();
    ws.write("b.txt", "Witness B.\n");
    add_one(&ws, &["b.txt"]);
    ok(&ws, &["seal", "--key", "signer.key", "--key", "second.key"]);
    let both = format!("{}\n{}\n", read_pub(&ws, "signer"), read_pub(&ws, "second"));
    ws.write("both.trust", both);
    ok(
        &ws,
        &["prove", "consistency", "1", "2", "--out", "c12.json"],
    );
    let (code, report) = verify_proof_requiring_both(&ws, "c12.json");
    assert_eq!(code, 0, "{report}");
    assert!(
        report["warnings"][0]
            .as_str()
            .unwrap_or("")
            .starts_with("checkpoint 1 is signed by 1"),
        "{report}"
    );
    // The later checkpoint is the one relied on: sealed by one key, --require 2 fails.
    ws.write("c.txt", "Witness C.\n");
    add_one(&ws, &["c.txt"]);
    ws.seal();
    ok(
        &ws,
        &["prove", "consistency", "2", "3", "--out", "c23.json"],
    );
    let (code, report) = verify_proof_requiring_both(&ws, "c23.json");
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [("signatures-insufficient".to_string(), "to".to_string())]
    );
}

/// `verify-proof FILE --json --trust both.trust --require 2`: (exit code, report).
fn verify_proof_requiring_both(ws: &Workspace, file: &str) -> (i32, Value) {
    let (code, stdout, _) = ws.run(&[
        "verify-proof",
        file,
        "--json",
        "--trust",
        "both.trust",
        "--require",
        "2",
    ]);
    (code, serde_json::from_str(&stdout).expect("JSON"))
}
