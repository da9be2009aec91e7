//! Attack (FORMAT.md §23.10, check 12d `sealed-fields-reused`): an insider copies the `sealed`
//! map of an encrypted annotation into a new annotation of their own on the same document,
//! seals it, and hands over a bundle disclosing both, to have the original's words credited to
//! the copy. Export's self-check refuses to write such a bundle, so the insider writes it by
//! hand: the copy, which links to an undisclosed document, is withheld by an honest export and
//! then disclosed with its record, its inclusion proof, its completeness subject and a multiproof
//! recomputed from the log, its fields file and every manifest. Both verifiers must refuse it.

use evidentia::bundle::completeness::{parse_subject, step_text};
use evidentia::core::merkle::MemoryTree;
use evidentia::core::record::{Header, Link, Record, Relation};
use evidentia::core::refmap::{MemoryMap, Subject};
use serde_json::json;

use super::encrypted::RECIPIENT;
use super::*;

const BODY: &str = "Witness W-017 (Mariia K.) identifies the officer.";

fn read_record(ws: &Workspace, id: &Digest) -> (Vec<u8>, Record) {
    let bytes = fs::read(ws.object_path(&id.to_hex())).expect("record");
    let record = Record::decode(&bytes).expect("decode");
    (bytes, record)
}

/// An archive with case/a.txt, an encrypted annotation on it (the original), and the
/// insider's copy of its sealed map with a link to the undisclosed case/x.txt, sealed.
/// Returns the workspace and the copy's id.
fn archive_with_a_copy() -> (Workspace, Digest) {
    let ws = Workspace::new();
    let (code, _, stderr) = ws.run(&["recipients", "set", "--recipient", RECIPIENT]);
    assert_eq!(code, 0, "{stderr}");
    ws.write("case/a.txt", "a clear statement\n");
    ws.write("case/x.txt", "another statement, not handed over\n");
    let added = added(&ws.add(&["case"]));
    let x = added
        .iter()
        .find(|(_, path)| path == "case/x.txt")
        .map(|(digest, _)| Digest::from_lower_hex(digest.as_bytes()).expect("digest"))
        .expect("x.txt");
    let (code, _, stderr) = ws.run(&["annotate", "case/a.txt", "--body", BODY, "--encrypt"]);
    assert_eq!(code, 0, "{stderr}");
    let original = *ws.record_digests().last().expect("annotation");
    let Record::Annotation(mut copy) = read_record(&ws, &original).1 else {
        panic!("not an annotation");
    };
    assert!(copy.sealed.is_some(), "the body is sealed");
    copy.header = Header::now();
    copy.analyst = Some("someone else".into());
    copy.links = vec![Link {
        relation: Relation::Corroborates,
        target: x,
    }];
    let copy = ws.plant_record(&Record::Annotation(copy).encode().expect("encode"));
    ws.seal();
    (ws, copy)
}

/// Discloses the withheld record `id` in `bundle` as a forger would.
fn disclose_by_hand(ws: &Workspace, bundle: &Path, id: &Digest) {
    let mut manifest = read_manifest(bundle);
    let size = manifest["tree_size"].as_u64().expect("tree size");
    let ids = ws.record_digests();
    let leaves = ws.leaf_hashes();
    let index = ids.iter().position(|r| r == id).expect("in the log") as u64;
    let (bytes, record) = read_record(ws, id);
    fs::write(
        bundle.join(format!("data/records/{}.cbor", id.to_hex())),
        &bytes,
    )
    .expect("write record");
    // Its inclusion proof, from the log's leaves.
    let mut tree = MemoryTree::new();
    leaves
        .iter()
        .take(size as usize)
        .for_each(|l| tree.push(*l));
    let path = tree.inclusion_proof(index, size).expect("proof");
    let records = manifest["records"].as_array_mut().expect("records");
    records.push(json!({
        "index": index,
        "id": id.to_hex(),
        "kind": "annotation",
        "proof": path.iter().map(Digest::to_hex).collect::<Vec<_>>(),
    }));
    records.sort_by_key(|r| r["index"].as_u64());
    manifest["withheld"]["annotations"] = json!(0);
    // Its fields: the archive's ciphertext object, which its `sealed` map names.
    let Record::Annotation(a) = &record else {
        panic!("not an annotation");
    };
    let sealed = a.sealed.as_ref().expect("sealed");
    let file = format!("data/sealed/{}.age", id.to_hex());
    fs::copy(ws.object_path(&sealed.content.to_hex()), bundle.join(&file)).expect("copy");
    let entries = manifest["sealed"].as_array_mut().expect("sealed");
    entries.push(json!({"record": id.to_hex(), "form": "stored", "file": file}));
    // Its completeness subject (no record is about it), and the multiproof for every listed
    // subject recomputed from the log's reference map.
    let completeness = &mut manifest["completeness"];
    let subjects = completeness["subjects"].as_array_mut().expect("subjects");
    subjects.push(json!({"subject": format!("about {}", id.to_hex()), "entries": []}));
    let mut keys: Vec<Digest> = subjects
        .iter()
        .map(|s| {
            let text = s["subject"].as_str().expect("subject");
            parse_subject(text).expect("known subject").key()
        })
        .collect();
    keys.sort();
    keys.dedup();
    let mut map = MemoryMap::new();
    for (i, (r, leaf)) in ids.iter().zip(&leaves).take(size as usize).enumerate() {
        map.add_record(i as u64, leaf, &read_record(ws, r).1);
    }
    completeness["proof"] = json!(map
        .prove_many(&keys)
        .steps
        .iter()
        .map(step_text)
        .collect::<Vec<_>>());
    assert!(keys.contains(&Subject::About(*id).key()));
    write_manifest(bundle, &manifest);
    rebag(bundle);
}

#[test]
fn a_bundle_forged_to_disclose_a_copied_sealed_annotation_is_refused_by_both_verifiers() {
    let (ws, copy) = archive_with_a_copy();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--select", "case/a.txt"]);
    let manifest = read_manifest(&bundle);
    assert_eq!(manifest["withheld"]["annotations"], 1, "{manifest}");
    // The honest bundle (the copy withheld) verifies in both.
    assert_bundle_ok(&ws, &bundle);
    disclose_by_hand(&ws, &bundle, &copy);
    // Without a key neither can tell which of the two made the fields: either is named.
    let original = ws.record_digests()[3];
    let items = [copy, original].map(|r| format!("encrypted fields of record {}", r.to_hex()));
    let items: Vec<&str> = items.iter().map(String::as_str).collect();
    let codes = assert_bundle_problem(&ws, &bundle, "sealed-fields-reused", &items);
    assert_eq!(codes, ["sealed-fields-reused"], "only the copy is at fault");
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
}
