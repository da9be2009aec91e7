//! A rewritten history (a fork signed by the same key) caught by `diff`, `verify --since` and the
//! witness; rollbacks (an older version presented as the newest) refused.

use super::*;

#[test]
fn diff_catches_a_rewritten_history() {
    let ws = forked();
    let signer = key_label(&ws, "signer.pub");
    let (code, report) = diff_json(&ws, "arc", "fork");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "violated", "{report}");
    let e = &report["equivocation"];
    assert_eq!(
        e["signed_both"],
        serde_json::json!([key_signer(&ws, "signer.pub")]),
        "{e}"
    );
    assert_eq!(e["first_divergent_leaf"], 2, "{e}");
    assert_eq!(e["first"]["size"], 4);
    assert_eq!(e["second"]["size"], 5);
    // The report carries both signed statements exactly as received.
    assert_eq!(
        e["first"]["note"].as_str().unwrap(),
        fs::read_to_string(ws.path("arc/checkpoints/0000000003")).unwrap()
    );
    assert_eq!(
        e["second"]["note"].as_str().unwrap(),
        fs::read_to_string(ws.path("fork/checkpoints/0000000003")).unwrap()
    );
    let (code, text) = diff_text(&ws, "arc", "fork");
    assert_eq!(code, 1, "{text}");
    for expected in [
        "append-only: VIOLATED",
        "EQUIVOCATION REPORT",
        &format!("Signed both: {signer}"),
        "The histories part at record #2",
        "--- end of report ---",
    ] {
        assert!(text.contains(expected), "missing '{expected}' in: {text}");
    }
    // From an earlier checkpoint, and the other way round (TO smaller, not an earlier version).
    let (code, report) = diff_json(&ws, "2", "fork");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "violated", "{report}");
    assert_eq!(report["equivocation"]["first_divergent_leaf"], 2);
    let (code, report) = diff_json(&ws, "fork", "arc");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["append_only"], "violated", "{report}");
    assert_eq!(
        report["equivocation"]["signed_both"],
        serde_json::json!([key_signer(&ws, "signer.pub")])
    );
    // Control: the common checkpoint is extended by both.
    let (code, report) = diff_json(&ws, "1", "fork");
    assert_eq!(code, 0, "{report}");
}

#[test]
fn verify_since_catches_a_rewritten_history() {
    let ws = forked();
    // Control: a checkpoint held from the same history is extended.
    let (code, report) = verify_with(&ws, &["--since", "arc/checkpoints/0000000002"]);
    assert_eq!(code, 0, "{report}");
    // The recipient holds the fork's checkpoint 2 (3 records); the archive has other records.
    let (code, report) = verify_with(&ws, &["--since", "fork/checkpoints/0000000002"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["equivocation"],
        "{report}"
    );
    let e = &report["equivocation"];
    assert_eq!(
        e["signed_both"],
        serde_json::json!([key_signer(&ws, "signer.pub")]),
        "{e}"
    );
    assert_eq!(e["first"]["size"], 3, "{e}");
    assert_eq!(
        e["first"]["note"].as_str().unwrap(),
        fs::read_to_string(ws.path("fork/checkpoints/0000000002")).unwrap()
    );
    let (code, stdout, stderr) = ws.run(&[
        "verify",
        "--trust",
        "signer.pub",
        "--since",
        "fork/checkpoints/0000000002",
    ]);
    let text = format!("{stdout}{stderr}");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("PROBLEM [equivocation] --since: "), "{text}");
    assert!(text.contains("EQUIVOCATION REPORT"), "{text}");
    // And the fork, held against the real history's checkpoint.
    let (code, stdout, _) = ws.run(&[
        "--archive",
        "fork",
        "verify",
        "--json",
        "--trust",
        "signer.pub",
        "--since",
        "arc/checkpoints/0000000003",
    ]);
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["equivocation"],
        "{report}"
    );
}

