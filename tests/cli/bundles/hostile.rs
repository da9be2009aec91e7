//! Hostile bundles: each must fail with a named problem, never hang or panic, and never be written to.

use super::*;
use crate::common::mkfifo;

#[test]
fn manifest_path_with_parent_components() {
    let (ws, bundle, _) = exported();
    ws.write("outside.txt", "not evidence\n");
    let hex = Digest::of(b"not evidence\n").to_hex();
    let mut manifest = fs::read_to_string(bundle.join("manifest-sha256.txt")).expect("read");
    manifest.push_str(&format!("{hex}  data/../../outside.txt\n"));
    fs::write(bundle.join("manifest-sha256.txt"), manifest).expect("write");
    retag(&bundle);
    assert_bundle_problem(&ws, &bundle, "unsafe-path", &["data/../../outside.txt"]);
}

#[test]
fn manifest_with_absolute_path() {
    let (ws, bundle, _) = exported();
    let outside = ws.write("outside.txt", "not evidence\n");
    let hex = Digest::of(b"not evidence\n").to_hex();
    let absolute = path_str(&outside).to_string();
    let mut manifest = fs::read_to_string(bundle.join("manifest-sha256.txt")).expect("read");
    manifest.push_str(&format!("{hex}  {absolute}\n"));
    fs::write(bundle.join("manifest-sha256.txt"), manifest).expect("write");
    retag(&bundle);
    assert_bundle_problem(&ws, &bundle, "unsafe-path", &[&absolute]);
}

#[cfg(unix)]
#[test]
fn symlink_in_payload_is_refused_and_not_followed() {
    let (ws, bundle, _) = exported();
    let document = bundle.join("data/documents/case/a.txt");
    let original = fs::read(&document).expect("read");
    // Same bytes outside the bundle: following the link would make everything match.
    let outside = ws.write("outside/a.txt", &original);
    fs::remove_file(&document).expect("remove");
    std::os::unix::fs::symlink(&outside, &document).expect("symlink");
    assert_bundle_problem(&ws, &bundle, "unsafe-entry", &["data/documents/case/a.txt"]);
    assert_eq!(fs::read(&outside).expect("read"), original);

    // A link to a FIFO outside: following it would block forever.
    let fifo = ws.path("outside/fifo");
    mkfifo(&fifo);
    fs::remove_file(&document).expect("remove");
    std::os::unix::fs::symlink(&fifo, &document).expect("symlink");
    assert_bundle_problem(&ws, &bundle, "unsafe-entry", &["data/documents/case/a.txt"]);

    // A link to a directory outside is not walked into.
    ws.write("outside/dir/planted.txt", "planted\n");
    std::os::unix::fs::symlink(ws.path("outside/dir"), bundle.join("data/linked"))
        .expect("symlink");
    let codes = assert_bundle_problem(&ws, &bundle, "unsafe-entry", &["data/linked"]);
    assert!(
        !codes.contains(&"unlisted-payload".to_string()),
        "{codes:?}"
    );
}

#[cfg(unix)]
#[test]
fn fifo_in_payload_is_refused_without_blocking() {
    let (ws, bundle, _) = exported();
    mkfifo(&bundle.join("data/extra-fifo"));
    assert_bundle_problem(&ws, &bundle, "unsafe-entry", &["data/extra-fifo"]);

    // In place of a listed document: opening it to hash it would block.
    let document = bundle.join("data/documents/case/b.txt");
    fs::remove_file(&document).expect("remove");
    mkfifo(&document);
    assert_bundle_problem(&ws, &bundle, "unsafe-entry", &["data/documents/case/b.txt"]);
}

#[cfg(unix)]
#[test]
fn fifo_in_place_of_tag_files_and_manifest_is_refused_without_blocking() {
    for name in [
        "data/bundle.json",
        "data/checkpoint",
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha256.txt",
        "SHA256SUMS",
        "tagmanifest-sha256.txt",
    ] {
        let (ws, bundle, _) = exported();
        fs::remove_file(bundle.join(name)).expect("remove");
        mkfifo(&bundle.join(name));
        assert_bundle_problem(&ws, &bundle, "unsafe-entry", &[name]);
    }
}

