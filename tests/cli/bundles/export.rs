//! Exporting bundles: the happy path with and without trust, the custody record of an export,
//! selection by tag and refused selections, and tar round trips.

use super::*;

#[test]
fn export_all_verifies_with_and_without_trust() {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.write("case/photo.jpg", [0xffu8, 0xd8, 0xff, 0xe0, 0, 1, 2, 3]);
    let docs = added(&ws.add(&["case"]));
    ws.seal();
    let bundle = ws.path("out/bundle");
    fs::create_dir_all(ws.path("out")).expect("mkdir");
    let stdout = export(&ws, &bundle, &["--all", "--recipient", "ICC Registry"]);
    assert!(stdout.contains("2 document(s)"), "{stdout}");
    assert!(stdout.contains("checkpoint 1"), "{stdout}");
    for (_, path) in &docs {
        let copy = fs::read(bundle.join("data/documents").join(path)).expect("document copied");
        assert_eq!(copy, fs::read(ws.path(path)).expect("original"), "{path}");
    }
    // The staging directory is gone.
    let leftovers: Vec<String> = fs::read_dir(ws.path("out"))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name != "bundle")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let report = assert_bundle_ok(&ws, &bundle);
    assert_eq!(report["signers_authenticated"], true, "{report}");
    let proven = strings(&report["proven"]);
    assert!(
        proven.iter().any(|p| p.contains("checkpoint 1")),
        "{proven:?}"
    );
    assert!(
        proven
            .iter()
            .any(|p| p.contains("signed by signer") && p.contains("trust file")),
        "{proven:?}"
    );
    assert_eq!(report["documents"].as_array().expect("documents").len(), 2);
    let (_, text) = verify_text(&ws, &bundle, &TRUST);
    for (hex, path) in &docs {
        assert!(text.contains(path.as_str()), "{text}");
        assert!(text.contains(hex.as_str()), "{text}");
    }

    // Without --trust or --integrity-only: refused, nothing said about the bundle.
    let (code, text) = verify_text(&ws, &bundle, &[]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("--trust FILE") && text.contains("--integrity-only"),
        "{text}"
    );
    assert!(
        !text.contains("VERIFIED") && !text.contains("INTACT"),
        "{text}"
    );
    // Integrity only: intact and proven in the tree, but who signed is not proven (exit 3).
    let (code, report) = verify_json(&ws, &bundle, &["--integrity-only"]);
    assert_eq!(code, 3, "{report}");
    assert_eq!(report["verdict"], "intact-unauthenticated", "{report}");
    assert_eq!(report["signers_authenticated"], false, "{report}");
    let not_proven = strings(&report["not_proven"]);
    assert!(
        not_proven
            .iter()
            .any(|p| p.contains("who signed") && p.contains("--trust")),
        "{not_proven:?}"
    );
    assert!(
        !strings(&report["proven"])
            .iter()
            .any(|p| p.contains("signed by")),
        "{report}"
    );
    let (code, text) = verify_text(&ws, &bundle, &["--integrity-only"]);
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("NOT PROVEN: who signed"), "{text}");
    assert!(
        text.lines()
            .last()
            .unwrap_or("")
            .starts_with("INTACT BUT SIGNER NOT AUTHENTICATED: the bundle"),
        "{text}"
    );

    // Pinning the checkpoint: the hash from the seal's checkpoint file is the one verify shows.
    let pin = checkpoint_text_hash(&ws, 1);
    assert_eq!(
        report["checkpoint"]["text_sha256"],
        format!("sha256:{pin}").as_str(),
        "{report}"
    );
    let (code, pinned) = verify_json(
        &ws,
        &bundle,
        &["--trust", "signer.pub", "--checkpoint-hash", &pin],
    );
    assert_eq!(code, 0, "{pinned}");
    assert!(
        strings(&pinned["proven"])
            .iter()
            .any(|p| p.contains("--checkpoint-hash")),
        "{pinned}"
    );
    let mut wrong = pin.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).expect("hex");
    let (code, report) = verify_json(
        &ws,
        &bundle,
        &["--trust", "signer.pub", "--checkpoint-hash", &wrong],
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        vec!["checkpoint-pin-mismatch"],
        "{report}"
    );
    let (code, text) = verify_text(
        &ws,
        &bundle,
        &["--integrity-only", "--checkpoint-hash", &wrong],
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("PROBLEM [checkpoint-pin-mismatch] data/checkpoint: "),
        "{text}"
    );
    // A malformed pin is bad usage.
    let (code, _, stderr) = run(
        &ws,
        &[
            "verify",
            path_str(&bundle),
            "--trust",
            "signer.pub",
            "--checkpoint-hash",
            "abc",
        ],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");

    // One signer cannot meet --require 2.
    let (code, report) = verify_json(&ws, &bundle, &["--trust", "signer.pub", "--require", "2"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ok"], false);
    assert!(
        report["problems"]
            .as_array()
            .expect("problems")
            .iter()
            .any(|p| p["item"] == "checkpoint 1"),
        "{report}"
    );
    let (code, text) = verify_text(&ws, &bundle, &["--trust", "signer.pub", "--require", "2"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("checkpoint 1: "), "{text}");

    // A bundle is never written over.
    let (code, _, stderr) = run(&ws, &["export", "--out", path_str(&bundle), "--all"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
}

#[test]
fn export_is_logged_as_custody_event() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    ws.write("b.txt", "Witness B.\n");
    ws.add(&["a.txt", "b.txt"]);
    ws.seal();
    let before = ws.log_size();
    let stdout = export(
        &ws,
        &ws.path("bundle"),
        &[
            "--select",
            "a.txt",
            "--recipient",
            "ICC Registry",
            "--actor",
            "Analyst Nine",
        ],
    );
    assert!(stdout.contains("1 document(s)"), "{stdout}");
    assert_eq!(ws.log_size(), before + 1, "the export appends one record");

    let (code, log, stderr) = run(&ws, &["log", "--json"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let log: Value = serde_json::from_str(&log).expect("log JSON");
    let last = log["records"]
        .as_array()
        .and_then(|r| r.last())
        .unwrap_or_else(|| panic!("log lists records: {log}"));
    assert_eq!(last["kind"], "custody", "{log}");

    let (code, history, stderr) = run(&ws, &["history", "a.txt", "--json"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let history: Value = serde_json::from_str(&history).expect("history JSON");
    let exported: Vec<&Value> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["event"] == "exported")
        .collect();
    assert_eq!(exported.len(), 1, "{history}");
    let detail = exported[0]["detail"].as_str().expect("detail");
    assert!(detail.contains("ICC Registry"), "{detail}");
    assert!(detail.contains("Analyst Nine"), "{detail}");
    assert_eq!(exported[0]["record"], last["id"], "{history}");
    // Only the exported document's history shows it.
    let (_, history, _) = run(&ws, &["history", "b.txt", "--json"], &[]);
    assert!(!history.contains("\"exported\""), "{history}");

    // The archive with its new custody record still verifies, and so does the bundle.
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert_bundle_ok(&ws, &ws.path("bundle"));
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
}

#[test]
fn selection_by_tag_and_refused_selections() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    ws.write("b.txt", "Witness B.\n");
    ws.write("c.txt", "Witness C.\n");
    ws.add(&["a.txt", "--tag", "deportation"]);
    ws.add(&["b.txt", "--tag", "deportation", "--tag", "children"]);
    ws.add(&["c.txt", "--tag", "shelling"]);
    ws.seal();

    let bundle = ws.path("tagged");
    export(&ws, &bundle, &["--select", "tag:deportation"]);
    let manifest = read_manifest(&bundle);
    let paths: Vec<&str> = manifest["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["path"].as_str().expect("path"))
        .collect();
    assert_eq!(paths, ["a.txt", "b.txt"], "{manifest}");
    assert!(!bundle.join("data/documents/c.txt").exists());
    assert_bundle_ok(&ws, &bundle);

    // Two selections that overlap disclose each document once.
    let both = ws.path("both");
    export(
        &ws,
        &both,
        &[
            "--select",
            "tag:children",
            "--select",
            "b.txt",
            "--select",
            "c.txt",
        ],
    );
    let manifest = read_manifest(&both);
    assert_eq!(
        manifest["documents"].as_array().expect("documents").len(),
        2,
        "{manifest}"
    );
    assert_bundle_ok(&ws, &both);

    let out = ws.path("refused");
    let stderr = export_refused(&ws, &out, &[]);
    assert!(stderr.contains("nothing selected"), "{stderr}");
    let stderr = export_refused(&ws, &out, &["--select", "tag:no-such-tag"]);
    assert!(stderr.contains("tag:no-such-tag"), "{stderr}");
    export_refused(&ws, &out, &["--select", "no/such/file.txt"]);
    export_refused(&ws, &out, &["--checkpoint", "9", "--all"]);
    // A document added after the seal is not in the checkpoint.
    ws.write("d.txt", "Witness D, not sealed yet.\n");
    ws.add(&["d.txt", "--tag", "late"]);
    let stderr = export_refused(&ws, &out, &["--select", "d.txt"]);
    assert!(stderr.contains("d.txt"), "{stderr}");
    export_refused(&ws, &out, &["--select", "tag:late"]);
    // Sealed in checkpoint 2 but not in checkpoint 1.
    ws.seal();
    export_refused(&ws, &out, &["--checkpoint", "1", "--select", "d.txt"]);
    let second = ws.path("second");
    export(&ws, &second, &["--checkpoint", "2", "--select", "d.txt"]);
    assert_bundle_ok(&ws, &second);
}

#[test]
fn tar_round_trips() {
    let (ws, bundle, _) = exported();
    let tar_file = ws.path("bundle.tar");
    export(&ws, &tar_file, &["--all", "--format", "tar"]);
    let leftovers: Vec<String> = fs::read_dir(ws.path(""))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".evidentia-export") || name.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let report = assert_bundle_ok(&ws, &tar_file);
    assert_eq!(report["documents"].as_array().expect("documents").len(), 3);

    // The directory bundle, packed and unpacked with the system tar, still verifies.
    let packed = ws.path("system.tar");
    let status = std::process::Command::new("tar")
        .arg("-cf")
        .arg(&packed)
        .arg("-C")
        .arg(&bundle)
        .arg(".")
        .status()
        .expect("run tar");
    assert!(status.success());
    let copy = ws.path("copy");
    fs::create_dir(&copy).expect("mkdir");
    let status = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&packed)
        .arg("-C")
        .arg(&copy)
        .status()
        .expect("run tar");
    assert!(status.success());
    assert_bundle_ok(&ws, &copy);
    // The tar file the system tool made verifies too (its entries start with "./").
    assert_bundle_ok(&ws, &packed);

    // A damaged tar fails; a truncated one is unreadable or fails, never passes.
    let mut bytes = fs::read(&tar_file).expect("read tar");
    let at = bytes
        .windows(11)
        .position(|w| w == b"witness A, ")
        .expect("document bytes in the tar");
    bytes[at] ^= 0x01;
    let damaged = ws.path("damaged.tar");
    fs::write(&damaged, &bytes).expect("write");
    assert_bundle_problem(&ws, &damaged, "content-corrupt", &["case/a.txt"]);
    let truncated = ws.path("truncated.tar");
    fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let (code, stdout, stderr) = run(
        &ws,
        &["verify", path_str(&truncated), "--trust", "signer.pub"],
        &[],
    );
    assert!(code == 1 || code == 2, "{code}: {stdout} {stderr}");
    assert!(
        !stderr.contains("--integrity-only"),
        "refused for the tar: {stderr}"
    );
}

/// An archive whose latest checkpoint its own keys do not authenticate (signed only by a key
/// its log revokes): the bundle would fail verification, so export writes nothing.
#[test]
fn export_fails_and_leaves_nothing_when_its_self_check_fails() {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.add(&["case"]);
    ws.seal();
    ws.cmd()
        .args(["key", "revoke", "signer.pub", "--reason", "stolen"])
        .args(["--effective", "2099-01-01T00:00:00Z"])
        .assert()
        .success();
    let sealed = ws
        .cmd()
        .args(["seal", "--key", "signer.key"])
        .output()
        .expect("seal");
    if !sealed.status.success() {
        // seal refuses to sign with a revoked key: nothing to export then.
        return;
    }
    let before = ws.log_size();
    let out = ws.path("bundle");
    let (code, stdout, stderr) = run(&ws, &["export", "--out", path_str(&out), "--all"], &[]);
    assert_eq!(code, 1, "{stdout} {stderr}");
    assert!(stderr.contains("failed its own verification"), "{stderr}");
    assert!(stderr.contains("signature-missing"), "{stderr}");
    assert!(!out.exists(), "a failed export left {}", out.display());
    let leftovers: Vec<_> = fs::read_dir(ws.path(""))
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".evidentia-export-")
        })
        .collect();
    assert!(leftovers.is_empty(), "staging left behind: {leftovers:?}");
    assert_eq!(
        ws.log_size(),
        before,
        "a failed export logged a custody record"
    );
}
