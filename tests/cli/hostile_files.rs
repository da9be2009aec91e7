//! Hostile files in an archive or given on the command line: FIFOs, links to `/dev/zero`,
//! sparse files behind a huge `log/HEAD`, escape sequences in names and fields, tampered objects
//! under `cat`. Each case must end in seconds with a clear error, never hang, abort or pass
//! unverified bytes on.

use std::fs;
use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use crate::common::{added, mkfifo, Workspace};

/// Generous for a slow shared machine; a hang (the bug) would run forever.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the binary under a time limit; returns (exit code, stdout, stderr). A timeout, a
/// signal or a panic fails the test.
fn run_bounded(ws: &Workspace, args: &[&str]) -> (i32, String, String) {
    let out = ws
        .cmd()
        .args(args)
        .timeout(TIMEOUT)
        .output()
        .expect("run evidentia");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("{args:?} hung or was killed: {stdout} {stderr}"));
    (code, stdout, stderr)
}

/// Replaces `path` with a FIFO (`fifo`) or a symbolic link to `/dev/zero`.
fn replace_with_special(path: &Path, fifo: bool) {
    fs::remove_file(path).expect("remove the original");
    if fifo {
        mkfifo(path);
    } else {
        symlink("/dev/zero", path).expect("symlink to /dev/zero");
    }
}

/// An archive with one sealed document; returns the workspace and the document's digest.
fn sealed_archive() -> (Workspace, String) {
    let ws = Workspace::new();
    ws.write("case/statement.txt", "witness statement\n");
    let stdout = ws.add(&["case"]);
    ws.seal();
    let (hex, _) = added(&stdout).pop().expect("one document added");
    (ws, hex)
}

#[test]
fn fifos_and_dev_zero_links_in_an_archive_are_refused_not_read() {
    for fifo in [true, false] {
        let kind = if fifo { "FIFO" } else { "/dev/zero link" };
        for target in [
            "log/HEAD",
            "log/records",
            "log/tree/00",
            "checkpoints/0000000001",
            "archive.txt",
            "CONTENT",
        ] {
            let (ws, hex) = sealed_archive();
            let path = if target == "CONTENT" {
                ws.object_path(&hex)
            } else {
                ws.archive().join(target)
            };
            replace_with_special(&path, fifo);
            let (code, stdout, stderr) = run_bounded(&ws, &["verify", "--trust", "signer.pub"]);
            let all = format!("{stdout}{stderr}");
            assert_eq!(code, 1, "verify with a {kind} at {target}: {all}");
            assert!(
                all.contains("not a regular file"),
                "verify names the special file ({kind} at {target}): {all}"
            );
            for command in ["ls", "log"] {
                let (code, stdout, stderr) = run_bounded(&ws, &[command]);
                // Each command fails on the files it reads (ls reads no checkpoint and no
                // content) and names them; the others do not stop it.
                let reads = match target {
                    "CONTENT" => false,
                    "checkpoints/0000000001" => command == "log",
                    _ => true,
                };
                if !reads {
                    assert_eq!(code, 0, "{command} with a {kind} at {target}: {stderr}");
                    continue;
                }
                assert_eq!(
                    code, 1,
                    "{command} with a {kind} at {target}: {stdout}{stderr}"
                );
                assert!(
                    stderr.contains("not a regular file") && stderr.contains(target),
                    "{command} names {target} ({kind}): {stderr}"
                );
            }
        }
    }
}

#[test]
fn special_files_are_refused_as_pack_indexes_and_tokens() {
    let (ws, _) = sealed_archive();
    let packs = ws.archive().join("objects/packs");
    fs::create_dir_all(&packs).expect("packs dir");
    let name = "ab".repeat(32);
    mkfifo(&packs.join(format!("{name}.idx")));
    symlink("/dev/zero", packs.join(format!("{name}.pack"))).expect("symlink");
    let (code, report) = ws.verify_json();
    assert_eq!(code, 1, "{report}");
    assert!(
        Workspace::problem_codes(&report).contains(&"pack-unreadable".to_string()),
        "{report}"
    );
    assert!(
        report.to_string().contains("not a regular file"),
        "{report}"
    );

    // A time-stamp token that is a FIFO: reported, not waited on.
    let tokens = ws.archive().join("timestamps/0000000001");
    fs::create_dir_all(&tokens).expect("tokens dir");
    mkfifo(&tokens.join(format!("{}.tst", "cd".repeat(32))));
    let (code, report) = ws.verify_json();
    assert_eq!(code, 1, "{report}");
    assert!(
        Workspace::problem_codes(&report).contains(&"timestamp-unreadable".to_string()),
        "{report}"
    );
}

