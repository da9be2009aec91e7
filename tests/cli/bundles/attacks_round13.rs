//! Adversarial review of the surfaces added with issue 13 (case titles, metadata records,
//! escaped names, thumbnails, the JSON convention). Each forgery is built as an attacker would:
//! unsigned bytes edited and every checksum, manifest and JSON recomputed, so only signed data
//! or a structural rule can catch it; both verifiers must agree. The honest histories must
//! verify without a word of accusation.

use evidentia::core::record::Record;

use super::completeness::copy_dir;
use super::report_pages::{copy, edit};
use super::*;

/// Verify (key trusted) exits 1, says nothing is VERIFIED, and the Python verifier agrees;
/// returns the problem codes.
fn assert_refused(ws: &Workspace, bundle: &Path) -> Vec<String> {
    let (exit, report) = verify_json(ws, bundle, &TRUST);
    assert_eq!(exit, 1, "the forgery must fail: {report}");
    let (_, text) = verify_text(ws, bundle, &TRUST);
    assert!(!text.contains("VERIFIED"), "{text}");
    let codes = Workspace::problem_codes(&report);
    differential::assert_script_agrees(ws, bundle, 1, &codes);
    codes
}

/// One document, sealed; its bundle.
fn one_document_bundle() -> (Workspace, PathBuf) {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.add(&["case"]);
    ws.seal();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--all"]);
    (ws, bundle)
}

/// A browser reads everything from `<style>` to `</style>` as CSS, tags or not; a checker that
/// looked only up to the next `<` let a rule after a harmless tag load a URL.
#[test]
fn css_hidden_behind_a_tag_inside_the_style_sheet_is_refused() {
    let (ws, bundle) = one_document_bundle();
    let honest = fs::read_to_string(bundle.join("report.html")).expect("report.html");
    assert!(honest.contains("</style>"), "the report has a style sheet");
    let hidden = [
        (
            "after-p",
            "<p>{}body{background:url(https://evil.example/beacon)}",
        ),
        ("after-br", "<br>{}@import 'https://evil.example/x.css';"),
        ("after-close", "</p>{}body{behavior:x}"),
    ];
    for (name, css) in hidden {
        let forged = copy(&ws, &bundle, name);
        edit(
            &forged.join("report.html"),
            "</style>",
            &format!("{css}</style>"),
        );
        retag(&forged);
        assert_bundle_problem(&ws, &forged, "report-unsafe", &["report.html"]);
    }
}

/// The verifiers read a page as UTF-8; a page that tells the browser another encoding would be
/// read differently from what was checked.
#[test]
fn a_report_page_declaring_another_encoding_is_refused() {
    let (ws, bundle) = one_document_bundle();
    for (name, charset) in [("jis", "iso-2022-jp"), ("latin", "windows-1252")] {
        let forged = copy(&ws, &bundle, name);
        edit(
            &forged.join("report.html"),
            "<meta charset=\"utf-8\">",
            &format!("<meta charset=\"{charset}\">"),
        );
        retag(&forged);
        assert_bundle_problem(&ws, &forged, "report-unsafe", &["report.html"]);
    }
    // Spelled in capitals it is still UTF-8: no accusation.
    let forged = copy(&ws, &bundle, "capitals");
    edit(
        &forged.join("report.html"),
        "<meta charset=\"utf-8\">",
        "<meta charset=\"UTF-8\">",
    );
    retag(&forged);
    assert_bundle_ok(&ws, &forged);
}

