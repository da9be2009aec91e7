//! Each document file of an encrypted bundle is read once (crypt::onepass): the digest of that
//! read is what the BagIt manifest is checked against, its header is the ciphertext level's
//! and, with an identity, its plaintext is checked against the record. Small files are read
//! on one thread, large ones (8 MiB or more) by a pipeline of threads: both are exercised.

use super::encrypted::{identity, seal_and_export_encrypted};
use super::*;

/// Above the size from which a ciphertext is read by the pipeline (crypt::onepass).
const LARGE: usize = 9 << 20;

/// A large and a small document, sealed and exported encrypted to the fixture recipient.
fn bundle_with_a_large_document() -> (Workspace, PathBuf) {
    let ws = Workspace::new();
    let large: Vec<u8> = (0..LARGE).map(|i| (i % 251) as u8).collect();
    ws.write("case/large.bin", large);
    ws.write("case/small.txt", "Statement of witness C.\n");
    let bundle = seal_and_export_encrypted(&ws, 2);
    (ws, bundle)
}

/// Flips one bit of `file`, `from_end` bytes before its end (inside the age payload).
fn flip(file: &Path, from_end: usize) {
    let mut bytes = fs::read(file).expect("read");
    let at = bytes.len() - from_end;
    bytes[at] ^= 0x01;
    fs::write(file, bytes).expect("write");
}

fn with_identity() -> [String; 4] {
    ["--trust", "signer.pub", "--identity", &identity()].map(String::from)
}

fn verify_codes(ws: &Workspace, bundle: &Path, args: &[String]) -> (i32, Vec<String>, Value) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, report) = verify_json(ws, bundle, &args);
    (code, Workspace::problem_codes(&report), report)
}

#[test]
fn a_large_and_a_small_ciphertext_are_checked_at_both_levels() {
    let (ws, bundle) = bundle_with_a_large_document();
    let (code, codes, report) = verify_codes(&ws, &bundle, &with_identity());
    assert_eq!((code, codes.len()), (0, 0), "{report}");
    assert_eq!(report["encryption"]["plaintext_checked"], 2, "{report}");
    let trust = TRUST.map(String::from);
    let (code, codes, report) = verify_codes(&ws, &bundle, &trust);
    assert_eq!((code, codes.len()), (4, 0), "{report}");
    differential::assert_script_agrees(&ws, &bundle, 4, &[]);
}

#[test]
fn a_damaged_chunk_is_caught_by_the_manifest_and_once_rebagged_by_the_identity() {
    for (name, from_end) in [
        ("case/large.bin.age", LARGE / 2),
        ("case/small.txt.age", 20),
    ] {
        let (ws, bundle) = bundle_with_a_large_document();
        flip(&bundle.join("data/documents").join(name), from_end);
        // The manifest digest comes from the same read that parses (and decrypts) the file;
        // the file's bytes then no longer count in the Payload-Oxum either.
        for args in [TRUST.map(String::from).to_vec(), with_identity().to_vec()] {
            let (code, codes, report) = verify_codes(&ws, &bundle, &args);
            assert_eq!(code, 1, "{name}: {report}");
            assert_eq!(codes, ["payload-corrupt", "bad-bag"], "{name}: {report}");
            differential::assert_script_agrees(&ws, &bundle, 1, &codes);
        }

        // Every unsigned checksum recomputed: without a key the damage cannot be seen (and
        // nothing is claimed), with the identity the chunk fails to decrypt.
        rebag(&bundle);
        let (code, codes, report) = verify_codes(&ws, &bundle, &TRUST.map(String::from));
        assert_eq!((code, codes.len()), (4, 0), "{name}: {report}");
        differential::assert_script_agrees(&ws, &bundle, 4, &[]);
        let (code, codes, report) = verify_codes(&ws, &bundle, &with_identity());
        assert_eq!(code, 1, "{name}: {report}");
        assert_eq!(codes, ["ciphertext-damaged"], "{name}: {report}");
    }
}

#[test]
fn a_truncated_large_ciphertext_is_caught_at_the_ciphertext_level_with_the_identity() {
    let (ws, bundle) = bundle_with_a_large_document();
    let file = bundle.join("data/documents/case/large.bin.age");
    let bytes = fs::read(&file).expect("read");
    fs::write(&file, &bytes[..bytes.len() - 5]).expect("truncate");
    rebag(&bundle);
    for args in [TRUST.map(String::from).to_vec(), with_identity().to_vec()] {
        let (code, codes, report) = verify_codes(&ws, &bundle, &args);
        assert_eq!(code, 1, "{report}");
        assert_eq!(codes, ["plaintext-size-mismatch"], "{report}");
    }
}
