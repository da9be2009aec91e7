//! Encrypted content in records (docs/FORMAT.md, "Encrypted content"): the `encryption`
//! sub-map that says how a stored ciphertext relates to its plaintext, and the `recipients`
//! and `rewrap` record kinds.
//!
//! Not yet wired into [`super::Record`]: until it is, these kinds read as unknown kinds there.
//! The intended wiring: a document record whose content is encrypted keeps keys 3/4 (content,
//! size) as the stored object, i.e. the ciphertext's SHA-256 and size, so that every storage
//! check (object store, mirror, S3, bundle manifests) works unchanged without a key, and adds
//! key 16 holding an [`EncryptionInfo`].

use ciborium::value::Value;

use super::fields::{as_digest, invalid, Entries, Fields};
use super::{Header, RecordError, KEY_KIND, KEY_RECORDED_AT, KEY_SALT, MAX_NOTE_LEN};
use crate::core::cbor::{self, uint};
use crate::core::digest::Digest;

pub const KIND_RECIPIENTS: &str = "recipients";
pub const KIND_REWRAP: &str = "rewrap";
/// The only scheme: age v1 to X25519 recipients.
pub const SCHEME_AGE_V1: &str = "age-v1";
/// Most keys in a recipients record.
pub const MAX_RECIPIENT_KEYS: usize = crate::crypt::MAX_RECIPIENTS;
/// Largest opening.
pub const MAX_OPENING_LEN: usize = crate::crypt::commitment::MAX_OPENING_LEN;

// Keys of the `encryption` sub-map.
const ENC_SCHEME: u64 = 0;
const ENC_PLAINTEXT_SIZE: u64 = 1;
const ENC_PLAINTEXT_SHA256: u64 = 2;
const ENC_COMMITMENT: u64 = 3;
const ENC_OPENING: u64 = 4;
const ENC_RECIPIENTS: u64 = 5;

/// How a record binds the plaintext of an encrypted object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaintextBinding {
    /// The plaintext's SHA-256, readable by anyone: a recipient checks it with `sha256sum`;
    /// anyone can also test a known file against it.
    Digest(Digest),
    /// A salted commitment; `opening` is the age file (to the same recipients) that holds the
    /// salt and the plaintext digest.
    Committed {
        commitment: Digest,
        opening: Vec<u8>,
    },
}

impl PlaintextBinding {
    /// What two records for the same plaintext must share: the digest, or the commitment
    /// (openings differ between ciphertexts to different recipients).
    pub fn anchor(&self) -> &Digest {
        match self {
            PlaintextBinding::Digest(d) => d,
            PlaintextBinding::Committed { commitment, .. } => commitment,
        }
    }
}

/// The `encryption` sub-map: the plaintext side of an encrypted object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionInfo {
    /// Plaintext size in bytes. Not a secret: age does not pad, so the ciphertext's size
    /// reveals it exactly; a verifier without a key checks the two agree.
    pub plaintext_size: u64,
    pub binding: PlaintextBinding,
    /// Record id of the `recipients` record naming the keys the object was encrypted to: a
    /// claim by the signer, checkable only by each recipient for themselves.
    pub recipients: Option<Digest>,
}

impl EncryptionInfo {
    /// Whether `other` binds the same plaintext (size, kind of binding, digest or commitment):
    /// what a `rewrap` must keep of its target (FORMAT.md §23.5). Openings and the recipients
    /// claim may differ.
    pub fn binds_same_plaintext(&self, other: &EncryptionInfo) -> bool {
        self.plaintext_size == other.plaintext_size
            && self.binding.anchor() == other.binding.anchor()
            && std::mem::discriminant(&self.binding) == std::mem::discriminant(&other.binding)
    }

    pub fn to_value(&self) -> Value {
        let mut e = Entries::default();
        e.text(ENC_SCHEME, SCHEME_AGE_V1)
            .uint(ENC_PLAINTEXT_SIZE, self.plaintext_size);
        match &self.binding {
            PlaintextBinding::Digest(d) => {
                e.digest(ENC_PLAINTEXT_SHA256, d);
            }
            PlaintextBinding::Committed {
                commitment,
                opening,
            } => {
                e.digest(ENC_COMMITMENT, commitment)
                    .bytes(ENC_OPENING, opening);
            }
        }
        if let Some(r) = &self.recipients {
            e.digest(ENC_RECIPIENTS, r);
        }
        Value::Map(e.0)
    }