/// bundle.json names each record's kind; a record listed under another kind (a metadata
/// record passed off as an annotation, a title as a document) must not change what is shown.
#[test]
fn a_record_listed_under_another_kind_is_refused() {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.add(&["case"]);
    let (code, _, stderr) = run(&ws, &["metadata", "case/a.txt", "--tag", "bucha"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(&ws, &["title", "A title"], &[]);
    assert_eq!(code, 0, "{stderr}");
    ws.seal();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--all"]);
    assert_bundle_ok(&ws, &bundle);
    for (name, from, to) in [
        ("metadata-as-annotation", "metadata", "annotation"),
        ("case-as-document", "case", "document"),
        ("case-as-metadata", "case", "metadata"),
    ] {
        let forged = ws.path(name);
        copy_dir(&bundle, &forged);
        let mut manifest = read_manifest(&forged);
        let record = (manifest["records"]
            .as_array_mut()
            .expect("records")
            .iter_mut())
        .find(|r| r["kind"] == from)
        .unwrap_or_else(|| panic!("a {from} record is disclosed"));
        record["kind"] = Value::from(to);
        write_manifest(&forged, &manifest);
        rebag(&forged);
        let codes = assert_refused(&ws, &forged);
        assert!(!codes.is_empty(), "{name}");
        let (_, report) = verify_json(&ws, &forged, &TRUST);
        assert!(report["proven"].as_array().is_some_and(Vec::is_empty));
    }
}

/// Honest: the title changed several times, metadata added to a version later superseded, a
/// retracted document that has metadata; a bundle of everything and one of a single document
/// verify in both verifiers, and show the latest title.
#[test]
fn honest_histories_of_titles_metadata_and_retractions_verify() {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A, version 1.\n");
    ws.write("case/b.txt", "Statement of witness B.\n");
    ws.add(&["case"]);
    let steps: [&[&str]; 9] = [
        &["title", "First title"],
        &[
            "metadata",
            "case/a.txt",
            "--tag",
            "early",
            "--collected-at",
            "2022-03-09T10:00:00+02:00",
        ],
        &["metadata", "case/b.txt", "--collector", "Analyst B"],
        &["title", "Second title"],
        &["retract", "case/b.txt", "--reason", "duplicate"],
        &["metadata", "case/b.txt", "--tag", "after-retraction"],
        &["title", "Third title"],
        &["title", "Second title"],
        &["metadata", "case/a.txt", "--note", "found later"],
    ];
    for args in steps {
        let (code, _, stderr) = run(&ws, args, &[]);
        assert_eq!(code, 0, "{args:?}: {stderr}");
    }
    ws.seal();
    let (_, listing, _) = run(&ws, &["ls", "--json"], &[]);
    let listing: Value = serde_json::from_str(&listing).expect("ls --json");
    let first = (listing["documents"].as_array().expect("documents").iter())
        .find(|d| d["path"] == "case/a.txt")
        .and_then(|d| d["record"].as_str())
        .expect("case/a.txt listed")
        .to_string();
    ws.write("case/a.txt", "Statement of witness A, version 2.\n");
    ws.add(&["case"]);
    let (code, _, stderr) = run(&ws, &["metadata", "case/a.txt", "--tag", "late"], &[]);
    assert_eq!(code, 0, "{stderr}");
    // Metadata about the first version, added after it was superseded.
    let (code, _, stderr) = run(&ws, &["metadata", &first, "--tag", "old-version"], &[]);
    assert_eq!(code, 0, "{stderr}");
    ws.seal();
    let (code, text) = ws.verify_text();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("case \"Second title\""), "{text}");
    for (name, args) in [
        ("all", vec!["--all"]),
        ("b-only", vec!["--select", "case/b.txt"]),
        ("a-current", vec!["--select", "case/a.txt"]),
    ] {
        let bundle = ws.path(name);
        export(&ws, &bundle, &args);
        let report = assert_bundle_ok(&ws, &bundle);
        assert_eq!(report["case"]["title"], "Second title", "{name}: {report}");
        assert_eq!(report["case"]["latest_proven"], true, "{name}: {report}");
    }
}

/// A thumbnail's `src` is the verified photo, but the `<img>` is opened inside the style
/// sheet's raw text or given twice: neither may pass as something else.
#[test]
fn the_photo_source_cannot_be_smuggled_as_text_of_another_tag() {
    let ws = Workspace::new();
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 8]);
    png.extend_from_slice(b"\x08\x02\0\0\0\0\0\0\0\0\0\0\0IEND\xaeB`\x82");
    ws.write("case/p.png", &png);
    ws.add(&["case"]);
    ws.seal();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--all"]);
    let html = fs::read_to_string(bundle.join("report.html")).expect("report.html");
    assert!(
        html.contains("<img src=\"data/documents/case/p.png\""),
        "a thumbnail"
    );
    assert_bundle_ok(&ws, &bundle);
    // The picture is replaced by another record's bytes (a forged picture under the photo's
    // name): the content check and check 6a both catch it.
    let forged = copy(&ws, &bundle, "swapped");
    let record = read_manifest(&forged)["records"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let bytes = fs::read(forged.join(format!("data/records/{record}.cbor"))).expect("record");
    assert!(matches!(Record::decode(&bytes), Ok(Record::Document(_))));
    fs::write(forged.join("data/documents/case/p.png"), &bytes).expect("write");
    rebag(&forged);
    let codes = assert_bundle_problem(&ws, &forged, "report-unsafe", &["report.html"]);
    assert!(codes.iter().any(|c| c == "content-corrupt"), "{codes:?}");
    // A forged record for other picture bytes, with those bytes, under the photo's name: the
    // bytes match the (forged) record, but the record is in no signed tree, so the picture
    // is no verified document either.
    let forged = copy(&ws, &bundle, "forged-record");
    let Ok(Record::Document(mut doc)) = Record::decode(&bytes) else {
        panic!("a document record")
    };
    let mut other = png.clone();
    other[19] = 9;
    doc.content = Digest::of(&other);
    let forged_record = Record::Document(doc).encode().expect("encode");
    let new_id = Digest::of(&forged_record).to_hex();
    fs::remove_file(forged.join(format!("data/records/{record}.cbor"))).expect("remove");
    fs::write(
        forged.join(format!("data/records/{new_id}.cbor")),
        &forged_record,
    )
    .expect("write");
    fs::write(forged.join("data/documents/case/p.png"), &other).expect("write");
    let mut manifest = read_manifest(&forged);
    manifest["records"][0]["id"] = Value::from(new_id.clone());
    manifest["documents"][0]["record"] = Value::from(new_id.clone());
    manifest["documents"][0]["content"] = Value::from(Digest::of(&other).to_hex());
    write_manifest(&forged, &manifest);
    rebag(&forged);
    let item = format!("record #0 ({new_id})");
    let codes = assert_bundle_problem(&ws, &forged, "proof-invalid", &[&item]);
    assert!(codes.iter().any(|c| c == "report-unsafe"), "{codes:?}");
}

