//! Bundles encrypted to a named recipient (`export --encrypt-to`, FORMAT.md §23.8): checked
//! at the ciphertext level without a key (never VERIFIED: the contents are not proven), and at
//! the plaintext level with the recipient's identity. Both verifiers run on each bundle.

use super::*;
use evidentia::crypt::{stream, Recipients};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/vectors/encryption");
/// The public key of fixtures/vectors/encryption/identity.txt (vectors.json "recipient").
pub(super) const RECIPIENT: &str = "age18ta5d3g6rp6qef4wcddv6kzx3jlr34najk6rjkw7crv4empcrpgqn4e3j3";
const STATEMENT: &str = "Statement of witness A, naming the child: Mykola, 9.\n";

pub(super) fn identity() -> String {
    format!("{VECTORS}/identity.txt")
}

/// The archive in `ws` exported with the archive identity and re-encrypted to a new court
/// key (`export --all --identity --encrypt-to`) into `ws/bundle`: returns the bundle, the
/// court identity's file and the court's recipient.
pub(super) fn export_to_court(ws: &Workspace) -> (PathBuf, PathBuf, String) {
    let court = evidentia::crypt::NewIdentity::generate();
    let court_file = ws.path("court-identity.txt");
    fs::write(&court_file, court.file_text().as_bytes()).expect("write identity");
    let court_key = court.recipient().expect("recipient").as_str().to_string();
    let bundle = ws.path("bundle");
    let identity = identity();
    export(
        ws,
        &bundle,
        &["--all", "--identity", &identity, "--encrypt-to", &court_key],
    );
    (bundle, court_file, court_key)
}

/// A bundle encrypted to a court is NOT PROVABLE without the court's identity (exit 4, no
/// problem) to both verifiers; returns `verify --json` with `court_file`.
pub(super) fn verify_as_court(ws: &Workspace, bundle: &Path, court_file: &Path) -> (i32, Value) {
    let (code, report) = verify_json(ws, bundle, &TRUST);
    assert_eq!(code, 4, "{report}");
    assert!(Workspace::problem_codes(&report).is_empty(), "{report}");
    differential::assert_script_agrees(ws, bundle, 4, &[]);
    let with = ["--trust", "signer.pub", "--identity", path_str(court_file)];
    verify_json(ws, bundle, &with)
}

/// One document sealed and exported encrypted to the fixture recipient.
pub(super) fn encrypted_bundle() -> (Workspace, PathBuf) {
    let ws = Workspace::new();
    ws.write("case/a.txt", STATEMENT);
    ws.write("case/b.txt", "Statement of witness B.\n");
    let bundle = seal_and_export_encrypted(&ws, 2);
    (ws, bundle)
}

/// Adds `case/`, seals, and exports all of it encrypted to the fixture recipient (expecting
/// `documents` documents); returns the bundle's path.
pub(super) fn seal_and_export_encrypted(ws: &Workspace, documents: usize) -> PathBuf {
    added(&ws.add(&["case"]));
    ws.seal();
    let bundle = ws.path("bundle");
    let out = export(ws, &bundle, &["--all", "--encrypt-to", RECIPIENT]);
    assert!(out.contains(&format!("{documents} document(s)")), "{out}");
    bundle
}

/// Encrypts `plaintext` to the fixture recipient, as anyone holding the public key can.
fn age_file(plaintext: &[u8]) -> Vec<u8> {
    let recipients = Recipients::parse_all(&[RECIPIENT], "test").expect("recipient");
    let (bytes, _) = stream::encrypt(&recipients, &mut &plaintext[..], Vec::new()).expect("age");
    bytes
}

