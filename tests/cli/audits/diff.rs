//! `diff`: what a later version adds, between checkpoints, archive copies and later bundles.

use super::*;

#[test]
fn diff_lists_every_kind_of_change_across_seals() {
    let ws = Workspace::new();
    keygen(&ws, "second");
    let a1 = "Statement of witness A.\n";
    let a2 = "Statement of witness A, corrected.\n";
    let b = "Statement of witness B.\n";
    let c = "Drone footage log.\n";
    ws.write("a.txt", a1);
    ws.write("b.txt", b);
    ws.add(&["a.txt", "b.txt"]);
    ws.seal();

    // Checkpoint 2: every kind of change.
    ws.write("a.txt", a2);
    let changed = added(&ws.add(&["a.txt"]));
    ws.write("b-copy.txt", b);
    ws.add(&["b-copy.txt"]);
    // Adding unchanged content again records nothing: the archive says so.
    let (code, _, stderr) = ws.run(&["add", "b.txt"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("b.txt is already recorded with this content"),
        "{stderr}"
    );
    ws.write("c.txt", c);
    let new_doc = added(&ws.add(&["c.txt"]));
    let first = ok(&ws, &["annotate", "c.txt", "--body", "first reading"]);
    let first = first.trim_end().strip_prefix("sha256:").expect("id");
    ok(
        &ws,
        &[
            "annotate",
            "c.txt",
            "--body",
            "second reading",
            "--link",
            &format!("supersedes:{first}"),
        ],
    );
    ok(
        &ws,
        &["retract", "b-copy.txt", "--reason", "duplicate upload"],
    );
    ok(
        &ws,
        &[
            "custody",
            "c.txt",
            "--event",
            "accessed",
            "--actor",
            "Analyst X",
        ],
    );
    ok(&ws, &["key", "introduce", "--key", "second.key"]);
    ok(&ws, &["seal", "--key", "signer.key", "--key", "second.key"]);

    // Both signers are in the trust file: the second was introduced in the log.
    let both = format!(
        "{}{}",
        fs::read_to_string(ws.path("signer.pub")).unwrap(),
        fs::read_to_string(ws.path("second.pub")).unwrap()
    );
    ws.write("both.pub", both);
    let (code, report) = diff_json_trusting(&ws, "1", "2", "both.pub");
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["append_only"], "proven", "{report}");
    assert_eq!(report["equivocation"], Value::Null);
    assert_eq!(report["partial"], false);
    assert_eq!(report["from"]["checkpoint"], 1);
    assert_eq!(report["to"]["checkpoint"], 2);
    assert_eq!(report["from"]["size"], 2);
    assert_eq!(report["to"]["size"], 10);
    let a = &report["added"];
    assert_eq!(a["records"], 8, "{a}");
    assert_eq!(
        a["content_bytes"],
        (a2.len() + b.len() + c.len()) as u64,
        "{a}"
    );
    let new = summaries(&a["documents_new"]);
    assert_eq!(new.len(), 1, "{a}");
    assert!(
        new[0].starts_with(&format!("c.txt sha256:{}", new_doc[0].0)),
        "{new:?}"
    );
    let ch = summaries(&a["documents_changed"]);
    assert_eq!(ch.len(), 1, "{a}");
    assert!(
        ch[0].starts_with(&format!("a.txt sha256:{}", changed[0].0)),
        "{ch:?}"
    );
    assert!(ch[0].contains(", was sha256:"), "{ch:?}");
    let moved = summaries(&a["documents_moved_or_copied"]);
    assert_eq!(moved.len(), 1, "{a}");
    assert!(moved[0].starts_with("b-copy.txt sha256:"), "{moved:?}");
    assert_eq!(summaries(&a["documents_repeated"]).len(), 0, "{a}");
    assert_eq!(summaries(&a["annotations_new"]).len(), 2, "{a}");
    assert_eq!(
        a["annotations_superseded"],
        serde_json::json!([format!("sha256:{first}")]),
        "{a}"
    );
    let retractions = summaries(&a["retractions"]);
    assert_eq!(retractions.len(), 1, "{a}");
    assert!(
        retractions[0].ends_with(": duplicate upload"),
        "{retractions:?}"
    );
    assert_eq!(
        summaries(&a["custody_events"]),
        ["accessed by Analyst X (1 item(s))"]
    );
    let keys = summaries(&a["key_events"]);
    assert_eq!(keys.len(), 1, "{a}");
    assert!(
        keys[0].starts_with(&format!("introduce {}", key_label(&ws, "second.pub"))),
        "{keys:?}"
    );
    assert_eq!(
        a["signers_added"],
        serde_json::json!([key_signer(&ws, "second.pub")])
    );
    assert_eq!(a["signers_removed"], serde_json::json!([]));

    let (code, stdout, stderr) = ws.run(&["diff", "1", "2", "--trust", "both.pub"]);
    let text = format!("{stdout}{stderr}");
    assert_eq!(code, 0, "{text}");
    for expected in [
        "append-only: proven",
        "TO adds 8 record(s)",
        "new documents (1):",
        "changed documents (same path, new content) (1):",
        "moved or copied documents (same content, new path) (1):",
        "new annotations (2):",
        "superseded annotations (1):",
        first,
        "retractions (1):",
        "custody events (1):",
        "key events (1):",
        &format!(
            "signers: added {}; removed none",
            key_label(&ws, "second.pub")
        ),
    ] {
        assert!(text.contains(expected), "missing '{expected}' in: {text}");
    }

    // Checkpoint 3: a document recorded again with the same path and content (another
    // collector's record of it, written through the library as `add` does), sealed by the
    // first signer alone.
    let archive = Archive::open(&ws.archive()).expect("open");
    let mut again = query::records(&archive)
        .expect("records")
        .into_iter()
        .find_map(|r| match r.record {
            Record::Document(d) if d.path == "c.txt" => Some(d),
            _ => None,
        })
        .expect("c.txt record");
    again.collection.note = Some("collected again by a second team".into());
    {
        let lock = archive.lock().expect("lock");
        let mut log = archive.log().expect("log");
        append_records(&archive, &lock, &mut log, &[Record::Document(again)]).expect("append");
    }
    ws.seal();
    let (code, report) = diff_json_trusting(&ws, "2", "3", "both.pub");
    assert_eq!(code, 0, "{report}");
    let a = &report["added"];
    assert_eq!(a["records"], 1, "{a}");
    let repeated = summaries(&a["documents_repeated"]);
    assert_eq!(repeated.len(), 1, "{a}");
    assert!(repeated[0].starts_with("c.txt sha256:"), "{repeated:?}");
    assert_eq!(summaries(&a["documents_new"]).len(), 0, "{a}");
    assert_eq!(a["content_bytes"], c.len() as u64);
    assert_eq!(a["signers_added"], serde_json::json!([]));
    assert_eq!(
        a["signers_removed"],
        serde_json::json!([key_signer(&ws, "second.pub")])
    );
    let (code, text) = diff_text(&ws, "2", "3");
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("documents recorded again (same path and content) (1):"),
        "{text}"
    );

    // Over all three seals the changes add up, and a version compared with itself is proven.
    let (code, report) = diff_json(&ws, "1", "3");
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["added"]["records"], 9);
    let (code, report) = diff_json(&ws, "3", "3");
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["added"]["records"], 0);
    assert!(
        report["detail"].as_str().unwrap().contains("same tree"),
        "{report}"
    );
}

