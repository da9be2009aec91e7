//! Documents with escaped names (FORMAT.md §5.1) in bundles: exported under their logical
//! path, their exact names carried by the record, checked by both verifiers.

use evidentia::core::record::Record;

use super::*;
use crate::names::{odd_case, ODD_NAMES};

/// The odd-name case sealed and exported whole.
fn odd_bundle() -> (Workspace, PathBuf) {
    let ws = odd_case();
    ws.seal();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--all"]);
    (ws, bundle)
}

#[test]
fn escaped_names_export_and_verify_in_both_verifiers() {
    let (ws, bundle) = odd_bundle();
    let report = assert_bundle_ok(&ws, &bundle);
    assert_eq!(
        report["documents"].as_array().map(Vec::len),
        Some(ODD_NAMES.len())
    );
    let manifest = read_manifest(&bundle);
    for (name, logical, content) in ODD_NAMES {
        let listed = manifest["documents"]
            .as_array()
            .expect("documents")
            .iter()
            .find(|d| d["path"] == logical)
            .expect("listed in bundle.json");
        // The payload file is placed from the safe logical path (the bundle layout writes
        // its `%` as the full-width U+FF05), never under the raw name.
        let file = listed["file"].as_str().expect("file");
        assert!(
            file.ends_with(&logical[5..].replace('%', "\u{ff05}")),
            "{file}"
        );
        let bytes = fs::read(bundle.join(file)).expect("payload");
        assert_eq!(bytes, content.as_bytes(), "{logical}");
        // The record file carries the exact name bytes.
        let id = listed["record"].as_str().expect("record id");
        let bytes = fs::read(bundle.join(format!("data/records/{id}.cbor"))).expect("record");
        let Ok(Record::Document(doc)) = Record::decode(&bytes) else {
            panic!("{logical}: not a document record");
        };
        let raw = [b"case/", name].concat();
        let plain = logical == format!("case/{}", String::from_utf8_lossy(name));
        assert_eq!(doc.original_path, (!plain).then_some(raw), "{logical}");
    }
    let html = fs::read_to_string(bundle.join("report.html")).expect("report.html");
    assert!(
        html.contains("case/line\\u{a}break.txt"),
        "report names the exact name"
    );
}

/// Swaps a disclosed document record for `forged`, renaming its file and relisting it in
/// bundle.json, then recomputes every manifest, as a forger would. Returns the problem item.
fn replace_record(bundle: &Path, id: &str, forged: &[u8]) -> String {
    let new_id = Digest::of(forged).to_hex();
    fs::remove_file(bundle.join(format!("data/records/{id}.cbor"))).expect("remove");
    fs::write(bundle.join(format!("data/records/{new_id}.cbor")), forged).expect("write");
    let mut manifest = read_manifest(bundle);
    let mut index = 0;
    for r in manifest["records"].as_array_mut().expect("records") {
        if r["id"] == id {
            r["id"] = Value::from(new_id.clone());
            index = r["index"].as_u64().expect("index");
        }
    }
    for d in manifest["documents"].as_array_mut().expect("documents") {
        if d["record"] == id {
            d["record"] = Value::from(new_id.clone());
        }
    }
    write_manifest(bundle, &manifest);
    rebag(bundle);
    format!("record #{index} ({new_id})")
}

#[test]
fn forged_original_name_in_a_bundle_is_refused_by_both_verifiers() {
    let (ws, bundle) = odd_bundle();
    let manifest = read_manifest(&bundle);
    let listed = manifest["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .find(|d| d["path"] == "case/bad%FF.txt")
        .expect("listed")
        .clone();
    let id = listed["record"].as_str().expect("id").to_string();
    let bytes = fs::read(bundle.join(format!("data/records/{id}.cbor"))).expect("record");
    let Ok(Record::Document(mut doc)) = Record::decode(&bytes) else {
        panic!("not a document record");
    };
    // The recipient is told the file was named `bad<0xfe>.txt`: a different original.
    doc.original_path = Some(b"case/bad\xfe.txt".to_vec());
    let forged = Record::Document(doc).encode().expect("encode");
    let item = replace_record(&bundle, &id, &forged);
    assert_bundle_problem(&ws, &bundle, "record-invalid", &[&item]);
}
