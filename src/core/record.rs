//! Records: the events kept in the log, each one canonical CBOR (docs/FORMAT.md, "Records").
//!
//! Every record is a map with small unsigned-integer keys. Keys 0–2 are common to all kinds:
//! 0 = kind (text), 1 = salt (16 random bytes, so a record's hash reveals nothing about a
//! record that is not disclosed), 2 = recorded-at (canonical timestamp). The kind decides the
//! other keys. New kinds can be added without touching existing ones; a verifier that meets a
//! kind it does not know still checks its encoding, hash and place in the tree.

use ciborium::value::Value;
use thiserror::Error;

use super::cbor::{self, as_uint, uint, CborError};
use super::digest::{Digest, DIGEST_LEN};
use super::path::{self, PathError};
use super::timestamp::{Timestamp, TimestampError};

pub const SALT_LEN: usize = 16;
pub const KIND_DOCUMENT: &str = "document";

const KEY_KIND: u64 = 0;
const KEY_SALT: u64 = 1;
const KEY_RECORDED_AT: u64 = 2;
const KEY_CONTENT: u64 = 3;
const KEY_SIZE: u64 = 4;
const KEY_MEDIA_TYPE: u64 = 5;
const KEY_PATH: u64 = 6;
const KEY_ORIGINAL_NAME: u64 = 7;
const KEY_SOURCE_URL: u64 = 8;
const KEY_COLLECTED_AT: u64 = 9;
const KEY_COLLECTOR: u64 = 10;
const KEY_TOOL: u64 = 11;
const KEY_NOTE: u64 = 12;
const KEY_TAGS: u64 = 13;

/// Longest free-text field (note) in bytes; other text fields are limited to 4 KiB.
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
}

/// How and by whom a document was collected (Berkeley Protocol collection record).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collection {
    pub source_url: Option<String>,
    pub collected_at: Option<Timestamp>,
    pub collector: Option<String>,
    pub tool: Option<String>,
    pub note: Option<String>,
    pub tags: Vec<String>,
}

/// A document: content stored as an object, plus where it sits and how it was collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    pub salt: [u8; SALT_LEN],
    pub recorded_at: Timestamp,
    pub content: Digest,
    pub size: u64,
    pub media_type: String,
    pub path: String,
    pub original_name: String,
    pub collection: Collection,
}

/// Any record the log can hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Document(Box<DocumentRecord>),
    /// A kind this version does not interpret; its encoding and place in the tree still verify.
    Unknown {
        kind: String,
        salt: [u8; SALT_LEN],
        recorded_at: Timestamp,
    },
}

impl Record {
    pub fn kind(&self) -> &str {
        match self {
            Record::Document(_) => KIND_DOCUMENT,
            Record::Unknown { kind, .. } => kind,
        }
    }

    pub fn recorded_at(&self) -> Timestamp {
        match self {
            Record::Document(d) => d.recorded_at,
            Record::Unknown { recorded_at, .. } => *recorded_at,
        }
    }

    /// Parses canonical bytes, checking every field.
    pub fn decode(bytes: &[u8]) -> Result<Record, RecordError> {
        let value = cbor::decode(bytes)?;
        let Value::Map(entries) = value else {
            return Err(RecordError::NotAMap);
        };
        let mut fields = Fields::new(entries)?;
        let kind = fields.text(KEY_KIND, "kind", MAX_FIELD_LEN)?;
        let salt = fields.salt()?;
        let recorded_at = fields.timestamp(KEY_RECORDED_AT, "recorded-at")?;
        match kind.as_str() {
            KIND_DOCUMENT => DocumentRecord::decode_rest(salt, recorded_at, &mut fields)
                .map(|doc| Record::Document(Box::new(doc))),
            _ => Ok(Record::Unknown {
                kind,
                salt,
                recorded_at,
            }),
        }
    }
}

