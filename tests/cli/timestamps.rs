//! RFC 3161 trusted timestamps against a real TSA: `openssl ts -reply` with a throwaway CA and
//! TSA certificate made at test time (see tsa/). Covers request → reply → attach → verify
//! (valid, chain unchecked), fetch over HTTP from loopback TSAs, interoperability with
//! `openssl ts -verify`, bundles carrying tokens, and every refusal and failure: replies for
//! another checkpoint, unknown nonces, rejections, garbage, tampered tokens, untrusted,
//! expired and non-TSA signers. Skipped with a notice when openssl is missing (not under CI=true).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use evidentia::bundle::bagit;
use evidentia::core::digest::Digest;

use crate::common::Workspace;

#[path = "tsa/mod.rs"]
mod tsa;

use tsa::{openssl, openssl_status, s, Ca, Profile, Tsa};

/// An archive with checkpoints 1 and 2, a root CA and a TSA certified by it.
struct Setup {
    ws: Workspace,
    ca: Ca,
    tsa: Tsa,
}

fn setup() -> Option<Setup> {
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

fn verify_roots(ws: &Workspace, roots: &Path) -> (i32, Value) {
    verify(ws, None, &["--tsa-roots", s(roots)])
}

/// The `timestamps` of checkpoint `number` in an archive report (`checkpoints[].timestamps`)
/// or a bundle report (top-level `timestamps`, for the bundle's `checkpoint`).
fn timestamps(report: &Value, number: u64) -> Vec<Value> {
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

/// request → `openssl ts -reply` → attach, for checkpoint `number`; returns (tsq, tsr).
fn stamp(setup: &Setup, tsa: &Tsa, number: u64, name: &str) -> (PathBuf, PathBuf) {
    let tsq = setup.ws.path(&format!("{name}.tsq"));
    let tsr = setup.ws.path(&format!("{name}.tsr"));
    request(&setup.ws, Some(number), &tsq);
    tsa.reply(&tsq, &tsr);
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

#[test]
fn request_is_a_standard_query_over_the_sealed_checkpoint() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let tsq = ws.path("one.tsq");
    let stdout = request(ws, Some(1), &tsq);
    let der = fs::read(&tsq).expect("read query");
    assert!(
        contains(&der, &sealed_digest(ws, 1)),
        "the query must carry SHA-256 of checkpoint 1's file"
    );
    assert!(!contains(&der, &sealed_digest(ws, 2)));
    let text = String::from_utf8(openssl(
        &ws.path(""),
        &["ts", "-query", "-in", s(&tsq), "-text"],
    ))
    .expect("UTF-8");
    assert!(text.contains("Version: 1"), "{text}");
    assert!(text.contains("Hash Algorithm: sha256"), "{text}");
    assert!(text.contains("Certificate required: yes"), "{text}");
    let nonce = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Nonce: "))
        .unwrap_or_else(|| panic!("no nonce: {text}"));
    let nonce = nonce.trim_start_matches("0x").to_lowercase();
    assert!(
        nonce.len() >= 8 && nonce.chars().all(|c| c.is_ascii_hexdigit()),
        "{text}"
    );
    // openssl prints the nonce as a hex integer (no leading zeros); evidentia prints it too.
    assert!(
        stdout
            .to_lowercase()
            .contains(nonce.trim_start_matches('0')),
        "the nonce {nonce} must be printed: {stdout}"
    );

    // Default: the latest checkpoint; each request has its own nonce.
    let latest = ws.path("latest.tsq");
    let stdout2 = request(ws, None, &latest);
    let der2 = fs::read(&latest).expect("read query");
    assert!(contains(&der2, &sealed_digest(ws, 2)));
    assert_ne!(stdout, stdout2, "two requests must have different nonces");

    // No such checkpoint: a usage error.
    let (code, _, stderr) = ws.run(&[
        "timestamp",
        "request",
        "--checkpoint",
        "9",
        "--out",
        "nine.tsq",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!ws.path("nine.tsq").exists());
}

#[test]
fn attached_token_verifies_against_the_tsa_root() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let tsq = ws.path("latest.tsq");
    let tsr = ws.path("latest.tsr");
    request(ws, None, &tsq);
    setup.tsa.reply(&tsq, &tsr);
    attach_ok(ws, &tsr, None);
    assert_eq!(token_files(ws).len(), 1, "one token stored");

    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true, "{report}");
    assert!(timestamps(&report, 1).is_empty(), "{report}");
    let stamps = timestamps(&report, 2);
    assert_eq!(stamps.len(), 1, "{report}");
    assert_eq!(stamps[0]["status"], "valid", "{report}");
    let tsa = stamps[0]["tsa"].as_str().expect("tsa");
    assert!(tsa.contains("Evidentia Test TSA"), "{report}");
    let time = stamps[0]["time"].as_str().expect("time");
    let (date, clock) = setup.tsa.gen_time(&tsr);
    assert!(
        time.contains(&date) && time.contains(&clock),
        "time {time} must be the token's genTime {date} {clock}"
    );

    // The human-readable report names the TSA too.
    let (code, stdout, stderr) = ws.run(&[
        "verify",
        "--trust",
        "signer.pub",
        "--tsa-roots",
        s(&setup.ca.cert),
    ]);
    assert_eq!(code, 0, "{stdout} {stderr}");
    assert!(stdout.contains("Evidentia Test TSA"), "{stdout}");
}

#[test]
fn without_roots_the_chain_is_unchecked() {
    let Some(setup) = setup() else { return };
    stamp(&setup, &setup.tsa, 1, "one");
    let (code, report) = verify(&setup.ws, None, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true, "{report}");
    let stamps = timestamps(&report, 1);
    assert_eq!(stamps.len(), 1, "{report}");
    assert_eq!(stamps[0]["status"], "chain-unchecked", "{report}");
    assert!(timestamps(&report, 2).is_empty(), "{report}");
}

#[test]
fn openssl_verifies_our_query_with_its_reply() {
    let Some(setup) = setup() else { return };
    let (tsq, tsr) = stamp(&setup, &setup.tsa, 2, "two");
    let (ok, text) = openssl_status(
        &setup.ws.path(""),
        &[
            "ts",
            "-verify",
            "-in",
            s(&tsr),
            "-queryfile",
            s(&tsq),
            "-CAfile",
            s(&setup.ca.cert),
            "-untrusted",
            s(&setup.tsa.cert),
        ],
    );
    assert!(ok && text.contains("Verification: OK"), "{text}");
    // And against the checkpoint's bytes directly, as a court's expert would.
    let (ok, text) = openssl_status(
        &setup.ws.path(""),
        &[
            "ts",
            "-verify",
            "-in",
            s(&tsr),
            "-data",
            s(&setup.ws.checkpoint_path(2)),
            "-CAfile",
            s(&setup.ca.cert),
            "-untrusted",
            s(&setup.tsa.cert),
        ],
    );
    assert!(ok && text.contains("Verification: OK"), "{text}");
}

#[test]
fn fetch_from_two_tsas_keeps_both_tokens() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let second = setup
        .ca
        .issue_tsa("tsa2", "Evidentia Second TSA", Profile::Tsa);
    let one = tsa::serve(&setup.tsa);
    let two = tsa::serve(&second);
    let out = ws
        .cmd()
        .args([
            "timestamp",
            "fetch",
            "--tsa",
            &one.url,
            "--tsa",
            &two.url,
            "--checkpoint",
            "1",
        ])
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .env("NO_PROXY", "127.0.0.1")
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run fetch");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "fetch failed: {} {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    for responder in [&one, &two] {
        let received = responder.received.lock().expect("lock");
        assert_eq!(received.len(), 1, "each TSA gets one request");
        let (content_type, body) = &received[0];
        assert_eq!(content_type, "application/timestamp-query");
        assert!(contains(body, &sealed_digest(ws, 1)));
    }
    assert_eq!(token_files(ws).len(), 2, "both tokens kept");

    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "{report}");
    let stamps = timestamps(&report, 1);
    assert_eq!(stamps.len(), 2, "{report}");
    assert!(stamps.iter().all(|t| t["status"] == "valid"), "{report}");
    let names: Vec<&str> = stamps.iter().filter_map(|t| t["tsa"].as_str()).collect();
    assert!(
        names.iter().any(|n| n.contains("Evidentia Test TSA"))
            && names.iter().any(|n| n.contains("Evidentia Second TSA")),
        "{names:?}"
    );
}

