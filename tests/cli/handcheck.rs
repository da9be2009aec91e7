//! The hand check of docs/VERIFYING.md: `docs/verify-bundle.py` (Python standard library and
//! the `openssl` command, independent of evidentia's code) and `sha256sum -c SHA256SUMS`, run
//! on bundles the binary exports. An intact bundle passes; each kind of tampering fails and is
//! named. Skipped with a notice when python3, openssl or sha256sum is missing (not under CI=true).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use evidentia::core::digest::Digest;

use crate::bundles::differential::assert_script_agrees;
use crate::common::{added, hand_check, hand_check_codes, Workspace};

fn tools_present() -> bool {
    let found = |tool: &str, arg: &str| {
        Command::new(tool)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let all = found("python3", "--version") && found("openssl", "version");
    let all = all && found("sha256sum", "--version");
    if !all {
        // In CI a skip would hide a missing install step in .ci/run.
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but python3, openssl or sha256sum is missing"
        );
        eprintln!("NOTICE: python3, openssl or sha256sum is missing; hand-check test skipped");
    }
    all
}

/// A sealed archive with versions, an awkward file name and an annotation, exported whole.
/// Returns the workspace and the bundle directory.
fn sealed_bundle() -> (Workspace, PathBuf) {
    let ws = Workspace::new();
    ws.write("case/report.txt", "At least 2,442 children were moved.\n");
    ws.write("case/photos/depot.bin", [0u8, 1, 2, 0xff, 0x0a, 0x0d]);
    ws.write("case/field notes 100%.txt", "notes, first draft\n");
    let docs = added(&ws.add(&["case"]));
    assert_eq!(docs.len(), 3, "{docs:?}");
    ws.write("case/field notes 100%.txt", "notes, second draft\n");
    ws.add(&["case"]);
    ws.cmd()
        .args(["annotate", "case/report.txt", "--quote", "2,442 children"])
        .args(["--body", "the headline figure", "--claim", "quantity=2442"])
        .assert()
        .success();
    ws.seal();
    ws.cmd()
        .args(["export", "--out", "bundle", "--all", "--actor", "tester"])
        .assert()
        .success();
    let bundle = ws.path("bundle");
    (ws, bundle)
}

fn sha256sum_check(bundle: &Path) -> bool {
    Command::new("sha256sum")
        .args(["-c", "--quiet", "SHA256SUMS"])
        .current_dir(bundle)
        .output()
        .expect("run sha256sum")
        .status
        .success()
}

/// Rewrites SHA256SUMS to match the files it lists, as a careful forger would.
fn fix_sums(bundle: &Path) {
    let sums = fs::read_to_string(bundle.join("SHA256SUMS")).unwrap();
    let fixed: String = sums
        .lines()
        .map(|line| {
            let (_, path) = line.split_once("  ").unwrap();
            let bytes = fs::read(bundle.join(path)).unwrap();
            format!("{}  {path}\n", Digest::of(&bytes).to_hex())
        })
        .collect();
    Workspace::overwrite(&bundle.join("SHA256SUMS"), fixed);
}

fn manifest(bundle: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(bundle.join("data/bundle.json")).unwrap()).unwrap()
}

fn write_manifest(bundle: &Path, manifest: &serde_json::Value) {
    let json = serde_json::to_vec_pretty(manifest).unwrap();
    Workspace::overwrite(&bundle.join("data/bundle.json"), json);
}