impl DocumentRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut entries = vec![
            (uint(KEY_KIND), Value::Text(KIND_DOCUMENT.into())),
            (uint(KEY_SALT), Value::Bytes(self.salt.to_vec())),
            (
                uint(KEY_RECORDED_AT),
                Value::Text(self.recorded_at.to_string()),
            ),
            (uint(KEY_CONTENT), Value::Bytes(self.content.0.to_vec())),
            (uint(KEY_SIZE), uint(self.size)),
            (uint(KEY_MEDIA_TYPE), Value::Text(self.media_type.clone())),
            (uint(KEY_PATH), Value::Text(self.path.clone())),
            (
                uint(KEY_ORIGINAL_NAME),
                Value::Text(self.original_name.clone()),
            ),
        ];
        let c = &self.collection;
        let optional = [
            (KEY_SOURCE_URL, c.source_url.clone()),
            (KEY_COLLECTED_AT, c.collected_at.map(|t| t.to_string())),
            (KEY_COLLECTOR, c.collector.clone()),
            (KEY_TOOL, c.tool.clone()),
            (KEY_NOTE, c.note.clone()),
        ];
        for (key, text) in optional {
            if let Some(text) = text {
                entries.push((uint(key), Value::Text(text)));
            }
        }
        if !c.tags.is_empty() {
            let tags = c.tags.iter().cloned().map(Value::Text).collect();
            entries.push((uint(KEY_TAGS), Value::Array(tags)));
        }
        // Every value built here is allowed by the profile, so encoding cannot fail.
        cbor::encode(&Value::Map(entries)).unwrap_or_default()
    }

    /// Checks the fields a caller supplied, as decoding would. Call before encoding new records.
    pub fn validate(&self) -> Result<(), RecordError> {
        let bytes = self.encode();
        match Record::decode(&bytes)? {
            Record::Document(decoded) if *decoded == *self => Ok(()),
            _ => Err(RecordError::Invalid {
                key: KEY_KIND,
                name: "kind",
                why: "record does not survive a round trip".into(),
            }),
        }
    }

    fn decode_rest(
        salt: [u8; SALT_LEN],
        recorded_at: Timestamp,
        fields: &mut Fields,
    ) -> Result<DocumentRecord, RecordError> {
        let content = fields.digest(KEY_CONTENT, "content")?;
        let size = fields.uint(KEY_SIZE, "size")?;
        let media_type = fields.text(KEY_MEDIA_TYPE, "media-type", MAX_FIELD_LEN)?;
        check_media_type(&media_type)?;
        let logical = fields.text(KEY_PATH, "path", path::MAX_PATH_LEN)?;
        path::check(&logical).map_err(|source| RecordError::Path {
            path: logical.clone(),
            source,
        })?;
        let original_name = fields.text(KEY_ORIGINAL_NAME, "original-name", MAX_FIELD_LEN)?;
        let collection = Collection {
            source_url: fields.opt_text(KEY_SOURCE_URL, "source-url", MAX_FIELD_LEN)?,
            collected_at: fields.opt_timestamp(KEY_COLLECTED_AT, "collected-at")?,
            collector: fields.opt_text(KEY_COLLECTOR, "collector", MAX_FIELD_LEN)?,
            tool: fields.opt_text(KEY_TOOL, "tool", MAX_FIELD_LEN)?,
            note: fields.opt_text(KEY_NOTE, "note", MAX_NOTE_LEN)?,
            tags: fields.tags()?,
        };
        fields.finish(KIND_DOCUMENT)?;
        Ok(DocumentRecord {
            salt,
            recorded_at,
            content,
            size,
            media_type,
            path: logical,
            original_name,
            collection,
        })
    }
}

fn check_media_type(media_type: &str) -> Result<(), RecordError> {
    let well_formed = media_type
        .split_once('/')
        .is_some_and(|(t, s)| !t.is_empty() && !s.is_empty() && !s.contains('/'))
        && !media_type
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    if well_formed {
        Ok(())
    } else {
        Err(RecordError::Invalid {
            key: KEY_MEDIA_TYPE,
            name: "media-type",
            why: format!("'{media_type}' is not a type/subtype media type"),
        })
    }
}

