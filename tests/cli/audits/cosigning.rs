//! The witness checks the log's signature before it cosigns or stores anything, and accuses
//! only between two validly signed checkpoints; `seal --cosigned` takes only valid
//! cosignatures by the witness keys it is given, and never changes the sealed bytes.

use super::*;

/// `witness cosign CHECKPOINT --key witness.key --state state` plus `extra`, with no archive
/// to compute proofs from; returns (exit code, stdout, stderr).
fn cosign_without_archive(ws: &Workspace, checkpoint: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        "--archive",
        "nowhere",
        "witness",
        "cosign",
        checkpoint,
        "--key",
        "witness.key",
        "--state",
        "state",
    ];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = ws.run(&args);
    (code, format!("{stdout}{stderr}"))
}

#[test]
fn witness_requires_the_logs_keys() {
    let ws = three_seals();
    keygen(&ws, "witness");
    let (code, text) = cosign_without_archive(&ws, "arc/checkpoints/0000000001", &[]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("--log-trust"), "{text}");
    assert!(!ws.path("state").exists(), "nothing may be stored");
}

#[test]
fn witness_never_cosigns_or_stores_a_checkpoint_no_log_key_signed() {
    let ws = three_seals();
    keygen(&ws, "witness");
    // An impostor with a fresh key under the signer's name signs a checkpoint of a copy.
    copy_dir(&ws, "arc", "fork");
    ok(
        &ws,
        &[
            "key",
            "generate",
            "--out",
            "impostor",
            "--signer",
            "signer",
            "--unencrypted",
        ],
    );
    ws.write("forged.txt", "A statement that was never made.\n");
    ok(&ws, &["--archive", "fork", "add", "forged.txt"]);
    ok(&ws, &["--archive", "fork", "seal", "--key", "impostor.key"]);
    let forged = "fork/checkpoints/0000000004";
    let (code, stdout, stderr) = cosign(&ws, "witness.key", "state", forged, &[]);
    assert_eq!(code, 1, "{stdout} {stderr}");
    assert!(stdout.is_empty(), "no cosignature may be printed: {stdout}");
    assert!(
        stderr.contains("no valid signature by the log keys"),
        "{stderr}"
    );
    assert!(!stderr.contains("EQUIVOCATION"), "{stderr}");
    let stored: Vec<_> = fs::read_dir(ws.path("state"))
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        stored.iter().all(|name| name == "lock"),
        "the forged checkpoint became the witness's state: {stored:?}"
    );
    // The real log is then cosigned, and not accused.
    let (code, _, stderr) = cosign(
        &ws,
        "witness.key",
        "state",
        "arc/checkpoints/0000000003",
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("EQUIVOCATION"), "{stderr}");
}

#[test]
fn witness_refuses_an_older_checkpoint_as_stale_without_accusing() {
    let ws = three_seals();
    keygen(&ws, "witness");
    let (code, _, stderr) = cosign(
        &ws,
        "witness.key",
        "state",
        "arc/checkpoints/0000000003",
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let before = snapshot(&ws.path("state"));
    for older in ["0000000001", "0000000002"] {
        // With the archive at hand, and with nothing to compute proofs from.
        let path = format!("arc/checkpoints/{older}");
        let (code, stdout, stderr) = cosign(&ws, "witness.key", "state", &path, &[]);
        assert_eq!(code, 1, "{stdout} {stderr}");
        assert!(stderr.contains("STALE"), "{stderr}");
        assert!(!stderr.contains("EQUIVOCATION"), "{stderr}");
        assert!(!stderr.contains("fork"), "{stderr}");
        let (code, text) = cosign_without_archive(&ws, &path, &["--log-trust", "signer.pub"]);
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("STALE"), "{text}");
        assert!(!text.contains("EQUIVOCATION"), "{text}");
        assert_eq!(snapshot(&ws.path("state")), before);
    }
}

/// Appends `line` to the signature lines of a cosigned checkpoint file.
fn with_extra_line(ws: &Workspace, from: &str, to: &str, line: &str) {
    let text = fs::read_to_string(ws.path(from)).expect("read cosigned");
    ws.write(to, format!("{text}{line}\n"));
}

