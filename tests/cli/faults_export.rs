//! Fault injection (see faults.rs) under `export` (directory and tar) and `timestamp attach`:
//! a fault anywhere leaves nothing at `--out`, no staging leftovers, no custody record for an
//! export that did not happen, and no token; the archive verifies and a re-run completes.

use std::path::Path;

use crate::common::Workspace;
use crate::faults::{
    assert_clean_failure, assert_nothing_lost, faults, listing, run_faulted, sealed_workspace,
    Fault,
};

/// `export --all` of the sealed workspace to `out`, as a directory or a tar file.
fn export_args(out: &str, tar: bool) -> Vec<&str> {
    let mut args = vec!["export", "--all", "--recipient", "court", "--out", out];
    if tar {
        args.extend(["--format", "tar"]);
    }
    args
}

/// Names starting with `.evidentia-` in the workspace: staging directories and temporary
/// outputs a failed export must not leave behind.
fn leftovers(ws: &Workspace) -> Vec<String> {
    std::fs::read_dir(ws.dir.path())
        .expect("read workspace")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".evidentia-"))
        .collect()
}

/// The bundle at `out` verifies with the workspace's key.
fn assert_bundle_verifies(ws: &Workspace, out: &str, what: &str) {
    let (code, stdout, stderr) = ws.run(&["verify", out, "--trust", "signer.pub"]);
    assert_eq!(
        code, 0,
        "{what}: the bundle does not verify: {stdout} {stderr}"
    );
}

/// Runs one export under `fault` and checks everything a failed export must leave.
fn export_under(fault: Fault, tar: bool, names: &str) {
    let out = if tar { "bundle.tar" } else { "bundle" };
    let what = format!("export (tar: {tar}) with {fault:?}");
    let ws = sealed_workspace();
    let before = listing(&ws);
    let size = ws.log_size();
    let run = run_faulted(&ws, &fault, &export_args(out, tar));
    assert_clean_failure(&run, &fault, names, &what);
    assert!(
        !ws.path(out).exists(),
        "{what}: something was left at --out"
    );
    assert_eq!(leftovers(&ws), Vec::<String>::new(), "{what}: leftovers");
    assert_eq!(ws.log_size(), size, "{what}: a failed export was logged");
    assert_nothing_lost(&ws, &before, &what);
    let (code, stdout, stderr) = ws.run(&export_args(out, tar));
    assert_eq!(code, 0, "{what}: the re-run failed: {stdout} {stderr}");
    assert_bundle_verifies(&ws, out, &what);
    assert_eq!(ws.log_size(), size + 1, "{what}: the re-run was not logged");
}

#[test]
fn export_to_a_directory_fails_cleanly_at_every_file_it_writes() {
    let cases: &[(&str, &str, &str)] = &[
        // The bundle's files in the staging directory.
        ("open-create", ".evidentia-export-", ".evidentia-export-"),
        ("write", "/data/documents/", "/data/documents/"),
        ("write", "/report.html", "/report.html"),
        ("write", "/manifest-sha256.txt", "/manifest-sha256.txt"),
        ("mkdir", "/data/documents", "/data/documents"),
        // The one sync of the staging directory, and the rename that places it.
        ("fsync", ".evidentia-export-", ".evidentia-export-"),
        ("rename", ".evidentia-export-", "bundle"),
        // The custody record of the export: the bundle is taken back.
        ("write", "arc/objects/tmp", "arc/objects"),
        ("write", "arc/log/records", "arc/log/records"),
        ("rename", "arc/log/.tmp-", "arc/log/HEAD"),
    ];
    for &(op, path, names) in cases {
        for fault in faults(op, path) {
            export_under(fault, false, names);
        }
    }
}

#[test]
fn export_to_a_tar_file_fails_cleanly_at_every_file_it_writes() {
    let cases: &[(&str, &str, &str)] = &[
        ("write", "/data/documents/", "/data/documents/"),
        ("open-create", ".evidentia-out-", "."),
        ("write", ".evidentia-out-", ".evidentia-out-"),
        ("fsync", ".evidentia-out-", ".evidentia-out-"),
        ("rename", ".evidentia-out-", "bundle.tar"),
        ("write", "arc/log/tree/00", "arc/log/tree/00"),
    ];
    for &(op, path, names) in cases {
        for fault in faults(op, path) {
            export_under(fault, true, names);
        }
    }
}

/// `timestamp attach` of a real `openssl ts` reply for checkpoint 2, under each fault on the
/// token's file and folder.
#[test]
fn timestamp_attach_fails_cleanly_at_every_file_it_writes() {
    let cases: &[(&str, &str, &str)] = &[
        ("mkdir", "timestamps/0000000002", "timestamps/0000000002"),
        (
            "open-create",
            "timestamps/0000000002/",
            "timestamps/0000000002",
        ),
        ("write", "timestamps/0000000002/", "timestamps/0000000002/"),
        ("fsync", "timestamps/0000000002/", "timestamps/0000000002/"),
        ("rename", "timestamps/0000000002/", "timestamps/0000000002/"),
    ];
    for &(op, path, names) in cases {
        for fault in faults(op, path) {
            let Some(setup) = crate::timestamps::setup() else {
                return;
            };
            let ws = &setup.ws;
            let what = format!("timestamp attach with {fault:?}");
            let (_, tsr) = crate::timestamps::reply(&setup, &setup.tsa, 2, "c2");
            let attach = ["timestamp", "attach", tsr.to_str().expect("UTF-8 path")];
            let before = listing(ws);
            let run = run_faulted(ws, &fault, &attach);
            assert_clean_failure(&run, &fault, names, &what);
            assert_eq!(
                tokens(&ws.archive().join("timestamps/0000000002")),
                0,
                "{what}"
            );
            assert_nothing_lost(ws, &before, &what);
            let (code, stdout, stderr) = ws.run(&attach);
            assert_eq!(code, 0, "{what}: the re-run failed: {stdout} {stderr}");
            assert_eq!(
                tokens(&ws.archive().join("timestamps/0000000002")),
                1,
                "{what}"
            );
        }
    }
}

/// Files in a checkpoint's token folder (temporary files included: none may be left).
fn tokens(folder: &Path) -> usize {
    std::fs::read_dir(folder).map_or(0, |entries| entries.count())
}