/// What verify prints of a document (its path, digest and size) comes from bundle.json; each
/// member edited there (every checksum recomputed) must fail, never be shown as verified.
#[test]
fn a_document_entry_edited_in_bundle_json_is_refused() {
    let (ws, bundle) = one_document_bundle();
    let other = Digest::of(b"other").to_hex();
    let edits: [(&str, &str, Value); 4] = [
        ("path", "path", Value::from("case/forged.txt")),
        ("path-escaped", "path", Value::from("case/a%2Etxt")),
        ("content", "content", Value::from(other)),
        ("size", "size", Value::from(25)),
    ];
    for (name, member, value) in edits {
        let forged = ws.path(name);
        copy_dir(&bundle, &forged);
        let mut manifest = read_manifest(&forged);
        manifest["documents"][0][member] = value;
        write_manifest(&forged, &manifest);
        rebag(&forged);
        assert_refused(&ws, &forged);
    }
}

/// A signer names a document "case/a\u{200b}.txt" beside "case/a.txt": printed raw, the two
/// look the same on a terminal. Every invisible format character is shown escaped.
#[test]
fn names_differing_only_by_an_invisible_character_look_different() {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    for (n, invisible) in ["\u{200b}", "\u{2060}", "\u{feff}", "\u{ad}"]
        .iter()
        .enumerate()
    {
        ws.write(&format!("case/a{invisible}.txt"), format!("forged {n}\n"));
    }
    ws.add(&["case"]);
    ws.seal();
    let (code, stdout, stderr) = run(&ws, &["ls"], &[]);
    assert_eq!(code, 0, "{stderr}");
    for shown in [
        "a\\u{200b}.txt",
        "a\\u{2060}.txt",
        "a\\u{feff}.txt",
        "a\\u{ad}.txt",
    ] {
        assert!(stdout.contains(shown), "{shown} in {stdout}");
    }
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--all"]);
    assert_bundle_ok(&ws, &bundle);
    let (_, text) = verify_text(&ws, &bundle, &TRUST);
    assert!(
        !text.contains('\u{200b}') && text.contains("a\\u{200b}.txt"),
        "{text}"
    );
}