/// Asserts the script refuses the bundle with each of `codes`, and with exactly the problem
/// codes `evidentia verify` reports.
fn assert_refused(ws: &Workspace, bundle: &Path, codes: &[&str]) {
    let (code, text) = hand_check(bundle, &ws.path("signer.pub"), None);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("\nFAILED: "), "{text}");
    let found = hand_check_codes(&text);
    for wanted in codes {
        assert!(
            found.iter().any(|c| c == wanted),
            "no [{wanted}] problem:\n{text}"
        );
    }
    let out = ws
        .cmd()
        .args(["verify"])
        .arg(bundle)
        .args(["--trust", "signer.pub", "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rust_codes = Workspace::problem_codes(&report);
    assert_script_agrees(ws, bundle, out.status.code().unwrap_or(-1), &rust_codes);
}

#[test]
fn intact_bundle_passes_the_hand_check() {
    if !tools_present() {
        return;
    }
    let (ws, bundle) = sealed_bundle();
    let (code, text) = hand_check(&bundle, &ws.path("signer.pub"), None);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("VERIFIED: "),
        "{text}"
    );
    assert!(!text.contains("PROBLEM"), "{text}");
    let m = manifest(&bundle);
    let documents = m["documents"].as_array().unwrap();
    assert_eq!(documents.len(), 4, "two versions of one path: {m}");
    assert!(sha256sum_check(&bundle), "sha256sum -c SHA256SUMS failed");
    // No '%' in payload names: BagIt tools disagree on decoding %25 (bagit-python #157).
    let sums = fs::read_to_string(bundle.join("SHA256SUMS")).unwrap();
    assert!(sums.contains("field notes 100\u{ff05}.txt"), "{sums}");
    assert!(!sums.contains('%'), "{sums}");
    let bagit_present = Command::new("python3")
        .args(["-c", "import bagit"])
        .output()
        .is_ok_and(|o| o.status.success());
    if bagit_present {
        let out = Command::new("python3")
            .args(["-m", "bagit", "--quiet", "--validate"])
            .arg(&bundle)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "bagit.py --validate: {stderr}");
    }

    // Pinning: the hash the script prints is the one evidentia reports, and a wrong pin fails.
    let out = ws
        .cmd()
        .args(["verify", "bundle", "--trust", "signer.pub", "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pin = report["checkpoint"]["text_sha256"]
        .as_str()
        .and_then(|d| d.strip_prefix("sha256:"))
        .unwrap();
    assert!(
        text.contains(&format!("checkpoint text SHA-256: {pin}")),
        "{text}"
    );
    let (code, text) = hand_check(&bundle, &ws.path("signer.pub"), Some(pin));
    assert_eq!(code, 0, "{text}");
    let (code, text) = hand_check(&bundle, &ws.path("signer.pub"), Some(&"0".repeat(64)));
    assert_eq!(code, 1, "{text}");
    assert_eq!(
        hand_check_codes(&text),
        ["checkpoint-pin-mismatch"],
        "{text}"
    );
}

#[test]
fn flipped_document_byte_is_named() {
    if !tools_present() {
        return;
    }
    let (ws, bundle) = sealed_bundle();
    let file = bundle.join("data/documents/case/report.txt");
    let mut bytes = fs::read(&file).unwrap();
    bytes[3] ^= 0x01;
    Workspace::overwrite(&file, bytes);
    assert!(
        !sha256sum_check(&bundle),
        "sha256sum -c accepted a changed document"
    );
    assert_refused(&ws, &bundle, &["payload-corrupt", "content-corrupt"]);
}

#[test]
fn altered_record_is_named_even_with_sums_fixed_up() {
    if !tools_present() {
        return;
    }
    let (ws, bundle) = sealed_bundle();
    let m = manifest(&bundle);
    let record = &m["records"][0];
    let file = bundle.join(format!(
        "data/records/{}.cbor",
        record["id"].as_str().unwrap()
    ));
    let mut bytes = fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    Workspace::overwrite(&file, bytes);
    fix_sums(&bundle);
    assert!(sha256sum_check(&bundle), "the forger fixed SHA256SUMS up");
    assert_refused(&ws, &bundle, &["payload-corrupt", "missing-file"]);
}

#[test]
fn altered_proof_hash_is_named() {
    if !tools_present() {
        return;
    }
    let (ws, bundle) = sealed_bundle();
    let mut m = manifest(&bundle);
    let hash = m["records"][1]["proof"][0].as_str().unwrap().to_string();
    let altered = format!(
        "{}{}",
        if hash.starts_with('0') { "1" } else { "0" },
        &hash[1..]
    );
    m["records"][1]["proof"][0] = serde_json::Value::String(altered);
    write_manifest(&bundle, &m);
    fix_sums(&bundle);
    assert_refused(&ws, &bundle, &["proof-invalid"]);
}

#[test]
fn forged_signature_is_named() {
    if !tools_present() {
        return;
    }
    let (ws, bundle) = sealed_bundle();
    let file = bundle.join("data/checkpoint");
    let note = fs::read_to_string(&file).unwrap();
    let (head, line) = note.trim_end().rsplit_once('\n').unwrap();
    let (prefix, b64) = line.rsplit_once(' ').unwrap();
    let mut raw = B64.decode(b64).unwrap();
    raw[20] ^= 0x01; // inside the signature, after the 4-byte key id
    let forged = format!("{head}\n{prefix} {}\n", B64.encode(raw));
    Workspace::overwrite(&file, forged);
    fix_sums(&bundle);
    assert_refused(&ws, &bundle, &["signature-invalid", "signature-missing"]);
}

#[test]
fn swapped_document_with_manifest_rewritten_is_named() {
    if !tools_present() {
        return;
    }
    // bundle.json is not signed: a forger who replaces a document and rewrites its digest and
    // size there, and SHA256SUMS, is caught only by tying the document to its signed record.
    let (ws, bundle) = sealed_bundle();
    let forged = b"At least 24 children were moved.\n";
    Workspace::overwrite(&bundle.join("data/documents/case/report.txt"), forged);
    let mut m = manifest(&bundle);
    for doc in m["documents"].as_array_mut().unwrap() {
        if doc["path"] == "case/report.txt" {
            doc["content"] = Digest::of(forged).to_hex().into();
            doc["size"] = forged.len().into();
        }
    }
    write_manifest(&bundle, &m);
    fix_sums(&bundle);
    assert!(sha256sum_check(&bundle));
    assert_refused(&ws, &bundle, &["document-mismatch"]);
}

#[test]
fn untrusted_signer_is_refused() {
    if !tools_present() {
        return;
    }
    let (ws, bundle) = sealed_bundle();
    ws.cmd()
        .args(["key", "generate", "--out", "other", "--unencrypted"])
        .args(["--signer", "someone-else"])
        .assert()
        .success();
    let (code, text) = hand_check(&bundle, &ws.path("other.pub"), None);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("not in the trust file, ignored"), "{text}");
    assert_eq!(hand_check_codes(&text), ["signature-missing"], "{text}");
}
