//! Bundles people can handle (issue 13): export names the checkpoint hash to confirm out of
//! band, a tar unpacks to one directory dated at export, bag-info fields are the sender's, and
//! the custody record names a real exporter.

use super::*;

/// The value `export` prints after "checkpoint text sha256: ".
fn printed_checkpoint_hash(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("checkpoint text sha256: "))
        .unwrap_or_else(|| panic!("export prints no checkpoint hash: {stdout}"))
        .to_string()
}

fn sealed_workspace() -> Workspace {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.write("case/b.txt", "Statement of witness B.\n");
    ws.add(&["case"]);
    ws.seal();
    ws
}

#[test]
fn export_prints_the_checkpoint_hash_that_verify_pins() {
    let ws = sealed_workspace();
    let bundle = ws.path("bundle");
    let stdout = export(&ws, &bundle, &["--all"]);
    let printed = printed_checkpoint_hash(&stdout);
    assert_eq!(printed, checkpoint_text_hash(&ws, 1), "{stdout}");
    assert!(
        stdout.contains("another channel"),
        "says what to do: {stdout}"
    );
    assert!(
        stdout.contains(&format!("--checkpoint-hash {printed}")),
        "gives the recipient's command: {stdout}"
    );
    // Exactly what verify takes: pinned with it, the bundle verifies ...
    let (code, report) = verify_json(
        &ws,
        &bundle,
        &["--trust", "signer.pub", "--checkpoint-hash", &printed],
    );
    assert_eq!(code, 0, "{report}");
    // ... and pinned with any other value, it fails.
    let mut other = printed.into_bytes();
    other[0] = if other[0] == b'0' { b'1' } else { b'0' };
    let other = String::from_utf8(other).expect("hex");
    let (code, report) = verify_json(
        &ws,
        &bundle,
        &["--trust", "signer.pub", "--checkpoint-hash", &other],
    );
    assert_eq!(code, 1, "{report}");
}

#[test]
fn a_tar_bundle_unpacks_to_one_directory_dated_at_export() {
    let ws = sealed_workspace();
    let tar_file = ws.path("case-0427.tar");
    let start = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let stdout = export(&ws, &tar_file, &["--all", "--format", "tar"]);
    assert!(
        stdout.contains("case-0427/"),
        "names the directory: {stdout}"
    );
    let end = start + 600;
    let mut archive = tar::Archive::new(fs::File::open(&tar_file).expect("open tar"));
    let mut names = Vec::new();
    for entry in archive.entries().expect("entries") {
        let entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        let mtime = entry.header().mtime().expect("mtime");
        assert!(
            (start.saturating_sub(5)..=end).contains(&mtime),
            "{name} is dated {mtime}, not the export time (about {start})"
        );
        names.push(name);
    }
    assert_eq!(names[0].trim_end_matches('/'), "case-0427", "{names:?}");
    for name in &names {
        assert!(
            name.trim_end_matches('/') == "case-0427" || name.starts_with("case-0427/"),
            "{name} is outside the one top-level directory"
        );
    }
    assert!(
        names.iter().any(|n| n == "case-0427/bagit.txt"),
        "{names:?}"
    );
    // The tar verifies as it is, with evidentia and the hand-check script ...
    assert_bundle_ok(&ws, &tar_file);
    // ... and unpacked with the system tar, its one directory is the bundle.
    let unpacked = ws.path("unpacked");
    fs::create_dir(&unpacked).expect("mkdir");
    let status = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&tar_file)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .expect("run tar");
    assert!(status.success());
    let listed: Vec<_> = fs::read_dir(&unpacked).expect("list").collect();
    assert_eq!(listed.len(), 1, "one top-level entry");
    assert_bundle_ok(&ws, &unpacked.join("case-0427"));
}

#[test]
fn a_tar_with_a_second_top_level_directory_is_not_taken_for_the_bundle() {
    let ws = sealed_workspace();
    let tar_file = ws.path("b.tar");
    export(&ws, &tar_file, &["--all", "--format", "tar"]);
    // An attacker adds a stray top-level file beside the bundle's directory: the tar's root is
    // then not a bundle, and nothing in it verifies.
    let mut bytes = Vec::new();
    {
        let mut builder = tar::Builder::new(&mut bytes);
        let mut source = tar::Archive::new(fs::File::open(&tar_file).expect("open"));
        for entry in source.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let mut header = entry.header().clone();
            let path = entry.path().expect("path").into_owned();
            builder
                .append_data(&mut header, path, &mut entry)
                .expect("copy");
        }
        let mut header = tar::Header::new_ustar();
        header.set_size(3);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, "extra.txt", &b"hi\n"[..])
            .expect("add");
        builder.finish().expect("finish");
    }
    let forged = ws.path("forged.tar");
    fs::write(&forged, &bytes).expect("write");
    let (code, report) = verify_json(&ws, &forged, &TRUST);
    assert_eq!(code, 1, "{report}");
    assert!(
        Workspace::problem_codes(&report)
            .iter()
            .any(|c| c == "missing-file"),
        "{report}"
    );
}

