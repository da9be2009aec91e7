use std::io::{BufReader, Write};
use std::path::Path;

use super::*;
use crate::crypt::identity::NewIdentity;
use crate::crypt::Recipient;
use crate::keyfile::Passphrase;

fn no_passphrase() -> crate::Result<Passphrase> {
    panic!("no passphrase expected")
}

fn party() -> (Identities, Recipient) {
    let new = NewIdentity::generate();
    let ids =
        Identities::from_bytes(new.file_text().as_bytes(), Path::new("id"), no_passphrase).unwrap();
    (ids, new.recipient().unwrap())
}

fn seal(to: &[&Recipient], plain: &[u8]) -> (Vec<u8>, Sealed) {
    let set = Recipients::new(to.iter().map(|r| (*r).clone()).collect(), "t").unwrap();
    encrypt(&set, &mut &plain[..], Vec::new()).unwrap()
}

fn expected(plain: &[u8]) -> Expected {
    Expected {
        digest: Digest::of(plain),
        size: plain.len() as u64,
    }
}

#[test]
fn round_trip_hashes_both_sides_in_one_pass() {
    let (ids, me) = party();
    for len in [0usize, 1, 65535, 65536, 65537, 200_000] {
        let plain: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let (ct, sealed) = seal(&[&me], &plain);
        assert_eq!(sealed.plaintext, Digest::of(&plain));
        assert_eq!(sealed.plaintext_size, len as u64);
        assert_eq!(sealed.ciphertext, Digest::of(&ct));
        assert_eq!(sealed.ciphertext_size, ct.len() as u64);
        let back = decrypt_to_vec(&ids, &ct[..], expected(&plain), "doc", 1 << 20).unwrap();
        assert_eq!(back, plain);
        // Without any key: the header parses and the payload length gives the plaintext size.
        let shape = inspect(&ct[..], ct.len() as u64, "doc").unwrap();
        assert_eq!(shape.plaintext_size, len as u64, "len {len}");
        assert_eq!(
            ciphertext_size(shape.header_len, len as u64),
            ct.len() as u64
        );
    }
}

#[test]
fn every_recipient_decrypts_and_others_are_refused_clearly() {
    let (a, ra) = party();
    let (b, rb) = party();
    let (stranger, _) = party();
    let plain = b"statement".to_vec();
    let (ct, _) = seal(&[&ra, &rb], &plain);
    for ids in [&a, &b] {
        assert_eq!(
            decrypt_to_vec(ids, &ct[..], expected(&plain), "doc", 100).unwrap(),
            plain
        );
    }
    let err = decrypt_to_vec(&stranger, &ct[..], expected(&plain), "doc", 100).unwrap_err();
    assert!(matches!(err, CryptError::NotARecipient { .. }), "{err}");
}

#[test]
fn tampered_ciphertext_is_damage_and_releases_nothing() {
    let (ids, me) = party();
    let plain: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    let (ct, _) = seal(&[&me], &plain);
    // A flipped payload byte in the second chunk, a flipped header MAC byte, a truncation.
    let mut payload = ct.clone();
    let at = payload.len() - 100;
    payload[at] ^= 1;
    let mut out = Vec::new();
    let err = decrypt_to(&ids, &payload[..], expected(&plain), "doc", &mut out).unwrap_err();
    assert!(matches!(err, CryptError::Damaged { .. }), "{err}");
    assert!(decrypt_to_vec(&ids, &payload[..], expected(&plain), "doc", 1 << 20).is_err());

    let header_end = ct.windows(4).position(|w| w == b"--- ").unwrap() + 4;
    let mut mac = ct.clone();
    mac[header_end] = if mac[header_end] == b'A' { b'B' } else { b'A' };
    let err = decrypt_to_vec(&ids, &mac[..], expected(&plain), "doc", 1 << 20).unwrap_err();
    assert!(matches!(err, CryptError::Damaged { .. }), "{err}");

    let mut longer = ct.clone();
    longer.extend_from_slice(b"appended");
    let err = decrypt_to_vec(&ids, &longer[..], expected(&plain), "doc", 1 << 20).unwrap_err();
    assert!(matches!(err, CryptError::Damaged { .. }), "{err}");

    let cut = &ct[..ct.len() - 17];
    let err = decrypt_to_vec(&ids, cut, expected(&plain), "doc", 1 << 20).unwrap_err();
    assert!(matches!(err, CryptError::Damaged { .. }), "{err}");
    // Without a key, the truncation still shows: the size the payload implies is not the
    // recorded plaintext size.
    let shape = inspect(cut, cut.len() as u64, "doc").unwrap();
    assert_ne!(shape.plaintext_size, plain.len() as u64);
}

