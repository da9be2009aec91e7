//! Audits, driven through the binary: `diff` between versions (checkpoints, archive copies,
//! bundles), consistency proofs, witnesses (cosigning, state across restarts, k of n), and the
//! recipient's checks on `verify` (`--since`, `--pin`, `--witness-trust`). Forks are made
//! honestly: a copy of the archive taken at one checkpoint grows differently and is sealed with
//! the same key, as a signer who rewrites history would do.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::Value;

use evidentia::archive::append::append_records;
use evidentia::archive::query;
use evidentia::archive::Archive;
use evidentia::core::checkpoint::Checkpoint;
use evidentia::core::note::SignedNote;
use evidentia::core::record::Record;

use crate::common::{added, Workspace};

/// Runs the binary and expects exit 0; returns stdout.
fn ok(ws: &Workspace, args: &[&str]) -> String {
    let (code, stdout, stderr) = ws.run(args);
    assert_eq!(code, 0, "evidentia {args:?} failed: {stdout} {stderr}");
    stdout
}

/// Parses stdout as JSON, with the command's output in the panic message if it is not.
fn parse_json(args: &[&str], stdout: &str, stderr: &str) -> Value {
    serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout} {stderr}"))
}

/// `diff FROM TO --json`; returns (exit code, report).
fn diff_json(ws: &Workspace, from: &str, to: &str) -> (i32, Value) {
    let args = ["diff", from, to, "--json"];
    let (code, stdout, stderr) = ws.run(&args);
    (code, parse_json(&args, &stdout, &stderr))
}

/// `diff FROM TO` in human form; returns (exit code, stdout and stderr).
fn diff_text(ws: &Workspace, from: &str, to: &str) -> (i32, String) {
    let (code, stdout, stderr) = ws.run(&["diff", from, to]);
    (code, format!("{stdout}{stderr}"))
}

/// `verify --json --trust signer.pub` with extra arguments; returns (exit code, report).
fn verify_with(ws: &Workspace, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["verify", "--json", "--trust", "signer.pub"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = ws.run(&args);
    (code, parse_json(&args, &stdout, &stderr))
}

/// The `summary` fields of a list of changes in a diff report.
fn summaries(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|c| c["summary"].as_str().expect("summary").to_string())
        .collect()
}

/// Copies a directory as an auditor would (`cp -r`).
fn copy_dir(ws: &Workspace, from: &str, to: &str) {
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(ws.path(from))
        .arg(ws.path(to))
        .status()
        .expect("run cp");
    assert!(status.success(), "cp -r {from} {to}");
}

/// Generates an unencrypted key `PREFIX.key`/`PREFIX.pub`.
fn keygen(ws: &Workspace, prefix: &str) {
    ok(ws, &["key", "generate", "--out", prefix, "--unencrypted"]);
}

/// `name+keyid` of a public key file, as reports name signers.
fn key_label(ws: &Workspace, pub_file: &str) -> String {
    let text = fs::read_to_string(ws.path(pub_file)).expect("read .pub");
    let mut parts = text.trim_end().split('+');
    let name = parts.next().expect("name");
    let id = parts.next().expect("key id");
    format!("{name}+{id}")
}

/// The parsed checkpoint in a checkpoint file.
fn checkpoint_in(path: &Path) -> Checkpoint {
    let text = fs::read_to_string(path).expect("read checkpoint");
    let note = SignedNote::parse(&text).expect("parse note");
    Checkpoint::parse(&note.text).expect("parse checkpoint")
}

/// The files of a directory and their bytes, to show that a refusal changed nothing.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).expect("read file"),
            )
        })
        .collect()
}

/// An archive with checkpoint 1 (a, b: 2 records), 2 (+c: 3) and 3 (+d: 4).
fn three_seals() -> Workspace {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A, 2022-03-09.\n");
    ws.write("case/b.txt", "Statement of witness B, 2022-03-10.\n");
    ws.add(&["case"]);
    ws.seal();
    ws.write("c.txt", "Satellite image notes, 2022-03-11.\n");
    ws.add(&["c.txt"]);
    ws.seal();
    ws.write("d.txt", "Intercepted call transcript, 2022-03-12.\n");
    ws.add(&["d.txt"]);
    ws.seal();
    assert_eq!(ws.log_size(), 4);
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "control: {report}");
    ws
}

