//! Records: the events kept in the log, each one canonical CBOR (docs/FORMAT.md, "Records").
//!
//! Every record is a map with small unsigned-integer keys. Keys 0–2 are common to all kinds:
//! 0 = kind (text), 1 = salt (16 random bytes, so a record's hash reveals nothing about a
//! record that is not disclosed), 2 = recorded-at (canonical timestamp). The kind decides the
//! other keys. New kinds can be added without touching existing ones; a verifier that meets a
//! kind it does not know still checks its encoding, hash and place in the tree.

mod annotation;
mod case;
mod custody;
mod document;
mod encryption;
mod fields;
mod key_event;
mod metadata;
mod retraction;
mod sealed;

use ciborium::value::Value;
use thiserror::Error;

pub use annotation::{
    AnnotationRecord, Link, Relation, Selector, MAX_LINKS, MAX_SELECTORS, RELATIONS,
};
pub use case::{title_problem, CaseRecord, MAX_TITLE_LEN};
pub use custody::{
    CustodyEvent, CustodyRecord, CUSTODY_EVENTS, MAX_TARGETS as MAX_CUSTODY_TARGETS,
};
pub use document::{Collection, DocumentRecord};
pub use encryption::{
    EncryptionInfo, PlaintextBinding, RecipientsRecord, RewrapRecord, KIND_RECIPIENTS, KIND_REWRAP,
};
pub use key_event::{endorsement_message as key_event_message, KeyAction, KeyRecord};
pub use metadata::MetadataRecord;
pub use retraction::RetractionRecord;
pub use sealed::{HiddenFields, SealedFields, MAX_HIDDEN_LEN};

use super::cbor::{self, CborError};
use super::path::PathError;
use super::timestamp::{Timestamp, TimestampError};
use fields::Fields;

pub const SALT_LEN: usize = 16;
pub const KIND_DOCUMENT: &str = "document";
pub const KIND_ANNOTATION: &str = "annotation";
pub const KIND_RETRACTION: &str = "retraction";
pub const KIND_CUSTODY: &str = "custody";
pub const KIND_KEY: &str = "key";
pub const KIND_METADATA: &str = "metadata";
pub const KIND_CASE: &str = "case";

pub(crate) const KEY_KIND: u64 = 0;
pub(crate) const KEY_SALT: u64 = 1;
pub(crate) const KEY_RECORDED_AT: u64 = 2;

