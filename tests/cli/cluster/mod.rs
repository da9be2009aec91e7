//! Archives on an S3-compatible store, tested on a real cluster (issue 12): start one with
//! `tests/cluster/garage.sh up DIR` and export what it prints. Without `EVIDENTIA_TEST_S3`
//! each test prints a notice and passes, except under `CI=true`, where a skipped cluster test
//! would hide a regression, so it fails.
//!
//! Each test works under its own fresh prefix and its own replica directories ("machines");
//! tampering goes through the S3 API with the library's own client, as an attacker holding the
//! store's credentials would.

mod crash;
mod encrypted;
mod mirror;
mod nodes;
mod tamper;
mod title;
mod workflow;
mod writers;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};

use assert_cmd::Command;
use evidentia::core::digest::Digest;
use evidentia::remote::client::{Client, Location, Put};
use evidentia::remote::segment;

/// The store's base address (`s3://BUCKET/PREFIX`), or None (after a notice) when no cluster
/// is configured outside CI.
fn base() -> Option<String> {
    match std::env::var("EVIDENTIA_TEST_S3") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but EVIDENTIA_TEST_S3 is unset: start a cluster with \
                 `tests/cluster/garage.sh up DIR` and export the variables it prints"
            );
            eprintln!(
                "NOTICE: EVIDENTIA_TEST_S3 is unset; cluster test skipped (start a cluster with \
                 `tests/cluster/garage.sh up DIR` and export the variables it prints)"
            );
            None
        }
    }
}

/// A prefix no other test or run uses.
fn fresh_prefix(base: &str, what: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seed = format!(
        "{nanos} {} {}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let suffix = &Digest::of(seed.as_bytes()).to_hex()[..12];
    format!("{}/{what}-{suffix}", base.trim_end_matches('/'))
}

/// A workspace for one test: a temporary directory with a signing key, input files and one
/// replica directory per simulated machine (`cache-<machine>`), and an archive address on the
/// store under a fresh prefix.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub url: String,
}

#[allow(dead_code)]
impl Site {
    /// A site with a fresh (not yet created) archive address and a key `signer`; None when
    /// the test is skipped.
    pub fn new(what: &str) -> Option<Site> {
        let base = base()?;
        let site = Site {
            dir: tempfile::tempdir().expect("temporary directory"),
            url: fresh_prefix(&base, what),
        };
        site.ok(&["key", "generate", "--out", "signer", "--unencrypted"]);
        Some(site)
    }

    /// [`Site::new`], then `init` on the store and `key introduce` of the signer.
    pub fn archive(what: &str) -> Option<Site> {
        let site = Site::new(what)?;
        // No title: the records stay where these tests expect them (cluster/title.rs has one).
        site.ok(&["init", &site.url.clone()]);
        site.ok(&["key", "introduce", "--key", "signer.key"]);
        Some(site)
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes a file (creating parent directories).
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create parent");
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// The binary as run on machine `machine` (its own replica directory), archive selected.
    pub fn cmd_on(&self, machine: &str) -> Command {
        let mut cmd = Command::cargo_bin("evidentia").expect("binary built");
        cmd.current_dir(self.dir.path())
            .env("EVIDENTIA_ARCHIVE", &self.url)
            .env("EVIDENTIA_CACHE", self.path(&format!("cache-{machine}")))
            .env_remove("EVIDENTIA_PASSPHRASE")
            .env_remove("EVIDENTIA_FAILPOINT")
            .env_remove("EVIDENTIA_LOCK_WAIT");
        cmd
    }

    /// Runs on machine `machine`; returns (exit code, stdout, stderr). Fails on a panic or a
    /// signal.
    pub fn run_on(&self, machine: &str, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd_on(machine).args(args).output().expect("run");
        decode(args, &out)
    }

    /// Runs on the default machine "a".
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_on("a", args)
    }

