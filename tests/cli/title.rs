//! A case has a title (issue 13): `init --name` takes any one-line title and logs it as a
//! signed `case` record; the origin is derived from it (or given with `--origin`); `title`
//! changes it; verify and log show the sealed title and say when a newer one is not sealed.
//! Forgeries: nothing unsigned carries the title, and a title planted in the log after the seal
//! is never shown as sealed.

use std::fs;

use evidentia::core::record::{CaseRecord, Header, Record};
use serde_json::Value;

use crate::common::Workspace;

const TITLE: &str = "UA-BY children transfers — Діти, 2022";

/// A workspace whose archive was created with `--name TITLE` and a signing key.
fn titled(title: &str) -> Workspace {
    let ws = Workspace::bare();
    let (code, stdout, stderr) = ws.run(&["init", "arc", "--name", title]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("case \"{title}\" recorded as #0")),
        "{stdout}"
    );
    let (code, _, stderr) = ws.run(&["key", "generate", "--out", "signer", "--unencrypted"]);
    assert_eq!(code, 0, "{stderr}");
    ws
}

fn origin(ws: &Workspace) -> String {
    let text = fs::read_to_string(ws.archive().join("archive.txt")).expect("archive.txt");
    text.lines()
        .find_map(|l| l.strip_prefix("origin "))
        .expect("origin line")
        .to_string()
}

fn log_json(ws: &Workspace) -> Value {
    let (code, stdout, stderr) = ws.run(&["log", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).expect("log JSON")
}

#[test]
fn a_unicode_title_with_spaces_is_shown_by_verify_log_and_title() {
    let ws = titled(TITLE);
    // The origin keeps today's characters: the title's ASCII slug and a random id.
    let origin = origin(&ws);
    assert!(
        origin.starts_with("evidentia/UA-BY-children-transfers-2022/"),
        "{origin}"
    );
    // Before the first seal the title is said to be unsealed, everywhere.
    let (_, stdout, _) = ws.run(&["log"]);
    assert!(
        stdout.contains(&format!("case \"{TITLE}\" (record #0) is not sealed yet")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("case title \"{TITLE}\"")),
        "{stdout}"
    );
    let (_, report) = ws.verify_json();
    assert_eq!(report["case"]["sealed"], Value::Null, "{report}");
    assert_eq!(report["case"]["unsealed"]["title"], TITLE, "{report}");
    ws.cmd()
        .args(["key", "introduce", "--key", "signer.key"])
        .assert()
        .success();
    ws.seal();
    let (code, text) = ws.verify_text();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("case \"{TITLE}\" (record #0, sealed)")),
        "{text}"
    );
    assert!(text.contains("VERIFIED"), "{text}");
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["case"]["sealed"]["title"], TITLE, "{report}");
    assert_eq!(report["case"]["sealed"]["index"], 0, "{report}");
    assert!(report["case"]["sealed"]["record"]
        .as_str()
        .is_some_and(|r| r.starts_with("sha256:")));
    assert_eq!(report["case"]["unsealed"], Value::Null, "{report}");
    let log = log_json(&ws);
    assert_eq!(log["case"]["sealed"]["title"], TITLE, "{log}");
    assert_eq!(log["records"][0]["kind"], "case", "{log}");
    assert_eq!(log["records"][0]["case"]["title"], TITLE, "{log}");
    let (_, stdout, _) = ws.run(&["title"]);
    assert!(
        stdout.contains(&format!("case \"{TITLE}\" (record #0, sealed)")),
        "{stdout}"
    );
    let (_, stdout, _) = ws.run(&["show", "#0"]);
    assert!(stdout.contains(TITLE), "{stdout}");
    let (_, stdout, _) = ws.run(&["log", "--kind", "case"]);
    assert!(stdout.contains(TITLE), "{stdout}");
}

