//! Encrypted annotation and custody fields (FORMAT.md §23.10): the sensitive fields of a record
//! (an annotation's body, quote and claim; a custody event's note, from and to) moved into an
//! age ciphertext object, the record keeping a `sealed` map that names that object and binds
//! its plaintext.
//!
//! The plaintext is the canonical CBOR of [`HiddenFields`], which starts with a fresh random
//! 32-byte salt known only to recipients: its SHA-256, kept in the signed record, is then a
//! hiding commitment (SHA-256(salt || fields), the same construction as §23.3) that nobody can
//! test guessed texts against, and it binds the fields as firmly as any digest. The plaintext
//! also names the record kind and the targets, so a ciphertext copied under another record is
//! refused by a recipient who decrypts it.

use std::collections::BTreeMap;

use ciborium::value::Value;

use super::annotation::Selector;
use super::fields::{as_digest, invalid, Entries, Fields};
use super::{EncryptionInfo, PlaintextBinding, RecordError, MAX_FIELD_LEN, MAX_NOTE_LEN};
use crate::core::cbor;
use crate::core::digest::Digest;

/// Length of the salt that opens every hidden-fields plaintext.
pub const HIDDEN_SALT_LEN: usize = 32;
/// Largest hidden-fields plaintext (a body, a quote with context and a claim, with room).
pub const MAX_HIDDEN_LEN: u64 = 1 << 20;

// Keys of the `sealed` map in a record.
const SEALED_CONTENT: u64 = 0;
const SEALED_SIZE: u64 = 1;
const SEALED_ENCRYPTION: u64 = 2;

/// The `sealed` map: where the hidden fields are and what their plaintext must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedFields {
    /// SHA-256 and size of the stored age ciphertext object.
    pub content: Digest,
    pub size: u64,
    /// Plaintext size and SHA-256 (always the digest form: the salt inside makes it hiding).
    pub encryption: EncryptionInfo,
}

impl SealedFields {
    /// The SHA-256 of the hidden-fields plaintext.
    pub fn plaintext_digest(&self) -> &Digest {
        self.encryption.binding.anchor()
    }

    pub fn to_value(&self) -> Value {
        let mut e = Entries::default();
        e.digest(SEALED_CONTENT, &self.content)
            .uint(SEALED_SIZE, self.size)
            .value(SEALED_ENCRYPTION, self.encryption.to_value());
        Value::Map(e.0)
    }

    /// Decodes the map found at record key `key`.
    pub fn from_value(value: Value, key: u64) -> Result<SealedFields, RecordError> {
        let Value::Map(entries) = value else {
            return Err(invalid(key, "sealed", "expected a map"));
        };
        let nested = |e: RecordError| invalid(key, "sealed", e.to_string());
        let mut f = Fields::new(entries).map_err(nested)?;
        let content = f.digest(SEALED_CONTENT, "content").map_err(nested)?;
        let size = f.uint(SEALED_SIZE, "size").map_err(nested)?;
        let encryption = EncryptionInfo::from_value(
            f.require(SEALED_ENCRYPTION, "encryption").map_err(nested)?,
            key,
            "sealed",
        )?;
        f.finish("sealed").map_err(nested)?;
        if !matches!(encryption.binding, PlaintextBinding::Digest(_)) {
            return Err(invalid(
                key,
                "sealed",
                "hidden fields are bound by their plaintext SHA-256 (2), never by a commitment with an opening: their plaintext is already salted",
            ));
        }
        if encryption.plaintext_size > MAX_HIDDEN_LEN {
            return Err(invalid(
                key,
                "sealed",
                format!("a hidden-fields plaintext is at most {MAX_HIDDEN_LEN} bytes"),
            ));
        }
        Ok(SealedFields {
            content,
            size,
            encryption,
        })
    }
}

// Keys of the hidden-fields plaintext map.
const HID_SALT: u64 = 0;
const HID_KIND: u64 = 1;
const HID_TARGETS: u64 = 2;
const HID_BODY: u64 = 3;
const HID_QUOTE: u64 = 4;
const HID_CLAIM: u64 = 5;
const HID_NOTE: u64 = 6;
const HID_FROM: u64 = 7;
const HID_TO: u64 = 8;

