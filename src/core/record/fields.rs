//! Reading and writing the fields of a record map.

use ciborium::value::Value;

use super::RecordError;
use crate::core::cbor::{as_uint, uint};
use crate::core::digest::{Digest, DIGEST_LEN};
use crate::core::timestamp::Timestamp;

/// Builds the kind-specific entries of a record map.
#[derive(Default)]
pub(crate) struct Entries(pub Vec<(Value, Value)>);

impl Entries {
    pub fn text(&mut self, key: u64, text: &str) -> &mut Self {
        self.0.push((uint(key), Value::Text(text.to_string())));
        self
    }

    pub fn opt_text(&mut self, key: u64, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.text(key, text);
        }
        self
    }

    pub fn uint(&mut self, key: u64, n: u64) -> &mut Self {
        self.0.push((uint(key), uint(n)));
        self
    }

    pub fn bytes(&mut self, key: u64, bytes: &[u8]) -> &mut Self {
        self.0.push((uint(key), Value::Bytes(bytes.to_vec())));
        self
    }

    pub fn digest(&mut self, key: u64, digest: &Digest) -> &mut Self {
        self.bytes(key, digest.as_bytes())
    }

    pub fn opt_timestamp(&mut self, key: u64, ts: Option<Timestamp>) -> &mut Self {
        if let Some(ts) = ts {
            self.text(key, &ts.to_string());
        }
        self
    }

    /// An array of text, omitted when empty.
    pub fn texts(&mut self, key: u64, items: &[String]) -> &mut Self {
        if !items.is_empty() {
            let values = items.iter().cloned().map(Value::Text).collect();
            self.0.push((uint(key), Value::Array(values)));
        }
        self
    }

    pub fn value(&mut self, key: u64, value: Value) -> &mut Self {
        self.0.push((uint(key), value));
        self
    }
}

/// The fields of a record map, taken out one by one so that leftovers can be refused.
pub(crate) struct Fields {
    entries: Vec<(u64, Value)>,
}

pub(crate) fn invalid(key: u64, name: &'static str, why: impl Into<String>) -> RecordError {
    RecordError::Invalid {
        key,
        name,
        why: why.into(),
    }
}

