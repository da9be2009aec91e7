//! Crash safety and concurrency: an interrupted command leaves an archive that verifies (at
//! most the interrupted work is missing), and concurrent writers are serialised.

use std::process::{Command as StdCommand, Stdio};
use std::thread;
use std::time::Duration;

use crate::common::{added, Workspace};

fn log_size(ws: &Workspace) -> u64 {
    let text = std::fs::read_to_string(ws.archive().join("log/HEAD")).expect("HEAD");
    text.trim().parse().expect("HEAD number")
}

fn make_files(ws: &Workspace, dir: &str, count: usize) {
    for i in 0..count {
        ws.write(
            &format!("{dir}/file-{i:05}.txt"),
            format!("{dir} document {i}\n"),
        );
    }
}

/// Verify must pass (exit 0) after a crash; unsealed records are only a warning.
fn assert_verifies(ws: &Workspace) -> serde_json::Value {
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "archive does not verify after the crash: {report}");
    report
}

#[test]
fn crash_during_add_at_each_step_leaves_a_verifiable_archive() {
    crash_at_each_step(5);
}

#[test]
fn crash_during_a_packed_add_at_each_step_leaves_a_verifiable_archive() {
    // Enough documents for content and records to go into a pack.
    crash_at_each_step(300);
}

fn crash_at_each_step(count: u64) {
    for point in ["add-after-objects", "add-before-log", "log-before-head"] {
        let ws = Workspace::new();
        make_files(&ws, "first", 3);
        ws.add(&["first"]);
        ws.seal();
        make_files(&ws, "second", count as usize);
        let out = ws
            .cmd()
            .env("EVIDENTIA_FAILPOINT", point)
            .args(["add", "second"])
            .output()
            .expect("run add");
        assert!(
            !out.status.success(),
            "{point}: add should have been killed"
        );
        assert_eq!(
            log_size(&ws),
            3,
            "{point}: interrupted records must not be committed"
        );
        assert_verifies(&ws);
        // Running the command again completes the work exactly once.
        let stdout = ws.add(&["second"]);
        assert_eq!(added(&stdout).len() as u64, count);
        assert_eq!(log_size(&ws), 3 + count, "{point}");
        ws.seal();
        let report = assert_verifies(&ws);
        assert_eq!(report["sealed_records"], 3 + count, "{point}");
        assert_eq!(report["documents"], 3 + count, "{point}");
    }
}

#[test]
fn crash_before_checkpoint_write_loses_only_that_seal() {
    let ws = Workspace::new();
    make_files(&ws, "docs", 4);
    ws.add(&["docs"]);
    ws.seal();
    ws.write("later/extra.txt", "added after the first seal\n");
    ws.add(&["later"]);
    let out = ws
        .cmd()
        .env("EVIDENTIA_FAILPOINT", "seal-before-checkpoint")
        .args(["seal", "--key", "signer.key"])
        .output()
        .expect("run seal");
    assert!(!out.status.success());
    let report = assert_verifies(&ws);
    assert_eq!(report["checkpoints"].as_array().map(Vec::len), Some(1));
    assert_eq!(report["unsealed_records"], 1);
    let sealed = ws.seal();
    assert!(sealed.starts_with("checkpoint 2: 5 records"), "{sealed}");
    let report = assert_verifies(&ws);
    assert_eq!(report["unsealed_records"], 0);
}

