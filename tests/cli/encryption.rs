//! Encrypted documents (issue 14, FORMAT.md §23): content stored only as age ciphertext to the
//! archive's recipients, verifiable by anyone at the ciphertext level and by a recipient at the
//! plaintext level. Identities from `age-keygen` (the published test vector) and from
//! `key generate --age` both work. Forgeries: a damaged ciphertext is caught without any key
//! (the signed record names the ciphertext's digest); a signer who recorded a plaintext digest
//! or size that the ciphertext does not hold is caught (by size without a key, by digest with
//! one); a rewrap that changes the plaintext binding is refused. A wrong identity is refused as
//! usage (exit 2), never reported as damage.

use std::fs;
use std::path::{Path, PathBuf};

use evidentia::core::digest::Digest;
use evidentia::core::record::{
    Collection, DocumentRecord, EncryptionInfo, Header, PlaintextBinding, Record, RewrapRecord,
};
use evidentia::crypt::{stream, Recipients};
use serde_json::Value;

use crate::common::{added, Workspace};

pub(crate) const SECRET: &str = "Witness W-017 names the child and the street.\n";

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vectors/encryption")
}

pub(crate) fn vector_identity() -> String {
    vectors().join("identity.txt").display().to_string()
}

pub(crate) fn vector_recipient() -> String {
    let text = fs::read_to_string(vectors().join("vectors.json")).expect("vectors.json");
    let json: Value = serde_json::from_str(&text).expect("json");
    json["recipient"].as_str().expect("recipient").to_string()
}

/// An archive whose recipient is the vector identity, a signing key, and SECRET added with
/// `--encrypt` (plus `extra` options) and sealed; returns the workspace and the stored digest.
pub(crate) fn encrypted_archive(extra: &[&str]) -> (Workspace, String) {
    let ws = Workspace::bare();
    let (code, _, stderr) = ws.run(&["init", "arc", "--recipient", &vector_recipient()]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = ws.run(&["key", "generate", "--out", "signer", "--unencrypted"]);
    assert_eq!(code, 0, "{stderr}");
    ws.write("secret.txt", SECRET);
    let mut args = vec!["add", "--encrypt", "secret.txt"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = ws.run(&args);
    assert_eq!(code, 0, "{stderr}");
    let digest = added(&stdout)[0].0.clone();
    ws.seal();
    (ws, digest)
}

/// Makes an unprotected age identity at `file` (`key generate --age --unencrypted`) and
/// returns its recipient (age1…).
pub(crate) fn age_identity(ws: &Workspace, file: &str) -> String {
    let (code, recipient, stderr) =
        ws.run(&["key", "generate", "--age", "--out", file, "--unencrypted"]);
    assert_eq!(code, 0, "{stderr}");
    recipient.trim().to_string()
}

pub(crate) fn verify_with(ws: &Workspace, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["verify", "--json"];
    if !extra.contains(&"--integrity-only") {
        args.extend(["--trust", "signer.pub"]);
    }
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = ws.run(&args);
    let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (code, report, stderr)
}

fn warnings(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["severity"] == "warning")
        .filter_map(|f| f["code"].as_str().map(str::to_string))
        .collect()
}

/// Every stored object's bytes, to check that no plaintext reached the store.
pub(crate) fn stored_bytes(ws: &Workspace) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in walkdir::WalkDir::new(ws.archive().join("objects")) {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            all.extend(fs::read(entry.path()).expect("read object"));
        }
    }
    all
}

