//! Tampering: every change to a sealed archive must make `verify` exit 1 and name the item at
//! fault, both in the JSON report and in the human-readable output. Each test first checks
//! that the untouched archive verifies (the control), so a failure is the tampering's doing.

use std::fs;

use ciborium::value::Value;
use evidentia::core::cbor;
use evidentia::core::checkpoint::Checkpoint;
use evidentia::core::digest::Digest;
use evidentia::core::key::SignerKey;
use evidentia::core::merkle::{leaf_hash, node_hash};
use evidentia::core::note::SignedNote;
use evidentia::core::record::Record;
use evidentia::core::refmap::{chain_value, ChainEntry, MemoryMap, Subject};
use evidentia::keyfile;

use crate::common::{added, Workspace};

/// An archive with a.txt and b.txt sealed in checkpoint 1 and c.txt in checkpoint 2.
/// Returns the workspace and the (content hex, logical path) of each document.
fn two_checkpoints() -> (Workspace, Vec<(String, String)>) {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A, 2022-03-09.\n");
    ws.write("case/b.txt", "Statement of witness B, 2022-03-10.\n");
    let mut docs = added(&ws.add(&["case"]));
    ws.seal();
    ws.write("c.txt", "Satellite image notes, 2022-03-11.\n");
    docs.extend(added(&ws.add(&["c.txt"])));
    ws.seal();
    assert_eq!(docs.len(), 3);
    assert_eq!(ws.log_size(), 3);
    assert_clean(&ws);
    (ws, docs)
}

/// The control: an untouched archive verifies, with exit code 0, in both output forms.
fn assert_clean(ws: &Workspace) {
    let (code, report) = ws.verify_json();
    assert_eq!(
        code, 0,
        "control: the untouched archive must verify: {report}"
    );
    assert_eq!(report["ok"], true);
    assert!(Workspace::problem_codes(&report).is_empty(), "{report}");
    let (code, text) = ws.verify_text();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("VERIFIED"), "{text}");
}

/// Runs `verify` both ways and checks that it exits 1, that the JSON report holds a problem
/// with `code` for exactly `item`, and that the human-readable output names the same item.
/// Returns every problem code of the report.
fn assert_problem(ws: &Workspace, code: &str, item: &str) -> Vec<String> {
    let (exit, report) = ws.verify_json();
    assert_eq!(exit, 1, "verify must fail: {report}");
    assert_eq!(report["ok"], false, "{report}");
    let problems = report["problems"].as_array().expect("problems array");
    assert!(
        problems
            .iter()
            .any(|p| p["code"] == code && p["item"] == item),
        "expected problem [{code}] for '{item}' in {report}"
    );
    let (exit, text) = ws.verify_text();
    assert_eq!(exit, 1, "{text}");
    assert!(
        text.contains(&format!("PROBLEM [{code}] {item}: ")),
        "the human report must name '{item}' with [{code}]: {text}"
    );
    assert!(text.contains("FAILED"), "{text}");
    Workspace::problem_codes(&report)
}

fn flip_byte(path: &std::path::Path, at: usize) {
    let mut bytes = fs::read(path).expect("read");
    bytes[at] ^= 0x01;
    Workspace::overwrite(path, bytes);
}

fn read_note(ws: &Workspace, number: u64) -> SignedNote {
    let text = fs::read_to_string(ws.checkpoint_path(number)).expect("read checkpoint");
    SignedNote::parse(&text).expect("parse checkpoint")
}

fn write_note(ws: &Workspace, number: u64, note: &SignedNote) {
    Workspace::overwrite(&ws.checkpoint_path(number), note.render());
}

fn load_key(ws: &Workspace, file: &str) -> SignerKey {
    keyfile::load(
        &ws.path(file),
        || -> evidentia::Result<keyfile::Passphrase> { panic!("test keys are unencrypted") },
    )
    .expect("load key")
}

#[test]
fn flipped_byte_in_document_content() {
    let (ws, docs) = two_checkpoints();
    let (hex, _) = &docs[0];
    let object = ws.object_path(hex);
    flip_byte(&object, 3);
    let codes = assert_problem(&ws, "content-corrupt", &format!("document content {hex}"));
    assert_eq!(codes, vec!["content-corrupt"]);
    // `cat` passes the bytes on but must fail loudly afterwards.
    let (code, _, stderr) = ws.run(&["cat", hex]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(hex.as_str()), "{stderr}");
    assert!(stderr.contains("damaged"), "{stderr}");
}

