//! Metadata added after the fact travels with its document: export discloses the `metadata`
//! records about every disclosed document record, both verifiers check them, and the report
//! shows them. Forgeries strip one or attach one to another document, recomputing every
//! unsigned checksum, manifest and JSON, so only signed data or a structural rule can catch them.

use evidentia::core::record::Record;

use super::completeness::{copy_dir, index_of_kind, remove_record};
use super::*;

/// a.txt and b.txt, each with a metadata record; b.txt's is about the protected witness.
fn with_metadata() -> Workspace {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.write("case/b.txt", SECRET);
    ws.add(&["case"]);
    for (path, tag) in [("case/a.txt", "bucha"), ("case/b.txt", SECRET_TAG)] {
        let (code, _, stderr) = run(&ws, &["metadata", path, "--tag", tag], &[]);
        assert_eq!(code, 0, "{stderr}");
    }
    let (code, _, stderr) = run(
        &ws,
        &["metadata", "case/a.txt", "--collector", "Analyst B"],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    ws.seal();
    ws
}

/// Verify exits 1 with `code` among the problems, and the Python verifier agrees.
fn assert_fails_with(ws: &Workspace, bundle: &Path, code: &str) {
    let (exit, report) = verify_json(ws, bundle, &TRUST);
    assert_eq!(exit, 1, "{report}");
    let codes = Workspace::problem_codes(&report);
    assert!(
        codes.iter().any(|c| c == code),
        "[{code}] expected: {report}"
    );
    assert!(!verify_text(ws, bundle, &TRUST).1.contains("VERIFIED"));
    differential::assert_script_agrees(ws, bundle, 1, &codes);
}

fn every_file_text(bundle: &Path) -> String {
    let mut all = String::new();
    for entry in walkdir::WalkDir::new(bundle) {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            all.push_str(&String::from_utf8_lossy(
                &fs::read(entry.path()).expect("read"),
            ));
        }
    }
    all
}

#[test]
fn metadata_travels_with_its_document_and_both_verifiers_accept_it() {
    let ws = with_metadata();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--select", "case/a.txt"]);
    assert_bundle_ok(&ws, &bundle);
    let manifest = read_manifest(&bundle);
    let kinds: Vec<&str> = (manifest["records"].as_array().expect("records").iter())
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "metadata").count(),
        2,
        "both metadata records about a.txt: {kinds:?}"
    );
    let report = fs::read_to_string(bundle.join("report.html")).expect("report");
    assert!(report.contains("Metadata added later (2)"), "{report}");
    assert!(report.contains("Analyst B") && report.contains("bucha"));
    // Nothing about the undisclosed document leaks, its later metadata included.
    assert!(!every_file_text(&bundle).contains(SECRET_TAG));
}

#[test]
fn stripping_a_metadata_record_is_caught() {
    let ws = with_metadata();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--select", "case/a.txt"]);
    let metadata = index_of_kind(&bundle, "metadata");
    let a_record = record_id(&bundle, 0);
    let item = format!("records about sha256:{a_record}");

    let forged = ws.path("forged-1");
    copy_dir(&bundle, &forged);
    remove_record(&forged, metadata, false);
    assert_bundle_problem(&ws, &forged, "metadata-withheld", &[&item]);

    // Also removed from the completeness lists: the signed reference map disagrees.
    let forged = ws.path("forged-2");
    copy_dir(&bundle, &forged);
    remove_record(&forged, metadata, true);
    assert_bundle_problem(&ws, &forged, "completeness-invalid", &[&item]);
    let (code, text) = ws.verify_text();
    assert_eq!(code, 0, "the archive still verifies: {text}");
}

#[test]
fn metadata_moved_to_another_document_is_caught() {
    let ws = with_metadata();
    let bundle = ws.path("bundle");
    export(
        &ws,
        &bundle,
        &["--select", "case/a.txt", "--select", "case/b.txt"],
    );
    assert_bundle_ok(&ws, &bundle);
    let manifest = read_manifest(&bundle);
    let records = manifest["records"].as_array().expect("records").clone();
    let id_of = |path: &str| {
        let doc = (manifest["documents"].as_array().expect("documents").iter())
            .find(|d| d["path"] == path)
            .expect("disclosed");
        doc["record"].as_str().expect("record").to_string()
    };
    let (a_record, b_record) = (id_of("case/a.txt"), id_of("case/b.txt"));

    // 1. b.txt's metadata re-pointed at a.txt: a new record, whose proof cannot hold.
    let forged = ws.path("forged-retarget");
    copy_dir(&bundle, &forged);
    let listed = (records.iter())
        .find(|r| {
            r["kind"] == "metadata" && {
                let id = r["id"].as_str().expect("id");
                let bytes = fs::read(bundle.join(format!("data/records/{id}.cbor"))).unwrap();
                matches!(Record::decode(&bytes), Ok(Record::Metadata(m)) if m.target.to_hex() == b_record)
            }
        })
        .expect("b.txt's metadata is disclosed");
    let old_id = listed["id"].as_str().expect("id").to_string();
    let bytes = fs::read(forged.join(format!("data/records/{old_id}.cbor"))).expect("record");
    let Ok(Record::Metadata(mut m)) = Record::decode(&bytes) else {
        panic!("a metadata record")
    };
    m.target = Digest::from_lower_hex(a_record.as_bytes()).expect("hex");
    let moved = Record::Metadata(m).encode().expect("encode");
    let new_id = Digest::of(&moved).to_hex();
    fs::remove_file(forged.join(format!("data/records/{old_id}.cbor"))).expect("remove");
    fs::write(forged.join(format!("data/records/{new_id}.cbor")), &moved).expect("write");
    let mut forged_manifest = read_manifest(&forged);
    for r in forged_manifest["records"].as_array_mut().expect("records") {
        if r["id"] == old_id.as_str() {
            r["id"] = Value::String(new_id.clone());
        }
    }
    write_manifest(&forged, &forged_manifest);
    rebag(&forged);
    assert_fails_with(&ws, &forged, "proof-invalid");

    // 2. b.txt taken out of the bundle, its metadata left in: attached to nothing disclosed.
    let forged = ws.path("forged-unattached");
    copy_dir(&bundle, &forged);
    let b_index = (records.iter())
        .find(|r| r["id"] == b_record.as_str())
        .and_then(|r| r["index"].as_u64())
        .expect("b.txt's record");
    let mut forged_manifest = read_manifest(&forged);
    let documents = forged_manifest["documents"]
        .as_array_mut()
        .expect("documents");
    let file = (documents.iter())
        .find(|d| d["record"] == b_record.as_str())
        .and_then(|d| d["file"].as_str())
        .expect("b.txt's file")
        .to_string();
    documents.retain(|d| d["record"] != b_record.as_str());
    write_manifest(&forged, &forged_manifest);
    fs::remove_file(forged.join(&file)).expect("remove b.txt");
    remove_record(&forged, b_index, true);
    assert_fails_with(&ws, &forged, "metadata-unattached");
    let (code, text) = ws.verify_text();
    assert_eq!(code, 0, "the archive still verifies: {text}");
}
