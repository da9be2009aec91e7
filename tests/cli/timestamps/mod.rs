//! RFC 3161 trusted timestamps against a real TSA: `openssl ts -reply` with a throwaway CA and
//! TSA certificate made at test time (see tsa.rs). Covers request → reply → attach → verify
//! (valid, chain unchecked), fetch over HTTP from loopback TSAs, interoperability with
//! `openssl ts -verify`, bundles carrying tokens, and every refusal and failure: replies for
//! another checkpoint, unknown nonces, rejections, garbage, tampered tokens, untrusted,
//! expired and non-TSA signers, tokens that break DER or CMS rules, fractional-second genTimes,
//! ESS signing-certificate bindings and key-id signers. Skipped with a notice when openssl is
//! missing (not under CI=true).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use evidentia::bundle::bagit;
use evidentia::core::digest::Digest;

use crate::common::Workspace;

pub(crate) mod tsa;

use tsa::{openssl, openssl_status, s, Ca, Profile, Tsa};

mod bundles;
mod refusals;
mod round_trip;
mod strict;
mod trust;

/// An archive with checkpoints 1 and 2, a root CA and a TSA certified by it.
pub(crate) struct Setup {
    pub(crate) ws: Workspace,
    pub(crate) ca: Ca,
    pub(crate) tsa: Tsa,
}

pub(crate) fn setup() -> Option<Setup> {
    if !tsa::openssl_present() {
        return None;
    }
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A, 2022-03-09.\n");
    ws.add(&["case/a.txt"]);
    ws.seal();
    ws.write("case/b.txt", "Statement of witness B, 2022-03-10.\n");
    ws.add(&["case/b.txt"]);
    ws.seal();
    let ca = Ca::new(&ws.path("pki/root"), "Evidentia Test Root");
    let tsa = ca.issue_tsa("tsa", "Evidentia Test TSA", Profile::Tsa);
    Some(Setup { ws, ca, tsa })
}

/// `timestamp request [--checkpoint N] --out FILE`; expects exit 0, returns stdout.
fn request(ws: &Workspace, checkpoint: Option<u64>, out: &Path) -> String {
    let number = checkpoint.map(|n| n.to_string());
    let mut args = vec!["timestamp", "request", "--out", s(out)];
    if let Some(n) = &number {
        args.extend(["--checkpoint", n.as_str()]);
    }
    let (code, stdout, stderr) = ws.run(&args);
    assert_eq!(code, 0, "timestamp request failed: {stdout} {stderr}");
    assert!(out.exists(), "no request written at {}", out.display());
    stdout
}

/// `timestamp attach FILE [--checkpoint N]`; returns (exit code, stdout, stderr).
fn attach(ws: &Workspace, tsr: &Path, checkpoint: Option<u64>) -> (i32, String, String) {
    let number = checkpoint.map(|n| n.to_string());
    let mut args = vec!["timestamp", "attach", s(tsr)];
    if let Some(n) = &number {
        args.extend(["--checkpoint", n.as_str()]);
    }
    ws.run(&args)
}

fn attach_ok(ws: &Workspace, tsr: &Path, checkpoint: Option<u64>) {
    let (code, stdout, stderr) = attach(ws, tsr, checkpoint);
    assert_eq!(code, 0, "attach failed: {stdout} {stderr}");
}

/// Attach must refuse (exit 2) with a message containing one of `words`, and leave the
/// archive exactly as it was.
fn attach_refused(ws: &Workspace, tsr: &Path, checkpoint: Option<u64>, words: &[&str]) -> String {
    let before = snapshot(&ws.archive());
    let (code, stdout, stderr) = attach(ws, tsr, checkpoint);
    assert_eq!(
        code, 2,
        "attach must be refused; stdout: {stdout} stderr: {stderr}"
    );
    let lower = stderr.to_lowercase();
    assert!(
        words.iter().any(|w| lower.contains(&w.to_lowercase())),
        "the refusal must say why (one of {words:?}): {stderr}"
    );
    assert_eq!(
        snapshot(&ws.archive()),
        before,
        "a refused attach changed the archive"
    );
    stderr
}

/// Every file and directory under `root` with its contents.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|entry| {
            let entry = entry.expect("walk archive");
            let bytes = entry
                .file_type()
                .is_file()
                .then(|| fs::read(entry.path()).expect("read"));
            (entry.path().to_path_buf(), bytes)
        })
        .collect()
}

/// `verify --json --trust signer.pub [extra]` on the archive or a bundle (`target`).
fn verify(ws: &Workspace, target: Option<&Path>, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["verify"];
    if let Some(target) = target {
        args.push(s(target));
    }
    args.extend(["--json", "--trust", "signer.pub"]);
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = ws.run(&args);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("verify printed no JSON ({e}): {stdout} {stderr}"));
    (code, report)
}