#[test]
fn fetch_from_an_unreachable_tsa_fails_cleanly() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port();
    let url = format!("http://127.0.0.1:{port}/tsa");
    let (code, stdout, stderr) = ws.run(&["timestamp", "fetch", "--tsa", &url]);
    assert_ne!(code, 0, "{stdout} {stderr}");
    assert!(!stderr.trim().is_empty());
    assert!(token_files(ws).is_empty());
}

#[test]
fn reply_for_another_checkpoint_is_refused() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let tsq = ws.path("one.tsq");
    let tsr = ws.path("one.tsr");
    request(ws, Some(1), &tsq);
    setup.tsa.reply(&tsq, &tsr);
    attach_refused(
        ws,
        &tsr,
        Some(2),
        &["checkpoint 2", "imprint", "other bytes"],
    );
    assert!(token_files(ws).is_empty());
    // Control: the same reply is accepted for the checkpoint it was made for.
    attach_ok(ws, &tsr, Some(1));
    assert_eq!(token_files(ws).len(), 1);
}

#[test]
fn reply_to_an_unknown_nonce_is_refused() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    // A query over the right bytes, but made by openssl, not by `timestamp request`.
    let tsq = ws.path("foreign.tsq");
    let tsr = ws.path("foreign.tsr");
    let digest: String = sealed_digest(ws, 2)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    openssl(
        &ws.path(""),
        &[
            "ts",
            "-query",
            "-digest",
            &digest,
            "-sha256",
            "-cert",
            "-out",
            s(&tsq),
        ],
    );
    request(ws, Some(2), &ws.path("ours.tsq"));
    setup.tsa.reply(&tsq, &tsr);
    attach_refused(ws, &tsr, Some(2), &["nonce"]);
    attach_refused(ws, &tsr, None, &["nonce"]);
    assert!(token_files(ws).is_empty());
}

