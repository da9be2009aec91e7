//! Salted plaintext commitments, for documents whose plaintext SHA-256 would tell anyone
//! holding a list of known files which one this is.
//!
//! commitment = SHA-256(COMMITMENT_LABEL || salt || SHA-256(plaintext)), with a fresh random
//! 32-byte salt per document. The salt must stay unknown to non-recipients (with it, anyone
//! could test known files again), so it travels in the record only inside the *opening*: an
//! age file, encrypted to the same recipients as the content, whose plaintext is
//! OPENING_LABEL || salt || SHA-256(plaintext). A recipient decrypts the opening, checks that
//! it opens the commitment, then checks the content against the digest it carries. Binding
//! rests on SHA-256's collision resistance: no opening opens one commitment to two digests, so
//! a swapped or forged opening is refused, and two recipients who each verify see the same
//! plaintext even if a dishonest encryptor gave them different file keys.

use std::io::Read;

use super::identity::Identities;
use super::recipients::Recipients;
use super::stream::{encrypt, header_error, unwrap_file_key};
use super::{CryptError, Result};
use crate::core::digest::{Digest, DIGEST_LEN};

/// Domain separation for the commitment hash (34 bytes, NUL-terminated so no label is a
/// prefix of another).
pub const COMMITMENT_LABEL: &[u8] = b"evidentia:plaintext-commitment:v1\0";
/// The first bytes of an opening's plaintext.
pub const OPENING_LABEL: &[u8] = b"evidentia:opening:v1\0";
pub const SALT_LEN: usize = 32;
/// Exact length of an opening's plaintext.
pub const OPENING_PLAINTEXT_LEN: usize = OPENING_LABEL.len() + SALT_LEN + DIGEST_LEN;
/// Largest opening (an age file to at most `MAX_RECIPIENTS` keys, about 100 bytes each).
pub const MAX_OPENING_LEN: usize = 64 * 1024;

/// The secret salt of one commitment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Salt(pub [u8; SALT_LEN]);

impl Salt {
    pub fn random() -> Salt {
        let mut salt = [0u8; SALT_LEN];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
        Salt(salt)
    }
}

impl std::fmt::Debug for Salt {
    // Never printed by accident: it is what keeps the plaintext digest hidden.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salt(…)")
    }
}

/// Computes commitments.
pub struct Commitment;

impl Commitment {
    /// SHA-256(COMMITMENT_LABEL || salt || plaintext digest).
    pub fn compute(salt: &Salt, plaintext: &Digest) -> Digest {
        Digest::of_parts(&[COMMITMENT_LABEL, &salt.0, plaintext.as_bytes()])
    }
}

/// The opened content of an opening: the salt and the plaintext digest it commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening {
    pub salt: Salt,
    pub plaintext: Digest,
}

impl Opening {
    /// A fresh opening for `plaintext` (new random salt).
    pub fn new(plaintext: Digest) -> Opening {
        Opening {
            salt: Salt::random(),
            plaintext,
        }
    }

    pub fn commitment(&self) -> Digest {
        Commitment::compute(&self.salt, &self.plaintext)
    }

    /// The opening's plaintext: OPENING_LABEL || salt || digest.
    pub fn to_bytes(&self) -> Vec<u8> {
        [OPENING_LABEL, &self.salt.0, self.plaintext.as_bytes()].concat()
    }

    /// Parses an opening's plaintext; anything but the exact layout is refused.
    pub fn from_bytes(bytes: &[u8]) -> Option<Opening> {
        if bytes.len() != OPENING_PLAINTEXT_LEN {
            return None;
        }
        let rest = bytes.strip_prefix(OPENING_LABEL)?;
        let (salt, digest) = rest.split_at(SALT_LEN);
        Some(Opening {
            salt: Salt(salt.try_into().ok()?),
            plaintext: Digest::from_slice(digest)?,
        })
    }

    /// Encrypts this opening to `recipients` (the same as the content's): the bytes a record
    /// carries.
    pub fn seal(&self, recipients: &Recipients) -> Result<Vec<u8>> {
        let plain = self.to_bytes();
        let (sealed, _) = encrypt(recipients, &mut plain.as_slice(), Vec::new())?;
        Ok(sealed)
    }

    /// Decrypts the opening `sealed` and checks that it opens `commitment`. `what` names the
    /// record in errors.
    pub fn open(
        identities: &Identities,
        sealed: &[u8],
        commitment: &Digest,
        what: &str,
    ) -> Result<Opening> {
        if sealed.len() > MAX_OPENING_LEN {
            return Err(CryptError::TooLarge {
                what: what.to_string(),
                size: sealed.len() as u64,
                max: MAX_OPENING_LEN as u64,
            });
        }
        let decryptor = age::Decryptor::new_buffered(sealed).map_err(|e| header_error(e, what))?;
        let mut reader = unwrap_file_key(decryptor, identities, what)?;
        let mut plain = Vec::with_capacity(OPENING_PLAINTEXT_LEN);
        reader
            .by_ref()
            .take(OPENING_PLAINTEXT_LEN as u64 + 1)
            .read_to_end(&mut plain)
            .map_err(|e| CryptError::Damaged {
                what: what.to_string(),
                why: e.to_string(),
            })?;
        let opening = Opening::from_bytes(&plain).ok_or_else(|| CryptError::Malformed {
            what: what.to_string(),
            why: format!(
                "an opening's plaintext must be {OPENING_PLAINTEXT_LEN} bytes starting with \
                 the opening label"
            ),
        })?;
        if opening.commitment() != *commitment {
            return Err(CryptError::OpeningMismatch {
                what: what.to_string(),
                commitment: commitment.to_prefixed(),
            });
        }
        Ok(opening)
    }
}
