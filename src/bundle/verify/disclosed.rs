//! The bundle's disclosed records and documents: each record canonical, named by its digest and
//! proven in the checkpoint's tree; each document's bytes those its record names.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

use rayon::prelude::*;

use crate::archive::fsutil;
use crate::core::checkpoint::Checkpoint;
use crate::core::digest::Digest;
use crate::core::merkle::{leaf_hash, verify_inclusion};
use crate::core::record::{KeyRecord, Record};

use super::super::encrypted::{examine, Decrypted, Examined};
use super::super::export::hash_file;
use super::super::inspect::{safe_relative, Bag};
use super::super::layout;
use super::super::manifest::{BundleManifest, DisclosedDocument, DisclosedRecord, ListedHex};
use super::{decrypted, hex_digest, BundleReport, ItemReport};

/// What the records' checks established, for the checks after them.
#[derive(Default)]
pub(super) struct Disclosed {
    /// Every record that decoded, by id.
    pub decoded: HashMap<Digest, Record>,
    /// Key records in log order.
    pub key_events: Vec<(u64, KeyRecord)>,
    /// Records whose inclusion proof verified: (index, id, leaf hash), for completeness.
    pub proven_leaves: Vec<(u64, Digest, Digest)>,
}

/// Every record data/bundle.json lists, and no record file it does not list.
pub(super) fn check_records(
    root: &Path,
    files: &HashSet<String>,
    bag: &Bag,
    manifest: &BundleManifest,
    cp: &Checkpoint,
    report: &mut BundleReport,
) -> Disclosed {
    let mut disclosed = Disclosed::default();
    // Key records take effect in log order: a list out of order could skip a rotation.
    if manifest.records.windows(2).any(|w| w[0].index > w[1].index) {
        report.problem(
            "data/bundle.json",
            "bad-manifest",
            "the records are not listed in log order",
        );
    }
    // Structural checks in list order; then each record file is read, hashed, decoded and
    // its proof checked in parallel; the outcomes are reported in list order again, so the
    // report does not depend on timing.
    let mut indices = HashSet::new();
    let candidates: Vec<(&DisclosedRecord, String, Option<Digest>)> = (manifest.records.iter())
        .map(|listed| {
            let item = format!("record #{} ({})", listed.index, listed.id);
            let id = listed_record(&bag.hashed, listed, cp, &mut indices, &item, report);
            (listed, item, id)
        })
        .collect();
    let loaded: Vec<Option<Loaded>> = candidates
        .par_iter()
        .map(|(listed, _, id)| id.map(|id| load_record(root, bag, listed, id, cp)))
        .collect();
    for ((listed, item, _), loaded) in candidates.iter().zip(loaded) {
        let Some(loaded) = loaded else { continue };
        let (id, leaf, proven, decoded) = match loaded {
            Loaded::Unreadable(e) => {
                report.problem(item, "record-unreadable", e);
                continue;
            }
            Loaded::Corrupt => {
                report.problem(item, "record-corrupt", "the file's SHA-256 is not its name");
                continue;
            }
            Loaded::Read {
                id,
                leaf,
                proven,
                decoded,
            } => (id, leaf, proven, decoded),
        };
        if proven {
            disclosed.proven_leaves.push((listed.index, id, leaf));
        } else {
            report.problem(
                item,
                "proof-invalid",
                format!(
                    "the inclusion proof does not lead to checkpoint {}'s root",
                    cp.number
                ),
            );
        }
        match decoded {
            Ok(record) => {
                check_record(manifest, listed, &record, item, &mut disclosed, report);
                disclosed.decoded.insert(id, record);
            }
            Err(e) => report.problem(item, "record-invalid", e),
        }
        report.records_checked += 1;
    }
    disclosed.key_events.sort_by_key(|(index, _)| *index);
    let listed: HashSet<String> = manifest
        .records
        .iter()
        .map(|r| format!("data/records/{}.cbor", r.id))
        .collect();
    for file in files.iter().filter(|f| f.starts_with("data/records/")) {
        if !listed.contains(file) {
            report.problem(
                file,
                "unlisted-record",
                "a record file that data/bundle.json does not list",
            );
        }
    }
    disclosed
}

/// A listed record's id, when its id, index and file hold up.
fn listed_record(
    hashed: &HashMap<String, String>,
    listed: &DisclosedRecord,
    cp: &Checkpoint,
    indices: &mut HashSet<u64>,
    item: &str,
    report: &mut BundleReport,
) -> Option<Digest> {
    let file = format!("data/records/{}.cbor", listed.id);
    let Some(id) = hex_digest(&listed.id) else {
        report.problem(
            item,
            "bad-manifest",
            "the record id is not a SHA-256 digest",
        );
        return None;
    };
    if !indices.insert(listed.index) || listed.index >= cp.size {
        report.problem(
            item,
            "proof-invalid",
            "the index is repeated or outside the checkpoint's tree",
        );
        return None;
    }
    if !hashed.contains_key(&file) {
        report.problem(
            item,
            "missing-file",
            format!("{file} is missing or failed its manifest check"),
        );
        return None;
    }
    Some(id)
}

