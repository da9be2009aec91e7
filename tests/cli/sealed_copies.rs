//! Attack (FORMAT.md §23.10, `sealed-fields-reused`): an insider copies the `sealed` map of an
//! encrypted annotation or custody event (ciphertext object and plaintext digest) into a new
//! record of the same kind and targets under their own analyst, actor or tags, appends it to
//! the log and seals it with their own key (a second key introduced in the archive) or the
//! archive's. Whatever reads with an identity (`show`, `history`, `annotations`) must never
//! show the original's words under the copy, and must still show them under the original.

use evidentia::core::digest::Digest;
use evidentia::core::record::{Header, Record};
use serde_json::Value;

use crate::attacks_encryption::read_record;
use crate::common::Workspace;
use crate::encryption::{encrypted_archive, vector_identity};

const WORDS: &str = "W-017 identified the shooter";

/// Which signing key seals the planted copy.
#[derive(Debug, Clone, Copy)]
enum Signer {
    /// The archive's own key (an insider holding it).
    Same,
    /// A second key, introduced in the archive, held by the insider.
    Second,
}

/// Plants a copy of the sealed record `original` (changed by `disguise`) and seals it with
/// `signer`; returns the copy's id.
fn plant_copy(
    ws: &Workspace,
    original: &Digest,
    signer: Signer,
    disguise: fn(&mut Record),
) -> Digest {
    if let Signer::Second = signer {
        let (code, _, stderr) = ws.run(&[
            "key",
            "generate",
            "--out",
            "insider",
            "--signer",
            "insider",
            "--unencrypted",
        ]);
        assert_eq!(code, 0, "{stderr}");
        let (code, _, stderr) = ws.run(&["key", "introduce", "--key", "insider.key"]);
        assert_eq!(code, 0, "{stderr}");
    }
    let mut copy = read_record(ws, original);
    disguise(&mut copy);
    let copy = ws.plant_record(&copy.encode().expect("encode"));
    let key = match signer {
        Signer::Same => "signer.key",
        Signer::Second => "insider.key",
    };
    let (code, _, stderr) = ws.run(&["seal", "--key", key]);
    assert_eq!(code, 0, "{stderr}");
    copy
}

fn as_other_analyst(record: &mut Record) {
    let Record::Annotation(a) = record else {
        panic!("not an annotation");
    };
    assert!(a.sealed.is_some(), "the body is sealed");
    a.header = Header::now();
    a.analyst = Some("someone else".into());
    a.tags = vec!["disputed".into()];
}

fn as_other_actor(record: &mut Record) {
    let Record::Custody(c) = record else {
        panic!("not a custody event");
    };
    assert!(c.sealed.is_some(), "the note is sealed");
    c.header = Header::now();
    c.actor = "someone else".into();
}

/// An encrypted archive with one sealed annotation (WORDS); returns it and the annotation id.
fn sealed_annotation() -> (Workspace, Digest) {
    let (ws, _) = encrypted_archive(&[]);
    let (code, _, stderr) = ws.run(&["annotate", "secret.txt", "--body", WORDS, "--encrypt"]);
    assert_eq!(code, 0, "{stderr}");
    let original = *ws.record_digests().last().expect("annotation");
    (ws, original)
}

/// Whether `stderr` has the warning for `copy`, a record of `kind` (as in `show --json`).
fn warned_about(stderr: &str, kind: &str, copy: &Digest) -> bool {
    let kind = if kind == "custody" {
        "custody event"
    } else {
        kind
    };
    stderr.contains(&format!(
        "warning: {kind} sha256:{copy} repeats the sealed fields of an earlier {kind} (sealed-fields-reused): left encrypted"
    ))
}

