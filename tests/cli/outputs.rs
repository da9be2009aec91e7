//! Files written for the user (`--out`) are created exclusively: a file, a symlink (even a
//! dangling one) or a directory already at the path is refused, untouched, unless `--force`
//! is given; then the name is replaced atomically and a symlink there is replaced, never
//! followed. Nothing outside the target ever changes, and no temporary file is left behind.
//! Export also fails whole when its own self-check fails: non-zero, nothing at `--out`, no
//! custody record.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use crate::common::Workspace;

/// A sealed archive of two documents, and a directory `outside/` holding a victim file that an
/// attacker points output paths at.
fn sealed() -> Workspace {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    ws.write("b.txt", "Witness B.\n");
    ws.add(&["a.txt", "b.txt"]);
    ws.seal();
    ws.write("outside/victim", "must not change\n");
    ws
}

/// Every file under `dir` (relative name → bytes, or the target for a symlink).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.file_type().is_dir())
        .map(|e| {
            let name = e.path().strip_prefix(dir).expect("inside").display();
            let bytes = if e.file_type().is_symlink() {
                fs::read_link(e.path())
                    .expect("link")
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                fs::read(e.path()).expect("read")
            };
            (name.to_string(), bytes)
        })
        .collect()
}

/// The workspace's top-level names other than the archive and key, to catch leftovers.
fn top_level(ws: &Workspace) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(ws.dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The commands that write one file with `--out FILE`, as argument lists ending before it.
/// Each also accepts `--force`.
fn file_writers(ws: &Workspace) -> Vec<Vec<String>> {
    ws.cmd()
        .args(["key", "generate", "--out", "witness", "--unencrypted"])
        .assert()
        .success();
    let strings = |args: &[&str]| args.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        strings(&["prove", "a.txt"]),
        strings(&["prove", "consistency", "1", "1"]),
        strings(&["timestamp", "request"]),
        strings(&[
            "witness",
            "cosign",
            "arc/checkpoints/0000000001",
            "--key",
            "witness.key",
            "--state",
            "wstate",
            "--log-trust",
            "signer.pub",
        ]),
    ]
}

fn run_with_out(ws: &Workspace, command: &[String], out: &str, force: bool) -> (i32, String) {
    let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
    args.extend(["--out", out]);
    if force {
        args.push("--force");
    }
    let (code, stdout, stderr) = ws.run(&args);
    (code, format!("{stdout}{stderr}"))
}

#[test]
fn file_outputs_refuse_symlinks_and_files_and_force_replaces_only_the_name() {
    let ws = sealed();
    for command in file_writers(&ws) {
        let before = snapshot(&ws.path("outside"));

        // A symlink to a file outside, and a dangling one pointing where a file could appear.
        symlink(ws.path("outside/victim"), ws.path("out-link")).expect("symlink");
        symlink(ws.path("outside/new"), ws.path("out-dangling")).expect("symlink");
        ws.write("out-file", "a file already here\n");
        for out in ["out-link", "out-dangling", "out-file"] {
            let (code, text) = run_with_out(&ws, &command, out, false);
            assert_eq!(code, 2, "{command:?} --out {out}: {text}");
            assert!(text.contains("already exists"), "{command:?}: {text}");
            assert!(text.contains("--force"), "{command:?}: {text}");
        }
        assert_eq!(
            fs::read(ws.path("out-file")).expect("file"),
            b"a file already here\n"
        );
        assert!(fs::symlink_metadata(ws.path("out-link"))
            .expect("link")
            .is_symlink());
        assert_eq!(snapshot(&ws.path("outside")), before, "{command:?}");

        // --force replaces the names themselves; the files they pointed at stay as they were.
        for out in ["out-link", "out-dangling", "out-file"] {
            let (code, text) = run_with_out(&ws, &command, out, true);
            assert_eq!(code, 0, "{command:?} --out {out} --force: {text}");
            let meta = fs::symlink_metadata(ws.path(out)).expect("output");
            assert!(
                meta.is_file(),
                "{command:?}: {out} must now be a plain file"
            );
            assert_ne!(
                fs::read(ws.path(out)).expect("output"),
                b"a file already here\n"
            );
        }
        assert_eq!(snapshot(&ws.path("outside")), before, "{command:?}");
        for out in ["out-link", "out-dangling", "out-file"] {
            fs::remove_file(ws.path(out)).expect("clean up");
        }
        let leftovers: Vec<String> = top_level(&ws)
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{command:?} left {leftovers:?}");
    }
}