#[test]
fn round_trip_with_an_age_keygen_identity() {
    let (ws, digest) = encrypted_archive(&[]);
    let stored = stored_bytes(&ws);
    assert!(
        !stored.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
        "the plaintext reached the object store"
    );
    assert!(fs::read(ws.object_path(&digest))
        .expect("object")
        .starts_with(b"age-encryption.org/v1\n"));
    // The record commits to the plaintext's SHA-256, as `sha256sum` prints it.
    let (_, shown, _) = ws.run(&["show", "secret.txt", "--json"]);
    let shown: Value = serde_json::from_str(&shown).expect("show json");
    // docs/JSON.md: `show` lists the records it shows under `records`.
    let shown = shown["records"][0].clone();
    assert_eq!(
        shown["document"]["encryption"]["plaintext_sha256"],
        Digest::of(SECRET.as_bytes()).to_prefixed()
    );
    assert_eq!(
        shown["document"]["encryption"]["plaintext_size"],
        SECRET.len()
    );

    let (code, stdout, stderr) = ws.run(&["cat", "secret.txt"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("--identity"), "{stderr}");

    let identity = vector_identity();
    let (code, stdout, stderr) = ws.run(&["cat", "secret.txt", "--identity", &identity]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, SECRET);
    let (code, _, stderr) = ws.run_env(
        &["cat", "secret.txt", "--out", "out.txt"],
        &[("EVIDENTIA_IDENTITY", &identity)],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(fs::read_to_string(ws.path("out.txt")).expect("out"), SECRET);

    // The same identity protected with `age -p` (binary and armored), passphrase from a file.
    ws.write("pass.txt", "correct horse battery staple\n");
    for protected in ["identity-protected.age", "identity-protected.bin.age"] {
        let path = vectors().join(protected).display().to_string();
        let args = ["cat", "secret.txt", "--identity", &path];
        let (code, stdout, stderr) =
            ws.run(&[&args[..], &["--identity-passphrase-file", "pass.txt"]].concat());
        assert_eq!(code, 0, "{protected}: {stderr}");
        assert_eq!(stdout, SECRET);
    }

    // Adding the same file again records nothing new (same plaintext digest).
    let (code, _, stderr) = ws.run(&["add", "--encrypt", "secret.txt"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("unchanged"), "{stderr}");
}

#[test]
fn round_trip_with_an_identity_from_key_generate_age() {
    let ws = Workspace::bare();
    ws.write("pass.txt", "a long identity passphrase\n");
    let (code, recipient, stderr) = ws.run(&[
        "key",
        "generate",
        "--age",
        "--out",
        "me.age",
        "--passphrase-file",
        "pass.txt",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let recipient = recipient.trim().to_string();
    assert!(recipient.starts_with("age1"), "{recipient}");
    let file = fs::read_to_string(ws.path("me.age")).expect("identity file");
    assert!(
        !file.contains("AGE-SECRET-KEY"),
        "the identity is not protected"
    );

    ws.run(&["init", "arc"]);
    ws.write("keys.txt", format!("# the court\n{recipient}\n"));
    let (code, _, stderr) = ws.run(&["recipients", "set", "--recipients-file", "keys.txt"]);
    assert_eq!(code, 0, "{stderr}");
    let (_, listed, _) = ws.run(&["recipients"]);
    assert_eq!(listed.trim(), recipient);
    ws.write("secret.txt", SECRET);
    let (code, _, stderr) = ws.run(&["add", "--encrypt", "secret.txt"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = ws.run(&[
        "cat",
        "secret.txt",
        "--identity",
        "me.age",
        "--identity-passphrase-file",
        "pass.txt",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, SECRET);
    // A wrong passphrase is refused as such.
    ws.write("wrong.txt", "not it\n");
    let (code, _, stderr) = ws.run(&[
        "cat",
        "secret.txt",
        "--identity",
        "me.age",
        "--identity-passphrase-file",
        "wrong.txt",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("wrong passphrase"), "{stderr}");
}

#[test]
fn verify_without_an_identity_says_the_plaintext_was_not_checked() {
    let (ws, _) = encrypted_archive(&[]);
    let (code, report, stderr) = verify_with(&ws, &[]);
    assert_eq!(code, 0, "{report} {stderr}");
    assert!(warnings(&report).contains(&"plaintext-not-checked".to_string()));
    let not_proven = report["not_proven"].to_string();
    assert!(
        not_proven.contains("plaintext of 1 encrypted document(s) not checked (no --identity)"),
        "{not_proven}"
    );
}

#[test]
fn verify_with_an_identity_checks_the_plaintext() {
    let (ws, _) = encrypted_archive(&[]);
    let (code, report, stderr) = verify_with(&ws, &["--identity", &vector_identity()]);
    assert_eq!(code, 0, "{report} {stderr}");
    assert!(!warnings(&report).contains(&"plaintext-not-checked".to_string()));
    assert!(
        report["proven"]
            .to_string()
            .contains("the plaintext of 1 encrypted document(s) decrypts and matches its record"),
        "{report}"
    );
}

#[test]
fn a_tampered_ciphertext_is_caught_without_an_identity() {
    let (ws, digest) = encrypted_archive(&[]);
    let path = ws.object_path(&digest);
    let mut bytes = fs::read(&path).expect("object");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    Workspace::overwrite(&path, &bytes);
    let (code, report, stderr) = verify_with(&ws, &[]);
    assert_eq!(code, 1, "{report} {stderr}");
    assert!(Workspace::problem_codes(&report).contains(&"content-corrupt".to_string()));
    // With the identity: the same damage, reported once (not as a wrong identity).
    let (code, report, stderr) = verify_with(&ws, &["--identity", &vector_identity()]);
    assert_eq!(code, 1, "{report} {stderr}");
    assert_eq!(
        Workspace::problem_codes(&report),
        vec!["content-corrupt".to_string()],
        "{report}"
    );
    // `cat` releases nothing.
    let (code, stdout, _) = ws.run(&["cat", "secret.txt", "--identity", &vector_identity()]);
    assert_ne!(code, 0);
    assert!(stdout.is_empty());
}

/// A record planted (as a dishonest writer would) for an intact ciphertext, with `info` as its
/// `encryption` map.
fn plant_encrypted(ws: &Workspace, plaintext: &[u8], info: impl FnOnce(u64) -> EncryptionInfo) {
    plant_ciphertext(ws, plaintext, |_| {}, info);
}

/// [`plant_encrypted`] with the ciphertext changed by `damage` before it is stored and named.
fn plant_ciphertext(
    ws: &Workspace,
    plaintext: &[u8],
    damage: impl FnOnce(&mut Vec<u8>),
    info: impl FnOnce(u64) -> EncryptionInfo,
) {
    let recipients = Recipients::parse_all(&[vector_recipient()], "test").expect("recipient");
    let (mut ciphertext, sealed) =
        stream::encrypt(&recipients, &mut &plaintext[..], Vec::new()).expect("encrypt");
    damage(&mut ciphertext);
    let content = ws.plant_object(&ciphertext);
    let record = Record::Document(Box::new(DocumentRecord {
        header: Header::now(),
        content,
        size: sealed.ciphertext_size,
        media_type: "text/plain".into(),
        path: "planted.txt".into(),
        original_name: "planted.txt".into(),
        original_path: None,
        collection: Collection::default(),
        encryption: Some(info(sealed.plaintext_size)),
    }));
    ws.plant_record(&record.encode().expect("encode"));
}

#[test]
fn a_recorded_plaintext_the_ciphertext_does_not_hold_is_caught() {
    // Wrong size: caught by anyone, from the ciphertext's length.
    let (ws, _) = encrypted_archive(&[]);
    plant_encrypted(&ws, b"other content", |size| EncryptionInfo {
        plaintext_size: size + 1,
        binding: PlaintextBinding::Digest(Digest::of(b"other content")),
        recipients: None,
    });
    let (code, report, stderr) = verify_with(&ws, &["--integrity-only"]);
    assert_eq!(code, 1, "{report} {stderr}");
    assert!(Workspace::problem_codes(&report).contains(&"plaintext-size-mismatch".to_string()));

    // Right size, wrong digest: invisible without a key, caught by a recipient.
    let (ws, _) = encrypted_archive(&[]);
    plant_encrypted(&ws, b"other content", |size| EncryptionInfo {
        plaintext_size: size,
        binding: PlaintextBinding::Digest(Digest::of(b"OTHER CONTENT")),
        recipients: None,
    });
    let (_, report, _) = verify_with(&ws, &["--integrity-only"]);
    assert!(Workspace::problem_codes(&report).is_empty(), "{report}");
    let (code, report, _) =
        verify_with(&ws, &["--integrity-only", "--identity", &vector_identity()]);
    assert_eq!(code, 1, "{report} {stderr}");
    assert!(Workspace::problem_codes(&report).contains(&"plaintext-mismatch".to_string()));
}

#[test]
fn a_ciphertext_recorded_damaged_is_caught_by_a_recipient() {
    // The record names the damaged bytes, so every hash matches: only decryption finds it.
    let (ws, _) = encrypted_archive(&[]);
    plant_ciphertext(
        &ws,
        b"other content",
        |c| {
            let last = c.len() - 1;
            c[last] ^= 1;
        },
        |size| EncryptionInfo {
            plaintext_size: size,
            binding: PlaintextBinding::Digest(Digest::of(b"other content")),
            recipients: None,
        },
    );
    let (_, report, _) = verify_with(&ws, &["--integrity-only"]);
    assert!(Workspace::problem_codes(&report).is_empty(), "{report}");
    let (code, report, stderr) =
        verify_with(&ws, &["--integrity-only", "--identity", &vector_identity()]);
    assert_eq!(code, 1, "{report} {stderr}");
    assert_eq!(
        Workspace::problem_codes(&report),
        vec!["ciphertext-damaged".to_string()],
        "{report}"
    );
}

#[test]
fn a_wrong_identity_is_refused_clearly() {
    let (ws, _) = encrypted_archive(&[]);
    age_identity(&ws, "other.txt");
    let (code, report, stderr) = verify_with(&ws, &["--identity", "other.txt"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(report, Value::Null, "no report, no accusation");
    assert!(
        stderr.contains("none of the identities in other.txt can decrypt"),
        "{stderr}"
    );
    let (code, stdout, stderr) = ws.run(&["cat", "secret.txt", "--identity", "other.txt"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("give the identity of one of its recipients"),
        "{stderr}"
    );
}

#[test]
fn rewrap_for_a_new_recipient_then_verify() {
    let (ws, old_digest) = encrypted_archive(&[]);
    let court = age_identity(&ws, "court.txt");
    let (code, _, stderr) = ws.run(&[
        "recipients",
        "set",
        "--recipient",
        &court,
        "--reason",
        "hand-over to the court",
    ]);
    assert_eq!(code, 0, "{stderr}");
    // The court cannot read the document yet.
    let (code, _, _) = ws.run(&["cat", "secret.txt", "--identity", "court.txt"]);
    assert_eq!(code, 2);
    let (code, stdout, stderr) = ws.run(&[
        "rewrap",
        "--all",
        "--identity",
        &vector_identity(),
        "--reason",
        "court",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    ws.seal();
    let (code, stdout, stderr) = ws.run(&["cat", "secret.txt", "--identity", "court.txt"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, SECRET);
    // The old ciphertext stays stored and provable; both identities verify the plaintext.
    assert!(ws.object_path(&old_digest).exists());
    for identity in [vector_identity(), "court.txt".to_string()] {
        let (code, report, stderr) = verify_with(&ws, &["--identity", &identity]);
        assert_eq!(code, 0, "{identity}: {report} {stderr}");
        assert!(
            !warnings(&report).contains(&"plaintext-not-checked".to_string()),
            "{report}"
        );
    }
    let (code, report, _) = verify_with(&ws, &[]);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn a_rewrap_that_changes_the_plaintext_binding_is_refused() {
    let (ws, _) = encrypted_archive(&[]);
    let target = *ws.record_digests().last().expect("document record");
    let recipients = Recipients::parse_all(&[vector_recipient()], "test").expect("recipient");
    let (ciphertext, sealed) = stream::encrypt(
        &recipients,
        &mut &b"swapped content here, same length!!!!!!!!!!!!\n"[..],
        Vec::new(),
    )
    .expect("encrypt");
    ws.plant_object(&ciphertext);
    let forged = Record::Rewrap(Box::new(RewrapRecord {
        header: Header::now(),
        target,
        content: sealed.ciphertext,
        size: sealed.ciphertext_size,
        encryption: EncryptionInfo {
            plaintext_size: sealed.plaintext_size,
            binding: PlaintextBinding::Digest(sealed.plaintext),
            recipients: None,
        },
        reason: None,
    }));
    ws.plant_record(&forged.encode().expect("encode"));
    let (code, report, stderr) = verify_with(&ws, &["--integrity-only"]);
    assert_eq!(code, 1, "{report} {stderr}");
    assert!(
        Workspace::problem_codes(&report).contains(&"rewrap-invalid".to_string()),
        "{report}"
    );
}

#[test]
fn hidden_digest_mode_keeps_the_digest_out_of_the_record() {
    let (ws, _) = encrypted_archive(&["--hide-digest"]);
    let (_, shown, _) = ws.run(&["show", "secret.txt", "--json"]);
    let shown: Value = serde_json::from_str(&shown).expect("show json");
    // docs/JSON.md: `show` lists the records it shows under `records`.
    let shown = shown["records"][0].clone();
    let encryption = &shown["document"]["encryption"];
    assert_eq!(encryption["plaintext_sha256"], Value::Null, "{shown}");
    assert!(encryption["commitment"]
        .as_str()
        .is_some_and(|c| c.starts_with("sha256:")));
    // The plaintext digest appears in no record or object.
    let plain = Digest::of(SECRET.as_bytes());
    let stored = stored_bytes(&ws);
    assert!(!stored.windows(32).any(|w| w == plain.as_bytes()));
    let (code, report, stderr) = verify_with(&ws, &["--identity", &vector_identity()]);
    assert_eq!(code, 0, "{report} {stderr}");
    let (code, stdout, stderr) = ws.run(&["cat", "secret.txt", "--identity", &vector_identity()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, SECRET);
}

#[test]
fn a_quote_on_an_encrypted_document_needs_the_identity() {
    let (ws, _) = encrypted_archive(&[]);
    let quote = [
        "annotate",
        "secret.txt",
        "--body",
        "names a child",
        "--quote",
        "the child",
    ];
    let (code, _, stderr) = ws.run(&quote);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--identity"), "{stderr}");
    let (code, _, stderr) = ws.run(&[&quote[..], &["--identity", &vector_identity()]].concat());
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = ws.run(
        &[
            &quote[..5],
            &["not in it", "--identity", &vector_identity()],
        ]
        .concat(),
    );
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn a_large_document_is_encrypted_streaming() {
    let ws = Workspace::bare();
    ws.run(&["init", "arc", "--recipient", &vector_recipient()]);
    // Larger than one read block, so the content is streamed through the encryption.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    ws.write("big.bin", &big);
    let (code, stdout, stderr) = ws.run(&["add", "--encrypt", "big.bin"]);
    assert_eq!(code, 0, "{stderr}");
    let digest = &added(&stdout)[0].0;
    let stored = fs::read(ws.object_path(digest)).expect("ciphertext");
    assert_eq!(Digest::of(&stored).to_hex(), *digest);
    let identity = vector_identity();
    let (code, _, stderr) = ws.run(&[
        "cat",
        "big.bin",
        "--out",
        "back.bin",
        "--identity",
        &identity,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(fs::read(ws.path("back.bin")).expect("back") == big);
}

#[test]
fn an_encrypted_document_is_never_exported_without_the_identity() {
    // Exporting it decrypts it (FORMAT.md §23.9): without --identity the export is refused,
    // naming the document and the option, before anything is written or logged.
    let (ws, _) = encrypted_archive(&[]);
    let records_before = ws.run(&["log", "--json"]).1;
    for extra in [&[][..], &["--encrypt-to", &vector_recipient()][..]] {
        let mut args = vec!["export", "--out", "bundle", "--all", "--key", "signer.key"];
        args.extend_from_slice(extra);
        let (code, _, stderr) = ws.run(&args);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("secret.txt"), "{stderr}");
        assert!(stderr.contains("stored encrypted"), "{stderr}");
        assert!(stderr.contains("--identity"), "{stderr}");
        assert!(!ws.path("bundle").exists(), "nothing may be left at --out");
    }
    // Nothing was logged as exported.
    assert_eq!(ws.run(&["log", "--json"]).1, records_before);
}

/// Objects of 8 MiB and more are checked with an identity by a pipeline of threads
/// (crypt::onepass): a damaged chunk the record names, and a plaintext the record misstates, are
/// still found there, and only by a recipient; the honest large document beside them is not
/// accused.
#[test]
fn a_large_ciphertext_is_checked_in_the_pipelined_read() {
    let large: Vec<u8> = (0..9_000_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let (ws, _) = encrypted_archive(&[]);
    ws.write("honest.bin", &large);
    let (code, _, stderr) = ws.run(&["add", "--encrypt", "honest.bin"]);
    assert_eq!(code, 0, "{stderr}");
    plant_ciphertext(
        &ws,
        &large,
        |c| {
            let middle = c.len() / 2;
            c[middle] ^= 1;
        },
        |size| EncryptionInfo {
            plaintext_size: size,
            binding: PlaintextBinding::Digest(Digest::of(&large)),
            recipients: None,
        },
    );
    let mut other = large.clone();
    other[4_000_000] ^= 1;
    plant_encrypted(&ws, &other, |size| EncryptionInfo {
        plaintext_size: size,
        binding: PlaintextBinding::Digest(Digest::of(&large)),
        recipients: None,
    });
    let (_, report, _) = verify_with(&ws, &["--integrity-only"]);
    assert!(Workspace::problem_codes(&report).is_empty(), "{report}");
    let (code, report, stderr) =
        verify_with(&ws, &["--integrity-only", "--identity", &vector_identity()]);
    assert_eq!(code, 1, "{report} {stderr}");
    let mut codes = Workspace::problem_codes(&report);
    codes.sort();
    assert_eq!(
        codes,
        ["ciphertext-damaged", "plaintext-mismatch"],
        "{report}"
    );
    // The honest ones (secret.txt and the large one) are proven, not accused.
    assert!(
        report
            .to_string()
            .contains("the plaintext of 2 encrypted document(s) decrypts"),
        "{report}"
    );
}