#[test]
fn rejected_reply_is_refused() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let tsq = ws.path("one.tsq");
    let tsr = ws.path("rejected.tsr");
    request(ws, Some(1), &tsq);
    setup.tsa.reject(&tsq, &tsr);
    attach_refused(ws, &tsr, Some(1), &["reject", "status", "not granted"]);
    assert!(token_files(ws).is_empty());
}

#[test]
fn truncated_and_garbage_replies_are_refused() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let tsq = ws.path("one.tsq");
    let tsr = ws.path("one.tsr");
    request(ws, Some(1), &tsq);
    setup.tsa.reply(&tsq, &tsr);
    let good = fs::read(&tsr).expect("reply");
    let why = &[
        "reply",
        "token",
        "der",
        "unreadable",
        "truncated",
        "malformed",
    ];
    for (name, bytes) in [
        ("truncated.tsr", good[..good.len() / 2].to_vec()),
        ("short.tsr", good[..good.len() - 1].to_vec()),
        ("garbage.tsr", b"<html>502 Bad Gateway</html>\n".to_vec()),
        ("empty.tsr", Vec::new()),
        ("trailing.tsr", [good.as_slice(), b"\x00"].concat()),
    ] {
        let path = ws.write(name, bytes);
        attach_refused(ws, &path, Some(1), why);
    }
    assert!(token_files(ws).is_empty());
    // Control: the intact reply is accepted.
    attach_ok(ws, &tsr, Some(1));
}