#[test]
fn cat_of_intact_object_succeeds() {
    let (ws, docs) = two_checkpoints();
    let (code, stdout, stderr) = ws.run(&["cat", &docs[2].0]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "Satellite image notes, 2022-03-11.\n");
}

#[test]
fn content_with_appended_bytes() {
    let (ws, docs) = two_checkpoints();
    let (hex, _) = &docs[1];
    let object = ws.object_path(hex);
    let mut bytes = fs::read(&object).expect("read");
    bytes.extend_from_slice(b"appended");
    Workspace::overwrite(&object, bytes);
    assert_problem(&ws, "content-corrupt", &format!("document content {hex}"));
}

#[test]
fn deleted_content_object() {
    let (ws, docs) = two_checkpoints();
    let (hex, _) = &docs[2];
    fs::remove_file(ws.object_path(hex)).expect("delete");
    let codes = assert_problem(&ws, "content-missing", &format!("document content {hex}"));
    assert_eq!(codes, vec!["content-missing"]);
}

#[test]
fn deleted_record_object() {
    let (ws, _) = two_checkpoints();
    let record = ws.record_digests()[1];
    fs::remove_file(ws.object_path(&record.to_hex())).expect("delete");
    let codes = assert_problem(&ws, "record-missing", &format!("record #1 ({record})"));
    assert_eq!(codes, vec!["record-missing"]);
}

#[test]
fn edited_record_in_place() {
    let (ws, _) = two_checkpoints();
    let record = ws.record_digests()[0];
    let path = ws.object_path(&record.to_hex());
    let bytes = fs::read(&path).expect("read");
    flip_byte(&path, bytes.len() - 2);
    assert_problem(&ws, "record-corrupt", &format!("record #0 ({record})"));
}

/// A different valid record: the same record with another logical path (field 6), stored
/// under its own digest. Returns the digest and the bytes.
fn forged_record(ws: &Workspace, index: usize) -> (Digest, Vec<u8>) {
    let original = ws.record_digests()[index];
    let bytes = fs::read(ws.object_path(&original.to_hex())).expect("read record");
    let Value::Map(mut entries) = cbor::decode(&bytes).expect("decode") else {
        panic!("a record is a map");
    };
    let path = entries
        .iter_mut()
        .find(|(key, _)| cbor::as_uint(key) == Some(6))
        .expect("path field");
    path.1 = Value::Text("case/forged.txt".into());
    let forged = cbor::encode(&Value::Map(entries)).expect("encode");
    assert_ne!(forged, bytes);
    assert!(
        Record::decode(&forged).is_ok(),
        "the forged record is valid"
    );
    (ws.plant_object(&forged), forged)
}

#[test]
fn record_replaced_and_renamed_naively() {
    let (ws, _) = two_checkpoints();
    let (forged, _) = forged_record(&ws, 0);
    let mut records = ws.record_digests();
    records[0] = forged;
    let leaves = ws.leaf_hashes();
    // Only log/records is updated: the stored tree still holds the old leaf.
    let rewritten: Vec<u8> = records.iter().flat_map(|d| d.0).collect();
    Workspace::overwrite(&ws.archive().join("log/records"), rewritten);
    assert_eq!(ws.leaf_hashes(), leaves);
    let codes = assert_problem(&ws, "root-mismatch", "checkpoint 1");
    assert!(codes.contains(&"tree-mismatch".to_string()), "{codes:?}");
    assert_problem(&ws, "tree-mismatch", "log/tree/00 entry #0");
    assert_problem(&ws, "root-mismatch", "checkpoint 2");
}

