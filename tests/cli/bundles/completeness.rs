//! Complete disclosure (format 2): the signed checkpoint commits to the reference map, so a
//! bundle must show every record about each disclosed item and the whole key state. Each forgery
//! below removes something a recipient must see and recomputes every unsigned checksum,
//! manifest and JSON, so only the signed map can catch it.

use super::*;

/// Removes the disclosed record at `index` from the bundle: its file, its manifest entry and,
/// if `also_from_completeness`, its entry in every subject's list. Then re-bags.
pub(super) fn remove_record(bundle: &Path, index: u64, also_from_completeness: bool) {
    let id = record_id(bundle, index);
    fs::remove_file(bundle.join(format!("data/records/{id}.cbor"))).expect("remove record");
    let mut manifest = read_manifest(bundle);
    manifest["records"]
        .as_array_mut()
        .expect("records")
        .retain(|r| r["index"] != index);
    if also_from_completeness {
        for subject in manifest["completeness"]["subjects"]
            .as_array_mut()
            .expect("subjects")
        {
            subject["entries"]
                .as_array_mut()
                .expect("entries")
                .retain(|e| e["index"] != index);
        }
        manifest["withheld"] =
            serde_json::json!({"annotations": 0, "custody_events": 0, "retractions": 0});
    }
    write_manifest(bundle, &manifest);
    rebag(bundle);
}

