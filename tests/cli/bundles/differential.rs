//! The shipped docs/verify-bundle.py must reach the verdict evidentia reaches: the helpers of
//! this module tree call [`assert_script_agrees`] on every bundle they verify, honest or forged,
//! so each adversarial case is also a case for the script. Plus the cases where the script was
//! once weaker than the tool.

use std::collections::BTreeSet;

use super::*;
use crate::common::{hand_check, hand_check_codes, script_tools_present};

/// Runs the script on `bundle` with the workspace key trusted and asserts the same exit code
/// and the same set of problem codes as evidentia's (`rust_exit`, `rust_codes`), for a bundle
/// directory or tar file.
pub(crate) fn assert_script_agrees(
    ws: &Workspace,
    bundle: &Path,
    rust_exit: i32,
    rust_codes: &[String],
) {
    if !script_tools_present() {
        return;
    }
    if !fs::symlink_metadata(bundle).is_ok_and(|m| m.is_dir()) {
        eprintln!(
            "NOTICE: {} is not a directory; verify-bundle.py not run",
            bundle.display()
        );
        return;
    }
    let (exit, text) = hand_check(bundle, &ws.path("signer.pub"), None);
    let ours: BTreeSet<String> = hand_check_codes(&text).into_iter().collect();
    let theirs: BTreeSet<String> = rust_codes.iter().cloned().collect();
    assert_eq!(
        (exit, &ours),
        (rust_exit, &theirs),
        "verify-bundle.py and evidentia disagree on {} (left: the script):\n{text}",
        bundle.display()
    );
}

/// A checkpoint signed by a trusted key that the bundle's own key records revoke: the
/// signature counts for nothing, in both verifiers (the script once passed it).
#[test]
fn signer_revoked_by_the_bundles_own_key_record() {
    let ws = Workspace::new();
    ws.cmd()
        .args([
            "key",
            "generate",
            "--out",
            "other",
            "--signer",
            "other",
            "--unencrypted",
        ])
        .assert()
        .success();
    ws.cmd()
        .args(["key", "introduce", "--key", "other.key"])
        .assert()
        .success();
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.add(&["case"]);
    ws.cmd()
        .args(["seal", "--key", "signer.key", "--key", "other.key"])
        .assert()
        .success();
    // Revoked from a future date: only the revocation's place in the log retires the key.
    ws.cmd()
        .args(["key", "revoke", "signer.pub", "--reason", "stolen"])
        .args(["--effective", "2099-01-01T00:00:00Z"])
        .assert()
        .success();
    ws.cmd()
        .args(["seal", "--key", "signer.key", "--key", "other.key"])
        .assert()
        .success();
    let bundle = ws.path("bundle");
    // The archive's own keys still authenticate `other`, so export's self-check passes.
    export(&ws, &bundle, &["--all"]);
    let codes = assert_bundle_problem(&ws, &bundle, "signature-missing", &["checkpoint 2"]);
    assert_eq!(codes, ["signature-missing"]);
}

/// bundle.json with a member given twice: which one a reader takes is up to its JSON library,
/// so both verifiers refuse it, in the top object and in a nested one.
#[test]
fn bundle_json_with_a_duplicate_member() {
    let (ws, bundle, _) = exported();
    let text = fs::read_to_string(bundle.join("data/bundle.json")).expect("read");
    let doubled = text.replacen("\"tree_size\"", "\"tree_size\": 1,\n  \"tree_size\"", 1);
    fs::write(bundle.join("data/bundle.json"), doubled).expect("write");
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "bad-manifest", &["data/bundle.json"]);
    assert_eq!(codes, ["bad-manifest"]);

    let (ws, bundle, _) = exported();
    let text = fs::read_to_string(bundle.join("data/bundle.json")).expect("read");
    let first = record_id(&bundle, 0);
    let doubled = text.replacen(
        &format!("\"id\": \"{first}\""),
        &format!(
            "\"id\": \"{}\",\n      \"id\": \"{first}\"",
            record_id(&bundle, 1)
        ),
        1,
    );
    assert_ne!(doubled, text);
    fs::write(bundle.join("data/bundle.json"), doubled).expect("write");
    rebag(&bundle);
    assert_bundle_problem(&ws, &bundle, "bad-manifest", &["data/bundle.json"]);
}

