//! Issue 13: the current state of each path (`ls`), every version's story (`annotations`,
//! `history`), and `show` for every record kind.

use serde_json::Value;

use crate::common::Workspace;

fn ok(ws: &Workspace, args: &[&str]) -> String {
    let (code, stdout, stderr) = ws.run(args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    stdout
}

fn json(ws: &Workspace, args: &[&str]) -> Value {
    serde_json::from_str(&ok(ws, args)).expect("JSON output")
}

/// The last line of stdout: the id a recording command prints.
fn id(stdout: &str) -> String {
    stdout.lines().last().expect("an id").to_string()
}

/// a.txt recorded twice (v1 then v2), b.txt once and retracted, c.txt once; one annotation
/// on a.txt's first version; sealed. Returns the annotation id and b's record id.
fn case(ws: &Workspace) -> (String, String) {
    ws.write("a.txt", "version one\n");
    ws.write("b.txt", "wrong file\n");
    ws.write("c.txt", "other\n");
    ws.add(&["a.txt", "b.txt", "c.txt"]);
    let note = id(&ok(
        ws,
        &[
            "annotate",
            "a.txt",
            "--body",
            "said of v1",
            "--analyst",
            "ana",
        ],
    ));
    ws.write("a.txt", "version two\n");
    ws.add(&["a.txt"]);
    let b = json(ws, &["show", "b.txt", "--json"])["records"][0].take()["id"]
        .as_str()
        .expect("id")
        .to_string();
    ok(ws, &["retract", "b.txt", "--reason", "not from this case"]);
    ws.seal();
    (note, b)
}

fn by_path<'a>(list: &'a Value, path: &str) -> Vec<&'a Value> {
    list.as_array()
        .expect("array")
        .iter()
        .filter(|d| d["path"] == path)
        .collect()
}

#[test]
fn ls_shows_the_current_version_and_marks_retracted() {
    let ws = Workspace::new();
    case(&ws);
    let list = json(&ws, &["ls", "--json"])["documents"].take();
    let a = by_path(&list, "a.txt");
    assert_eq!(a.len(), 1, "one line per path: {list}");
    assert_eq!(a[0]["state"], "current");
    assert_eq!(a[0]["versions"], 2);
    assert_eq!(a[0]["retracted"], false);
    assert_eq!(a[0]["size"], 12);
    let b = by_path(&list, "b.txt");
    assert_eq!(b[0]["state"], "retracted", "{list}");
    assert_eq!(b[0]["retracted"], true);
    assert_eq!(b[0]["retraction"]["reason"], "not from this case");
    assert_eq!(by_path(&list, "c.txt")[0]["state"], "current");

    let text = ok(&ws, &["ls"]);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("a.txt  (2 versions)"), "{text}");
    assert!(
        text.contains("b.txt  [retracted: not from this case]"),
        "{text}"
    );
}

#[test]
fn ls_all_versions_marks_superseded() {
    let ws = Workspace::new();
    case(&ws);
    let list = json(&ws, &["ls", "--all-versions", "--json"])["documents"].take();
    let a = by_path(&list, "a.txt");
    assert_eq!(a.len(), 2, "{list}");
    assert_eq!(a[0]["state"], "superseded");
    assert_eq!(a[0]["superseded_by"], a[1]["record"]);
    assert_eq!(a[1]["state"], "current");
    let text = ok(&ws, &["ls", "--all-versions"]);
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.contains("a.txt  [superseded]"), "{text}");
    assert!(text.contains("a.txt  [current]"), "{text}");
}

