//! Encrypted content (issue 14; docs/FORMAT.md, "Encrypted content").
//!
//! Documents can be stored only as age v1 ciphertext (X25519 recipients, the `age` crate: no
//! hand-made cryptography). Integrity stays checkable by anyone: records commit to the
//! ciphertext's SHA-256 (the stored object) and to the plaintext, either by its SHA-256 or, where
//! that digest would tell which known file it is, by a salted commitment whose salt travels
//! encrypted to the same recipients (the "opening").
//!
//! The API is narrow on purpose:
//! - [`recipients`]: parse `age1…` keys and recipients files; refuse other kinds clearly.
//! - [`identity`]: load `age-keygen` identity files, plain or passphrase-protected (`age -p`),
//!   and make new ones.
//! - [`stream`]: encrypt while hashing plaintext and ciphertext in one pass; decrypt and check
//!   the plaintext at the end; learn a ciphertext's plaintext size without any key.
//! - [`commitment`]: salted commitments and their openings.
//!
//! Nothing here reads the archive or writes files: callers own where bytes go (see
//! [`stream::Decryption`] for how decrypted bytes may be released).

pub mod commitment;
pub mod identity;
pub mod onepass;
pub mod recipients;
pub mod stream;

use std::path::PathBuf;

use thiserror::Error;

pub use commitment::{Commitment, Opening, Salt};
pub use identity::{Identities, NewIdentity};
pub use recipients::{Recipient, Recipients};
pub use stream::{Decryption, Encryption, Sealed};

/// Most recipients one ciphertext is encrypted to: bounds the age header (about 120 bytes per
/// recipient) and the recipients records.
pub const MAX_RECIPIENTS: usize = 256;

#[derive(Debug, Error)]
pub enum CryptError {
    #[error("{what}: '{given}' is not an age X25519 recipient (age1…): {why}")]
    BadRecipient {
        what: String,
        given: String,
        why: String,
    },
    #[error(
        "{what}: '{kind}' recipients are not supported; evidentia encrypts only to age X25519 \
         keys (age1…, made by `age-keygen` or `evidentia key generate --age`)"
    )]
    UnsupportedRecipient { what: String, kind: String },
    #[error("{what}: no recipients (give at least one age1… key)")]
    NoRecipients { what: String },
    #[error("{what}: {count} recipients; at most {max} are supported")]
    TooManyRecipients {
        what: String,
        count: usize,
        max: usize,
    },
    #[error("identity file {path}: {why}")]
    BadIdentityFile { path: PathBuf, why: String },
    #[error(
        "identity file {path}: wrong passphrase (it is protected with `age -p`; give the \
         passphrase it was made with)"
    )]
    WrongPassphrase { path: PathBuf },
    #[error(
        "{what}: none of the identities in {identities} can decrypt it (it was encrypted to \
         other keys); give the identity of one of its recipients"
    )]
    NotARecipient { what: String, identities: PathBuf },
    #[error("{what}: not a well-formed age v1 file: {why}")]
    Malformed { what: String, why: String },
    #[error("{what}: the age ciphertext is damaged or truncated: {why}")]
    Damaged { what: String, why: String },
    #[error(
        "{what}: decrypted plaintext does not match the record: {field} is {found}, the \
         record says {expected}"
    )]
    PlaintextMismatch {
        what: String,
        field: &'static str,
        expected: String,
        found: String,
    },
    #[error(
        "{what}: the opening does not open the record's commitment (the record names \
         {commitment}); it was made for other content"
    )]
    OpeningMismatch { what: String, commitment: String },
    #[error("{what}: {size} bytes is more than the {max} bytes allowed here")]
    TooLarge { what: String, size: u64, max: u64 },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Read {
        what: String,
        #[source]
        source: Box<crate::Error>,
    },
}

pub type Result<T, E = CryptError> = std::result::Result<T, E>;

pub(crate) fn io_error(what: &str) -> impl FnOnce(std::io::Error) -> CryptError + '_ {
    move |source| CryptError::Io {
        what: what.to_string(),
        source,
    }
}

#[cfg(test)]
mod vectors_tests;