#[test]
fn other_plaintext_than_recorded_is_caught_at_finish() {
    // A dishonest encryptor seals other content than the record names: every age chunk
    // authenticates, only the final check can tell.
    let (ids, me) = party();
    let (ct, _) = seal(&[&me], b"what was really encrypted");
    let claimed = expected(b"what the record claims...");
    let err = decrypt_to_vec(&ids, &ct[..], claimed, "doc", 100).unwrap_err();
    assert!(
        matches!(
            err,
            CryptError::PlaintextMismatch {
                field: "SHA-256",
                ..
            }
        ),
        "{err}"
    );
    let shorter = Expected {
        size: 3,
        ..expected(b"x")
    };
    let mut decryption = Decryption::new(&ids, &ct[..], shorter, "doc").unwrap();
    let mut buf = [0u8; 64];
    let err = decryption.read_checked(&mut buf).unwrap_err();
    assert!(
        matches!(err, CryptError::PlaintextMismatch { field: "size", .. }),
        "{err}"
    );
    let too_big = Expected {
        size: 1 << 40,
        ..claimed
    };
    let err = decrypt_to_vec(&ids, &ct[..], too_big, "doc", 1 << 20).unwrap_err();
    assert!(matches!(err, CryptError::TooLarge { .. }), "{err}");
}

#[test]
fn passphrase_files_are_not_content() {
    let new = NewIdentity::generate();
    let protected = new
        .protected_file(&zeroize::Zeroizing::new("pw".into()))
        .unwrap();
    let mut binary = Vec::new();
    std::io::copy(
        &mut age::armor::ArmoredReader::new(BufReader::new(&protected[..])),
        &mut binary,
    )
    .unwrap();
    let err = inspect(&binary[..], binary.len() as u64, "doc").unwrap_err();
    assert!(err.to_string().contains("passphrase"), "{err}");
    assert!(inspect(&b"not age"[..], 7, "doc").is_err());
}

#[test]
fn payload_lengths() {
    assert_eq!(plaintext_size(16), Some(0));
    assert_eq!(plaintext_size(17), Some(1));
    assert_eq!(plaintext_size(65552), Some(65536));
    assert_eq!(
        plaintext_size(65552 + 16),
        None,
        "an empty last chunk after a full one"
    );
    assert_eq!(plaintext_size(65552 + 17), Some(65537));
    assert_eq!(plaintext_size(15), None);
    assert_eq!(plaintext_size(0), None);
}

#[test]
fn writer_is_usable_directly() {
    let (ids, me) = party();
    let set = Recipients::new(vec![me], "t").unwrap();
    let mut enc = Encryption::new(&set, Vec::new()).unwrap();
    enc.write_all(b"part one, ").unwrap();
    enc.write_all(b"part two").unwrap();
    let (ct, sealed) = enc.finish().unwrap();
    assert_eq!(sealed.plaintext, Digest::of(b"part one, part two"));
    let back = decrypt_to_vec(&ids, &ct[..], expected(b"part one, part two"), "d", 99).unwrap();
    assert_eq!(back, b"part one, part two");
}

/// Throughput of encrypt+hash against plain SHA-256 on 1 GiB (run by hand:
/// `cargo test --release --lib crypt::stream::tests::throughput -- --ignored --nocapture`).
#[test]
#[ignore]
fn throughput() {
    let (ids, me) = party();
    let set = Recipients::new(vec![me], "t").unwrap();
    let block: Vec<u8> = (0..(1 << 20)).map(|i| (i * 31 % 256) as u8).collect();
    let total = 1u64 << 30;
    let sink = std::io::sink();

    let start = std::time::Instant::now();
    let mut hasher = Hasher::new();
    for _ in 0..(total >> 20) {
        hasher.update(&block);
    }
    std::hint::black_box(hasher.finish());
    let plain_secs = start.elapsed().as_secs_f64();

    // Through `encrypt`, from a reader as `add` has.
    let mut input = std::io::Read::take(std::io::repeat(7), total);
    let start = std::time::Instant::now();
    let (_, sealed) = encrypt(&set, &mut input, sink).unwrap();
    let enc_secs = start.elapsed().as_secs_f64();
    assert_eq!(sealed.plaintext_size, total);

    // Decrypt+check: re-encrypt into memory is 1 GiB, so measure on 256 MiB and scale.
    let part = 256u64 << 20;
    let mut enc = Encryption::new(&set, Vec::with_capacity(part as usize + (1 << 20))).unwrap();
    for _ in 0..(part >> 20) {
        enc.write_all(&block).unwrap();
    }
    let (ct, sealed) = enc.finish().unwrap();
    let start = std::time::Instant::now();
    let want = Expected {
        digest: sealed.plaintext,
        size: sealed.plaintext_size,
    };
    decrypt_to(&ids, &ct[..], want, "bench", &mut std::io::sink()).unwrap();
    let dec_secs = start.elapsed().as_secs_f64() * (total / part) as f64;

    let mib = (total >> 20) as f64;
    println!(
        "1 GiB: sha256 {:.2} s ({:.0} MiB/s); encrypt+sha256(plain)+sha256(cipher) {:.2} s \
         ({:.0} MiB/s, {:.2}x); decrypt+sha256 {:.2} s ({:.0} MiB/s, {:.2}x)",
        plain_secs,
        mib / plain_secs,
        enc_secs,
        mib / enc_secs,
        enc_secs / plain_secs,
        dec_secs,
        mib / dec_secs,
        dec_secs / plain_secs
    );
}
