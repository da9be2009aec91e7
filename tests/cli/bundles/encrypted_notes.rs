//! Bundles that disclose annotations and custody events whose fields are stored encrypted
//! (FORMAT.md §23.10, "Bundles"): each record's fields travel in data/sealed/ as the archive's
//! ciphertext, or (export --identity) as the checked plaintext or re-encrypted to a court; both
//! verifiers check them against the signed `sealed` map. Forgeries recompute every unsigned
//! manifest.

use super::encrypted::{export_to_court, identity, verify_as_court, RECIPIENT};
use super::*;

const BODY: &str = "Witness W-017 (Mariia K.) identifies the officer.";
/// As long as BODY, so its ciphertext and plaintext have the same sizes.
const OTHER: &str = "Witness W-018 (Oksana P.) identifies the vehicle.";

/// A clear document with two encrypted annotations and an encrypted custody note.
fn archive_with_encrypted_notes() -> Workspace {
    let ws = Workspace::new();
    let (code, _, stderr) = ws.run(&["recipients", "set", "--recipient", RECIPIENT]);
    assert_eq!(code, 0, "{stderr}");
    ws.write("case/a.txt", "a clear statement\n");
    ws.add(&["case"]);
    for body in [BODY, OTHER] {
        let (code, _, stderr) = ws.run(&["annotate", "case/a.txt", "--body", body, "--encrypt"]);
        assert_eq!(code, 0, "{stderr}");
    }
    let (code, _, stderr) = ws.run(&[
        "custody",
        "case/a.txt",
        "--event",
        "received",
        "--actor",
        "Investigator A",
        "--from",
        "Mariia K.",
        "--encrypt",
    ]);
    assert_eq!(code, 0, "{stderr}");
    ws.seal();
    ws
}

fn bundle_with_encrypted_notes(extra: &[&str]) -> (Workspace, PathBuf) {
    let ws = archive_with_encrypted_notes();
    let bundle = ws.path("bundle");
    let mut args = vec!["--all"];
    args.extend_from_slice(extra);
    export(&ws, &bundle, &args);
    (ws, bundle)
}

/// The data/bundle.json `sealed` entries: (record, form, file), in log order.
fn sealed_entries(bundle: &Path) -> Vec<(String, String, String)> {
    let manifest = read_manifest(bundle);
    let entries = manifest["sealed"].as_array().expect("sealed").clone();
    entries
        .iter()
        .map(|e| {
            let field = |k: &str| e[k].as_str().expect("text").to_string();
            (field("record"), field("form"), field("file"))
        })
        .collect()
}

/// The codes of the warnings in a verify report.
fn warning_codes(report: &Value) -> Vec<String> {
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    findings
        .iter()
        .filter(|f| f["severity"] == "warning")
        .filter_map(|f| f["code"].as_str().map(str::to_string))
        .collect()
}

fn assert_no_leak(bundle: &Path) {
    for entry in walkdir::WalkDir::new(bundle) {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            let bytes = fs::read(entry.path()).expect("read");
            assert!(
                !bytes.windows(9).any(|w| w == b"Mariia K."),
                "{} holds the hidden text",
                entry.path().display()
            );
        }
    }
}

#[test]
fn a_bundle_with_encrypted_notes_carries_their_ciphertexts_and_verifies_at_both_levels() {
    let (ws, bundle) = bundle_with_encrypted_notes(&[]);
    let entries = sealed_entries(&bundle);
    assert_eq!(entries.len(), 3, "{entries:?}");
    for (record, form, file) in &entries {
        assert_eq!(form, "stored");
        assert_eq!(file, &format!("data/sealed/{record}.age"));
        assert!(bundle.join(file).is_file());
    }
    let report = assert_bundle_ok(&ws, &bundle);
    assert!(
        warning_codes(&report).contains(&"plaintext-not-checked".to_string()),
        "{report}"
    );
    assert!(strings(&report["not_proven"])
        .join("\n")
        .contains("encrypted fields of 3"));
    assert_no_leak(&bundle);
    let page = fs::read_to_string(bundle.join("report.html")).expect("report");
    assert!(
        page.contains("[encrypted]"),
        "the report must say the body is encrypted"
    );
    // With the archive's identity the fields are decrypted and checked.
    let key = identity();
    let (code, report) = verify_json(&ws, &bundle, &["--trust", "signer.pub", "--identity", &key]);
    assert_eq!(code, 0, "{report}");
    let proven = strings(&report["proven"]).join("\n");
    assert!(
        proven.contains("encrypted fields of 3 annotation(s)"),
        "{proven}"
    );
    assert!(warning_codes(&report).is_empty(), "{report}");
    let shown = report["sealed_fields"].as_array().expect("sealed_fields");
    assert!(
        shown
            .iter()
            .any(|f| f["body"] == BODY && f["form"] == "stored"),
        "{report}"
    );
    assert!(shown
        .iter()
        .any(|f| f["from"] == "Mariia K." && f["kind"] == "custody"));
    let (code, text) = verify_text(&ws, &bundle, &["--trust", "signer.pub", "--identity", &key]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(&format!("body \"{BODY}\"")), "{text}");
}

