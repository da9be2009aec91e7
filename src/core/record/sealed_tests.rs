//! The §23.10 vector (fixtures/vectors/encryption/sealed-annotation.json, ciphertext made by the
//! reference `age` tool) against this implementation, and the decoding rules of `sealed` maps.

use std::path::{Path, PathBuf};

use super::*;
use crate::core::record::Record;
use crate::crypt::stream::{decrypt_to_vec, Expected};
use crate::crypt::Identities;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vectors/encryption")
}

fn vector() -> serde_json::Value {
    let text = std::fs::read_to_string(dir().join("sealed-annotation.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn hex(v: &serde_json::Value, key: &str) -> Vec<u8> {
    ::hex::decode(v[key].as_str().unwrap()).unwrap()
}

#[test]
fn the_vector_plaintext_decodes_and_its_digest_is_the_records() {
    let v = vector();
    let plain = hex(&v, "plaintext_hex");
    let fields = HiddenFields::decode(&plain).unwrap();
    assert_eq!(fields.salt, [9u8; 32]);
    assert_eq!(fields.kind, "annotation");
    assert_eq!(
        fields.targets,
        vec![Digest::from_slice(&hex(&v, "target")).unwrap()]
    );
    assert_eq!(fields.body.as_deref(), v["body"].as_str());
    assert_eq!(
        fields.claim.get("witness").map(String::as_str),
        Some("W-017")
    );
    assert_eq!(fields.encode().unwrap(), plain);

    let record_bytes = hex(&v, "record_hex");
    let Record::Annotation(a) = Record::decode(&record_bytes).unwrap() else {
        panic!("not an annotation");
    };
    let sealed = a.sealed.as_ref().unwrap();
    assert!(a.body.is_empty() && a.claim.is_empty());
    assert_eq!(sealed.plaintext_digest(), &Digest::of(&plain));
    assert_eq!(sealed.encryption.plaintext_size, plain.len() as u64);
    assert_eq!(
        Record::Annotation(a.clone()).encode().unwrap(),
        record_bytes
    );
    assert_eq!(
        Digest::of(&record_bytes).to_hex(),
        v["record_id"].as_str().unwrap()
    );

    // The ciphertext, made by `age`, is the object the record names and decrypts to it.
    let ciphertext = std::fs::read(dir().join("sealed-annotation.age")).unwrap();
    assert_eq!(sealed.content, Digest::of(&ciphertext));
    assert_eq!(sealed.size, ciphertext.len() as u64);
    let identity =
        Identities::read_file(&dir().join("identity.txt"), || panic!("not protected")).unwrap();
    let expected = Expected {
        digest: *sealed.plaintext_digest(),
        size: sealed.encryption.plaintext_size,
    };
    let out = decrypt_to_vec(
        &identity,
        &ciphertext[..],
        expected,
        "vector",
        MAX_HIDDEN_LEN,
    )
    .unwrap();
    assert_eq!(out, plain);
}

#[test]
fn a_non_canonical_or_incomplete_plaintext_is_refused() {
    let mut fields = HiddenFields::new("custody", vec![Digest::of(b"x")]);
    fields.note = Some("n".into());
    let mut bytes = fields.encode().unwrap();
    assert_eq!(HiddenFields::decode(&bytes).unwrap(), fields);
    bytes.push(0);
    assert!(HiddenFields::decode(&bytes).is_err());
}

#[test]
fn a_sealed_map_with_a_commitment_is_refused() {
    let info = EncryptionInfo {
        plaintext_size: 10,
        binding: PlaintextBinding::Committed {
            commitment: Digest::of(b"c"),
            opening: vec![1],
        },
        recipients: None,
    };
    let sealed = SealedFields {
        content: Digest::of(b"o"),
        size: 100,
        encryption: info,
    };
    assert!(SealedFields::from_value(sealed.to_value(), 10).is_err());
}
