//! The committed vectors in fixtures/vectors/encryption/ (made by the reference `age` and
//! `age-keygen` tools) against this implementation.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::commitment::{Commitment, Opening, Salt, COMMITMENT_LABEL, OPENING_LABEL};
use super::stream::{decrypt_to_vec, inspect, Expected};
use super::{CryptError, Identities, Recipient};
use crate::core::digest::Digest;
use crate::keyfile::Passphrase;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vectors/encryption")
}

fn vectors() -> serde_json::Value {
    let text = std::fs::read_to_string(dir().join("vectors.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn s<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key}"))
}

fn digest(v: &serde_json::Value, key: &str) -> Digest {
    Digest::from_hex(s(v, key)).unwrap()
}

fn file(v: &serde_json::Value, key: &str) -> Vec<u8> {
    std::fs::read(dir().join(s(v, key))).unwrap()
}

fn identity() -> Identities {
    Identities::read_file(&dir().join("identity.txt"), || panic!("not protected")).unwrap()
}

#[test]
fn identity_file_and_recipient() {
    let v = vectors();
    let ids = identity();
    let me = Recipient::parse(s(&v, "recipient"), "vectors").unwrap();
    assert!(ids.recipients().unwrap().contains(&me));
    assert!(!Identities::is_protected(&dir().join("identity.txt")).unwrap());
}

#[test]
fn protected_identity_files_from_age_p() {
    let v = vectors();
    let me = Recipient::parse(s(&v, "recipient"), "vectors").unwrap();
    for name in v["protected_identity_files"].as_array().unwrap() {
        let path = dir().join(name.as_str().unwrap());
        assert!(Identities::is_protected(&path).unwrap());
        let pass = s(&v, "protected_identity_passphrase").to_string();
        let ids = Identities::read_file(&path, || Ok(Zeroizing::new(pass))).unwrap();
        assert!(
            ids.recipients().unwrap().contains(&me),
            "{}",
            path.display()
        );
        let wrong = Identities::read_file(&path, || -> crate::Result<Passphrase> {
            Ok(Zeroizing::new("wrong".into()))
        });
        assert!(matches!(wrong, Err(CryptError::WrongPassphrase { .. })));
    }
}

#[test]
fn ciphertexts_decrypt_to_their_digests() {
    let v = vectors();
    let ids = identity();
    let plain = file(&v, "plaintext_file");
    assert_eq!(Digest::of(&plain), digest(&v, "plaintext_sha256"));
    for set in [&v, &v["two_chunks"]] {
        let ct = file(set, "ciphertext_file");
        assert_eq!(Digest::of(&ct), digest(set, "ciphertext_sha256"));
        assert_eq!(ct.len() as u64, set["ciphertext_size"].as_u64().unwrap());
        let size = set["plaintext_size"].as_u64().unwrap();
        let shape = inspect(&ct[..], ct.len() as u64, "vector").unwrap();
        assert_eq!(shape.plaintext_size, size);
        let want = Expected {
            digest: digest(set, "plaintext_sha256"),
            size,
        };
        let back = decrypt_to_vec(&ids, &ct[..], want, "vector", 1 << 20).unwrap();
        assert_eq!(back.len() as u64, size);
    }
    let two: Vec<u8> = (0..65537u32).map(|i| (i * 7 % 251) as u8).collect();
    assert_eq!(
        Digest::of(&two),
        digest(&v["two_chunks"], "plaintext_sha256")
    );
}

#[test]
fn commitment_and_opening() {
    let v = vectors();
    assert_eq!(hex::encode(COMMITMENT_LABEL), s(&v, "commitment_label_hex"));
    assert_eq!(hex::encode(OPENING_LABEL), s(&v, "opening_label_hex"));
    let salt = Salt(hex::decode(s(&v, "salt_hex")).unwrap().try_into().unwrap());
    let plain = digest(&v, "plaintext_sha256");
    let commitment = digest(&v, "commitment");
    assert_eq!(Commitment::compute(&salt, &plain), commitment);
    let opening = Opening {
        salt,
        plaintext: plain,
    };
    assert_eq!(
        hex::encode(opening.to_bytes()),
        s(&v, "opening_plaintext_hex")
    );

    let sealed = file(&v, "opening_file");
    let opened = Opening::open(&identity(), &sealed, &commitment, "vector").unwrap();
    assert_eq!(opened, opening);
    // The same opening against another commitment (an opening swapped between records).
    let other = Commitment::compute(&salt, &Digest::of(b"another document"));
    let err = Opening::open(&identity(), &sealed, &other, "vector").unwrap_err();
    assert!(matches!(err, CryptError::OpeningMismatch { .. }), "{err}");
}

#[test]
fn openings_made_here_round_trip_and_hide_the_digest() {
    let ids = identity();
    let recipients = ids.recipients().unwrap();
    let plain = Digest::of(b"a known file");
    let (a, b) = (Opening::new(plain), Opening::new(plain));
    // Fresh salts: the same plaintext gives unlinkable commitments.
    assert_ne!(a.commitment(), b.commitment());
    let sealed = a.seal(&recipients).unwrap();
    assert!(!sealed
        .windows(32)
        .any(|w| w == plain.as_bytes() || w == a.salt.0));
    assert_eq!(
        Opening::open(&ids, &sealed, &a.commitment(), "t").unwrap(),
        a
    );
    // An opening whose plaintext is not the exact layout.
    let (junk, _) =
        super::stream::encrypt(&recipients, &mut &b"not an opening"[..], Vec::new()).unwrap();
    let err = Opening::open(&ids, &junk, &a.commitment(), "t").unwrap_err();
    assert!(matches!(err, CryptError::Malformed { .. }), "{err}");
}
