//! Adversarial round 14 on bundles encrypted to a recipient (FORMAT.md §23.8), built as an
//! attacker would (bag, tag manifest and checksums recomputed), run through both verifiers.

use super::encrypted::{encrypted_bundle, identity, verify_as_court};
use super::*;
use evidentia::crypt::{stream, Recipients};

/// The header of an age file split into its lines (each without its LF), and the rest (nonce
/// and payload).
fn split_header(bytes: &[u8]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut lines = Vec::new();
    let mut at = 0;
    loop {
        let end = at + bytes[at..].iter().position(|b| *b == b'\n').expect("LF");
        let line = bytes[at..end].to_vec();
        at = end + 1;
        let last = line.starts_with(b"--- ");
        lines.push(line);
        if last {
            return (lines, bytes[at..].to_vec());
        }
    }
}

/// Attack: an extra X25519 stanza (a second reader) hidden after more than 64 KiB of grease
/// stanzas, which every age reader skips: a verifier that counted the stanzas of the first
/// 64 KiB only saw one recipient. Both verifiers must refuse a header this long
/// (`ciphertext-malformed`); the header MAC no longer holds, so nothing else would catch it
/// without a key.
/// `file` with `stanzas` grease stanzas (which every age reader skips) and then a copy of its
/// X25519 stanza (a second reader) inserted in its header.
fn pad_header(file: &Path, original: &[u8], stanzas: usize) -> usize {
    let (lines, rest) = split_header(original);
    // lines: version, "-> X25519 …", its body (one short line), then the MAC line.
    assert!(
        lines[1].starts_with(b"-> X25519 "),
        "one X25519 stanza first"
    );
    let stanza = [lines[1].clone(), lines[2].clone()];
    let mut header = vec![lines[0].clone(), stanza[0].clone(), stanza[1].clone()];
    let grease = format!("-> pad-grease {}", "A".repeat(60));
    for _ in 0..stanzas {
        header.push(grease.clone().into_bytes());
        header.push("B".repeat(64).into_bytes());
        header.push(b"AA".to_vec());
    }
    header.extend(stanza);
    header.push(lines.last().expect("mac").clone());
    let mut bytes = header.join(&b'\n');
    bytes.push(b'\n');
    let header_len = bytes.len();
    bytes.extend(rest);
    fs::write(file, bytes).expect("write");
    header_len
}

/// Attack: an extra X25519 stanza (a second reader) hidden after more than 64 KiB of grease
/// stanzas: a verifier that counted the stanzas of the first 64 KiB only saw one recipient.
/// Both verifiers must refuse a header this long (`ciphertext-malformed`); the header MAC no
/// longer holds, but nothing checks it without a key. A short padding shows the second
/// stanza (`recipients-mismatch`).
#[test]
fn a_stanza_hidden_behind_64_kib_of_grease_is_refused_by_both_verifiers() {
    let (ws, bundle) = encrypted_bundle();
    let file = bundle.join("data/documents/case/a.txt.age");
    let original = fs::read(&file).expect("read");
    for (stanzas, want) in [(10, "recipients-mismatch"), (600, "ciphertext-malformed")] {
        let header_len = pad_header(&file, &original, stanzas);
        assert_eq!(header_len > 64 * 1024, stanzas == 600, "{header_len}");
        rebag(&bundle);
        let (code, report) = verify_json(&ws, &bundle, &TRUST);
        assert_eq!(code, 1, "{stanzas}: {report}");
        let codes = Workspace::problem_codes(&report);
        assert_eq!(codes, [want], "{report}");
        differential::assert_script_agrees(&ws, &bundle, 1, &codes);
        let with_identity = ["--trust", "signer.pub", "--identity", &identity()];
        let (code, report) = verify_json(&ws, &bundle, &with_identity);
        assert_eq!(code, 1, "{report}");
    }
}

/// Attack: the X25519 stanza's type changed to `scrypt` (a passphrase file): refused by both
/// verifiers without a key (`ciphertext-malformed`), never counted as a recipient.
#[test]
fn a_passphrase_stanza_is_refused_by_both_verifiers() {
    let (ws, bundle) = encrypted_bundle();
    let file = bundle.join("data/documents/case/a.txt.age");
    let (mut lines, rest) = split_header(&fs::read(&file).expect("read"));
    lines[1] = b"-> scrypt AAAAAAAAAAAAAAAAAAAAAA 10".to_vec();
    let mut bytes = lines.join(&b'\n');
    bytes.push(b'\n');
    bytes.extend(rest);
    fs::write(&file, bytes).expect("write");
    rebag(&bundle);
    let (code, report) = verify_json(&ws, &bundle, &TRUST);
    assert_eq!(code, 1, "{report}");
    let codes = Workspace::problem_codes(&report);
    assert_eq!(codes, ["ciphertext-malformed"], "{report}");
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
}

/// Attack on a court's bundle of a document stored encrypted (FORMAT.md §23.9): drop its
/// `decrypted` listing and put, encrypted to the court, the archive's stored ciphertext (which
/// the record names as its content): nothing the record does not say is claimed, and both
/// verifiers agree. Other bytes of that size are caught by the court.
#[test]
fn a_court_bundle_relisted_without_its_decryption_claims_only_the_stored_ciphertext() {
    use super::encrypted_export::{court_bundle, edit_listing};
    let (ws, bundle, court_file, court_key) = court_bundle();
    let mut content = String::new();
    edit_listing(&bundle, "hidden.txt", |entry| {
        content = entry["content"].as_str().expect("content").to_string();
        entry.as_object_mut().expect("entry").remove("decrypted");
    });
    let stored = fs::read(ws.object_path(&content)).expect("stored ciphertext");
    let court = Recipients::parse_all(&[court_key.as_str()], "test").expect("court");
    let (wrapped, _) = stream::encrypt(&court, &mut &stored[..], Vec::new()).expect("encrypt");
    fs::write(bundle.join("data/documents/hidden.txt.age"), wrapped).expect("write");
    rebag(&bundle);
    let (code, report) = verify_as_court(&ws, &bundle, &court_file);
    // True: the court holds exactly the ciphertext the signed record names (and cannot read
    // it); the verdict claims nothing about the hidden plaintext.
    assert_eq!(code, 0, "{report}");
    let hidden = (report["documents"].as_array().expect("documents").iter())
        .find(|d| d["path"] == "hidden.txt")
        .expect("listed")
        .clone();
    assert_eq!(hidden["content"], format!("sha256:{content}"), "{hidden}");
    // Other bytes of the stored ciphertext's size, to the court: caught by the court.
    let mut other = stored.clone();
    other[0] ^= 1;
    let (wrapped, _) = stream::encrypt(&court, &mut &other[..], Vec::new()).expect("encrypt");
    fs::write(bundle.join("data/documents/hidden.txt.age"), wrapped).expect("write");
    rebag(&bundle);
    let with = ["--trust", "signer.pub", "--identity", path_str(&court_file)];
    let (code, report) = verify_json(&ws, &bundle, &with);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["plaintext-mismatch"],
        "{report}"
    );
}
