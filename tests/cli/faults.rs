//! Fault injection at the file-system layer: tests/faultfs/faultfs.c, an LD_PRELOAD shim
//! compiled here with `cc`, makes chosen libc calls (write, fsync, rename, open with O_CREAT,
//! mkdir) fail with EIO, ENOSPC or EACCES, or write short, on chosen paths. Every writing
//! command, at every file it writes, must then fail cleanly (exit 2, the file and the OS error
//! named, no panic, no success line), lose nothing sealed before, and complete when re-run.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::common::Workspace;

/// The compiled shim, built once per test run.
pub(crate) fn shim() -> &'static Path {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/faultfs/faultfs.c");
        let dir = tempfile::tempdir().expect("temporary directory").keep();
        let lib = dir.join("libfaultfs.so");
        let out = std::process::Command::new("cc")
            .args(["-shared", "-fPIC", "-O1", "-o"])
            .arg(&lib)
            .arg(&source)
            .arg("-ldl")
            .output()
            .unwrap_or_else(|e| {
                panic!("the fault-injection tests need a C compiler: running `cc` failed: {e}")
            });
        assert!(
            out.status.success(),
            "compiling {} failed:\n{}",
            source.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        lib
    })
}

/// One injected fault: which calls fail, on which paths, how.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fault {
    /// write | fsync | rename | open-create | mkdir
    pub op: &'static str,
    /// A substring of the paths whose calls fail.
    pub path: &'static str,
    /// EIO | ENOSPC | EACCES
    pub errno: &'static str,
    /// A short write first (half written), then ENOSPC.
    pub short: bool,
    /// Which matching call fails first (1: the first); every later one fails too.
    pub nth: u32,
}

impl Fault {
    /// The text the OS gives for the error, which the message must carry.
    fn os_text(&self) -> &'static str {
        match (self.short, self.errno) {
            (true, _) | (_, "ENOSPC") => "No space left on device",
            (_, "EIO") => "Input/output error",
            (_, "EACCES") => "Permission denied",
            (_, other) => panic!("no text known for {other}"),
        }
    }
}

/// The faults tried for each kind of call: a failing write three ways (EIO, ENOSPC, a short
/// write then ENOSPC), and one failure for each other call.
pub(crate) fn faults(op: &'static str, path: &'static str) -> Vec<Fault> {
    let fault = |errno, short| Fault {
        op,
        path,
        errno,
        short,
        nth: 1,
    };
    match op {
        "write" => vec![
            fault("EIO", false),
            fault("ENOSPC", false),
            fault("ENOSPC", true),
        ],
        "open-create" | "mkdir" => vec![fault("EACCES", false)],
        _ => vec![fault("EIO", false)],
    }
}

/// Where a command writes: the calls made there, a substring of the path, the part of it the
/// error message must name, and what a fault there must lead to.
pub(crate) struct Target {
    pub ops: &'static [&'static str],
    pub path: &'static str,
    pub names: &'static str,
    pub outcome: Outcome,
}

/// What a fault at a target must lead to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Exit 2, nothing committed; a re-run without the fault does the work.
    Refused,
    /// The work is committed and durable; only derived data (the index) failed: exit 0 with a
    /// warning naming the file and the error. The next command rebuilds what failed.
    Warned,
}

