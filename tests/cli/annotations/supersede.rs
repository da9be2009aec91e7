//! Superseded and retracted annotations and documents: still listed, marked, and the archive verifies.

use super::*;

#[test]
fn supersede_marks_the_old_annotation() {
    let ws = media_workspace();
    let old = annotate(
        &ws,
        "report.txt",
        &["--body", "2,000 children", "--claim", "quantity=2000"],
    );
    // Superseding a document, a custody record or a missing id is refused.
    let err = refused(
        &ws,
        &[
            "annotate",
            "report.txt",
            "--body",
            "b",
            "--link",
            "supersedes:report.txt",
        ],
    );
    assert!(
        err.contains("only an annotation can be superseded"),
        "{err}"
    );
    let custody = recorded(
        &ws,
        &[
            "custody",
            "report.txt",
            "--event",
            "accessed",
            "--actor",
            "X",
        ],
    );
    let err = refused(
        &ws,
        &[
            "annotate",
            "report.txt",
            "--body",
            "b",
            "--link",
            &format!("supersedes:{custody}"),
        ],
    );
    assert!(err.contains("'custody' record"), "{err}");

    let new = annotate(
        &ws,
        "report.txt",
        &[
            "--body",
            "2,442 children",
            "--claim",
            "quantity=2442",
            "--link",
            &format!("supersedes:{old}"),
        ],
    );
    let views = json(&ws, &["annotations", "--json"])["annotations"].take();
    let old_view = find_view(&views, &old);
    assert_eq!(old_view["state"]["status"], "superseded", "{old_view}");
    assert_eq!(old_view["state"]["by"], format!("sha256:{new}"));
    assert_eq!(find_view(&views, &new)["state"]["status"], "active");
    let human = ok(&ws, &["annotations"]);
    assert!(
        human.contains(&format!("sha256:{old}  [superseded by {}]", &new[..12])),
        "{human}"
    );
    let ld = json(&ws, &["annotations", "--jsonld"]);
    let old_ld = ld["first"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == format!("urn:sha256:{old}"))
        .expect("old annotation in JSON-LD");
    assert!(
        old_ld["evidentia:state"]
            .as_str()
            .expect("state")
            .starts_with("superseded"),
        "{old_ld}"
    );
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
}

#[test]
fn retracted_annotation_and_document_stay_listed_and_verify() {
    let ws = media_workspace();
    let note = annotate(&ws, "report.txt", &["--body", "wrong page cited"]);
    ws.seal();
    let retraction = recorded(&ws, &["retract", &note, "--reason", "misread the source"]);
    let views = json(&ws, &["annotations", "--json"])["annotations"].take();
    let view = find_view(&views, &note);
    assert_eq!(view["state"]["status"], "retracted", "{view}");
    assert_eq!(view["state"]["reason"], "misread the source");
    assert_eq!(view["state"]["by"], format!("sha256:{retraction}"));
    assert_eq!(view["body"], "wrong page cited", "the record is intact");
    assert_eq!(
        view["sealed"]["checkpoint"], 1,
        "still proven by checkpoint 1"
    );
    let human = ok(&ws, &["annotations"]);
    assert!(
        human.contains(&format!("sha256:{note}  [RETRACTED: misread the source]")),
        "{human}"
    );

    // A document: its record is withdrawn but stays, with its content.
    let docs = json(&ws, &["ls", "--json"])["documents"].take();
    let photo = docs
        .as_array()
        .expect("ls array")
        .iter()
        .find(|d| d["path"] == "photo.jpg")
        .expect("photo listed")
        .clone();
    let record = photo["record"].as_str().expect("record id").to_string();
    let doc_retraction = recorded(&ws, &["retract", "photo.jpg", "--reason", "duplicate"]);
    let history = json(&ws, &["history", "photo.jpg", "--json"]);
    let retracted = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["event"] == "retracted")
        .unwrap_or_else(|| panic!("no retracted event: {history}"));
    assert_eq!(retracted["record"], format!("sha256:{doc_retraction}"));
    assert!(
        retracted["detail"]
            .as_str()
            .expect("detail")
            .ends_with(": duplicate"),
        "{retracted}"
    );
    let record_hex = record.trim_start_matches("sha256:");
    assert!(
        retracted["detail"]
            .as_str()
            .expect("detail")
            .starts_with(&record_hex[..12]),
        "names the withdrawn document record: {retracted}"
    );
    let docs = json(&ws, &["ls", "--json"])["documents"].take();
    assert!(
        docs.as_array()
            .expect("ls array")
            .iter()
            .any(|d| d["path"] == "photo.jpg"),
        "a retracted document is still listed: {docs}"
    );
    let content = photo["content"].as_str().expect("content");
    ok(&ws, &["cat", content.trim_start_matches("sha256:")]);

    // Only documents and annotations can be retracted; unknown ids are refused.
    let custody = recorded(
        &ws,
        &["custody", "report.txt", "--event", "copied", "--actor", "X"],
    );
    let err = refused(&ws, &["retract", &custody, "--reason", "r"]);
    assert!(err.contains("only documents and annotations"), "{err}");
    refused(&ws, &["retract", "nothing.txt", "--reason", "r"]);
    refused(&ws, &["retract", &retraction, "--reason", "r"]);

    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "retracted records still verify: {report}");
    assert_eq!(report["retractions"], 2);
    assert_eq!(report["annotations"], 1);
    assert_eq!(report["documents"], 5);
}