#[test]
fn diff_between_archive_copies_and_to_later_bundles() {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.add(&["case"]);
    ws.seal();
    // The auditor keeps a copy; the live archive grows.
    copy_dir(&ws, "arc", "auditor-copy");
    ws.write("case/b.txt", "Statement of witness B.\n");
    ws.add(&["case/b.txt"]);
    ws.seal();
    ws.write("case/c.txt", "Statement of witness C.\n");
    ws.add(&["case/c.txt"]);
    ws.seal();

    for to in ["arc", "3"] {
        let (code, report) = diff_json(&ws, "auditor-copy", to);
        assert_eq!(code, 0, "{report}");
        assert_eq!(report["append_only"], "proven", "{report}");
        assert_eq!(report["from"]["checkpoint"], 1);
        assert_eq!(report["to"]["checkpoint"], 3);
        assert_eq!(report["added"]["records"], 2);
        assert_eq!(summaries(&report["added"]["documents_new"]).len(), 2);
        assert!(
            report["detail"]
                .as_str()
                .unwrap()
                .starts_with("consistency proof checked"),
            "{report}"
        );
    }
    let (code, text) = diff_text(&ws, "auditor-copy", "arc");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("append-only: proven"), "{text}");
    assert!(text.contains("b.txt sha256:"), "{text}");
    assert!(text.contains("c.txt sha256:"), "{text}");

    // Bundles exported later carry consistency proofs from every earlier checkpoint.
    ok(&ws, &["export", "--out", "bundle", "--all"]);
    ok(
        &ws,
        &["export", "--out", "bundle.tar", "--all", "--format", "tar"],
    );
    for (from, to) in [
        ("1", "bundle"),
        ("2", "bundle"),
        ("auditor-copy", "bundle"),
        ("1", "bundle.tar"),
    ] {
        let (code, report) = diff_json(&ws, from, to);
        assert_eq!(code, 0, "diff {from} {to}: {report}");
        assert_eq!(report["append_only"], "proven", "{report}");
        assert_eq!(report["partial"], true, "{report}");
        assert!(
            report["detail"]
                .as_str()
                .unwrap()
                .contains("the bundle's consistency proof"),
            "{report}"
        );
    }
    let (code, text) = diff_text(&ws, "1", "bundle");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("TO is a bundle"), "{text}");

    // A bundle whose consistency proof was altered proves nothing.
    copy_dir(&ws, "bundle", "bundle-bad");
    let manifest = ws.path("bundle-bad/data/bundle.json");
    let mut json: Value = serde_json::from_slice(&fs::read(&manifest).unwrap()).unwrap();
    let entry = json["consistency"]
        .as_array_mut()
        .expect("consistency list")
        .iter_mut()
        .find(|e| e["checkpoint"] == 1)
        .expect("a proof from checkpoint 1");
    let hash = entry["proof"][0]
        .as_str()
        .expect("a proof hash")
        .to_string();
    let flipped = format!(
        "{}{}",
        if hash.starts_with('0') { "1" } else { "0" },
        &hash[1..]
    );
    entry["proof"][0] = Value::String(flipped);
    Workspace::overwrite(&manifest, serde_json::to_vec_pretty(&json).unwrap());
    crate::bundles::rebag(&ws.path("bundle-bad"));
    // A bundle whose own proof fails does not verify: it is not compared at all, and no
    // equivocation is alleged (an unsigned proof shows nothing about the signer).
    let (code, report) = diff_json(&ws, "1", "bundle-bad");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "not-compared", "{report}");
    assert_eq!(report["refused"]["label"], "bundle-bad", "{report}");
    let codes: Vec<&str> = report["refused"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["consistency-invalid"], "{report}");
    let (code, text) = diff_text(&ws, "1", "bundle-bad");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("append-only: NOT COMPARED"), "{text}");
    assert!(!text.contains("EQUIVOCATION"), "{text}");

    // An older checkpoint after a bundle: the arguments are reversed, which is no rollback.
    let (code, stdout, stderr) = ws.run(&["diff", "bundle", "1", "--trust", "signer.pub"]);
    assert_eq!(code, 2, "{stdout} {stderr}");
    assert!(stderr.contains("did you mean `diff 1 bundle`"), "{stderr}");
    assert!(!stdout.contains("VIOLATED"), "{stdout}");

    // Without the proofs (manifests recomputed), append-only cannot be shown, nor a fork.
    json["consistency"] = serde_json::json!([]);
    Workspace::overwrite(&manifest, serde_json::to_vec_pretty(&json).unwrap());
    crate::bundles::rebag(&ws.path("bundle-bad"));
    let (code, report) = diff_json(&ws, "1", "bundle-bad");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "not-provable", "{report}");
    let (_, text) = diff_text(&ws, "1", "bundle-bad");
    assert!(text.contains("append-only: NOT PROVABLE"), "{text}");
    let (code, _, stderr) = ws.run(&["diff", "bundle-bad", "1", "--trust", "signer.pub"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("FROM is newer than TO"), "{stderr}");
}
