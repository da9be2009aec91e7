//! `data/bundle.json`: what a bundle discloses and the proofs that tie it to the checkpoint.

use serde::{Deserialize, Serialize};

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
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyEntry {
    /// The earlier checkpoint's number, size and root (hex).
    pub checkpoint: u64,
    pub size: u64,
    pub root: String,
    /// RFC 9162 consistency proof from `size` to the bundle's tree size, hex.
    pub proof: Vec<String>,
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
    pub proof: Vec<String>,
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
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Withheld {
    pub annotations: u64,
    pub custody_events: u64,
    pub retractions: u64,
}