/// What a faulted run did.
pub(crate) struct Faulted {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the binary with `fault` injected. Fails the test unless the shim was loaded and the
/// fault really happened, so a binary that bypasses the shim can never pass silently.
pub(crate) fn run_faulted(ws: &Workspace, fault: &Fault, args: &[&str]) -> Faulted {
    let log = ws.path("faultfs.log");
    let _ = std::fs::remove_file(&log);
    let mut cmd = ws.cmd();
    cmd.env("LD_PRELOAD", shim())
        .env("FAULTFS_OP", fault.op)
        .env("FAULTFS_PATH", fault.path)
        .env("FAULTFS_ERRNO", fault.errno)
        .env("FAULTFS_NTH", fault.nth.to_string())
        .env("FAULTFS_LOG", &log)
        .timeout(Duration::from_secs(30))
        .args(args);
    if fault.short {
        cmd.env("FAULTFS_SHORT", "1");
    }
    let out = cmd.output().expect("run evidentia");
    let injected = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        injected.starts_with("loaded"),
        "the fault-injection shim was not loaded into evidentia (a static binary?): {args:?}"
    );
    assert!(
        injected.contains("injected"),
        "{fault:?} never fired during {args:?}: the command no longer writes there; log:\n{injected}"
    );
    Faulted {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The command failed as it must: exit 2, no panic, nothing claimed done, and a message naming
/// the file at fault (by `names`, a part of its path) and the OS error.
pub(crate) fn assert_clean_failure(run: &Faulted, fault: &Fault, names: &str, what: &str) {
    let context = format!(
        "{what} under {fault:?}\nstdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "panic: {context}");
    assert_eq!(run.code, 2, "exit code: {context}");
    assert!(
        run.stderr.contains(fault.os_text()),
        "OS error not named: {context}"
    );
    assert!(
        run.stderr.contains(names),
        "file not named ({names}): {context}"
    );
}

/// A sealed archive (three documents, checkpoint 1) and a fourth document on disk, not added.
pub(crate) fn sealed_workspace() -> Workspace {
    let ws = Workspace::new();
    for i in 1..=3 {
        ws.write(&format!("docs/d{i}.txt"), format!("document {i}\n"));
    }
    ws.add(&["docs"]);
    ws.seal();
    ws.write("docs/d4.txt", "document 4, added later\n");
    ws
}

/// `ls` and `log` as the user sees them.
pub(crate) fn listing(ws: &Workspace) -> (String, String) {
    let (code_ls, ls, _) = ws.run(&["ls"]);
    let (code_log, log, _) = ws.run(&["log"]);
    assert_eq!((code_ls, code_log), (0, 0), "ls or log failed: {ls} {log}");
    (ls, log)
}

/// Nothing sealed is lost: the archive verifies with the key trusted, and every line `ls` and
/// `log` showed before is still shown.
pub(crate) fn assert_nothing_lost(ws: &Workspace, before: &(String, String), what: &str) {
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{what}: the archive no longer verifies: {report}");
    let after = listing(ws);
    for (old, new) in [(&before.0, &after.0), (&before.1, &after.1)] {
        // Sealing is the one change a line may see: its records are no longer "not yet sealed".
        for line in old.lines().filter(|l| !l.contains("not yet sealed")) {
            assert!(new.contains(line), "{what}: lost `{line}`; now:\n{new}");
        }
    }
}

/// One writing command of the matrix: how to prepare its archive, its arguments, and the check
/// that a fault-free re-run completed its work.
struct Operation {
    name: &'static str,
    prepare: fn(&Workspace),
    args: &'static [&'static str],
    done: fn(&Workspace),
}

fn no_preparation(_: &Workspace) {}

fn add_fourth(ws: &Workspace) {
    ws.add(&["docs/d4.txt"]);
}

fn fourth_is_listed(ws: &Workspace) {
    let (ls, _) = listing(ws);
    assert!(ls.contains("docs/d4.txt"), "d4 not recorded:\n{ls}");
}

fn everything_sealed(ws: &Workspace) {
    let (_, report) = ws.verify_json();
    assert_eq!(report["unsealed_records"], 0, "{report}");
    assert_eq!(report["documents"], 4, "{report}");
}

fn annotated(ws: &Workspace) {
    let (code, out, err) = ws.run(&["annotations", "docs/d1.txt"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("under fault"), "annotation missing:\n{out}");
}

fn custody_logged(ws: &Workspace) {
    let (code, out, err) = ws.run(&["history", "docs/d1.txt"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("faulty-actor"),
        "custody event missing:\n{out}"
    );
}

const ADD: Operation = Operation {
    name: "add",
    prepare: no_preparation,
    args: &["add", "docs"],
    done: fourth_is_listed,
};

const RETRACT: Operation = Operation {
    name: "retract",
    prepare: no_preparation,
    args: &[
        "retract",
        "docs/d2.txt",
        "--reason",
        "retracted under fault",
    ],
    done: retracted,
};

fn retracted(ws: &Workspace) {
    let (code, out, err) = ws.run(&["history", "docs/d2.txt"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("retracted under fault"),
        "retraction missing:\n{out}"
    );
}

/// An add of more than `PACK_MIN_OBJECTS` (256) new documents, which go into one pack.
const PACKED_ADD: Operation = Operation {
    name: "packed add",
    prepare: write_bulk,
    args: &["add", "bulk"],
    done: bulk_is_listed,
};

const BULK: usize = 300;

fn write_bulk(ws: &Workspace) {
    for i in 1..=BULK {
        ws.write(&format!("bulk/b{i:03}.txt"), format!("bulk document {i}\n"));
    }
}

fn bulk_is_listed(ws: &Workspace) {
    let (ls, _) = listing(ws);
    let listed = ls.lines().filter(|l| l.contains("bulk/b")).count();
    assert_eq!(listed, BULK, "bulk documents not all recorded:\n{ls}");
}

const SEAL: Operation = Operation {
    name: "seal",
    prepare: add_fourth,
    args: &["seal", "--key", "signer.key"],
    done: everything_sealed,
};

const ANNOTATE: Operation = Operation {
    name: "annotate",
    prepare: no_preparation,
    args: &["annotate", "docs/d1.txt", "--body", "written under fault"],
    done: annotated,
};

const CUSTODY: Operation = Operation {
    name: "custody",
    prepare: no_preparation,
    args: &[
        "custody",
        "docs/d1.txt",
        "--event",
        "accessed",
        "--actor",
        "faulty-actor",
    ],
    done: custody_logged,
};

/// Runs `operation` under each fault at each of `targets`, then checks the archive and
/// re-runs without the fault.
fn matrix(operation: &Operation, targets: &[Target]) {
    for target in targets {
        for fault in target.ops.iter().flat_map(|op| faults(op, target.path)) {
            let what = format!("{} with {fault:?}", operation.name);
            let ws = sealed_workspace();
            (operation.prepare)(&ws);
            let before = listing(&ws);
            let size = ws.log_size();
            let run = run_faulted(&ws, &fault, operation.args);
            match target.outcome {
                Outcome::Refused => {
                    assert_clean_failure(&run, &fault, target.names, &what);
                    assert_eq!(
                        ws.log_size(),
                        size,
                        "{what}: records committed after a failure"
                    );
                    assert_nothing_lost(&ws, &before, &what);
                    let (code, out, err) = ws.run(operation.args);
                    assert_eq!(code, 0, "{what}: the re-run failed: {out} {err}");
                }
                Outcome::Warned => {
                    assert_warned(&run, &fault, target.names, &what);
                    assert_nothing_lost(&ws, &before, &what);
                }
            }
            (operation.done)(&ws);
            let (code, report) = ws.verify_json();
            assert_eq!(code, 0, "{what}: after the re-run: {report}");
        }
    }
}

/// The command succeeded and warned about the failed file, naming it and the OS error.
fn assert_warned(run: &Faulted, fault: &Fault, names: &str, what: &str) {
    let context = format!("{what}\nstdout: {}\nstderr: {}", run.stdout, run.stderr);
    assert_eq!(run.code, 0, "exit code: {context}");
    let warning = run.stderr.lines().find(|l| l.contains("warning:"));
    let warning = warning.unwrap_or_else(|| panic!("no warning: {context}"));
    assert!(
        warning.contains(fault.os_text()),
        "OS error not named: {context}"
    );
    assert!(
        warning.contains(names),
        "file not named ({names}): {context}"
    );
}

const CREATE_WRITE_RENAME: &[&str] = &["open-create", "write", "fsync", "rename"];
const CREATE_WRITE: &[&str] = &["open-create", "write"];

/// The files every record-appending command writes: the new objects (written, renamed into
/// the store, then one syncfs), the log's entry files (written in place, one syncfs), HEAD
/// (replaced atomically) and the index runs.
const RECORD_FILES: &[Target] = &[
    Target {
        ops: &["open-create", "write", "rename"],
        path: "arc/objects/tmp",
        names: "arc/objects",
        outcome: Outcome::Refused,
    },
    Target {
        ops: &["fsync"],
        path: "arc/objects/sha256",
        names: "arc/objects/sha256",
        outcome: Outcome::Refused,
    },
    Target {
        ops: CREATE_WRITE,
        path: "arc/log/records",
        names: "arc/log/records",
        outcome: Outcome::Refused,
    },
    Target {
        ops: CREATE_WRITE,
        path: "arc/log/tree/00",
        names: "arc/log/tree/00",
        outcome: Outcome::Refused,
    },
    Target {
        ops: CREATE_WRITE_RENAME,
        path: "arc/log/.tmp-",
        names: "arc/log",
        outcome: Outcome::Refused,
    },
    Target {
        ops: &["fsync"],
        path: "arc/log",
        names: "arc/log",
        outcome: Outcome::Refused,
    },
    Target {
        ops: CREATE_WRITE_RENAME,
        path: "arc/index/",
        names: "arc/index",
        outcome: Outcome::Warned,
    },
];

/// What `seal` writes: the reference map's files (in place) and the checkpoint (atomically).
const SEAL_FILES: &[Target] = &[
    Target {
        ops: &["open-create", "write", "fsync"],
        path: "arc/log/refmap/",
        names: "arc/log/refmap/",
        outcome: Outcome::Refused,
    },
    Target {
        ops: CREATE_WRITE_RENAME,
        path: "arc/checkpoints/",
        names: "arc/checkpoints",
        outcome: Outcome::Refused,
    },
];

/// What a packed add writes besides the record files: the pack and its index (temporary
/// files, synced, renamed into `objects/packs/`), then the packs directory's sync.
const PACK_FILES: &[Target] = &[
    Target {
        ops: &["open-create", "write", "fsync", "rename"],
        path: "arc/objects/tmp/pack-",
        names: "arc/objects/",
        outcome: Outcome::Refused,
    },
    Target {
        ops: &["open-create", "write", "fsync", "rename"],
        path: "arc/objects/tmp/idx-",
        names: "arc/objects/",
        outcome: Outcome::Refused,
    },
    Target {
        ops: &["fsync"],
        path: "arc/objects/packs",
        names: "arc/objects/packs",
        outcome: Outcome::Refused,
    },
];

#[test]
fn retract_fails_cleanly_at_every_file_it_writes() {
    matrix(&RETRACT, RECORD_FILES);
}

/// Files written with `--out` (a proof, `cat --out`) go through a temporary file beside the
/// target, synced and renamed without replacing anything: a fault at any step leaves nothing
/// at the target and no temporary file, and the archive is untouched.
#[test]
fn outputs_fail_cleanly_and_leave_nothing() {
    let ws = sealed_workspace();
    let (code, out, err) = ws.run(&["ls", "--json"]);
    assert_eq!(code, 0, "{err}");
    let docs: serde_json::Value = serde_json::from_str(&out).expect("ls json");
    let digest = docs["documents"][0]["content"]
        .as_str()
        .expect("content")
        .to_string();
    let commands: [&[&str]; 2] = [
        &["prove", "docs/d1.txt", "--out", "out-file"],
        &["cat", digest.as_str(), "--out", "out-file"],
    ];
    for args in commands {
        for op in ["open-create", "write", "fsync", "rename"] {
            for fault in faults(op, ".evidentia-out-") {
                let before = listing(&ws);
                let run = run_faulted(&ws, &fault, args);
                let what = format!("{args:?}");
                // The rename's error names the target; the others the temporary file.
                let names = if op == "rename" {
                    "out-file"
                } else {
                    ".evidentia-out-"
                };
                assert_clean_failure(&run, &fault, names, &what);
                assert!(
                    !ws.path("out-file").exists(),
                    "{what} {fault:?}: output left"
                );
                let leftovers: Vec<_> = std::fs::read_dir(ws.path("."))
                    .expect("workspace")
                    .filter_map(|e| e.ok())
                    .filter(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .starts_with(".evidentia-out-")
                    })
                    .collect();
                assert!(
                    leftovers.is_empty(),
                    "{what} {fault:?}: temporary left: {leftovers:?}"
                );
                assert_nothing_lost(&ws, &before, &what);
            }
        }
        let (code, out, err) = ws.run(args);
        assert_eq!(code, 0, "{args:?} without a fault: {out} {err}");
        assert!(ws.path("out-file").exists());
        std::fs::remove_file(ws.path("out-file")).expect("remove output");
    }
}

#[test]
fn packed_add_fails_cleanly_at_every_file_it_writes() {
    matrix(&PACKED_ADD, PACK_FILES);
}

#[test]
fn add_fails_cleanly_at_every_file_it_writes() {
    matrix(&ADD, RECORD_FILES);
}

#[test]
fn annotate_fails_cleanly_at_every_file_it_writes() {
    matrix(&ANNOTATE, RECORD_FILES);
}

#[test]
fn custody_fails_cleanly_at_every_file_it_writes() {
    matrix(&CUSTODY, RECORD_FILES);
}

#[test]
fn seal_fails_cleanly_at_every_file_it_writes() {
    matrix(&SEAL, SEAL_FILES);
}

#[test]
fn a_failing_mkdir_under_add_is_named_and_nothing_is_lost() {
    let fault = Fault {
        op: "mkdir",
        path: "arc/objects/sha256/",
        errno: "EACCES",
        short: false,
        nth: 1,
    };
    let ws = sealed_workspace();
    let before = listing(&ws);
    let run = run_faulted(&ws, &fault, ADD.args);
    assert_clean_failure(&run, &fault, "arc/objects/sha256/", "add");
    assert_nothing_lost(&ws, &before, "add with a failing mkdir");
    ws.add(&["docs"]);
    fourth_is_listed(&ws);
}

/// The directory's fsync after a file is renamed into place fails: the change is visible, so
/// the command fails saying it was made and must not be repeated (a re-run would record it
/// twice), and the archive holds it and verifies.
#[test]
fn a_failing_fsync_after_the_commit_says_the_work_was_done() {
    let cases = [
        (&ADD, "arc/log$", 2, "arc/log/HEAD"),
        (&CUSTODY, "arc/log$", 2, "arc/log/HEAD"),
        (&SEAL, "arc/checkpoints$", 1, "arc/checkpoints/0000000002"),
    ];
    for (operation, path, nth, names) in cases {
        let fault = Fault {
            op: "fsync",
            path,
            errno: "EIO",
            short: false,
            nth,
        };
        let what = format!("{} with {fault:?}", operation.name);
        let ws = sealed_workspace();
        (operation.prepare)(&ws);
        let before = listing(&ws);
        let run = run_faulted(&ws, &fault, operation.args);
        assert_clean_failure(&run, &fault, names, &what);
        assert!(
            run.stderr.contains("do not repeat the command"),
            "{what}: {}",
            run.stderr
        );
        assert_nothing_lost(&ws, &before, &what);
        (operation.done)(&ws);
    }
}

/// A disk that returns EIO while reading: every reader reports it, naming the file and the
/// error, never as VERIFIED, never as tampering, and never with unchecked bytes on stdout;
/// with the disk healthy again the archive verifies.
#[test]
fn read_faults_are_reported_never_hidden() {
    let ws = sealed_workspace();
    write_bulk(&ws);
    ws.add(&["bulk"]);
    ws.seal();
    let digest = {
        let (code, out, err) = ws.run(&["ls", "--json"]);
        assert_eq!(code, 0, "{err}");
        let docs: serde_json::Value = serde_json::from_str(&out).expect("ls json");
        let doc = docs["documents"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["path"] == "bulk/b007.txt"))
            .expect("bulk/b007.txt listed");
        doc["content"].as_str().expect("content").to_string()
    };
    let read = |path| Fault {
        op: "read",
        path,
        errno: "EIO",
        short: false,
        nth: 1,
    };
    let cases: [(Fault, &[&str], i32, &str); 6] = [
        (
            read(".pack"),
            &["verify", "--trust", "signer.pub"],
            1,
            "record-unreadable",
        ),
        (
            read("arc/objects/sha256/"),
            &["verify", "--trust", "signer.pub"],
            1,
            "record-unreadable",
        ),
        (
            read("arc/log/records"),
            &["verify", "--trust", "signer.pub"],
            1,
            "log-unreadable",
        ),
        (read(".pack"), &["cat", digest.as_str()], 2, ".pack"),
        (read(".pack"), &["ls"], 2, ".pack"),
        (
            read(".pack"),
            &["export", "--all", "--recipient", "court", "--out", "bundle"],
            2,
            ".pack",
        ),
    ];
    for (fault, args, expected, named) in cases {
        let run = run_faulted(&ws, &fault, args);
        let all = format!("{}{}", run.stdout, run.stderr);
        let what = format!("{args:?} under {fault:?}: {all}");
        assert!(!all.contains("panicked"), "panic: {what}");
        assert_eq!(run.code, expected, "exit code: {what}");
        assert!(all.contains(fault.os_text()), "OS error not named: {what}");
        assert!(all.contains(named), "{named} not named: {what}");
        assert!(!all.contains("VERIFIED"), "claimed verified: {what}");
        // A read error is not evidence of alteration.
        for code in [
            "record-corrupt",
            "content-corrupt",
            "does not match its name",
        ] {
            assert!(
                !all.contains(code),
                "a read error reported as {code}: {what}"
            );
        }
        if args[0] == "cat" {
            assert!(run.stdout.is_empty(), "cat wrote bytes: {what}");
        }
        assert!(!ws.path("bundle").exists(), "export left a bundle: {what}");
    }
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "the healthy archive must verify: {report}");
}