/// The plaintext of a sealed record's ciphertext: the fields it hides, and what binds them to
/// their record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenFields {
    pub salt: [u8; HIDDEN_SALT_LEN],
    /// The record kind: `annotation` or `custody`.
    pub kind: String,
    /// The record's target documents (an annotation has one).
    pub targets: Vec<Digest>,
    /// Annotation fields.
    pub body: Option<String>,
    pub quote: Option<Selector>,
    pub claim: BTreeMap<String, String>,
    /// Custody fields.
    pub note: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl HiddenFields {
    /// Empty fields for a record of `kind` about `targets`, with a fresh random salt.
    pub fn new(kind: &str, targets: Vec<Digest>) -> HiddenFields {
        let mut salt = [0u8; HIDDEN_SALT_LEN];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
        HiddenFields {
            salt,
            kind: kind.to_string(),
            targets,
            body: None,
            quote: None,
            claim: BTreeMap::new(),
            note: None,
            from: None,
            to: None,
        }
    }

    /// The canonical CBOR plaintext.
    pub fn encode(&self) -> Result<Vec<u8>, RecordError> {
        let mut e = Entries::default();
        e.bytes(HID_SALT, &self.salt).text(HID_KIND, &self.kind);
        let targets = self
            .targets
            .iter()
            .map(|d| Value::Bytes(d.0.to_vec()))
            .collect();
        e.value(HID_TARGETS, Value::Array(targets))
            .opt_text(HID_BODY, self.body.as_deref());
        if let Some(q) = &self.quote {
            e.value(HID_QUOTE, q.to_value());
        }
        if !self.claim.is_empty() {
            e.value(HID_CLAIM, super::annotation::claim_value(&self.claim));
        }
        e.opt_text(HID_NOTE, self.note.as_deref())
            .opt_text(HID_FROM, self.from.as_deref())
            .opt_text(HID_TO, self.to.as_deref());
        Ok(cbor::encode(&Value::Map(e.0))?)
    }

    /// Parses a decrypted plaintext; it must be canonical (re-encoding gives the same bytes).
    pub fn decode(bytes: &[u8]) -> Result<HiddenFields, RecordError> {
        let Value::Map(entries) = cbor::decode(bytes)? else {
            return Err(RecordError::NotAMap);
        };
        let mut f = Fields::new(entries)?;
        let salt = match f.require(HID_SALT, "salt")? {
            Value::Bytes(b) => <[u8; HIDDEN_SALT_LEN]>::try_from(b.as_slice())
                .map_err(|_| invalid(HID_SALT, "salt", "expected 32 bytes"))?,
            _ => return Err(invalid(HID_SALT, "salt", "expected a byte string")),
        };
        let kind = f.text(HID_KIND, "kind", 64)?;
        let targets = f
            .opt_array(HID_TARGETS, "targets", super::MAX_CUSTODY_TARGETS)?
            .into_iter()
            .map(|v| as_digest(HID_TARGETS, "targets", v))
            .collect::<Result<Vec<_>, _>>()?;
        let body = f.opt_prose(HID_BODY, "body", MAX_NOTE_LEN)?;
        let quote = f.take(HID_QUOTE).map(Selector::from_value).transpose()?;
        if quote
            .as_ref()
            .is_some_and(|q| !matches!(q, Selector::TextQuote { .. }))
        {
            return Err(invalid(
                HID_QUOTE,
                "quote",
                "expected a text-quote selector",
            ));
        }
        let claim = super::annotation::decode_claim(f.take(HID_CLAIM))?;
        let fields = HiddenFields {
            salt,
            kind,
            targets,
            body,
            quote,
            claim,
            note: f.opt_prose(HID_NOTE, "note", MAX_NOTE_LEN)?,
            from: f.opt_text(HID_FROM, "from", MAX_FIELD_LEN)?,
            to: f.opt_text(HID_TO, "to", MAX_FIELD_LEN)?,
        };
        f.finish("hidden fields")?;
        if fields.encode()? != bytes {
            return Err(RecordError::Invalid {
                key: HID_SALT,
                name: "hidden fields",
                why: "not in canonical CBOR form".into(),
            });
        }
        Ok(fields)
    }
}

#[cfg(test)]
#[path = "sealed_tests.rs"]
mod tests;
