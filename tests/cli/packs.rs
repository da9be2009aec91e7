//! Packs: a large `add` stores content and records in one pack (objects/packs), which every
//! reader finds like a loose object, and whose damage `verify` reports by item.

use std::fs;
use std::path::PathBuf;

use evidentia::core::digest::Digest;

use crate::common::{added, Workspace};

const COUNT: usize = 300;
/// Bytes per pack index line (docs/FORMAT.md §11).
const LINE_LEN: usize = 99;

/// A sealed archive of COUNT documents, all packed. Returns the workspace, the (content hex,
/// path) pairs, and the pack's name.
fn packed_archive() -> (Workspace, Vec<(String, String)>, String) {
    let ws = Workspace::new();
    for i in 0..COUNT {
        // One empty document: a zero-length object shares its offset with the next one.
        let text = match i {
            0 => String::new(),
            _ => format!("Report {i}: {}\n", "x".repeat(i)),
        };
        ws.write(&format!("bulk/doc-{i:04}.txt"), text);
    }
    let docs = added(&ws.add(&["bulk"]));
    assert_eq!(docs.len(), COUNT);
    ws.seal();
    let names = pack_names(&ws);
    assert_eq!(names.len(), 1, "one pack for one large add: {names:?}");
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "control: {report}");
    (ws, docs, names[0].clone())
}

fn pack_names(ws: &Workspace) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(ws.archive().join("objects/packs"))
        .expect("packs directory")
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .into_string()
                .ok()?
                .strip_suffix(".idx")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

fn pack_file(ws: &Workspace, name: &str, ext: &str) -> PathBuf {
    let path = ws.archive().join(format!("objects/packs/{name}.{ext}"));
    Workspace::make_writable(&path);
    path
}

/// (offset, length) of `digest` in the pack, read from the index as a hand check would.
fn locate(ws: &Workspace, name: &str, digest: &str) -> (usize, usize) {
    let index =
        fs::read_to_string(ws.archive().join(format!("objects/packs/{name}.idx"))).expect("index");
    let line = index
        .lines()
        .find(|l| l.starts_with(digest))
        .expect("digest in the pack index");
    let fields: Vec<&str> = line.split(' ').collect();
    let hex = |s: &str| usize::from_str_radix(s, 16).expect("hex field");
    (hex(fields[1]), hex(fields[2]))
}

fn assert_problem(ws: &Workspace, code: &str, item: &str) {
    let (exit, report) = ws.verify_json();
    assert_eq!(exit, 1, "verify must fail: {report}");
    let problems = report["problems"].as_array().expect("problems");
    assert!(
        problems
            .iter()
            .any(|p| p["code"] == code && p["item"] == item),
        "expected [{code}] for '{item}' in {report}"
    );
}

