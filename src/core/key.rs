//! Ed25519 keys in the C2SP signed-note encodings.
//!
//! - key id: the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key);
//! - verifier key (the `.pub` file): `name+<8 hex key id>+base64(0x01 ‖ public key)`;
//! - signer key (inside the `.key` file): `PRIVATE+KEY+name+<8 hex key id>+base64(0x01 ‖ seed)`,
//!   the form Go's golang.org/x/mod/sumdb/note reads.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use thiserror::Error;
use zeroize::Zeroizing;

use super::digest::Digest;

/// Algorithm byte for Ed25519 in signed notes.
pub const ALG_ED25519: u8 = 0x01;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("signer name '{name}' is not allowed: use 1-64 characters with no spaces, '+' or control characters")]
    BadName { name: String },
    #[error("not a verifier key ('name+keyid+base64'): {why}")]
    BadVerifierKey { why: String },
    #[error("not a signer key ('PRIVATE+KEY+name+keyid+base64'): {why}")]
    BadSignerKey { why: String },
    #[error("the key id {found} in the key text does not match the key ({expected})")]
    KeyIdMismatch { expected: String, found: String },
    #[error("the public key is a weak (small-order) Ed25519 point and is refused")]
    WeakKey,
}

/// Checks a signer name as the signed-note format requires.
pub fn check_name(name: &str) -> Result<(), KeyError> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+');
    if ok {
        Ok(())
    } else {
        Err(KeyError::BadName {
            name: name.to_string(),
        })
    }
}

/// Key id of an Ed25519 public key under `name`.
pub fn key_id(name: &str, public: &VerifyingKey) -> [u8; 4] {
    let digest = Digest::of_parts(&[name.as_bytes(), b"\n", &[ALG_ED25519], public.as_bytes()]);
    let mut id = [0u8; 4];
    id.copy_from_slice(&digest.0[..4]);
    id
}

/// A public key with the name it signs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    pub name: String,
    pub id: [u8; 4],
    pub key: VerifyingKey,
}

impl VerifierKey {
    pub fn new(name: &str, key: VerifyingKey) -> Result<VerifierKey, KeyError> {
        check_name(name)?;
        if key.is_weak() {
            return Err(KeyError::WeakKey);
        }
        Ok(VerifierKey {
            name: name.to_string(),
            id: key_id(name, &key),
            key,
        })
    }

    /// Parses `name+keyid+base64(0x01 ‖ key)`.
    pub fn parse(text: &str) -> Result<VerifierKey, KeyError> {
        let bad = |why: &str| KeyError::BadVerifierKey { why: why.into() };
        // base64 itself may contain '+', so only the first two '+' separate fields.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected three '+'-separated fields"));
        };
        check_name(name)?;
        let id = parse_key_id(id_hex).ok_or_else(|| bad("the key id is not 8 hex digits"))?;
        let raw = B64
            .decode(key_b64)
            .map_err(|_| bad("the key is not valid base64"))?;
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            return Err(bad("the key is not an Ed25519 key (0x01 then 32 bytes)"));
        }
        let bytes: [u8; 32] = raw[1..]
            .try_into()
            .map_err(|_| bad("the key is not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| bad("not a valid Ed25519 point"))?;
        let parsed = VerifierKey::new(name, key)?;
        if parsed.id != id {
            return Err(KeyError::KeyIdMismatch {
                expected: hex::encode(parsed.id),
                found: id_hex.to_string(),
            });
        }
        Ok(parsed)
    }

    pub fn id_hex(&self) -> String {
        hex::encode(self.id)
    }

    /// Verifies with `verify_strict`, which refuses malleable and small-order signatures.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = Signature::from_bytes(signature);
        self.key.verify_strict(message, &signature).is_ok()
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, self.id_hex(), B64.encode(raw))
    }
}

fn parse_key_id(text: &str) -> Option<[u8; 4]> {
    if text.len() != 8 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut id = [0u8; 4];
    hex::decode_to_slice(text, &mut id).ok()?;
    Some(id)
}

/// A secret key with the name it signs under.
pub struct SignerKey {
    pub name: String,
    key: SigningKey,
}

impl SignerKey {
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<SignerKey, KeyError> {
        check_name(name)?;
        Ok(SignerKey {
            name: name.to_string(),
            key: SigningKey::from_bytes(seed),
        })
    }

    pub fn generate(name: &str) -> Result<SignerKey, KeyError> {
        check_name(name)?;
        let key = SigningKey::generate(&mut rand_core::OsRng);
        Ok(SignerKey {
            name: name.to_string(),
            key,
        })
    }

    pub fn verifier(&self) -> VerifierKey {
        let key = self.key.verifying_key();
        VerifierKey {
            name: self.name.clone(),
            id: key_id(&self.name, &key),
            key,
        }
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// `PRIVATE+KEY+name+keyid+base64(0x01 ‖ seed)`; the caller keeps it secret.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new(vec![ALG_ED25519]);
        raw.extend_from_slice(self.key.as_bytes());
        Zeroizing::new(format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            self.verifier().id_hex(),
            B64.encode(raw.as_slice())
        ))
    }

    pub fn parse(text: &str) -> Result<SignerKey, KeyError> {
        let bad = |why: &str| KeyError::BadSignerKey { why: why.into() };
        let rest = text
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| bad("it does not start with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected name, key id and key after PRIVATE+KEY+"));
        };
        let id = parse_key_id(id_hex).ok_or_else(|| bad("the key id is not 8 hex digits"))?;
        let raw = Zeroizing::new(
            B64.decode(key_b64)
                .map_err(|_| bad("the key is not valid base64"))?,
        );
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            return Err(bad("the key is not an Ed25519 seed (0x01 then 32 bytes)"));
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&raw[1..]);
        let signer = SignerKey::from_seed(name, &seed)?;
        if signer.verifier().id != id {
            return Err(KeyError::KeyIdMismatch {
                expected: signer.verifier().id_hex(),
                found: id_hex.to_string(),
            });
        }
        Ok(signer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_note_vector_key_encodings() {
        let seed: [u8; 32] = core::array::from_fn(|i| i as u8 + 1);
        let signer = SignerKey::from_seed("example-signer", &seed).unwrap();
        assert_eq!(
            signer.verifier().to_string(),
            "example-signer+b357b753+AXm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk"
        );
        let reparsed = SignerKey::parse(&signer.to_text()).unwrap();
        assert_eq!(reparsed.verifier(), signer.verifier());
        let vk = VerifierKey::parse(&signer.verifier().to_string()).unwrap();
        assert_eq!(vk, signer.verifier());
    }

    #[test]
    fn refuses_bad_keys() {
        assert!(VerifierKey::parse("name+b357b753").is_err());
        assert!(matches!(
            VerifierKey::parse("other+b357b753+AXm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk"),
            Err(KeyError::KeyIdMismatch { .. })
        ));
        assert!(VerifierKey::parse("bad name+b357b753+AXm1").is_err());
        // The identity point is small-order.
        let mut raw = vec![ALG_ED25519, 1];
        raw.extend_from_slice(&[0u8; 31]);
        let weak = format!("w+00000000+{}", B64.encode(raw));
        assert!(VerifierKey::parse(&weak).is_err());
    }
}
