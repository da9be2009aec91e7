//! Hostile and malformed inputs: odd file names, symbolic links, bad options, bad key and trust
//! files, planted records. Each gets a clear error (exit 2 for bad input, 1 for damaged
//! archive data), never a panic and never a partial recording.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use evidentia::core::digest::Digest;
use evidentia::core::key::SignerKey;

use crate::common::{added, Workspace};

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Number of files in the object store.
fn object_count(ws: &Workspace) -> usize {
    walkdir::WalkDir::new(ws.archive().join("objects/sha256"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .count()
}

/// Asserts that nothing was ever recorded: empty log, no objects.
fn assert_nothing_recorded(ws: &Workspace) {
    assert_eq!(ws.log_size(), 0, "the log must be unchanged");
    assert_eq!(
        fs::metadata(ws.archive().join("log/records"))
            .expect("records")
            .len(),
        0
    );
    assert_eq!(object_count(ws), 0, "no object may be stored");
}

/// The logical paths `ls --json` lists.
fn listed_paths(ws: &Workspace) -> Vec<String> {
    let (code, stdout, stderr) = ws.run(&["ls", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let docs: serde_json::Value = serde_json::from_str(&stdout).expect("ls json");
    docs["documents"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["path"].as_str().expect("path").to_string())
        .collect()
}

fn assert_verifies(ws: &Workspace) {
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true, "{report}");
}

#[test]
fn non_utf8_file_name_is_recorded_escaped() {
    // Once refused (exit 2, "rename it"); now kept under an escaped path (tests/cli/names.rs).
    let ws = Workspace::new();
    ws.write("case/good.txt", "good");
    let bad = ws.path("case").join(OsStr::from_bytes(b"bad\xff.txt"));
    fs::write(&bad, "bad").expect("write non-UTF-8 name");
    let (code, _, stderr) = ws.run(&["add", "case"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(listed_paths(&ws), ["case/bad%FF.txt", "case/good.txt"]);
    assert!(
        stderr.contains("escaped: case/bad%FF.txt is the file named \"case/bad\\xff.txt\""),
        "{stderr}"
    );
}

#[test]
fn non_utf8_directory_name_and_argument() {
    let ws = Workspace::new();
    let dir = ws.path("case").join(OsStr::from_bytes(b"dir\xfe"));
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join("inner.txt"), "inner").expect("write");
    ws.write("case/ok.txt", "ok");
    let (code, _, stderr) = ws.run(&["add", "case"]);
    assert_eq!(code, 0, "{stderr}");
    // The same kind of name given directly as an argument.
    let file = ws.path("").join(OsStr::from_bytes(b"top\xff.txt"));
    fs::write(&file, "top").expect("write");
    let out = ws
        .cmd()
        .arg("add")
        .arg(OsStr::from_bytes(b"top\xff.txt"))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        listed_paths(&ws),
        ["case/dir%FE/inner.txt", "case/ok.txt", "top%FF.txt"]
    );
    ws.seal();
    assert_verifies(&ws);
}

#[test]
fn dot_dot_in_inputs_is_normalised_away() {
    let ws = Workspace::new();
    ws.write("file.txt", "top");
    ws.write("dir/sub/x.txt", "x");
    ws.write("outer/dir/y.txt", "y");
    ws.write("outer/z.txt", "z");
    let docs = added(&ws.add(&["dir/../file.txt"]));
    assert_eq!(docs[0].1, "file.txt");
    let docs = added(&ws.add(&["dir/./sub/../sub"]));
    assert_eq!(docs[0].1, "sub/x.txt");
    let docs = added(&ws.add(&["outer/dir/.."]));
    let paths: Vec<&str> = docs.iter().map(|d| d.1.as_str()).collect();
    assert_eq!(paths, ["outer/dir/y.txt", "outer/z.txt"]);
    for path in listed_paths(&ws) {
        assert!(
            path.split('/')
                .all(|c| c != ".." && c != "." && !c.is_empty()),
            "{path}"
        );
    }
    ws.seal();
    assert_verifies(&ws);
}

#[test]
fn symbolic_links_are_not_followed() {
    let ws = Workspace::new();
    ws.write("case/real.txt", "real");
    let secret = "outside the input: must not be ingested";
    ws.write("outside/secret.txt", secret);
    symlink("real.txt", ws.path("case/link.txt")).expect("symlink");
    symlink(ws.path("outside"), ws.path("case/outdir")).expect("symlink");
    symlink("/nonexistent/target", ws.path("case/dangling")).expect("symlink");
    let (code, stdout, stderr) = ws.run(&["add", "case"]);
    assert_eq!(code, 0, "{stderr}");
    for link in ["case/link.txt", "case/outdir", "case/dangling"] {
        assert!(
            stderr.contains(&format!("skipped {link}: symbolic link, not followed")),
            "{link} must be reported: {stderr}"
        );
    }
    let docs = added(&stdout);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].1, "case/real.txt");
    assert_eq!(listed_paths(&ws), ["case/real.txt"]);
    let secret_digest = Digest::of(secret.as_bytes()).to_hex();
    assert!(!ws.object_path(&secret_digest).exists());
    ws.seal();
    assert_verifies(&ws);
}

#[test]
fn symbolic_link_given_as_an_argument() {
    let ws = Workspace::new();
    ws.write("outside/secret.txt", "secret");
    ws.write("real.txt", "real");
    symlink("real.txt", ws.path("link.txt")).expect("symlink");
    symlink(ws.path("outside"), ws.path("linkdir")).expect("symlink");
    for (link, target) in [
        ("link.txt", "real.txt".to_string()),
        ("linkdir", ws.path("outside").display().to_string()),
    ] {
        let (code, _, stderr) = ws.run(&["add", link]);
        assert_eq!(
            code, 2,
            "a named link is an error, not a silent skip: {stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "{link}: is a symbolic link (it points to {target})"
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains("add the file it points to instead"),
            "{stderr}"
        );
        assert!(stderr.contains("nothing was added"), "{stderr}");
    }
    // One named link refuses the whole command, as any unusable input does.
    let (code, _, stderr) = ws.run(&["add", "real.txt", "link.txt"]);
    assert_eq!(code, 2, "{stderr}");
    assert_nothing_recorded(&ws);
}

#[test]
fn symbolic_link_to_a_directory_given_with_a_trailing_slash() {
    // Shell completion writes `linkdir/`; the link must still not be followed.
    let ws = Workspace::new();
    ws.write("outside/secret.txt", "secret");
    symlink(ws.path("outside"), ws.path("linkdir")).expect("symlink");
    let (code, _, stderr) = ws.run(&["add", "linkdir/"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is a symbolic link"), "{stderr}");
    assert_nothing_recorded(&ws);
}

#[test]
fn empty_file_is_recorded_and_verifies() {
    let ws = Workspace::new();
    ws.write("empty.txt", "");
    let docs = added(&ws.add(&["empty.txt"]));
    assert_eq!(docs, [(EMPTY_SHA256.to_string(), "empty.txt".to_string())]);
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["documents"], 1);
    assert_eq!(report["content_bytes"], 0);
    let (code, stdout, _) = ws.run(&["cat", EMPTY_SHA256]);
    assert_eq!(code, 0);
    assert!(stdout.is_empty());
    let (code, stdout, _) = ws.run(&["show", EMPTY_SHA256, "--json"]);
    assert_eq!(code, 0);
    let shown: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(shown["records"][0]["document"]["size"], 0);
}

#[test]
fn ten_thousand_small_files() {
    let ws = Workspace::new();
    for i in 0..10_000 {
        ws.write(
            &format!("many/{:02}/{i:05}.txt", i % 100),
            format!("item {i}\n"),
        );
    }
    let docs = added(&ws.add(&["many"]));
    assert_eq!(docs.len(), 10_000);
    let (code, stdout, _) = ws.run(&["ls"]);
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), 10_000);
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["documents"], 10_000);
    assert_eq!(report["sealed_records"], 10_000);
}