#[test]
fn an_explicit_origin_is_taken_exactly_and_checked() {
    let ws = Workspace::bare();
    let (code, stdout, stderr) = ws.run(&[
        "init",
        "arc",
        "--origin",
        "example.org/ua-by/7",
        "--name",
        "Ляльки",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("example.org/ua-by/7"), "{stdout}");
    assert_eq!(origin(&ws), "example.org/ua-by/7");
    for bad in ["two words", "", "tab\there"] {
        let (code, _, stderr) = ws.run(&["init", "other", "--origin", bad]);
        assert_eq!(code, 2, "{bad:?}: {stderr}");
        assert!(stderr.contains("--origin"), "{stderr}");
        assert!(!ws.path("other/archive.txt").exists());
    }
    // A title of no ASCII letters still gives a valid origin.
    let (code, _, stderr) = ws.run(&["init", "third", "--name", "Діти"]);
    assert_eq!(code, 0, "{stderr}");
    let text = fs::read_to_string(ws.path("third/archive.txt")).expect("archive.txt");
    assert!(text.contains("origin evidentia/case/"), "{text}");
}

#[test]
fn bad_titles_are_refused_before_anything_is_created() {
    let ws = Workspace::bare();
    let long = "x".repeat(1025);
    for (title, why) in [
        ("", "empty"),
        ("   ", "empty"),
        ("two\nlines", "control character"),
        ("escape \u{1b}[31m red", "control character"),
        (long.as_str(), "at most 1024"),
    ] {
        let (code, _, stderr) = ws.run(&["init", "arc", "--name", title]);
        assert_eq!(code, 2, "{title:?}: {stderr}");
        assert!(stderr.contains("invalid --name"), "{stderr}");
        assert!(stderr.contains(why), "{title:?}: {stderr}");
        assert!(!ws.path("arc").exists(), "{title:?} created an archive");
    }
    let ws = titled("Case A");
    let (code, _, stderr) = ws.run(&["title", "bad\ttitle"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("invalid title"), "{stderr}");
    assert_eq!(ws.log_size(), 1, "a refused title must log nothing");
}

#[test]
fn a_title_change_is_logged_kept_and_shown_once_sealed() {
    let ws = titled("First title");
    ws.cmd()
        .args(["key", "introduce", "--key", "signer.key"])
        .assert()
        .success();
    ws.seal();
    let origin_before = origin(&ws);
    let (code, _, stderr) = ws.run(&["title", "Second title"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("not sealed yet"), "{stderr}");
    // The sealed title stays the one shown as sealed; the new one is announced as unsealed.
    let (_, text) = ws.verify_text();
    assert!(
        text.contains("case \"First title\" (record #0, sealed)"),
        "{text}"
    );
    assert!(
        text.contains("case \"Second title\" (record #2) is not sealed yet"),
        "{text}"
    );
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["case"]["sealed"]["title"], "Second title",
        "{report}"
    );
    assert_eq!(report["case"]["unsealed"], Value::Null, "{report}");
    // History kept; the origin never changes with the title.
    let log = log_json(&ws);
    let titles: Vec<&str> = log["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["case"]["title"].as_str())
        .collect();
    assert_eq!(titles, ["First title", "Second title"]);
    assert_eq!(origin(&ws), origin_before);
}

#[test]
fn nothing_unsigned_carries_the_title_and_a_planted_title_is_never_sealed() {
    let ws = titled("Honest title");
    ws.cmd()
        .args(["key", "introduce", "--key", "signer.key"])
        .assert()
        .success();
    ws.seal();
    // archive.txt holds no title: a title line added there makes it unreadable, not a title.
    let file = ws.archive().join("archive.txt");
    let honest = fs::read_to_string(&file).expect("archive.txt");
    Workspace::overwrite(&file, format!("{honest}title Forged title\n"));
    let (code, stdout, stderr) = ws.run(&["verify", "--trust", "signer.pub"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("archive.txt is damaged"), "{stderr}");
    assert!(!stdout.contains("Forged"), "{stdout}");
    Workspace::overwrite(&file, &honest);
    // A forged `case` record appended to the log after the seal, with a consistent tree: it is
    // shown only as not sealed, never next to the sealed title, and verification says so.
    let forged = Record::Case(Box::new(CaseRecord {
        header: Header::now(),
        title: "Forged title".into(),
    }));
    ws.plant_record(&forged.encode().expect("encode"));
    let (_, text) = ws.verify_text();
    assert!(
        text.contains("case \"Honest title\" (record #0, sealed)"),
        "{text}"
    );
    assert!(
        text.contains("case \"Forged title\" (record #2) is not sealed yet"),
        "{text}"
    );
    assert!(
        !text.contains("\"Forged title\" (record #2, sealed)"),
        "{text}"
    );
    assert!(text.contains("[records-unsealed]"), "{text}");
    // The sealed title record itself replaced (log and tree rewritten to match): the signed
    // root no longer matches, so nothing is verified.
    let ws = titled("Honest title");
    ws.cmd()
        .args(["key", "introduce", "--key", "signer.key"])
        .assert()
        .success();
    ws.seal();
    let bytes = forged.encode().expect("encode");
    let digest = ws.plant_object(&bytes);
    let mut records = ws.record_digests();
    let mut leaves = ws.leaf_hashes();
    records[0] = digest;
    leaves[0] = evidentia::core::merkle::leaf_hash(&bytes);
    ws.rewrite_log(&records, &leaves);
    let (code, report) = ws.verify_json();
    assert_eq!(code, 1, "{report}");
    assert!(
        Workspace::problem_codes(&report).contains(&"root-mismatch".to_string()),
        "{report}"
    );
}

#[test]
fn an_archive_without_a_title_still_verifies_and_says_so() {
    let ws = Workspace::bare();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/archives");
    crate::annotations::keys::copy_tree(&fixture.join("v1-sample"), &ws.path("arc"));
    let trust = fixture.join("v1-sample.trust");
    let (code, stdout, stderr) =
        ws.run(&["verify", "--trust", trust.to_str().expect("UTF-8 path")]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("case title: none recorded"), "{stdout}");
    let (code, stdout, _) = ws.run(&["title"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("none recorded"), "{stdout}");
}

#[test]
fn log_finds_the_title_without_reading_the_whole_log_and_distrusts_a_bad_cache() {
    let ws = titled("Cached title");
    ws.write("a.txt", "a\n");
    ws.write("b.txt", "b\n");
    ws.add(&["a.txt"]);
    let (code, stdout, stderr) = ws.run(&["log"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("case \"Cached title\" (record #0)"),
        "{stdout}"
    );
    // Record #1 becomes unreadable; `log -n 1` after a new record reads neither it nor #0's
    // neighbours again, only what was appended since, and still names the case.
    let doc = ws.record_digests()[1].to_hex();
    ws.add(&["b.txt"]);
    let object = ws.object_path(&doc);
    Workspace::make_writable(&object);
    fs::remove_file(&object).expect("remove record object");
    let (code, stdout, stderr) = ws.run(&["log", "-n", "1"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("case \"Cached title\" (record #0)"),
        "{stdout}"
    );
    // A cache that points elsewhere is not believed: the log is read (and here fails loudly on
    // the missing record) rather than showing a wrong title.
    let cache = ws.archive().join("index/kinds/case");
    let forged_id = ws.record_digests()[2].to_hex();
    Workspace::overwrite(&cache, format!("covered 3\n2 sha256:{forged_id}\n"));
    let (code, _, stderr) = ws.run(&["log", "-n", "1"]);
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("missing"), "{stderr}");
}