#[test]
fn tampered_token_fails_verification() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let (_, tsr) = stamp(&setup, &setup.tsa, 1, "one");
    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "control: {report}");
    let files = token_files(ws);
    assert_eq!(files.len(), 1);
    let stored = fs::read(&files[0]).expect("token");

    // A digit of genTime (GeneralizedTime, tag 0x18, 15 bytes "YYYYMMDDhhmmssZ"): still a
    // readable time, so only the signature can catch it.
    let at = find(&stored, &[0x18, 0x0f]).expect("genTime in the stored token") + 2 + 13;
    let mut forged = stored.clone();
    forged[at] ^= 0x01;
    Workspace::overwrite(&files[0], &forged);
    let codes = assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        1,
        &["timestamp-signature-invalid"],
    );
    assert!(
        codes.iter().all(|c| c.starts_with("timestamp-")),
        "{codes:?}"
    );
    // Without roots too: the signature does not need the chain.
    assert_timestamp_problem(verify(ws, None, &[]), 1, &["timestamp-signature-invalid"]);

    // A byte of the signature itself (the token's last bytes; openssl adds no unsigned
    // attributes).
    let token = {
        let out = ws.path("token.der");
        openssl(
            &ws.path(""),
            &[
                "ts",
                "-reply",
                "-in",
                s(&tsr),
                "-token_out",
                "-out",
                s(&out),
            ],
        );
        fs::read(out).expect("token")
    };
    let start = find(&stored, &token).expect("the stored file holds the token as sent");
    let mut forged = stored.clone();
    forged[start + token.len() - 3] ^= 0x01;
    Workspace::overwrite(&files[0], &forged);
    assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        1,
        &["timestamp-signature-invalid"],
    );

    // A byte of the message imprint: the token no longer covers this checkpoint.
    let at = find(&stored, &sealed_digest(ws, 1)).expect("imprint in the stored token");
    let mut forged = stored.clone();
    forged[at + 7] ^= 0x01;
    Workspace::overwrite(&files[0], &forged);
    assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        1,
        &["timestamp-imprint-mismatch"],
    );

    // Bytes of the DER framing: unreadable (or at least some timestamp-* problem).
    for at in [0, 1] {
        let mut forged = stored.clone();
        forged[at] ^= 0x01;
        Workspace::overwrite(&files[0], &forged);
        let codes = assert_timestamp_problem(
            verify_roots(ws, &setup.ca.cert),
            1,
            &["timestamp-unreadable"],
        );
        assert!(
            codes.iter().all(|c| c.starts_with("timestamp-")),
            "byte {at}: {codes:?}"
        );
    }

    // A truncated token file.
    Workspace::overwrite(&files[0], &stored[..stored.len() / 2]);
    assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        1,
        &["timestamp-unreadable"],
    );

    // Control: restored, it verifies again.
    Workspace::overwrite(&files[0], &stored);
    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "restored: {report}");
}

#[test]
fn any_changed_byte_of_a_stored_token_is_noticed() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    stamp(&setup, &setup.tsa, 1, "one");
    let files = token_files(ws);
    let stored = fs::read(&files[0]).expect("token");
    // The last byte of the carried CA certificate's signature: unused when --tsa-roots holds
    // the root itself, so only the content address can catch it.
    let ca_der = {
        let out = ws.path("ca.der");
        openssl(
            &ws.path(""),
            &[
                "x509",
                "-in",
                s(&setup.ca.cert),
                "-outform",
                "DER",
                "-out",
                s(&out),
            ],
        );
        fs::read(out).expect("CA DER")
    };
    let at = find(&stored, &ca_der).expect("the token carries the CA certificate");
    let mut forged = stored.clone();
    forged[at + ca_der.len() - 2] ^= 0x01;
    Workspace::overwrite(&files[0], &forged);
    let (exit, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(exit, 1, "a changed token file must be noticed: {report}");
    assert!(
        Workspace::problem_codes(&report)
            .iter()
            .any(|c| c.starts_with("timestamp-")),
        "{report}"
    );
}