#[test]
fn payload_names_differing_only_in_case() {
    let (ws, bundle, _) = exported();
    let lower = bundle.join("data/documents/case/a.txt");
    let upper = bundle.join("data/documents/case/A.txt");
    if upper.exists() {
        // A case-insensitive file system cannot hold both names.
        return;
    }
    fs::write(&upper, "A different statement.\n").expect("write");
    assert!(lower.exists());
    rebag(&bundle);
    assert_bundle_problem(
        &ws,
        &bundle,
        "case-collision",
        &["data/documents/case/a.txt", "data/documents/case/A.txt"],
    );
}

/// Adds `bytes` as a disclosed record at the undisclosed leaf index 2, listing it in
/// bundle.json and the bag. Returns the problem item.
fn plant_disclosed_record(bundle: &Path, bytes: &[u8]) -> String {
    let id = Digest::of(bytes).to_hex();
    fs::write(bundle.join(format!("data/records/{id}.cbor")), bytes).expect("write record");
    let mut manifest = read_manifest(bundle);
    let proof = manifest["records"][0]["proof"].clone();
    manifest["records"]
        .as_array_mut()
        .expect("records")
        .push(serde_json::json!({"index": 2, "id": id, "kind": "document", "proof": proof}));
    write_manifest(bundle, &manifest);
    rebag(bundle);
    format!("record #2 ({id})")
}

#[test]
fn oversized_record_is_refused() {
    let (ws, bundle, _) = exported();
    // A CBOR byte string of just over 1 MiB.
    let len: u32 = (1 << 20) + 16;
    let mut bytes = vec![0x5a];
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.resize(5 + len as usize, b'x');
    let item = plant_disclosed_record(&bundle, &bytes);
    let codes = assert_bundle_problem(&ws, &bundle, "record-unreadable", &[&item]);
    assert!(!codes.contains(&"record-corrupt".to_string()), "{codes:?}");
}

#[test]
fn deeply_nested_record_is_refused() {
    let (ws, bundle, _) = exported();
    // 100,000 nested one-element arrays: a recursive decoder without a limit overflows.
    let mut bytes = vec![0x81u8; 100_000];
    bytes.push(0x00);
    let item = plant_disclosed_record(&bundle, &bytes);
    assert_bundle_problem(&ws, &bundle, "record-invalid", &[&item]);
    // Nesting hidden inside a map that looks like a record.
    let (ws, bundle, _) = exported();
    let mut bytes = vec![0xa1u8, 0x00];
    bytes.extend(std::iter::repeat_n(0x81u8, 5000));
    bytes.push(0x00);
    let item = plant_disclosed_record(&bundle, &bytes);
    assert_bundle_problem(&ws, &bundle, "record-invalid", &[&item]);
}

#[test]
fn sha256sums_disagreeing_with_the_manifest() {
    let (ws, bundle, _) = exported();
    let sums = fs::read_to_string(bundle.join("SHA256SUMS")).expect("read");
    let line = sums.lines().next().expect("a line");
    let flipped = format!(
        "{}{}",
        if line.starts_with('0') { '1' } else { '0' },
        &line[1..]
    );
    fs::write(bundle.join("SHA256SUMS"), sums.replacen(line, &flipped, 1)).expect("write");
    retag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "checksums-disagree", &["SHA256SUMS"]);
    assert_eq!(codes, vec!["checksums-disagree"]);
    // A file dropped from SHA256SUMS only.
    let (ws, bundle, _) = exported();
    let sums = fs::read_to_string(bundle.join("SHA256SUMS")).expect("read");
    let fewer: String = sums.lines().skip(1).map(|l| format!("{l}\n")).collect();
    fs::write(bundle.join("SHA256SUMS"), fewer).expect("write");
    retag(&bundle);
    assert_bundle_problem(&ws, &bundle, "checksums-disagree", &["SHA256SUMS"]);
}