#[test]
fn witness_refuses_a_rewritten_history() {
    let ws = forked();
    keygen(&ws, "witness");
    let (code, _, stderr) = cosign(
        &ws,
        "witness.key",
        "state",
        "arc/checkpoints/0000000002",
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("first checkpoint seen"), "{stderr}");
    let (code, _, stderr) = cosign(
        &ws,
        "witness.key",
        "state",
        "arc/checkpoints/0000000003",
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let before = snapshot(&ws.path("state"));

    // The fork's newest checkpoint, with the fork itself to compute the proof from.
    let (code, stdout, stderr) = cosign(
        &ws,
        "witness.key",
        "state",
        "fork/checkpoints/0000000003",
        &["--archive", "fork"],
    );
    assert_eq!(code, 1, "{stdout} {stderr}");
    assert!(stdout.is_empty(), "nothing cosigned: {stdout}");
    assert!(stderr.contains("witness refuses to cosign"), "{stderr}");
    assert!(stderr.contains("fork"), "{stderr}");
    assert!(stderr.contains("EQUIVOCATION REPORT"), "{stderr}");
    assert!(
        stderr.contains(&format!("Signed both: {}", key_label(&ws, "signer.pub"))),
        "{stderr}"
    );
    assert_eq!(
        snapshot(&ws.path("state")),
        before,
        "a refusal changed the state"
    );

    // Same size, different root: a second witness that saw the real checkpoint 2.
    let (code, _, stderr) = cosign(
        &ws,
        "witness.key",
        "state2",
        "arc/checkpoints/0000000002",
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let before = snapshot(&ws.path("state2"));
    let (code, _, stderr) = cosign(
        &ws,
        "witness.key",
        "state2",
        "fork/checkpoints/0000000002",
        &["--archive", "fork"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("fork: same size 3"), "{stderr}");
    assert!(stderr.contains("EQUIVOCATION REPORT"), "{stderr}");
    assert_eq!(snapshot(&ws.path("state2")), before);
}

#[test]
fn rollbacks_are_refused() {
    let ws = Workspace::new();
    ws.write("a.txt", "Statement of witness A.\n");
    ws.add(&["a.txt"]);
    ws.seal();
    copy_dir(&ws, "arc", "old-copy");
    ws.write("b.txt", "Statement of witness B.\n");
    ws.add(&["b.txt"]);
    ws.seal();
    ws.write("c.txt", "Statement of witness C.\n");
    ws.add(&["c.txt"]);
    ws.seal();

    // diff NEW OLD of one honest history: arguments reversed, never called a rollback.
    for (from, to) in [("3", "1"), ("arc", "old-copy")] {
        let (code, stdout, stderr) = ws.run(&["diff", from, to, "--trust", "signer.pub"]);
        assert_eq!(code, 2, "{stdout} {stderr}");
        assert!(
            stderr.contains(&format!("did you mean `diff {to} {from}`")),
            "{stderr}"
        );
        assert!(!stdout.contains("VIOLATED"), "{stdout}");
        assert!(!stdout.contains("rollback"), "{stdout}");
        assert!(!stdout.contains("EQUIVOCATION"), "{stdout}");
    }

    // verify --since on an older copy
    let held = "arc/checkpoints/0000000003";
    let (code, report) = verify_with(&ws, &["--since", held]);
    assert_eq!(code, 0, "control: {report}");
    let (code, stdout, stderr) = ws.run(&[
        "--archive",
        "old-copy",
        "verify",
        "--json",
        "--trust",
        "signer.pub",
        "--since",
        held,
    ]);
    let report: Value = parse_json(&[], &stdout, &stderr);
    assert_eq!(code, 1, "{report}");
    assert_eq!(Workspace::problem_codes(&report), ["rollback"], "{report}");
    assert_eq!(report["equivocation"], Value::Null);
    let (code, stdout, _) = ws.run(&[
        "--archive",
        "old-copy",
        "verify",
        "--trust",
        "signer.pub",
        "--since",
        held,
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("PROBLEM [rollback] --since: "), "{stdout}");

    // A witness asked to cosign an older checkpoint after a newer one.
    keygen(&ws, "witness");
    let (code, _, stderr) = cosign(&ws, "witness.key", "state", held, &[]);
    assert_eq!(code, 0, "{stderr}");
    let before = snapshot(&ws.path("state"));
    let (code, stdout, stderr) = cosign(
        &ws,
        "witness.key",
        "state",
        "arc/checkpoints/0000000001",
        &[],
    );
    // An older checkpoint of the same history is stale, not a fork: refused, no accusation.
    assert_eq!(code, 1, "{stdout} {stderr}");
    assert!(stderr.contains("STALE"), "{stderr}");
    assert!(!stderr.contains("EQUIVOCATION REPORT"), "{stderr}");
    assert_eq!(snapshot(&ws.path("state")), before);
}
