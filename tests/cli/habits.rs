//! Issue 13, git habits: `log -n`, `--newest-first`, `--path`, `--kind`; `latest` wherever a
//! checkpoint number is taken; the archive found by walking up from the current directory.

use serde_json::Value;

use crate::common::Workspace;

fn ok(ws: &Workspace, args: &[&str]) -> String {
    let (code, stdout, stderr) = ws.run(args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    stdout
}

fn log_json(ws: &Workspace, args: &[&str]) -> Vec<(u64, String)> {
    let mut full = vec!["log", "--json"];
    full.extend_from_slice(args);
    let value: Value = serde_json::from_str(&ok(ws, &full)).expect("JSON");
    value["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap_or(u64::MAX),
                r["kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Records: #0 a.txt, #1 b.txt, #2 custody on a, #3 a.txt again, #4 annotation on b;
/// checkpoint 1 after #2, checkpoint 2 after #4.
fn case(ws: &Workspace) {
    ws.write("a.txt", "one\n");
    ws.write("b.txt", "bee\n");
    ws.add(&["a.txt", "b.txt"]);
    ok(
        ws,
        &["custody", "a.txt", "--event", "received", "--actor", "bob"],
    );
    ws.seal();
    ws.write("a.txt", "two\n");
    ws.add(&["a.txt"]);
    ok(ws, &["annotate", "b.txt", "--body", "on b"]);
    ws.seal();
}

/// The id of the first entry of a JSON list.
fn json_id(stdout: &str) -> String {
    let list: Value = serde_json::from_str(stdout).expect("JSON");
    list["annotations"][0]["id"]
        .as_str()
        .expect("id")
        .to_string()
}

fn indexes(records: &[(u64, String)]) -> Vec<u64> {
    records.iter().map(|(i, _)| *i).collect()
}

#[test]
fn log_limits_orders_and_filters() {
    let ws = Workspace::new();
    case(&ws);
    assert_eq!(indexes(&log_json(&ws, &[])), [0, 1, 2, 3, 4]);
    assert_eq!(indexes(&log_json(&ws, &["-n", "2"])), [3, 4]);
    assert_eq!(
        indexes(&log_json(&ws, &["-n", "2", "--newest-first"])),
        [4, 3]
    );
    assert_eq!(indexes(&log_json(&ws, &["--path", "a.txt"])), [0, 2, 3]);
    assert_eq!(
        indexes(&log_json(&ws, &["--path", "a.txt", "-n", "1"])),
        [3]
    );
    assert_eq!(indexes(&log_json(&ws, &["--kind", "document"])), [0, 1, 3]);
    assert_eq!(
        log_json(&ws, &["--kind", "annotation"]),
        [(4, "annotation".to_string())]
    );
    assert_eq!(
        indexes(&log_json(&ws, &["--path", "b.txt", "--kind", "annotation"])),
        [4]
    );
    assert!(log_json(&ws, &["--path", "nowhere.txt"]).is_empty());
    // A retraction of an annotation on the path is about the path too.
    let note = json_id(&ok(&ws, &["annotations", "b.txt", "--json"]));
    ok(&ws, &["retract", &note, "--reason", "wrong"]);
    assert_eq!(indexes(&log_json(&ws, &["--path", "b.txt"])), [1, 4, 5]);
    assert_eq!(indexes(&log_json(&ws, &["--path", "a.txt"])), [0, 2, 3]);
    let (code, _, stderr) = ws.run(&["log", "--kind", "bogus"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn log_text_keeps_checkpoints_in_place() {
    let ws = Workspace::new();
    case(&ws);
    let lines: Vec<String> = ok(&ws, &["log", "-n", "3"])
        .lines()
        .map(str::to_string)
        .collect();
    let starts: Vec<&str> = lines.iter().map(|l| &l[..l.len().min(5)]).collect();
    // #2, then checkpoint 1 (it covers #2), #3, #4, checkpoint 2.
    assert_eq!(
        starts,
        ["archi", "#2   ", "=== c", "#3   ", "#4   ", "=== c"],
        "{lines:?}"
    );
    assert!(lines[2].contains("checkpoint 1 "), "{lines:?}");
    let newest: Vec<String> = ok(&ws, &["log", "-n", "3", "--newest-first"])
        .lines()
        .map(str::to_string)
        .collect();
    let starts: Vec<&str> = newest.iter().map(|l| &l[..l.len().min(5)]).collect();
    assert_eq!(
        starts,
        ["archi", "=== c", "#4   ", "#3   ", "=== c", "#2   "],
        "{newest:?}"
    );
    let none = ok(&ws, &["log", "--kind", "retraction"]);
    assert!(none.contains("(no record matches)"), "{none}");
}

#[test]
fn latest_names_the_newest_checkpoint_everywhere() {
    let ws = Workspace::new();
    case(&ws);
    let out = ok(
        &ws,
        &[
            "prove",
            "a.txt",
            "--checkpoint",
            "latest",
            "--out",
            "p.json",
        ],
    );
    assert!(out.contains("record #3"), "{out}");
    let proof: Value =
        serde_json::from_slice(&std::fs::read(ws.path("p.json")).expect("proof")).expect("JSON");
    let text = proof.to_string();
    assert!(text.contains("\"checkpoint\""), "{text}");
    ok(
        &ws,
        &["prove", "consistency", "1", "latest", "--out", "c.json"],
    );
    let (code, out, stderr) = ws.run(&["diff", "1", "latest", "--integrity-only"]);
    assert_eq!(code, 3, "{out}{stderr}");
    assert!(out.contains("checkpoint 2"), "{out}");
    ok(
        &ws,
        &[
            "timestamp",
            "request",
            "--checkpoint",
            "latest",
            "--out",
            "t.tsq",
        ],
    );
    ok(
        &ws,
        &[
            "export",
            "--checkpoint",
            "latest",
            "--all",
            "--out",
            "bundle",
        ],
    );
    let (code, _, stderr) = ws.run(&[
        "prove",
        "a.txt",
        "--checkpoint",
        "newest",
        "--out",
        "q.json",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("latest"), "{stderr}");
}

#[test]
fn latest_before_any_checkpoint_says_to_seal() {
    let ws = Workspace::new();
    ws.write("a.txt", "one\n");
    ws.add(&["a.txt"]);
    let (code, _, stderr) = ws.run(&["ls", "--at", "latest"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("evidentia seal"), "{stderr}");
}

#[test]
fn the_archive_is_found_above_the_current_directory() {
    let ws = Workspace::new();
    ws.write("a.txt", "one\n");
    ws.add(&["a.txt"]);
    let deep = ws.archive().join("notes/day1");
    std::fs::create_dir_all(&deep).expect("subdirectory");
    let out = ws
        .cmd()
        .env_remove("EVIDENTIA_ARCHIVE")
        .current_dir(&deep)
        .args(["ls", "--json"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("using the archive at"), "{stderr}");
    assert!(
        stderr.contains(&ws.archive().display().to_string()),
        "names where: {stderr}"
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(list["documents"][0]["path"], "a.txt");

    // --archive (or EVIDENTIA_ARCHIVE) wins, and is not searched upwards.
    let out = ws
        .cmd()
        .env_remove("EVIDENTIA_ARCHIVE")
        .current_dir(&deep)
        .args(["--archive", ".", "ls"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an evidentia archive"));

    // Outside any archive: the usual error, nothing found.
    let out = ws
        .cmd()
        .env_remove("EVIDENTIA_ARCHIVE")
        .args(["ls"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("using the archive at"), "{stderr}");

    // `init` is not redirected into an archive above.
    let out = ws
        .cmd()
        .env_remove("EVIDENTIA_ARCHIVE")
        .current_dir(&deep)
        .args(["init", "inner"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(deep.join("inner/archive.txt").is_file());
}