/// `three_seals`, plus `fork/`: a copy of the archive taken at checkpoint 1 that then grew
/// differently and was sealed with the same key: checkpoint 2 (3 records: a forged c) and
/// checkpoint 3 (5 records). Both histories agree on records #0 and #1 and part at #2.
fn forked() -> Workspace {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A, 2022-03-09.\n");
    ws.write("case/b.txt", "Statement of witness B, 2022-03-10.\n");
    ws.add(&["case"]);
    ws.seal();
    copy_dir(&ws, "arc", "fork");
    ws.write("c.txt", "Satellite image notes, 2022-03-11.\n");
    ws.add(&["c.txt"]);
    ws.seal();
    ws.write("d.txt", "Intercepted call transcript, 2022-03-12.\n");
    ws.add(&["d.txt"]);
    ws.seal();
    // The rewritten history: same origin, same signer, other records from #2 on.
    ws.write("forged/c.txt", "Satellite image notes: nothing seen.\n");
    ws.write("forged/e.txt", "A statement that was never made.\n");
    ws.write("forged/f.txt", "Another statement that was never made.\n");
    let fork = ["--archive", "fork"];
    ok(&ws, &[&fork[..], &["add", "forged/c.txt"]].concat());
    ok(&ws, &[&fork[..], &["seal", "--key", "signer.key"]].concat());
    ok(
        &ws,
        &[&fork[..], &["add", "forged/e.txt", "forged/f.txt"]].concat(),
    );
    ok(&ws, &[&fork[..], &["seal", "--key", "signer.key"]].concat());
    assert_eq!(
        checkpoint_in(&ws.path("fork/checkpoints/0000000002")).size,
        3
    );
    assert_eq!(
        checkpoint_in(&ws.path("fork/checkpoints/0000000003")).size,
        5
    );
    // Control: each history verifies on its own; only comparing them shows the fork.
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "control: {report}");
    let (code, stdout, stderr) = ws.run(&["--archive", "fork", "verify", "--trust", "signer.pub"]);
    assert_eq!(
        code, 0,
        "control: the fork verifies alone: {stdout} {stderr}"
    );
    ws
}

// ---------------------------------------------------------------------------------------------
// diff: what a later version adds

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

    let (code, report) = diff_json(&ws, "1", "2");
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
        serde_json::json!([first]),
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
        serde_json::json!([key_label(&ws, "second.pub")])
    );
    assert_eq!(a["signers_removed"], serde_json::json!([]));

    let (code, text) = diff_text(&ws, "1", "2");
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
    let (code, report) = diff_json(&ws, "2", "3");
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
        serde_json::json!([key_label(&ws, "second.pub")])
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
    // An unsigned proof that fails shows nothing about the signer: not provable, and no
    // equivocation is alleged.
    let (code, report) = diff_json(&ws, "1", "bundle-bad");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "not-provable", "{report}");
    assert_eq!(report["equivocation"], Value::Null, "{report}");
    let (code, text) = diff_text(&ws, "1", "bundle-bad");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("append-only: NOT PROVABLE"), "{text}");
    assert!(text.contains("does not hold"), "{text}");
    assert!(!text.contains("EQUIVOCATION"), "{text}");
    // The untouched proofs still hold.
    let (code, report) = diff_json(&ws, "2", "bundle-bad");
    assert_eq!(code, 0, "{report}");

    // An older checkpoint after a bundle: the bundle's own proofs show it is a rollback.
    let (code, report) = diff_json(&ws, "bundle", "1");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "violated", "{report}");
    assert!(
        report["detail"].as_str().unwrap().contains("a rollback"),
        "{report}"
    );
    assert_eq!(report["equivocation"], Value::Null, "{report}");

    // Without the proofs, append-only cannot be shown, and nor can a fork.
    json["consistency"] = serde_json::json!([]);
    Workspace::overwrite(&manifest, serde_json::to_vec_pretty(&json).unwrap());
    let (code, report) = diff_json(&ws, "1", "bundle-bad");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "not-provable", "{report}");
    let (_, text) = diff_text(&ws, "1", "bundle-bad");
    assert!(text.contains("append-only: NOT PROVABLE"), "{text}");
    let (code, report) = diff_json(&ws, "bundle-bad", "1");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "violated", "{report}");
    assert!(
        report["detail"].as_str().unwrap().contains("is not shown"),
        "{report}"
    );
    assert_eq!(report["equivocation"], Value::Null, "{report}");
}

