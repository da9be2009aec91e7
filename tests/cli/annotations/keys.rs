//! Key events and signers: several signatures, trust-file validity windows, introduced, rotated
//! and revoked keys, forged endorsements, and a v1 sample archive that must still verify.

use super::*;

/// A workspace with one document, sealed by `signer.key` and `second.key` together.
fn cosigned() -> Workspace {
    let ws = Workspace::new();
    generate_key(&ws, "second");
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    let out = ok(&ws, &["seal", "--key", "signer.key", "--key", "second.key"]);
    assert!(out.starts_with("checkpoint 1: 1 records"), "{out}");
    assert_eq!(out.matches("signed by").count(), 2, "{out}");
    ws
}

#[test]
fn two_signatures_meet_require_two() {
    let ws = cosigned();
    let both = format!(
        "{} signer=\"Sealing officer\" roles=sealing\n{}\n",
        read_pub(&ws, "signer"),
        read_pub(&ws, "second")
    );
    ws.write("both.trust", both);
    let report = assert_verifies(&ws, "both.trust", 2);
    assert_eq!(report["required_signatures"], 2);
    assert_eq!(
        statuses(&report, 1),
        [
            ("signer".to_string(), "valid".to_string()),
            ("second".to_string(), "valid".to_string())
        ]
    );
    assert_eq!(
        report["checkpoints"][0]["signatures"][0]["signer"],
        "Sealing officer"
    );

    // One trusted key is not two.
    let (code, report) = verify_with(&ws, "signer.pub", 2);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [(
            "signatures-insufficient".to_string(),
            "checkpoint 1".to_string()
        )]
    );
    assert_eq!(statuses(&report, 1)[1].1, "unknown-key");
    // Nor are two keys three.
    let (code, report) = verify_with(&ws, "both.trust", 3);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["signatures-insufficient"]
    );
    // One is enough when one is required.
    assert_verifies(&ws, "signer.pub", 1);
    assert_verifies(&ws, "second.pub", 1);
}

