//! Encrypted annotation and custody fields (issue 14, FORMAT.md §23.10): the body, quote and
//! claim of an annotation, and the note, from and to of a custody event, stored only as age
//! ciphertext; the signed record keeps the target, kind, signer and times, the ciphertext's
//! digest and the plaintext's salted digest. Anyone verifies the ciphertext; a recipient
//! decrypts and checks it against the record. Forgeries: a damaged ciphertext (caught without
//! a key), a record pointing at another record's ciphertext (caught by a recipient).

use evidentia::core::digest::Digest;
use evidentia::core::record::{
    AnnotationRecord, EncryptionInfo, Header, PlaintextBinding, Record, SealedFields,
};
use serde_json::Value;

use crate::common::{added, Workspace};
use crate::encryption::{encrypted_archive, stored_bytes, vector_identity, verify_with};

const BODY: &str = "Witness W-017 (Mariia K.) identifies the officer.";

fn show_json(ws: &Workspace, id: &str, identity: bool) -> Value {
    let identity_path = vector_identity();
    let mut args = vec!["show", id, "--json"];
    if identity {
        args.extend(["--identity", &identity_path]);
    }
    let (code, stdout, stderr) = ws.run(&args);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str::<Value>(&stdout).expect("json")["records"][0].clone()
}

/// Annotates `target` with `body` (plus `extra`) and returns the annotation's id.
fn annotate(ws: &Workspace, target: &str, body: &str, extra: &[&str]) -> String {
    let mut args = vec!["annotate", target, "--body", body];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = ws.run(&args);
    assert_eq!(code, 0, "{stderr}");
    stdout.trim().to_string()
}

fn digest_of(value: &Value) -> Digest {
    let text = value.as_str().expect("digest text");
    Digest::from_hex(text.trim_start_matches("sha256:")).expect("digest")
}

/// The `sealed` map of a shown record, as the library holds it.
fn sealed_of(shown: &Value) -> SealedFields {
    let s = &shown["annotation"]["sealed"];
    SealedFields {
        content: digest_of(&s["ciphertext"]),
        size: s["ciphertext_size"].as_u64().expect("size"),
        encryption: EncryptionInfo {
            plaintext_size: s["plaintext_size"].as_u64().expect("size"),
            binding: PlaintextBinding::Digest(digest_of(&s["plaintext_sha256"])),
            recipients: None,
        },
    }
}

#[test]
fn an_annotation_of_an_encrypted_document_is_encrypted_by_default() {
    let (ws, digest) = encrypted_archive(&[]);
    let id = annotate(&ws, "secret.txt", BODY, &["--claim", "witness=W-017"]);
    ws.seal();
    // Nothing of the body or claim reaches the store or the log in the clear.
    let stored = stored_bytes(&ws);
    assert!(!stored.windows(9).any(|w| w == b"Mariia K."));
    assert!(!stored.windows(5).any(|w| w == b"W-017"));

    let hidden = show_json(&ws, &id, false);
    assert_eq!(hidden["annotation"]["encrypted"], true, "{hidden}");
    assert_eq!(hidden["annotation"]["sealed"]["decrypted"], false);
    assert!(hidden["annotation"].get("body").is_none(), "{hidden}");
    assert!(hidden["annotation"].get("claim").is_none(), "{hidden}");
    assert_eq!(
        hidden["annotation"]["target"],
        format!("sha256:{digest}"),
        "the target stays visible"
    );
    let (code, text, _) = ws.run(&["show", &id]);
    assert_eq!(code, 0);
    assert!(
        text.contains("[encrypted]") && !text.contains("Mariia"),
        "{text}"
    );

    let shown = show_json(&ws, &id, true);
    assert_eq!(shown["annotation"]["body"], BODY, "{shown}");
    assert_eq!(shown["annotation"]["claim"]["witness"], "W-017");
    assert_eq!(shown["annotation"]["sealed"]["decrypted"], true);
    let (_, text, _) = ws.run(&["show", &id, "--identity", &vector_identity()]);
    assert!(text.contains(BODY), "{text}");
    // Other readers say it is encrypted rather than show an empty body.
    let (_, history, _) = ws.run(&["history", "secret.txt"]);
    assert!(history.contains("[encrypted]"), "{history}");
}

