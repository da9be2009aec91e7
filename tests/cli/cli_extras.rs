//! The rest of a good CLI: shell completions, manual pages, progress bars on a terminal, and
//! Ctrl-C (SIGINT) stopping a long command at a safe point with a line saying what was kept.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{on_terminal_env, Workspace};

const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "elvish", "powershell"];

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    let ws = Workspace::bare();
    for shell in SHELLS {
        let (code, script, err) = ws.run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        for sub in ["add", "verify", "export", "mirror", "completions"] {
            assert!(script.contains(sub), "{shell} completions lack {sub}");
        }
    }
    let (_, bash, _) = ws.run(&["completions", "bash"]);
    let script = ws.write("evidentia.bash", bash);
    let checked = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("bash runs");
    assert!(
        checked.status.success(),
        "bash -n rejects the completion script: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let (code, _, err) = ws.run(&["completions", "tcsh"]);
    assert_eq!(code, 2, "an unknown shell is bad usage: {err}");
}

#[test]
fn man_writes_one_page_per_command_and_refuses_to_overwrite() {
    let ws = Workspace::bare();
    let (code, _, err) = ws.run(&["man", "--out", "man"]);
    assert_eq!(code, 0, "{err}");
    let mut pages: Vec<String> = std::fs::read_dir(ws.path("man"))
        .expect("man directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for page in [
        "evidentia.1",
        "evidentia-add.1",
        "evidentia-verify.1",
        "evidentia-key-generate.1",
        "evidentia-timestamp-request.1",
        "evidentia-man.1",
    ] {
        assert!(pages.iter().any(|p| p == page), "no {page} in {pages:?}");
    }
    assert!(!pages.iter().any(|p| p.contains("help")), "{pages:?}");
    let add = std::fs::read_to_string(ws.path("man/evidentia-add.1")).expect("page");
    assert!(
        add.contains(".TH") && add.contains("evidentia\\-add"),
        "{add}"
    );
    assert!(add.contains("collected"), "options are documented: {add}");

    // One existing page refuses the whole run, before anything is written.
    std::fs::remove_dir_all(ws.path("man")).expect("remove");
    ws.write("man/evidentia-verify.1", "mine");
    let (code, _, err) = ws.run(&["man", "--out", "man"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("evidentia-verify.1 already exists") && err.contains("--force"),
        "{err}"
    );
    assert!(
        !ws.path("man/evidentia.1").exists(),
        "a page was written before the refusal"
    );
    assert_eq!(
        std::fs::read(ws.path("man/evidentia-verify.1")).expect("kept"),
        b"mine"
    );

    let (code, _, err) = ws.run(&["man", "--out", "man", "--force"]);
    assert_eq!(code, 0, "{err}");
    let verify = std::fs::read_to_string(ws.path("man/evidentia-verify.1")).expect("page");
    assert!(verify.contains(".TH"), "{verify}");
}

/// A workspace whose archive holds one sealed document, and `many/` with `n` files to add.
fn with_many_files(n: usize) -> Workspace {
    let ws = Workspace::new();
    ws.write("first.txt", "sealed before");
    ws.add(&["first.txt"]);
    ws.seal();
    for i in 0..n {
        ws.write(&format!("many/file-{i:04}.txt"), format!("document {i}\n"));
    }
    ws
}

const SLOW: [(&str, &str); 1] = [("EVIDENTIA_FAILPOINT", "slow-checks")];

#[test]
fn a_progress_bar_is_drawn_on_a_terminal_and_never_when_piped() {
    let ws = with_many_files(60);
    let Some((code, text)) = on_terminal_env(&ws, "add --archive arc many", "", &SLOW) else {
        eprintln!("`script` is not installed: the terminal bar is not checked here");
        return;
    };
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("hashing"),
        "no bar for add on the terminal: {text}"
    );
    ws.seal();
    let verify = "verify --archive arc --trust signer.pub";
    let (code, text) = on_terminal_env(&ws, verify, "", &SLOW).expect("script runs");
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("hashing contents"),
        "no bar for verify on the terminal: {text}"
    );
    let (code, text) = on_terminal_env(&ws, &format!("{verify} --json"), "", &SLOW).expect("runs");
    assert_eq!(code, 0, "{text}");
    assert!(
        !text.contains("hashing contents"),
        "a bar was drawn with --json: {text}"
    );

    // Piped: the same command draws nothing.
    let (code, _, err) = ws.run_env(&["verify", "--trust", "signer.pub"], &SLOW);
    assert_eq!(code, 0, "{err}");
    assert!(
        !err.contains("hashing"),
        "a bar was drawn into a pipe: {err}"
    );
}

/// Runs `evidentia ARGS` with every safe point slowed, sends SIGINT (Ctrl-C) once the command has
/// reached its first safe point (the signal handler is set by then), and returns (exit code,
/// stderr). Fails the test after a minute.
fn interrupted(ws: &Workspace, args: &[&str]) -> (i32, String) {
    signalled(ws, args, "-INT")
}

