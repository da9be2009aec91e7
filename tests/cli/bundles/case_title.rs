//! The case title in a bundle: shown only from a disclosed `case` record that the signed
//! reference map proves to be the latest. Each forgery recomputes every unsigned checksum,
//! manifest and JSON; it can at most hide the title, never change it, and both verifiers agree.

use evidentia::core::record::{CaseRecord, Header, Record};

use super::completeness::{copy_dir, remove_record};
use super::*;

const OLD: &str = "Old title";
const NEW: &str = "UA-BY <children> transfers — Діти";

/// An archive titled OLD (#0) then NEW (#2, after the document #1), both sealed; its bundle of
/// everything.
fn titled_bundle() -> (Workspace, PathBuf) {
    let ws = Workspace::bare();
    for args in [
        vec!["init", "arc", "--name", OLD],
        vec!["key", "generate", "--out", "signer", "--unencrypted"],
    ] {
        let (code, stdout, stderr) = run(&ws, &args, &[]);
        assert_eq!(code, 0, "{args:?}: {stdout}{stderr}");
    }
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.add(&["case"]);
    ws.seal();
    let (code, _, stderr) = run(&ws, &["title", NEW], &[]);
    assert_eq!(code, 0, "{stderr}");
    ws.seal();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--all"]);
    (ws, bundle)
}

fn case_indices(bundle: &Path) -> Vec<u64> {
    read_manifest(bundle)["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["kind"] == "case")
        .map(|r| r["index"].as_u64().expect("index"))
        .collect()
}

fn not_proven(report: &Value) -> String {
    report["not_proven"].to_string()
}

#[test]
fn the_bundle_shows_the_latest_title_authenticated_and_report_html_names_it() {
    let (ws, bundle) = titled_bundle();
    assert_eq!(
        case_indices(&bundle),
        [0, 2],
        "every title record is disclosed"
    );
    let report = assert_bundle_ok(&ws, &bundle);
    assert_eq!(report["case"]["title"], NEW, "{report}");
    assert_eq!(report["case"]["index"], 2, "{report}");
    assert_eq!(report["case"]["latest_proven"], true, "{report}");
    assert!(report["proven"]
        .to_string()
        .contains("is the latest title record (#2)"));
    let (_, text) = verify_text(&ws, &bundle, &TRUST);
    assert!(
        text.contains(&format!("case \"{NEW}\" (record #2, the latest title)")),
        "{text}"
    );
    let html = fs::read_to_string(bundle.join("report.html")).expect("report.html");
    assert!(
        html.contains("<h1>UA-BY &lt;children&gt; transfers — Діти</h1>"),
        "report.html's title"
    );
    assert!(html.contains("<strong>case titled</strong> (log entry #0)</td><td>Old title"));
    if crate::common::script_tools_present() {
        let (code, out) = crate::common::hand_check(&bundle, &ws.path("signer.pub"), None);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("case title (the latest, record #2)"), "{out}");
    }
}

#[test]
fn withholding_the_latest_title_hides_it_and_never_promotes_the_older_one() {
    let (ws, bundle) = titled_bundle();
    // The latest title record's file and manifest entry removed; the signed list still names it.
    let forged = ws.path("forged-1");
    copy_dir(&bundle, &forged);
    remove_record(&forged, 2, false);
    let report = assert_bundle_ok(&ws, &forged);
    assert_eq!(
        report["case"],
        Value::Null,
        "the older title must not be shown: {report}"
    );
    assert!(
        not_proven(&report).contains("the latest title record (#2) is not in the bundle"),
        "{report}"
    );
    // Every title record and the `case` list removed: no title at all, said so.
    let forged = ws.path("forged-2");
    copy_dir(&bundle, &forged);
    remove_record(&forged, 2, false);
    remove_record(&forged, 0, false);
    let mut manifest = read_manifest(&forged);
    manifest["completeness"]["subjects"]
        .as_array_mut()
        .expect("subjects")
        .retain(|s| s["subject"] != "case");
    write_manifest(&forged, &manifest);
    rebag(&forged);
    let report = assert_bundle_ok(&ws, &forged);
    assert_eq!(report["case"], Value::Null, "{report}");
    assert!(
        not_proven(&report).contains("holds no title record"),
        "{report}"
    );
}

#[test]
fn an_older_title_passed_off_as_the_latest_is_caught() {
    let (ws, bundle) = titled_bundle();
    // The latest title removed from the record list and from the signed `case` list.
    let forged = ws.path("forged");
    copy_dir(&bundle, &forged);
    remove_record(&forged, 2, true);
    assert_bundle_problem(
        &ws,
        &forged,
        "completeness-invalid",
        &["the case title records"],
    );
    // The `case` list dropped while a title record is disclosed.
    let forged = ws.path("forged-list");
    copy_dir(&bundle, &forged);
    let mut manifest = read_manifest(&forged);
    manifest["completeness"]["subjects"]
        .as_array_mut()
        .expect("subjects")
        .retain(|s| s["subject"] != "case");
    write_manifest(&forged, &manifest);
    rebag(&forged);
    assert_bundle_problem(
        &ws,
        &forged,
        "completeness-missing",
        &["the case title records"],
    );
}

#[test]
fn a_forged_title_record_or_an_unsigned_title_is_refused() {
    let (ws, bundle) = titled_bundle();
    // A new `case` record in place of the latest one, with its id, file name, manifest entry
    // and list entries all recomputed: only the signed tree can catch it.
    let forged = ws.path("forged");
    copy_dir(&bundle, &forged);
    let old_id = record_id(&forged, 2);
    let bytes = Record::Case(Box::new(CaseRecord {
        header: Header::now(),
        title: "Forged title".into(),
    }))
    .encode()
    .expect("encode");
    let new_id = Digest::of(&bytes).to_hex();
    let new_leaf = evidentia::core::merkle::leaf_hash(&bytes).to_hex();
    fs::remove_file(forged.join(format!("data/records/{old_id}.cbor"))).expect("remove");
    fs::write(forged.join(format!("data/records/{new_id}.cbor")), &bytes).expect("write");
    let mut manifest = read_manifest(&forged);
    for r in manifest["records"].as_array_mut().expect("records") {
        if r["index"] == 2 {
            r["id"] = Value::from(new_id.clone());
        }
    }
    for s in manifest["completeness"]["subjects"]
        .as_array_mut()
        .expect("subjects")
    {
        if s["subject"] == format!("about {old_id}") {
            s["subject"] = Value::from(format!("about {new_id}"));
        }
        for e in s["entries"].as_array_mut().expect("entries") {
            if e["index"] == 2 {
                e["leaf"] = Value::from(new_leaf.clone());
            }
        }
    }
    write_manifest(&forged, &manifest);
    rebag(&forged);
    let item = format!("record #2 ({new_id})");
    let codes = assert_bundle_problem(&ws, &forged, "proof-invalid", &[&item]);
    assert!(
        codes.contains(&"completeness-invalid".to_string()),
        "{codes:?}"
    );
    let (_, report) = verify_json(&ws, &forged, &TRUST);
    assert_eq!(report["case"], Value::Null, "{report}");
    // bundle.json cannot carry a title of its own: unknown members are refused.
    let forged = ws.path("forged-json");
    copy_dir(&bundle, &forged);
    let mut manifest = read_manifest(&forged);
    manifest["title"] = Value::from("Forged title");
    write_manifest(&forged, &manifest);
    rebag(&forged);
    assert_bundle_problem(&ws, &forged, "bad-manifest", &["data/bundle.json"]);
}