#[test]
fn token_from_a_tsa_outside_the_roots_is_untrusted() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let other = Ca::new(&ws.path("pki/other"), "Unrelated Root");
    let rogue = other.issue_tsa("tsa", "Evidentia Test TSA", Profile::Tsa);
    stamp(&setup, &rogue, 1, "one");
    // The token carries its own (unrelated) root: that must not make it trusted.
    let codes = assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        1,
        &["timestamp-untrusted"],
    );
    assert_eq!(codes, vec!["timestamp-untrusted"]);
    let (code, stdout, stderr) = ws.run(&[
        "verify",
        "--trust",
        "signer.pub",
        "--tsa-roots",
        s(&setup.ca.cert),
    ]);
    assert_eq!(code, 1, "{stdout} {stderr}");
    let text = format!("{stdout}{stderr}");
    assert!(
        text.contains("PROBLEM [timestamp-untrusted] checkpoint 1: ") && text.contains("FAILED"),
        "the human report names the problem: {text}"
    );
    // Control: under its own root it is valid.
    let (code, report) = verify_roots(ws, &other.cert);
    assert_eq!(code, 0, "{report}");
    assert_eq!(timestamps(&report, 1)[0]["status"], "valid", "{report}");
    // A roots file with both roots accepts it.
    let both = ws.write(
        "both.pem",
        [
            fs::read(&setup.ca.cert).expect("ca"),
            fs::read(&other.cert).expect("other"),
        ]
        .concat(),
    );
    let (code, report) = verify_roots(ws, &both);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn tsa_certificate_issued_by_a_non_ca_leaf_is_untrusted() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    // A leaf (basicConstraints CA:FALSE, no timeStamping) certified by the trusted root
    // issues itself a TSA certificate. `openssl x509 -req` signs with any key.
    let leaf = setup
        .ca
        .issue_tsa("leaf", "Some Leaf", Profile::NoTimeStamping);
    let dir = ws.path("pki/forged");
    fs::create_dir_all(&dir).expect("dir");
    let key = dir.join("tsa.key");
    let csr = dir.join("tsa.csr");
    let cert = dir.join("tsa.pem");
    let ext = dir.join("tsa.ext");
    fs::write(
        &ext,
        "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n\
         extendedKeyUsage = critical, timeStamping\n",
    )
    .expect("ext");
    openssl(
        &dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            s(&key),
            "-out",
            s(&csr),
            "-subj",
            "/CN=Forged TSA",
        ],
    );
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            s(&csr),
            "-CA",
            s(&leaf.cert),
            "-CAkey",
            s(&leaf.key),
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            s(&ext),
            "-out",
            s(&cert),
        ],
    );
    // Its ts config: the forged certificate signs, the leaf travels in the token as `certs`.
    let forged = Tsa::with_files(&dir, &cert, &key, &leaf.cert);
    stamp(&setup, &forged, 1, "one");
    let (ok, text) = openssl_status(
        &dir,
        &[
            "ts",
            "-verify",
            "-in",
            s(&ws.path("one.tsr")),
            "-queryfile",
            s(&ws.path("one.tsq")),
            "-CAfile",
            s(&setup.ca.cert),
            "-untrusted",
            s(&leaf.cert),
        ],
    );
    assert!(!ok, "openssl must refuse a chain through a non-CA: {text}");
    assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        1,
        &["timestamp-untrusted"],
    );
}

#[test]
fn expired_tsa_certificate_fails_verification() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let old = setup
        .ca
        .issue_tsa("old", "Evidentia Expired TSA", Profile::Expired);
    stamp(&setup, &old, 2, "two");
    // The implementation names this case precisely (it does not fold it into untrusted).
    let codes = assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        2,
        &["timestamp-cert-expired"],
    );
    assert!(
        !codes.contains(&"timestamp-untrusted".to_string()),
        "{codes:?}"
    );
}