/// `show` of the copy with the identity, as text and JSON: exit 0, the words never printed,
/// `[encrypted]` / `decrypted: false`, and the warning. `show` of the original still reveals.
fn assert_show_keeps_copy_encrypted(ws: &Workspace, original: &Digest, copy: &Digest, kind: &str) {
    let identity = vector_identity();
    let copy_hex = copy.to_hex();
    let (code, stdout, stderr) = ws.run(&["show", &copy_hex, "--identity", &identity]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains(WORDS), "copied words shown: {stdout}");
    assert!(stdout.contains("[encrypted]"), "{stdout}");
    assert!(warned_about(&stderr, kind, copy), "{stderr}");
    let (code, stdout, stderr) = ws.run(&["show", &copy_hex, "--identity", &identity, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains(WORDS), "copied words shown: {stdout}");
    let shown: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(
        shown["records"][0][kind]["sealed"]["decrypted"], false,
        "{shown}"
    );
    assert!(warned_about(&stderr, kind, copy), "{stderr}");
    // The honest original: decrypted, no warning.
    let (code, stdout, stderr) = ws.run(&["show", &original.to_hex(), "--identity", &identity]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(WORDS), "original not revealed: {stdout}");
    assert!(!stderr.contains("sealed-fields-reused"), "{stderr}");
}

/// `history --identity` (text and JSON): the words appear once, under the original's author,
/// the copy's event reads `[encrypted]`, and the warning names the copy.
fn assert_history_keeps_copy_encrypted(ws: &Workspace, copy: &Digest, kind: &str, event: &str) {
    let identity = vector_identity();
    let (code, stdout, stderr) = ws.run(&["history", "secret.txt", "--identity", &identity]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.matches(WORDS).count(), 1, "{stdout}");
    let copy_line = stdout
        .lines()
        .find(|l| l.contains(event) && l.contains("by someone else"))
        .unwrap_or_else(|| panic!("no event of the copy: {stdout}"));
    assert!(copy_line.contains("[encrypted]"), "{copy_line}");
    assert!(!copy_line.contains(WORDS), "{copy_line}");
    assert!(warned_about(&stderr, kind, copy), "{stderr}");
    let (code, stdout, stderr) =
        ws.run(&["history", "secret.txt", "--identity", &identity, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let story: Value = serde_json::from_str(&stdout).expect("json");
    let events = story["events"].as_array().expect("events");
    let of_copy = events
        .iter()
        .find(|e| e["record"] == copy.to_prefixed())
        .expect("the copy's event");
    assert!(!of_copy.to_string().contains(WORDS), "{of_copy}");
    assert!(of_copy["detail"]
        .as_str()
        .expect("detail")
        .contains("[encrypted]"));
    assert_eq!(stdout.matches(WORDS).count(), 1, "{stdout}");
    assert!(warned_about(&stderr, kind, copy), "{stderr}");
}

#[test]
fn a_copied_sealed_annotation_is_never_shown_under_the_copier() {
    for signer in [Signer::Same, Signer::Second] {
        let (ws, original) = sealed_annotation();
        let copy = plant_copy(&ws, &original, signer, as_other_analyst);
        assert_show_keeps_copy_encrypted(&ws, &original, &copy, "annotation");
        assert_history_keeps_copy_encrypted(&ws, &copy, "annotation", "annotated");
        // `annotations` decrypts the original (the first in log order), not the copy.
        let identity = vector_identity();
        let (code, stdout, stderr) = ws.run(&[
            "annotations",
            "secret.txt",
            "--json",
            "--identity",
            &identity,
        ]);
        assert_eq!(code, 0, "{signer:?}: {stderr}");
        let listed: Value = serde_json::from_str(&stdout).expect("json");
        let with_words: Vec<&Value> = listed["annotations"]
            .as_array()
            .expect("annotations")
            .iter()
            .filter(|a| a.to_string().contains(WORDS))
            .collect();
        assert_eq!(with_words.len(), 1, "{signer:?}: {listed}");
        assert_eq!(
            with_words[0]["id"],
            original.to_prefixed(),
            "{signer:?}: {listed}"
        );
        assert!(warned_about(&stderr, "annotation", &copy), "{stderr}");
        // `verify` refuses the copy whoever sealed it, the insider's key trusted too.
        let mut trusted = std::fs::read_to_string(ws.path("signer.pub")).expect("signer.pub");
        if let Signer::Second = signer {
            trusted.push_str(&std::fs::read_to_string(ws.path("insider.pub")).expect("pub"));
        }
        ws.write("trusted.pub", trusted);
        let (code, stdout, stderr) = ws.run(&[
            "verify",
            "--json",
            "--trust",
            "trusted.pub",
            "--identity",
            &identity,
        ]);
        let report: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        assert_eq!(code, 1, "{signer:?}: {report} {stderr}");
        assert_eq!(
            Workspace::problem_codes(&report),
            vec!["sealed-fields-reused".to_string()],
            "{signer:?}: {report}"
        );
    }
}

#[test]
fn a_copied_sealed_custody_event_is_never_shown_under_the_copier() {
    for signer in [Signer::Same, Signer::Second] {
        let (ws, _) = encrypted_archive(&[]);
        let (code, _, stderr) = ws.run(&[
            "custody",
            "secret.txt",
            "--event",
            "transferred",
            "--actor",
            "field team",
            "--note",
            WORDS,
            "--encrypt",
        ]);
        assert_eq!(code, 0, "{stderr}");
        let original = *ws.record_digests().last().expect("custody event");
        let copy = plant_copy(&ws, &original, signer, as_other_actor);
        assert_show_keeps_copy_encrypted(&ws, &original, &copy, "custody");
        assert_history_keeps_copy_encrypted(&ws, &copy, "custody", "transferred");
    }
}

/// No false accusation: two honest sealed annotations with the same body (fresh salts, so
/// different plaintext digests) both decrypt, with no warning.
#[test]
fn honest_sealed_records_with_equal_words_all_decrypt() {
    let (ws, first) = sealed_annotation();
    let (code, _, stderr) = ws.run(&["annotate", "secret.txt", "--body", WORDS, "--encrypt"]);
    assert_eq!(code, 0, "{stderr}");
    let second = *ws.record_digests().last().expect("annotation");
    ws.seal();
    let identity = vector_identity();
    for id in [first, second] {
        let (code, stdout, stderr) = ws.run(&["show", &id.to_hex(), "--identity", &identity]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains(WORDS), "{stdout}");
        assert!(!stderr.contains("sealed-fields-reused"), "{stderr}");
    }
    let (code, stdout, stderr) = ws.run(&["history", "secret.txt", "--identity", &identity]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.matches(WORDS).count(), 2, "{stdout}");
    assert!(!stderr.contains("sealed-fields-reused"), "{stderr}");
}

/// No honest record hidden: an annotation sealed to the first recipients, the set replaced by
/// a court's key, a second annotation sealed to it. Each identity lists the document's
/// annotations and history (exit 0) with what it opens decrypted; the record sealed to the
/// other keys stays `[encrypted]` with a warning instead of failing the whole listing.
#[test]
fn a_recipients_change_hides_nothing_else_in_listings() {
    let (ws, _) = sealed_annotation();
    let court = crate::encryption::age_identity(&ws, "court.txt");
    let (code, _, stderr) = ws.run(&["recipients", "set", "--recipient", &court]);
    assert_eq!(code, 0, "{stderr}");
    let later = "for the court only";
    let (code, _, stderr) = ws.run(&["annotate", "secret.txt", "--body", later, "--encrypt"]);
    assert_eq!(code, 0, "{stderr}");
    ws.seal();
    let vector = vector_identity();
    for (identity, opened, unopened) in [("court.txt", later, WORDS), (&vector, WORDS, later)] {
        for command in ["annotations", "history"] {
            let (code, stdout, stderr) =
                ws.run(&[command, "secret.txt", "--identity", identity, "--json"]);
            assert_eq!(code, 0, "{command} {identity}: {stderr}");
            assert!(stdout.contains(opened), "{command} {identity}: {stdout}");
            assert!(!stdout.contains(unopened), "{command} {identity}: {stdout}");
            assert!(
                stderr.contains("sealed to other keys than the identity given: left encrypted"),
                "{command} {identity}: {stderr}"
            );
        }
    }
}

/// Attack: an insider copies the `sealed` map of an annotation on another document into an
/// annotation on this one (so it decrypts, but to fields naming the other document), to make
/// `annotations`/`history --identity` of this document fail and hide its honest records. The
/// planted record stays `[encrypted]` with `sealed-fields-mismatch`; the honest one is shown.
#[test]
fn a_mismatched_sealed_record_hides_nothing_else_in_listings() {
    let (ws, honest) = sealed_annotation();
    let Record::Annotation(honest_record) = read_record(&ws, &honest) else {
        panic!("not an annotation");
    };
    ws.write("other.txt", "another statement");
    let (code, _, stderr) = ws.run(&["add", "--encrypt", "other.txt"]);
    assert_eq!(code, 0, "{stderr}");
    let elsewhere = "said about the other document";
    let (code, _, stderr) = ws.run(&["annotate", "other.txt", "--body", elsewhere, "--encrypt"]);
    assert_eq!(code, 0, "{stderr}");
    let source = *ws.record_digests().last().expect("annotation");
    let mut copy = read_record(&ws, &source);
    as_other_analyst(&mut copy);
    let Record::Annotation(a) = &mut copy else {
        panic!("not an annotation");
    };
    a.target = honest_record.target;
    let planted = ws.plant_record(&copy.encode().expect("encode"));
    ws.seal();
    let identity = vector_identity();
    for command in ["annotations", "history"] {
        let (code, stdout, stderr) =
            ws.run(&[command, "secret.txt", "--identity", &identity, "--json"]);
        assert_eq!(code, 0, "{command}: {stderr}");
        assert_eq!(stdout.matches(WORDS).count(), 1, "{command}: {stdout}");
        assert!(!stdout.contains(elsewhere), "{command}: {stdout}");
        assert!(
            stderr.contains(&format!(
                "annotation sha256:{planted}: its encrypted fields do not match the record (sealed-fields-mismatch)"
            )),
            "{command}: {stderr}"
        );
    }
}