// ---------------------------------------------------------------------------------------------
// A rewritten history (a fork signed by the same key)

#[test]
fn diff_catches_a_rewritten_history() {
    let ws = forked();
    let signer = key_label(&ws, "signer.pub");
    let (code, report) = diff_json(&ws, "arc", "fork");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "violated", "{report}");
    let e = &report["equivocation"];
    assert_eq!(e["signed_both"], serde_json::json!([signer]), "{e}");
    assert_eq!(e["first_divergent_leaf"], 2, "{e}");
    assert_eq!(e["first"]["size"], 4);
    assert_eq!(e["second"]["size"], 5);
    // The report carries both signed statements exactly as received.
    assert_eq!(
        e["first"]["note"].as_str().unwrap(),
        fs::read_to_string(ws.path("arc/checkpoints/0000000003")).unwrap()
    );
    assert_eq!(
        e["second"]["note"].as_str().unwrap(),
        fs::read_to_string(ws.path("fork/checkpoints/0000000003")).unwrap()
    );
    let (code, text) = diff_text(&ws, "arc", "fork");
    assert_eq!(code, 1, "{text}");
    for expected in [
        "append-only: VIOLATED",
        "EQUIVOCATION REPORT",
        &format!("Signed both: {signer}"),
        "The histories part at record #2",
        "--- end of report ---",
    ] {
        assert!(text.contains(expected), "missing '{expected}' in: {text}");
    }
    // From an earlier checkpoint, and the other way round (TO smaller, not an earlier version).
    let (code, report) = diff_json(&ws, "2", "fork");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "violated", "{report}");
    assert_eq!(report["equivocation"]["first_divergent_leaf"], 2);
    let (code, report) = diff_json(&ws, "fork", "arc");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "violated", "{report}");
    assert_eq!(
        report["equivocation"]["signed_both"],
        serde_json::json!([signer])
    );
    // Control: the common checkpoint is extended by both.
    let (code, report) = diff_json(&ws, "1", "fork");
    assert_eq!(code, 0, "{report}");
}

#[test]
fn verify_since_catches_a_rewritten_history() {
    let ws = forked();
    // Control: a checkpoint held from the same history is extended.
    let (code, report) = verify_with(&ws, &["--since", "arc/checkpoints/0000000002"]);
    assert_eq!(code, 0, "{report}");
    // The recipient holds the fork's checkpoint 2 (3 records); the archive has other records.
    let (code, report) = verify_with(&ws, &["--since", "fork/checkpoints/0000000002"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["equivocation"],
        "{report}"
    );
    let e = &report["equivocation"];
    assert_eq!(
        e["signed_both"],
        serde_json::json!([key_label(&ws, "signer.pub")]),
        "{e}"
    );
    assert_eq!(e["first"]["size"], 3, "{e}");
    assert_eq!(
        e["first"]["note"].as_str().unwrap(),
        fs::read_to_string(ws.path("fork/checkpoints/0000000002")).unwrap()
    );
    let (code, stdout, stderr) = ws.run(&[
        "verify",
        "--trust",
        "signer.pub",
        "--since",
        "fork/checkpoints/0000000002",
    ]);
    let text = format!("{stdout}{stderr}");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("PROBLEM [equivocation] --since: "), "{text}");
    assert!(text.contains("EQUIVOCATION REPORT"), "{text}");
    // And the fork, held against the real history's checkpoint.
    let (code, stdout, _) = ws.run(&[
        "--archive",
        "fork",
        "verify",
        "--json",
        "--trust",
        "signer.pub",
        "--since",
        "arc/checkpoints/0000000003",
    ]);
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["equivocation"],
        "{report}"
    );
}