#[test]
fn encrypted_export_is_checked_at_both_levels() {
    let (ws, bundle) = encrypted_bundle();
    let stored = fs::read(bundle.join("data/documents/case/a.txt.age")).expect("ciphertext");
    assert!(stored.starts_with(b"age-encryption.org/v1\n"), "not age");
    assert!(
        !stored.windows(7).any(|w| w == b"Mykola,"),
        "plaintext in the bundle"
    );
    assert!(!bundle.join("data/documents/case/a.txt").exists());
    let manifest = read_manifest(&bundle);
    assert_eq!(manifest["encryption"]["scheme"], "age-v1", "{manifest}");
    assert_eq!(manifest["encryption"]["recipients"], 1, "{manifest}");
    let report_page = fs::read_to_string(bundle.join("report.html")).expect("report");
    assert!(!report_page.contains("Mykola"), "the report leaks content");

    // No key: everything but the contents holds, and the verdict says so (exit 4).
    let (code, report) = verify_json(&ws, &bundle, &TRUST);
    assert_eq!(code, 4, "{report}");
    assert_eq!(report["verdict"], "not-provable", "{report}");
    assert!(Workspace::problem_codes(&report).is_empty(), "{report}");
    let not_proven = strings(&report["not_proven"]).join("\n");
    assert!(
        not_proven.contains("NOT decrypted and checked"),
        "{not_proven}"
    );
    assert_eq!(report["encryption"]["plaintext_checked"], 0, "{report}");
    let (code, text) = verify_text(&ws, &bundle, &TRUST);
    assert_eq!(code, 4, "{text}");
    assert!(!text.contains("VERIFIED"), "{text}");
    // No document line says "ok" for contents nobody compared with the record's digest.
    assert!(text.contains("  sealed sha256:"), "{text}");
    assert!(!text.contains("  ok     sha256:"), "{text}");
    let unchecked = report["documents"].as_array().expect("documents");
    assert!(
        unchecked.iter().all(|d| d["content_checked"] == false),
        "{report}"
    );
    differential::assert_script_agrees(&ws, &bundle, 4, &[]);

    // With the recipient's identity: every plaintext checked, VERIFIED.
    let with_identity = ["--trust", "signer.pub", "--identity", &identity()];
    let (code, report) = verify_json(&ws, &bundle, &with_identity);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["verdict"], "verified", "{report}");
    assert_eq!(report["encryption"]["plaintext_checked"], 2, "{report}");
    let checked = report["documents"].as_array().expect("documents");
    assert!(
        checked.iter().all(|d| d["content_checked"] == true),
        "{report}"
    );

    // The custody record of the export names the recipient key.
    let (code, log, _) = run(&ws, &["log", "--kind", "custody", "--json"], &[]);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains(RECIPIENT), "{log}");
}

#[test]
fn a_wrong_identity_is_refused_not_an_accusation() {
    let (ws, bundle) = encrypted_bundle();
    let other = ws.path("other-identity.txt");
    let made = evidentia::crypt::NewIdentity::generate();
    fs::write(&other, made.file_text().as_bytes()).expect("write identity");
    let args = ["--trust", "signer.pub", "--identity", path_str(&other)];
    let (code, text) = verify_text(&ws, &bundle, &args);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("other keys"), "{text}");
    assert!(
        !text.contains("FAILED") && !text.contains("VERIFIED"),
        "{text}"
    );
}

#[test]
fn a_swapped_ciphertext_of_the_same_size_is_caught_with_the_identity() {
    let (ws, bundle) = encrypted_bundle();
    // Other words of exactly the same length, to the same recipient: every size check holds.
    let forged = STATEMENT.replace("Mykola", "Andrii");
    assert_eq!(forged.len(), STATEMENT.len());
    fs::write(
        bundle.join("data/documents/case/a.txt.age"),
        age_file(forged.as_bytes()),
    )
    .expect("swap");
    rebag(&bundle);

    let (code, report) = verify_json(&ws, &bundle, &TRUST);
    assert_eq!(
        code, 4,
        "without a key it cannot be caught, nor claimed: {report}"
    );
    assert_ne!(report["verdict"], "verified");
    differential::assert_script_agrees(&ws, &bundle, 4, &[]);

    let with_identity = ["--trust", "signer.pub", "--identity", &identity()];
    let (code, report) = verify_json(&ws, &bundle, &with_identity);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["plaintext-mismatch"],
        "{report}"
    );
}

#[test]
fn a_truncated_ciphertext_is_caught_without_a_key() {
    let (ws, bundle) = encrypted_bundle();
    let file = bundle.join("data/documents/case/b.txt.age");
    let bytes = fs::read(&file).expect("read");
    fs::write(&file, &bytes[..bytes.len() - 5]).expect("truncate");
    rebag(&bundle);
    let (code, report) = verify_json(&ws, &bundle, &TRUST);
    assert_eq!(code, 1, "{report}");
    let codes = Workspace::problem_codes(&report);
    assert_eq!(codes, ["plaintext-size-mismatch"], "{report}");
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
}

#[test]
fn export_refuses_a_recipient_that_is_not_an_age_key() {
    let ws = Workspace::new();
    ws.write("case/a.txt", STATEMENT);
    added(&ws.add(&["case"]));
    ws.seal();
    let stderr = export_refused(
        &ws,
        &ws.path("bundle"),
        &["--all", "--encrypt-to", "ssh-ed25519 AAAA"],
    );
    assert!(stderr.contains("--encrypt-to"), "{stderr}");
}

#[test]
fn a_ciphertext_to_more_recipients_than_listed_is_caught_without_a_key() {
    let (ws, bundle) = encrypted_bundle();
    let other = evidentia::crypt::NewIdentity::generate();
    let other = other.recipient().expect("public key");
    let both = Recipients::parse_all(&[RECIPIENT, other.as_str()], "test").expect("recipients");
    let (bytes, _) =
        stream::encrypt(&both, &mut STATEMENT.as_bytes(), Vec::new()).expect("encrypt");
    fs::write(bundle.join("data/documents/case/a.txt.age"), bytes).expect("swap");
    rebag(&bundle);
    let (code, report) = verify_json(&ws, &bundle, &TRUST);
    assert_eq!(code, 1, "{report}");
    let codes = Workspace::problem_codes(&report);
    assert_eq!(codes, ["recipients-mismatch"], "{report}");
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
}

