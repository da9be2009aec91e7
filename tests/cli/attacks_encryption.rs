//! Adversarial round on encrypted content (issue 14, FORMAT.md §23), built as an attacker
//! would: records planted in the log with a consistent tree, objects under their real digests,
//! proof files and positions files edited. What must hold: nothing false is released by `cat`
//! or proven by `verify-proof`, `verify` reports every planted lie, and honest histories
//! (rewraps, other identities) are never accused.

use std::fs;

use evidentia::core::digest::Digest;
use evidentia::core::merkle::MemoryTree;
use evidentia::core::record::{EncryptionInfo, Header, PlaintextBinding, Record, RewrapRecord};
use evidentia::crypt::{stream, Recipients};
use serde_json::Value;

use crate::common::{added, mkfifo, Workspace};
use crate::encrypted_proofs::verify_proof;
use crate::encryption::{age_identity, encrypted_archive, vector_identity, verify_with, SECRET};

/// A second identity (`court.txt`), made as a court would; returns its recipient.
fn encrypt_to(recipient: &str, plaintext: &[u8]) -> (Vec<u8>, evidentia::crypt::Sealed) {
    let recipients = Recipients::parse_all(&[recipient.to_string()], "test").expect("recipient");
    stream::encrypt(&recipients, &mut &plaintext[..], Vec::new()).expect("encrypt")
}

/// Plants, as a writer of the archive directory (or a holder of one signing key) could, a
/// `rewrap` of `target` whose ciphertext holds `plaintext`, encrypted to `recipient`.
fn plant_rewrap(
    ws: &Workspace,
    target: Digest,
    recipient: &str,
    plaintext: &[u8],
    binding: impl FnOnce(&evidentia::crypt::Sealed) -> PlaintextBinding,
) -> Digest {
    let (ciphertext, sealed) = encrypt_to(recipient, plaintext);
    ws.plant_object(&ciphertext);
    let forged = Record::Rewrap(Box::new(RewrapRecord {
        header: Header::now(),
        target,
        content: sealed.ciphertext,
        size: sealed.ciphertext_size,
        encryption: EncryptionInfo {
            plaintext_size: sealed.plaintext_size,
            binding: binding(&sealed),
            recipients: None,
        },
        reason: None,
    }));
    ws.plant_record(&forged.encode().expect("encode"))
}

const FORGED: &[u8] = b"FORGED: nobody was on the street that day.\n";

/// Attack: a `rewrap` of the document whose ciphertext holds other plaintext, encrypted to a
/// court that is a recipient of no honest ciphertext. `cat --identity` must not hand the court
/// the forged plaintext as the document's (it was checked only against the rewrap's own,
/// planted binding), and `verify` reports the rewrap.
#[test]
fn a_planted_rewrap_of_other_plaintext_is_never_released_as_the_document() {
    for hide in [false, true] {
        let extra: &[&str] = if hide { &["--hide-digest"] } else { &[] };
        let (ws, _) = encrypted_archive(extra);
        let target = *ws.record_digests().last().expect("document record");
        let court = age_identity(&ws, "court.txt");
        let forged = plant_rewrap(&ws, target, &court, FORGED, |s| {
            PlaintextBinding::Digest(s.plaintext)
        });
        let (code, stdout, stderr) = ws.run(&["cat", "secret.txt", "--identity", "court.txt"]);
        assert!(
            !stdout.contains("FORGED"),
            "forged plaintext released: {stdout}"
        );
        assert_eq!(code, 2, "hide {hide}: {stderr}");
        assert!(
            stderr.contains("give the identity of one of its recipients"),
            "{stderr}"
        );
        // Asked for the planted ciphertext itself: not served as the document's plaintext.
        let Record::Rewrap(rewrap) = read_record(&ws, &forged) else {
            panic!("a rewrap");
        };
        let object = rewrap.content.to_hex();
        let identity = vector_identity();
        let (_, stdout, _) = ws.run(&["cat", &object, "--identity", &identity]);
        assert!(!stdout.contains("W-017"), "{stdout}");
        ws.run(&["seal"]);
        let (code, report, stderr) = verify_with(&ws, &[]);
        assert_eq!(code, 1, "{report} {stderr}");
        assert!(Workspace::problem_codes(&report).contains(&"rewrap-invalid".to_string()));
    }
}

