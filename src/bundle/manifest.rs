//! `data/bundle.json`: what a bundle discloses and the proofs that tie it to the checkpoint.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::core::digest::Digest;

/// Bundles of format-2 checkpoints (with a `completeness` section).
pub const BUNDLE_FORMAT: &str = "evidentia-bundle/2";
/// Bundles of format-1 checkpoints, which commit to no reference map.
pub const BUNDLE_FORMAT_1: &str = "evidentia-bundle/1";
/// Largest bundle.json accepted. It takes about 2.5 KB per disclosed document (inclusion
/// proofs and completeness entries): 64 MiB stopped exports at about 25,000 documents, so the
/// bound is set for about 200,000 (issue 11 measures to 100,000, 248 MB).
pub const MAX_MANIFEST_LEN: u64 = 512 << 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    pub format: String,
    pub origin: String,
    /// Number of the checkpoint the proofs are for.
    pub checkpoint: u64,
    /// Its tree size.
    pub tree_size: u64,
    pub exported_at: String,
    pub recipient: Option<String>,
    /// Every disclosed record, in log order.
    pub records: Vec<DisclosedRecord>,
    /// Every disclosed document's content.
    pub documents: Vec<DisclosedDocument>,
    /// Records about disclosed documents that were left out because they would reveal
    /// undisclosed material (an annotation linking to, or a custody event naming, an
    /// undisclosed document).
    pub withheld: Withheld,
    /// Consistency proofs from every earlier checkpoint to this one, so a recipient holding an
    /// earlier checkpoint can check this version extends it (`verify --since`, `diff`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consistency: Vec<ConsistencyEntry>,
    /// Format 2: all records about every disclosed item, and the key state, proven against
    /// the checkpoint's reference map (`bundle::completeness`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<super::completeness::Completeness>,
    /// Present when every document file is an age ciphertext to named recipients (`export
    /// --encrypt-to`); the records still name the plaintext (FORMAT.md §23.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<BundleEncryption>,
    /// The files of the disclosed records' encrypted annotation and custody fields, one per
    /// sealed record (FORMAT.md §23.10, "Bundles").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sealed: Vec<SealedFile>,
}

/// Where the hidden fields of one disclosed sealed record travel, and in which form.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SealedFile {
    /// The sealed annotation or custody record (hex id).
    pub record: String,
    /// `stored` (the archive's ciphertext object itself), `clear` (the hidden-fields plaintext,
    /// decrypted by the exporter) or `encrypted` (that plaintext encrypted to the bundle's
    /// recipients).
    pub form: String,
    /// `data/sealed/<record>.age`, or `.cbor` for `clear`: dictated by record and form.
    pub file: String,
}

/// How a bundle's document files are encrypted: all of them, as age v1 files to the same
/// `recipients` X25519 keys (how many; the keys themselves are not named).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BundleEncryption {
    /// Exactly `age-v1`.
    pub scheme: String,
    /// How many X25519 stanzas each document file's header holds.
    pub recipients: u64,
}

/// The one scheme of [`BundleEncryption`].
pub const ENCRYPTION_SCHEME: &str = "age-v1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyEntry {
    /// The earlier checkpoint's number, size and root (hex).
    pub checkpoint: u64,
    pub size: u64,
    pub root: String,
    /// RFC 9162 consistency proof from `size` to the bundle's tree size, hex.
    pub proof: Vec<ListedHex>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DisclosedRecord {
    /// Position in the log (the leaf index).
    pub index: u64,
    /// SHA-256 of the record bytes, hex; the file is `data/records/<id>.cbor`.
    pub id: String,
    pub kind: String,
    /// Inclusion proof in the checkpoint's tree, RFC 9162 order, hex.
    pub proof: Vec<ListedHex>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DisclosedDocument {
    /// The document record (hex id) this content belongs to.
    pub record: String,
    /// SHA-256 of the content, hex.
    pub content: String,
    pub size: u64,
    /// Logical path in the archive.
    pub path: String,
    /// Where the bytes are, relative to the bundle root (under `data/documents/`).
    pub file: String,
    /// Present when the document is stored encrypted in the archive (its record's `content`
    /// and `size` are the stored ciphertext's) and the exporter decrypted it: what ties the
    /// file's plaintext to the record's signed binding (FORMAT.md §23.9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decrypted: Option<DecryptedDocument>,
}

/// How a document stored encrypted travels in a bundle (FORMAT.md §23.9).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DecryptedDocument {
    /// The plaintext's size: the record's `encryption` plaintext-size.
    pub size: u64,
    /// Clear bundles: SHA-256 of the plaintext (the file), hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Clear bundles, hidden binding: the commitment's salt, hex (the opening, disclosed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Encrypted bundles, hidden binding: the opening sealed again to the bundle's recipients,
    /// an age v1 file in standard base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Withheld {
    pub annotations: u64,
    pub custody_events: u64,
    pub retractions: u64,
}

/// A hex digest as data/bundle.json lists it. Held as its 32 bytes when it is one (bundle.json
/// holds about 20 per disclosed document: 40 bytes each instead of a 64-character string's
/// ~100, which is most of verify's memory at 100,000 documents); anything else is kept as
/// written, so the check that reads it reports it exactly as before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListedHex {
    Digest(Digest),
    Other(Box<str>),
}

impl ListedHex {
    /// The digest, when the text was 64 lowercase hex digits.
    pub fn digest(&self) -> Option<Digest> {
        match self {
            ListedHex::Digest(d) => Some(*d),
            ListedHex::Other(_) => None,
        }
    }

    /// The digest, also from upper case or a `sha256:` prefix (as `Digest::from_hex` reads).
    pub fn digest_any_case(&self) -> Option<Digest> {
        match self {
            ListedHex::Digest(d) => Some(*d),
            ListedHex::Other(text) => Digest::from_hex(text),
        }
    }
}

impl From<Digest> for ListedHex {
    fn from(digest: Digest) -> ListedHex {
        ListedHex::Digest(digest)
    }
}

impl Serialize for ListedHex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ListedHex::Digest(d) => serializer.serialize_str(&d.to_hex()),
            ListedHex::Other(text) => serializer.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for ListedHex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ListedHex, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ListedHex;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a hex string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<ListedHex, E> {
                Ok(match Digest::from_lower_hex(text.as_bytes()) {
                    Some(d) => ListedHex::Digest(d),
                    None => ListedHex::Other(text.into()),
                })
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_hex_keeps_digests_compact_and_anything_else_as_written() {
        let digest = Digest::of(b"x");
        let lower = format!("\"{}\"", digest.to_hex());
        let upper = lower.to_uppercase();
        let parsed: Vec<ListedHex> =
            serde_json::from_str(&format!("[{lower},{upper},\"inner\"]")).unwrap();
        assert_eq!(parsed[0], ListedHex::Digest(digest));
        // Not a digest as verify reads one: kept, and written back unchanged.
        assert_eq!(parsed[1].digest(), None);
        assert_eq!(parsed[1].digest_any_case(), Some(digest));
        assert_eq!(parsed[2].digest_any_case(), None);
        let written = serde_json::to_string(&parsed).unwrap();
        assert_eq!(written, format!("[{lower},{upper},\"inner\"]"));
    }
}