#[test]
fn a_cosignature_refused_at_out_does_not_advance_the_witness() {
    let ws = sealed();
    let command = file_writers(&ws).pop().expect("cosign");
    ws.write("taken", "taken\n");
    let (code, text) = run_with_out(&ws, &command, "taken", false);
    assert_eq!(code, 2, "{text}");
    // The witness remembers nothing: it never cosigned.
    let remembered = snapshot(&ws.path("wstate"));
    assert!(
        !remembered.keys().any(|k| k.ends_with(".checkpoint")),
        "{remembered:?}"
    );
}

#[test]
fn key_generate_never_writes_through_a_link() {
    let ws = sealed();
    let before = snapshot(&ws.path("outside"));
    symlink(ws.path("outside/victim"), ws.path("k.key")).expect("symlink");
    symlink(ws.path("outside/stolen.pub"), ws.path("j.pub")).expect("symlink");
    for prefix in ["k", "j"] {
        let (code, _, stderr) = ws.run(&["key", "generate", "--out", prefix, "--unencrypted"]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("already exists"), "{stderr}");
        assert!(stderr.contains("symbolic link"), "{stderr}");
        assert!(stderr.contains("never replaced"), "{stderr}");
    }
    assert!(!ws.path("k.pub").exists() && !ws.path("j.key").exists());
    assert_eq!(snapshot(&ws.path("outside")), before);
    // A fresh prefix works, and the secret half is private.
    ws.cmd()
        .args(["key", "generate", "--out", "fresh", "--unencrypted"])
        .assert()
        .success();
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(ws.path("fresh.key"))
        .expect("key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn tar_export_ignores_a_planted_partial_file() {
    let ws = sealed();
    let before = snapshot(&ws.path("outside"));
    // The old exporter wrote through `<out>.partial`, following a link there.
    symlink(ws.path("outside/victim"), ws.path("bundle.partial")).expect("symlink");
    let (code, _, stderr) = ws.run(&["export", "--all", "--format", "tar", "--out", "bundle.tar"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(fs::symlink_metadata(ws.path("bundle.tar"))
        .expect("tar")
        .is_file());
    assert_eq!(snapshot(&ws.path("outside")), before);
    assert!(fs::symlink_metadata(ws.path("bundle.partial"))
        .expect("link")
        .is_symlink());
    let (code, stdout, stderr) = ws.run(&["verify", "bundle.tar", "--trust", "signer.pub"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn export_refuses_anything_at_out_and_logs_nothing() {
    let ws = sealed();
    let before = snapshot(&ws.path("outside"));
    let size = ws.log_size();
    fs::create_dir(ws.path("empty-dir")).expect("mkdir");
    symlink(ws.path("outside/victim"), ws.path("link")).expect("symlink");
    symlink(ws.path("outside/new-dir"), ws.path("dangling")).expect("symlink");
    ws.write("file", "here\n");
    for format in ["dir", "tar"] {
        // A plain rename would replace an empty directory or a dangling link.
        for out in ["empty-dir", "link", "dangling", "file"] {
            let (code, _, stderr) = ws.run(&["export", "--all", "--format", format, "--out", out]);
            assert_eq!(code, 2, "{format} {out}: {stderr}");
            assert!(stderr.contains("already exists"), "{stderr}");
            assert!(stderr.contains("never replaced"), "{stderr}");
            assert!(
                !stderr.contains("--force"),
                "export has no --force: {stderr}"
            );
        }
    }
    assert_eq!(snapshot(&ws.path("outside")), before);
    assert_eq!(fs::read_dir(ws.path("empty-dir")).expect("dir").count(), 0);
    assert_eq!(
        ws.log_size(),
        size,
        "a refused export is not a custody event"
    );
}

#[test]
fn export_whose_self_check_fails_leaves_nothing_and_logs_nothing() {
    let ws = sealed();
    let size = ws.log_size();
    let names = top_level(&ws);
    for (format, out) in [("dir", "bundle"), ("tar", "bundle.tar")] {
        let output = ws
            .cmd()
            .env("EVIDENTIA_FAILPOINT", "export-damage-staging")
            .args(["export", "--all", "--format", format, "--out", out])
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{format}: {stderr}");
        assert!(stderr.contains("no bundle written"), "{stderr}");
        assert!(stderr.contains("data/checkpoint"), "{stderr}");
        assert!(
            fs::symlink_metadata(ws.path(out)).is_err(),
            "{format}: {out} exists"
        );
        assert_eq!(top_level(&ws), names, "{format}: leftovers");
        assert_eq!(ws.log_size(), size, "{format}: a failed export was logged");
    }
}

#[test]
fn a_case_collision_beside_a_collected_versions_document_exports_and_verifies() {
    // The case in issue 11: two paths differing only in case, and a collected document sitting
    // exactly where the displaced one is placed. Each must keep its own file, and export must
    // either succeed with a bundle that verifies or fail whole; it must never overwrite.
    let ws = Workspace::new();
    ws.write("in/c/Note.txt", "the first note\n");
    ws.write("in/c/NOTE.txt", "the second note, in capitals\n");
    if ws.path("in/c/note.txt").exists() {
        return; // a case-insensitive file system cannot hold the two inputs
    }
    ws.cmd()
        .args(["add", "in/c", "--relative-to", "in"])
        .assert()
        .success();
    ws.seal();
    ws.cmd()
        .args(["export", "--all", "--out", "first"])
        .assert()
        .success();
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(ws.path("first/data/bundle.json")).expect("manifest"))
            .expect("json");
    let displaced = manifest["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["file"].as_str().expect("file").to_string())
        .find(|f| !f.starts_with("data/documents/"))
        .expect("one of the two is displaced");
    // A collected document whose logical path is that file name, under either area's prefix.
    let squatter = "a collected document at the displaced name\n";
    for logical in [
        displaced.trim_start_matches("data/").to_string(),
        displaced.trim_start_matches("data/versions/").to_string(),
    ] {
        ws.write(&format!("squat/{logical}"), squatter);
    }
    ws.cmd()
        .args(["add", "squat", "--relative-to", "squat"])
        .assert()
        .success();
    ws.seal();
    let (code, _, stderr) = ws.run(&["export", "--all", "--out", "second"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = ws.run(&["verify", "second", "--trust", "signer.pub"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(ws.path("second/data/bundle.json")).expect("manifest"))
            .expect("json");
    let mut files = Vec::new();
    for doc in manifest["documents"].as_array().expect("documents") {
        let file = doc["file"].as_str().expect("file");
        let bytes = fs::read(ws.path("second").join(file)).expect("document file");
        let expected = match doc["path"].as_str().expect("path") {
            "c/Note.txt" => "the first note\n",
            "c/NOTE.txt" => "the second note, in capitals\n",
            _ => squatter,
        };
        assert_eq!(String::from_utf8_lossy(&bytes), expected, "{file}");
        files.push(file.to_lowercase());
    }
    let count = files.len();
    files.sort();
    files.dedup();
    assert_eq!(
        files.len(),
        count,
        "two documents share a file name: {files:?}"
    );
    assert_eq!(count, 4);
}
