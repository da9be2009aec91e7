//! The encrypt side of `add --encrypt`, checked with the `age` crate's own decryptor (not
//! evidentia's), so the stored bytes are known to be a plain age file that `age -d` opens.

use std::io::Read;

use super::*;
use crate::archive::objects::{FsObjectStore, ObjectStore};
use crate::crypt::Recipient;

fn party() -> (age::x25519::Identity, Recipients) {
    let identity = age::x25519::Identity::generate();
    let text = identity.to_public().to_string();
    let recipient = Recipient::parse(&text, "test").expect("recipient");
    let set = Recipients::new(vec![recipient], "test").expect("recipients");
    (identity, set)
}

fn age_decrypt(identity: &age::x25519::Identity, ciphertext: &[u8]) -> Vec<u8> {
    let decryptor = age::Decryptor::new(ciphertext).expect("an age header");
    let mut reader = decryptor
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .expect("our recipient");
    let mut plain = Vec::new();
    reader
        .read_to_end(&mut plain)
        .expect("every chunk authentic");
    plain
}

fn plaintext(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

/// Streams `plain` through [`put_encrypted_stream`] into a fresh store; returns the stored
/// object's bytes and what was sealed.
fn stream_into_store(set: &Recipients, plain: &[u8]) -> (Vec<u8>, Sealed) {
    let dir = tempfile::tempdir().expect("tempdir");
    FsObjectStore::create_layout(dir.path()).expect("layout");
    let store = FsObjectStore::new(dir.path());
    let writer = store.writer(1).expect("writer");
    let (outcome, sealed) =
        put_encrypted_stream(&*writer, set, &mut &plain[..], Path::new("plain")).expect("stored");
    writer.finish().expect("finished");
    let stored = store
        .read_verified(&outcome.digest, u64::MAX)
        .expect("the object is named by its own hash");
    (stored, sealed)
}

#[test]
fn a_streamed_encryption_is_an_age_file_of_the_plaintext_at_every_block_boundary() {
    let (identity, set) = party();
    let chunk = stream::CHUNK_SIZE as usize;
    // Around the plaintext block (1 MiB), the age chunk (64 KiB) and several blocks in flight.
    let sizes = [
        0,
        1,
        chunk,
        PLAIN_BLOCK - 1,
        PLAIN_BLOCK,
        PLAIN_BLOCK + 1,
        PLAIN_DEPTH * PLAIN_BLOCK + chunk + 7,
    ];
    for (seed, len) in sizes.into_iter().enumerate() {
        let plain = plaintext(len, seed as u32);
        let (stored, sealed) = stream_into_store(&set, &plain);
        assert_eq!(sealed.plaintext, Digest::of(&plain), "{len} bytes");
        assert_eq!(sealed.plaintext_size, len as u64);
        assert_eq!(sealed.ciphertext, Digest::of(&stored));
        assert_eq!(sealed.ciphertext_size, stored.len() as u64);
        assert!(age_decrypt(&identity, &stored) == plain, "{len} bytes");
    }
}

#[test]
fn a_small_encryption_is_stored_under_the_hash_of_its_bytes() {
    let (identity, set) = party();
    let dir = tempfile::tempdir().expect("tempdir");
    FsObjectStore::create_layout(dir.path()).expect("layout");
    let store = FsObjectStore::new(dir.path());
    let writer = store.writer(1).expect("writer");
    let to = EncryptTo {
        recipients: set,
        record: None,
        hide_digest: false,
    };
    let plain = plaintext(5000, 9);
    let (outcome, info) = store_encrypted(
        &*writer,
        &mut &plain[..],
        Some(&plain),
        &to,
        Path::new("plain"),
    )
    .expect("stored");
    writer.finish().expect("finished");
    let stored = store
        .read_verified(&outcome.digest, u64::MAX)
        .expect("the object is named by its own hash");
    assert_eq!(info.binding, PlaintextBinding::Digest(Digest::of(&plain)));
    assert!(age_decrypt(&identity, &stored) == plain);
}

#[test]
fn no_two_encryptions_share_a_file_key_or_an_ephemeral_key() {
    let (identity, set) = party();
    let plain = plaintext(PLAIN_BLOCK + 3, 1);
    let (first, _) = stream_into_store(&set, &plain);
    let (second, _) = stream_into_store(&set, &plain);
    let lines = |ct: &[u8]| -> Vec<String> {
        let end = ct
            .windows(4)
            .position(|w| w == b"\n---")
            .expect("header end");
        let header = String::from_utf8(ct[..end].to_vec()).expect("a text header");
        header.lines().map(str::to_string).collect()
    };
    let (first_lines, second_lines) = (lines(&first), lines(&second));
    // Each file has its own ephemeral share (the X25519 stanza) and wrapped file key.
    let stanza = |lines: &[String]| -> Vec<String> {
        let at = lines
            .iter()
            .position(|l| l.starts_with("-> X25519 "))
            .expect("an X25519 stanza");
        lines[at..].to_vec()
    };
    assert_ne!(stanza(&first_lines)[0], stanza(&second_lines)[0]);
    assert_ne!(stanza(&first_lines)[1..], stanza(&second_lines)[1..]);
    // Both still open with the one identity.
    assert!(age_decrypt(&identity, &first) == plain);
    assert!(age_decrypt(&identity, &second) == plain);
}
