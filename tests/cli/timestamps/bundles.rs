//! Bundles carrying timestamp tokens: carried, tampered with, moved to another checkpoint.

use super::*;

#[test]
fn bundle_carries_the_tokens() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    stamp(&setup, &setup.tsa, 2, "two");
    let bundle = ws.path("bundle");
    let (code, stdout, stderr) = ws.run(&["export", "--out", s(&bundle), "--all"]);
    assert_eq!(code, 0, "{stdout} {stderr}");

    let (code, report) = verify(ws, Some(&bundle), &["--tsa-roots", s(&setup.ca.cert)]);
    assert_eq!(code, 0, "{report}");
    let stamps = timestamps(&report, 2);
    assert_eq!(stamps.len(), 1, "{report}");
    assert_eq!(stamps[0]["status"], "valid", "{report}");
    assert!(
        stamps[0]["tsa"]
            .as_str()
            .is_some_and(|t| t.contains("Evidentia Test TSA")),
        "{report}"
    );
    let (code, report) = verify(ws, Some(&bundle), &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        timestamps(&report, 2)[0]["status"],
        "chain-unchecked",
        "{report}"
    );

    // Unrelated roots: the bundle's token is untrusted.
    let other = Ca::new(&ws.path("pki/other"), "Unrelated Root");
    let (code, report) = verify(ws, Some(&bundle), &["--tsa-roots", s(&other.cert)]);
    assert_eq!(code, 1, "{report}");
    assert!(
        Workspace::problem_codes(&report).contains(&"timestamp-untrusted".to_string()),
        "{report}"
    );
}

#[test]
fn tampered_token_in_a_bundle_fails() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    stamp(&setup, &setup.tsa, 2, "two");
    let bundle = ws.path("bundle");
    let (code, stdout, stderr) = ws.run(&["export", "--out", s(&bundle), "--all"]);
    assert_eq!(code, 0, "{stdout} {stderr}");
    let tokens: Vec<PathBuf> = fs::read_dir(bundle.join("data/timestamps"))
        .expect("the bundle has data/timestamps/")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    let mut bytes = fs::read(&tokens[0]).expect("token");
    let at = find(&bytes, &[0x18, 0x0f]).expect("genTime") + 2 + 13;
    bytes[at] ^= 0x01;
    Workspace::overwrite(&tokens[0], &bytes);
    // The BagIt manifests catch the change first; a careful forger rewrites them, so the
    // token's own signature must catch it.
    let (code, report) = verify(ws, Some(&bundle), &["--tsa-roots", s(&setup.ca.cert)]);
    assert_eq!(code, 1, "{report}");
    rebag(&bundle);
    let (code, report) = verify(ws, Some(&bundle), &["--tsa-roots", s(&setup.ca.cert)]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ok"], false, "{report}");
    assert!(
        Workspace::problem_codes(&report).contains(&"timestamp-signature-invalid".to_string()),
        "{report}"
    );
    assert_eq!(timestamps(&report, 2)[0]["status"], "invalid", "{report}");
}

/// Rewrites the bundle's BagIt manifests, SHA256SUMS, Payload-Oxum and tag manifest to match
/// its payload as it now is (as tests/cli/bundles/mod.rs does), so only evidentia's own checks can
/// catch a change.
fn rebag(bundle: &Path) {
    let mut payload = Vec::new();
    let mut bytes = 0;
    for entry in walkdir::WalkDir::new(bundle.join("data")) {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            let content = fs::read(entry.path()).expect("read payload");
            bytes += content.len();
            let relative = entry.path().strip_prefix(bundle).expect("inside");
            payload.push((
                Digest::of(&content).to_hex(),
                relative.to_str().expect("UTF-8").to_string(),
            ));
        }
    }
    fs::write(
        bundle.join("manifest-sha256.txt"),
        bagit::manifest(&payload),
    )
    .expect("manifest");
    fs::write(bundle.join("SHA256SUMS"), bagit::sha256sums(&payload)).expect("sums");
    let info: String = fs::read_to_string(bundle.join("bag-info.txt"))
        .expect("bag-info")
        .lines()
        .map(|line| match line.starts_with("Payload-Oxum:") {
            true => format!("Payload-Oxum: {bytes}.{}\n", payload.len()),
            false => format!("{line}\n"),
        })
        .collect();
    fs::write(bundle.join("bag-info.txt"), info).expect("bag-info");
    let tags: Vec<(String, String)> = fs::read_to_string(bundle.join("tagmanifest-sha256.txt"))
        .expect("tag manifest")
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(_, name)| {
            let name = name.trim().to_string();
            let content = fs::read(bundle.join(&name)).expect("tag file");
            (Digest::of(&content).to_hex(), name)
        })
        .collect();
    fs::write(
        bundle.join("tagmanifest-sha256.txt"),
        bagit::manifest(&tags),
    )
    .expect("tags");
}

#[test]
fn token_moved_to_another_checkpoint_fails() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    stamp(&setup, &setup.tsa, 2, "two");
    let files = token_files(ws);
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().expect("name").to_owned();
    let target = ws.archive().join("timestamps/0000000001");
    fs::create_dir_all(&target).expect("dir");
    fs::copy(&files[0], target.join(&name)).expect("copy token");
    assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        1,
        &["timestamp-imprint-mismatch"],
    );
}