/// The fields of a record map, taken out one by one so that leftovers can be refused.
struct Fields {
    entries: Vec<(u64, Value)>,
}

impl Fields {
    fn new(entries: Vec<(Value, Value)>) -> Result<Fields, RecordError> {
        let mut out = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let Some(k) = as_uint(&key) else {
                return Err(RecordError::BadKey {
                    key: format!("{key:?}"),
                });
            };
            out.push((k, value));
        }
        Ok(Fields { entries: out })
    }

    fn take(&mut self, key: u64) -> Option<Value> {
        let at = self.entries.iter().position(|(k, _)| *k == key)?;
        Some(self.entries.remove(at).1)
    }

    fn require(&mut self, key: u64, name: &'static str) -> Result<Value, RecordError> {
        self.take(key).ok_or(RecordError::Missing { key, name })
    }

    fn invalid(key: u64, name: &'static str, why: impl Into<String>) -> RecordError {
        RecordError::Invalid {
            key,
            name,
            why: why.into(),
        }
    }

    fn text(&mut self, key: u64, name: &'static str, max: usize) -> Result<String, RecordError> {
        let value = self.require(key, name)?;
        check_text(key, name, value, max)
    }

    fn opt_text(
        &mut self,
        key: u64,
        name: &'static str,
        max: usize,
    ) -> Result<Option<String>, RecordError> {
        self.take(key)
            .map(|value| check_text(key, name, value, max))
            .transpose()
    }

    fn uint(&mut self, key: u64, name: &'static str) -> Result<u64, RecordError> {
        let value = self.require(key, name)?;
        as_uint(&value).ok_or_else(|| Self::invalid(key, name, "expected an unsigned integer"))
    }

    fn digest(&mut self, key: u64, name: &'static str) -> Result<Digest, RecordError> {
        match self.require(key, name)? {
            Value::Bytes(b) => Digest::from_slice(&b)
                .ok_or_else(|| Self::invalid(key, name, format!("expected {DIGEST_LEN} bytes"))),
            _ => Err(Self::invalid(key, name, "expected a byte string")),
        }
    }

    fn salt(&mut self) -> Result<[u8; SALT_LEN], RecordError> {
        match self.require(KEY_SALT, "salt")? {
            Value::Bytes(b) => <[u8; SALT_LEN]>::try_from(b.as_slice())
                .map_err(|_| Self::invalid(KEY_SALT, "salt", format!("expected {SALT_LEN} bytes"))),
            _ => Err(Self::invalid(KEY_SALT, "salt", "expected a byte string")),
        }
    }

    fn timestamp(&mut self, key: u64, name: &'static str) -> Result<Timestamp, RecordError> {
        let text = self.text(key, name, 64)?;
        Ok(Timestamp::parse_canonical(&text)?)
    }

    fn opt_timestamp(
        &mut self,
        key: u64,
        name: &'static str,
    ) -> Result<Option<Timestamp>, RecordError> {
        match self.opt_text(key, name, 64)? {
            Some(text) => Ok(Some(Timestamp::parse_canonical(&text)?)),
            None => Ok(None),
        }
    }

    fn tags(&mut self) -> Result<Vec<String>, RecordError> {
        let Some(value) = self.take(KEY_TAGS) else {
            return Ok(Vec::new());
        };
        let Value::Array(items) = value else {
            return Err(Self::invalid(KEY_TAGS, "tags", "expected an array"));
        };
        if items.is_empty() || items.len() > MAX_TAGS {
            return Err(Self::invalid(
                KEY_TAGS,
                "tags",
                format!("expected 1 to {MAX_TAGS} tags (omit the field when there are none)"),
            ));
        }
        items
            .into_iter()
            .map(|item| {
                let tag = check_text(KEY_TAGS, "tags", item, 256)?;
                if tag.chars().any(char::is_whitespace) {
                    return Err(Self::invalid(KEY_TAGS, "tags", "a tag contains whitespace"));
                }
                Ok(tag)
            })
            .collect()
    }

    fn finish(&self, kind: &str) -> Result<(), RecordError> {
        match self.entries.first() {
            Some((key, _)) => Err(RecordError::UnknownField {
                key: *key,
                kind: kind.to_string(),
            }),
            None => Ok(()),
        }
    }
}