#[test]
fn ls_at_a_checkpoint_shows_the_state_then() {
    let ws = Workspace::new();
    ws.write("a.txt", "version one\n");
    ws.add(&["a.txt"]);
    ws.seal();
    ws.write("a.txt", "version two!\n");
    ws.write("d.txt", "later\n");
    ws.add(&["a.txt", "d.txt"]);
    ok(&ws, &["retract", "a.txt", "--reason", "bad copy"]);
    ws.seal();
    let then = json(&ws, &["ls", "--at", "1", "--json"])["documents"].take();
    assert_eq!(then.as_array().map(Vec::len), Some(1), "{then}");
    assert_eq!(then[0]["size"], 12);
    assert_eq!(then[0]["state"], "current");
    // Now: the second version of a.txt is retracted, so the first is current again.
    let now = json(&ws, &["ls", "--at", "latest", "--json"])["documents"].take();
    let a = by_path(&now, "a.txt");
    assert_eq!(
        (a[0]["size"].clone(), a[0]["state"].clone()),
        (12.into(), "current".into())
    );
    assert_eq!(by_path(&now, "d.txt").len(), 1);
    let (code, _, stderr) = ws.run(&["ls", "--at", "7"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no such checkpoint"), "{stderr}");
    let (code, _, stderr) = ws.run(&["ls", "--at", "newest"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("latest"), "{stderr}");
}

#[test]
fn ls_lists_a_path_whose_every_version_is_retracted() {
    let ws = Workspace::new();
    ws.write("x.txt", "x\n");
    ws.add(&["x.txt"]);
    ok(&ws, &["retract", "x.txt", "--reason", "duplicate"]);
    let list = json(&ws, &["ls", "--json"])["documents"].take();
    assert_eq!(list[0]["state"], "retracted", "{list}");
}

#[test]
fn annotations_and_history_cover_every_version_of_a_path() {
    let ws = Workspace::new();
    let (note, _) = case(&ws);
    let list = json(&ws, &["annotations", "a.txt", "--json"])["annotations"].take();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["id"], note);
    let story = json(&ws, &["history", "a.txt", "--json"]);
    let events: Vec<&str> = story["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        events.iter().filter(|e| **e == "ingested").count(),
        2,
        "{story}"
    );
    assert!(events.contains(&"annotated"), "{story}");
    assert_eq!(story["contents"].as_array().map(Vec::len), Some(2));
    // By digest, one version only: the second has no annotation.
    let current = json(&ws, &["ls", "--json"])["documents"].take();
    let content = by_path(&current, "a.txt")[0]["content"].clone();
    let only = json(
        &ws,
        &[
            "annotations",
            content.as_str().unwrap_or_default(),
            "--json",
        ],
    );
    assert_eq!(
        only["annotations"].as_array().map(Vec::len),
        Some(0),
        "{only}"
    );
}

#[test]
fn show_takes_a_log_number_and_a_path() {
    let ws = Workspace::new();
    case(&ws);
    let first = json(&ws, &["show", "#0", "--json"])["records"][0].take();
    assert_eq!(first["index"], 0);
    assert_eq!(first["kind"], "document");
    let by_path = json(&ws, &["show", "a.txt", "--json"])["records"][0].take();
    assert_eq!(by_path["document"]["size"], 12, "the latest version");
    assert_eq!(by_path["kind"], "document");
    let text = ok(&ws, &["show", "#3"]);
    assert!(text.starts_with("record #3"), "{text}");
    let (code, _, stderr) = ws.run(&["show", "#99"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("#99"), "{stderr}");
    let (code, _, stderr) = ws.run(&["show", "nowhere.txt"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("'nowhere.txt' is not a digest"), "{stderr}");
    // A path that looks like hex is still found as a path.
    ws.write("cafebabe", "menu\n");
    ws.add(&["cafebabe"]);
    assert_eq!(
        json(&ws, &["show", "cafebabe", "--json"])["records"][0].take()["document"]["path"],
        "cafebabe"
    );
}

#[test]
fn show_prints_every_record_kind_in_full() {
    let ws = Workspace::new();
    ws.write("a.txt", "The convoy left at dawn.\n");
    ws.write("b.txt", "Second witness.\n");
    ws.add(&["a.txt", "b.txt"]);
    let b =
        json(&ws, &["show", "b.txt", "--json"])["records"][0].take()["document"]["content"].clone();
    let link = format!("corroborates:{}", b.as_str().unwrap_or_default());
    let note = id(&ok(
        &ws,
        &[
            "annotate",
            "a.txt",
            "--body",
            "Matches the log",
            "--analyst",
            "ana",
            "--quote",
            "convoy",
            "--claim",
            "event=departure",
            "--link",
            &link,
        ],
    ));
    let shown = json(&ws, &["show", &note, "--json"])["records"][0].take();
    let a = &shown["annotation"];
    assert_eq!(a["body"], "Matches the log", "{shown}");
    assert_eq!(a["analyst"], "ana");
    assert_eq!(a["selectors"][0]["type"], "text-quote");
    assert_eq!(a["selectors"][0]["exact"], "convoy");
    assert_eq!(a["claim"]["event"], "departure");
    assert_eq!(a["links"][0]["relation"], "corroborates");
    assert_eq!(a["links"][0]["target"], b);
    let text = ok(&ws, &["show", &note]);
    for expected in [
        "body:",
        "Matches the log",
        "quote: \"convoy\"",
        "event=departure",
        "corroborates sha256:",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }

    let custody = id(&ok(
        &ws,
        &[
            "custody",
            "a.txt",
            "--event",
            "transferred",
            "--actor",
            "bob",
            "--from",
            "field team",
            "--to",
            "lab",
            "--note",
            "sealed bag 7",
        ],
    ));
    let shown = json(&ws, &["show", &custody, "--json"])["records"][0].take();
    let c = &shown["custody"];
    assert_eq!(
        (c["event"].clone(), c["actor"].clone()),
        ("transferred".into(), "bob".into()),
        "{shown}"
    );
    assert_eq!(
        (c["from"].clone(), c["to"].clone()),
        ("field team".into(), "lab".into())
    );
    assert_eq!(c["note"], "sealed bag 7");
    assert_eq!(c["targets"].as_array().map(Vec::len), Some(1));
    let text = ok(&ws, &["show", &custody]);
    assert!(
        text.contains("from:           field team") && text.contains("sealed bag 7"),
        "{text}"
    );

    let retraction = id(&ok(&ws, &["retract", &note, "--reason", "misread the log"]));
    let shown = json(&ws, &["show", &retraction, "--json"])["records"][0].take();
    assert_eq!(shown["retraction"]["reason"], "misread the log", "{shown}");
    assert_eq!(shown["retraction"]["target"], note);
    assert!(ok(&ws, &["show", &retraction]).contains("reason:         misread the log"));

    ok(
        &ws,
        &["key", "generate", "--out", "officer", "--unencrypted"],
    );
    let key = id(&ok(&ws, &["key", "introduce", "--key", "officer.key"]));
    let shown = json(&ws, &["show", &key, "--json"])["records"][0].take();
    assert_eq!(shown["key"]["action"], "introduce", "{shown}");
    assert!(shown["key"]["key"]
        .as_str()
        .unwrap_or_default()
        .starts_with("officer+"));
    assert_eq!(shown["key"]["endorsed"], true);
    assert!(ok(&ws, &["show", &key]).contains("action:         introduce"));
}