fn index_of_kind(bundle: &Path, kind: &str) -> u64 {
    read_manifest(bundle)["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["kind"] == kind)
        .unwrap_or_else(|| panic!("a disclosed {kind} record"))["index"]
        .as_u64()
        .expect("index")
}

#[test]
fn deleting_a_revocation_from_a_bundle_is_caught() {
    // Two signers; one key is revoked (stolen) but still signs next to the honest one. A
    // recipient who requires both signers must be refused: the revoked key does not count.
    let ws = Workspace::new();
    let (code, _, stderr) = run(
        &ws,
        &[
            "key",
            "generate",
            "--out",
            "officer",
            "--signer",
            "officer",
            "--unencrypted",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    fs::write(
        ws.path("both.trust"),
        format!(
            "{}{}",
            fs::read_to_string(ws.path("signer.pub")).expect("signer.pub"),
            fs::read_to_string(ws.path("officer.pub")).expect("officer.pub")
        ),
    )
    .expect("write trust file");
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.add(&["case"]);
    let (code, _, stderr) = run(
        &ws,
        &["key", "revoke", "officer.pub", "--reason", "laptop stolen"],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(
        &ws,
        &["seal", "--key", "signer.key", "--key", "officer.key"],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--select", "case/a.txt"]);
    let both = ["--trust", "both.trust", "--require", "2"];
    let (exit, report) = verify_json(&ws, &bundle, &both);
    assert_eq!(exit, 1, "the revoked officer must not count: {report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["signatures-insufficient"],
        "{report}"
    );
    let revocation = index_of_kind(&bundle, "key");

    // Forgery 1: the revocation's file and manifest entry are gone.
    let forged = ws.path("forged-1");
    copy_dir(&bundle, &forged);
    remove_record(&forged, revocation, false);
    let (exit, report) = verify_json(&ws, &forged, &both);
    assert_eq!(exit, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["key-record-withheld"],
        "only the signed key state betrays the deletion: {report}"
    );
    assert_bundle_problem(&ws, &forged, "key-record-withheld", &["the key records"]);
    // Forgery 2: its completeness entry is gone too; the chain no longer matches the signed map.
    let forged = ws.path("forged-2");
    copy_dir(&bundle, &forged);
    remove_record(&forged, revocation, true);
    let (exit, report) = verify_json(&ws, &forged, &both);
    assert_eq!(exit, 1, "{report}");
    assert!(
        Workspace::problem_codes(&report).contains(&"completeness-invalid".to_string()),
        "{report}"
    );
    assert_bundle_problem(&ws, &forged, "completeness-invalid", &["the key records"]);
}

#[test]
fn deleting_a_retraction_of_a_disclosed_document_is_caught() {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.write("case/b.txt", "Statement of witness B.\n");
    ws.add(&["case"]);
    let (code, _, stderr) = run(
        &ws,
        &["retract", "case/a.txt", "--reason", "obtained under duress"],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    ws.seal();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--select", "case/a.txt"]);
    assert_bundle_ok(&ws, &bundle);
    let retraction = index_of_kind(&bundle, "retraction");
    let a_record = record_id(&bundle, 0);
    let item = format!("records about sha256:{a_record}");

    let forged = ws.path("forged-1");
    copy_dir(&bundle, &forged);
    remove_record(&forged, retraction, false);
    assert_bundle_problem(&ws, &forged, "retraction-withheld", &[&item]);
    let forged = ws.path("forged-2");
    copy_dir(&bundle, &forged);
    remove_record(&forged, retraction, true);
    assert_bundle_problem(&ws, &forged, "completeness-invalid", &[&item]);
}

#[test]
fn stripping_the_completeness_section_or_relabelling_as_format_1_is_caught() {
    let (ws, bundle, _) = exported();
    let mut manifest = read_manifest(&bundle);
    assert_eq!(manifest["format"], "evidentia-bundle/2");
    manifest
        .as_object_mut()
        .expect("object")
        .remove("completeness");
    manifest["format"] = "evidentia-bundle/1".into();
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    assert_bundle_problem(&ws, &bundle, "completeness-missing", &["data/bundle.json"]);
}

#[test]
fn a_subject_dropped_from_the_section_is_caught() {
    let (ws, bundle, _) = exported();
    let mut manifest = read_manifest(&bundle);
    let subjects = manifest["completeness"]["subjects"]
        .as_array_mut()
        .expect("subjects");
    let before = subjects.len();
    subjects.retain(|s| s["subject"] != "path case/a.txt");
    assert_eq!(subjects.len(), before - 1);
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    assert_bundle_problem(
        &ws,
        &bundle,
        "completeness-missing",
        &["versions of 'case/a.txt'"],
    );
}

#[test]
fn withheld_records_are_counted_not_accused_and_later_versions_are_shown() {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.write("secret/w.txt", "protected\n");
    ws.add(&["case", "secret"]);
    let (code, _, stderr) = run(
        &ws,
        &[
            "annotate",
            "case/a.txt",
            "--body",
            "see the protected statement",
            "--link",
            "corroborates:secret/w.txt",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    ws.seal();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--select", "case/a.txt"]);
    let report = assert_bundle_ok(&ws, &bundle);
    let not_proven = strings(&report["not_proven"]).join("\n");
    assert!(not_proven.contains("1 annotation(s)"), "{report}");
    let proven = strings(&report["proven"]).join("\n");
    assert!(proven.contains("complete disclosure"), "{report}");
    assert_eq!(
        report["documents"][0]["about"], "all 1 record(s) about it: 0 disclosed, 1 withheld",
        "{report}"
    );
    // A later version of the path, not selected, is brought along and labelled.
    ws.write("case/a.txt", "Statement of witness A, corrected.\n");
    ws.add(&["case"]);
    ws.seal();
    let bundle = ws.path("bundle-2");
    export(
        &ws,
        &bundle,
        &[
            "--select",
            &format!(
                "sha256:{}",
                read_manifest(&ws.path("bundle"))["documents"][0]["content"]
                    .as_str()
                    .expect("content")
            ),
        ],
    );
    let report = assert_bundle_ok(&ws, &bundle);
    let abouts: Vec<String> = report["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["about"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        abouts[0].contains("1 later version(s) of 'case/a.txt' exist"),
        "{report}"
    );
}

pub(super) fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let target = to.join(entry.path().strip_prefix(from).expect("inside"));
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).expect("mkdir");
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn withholding_a_later_version_and_promoting_the_older_one_is_caught() {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    let first = added(&ws.add(&["case"]));
    ws.seal();
    ws.write("case/a.txt", "Statement of witness A, corrected.\n");
    ws.add(&["case"]);
    ws.seal();
    let bundle = ws.path("bundle");
    export(
        &ws,
        &bundle,
        &["--select", &format!("sha256:{}", first[0].0)],
    );
    let report = assert_bundle_ok(&ws, &bundle);
    assert_eq!(
        report["documents"].as_array().map(Vec::len),
        Some(2),
        "{report}"
    );

    // The forger drops version 2 and puts version 1 where the current version belongs.
    let mut manifest = read_manifest(&bundle);
    let docs = manifest["documents"].as_array().expect("documents").clone();
    let (old, new) = (&docs[0], &docs[1]);
    let new_record = new["record"].as_str().expect("record").to_string();
    fs::remove_file(bundle.join(new["file"].as_str().expect("file"))).expect("remove v2");
    fs::rename(
        bundle.join(old["file"].as_str().expect("file")),
        bundle.join(new["file"].as_str().expect("file")),
    )
    .expect("promote v1");
    fs::remove_file(bundle.join(format!("data/records/{new_record}.cbor"))).expect("record");
    manifest["records"]
        .as_array_mut()
        .expect("records")
        .retain(|r| r["id"] != new_record.as_str());
    let mut promoted = old.clone();
    promoted["file"] = new["file"].clone();
    manifest["documents"] = serde_json::json!([promoted]);
    write_manifest(&bundle, &manifest);
    let _ = fs::remove_dir_all(bundle.join("data/versions"));
    rebag(&bundle);
    assert_bundle_problem(
        &ws,
        &bundle,
        "version-withheld",
        &["versions of 'case/a.txt'"],
    );
}