/// `witness cosign` with the workspace's witness key and `state`, plus `extra`; returns (exit
/// code, stdout, stderr).
fn cosign(
    ws: &Workspace,
    key: &str,
    state: &str,
    checkpoint: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let mut args = vec![
        "witness",
        "cosign",
        checkpoint,
        "--key",
        key,
        "--state",
        state,
        "--log-trust",
        "signer.pub",
    ];
    args.extend_from_slice(extra);
    ws.run(&args)
}

#[test]
fn witness_refuses_a_rewritten_history() {
    let ws = forked();
    keygen(&ws, "witness");
    let (code, _, stderr) = cosign(
        &ws,
        "witness.key",
        "state",
        "arc/checkpoints/0000000002",
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("first checkpoint seen"), "{stderr}");
    let (code, _, stderr) = cosign(
        &ws,
        "witness.key",
        "state",
        "arc/checkpoints/0000000003",
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let before = snapshot(&ws.path("state"));

    // The fork's newest checkpoint, with the fork itself to compute the proof from.
    let (code, stdout, stderr) = cosign(
        &ws,
        "witness.key",
        "state",
        "fork/checkpoints/0000000003",
        &["--archive", "fork"],
    );
    assert_eq!(code, 1, "{stdout} {stderr}");
    assert!(stdout.is_empty(), "nothing cosigned: {stdout}");
    assert!(stderr.contains("witness refuses to cosign"), "{stderr}");
    assert!(stderr.contains("fork"), "{stderr}");
    assert!(stderr.contains("EQUIVOCATION REPORT"), "{stderr}");
    assert!(
        stderr.contains(&format!("Signed both: {}", key_label(&ws, "signer.pub"))),
        "{stderr}"
    );
    assert_eq!(
        snapshot(&ws.path("state")),
        before,
        "a refusal changed the state"
    );

    // Same size, different root: a second witness that saw the real checkpoint 2.
    let (code, _, stderr) = cosign(
        &ws,
        "witness.key",
        "state2",
        "arc/checkpoints/0000000002",
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let before = snapshot(&ws.path("state2"));
    let (code, _, stderr) = cosign(
        &ws,
        "witness.key",
        "state2",
        "fork/checkpoints/0000000002",
        &["--archive", "fork"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("fork: same size 3"), "{stderr}");
    assert!(stderr.contains("EQUIVOCATION REPORT"), "{stderr}");
    assert_eq!(snapshot(&ws.path("state2")), before);
}

// ---------------------------------------------------------------------------------------------
// Rollbacks: an older version presented as the newest

#[test]
fn rollbacks_are_refused() {
    let ws = Workspace::new();
    ws.write("a.txt", "Statement of witness A.\n");
    ws.add(&["a.txt"]);
    ws.seal();
    copy_dir(&ws, "arc", "old-copy");
    ws.write("b.txt", "Statement of witness B.\n");
    ws.add(&["b.txt"]);
    ws.seal();
    ws.write("c.txt", "Statement of witness C.\n");
    ws.add(&["c.txt"]);
    ws.seal();

    // diff NEW OLD
    let (code, report) = diff_json(&ws, "3", "1");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "violated", "{report}");
    assert!(
        report["detail"].as_str().unwrap().contains("rollback"),
        "{report}"
    );
    assert_eq!(
        report["equivocation"],
        Value::Null,
        "an older version is no fork"
    );
    let (code, text) = diff_text(&ws, "arc", "old-copy");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("append-only: VIOLATED"), "{text}");
    assert!(text.contains("a rollback"), "{text}");

    // verify --since on an older copy
    let held = "arc/checkpoints/0000000003";
    let (code, report) = verify_with(&ws, &["--since", held]);
    assert_eq!(code, 0, "control: {report}");
    let (code, stdout, stderr) = ws.run(&[
        "--archive",
        "old-copy",
        "verify",
        "--json",
        "--trust",
        "signer.pub",
        "--since",
        held,
    ]);
    let report: Value = parse_json(&[], &stdout, &stderr);
    assert_eq!(code, 1, "{report}");
    assert_eq!(Workspace::problem_codes(&report), ["rollback"], "{report}");
    assert_eq!(report["equivocation"], Value::Null);
    let (code, stdout, _) = ws.run(&[
        "--archive",
        "old-copy",
        "verify",
        "--trust",
        "signer.pub",
        "--since",
        held,
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("PROBLEM [rollback] --since: "), "{stdout}");

    // A witness presented an older checkpoint after a newer one.
    keygen(&ws, "witness");
    let (code, _, stderr) = cosign(&ws, "witness.key", "state", held, &[]);
    assert_eq!(code, 0, "{stderr}");
    let before = snapshot(&ws.path("state"));
    let (code, stdout, stderr) = cosign(
        &ws,
        "witness.key",
        "state",
        "arc/checkpoints/0000000001",
        &[],
    );
    assert_eq!(code, 1, "{stdout} {stderr}");
    assert!(stderr.contains("rollback"), "{stderr}");
    assert!(stderr.contains("EQUIVOCATION REPORT"), "{stderr}");
    assert_eq!(snapshot(&ws.path("state")), before);
}

// ---------------------------------------------------------------------------------------------
// Witnesses: memory across restarts, k of n

#[test]
fn witness_state_survives_restarts() {
    let ws = three_seals();
    keygen(&ws, "witness");
    let (code, stdout, stderr) = cosign(
        &ws,
        "witness.key",
        "state",
        "arc/checkpoints/0000000001",
        &["--out", "w1.txt"],
    );
    assert_eq!(code, 0, "{stdout} {stderr}");
    assert!(stderr.contains("at 2 records"), "{stderr}");
    assert!(stderr.contains("first checkpoint seen"), "{stderr}");
    // The state: a lock and the last cosigned checkpoint, exactly as presented.
    let state = snapshot(&ws.path("state"));
    assert_eq!(state.len(), 2, "{:?}", state.keys());
    assert!(state.contains_key("lock"), "{:?}", state.keys());
    let cp1 = fs::read(ws.path("arc/checkpoints/0000000001")).unwrap();
    assert!(
        state
            .iter()
            .any(|(name, bytes)| name.ends_with(".checkpoint") && *bytes == cp1),
        "{:?}",
        state.keys()
    );

    // A new process with the archive computes the proof itself.
    let (code, stdout, stderr) = cosign(
        &ws,
        "witness.key",
        "state",
        "arc/checkpoints/0000000002",
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("extends the 2 records cosigned before"),
        "{stderr}"
    );
    // The cosigned checkpoint goes to standard output: the original plus one line.
    let original = fs::read_to_string(ws.path("arc/checkpoints/0000000002")).unwrap();
    assert!(stdout.starts_with(&original), "{stdout}");
    assert_eq!(
        stdout.lines().count(),
        original.lines().count() + 1,
        "{stdout}"
    );

    // Without an archive, a proof file is needed, and suffices.
    ok(
        &ws,
        &["prove", "consistency", "2", "3", "--out", "p23.json"],
    );
    let mut no_archive = ws.cmd();
    no_archive.env_remove("EVIDENTIA_ARCHIVE").args([
        "witness",
        "cosign",
        "arc/checkpoints/0000000003",
        "--key",
        "witness.key",
        "--state",
        "state",
    ]);
    let out = no_archive.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--proof"), "{stderr}");
    // A proof between other checkpoints is refused.
    ok(
        &ws,
        &["prove", "consistency", "1", "2", "--out", "p12.json"],
    );
    let mut wrong_proof = ws.cmd();
    wrong_proof.env_remove("EVIDENTIA_ARCHIVE").args([
        "witness",
        "cosign",
        "arc/checkpoints/0000000003",
        "--key",
        "witness.key",
        "--state",
        "state",
        "--proof",
        "p12.json",
    ]);
    let out = wrong_proof.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not between the last cosigned checkpoint"),
        "{stderr}"
    );
    // An altered proof file is refused, without alleging a fork, and changes nothing.
    let mut proof: Value = serde_json::from_slice(&fs::read(ws.path("p23.json")).unwrap()).unwrap();
    let hash = proof["proof"][0].as_str().unwrap().to_string();
    let flipped = format!(
        "{}{}",
        if hash.starts_with('f') { "e" } else { "f" },
        &hash[1..]
    );
    proof["proof"][0] = Value::String(flipped);
    ws.write("p23-bad.json", serde_json::to_vec_pretty(&proof).unwrap());
    let before = snapshot(&ws.path("state"));
    let mut bad_proof = ws.cmd();
    bad_proof.env_remove("EVIDENTIA_ARCHIVE").args([
        "witness",
        "cosign",
        "arc/checkpoints/0000000003",
        "--key",
        "witness.key",
        "--state",
        "state",
        "--proof",
        "p23-bad.json",
    ]);
    let out = bad_proof.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("witness refuses to cosign"), "{stderr}");
    assert!(
        stderr.contains("consistency proof file does not show"),
        "{stderr}"
    );
    assert!(!stderr.contains("EQUIVOCATION"), "{stderr}");
    assert_eq!(snapshot(&ws.path("state")), before);

    let mut with_proof = ws.cmd();
    with_proof.env_remove("EVIDENTIA_ARCHIVE").args([
        "witness",
        "cosign",
        "arc/checkpoints/0000000003",
        "--key",
        "witness.key",
        "--state",
        "state",
        "--proof",
        "p23.json",
    ]);
    let out = with_proof.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("extends the 3 records cosigned before"),
        "{stderr}"
    );

    // Cosigning the same checkpoint again is idempotent.
    let before = snapshot(&ws.path("state"));
    for _ in 0..2 {
        let (code, _, stderr) = cosign(
            &ws,
            "witness.key",
            "state",
            "arc/checkpoints/0000000003",
            &[],
        );
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stderr.contains("extends the 4 records cosigned before"),
            "{stderr}"
        );
        assert_eq!(snapshot(&ws.path("state")), before);
    }
    let cp3 = fs::read(ws.path("arc/checkpoints/0000000003")).unwrap();
    assert!(before.values().any(|bytes| *bytes == cp3));
}