#[test]
fn a_mixed_bundle_of_encrypted_documents_and_notes_exported_with_the_identity_verifies() {
    let ws = archive_with_encrypted_notes();
    ws.write("secret.txt", "Statement naming the child.\n");
    let (code, _, stderr) = ws.run(&["add", "--encrypt", "secret.txt"]);
    assert_eq!(code, 0, "{stderr}");
    // Encrypted by default, as its document is; and one note kept in the clear.
    let (code, _, stderr) = ws.run(&["annotate", "secret.txt", "--body", "names the child"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = ws.run(&[
        "annotate",
        "case/a.txt",
        "--body",
        "public remark",
        "--no-encrypt",
    ]);
    assert_eq!(code, 0, "{stderr}");
    ws.seal();
    let bundle = ws.path("bundle");
    let key = identity();
    export(&ws, &bundle, &["--all", "--identity", &key]);
    assert_eq!(sealed_entries(&bundle).len(), 4);
    let report = assert_bundle_ok(&ws, &bundle);
    let proven = strings(&report["proven"]).join("\n");
    assert!(
        proven.contains("encrypted fields of 4 annotation(s)"),
        "{proven}"
    );
}

#[test]
fn a_ciphertext_of_another_record_swapped_in_is_caught_by_both_verifiers() {
    let (ws, bundle) = bundle_with_encrypted_notes(&[]);
    let entries = sealed_entries(&bundle);
    let (first, second) = (bundle.join(&entries[0].2), bundle.join(&entries[1].2));
    let (a, b) = (fs::read(&first).expect("a"), fs::read(&second).expect("b"));
    // (Their sizes may differ: age adds a random grease stanza to some headers.)
    fs::write(&first, &b).expect("write");
    fs::write(&second, &a).expect("write");
    rebag(&bundle);
    let item = format!("encrypted fields of record {}", entries[0].0);
    let codes = assert_bundle_problem(&ws, &bundle, "content-corrupt", &[&item]);
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
}

#[test]
fn a_removed_fields_file_is_missing_whether_or_not_it_is_still_listed() {
    let (ws, bundle) = bundle_with_encrypted_notes(&[]);
    let entries = sealed_entries(&bundle);
    let item = format!("encrypted fields of record {}", entries[2].0);
    fs::remove_file(bundle.join(&entries[2].2)).expect("remove");
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "sealed-fields-missing", &[&item]);
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
    // And unlisted from data/bundle.json too.
    let mut manifest = read_manifest(&bundle);
    manifest["sealed"]
        .as_array_mut()
        .expect("sealed")
        .truncate(2);
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "sealed-fields-missing", &[&item]);
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
}

#[test]
fn a_clear_export_discloses_the_checked_fields_and_is_logged() {
    let key = identity();
    let (ws, bundle) = bundle_with_encrypted_notes(&["--identity", &key]);
    let entries = sealed_entries(&bundle);
    for (record, form, file) in &entries {
        assert_eq!(form, "clear");
        assert_eq!(file, &format!("data/sealed/{record}.cbor"));
    }
    let report = assert_bundle_ok(&ws, &bundle);
    let proven = strings(&report["proven"]).join("\n");
    assert!(
        proven.contains("encrypted fields of 3 annotation(s)"),
        "{proven}"
    );
    let page = fs::read_to_string(bundle.join("report.html")).expect("report");
    assert!(
        page.contains("W-017"),
        "the report shows the decrypted body"
    );
    let (code, log, _) = ws.run(&["log", "--kind", "custody", "--json"]);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains(
            "encrypted fields of 3 annotation(s)/custody event(s) decrypted (in the clear"
        ),
        "{log}"
    );
}