/// The same with a rewrap whose size and binding are the document's (as `verify` requires) but
/// whose ciphertext holds other bytes of the same size: decryption checks them and releases
/// nothing.
#[test]
fn a_planted_rewrap_keeping_the_binding_releases_nothing() {
    let (ws, _) = encrypted_archive(&[]);
    let target = *ws.record_digests().last().expect("document record");
    let court = age_identity(&ws, "court.txt");
    let same_size = "X".repeat(SECRET.len());
    plant_rewrap(&ws, target, &court, same_size.as_bytes(), |_| {
        PlaintextBinding::Digest(Digest::of(SECRET.as_bytes()))
    });
    let (code, stdout, stderr) = ws.run(&["cat", "secret.txt", "--identity", "court.txt"]);
    assert!(stdout.is_empty(), "{stdout}");
    assert_ne!(code, 0, "{stderr}");
    ws.run(&["seal"]);
    let (code, report, stderr) = verify_with(&ws, &["--identity", "court.txt"]);
    assert_eq!(code, 1, "{report} {stderr}");
    assert_eq!(
        Workspace::problem_codes(&report),
        vec!["plaintext-mismatch".to_string()],
        "{report}"
    );
}

/// Two encrypted documents of the same size: a proof of one accepts neither the other's
/// plaintext nor its ciphertext (open and hidden bindings; the hidden one is only NOT PROVABLE
/// without an identity, never a false VERIFIED or an accusation).
#[test]
fn a_proof_accepts_no_other_document_of_the_same_size() {
    for hide in [false, true] {
        let extra: &[&str] = if hide { &["--hide-digest"] } else { &[] };
        let (ws, _) = encrypted_archive(extra);
        ws.write("other.txt", SECRET.replace("W-017", "W-018"));
        let mut args = vec!["add", "--encrypt", "other.txt"];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = ws.run(&args);
        assert_eq!(code, 0, "{stderr}");
        let other_ciphertext = added(&stdout)[0].0.clone();
        ws.seal();
        let (code, _, stderr) = ws.run(&["prove", "secret.txt", "--out", "proof.json"]);
        assert_eq!(code, 0, "{stderr}");
        fs::copy(ws.object_path(&other_ciphertext), ws.path("other.age")).expect("copy");
        let identity = vector_identity();
        for (file, with) in [
            ("other.txt", vec!["--identity", identity.as_str()]),
            ("other.age", vec![]),
            ("other.age", vec!["--identity", identity.as_str()]),
        ] {
            let (code, report, stderr) = verify_proof(&ws, file, &with);
            assert_eq!(code, 1, "hide {hide} {file}: {report} {stderr}");
            assert_eq!(Workspace::problem_codes(&report), vec!["content-mismatch"]);
        }
        let (code, report, stderr) = verify_proof(&ws, "other.txt", &[]);
        let (want, codes): (i32, Vec<&str>) = if hide {
            (4, vec![])
        } else {
            (1, vec!["content-mismatch"])
        };
        assert_eq!(code, want, "hide {hide}: {report} {stderr}");
        assert_eq!(Workspace::problem_codes(&report), codes);
    }
}

/// A proof file whose `record` is a `rewrap` (with a correct inclusion proof, JSON rewritten):
/// its ciphertext is not a document's, so the proof refuses it (`record-invalid`).
#[test]
fn a_proof_whose_record_is_a_rewrap_is_refused() {
    let (ws, _) = encrypted_archive(&[]);
    rewrap_to_court(&ws);
    let (code, _, stderr) = ws.run(&["prove", "secret.txt", "--out", "proof.json"]);
    assert_eq!(code, 0, "{stderr}");
    // The court verifies the plaintext it decrypted (open binding): no identity needed.
    let (code, report, stderr) = verify_proof(&ws, "secret.txt", &[]);
    assert_eq!(code, 0, "{report} {stderr}");

    let records = ws.record_digests();
    let rewrap_index = records.len() - 1;
    let bytes = fs::read(ws.object_path(&records[rewrap_index].to_hex())).expect("record");
    let mut tree = MemoryTree::new();
    for leaf in ws.leaf_hashes() {
        tree.push(leaf);
    }
    let path = tree
        .inclusion_proof(rewrap_index as u64, records.len() as u64)
        .expect("proof");
    let text = fs::read_to_string(ws.path("proof.json")).expect("proof");
    let mut proof: Value = serde_json::from_str(&text).expect("json");
    proof["record"] = serde_json::json!({
        "index": rewrap_index,
        "bytes": hex::encode(&bytes),
        "proof": path.iter().map(Digest::to_hex).collect::<Vec<_>>(),
    });
    fs::write(ws.path("proof.json"), proof.to_string()).expect("write");
    let rewrapped = match Record::decode(&bytes).expect("record") {
        Record::Rewrap(r) => r.content.to_hex(),
        other => panic!("not a rewrap: {}", other.kind()),
    };
    fs::copy(ws.object_path(&rewrapped), ws.path("court.age")).expect("copy");
    for file in ["court.age", "secret.txt"] {
        let (code, report, stderr) = verify_proof(&ws, file, &[]);
        assert_eq!(code, 1, "{file}: {report} {stderr}");
        assert!(
            Workspace::problem_codes(&report).contains(&"record-invalid".to_string()),
            "{report}"
        );
    }
}