#[test]
fn dropping_the_encryption_member_does_not_pass_ciphertexts_off_as_documents() {
    let (ws, bundle) = encrypted_bundle();
    let mut manifest = read_manifest(&bundle);
    manifest
        .as_object_mut()
        .expect("object")
        .remove("encryption");
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    let (code, report) = verify_json(&ws, &bundle, &TRUST);
    assert_eq!(code, 1, "{report}");
    let codes = Workspace::problem_codes(&report);
    assert!(codes.contains(&"content-corrupt".to_string()), "{report}");
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
}

#[test]
fn an_encrypted_tar_bundle_verifies_with_the_identity_and_says_how_in_verify_txt() {
    let ws = Workspace::new();
    ws.write("case/a.txt", STATEMENT);
    added(&ws.add(&["case"]));
    ws.seal();
    let recipients = ws.path("court.recipients");
    fs::write(&recipients, format!("# the court\n{RECIPIENT}\n")).expect("write");
    let tar = ws.path("sealed.tar");
    export(
        &ws,
        &tar,
        &[
            "--all",
            "--format",
            "tar",
            "--encrypt-to-file",
            path_str(&recipients),
        ],
    );
    let with_identity = ["--trust", "signer.pub", "--identity", &identity()];
    let (code, report) = verify_json(&ws, &tar, &with_identity);
    assert_eq!(code, 0, "{report}");
    let (code, _) = verify_json(&ws, &tar, &TRUST);
    assert_eq!(code, 4);
    let dir = ws.path("sealed-dir");
    let (code, _, stderr) = run(
        &ws,
        &[
            "export",
            "--out",
            path_str(&dir),
            "--all",
            "--encrypt-to",
            RECIPIENT,
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let text = fs::read_to_string(dir.join("VERIFY.txt")).expect("VERIFY.txt");
    assert!(text.contains("--identity"), "{text}");
    // An identity given for a clear bundle is not used, and the report says so.
    let clear = ws.path("clear");
    export(&ws, &clear, &["--all"]);
    let (code, report) = verify_json(&ws, &clear, &with_identity);
    assert_eq!(code, 0, "{report}");
    assert!(report.to_string().contains("identity-unused"), "{report}");
}

#[test]
fn the_report_of_an_encrypted_bundle_shows_no_quoted_passage() {
    let ws = Workspace::new();
    ws.write("case/a.txt", STATEMENT);
    added(&ws.add(&["case"]));
    let args = [
        "annotate",
        "case/a.txt",
        "--body",
        "names the child",
        "--quote",
        "Mykola, 9",
        "--prefix",
        "child: ",
    ];
    let (code, out, err) = run(&ws, &args, &[]);
    assert_eq!(code, 0, "{out} {err}");
    ws.seal();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--all", "--encrypt-to", RECIPIENT]);
    let page = fs::read_to_string(bundle.join("report.html")).expect("report");
    assert!(page.contains("names the child"), "the annotation is listed");
    assert!(!page.contains("Mykola"), "the quote is shown");
    assert!(page.contains("Quoted passage not shown"), "no notice");
    assert!(
        page.contains("--identity"),
        "the page must say how to check the contents"
    );
    let (code, report) = verify_json(
        &ws,
        &bundle,
        &["--trust", "signer.pub", "--identity", &identity()],
    );
    assert_eq!(code, 0, "{report}");
    differential::assert_script_agrees(&ws, &bundle, 4, &[]);
}

#[test]
fn a_passphrase_protected_identity_opens_the_bundle() {
    let (ws, bundle) = encrypted_bundle();
    let protected = format!("{VECTORS}/identity-protected.age");
    let args = [
        "verify",
        path_str(&bundle),
        "--trust",
        "signer.pub",
        "--identity",
        &protected,
    ];
    let mut cmd = ws.cmd();
    cmd.args(args).timeout(TIMEOUT);
    cmd.env(
        "EVIDENTIA_IDENTITY_PASSPHRASE",
        "correct horse battery staple",
    );
    let out = cmd.output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("VERIFIED"), "{text}");
    // Without the passphrase: refused (exit 2), saying what to give.
    let mut cmd = ws.cmd();
    cmd.args(args)
        .timeout(TIMEOUT)
        .env_remove("EVIDENTIA_PASSPHRASE");
    let out = cmd.output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("EVIDENTIA_PASSPHRASE"), "{err}");
}