/// What one record file holds, found independently of the others (so in parallel).
enum Loaded {
    Unreadable(String),
    Corrupt,
    Read {
        id: Digest,
        leaf: Digest,
        /// Whether the listed inclusion proof leads to the checkpoint's root.
        proven: bool,
        decoded: std::result::Result<Record, String>,
    },
}

fn load_record(
    root: &Path,
    bag: &Bag,
    listed: &DisclosedRecord,
    id: Digest,
    cp: &Checkpoint,
) -> Loaded {
    let name = format!("data/records/{}.cbor", listed.id);
    // The bag check read most record files already (and they hashed to their manifest
    // digest); the bytes are hashed against the id below all the same.
    let read = match bag.records.get(&name) {
        Some(bytes) => Ok(std::borrow::Cow::Borrowed(bytes.as_slice())),
        None => fsutil::read_stored(&root.join(&name), crate::core::cbor::MAX_ENCODED_LEN as u64)
            .map(std::borrow::Cow::Owned),
    };
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(e) => return Loaded::Unreadable(e.to_string()),
    };
    if Digest::of(&bytes) != id {
        return Loaded::Corrupt;
    }
    let proof: Option<Vec<Digest>> = listed.proof.iter().map(ListedHex::digest).collect();
    let leaf = leaf_hash(&bytes);
    let proven =
        proof.is_some_and(|p| verify_inclusion(&leaf, listed.index, cp.size, &p, &cp.root));
    Loaded::Read {
        id,
        leaf,
        proven,
        decoded: Record::decode(&bytes).map_err(|e| e.to_string()),
    }
}

/// A decoded record against its listing; key records must carry a valid endorsement.
fn check_record(
    manifest: &BundleManifest,
    listed: &DisclosedRecord,
    record: &Record,
    item: &str,
    disclosed: &mut Disclosed,
    report: &mut BundleReport,
) {
    if record.kind() != listed.kind {
        report.problem(
            item,
            "bad-manifest",
            "the kind in data/bundle.json differs from the record",
        );
    }
    if let Record::Key(key) = record {
        if !key.endorsement_valid(&manifest.origin) {
            report.problem(
                item,
                "key-endorsement-invalid",
                "the key record's endorsement does not verify",
            );
        }
        disclosed.key_events.push((listed.index, (**key).clone()));
    }
}

/// A document as a person knows it in findings: its logical path and its content digest.
pub(in crate::bundle) fn document_item(path: &str, content_hex: &str) -> String {
    format!("{path} (sha256:{content_hex})")
}

pub(super) fn doc_item(doc: &DisclosedDocument) -> String {
    document_item(&doc.path, &doc.content)
}

/// Every listed document's bytes against its record, its place in the layout, and no
/// disclosed document record without its content.
pub(super) fn check_documents(
    root: &Path,
    files: &HashSet<String>,
    hashed: &HashMap<String, String>,
    manifest: &BundleManifest,
    decoded: &HashMap<Digest, Record>,
    identities: Option<&crate::crypt::Identities>,
    report: &mut BundleReport,
) {
    let encryption = manifest.encryption.as_ref();
    if encryption
        .is_some_and(|e| e.scheme != super::super::manifest::ENCRYPTION_SCHEME || e.recipients == 0)
    {
        report.problem(
            "data/bundle.json",
            "bad-manifest",
            "encryption must be scheme 'age-v1' to at least one recipient",
        );
    }
    // Each encrypted file is examined (and decrypted, with an identity) in parallel; the
    // outcomes are reported in list order below.
    let mut examined: Vec<Option<Examined>> = match encryption {
        None => Vec::new(),
        Some(enc) => (manifest.documents.par_iter())
            .map(|doc| {
                let usable = in_document_area(&doc.file) && hashed.contains_key(&doc.file);
                let path = root.join(&doc.file);
                let what = doc_item(doc);
                let record = hex_digest(&doc.record).and_then(|id| decoded.get(&id));
                usable.then(|| match decrypted::expectation(doc, record) {
                    Ok((size, plaintext)) => {
                        examine(&path, size, plaintext, enc.recipients, identities, &what)
                    }
                    Err(finding) => Examined::Ciphertext(finding),
                })
            })
            .collect(),
    }
    .into_iter()
    .rev()
    .collect();
    for doc in &manifest.documents {
        let record = hex_digest(&doc.record).and_then(|id| decoded.get(&id));
        let matches_record = matches!(record, Some(Record::Document(d))
            if d.content.to_hex() == doc.content && d.size == doc.size && d.path == doc.path);
        if !matches_record {
            report.problem(
                doc_item(doc),
                "document-mismatch",
                "no disclosed document record has this path, digest and size",
            );
        }
        let (ok, content_checked) = match encryption {
            None if doc.decrypted.is_some() => {
                let ok = decrypted::check_clear(root, files, hashed, doc, record, report);
                (ok, true)
            }
            None => (check_content(root, files, hashed, doc, report), true),
            Some(enc) => check_encrypted(files, doc, enc, examined.pop().flatten(), report),
        };
        let ok = ok && matches_record;
        report.documents.push(ItemReport {
            path: doc.path.clone(),
            content: doc.content.clone(),
            size: doc.size,
            file: doc.file.clone(),
            ok,
            content_checked,
            version: String::new(),
            about: String::new(),
        });
    }
    let placed = layout::check(manifest, decoded, files, report);
    for (item, doc) in report.documents.iter_mut().zip(&manifest.documents) {
        if let Some(place) = placed.get(&doc.record) {
            item.version = place.label(&doc.path);
            item.ok &= place.file == doc.file;
        }
    }
    let listed: HashSet<&str> = manifest
        .documents
        .iter()
        .map(|doc| doc.record.as_str())
        .collect();
    for (id, record) in decoded {
        if let Record::Document(d) = record {
            if !listed.contains(id.to_hex().as_str()) {
                report.problem(
                    document_item(&d.path, &d.content.to_hex()),
                    "document-missing",
                    "a disclosed document record whose content is not in the bundle",
                );
            }
        }
    }
}