#[test]
fn unlisted_payload_file() {
    let (ws, bundle, _) = exported();
    fs::write(bundle.join("data/extra.txt"), "slipped in\n").expect("write");
    let codes = assert_bundle_problem(&ws, &bundle, "unlisted-payload", &["data/extra.txt"]);
    assert_eq!(codes, vec!["unlisted-payload"]);
    // A record file nobody lists, even with the bag updated to include it.
    let (ws, bundle, _) = exported();
    let bytes = b"\xa0";
    let id = Digest::of(bytes).to_hex();
    let name = format!("data/records/{id}.cbor");
    fs::write(bundle.join(&name), bytes).expect("write");
    rebag(&bundle);
    assert_bundle_problem(&ws, &bundle, "unlisted-record", &[&name]);
}

#[test]
fn checkpoint_and_proofs_from_another_tree() {
    let (ws, bundle, _) = exported();
    // Another archive, same key, different records.
    let other = Workspace::new();
    fs::copy(ws.path("signer.key"), other.path("signer.key")).expect("copy key");
    fs::copy(ws.path("signer.pub"), other.path("signer.pub")).expect("copy key");
    other.write("case/a.txt", "Statement of witness A, 2022-03-09.\n");
    other.write("case/x.txt", "Something else entirely.\n");
    other.add(&["case"]);
    other.seal();
    let other_bundle = other.path("bundle");
    export(&other, &other_bundle, &["--all"]);

    // Their checkpoint in our bundle.
    fs::copy(
        other_bundle.join("data/checkpoint"),
        bundle.join("data/checkpoint"),
    )
    .expect("copy");
    rebag(&bundle);
    let first = record_id(&bundle, 0);
    let codes = assert_bundle_problem(&ws, &bundle, "checkpoint-mismatch", &["data/checkpoint"]);
    assert!(codes.contains(&"proof-invalid".to_string()), "{codes:?}");

    // A careful forger also makes bundle.json agree with the checkpoint: the proofs fail.
    let theirs = read_manifest(&other_bundle);
    let mut ours = read_manifest(&bundle);
    for field in ["origin", "checkpoint", "tree_size"] {
        ours[field] = theirs[field].clone();
    }
    write_manifest(&bundle, &ours);
    rebag(&bundle);
    assert_bundle_problem(
        &ws,
        &bundle,
        "proof-invalid",
        &[&format!("record #0 ({first})")],
    );

    // Their proof for our record, in our tree.
    let (ws, bundle, _) = exported();
    let mut ours = read_manifest(&bundle);
    ours["records"][0]["proof"] = theirs["records"][1]["proof"].clone();
    write_manifest(&bundle, &ours);
    rebag(&bundle);
    let id = record_id(&bundle, 0);
    let codes = assert_bundle_problem(
        &ws,
        &bundle,
        "proof-invalid",
        &[&format!("record #0 ({id})")],
    );
    assert_eq!(codes, vec!["proof-invalid"]);

    // The tree size altered in bundle.json.
    let (ws, bundle, _) = exported();
    let mut ours = read_manifest(&bundle);
    ours["tree_size"] = serde_json::json!(2);
    write_manifest(&bundle, &ours);
    rebag(&bundle);
    assert_bundle_problem(&ws, &bundle, "checkpoint-mismatch", &["data/checkpoint"]);

    // A claimed index beyond the tree.
    let (ws, bundle, _) = exported();
    let mut ours = read_manifest(&bundle);
    ours["records"][1]["index"] = serde_json::json!(7);
    write_manifest(&bundle, &ours);
    rebag(&bundle);
    let id = record_id(&bundle, 7);
    assert_bundle_problem(
        &ws,
        &bundle,
        "proof-invalid",
        &[&format!("record #7 ({id})")],
    );
}