#[test]
fn seal_cosigned_takes_only_valid_cosignatures_by_given_witnesses() {
    let ws = three_seals();
    keygen(&ws, "w1");
    keygen(&ws, "w2");
    let latest = "arc/checkpoints/0000000003";
    for w in ["w1", "w2"] {
        let out = format!("{w}.cosigned");
        let (code, _, stderr) = cosign(
            &ws,
            &format!("{w}.key"),
            &format!("state-{w}"),
            latest,
            &["--out", &out],
        );
        assert_eq!(code, 0, "{stderr}");
    }
    let original = fs::read(ws.path(latest)).unwrap();
    // Without witness keys nothing can be checked: refused.
    let (code, _, stderr) = ws.run(&["seal", "--cosigned", "w1.cosigned"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--witness-trust"), "{stderr}");

    // A garbage line, a cosignature by a witness not in the trust file, and a log-style
    // signature line by a stranger (it would change the sealed bytes) are each refused.
    let w2_line = fs::read_to_string(ws.path("w2.cosigned"))
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    with_extra_line(&ws, "w1.cosigned", "garbage.cosigned", "— w1 AAAAAAAAAAAA");
    with_extra_line(&ws, "w1.cosigned", "other-witness.cosigned", &w2_line);
    let signer_line = fs::read_to_string(ws.path(latest))
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .replacen("— signer", "— stranger", 1);
    with_extra_line(&ws, "w1.cosigned", "stranger.cosigned", &signer_line);
    for file in [
        "garbage.cosigned",
        "other-witness.cosigned",
        "stranger.cosigned",
    ] {
        let (code, stdout, stderr) =
            ws.run(&["seal", "--cosigned", file, "--witness-trust", "w1.pub"]);
        assert_eq!(code, 2, "{file}: {stdout} {stderr}");
        assert!(
            stderr.contains("is not a valid cosignature") || stderr.contains(file),
            "{file}: {stderr}"
        );
        assert_eq!(
            fs::read(ws.path(latest)).unwrap(),
            original,
            "{file} changed the stored checkpoint"
        );
    }
    let (code, _, stderr) = ws.run(&[
        "seal",
        "--cosigned",
        "other-witness.cosigned",
        "--witness-trust",
        "w1.pub",
    ]);
    assert!(
        stderr.contains("signature line 3") && stderr.contains("'— w2'"),
        "{code} {stderr}"
    );
    // The valid cosignature is added; the archive still verifies.
    let stdout = ok(
        &ws,
        &[
            "seal",
            "--cosigned",
            "w1.cosigned",
            "--witness-trust",
            "w1.pub",
        ],
    );
    assert!(stdout.contains("1 cosignature line(s) added"), "{stdout}");
    let (code, report) = verify_with(
        &ws,
        &["--witness-trust", "w1.pub", "--require-witnesses", "1"],
    );
    assert_eq!(code, 0, "{report}");
}

#[test]
fn a_time_stamp_still_verifies_after_cosignatures_are_merged() {
    let Some(setup) = crate::timestamps::setup() else {
        eprintln!("openssl missing: time-stamp test skipped");
        return;
    };
    let ws = &setup.ws;
    crate::timestamps::stamp(&setup, &setup.tsa, 2, "cp2");
    let (code, report) = crate::timestamps::verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "control: {report}");
    keygen(ws, "w1");
    let (code, _, stderr) = cosign(
        ws,
        "w1.key",
        "state",
        "arc/checkpoints/0000000002",
        &["--out", "w1.cosigned"],
    );
    assert_eq!(code, 0, "{stderr}");
    let stdout = ok(
        ws,
        &[
            "seal",
            "--cosigned",
            "w1.cosigned",
            "--witness-trust",
            "w1.pub",
        ],
    );
    assert!(stdout.contains("1 cosignature line(s) added"), "{stdout}");
    let (code, report) = crate::timestamps::verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "{report}");
    let tokens = crate::timestamps::timestamps(&report, 2);
    assert_eq!(tokens.len(), 1, "{report}");
    assert_eq!(tokens[0]["status"], "valid", "{report}");
}