impl Fields {
    pub fn new(entries: Vec<(Value, Value)>) -> Result<Fields, RecordError> {
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

    pub fn take(&mut self, key: u64) -> Option<Value> {
        let at = self.entries.iter().position(|(k, _)| *k == key)?;
        Some(self.entries.remove(at).1)
    }

    pub fn require(&mut self, key: u64, name: &'static str) -> Result<Value, RecordError> {
        self.take(key).ok_or(RecordError::Missing { key, name })
    }

    pub fn text(
        &mut self,
        key: u64,
        name: &'static str,
        max: usize,
    ) -> Result<String, RecordError> {
        let value = self.require(key, name)?;
        check_text(key, name, value, max, false)
    }

    /// Free text that may hold newlines and tabs.
    pub fn prose(
        &mut self,
        key: u64,
        name: &'static str,
        max: usize,
    ) -> Result<String, RecordError> {
        let value = self.require(key, name)?;
        check_text(key, name, value, max, true)
    }

    pub fn opt_text(
        &mut self,
        key: u64,
        name: &'static str,
        max: usize,
    ) -> Result<Option<String>, RecordError> {
        self.take(key)
            .map(|value| check_text(key, name, value, max, false))
            .transpose()
    }

    pub fn opt_prose(
        &mut self,
        key: u64,
        name: &'static str,
        max: usize,
    ) -> Result<Option<String>, RecordError> {
        self.take(key)
            .map(|value| check_text(key, name, value, max, true))
            .transpose()
    }

    pub fn uint(&mut self, key: u64, name: &'static str) -> Result<u64, RecordError> {
        let value = self.require(key, name)?;
        as_uint(&value).ok_or_else(|| invalid(key, name, "expected an unsigned integer"))
    }

    pub fn digest(&mut self, key: u64, name: &'static str) -> Result<Digest, RecordError> {
        let value = self.require(key, name)?;
        as_digest(key, name, value)
    }

    pub fn opt_bytes(
        &mut self,
        key: u64,
        name: &'static str,
    ) -> Result<Option<Vec<u8>>, RecordError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Bytes(b)) => Ok(Some(b)),
            Some(_) => Err(invalid(key, name, "expected a byte string")),
        }
    }

    pub fn salt(&mut self, key: u64) -> Result<[u8; super::SALT_LEN], RecordError> {
        match self.require(key, "salt")? {
            Value::Bytes(b) => <[u8; super::SALT_LEN]>::try_from(b.as_slice())
                .map_err(|_| invalid(key, "salt", format!("expected {} bytes", super::SALT_LEN))),
            _ => Err(invalid(key, "salt", "expected a byte string")),
        }
    }

    pub fn timestamp(&mut self, key: u64, name: &'static str) -> Result<Timestamp, RecordError> {
        let text = self.text(key, name, 64)?;
        Ok(Timestamp::parse_canonical(&text)?)
    }

    pub fn opt_timestamp(
        &mut self,
        key: u64,
        name: &'static str,
    ) -> Result<Option<Timestamp>, RecordError> {
        match self.opt_text(key, name, 64)? {
            Some(text) => Ok(Some(Timestamp::parse_canonical(&text)?)),
            None => Ok(None),
        }
    }

    /// An optional, non-empty array of at most `max` items.
    pub fn opt_array(
        &mut self,
        key: u64,
        name: &'static str,
        max: usize,
    ) -> Result<Vec<Value>, RecordError> {
        let Some(value) = self.take(key) else {
            return Ok(Vec::new());
        };
        let Value::Array(items) = value else {
            return Err(invalid(key, name, "expected an array"));
        };
        if items.is_empty() || items.len() > max {
            return Err(invalid(
                key,
                name,
                format!("expected 1 to {max} items (omit the field when there are none)"),
            ));
        }
        Ok(items)
    }

    /// Tags: an optional array of 1..=256 non-empty texts without whitespace.
    pub fn tags(&mut self, key: u64) -> Result<Vec<String>, RecordError> {
        self.opt_array(key, "tags", super::MAX_TAGS)?
            .into_iter()
            .map(|item| {
                let tag = check_text(key, "tags", item, 256, false)?;
                if tag.chars().any(char::is_whitespace) {
                    return Err(invalid(key, "tags", "a tag contains whitespace"));
                }
                Ok(tag)
            })
            .collect()
    }

    /// Refuses any field the kind did not take.
    pub fn finish(&self, kind: &str) -> Result<(), RecordError> {
        match self.entries.first() {
            Some((key, _)) => Err(RecordError::UnknownField {
                key: *key,
                kind: kind.to_string(),
            }),
            None => Ok(()),
        }
    }
}

pub(crate) fn as_digest(key: u64, name: &'static str, value: Value) -> Result<Digest, RecordError> {
    match value {
        Value::Bytes(b) => Digest::from_slice(&b)
            .ok_or_else(|| invalid(key, name, format!("expected {DIGEST_LEN} bytes"))),
        _ => Err(invalid(key, name, "expected a byte string")),
    }
}

/// Checks a text value: non-empty, at most `max` bytes, no control characters (newlines and
/// tabs allowed only when `multiline`).
pub(crate) fn check_text(
    key: u64,
    name: &'static str,
    value: Value,
    max: usize,
    multiline: bool,
) -> Result<String, RecordError> {
    let Value::Text(text) = value else {
        return Err(invalid(key, name, "expected a text string"));
    };
    if text.is_empty() {
        return Err(invalid(key, name, "empty text (omit the field instead)"));
    }
    if text.len() > max {
        return Err(invalid(key, name, format!("longer than {max} bytes")));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')))
    {
        return Err(invalid(key, name, "contains a control character"));
    }
    Ok(text)
}
