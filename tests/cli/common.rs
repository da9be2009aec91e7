//! Shared helpers: a temporary workspace with an archive, a key and the binary.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use evidentia::core::digest::Digest;
use evidentia::core::merkle;

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
        ws.cmd().args(["init", "arc"]).assert().success();
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
            .env_remove("EVIDENTIA_KEY")
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

/// Helpers for tests that run the binary and tamper with archive files.
#[allow(dead_code)]
impl Workspace {
    /// Runs the binary with `args`; returns (exit code, stdout, stderr). Fails the test if the
    /// binary panicked: a hostile input must give an error, never a crash.
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_env(args, &[])
    }

    /// As [`Workspace::run`], with environment variables set.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut cmd = self.cmd();
        cmd.args(args).envs(env.iter().copied());
        let out = cmd.output().expect("run evidentia");
        let code = out.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !stderr.contains("panicked"),
            "evidentia {args:?} panicked: {stderr}"
        );
        assert!(
            code >= 0,
            "evidentia {args:?} was killed by a signal: {stderr}"
        );
        (code, stdout, stderr)
    }

    /// Runs the human-readable `verify` with the workspace's key trusted; returns (exit code,
    /// stdout and stderr together).
    pub fn verify_text(&self) -> (i32, String) {
        let (code, stdout, stderr) = self.run(&["verify", "--trust", "signer.pub"]);
        (code, format!("{stdout}{stderr}"))
    }

    /// The committed number of records (log/HEAD).
    pub fn log_size(&self) -> u64 {
        let text = fs::read_to_string(self.archive().join("log/HEAD")).expect("read HEAD");
        text.trim_end().parse().expect("HEAD is a number")
    }

    /// The record digests the log commits, in order.
    pub fn record_digests(&self) -> Vec<Digest> {
        read_entries(&self.archive().join("log/records"), self.log_size())
    }

    /// The stored leaf hashes (log/tree/00) the log commits, in order.
    pub fn leaf_hashes(&self) -> Vec<Digest> {
        read_entries(&self.archive().join("log/tree/00"), self.log_size())
    }

    /// Stores `bytes` as an object under their real digest, as an attacker with write access
    /// to the archive could; returns the digest.
    pub fn plant_object(&self, bytes: &[u8]) -> Digest {
        let digest = Digest::of(bytes);
        let path = self.object_path(&digest.to_hex());
        fs::create_dir_all(path.parent().expect("object directory")).expect("create dir");
        if path.exists() {
            Workspace::make_writable(&path);
        }
        fs::write(&path, bytes).expect("write object");
        digest
    }

    /// Rewrites the whole log consistently: log/records, every log/tree level computed from
    /// `leaves`, and log/HEAD. This is what a careful forger would do.
    pub fn rewrite_log(&self, records: &[Digest], leaves: &[Digest]) {
        assert_eq!(records.len(), leaves.len());
        let log = self.archive().join("log");
        write_entries(&log.join("records"), records);
        let mut level: Vec<Digest> = leaves.to_vec();
        let mut k = 0;
        while !level.is_empty() {
            write_entries(&log.join(format!("tree/{k:02}")), &level);
            level = level
                .chunks_exact(2)
                .map(|pair| merkle::node_hash(&pair[0], &pair[1]))
                .collect();
            k += 1;
        }
        let head = log.join("HEAD");
        Workspace::make_writable(&head);
        fs::write(&head, format!("{}\n", records.len())).expect("write HEAD");
    }

    /// Appends a record object holding `bytes` to the log, with a consistent tree; returns its
    /// digest.
    pub fn plant_record(&self, bytes: &[u8]) -> Digest {
        let digest = self.plant_object(bytes);
        let mut records = self.record_digests();
        let mut leaves = self.leaf_hashes();
        records.push(digest);
        leaves.push(merkle::leaf_hash(bytes));
        self.rewrite_log(&records, &leaves);
        digest
    }

    /// The file of checkpoint `number`.
    pub fn checkpoint_path(&self, number: u64) -> PathBuf {
        self.archive().join(format!("checkpoints/{number:010}"))
    }

    /// Writes a file's bytes, replacing it whatever its permissions.
    pub fn overwrite(path: &Path, bytes: impl AsRef<[u8]>) {
        if path.exists() {
            Workspace::make_writable(path);
        }
        fs::write(path, bytes).expect("overwrite file");
    }
}

fn read_entries(path: &Path, count: u64) -> Vec<Digest> {
    let bytes = fs::read(path).expect("read log file");
    bytes
        .chunks_exact(32)
        .take(count as usize)
        .map(|chunk| Digest::from_slice(chunk).expect("32 bytes"))
        .collect()
}

fn write_entries(path: &Path, entries: &[Digest]) {
    if path.exists() {
        Workspace::make_writable(path);
    }
    let bytes: Vec<u8> = entries.iter().flat_map(|d| d.0).collect();
    fs::write(path, bytes).expect("write log file");
}

/// True when python3 and openssl (what docs/verify-bundle.py needs) are installed. Prints a
/// notice when they are not; under CI=true their absence fails the test instead, since a skip
/// would hide a missing install step in .ci/run.
#[allow(dead_code)]
pub fn script_tools_present() -> bool {
    let found = |tool: &str, arg: &str| {
        std::process::Command::new(tool)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let all = found("python3", "--version") && found("openssl", "version");
    if !all {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but python3 or openssl is missing"
        );
        eprintln!("NOTICE: python3 or openssl is missing; docs/verify-bundle.py not run");
    }
    all
}

/// Runs `python3 docs/verify-bundle.py BUNDLE TRUST [PIN]`; returns (exit code, stdout and
/// stderr). Fails the test if the script crashed or ran for more than two minutes.
#[allow(dead_code)]
pub fn hand_check(bundle: &Path, trust: &Path, pin: Option<&str>) -> (i32, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/verify-bundle.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(bundle)
        .arg(trust)
        .args(pin)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run python3");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("Traceback"), "the script crashed:\n{text}");
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("verify-bundle.py was killed (timeout or signal):\n{text}"));
    (code, text)
}

/// The problem codes the script printed (`PROBLEM [code] item: detail` lines).
#[allow(dead_code)]
pub fn hand_check_codes(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("PROBLEM [")?.split_once(']'))
        .map(|(code, _)| code.to_string())
        .collect()
}

/// Makes a FIFO at `path` (a special file readers must refuse, never block on).
pub fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Runs `evidentia ARGS` on a pseudo-terminal (through util-linux `script`), typing `typed`;
/// None when `script` is not installed. Returns (exit code, everything the terminal showed).
pub fn on_terminal(ws: &Workspace, args: &str, typed: &str) -> Option<(i32, String)> {
    on_terminal_env(ws, args, typed, &[])
}

/// [`on_terminal`] with extra environment variables.
pub fn on_terminal_env(
    ws: &Workspace,
    args: &str,
    typed: &str,
    env: &[(&str, &str)],
) -> Option<(i32, String)> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let binary = assert_cmd::cargo::cargo_bin("evidentia");
    let mut child = Command::new("script")
        .args(["-qec", &format!("{} {args}", binary.display()), "/dev/null"])
        .current_dir(ws.dir.path())
        .env_remove("EVIDENTIA_PASSPHRASE")
        .env_remove("EVIDENTIA_KEY")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    // Typed ahead; stdin stays open until the command ends (an early end of input would hang
    // up the terminal).
    let mut stdin = child.stdin.take()?;
    stdin.write_all(typed.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    drop(stdin);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.code().unwrap_or(-1), text))
}