/// Longest free-text field (notes, annotation bodies) in bytes; other text fields are limited
/// to 4 KiB.
pub const MAX_NOTE_LEN: usize = 65536;
pub const MAX_FIELD_LEN: usize = 4096;
pub const MAX_TAGS: usize = 256;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum RecordError {
    #[error(transparent)]
    Cbor(#[from] CborError),
    #[error("a record must be a CBOR map")]
    NotAMap,
    #[error("map key {key} is not an unsigned integer below 2^64")]
    BadKey { key: String },
    #[error("required field {key} ({name}) is missing")]
    Missing { key: u64, name: &'static str },
    #[error("field {key} ({name}) has the wrong type or value: {why}")]
    Invalid {
        key: u64,
        name: &'static str,
        why: String,
    },
    #[error("field {key} is not defined for '{kind}' records")]
    UnknownField { key: u64, kind: String },
    #[error("logical path '{path}': {source}")]
    Path { path: String, source: PathError },
    #[error(transparent)]
    Timestamp(#[from] TimestampError),
    #[error("a '{kind}' record cannot be encoded by this version")]
    NotEncodable { kind: String },
}

/// The fields every record has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub salt: [u8; SALT_LEN],
    pub recorded_at: Timestamp,
}

impl Header {
    /// A fresh header: random salt, the current time.
    pub fn now() -> Header {
        let mut salt = [0u8; SALT_LEN];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
        Header {
            salt,
            recorded_at: Timestamp::now(),
        }
    }
}

/// Any record the log can hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Document(Box<DocumentRecord>),
    Annotation(Box<AnnotationRecord>),
    Retraction(Box<RetractionRecord>),
    Custody(Box<CustodyRecord>),
    Key(Box<KeyRecord>),
    Metadata(Box<MetadataRecord>),
    Case(Box<CaseRecord>),
    Recipients(Box<RecipientsRecord>),
    Rewrap(Box<RewrapRecord>),
    /// A kind this version does not interpret; its encoding and place in the tree still verify.
    Unknown {
        kind: String,
        header: Header,
    },
}

impl Record {
    pub fn kind(&self) -> &str {
        match self {
            Record::Document(_) => KIND_DOCUMENT,
            Record::Annotation(_) => KIND_ANNOTATION,
            Record::Retraction(_) => KIND_RETRACTION,
            Record::Custody(_) => KIND_CUSTODY,
            Record::Key(_) => KIND_KEY,
            Record::Metadata(_) => KIND_METADATA,
            Record::Case(_) => KIND_CASE,
            Record::Recipients(_) => KIND_RECIPIENTS,
            Record::Rewrap(_) => KIND_REWRAP,
            Record::Unknown { kind, .. } => kind,
        }
    }

    pub fn header(&self) -> Header {
        match self {
            Record::Document(r) => r.header,
            Record::Annotation(r) => r.header,
            Record::Retraction(r) => r.header,
            Record::Custody(r) => r.header,
            Record::Key(r) => r.header,
            Record::Metadata(r) => r.header,
            Record::Case(r) => r.header,
            Record::Recipients(r) => r.header,
            Record::Rewrap(r) => r.header,
            Record::Unknown { header, .. } => *header,
        }
    }

    pub fn recorded_at(&self) -> Timestamp {
        self.header().recorded_at
    }

    /// The canonical bytes of a record of a known kind.
    pub fn encode(&self) -> Result<Vec<u8>, RecordError> {
        let entries = match self {
            Record::Document(r) => r.entries(),
            Record::Annotation(r) => r.entries(),
            Record::Retraction(r) => r.entries(),
            Record::Custody(r) => r.entries(),
            Record::Key(r) => r.entries(),
            Record::Metadata(r) => r.entries(),
            Record::Case(r) => r.entries(),
            Record::Recipients(r) => r.entries(),
            Record::Rewrap(r) => r.entries(),
            Record::Unknown { kind, .. } => {
                return Err(RecordError::NotEncodable { kind: kind.clone() })
            }
        };
        let mut all = vec![
            (cbor::uint(KEY_KIND), Value::Text(self.kind().to_string())),
            (
                cbor::uint(KEY_SALT),
                Value::Bytes(self.header().salt.to_vec()),
            ),
            (
                cbor::uint(KEY_RECORDED_AT),
                Value::Text(self.header().recorded_at.to_string()),
            ),
        ];
        all.extend(entries);
        Ok(cbor::encode(&Value::Map(all))?)
    }

    /// Encodes a new record and checks it exactly as a verifier will decode it, so that a
    /// record the archive writes can never fail verification later.
    pub fn encode_checked(&self) -> Result<Vec<u8>, RecordError> {
        let bytes = self.encode()?;
        if Record::decode(&bytes)? != *self {
            return Err(RecordError::Invalid {
                key: KEY_KIND,
                name: "kind",
                why: "the record does not survive a round trip".into(),
            });
        }
        Ok(bytes)
    }

    /// Parses canonical bytes, checking every field.
    pub fn decode(bytes: &[u8]) -> Result<Record, RecordError> {
        let value = cbor::decode(bytes)?;
        let Value::Map(entries) = value else {
            return Err(RecordError::NotAMap);
        };
        let mut fields = Fields::new(entries)?;
        let kind = fields.text(KEY_KIND, "kind", 64)?;
        if !kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(fields::invalid(
                KEY_KIND,
                "kind",
                format!("'{kind}' is not a kind name (lowercase letters, digits and '-')"),
            ));
        }
        let salt = fields.salt(KEY_SALT)?;
        let recorded_at = fields.timestamp(KEY_RECORDED_AT, "recorded-at")?;
        let header = Header { salt, recorded_at };
        let record = match kind.as_str() {
            KIND_DOCUMENT => {
                Record::Document(Box::new(DocumentRecord::decode(header, &mut fields)?))
            }
            KIND_ANNOTATION => {
                Record::Annotation(Box::new(AnnotationRecord::decode(header, &mut fields)?))
            }
            KIND_RETRACTION => {
                Record::Retraction(Box::new(RetractionRecord::decode(header, &mut fields)?))
            }
            KIND_CUSTODY => Record::Custody(Box::new(CustodyRecord::decode(header, &mut fields)?)),
            KIND_KEY => Record::Key(Box::new(KeyRecord::decode(header, &mut fields)?)),
            KIND_METADATA => {
                Record::Metadata(Box::new(MetadataRecord::decode(header, &mut fields)?))
            }
            KIND_CASE => Record::Case(Box::new(CaseRecord::decode(header, &mut fields)?)),
            KIND_RECIPIENTS => Record::Recipients(Box::new(RecipientsRecord::decode_fields(
                header,
                &mut fields,
            )?)),
            KIND_REWRAP => {
                Record::Rewrap(Box::new(RewrapRecord::decode_fields(header, &mut fields)?))
            }
            _ => return Ok(Record::Unknown { kind, header }),
        };
        fields.finish(&kind)?;
        Ok(record)
    }
}

#[cfg(test)]
mod tests;