    /// Runs on the default machine and expects exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.run(args);
        assert_eq!(code, 0, "evidentia {args:?}: {stdout}\n{stderr}");
        stdout
    }

    pub fn seal(&self) -> String {
        self.ok(&["seal", "--key", "signer.key"])
    }

    /// `verify --json --trust signer.pub` of the store (a fresh replica, from any machine):
    /// (exit code, report or Null when the command stopped before reporting, stderr).
    pub fn verify_json(&self) -> (i32, serde_json::Value, String) {
        let (code, stdout, stderr) =
            self.run_on("verifier", &["verify", "--json", "--trust", "signer.pub"]);
        let report = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
        (code, report, stderr)
    }

    /// Expects the store's archive to verify: exit 0, VERIFIED.
    pub fn verified(&self) {
        let (code, stdout, stderr) = self.run_on("verifier", &["verify", "--trust", "signer.pub"]);
        assert_eq!(code, 0, "verify: {stdout}\n{stderr}");
        assert!(stdout.contains("VERIFIED:"), "{stdout}");
    }

    /// The library's client on this site's prefix, built from the same variables.
    pub fn client(&self) -> Client {
        let location = Location::parse(&self.url)
            .expect("an s3:// address")
            .expect("a valid address");
        Client::connect(&location).expect("client")
    }

    /// The log's segments on the store: (key, first position, record bytes), in order.
    pub fn segments(&self) -> Vec<(String, u64, Vec<Vec<u8>>)> {
        let client = self.client();
        client
            .list("log/", None)
            .expect("list log/")
            .into_iter()
            .map(|item| {
                let bytes = client.get(&item.key, segment::MAX_SEGMENT).expect("get");
                let decoded = segment::decode(&bytes).expect("a well-formed segment");
                let records = decoded.records.into_iter().map(|(_, r)| r).collect();
                (item.key, decoded.from, records)
            })
            .collect()
    }

    /// Replaces (or creates) the segment at `from` with these records, well-formed: what an
    /// attacker who recomputes everything unsigned would write.
    pub fn put_segment(&self, from: u64, records: &[Vec<u8>]) {
        let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
        self.client()
            .put(
                &segment::key(from),
                segment::encode(from, &refs),
                Put::Overwrite,
            )
            .expect("put segment");
    }

    /// The store key of a content object.
    pub fn object_key(hex: &str) -> String {
        format!("objects/sha256/{}/{}", &hex[..2], &hex[2..])
    }

    /// The replica directory a machine keeps for this archive (there is one).
    pub fn replica(&self, machine: &str) -> PathBuf {
        let dir = self.path(&format!("cache-{machine}/replicas"));
        let mut found: Vec<_> = std::fs::read_dir(&dir)
            .expect("replicas directory")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.is_dir()) // beside each replica: its creation lock, <replica>.lock
            .collect();
        assert_eq!(found.len(), 1, "one replica in {}", dir.display());
        found.remove(0)
    }

    /// Every document path `ls --json` lists, with its content digest.
    pub fn documents(&self, machine: &str) -> Vec<(String, String)> {
        let (code, stdout, stderr) = self.run_on(machine, &["ls", "--json"]);
        assert_eq!(code, 0, "ls: {stderr}");
        let listing: serde_json::Value = serde_json::from_str(&stdout).expect("ls --json");
        let items = listing
            .as_array()
            .or_else(|| listing["documents"].as_array())
            .cloned()
            .unwrap_or_default();
        let mut docs: Vec<_> = items
            .iter()
            .map(|d| {
                (
                    d["path"].as_str().unwrap_or_default().to_string(),
                    d["content"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        docs.sort();
        docs
    }
}

/// (exit code, stdout, stderr) of a finished run; fails on a panic or a signal.
pub fn decode(args: &[&str], out: &Output) -> (i32, String, String) {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "evidentia {args:?} panicked: {stderr}"
    );
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("evidentia {args:?} was killed by a signal: {stderr}"));
    (code, stdout, stderr)
}

/// The problem codes of a verify report.
pub fn codes(report: &serde_json::Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .map(|problems| {
            problems
                .iter()
                .filter_map(|p| p["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts that the segments tile the log: each starts where the previous one ended, from 0.
pub fn assert_no_gap_or_overlap(segments: &[(String, u64, Vec<Vec<u8>>)]) -> u64 {
    let mut next = 0u64;
    for (key, from, records) in segments {
        assert_eq!(
            *from, next,
            "segment {key} starts at {from}, expected {next}"
        );
        next += records.len() as u64;
    }
    next
}

/// Every file of a directory tree, relative path → bytes (for byte-identity checks).
pub fn tree_files(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).expect("under root");
                out.insert(
                    rel.to_string_lossy().into_owned(),
                    std::fs::read(&path).expect("read"),
                );
            }
        }
    }
    out
}