#[test]
fn no_encrypt_keeps_the_fields_in_the_clear_and_encrypt_needs_recipients() {
    let (ws, _) = encrypted_archive(&[]);
    let id = annotate(&ws, "secret.txt", "a public remark", &["--no-encrypt"]);
    let shown = show_json(&ws, &id, false);
    assert_eq!(shown["annotation"]["encrypted"], false);
    assert_eq!(shown["annotation"]["body"], "a public remark");

    let ws = Workspace::new();
    ws.write("clear.txt", "clear\n");
    ws.add(&["clear.txt"]);
    let (code, _, stderr) = ws.run(&["annotate", "clear.txt", "--body", "x", "--encrypt"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("recipients"), "{stderr}");
}

#[test]
fn a_custody_note_is_encrypted_and_verified_at_both_levels() {
    let (ws, _) = encrypted_archive(&[]);
    let (code, stdout, stderr) = ws.run(&[
        "custody",
        "secret.txt",
        "--event",
        "received",
        "--actor",
        "Investigator A",
        "--from",
        "the mother of child 4",
        "--note",
        "handed over at the shelter",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let id = stdout.trim().to_string();
    ws.seal();
    let hidden = show_json(&ws, &id, false);
    assert_eq!(hidden["custody"]["encrypted"], true, "{hidden}");
    assert_eq!(hidden["custody"]["actor"], "Investigator A");
    assert!(hidden["custody"].get("from").is_none());
    assert!(!stored_bytes(&ws).windows(7).any(|w| w == b"shelter"));
    let shown = show_json(&ws, &id, true);
    assert_eq!(shown["custody"]["from"], "the mother of child 4");
    assert_eq!(shown["custody"]["note"], "handed over at the shelter");

    let (code, report, stderr) = verify_with(&ws, &[]);
    assert_eq!(code, 0, "{report} {stderr}");
    assert!(report
        .to_string()
        .contains("annotation(s)/custody event(s) not checked"));
    let (code, report, stderr) = verify_with(&ws, &["--identity", &vector_identity()]);
    assert_eq!(code, 0, "{report} {stderr}");
    assert!(
        report
            .to_string()
            .contains("custody event(s) decrypt and match"),
        "{report}"
    );
}

#[test]
fn a_tampered_note_ciphertext_is_caught_without_an_identity() {
    let (ws, _) = encrypted_archive(&[]);
    let id = annotate(&ws, "secret.txt", BODY, &[]);
    ws.seal();
    let sealed = sealed_of(&show_json(&ws, &id, false));
    let path = ws.object_path(&sealed.content.to_hex());
    let mut bytes = std::fs::read(&path).expect("object");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    Workspace::overwrite(&path, &bytes);
    let (code, report, stderr) = verify_with(&ws, &[]);
    assert_eq!(code, 1, "{report} {stderr}");
    assert_eq!(
        Workspace::problem_codes(&report),
        vec!["content-corrupt".to_string()],
        "{report}"
    );
    // Deleted: the same code as a missing document content.
    std::fs::remove_file(&path).expect("remove");
    let (code, report, _) = verify_with(&ws, &[]);
    assert_eq!(code, 1, "{report}");
    assert!(!Workspace::problem_codes(&report).is_empty(), "{report}");
}

/// A writer who can add records points a new annotation at another annotation's intact
/// ciphertext: every digest matches, so only a recipient who decrypts can tell.
#[test]
fn a_record_pointing_at_another_records_ciphertext_is_caught_by_a_recipient() {
    let (ws, digest) = encrypted_archive(&[]);
    // Same length bodies: the plaintext sizes agree, so the size check cannot see the swap.
    let first = annotate(&ws, "secret.txt", "body number one", &[]);
    let second = annotate(&ws, "secret.txt", "body number two", &[]);
    ws.seal();
    let a = sealed_of(&show_json(&ws, &first, false));
    let b = sealed_of(&show_json(&ws, &second, false));
    assert_eq!(a.encryption.plaintext_size, b.encryption.plaintext_size);
    let target = Digest::from_hex(&digest).expect("digest");
    let forged = |sealed: SealedFields, target: Digest| {
        Record::Annotation(Box::new(AnnotationRecord {
            header: Header::now(),
            target,
            selectors: Vec::new(),
            body: String::new(),
            tags: Vec::new(),
            claim: Default::default(),
            links: Vec::new(),
            analyst: None,
            sealed: Some(sealed),
        }))
        .encode()
        .expect("encode")
    };
    // The first annotation's commitment with the second's ciphertext.
    ws.plant_record(&forged(
        SealedFields {
            content: b.content,
            size: b.size,
            encryption: a.encryption.clone(),
        },
        target,
    ));
    // The repeated plaintext digest shows the copy without a key (round 14).
    let (_, report, stderr) = verify_with(&ws, &["--integrity-only"]);
    assert_eq!(
        Workspace::problem_codes(&report),
        vec!["sealed-fields-reused".to_string()],
        "{report} {stderr}"
    );
    let (code, report, stderr) =
        verify_with(&ws, &["--integrity-only", "--identity", &vector_identity()]);
    assert_eq!(code, 1, "{report} {stderr}");
    assert_eq!(
        Workspace::problem_codes(&report),
        vec![
            "sealed-fields-reused".to_string(),
            "sealed-fields-mismatch".to_string()
        ],
        "{report}"
    );

    // The whole sealed map copied under an annotation of another document: the plaintext
    // names its own target.
    let (ws, _) = encrypted_archive(&[]);
    let first = annotate(&ws, "secret.txt", "body number one", &[]);
    ws.write("other.txt", "another document\n");
    let (_, stdout, _) = ws.run(&["add", "other.txt"]);
    let other = Digest::from_hex(&added(&stdout)[0].0).expect("digest");
    ws.seal();
    let a = sealed_of(&show_json(&ws, &first, false));
    ws.plant_record(&forged(a, other));
    let (code, report, _) =
        verify_with(&ws, &["--integrity-only", "--identity", &vector_identity()]);
    assert_eq!(code, 1, "{report}");
    assert!(
        Workspace::problem_codes(&report).contains(&"sealed-fields-mismatch".to_string()),
        "{report}"
    );
    // `show` with the identity refuses it too, rather than show another record's text.
    let (code, _, stderr) = ws.run(&["show", "#5", "--identity", &vector_identity()]);
    assert_ne!(code, 0, "{stderr}");
}

#[test]
fn annotations_and_history_decrypt_with_the_identity_only() {
    let (ws, _) = encrypted_archive(&[]);
    annotate(&ws, "secret.txt", BODY, &[]);
    let (code, _, stderr) = ws.run(&[
        "custody",
        "secret.txt",
        "--event",
        "received",
        "--actor",
        "Investigator A",
        "--note",
        "handed over at the shelter",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let identity = vector_identity();
    for (args, hidden_text) in [
        (vec!["annotations", "secret.txt"], BODY),
        (vec!["history", "secret.txt"], "handed over at the shelter"),
    ] {
        let (code, stdout, stderr) = ws.run(&args);
        assert_eq!(code, 0, "{stderr}");
        assert!(!stdout.contains(hidden_text), "{stdout}");
        assert!(stdout.contains("[encrypted]"), "{stdout}");
        let mut with = args.clone();
        with.extend(["--identity", &identity]);
        let (code, stdout, stderr) = ws.run(&with);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains(hidden_text), "{stdout}");
    }
    let (code, stdout, stderr) = ws.run(&[
        "annotations",
        "secret.txt",
        "--json",
        "--identity",
        &identity,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(BODY), "{stdout}");
}
