//! Witnesses: memory across restarts, k of n.

use super::*;

#[test]
fn witness_state_survives_restarts() {
    let ws = three_seals();
    keygen(&ws, "witness");
    let (code, stdout, stderr) = cosign(
        &ws,
        "witness.key",
        "state",
        "arc/checkpoints/0000000001",
        &["--out", "w1.txt"],
    );
    assert_eq!(code, 0, "{stdout} {stderr}");
    assert!(stderr.contains("at 2 records"), "{stderr}");
    assert!(stderr.contains("first checkpoint seen"), "{stderr}");
    // The state: a lock and the last cosigned checkpoint, exactly as presented.
    let state = snapshot(&ws.path("state"));
    assert_eq!(state.len(), 2, "{:?}", state.keys());
    assert!(state.contains_key("lock"), "{:?}", state.keys());
    let cp1 = fs::read(ws.path("arc/checkpoints/0000000001")).unwrap();
    assert!(
        state
            .iter()
            .any(|(name, bytes)| name.ends_with(".checkpoint") && *bytes == cp1),
        "{:?}",
        state.keys()
    );

    // A new process with the archive computes the proof itself.
    let (code, stdout, stderr) = cosign(
        &ws,
        "witness.key",
        "state",
        "arc/checkpoints/0000000002",
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("extends the 2 records cosigned before"),
        "{stderr}"
    );
    // The cosigned checkpoint goes to standard output: the original plus one line.
    let original = fs::read_to_string(ws.path("arc/checkpoints/0000000002")).unwrap();
    assert!(stdout.starts_with(&original), "{stdout}");
    assert_eq!(
        stdout.lines().count(),
        original.lines().count() + 1,
        "{stdout}"
    );

    // Without an archive, a proof file is needed, and suffices.
    ok(
        &ws,
        &["prove", "consistency", "2", "3", "--out", "p23.json"],
    );
    let mut no_archive = ws.cmd();
    no_archive.env_remove("EVIDENTIA_ARCHIVE").args([
        "witness",
        "cosign",
        "arc/checkpoints/0000000003",
        "--key",
        "witness.key",
        "--state",
        "state",
        "--log-trust",
        "signer.pub",
    ]);
    let out = no_archive.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--proof"), "{stderr}");
    // A proof between other checkpoints is refused.
    ok(
        &ws,
        &["prove", "consistency", "1", "2", "--out", "p12.json"],
    );
    let mut wrong_proof = ws.cmd();
    wrong_proof.env_remove("EVIDENTIA_ARCHIVE").args([
        "witness",
        "cosign",
        "arc/checkpoints/0000000003",
        "--key",
        "witness.key",
        "--state",
        "state",
        "--log-trust",
        "signer.pub",
        "--proof",
        "p12.json",
    ]);
    let out = wrong_proof.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not between the last cosigned checkpoint"),
        "{stderr}"
    );
    // An altered proof file is refused, without alleging a fork, and changes nothing.
    let mut proof: Value = serde_json::from_slice(&fs::read(ws.path("p23.json")).unwrap()).unwrap();
    let hash = proof["proof"][0].as_str().unwrap().to_string();
    let flipped = format!(
        "{}{}",
        if hash.starts_with('f') { "e" } else { "f" },
        &hash[1..]
    );
    proof["proof"][0] = Value::String(flipped);
    ws.write("p23-bad.json", serde_json::to_vec_pretty(&proof).unwrap());
    let before = snapshot(&ws.path("state"));
    let mut bad_proof = ws.cmd();
    bad_proof.env_remove("EVIDENTIA_ARCHIVE").args([
        "witness",
        "cosign",
        "arc/checkpoints/0000000003",
        "--key",
        "witness.key",
        "--state",
        "state",
        "--log-trust",
        "signer.pub",
        "--proof",
        "p23-bad.json",
    ]);
    let out = bad_proof.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("witness refuses to cosign"), "{stderr}");
    assert!(
        stderr.contains("consistency proof file does not show"),
        "{stderr}"
    );
    assert!(!stderr.contains("EQUIVOCATION"), "{stderr}");
    assert_eq!(snapshot(&ws.path("state")), before);

    let mut with_proof = ws.cmd();
    with_proof.env_remove("EVIDENTIA_ARCHIVE").args([
        "witness",
        "cosign",
        "arc/checkpoints/0000000003",
        "--key",
        "witness.key",
        "--state",
        "state",
        "--log-trust",
        "signer.pub",
        "--proof",
        "p23.json",
    ]);
    let out = with_proof.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("extends the 3 records cosigned before"),
        "{stderr}"
    );

    // Cosigning the same checkpoint again is idempotent.
    let before = snapshot(&ws.path("state"));
    for _ in 0..2 {
        let (code, _, stderr) = cosign(
            &ws,
            "witness.key",
            "state",
            "arc/checkpoints/0000000003",
            &[],
        );
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stderr.contains("extends the 4 records cosigned before"),
            "{stderr}"
        );
        assert_eq!(snapshot(&ws.path("state")), before);
    }
    let cp3 = fs::read(ws.path("arc/checkpoints/0000000003")).unwrap();
    assert!(before.values().any(|bytes| *bytes == cp3));
}