#[test]
fn special_files_in_a_bundle_are_refused_quickly() {
    for (file, fifo) in [
        ("data/checkpoint", true),
        ("data/bundle.json", false),
        ("bagit.txt", true),
    ] {
        let (ws, _) = sealed_archive();
        let (code, _, stderr) = run_bounded(&ws, &["export", "--out", "bundle", "--all"]);
        assert_eq!(code, 0, "{stderr}");
        replace_with_special(&ws.path("bundle").join(file), fifo);
        let (code, stdout, stderr) = run_bounded(
            &ws,
            &["verify", "bundle", "--trust", "signer.pub", "--json"],
        );
        assert_eq!(code, 1, "{file}: {stdout}{stderr}");
        assert!(stdout.contains("unsafe-entry"), "{file}: {stdout}");
    }
}

#[test]
fn user_named_special_files_are_refused_with_exit_2() {
    let (ws, _) = sealed_archive();
    mkfifo(&ws.path("trust.fifo"));
    symlink("/dev/zero", ws.path("zero.pub")).expect("symlink");
    for trust in ["trust.fifo", "zero.pub"] {
        let (code, stdout, stderr) = run_bounded(&ws, &["verify", "--trust", trust]);
        assert_eq!(code, 2, "verify --trust {trust}: {stdout}{stderr}");
        assert!(
            stderr.contains(trust) && stderr.contains("not a regular file"),
            "the error names {trust}: {stderr}"
        );
    }
    // A held checkpoint, a proof and a tar bundle named on the command line.
    for args in [
        vec!["verify", "--since", "trust.fifo", "--trust", "signer.pub"],
        vec!["verify-proof", "zero.pub", "--trust", "signer.pub"],
        vec!["verify", "trust.fifo", "--trust", "signer.pub"],
    ] {
        let (code, stdout, stderr) = run_bounded(&ws, &args);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
    }
    symlink("/dev/zero", ws.path("zero.key")).expect("symlink");
    let (code, _, stderr) = run_bounded(&ws, &["seal", "--key", "zero.key"]);
    assert_eq!(code, 2, "seal --key /dev/zero: {stderr}");
    assert!(stderr.contains("zero.key"), "{stderr}");
}

#[test]
fn a_passphrase_file_may_still_be_a_pipe() {
    let ws = Workspace::new();
    ws.write("pass.txt", "correct horse\n");
    ws.cmd()
        .args([
            "key",
            "generate",
            "--out",
            "locked",
            "--passphrase-file",
            "pass.txt",
        ])
        .assert()
        .success();
    ws.write("doc.txt", "a document\n");
    ws.add(&["doc.txt"]);
    let fifo = ws.path("pass.fifo");
    mkfifo(&fifo);
    let writer = std::thread::spawn(move || {
        let mut pipe = fs::OpenOptions::new()
            .write(true)
            .open(&fifo)
            .expect("open FIFO for writing");
        pipe.write_all(b"correct horse\n")
            .expect("write passphrase");
    });
    let (code, stdout, stderr) = run_bounded(
        &ws,
        &[
            "seal",
            "--key",
            "locked.key",
            "--passphrase-file",
            "pass.fifo",
        ],
    );
    writer.join().expect("writer thread");
    assert_eq!(
        code, 0,
        "seal with a passphrase from a pipe: {stdout}{stderr}"
    );
}

/// Claims `records` records in HEAD and stretches the log files to match without writing.
fn forge_huge_head(ws: &Workspace, records: u64) {
    let log = ws.archive().join("log");
    for file in ["records", "tree/00"] {
        let handle = fs::OpenOptions::new()
            .write(true)
            .open(log.join(file))
            .expect("open log file");
        handle.set_len(records * 32).expect("make it sparse");
    }
    fs::write(log.join("HEAD"), format!("{records}\n")).expect("write HEAD");
}

