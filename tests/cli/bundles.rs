//! Hand-over bundles: `export` writes a BagIt bundle of selected documents with inclusion proofs;
//! `verify BUNDLE` checks it offline. Covers the happy path, the custody record of an export,
//! selective disclosure (nothing about an undisclosed document may leak), tar round trips, and
//! hostile bundles, each of which must fail with a named problem, never hang or panic, and never
//! be written to.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use evidentia::bundle::bagit;
use evidentia::core::digest::Digest;

use crate::common::{added, Workspace};

/// The undisclosed document's distinctive content and metadata.
const SECRET: &str = "SECRET-WITNESS-NAME: Olena K., born 1987, Bucha\n";
const SECRET_PATH: &str = "witnesses/identity-of-witness-7.txt";
const SECRET_COLLECTOR: &str = "Collector Quillfeather";
const SECRET_NOTE: &str = "protective-measures-note-x91";
const SECRET_TAG: &str = "protected-witness";
const LINKING_BODY: &str = "corroborated-by-the-protected-witness";

/// Long enough for a debug build on a slow machine; a hang (a followed FIFO) fails instead.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the binary with a time limit; returns (exit code, stdout, stderr). Fails the test on a
/// panic, a signal or a timeout.
fn run(ws: &Workspace, args: &[&str], envs: &[(&str, &Path)]) -> (i32, String, String) {
    let mut cmd = ws.cmd();
    cmd.args(args).timeout(TIMEOUT);
    for (key, value) in envs {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("run evidentia");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "evidentia {args:?} panicked: {stderr}"
    );
    let code = out.status.code().unwrap_or_else(|| {
        panic!(
            "evidentia {args:?} was killed (timeout or signal); stdout: {stdout} stderr: {stderr}"
        )
    });
    (code, stdout, stderr)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temporary path")
}

/// `export` with `args`; expects exit 0 and returns stdout.
fn export(ws: &Workspace, out: &Path, args: &[&str]) -> String {
    let mut all = vec!["export", "--out", path_str(out)];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(ws, &all, &[]);
    assert_eq!(code, 0, "export {args:?} failed: {stdout} {stderr}");
    assert!(out.exists(), "export wrote nothing at {}", out.display());
    stdout
}

/// `export` with `args`; expects a refusal (exit 2), no bundle and no custody record.
fn export_refused(ws: &Workspace, out: &Path, args: &[&str]) -> String {
    let before = ws.log_size();
    let mut all = vec!["export", "--out", path_str(out)];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(ws, &all, &[]);
    assert_eq!(
        code, 2,
        "export {args:?} must be refused; stdout: {stdout} stderr: {stderr}"
    );
    assert!(stderr.contains("error"), "{stderr}");
    assert!(!out.exists(), "a refused export wrote {}", out.display());
    assert_eq!(ws.log_size(), before, "a refused export logged a record");
    stderr
}

/// `verify BUNDLE --json` with `args`; returns (exit code, report).
fn verify_json(ws: &Workspace, bundle: &Path, args: &[&str]) -> (i32, Value) {
    verify_json_env(ws, bundle, args, &[])
}

fn verify_json_env(
    ws: &Workspace,
    bundle: &Path,
    args: &[&str],
    envs: &[(&str, &Path)],
) -> (i32, Value) {
    let mut all = vec!["verify", path_str(bundle), "--json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(ws, &all, envs);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("verify printed no JSON ({e}): {stdout} {stderr}"));
    (code, report)
}

/// Human-readable `verify BUNDLE` with `args`; returns (exit code, stdout and stderr).
fn verify_text(ws: &Workspace, bundle: &Path, args: &[&str]) -> (i32, String) {
    verify_text_env(ws, bundle, args, &[])
}

fn verify_text_env(
    ws: &Workspace,
    bundle: &Path,
    args: &[&str],
    envs: &[(&str, &Path)],
) -> (i32, String) {
    let mut all = vec!["verify", path_str(bundle)];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(ws, &all, envs);
    (code, format!("{stdout}{stderr}"))
}

const TRUST: [&str; 2] = ["--trust", "signer.pub"];

/// The bundle verifies with the workspace key trusted, both ways, and is not written to.
fn assert_bundle_ok(ws: &Workspace, bundle: &Path) -> Value {
    let before = snapshot(bundle);
    let (code, report) = verify_json(ws, bundle, &TRUST);
    assert_eq!(code, 0, "control: the bundle must verify: {report}");
    assert_eq!(report["ok"], true, "{report}");
    assert!(Workspace::problem_codes(&report).is_empty(), "{report}");
    let (code, text) = verify_text(ws, bundle, &TRUST);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("VERIFIED"), "{text}");
    assert_unchanged(bundle, &before);
    report
}

/// Verify (JSON and text, key trusted) exits 1 with a problem `code` for one of `items`, the
/// human output names it, and the bundle is left exactly as it was. Returns all problem codes.
fn assert_bundle_problem(ws: &Workspace, bundle: &Path, code: &str, items: &[&str]) -> Vec<String> {
    assert_bundle_problem_env(ws, bundle, code, items, &[])
}

fn assert_bundle_problem_env(
    ws: &Workspace,
    bundle: &Path,
    code: &str,
    items: &[&str],
    envs: &[(&str, &Path)],
) -> Vec<String> {
    let before = snapshot(bundle);
    let (exit, report) = verify_json_env(ws, bundle, &TRUST, envs);
    assert_eq!(exit, 1, "verify must fail: {report}");
    assert_eq!(report["ok"], false, "{report}");
    let problems = report["problems"].as_array().expect("problems array");
    assert!(
        problems
            .iter()
            .any(|p| p["code"] == code && items.iter().any(|i| p["item"] == *i)),
        "expected problem [{code}] for one of {items:?} in {report}"
    );
    assert!(
        report["proven"].as_array().is_some_and(Vec::is_empty),
        "a failed bundle proves nothing: {report}"
    );
    let (exit, text) = verify_text_env(ws, bundle, &TRUST, envs);
    assert_eq!(exit, 1, "{text}");
    assert!(
        items
            .iter()
            .any(|item| text.contains(&format!("PROBLEM [{code}] {item}: "))),
        "the human report must name one of {items:?} with [{code}]: {text}"
    );
    assert!(text.contains("FAILED"), "{text}");
    assert!(!text.contains("VERIFIED"), "{text}");
    assert_unchanged(bundle, &before);
    Workspace::problem_codes(&report)
}

