//! Witness cosignatures (C2SP tlog-cosignature, `cosignature/v1`): a witness's statement that,
//! as of a time, the checkpoint is the largest consistent tree head it has seen for the origin.
//!
//! - key id: SHA-256(name ‖ "\n" ‖ 0x04 ‖ Ed25519 public key)[:4];
//! - signature line: `— <name> base64(key id ‖ u64 big-endian timestamp ‖ Ed25519 signature)`;
//! - signed message: `cosignature/v1\n` ‖ `time <decimal seconds>\n` ‖ the checkpoint text.
//!
//! A witness uses an ordinary evidentia key; only the key id's algorithm byte differs.

use super::digest::Digest;
use super::key::{SignerKey, VerifierKey};
use super::note::NoteSignature;

/// Algorithm byte for Ed25519 cosignatures in key ids.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// Key id of a witness key for cosignatures.
pub fn cosigner_key_id(key: &VerifierKey) -> [u8; 4] {
    let digest = Digest::of_parts(&[
        key.name.as_bytes(),
        b"\n",
        &[ALG_COSIGNATURE_V1],
        key.key.as_bytes(),
    ]);
    let mut id = [0u8; 4];
    id.copy_from_slice(&digest.0[..4]);
    id
}

/// The bytes a cosignature signs.
pub fn cosigned_message(checkpoint_text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}").into_bytes()
}

/// Cosigns a checkpoint text at `timestamp` (seconds since the epoch).
pub fn cosign(witness: &SignerKey, checkpoint_text: &str, timestamp: u64) -> NoteSignature {
    let verifier = witness.verifier();
    let mut signature = timestamp.to_be_bytes().to_vec();
    signature.extend_from_slice(&witness.sign(&cosigned_message(checkpoint_text, timestamp)));
    NoteSignature {
        name: verifier.name.clone(),
        key_id: cosigner_key_id(&verifier),
        signature,
    }
}

/// If `sig` is a valid cosignature by `witness` of `checkpoint_text`, its timestamp.
pub fn verify_cosignature(
    witness: &VerifierKey,
    checkpoint_text: &str,
    sig: &NoteSignature,
) -> Option<u64> {
    if sig.name != witness.name
        || sig.key_id != cosigner_key_id(witness)
        || sig.signature.len() != 72
    {
        return None;
    }
    let timestamp = u64::from_be_bytes(sig.signature[..8].try_into().ok()?);
    if timestamp > i64::MAX as u64 {
        return None;
    }
    let signature: [u8; 64] = sig.signature[8..].try_into().ok()?;
    witness
        .verify(&cosigned_message(checkpoint_text, timestamp), &signature)
        .then_some(timestamp)
}

/// Whether a signature line claims to be a cosignature by `witness` (name and key id match).
pub fn is_cosignature_by(witness: &VerifierKey, sig: &NoteSignature) -> bool {
    sig.name == witness.name && sig.key_id == cosigner_key_id(witness)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosignatures_verify_and_bind_text_and_time() {
        let witness = SignerKey::from_seed("witness.example.org/w1", &[4; 32]).unwrap();
        let text = "origin\n5\nAAAA\n";
        let sig = cosign(&witness, text, 1_700_000_000);
        let v = witness.verifier();
        assert_eq!(verify_cosignature(&v, text, &sig), Some(1_700_000_000));
        assert_eq!(verify_cosignature(&v, "origin\n6\nAAAA\n", &sig), None);
        let mut later = sig.clone();
        later.signature[7] ^= 1;
        assert_eq!(verify_cosignature(&v, text, &later), None);
        // The cosignature key id differs from the ordinary signing key id.
        assert_ne!(sig.key_id, v.id);
        assert!(is_cosignature_by(&v, &sig));
    }
}