#[test]
fn a_huge_head_over_sparse_log_files_is_refused_before_allocating() {
    let (ws, hex) = sealed_archive();
    // 2^33 records: 256 GiB of record ids, a sparse file that costs no disk.
    forge_huge_head(&ws, 1 << 33);
    let (code, report) = ws.verify_json();
    assert_eq!(code, 1, "{report}");
    assert!(
        Workspace::problem_codes(&report).contains(&"log-unreadable".to_string()),
        "{report}"
    );
    assert!(report.to_string().contains("sparse"), "{report}");
    for args in [
        vec!["ls"],
        vec!["log"],
        vec!["show", hex.as_str()],
        vec!["history", "case/statement.txt"],
        vec!["export", "--out", "bundle", "--all"],
    ] {
        let (code, stdout, stderr) = run_bounded(&ws, &args);
        assert_eq!(code, 1, "{args:?}: {stdout}{stderr}");
        assert!(
            stderr.contains("log/records") && stderr.contains("sparse"),
            "{args:?} names the sparse file: {stderr}"
        );
    }
    assert!(!ws.path("bundle").exists(), "export left nothing behind");
}

#[test]
fn a_head_beyond_any_file_size_is_refused() {
    let (ws, _) = sealed_archive();
    fs::write(ws.archive().join("log/HEAD"), "18446744073709551615\n").expect("write HEAD");
    let (code, report) = ws.verify_json();
    assert_eq!(code, 1, "{report}");
    assert!(
        Workspace::problem_codes(&report).contains(&"log-unreadable".to_string()),
        "{report}"
    );
    let (code, _, stderr) = run_bounded(&ws, &["ls"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("log/HEAD"), "{stderr}");
}

#[test]
fn escape_sequences_in_file_names_never_reach_the_terminal() {
    let ws = Workspace::new();
    // A name that would clear the screen and one that reverses the rest of the line.
    ws.write("case/evil\u{1b}[2Jname.txt", "x");
    // Such names are recorded under an escaped path (tests/cli/names.rs); the exact name is
    // still shown, escaped for the terminal.
    let (code, stdout, stderr) = run_bounded(&ws, &["add", "case"]);
    let all = format!("{stdout}{stderr}");
    assert_eq!(code, 0, "{all}");
    assert!(
        !all.contains('\u{1b}'),
        "raw ESC reached the terminal: {all:?}"
    );
    assert!(all.contains("evil\\u{1b}[2Jname.txt"), "{all}");
    for args in [&["ls"][..], &["log"], &["show", "case/evil%1B[2Jname.txt"]] {
        let (code, stdout, stderr) = run_bounded(&ws, args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(
            !stdout.contains('\u{1b}'),
            "raw ESC from {args:?}: {stdout:?}"
        );
        assert!(
            stdout.contains("evil\\u{1b}[2Jname.txt"),
            "{args:?}: {stdout}"
        );
    }

    let ws = Workspace::new();
    ws.write("case/a\nPROBLEM fake.txt", "x");
    let (code, stdout, stderr) = run_bounded(&ws, &["add", "case"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        !stderr.lines().any(|l| l.starts_with("PROBLEM")),
        "a newline in a name started a line of its own: {stderr}"
    );
    assert!(stderr.contains("a\\u{a}PROBLEM fake.txt"), "{stderr}");
}

#[test]
fn escape_sequences_in_arguments_are_escaped_in_usage_errors() {
    let ws = Workspace::new();
    for args in [vec!["\u{1b}[2J"], vec!["show", "\u{1b}]0;owned\u{7}"]] {
        let (code, stdout, stderr) = run_bounded(&ws, &args);
        let all = format!("{stdout}{stderr}");
        assert_eq!(code, 2, "{args:?}: {all}");
        assert!(!all.contains('\u{1b}'), "raw ESC in {args:?}: {all:?}");
        // clap drops what it recognises as a terminal sequence; what is left is escaped.
        if args[0] == "show" {
            assert!(all.contains("\\u{1b}]0;owned\\u{7}"), "{args:?}: {all}");
        }
    }
}

#[test]
fn bidi_controls_in_names_and_fields_are_shown_escaped() {
    let ws = Workspace::new();
    let name = "case/invoice\u{202e}txt.exe";
    ws.write(name, "x");
    let (code, stdout, stderr) = run_bounded(
        &ws,
        &["add", "case", "--note", "seized \u{2066}here\u{2069}"],
    );
    let all = format!("{stdout}{stderr}");
    assert_eq!(code, 0, "{all}");
    assert!(
        !all.contains('\u{202e}'),
        "raw bidi override in add output: {all:?}"
    );
    let (hex, _) = added(&stdout).pop().expect("added");
    for args in [
        vec!["ls"],
        vec!["log"],
        vec!["history", name],
        vec!["show", hex.as_str()],
    ] {
        let (code, stdout, stderr) = run_bounded(&ws, &args);
        let all = format!("{stdout}{stderr}");
        assert_eq!(code, 0, "{args:?}: {all}");
        for raw in ['\u{202e}', '\u{2066}', '\u{2069}'] {
            assert!(!all.contains(raw), "{args:?} printed {raw:?} raw: {all:?}");
        }
    }
    let (_, stdout, _) = run_bounded(&ws, &["ls"]);
    assert!(stdout.contains("invoice\\u{202e}txt.exe"), "{stdout}");

    // JSON output too: serde_json leaves bidi characters (and DEL and C1 controls, which
    // records refuse) raw; ours writes them as \uXXXX and the decoded value is unchanged.
    for (args, kept) in [
        (vec!["ls", "--json"], '\u{202e}'),
        (vec!["show", hex.as_str(), "--json"], '\u{2066}'),
    ] {
        let (code, stdout, stderr) = run_bounded(&ws, &args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(
            !stdout
                .chars()
                .any(|c| matches!(c, '\u{2066}'..='\u{2069}' | '\u{202a}'..='\u{202e}')),
            "{args:?} printed a bidi control raw: {stdout:?}"
        );
        let value: serde_json::Value = serde_json::from_str(&stdout).expect("json");
        assert!(
            value.to_string().contains(kept),
            "{args:?} lost {kept:?}: {value}"
        );
    }
    let (_, stdout, _) = run_bounded(&ws, &["ls", "--json"]);
    assert!(stdout.contains("invoice\\u202etxt.exe"), "{stdout}");
}

#[test]
fn cat_writes_nothing_from_a_tampered_object() {
    let (ws, hex) = sealed_archive();
    let (code, stdout, _) = run_bounded(&ws, &["cat", &hex]);
    assert_eq!((code, stdout.as_str()), (0, "witness statement\n"));

    let path = ws.object_path(&hex);
    Workspace::make_writable(&path);
    fs::write(&path, "witness statement, altered\n").expect("tamper");
    let (code, stdout, stderr) = run_bounded(&ws, &["cat", &hex]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "tampered bytes were written: {stdout:?}");
    assert!(stderr.contains("damaged"), "{stderr}");

    let (code, _, stderr) = run_bounded(&ws, &["cat", &hex, "--out", "copy.txt"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        !ws.path("copy.txt").exists(),
        "a tampered copy was left at --out"
    );
    let leftovers: Vec<_> = fs::read_dir(ws.dir.path())
        .expect("list workspace")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".evidentia-cat-")
        })
        .collect();
    assert!(leftovers.is_empty(), "temporary file left behind");
}

#[test]
fn cat_sends_a_large_object_only_to_a_checked_file() {
    let ws = Workspace::new();
    // One byte over the 64 MiB that `cat` checks in memory.
    let big = vec![0x5au8; (64 << 20) + 1];
    ws.write("big.bin", &big);
    let stdout = ws.add(&["big.bin"]);
    let (hex, _) = added(&stdout).pop().expect("added");
    let (code, stdout, stderr) = run_bounded(&ws, &["cat", &hex]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "bytes written before a check");
    assert!(stderr.contains("--out"), "{stderr}");

    let (code, _, stderr) = run_bounded(&ws, &["cat", &hex, "--out", "big.copy"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        fs::read(ws.path("big.copy")).expect("copy") == big,
        "copy differs"
    );

    // An existing file is never replaced.
    let (code, _, stderr) = run_bounded(&ws, &["cat", &hex, "--out", "big.copy"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
}

#[test]
fn a_file_name_in_a_verify_report_cannot_print_a_line_of_its_own() {
    let (ws, _) = sealed_archive();
    ws.write("arc/checkpoints/x\nVERIFIED: all good\u{1b}[8m", "planted");
    let (code, stdout, stderr) = run_bounded(&ws, &["verify", "--trust", "signer.pub"]);
    let all = format!("{stdout}{stderr}");
    assert_eq!(code, 1, "{all}");
    assert!(
        !all.lines().any(|l| l.starts_with("VERIFIED")) && !all.contains('\u{1b}'),
        "the planted name reached the terminal raw: {all:?}"
    );
    assert!(all.contains("x\\u{a}VERIFIED: all good\\u{1b}[8m"), "{all}");
}
