//! Keys as minisign and ssh-keygen users expect: `key list`, `key public`, `key passphrase`,
//! `EVIDENTIA_KEY`, refusals of a secret key where a public one belongs (and the reverse), and
//! `key generate` into a missing directory.
//!
//! The terminal retry (three tries of a wrong passphrase) needs a terminal; its loop is tested
//! in `keyfile`'s unit tests, and here that a passphrase from a file or the environment is
//! never retried.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::common::{on_terminal, Workspace};

fn ok(ws: &Workspace, args: &[&str]) -> String {
    let (code, stdout, stderr) = ws.run(args);
    assert_eq!(code, 0, "{args:?}: {stdout}{stderr}");
    stdout
}

fn failed(ws: &Workspace, args: &[&str]) -> (i32, String) {
    let (code, stdout, stderr) = ws.run(args);
    (code, format!("{stdout}{stderr}"))
}

fn public_line(ws: &Workspace, name: &str) -> String {
    fs::read_to_string(ws.path(&format!("{name}.pub")))
        .unwrap()
        .trim_end()
        .to_string()
}

/// A workspace whose archive has one sealed document.
fn sealed() -> Workspace {
    let ws = Workspace::new();
    ws.write("a.txt", "first\n");
    ws.add(&["a.txt"]);
    ws.seal();
    ws
}

fn unencrypted(ws: &Workspace, name: &str) {
    ok(ws, &["key", "generate", "--out", name, "--unencrypted"]);
}

fn encrypted(ws: &Workspace, name: &str, passphrase: &str) {
    ws.write(&format!("{name}.pass"), format!("{passphrase}\n"));
    let pass = format!("{name}.pass");
    ok(
        ws,
        &["key", "generate", "--out", name, "--passphrase-file", &pass],
    );
}

fn key_list_json(ws: &Workspace) -> serde_json::Value {
    serde_json::from_str(&ok(ws, &["key", "list", "--json"])).unwrap()
}

fn find_key<'a>(list: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == key)
        .unwrap_or_else(|| panic!("{key} not listed: {list}"))
}