#[test]
fn record_replaced_with_tree_rewritten() {
    let (ws, _) = two_checkpoints();
    let (forged, forged_bytes) = forged_record(&ws, 2);
    let mut records = ws.record_digests();
    let mut leaves = ws.leaf_hashes();
    records[2] = forged;
    leaves[2] = leaf_hash(&forged_bytes);
    ws.rewrite_log(&records, &leaves);
    // The log is self-consistent now; only the signed roots of checkpoint 2 betray it: the
    // tree root, and the reference map (the forged document sits under another path).
    let codes = assert_problem(&ws, "root-mismatch", "checkpoint 2");
    assert_eq!(codes, vec!["root-mismatch", "refs-mismatch"]);
    // `ls` shows the forged path: the read-only commands do not check signatures.
    let (code, stdout, _) = ws.run(&["ls"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("case/forged.txt"), "{stdout}");
}

#[test]
fn rewrite_log_helper_is_faithful() {
    // Guards the helper above: rewriting the log with its own contents changes nothing.
    let (ws, _) = two_checkpoints();
    let before = fs::read(ws.archive().join("log/tree/01")).expect("level 1");
    ws.rewrite_log(&ws.record_digests(), &ws.leaf_hashes());
    assert_eq!(
        fs::read(ws.archive().join("log/tree/01")).expect("level 1"),
        before
    );
    assert_clean(&ws);
}

#[test]
fn forged_signature_bytes() {
    let (ws, _) = two_checkpoints();
    let mut note = read_note(&ws, 1);
    note.signatures[0].signature[10] ^= 0x40;
    write_note(&ws, 1, &note);
    let codes = assert_problem(&ws, "signature-invalid", "checkpoint 1");
    assert!(
        codes.contains(&"signature-missing".to_string()),
        "{codes:?}"
    );
    let (_, report) = ws.verify_json();
    assert_eq!(
        report["checkpoints"][0]["signatures"][0]["status"],
        "invalid"
    );
    assert_eq!(report["checkpoints"][0]["ok"], false);
    assert_eq!(report["checkpoints"][1]["ok"], true);
}

#[test]
fn altered_checkpoint_text_under_a_valid_signature() {
    let (ws, _) = two_checkpoints();
    let path = ws.checkpoint_path(2);
    let text = fs::read_to_string(&path).expect("read");
    // Claim fewer records were sealed; the signature no longer covers the text.
    let altered = text.replacen("\n3\n", "\n2\n", 1);
    assert_ne!(altered, text);
    Workspace::overwrite(&path, altered);
    let codes = assert_problem(&ws, "signature-invalid", "checkpoint 2");
    assert!(
        codes.contains(&"signature-missing".to_string()),
        "{codes:?}"
    );
}

#[test]
fn signature_of_checkpoint_1_pasted_into_checkpoint_2() {
    let (ws, _) = two_checkpoints();
    let first = read_note(&ws, 1);
    let mut second = read_note(&ws, 2);
    second.signatures = first.signatures.clone();
    write_note(&ws, 2, &second);
    let codes = assert_problem(&ws, "signature-invalid", "checkpoint 2");
    assert!(
        codes.contains(&"signature-missing".to_string()),
        "{codes:?}"
    );
    let (_, report) = ws.verify_json();
    assert_eq!(report["checkpoints"][0]["ok"], true);
}

#[test]
fn signature_by_another_key_with_the_same_name() {
    let (ws, _) = two_checkpoints();
    ws.cmd()
        .args([
            "key",
            "generate",
            "--out",
            "impostor",
            "--signer",
            "signer",
            "--unencrypted",
        ])
        .assert()
        .success();
    let impostor = load_key(&ws, "impostor.key");
    assert_eq!(impostor.name, "signer");
    let note = read_note(&ws, 2);
    write_note(&ws, 2, &SignedNote::sign(&note.text, &[&impostor]));
    assert_problem(&ws, "signature-missing", "checkpoint 2");
    let (_, report) = ws.verify_json();
    assert_eq!(
        report["checkpoints"][1]["signatures"][0]["status"],
        "unknown-key"
    );
    // With --integrity-only, the archive's own keys are used: the impostor's key is not among
    // them.
    let (code, stdout, _) = ws.run(&["verify", "--json", "--integrity-only"]);
    assert_eq!(code, 1, "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert!(Workspace::problem_codes(&report).contains(&"signature-missing".to_string()));
    // Planting the impostor's public key in the archive makes an integrity-only check pass,
    // but never as VERIFIED and never with exit 0.
    fs::copy(
        ws.path("impostor.pub"),
        ws.archive().join("keys/impostor.pub"),
    )
    .expect("plant key");
    let (code, stdout, _) = ws.run(&["verify", "--integrity-only"]);
    assert_eq!(code, 3, "{stdout}");
    assert!(
        stdout.contains("INTACT BUT SIGNER NOT AUTHENTICATED"),
        "{stdout}"
    );
    assert_problem(&ws, "signature-missing", "checkpoint 2");
}

#[test]
fn checkpoint_signed_only_by_an_untrusted_key() {
    let ws = Workspace::new();
    ws.cmd()
        .args(["key", "generate", "--out", "other", "--unencrypted"])
        .assert()
        .success();
    ws.write("x.txt", "x");
    ws.add(&["x.txt"]);
    ws.cmd()
        .args(["seal", "--key", "other.key"])
        .assert()
        .success();
    assert_problem(&ws, "signature-missing", "checkpoint 1");
    let (_, report) = ws.verify_json();
    assert_eq!(
        report["checkpoints"][0]["signatures"][0]["status"],
        "unknown-key"
    );
    // Integrity only: the signature checks against the archive's keys, and the report says
    // that proves nothing about who signed.
    let (code, stdout, _) = ws.run(&["verify", "--json", "--integrity-only"]);
    assert_eq!(code, 3, "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(report["signers_authenticated"], false);
    assert_eq!(report["verdict"], "intact-unauthenticated");
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("signers were not authenticated"),
        "{report}"
    );
    let (code, stdout, _) = ws.run(&["verify", "--integrity-only"]);
    assert_eq!(code, 3);
    assert!(
        stdout.contains("INTACT BUT SIGNER NOT AUTHENTICATED"),
        "{stdout}"
    );
    // Trusting the right key makes it pass.
    let (code, stdout, _) = ws.run(&["verify", "--trust", "other.pub"]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn truncated_checkpoint_at_every_length() {
    let (ws, _) = two_checkpoints();
    let path = ws.checkpoint_path(2);
    let full = fs::read(&path).expect("read");
    for len in 0..full.len() {
        Workspace::overwrite(&path, &full[..len]);
        let (code, report) = ws.verify_json();
        assert_eq!(code, 1, "truncated to {len} bytes: {report}");
        let problems = report["problems"].as_array().expect("problems");
        assert!(
            problems.iter().any(|p| p["item"] == "checkpoint 2"),
            "truncated to {len} bytes, checkpoint 2 not named: {report}"
        );
    }
    Workspace::overwrite(&path, &full[..full.len() / 2]);
    assert_problem(&ws, "checkpoint-unreadable", "checkpoint 2");
    Workspace::overwrite(&path, &full);
    assert_clean(&ws);
}

#[test]
fn validly_signed_checkpoint_that_does_not_extend_the_log() {
    let ws = Workspace::new();
    ws.write("a.txt", "first");
    ws.add(&["a.txt"]);
    ws.seal();
    ws.write("b.txt", "second");
    ws.add(&["b.txt"]);
    let key = load_key(&ws, "signer.key");
    let first = Checkpoint::parse(&read_note(&ws, 1).text).expect("checkpoint 1");
    let leaves = ws.leaf_hashes();
    // The reference map a format-2 checkpoint commits to: each document under its path.
    let mut map = MemoryMap::new();
    for (i, (path, leaf)) in ["a.txt", "b.txt"].iter().zip(&leaves).enumerate() {
        let entry = ChainEntry {
            index: i as u64,
            leaf: *leaf,
            kind: "document".into(),
        };
        map.insert(Subject::Path(path.to_string()).key(), chain_value(&[entry]));
    }
    let refs = Some(map.root());
    let make = |root: Digest| Checkpoint {
        origin: first.origin.clone(),
        size: 2,
        root,
        number: 2,
        previous: Some(first.text_hash()),
        time: first.time,
        refs,
        message: None,
    };
    // The crafting is right: with the log's true root the checkpoint verifies.
    let honest = make(node_hash(&leaves[0], &leaves[1]));
    write_note(&ws, 2, &SignedNote::sign(&honest.to_text(), &[&key]));
    assert_clean(&ws);
    // A root over another second record: signed by the real key, but not this log's tree.
    let forged = make(node_hash(&leaves[0], &leaf_hash(b"another record")));
    write_note(&ws, 2, &SignedNote::sign(&forged.to_text(), &[&key]));
    let codes = assert_problem(&ws, "root-mismatch", "checkpoint 2");
    assert_eq!(codes, vec!["root-mismatch"]);
    let (_, report) = ws.verify_json();
    assert_eq!(report["checkpoints"][1]["signatures"][0]["status"], "valid");
}

#[test]
fn checkpoint_replaced_by_an_older_one() {
    let (ws, _) = two_checkpoints();
    let path = ws.checkpoint_path(2);
    Workspace::make_writable(&path);
    fs::copy(ws.checkpoint_path(1), &path).expect("copy");
    let codes = assert_problem(&ws, "checkpoint-number", "checkpoint 2");
    assert!(
        codes.contains(&"checkpoint-not-growing".to_string()),
        "{codes:?}"
    );
    assert!(codes.contains(&"checkpoint-chain".to_string()), "{codes:?}");
}

#[test]
fn rolled_back_log() {
    let (ws, _) = two_checkpoints();
    let head = ws.archive().join("log/HEAD");
    Workspace::overwrite(&head, "2\n");
    let codes = assert_problem(&ws, "checkpoint-beyond-log", "checkpoint 2");
    assert_eq!(codes, vec!["checkpoint-beyond-log"]);
    Workspace::overwrite(&head, "0\n");
    assert_problem(&ws, "checkpoint-beyond-log", "checkpoint 1");
    assert_problem(&ws, "checkpoint-beyond-log", "checkpoint 2");
    // Sealing on a rolled-back log is refused as damage, not papered over.
    let (code, _, stderr) = ws.run(&["seal", "--key", "signer.key"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("HEAD"), "{stderr}");
}

#[test]
fn log_records_file_cut_short() {
    let (ws, _) = two_checkpoints();
    let records = ws.archive().join("log/records");
    let bytes = fs::read(&records).expect("read");
    Workspace::overwrite(&records, &bytes[..64]);
    let (code, report) = ws.verify_json();
    assert_eq!(code, 1, "{report}");
    assert!(Workspace::problem_codes(&report).contains(&"log-unreadable".to_string()));
    let (code, text) = ws.verify_text();
    assert_eq!(code, 1);
    assert!(text.contains("PROBLEM [log-unreadable] log: "), "{text}");
}

#[test]
fn stray_file_in_checkpoints() {
    let (ws, _) = two_checkpoints();
    let stray = ws.archive().join("checkpoints/notes.txt");
    fs::write(&stray, "hello").expect("write");
    let codes = assert_problem(
        &ws,
        "checkpoint-stray-file",
        &format!("checkpoint {}", stray.display()),
    );
    assert_eq!(codes, vec!["checkpoint-stray-file"]);
}

#[test]
fn renamed_checkpoint_file() {
    let (ws, _) = two_checkpoints();
    let renamed = ws.archive().join("checkpoints/0000000002.bak");
    fs::rename(ws.checkpoint_path(2), &renamed).expect("rename");
    assert_problem(
        &ws,
        "checkpoint-stray-file",
        &format!("checkpoint {}", renamed.display()),
    );
    fs::rename(&renamed, ws.checkpoint_path(3)).expect("rename");
    let codes = assert_problem(&ws, "checkpoint-gap", "checkpoint 3");
    assert!(
        codes.contains(&"checkpoint-number".to_string()),
        "{codes:?}"
    );
}

#[test]
fn deleted_middle_checkpoint() {
    let (ws, _) = two_checkpoints();
    ws.write("d.txt", "d");
    ws.add(&["d.txt"]);
    ws.seal();
    assert_clean(&ws);
    fs::remove_file(ws.checkpoint_path(2)).expect("delete");
    let codes = assert_problem(&ws, "checkpoint-gap", "checkpoint 3");
    assert!(codes.contains(&"checkpoint-chain".to_string()), "{codes:?}");
}

#[test]
fn deleted_first_checkpoint() {
    let (ws, _) = two_checkpoints();
    fs::remove_file(ws.checkpoint_path(1)).expect("delete");
    let codes = assert_problem(&ws, "checkpoint-gap", "checkpoint 2");
    assert!(codes.contains(&"checkpoint-chain".to_string()), "{codes:?}");
}

#[test]
fn deleted_checkpoints_directory() {
    let (ws, _) = two_checkpoints();
    fs::remove_dir_all(ws.archive().join("checkpoints")).expect("delete");
    let codes = assert_problem(&ws, "checkpoints-unreadable", "checkpoints/");
    // With a trust file, an archive left with no checkpoint at all is also refused as unsealed.
    assert_eq!(codes, vec!["checkpoints-unreadable", "no-checkpoint"]);
}