/// As [`interrupted`], with another signal (`-TERM`).
fn signalled(ws: &Workspace, args: &[&str], signal: &str) -> (i32, String) {
    let binary = assert_cmd::cargo::cargo_bin("evidentia");
    let mut child = Command::new(binary)
        .args(args)
        .current_dir(ws.dir.path())
        .env("EVIDENTIA_ARCHIVE", ws.archive())
        .env("EVIDENTIA_FAILPOINT", "slow-checks")
        .env_remove("EVIDENTIA_KEY")
        .env_remove("EVIDENTIA_PASSPHRASE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn evidentia");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = received
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("{args:?} never reached a safe point: {text}"));
        text.push_str(&line);
        text.push('\n');
        if line.contains("failpoint slow-checks") {
            break;
        }
    }
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    loop {
        match child.try_wait().expect("wait") {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("{args:?} did not stop after SIGINT: {text}");
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let status = child.wait().expect("status");
    text.extend(received.iter().map(|line| line + "\n"));
    (status.code().unwrap_or(-1), text)
}

/// The archive verifies (exit 0, no problem) with the same records as before.
fn still_valid(ws: &Workspace, records: u64) {
    assert_eq!(ws.log_size(), records, "the log changed");
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert!(Workspace::problem_codes(&report).is_empty(), "{report}");
}

/// Nothing but `keep` in the workspace's top directory: no partial output, no temporary file.
fn only_these_entries(ws: &Workspace, keep: &[&str]) {
    let mut names: Vec<String> = std::fs::read_dir(ws.dir.path())
        .expect("workspace")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut keep: Vec<String> = keep.iter().map(|k| k.to_string()).collect();
    keep.sort();
    assert_eq!(names, keep, "something was left behind");
}

#[test]
fn ctrl_c_during_add_records_nothing() {
    let ws = with_many_files(200);
    let before = ws.log_size();
    let (code, text) = interrupted(&ws, &["add", "many"]);
    assert_eq!(code, 130, "{text}");
    assert!(
        text.contains(&format!(
            "interrupted: nothing of this add was recorded; the archive is unchanged at {before} record(s)"
        )),
        "{text}"
    );
    still_valid(&ws, before);
    // The interrupted add left nothing that blocks doing it again.
    let out = ws.add(&["many"]);
    assert_eq!(out.lines().count(), 200);
}

#[test]
fn ctrl_c_during_export_leaves_nothing_at_out() {
    let ws = with_many_files(200);
    ws.add(&["many"]);
    ws.seal();
    let records = ws.log_size();
    for format in ["dir", "tar"] {
        let (code, text) = interrupted(
            &ws,
            &["export", "--all", "--out", "bundle", "--format", format],
        );
        assert_eq!(code, 130, "{format}: {text}");
        assert!(
            text.contains("interrupted: nothing written at bundle"),
            "{text}"
        );
        only_these_entries(
            &ws,
            &["arc", "first.txt", "many", "signer.key", "signer.pub"],
        );
        // No custody record was logged for a bundle that was never written.
        still_valid(&ws, records);
    }
}

#[test]
fn ctrl_c_during_verify_gives_no_verdict() {
    let ws = with_many_files(200);
    ws.add(&["many"]);
    ws.seal();
    let (code, text) = interrupted(&ws, &["verify", "--trust", "signer.pub"]);
    assert_eq!(code, 130, "{text}");
    assert!(
        text.contains("interrupted: verification not finished — no verdict"),
        "{text}"
    );
    assert!(!text.contains("VERIFIED"), "a verdict was given: {text}");

    let (code, _, err) = ws.run(&["export", "--all", "--out", "b"]);
    assert_eq!(code, 0, "{err}");
    let (code, text) = interrupted(&ws, &["verify", "b", "--trust", "signer.pub"]);
    assert_eq!(code, 130, "{text}");
    assert!(
        text.contains("interrupted: verification not finished — no verdict"),
        "{text}"
    );
}

#[test]
fn sigterm_during_mirror_leaves_a_valid_copy() {
    let ws = with_many_files(200);
    ws.add(&["many"]);
    ws.seal();
    let (code, text) = signalled(&ws, &["mirror", "arc", "copy"], "-TERM");
    assert_eq!(code, 130, "{text}");
    assert!(
        text.contains("interrupted: the copy at copy is valid but incomplete"),
        "{text}"
    );
    // Running it again finishes the copy.
    let (code, _, err) = ws.run(&["mirror", "arc", "copy"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = ws.run(&["verify", "--archive", "copy", "--trust", "signer.pub"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn ctrl_c_during_diff_gives_no_verdict() {
    let ws = with_many_files(200);
    ws.add(&["many"]);
    ws.seal();
    let (code, text) = interrupted(&ws, &["diff", "1", "2", "--trust", "signer.pub"]);
    assert_eq!(code, 130, "{text}");
    assert!(
        text.contains("interrupted: diff not finished — no verdict"),
        "{text}"
    );
    assert!(!text.contains("append-only"), "a verdict was given: {text}");
}