/// Flips one base64 character of the last signature line of a checkpoint file, keeping it
/// well-formed: the line still parses, but its signature no longer verifies.
fn forge_last_line(path: &Path) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let last = lines.last_mut().unwrap();
    let at = last.len() - 10;
    let old = last.as_bytes()[at];
    let new = if old == b'A' { 'B' } else { 'A' };
    last.replace_range(at..at + 1, &new.to_string());
    Workspace::overwrite(path, format!("{}\n", lines.join("\n")));
}

#[test]
fn k_of_n_witnesses() {
    let ws = three_seals();
    keygen(&ws, "w1");
    keygen(&ws, "w2");
    let both = format!(
        "{}{}",
        fs::read_to_string(ws.path("w1.pub")).unwrap(),
        fs::read_to_string(ws.path("w2.pub")).unwrap()
    );
    ws.write("both.txt", both);
    ws.write("one.txt", fs::read_to_string(ws.path("w1.pub")).unwrap());
    let latest = "arc/checkpoints/0000000003";
    for w in ["w1", "w2"] {
        let (code, _, stderr) = cosign(
            &ws,
            &format!("{w}.key"),
            &format!("state-{w}"),
            latest,
            &["--out", &format!("{w}.cosigned")],
        );
        assert_eq!(code, 0, "{stderr}");
    }
    // Before collecting, no witness has cosigned the stored checkpoint.
    let (code, report) = verify_with(
        &ws,
        &["--witness-trust", "both.txt", "--require-witnesses", "1"],
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["witnesses-insufficient"]
    );

    let stdout = ok(
        &ws,
        &[
            "seal",
            "--cosigned",
            "w1.cosigned",
            "--cosigned",
            "w2.cosigned",
            "--witness-trust",
            "both.txt",
        ],
    );
    assert!(
        stdout.contains("checkpoint 3: 1 cosignature line(s) added from w1.cosigned"),
        "{stdout}"
    );
    assert!(stdout.contains("from w2.cosigned"), "{stdout}");
    // Collecting again adds nothing.
    let stdout = ok(
        &ws,
        &[
            "seal",
            "--cosigned",
            "w1.cosigned",
            "--witness-trust",
            "both.txt",
        ],
    );
    assert!(stdout.contains("0 cosignature line(s) added"), "{stdout}");
    // The archive still verifies as before.
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");

    let (code, report) = verify_with(
        &ws,
        &["--witness-trust", "both.txt", "--require-witnesses", "2"],
    );
    assert_eq!(code, 0, "{report}");
    let cps = report["checkpoints"].as_array().unwrap();
    let mut witnesses = cps[2]["witnesses"].as_array().unwrap().clone();
    witnesses.sort_by_key(|w| w["name"].to_string());
    assert_eq!(
        witnesses,
        [key_signer(&ws, "w1.pub"), key_signer(&ws, "w2.pub")]
    );
    assert_eq!(cps[0]["witnesses"], serde_json::json!([]));
    let (code, stdout, _) = ws.run(&[
        "verify",
        "--trust",
        "signer.pub",
        "--witness-trust",
        "both.txt",
        "--require-witnesses",
        "2",
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("checkpoint 3 cosigned by witnesses: "),
        "{stdout}"
    );

    let (code, report) = verify_with(
        &ws,
        &["--witness-trust", "both.txt", "--require-witnesses", "3"],
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["witnesses-insufficient"]
    );
    assert_eq!(report["problems"][0]["item"], "checkpoint 3");
    let (code, report) = verify_with(
        &ws,
        &["--witness-trust", "one.txt", "--require-witnesses", "2"],
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["witnesses-insufficient"]
    );
    let (code, report) = verify_with(
        &ws,
        &["--witness-trust", "one.txt", "--require-witnesses", "1"],
    );
    assert_eq!(code, 0, "{report}");

    // Bundles carry the cosignatures.
    ok(&ws, &["export", "--out", "bundle", "--all"]);
    let bundle_verify = |trust: &str, k: &str| {
        let args = [
            "verify",
            "bundle",
            "--json",
            "--trust",
            "signer.pub",
            "--witness-trust",
            trust,
            "--require-witnesses",
            k,
        ];
        let (code, stdout, stderr) = ws.run(&args);
        (code, parse_json(&args, &stdout, &stderr))
    };
    let (code, report) = bundle_verify("both.txt", "2");
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["witnesses"].as_array().unwrap().len(), 2, "{report}");
    let (code, report) = bundle_verify("both.txt", "3");
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["witnesses-insufficient"]
    );

    // A forged cosignature line does not count.
    forge_last_line(&ws.checkpoint_path(3));
    let (code, report) = verify_with(
        &ws,
        &["--witness-trust", "both.txt", "--require-witnesses", "2"],
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["witnesses-insufficient"],
        "{report}"
    );
    assert_eq!(
        report["checkpoints"][2]["witnesses"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{report}"
    );
    let (code, report) = verify_with(
        &ws,
        &["--witness-trust", "both.txt", "--require-witnesses", "1"],
    );
    assert_eq!(code, 0, "{report}");
}