/// Flips one base64 character of the last signature line of a checkpoint file, keeping it
/// well-formed: the line still parses, but its signature no longer verifies.
fn forge_last_line(path: &Path) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let last = lines.last_mut().unwrap();
    let at = last.len() - 10;
    let old = last.as_bytes()[at];
    let new = if old == b'A' { 'B' } else { 'A' };
    last.replace_range(at..at + 1, &new.to_string());
    Workspace::overwrite(path, format!("{}\n", lines.join("\n")));
}

#[test]
fn k_of_n_witnesses() {
    let ws = three_seals();
    keygen(&ws, "w1");
    keygen(&ws, "w2");
    let both = format!(
        "{}{}",
        fs::read_to_string(ws.path("w1.pub")).unwrap(),
        fs::read_to_string(ws.path("w2.pub")).unwrap()
    );
    ws.write("both.txt", both);
    ws.write("one.txt", fs::read_to_string(ws.path("w1.pub")).unwrap());
    let latest = "arc/checkpoints/0000000003";
    for w in ["w1", "w2"] {
        let (code, _, stderr) = cosign(
            &ws,
            &format!("{w}.key"),
            &format!("state-{w}"),
            latest,
            &["--out", &format!("{w}.cosigned")],
        );
        assert_eq!(code, 0, "{stderr}");
    }
    // Before collecting, no witness has cosigned the stored checkpoint.
    let (code, report) = verify_with(
        &ws,
        &["--witness-trust", "both.txt", "--require-witnesses", "1"],
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["witnesses-insufficient"]
    );

    let stdout = ok(
        &ws,
        &[
            "seal",
            "--cosigned",
            "w1.cosigned",
            "--cosigned",
            "w2.cosigned",
        ],
    );
    assert!(
        stdout.contains("checkpoint 3: 1 cosignature line(s) added from w1.cosigned"),
        "{stdout}"
    );
    assert!(stdout.contains("from w2.cosigned"), "{stdout}");
    // Collecting again adds nothing.
    let stdout = ok(&ws, &["seal", "--cosigned", "w1.cosigned"]);
    assert!(stdout.contains("0 cosignature line(s) added"), "{stdout}");
    // The archive still verifies as before.
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");

    let (code, report) = verify_with(
        &ws,
        &["--witness-trust", "both.txt", "--require-witnesses", "2"],
    );
    assert_eq!(code, 0, "{report}");
    let cps = report["checkpoints"].as_array().unwrap();
    let mut names: Vec<String> = cps[2]["witnesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, [key_label(&ws, "w1.pub"), key_label(&ws, "w2.pub")]);
    assert_eq!(cps[0]["witnesses"], serde_json::json!([]));
    let (code, stdout, _) = ws.run(&[
        "verify",
        "--trust",
        "signer.pub",
        "--witness-trust",
        "both.txt",
        "--require-witnesses",
        "2",
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("checkpoint 3 cosigned by witnesses: "),
        "{stdout}"
    );

    let (code, report) = verify_with(
        &ws,
        &["--witness-trust", "both.txt", "--require-witnesses", "3"],
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["witnesses-insufficient"]
    );
    assert_eq!(report["problems"][0]["item"], "checkpoint 3");
    let (code, report) = verify_with(
        &ws,
        &["--witness-trust", "one.txt", "--require-witnesses", "2"],
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["witnesses-insufficient"]
    );
    let (code, report) = verify_with(
        &ws,
        &["--witness-trust", "one.txt", "--require-witnesses", "1"],
    );
    assert_eq!(code, 0, "{report}");

    // Bundles carry the cosignatures.
    ok(&ws, &["export", "--out", "bundle", "--all"]);
    let bundle_verify = |trust: &str, k: &str| {
        let args = [
            "verify",
            "bundle",
            "--json",
            "--trust",
            "signer.pub",
            "--witness-trust",
            trust,
            "--require-witnesses",
            k,
        ];
        let (code, stdout, stderr) = ws.run(&args);
        (code, parse_json(&args, &stdout, &stderr))
    };
    let (code, report) = bundle_verify("both.txt", "2");
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["witnesses"].as_array().unwrap().len(), 2, "{report}");
    let (code, report) = bundle_verify("both.txt", "3");
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["witnesses-insufficient"]
    );

    // A forged cosignature line does not count.
    forge_last_line(&ws.checkpoint_path(3));
    let (code, report) = verify_with(
        &ws,
        &["--witness-trust", "both.txt", "--require-witnesses", "2"],
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["witnesses-insufficient"],
        "{report}"
    );
    assert_eq!(
        report["checkpoints"][2]["witnesses"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{report}"
    );
    let (code, report) = verify_with(
        &ws,
        &["--witness-trust", "both.txt", "--require-witnesses", "1"],
    );
    assert_eq!(code, 0, "{report}");
}

// ---------------------------------------------------------------------------------------------
// Consistency proofs and pins

#[test]
fn consistency_proof_files() {
    let ws = forked();
    ok(
        &ws,
        &["prove", "consistency", "1", "3", "--out", "p13.json"],
    );
    let (code, stdout, stderr) = ws.run(&["verify-proof", "p13.json", "--trust", "signer.pub"]);
    assert_eq!(code, 0, "{stdout} {stderr}");
    assert!(stdout.contains("VERIFIED: append-only"), "{stdout}");
    let (code, stdout, _) = ws.run(&[
        "verify-proof",
        "p13.json",
        "--trust",
        "signer.pub",
        "--json",
    ]);
    assert_eq!(code, 0, "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["signers_authenticated"], true);

    let original: Value = serde_json::from_slice(&fs::read(ws.path("p13.json")).unwrap()).unwrap();
    let check_bad = |name: &str, file: &Value| -> Value {
        ws.write(name, serde_json::to_vec_pretty(file).unwrap());
        let (code, stdout, stderr) =
            ws.run(&["verify-proof", name, "--trust", "signer.pub", "--json"]);
        assert_eq!(code, 1, "{name}: {stdout} {stderr}");
        let report: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(report["ok"], false);
        assert!(
            Workspace::problem_codes(&report).contains(&"consistency-invalid".to_string()),
            "{report}"
        );
        let (code, text, _) = ws.run(&["verify-proof", name, "--trust", "signer.pub"]);
        assert_eq!(code, 1);
        assert!(
            text.contains("PROBLEM [consistency-invalid] proof: "),
            "{text}"
        );
        assert!(text.contains("FAILED"), "{text}");
        report
    };

    // A proof hash altered.
    let mut altered = original.clone();
    let hash = altered["proof"][0].as_str().unwrap().to_string();
    let flipped = format!(
        "{}{}",
        if hash.starts_with('f') { "e" } else { "f" },
        &hash[1..]
    );
    altered["proof"][0] = Value::String(flipped);
    check_bad("altered.json", &altered);

    // The 'to' checkpoint swapped for the fork's (signed by the same key, so the signatures
    // hold): the proof no longer links them. The fork was copied at checkpoint 1, so its
    // checkpoint 3 does extend checkpoint 1: a failing proof alleges no equivocation.
    let mut swapped = original.clone();
    swapped["to"] =
        Value::String(fs::read_to_string(ws.path("fork/checkpoints/0000000003")).unwrap());
    let report = check_bad("swapped.json", &swapped);
    assert_eq!(
        Workspace::problem_codes(&report),
        ["consistency-invalid"],
        "only the link fails: {report}"
    );
    assert_eq!(report["equivocation"], Value::Null, "{report}");
    let (_, text, _) = ws.run(&["verify-proof", "swapped.json", "--trust", "signer.pub"]);
    assert!(!text.contains("EQUIVOCATION"), "{text}");

    // Two checkpoints of one size with different roots, both signed by the same key, conflict
    // whatever the proof: the report carries both statements and names the key.
    let mut same_size = original.clone();
    same_size["from"] =
        Value::String(fs::read_to_string(ws.path("arc/checkpoints/0000000002")).unwrap());
    same_size["to"] =
        Value::String(fs::read_to_string(ws.path("fork/checkpoints/0000000002")).unwrap());
    same_size["proof"] = serde_json::json!([]);
    let report = check_bad("same-size.json", &same_size);
    assert_eq!(Workspace::problem_codes(&report), ["consistency-invalid"]);
    assert_eq!(
        report["equivocation"]["signed_both"],
        serde_json::json!([key_label(&ws, "signer.pub")]),
        "{report}"
    );
    let (_, text, _) = ws.run(&["verify-proof", "same-size.json", "--trust", "signer.pub"]);
    assert!(text.contains("EQUIVOCATION REPORT"), "{text}");
    assert!(text.contains("Signed both: signer+"), "{text}");
}

#[test]
fn verify_pin() {
    let ws = three_seals();
    let hash = checkpoint_in(&ws.checkpoint_path(2)).text_hash().to_hex();
    let (code, report) = verify_with(&ws, &["--pin", &hash]);
    assert_eq!(code, 0, "{report}");
    let random = "5f".repeat(32);
    let (code, report) = verify_with(&ws, &["--pin", &random]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["pin-not-found"],
        "{report}"
    );
    let (code, stdout, _) = ws.run(&["verify", "--trust", "signer.pub", "--pin", &random]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("PROBLEM [pin-not-found] checkpoints/: "),
        "{stdout}"
    );
    assert!(stdout.contains(&random), "{stdout}");
    // The pin is the hash of the checkpoint text, not of the file with its signatures.
    let file_hash = evidentia::core::digest::Digest::of(&fs::read(ws.checkpoint_path(2)).unwrap());
    let (code, report) = verify_with(&ws, &["--pin", &file_hash.to_hex()]);
    assert_eq!(code, 1, "{report}");
    // Not hex: bad usage.
    let (code, _, stderr) = ws.run(&["verify", "--pin", "xyz"]);
    assert_eq!(code, 2, "{stderr}");
}
