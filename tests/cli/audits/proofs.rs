//! Consistency proof files and `verify --pin`.

use super::*;

#[test]
fn consistency_proof_files() {
    let ws = forked();
    ok(
        &ws,
        &["prove", "consistency", "1", "3", "--out", "p13.json"],
    );
    let (code, stdout, stderr) = ws.run(&["verify-proof", "p13.json", "--trust", "signer.pub"]);
    assert_eq!(code, 0, "{stdout} {stderr}");
    assert!(stdout.contains("VERIFIED: append-only"), "{stdout}");
    let (code, stdout, _) = ws.run(&[
        "verify-proof",
        "p13.json",
        "--trust",
        "signer.pub",
        "--json",
    ]);
    assert_eq!(code, 0, "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["signers_authenticated"], true);

    let original: Value = serde_json::from_slice(&fs::read(ws.path("p13.json")).unwrap()).unwrap();
    let check_bad = |name: &str, file: &Value| -> Value {
        ws.write(name, serde_json::to_vec_pretty(file).unwrap());
        let (code, stdout, stderr) =
            ws.run(&["verify-proof", name, "--trust", "signer.pub", "--json"]);
        assert_eq!(code, 1, "{name}: {stdout} {stderr}");
        let report: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(report["ok"], false);
        assert!(
            Workspace::problem_codes(&report).contains(&"consistency-invalid".to_string()),
            "{report}"
        );
        let (code, text, _) = ws.run(&["verify-proof", name, "--trust", "signer.pub"]);
        assert_eq!(code, 1);
        assert!(
            text.contains("PROBLEM [consistency-invalid] proof: "),
            "{text}"
        );
        assert!(text.contains("FAILED"), "{text}");
        report
    };

    // A proof hash altered.
    let mut altered = original.clone();
    let hash = altered["proof"][0].as_str().unwrap().to_string();
    let flipped = format!(
        "{}{}",
        if hash.starts_with('f') { "e" } else { "f" },
        &hash[1..]
    );
    altered["proof"][0] = Value::String(flipped);
    check_bad("altered.json", &altered);

    // The 'to' checkpoint swapped for the fork's (signed by the same key, so the signatures
    // hold): the proof no longer links them. The fork was copied at checkpoint 1, so its
    // checkpoint 3 does extend checkpoint 1: a failing proof alleges no equivocation.
    let mut swapped = original.clone();
    swapped["to"] =
        Value::String(fs::read_to_string(ws.path("fork/checkpoints/0000000003")).unwrap());
    let report = check_bad("swapped.json", &swapped);
    assert_eq!(
        Workspace::problem_codes(&report),
        ["consistency-invalid"],
        "only the link fails: {report}"
    );
    assert_eq!(report["equivocation"], Value::Null, "{report}");
    let (_, text, _) = ws.run(&["verify-proof", "swapped.json", "--trust", "signer.pub"]);
    assert!(!text.contains("EQUIVOCATION"), "{text}");

    // Two checkpoints of one size with different roots, both signed by the same key, conflict
    // whatever the proof: the report carries both statements and names the key.
    let mut same_size = original.clone();
    same_size["from"] =
        Value::String(fs::read_to_string(ws.path("arc/checkpoints/0000000002")).unwrap());
    same_size["to"] =
        Value::String(fs::read_to_string(ws.path("fork/checkpoints/0000000002")).unwrap());
    same_size["proof"] = serde_json::json!([]);
    let report = check_bad("same-size.json", &same_size);
    assert_eq!(Workspace::problem_codes(&report), ["consistency-invalid"]);
    assert_eq!(
        report["equivocation"]["signed_both"],
        serde_json::json!([key_signer(&ws, "signer.pub")]),
        "{report}"
    );
    let (_, text, _) = ws.run(&["verify-proof", "same-size.json", "--trust", "signer.pub"]);
    assert!(text.contains("EQUIVOCATION REPORT"), "{text}");
    assert!(text.contains("Signed both: signer+"), "{text}");
    // Without a trust file the signers are not authenticated: the conflict fails the check
    // but accuses nobody.
    let (code, text, _) = ws.run(&["verify-proof", "same-size.json", "--integrity-only"]);
    assert_eq!(code, 1, "{text}");
    assert!(!text.contains("EQUIVOCATION"), "{text}");
}

#[test]
fn verify_pin() {
    let ws = three_seals();
    let hash = checkpoint_in(&ws.checkpoint_path(2)).text_hash().to_hex();
    let (code, report) = verify_with(&ws, &["--pin", &hash]);
    assert_eq!(code, 0, "{report}");
    let random = "5f".repeat(32);
    let (code, report) = verify_with(&ws, &["--pin", &random]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["pin-not-found"],
        "{report}"
    );
    let (code, stdout, _) = ws.run(&["verify", "--trust", "signer.pub", "--pin", &random]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("PROBLEM [pin-not-found] checkpoints/: "),
        "{stdout}"
    );
    assert!(stdout.contains(&random), "{stdout}");
    // The pin is the hash of the checkpoint text, not of the file with its signatures.
    let file_hash = evidentia::core::digest::Digest::of(&fs::read(ws.checkpoint_path(2)).unwrap());
    let (code, report) = verify_with(&ws, &["--pin", &file_hash.to_hex()]);
    assert_eq!(code, 1, "{report}");
    // Not hex: bad usage.
    let (code, _, stderr) = ws.run(&["verify", "--trust", "signer.pub", "--pin", "xyz"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--pin"), "{stderr}");
}

#[test]
fn every_pin_given_to_a_bundle_is_checked() {
    let ws = three_seals();
    ok(&ws, &["export", "--out", "bundle", "--all"]);
    let right = checkpoint_in(&ws.checkpoint_path(3)).text_hash().to_hex();
    let wrong = checkpoint_in(&ws.checkpoint_path(2)).text_hash().to_hex();
    let verify_pins = |checkpoint_hash: &str, pin: &str| {
        verify_with(
            &ws,
            &["bundle", "--checkpoint-hash", checkpoint_hash, "--pin", pin],
        )
    };
    // Control: both pins right.
    let (code, report) = verify_pins(&right, &right);
    assert_eq!(code, 0, "{report}");
    // Either one wrong fails, whichever option it was given with.
    for (checkpoint_hash, pin) in [(&right, &wrong), (&wrong, &right)] {
        let (code, report) = verify_pins(checkpoint_hash, pin);
        assert_eq!(code, 1, "{report}");
        assert_eq!(
            Workspace::problem_codes(&report),
            ["checkpoint-pin-mismatch"],
            "{report}"
        );
    }
    // Alone, --pin is checked too.
    let (code, report) = verify_with(&ws, &["bundle", "--pin", &wrong]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["checkpoint-pin-mismatch"]
    );
}

#[test]
fn verify_since_refuses_an_archive_rolled_back_to_no_checkpoint() {
    let ws = three_seals();
    let held = ws.write(
        "held.checkpoint",
        fs::read(ws.checkpoint_path(2)).expect("checkpoint 2"),
    );
    let held = held.to_str().expect("UTF-8");
    // Every checkpoint removed; the records stay (as if never sealed).
    copy_dir(&ws, "arc", "rolled");
    for n in 1..=3 {
        fs::remove_file(ws.path(&format!("rolled/checkpoints/{n:010}"))).expect("remove");
    }
    for extra in [&["--integrity-only"][..], &["--trust", "signer.pub"][..]] {
        let args = [
            &["--archive", "rolled", "verify", "--json", "--since", held][..],
            extra,
        ]
        .concat();
        let (code, stdout, stderr) = ws.run(&args);
        let report = parse_json(&args, &stdout, &stderr);
        assert_eq!(code, 1, "{report}");
        assert!(
            Workspace::problem_codes(&report).contains(&"rollback".to_string()),
            "{report}"
        );
        assert_eq!(report["equivocation"], Value::Null, "{report}");
    }
    // A fresh archive (another origin, even under the same name) does not pass either.
    let (code, _, stderr) = ws.run(&["init", "empty", "--name", "test"]);
    assert_eq!(code, 0, "{stderr}");
    let args = [
        "--archive",
        "empty",
        "verify",
        "--json",
        "--integrity-only",
        "--since",
        held,
    ];
    let (code, stdout, stderr) = ws.run(&args);
    let report = parse_json(&args, &stdout, &stderr);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["since-not-provable"],
        "{report}"
    );
    // Control: the archive itself extends the held checkpoint.
    let (code, report) = verify_with(&ws, &["--since", held]);
    assert_eq!(code, 0, "{report}");
}