#[test]
fn packed_objects_are_read_like_loose_ones() {
    let (ws, docs, name) = packed_archive();
    // Nothing loose: content and records are all in the pack.
    let loose = walkdir::WalkDir::new(ws.archive().join("objects/sha256"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .count();
    assert_eq!(loose, 0);
    let index = fs::read(ws.archive().join(format!("objects/packs/{name}.idx"))).expect("idx");
    assert_eq!(
        Digest::of(&index).to_hex(),
        name,
        "a pack is named by its index's SHA-256"
    );
    assert_eq!(
        index.len(),
        99 * 2 * COUNT,
        "one line per document and per record"
    );

    let (hex, path) = &docs[7];
    let (code, stdout, _) = ws.run(&["cat", hex]);
    assert_eq!(code, 0);
    assert_eq!(stdout, fs::read_to_string(ws.path(path)).expect("source"));
    let (code, stdout, stderr) = ws.run(&["show", &hex[..12]]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(path.as_str()), "{stdout}");

    // Adding the same files again changes nothing; one more file is stored loose and its
    // duplicate content is found in the pack.
    let (code, _, stderr) = ws.run(&["add", "bulk"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!("0 document(s) recorded, {COUNT} unchanged")),
        "{stderr}"
    );
    ws.write("copy.txt", fs::read(ws.path(path)).expect("source"));
    ws.add(&["copy.txt"]);
    assert!(
        !ws.object_path(hex).exists(),
        "content already packed must not be stored again"
    );
    assert_eq!(pack_names(&ws).len(), 1);
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["unsealed_records"], 1, "{report}");
    ws.seal();
    assert_eq!(ws.verify_json().0, 0);
}

#[test]
fn a_flipped_byte_inside_a_pack_is_found() {
    let (ws, docs, name) = packed_archive();
    let (hex, _) = &docs[42];
    let (offset, len) = locate(&ws, &name, hex);
    let pack = pack_file(&ws, &name, "pack");
    let mut bytes = fs::read(&pack).expect("pack");
    bytes[offset + len / 2] ^= 0x01;
    Workspace::overwrite(&pack, bytes);
    assert_problem(&ws, "content-corrupt", &format!("document content {hex}"));
    let (code, _, stderr) = ws.run(&["cat", hex]);
    assert_eq!(code, 1, "cat must refuse damaged bytes: {stderr}");
}

#[test]
fn an_edited_pack_index_is_found() {
    let (ws, _, name) = packed_archive();
    let index = pack_file(&ws, &name, "idx");
    let mut text = fs::read_to_string(&index).expect("idx");
    // Point the first object at the second one's bytes.
    let second_offset = text.lines().nth(1).expect("line")[65..81].to_string();
    text.replace_range(65..81, &second_offset);
    Workspace::overwrite(&index, text);
    assert_problem(
        &ws,
        "pack-index-corrupt",
        &format!("objects/packs/{name}.idx"),
    );
}

#[test]
fn a_missing_pack_loses_its_objects_loudly() {
    let (ws, _, name) = packed_archive();
    fs::remove_file(pack_file(&ws, &name, "pack")).expect("remove");
    assert_problem(&ws, "pack-missing", &format!("objects/packs/{name}.pack"));
    let codes = Workspace::problem_codes(&ws.verify_json().1);
    assert!(
        codes
            .iter()
            .any(|c| c == "record-unreadable" || c == "record-missing"),
        "{codes:?}"
    );
}

#[test]
fn a_missing_pack_index_hides_every_object() {
    let (ws, _, name) = packed_archive();
    fs::remove_file(pack_file(&ws, &name, "idx")).expect("remove");
    let (code, report) = ws.verify_json();
    assert_eq!(code, 1);
    let codes = Workspace::problem_codes(&report);
    assert_eq!(
        codes.iter().filter(|c| *c == "record-missing").count(),
        COUNT,
        "{report}"
    );
    assert!(
        report["warnings"].to_string().contains("has no index"),
        "{report}"
    );
}

#[test]
fn a_truncated_or_extended_pack_is_found() {
    for change in ["truncate", "extend"] {
        let (ws, _, name) = packed_archive();
        let pack = pack_file(&ws, &name, "pack");
        let mut bytes = fs::read(&pack).expect("pack");
        match change {
            "truncate" => bytes.truncate(bytes.len() - 10),
            _ => bytes.extend_from_slice(b"hidden bytes"),
        }
        Workspace::overwrite(&pack, bytes);
        assert_problem(&ws, "pack-corrupt", &format!("objects/packs/{name}.pack"));
    }
}

#[test]
fn a_garbage_pack_index_is_reported_not_a_crash() {
    let (ws, _, _) = packed_archive();
    let bogus = ws.archive().join("objects/packs/bogus.idx");
    fs::write(&bogus, "not an index\n").expect("write");
    assert_problem(&ws, "pack-index-corrupt", "objects/packs/bogus.idx");
    // Readers skip it: the archive's own objects stay readable.
    let (code, _, stderr) = ws.run(&["ls"]);
    assert_eq!(code, 0, "{stderr}");
}

/// The shell check of docs/FORMAT.md §15 ("Objects are named by their hash"), run as written
/// on a packed archive: silent when intact, names the object when a packed byte is flipped.
#[test]
fn the_documented_shell_check_reads_packs() {
    let format = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/FORMAT.md"))
        .expect("FORMAT.md");
    let section = &format[format
        .find("**Objects are named by their hash.**")
        .expect("the section")..];
    let start = section.find("```sh\n").expect("sh block") + "```sh\n".len();
    let script = &section[start..start + section[start..].find("```").expect("block end")];
    assert!(script.starts_with("cd ARCHIVE/objects\n"), "{script}");
    let (ws, docs, name) = packed_archive();
    let run = |ws: &Workspace| {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(script.replace("ARCHIVE", &ws.archive().display().to_string()))
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(run(&ws), "", "an intact archive prints nothing");
    let (hex, _) = &docs[5];
    let (offset, _) = locate(&ws, &name, hex);
    let pack = pack_file(&ws, &name, "pack");
    let mut bytes = fs::read(&pack).expect("pack");
    bytes[offset] ^= 0x20;
    Workspace::overwrite(&pack, bytes);
    let printed = run(&ws);
    assert!(
        printed.contains(&format!("CORRUPT {hex} in packs/{name}.pack")),
        "{printed}"
    );
}

#[test]
fn a_packed_archive_exports_a_bundle_that_verifies() {
    let (ws, docs, _) = packed_archive();
    let bundle = ws.dir.path().join("bundle");
    let bundle_arg = bundle.display().to_string();
    let (code, _, stderr) = ws.run(&["export", "--out", &bundle_arg, "--all"]);
    assert_eq!(code, 0, "{stderr}");
    let (hex, path) = &docs[99];
    let copied = fs::read(bundle.join("data/documents").join(path)).expect("document in bundle");
    assert_eq!(Digest::of(&copied).to_hex(), *hex);
    let (code, stdout, stderr) = ws.run(&["verify", &bundle_arg, "--trust", "signer.pub"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

/// COUNT files under `dir`, with content distinct from `packed_archive`'s.
fn write_bulk(ws: &Workspace, dir: &str, tag: &str) {
    for i in 0..COUNT {
        ws.write(
            &format!("{dir}/doc-{i:04}.txt"),
            format!("{tag} document {i}\n"),
        );
    }
}

#[test]
fn a_short_loose_leftover_is_replaced_not_trusted() {
    // After a power cut a loose object can exist with the wrong length. A later packed add of
    // the same content must replace it, or it would shadow the good copy.
    let ws = Workspace::new();
    write_bulk(&ws, "bulk", "first");
    let content = fs::read(ws.path("bulk/doc-0007.txt")).expect("source");
    let leftover = ws.object_path(&Digest::of(&content).to_hex());
    fs::create_dir_all(leftover.parent().expect("fan")).expect("mkdir");
    fs::write(&leftover, b"").expect("plant an empty leftover");
    ws.add(&["bulk"]);
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(fs::read(&leftover).expect("loose copy"), content);
}

#[test]
fn a_damaged_index_hides_only_its_own_pack() {
    let (ws, _, first) = packed_archive();
    write_bulk(&ws, "more", "second");
    let more = added(&ws.add(&["more"]));
    ws.seal();
    let names = pack_names(&ws);
    assert_eq!(names.len(), 2, "{names:?}");
    let index = pack_file(&ws, &first, "idx");
    let mut bytes = fs::read(&index).expect("idx");
    let middle = (bytes.len() / LINE_LEN / 2) * LINE_LEN;
    bytes[middle + 10] = b'Z';
    Workspace::overwrite(&index, bytes);
    // Objects of the other pack stay readable, whichever way the lookup goes.
    let (hex, _) = &more[3];
    let (code, _, stderr) = ws.run(&["cat", hex]);
    assert_eq!(code, 0, "{stderr}");
    assert_problem(
        &ws,
        "pack-index-corrupt",
        &format!("objects/packs/{first}.idx"),
    );
    // A small add still works: its dedupe lookups skip the damaged index.
    ws.write("late.txt", "added after the damage\n");
    let (code, _, stderr) = ws.run(&["add", "late.txt"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_planted_index_cannot_make_add_skip_content() {
    let ws = Workspace::new();
    write_bulk(&ws, "bulk", "planted");
    let content = fs::read(ws.path("bulk/doc-0003.txt")).expect("source");
    let digest = Digest::of(&content).to_hex();
    // An index that claims the content, over one wrong byte.
    let line = format!("{digest} {:016x} {:016x}\n", 0, 1);
    let packs = ws.archive().join("objects/packs");
    fs::write(packs.join("planted.idx"), &line).expect("idx");
    fs::write(packs.join("planted.pack"), b"x").expect("pack");
    ws.add(&["bulk"]);
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 1, "the planted index is reported: {report}");
    let codes = Workspace::problem_codes(&report);
    assert!(
        codes.contains(&"pack-index-corrupt".to_string()),
        "{report}"
    );
    // Its wrong copy of the content is reported too (a reader could serve it), and nothing
    // outside the plant is at fault.
    assert!(codes.contains(&"content-corrupt".to_string()), "{report}");
    for problem in report["problems"].as_array().expect("problems") {
        let item = problem["item"].as_str().expect("item");
        assert!(item.starts_with("objects/packs/planted."), "{report}");
    }
    let (code, stdout, _) = ws.run(&["cat", &digest]);
    assert_eq!((code, stdout.as_bytes()), (0, content.as_slice()));
}

#[test]
fn a_large_add_that_stores_little_makes_no_pack() {
    let (ws, _, _) = packed_archive();
    ws.write("bulk/doc-0001.txt", "changed\n");
    ws.write("bulk/doc-0002.txt", "changed too\n");
    let (code, _, stderr) = ws.run(&["add", "bulk"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("2 document(s) recorded"), "{stderr}");
    assert_eq!(pack_names(&ws).len(), 1, "four objects are stored loose");
    ws.seal();
    assert_eq!(ws.verify_json().0, 0);
}

#[test]
fn a_cut_off_index_line_does_not_swallow_the_next_one() {
    let ws = Workspace::new();
    ws.write("one.txt", "first\n");
    ws.add(&["one.txt"]);
    // A crash mid-append leaves a fragment at the end of every shard.
    for dir in ["by-path", "by-content"] {
        for entry in fs::read_dir(ws.archive().join("index").join(dir)).expect("shards") {
            let path = entry.expect("entry").path();
            let mut bytes = fs::read(&path).expect("shard");
            bytes.extend_from_slice(b"0123abcd");
            fs::write(&path, bytes).expect("write shard");
        }
    }
    ws.write("two.txt", "second\n");
    ws.add(&["two.txt"]);
    let (code, _, stderr) = ws.run(&["add", "two.txt"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("0 document(s) recorded, 1 unchanged"),
        "{stderr}"
    );
}

/// Writes a pack of `objects` (digest, bytes) as an attacker with write access could: a
/// well-formed index named by its SHA-256, objects tiling the pack. Returns the pack's name.
fn plant_pack(ws: &Workspace, objects: &[(Digest, Vec<u8>)]) -> String {
    let mut sorted: Vec<&(Digest, Vec<u8>)> = objects.iter().collect();
    sorted.sort_by_key(|(digest, _)| *digest);
    let (mut pack, mut index) = (Vec::new(), String::new());
    for (digest, bytes) in sorted {
        index.push_str(&format!(
            "{digest} {:016x} {:016x}\n",
            pack.len(),
            bytes.len()
        ));
        pack.extend_from_slice(bytes);
    }
    let name = Digest::of(index.as_bytes()).to_hex();
    let packs = ws.archive().join("objects/packs");
    fs::write(packs.join(format!("{name}.pack")), pack).expect("write pack");
    fs::write(packs.join(format!("{name}.idx")), index).expect("write index");
    name
}

/// The item that names one packed copy in a verify report.
fn packed_copy(ws: &Workspace, name: &str, digest: &str) -> String {
    let (offset, _) = locate(ws, name, digest);
    format!("objects/packs/{name}.pack (object {digest} at offset {offset})")
}

/// The item that names one loose copy in a verify report.
fn loose_copy(digest: &str) -> String {
    format!("objects/sha256/{}/{}", &digest[..2], &digest[2..])
}

#[test]
fn a_damaged_loose_copy_of_a_packed_record_is_found() {
    // Readers fall back to the intact packed copy, so only checking every copy finds this.
    let (ws, _, _) = packed_archive();
    let record = ws.record_digests()[5].to_hex();
    let good = fs::read(ws.path("bulk/doc-0005.txt")).expect("source");
    fs::create_dir_all(ws.object_path(&record).parent().expect("fan")).expect("mkdir");
    fs::write(ws.object_path(&record), &good).expect("plant a wrong loose copy");
    assert_problem(&ws, "record-corrupt", &loose_copy(&record));
}

#[test]
fn a_damaged_packed_copy_behind_a_loose_one_is_found() {
    // Readers take the loose copy first, so the pack's damage is never read.
    let (ws, docs, name) = packed_archive();
    let (hex, path) = &docs[9];
    ws.plant_object(&fs::read(ws.path(path)).expect("source"));
    let item = packed_copy(&ws, &name, hex);
    let (offset, len) = locate(&ws, &name, hex);
    let pack = pack_file(&ws, &name, "pack");
    let mut bytes = fs::read(&pack).expect("pack");
    bytes[offset + len / 2] ^= 0x01;
    Workspace::overwrite(&pack, bytes);
    let (code, _, stderr) = ws.run(&["cat", hex]);
    assert_eq!(code, 0, "the loose copy is intact and served: {stderr}");
    assert_problem(&ws, "content-corrupt", &item);
    let (_, report) = ws.verify_json();
    assert_eq!(
        Workspace::problem_codes(&report),
        vec!["content-corrupt"],
        "only the damaged copy is at fault: {report}"
    );
}

#[test]
fn every_copy_in_a_second_pack_is_checked() {
    let (ws, docs, _) = packed_archive();
    let record = ws.record_digests()[3];
    let (hex, path) = &docs[4];
    let content = (
        Digest::from_hex(hex).expect("digest"),
        fs::read(ws.path(path)).expect("source"),
    );
    // Honest: a second pack holding intact copies is not a fault.
    let honest_record = (record, read_record(&ws, 3));
    let honest = plant_pack(&ws, &[honest_record.clone(), content.clone()]);
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "intact duplicate copies: {report}");
    // Forged: the second pack's copy of the record holds other bytes of the same length.
    for ext in ["pack", "idx"] {
        fs::remove_file(ws.archive().join(format!("objects/packs/{honest}.{ext}"))).expect("rm");
    }
    let mut forged = honest_record.1.clone();
    forged[0] ^= 0x01;
    let name = plant_pack(&ws, &[(record, forged), content]);
    assert_problem(
        &ws,
        "record-corrupt",
        &packed_copy(&ws, &name, &record.to_hex()),
    );
}

/// The bytes of record `index`, read through the binary's object store as `cat` gives them.
fn read_record(ws: &Workspace, index: usize) -> Vec<u8> {
    let hex = ws.record_digests()[index].to_hex();
    let out = ws.cmd().args(["cat", &hex]).output().expect("cat");
    assert_eq!(out.status.code(), Some(0), "cat of record {hex}");
    assert_eq!(Digest::of(&out.stdout).to_hex(), hex);
    out.stdout
}

#[test]
fn an_index_of_an_older_version_or_with_a_damaged_run_is_rebuilt() {
    let ws = Workspace::new();
    ws.write("one.txt", "first\n");
    ws.write("two.txt", "second\n");
    ws.add(&["one.txt", "two.txt"]);
    let index = ws.archive().join("index");
    let manifest = fs::read_to_string(index.join("manifest")).expect("manifest");
    assert!(
        manifest.starts_with("evidentia-index 5\ncovered 2\n"),
        "{manifest}"
    );

    // The layout of index version 4: shard files and `covered`, no manifest. The shards claim
    // nothing, so an index trusted as it is would record both files again.
    fs::remove_dir_all(&index).expect("remove index");
    for dir in ["by-path", "by-content"] {
        fs::create_dir_all(index.join(dir)).expect("dir");
        fs::write(index.join(dir).join("00"), "").expect("shard");
    }
    fs::write(index.join("covered"), "4 2\n").expect("covered");
    let (code, _, stderr) = ws.run(&["add", "one.txt", "two.txt"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("0 document(s) recorded, 2 unchanged"),
        "{stderr}"
    );
    assert!(!index.join("covered").exists(), "the old layout is removed");
    assert!(
        !index.join("by-path/00").exists(),
        "the old shards are removed"
    );

    // A run cut short (a lost write) hides lines: the index counts as damaged and is rebuilt,
    // so changed content is recorded and unchanged content is not recorded twice.
    for entry in fs::read_dir(index.join("by-path")).expect("runs") {
        let path = entry.expect("entry").path();
        let bytes = fs::read(&path).expect("run");
        fs::write(&path, &bytes[..bytes.len() / 2]).expect("cut run");
    }
    ws.write("two.txt", "second, changed\n");
    let (code, _, stderr) = ws.run(&["add", "one.txt", "two.txt"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("1 document(s) recorded, 1 unchanged"),
        "{stderr}"
    );
    let manifest = fs::read_to_string(index.join("manifest")).expect("manifest");
    assert!(
        manifest.starts_with("evidentia-index 5\ncovered 3\n"),
        "{manifest}"
    );
    ws.seal();
    assert_eq!(ws.verify_json().0, 0);
}

/// Export copies documents without hashing them on the way (the self-check hashes every
/// file): a document whose stored bytes were changed, packed or loose, must still stop the
/// export before anything is written at --out.
#[test]
fn export_refuses_a_document_whose_stored_bytes_changed() {
    for where_ in ["packed", "loose"] {
        let (ws, docs, name) = packed_archive();
        let (content, path) = &docs[7];
        match where_ {
            "packed" => {
                let (offset, len) = locate(&ws, &name, content);
                assert!(len > 0);
                let pack = pack_file(&ws, &name, "pack");
                let mut bytes = fs::read(&pack).expect("pack");
                bytes[offset] ^= 0x01;
                Workspace::overwrite(&pack, bytes);
            }
            _ => {
                // A loose copy is read before the packed one: same length, one byte changed.
                let mut bytes = fs::read(ws.path(path)).expect("source");
                bytes[0] ^= 0x01;
                let loose = ws.object_path(content);
                fs::create_dir_all(loose.parent().expect("fan")).expect("mkdir");
                fs::write(&loose, bytes).expect("plant a changed loose copy");
            }
        }
        let out = ws.path("out-bundle");
        let (code, stdout, stderr) = ws.run(&["export", "--all", "--out", &out.to_string_lossy()]);
        assert_eq!(code, 1, "{where_}: export must fail: {stdout} {stderr}");
        assert!(
            stderr.contains("failed its own verification") && stderr.contains("payload-corrupt"),
            "{where_}: {stderr}"
        );
        assert!(!out.exists(), "{where_}: a bundle was written");
    }
}

/// An archive whose every document was damaged fails export's self-check once per document:
/// the error names the first few problems and counts the rest, instead of one line holding
/// them all (20,000 on a large case).
#[test]
fn export_self_check_error_lists_a_few_problems_and_counts_the_rest() {
    let (ws, docs, name) = packed_archive();
    let pack = pack_file(&ws, &name, "pack");
    let mut bytes = fs::read(&pack).expect("pack");
    let mut damaged = 0;
    for (content, _) in &docs {
        let (offset, len) = locate(&ws, &name, content);
        if len > 0 {
            bytes[offset] ^= 0x01;
            damaged += 1;
        }
    }
    assert!(damaged > 10, "enough damaged documents: {damaged}");
    Workspace::overwrite(&pack, bytes);
    let out = ws.path("out-bundle");
    let (code, stdout, stderr) = ws.run(&["export", "--all", "--out", &out.to_string_lossy()]);
    assert_eq!(code, 1, "export must fail: {stdout} {stderr}");
    let shown = stderr.matches("[payload-corrupt]").count();
    assert!(
        (1..=5).contains(&shown),
        "at most 5 problems shown: {stderr}"
    );
    assert!(
        stderr.contains(" more problem(s)") && stderr.contains("failed its own verification"),
        "{stderr}"
    );
    assert!(!out.exists(), "a bundle was written");
}

/// Lines of pack `name`'s index: the objects it holds.
fn packed_count(ws: &Workspace, name: &str) -> usize {
    fs::read(pack_file(ws, name, "idx")).expect("idx").len() / LINE_LEN
}

#[test]
fn content_filters_skip_no_known_content_even_when_damaged() {
    // The by-content filters let a large add store new content without searching; content the
    // archive holds must still be found, with its filter intact, damaged or missing.
    let (ws, _, first) = packed_archive();
    let by_content = ws.archive().join("index/by-content");
    let filters = || -> Vec<PathBuf> {
        fs::read_dir(&by_content)
            .expect("by-content")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "filter"))
            .collect()
    };
    assert_eq!(filters().len(), 1, "a filter beside the run");
    for (round, damage) in ["intact", "bits cleared", "missing"]
        .into_iter()
        .enumerate()
    {
        for filter in filters() {
            Workspace::make_writable(&filter);
            match damage {
                // Every bit cleared, checks left: a filter that would call everything absent.
                "bits cleared" => {
                    let mut bytes = fs::read(&filter).expect("filter");
                    for block in bytes.chunks_exact_mut(64) {
                        block[..56].fill(0);
                    }
                    fs::write(&filter, bytes).expect("write filter");
                }
                "missing" => fs::remove_file(&filter).expect("remove filter"),
                _ => {}
            }
        }
        // The same 300 contents under new paths: 300 new records, no new content.
        let dir = format!("copy{round}");
        for i in 0..COUNT {
            let text = match i {
                0 => String::new(),
                _ => format!("Report {i}: {}\n", "x".repeat(i)),
            };
            ws.write(&format!("{dir}/doc-{i:04}.txt"), text);
        }
        let before = pack_names(&ws);
        assert_eq!(added(&ws.add(&[&dir])).len(), COUNT, "{damage}");
        let new: Vec<String> = pack_names(&ws)
            .into_iter()
            .filter(|n| !before.contains(n))
            .collect();
        assert_eq!(new.len(), 1, "{damage}: {new:?}");
        assert_eq!(
            packed_count(&ws, &new[0]),
            COUNT,
            "{damage}: only the records are stored, the content is found"
        );
    }
    assert_eq!(packed_count(&ws, &first), 2 * COUNT);
    assert!(!filters().is_empty(), "the next writer rebuilt the filters");
    ws.seal();
    assert_eq!(ws.verify_json().0, 0);
}