#[test]
fn token_signed_without_the_timestamping_eku_fails() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let tsq = ws.path("one.tsq");
    let tsr = ws.path("one.tsr");
    request(ws, Some(1), &tsq);
    setup.tsa.reply(&tsq, &tsr);

    // Control: the re-signing itself is sound: re-signed by the real TSA, the token verifies.
    let resigned = ws.path("resigned.tsr");
    setup.tsa.resign(&tsr, &setup.tsa, &resigned);
    attach_ok(ws, &resigned, Some(1));
    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "control (re-signed by the TSA): {report}");
    assert_eq!(timestamps(&report, 1)[0]["status"], "valid", "{report}");
    for file in token_files(ws) {
        Workspace::make_writable(&file);
        fs::remove_file(file).expect("remove control token");
    }

    // `openssl ts -reply` refuses a signer without the EKU, so sign the TSTInfo with CMS.
    let not_tsa = setup
        .ca
        .issue_tsa("notsa", "Evidentia Not A TSA", Profile::NoTimeStamping);
    let forged = ws.path("not-tsa.tsr");
    setup.tsa.resign(&tsr, &not_tsa, &forged);
    let (ok, text) = openssl_status(
        &ws.path(""),
        &[
            "ts",
            "-verify",
            "-in",
            s(&forged),
            "-queryfile",
            s(&tsq),
            "-CAfile",
            s(&setup.ca.cert),
            "-untrusted",
            s(&not_tsa.cert),
        ],
    );
    assert!(
        !ok && text.contains("purpose"),
        "openssl refuses it too: {text}"
    );

    // attach may refuse it outright; verify must fail on it either way, so a token planted
    // in the archive by someone with write access is caught.
    let (code, stdout, stderr) = attach(ws, &forged, Some(1));
    if code == 0 {
        eprintln!("note: attach accepted a token from a non-TSA certificate");
    } else {
        assert_eq!(code, 2, "{stdout} {stderr}");
        assert!(
            stderr.contains("timeStamping") || stderr.contains("not-tsa"),
            "{stderr}"
        );
        plant_token(ws, 1, &forged);
    }
    assert_timestamp_problem(verify_roots(ws, &setup.ca.cert), 1, &["timestamp-not-tsa"]);
    assert_timestamp_problem(verify(ws, None, &[]), 1, &["timestamp-not-tsa"]);
}

/// Writes the token of reply `tsr` into the archive as a stored token of checkpoint `number`
/// (the layout of src/timestamp: `timestamps/<10-digit N>/<SHA-256 hex>.tst`).
fn plant_token(ws: &Workspace, number: u64, tsr: &Path) {
    let token = ws.path("planted.der");
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
    let bytes = fs::read(&token).expect("token");
    let dir = ws.archive().join(format!("timestamps/{number:010}"));
    fs::create_dir_all(&dir).expect("dir");
    fs::write(
        dir.join(format!("{}.tst", Digest::of(&bytes).to_hex())),
        bytes,
    )
    .expect("plant");
}

#[test]
fn bundle_carries_the_tokens() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    stamp(&setup, &setup.tsa, 2, "two");
    let bundle = ws.path("bundle");
    let (code, stdout, stderr) = ws.run(&["export", "--out", s(&bundle), "--all"]);
    assert_eq!(code, 0, "{stdout} {stderr}");

    let (code, report) = verify(ws, Some(&bundle), &["--tsa-roots", s(&setup.ca.cert)]);
    assert_eq!(code, 0, "{report}");
    let stamps = timestamps(&report, 2);
    assert_eq!(stamps.len(), 1, "{report}");
    assert_eq!(stamps[0]["status"], "valid", "{report}");
    assert!(
        stamps[0]["tsa"]
            .as_str()
            .is_some_and(|t| t.contains("Evidentia Test TSA")),
        "{report}"
    );
    let (code, report) = verify(ws, Some(&bundle), &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        timestamps(&report, 2)[0]["status"],
        "chain-unchecked",
        "{report}"
    );

    // Unrelated roots: the bundle's token is untrusted.
    let other = Ca::new(&ws.path("pki/other"), "Unrelated Root");
    let (code, report) = verify(ws, Some(&bundle), &["--tsa-roots", s(&other.cert)]);
    assert_eq!(code, 1, "{report}");
    assert!(
        Workspace::problem_codes(&report).contains(&"timestamp-untrusted".to_string()),
        "{report}"
    );
}

