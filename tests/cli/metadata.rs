//! Metadata after the fact (issue 13): `metadata` records added by `add` of unchanged content
//! with new options or by `evidentia metadata`; shown by `show`, `ls` and `history`. The
//! collection time keeps the offset it was given with. Selectors a document's media type cannot
//! have, and a second retraction, are refused with exit 2.

use serde_json::Value;

use crate::common::Workspace;

fn json(ws: &Workspace, args: &[&str]) -> Value {
    let (code, stdout, stderr) = ws.run(args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    let value: Value = serde_json::from_str(&stdout).expect("JSON output");
    // docs/JSON.md: `show` lists its records under `records`, `ls` its documents under
    // `documents`; these tests look at the one record or the list.
    match args.first() {
        Some(&"show") => value["records"][0].clone(),
        Some(&"ls") => value["documents"].clone(),
        _ => value,
    }
}

fn kinds(ws: &Workspace) -> Vec<String> {
    let log = json(ws, &["log", "--json"]);
    let records = log
        .as_array()
        .or_else(|| log["records"].as_array())
        .expect("records");
    records
        .iter()
        .map(|r| r["kind"].as_str().expect("kind").to_string())
        .collect()
}

fn verifies(ws: &Workspace) {
    let (code, text) = ws.verify_text();
    assert_eq!(code, 0, "the archive must verify: {text}");
}

fn one_statement() -> Workspace {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    let (code, _, stderr) = ws.run(&["add", "case", "--tag", "statement"]);
    assert_eq!(code, 0, "{stderr}");
    ws
}

#[test]
fn re_adding_with_new_metadata_records_it_and_the_same_again_records_nothing() {
    let ws = one_statement();
    // The same tag again: nothing new, nothing logged.
    let (code, _, stderr) = ws.run(&["add", "case", "--tag", "statement"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("unchanged: "), "{stderr}");
    assert_eq!(ws.log_size(), 1);

    let (code, _, stderr) = ws.run(&[
        "add",
        "case",
        "--tag",
        "statement",
        "--tag",
        "bucha",
        "--collector",
        "Analyst B",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("the new metadata was recorded"), "{stderr}");
    assert!(stderr.contains("(1 with new metadata)"), "{stderr}");
    assert_eq!(kinds(&ws), ["document", "metadata"]);
    let shown = json(&ws, &["show", "#1", "--json"]);
    assert_eq!(shown["kind"], "metadata");
    // Only what is new: the tag already on the document is not repeated.
    assert_eq!(shown["metadata"]["tags"], serde_json::json!(["bucha"]));
    assert_eq!(shown["metadata"]["collector"], "Analyst B");
    let document = json(&ws, &["show", "#0", "--json"]);
    assert_eq!(
        shown["metadata"]["target"], document["id"],
        "metadata names the document record"
    );

    // Both given again: still nothing new.
    let (code, _, stderr) = ws.run(&["add", "case", "--tag", "bucha", "--collector", "Analyst B"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("nothing added"), "{stderr}");
    assert_eq!(ws.log_size(), 2);
    ws.seal();
    verifies(&ws);
}

#[test]
fn the_metadata_command_adds_to_a_document_and_refuses_nothing_to_add() {
    let ws = one_statement();
    let (code, stdout, stderr) = ws.run(&["metadata", "case/a.txt", "--note", "found later"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("sha256:"), "{stdout}");
    assert!(
        stderr.contains("metadata recorded for case/a.txt"),
        "{stderr}"
    );
    let (code, _, stderr) = ws.run(&["metadata", "case/a.txt", "--note", "found later"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("already has this metadata"), "{stderr}");
    assert_eq!(ws.log_size(), 2);

    let (code, _, stderr) = ws.run(&["metadata", "case/a.txt"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("nothing to add"), "{stderr}");
    let (code, _, stderr) = ws.run(&["metadata", "case/missing.txt", "--tag", "x"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("case/missing.txt"), "{stderr}");
    // Metadata is about documents, not about other records.
    let (code, _, stderr) = ws.run(&["metadata", "#1", "--tag", "x"]);
    assert_eq!(code, 2, "{stderr}");
    ws.seal();
    verifies(&ws);
}

#[test]
fn ls_merges_tags_and_marks_them_added_later_and_history_shows_them() {
    let ws = one_statement();
    let (code, _, stderr) = ws.run(&["metadata", "case/a.txt", "--tag", "later-tag"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, _) = ws.run(&["ls"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("case/a.txt  [added later: tags later-tag]"),
        "{stdout}"
    );
    let list = json(&ws, &["ls", "--json"]);
    let entry = &list[0];
    assert_eq!(entry["tags"], serde_json::json!(["statement", "later-tag"]));
    assert_eq!(
        entry["added_later"]["tags"],
        serde_json::json!(["later-tag"])
    );
    assert_eq!(
        entry["added_later"]["records"].as_array().map(Vec::len),
        Some(1)
    );

    let (code, stdout, _) = ws.run(&["history", "case/a.txt"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("metadata added"), "{stdout}");
    assert!(stdout.contains("tags later-tag"), "{stdout}");
    let (code, stdout, _) = ws.run(&["show", "#1"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("kind:           metadata"), "{stdout}");
    assert!(stdout.contains("(document record)"), "{stdout}");
}

#[test]
fn collected_at_keeps_the_offset_it_was_given_with() {
    let ws = Workspace::new();
    ws.write("a.txt", "Photo caption.\n");
    let (code, _, stderr) = ws.run(&[
        "add",
        "a.txt",
        "--collected-at",
        "2024-03-01T10:00:00+02:00",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let shown = json(&ws, &["show", "#0", "--json"]);
    let doc = &shown["document"];
    assert_eq!(doc["collected_at"], "2024-03-01T08:00:00Z");
    assert_eq!(doc["collected_at_local"], "2024-03-01T10:00:00+02:00");
    assert_eq!(doc["collected_offset_minutes"], 120);
    let (_, stdout, _) = ws.run(&["show", "#0"]);
    assert!(
        stdout.contains("collected at:   2024-03-01T10:00:00+02:00"),
        "{stdout}"
    );
    let (_, stdout, _) = ws.run(&["history", "a.txt"]);
    assert!(
        stdout.contains("(given as 2024-03-01T10:00:00+02:00)"),
        "{stdout}"
    );
    // A time in UTC stores no offset.
    ws.write("b.txt", "Second caption.\n");
    let (code, _, stderr) = ws.run(&["add", "b.txt", "--collected-at", "2024-03-01T08:00:00Z"]);
    assert_eq!(code, 0, "{stderr}");
    let shown = json(&ws, &["show", "#1", "--json"]);
    assert_eq!(shown["document"]["collected_offset_minutes"], Value::Null);
    // The same instant given again with another offset is new metadata (the offset is evidence).
    let (code, _, stderr) = ws.run(&[
        "add",
        "a.txt",
        "--collected-at",
        "2024-03-01T09:00:00+01:00",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(ws.log_size(), 3);
    ws.seal();
    verifies(&ws);
}

#[test]
fn time_and_page_selectors_are_refused_on_media_without_them() {
    let ws = Workspace::new();
    ws.write("photo.png", b"\x89PNG\r\n\x1a\n not really");
    ws.write("note.txt", "Just text.\n");
    ws.add(&["photo.png", "note.txt"]);
    let cases: [(&str, &str, &str, &str); 3] = [
        (
            "photo.png",
            "--time",
            "1..2",
            "image/png, which has no time",
        ),
        ("note.txt", "--page", "1", "text/plain, which has no pages"),
        (
            "note.txt",
            "--time",
            "0..1",
            "--time is allowed on audio/* and video/*",
        ),
    ];
    for (target, option, value, wanted) in cases {
        let (code, _, stderr) = ws.run(&["annotate", target, "--body", "b", option, value]);
        assert_eq!(code, 2, "{target} {option}: {stderr}");
        assert!(stderr.contains(wanted), "{stderr}");
        assert!(stderr.contains(target), "the document is named: {stderr}");
    }
    assert_eq!(ws.log_size(), 2, "nothing was recorded");
    let (_, _, stderr) = ws.run(&["annotate", "note.txt", "--body", "b", "--page", "1"]);
    assert!(
        stderr.contains("--page is allowed on application/pdf"),
        "what is allowed is said: {stderr}"
    );
}

#[test]
fn retracting_twice_is_refused_naming_the_earlier_retraction() {
    let ws = one_statement();
    let (code, stdout, stderr) = ws.run(&["retract", "case/a.txt", "--reason", "duress"]);
    assert_eq!(code, 0, "{stderr}");
    let first = stdout.trim().trim_start_matches("sha256:").to_string();
    let (code, _, stderr) = ws.run(&["retract", "case/a.txt", "--reason", "again"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("already retracted by record #1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("duress"),
        "the earlier reason is named: {stderr}"
    );
    if !first.is_empty() {
        assert!(stderr.contains(&first[..12]), "{stderr}");
    }
    assert_eq!(ws.log_size(), 2);
    ws.seal();
    verifies(&ws);
}

#[test]
fn a_single_document_proof_of_a_document_with_metadata_verifies() {
    // A proof carries no metadata records: they are counted as withheld, not a failure.
    let ws = one_statement();
    let (code, _, stderr) = ws.run(&["metadata", "case/a.txt", "--tag", "later"]);
    assert_eq!(code, 0, "{stderr}");
    ws.seal();
    let (code, _, stderr) = ws.run(&["prove", "case/a.txt", "--out", "proof.json"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = ws.run(&[
        "verify-proof",
        "proof.json",
        "case/a.txt",
        "--trust",
        "signer.pub",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("1 withheld"), "{stdout}");
}
