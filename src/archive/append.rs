//! Appending records: the one path by which anything enters the log.

use crate::core::digest::Digest;
use crate::core::merkle::leaf_hash;
use crate::core::record::Record;
use crate::error::{Error, Result};

use super::index::{PathIndex, PathVersion};
use super::log::{Log, LogEntry};
use super::{failpoint, Archive, WriteLock};

/// Encodes, stores and appends `records`, in order, and returns their ids. The caller holds
/// the write lock (proved by `_lock`) and has made any content they refer to durable.
///
/// Order: record objects, one filesystem sync, then the log (whose HEAD is the commit marker),
/// then the derived path index.
pub fn append_records(
    archive: &Archive,
    _lock: &WriteLock,
    log: &mut Log,
    records: &[Record],
) -> Result<Vec<Digest>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let store = archive.store();
    let mut entries = Vec::with_capacity(records.len());
    for record in records {
        let bytes = record
            .encode_checked()
            .map_err(|source| Error::InvalidRecord {
                kind: record.kind().to_string(),
                source,
            })?;
        let outcome = store.put_bytes(&bytes)?;
        entries.push(LogEntry {
            record: outcome.digest,
            leaf: leaf_hash(&bytes),
        });
    }
    store.make_durable()?;
    failpoint::hit("add-before-log");
    log.append(&entries)?;
    let index = archive.index();
    for (record, entry) in records.iter().zip(&entries) {
        if let Record::Document(doc) = record {
            index.insert(
                &doc.path,
                PathVersion {
                    content: doc.content,
                    record: entry.record,
                },
            )?;
        }
    }
    index.set_covered(log.size())?;
    Ok(entries.iter().map(|e| e.record).collect())
}

/// Brings the derived index up to the log (after a crash, or from an older index version) and
/// returns it. The caller holds the write lock.
pub fn catch_up_index(archive: &Archive, log: &Log) -> Result<PathIndex> {
    let index = archive.index();
    let covered = index.covered().min(log.size());
    if covered == log.size() {
        return Ok(index);
    }
    for digest in &log.record_digests(covered, log.size())? {
        let bytes = archive
            .store()
            .read_verified(digest, crate::core::cbor::MAX_ENCODED_LEN as u64)?;
        let record = Record::decode(&bytes).map_err(|source| Error::Record {
            digest: *digest,
            source,
        })?;
        if let Record::Document(doc) = record {
            index.insert(
                &doc.path,
                PathVersion {
                    content: doc.content,
                    record: *digest,
                },
            )?;
        }
    }
    index.set_covered(log.size())?;
    Ok(index)
}