#[test]
fn a_clear_plaintext_of_another_record_or_altered_is_caught_by_both_verifiers() {
    let key = identity();
    let (ws, bundle) = bundle_with_encrypted_notes(&["--identity", &key]);
    let entries = sealed_entries(&bundle);
    let item = format!("encrypted fields of record {}", entries[0].0);
    let first = bundle.join(&entries[0].2);
    let original = fs::read(&first).expect("read");
    // Another record's plaintext, same size: its own salt, digest and kind, other targets none.
    fs::copy(bundle.join(&entries[1].2), &first).expect("copy");
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "sealed-fields-mismatch", &[&item]);
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
    // The record's own plaintext with one letter of the body changed.
    let at = original
        .windows(5)
        .position(|w| w == b"W-017")
        .expect("body");
    let mut altered = original.clone();
    altered[at + 4] = b'8';
    fs::write(&first, &altered).expect("write");
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "sealed-fields-mismatch", &[&item]);
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
}

#[test]
fn fields_re_encrypted_to_a_court_are_checked_with_the_court_identity() {
    let ws = archive_with_encrypted_notes();
    let (bundle, court_file, _) = export_to_court(&ws);
    let entries = sealed_entries(&bundle);
    assert!(
        entries.iter().all(|(_, form, _)| form == "encrypted"),
        "{entries:?}"
    );
    assert_no_leak(&bundle);
    // The document is encrypted to the court too: not provable without its identity.
    let (code, report) = verify_as_court(&ws, &bundle, &court_file);
    assert_eq!(code, 0, "{report}");
    let proven = strings(&report["proven"]).join("\n");
    assert!(
        proven.contains("encrypted fields of 3 annotation(s)"),
        "{proven}"
    );
}

#[test]
fn an_extra_file_in_the_sealed_area_or_a_damaged_one_is_named_once_by_both_verifiers() {
    let (ws, bundle) = bundle_with_encrypted_notes(&[]);
    let entries = sealed_entries(&bundle);
    // A copy under a name no record dictates, with every manifest recomputed.
    let extra = "data/sealed/0000000000000000000000000000000000000000000000000000000000000000.age";
    fs::copy(bundle.join(&entries[0].2), bundle.join(extra)).expect("copy");
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "unlisted-sealed-fields", &[extra]);
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
    fs::remove_file(bundle.join(extra)).expect("remove");
    rebag(&bundle);
    // A flipped byte, manifests left alone: the bag check names it, and nothing else does.
    let file = bundle.join(&entries[1].2);
    let mut bytes = fs::read(&file).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&file, &bytes).expect("write");
    let codes = assert_bundle_problem(&ws, &bundle, "payload-corrupt", &[&entries[1].2]);
    assert!(
        !codes
            .iter()
            .any(|c| c == "content-corrupt" || c.starts_with("sealed")),
        "{codes:?}"
    );
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
}

#[test]
fn re_encrypted_fields_swapped_between_records_are_caught_with_the_court_identity() {
    let ws = archive_with_encrypted_notes();
    let (bundle, court_file, _) = export_to_court(&ws);
    let entries = sealed_entries(&bundle);
    // The two annotations' fields have one plaintext size: without a key the swap is invisible.
    let (first, second) = (bundle.join(&entries[0].2), bundle.join(&entries[1].2));
    let (a, b) = (fs::read(&first).expect("a"), fs::read(&second).expect("b"));
    fs::write(&first, &b).expect("write");
    fs::write(&second, &a).expect("write");
    rebag(&bundle);
    let (code, report) = verify_as_court(&ws, &bundle, &court_file);
    assert_eq!(code, 1, "{report}");
    let codes = Workspace::problem_codes(&report);
    assert!(
        codes.iter().all(|c| c == "sealed-fields-mismatch") && codes.len() == 2,
        "{report}"
    );
}