    /// Decodes the sub-map found at record key `key` (named `name` in errors).
    pub fn from_value(value: Value, key: u64, name: &'static str) -> Result<Self, RecordError> {
        let Value::Map(entries) = value else {
            return Err(invalid(key, name, "expected a map"));
        };
        let mut f =
            Fields::new(entries).map_err(|_| invalid(key, name, "a key is not a number"))?;
        let nested = |e: RecordError| invalid(key, name, e.to_string());
        let scheme = f.text(ENC_SCHEME, "scheme", 64).map_err(nested)?;
        if scheme != SCHEME_AGE_V1 {
            return Err(invalid(
                key,
                name,
                format!("scheme '{scheme}' is not '{SCHEME_AGE_V1}'"),
            ));
        }
        let plaintext_size = f
            .uint(ENC_PLAINTEXT_SIZE, "plaintext-size")
            .map_err(nested)?;
        let digest = f.take(ENC_PLAINTEXT_SHA256);
        let commitment = f.take(ENC_COMMITMENT);
        let opening = f.opt_bytes(ENC_OPENING, "opening").map_err(nested)?;
        let binding =
            match (digest, commitment, opening) {
                (Some(d), None, None) => {
                    PlaintextBinding::Digest(as_digest(key, name, d).map_err(nested)?)
                }
                (None, Some(c), Some(opening)) => {
                    if opening.is_empty() || opening.len() > MAX_OPENING_LEN {
                        return Err(invalid(
                            key,
                            name,
                            format!("the opening must be 1 to {MAX_OPENING_LEN} bytes"),
                        ));
                    }
                    PlaintextBinding::Committed {
                        commitment: as_digest(key, name, c).map_err(nested)?,
                        opening,
                    }
                }
                _ => return Err(invalid(
                    key,
                    name,
                    "needs exactly one of plaintext-sha256 (2) or commitment (3) with opening (4)",
                )),
            };
        let recipients = f
            .take(ENC_RECIPIENTS)
            .map(|v| as_digest(key, name, v))
            .transpose()?;
        f.finish("encryption").map_err(nested)?;
        Ok(EncryptionInfo {
            plaintext_size,
            binding,
            recipients,
        })
    }
}

/// `recipients`: the archive's encryption recipients from now on (replacing any earlier set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientsRecord {
    pub header: Header,
    /// Canonical `age1…` texts, strictly ascending.
    pub recipients: Vec<String>,
    pub reason: Option<String>,
}

const REC_RECIPIENTS: u64 = 3;
const REC_REASON: u64 = 4;

impl RecipientsRecord {
    pub fn entries(&self) -> Vec<(Value, Value)> {
        let mut e = Entries::default();
        let keys = self.recipients.iter().cloned().map(Value::Text).collect();
        e.value(REC_RECIPIENTS, Value::Array(keys))
            .opt_text(REC_REASON, self.reason.as_deref());
        e.0
    }

    pub(crate) fn decode_fields(
        header: Header,
        fields: &mut Fields,
    ) -> Result<RecipientsRecord, RecordError> {
        let items = fields.opt_array(REC_RECIPIENTS, "recipients", MAX_RECIPIENT_KEYS)?;
        if items.is_empty() {
            return Err(RecordError::Missing {
                key: REC_RECIPIENTS,
                name: "recipients",
            });
        }
        let mut recipients: Vec<String> = Vec::with_capacity(items.len());
        for item in items {
            let Value::Text(text) = item else {
                return Err(invalid(REC_RECIPIENTS, "recipients", "expected text"));
            };
            let canonical = crate::crypt::Recipient::parse(&text, "recipients record")
                .map_err(|e| invalid(REC_RECIPIENTS, "recipients", e.to_string()))?;
            if canonical.as_str() != text {
                return Err(invalid(
                    REC_RECIPIENTS,
                    "recipients",
                    "a key is not in canonical lowercase form",
                ));
            }
            if recipients.last().is_some_and(|last| *last >= text) {
                return Err(invalid(
                    REC_RECIPIENTS,
                    "recipients",
                    "keys must be sorted and distinct",
                ));
            }
            recipients.push(text);
        }
        Ok(RecipientsRecord {
            header,
            recipients,
            reason: fields.opt_prose(REC_REASON, "reason", MAX_NOTE_LEN)?,
        })
    }