/// An identity file that is a FIFO, or huge, is refused as usage (exit 2) by every command
/// that takes one, without blocking or reading it all.
#[test]
fn an_identity_that_is_a_fifo_or_huge_is_refused() {
    let (ws, _) = encrypted_archive(&[]);
    let (code, _, stderr) = ws.run(&["prove", "secret.txt", "--out", "proof.json"]);
    assert_eq!(code, 0, "{stderr}");
    mkfifo(&ws.path("fifo.txt"));
    let huge = format!(
        "# comment\n{}",
        "# padding padding padding padding padding\n".repeat(60_000)
    );
    ws.write("huge.txt", huge);
    for identity in ["fifo.txt", "huge.txt"] {
        for args in [
            vec!["verify", "--trust", "signer.pub", "--identity", identity],
            vec!["cat", "secret.txt", "--identity", identity],
            vec![
                "verify-proof",
                "proof.json",
                "secret.txt",
                "--trust",
                "signer.pub",
                "--identity",
                identity,
            ],
        ] {
            let (code, stdout, stderr) = ws.run(&args);
            assert_eq!(code, 2, "{args:?}: {stdout} {stderr}");
            assert!(!stdout.contains("W-017"), "{stdout}");
        }
    }
}

/// Replaces the archive's recipients by a court's key (its identity in `court.txt`), rewraps
/// every document to it with the vector identity, and seals.
fn rewrap_to_court(ws: &Workspace) {
    let court = age_identity(ws, "court.txt");
    let (code, _, stderr) = ws.run(&["recipients", "set", "--recipient", &court]);
    assert_eq!(code, 0, "{stderr}");
    let identity = vector_identity();
    let (code, _, stderr) = ws.run(&["rewrap", "--all", "--identity", &identity]);
    assert_eq!(code, 0, "{stderr}");
    ws.seal();
}

/// Empties `index/kinds/<kind>` while claiming to cover the whole log: every line it keeps is
/// checked against the log, but an omission cannot be seen without reading the log.
fn drop_positions(ws: &Workspace, kind: &str) {
    let file = ws.archive().join("index/kinds").join(kind);
    assert!(file.is_file(), "{kind} positions kept");
    Workspace::overwrite(&file, format!("covered {}\n", ws.log_size()));
}

