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

mod attacks_round13;
mod attacks_round14;
mod case_title;
mod completeness;
pub(crate) mod differential;
mod disclosure;
mod encrypted;
mod encrypted_export;
mod encrypted_notes;
mod encrypted_onepass;
mod export;
mod format_rules;
mod handover;
mod hostile;
mod hostile_tar;
mod impostor;
mod layout;
mod metadata;
mod names;
pub(super) mod report_images;
mod report_pages;
mod sealed_copy;

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
    differential::assert_script_agrees(ws, bundle, 0, &[]);
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
    // A document is named by its logical path and its digest: "case/a.txt (sha256:…)".
    let names = |item: &str, wanted: &str| {
        item == wanted || item.starts_with(&format!("{wanted} (sha256:"))
    };
    assert!(
        problems.iter().any(|p| p["code"] == code
            && items
                .iter()
                .any(|i| names(p["item"].as_str().unwrap_or(""), i))),
        "expected problem [{code}] for one of {items:?} in {report}"
    );
    assert!(
        report["proven"].as_array().is_some_and(Vec::is_empty),
        "a failed bundle proves nothing: {report}"
    );
    let (exit, text) = verify_text_env(ws, bundle, &TRUST, envs);
    assert_eq!(exit, 1, "{text}");
    assert!(
        items.iter().any(|item| {
            text.contains(&format!("PROBLEM [{code}] {item}: "))
                || text.contains(&format!("PROBLEM [{code}] {item} (sha256:"))
        }),
        "the human report must name one of {items:?} with [{code}]: {text}"
    );
    assert!(text.contains("FAILED"), "{text}");
    assert!(!text.contains("VERIFIED"), "{text}");
    assert_unchanged(bundle, &before);
    let codes = Workspace::problem_codes(&report);
    differential::assert_script_agrees(ws, bundle, 1, &codes);
    assert_unchanged(bundle, &before);
    codes
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
pub(crate) fn rebag(bundle: &Path) {
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

/// Rewrites tagmanifest-sha256.txt for the tag files as they now are: every regular file
/// outside data/ (the report's pages included), as a forger would.
fn retag(bundle: &Path) {
    let mut names = vec![];
    for entry in walkdir::WalkDir::new(bundle).min_depth(1) {
        let entry = entry.expect("walk the bundle");
        let name = entry.path().strip_prefix(bundle).expect("inside");
        let name = name.to_str().expect("UTF-8 name").replace('\\', "/");
        let tag_manifest = name == "tagmanifest-sha256.txt";
        if entry.file_type().is_file() && !name.starts_with("data/") && !tag_manifest {
            names.push(name);
        }
    }
    let tags: Vec<(String, String)> = (names.into_iter())
        .map(|name| {
            let bytes = fs::read(bundle.join(&name)).expect("read tag file");
            (Digest::of(&bytes).to_hex(), name)
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
