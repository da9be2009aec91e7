//! Item histories in time order and custody events (several targets, validated event names).

use super::*;

#[test]
fn history_lists_an_item_in_time_order() {
    let ws = Workspace::new();
    ws.write("report.txt", REPORT);
    ws.write("photo.txt", "Photo caption: buses at the border.\n");
    add_one(
        &ws,
        &[
            "report.txt",
            "--collected-at",
            "2022-03-09T08:30:00+02:00",
            "--collector",
            "O. Field",
            "--source-url",
            "https://example.org/report",
        ],
    );
    add_one(&ws, &["photo.txt"]);
    ok(
        &ws,
        &[
            "custody",
            "report.txt",
            "--event",
            "received",
            "--actor",
            "Desk",
            "--from",
            "O. Field",
            "--to",
            "Desk",
            "--at",
            "2022-03-10T12:00:00Z",
        ],
    );
    ws.seal();
    let note = annotate(
        &ws,
        "report.txt",
        &[
            "--body",
            "count",
            "--analyst",
            "A. Analyst",
            "--claim",
            "quantity=2442",
        ],
    );
    annotate(
        &ws,
        "photo.txt",
        &["--body", "same event", "--link", "corroborates:report.txt"],
    );
    ok(
        &ws,
        &[
            "custody",
            "report.txt",
            "--event",
            "accessed",
            "--actor",
            "Court clerk",
        ],
    );
    ok(
        &ws,
        &["retract", &note, "--reason", "superseded by expert report"],
    );
    ws.seal();

    let history = json(&ws, &["history", "report.txt", "--json"]);
    assert_eq!(history["paths"], serde_json::json!(["report.txt"]));
    let events = history["events"].as_array().expect("events");
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().expect("event"))
        .collect();
    assert_eq!(
        names,
        [
            "collected",
            "received",
            "ingested",
            "sealed",
            "annotated",
            "linked",
            "accessed",
            "retracted",
            "sealed"
        ],
        "{history}"
    );
    let times: Vec<&str> = events
        .iter()
        .map(|e| e["time"].as_str().expect("time"))
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "canonical UTC times sort as text");
    assert_eq!(times[0], "2022-03-09T06:30:00Z");
    assert_eq!(times[1], "2022-03-10T12:00:00Z");
    let detail = |i: usize| events[i]["detail"].as_str().expect("detail");
    assert!(detail(0).contains("by O. Field"), "{}", detail(0));
    assert!(detail(0).contains("https://example.org/report"));
    assert!(
        detail(1).contains("by Desk from O. Field to Desk"),
        "{}",
        detail(1)
    );
    assert!(detail(3).starts_with("checkpoint 1 "), "{}", detail(3));
    assert!(
        detail(3).contains("covers 2 of this item's records"),
        "{}",
        detail(3)
    );
    assert!(
        detail(4).contains("A. Analyst: count [quantity=2442]"),
        "{}",
        detail(4)
    );
    assert!(detail(5).contains("corroborates"), "{}", detail(5));
    assert!(detail(6).contains("Court clerk"), "{}", detail(6));
    assert!(
        detail(7).contains("superseded by expert report"),
        "{}",
        detail(7)
    );
    assert!(detail(8).starts_with("checkpoint 2 "), "{}", detail(8));
    assert!(events[3]["record"].is_null());

    let human = ok(&ws, &["history", "report.txt"]);
    assert!(human.starts_with("history of sha256:"), "{human}");
    let lines: Vec<&str> = human.lines().skip(1).collect();
    assert_eq!(lines.len(), 9, "{human}");
    assert!(
        lines[0].starts_with("2022-03-09T06:30:00Z  collected"),
        "{human}"
    );

    // Only documents have histories.
    refused(&ws, &["history", &note]);
    refused(&ws, &["history", "nothing.txt"]);
}

#[test]
fn custody_with_several_targets() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    ws.write("b.txt", "Witness B.\n");
    ws.write("c.txt", "Witness C.\n");
    let a = add_one(&ws, &["a.txt"]);
    add_one(&ws, &["b.txt"]);
    add_one(&ws, &["c.txt"]);
    let before = size(&ws);
    ok(
        &ws,
        &[
            "custody",
            "a.txt",
            "b.txt",
            &a[..10],
            "--event",
            "transferred",
            "--actor",
            "Courier 7",
            "--from",
            "Field office",
            "--to",
            "The Hague",
            "--note",
            "sealed bag 42",
            "--at",
            "2023-05-01T14:00:00+02:00",
        ],
    );
    assert_eq!(size(&ws), before + 1, "one record for all targets");
    for (path, expected) in [("a.txt", 1), ("b.txt", 1), ("c.txt", 0)] {
        let history = json(&ws, &["history", path, "--json"]);
        let transfers: Vec<&Value> = history["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["event"] == "transferred")
            .collect();
        assert_eq!(transfers.len(), expected, "{path}: {history}");
        if let Some(t) = transfers.first() {
            assert_eq!(t["time"], "2023-05-01T12:00:00Z");
            assert_eq!(
                t["detail"],
                "by Courier 7 from Field office to The Hague: sealed bag 42"
            );
        }
    }
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["custody_events"], 1);
}

#[test]
fn custody_event_names_are_validated() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    let before = size(&ws);
    for event in ["ingested", "exported", "stolen", "Received", ""] {
        let err = refused(&ws, &["custody", "a.txt", "--event", event, "--actor", "X"]);
        assert!(err.contains(&format!("--event '{event}'")), "{err}");
        assert!(err.contains("received, transferred"), "{err}");
    }
    let err = refused(
        &ws,
        &[
            "custody",
            "a.txt",
            "--event",
            "received",
            "--actor",
            "X",
            "--at",
            "yesterday",
        ],
    );
    assert!(err.contains("--at 'yesterday'"), "{err}");
    // One unknown target refuses the whole event.
    let err = refused(
        &ws,
        &[
            "custody", "a.txt", "b.txt", "--event", "received", "--actor", "X",
        ],
    );
    assert!(err.contains("b.txt"), "{err}");
    // An annotation is not something held in custody.
    let note = annotate(&ws, "a.txt", &["--body", "b"]);
    refused(
        &ws,
        &["custody", &note, "--event", "accessed", "--actor", "X"],
    );
    refused(&ws, &["custody", "a.txt", "--event", "received"]);
    assert_eq!(size(&ws), before + 1, "only the annotation was recorded");
    for event in [
        "received",
        "transferred",
        "accessed",
        "copied",
        "redacted",
        "other",
    ] {
        ok(&ws, &["custody", "a.txt", "--event", event, "--actor", "X"]);
    }
    assert_eq!(size(&ws), before + 7);
}