/// What verify must not change: every entry's kind, bytes (regular files), link target
/// (symlinks) and modification time, directories included.
#[derive(Debug, PartialEq)]
enum Snap {
    File(Vec<u8>, SystemTime),
    Dir(SystemTime),
    Link(PathBuf, SystemTime),
    Other(SystemTime),
}

fn snapshot(root: &Path) -> BTreeMap<PathBuf, Snap> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root).follow_links(false) {
        let entry = entry.expect("walk bundle");
        let meta = fs::symlink_metadata(entry.path()).expect("metadata");
        let mtime = meta.modified().expect("mtime");
        let kind = meta.file_type();
        let snap = if kind.is_file() {
            Snap::File(fs::read(entry.path()).expect("read"), mtime)
        } else if kind.is_dir() {
            Snap::Dir(mtime)
        } else if kind.is_symlink() {
            Snap::Link(fs::read_link(entry.path()).expect("read link"), mtime)
        } else {
            // A FIFO must not be opened here either: nothing would ever write to it.
            Snap::Other(mtime)
        };
        out.insert(entry.path().to_path_buf(), snap);
    }
    out
}

fn assert_unchanged(root: &Path, before: &BTreeMap<PathBuf, Snap>) {
    let after = snapshot(root);
    for (path, snap) in before {
        assert_eq!(
            after.get(path),
            Some(snap),
            "verify changed {}",
            path.display()
        );
    }
    let added: Vec<&PathBuf> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    assert!(added.is_empty(), "verify created {added:?}");
}

/// Every regular payload file under `data/`, as (hex, relative path) pairs.
fn payload_files(bundle: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(bundle.join("data")).follow_links(false) {
        let entry = entry.expect("walk");
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry
            .path()
            .strip_prefix(bundle)
            .expect("inside the bundle")
            .to_str()
            .expect("UTF-8")
            .to_string();
        let bytes = fs::read(entry.path()).expect("read payload");
        out.push((Digest::of(&bytes).to_hex(), relative));
    }
    out
}