#[test]
fn bag_info_fields_come_from_the_options() {
    let ws = sealed_workspace();
    let bundle = ws.path("bundle");
    export(
        &ws,
        &bundle,
        &[
            "--all",
            "--source-organization",
            "Truth Hounds (Kyiv office)",
            "--contact-name",
            "Oksana Petrenko",
            "--contact-email",
            "evidence@example.org",
            "--external-description",
            "Shelling of Irpin, March 2022: witness statements",
        ],
    );
    let info = fs::read_to_string(bundle.join("bag-info.txt")).expect("bag-info");
    for line in [
        "Source-Organization: Truth Hounds (Kyiv office)\n",
        "Contact-Name: Oksana Petrenko\n",
        "Contact-Email: evidence@example.org\n",
        "External-Description: Shelling of Irpin, March 2022: witness statements\n",
    ] {
        assert!(info.contains(line), "{line:?} missing from {info}");
    }
    assert_bundle_ok(&ws, &bundle);
    // Without options: the archive's origin, and no contact lines.
    let plain = ws.path("plain");
    export(&ws, &plain, &["--all"]);
    let info = fs::read_to_string(plain.join("bag-info.txt")).expect("bag-info");
    assert!(
        info.contains("Source-Organization: evidentia/arc/"),
        "{info}"
    );
    assert!(!info.contains("Contact-"), "{info}");
}

#[test]
fn a_bag_info_value_on_two_lines_is_refused() {
    let ws = sealed_workspace();
    let stderr = export_refused(
        &ws,
        &ws.path("bundle"),
        &["--all", "--contact-name", "Jo\nPayload-Oxum: 1.1"],
    );
    assert!(stderr.contains("--contact-name"), "{stderr}");
}

/// The actor of the last custody record, from `history PATH --json`.
fn export_detail(ws: &Workspace, path: &str) -> String {
    let (code, history, stderr) = run(ws, &["history", path, "--json"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let history: Value = serde_json::from_str(&history).expect("history JSON");
    let events = history["events"].as_array().expect("events");
    let last = events
        .iter()
        .rev()
        .find(|e| e["event"] == "exported")
        .unwrap_or_else(|| panic!("no export in {history}"));
    last["detail"].as_str().expect("detail").to_string()
}

#[test]
fn the_exporter_is_the_signing_identity_when_user_is_unset() {
    let ws = sealed_workspace();
    let public = fs::read_to_string(ws.path("signer.pub")).expect("signer.pub");
    let identity: String = public.splitn(3, '+').take(2).collect::<Vec<_>>().join("+");
    let out = ws
        .cmd()
        .env_remove("USER")
        .env_remove("LOGNAME")
        .args(["export", "--out", "bundle", "--all", "--key", "signer.key"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let detail = export_detail(&ws, "case/a.txt");
    assert!(detail.contains(&identity), "{identity} not in {detail}");
    assert!(!detail.contains("unknown"), "{detail}");
    // EVIDENTIA_KEY is the same default.
    let out = ws
        .cmd()
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env("EVIDENTIA_KEY", ws.path("signer.key"))
        .args(["export", "--out", "bundle2", "--all"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(export_detail(&ws, "case/a.txt").contains(&identity));
    // With neither, the account running the command, never "unknown".
    let out = ws
        .cmd()
        .env_remove("USER")
        .env_remove("LOGNAME")
        .args(["export", "--out", "bundle3", "--all"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let detail = export_detail(&ws, "case/a.txt");
    assert!(!detail.contains("unknown"), "{detail}");
    // --actor wins over everything.
    export(
        &ws,
        &ws.path("bundle4"),
        &["--all", "--key", "signer.key", "--actor", "Clerk Two"],
    );
    assert!(export_detail(&ws, "case/a.txt").contains("Clerk Two"));
}
