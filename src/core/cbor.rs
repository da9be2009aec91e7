//! The canonical CBOR profile (docs/FORMAT.md, "Canonical CBOR").
//!
//! Records are CBOR (RFC 8949) restricted to: unsigned and negative integers, byte strings,
//! text strings, arrays and maps, all with definite lengths and the shortest possible heads;
//! map keys unique and sorted by their encoded bytes (RFC 8949 §4.2.1). No tags, floats,
//! `null`, `undefined` or booleans. Decoding re-encodes the value and requires the same bytes,
//! so any second encoding of the same value is refused.

use ciborium::value::{Integer, Value};
use thiserror::Error;

/// Largest record accepted, in bytes. Records hold metadata, never content.
pub const MAX_ENCODED_LEN: usize = 1 << 20;
/// Deepest nesting of arrays and maps accepted.
pub const MAX_DEPTH: usize = 16;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CborError {
    #[error("record is {len} bytes, more than the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("not well-formed CBOR: {detail}")]
    Malformed { detail: String },
    #[error("{trailing} bytes follow the CBOR item")]
    TrailingBytes { trailing: usize },
    #[error("CBOR nesting deeper than {max} levels")]
    TooDeep { max: usize },
    #[error("CBOR {what} is not allowed by the canonical profile")]
    Forbidden { what: &'static str },
    #[error("map has a duplicate key")]
    DuplicateKey,
    #[error("encoding is not canonical (indefinite length, long-form head or unsorted map keys)")]
    NotCanonical,
}

/// Encodes `value` canonically: map entries are sorted by encoded key bytes.
///
/// Panics never; values that the profile forbids are rejected with an error.
pub fn encode(value: &Value) -> Result<Vec<u8>, CborError> {
    let canonical = canonicalize(value, 0)?;
    let mut out = Vec::new();
    ciborium::ser::into_writer(&canonical, &mut out).map_err(|e| CborError::Malformed {
        detail: e.to_string(),
    })?;
    Ok(out)
}

/// Decodes bytes that must be the canonical encoding of one value.
pub fn decode(bytes: &[u8]) -> Result<Value, CborError> {
    if bytes.len() > MAX_ENCODED_LEN {
        return Err(CborError::TooLarge {
            len: bytes.len(),
            max: MAX_ENCODED_LEN,
        });
    }
    let mut cursor = std::io::Cursor::new(bytes);
    // The recursion limit stops hostile nesting before it can exhaust the stack.
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut cursor, MAX_DEPTH + 1)
        .map_err(|e| match e {
        ciborium::de::Error::RecursionLimitExceeded => CborError::TooDeep { max: MAX_DEPTH },
        other => CborError::Malformed {
            detail: other.to_string(),
        },
    })?;
    let consumed = usize::try_from(cursor.position()).unwrap_or(usize::MAX);
    if consumed != bytes.len() {
        return Err(CborError::TrailingBytes {
            trailing: bytes.len().saturating_sub(consumed),
        });
    }
    if encode(&value)? != bytes {
        return Err(CborError::NotCanonical);
    }
    Ok(value)
}

fn canonicalize(value: &Value, depth: usize) -> Result<Value, CborError> {
    if depth > MAX_DEPTH {
        return Err(CborError::TooDeep { max: MAX_DEPTH });
    }
    Ok(match value {
        Value::Integer(i) => {
            // ciborium turns bignum tags (2, 3) into integers and writes integers beyond the
            // 64-bit heads back as bignums; the profile has no tags, so refuse that range.
            let n = i128::from(*i);
            if n > i128::from(u64::MAX) || n < -(1i128 << 64) {
                return Err(CborError::Forbidden {
                    what: "tag (bignum)",
                });
            }
            Value::Integer(*i)
        }
        Value::Bytes(b) => Value::Bytes(b.clone()),
        Value::Text(t) => Value::Text(t.clone()),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| canonicalize(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(entries) => {
            let mut keyed = Vec::with_capacity(entries.len());
            for (key, val) in entries {
                let key = canonicalize(key, depth + 1)?;
                let mut key_bytes = Vec::new();
                ciborium::ser::into_writer(&key, &mut key_bytes).map_err(|e| {
                    CborError::Malformed {
                        detail: e.to_string(),
                    }
                })?;
                keyed.push((key_bytes, key, canonicalize(val, depth + 1)?));
            }
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            if keyed.windows(2).any(|pair| pair[0].0 == pair[1].0) {
                return Err(CborError::DuplicateKey);
            }
            Value::Map(keyed.into_iter().map(|(_, k, v)| (k, v)).collect())
        }
        Value::Float(_) => return Err(CborError::Forbidden { what: "float" }),
        Value::Bool(_) => return Err(CborError::Forbidden { what: "boolean" }),
        Value::Null => return Err(CborError::Forbidden { what: "null" }),
        Value::Tag(..) => return Err(CborError::Forbidden { what: "tag" }),
        _ => {
            return Err(CborError::Forbidden {
                what: "simple value",
            })
        }
    })
}

/// An unsigned integer as a CBOR value.
pub fn uint(n: u64) -> Value {
    Value::Integer(Integer::from(n))
}

/// Reads an unsigned integer that fits in u64.
pub fn as_uint(value: &Value) -> Option<u64> {
    match value {
        Value::Integer(i) => u64::try_from(*i).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: Vec<(u64, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (uint(k), v)).collect())
    }

    #[test]
    fn sorts_keys_and_round_trips() {
        let value = map(vec![(10, uint(1)), (2, Value::Text("a".into()))]);
        let bytes = encode(&value).unwrap();
        assert_eq!(bytes, vec![0xa2, 0x02, 0x61, b'a', 0x0a, 0x01]);
        assert_eq!(
            decode(&bytes).unwrap(),
            map(vec![(2, Value::Text("a".into())), (10, uint(1))])
        );
    }

    #[test]
    fn rejects_non_canonical_forms() {
        // Unsorted keys.
        assert_eq!(
            decode(&[0xa2, 0x0a, 0x01, 0x02, 0x01]),
            Err(CborError::NotCanonical)
        );
        // Long-form integer head: 1 encoded in one extra byte.
        assert_eq!(decode(&[0x18, 0x01]), Err(CborError::NotCanonical));
        // Indefinite-length byte string.
        assert_eq!(
            decode(&[0x5f, 0x41, 0x00, 0xff]),
            Err(CborError::NotCanonical)
        );
        // Duplicate keys.
        assert_eq!(
            decode(&[0xa2, 0x01, 0x01, 0x01, 0x02]),
            Err(CborError::DuplicateKey)
        );
        // Float, tag, null.
        assert!(matches!(
            decode(&[0xf9, 0x3c, 0x00]),
            Err(CborError::Forbidden { .. })
        ));
        assert!(matches!(
            decode(&[0xc1, 0x01]),
            Err(CborError::Forbidden { .. })
        ));
        assert!(matches!(decode(&[0xf6]), Err(CborError::Forbidden { .. })));
        // Trailing bytes and truncation.
        assert_eq!(
            decode(&[0x01, 0x01]),
            Err(CborError::TrailingBytes { trailing: 1 })
        );
        assert!(matches!(
            decode(&[0x62, b'a']),
            Err(CborError::Malformed { .. })
        ));
    }

    #[test]
    fn rejects_deep_nesting_without_overflow() {
        let bytes = vec![0x81u8; 100_000];
        assert!(matches!(decode(&bytes), Err(CborError::TooDeep { .. })));
    }
}