/// Digests in bundle.json have one spelling: a capitalised or prefixed id is refused by both.
#[test]
fn bundle_json_digest_in_another_spelling() {
    let (ws, bundle, _) = exported();
    let first = record_id(&bundle, 0);
    let mut manifest = read_manifest(&bundle);
    manifest["records"][0]["proof"][0] = serde_json::json!(manifest["records"][0]["proof"][0]
        .as_str()
        .expect("hash")
        .to_uppercase());
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    assert_bundle_problem(
        &ws,
        &bundle,
        "proof-invalid",
        &[&format!("record #0 ({first})")],
    );
}

/// Key records take effect in log order. A bundle.json listing them out of order must not
/// skip a rotation and so revive a rotated-out key: here B, rotated out to C, signs with an
/// untrusted D; listed in reverse, B->C would come before A->B made B known.
#[test]
fn key_records_listed_out_of_log_order() {
    let ws = Workspace::new();
    for name in ["b", "c", "d"] {
        ws.cmd()
            .args([
                "key",
                "generate",
                "--out",
                name,
                "--signer",
                name,
                "--unencrypted",
            ])
            .assert()
            .success();
    }
    ws.cmd()
        .args(["key", "rotate", "--old", "signer.key", "--new", "b.pub"])
        .assert()
        .success();
    ws.cmd()
        .args(["key", "rotate", "--old", "b.key", "--new", "c.pub"])
        .assert()
        .success();
    ws.cmd()
        .args(["key", "introduce", "--key", "d.key"])
        .assert()
        .success();
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.add(&["case"]);
    ws.cmd()
        .args(["seal", "--key", "b.key", "--key", "d.key"])
        .assert()
        .success();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--all"]);
    // Honest order: B is rotated out, D is not trusted.
    let codes = assert_bundle_problem(&ws, &bundle, "signature-missing", &["checkpoint 1"]);
    assert_eq!(codes, ["signature-missing"]);

    let mut manifest = read_manifest(&bundle);
    manifest["records"]
        .as_array_mut()
        .expect("records")
        .reverse();
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "bad-manifest", &["data/bundle.json"]);
    assert!(
        codes.contains(&"signature-missing".to_string()),
        "{codes:?}"
    );
}

/// JSON that readers take differently: each is refused by both verifiers, and the optional
/// members may be left out by both.
#[test]
fn bundle_json_that_json_libraries_read_differently() {
    let compact = |bundle: &Path| serde_json::to_string(&read_manifest(bundle)).expect("encode");
    type Edit = fn(String) -> String;
    let refused: [(&str, Edit); 6] = [
        ("a float index", |t| {
            t.replacen("\"index\":0", "\"index\":0.0", 1)
        }),
        ("an exponent", |t| {
            t.replacen("\"index\":1", "\"index\":1e0", 1)
        }),
        ("a boolean index", |t| {
            t.replacen("\"index\":0", "\"index\":false", 1)
        }),
        ("NaN", |t| t.replacen("{", "{\"x\":NaN,", 1)),
        ("a byte-order mark", |t| format!("\u{feff}{t}")),
        ("a lone surrogate", |t| {
            t.replacen("\"exported_at\":\"", "\"exported_at\":\"\\ud800", 1)
        }),
    ];
    for (what, edit) in refused {
        let (ws, bundle, _) = exported();
        let text = compact(&bundle);
        let edited = edit(text.clone());
        assert_ne!(edited, text, "{what}");
        fs::write(bundle.join("data/bundle.json"), edited).expect("write");
        rebag(&bundle);
        assert_bundle_problem(&ws, &bundle, "bad-manifest", &["data/bundle.json"]);
    }
    let (ws, bundle, _) = exported();
    let mut manifest = read_manifest(&bundle);
    let members = manifest.as_object_mut().expect("object");
    members.remove("recipient");
    members.remove("consistency");
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    assert_bundle_ok(&ws, &bundle);
}