/// Rewrites the BagIt manifests, SHA256SUMS and Payload-Oxum to match the payload as it now
/// is, as a careful forger would, so only evidentia's own checks can catch the change.
fn rebag(bundle: &Path) {
    let payload = payload_files(bundle);
    fs::write(
        bundle.join("manifest-sha256.txt"),
        bagit::manifest(&payload),
    )
    .expect("write manifest");
    fs::write(bundle.join("SHA256SUMS"), bagit::sha256sums(&payload)).expect("write sums");
    let bytes: u64 = payload
        .iter()
        .map(|(_, p)| fs::metadata(bundle.join(p)).expect("size").len())
        .sum();
    let info = fs::read_to_string(bundle.join("bag-info.txt")).expect("bag-info");
    let info: String = info
        .lines()
        .map(|line| {
            if line.starts_with("Payload-Oxum:") {
                format!("Payload-Oxum: {bytes}.{}\n", payload.len())
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    fs::write(bundle.join("bag-info.txt"), info).expect("write bag-info");
    retag(bundle);
}

/// Rewrites tagmanifest-sha256.txt for the tag files as they now are.
fn retag(bundle: &Path) {
    let tags: Vec<(String, String)> = [
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha256.txt",
        "SHA256SUMS",
        "VERIFY.txt",
        "report.html",
    ]
    .iter()
    .map(|name| {
        let bytes = fs::read(bundle.join(name)).expect("read tag file");
        (Digest::of(&bytes).to_hex(), name.to_string())
    })
    .collect();
    fs::write(
        bundle.join("tagmanifest-sha256.txt"),
        bagit::manifest(&tags),
    )
    .expect("write tag manifest");
}

fn read_manifest(bundle: &Path) -> Value {
    let text = fs::read_to_string(bundle.join("data/bundle.json")).expect("bundle.json");
    serde_json::from_str(&text).expect("bundle.json is JSON")
}

fn write_manifest(bundle: &Path, manifest: &Value) {
    let text = serde_json::to_vec_pretty(manifest).expect("encode");
    fs::write(bundle.join("data/bundle.json"), text).expect("write bundle.json");
}

/// Three documents sealed in checkpoint 1; a bundle disclosing a.txt and b.txt only, so
/// c.txt's record (index 2) is in the tree but not in the bundle.
fn exported() -> (Workspace, PathBuf, Vec<(String, String)>) {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A, 2022-03-09.\n");
    ws.write("case/b.txt", "Statement of witness B, 2022-03-10.\n");
    ws.write("case/c.txt", "Statement of witness C, 2022-03-11.\n");
    let docs = added(&ws.add(&["case"]));
    assert_eq!(docs.len(), 3, "{docs:?}");
    ws.seal();
    let bundle = ws.path("bundle");
    export(
        &ws,
        &bundle,
        &["--select", "case/a.txt", "--select", "case/b.txt"],
    );
    assert_bundle_ok(&ws, &bundle);
    (ws, bundle, docs)
}

/// The `id` of the disclosed record at leaf `index`.
fn record_id(bundle: &Path, index: u64) -> String {
    read_manifest(bundle)["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["index"] == index)
        .unwrap_or_else(|| panic!("record #{index} is disclosed"))["id"]
        .as_str()
        .expect("id")
        .to_string()
}

/// The SHA-256 of the checkpoint text (up to and including the line before the blank line).
fn checkpoint_text_hash(ws: &Workspace, number: u64) -> String {
    let file = fs::read_to_string(ws.checkpoint_path(number)).expect("checkpoint file");
    let (text, _) = file
        .split_once("\n\n")
        .expect("a blank line before the signatures");
    Digest::of(format!("{text}\n").as_bytes()).to_hex()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_str().expect("string").to_string())
        .collect()
}

#[test]
fn export_all_verifies_with_and_without_trust() {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.write("case/photo.jpg", [0xffu8, 0xd8, 0xff, 0xe0, 0, 1, 2, 3]);
    let docs = added(&ws.add(&["case"]));
    ws.seal();
    let bundle = ws.path("out/bundle");
    fs::create_dir_all(ws.path("out")).expect("mkdir");
    let stdout = export(&ws, &bundle, &["--all", "--recipient", "ICC Registry"]);
    assert!(stdout.contains("2 document(s)"), "{stdout}");
    assert!(stdout.contains("checkpoint 1"), "{stdout}");
    for (_, path) in &docs {
        let copy = fs::read(bundle.join("data/documents").join(path)).expect("document copied");
        assert_eq!(copy, fs::read(ws.path(path)).expect("original"), "{path}");
    }
    // The staging directory is gone.
    let leftovers: Vec<String> = fs::read_dir(ws.path("out"))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name != "bundle")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let report = assert_bundle_ok(&ws, &bundle);
    assert_eq!(report["signers_authenticated"], true, "{report}");
    let proven = strings(&report["proven"]);
    assert!(
        proven.iter().any(|p| p.contains("checkpoint 1")),
        "{proven:?}"
    );
    assert!(
        proven
            .iter()
            .any(|p| p.contains("signed by signer") && p.contains("trust file")),
        "{proven:?}"
    );
    assert_eq!(report["documents"].as_array().expect("documents").len(), 2);
    let (_, text) = verify_text(&ws, &bundle, &TRUST);
    for (hex, path) in &docs {
        assert!(text.contains(path.as_str()), "{text}");
        assert!(text.contains(hex.as_str()), "{text}");
    }

    // Without --trust: still intact and proven in the tree, but who signed is not proven.
    let (code, report) = verify_json(&ws, &bundle, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["signers_authenticated"], false, "{report}");
    let not_proven = strings(&report["not_proven"]);
    assert!(
        not_proven
            .iter()
            .any(|p| p.contains("who signed") && p.contains("--trust")),
        "{not_proven:?}"
    );
    assert!(
        !strings(&report["proven"])
            .iter()
            .any(|p| p.contains("signed by")),
        "{report}"
    );
    let (code, text) = verify_text(&ws, &bundle, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("NOT PROVEN: who signed"), "{text}");

    // Pinning the checkpoint: the hash from the seal's checkpoint file is the one verify shows.
    let pin = checkpoint_text_hash(&ws, 1);
    assert_eq!(
        report["checkpoint"]["text_sha256"],
        pin.as_str(),
        "{report}"
    );
    let (code, pinned) = verify_json(
        &ws,
        &bundle,
        &["--trust", "signer.pub", "--checkpoint-hash", &pin],
    );
    assert_eq!(code, 0, "{pinned}");
    assert!(
        strings(&pinned["proven"])
            .iter()
            .any(|p| p.contains("--checkpoint-hash")),
        "{pinned}"
    );
    let mut wrong = pin.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).expect("hex");
    let (code, report) = verify_json(
        &ws,
        &bundle,
        &["--trust", "signer.pub", "--checkpoint-hash", &wrong],
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        vec!["checkpoint-pin-mismatch"],
        "{report}"
    );
    let (code, text) = verify_text(&ws, &bundle, &["--checkpoint-hash", &wrong]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("PROBLEM [checkpoint-pin-mismatch] data/checkpoint: "),
        "{text}"
    );
    // A malformed pin is bad usage.
    let (code, _, stderr) = run(
        &ws,
        &["verify", path_str(&bundle), "--checkpoint-hash", "abc"],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");

    // One signer cannot meet --require 2.
    let (code, report) = verify_json(&ws, &bundle, &["--trust", "signer.pub", "--require", "2"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ok"], false);
    assert!(
        report["problems"]
            .as_array()
            .expect("problems")
            .iter()
            .any(|p| p["item"] == "checkpoint 1"),
        "{report}"
    );
    let (code, text) = verify_text(&ws, &bundle, &["--trust", "signer.pub", "--require", "2"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("checkpoint 1: "), "{text}");

    // A bundle is never written over.
    let (code, _, stderr) = run(&ws, &["export", "--out", path_str(&bundle), "--all"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
}

#[test]
fn export_is_logged_as_custody_event() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    ws.write("b.txt", "Witness B.\n");
    ws.add(&["a.txt", "b.txt"]);
    ws.seal();
    let before = ws.log_size();
    let stdout = export(
        &ws,
        &ws.path("bundle"),
        &[
            "--select",
            "a.txt",
            "--recipient",
            "ICC Registry",
            "--actor",
            "Analyst Nine",
        ],
    );
    assert!(stdout.contains("1 document(s)"), "{stdout}");
    assert_eq!(ws.log_size(), before + 1, "the export appends one record");

    let (code, log, stderr) = run(&ws, &["log", "--json"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let log: Value = serde_json::from_str(&log).expect("log JSON");
    let last = log["records"]
        .as_array()
        .and_then(|r| r.last())
        .unwrap_or_else(|| panic!("log lists records: {log}"));
    assert_eq!(last["kind"], "custody", "{log}");

    let (code, history, stderr) = run(&ws, &["history", "a.txt", "--json"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let history: Value = serde_json::from_str(&history).expect("history JSON");
    let exported: Vec<&Value> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["event"] == "exported")
        .collect();
    assert_eq!(exported.len(), 1, "{history}");
    let detail = exported[0]["detail"].as_str().expect("detail");
    assert!(detail.contains("ICC Registry"), "{detail}");
    assert!(detail.contains("Analyst Nine"), "{detail}");
    assert_eq!(exported[0]["record"], last["id"], "{history}");
    // Only the exported document's history shows it.
    let (_, history, _) = run(&ws, &["history", "b.txt", "--json"], &[]);
    assert!(!history.contains("\"exported\""), "{history}");

    // The archive with its new custody record still verifies, and so does the bundle.
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert_bundle_ok(&ws, &ws.path("bundle"));
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
}

#[test]
fn selective_disclosure_leaks_nothing_about_undisclosed_documents() {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.write("case/b.txt", "Statement of witness B.\n");
    ws.write(SECRET_PATH, SECRET);
    let public = added(&ws.add(&["case", "--tag", "public"]));
    let secret = added(&ws.add(&[
        "witnesses",
        "--collector",
        SECRET_COLLECTOR,
        "--note",
        SECRET_NOTE,
        "--tag",
        SECRET_TAG,
    ]));
    assert_eq!(public.len(), 2);
    assert_eq!(secret[0].1, SECRET_PATH);
    let secret_hex = secret[0].0.clone();
    // A harmless annotation and custody event on a.txt are disclosed; the ones naming the
    // secret document are withheld.
    run_ok(
        &ws,
        &["annotate", "case/a.txt", "--body", "consistent account"],
    );
    run_ok(
        &ws,
        &[
            "annotate",
            "case/a.txt",
            "--body",
            LINKING_BODY,
            "--link",
            &format!("corroborates:{}", &secret_hex[..16]),
        ],
    );
    run_ok(
        &ws,
        &[
            "custody",
            "case/a.txt",
            "--event",
            "transferred",
            "--actor",
            "Courier 7",
        ],
    );
    run_ok(
        &ws,
        &[
            "custody",
            "case/a.txt",
            SECRET_PATH,
            "--event",
            "transferred",
            "--actor",
            "Courier 8",
            "--note",
            "bag-of-both-items",
        ],
    );
    ws.seal();
    let sealed = ws.log_size();
    let secret_record = ws
        .record_digests()
        .iter()
        .map(Digest::to_hex)
        .nth(2)
        .expect("the secret's record is third");

    let bundle = ws.path("bundle");
    let stdout = export(
        &ws,
        &bundle,
        &["--select", "case/a.txt", "--select", &public[1].0[..12]],
    );
    assert!(stdout.contains("2 document(s)"), "{stdout}");
    assert!(
        stdout.contains("withheld") && stdout.contains("1 annotation(s), 1 custody event(s)"),
        "{stdout}"
    );
    let manifest = read_manifest(&bundle);
    assert_eq!(
        manifest["withheld"],
        serde_json::json!({"annotations": 1, "custody_events": 1, "retractions": 0}),
        "{manifest}"
    );
    let kinds: Vec<&str> = manifest["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        ["document", "document", "annotation", "custody"],
        "{manifest}"
    );

    // Nothing about the undisclosed document, in any file of the bundle.
    let forbidden = [
        SECRET.trim_end(),
        "SECRET-WITNESS-NAME",
        SECRET_PATH,
        "identity-of-witness-7",
        SECRET_COLLECTOR,
        SECRET_NOTE,
        SECRET_TAG,
        LINKING_BODY,
        "bag-of-both-items",
        "Courier 8",
        &secret_hex,
        &secret_hex.to_uppercase(),
        &secret_record,
    ];
    let walked = walkdir::WalkDir::new(&bundle)
        .into_iter()
        .filter(|e| e.as_ref().expect("walk").file_type().is_file())
        .count();
    assert!(walked >= 10, "walked only {walked} files");
    for needle in forbidden {
        let found = files_revealing(&bundle, needle);
        assert!(found.is_empty(), "'{needle}' is revealed by {found:?}");
    }
    // The control: the same search finds what was disclosed, in documents and in records.
    for needle in [
        "Statement of witness A.",
        public[0].0.as_str(),
        "consistent account",
        "Courier 7",
    ] {
        assert!(
            !files_revealing(&bundle, needle).is_empty(),
            "the search misses disclosed '{needle}'"
        );
    }
    assert!(bundle.join("report.html").is_file());

    // It verifies; the undisclosed records still count in the tree.
    let report = assert_bundle_ok(&ws, &bundle);
    assert_eq!(manifest["tree_size"], sealed, "{manifest}");
    assert_eq!(report["checkpoint"]["size"], sealed, "{report}");
    assert_eq!(report["records_checked"], 4, "{report}");
    let undisclosed = sealed - 4;
    assert!(
        strings(&report["not_proven"])
            .iter()
            .any(|p| p.contains(&format!("{undisclosed} undisclosed record(s)"))),
        "{report}"
    );
    let exported: Vec<&str> = report["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["path"].as_str().expect("path"))
        .collect();
    assert_eq!(exported, ["case/a.txt", "case/b.txt"], "{report}");
}

/// The files under `root` whose name or bytes contain `needle`.
fn files_revealing(root: &Path, needle: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.expect("walk");
        let in_name = entry.path().to_string_lossy().contains(needle);
        let in_bytes = entry.file_type().is_file()
            && fs::read(entry.path())
                .expect("read")
                .windows(needle.len())
                .any(|w| w == needle.as_bytes());
        if in_name || in_bytes {
            out.push(entry.path().to_path_buf());
        }
    }
    out
}

fn run_ok(ws: &Workspace, args: &[&str]) -> String {
    let (code, stdout, stderr) = run(ws, args, &[]);
    assert_eq!(code, 0, "evidentia {args:?} failed: {stderr}");
    stdout
}

#[test]
fn selection_by_tag_and_refused_selections() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    ws.write("b.txt", "Witness B.\n");
    ws.write("c.txt", "Witness C.\n");
    ws.add(&["a.txt", "--tag", "deportation"]);
    ws.add(&["b.txt", "--tag", "deportation", "--tag", "children"]);
    ws.add(&["c.txt", "--tag", "shelling"]);
    ws.seal();

    let bundle = ws.path("tagged");
    export(&ws, &bundle, &["--select", "tag:deportation"]);
    let manifest = read_manifest(&bundle);
    let paths: Vec<&str> = manifest["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["path"].as_str().expect("path"))
        .collect();
    assert_eq!(paths, ["a.txt", "b.txt"], "{manifest}");
    assert!(!bundle.join("data/documents/c.txt").exists());
    assert_bundle_ok(&ws, &bundle);

    // Two selections that overlap disclose each document once.
    let both = ws.path("both");
    export(
        &ws,
        &both,
        &[
            "--select",
            "tag:children",
            "--select",
            "b.txt",
            "--select",
            "c.txt",
        ],
    );
    let manifest = read_manifest(&both);
    assert_eq!(
        manifest["documents"].as_array().expect("documents").len(),
        2,
        "{manifest}"
    );
    assert_bundle_ok(&ws, &both);

    let out = ws.path("refused");
    let stderr = export_refused(&ws, &out, &[]);
    assert!(stderr.contains("nothing selected"), "{stderr}");
    let stderr = export_refused(&ws, &out, &["--select", "tag:no-such-tag"]);
    assert!(stderr.contains("tag:no-such-tag"), "{stderr}");
    export_refused(&ws, &out, &["--select", "no/such/file.txt"]);
    export_refused(&ws, &out, &["--checkpoint", "9", "--all"]);
    // A document added after the seal is not in the checkpoint.
    ws.write("d.txt", "Witness D, not sealed yet.\n");
    ws.add(&["d.txt", "--tag", "late"]);
    let stderr = export_refused(&ws, &out, &["--select", "d.txt"]);
    assert!(stderr.contains("d.txt"), "{stderr}");
    export_refused(&ws, &out, &["--select", "tag:late"]);
    // Sealed in checkpoint 2 but not in checkpoint 1.
    ws.seal();
    export_refused(&ws, &out, &["--checkpoint", "1", "--select", "d.txt"]);
    let second = ws.path("second");
    export(&ws, &second, &["--checkpoint", "2", "--select", "d.txt"]);
    assert_bundle_ok(&ws, &second);
}

#[test]
fn tar_round_trips() {
    let (ws, bundle, _) = exported();
    let tar_file = ws.path("bundle.tar");
    export(&ws, &tar_file, &["--all", "--format", "tar"]);
    let leftovers: Vec<String> = fs::read_dir(ws.path(""))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".evidentia-export") || name.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let report = assert_bundle_ok(&ws, &tar_file);
    assert_eq!(report["documents"].as_array().expect("documents").len(), 3);

    // The directory bundle, packed and unpacked with the system tar, still verifies.
    let packed = ws.path("system.tar");
    let status = std::process::Command::new("tar")
        .arg("-cf")
        .arg(&packed)
        .arg("-C")
        .arg(&bundle)
        .arg(".")
        .status()
        .expect("run tar");
    assert!(status.success());
    let copy = ws.path("copy");
    fs::create_dir(&copy).expect("mkdir");
    let status = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&packed)
        .arg("-C")
        .arg(&copy)
        .status()
        .expect("run tar");
    assert!(status.success());
    assert_bundle_ok(&ws, &copy);
    // The tar file the system tool made verifies too (its entries start with "./").
    assert_bundle_ok(&ws, &packed);

    // A damaged tar fails; a truncated one is unreadable or fails, never passes.
    let mut bytes = fs::read(&tar_file).expect("read tar");
    let at = bytes
        .windows(11)
        .position(|w| w == b"witness A, ")
        .expect("document bytes in the tar");
    bytes[at] ^= 0x01;
    let damaged = ws.path("damaged.tar");
    fs::write(&damaged, &bytes).expect("write");
    assert_bundle_problem(&ws, &damaged, "content-corrupt", &["case/a.txt"]);
    let truncated = ws.path("truncated.tar");
    fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let (code, stdout, stderr) = run(&ws, &["verify", path_str(&truncated)], &[]);
    assert!(code == 1 || code == 2, "{code}: {stdout} {stderr}");
}

// Hostile bundles.

#[test]
fn manifest_path_with_parent_components() {
    let (ws, bundle, _) = exported();
    ws.write("outside.txt", "not evidence\n");
    let hex = Digest::of(b"not evidence\n").to_hex();
    let mut manifest = fs::read_to_string(bundle.join("manifest-sha256.txt")).expect("read");
    manifest.push_str(&format!("{hex}  data/../../outside.txt\n"));
    fs::write(bundle.join("manifest-sha256.txt"), manifest).expect("write");
    retag(&bundle);
    assert_bundle_problem(&ws, &bundle, "unsafe-path", &["data/../../outside.txt"]);
}

#[test]
fn manifest_with_absolute_path() {
    let (ws, bundle, _) = exported();
    let outside = ws.write("outside.txt", "not evidence\n");
    let hex = Digest::of(b"not evidence\n").to_hex();
    let absolute = path_str(&outside).to_string();
    let mut manifest = fs::read_to_string(bundle.join("manifest-sha256.txt")).expect("read");
    manifest.push_str(&format!("{hex}  {absolute}\n"));
    fs::write(bundle.join("manifest-sha256.txt"), manifest).expect("write");
    retag(&bundle);
    assert_bundle_problem(&ws, &bundle, "unsafe-path", &[&absolute]);
}

#[cfg(unix)]
#[test]
fn symlink_in_payload_is_refused_and_not_followed() {
    let (ws, bundle, _) = exported();
    let document = bundle.join("data/documents/case/a.txt");
    let original = fs::read(&document).expect("read");
    // Same bytes outside the bundle: following the link would make everything match.
    let outside = ws.write("outside/a.txt", &original);
    fs::remove_file(&document).expect("remove");
    std::os::unix::fs::symlink(&outside, &document).expect("symlink");
    assert_bundle_problem(&ws, &bundle, "unsafe-entry", &["data/documents/case/a.txt"]);
    assert_eq!(fs::read(&outside).expect("read"), original);

    // A link to a FIFO outside: following it would block forever.
    let fifo = ws.path("outside/fifo");
    mkfifo(&fifo);
    fs::remove_file(&document).expect("remove");
    std::os::unix::fs::symlink(&fifo, &document).expect("symlink");
    assert_bundle_problem(&ws, &bundle, "unsafe-entry", &["data/documents/case/a.txt"]);

    // A link to a directory outside is not walked into.
    ws.write("outside/dir/planted.txt", "planted\n");
    std::os::unix::fs::symlink(ws.path("outside/dir"), bundle.join("data/linked"))
        .expect("symlink");
    let codes = assert_bundle_problem(&ws, &bundle, "unsafe-entry", &["data/linked"]);
    assert!(
        !codes.contains(&"unlisted-payload".to_string()),
        "{codes:?}"
    );
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

#[cfg(unix)]
#[test]
fn fifo_in_payload_is_refused_without_blocking() {
    let (ws, bundle, _) = exported();
    mkfifo(&bundle.join("data/extra-fifo"));
    assert_bundle_problem(&ws, &bundle, "unsafe-entry", &["data/extra-fifo"]);

    // In place of a listed document: opening it to hash it would block.
    let document = bundle.join("data/documents/case/b.txt");
    fs::remove_file(&document).expect("remove");
    mkfifo(&document);
    assert_bundle_problem(&ws, &bundle, "unsafe-entry", &["data/documents/case/b.txt"]);
}

#[cfg(unix)]
#[test]
fn fifo_in_place_of_tag_files_and_manifest_is_refused_without_blocking() {
    for name in [
        "data/bundle.json",
        "data/checkpoint",
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha256.txt",
        "SHA256SUMS",
        "tagmanifest-sha256.txt",
    ] {
        let (ws, bundle, _) = exported();
        fs::remove_file(bundle.join(name)).expect("remove");
        mkfifo(&bundle.join(name));
        assert_bundle_problem(&ws, &bundle, "unsafe-entry", &[name]);
    }
}

#[test]
fn payload_names_differing_only_in_case() {
    let (ws, bundle, _) = exported();
    let lower = bundle.join("data/documents/case/a.txt");
    let upper = bundle.join("data/documents/case/A.txt");
    if upper.exists() {
        // A case-insensitive file system cannot hold both names.
        return;
    }
    fs::write(&upper, "A different statement.\n").expect("write");
    assert!(lower.exists());
    rebag(&bundle);
    assert_bundle_problem(
        &ws,
        &bundle,
        "case-collision",
        &["data/documents/case/a.txt", "data/documents/case/A.txt"],
    );
}

/// Adds `bytes` as a disclosed record at the undisclosed leaf index 2, listing it in
/// bundle.json and the bag. Returns the problem item.
fn plant_disclosed_record(bundle: &Path, bytes: &[u8]) -> String {
    let id = Digest::of(bytes).to_hex();
    fs::write(bundle.join(format!("data/records/{id}.cbor")), bytes).expect("write record");
    let mut manifest = read_manifest(bundle);
    let proof = manifest["records"][0]["proof"].clone();
    manifest["records"]
        .as_array_mut()
        .expect("records")
        .push(serde_json::json!({"index": 2, "id": id, "kind": "document", "proof": proof}));
    write_manifest(bundle, &manifest);
    rebag(bundle);
    format!("record #2 ({id})")
}

#[test]
fn oversized_record_is_refused() {
    let (ws, bundle, _) = exported();
    // A CBOR byte string of just over 1 MiB.
    let len: u32 = (1 << 20) + 16;
    let mut bytes = vec![0x5a];
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.resize(5 + len as usize, b'x');
    let item = plant_disclosed_record(&bundle, &bytes);
    let codes = assert_bundle_problem(&ws, &bundle, "record-unreadable", &[&item]);
    assert!(!codes.contains(&"record-corrupt".to_string()), "{codes:?}");
}

#[test]
fn deeply_nested_record_is_refused() {
    let (ws, bundle, _) = exported();
    // 100,000 nested one-element arrays: a recursive decoder without a limit overflows.
    let mut bytes = vec![0x81u8; 100_000];
    bytes.push(0x00);
    let item = plant_disclosed_record(&bundle, &bytes);
    assert_bundle_problem(&ws, &bundle, "record-invalid", &[&item]);
    // Nesting hidden inside a map that looks like a record.
    let (ws, bundle, _) = exported();
    let mut bytes = vec![0xa1u8, 0x00];
    bytes.extend(std::iter::repeat_n(0x81u8, 5000));
    bytes.push(0x00);
    let item = plant_disclosed_record(&bundle, &bytes);
    assert_bundle_problem(&ws, &bundle, "record-invalid", &[&item]);
}

#[test]
fn sha256sums_disagreeing_with_the_manifest() {
    let (ws, bundle, _) = exported();
    let sums = fs::read_to_string(bundle.join("SHA256SUMS")).expect("read");
    let line = sums.lines().next().expect("a line");
    let flipped = format!(
        "{}{}",
        if line.starts_with('0') { '1' } else { '0' },
        &line[1..]
    );
    fs::write(bundle.join("SHA256SUMS"), sums.replacen(line, &flipped, 1)).expect("write");
    retag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "checksums-disagree", &["SHA256SUMS"]);
    assert_eq!(codes, vec!["checksums-disagree"]);
    // A file dropped from SHA256SUMS only.
    let (ws, bundle, _) = exported();
    let sums = fs::read_to_string(bundle.join("SHA256SUMS")).expect("read");
    let fewer: String = sums.lines().skip(1).map(|l| format!("{l}\n")).collect();
    fs::write(bundle.join("SHA256SUMS"), fewer).expect("write");
    retag(&bundle);
    assert_bundle_problem(&ws, &bundle, "checksums-disagree", &["SHA256SUMS"]);
}

#[test]
fn unlisted_payload_file() {
    let (ws, bundle, _) = exported();
    fs::write(bundle.join("data/extra.txt"), "slipped in\n").expect("write");
    let codes = assert_bundle_problem(&ws, &bundle, "unlisted-payload", &["data/extra.txt"]);
    assert_eq!(codes, vec!["unlisted-payload"]);
    // A record file nobody lists, even with the bag updated to include it.
    let (ws, bundle, _) = exported();
    let bytes = b"\xa0";
    let id = Digest::of(bytes).to_hex();
    let name = format!("data/records/{id}.cbor");
    fs::write(bundle.join(&name), bytes).expect("write");
    rebag(&bundle);
    assert_bundle_problem(&ws, &bundle, "unlisted-record", &[&name]);
}

#[test]
fn checkpoint_and_proofs_from_another_tree() {
    let (ws, bundle, _) = exported();
    // Another archive, same key, different records.
    let other = Workspace::new();
    fs::copy(ws.path("signer.key"), other.path("signer.key")).expect("copy key");
    fs::copy(ws.path("signer.pub"), other.path("signer.pub")).expect("copy key");
    other.write("case/a.txt", "Statement of witness A, 2022-03-09.\n");
    other.write("case/x.txt", "Something else entirely.\n");
    other.add(&["case"]);
    other.seal();
    let other_bundle = other.path("bundle");
    export(&other, &other_bundle, &["--all"]);

    // Their checkpoint in our bundle.
    fs::copy(
        other_bundle.join("data/checkpoint"),
        bundle.join("data/checkpoint"),
    )
    .expect("copy");
    rebag(&bundle);
    let first = record_id(&bundle, 0);
    let codes = assert_bundle_problem(&ws, &bundle, "checkpoint-mismatch", &["data/checkpoint"]);
    assert!(codes.contains(&"proof-invalid".to_string()), "{codes:?}");

    // A careful forger also makes bundle.json agree with the checkpoint: the proofs fail.
    let theirs = read_manifest(&other_bundle);
    let mut ours = read_manifest(&bundle);
    for field in ["origin", "checkpoint", "tree_size"] {
        ours[field] = theirs[field].clone();
    }
    write_manifest(&bundle, &ours);
    rebag(&bundle);
    assert_bundle_problem(
        &ws,
        &bundle,
        "proof-invalid",
        &[&format!("record #0 ({first})")],
    );

    // Their proof for our record, in our tree.
    let (ws, bundle, _) = exported();
    let mut ours = read_manifest(&bundle);
    ours["records"][0]["proof"] = theirs["records"][1]["proof"].clone();
    write_manifest(&bundle, &ours);
    rebag(&bundle);
    let id = record_id(&bundle, 0);
    let codes = assert_bundle_problem(
        &ws,
        &bundle,
        "proof-invalid",
        &[&format!("record #0 ({id})")],
    );
    assert_eq!(codes, vec!["proof-invalid"]);

    // The tree size altered in bundle.json.
    let (ws, bundle, _) = exported();
    let mut ours = read_manifest(&bundle);
    ours["tree_size"] = serde_json::json!(2);
    write_manifest(&bundle, &ours);
    rebag(&bundle);
    assert_bundle_problem(&ws, &bundle, "checkpoint-mismatch", &["data/checkpoint"]);

    // A claimed index beyond the tree.
    let (ws, bundle, _) = exported();
    let mut ours = read_manifest(&bundle);
    ours["records"][1]["index"] = serde_json::json!(7);
    write_manifest(&bundle, &ours);
    rebag(&bundle);
    let id = record_id(&bundle, 7);
    assert_bundle_problem(
        &ws,
        &bundle,
        "proof-invalid",
        &[&format!("record #7 ({id})")],
    );
}

#[test]
fn flipped_byte_in_a_document() {
    let (ws, bundle, _) = exported();
    let document = bundle.join("data/documents/case/a.txt");
    let mut bytes = fs::read(&document).expect("read");
    bytes[3] ^= 0x01;
    fs::write(&document, &bytes).expect("write");
    let codes = assert_bundle_problem(
        &ws,
        &bundle,
        "payload-corrupt",
        &["data/documents/case/a.txt"],
    );
    assert!(codes.contains(&"content-corrupt".to_string()), "{codes:?}");
    assert_bundle_problem(&ws, &bundle, "content-corrupt", &["case/a.txt"]);
    // With the bag rewritten to match, the record still catches it.
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "content-corrupt", &["case/a.txt"]);
    assert_eq!(codes, vec!["content-corrupt"]);
    let (_, report) = verify_json(&ws, &bundle, &TRUST);
    let doc = report["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .find(|d| d["path"] == "case/a.txt")
        .expect("listed");
    assert_eq!(doc["ok"], false, "{report}");
}

#[test]
fn record_file_swapped_for_another_record() {
    let (ws, bundle, _) = exported();
    let first = record_id(&bundle, 0);
    let second = record_id(&bundle, 1);
    let other = fs::read(bundle.join(format!("data/records/{second}.cbor"))).expect("read");
    fs::write(bundle.join(format!("data/records/{first}.cbor")), other).expect("write");
    rebag(&bundle);
    let item = format!("record #0 ({first})");
    let codes = assert_bundle_problem(&ws, &bundle, "record-corrupt", &[&item]);
    assert!(
        codes.contains(&"document-mismatch".to_string()),
        "{codes:?}"
    );

    // Renamed to match, and bundle.json pointing at it: b's record cannot stand at a's index.
    let (ws, bundle, _) = exported();
    let first = record_id(&bundle, 0);
    let second = record_id(&bundle, 1);
    let mut manifest = read_manifest(&bundle);
    manifest["records"][0]["id"] = serde_json::json!(second);
    manifest["records"][1]["index"] = serde_json::json!(2);
    manifest["documents"][0]["record"] = serde_json::json!(second);
    write_manifest(&bundle, &manifest);
    fs::remove_file(bundle.join(format!("data/records/{first}.cbor"))).expect("remove");
    rebag(&bundle);
    assert_bundle_problem(
        &ws,
        &bundle,
        "proof-invalid",
        &[
            &format!("record #0 ({second})"),
            &format!("record #2 ({second})"),
        ],
    );
}

#[test]
fn bundle_json_with_unknown_fields_or_garbage() {
    let (ws, bundle, _) = exported();
    let mut manifest = read_manifest(&bundle);
    manifest["hidden_claim"] = serde_json::json!("trust me");
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "bad-manifest", &["data/bundle.json"]);
    assert_eq!(codes, vec!["bad-manifest"]);

    let (ws, bundle, _) = exported();
    let mut manifest = read_manifest(&bundle);
    manifest["records"][0]["note"] = serde_json::json!("extra");
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    assert_bundle_problem(&ws, &bundle, "bad-manifest", &["data/bundle.json"]);

    for garbage in [&b"\x00\xff garbage {"[..], b"", b"[]", b"{\"format\": 7}"] {
        let (ws, bundle, _) = exported();
        fs::write(bundle.join("data/bundle.json"), garbage).expect("write");
        rebag(&bundle);
        assert_bundle_problem(&ws, &bundle, "bad-manifest", &["data/bundle.json"]);
    }

    let (ws, bundle, _) = exported();
    let mut manifest = read_manifest(&bundle);
    manifest["format"] = serde_json::json!("evidentia-bundle/99");
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    assert_bundle_problem(&ws, &bundle, "bad-manifest", &["data/bundle.json"]);
}

#[test]
fn document_file_outside_the_documents_directory() {
    let (ws, bundle, _) = exported();
    let mut manifest = read_manifest(&bundle);
    manifest["documents"][0]["file"] = serde_json::json!("data/documents/../../../outside.txt");
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    assert_bundle_problem(&ws, &bundle, "unsafe-path", &["case/a.txt"]);
}

// Hostile tar files, built entry by entry with the tar crate.

/// Appends an entry with `name` written raw into the header (the tar crate's own path setters
/// refuse `..` and absolute paths, as they should).
fn raw_entry<W: std::io::Write>(
    builder: &mut tar::Builder<W>,
    name: &str,
    kind: tar::EntryType,
    link: Option<&str>,
    data: &[u8],
) {
    let mut header = tar::Header::new_old();
    let field = &mut header.as_old_mut().name;
    assert!(name.len() < field.len(), "name too long for a tar header");
    field[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(link) = link {
        let field = &mut header.as_old_mut().linkname;
        field[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    builder.append(&header, data).expect("append entry");
}

/// The valid bundle as a tar with `hostile` entries first.
fn hostile_tar(bundle: &Path, out: &Path, hostile: impl FnOnce(&mut tar::Builder<fs::File>)) {
    let mut builder = tar::Builder::new(fs::File::create(out).expect("create tar"));
    hostile(&mut builder);
    for entry in walkdir::WalkDir::new(bundle)
        .min_depth(1)
        .sort_by_file_name()
    {
        let entry = entry.expect("walk");
        let relative = entry.path().strip_prefix(bundle).expect("inside");
        builder
            .append_path_with_name(entry.path(), relative)
            .expect("append");
    }
    builder.finish().expect("finish tar");
}

/// Verifies a hostile tar with TMPDIR inside the workspace; checks nothing escaped and the
/// scratch space was cleaned up.
fn assert_tar_problem(ws: &Workspace, tar_file: &Path, code: &str, items: &[&str]) {
    let scratch = ws.path("scratch/inner");
    fs::create_dir_all(&scratch).expect("mkdir");
    let before = snapshot(&ws.path(""));
    assert_bundle_problem_env(ws, tar_file, code, items, &[("TMPDIR", &scratch)]);
    for path in [
        ws.path("escape"),
        ws.path("scratch/escape"),
        ws.path("scratch/inner/escape"),
        ws.path("outside/abs-escape"),
        ws.path("outside/link-target-written"),
    ] {
        assert!(!path.exists(), "{} was written", path.display());
    }
    let leftover: Vec<_> = fs::read_dir(&scratch).expect("list").collect();
    assert!(leftover.is_empty(), "scratch left behind: {leftover:?}");
    // Nothing else in the workspace changed (the archive, the keys, the bundle).
    let after = snapshot(&ws.path(""));
    let changed: Vec<&PathBuf> = after
        .iter()
        .filter(|(p, s)| before.get(*p) != Some(s) && !p.starts_with(ws.path("scratch")))
        .map(|(p, _)| p)
        .collect();
    assert!(changed.is_empty(), "verify changed {changed:?}");
}

#[test]
fn tar_with_parent_directory_entry() {
    let (ws, bundle, _) = exported();
    let tar_file = ws.path("hostile.tar");
    hostile_tar(&bundle, &tar_file, |b| {
        raw_entry(b, "../escape", tar::EntryType::Regular, None, b"escaped\n");
        raw_entry(
            b,
            "data/../../escape",
            tar::EntryType::Regular,
            None,
            b"escaped\n",
        );
    });
    assert_tar_problem(&ws, &tar_file, "unsafe-path", &["../escape"]);
    assert_tar_problem(&ws, &tar_file, "unsafe-path", &["data/../../escape"]);
}

#[test]
fn tar_with_symlink_entry() {
    let (ws, bundle, _) = exported();
    fs::create_dir_all(ws.path("outside")).expect("mkdir");
    let target = path_str(&ws.path("outside/link-target-written")).to_string();
    let tar_file = ws.path("hostile.tar");
    hostile_tar(&bundle, &tar_file, |b| {
        // A link, then a file written through it if links were honoured.
        raw_entry(b, "data/evil", tar::EntryType::Symlink, Some(&target), b"");
        raw_entry(
            b,
            "data/evil",
            tar::EntryType::Regular,
            None,
            b"through the link\n",
        );
        raw_entry(
            b,
            "data/hard",
            tar::EntryType::Link,
            Some("/etc/passwd"),
            b"",
        );
    });
    assert_tar_problem(&ws, &tar_file, "unsafe-entry", &["data/evil"]);
    assert_tar_problem(&ws, &tar_file, "unsafe-entry", &["data/hard"]);
}

#[test]
fn tar_with_absolute_path_entry() {
    let (ws, bundle, _) = exported();
    fs::create_dir_all(ws.path("outside")).expect("mkdir");
    let absolute = path_str(&ws.path("outside/abs-escape")).to_string();
    let tar_file = ws.path("hostile.tar");
    hostile_tar(&bundle, &tar_file, |b| {
        raw_entry(b, &absolute, tar::EntryType::Regular, None, b"escaped\n");
    });
    assert_tar_problem(&ws, &tar_file, "unsafe-path", &[&absolute]);
}

#[test]
fn tar_with_device_entry_and_garbage() {
    let (ws, bundle, _) = exported();
    let tar_file = ws.path("hostile.tar");
    hostile_tar(&bundle, &tar_file, |b| {
        raw_entry(b, "data/fifo", tar::EntryType::Fifo, None, b"");
        raw_entry(b, "data/dev", tar::EntryType::Char, None, b"");
    });
    assert_tar_problem(&ws, &tar_file, "unsafe-entry", &["data/fifo"]);
    assert_tar_problem(&ws, &tar_file, "unsafe-entry", &["data/dev"]);

    // Not a tar at all: unreadable input (2) or a failed verification (1), never success.
    let garbage = ws.write("garbage.tar", vec![0x5au8; 4096]);
    let (code, _, stderr) = run(&ws, &["verify", path_str(&garbage)], &[]);
    assert!(code == 1 || code == 2, "{code}: {stderr}");
}
