//! Appending records: the one path by which anything enters the log.

use rayon::prelude::*;

use crate::core::digest::Digest;
use crate::core::merkle::leaf_hash;
use crate::core::record::{Record, RecordError};
use crate::error::{Error, Result};

use super::index::{PathIndex, PathVersion};
use super::log::{Log, LogEntry};
use super::objects::ObjectWriter;
use super::{failpoint, Archive, WriteLock};

/// Encodes, stores and appends `records`, in order, and returns their ids. The caller holds
/// the write lock (proved by `_lock`) and has made any content they refer to durable.
///
/// Order: record objects, made durable as one batch, then the log (whose HEAD is the commit marker),
/// then the derived path index.
pub fn append_records(
    archive: &Archive,
    lock: &WriteLock,
    log: &mut Log,
    records: &[Record],
) -> Result<Vec<Digest>> {
    let prepared: Vec<PreparedRecord> = records
        .par_iter()
        .map(|record| {
            PreparedRecord::new(record.clone()).map_err(|source| Error::InvalidRecord {
                kind: record.kind().to_string(),
                source,
            })
        })
        .collect::<Result<_>>()?;
    let writer = archive.store().writer(prepared.len())?;
    append_prepared(archive, lock, log, prepared, writer)
}

/// A record encoded (canonically, checked by a round trip) and hashed, ready to append.
pub struct PreparedRecord {
    pub record: Record,
    bytes: Vec<u8>,
    id: Digest,
    leaf: Digest,
}

impl PreparedRecord {
    pub fn new(record: Record) -> std::result::Result<PreparedRecord, RecordError> {
        let bytes = record.encode_checked()?;
        Ok(PreparedRecord {
            id: Digest::of(&bytes),
            leaf: leaf_hash(&bytes),
            record,
            bytes,
        })
    }
}

impl PreparedRecord {
    /// A record as stored elsewhere (a mirror's source), whose `bytes` hash to `id`.
    pub fn stored(record: Record, bytes: Vec<u8>, id: Digest) -> PreparedRecord {
        PreparedRecord {
            leaf: leaf_hash(&bytes),
            id,
            record,
            bytes,
        }
    }
}

/// [`append_records`] for prepared records, stored through `writer`, which may already hold
/// the content they refer to: the batch is finished (made durable as one) before the log
/// refers to any of it.
pub fn append_prepared(
    archive: &Archive,
    lock: &WriteLock,
    log: &mut Log,
    records: Vec<PreparedRecord>,
    writer: Box<dyn ObjectWriter + '_>,
) -> Result<Vec<Digest>> {
    if records.is_empty() {
        writer.finish()?;
        return Ok(Vec::new());
    }
    let entries: Vec<LogEntry> = records
        .par_iter()
        .map(|prepared| {
            let outcome = writer.put_new(prepared.id, &prepared.bytes)?;
            Ok(LogEntry {
                record: outcome.digest,
                leaf: prepared.leaf,
            })
        })
        .collect::<Result<_>>()?;
    let documents: Vec<(&str, PathVersion)> = records
        .iter()
        .zip(&entries)
        .filter_map(|(prepared, entry)| match &prepared.record {
            Record::Document(doc) => Some((
                doc.path.as_str(),
                PathVersion {
                    content: doc.content,
                    record: entry.record,
                },
            )),
            _ => None,
        })
        .collect();
    // The index lines are formatted while the objects and the log are being made durable
    // (which mostly waits for the disk); they are written only after HEAD.
    let from = log.size();
    let (committed, lines) = rayon::join(
        || -> Result<()> {
            writer.finish()?;
            failpoint::hit("add-before-log");
            if let Some(remote) = archive.remote() {
                // On an object store the segment is the commit; the replica follows it.
                let bytes: Vec<&[u8]> = records.iter().map(|r| r.bytes.as_slice()).collect();
                crate::remote::publish_records(remote, lock.claim(), from, &bytes)?;
                failpoint::hit("remote-after-segment");
            }
            log.append(&entries)
        },
        || PathIndex::format(&documents),
    );
    committed?;
    // The records are committed; the index is derived from the log and brought up to it by
    // the next command that needs it, so failing to write it must not report the records as
    // not recorded (a re-run would record them twice).
    if let Err(e) = archive.index().commit(lines, from, log.size()) {
        eprintln!(
            "evidentia: warning: the records are committed, but updating the index failed ({e}); the next command rebuilds it from the log"
        );
    }
    Ok(entries.iter().map(|e| e.record).collect())
}

/// Log records replayed into one run when the index is rebuilt: bounds the memory of a
/// rebuild (the runs are then merged as streams).
const REBUILD_CHUNK: u64 = 1 << 18;

/// Brings the derived index up to the log (after a crash, or from an older index version) and
/// returns it. The caller holds the write lock.
pub fn catch_up_index(archive: &Archive, log: &Log) -> Result<PathIndex> {
    let index = archive.index();
    let size = log.size();
    let mut covered = match index.covered() {
        Some(covered) if covered <= size => covered,
        // Missing, damaged, of another version, or ahead of the log: rebuilt from the start.
        _ => {
            index.clear()?;
            0
        }
    };
    while covered < size {
        let end = size.min(covered + REBUILD_CHUNK);
        let documents: Vec<(String, PathVersion)> = log
            .record_digests(covered, end)?
            .par_iter()
            .map(|digest| {
                let bytes = archive
                    .store()
                    .read_verified(digest, crate::core::cbor::MAX_ENCODED_LEN as u64)?;
                let record = Record::decode(&bytes).map_err(|source| Error::Record {
                    digest: *digest,
                    source,
                })?;
                Ok(match record {
                    Record::Document(doc) => Some((
                        doc.path,
                        PathVersion {
                            content: doc.content,
                            record: *digest,
                        },
                    )),
                    _ => None,
                })
            })
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        let documents: Vec<(&str, PathVersion)> =
            documents.iter().map(|(p, v)| (p.as_str(), *v)).collect();
        index.insert_many(&documents, covered, end)?;
        covered = end;
    }
    Ok(index)
}