#[test]
fn nfd_names_get_nfc_logical_paths() {
    let ws = Workspace::new();
    ws.write("re\u{301}sume\u{301}/cafe\u{301}.txt", "coffee");
    let docs = added(&ws.add(&["re\u{301}sume\u{301}"]));
    assert_eq!(docs[0].1, "r\u{e9}sum\u{e9}/caf\u{e9}.txt");
    assert_eq!(listed_paths(&ws), ["r\u{e9}sum\u{e9}/caf\u{e9}.txt"]);
    ws.seal();
    assert_verifies(&ws);
}

#[test]
fn inputs_with_the_same_logical_path_are_refused() {
    let ws = Workspace::new();
    ws.write("a/x.txt", "one");
    ws.write("b/x.txt", "two");
    let (code, _, stderr) = ws.run(&["add", "a/x.txt", "b/x.txt"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("logical path 'x.txt'"), "{stderr}");
    assert!(stderr.contains("b/x.txt"), "{stderr}");
    assert_nothing_recorded(&ws);
    // NFC and NFD spellings of one name in one directory collide after normalisation.
    ws.write("names/caf\u{e9}.txt", "composed");
    ws.write("names/cafe\u{301}.txt", "decomposed");
    let (code, _, stderr) = ws.run(&["add", "names"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("caf\u{e9}.txt"), "{stderr}");
    assert_nothing_recorded(&ws);
}

#[test]
fn archive_inside_the_added_directory_is_not_ingested() {
    let ws = Workspace::new();
    ws.write("case/report.txt", "report");
    ws.write("case/sub/photo.jpg", [0xffu8, 0xd8]);
    let (code, _, stderr) = ws.run(&["--archive", "case/arc", "init"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = ws.run(&["--archive", "case/arc", "add", "case"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("the archive itself is never ingested"),
        "{stderr}"
    );
    let paths: Vec<String> = added(&stdout).into_iter().map(|d| d.1).collect();
    assert_eq!(paths, ["case/report.txt", "case/sub/photo.jpg"]);
    let (code, _, stderr) = ws.run(&["--archive", "case/arc", "seal", "--key", "signer.key"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, _) = ws.run(&["--archive", "case/arc", "verify", "--trust", "signer.pub"]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn adding_the_directory_that_holds_the_archive() {
    // `add .` from the directory holding the archive `arc/`.
    let ws = Workspace::new();
    ws.write("notes.txt", "notes");
    let (code, stdout, stderr) = ws.run(&["add", "."]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("the archive itself is never ingested"),
        "{stderr}"
    );
    let paths: Vec<String> = added(&stdout).into_iter().map(|d| d.1).collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    for (path, name) in paths.iter().zip(["notes.txt", "signer.key", "signer.pub"]) {
        // The first component is the workspace directory's own name.
        assert_eq!(path.split_once('/').map(|p| p.1), Some(name), "{paths:?}");
    }
    ws.seal();
    assert_verifies(&ws);
}

#[test]
fn nonexistent_input_path() {
    let ws = Workspace::new();
    ws.write("good.txt", "good");
    let (code, _, stderr) = ws.run(&["add", "good.txt", "no-such-file.txt"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no-such-file.txt"), "{stderr}");
    assert_nothing_recorded(&ws);
}

#[test]
fn init_refuses_non_empty_directories_and_existing_archives() {
    let ws = Workspace::new();
    ws.write("full/file.txt", "x");
    let (code, _, stderr) = ws.run(&["init", "full"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not empty"), "{stderr}");
    assert!(!ws.path("full/archive.txt").exists());
    let (code, _, stderr) = ws.run(&["init", "arc"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("already an evidentia archive"), "{stderr}");
    // Any one-line title is a name (issue 13); a control character is not.
    let (code, _, stderr) = ws.run(&["init", "fresh", "--name", "bad\u{7}name"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--name"), "{stderr}");
}

#[test]
fn commands_on_a_directory_that_is_not_an_archive() {
    let ws = Workspace::new();
    fs::create_dir(ws.path("plain")).expect("mkdir");
    ws.write("x.txt", "x");
    let commands: [&[&str]; 7] = [
        &["add", "x.txt"],
        &["seal", "--key", "signer.key"],
        &["verify", "--integrity-only"],
        &["log"],
        &["ls"],
        &["show", "abcd"],
        &["cat", "abcd"],
    ];
    for dir in ["plain", "missing-dir"] {
        for args in commands {
            let mut full = vec!["--archive", dir];
            full.extend_from_slice(args);
            let (code, _, stderr) = ws.run(&full);
            assert_eq!(code, 2, "{full:?}: {stderr}");
            assert!(stderr.contains("not an evidentia archive"), "{stderr}");
            assert!(stderr.contains("evidentia init"), "{full:?}: {stderr}");
        }
    }
}

#[test]
fn bad_add_options() {
    let ws = Workspace::new();
    ws.write("x.txt", "x");
    let cases: [(&str, &str); 5] = [
        ("--collected-at", "yesterday"),
        ("--collected-at", "2024-13-01T00:00:00Z"),
        ("--media-type", "text"),
        ("--media-type", "text/plain extra"),
        ("--media-type", "a/b/c"),
    ];
    for (option, value) in cases {
        let (code, _, stderr) = ws.run(&["add", "x.txt", option, value]);
        assert_eq!(code, 2, "{option} {value}: {stderr}");
        assert!(stderr.contains(option), "{stderr}");
        assert!(stderr.contains(value), "{stderr}");
        assert_nothing_recorded(&ws);
    }
    // The same options, well formed, are accepted.
    let (code, _, stderr) = ws.run(&[
        "add",
        "x.txt",
        "--collected-at",
        "2024-03-01T14:05:00Z",
        "--media-type",
        "text/plain",
    ]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn bad_seal_message_and_nothing_to_seal() {
    let ws = Workspace::new();
    let (code, _, stderr) = ws.run(&["seal", "--key", "signer.key"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("nothing new to seal"), "{stderr}");
    ws.write("x.txt", "x");
    ws.add(&["x.txt"]);
    for message in ["two\nlines", "", " padded", "tab\there"] {
        let (code, _, stderr) = ws.run(&["seal", "--key", "signer.key", "--message", message]);
        assert_eq!(code, 2, "{message:?}: {stderr}");
        assert!(stderr.contains("--message"), "{stderr}");
        assert!(!ws.checkpoint_path(1).exists());
    }
    let (code, _, stderr) = ws.run(&["seal", "--key", "signer.key", "--message", "first seal"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = ws.run(&["seal", "--key", "signer.key"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("nothing new to seal"), "{stderr}");
    assert!(!ws.checkpoint_path(2).exists());
}

#[test]
fn bad_trust_files() {
    let ws = Workspace::new();
    ws.write("x.txt", "x");
    ws.add(&["x.txt"]);
    ws.seal();
    let good = fs::read_to_string(ws.path("signer.pub")).expect("pub");
    ws.write(
        "garbage.trust",
        format!("# our keys\n\n{good}not a key at all\n"),
    );
    let (code, _, stderr) = ws.run(&["verify", "--trust", "garbage.trust"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("garbage.trust line 4"), "{stderr}");
    ws.write("binary.trust", [0xffu8, 0xfe, 0x00, 0x01]);
    let (code, _, stderr) = ws.run(&["verify", "--trust", "binary.trust"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("binary.trust"), "{stderr}");
    ws.write("empty.trust", "# nobody\n");
    let (code, _, stderr) = ws.run(&["verify", "--trust", "empty.trust"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("lists no keys"), "{stderr}");
    let (code, _, stderr) = ws.run(&["verify", "--trust", "missing.trust"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("missing.trust"), "{stderr}");
    // A secret key is not a trust line.
    let (code, _, stderr) = ws.run(&["verify", "--trust", "signer.key"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("line 1"), "{stderr}");
    // Comments and blank lines around a good key are fine.
    ws.write("ok.trust", format!("# our keys\n\n{good}\n"));
    let (code, stdout, _) = ws.run(&["verify", "--trust", "ok.trust"]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn bad_key_files() {
    let ws = Workspace::new();
    ws.write("x.txt", "x");
    ws.add(&["x.txt"]);
    ws.write("garbage.key", "hello\n");
    ws.write("binary.key", [0xffu8, 0x00, 0x13]);
    for key in ["missing.key", "garbage.key", "binary.key", "signer.pub"] {
        let (code, _, stderr) = ws.run(&["seal", "--key", key]);
        assert_eq!(code, 2, "{key}: {stderr}");
        assert!(stderr.contains(key), "{key}: {stderr}");
    }
    // One bad key among good ones refuses the seal.
    let (code, _, stderr) = ws.run(&["seal", "--key", "signer.key", "--key", "missing.key"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!ws.checkpoint_path(1).exists());
}

/// Writes an encrypted key file in the documented format (src/keyfile.rs) with a low scrypt
/// cost, so passphrase handling can be tested quickly.
fn write_cheap_encrypted_key(path: &Path, signer: &SignerKey, passphrase: &str) {
    let salt = [0x11u8; 16];
    let nonce = [0x22u8; 24];
    let params = scrypt::Params::new(10, 8, 1, 32).expect("params");
    let mut key = [0u8; 32];
    scrypt::scrypt(passphrase.as_bytes(), &salt, &params, &mut key).expect("scrypt");
    let header = format!(
        "evidentia-encrypted-key 1\nscrypt 10 8 1 {}\nxchacha20poly1305 {}\n",
        B64.encode(salt),
        B64.encode(nonce)
    );
    let sealed = XChaCha20Poly1305::new((&key).into())
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: signer.to_text().as_bytes(),
                aad: header.as_bytes(),
            },
        )
        .expect("encrypt");
    fs::write(path, format!("{header}{}\n", B64.encode(sealed))).expect("write key");
}

#[test]
fn encrypted_key_passphrase_sources() {
    let ws = Workspace::new();
    let signer = SignerKey::from_seed("field", &[7u8; 32]).expect("key");
    write_cheap_encrypted_key(&ws.path("field.key"), &signer, "correct horse");
    ws.write("field.trust", format!("{}\n", signer.verifier()));
    ws.write("right.pass", "correct horse\n");
    ws.write("wrong.pass", "battery staple\n");
    ws.write("empty.pass", "");
    ws.write("x.txt", "x");
    ws.add(&["x.txt"]);
    let seal = || {
        let mut cmd = ws.cmd();
        cmd.args(["seal", "--key", "field.key"]);
        cmd
    };
    // No passphrase and no terminal: say how to give one.
    let out = seal().write_stdin("").output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("EVIDENTIA_PASSPHRASE"), "{stderr}");
    assert!(stderr.contains("--passphrase-file"), "{stderr}");
    // An empty variable counts as none.
    let out = seal()
        .env("EVIDENTIA_PASSPHRASE", "")
        .write_stdin("")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    // Wrong passphrases, from the environment and from a file.
    let out = seal()
        .env("EVIDENTIA_PASSPHRASE", "battery staple")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("wrong passphrase"), "{stderr}");
    assert!(stderr.contains("field.key"), "{stderr}");
    let out = seal()
        .args(["--passphrase-file", "wrong.pass"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("wrong passphrase"), "{stderr}");
    let out = seal()
        .args(["--passphrase-file", "empty.pass"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("empty.pass"), "{stderr}");
    assert!(!ws.checkpoint_path(1).exists());
    // The right one, from the environment, then from a file.
    seal()
        .env("EVIDENTIA_PASSPHRASE", "correct horse")
        .assert()
        .success();
    ws.write("y.txt", "y");
    ws.add(&["y.txt"]);
    seal()
        .args(["--passphrase-file", "right.pass"])
        .env("EVIDENTIA_PASSPHRASE", "battery staple")
        .assert()
        .success();
    let (code, stdout, _) = ws.run(&["verify", "--trust", "field.trust"]);
    assert_eq!(code, 0, "{stdout}");
    // A damaged encrypted key file is an error, not a panic.
    let text = fs::read_to_string(ws.path("field.key")).expect("read");
    ws.write("damaged.key", text.replace("scrypt 10 ", "scrypt 99 "));
    ws.write("z.txt", "z");
    ws.add(&["z.txt"]);
    let (code, _, stderr) = ws.run(&["seal", "--key", "damaged.key"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("damaged.key"), "{stderr}");
}

#[test]
fn encrypted_key_generated_by_the_cli() {
    let ws = Workspace::new();
    ws.write("pass", "a long passphrase\n");
    let out = ws
        .cmd()
        .args(["key", "generate", "--out", "enc"])
        .env("EVIDENTIA_PASSPHRASE", "a long passphrase")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let secret = fs::read_to_string(ws.path("enc.key")).expect("key");
    assert!(
        secret.starts_with("evidentia-encrypted-key 1\n"),
        "{secret}"
    );
    assert!(!secret.contains("PRIVATE+KEY"));
    ws.write("x.txt", "x");
    ws.add(&["x.txt"]);
    ws.cmd()
        .args(["seal", "--key", "enc.key", "--passphrase-file", "pass"])
        .assert()
        .success();
    let (code, stdout, _) = ws.run(&["verify", "--trust", "enc.pub"]);
    assert_eq!(code, 0, "{stdout}");
    // Without a passphrase and without a terminal, generation is refused.
    let out = ws
        .cmd()
        .args(["key", "generate", "--out", "other"])
        .write_stdin("")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("EVIDENTIA_PASSPHRASE"), "{stderr}");
    assert!(!ws.path("other.key").exists());
}

#[test]
fn key_generate_refuses_to_overwrite() {
    let ws = Workspace::new();
    let secret = fs::read(ws.path("signer.key")).expect("key");
    let public = fs::read(ws.path("signer.pub")).expect("pub");
    let (code, _, stderr) = ws.run(&["key", "generate", "--out", "signer", "--unencrypted"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
    assert!(stderr.contains("signer.key"), "{stderr}");
    assert_eq!(fs::read(ws.path("signer.key")).expect("key"), secret);
    assert_eq!(fs::read(ws.path("signer.pub")).expect("pub"), public);
    // Only the public half existing is enough to refuse.
    fs::write(ws.path("half.pub"), "x").expect("write");
    let (code, _, stderr) = ws.run(&["key", "generate", "--out", "half", "--unencrypted"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!ws.path("half.key").exists());
}

/// Plants `bytes` as record #1 of a sealed one-document archive (log and tree consistent), then
/// checks that every command that reads records fails with exit 1 and names the record.
fn check_planted_record(bytes: &[u8], expected_code: &str) {
    let ws = Workspace::new();
    ws.write("x.txt", "x");
    ws.add(&["x.txt"]);
    ws.seal();
    assert_verifies(&ws);
    let digest = ws.plant_record(bytes);
    assert_eq!(ws.log_size(), 2);
    let item = format!("record #1 ({digest})");
    let (code, report) = ws.verify_json();
    assert_eq!(code, 1, "{report}");
    let problems = report["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 1, "{report}");
    assert_eq!(problems[0]["item"], item.as_str(), "{report}");
    assert_eq!(problems[0]["code"], expected_code, "{report}");
    let (code, text) = ws.verify_text();
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(&format!("PROBLEM [{expected_code}] {item}: ")),
        "{text}"
    );
    // The other commands that read records fail as damage (1) and name the object, whether
    // by digest or by its file `objects/sha256/<2 hex>/<62 hex>`.
    let hex = digest.to_hex();
    for args in [&["ls"][..], &["log"], &["show", &hex]] {
        let (code, _, stderr) = ws.run(args);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(stderr.contains(&hex[2..]), "{args:?}: {stderr}");
    }
}

#[test]
fn planted_garbage_record() {
    let garbage: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
    check_planted_record(&garbage, "record-invalid");
}

#[test]
fn planted_huge_record() {
    check_planted_record(&vec![0xa0u8; (1 << 20) + 1], "record-unreadable");
}

#[test]
fn planted_deeply_nested_records() {
    let mut arrays = vec![0x81u8; 100_000];
    arrays.push(0x80);
    check_planted_record(&arrays, "record-invalid");
    // Maps nested as values: {0: {0: {0: ...}}}.
    let mut maps = [0xa1u8, 0x00].repeat(50_000);
    maps.push(0xa0);
    check_planted_record(&maps, "record-invalid");
}

#[test]
fn planted_records_declaring_huge_lengths() {
    for head in [0x5bu8, 0x7b, 0x9b, 0xbb] {
        let mut bytes = vec![head];
        bytes.extend_from_slice(&[0xff; 8]);
        check_planted_record(&bytes, "record-invalid");
        let mut bytes = vec![head, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00];
        bytes.extend_from_slice(b"short");
        check_planted_record(&bytes, "record-invalid");
    }
}

/// Two contents whose digests share their first four hex digits.
fn colliding_prefix_pair() -> (String, String, String) {
    let mut seen = std::collections::HashMap::new();
    for i in 0u32.. {
        let text = format!("document {i}\n");
        let prefix = Digest::of(text.as_bytes()).to_hex()[..4].to_string();
        if let Some(other) = seen.insert(prefix.clone(), text.clone()) {
            return (prefix, other, text);
        }
    }
    unreachable!()
}

#[test]
fn show_and_cat_with_bad_ids() {
    let ws = Workspace::new();
    let (prefix, first, second) = colliding_prefix_pair();
    ws.write("one.txt", first);
    ws.write("two.txt", second);
    ws.add(&["one.txt", "two.txt"]);
    let names: Vec<String> = walkdir::WalkDir::new(ws.archive().join("objects/sha256"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let dir = e.path().parent().expect("parent").file_name().expect("dir");
            format!(
                "{}{}",
                dir.to_string_lossy(),
                e.file_name().to_string_lossy()
            )
        })
        .collect();
    let unknown = (0..=0xffffu32)
        .map(|n| format!("{n:04x}"))
        .find(|p| !names.iter().any(|name| name.starts_with(p.as_str())))
        .expect("a free prefix");
    for command in ["show", "cat"] {
        let (code, _, stderr) = ws.run(&[command, &unknown]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains(&format!("no record or object matches '{unknown}'")));
        let (code, _, stderr) = ws.run(&[command, &prefix]);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains(&format!("'{prefix}' matches 2 objects; give more digits")),
            "{stderr}"
        );
        for bad in [
            "zzzz",
            "abc",
            "sha256:",
            "12345678g",
            &"a".repeat(65),
            "../../x",
        ] {
            let (code, _, stderr) = ws.run(&[command, bad]);
            assert_eq!(code, 2, "{bad}: {stderr}");
            assert!(
                stderr.contains("is not a digest or digest prefix"),
                "{bad}: {stderr}"
            );
        }
        // The full digest and the `sha256:` form both resolve.
        let full = Digest::of(fs::read(ws.path("one.txt")).expect("read").as_slice());
        let (code, _, stderr) = ws.run(&[command, &format!("sha256:{full}")]);
        assert_eq!(code, 0, "{stderr}");
    }
}