#[test]
fn trust_validity_window_in_the_past_rejects_signatures() {
    let ws = cosigned();
    let signer = read_pub(&ws, "signer");
    ws.write(
        "expired.trust",
        format!("{signer} valid-before=2020-01-01T00:00:00Z\n"),
    );
    let (code, report) = verify_with(&ws, "expired.trust", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [("signature-missing".to_string(), "checkpoint 1".to_string())]
    );
    assert_eq!(statuses(&report, 1)[0].1, "outside-validity");
    let (code, stdout, _) = ws.run(&["verify", "--trust", "expired.trust"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("outside its validity window"), "{stdout}");

    // Not yet valid is also outside the window.
    ws.write(
        "future.trust",
        format!("{signer} valid-after=9000-01-01T00:00:00Z\n"),
    );
    let (code, report) = verify_with(&ws, "future.trust", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(statuses(&report, 1)[0].1, "outside-validity");

    // The control: a window that holds the checkpoint.
    ws.write(
        "window.trust",
        format!("{signer} valid-after=2020-01-01T00:00:00Z valid-before=9000-01-01T00:00:00Z\n"),
    );
    assert_verifies(&ws, "window.trust", 1);

    // Malformed attributes are bad input, not a failed verification.
    ws.write("bad.trust", format!("{signer} valid-before=soon\n"));
    let (code, _, stderr) = ws.run(&["verify", "--trust", "bad.trust"]);
    assert_eq!(code, 2, "{stderr}");
    ws.write("unknown.trust", format!("{signer} colour=red\n"));
    let (code, _, stderr) = ws.run(&["verify", "--trust", "unknown.trust"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("colour"), "{stderr}");
}

#[test]
fn introduced_key_verifies() {
    let ws = Workspace::new();
    let officer = generate_key(&ws, "officer");
    let id = recorded(&ws, &["key", "introduce", "--key", "officer.key"]);
    let shown = json(&ws, &["show", &id, "--json"])["records"][0].take();
    assert_eq!(shown["kind"], "key", "{shown}");
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ok(&ws, &["seal", "--key", "officer.key"]);
    ws.write("officer.trust", format!("{officer}\n"));
    let report = assert_verifies(&ws, "officer.trust", 1);
    assert_eq!(report["key_events"], 1);
    assert_eq!(statuses(&report, 1), [("officer".into(), "valid".into())]);
    // The workspace's other key was never introduced nor used: trusting it alone fails.
    let (code, report) = verify_with(&ws, "signer.pub", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(Workspace::problem_codes(&report), ["signature-missing"]);
    // Integrity only: the archive's own keys (introduced ones included) are used.
    let (code, stdout, stderr) = ws.run(&["verify", "--json", "--integrity-only"]);
    assert_eq!(code, 3, "{stdout} {stderr}");
}

#[test]
fn rotation_carries_trust_to_the_new_key() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ws.seal();
    generate_key(&ws, "successor");
    let rotation = recorded(
        &ws,
        &[
            "key",
            "rotate",
            "--old",
            "signer.key",
            "--new",
            "successor.pub",
        ],
    );
    ws.write("b.txt", "Witness B.\n");
    add_one(&ws, &["b.txt"]);
    ok(&ws, &["seal", "--key", "successor.key"]);

    // Only the OLD key is trusted, with attributes; trust follows the endorsed rotation.
    ws.write(
        "old.trust",
        format!("{} signer=\"Sealing officer\"\n", read_pub(&ws, "signer")),
    );
    let report = assert_verifies(&ws, "old.trust", 1);
    assert_eq!(report["key_events"], 1);
    assert_eq!(statuses(&report, 2), [("successor".into(), "valid".into())]);
    assert_eq!(
        report["checkpoints"][1]["signatures"][0]["signer"], "Sealing officer",
        "the new key inherits what the trust file says of the old"
    );
    let shown = ok(&ws, &["show", &rotation]);
    assert!(shown.contains("kind:           key"), "{shown}");

    // The old key alone may no longer sign.
    ws.write("c.txt", "Witness C.\n");
    add_one(&ws, &["c.txt"]);
    ws.seal();
    let (code, report) = verify_with(&ws, "old.trust", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [("signature-missing".to_string(), "checkpoint 3".to_string())]
    );
    assert_eq!(statuses(&report, 3), [("signer".into(), "revoked".into())]);
    assert!(checkpoint_ok(&report, 1), "sealed before the rotation");
    assert!(checkpoint_ok(&report, 2));
}

#[test]
fn revoked_key_fails_later_checkpoints_only() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ws.seal();
    ok(
        &ws,
        &["key", "revoke", "signer.pub", "--reason", "laptop stolen"],
    );
    // Checkpoint 1 predates the revocation.
    let report = assert_verifies(&ws, "signer.pub", 1);
    assert_eq!(report["key_events"], 1);
    assert_eq!(report["unsealed_records"], 1);

    ws.write("b.txt", "Witness B.\n");
    add_one(&ws, &["b.txt"]);
    ws.seal();
    let (code, report) = verify_with(&ws, "signer.pub", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [("signature-missing".to_string(), "checkpoint 2".to_string())]
    );
    assert_eq!(statuses(&report, 2), [("signer".into(), "revoked".into())]);
    assert_eq!(statuses(&report, 1), [("signer".into(), "valid".into())]);
    assert!(checkpoint_ok(&report, 1));
    let (code, text) = ws.verify_text();
    assert_eq!(code, 1);
    assert!(text.contains("revoked or rotated out"), "{text}");
}

#[test]
fn revocation_effective_in_the_past_rejects_earlier_checkpoints() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ws.seal();
    assert_verifies(&ws, "signer.pub", 1);
    ok(
        &ws,
        &[
            "key",
            "revoke",
            "signer.pub",
            "--reason",
            "compromised since 2020",
            "--effective",
            "2020-01-01T00:00:00Z",
        ],
    );
    let (code, report) = verify_with(&ws, "signer.pub", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(statuses(&report, 1), [("signer".into(), "revoked".into())]);
    refused(
        &ws,
        &[
            "key",
            "revoke",
            "signer.pub",
            "--reason",
            "r",
            "--effective",
            "last week",
        ],
    );
}

/// Appends a key record through the library, exactly as the archive's own writers do.
fn append_key_record(ws: &Workspace, record: KeyRecord) -> String {
    let archive = Archive::open(&ws.archive()).expect("open archive");
    let lock = archive.lock().expect("lock");
    let mut log = archive.log().expect("log");
    let ids = append_records(&archive, &lock, &mut log, &[Record::Key(Box::new(record))])
        .expect("append");
    ids[0].to_hex()
}

#[test]
fn forged_rotation_endorsement_is_reported() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ws.seal();
    generate_key(&ws, "successor");
    generate_key(&ws, "mallory");
    assert_verifies(&ws, "signer.pub", 1);

    let origin = Archive::open(&ws.archive())
        .expect("open")
        .origin()
        .to_string();
    let old = load_key(&ws, "signer.key").verifier();
    let new = load_key(&ws, "successor.key").verifier();
    let mallory = load_key(&ws, "mallory.key");
    // Endorsed by the wrong key: mallory signs what only the old key may sign.
    let message = key_event_message(&origin, KeyAction::Rotate, &new, Some(&old));
    let id = append_key_record(
        &ws,
        KeyRecord {
            header: Header::now(),
            action: KeyAction::Rotate,
            key: new,
            previous: Some(old),
            endorsement: Some(mallory.sign(&message)),
            reason: None,
            effective: None,
        },
    );
    ok(&ws, &["seal", "--key", "successor.key"]);
    let (code, report) = verify_with(&ws, "signer.pub", 1);
    assert_eq!(code, 1, "{report}");
    let found = problems(&report);
    assert!(
        found.contains(&(
            "key-endorsement-invalid".to_string(),
            format!("record #1 ({id})")
        )),
        "{report}"
    );
    // The forged rotation does not move trust: checkpoint 2 has no trusted signature.
    assert!(
        found.contains(&("signature-missing".to_string(), "checkpoint 2".to_string())),
        "{report}"
    );
    assert_eq!(
        statuses(&report, 2),
        [("successor".into(), "unknown-key".into())]
    );
    assert!(checkpoint_ok(&report, 1));
}

#[test]
fn forged_introduction_endorsement_is_reported() {
    let ws = Workspace::new();
    generate_key(&ws, "officer");
    let officer = load_key(&ws, "officer.key").verifier();
    let signer = load_key(&ws, "signer.key");
    let origin = Archive::open(&ws.archive())
        .expect("open")
        .origin()
        .to_string();
    // Proof of possession by another key is no proof.
    let message = key_event_message(&origin, KeyAction::Introduce, &officer, None);
    let id = append_key_record(
        &ws,
        KeyRecord {
            header: Header::now(),
            action: KeyAction::Introduce,
            key: officer,
            previous: None,
            endorsement: Some(signer.sign(&message)),
            reason: None,
            effective: None,
        },
    );
    ws.seal();
    let (code, report) = verify_with(&ws, "signer.pub", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [(
            "key-endorsement-invalid".to_string(),
            format!("record #0 ({id})")
        )]
    );
}

pub(crate) fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create directory");
    for entry in fs::read_dir(from).expect("read fixture directory") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

#[test]
fn v1_sample_archive_still_verifies() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/archives");
    let archive = fixtures.join("v1-sample");
    if !archive.is_dir() {
        eprintln!("skipped: {} does not exist yet", archive.display());
        return;
    }
    let ws = Workspace::bare();
    let copy = ws.path("v1-sample");
    copy_tree(&archive, &copy);
    let trust = fixtures.join("v1-sample.trust");
    let copy_arg = copy.to_string_lossy().into_owned();
    let trust_arg = trust.to_string_lossy().into_owned();
    let (code, stdout, stderr) = ws.run(&[
        "--archive",
        &copy_arg,
        "verify",
        "--json",
        "--trust",
        &trust_arg,
    ]);
    assert_eq!(code, 0, "{stdout} {stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["ok"], true, "{report}");
    assert!(Workspace::problem_codes(&report).is_empty(), "{report}");
    // Format 1 commits to no reference map: the verdict says completeness is not provable.
    assert!(
        report["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w
                .as_str()
                .unwrap_or("")
                .contains("completeness NOT PROVABLE")),
        "{report}"
    );
    assert!(
        !report["checkpoints"]
            .as_array()
            .expect("checkpoints")
            .is_empty(),
        "the fixture is sealed: {report}"
    );
}