pub(crate) fn verify_roots(ws: &Workspace, roots: &Path) -> (i32, Value) {
    verify(ws, None, &["--tsa-roots", s(roots)])
}

/// The `timestamps` of checkpoint `number` in an archive report (`checkpoints[].timestamps`)
/// or a bundle report (top-level `timestamps`, for the bundle's `checkpoint`).
pub(crate) fn timestamps(report: &Value, number: u64) -> Vec<Value> {
    let list = match report["checkpoints"].as_array() {
        Some(all) => &all
            .iter()
            .find(|c| c["number"] == number)
            .unwrap_or_else(|| panic!("no checkpoint {number} in {report}"))["timestamps"],
        None => {
            assert_eq!(report["checkpoint"]["number"], number, "{report}");
            &report["timestamps"]
        }
    };
    list.as_array()
        .unwrap_or_else(|| panic!("checkpoint {number} has no timestamps array: {report}"))
        .clone()
}

/// The stored token files of the archive (under `timestamps/`, requests excluded).
fn token_files(ws: &Workspace) -> Vec<PathBuf> {
    let root = ws.archive().join("timestamps");
    if !root.exists() {
        return Vec::new();
    }
    walkdir::WalkDir::new(&root)
        .into_iter()
        .map(|e| e.expect("walk").into_path())
        .filter(|p| p.is_file() && !p.starts_with(root.join("requests")))
        .collect()
}

/// SHA-256 of a checkpoint's sealed bytes: with no witnesses, the whole checkpoint file.
fn sealed_digest(ws: &Workspace, number: u64) -> Vec<u8> {
    Digest::of(&fs::read(ws.checkpoint_path(number)).expect("checkpoint file"))
        .0
        .to_vec()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// request → `openssl ts -reply` for checkpoint `number`, not attached; returns (tsq, tsr).
pub(crate) fn reply(setup: &Setup, tsa: &Tsa, number: u64, name: &str) -> (PathBuf, PathBuf) {
    let tsq = setup.ws.path(&format!("{name}.tsq"));
    let tsr = setup.ws.path(&format!("{name}.tsr"));
    request(&setup.ws, Some(number), &tsq);
    tsa.reply(&tsq, &tsr);
    (tsq, tsr)
}

/// request → `openssl ts -reply` → attach, for checkpoint `number`; returns (tsq, tsr).
pub(crate) fn stamp(setup: &Setup, tsa: &Tsa, number: u64, name: &str) -> (PathBuf, PathBuf) {
    let (tsq, tsr) = reply(setup, tsa, number, name);
    attach_ok(&setup.ws, &tsr, Some(number));
    (tsq, tsr)
}

/// Verify must fail (exit 1, ok false) with a problem among `codes` on checkpoint `number`,
/// and the token reported `invalid`. Returns all problem codes.
fn assert_timestamp_problem(report: (i32, Value), number: u64, codes: &[&str]) -> Vec<String> {
    let (exit, report) = report;
    assert_eq!(exit, 1, "verify must fail: {report}");
    assert_eq!(report["ok"], false, "{report}");
    let problems = report["problems"].as_array().expect("problems");
    assert!(
        problems.iter().any(|p| codes
            .iter()
            .any(|c| p["code"] == *c && p["item"] == format!("checkpoint {number}"))),
        "expected one of {codes:?} for checkpoint {number}: {report}"
    );
    let stamps = timestamps(&report, number);
    assert!(
        stamps.iter().any(|t| t["status"] == "invalid"),
        "the token must be reported invalid: {report}"
    );
    Workspace::problem_codes(&report)
}

/// The token (TimeStampToken DER) inside reply `tsr`, as openssl extracts it.
pub(crate) fn token_bytes(ws: &Workspace, tsr: &Path) -> Vec<u8> {
    let token = ws.path("extracted-token.der");
    openssl(
        &ws.path(""),
        &[
            "ts",
            "-reply",
            "-in",
            s(tsr),
            "-token_out",
            "-out",
            s(&token),
        ],
    );
    fs::read(&token).expect("token")
}

/// Writes the token of reply `tsr` into the archive as a stored token of checkpoint `number`
/// (the layout of src/timestamp: `timestamps/<10-digit N>/<SHA-256 hex>.tst`).
fn plant_token(ws: &Workspace, number: u64, tsr: &Path) {
    plant_bytes(ws, number, &token_bytes(ws, tsr));
}

/// Stores `token` as a token of checkpoint `number` under its own SHA-256, as an attacker
/// with write access would (so the content address holds); returns its path.
pub(crate) fn plant_bytes(ws: &Workspace, number: u64, token: &[u8]) -> PathBuf {
    let dir = ws.archive().join(format!("timestamps/{number:010}"));
    fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(format!("{}.tst", Digest::of(token).to_hex()));
    fs::write(&path, token).expect("plant");
    path
}