#[test]
fn tampered_token_in_a_bundle_fails() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    stamp(&setup, &setup.tsa, 2, "two");
    let bundle = ws.path("bundle");
    let (code, stdout, stderr) = ws.run(&["export", "--out", s(&bundle), "--all"]);
    assert_eq!(code, 0, "{stdout} {stderr}");
    let tokens: Vec<PathBuf> = fs::read_dir(bundle.join("data/timestamps"))
        .expect("the bundle has data/timestamps/")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    let mut bytes = fs::read(&tokens[0]).expect("token");
    let at = find(&bytes, &[0x18, 0x0f]).expect("genTime") + 2 + 13;
    bytes[at] ^= 0x01;
    Workspace::overwrite(&tokens[0], &bytes);
    // The BagIt manifests catch the change first; a careful forger rewrites them, so the
    // token's own signature must catch it.
    let (code, report) = verify(ws, Some(&bundle), &["--tsa-roots", s(&setup.ca.cert)]);
    assert_eq!(code, 1, "{report}");
    rebag(&bundle);
    let (code, report) = verify(ws, Some(&bundle), &["--tsa-roots", s(&setup.ca.cert)]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ok"], false, "{report}");
    assert!(
        Workspace::problem_codes(&report).contains(&"timestamp-signature-invalid".to_string()),
        "{report}"
    );
    assert_eq!(timestamps(&report, 2)[0]["status"], "invalid", "{report}");
}

/// Rewrites the bundle's BagIt manifests, SHA256SUMS, Payload-Oxum and tag manifest to match
/// its payload as it now is (as tests/cli/bundles.rs does), so only evidentia's own checks can
/// catch a change.
fn rebag(bundle: &Path) {
    let mut payload = Vec::new();
    let mut bytes = 0;
    for entry in walkdir::WalkDir::new(bundle.join("data")) {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            let content = fs::read(entry.path()).expect("read payload");
            bytes += content.len();
            let relative = entry.path().strip_prefix(bundle).expect("inside");
            payload.push((
                Digest::of(&content).to_hex(),
                relative.to_str().expect("UTF-8").to_string(),
            ));
        }
    }
    fs::write(
        bundle.join("manifest-sha256.txt"),
        bagit::manifest(&payload),
    )
    .expect("manifest");
    fs::write(bundle.join("SHA256SUMS"), bagit::sha256sums(&payload)).expect("sums");
    let info: String = fs::read_to_string(bundle.join("bag-info.txt"))
        .expect("bag-info")
        .lines()
        .map(|line| match line.starts_with("Payload-Oxum:") {
            true => format!("Payload-Oxum: {bytes}.{}\n", payload.len()),
            false => format!("{line}\n"),
        })
        .collect();
    fs::write(bundle.join("bag-info.txt"), info).expect("bag-info");
    let tags: Vec<(String, String)> = fs::read_to_string(bundle.join("tagmanifest-sha256.txt"))
        .expect("tag manifest")
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(_, name)| {
            let name = name.trim().to_string();
            let content = fs::read(bundle.join(&name)).expect("tag file");
            (Digest::of(&content).to_hex(), name)
        })
        .collect();
    fs::write(
        bundle.join("tagmanifest-sha256.txt"),
        bagit::manifest(&tags),
    )
    .expect("tags");
}

#[test]
fn token_moved_to_another_checkpoint_fails() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    stamp(&setup, &setup.tsa, 2, "two");
    let files = token_files(ws);
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().expect("name").to_owned();
    let target = ws.archive().join("timestamps/0000000001");
    fs::create_dir_all(&target).expect("dir");
    fs::copy(&files[0], target.join(&name)).expect("copy token");
    assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        1,
        &["timestamp-imprint-mismatch"],
    );
}