#[test]
fn key_list_shows_lineage_state_events_and_signed_checkpoints() {
    let ws = sealed();
    unencrypted(&ws, "next");
    unencrypted(&ws, "other");
    ok(&ws, &["key", "introduce", "--key", "signer.key"]);
    ok(
        &ws,
        &["key", "rotate", "--old", "signer.key", "--new", "next.pub"],
    );
    ok(&ws, &["seal", "--key", "next.key", "--key", "other.key"]);
    ok(
        &ws,
        &["key", "revoke", "next.pub", "--reason", "Laptop stolen"],
    );
    ok(&ws, &["seal", "--key", "next.key", "--key", "other.key"]);

    let list = key_list_json(&ws);
    assert_eq!(list["format"], "evidentia-key-list/1");
    let (signer, next, other) = (
        find_key(&list, &public_line(&ws, "signer")),
        find_key(&list, &public_line(&ws, "next")),
        find_key(&list, &public_line(&ws, "other")),
    );
    assert_eq!(signer["state"], "rotated-out");
    assert_eq!(next["state"], "revoked");
    assert_eq!(other["state"], "active");
    // A key rotated to shares its predecessor's lineage; an unrelated key has its own.
    assert_eq!(signer["lineage"], next["lineage"]);
    assert_ne!(signer["lineage"], other["lineage"]);
    let events: Vec<&str> = signer["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["introduced", "rotated-to"]);
    let revoked = &next["events"][1];
    assert_eq!(revoked["event"], "revoked");
    assert_eq!(revoked["reason"], "Laptop stolen");
    assert!(revoked["effective"].is_string(), "{revoked}");
    assert!(revoked["id"].as_str().unwrap().starts_with("sha256:"));
    let signed = |key: &serde_json::Value| -> Vec<(u64, bool)> {
        key["signed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["checkpoint"].as_u64().unwrap(), s["counts"] == true))
            .collect()
    };
    assert_eq!(signed(signer), [(1, true)]);
    // Checkpoint 3 covers the revocation: the signature is there, but does not count.
    assert_eq!(signed(next), [(2, true), (3, false)]);
    assert_eq!(signed(other), [(2, true), (3, true)]);

    let text = ok(&ws, &["key", "list"]);
    assert!(text.contains("state:    rotated-out at record #"), "{text}");
    assert!(text.contains("revoked, effective "), "{text}");
    assert!(text.contains("Laptop stolen"), "{text}");
    assert!(
        text.contains("checkpoint(s) 2, 3 (after retirement: not counted)"),
        "{text}"
    );
}

#[test]
fn key_list_marks_a_rotation_signed_by_a_revoked_key_as_refused() {
    let ws = sealed();
    unencrypted(&ws, "thief");
    ok(&ws, &["key", "revoke", "signer.pub", "--reason", "Stolen"]);
    // Whoever stole the key rotates it to their own: the log records it, nothing accepts it.
    ok(
        &ws,
        &["key", "rotate", "--old", "signer.key", "--new", "thief.pub"],
    );
    let list = key_list_json(&ws);
    let signer = find_key(&list, &public_line(&ws, "signer"));
    let thief = find_key(&list, &public_line(&ws, "thief"));
    let rotation = &thief["events"][0];
    assert_eq!(rotation["event"], "rotated-from");
    assert_eq!(rotation["accepted"], false, "{thief}");
    assert_ne!(signer["lineage"], thief["lineage"], "no authority passed");
    assert_eq!(signer["state"], "revoked");
    let text = ok(&ws, &["key", "list"]);
    assert!(text.contains("REFUSED"), "{text}");
}

#[test]
fn key_list_of_an_archive_without_keys() {
    let ws = Workspace::new();
    let list = key_list_json(&ws);
    assert_eq!(list["keys"], serde_json::json!([]));
    assert!(ok(&ws, &["key", "list"]).contains("no keys"));
}

#[test]
fn key_public_prints_the_pub_line() {
    let ws = Workspace::new();
    // Unencrypted: no passphrase involved.
    let printed = ok(&ws, &["key", "public", "signer.key"]);
    assert_eq!(printed.trim_end(), public_line(&ws, "signer"));
    // Encrypted: the public key is inside the encryption, so the passphrase is needed.
    encrypted(&ws, "sealed", "open sesame");
    let printed = ok(
        &ws,
        &[
            "key",
            "public",
            "sealed.key",
            "--passphrase-file",
            "sealed.pass",
        ],
    );
    assert_eq!(printed.trim_end(), public_line(&ws, "sealed"));
    let (code, text) = failed(&ws, &["key", "public", "sealed.key"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("a passphrase is needed for sealed.key"),
        "{text}"
    );
}

#[test]
fn key_passphrase_changes_it_in_place() {
    let ws = Workspace::new();
    encrypted(&ws, "officer", "old words");
    ws.write("new.pass", "new words\n");
    let before = fs::read(ws.path("officer.key")).unwrap();
    ok(
        &ws,
        &[
            "key",
            "passphrase",
            "officer.key",
            "--passphrase-file",
            "officer.pass",
            "--new-passphrase-file",
            "new.pass",
        ],
    );
    let after = fs::read(ws.path("officer.key")).unwrap();
    assert_ne!(before, after);
    let mode = fs::metadata(ws.path("officer.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The old passphrase no longer opens it; the new one gives the same key.
    let (code, text) = failed(
        &ws,
        &[
            "key",
            "public",
            "officer.key",
            "--passphrase-file",
            "officer.pass",
        ],
    );
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("wrong passphrase"), "{text}");
    let printed = ok(
        &ws,
        &[
            "key",
            "public",
            "officer.key",
            "--passphrase-file",
            "new.pass",
        ],
    );
    assert_eq!(printed.trim_end(), public_line(&ws, "officer"));
    // Nothing else is left in the directory (no temporary file).
    let mut names: Vec<String> = fs::read_dir(ws.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("officer") || n.starts_with('.'))
        .collect();
    names.sort();
    assert_eq!(names, ["officer.key", "officer.pass", "officer.pub"]);
}

#[test]
fn key_passphrase_leaves_the_key_untouched_when_refused() {
    let ws = Workspace::new();
    encrypted(&ws, "officer", "old words");
    ws.write("new.pass", "new words\n");
    let before = fs::read(ws.path("officer.key")).unwrap();
    // A wrong old passphrase, from the environment: refused, and asked only once.
    let (code, stdout, stderr) = ws.run_env(
        &[
            "key",
            "passphrase",
            "officer.key",
            "--new-passphrase-file",
            "new.pass",
        ],
        &[("EVIDENTIA_PASSPHRASE", "guess")],
    );
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert_eq!(stderr.matches("wrong passphrase").count(), 1, "{stderr}");
    assert!(!stderr.contains("try again"), "{stderr}");
    // No new passphrase and no terminal to ask it on.
    let (code, text) = failed(
        &ws,
        &[
            "key",
            "passphrase",
            "officer.key",
            "--passphrase-file",
            "officer.pass",
        ],
    );
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("--new-passphrase-file"), "{text}");
    assert_eq!(fs::read(ws.path("officer.key")).unwrap(), before);
    // A symbolic link is not replaced by a file (the key behind it would keep its old
    // passphrase).
    std::os::unix::fs::symlink("officer.key", ws.path("link.key")).unwrap();
    let (code, text) = failed(
        &ws,
        &[
            "key",
            "passphrase",
            "link.key",
            "--passphrase-file",
            "officer.pass",
            "--new-passphrase-file",
            "new.pass",
        ],
    );
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("link.key") && text.contains("not a regular file"),
        "{text}"
    );
    assert!(fs::symlink_metadata(ws.path("link.key"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(ws.path("officer.key")).unwrap(), before);
}

#[test]
fn a_wrong_passphrase_from_a_file_is_not_retried() {
    let ws = sealed();
    encrypted(&ws, "officer", "right");
    ws.write("wrong.pass", "wrong\n");
    let (code, stdout, stderr) = ws.run(&[
        "seal",
        "--key",
        "officer.key",
        "--passphrase-file",
        "wrong.pass",
    ]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert_eq!(stderr.matches("wrong passphrase").count(), 1, "{stderr}");
    assert!(!stderr.contains("try again"), "{stderr}");
}

#[test]
fn evidentia_key_is_the_default_signing_key() {
    let ws = Workspace::new();
    ws.write("a.txt", "first\n");
    ws.add(&["a.txt"]);
    let (code, text) = failed(&ws, &["seal"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("--key") && text.contains("EVIDENTIA_KEY"),
        "{text}"
    );
    let (code, stdout, stderr) = ws.run_env(&["seal"], &[("EVIDENTIA_KEY", "signer.key")]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("signed by signer+"), "{stdout}");
    // key introduce takes it too; an explicit --key wins over it.
    let (code, stdout, stderr) =
        ws.run_env(&["key", "introduce"], &[("EVIDENTIA_KEY", "signer.key")]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, stderr) = ws.run_env(
        &["seal", "--key", "signer.key"],
        &[("EVIDENTIA_KEY", "missing.key")],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    // key rotate --old.
    unencrypted(&ws, "next");
    let (code, stdout, stderr) = ws.run_env(
        &["key", "rotate", "--new", "next.pub"],
        &[("EVIDENTIA_KEY", "signer.key")],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("rotated to next+"), "{stderr}");
}

#[test]
fn evidentia_key_signs_a_cosignature_but_never_seals_when_only_collecting() {
    let ws = sealed();
    unencrypted(&ws, "witness");
    let (code, cosigned, stderr) = ws.run_env(
        &[
            "witness",
            "cosign",
            "arc/checkpoints/0000000001",
            "--state",
            "state",
            "--log-trust",
            "signer.pub",
        ],
        &[("EVIDENTIA_KEY", "witness.key")],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(cosigned.contains("\u{2014} witness "), "{cosigned}");
    ws.write("w.cosigned", &cosigned);
    // With EVIDENTIA_KEY set, collecting cosignatures must not also try to seal (which would
    // fail here: nothing new).
    let (code, stdout, stderr) = ws.run_env(
        &[
            "seal",
            "--cosigned",
            "w.cosigned",
            "--witness-trust",
            "witness.pub",
        ],
        &[("EVIDENTIA_KEY", "signer.key")],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("1 cosignature line(s) added"), "{stdout}");
    assert!(!ws.path("arc/checkpoints/0000000002").exists());
}

#[test]
fn a_secret_key_is_refused_where_public_keys_belong() {
    let ws = sealed();
    encrypted(&ws, "officer", "words");
    ws.write(
        "mixed.trust",
        format!(
            "{}\n{}\n",
            public_line(&ws, "officer"),
            fs::read_to_string(ws.path("signer.key"))
                .unwrap()
                .trim_end()
        ),
    );
    for secret in ["signer.key", "officer.key", "mixed.trust"] {
        let commands: [Vec<&str>; 5] = [
            vec!["verify", "--trust", secret],
            vec!["verify", "--integrity-only", "--witness-trust", secret],
            vec!["key", "revoke", secret, "--reason", "x"],
            vec!["key", "rotate", "--old", "signer.key", "--new", secret],
            vec!["diff", "1", "1", "--trust", secret],
        ];
        for args in commands {
            let (code, text) = failed(&ws, &args);
            assert_eq!(code, 2, "{args:?}: {text}");
            assert!(
                text.contains(&format!("{secret} holds a SECRET key"))
                    || text.contains(&format!("{secret} line 1 holds a SECRET key"))
                    || text.contains(&format!("{secret} line 2 holds a SECRET key")),
                "{args:?}: {text}"
            );
            if secret == "mixed.trust" && args.contains(&"--trust") {
                assert!(text.contains("mixed.trust line 2"), "{text}");
            }
            assert!(text.contains("key public"), "{args:?}: {text}");
        }
    }
    // Nothing was recorded by the refused key commands.
    assert_eq!(ws.log_size(), 1);
}

#[test]
fn a_public_key_is_refused_where_a_secret_key_belongs() {
    let ws = Workspace::new();
    ws.write("a.txt", "first\n");
    ws.add(&["a.txt"]);
    ws.write(
        "signer.trust",
        format!(
            "# the officer\n{} signer=\"M. Duval\"\n",
            public_line(&ws, "signer")
        ),
    );
    for public in ["signer.pub", "signer.trust"] {
        for args in [
            vec!["seal", "--key", public],
            vec!["key", "introduce", "--key", public],
            vec!["key", "public", public],
        ] {
            let (code, text) = failed(&ws, &args);
            assert_eq!(code, 2, "{args:?}: {text}");
            assert!(
                text.contains(&format!("{public} holds a public key")),
                "{args:?}: {text}"
            );
        }
    }
    assert!(!ws.path("arc/checkpoints/0000000001").exists());
}

#[test]
fn key_generate_creates_a_missing_private_directory() {
    let ws = Workspace::bare();
    ws.write("pass", "words\n");
    ok(
        &ws,
        &[
            "key",
            "generate",
            "--out",
            "keys/case/officer",
            "--passphrase-file",
            "pass",
        ],
    );
    for dir in ["keys", "keys/case"] {
        let mode = fs::metadata(ws.path(dir)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{dir}");
    }
    assert!(ws.path("keys/case/officer.key").is_file());
    assert!(ws.path("keys/case/officer.pub").is_file());
}

#[test]
fn key_generate_checks_its_outputs_before_asking_for_a_passphrase() {
    let ws = Workspace::bare();
    ws.write("officer.pub", "taken\n");
    // No passphrase source and no terminal: the taken name must be the reason given, before
    // any passphrase would be asked.
    let (code, text) = failed(&ws, &["key", "generate", "--out", "officer"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("officer.pub already exists"), "{text}");
    assert!(!text.contains("passphrase"), "{text}");
    assert!(!ws.path("officer.key").exists());
}

#[test]
fn a_wrong_passphrase_at_a_terminal_may_be_tried_three_times() {
    let ws = Workspace::new();
    encrypted(&ws, "officer", "right");
    let Some((code, text)) = on_terminal(&ws, "key public officer.key", "one\ntwo\nright\n") else {
        eprintln!("`script` is not installed: the terminal retry is covered by the unit tests");
        return;
    };
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("try again (3 of 3)"), "{text}");
    assert!(text.contains(&public_line(&ws, "officer")), "{text}");
    let (code, text) = on_terminal(&ws, "key public officer.key", "a\nb\nc\nd\n").unwrap();
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("wrong passphrase, or the file is damaged"),
        "{text}"
    );
    assert_eq!(
        text.matches("passphrase for officer.key:").count(),
        3,
        "{text}"
    );
}