#[test]
fn flipped_byte_in_a_document() {
    let (ws, bundle, _) = exported();
    let document = bundle.join("data/documents/case/a.txt");
    let mut bytes = fs::read(&document).expect("read");
    bytes[3] ^= 0x01;
    fs::write(&document, &bytes).expect("write");
    let codes = assert_bundle_problem(
        &ws,
        &bundle,
        "payload-corrupt",
        &["data/documents/case/a.txt"],
    );
    assert!(codes.contains(&"content-corrupt".to_string()), "{codes:?}");
    assert_bundle_problem(&ws, &bundle, "content-corrupt", &["case/a.txt"]);
    // With the bag rewritten to match, the record still catches it.
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "content-corrupt", &["case/a.txt"]);
    assert_eq!(codes, vec!["content-corrupt"]);
    let (_, report) = verify_json(&ws, &bundle, &TRUST);
    let doc = report["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .find(|d| d["path"] == "case/a.txt")
        .expect("listed");
    assert_eq!(doc["ok"], false, "{report}");
}

#[test]
fn record_file_swapped_for_another_record() {
    let (ws, bundle, _) = exported();
    let first = record_id(&bundle, 0);
    let second = record_id(&bundle, 1);
    let other = fs::read(bundle.join(format!("data/records/{second}.cbor"))).expect("read");
    fs::write(bundle.join(format!("data/records/{first}.cbor")), other).expect("write");
    rebag(&bundle);
    let item = format!("record #0 ({first})");
    let codes = assert_bundle_problem(&ws, &bundle, "record-corrupt", &[&item]);
    assert!(
        codes.contains(&"document-mismatch".to_string()),
        "{codes:?}"
    );

    // Renamed to match, and bundle.json pointing at it: b's record cannot stand at a's index.
    let (ws, bundle, _) = exported();
    let first = record_id(&bundle, 0);
    let second = record_id(&bundle, 1);
    let mut manifest = read_manifest(&bundle);
    manifest["records"][0]["id"] = serde_json::json!(second);
    manifest["records"][1]["index"] = serde_json::json!(2);
    manifest["documents"][0]["record"] = serde_json::json!(second);
    write_manifest(&bundle, &manifest);
    fs::remove_file(bundle.join(format!("data/records/{first}.cbor"))).expect("remove");
    rebag(&bundle);
    assert_bundle_problem(
        &ws,
        &bundle,
        "proof-invalid",
        &[
            &format!("record #0 ({second})"),
            &format!("record #2 ({second})"),
        ],
    );
}

#[test]
fn bundle_json_with_unknown_fields_or_garbage() {
    let (ws, bundle, _) = exported();
    let mut manifest = read_manifest(&bundle);
    manifest["hidden_claim"] = serde_json::json!("trust me");
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "bad-manifest", &["data/bundle.json"]);
    assert_eq!(codes, vec!["bad-manifest"]);

    let (ws, bundle, _) = exported();
    let mut manifest = read_manifest(&bundle);
    manifest["records"][0]["note"] = serde_json::json!("extra");
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    assert_bundle_problem(&ws, &bundle, "bad-manifest", &["data/bundle.json"]);

    for garbage in [&b"\x00\xff garbage {"[..], b"", b"[]", b"{\"format\": 7}"] {
        let (ws, bundle, _) = exported();
        fs::write(bundle.join("data/bundle.json"), garbage).expect("write");
        rebag(&bundle);
        assert_bundle_problem(&ws, &bundle, "bad-manifest", &["data/bundle.json"]);
    }

    let (ws, bundle, _) = exported();
    let mut manifest = read_manifest(&bundle);
    manifest["format"] = serde_json::json!("evidentia-bundle/99");
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    assert_bundle_problem(&ws, &bundle, "bad-manifest", &["data/bundle.json"]);
}

#[test]
fn document_file_outside_the_documents_directory() {
    let (ws, bundle, _) = exported();
    let mut manifest = read_manifest(&bundle);
    manifest["documents"][0]["file"] = serde_json::json!("data/documents/../../../outside.txt");
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    assert_bundle_problem(&ws, &bundle, "unsafe-path", &["case/a.txt"]);
}