fn check_text(
    key: u64,
    name: &'static str,
    value: Value,
    max: usize,
) -> Result<String, RecordError> {
    let Value::Text(text) = value else {
        return Err(Fields::invalid(key, name, "expected a text string"));
    };
    if text.is_empty() {
        return Err(Fields::invalid(
            key,
            name,
            "empty text (omit the field instead)",
        ));
    }
    if text.len() > max {
        return Err(Fields::invalid(
            key,
            name,
            format!("longer than {max} bytes"),
        ));
    }
    // Newlines and tabs are allowed only in the free-text note.
    let allows_layout = key == KEY_NOTE;
    if text
        .chars()
        .any(|c| c.is_control() && !(allows_layout && (c == '\n' || c == '\t')))
    {
        return Err(Fields::invalid(key, name, "contains a control character"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> DocumentRecord {
        DocumentRecord {
            salt: [7; SALT_LEN],
            recorded_at: Timestamp::parse_canonical("2026-11-22T10:00:00Z").unwrap(),
            content: Digest::of(b"hello"),
            size: 5,
            media_type: "text/plain".into(),
            path: "case/hello.txt".into(),
            original_name: "hello.txt".into(),
            collection: Collection {
                source_url: Some("https://example.org/a".into()),
                collected_at: Some(Timestamp::parse_canonical("2026-11-01T09:30:00Z").unwrap()),
                collector: Some("Analyst A".into()),
                tool: None,
                note: Some("line one\nline two".into()),
                tags: vec!["news".into(), "belarus".into()],
            },
        }
    }

    #[test]
    fn document_round_trips() {
        let doc = sample();
        doc.validate().unwrap();
        let bytes = doc.encode();
        assert_eq!(
            Record::decode(&bytes).unwrap(),
            Record::Document(Box::new(doc))
        );
    }

    #[test]
    fn refuses_bad_fields() {
        let mut doc = sample();
        doc.path = "../escape".into();
        assert!(matches!(doc.validate(), Err(RecordError::Path { .. })));
        let mut doc = sample();
        doc.media_type = "text plain".into();
        assert!(matches!(doc.validate(), Err(RecordError::Invalid { .. })));
        let mut doc = sample();
        doc.collection.collector = Some(String::new());
        assert!(matches!(doc.validate(), Err(RecordError::Invalid { .. })));
    }

    proptest::proptest! {
        /// Random and mutated bytes never panic the decoder, and whatever it accepts is
        /// canonical: it re-encodes to the same bytes.
        #[test]
        fn decoding_never_panics_and_accepts_only_canonical(
            random in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            at in proptest::prelude::any::<usize>(),
            byte in proptest::prelude::any::<u8>(),
        ) {
            let _ = Record::decode(&random);
            let mut mutated = sample().encode();
            let i = at % mutated.len();
            mutated[i] = byte;
            if let Ok(Record::Document(doc)) = Record::decode(&mutated) {
                proptest::prop_assert_eq!(doc.encode(), mutated);
            }
            let mut truncated = sample().encode();
            truncated.truncate(i);
            proptest::prop_assert!(Record::decode(&truncated).is_err());
        }
    }

    #[test]
    fn unknown_kind_is_kept_opaque() {
        let value = Value::Map(vec![
            (uint(0), Value::Text("custody".into())),
            (uint(1), Value::Bytes(vec![0; SALT_LEN])),
            (uint(2), Value::Text("2026-11-22T10:00:00Z".into())),
            (uint(3), Value::Text("anything".into())),
        ]);
        let bytes = cbor::encode(&value).unwrap();
        assert!(matches!(Record::decode(&bytes), Ok(Record::Unknown { .. })));
    }
}
