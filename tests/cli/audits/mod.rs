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

mod authenticated;
mod cosigning;
mod diff;
mod forks;
mod proofs;
mod witnesses;

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

/// `diff FROM TO --json --trust signer.pub`; returns (exit code, report).
fn diff_json(ws: &Workspace, from: &str, to: &str) -> (i32, Value) {
    diff_json_trusting(ws, from, to, "signer.pub")
}

/// `diff FROM TO --json --trust TRUST`; returns (exit code, report).
fn diff_json_trusting(ws: &Workspace, from: &str, to: &str, trust: &str) -> (i32, Value) {
    let args = ["diff", from, to, "--json", "--trust", trust];
    let (code, stdout, stderr) = ws.run(&args);
    (code, parse_json(&args, &stdout, &stderr))
}

/// `diff FROM TO --trust signer.pub` in human form; returns (exit code, stdout and stderr).
fn diff_text(ws: &Workspace, from: &str, to: &str) -> (i32, String) {
    let (code, stdout, stderr) = ws.run(&["diff", from, to, "--trust", "signer.pub"]);
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

/// A public key file's signer as JSON reports name signers: `{"name", "key_id"}`.
fn key_signer(ws: &Workspace, pub_file: &str) -> Value {
    let label = key_label(ws, pub_file);
    let (name, key_id) = label.split_once('+').expect("name+keyid");
    serde_json::json!({"name": name, "key_id": key_id})
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