    pub fn encode(&self) -> Result<Vec<u8>, RecordError> {
        encode_standalone(KIND_RECIPIENTS, &self.header, self.entries())
    }

    pub fn decode(bytes: &[u8]) -> Result<RecipientsRecord, RecordError> {
        let (header, mut fields) = decode_standalone(bytes, KIND_RECIPIENTS)?;
        let record = RecipientsRecord::decode_fields(header, &mut fields)?;
        fields.finish(KIND_RECIPIENTS)?;
        Ok(record)
    }
}

/// `rewrap`: a new ciphertext object for the plaintext of an encrypted document (e.g. to new
/// recipients). The old object stays stored and provable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewrapRecord {
    pub header: Header,
    /// Record id of the encrypted document record whose plaintext this is.
    pub target: Digest,
    /// SHA-256 and size of the new ciphertext object.
    pub content: Digest,
    pub size: u64,
    /// Must equal the target's plaintext size and binding anchor (digest or commitment); the
    /// opening is new (sealed to the new recipients).
    pub encryption: EncryptionInfo,
    pub reason: Option<String>,
}

const RW_TARGET: u64 = 3;
const RW_CONTENT: u64 = 4;
const RW_SIZE: u64 = 5;
const RW_ENCRYPTION: u64 = 6;
const RW_REASON: u64 = 7;

impl RewrapRecord {
    pub fn entries(&self) -> Vec<(Value, Value)> {
        let mut e = Entries::default();
        e.digest(RW_TARGET, &self.target)
            .digest(RW_CONTENT, &self.content)
            .uint(RW_SIZE, self.size)
            .value(RW_ENCRYPTION, self.encryption.to_value())
            .opt_text(RW_REASON, self.reason.as_deref());
        e.0
    }

    pub(crate) fn decode_fields(
        header: Header,
        fields: &mut Fields,
    ) -> Result<RewrapRecord, RecordError> {
        let target = fields.digest(RW_TARGET, "target")?;
        let content = fields.digest(RW_CONTENT, "content")?;
        let size = fields.uint(RW_SIZE, "size")?;
        let encryption = EncryptionInfo::from_value(
            fields.require(RW_ENCRYPTION, "encryption")?,
            RW_ENCRYPTION,
            "encryption",
        )?;
        Ok(RewrapRecord {
            header,
            target,
            content,
            size,
            encryption,
            reason: fields.opt_prose(RW_REASON, "reason", MAX_NOTE_LEN)?,
        })
    }

    pub fn encode(&self) -> Result<Vec<u8>, RecordError> {
        encode_standalone(KIND_REWRAP, &self.header, self.entries())
    }

    pub fn decode(bytes: &[u8]) -> Result<RewrapRecord, RecordError> {
        let (header, mut fields) = decode_standalone(bytes, KIND_REWRAP)?;
        let record = RewrapRecord::decode_fields(header, &mut fields)?;
        fields.finish(KIND_REWRAP)?;
        Ok(record)
    }
}

/// Encodes a record of `kind` outside [`super::Record`] (until the kinds are wired in there,
/// which then replaces this and [`decode_standalone`]).
fn encode_standalone(
    kind: &str,
    header: &Header,
    entries: Vec<(Value, Value)>,
) -> Result<Vec<u8>, RecordError> {
    let mut all = vec![
        (uint(KEY_KIND), Value::Text(kind.to_string())),
        (uint(KEY_SALT), Value::Bytes(header.salt.to_vec())),
        (
            uint(KEY_RECORDED_AT),
            Value::Text(header.recorded_at.to_string()),
        ),
    ];
    all.extend(entries);
    Ok(cbor::encode(&Value::Map(all))?)
}

fn decode_standalone(bytes: &[u8], kind: &'static str) -> Result<(Header, Fields), RecordError> {
    let Value::Map(entries) = cbor::decode(bytes)? else {
        return Err(RecordError::NotAMap);
    };
    let mut fields = Fields::new(entries)?;
    let found = fields.text(KEY_KIND, "kind", 64)?;
    if found != kind {
        return Err(invalid(
            KEY_KIND,
            "kind",
            format!("'{found}' is not '{kind}'"),
        ));
    }
    let salt = fields.salt(KEY_SALT)?;
    let recorded_at = fields.timestamp(KEY_RECORDED_AT, "recorded-at")?;
    Ok((Header { salt, recorded_at }, fields))
}

#[cfg(test)]
#[path = "encryption_tests.rs"]
mod tests;