/// An edited `index/kinds/rewrap` that hides the court's rewrap only denies the court the
/// document (exit 2, nothing released); `verify` does not read it and still checks the court's
/// ciphertext.
#[test]
fn hidden_rewrap_positions_deny_but_never_mislead() {
    let (ws, _) = encrypted_archive(&["--hide-digest"]);
    rewrap_to_court(&ws);
    let (code, stdout, stderr) = ws.run(&["cat", "secret.txt", "--identity", "court.txt"]);
    assert_eq!((code, stdout.as_str()), (0, SECRET), "{stderr}");
    drop_positions(&ws, "rewrap");
    let (code, stdout, stderr) = ws.run(&["cat", "secret.txt", "--identity", "court.txt"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    drop_positions(&ws, "rewrap");
    let (code, report, stderr) = verify_with(&ws, &["--identity", "court.txt"]);
    assert_eq!(code, 0, "{report} {stderr}");
    assert!(report["proven"]
        .to_string()
        .contains("the plaintext of 1 encrypted document(s) decrypts and matches"));
}

/// An edited `index/kinds/retraction` hiding a retraction lets `retract` log a second one for
/// the same document: an honest history of two retractions is not an accusation.
#[test]
fn a_retraction_hidden_from_retract_is_no_accusation() {
    let (ws, _) = encrypted_archive(&[]);
    let (code, _, stderr) = ws.run(&["retract", "secret.txt", "--reason", "wrong file"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, _) = ws.run(&["retract", "secret.txt", "--reason", "again"]);
    assert_eq!(code, 2, "the earlier retraction is found");
    drop_positions(&ws, "retraction");
    let (code, _, stderr) = ws.run(&["retract", "secret.txt", "--reason", "again"]);
    assert_eq!(code, 0, "the positions file hid the first: {stderr}");
    ws.seal();
    let (code, report, stderr) = verify_with(&ws, &[]);
    assert_eq!(code, 0, "{report} {stderr}");
}

/// An honest rewrap to a court, hidden binding: the court, holding only its own identity,
/// cannot check the plaintext against a proof of the document (the proof carries the
/// document's opening only, encrypted to the old recipients). Known limit, pinned: a usage
/// refusal (exit 2) naming the identity, never an accusation.
#[test]
fn a_court_checks_a_proof_of_a_rewrapped_hidden_document() {
    let (ws, _) = encrypted_archive(&["--hide-digest"]);
    rewrap_to_court(&ws);
    let (code, _, stderr) = ws.run(&["prove", "secret.txt", "--out", "proof.json"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, report, stderr) = verify_proof(&ws, "secret.txt", &["--identity", "court.txt"]);
    assert_eq!(code, 2, "no accusation: {report} {stderr}");
    assert!(
        stderr.contains("none of the identities in court.txt"),
        "{stderr}"
    );
}

/// The record `id` as stored.
pub(crate) fn read_record(ws: &Workspace, id: &Digest) -> Record {
    Record::decode(&fs::read(ws.object_path(&id.to_hex())).expect("record")).expect("decode")
}

/// Attack: a `rewrap` of a hidden-binding document that keeps its commitment (as `verify`
/// requires) but carries another document's opening, over the document's own ciphertext. No
/// key can tell; a recipient's `verify --identity` reports `opening-mismatch`, and `cat` still
/// releases only the document's checked plaintext.
#[test]
fn a_rewrap_with_the_opening_of_another_commitment_is_caught_by_a_recipient() {
    let (ws, _) = encrypted_archive(&["--hide-digest"]);
    ws.write("other.txt", "another statement\n");
    let (code, _, stderr) = ws.run(&["add", "--encrypt", "--hide-digest", "other.txt"]);
    assert_eq!(code, 0, "{stderr}");
    let records = ws.record_digests();
    let document = |id: &Digest| match read_record(&ws, id) {
        Record::Document(d) => Some((*id, *d)),
        _ => None,
    };
    let documents: Vec<_> = records.iter().filter_map(document).collect();
    let [(target, secret), (_, other)] = &documents[..] else {
        panic!("two documents");
    };
    let commitment = match &secret.encryption.as_ref().expect("encrypted").binding {
        PlaintextBinding::Committed { commitment, .. } => *commitment,
        PlaintextBinding::Digest(_) => panic!("hidden binding"),
    };
    let opening = match &other.encryption.as_ref().expect("encrypted").binding {
        PlaintextBinding::Committed { opening, .. } => opening.clone(),
        PlaintextBinding::Digest(_) => panic!("hidden binding"),
    };
    let info = secret.encryption.clone().expect("encrypted");
    let forged = Record::Rewrap(Box::new(RewrapRecord {
        header: Header::now(),
        target: *target,
        content: secret.content,
        size: secret.size,
        encryption: EncryptionInfo {
            binding: PlaintextBinding::Committed {
                commitment,
                opening,
            },
            ..info
        },
        reason: None,
    }));
    ws.plant_record(&forged.encode().expect("encode"));
    ws.seal();
    let (code, report, stderr) = verify_with(&ws, &[]);
    assert_eq!(code, 0, "no key can tell: {report} {stderr}");
    let identity = vector_identity();
    let (code, report, stderr) = verify_with(&ws, &["--identity", &identity]);
    assert_eq!(code, 1, "{report} {stderr}");
    assert_eq!(
        Workspace::problem_codes(&report),
        vec!["opening-mismatch".to_string()],
        "{report}"
    );
    let (code, stdout, stderr) = ws.run(&["cat", "secret.txt", "--identity", &identity]);
    assert_eq!((code, stdout.as_str()), (0, SECRET), "{stderr}");
}

/// `export --identity` of a document through a planted rewrap of other plaintext to the
/// court's key: refused before anything is written or logged (the rewrap is never tried).
#[test]
fn export_never_decrypts_through_a_planted_rewrap() {
    let (ws, _) = encrypted_archive(&[]);
    let target = *ws.record_digests().last().expect("document record");
    let court = age_identity(&ws, "court.txt");
    plant_rewrap(&ws, target, &court, FORGED, |s| {
        PlaintextBinding::Digest(s.plaintext)
    });
    ws.seal();
    let before = ws.log_size();
    let (code, _, stderr) = ws.run(&[
        "export",
        "--out",
        "bundle",
        "--all",
        "--identity",
        "court.txt",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        !ws.path("bundle").exists(),
        "a refused export wrote a bundle"
    );
    assert_eq!(ws.log_size(), before, "a refused export logged a record");
}

/// Attack: the `sealed` map of an encrypted annotation copied into another annotation of the
/// same document (same kind and targets, which is all the plaintext names), with other visible
/// fields (analyst, tags): the hidden body and claim would be attributed to a record that did
/// not make them. Honest writers never repeat a sealed plaintext (its fresh salt comes first),
/// so `verify` refuses a second record with the same sealed plaintext digest, without a key.
#[test]
fn a_sealed_body_copied_into_another_annotation_is_refused() {
    let (ws, _) = encrypted_archive(&[]);
    let (code, _, stderr) = ws.run(&[
        "annotate",
        "secret.txt",
        "--body",
        "W-017 identified the shooter",
        "--encrypt",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let original = *ws.record_digests().last().expect("annotation");
    let Record::Annotation(mut copy) = read_record(&ws, &original) else {
        panic!("not an annotation");
    };
    assert!(copy.sealed.is_some(), "the body is sealed");
    copy.header = Header::now();
    copy.analyst = Some("someone else".into());
    copy.tags = vec!["disputed".into()];
    ws.plant_record(&Record::Annotation(copy).encode().expect("encode"));
    ws.seal();
    let identity = vector_identity();
    for extra in [vec![], vec!["--identity", identity.as_str()]] {
        let (code, report, stderr) = verify_with(&ws, &extra);
        assert_eq!(code, 1, "{extra:?}: {report} {stderr}");
        assert_eq!(
            Workspace::problem_codes(&report),
            vec!["sealed-fields-reused".to_string()],
            "{report}"
        );
    }
    // Listing the document's annotations with the identity shows the body once, under the
    // record that made it.
    let (code, stdout, stderr) = ws.run(&[
        "annotations",
        "secret.txt",
        "--json",
        "--identity",
        &identity,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.matches("W-017 identified the shooter").count(),
        1,
        "{stdout}"
    );
    assert!(stderr.contains("sealed-fields-reused"), "{stderr}");
}

/// Honest history: documents encrypted to the first recipients, then the set replaced by a
/// court's key and an annotation's fields sealed to it. The court's identity opens no
/// document but does open the fields: `verify --identity` checks them instead of refusing the
/// court's key as the wrong one.
#[test]
fn a_recipient_of_sealed_fields_only_is_not_refused_as_the_wrong_key() {
    let (ws, _) = encrypted_archive(&[]);
    let court = age_identity(&ws, "court.txt");
    let (code, _, stderr) = ws.run(&["recipients", "set", "--recipient", &court]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = ws.run(&[
        "annotate",
        "secret.txt",
        "--body",
        "for the court",
        "--encrypt",
    ]);
    assert_eq!(code, 0, "{stderr}");
    ws.seal();
    let (code, report, stderr) = verify_with(&ws, &["--identity", "court.txt"]);
    assert_eq!(code, 0, "{report} {stderr}");
    assert!(
        report["proven"]
            .to_string()
            .contains("encrypted fields of 1 annotation(s)/custody event(s) decrypt and match"),
        "{report}"
    );
}

/// The same copy, disclosed in a bundle: the export's self-check (every check `verify BUNDLE`
/// makes) finds the two disclosed records committing to one sealed plaintext, so no bundle
/// is written and nothing is logged.
#[test]
fn a_sealed_body_copied_into_another_annotation_never_reaches_a_bundle() {
    let (ws, _) = encrypted_archive(&[]);
    let (code, _, stderr) = ws.run(&["annotate", "secret.txt", "--body", "W-017", "--encrypt"]);
    assert_eq!(code, 0, "{stderr}");
    let original = *ws.record_digests().last().expect("annotation");
    let Record::Annotation(mut copy) = read_record(&ws, &original) else {
        panic!("not an annotation");
    };
    copy.header = Header::now();
    copy.analyst = Some("someone else".into());
    ws.plant_record(&Record::Annotation(copy).encode().expect("encode"));
    ws.seal();
    let before = ws.record_digests().len();
    let identity = vector_identity();
    let (code, stdout, stderr) = ws.run(&[
        "export",
        "--all",
        "--out",
        "bundle",
        "--identity",
        &identity,
    ]);
    assert_eq!(code, 1, "{stdout} {stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("sealed-fields-reused"),
        "{stdout} {stderr}"
    );
    assert!(!ws.path("bundle").exists());
    assert_eq!(ws.record_digests().len(), before, "nothing logged");
}
