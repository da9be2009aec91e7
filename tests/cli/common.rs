//! Shared helpers: a temporary workspace with an archive, a key and the binary.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A temporary directory holding an archive (`arc/`), an unencrypted key (`signer.key`,
/// `signer.pub`) and room for input files.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

#[allow(dead_code)]
impl Workspace {
    /// An empty workspace with an initialised archive and a signing key.
    pub fn new() -> Workspace {
        let ws = Workspace::bare();
        ws.cmd()
            .args(["init", "arc", "--name", "test"])
            .assert()
            .success();
        ws.cmd()
            .args(["key", "generate", "--out", "signer", "--unencrypted"])
            .assert()
            .success();
        ws
    }

    /// A workspace with nothing in it.
    pub fn bare() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn archive(&self) -> PathBuf {
        self.path("arc")
    }

    /// The binary, run in the workspace, with the archive selected and a clean environment.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("evidentia").expect("binary built");
        cmd.current_dir(self.dir.path())
            .env("EVIDENTIA_ARCHIVE", self.archive())
            .env_remove("EVIDENTIA_PASSPHRASE")
            .env_remove("EVIDENTIA_FAILPOINT");
        cmd
    }

    /// Writes a file (creating parent directories) and returns its path.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent");
        }
        fs::write(&path, contents).expect("write file");
        path
    }

    /// Adds paths (relative to the workspace) and expects success; returns stdout.
    pub fn add(&self, paths: &[&str]) -> String {
        let out = self.cmd().arg("add").args(paths).assert().success();
        String::from_utf8_lossy(&out.get_output().stdout).into_owned()
    }

    pub fn seal(&self) -> String {
        let out = self
            .cmd()
            .args(["seal", "--key", "signer.key"])
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stdout).into_owned()
    }

    /// Runs `verify --json` with the workspace's key trusted; returns (exit code, report).
    pub fn verify_json(&self) -> (i32, serde_json::Value) {
        let out = self
            .cmd()
            .args(["verify", "--json", "--trust", "signer.pub"])
            .output()
            .expect("run verify");
        let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "verify printed no JSON ({e}); stdout: {} stderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), report)
    }

    /// The problem codes in a verify report.
    pub fn problem_codes(report: &serde_json::Value) -> Vec<String> {
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

    /// Files under the archive's object store.
    pub fn object_path(&self, digest_hex: &str) -> PathBuf {
        self.archive()
            .join("objects/sha256")
            .join(&digest_hex[..2])
            .join(&digest_hex[2..])
    }

    /// Makes a read-only object writable so a test can tamper with it.
    pub fn make_writable(path: &Path) {
        let mut perms = fs::metadata(path).expect("metadata").permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        fs::set_permissions(path, perms).expect("set permissions");
    }
}

/// The `sha256:<hex>  <path>` lines that `add` prints, as (hex, path) pairs.
#[allow(dead_code)]
pub fn added(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("sha256:")?;
            let (hex, path) = rest.split_once("  ")?;
            Some((hex.to_string(), path.to_string()))
        })
        .collect()
}