/// One encrypted document file: in place and listed (as [`check_content`]), then what
/// [`examine`](super::super::encrypted::examine) found at the ciphertext level, and at the
/// plaintext level when an identity was given.
fn check_encrypted(
    files: &HashSet<String>,
    doc: &DisclosedDocument,
    enc: &super::super::manifest::BundleEncryption,
    examined: Option<Examined>,
    report: &mut BundleReport,
) -> (bool, bool) {
    let summary = report
        .encryption
        .get_or_insert_with(|| super::EncryptionReport {
            scheme: enc.scheme.clone(),
            recipients: enc.recipients,
            ..Default::default()
        });
    summary.documents += 1;
    if !stored_file(files, doc, report) {
        return (false, false);
    }
    // None: the bag check named the file already (unlisted or corrupt).
    let Some(examined) = examined else {
        return (false, false);
    };
    let summary = report.encryption.get_or_insert_with(Default::default);
    // (intact as far as was checked, plaintext checked against the record)
    match examined {
        Examined::Intact => (true, false),
        Examined::Decrypted(Decrypted::Matches) => {
            summary.plaintext_checked += 1;
            (true, true)
        }
        Examined::Decrypted(Decrypted::NotARecipient) => {
            summary.not_a_recipient += 1;
            (true, false)
        }
        Examined::Ciphertext((code, detail))
        | Examined::Decrypted(Decrypted::Problem((code, detail))) => {
            report.problem(doc_item(doc), code, detail);
            (false, false)
        }
    }
}

/// A safe relative path inside one of the two document areas.
fn in_document_area(file: &str) -> bool {
    let in_area = file.starts_with(layout::CURRENT_AREA) || file.starts_with(layout::OTHER_AREA);
    in_area && safe_relative(file).is_some()
}

/// A document file is inside the document areas and a regular file of the bundle.
pub(super) fn stored_file(
    files: &HashSet<String>,
    doc: &DisclosedDocument,
    report: &mut BundleReport,
) -> bool {
    if !in_document_area(&doc.file) {
        report.problem(
            doc_item(doc),
            "unsafe-path",
            format!(
                "document file '{}' is outside {} and {}",
                doc.file,
                layout::CURRENT_AREA,
                layout::OTHER_AREA
            ),
        );
        return false;
    }
    if !files.contains(&doc.file) {
        // Never opened: absent, or a link or special file the walk refused.
        report.problem(
            doc_item(doc),
            "content-missing",
            format!("{} is not a regular file in the bundle", doc.file),
        );
        return false;
    }
    true
}

/// One document file: inside the document areas, a regular file, with the listed digest and
/// size. Returns whether it holds up.
fn check_content(
    root: &Path,
    files: &HashSet<String>,
    hashed: &HashMap<String, String>,
    doc: &DisclosedDocument,
    report: &mut BundleReport,
) -> bool {
    if !stored_file(files, doc, report) {
        return false;
    }
    // The manifest check already hashed every payload file it lists (once, in parallel): a
    // file that passed it hashes to its manifest digest.
    let already = hashed.get(&doc.file).and_then(|hex| hex_digest(hex));
    match already.map_or_else(|| hash_file(&root.join(&doc.file)), Ok) {
        Ok(found) if found.to_hex() == doc.content => {
            let size = fs::metadata(root.join(&doc.file))
                .map(|m| m.len())
                .unwrap_or(0);
            if size != doc.size {
                report.problem(
                    doc_item(doc),
                    "content-corrupt",
                    format!("{size} bytes, the record says {}", doc.size),
                );
                return false;
            }
            true
        }
        Ok(found) => {
            report.problem(
                doc_item(doc),
                "content-corrupt",
                format!(
                    "the file hashes to {found}, the record says {}",
                    doc.content
                ),
            );
            false
        }
        Err(e) => {
            report.problem(doc_item(doc), "content-missing", e.to_string());
            false
        }
    }
}
