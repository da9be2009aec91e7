//! The whole archive workflow on the store: every command on an `s3://` archive.

use super::Site;
use crate::timestamps::tsa::{openssl_present, s, Ca, Profile};

#[test]
fn every_command_works_on_an_archive_on_the_store() {
    let Some(site) = Site::archive("workflow") else {
        return;
    };
    site.write("case/a.txt", "Statement of witness A.\n");
    site.write("case/photos/1.jpg", [0xffu8, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    site.write("case/photos/2.jpg", [0xffu8, 0xd8, 0xff, 0xe0, 4, 5, 6]);
    site.write("b.txt", "Statement of witness B.\n");
    let added = site.ok(&["add", "case", "b.txt"]);
    assert_eq!(crate::common::added(&added).len(), 4, "{added}");
    site.seal();

    site.ok(&["annotate", "case/a.txt", "--body", "consistent account"]);
    site.ok(&[
        "custody", "b.txt", "--event", "received", "--actor", "Desk", "--from", "O. Field", "--to",
        "Desk",
    ]);
    site.ok(&[
        "retract",
        "case/photos/2.jpg",
        "--reason",
        "duplicate upload",
    ]);
    let sealed = site.seal();
    assert!(sealed.contains("checkpoint 2"), "{sealed}");

    // Another machine (its own replica) sees everything; verify uses a fresh replica.
    site.verified();
    let docs = site.documents("b");
    let paths: Vec<&str> = docs.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "b.txt",
            "case/a.txt",
            "case/photos/1.jpg",
            "case/photos/2.jpg"
        ]
    );
    let (_, a_digest) = docs.iter().find(|(p, _)| p == "case/a.txt").expect("a");

    let (code, log, stderr) = site.run_on("b", &["log"]);
    assert_eq!(code, 0, "{stderr}");
    for word in ["annotation", "custody", "retraction", "checkpoint 2"] {
        assert!(log.contains(word), "log lacks {word}: {log}");
    }
    let show = site.ok(&["show", a_digest]);
    assert!(show.contains("case/a.txt"), "{show}");
    let (code, cat, stderr) = site.run_on("b", &["cat", a_digest]);
    assert_eq!(
        (code, cat.as_str()),
        (0, "Statement of witness A.\n"),
        "{stderr}"
    );
    let history = site.ok(&["history", "b.txt"]);
    assert!(history.contains("received"), "{history}");

    // A bundle and a proof made from the store verify offline.
    site.ok(&["export", "--out", "bundle", "--all"]);
    let (code, stdout, stderr) = site.run(&["verify", "bundle", "--trust", "signer.pub"]);
    assert_eq!(code, 0, "bundle: {stdout}\n{stderr}");
    assert!(stdout.contains("VERIFIED"), "{stdout}");
    site.ok(&["prove", "case/a.txt", "--out", "proof.json"]);
    let (code, stdout, stderr) = site.run(&[
        "verify-proof",
        "proof.json",
        "case/a.txt",
        "--trust",
        "signer.pub",
    ]);
    assert_eq!(code, 0, "proof: {stdout}\n{stderr}");

    // diff between the two checkpoints: an append, listing what checkpoint 2 added.
    let (code, diff, stderr) = site.run_on("b", &["diff", "1", "2", "--trust", "signer.pub"]);
    assert_eq!(code, 0, "diff: {diff}\n{stderr}");
    assert!(diff.contains("duplicate upload"), "{diff}");

    time_stamp(&site);
}

/// request → a throwaway TSA's reply → attach, then verify trusting its root.
fn time_stamp(site: &Site) {
    if !openssl_present() {
        eprintln!("NOTICE: openssl is missing; time-stamp on the store not tested");
        return;
    }
    site.ok(&[
        "timestamp",
        "request",
        "--out",
        "c2.tsq",
        "--checkpoint",
        "2",
    ]);
    let ca = Ca::new(&site.path("pki/root"), "Evidentia Test Root");
    let tsa = ca.issue_tsa("tsa", "Evidentia Test TSA", Profile::Tsa);
    tsa.reply(&site.path("c2.tsq"), &site.path("c2.tsr"));
    site.ok(&["timestamp", "attach", "c2.tsr", "--checkpoint", "2"]);
    let stored = site
        .client()
        .list("timestamps/", None)
        .expect("list timestamps/");
    let tokens = stored.iter().filter(|t| t.key.ends_with(".tst")).count();
    assert_eq!(tokens, 1, "the token is on the store: {stored:?}");
    let (code, stdout, stderr) = site.run_on(
        "verifier",
        &[
            "verify",
            "--trust",
            "signer.pub",
            "--tsa-roots",
            s(&ca.cert),
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("Evidentia Test TSA"), "{stdout}");
}
