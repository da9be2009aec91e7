//! The bundle layout is dictated by the signed records (FORMAT.md §17, "Layout"): each
//! document's bytes sit where its record puts them, the current version of a path at
//! `data/documents/<path>`, older versions under `data/versions/<record id>/<path>`. Forgers
//! move bytes between names and rewrite bundle.json and every manifest; only the rule catches
//! them. Honest layouts (versions, names colliding by case or as a directory) verify.

use super::*;

/// Two versions of case/x.txt and one of case/y.txt, sealed and exported whole. Returns the
/// workspace, the bundle and the record ids of (x v1, x v2).
fn versions_exported() -> (Workspace, PathBuf, String, String) {
    let ws = Workspace::new();
    ws.write("case/x.txt", "first account, 2022-03-09\n");
    ws.write("case/y.txt", "another statement\n");
    ws.add(&["case"]);
    ws.write("case/x.txt", "second account, corrected\n");
    ws.add(&["case"]);
    ws.seal();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--all"]);
    let manifest = read_manifest(&bundle);
    let x: Vec<String> = manifest["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .filter(|d| d["path"] == "case/x.txt")
        .map(|d| d["record"].as_str().expect("record").to_string())
        .collect();
    assert_eq!(x.len(), 2, "{manifest}");
    (ws, bundle, x[0].clone(), x[1].clone())
}

/// Points the bundle.json entry of `record` at `file`.
fn repoint(bundle: &Path, record: &str, file: &str) {
    let mut manifest = read_manifest(bundle);
    for doc in manifest["documents"].as_array_mut().expect("documents") {
        if doc["record"] == record {
            doc["file"] = serde_json::json!(file);
        }
    }
    write_manifest(bundle, &manifest);
}

#[test]
fn the_current_version_is_at_the_obvious_path_and_the_older_one_is_labelled() {
    let (ws, bundle, older, current) = versions_exported();
    assert_eq!(
        fs::read_to_string(bundle.join("data/documents/case/x.txt")).expect("current"),
        "second account, corrected\n"
    );
    let old_file = format!("data/versions/{older}/case/x.txt");
    assert_eq!(
        fs::read_to_string(bundle.join(&old_file)).expect("older version"),
        "first account, 2022-03-09\n"
    );
    let report = assert_bundle_ok(&ws, &bundle);
    let version = |record: &str| {
        let manifest = read_manifest(&bundle);
        let at = manifest["documents"]
            .as_array()
            .expect("documents")
            .iter()
            .position(|d| d["record"] == record)
            .expect("listed");
        report["documents"][at]["version"]
            .as_str()
            .expect("a version label")
            .to_string()
    };
    let v1 = Digest::of(b"first account, 2022-03-09\n").to_hex();
    let v2 = Digest::of(b"second account, corrected\n").to_hex();
    assert_eq!(
        version(&older),
        format!("older version 1 of case/x.txt, replaced by sha256:{v2} (version 2)")
    );
    assert_eq!(
        version(&current),
        format!("version 2 of case/x.txt (current), replaces sha256:{v1}")
    );
    let (_, text) = verify_text(&ws, &bundle, &TRUST);
    assert!(text.contains("older version 1 of case/x.txt"), "{text}");
    let html = fs::read_to_string(bundle.join("report.html")).expect("report");
    assert!(
        html.contains(&format!(
            "version 2 of case/x.txt (current), replaces sha256:{v1}"
        )),
        "report.html must label the versions"
    );
    assert!(html.contains("older version 1 of case/x.txt"));
}

#[test]
fn selecting_an_older_version_brings_the_version_that_replaces_it() {
    let (ws, _, _, _) = versions_exported();
    let v1 = Digest::of(b"first account, 2022-03-09\n").to_hex();
    let bundle = ws.path("only-v1");
    export(&ws, &bundle, &["--select", &v1]);
    assert_eq!(
        fs::read_to_string(bundle.join("data/documents/case/x.txt")).expect("current"),
        "second account, corrected\n",
        "a superseded version must not be handed over as if it were current"
    );
    assert!(!bundle.join("data/documents/case/y.txt").exists());
    assert_bundle_ok(&ws, &bundle);
}

#[test]
fn two_documents_swapped_between_paths() {
    let (ws, bundle, docs) = exported();
    let (a, b) = (&docs[0], &docs[1]);
    assert_eq!((a.1.as_str(), b.1.as_str()), ("case/a.txt", "case/b.txt"));
    let file_a = bundle.join("data/documents/case/a.txt");
    let file_b = bundle.join("data/documents/case/b.txt");
    let bytes_a = fs::read(&file_a).expect("a");
    let bytes_b = fs::read(&file_b).expect("b");
    fs::write(&file_a, &bytes_b).expect("write");
    fs::write(&file_b, &bytes_a).expect("write");
    let manifest = read_manifest(&bundle);
    for doc in manifest["documents"].as_array().expect("documents") {
        let swapped = if doc["path"] == "case/a.txt" {
            "data/documents/case/b.txt"
        } else {
            "data/documents/case/a.txt"
        };
        repoint(&bundle, doc["record"].as_str().expect("record"), swapped);
    }
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "document-misplaced", &["case/a.txt"]);
    assert_eq!(codes, ["document-misplaced", "document-misplaced"]);
}

