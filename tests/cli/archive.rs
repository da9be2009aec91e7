//! The happy path: init, add, seal, verify, and the read-only commands.

use evidentia::core::digest::Digest;

use crate::common::{added, Workspace};

#[test]
fn add_seal_verify_round_trip() {
    let ws = Workspace::new();
    ws.write("case/report.txt", "2,442 children were taken to Belarus.\n");
    ws.write("case/photos/scene.jpg", [0xffu8, 0xd8, 0xff, 0xe0]);
    let out = ws.add(&["case"]);
    let docs = added(&out);
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].1, "case/photos/scene.jpg");
    assert_eq!(docs[1].1, "case/report.txt");
    let sealed = ws.seal();
    assert!(sealed.starts_with("checkpoint 1: 2 records"), "{sealed}");
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["documents"], 2);
    assert_eq!(report["signers_authenticated"], true);
}

#[test]
fn re_adding_identical_content_is_a_noop_that_says_so() {
    let ws = Workspace::new();
    ws.write("case/a.txt", "first\n");
    ws.add(&["case"]);
    let out = ws.cmd().args(["add", "case"]).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("unchanged: case/a.txt"), "{stderr}");
    assert!(
        stderr.contains("0 document(s) recorded, 1 unchanged"),
        "{stderr}"
    );
    // New content under the same path is a new version, not a no-op.
    ws.write("case/a.txt", "second\n");
    let docs = added(&ws.add(&["case"]));
    assert_eq!(docs.len(), 1);
    let ls = ws.cmd().args(["ls", "--json"]).assert().success();
    let listed: serde_json::Value =
        serde_json::from_slice(&ls.get_output().stdout).expect("ls JSON");
    assert_eq!(
        listed["documents"].as_array().map(Vec::len),
        Some(1),
        "the current version"
    );
    let ls = ws
        .cmd()
        .args(["ls", "--all-versions", "--json"])
        .assert()
        .success();
    let listed: serde_json::Value =
        serde_json::from_slice(&ls.get_output().stdout).expect("ls JSON");
    assert_eq!(listed["documents"].as_array().map(Vec::len), Some(2));
}

#[test]
fn log_show_and_cat_read_back_what_was_recorded() {
    let ws = Workspace::new();
    let content = "2,442 children were taken to Belarus.\n";
    ws.write("report.txt", content);
    ws.cmd()
        .args([
            "add",
            "report.txt",
            "--collector",
            "Analyst A",
            "--tag",
            "news",
        ])
        .args(["--collected-at", "2024-03-01T16:05:00+02:00"])
        .assert()
        .success();
    ws.seal();
    let digest = added(&ws.add(&["report.txt"]))[0].0.clone();
    // cat by a unique prefix gives the exact bytes.
    let cat = ws.cmd().args(["cat", &digest[..8]]).assert().success();
    assert_eq!(cat.get_output().stdout, content.as_bytes());
    // show by content digest prints the document record with its collection metadata.
    let show = ws
        .cmd()
        .args(["show", &digest, "--json"])
        .assert()
        .success();
    let shown: serde_json::Value =
        serde_json::from_slice(&show.get_output().stdout).expect("show JSON");
    let record = &shown["records"][0];
    assert_eq!(record["document"]["collector"], "Analyst A");
    assert_eq!(record["document"]["collected_at"], "2024-03-01T14:05:00Z");
    assert_eq!(record["document"]["tags"][0], "news");
    // log lists the record and the checkpoint that seals it.
    let log = ws.cmd().args(["log", "--json"]).assert().success();
    let log: serde_json::Value = serde_json::from_slice(&log.get_output().stdout).expect("log");
    assert_eq!(log["records"].as_array().map(Vec::len), Some(1));
    assert_eq!(log["checkpoints"][0]["size"], 1);
}

#[test]
fn verify_refuses_without_trust_and_integrity_only_is_not_verified() {
    let ws = Workspace::new();
    ws.write("a.txt", "a\n");
    ws.add(&["a.txt"]);
    ws.seal();
    // No silent fallback to the archive's own keys: the user must say whom they trust.
    let (code, stdout, stderr) = ws.run(&["verify"]);
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("--trust FILE"), "{stderr}");
    assert!(stderr.contains("--integrity-only"), "{stderr}");
    let (code, _, stderr) = ws.run(&["verify", "--trust", "signer.pub", "--integrity-only"]);
    assert_eq!(code, 2, "{stderr}");
    // Integrity only: intact, but never VERIFIED and never exit 0.
    let (code, stdout, _) = ws.run(&["verify", "--integrity-only"]);
    assert_eq!(code, 3, "{stdout}");
    let last = stdout.lines().last().unwrap_or("");
    assert!(
        last.starts_with("INTACT BUT SIGNER NOT AUTHENTICATED: "),
        "{stdout}"
    );
    assert!(!stdout.contains("VERIFIED"), "{stdout}");
    let (code, stdout, _) = ws.run(&["verify", "--integrity-only", "--json"]);
    assert_eq!(code, 3, "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(report["verdict"], "intact-unauthenticated");
    assert_eq!(report["ok"], true);
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0);
    assert_eq!(report["verdict"], "verified");
    // Unsealed records are reported, not hidden.
    ws.write("b.txt", "b\n");
    ws.add(&["b.txt"]);
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0);
    assert_eq!(report["unsealed_records"], 1);
}

#[test]
fn an_empty_archive_is_not_provable_never_verified() {
    // Nothing is signed, so no signer was authenticated: exit 4, not 0.
    let ws = Workspace::new();
    let (code, stdout, _) = ws.run(&["verify", "--trust", "signer.pub"]);
    assert_eq!(code, 4, "{stdout}");
    assert!(
        stdout
            .lines()
            .last()
            .unwrap_or("")
            .starts_with("NOT PROVABLE: "),
        "{stdout}"
    );
    let (code, report) = ws.verify_json();
    assert_eq!(code, 4, "{report}");
    assert_eq!(report["verdict"], "not-provable");
}

/// Records are read in parallel (`query::records_range`), but an error names the first record
/// in log order that cannot be read, the same on every run: here the log's second half points
/// at records that are not stored, and the first of them, #31, is always the one named.
#[test]
fn an_unreadable_log_names_its_first_missing_record() {
    let ws = Workspace::new();
    for i in 0..64 {
        ws.write(&format!("d/f{i:02}.txt"), format!("document {i}"));
    }
    let (code, _, stderr) = ws.run(&["add", "d"]);
    assert_eq!(code, 0, "{stderr}");
    let mut records = ws.record_digests();
    let leaves = ws.leaf_hashes();
    let first_missing = records.len() - 33;
    for (n, record) in records.iter_mut().enumerate().skip(first_missing) {
        *record = Digest::of(format!("never stored {n}").as_bytes());
    }
    ws.rewrite_log(&records, &leaves);
    for _ in 0..5 {
        let (code, _, stderr) = ws.run(&["annotations"]);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains(&records[first_missing].to_hex()),
            "not the first missing record (sha256:{}): {stderr}",
            records[first_missing]
        );
    }
}