#[test]
fn kill_at_random_moments_during_add_never_breaks_the_archive() {
    let ws = Workspace::new();
    // A sealed baseline, so that an add that completes before the kill also verifies.
    ws.write("base/first.txt", "baseline\n");
    ws.add(&["base"]);
    ws.seal();
    // Large enough to be packed, so the kills land in the pack writer as well as the log.
    make_files(&ws, "bulk", 6000);
    let binary = assert_cmd::cargo::cargo_bin("evidentia");
    let mut interrupted = 0;
    for delay_ms in [2u64, 10, 25, 50, 100, 200] {
        let mut child = StdCommand::new(&binary)
            .current_dir(ws.dir.path())
            .env("EVIDENTIA_ARCHIVE", ws.archive())
            .args(["add", "bulk"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn add");
        thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL: no cleanup runs
        let status = child.wait().expect("wait for add");
        if !status.success() {
            interrupted += 1;
        }
        assert_verifies(&ws);
    }
    assert!(
        interrupted > 0,
        "no add was interrupted; the test proves nothing"
    );
    ws.add(&["bulk"]);
    assert_eq!(log_size(&ws), 6001, "each file recorded exactly once");
    ws.seal();
    let report = assert_verifies(&ws);
    assert_eq!(report["documents"], 6001);
}

#[test]
fn concurrent_adds_are_serialised_and_nothing_is_lost() {
    let ws = Workspace::new();
    make_files(&ws, "left", 400);
    make_files(&ws, "right", 400);
    let spawn = |dir: &str| {
        ws.cmd()
            .args(["add", dir])
            .timeout(Duration::from_secs(120))
            .output()
            .expect("run add")
    };
    let (a, b, c) = thread::scope(|s| {
        let a = s.spawn(|| spawn("left"));
        let b = s.spawn(|| spawn("right"));
        // The same directory twice at once: each file must still be recorded only once.
        let c = s.spawn(|| spawn("left"));
        (a.join(), b.join(), c.join())
    });
    for out in [a, b, c] {
        let out = out.expect("thread");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(log_size(&ws), 800);
    let (code, report) = {
        ws.seal();
        ws.verify_json()
    };
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["documents"], 800);
}

#[test]
fn seal_waits_for_a_running_add() {
    let ws = Workspace::new();
    make_files(&ws, "batch", 1500);
    ws.write("first.txt", "first\n");
    ws.add(&["first.txt"]);
    let (add, seal) = thread::scope(|s| {
        let add = s.spawn(|| ws.cmd().args(["add", "batch"]).output().expect("add"));
        thread::sleep(Duration::from_millis(30));
        let seal = s.spawn(|| {
            ws.cmd()
                .args(["seal", "--key", "signer.key"])
                .output()
                .expect("seal")
        });
        (
            add.join().expect("add thread"),
            seal.join().expect("seal thread"),
        )
    });
    assert!(add.status.success());
    assert!(
        seal.status.success(),
        "{}",
        String::from_utf8_lossy(&seal.stderr)
    );
    // The seal covered either only the first record or everything, never a torn state.
    let report = assert_verifies(&ws);
    let sealed = report["sealed_records"].as_u64().unwrap_or(0);
    assert!(sealed == 1 || sealed == 1501, "sealed {sealed}");
}

/// Runs `args` with the process aborted at `point` (no cleanup runs, as under kill -9).
fn crash_at(ws: &Workspace, point: &str, args: &[&str]) {
    let out = ws
        .cmd()
        .env("EVIDENTIA_FAILPOINT", point)
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .expect("run evidentia");
    assert!(
        !out.status.success(),
        "{point}: {args:?} should have been killed"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("failpoint {point}")),
        "{point}: {stderr}"
    );
}

fn sealed_case() -> Workspace {
    let ws = Workspace::new();
    make_files(&ws, "docs", 4);
    ws.add(&["docs"]);
    ws.seal();
    ws
}

#[test]
fn export_killed_before_its_bundle_is_placed_leaves_nothing_at_out() {
    let cases = [
        ("export-mid-copy", false),
        ("export-before-place", false),
        ("export-mid-tar", true),
        ("export-before-place", true),
    ];
    for (point, tar) in cases {
        let ws = sealed_case();
        let mut args = vec!["export", "--all", "--out", "bundle"];
        if tar {
            args.extend(["--format", "tar"]);
        }
        crash_at(&ws, point, &args);
        assert!(
            !ws.path("bundle").exists(),
            "{point}: partial output at --out"
        );
        // What the kill left is a clearly named temporary beside --out, never at it.
        for entry in std::fs::read_dir(ws.dir.path()).expect("workspace") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            assert!(
                ["arc", "docs", "signer.key", "signer.pub"].contains(&name.as_str())
                    || name.starts_with(".evidentia-export-")
                    || name.starts_with(".evidentia-out-"),
                "{point}: unexpected leftover {name}"
            );
        }
        assert_eq!(
            log_size(&ws),
            4,
            "{point}: an export that did not happen was logged"
        );
        assert_verifies(&ws);
        // The re-run ignores the leftover and completes.
        ws.cmd().args(&args).assert().success();
        ws.cmd()
            .args(["verify", "bundle", "--trust", "signer.pub"])
            .assert()
            .success();
        assert_eq!(log_size(&ws), 5, "{point}: the export was not logged");
    }
}

/// Killed after the bundle is in place but before its custody record is logged: the bundle is
/// complete and verifies, the archive verifies, but the export is missing from the custody log
/// and a re-run refuses the existing --out (docs/RELIABILITY.md lists this gap).
#[test]
fn export_killed_before_its_custody_record_leaves_a_complete_unlogged_bundle() {
    let ws = sealed_case();
    let args = ["export", "--all", "--out", "bundle"];
    crash_at(&ws, "export-before-custody", &args);
    ws.cmd()
        .args(["verify", "bundle", "--trust", "signer.pub"])
        .assert()
        .success();
    assert_eq!(log_size(&ws), 4);
    assert_verifies(&ws);
    let out = ws.cmd().args(args).output().expect("re-run export");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bundle"));
    std::fs::remove_dir_all(ws.path("bundle")).expect("remove the unlogged bundle");
    ws.cmd().args(args).assert().success();
    assert_eq!(log_size(&ws), 5);
}

#[test]
fn timestamp_attach_killed_before_the_token_is_stored_leaves_no_token() {
    let Some(setup) = crate::timestamps::setup() else {
        return;
    };
    let ws = &setup.ws;
    let (_, tsr) = crate::timestamps::reply(&setup, &setup.tsa, 2, "c2");
    let attach = ["timestamp", "attach", tsr.to_str().expect("UTF-8 path")];
    crash_at(ws, "timestamp-before-store", &attach);
    let folder = ws.archive().join("timestamps/0000000002");
    let stored = std::fs::read_dir(&folder).map_or(0, |entries| entries.count());
    assert_eq!(stored, 0, "a token or temporary file was left");
    assert_verifies(ws);
    ws.cmd().args(attach).assert().success();
    assert_eq!(std::fs::read_dir(&folder).expect("tokens").count(), 1);
    assert_verifies(ws);
}