#[test]
fn current_and_older_versions_trade_places() {
    let (ws, bundle, older, current) = versions_exported();
    let obvious = bundle.join("data/documents/case/x.txt");
    let old_file = format!("data/versions/{older}/case/x.txt");
    let new_bytes = fs::read(&obvious).expect("current");
    let old_bytes = fs::read(bundle.join(&old_file)).expect("older");
    // The older version at the obvious path, the current one in the versions area.
    fs::write(&obvious, &old_bytes).expect("write");
    fs::remove_dir_all(bundle.join("data/versions")).expect("remove");
    let moved = format!("data/versions/{current}/case/x.txt");
    fs::create_dir_all(bundle.join(&moved).parent().expect("parent")).expect("mkdir");
    fs::write(bundle.join(&moved), &new_bytes).expect("write");
    repoint(&bundle, &older, "data/documents/case/x.txt");
    repoint(&bundle, &current, &moved);
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "document-misplaced", &["case/x.txt"]);
    // The current version's file is where no record puts one, as well.
    assert_eq!(
        codes,
        [
            "document-misplaced",
            "document-misplaced",
            "unlisted-document"
        ]
    );

    // Only the current version moved to the versions area, the obvious name left empty.
    let (ws, bundle, _, current) = versions_exported();
    let obvious = bundle.join("data/documents/case/x.txt");
    let bytes = fs::read(&obvious).expect("current");
    fs::remove_file(&obvious).expect("remove");
    let moved = format!("data/versions/{current}/case/x.txt");
    fs::create_dir_all(bundle.join(&moved).parent().expect("parent")).expect("mkdir");
    fs::write(bundle.join(&moved), bytes).expect("write");
    repoint(&bundle, &current, &moved);
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "document-misplaced", &["case/x.txt"]);
    assert_eq!(codes, ["document-misplaced", "unlisted-document"]);
}

#[test]
fn an_extra_copy_of_a_disclosed_document() {
    let (ws, bundle, _) = exported();
    let bytes = fs::read(bundle.join("data/documents/case/a.txt")).expect("a");
    fs::write(bundle.join("data/documents/case/a-copy.txt"), &bytes).expect("write");
    rebag(&bundle);
    let codes = assert_bundle_problem(
        &ws,
        &bundle,
        "unlisted-document",
        &["data/documents/case/a-copy.txt"],
    );
    assert_eq!(codes, ["unlisted-document"]);

    // The copy listed as a second entry of the same record in bundle.json.
    let mut manifest = read_manifest(&bundle);
    let mut copy = manifest["documents"][0].clone();
    copy["file"] = serde_json::json!("data/documents/case/a-copy.txt");
    manifest["documents"]
        .as_array_mut()
        .expect("documents")
        .push(copy);
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "bad-manifest", &["case/a.txt"]);
    assert!(
        codes.contains(&"unlisted-document".to_string()),
        "{codes:?}"
    );

    // In the versions area, under a record id that is disclosed.
    let (ws, bundle, _) = exported();
    let id = record_id(&bundle, 0);
    let planted = format!("data/versions/{id}/case/a.txt");
    fs::create_dir_all(bundle.join(&planted).parent().expect("parent")).expect("mkdir");
    fs::write(bundle.join(&planted), &bytes).expect("write");
    rebag(&bundle);
    assert_bundle_problem(&ws, &bundle, "unlisted-document", &[&planted]);
}

#[test]
fn names_that_collide_are_placed_apart_and_verify() {
    let ws = Workspace::new();
    // A path beginning with versions/, a file where another path needs a directory, and (on a
    // case-sensitive file system) two names that differ only in case.
    ws.write(
        "versions/x.txt",
        "a collected file that lives under versions/\n",
    );
    ws.write("one/case", "a file named like a directory\n");
    ws.write("two/case/x.txt", "a file inside that directory\n");
    ws.add(&["versions", "one/case"]);
    ws.cmd()
        .args(["add", "two/case", "--relative-to", "two"])
        .assert()
        .success();
    ws.write("three/cases/Note.txt", "a note\n");
    ws.cmd()
        .args(["add", "three/cases", "--relative-to", "three"])
        .assert()
        .success();
    let case_sensitive = !ws.path("three/cases/NOTE.txt").exists();
    if case_sensitive {
        ws.write("four/cases/NOTE.txt", "the same name in capitals\n");
        ws.cmd()
            .args(["add", "four/cases", "--relative-to", "four"])
            .assert()
            .success();
    }
    ws.seal();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--all"]);
    let report = assert_bundle_ok(&ws, &bundle);
    assert!(bundle.join("data/documents/versions/x.txt").exists());
    assert!(bundle.join("data/documents/case").is_file());
    let manifest = read_manifest(&bundle);
    let file_of = |path: &str| {
        manifest["documents"]
            .as_array()
            .expect("documents")
            .iter()
            .find(|d| d["path"] == path)
            .unwrap_or_else(|| panic!("{path} disclosed: {manifest}"))["file"]
            .as_str()
            .expect("file")
            .to_string()
    };
    assert!(file_of("case/x.txt").starts_with("data/versions/"));
    let labels = report["documents"].to_string();
    assert!(labels.contains("collides with 'case'"), "{report}");
    assert_eq!(file_of("cases/Note.txt"), "data/documents/cases/Note.txt");
    if case_sensitive {
        assert!(file_of("cases/NOTE.txt").starts_with("data/versions/"));
        assert!(
            labels.contains("collides with 'cases/Note.txt'"),
            "{report}"
        );
    }
}
