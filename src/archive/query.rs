//! Read-only queries: the log, the documents, one record, one object.

use rayon::prelude::*;
use std::io::{Read, Write};
use std::path::Path;

use crate::core::cbor::MAX_ENCODED_LEN;
use crate::core::digest::Digest;
use crate::core::record::{DocumentRecord, Record};
use crate::error::{Error, Result};

use super::checkpoints::StoredCheckpoint;
use super::objects::copy_verified;
use super::Archive;

/// A record with its place in the log.
#[derive(Debug, Clone)]
pub struct LoggedRecord {
    pub index: u64,
    pub id: Digest,
    pub record: Record,
}

/// Every record, in log order.
pub fn records(archive: &Archive) -> Result<Vec<LoggedRecord>> {
    let log = archive.log()?;
    records_range(archive, &log, 0, log.size())
}

/// The records at log positions `start..end`, in log order: reads only those.
pub fn records_range(
    archive: &Archive,
    log: &super::log::Log,
    start: u64,
    end: u64,
) -> Result<Vec<LoggedRecord>> {
    let end = end.min(log.size());
    let start = start.min(end);
    let digests = log.record_digests(start, end)?;
    // Read and decoded in parallel (each is a pack lookup, a read and a CBOR decode); the
    // order of the log is kept, and so is the error: the first unreadable record in log order
    // (a parallel collect into `Result` keeps whichever failed first in time).
    let read: Vec<Result<LoggedRecord>> = digests
        .into_par_iter()
        .enumerate()
        .map(|(at, id)| {
            Ok(LoggedRecord {
                index: start + at as u64,
                id,
                record: read_record(archive, &id)?,
            })
        })
        .collect();
    read.into_iter().collect()
}

/// Parses `#N` (or `N` after the `#`), the record number `log` prints.
pub fn parse_record_number(text: &str) -> Option<u64> {
    text.strip_prefix('#')?.parse().ok()
}

/// Every checkpoint, in number order. Unreadable ones are errors; `verify` reports them all.
pub fn checkpoints(archive: &Archive) -> Result<Vec<StoredCheckpoint>> {
    let store = archive.checkpoints();
    store
        .files()?
        .into_iter()
        .filter(|f| f.number.is_some())
        .map(|f| super::checkpoints::CheckpointStore::read(&f.path))
        .collect()
}

/// Document records, in log order.
pub fn documents(archive: &Archive) -> Result<Vec<(LoggedRecord, DocumentRecord)>> {
    Ok(records(archive)?
        .into_iter()
        .filter_map(|r| match &r.record {
            Record::Document(doc) => {
                let doc = (**doc).clone();
                Some((r, doc))
            }
            _ => None,
        })
        .collect())
}

/// What an id given by the user names.
#[derive(Debug, Clone)]
pub enum Resolved {
    Record(Box<LoggedRecord>),
    /// A stored object that is not a record (document content).
    Object(Digest),
}

/// Parses a digest or a unique prefix of at least 4 hex digits.
pub fn resolve_object(archive: &Archive, id: &str) -> Result<Digest> {
    let hex = id
        .strip_prefix("sha256:")
        .unwrap_or(id)
        .to_ascii_lowercase();
    if hex.len() < 4 || hex.len() > 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::BadId { id: id.to_string() });
    }
    let matches = archive.store().with_prefix(&hex)?;
    match matches.len() {
        0 => {
            // A full digest the log refers to but the store lacks is damage, not a typo.
            if let Some(digest) = Digest::from_hex(&hex) {
                let referenced = !archive.index().records_for_content(&digest)?.is_empty()
                    || archive.log()?.position(&digest)?.is_some();
                if referenced {
                    return Err(Error::ObjectMissing { digest });
                }
            }
            Err(Error::UnknownId { id: id.to_string() })
        }
        1 => Ok(matches[0]),
        count => Err(Error::AmbiguousId {
            id: id.to_string(),
            count,
        }),
    }
}

/// Resolves an id to a record of the log, or to another object.
/// `#N` names the record at log position N (as `log` prints it).
pub fn resolve(archive: &Archive, id: &str) -> Result<Resolved> {
    let log = archive.log()?;
    if let Some(index) = parse_record_number(id) {
        return match records_range(archive, &log, index, index.saturating_add(1))?.pop() {
            Some(logged) => Ok(Resolved::Record(Box::new(logged))),
            None => Err(Error::UnknownId {
                id: format!(
                    "{id} (the log holds {} records, #0 to #{})",
                    log.size(),
                    log.size().saturating_sub(1)
                ),
            }),
        };
    }
    let digest = resolve_object(archive, id)?;
    match log.position(&digest)? {
        Some(index) => Ok(Resolved::Record(Box::new(LoggedRecord {
            index,
            id: digest,
            record: read_record(archive, &digest)?,
        }))),
        None => Ok(Resolved::Object(digest)),
    }
}

/// The document records whose content is `content`, in log order.
pub fn records_for_content(
    archive: &Archive,
    content: &Digest,
) -> Result<Vec<(LoggedRecord, DocumentRecord)>> {
    Ok(documents(archive)?
        .into_iter()
        .filter(|(_, doc)| doc.content == *content)
        .collect())
}

/// The largest object `cat` writes to standard output: it is read and checked in memory
/// first, so not one byte leaves before its digest matches. Larger objects need `--out`.
pub const CAT_IN_MEMORY: u64 = 64 << 20;

/// Writes an object's bytes to `out` only after they have been read whole and hash to
/// `digest`: a consumer never receives a byte of a damaged object. Objects larger than
/// [`CAT_IN_MEMORY`] are refused (see [`cat_to_file`]).
pub fn cat(archive: &Archive, digest: &Digest, out: &mut dyn Write) -> Result<u64> {
    let stdout = Path::new("<stdout>");
    let mut bytes = Vec::new();
    archive
        .store()
        .open(digest)?
        .take(CAT_IN_MEMORY + 1)
        .read_to_end(&mut bytes)
        .map_err(Error::io(format!("object {digest}")))?;
    if bytes.len() as u64 > CAT_IN_MEMORY {
        return Err(Error::WrongTarget {
            id: format!("sha256:{digest}"),
            what: format!(
                "larger than the {} MiB that `cat` checks in memory before writing to standard output",
                CAT_IN_MEMORY >> 20
            ),
            hint: "give --out FILE: the file appears only once its digest has been checked",
        });
    }
    if Digest::of(&bytes) != *digest {
        // The copy read first is damaged; an intact packed twin may still serve, else this
        // fails with the damage. Either way only checked bytes are written.
        bytes = archive.store().read_verified(digest, CAT_IN_MEMORY)?;
    }
    out.write_all(&bytes).map_err(Error::io(stdout))?;
    out.flush().map_err(Error::io(stdout))?;
    Ok(bytes.len() as u64)
}

/// Writes an object of any size to the new file `path`: streamed into a temporary file beside
/// it, which is renamed into place only when its bytes hash to `digest` (and never over an
/// existing file). On any failure nothing is left at `path`.
pub fn cat_to_file(archive: &Archive, digest: &Digest, path: &Path) -> Result<u64> {
    // The one way outputs are made: a temporary file beside the target, renamed into place
    // without replacing anything, and only once the bytes matched their digest.
    let mut output = super::output::NewOutput::create(path, 0o644, super::output::Existing::Never)?;
    let tmp_path = output.temp_path().to_path_buf();
    let total = copy_verified(archive.store(), digest, output.file(), &tmp_path)?;
    output.commit()?;
    Ok(total)
}

/// Reads and decodes one record object.
pub fn read_record(archive: &Archive, id: &Digest) -> Result<Record> {
    let bytes = archive.store().read_verified(id, MAX_ENCODED_LEN as u64)?;
    Record::decode(&bytes).map_err(|source| Error::Record {
        digest: *id,
        source,
    })
}

/// What a user's TARGET argument names.
#[derive(Debug, Clone)]
pub enum Target {
    /// A recorded document, by content; `records` are its document records, oldest first.
    Document {
        content: Digest,
        records: Vec<Digest>,
    },
    /// A record of the log other than through its content (an annotation, or a document
    /// record named by its record id).
    Record {
        index: u64,
        id: Digest,
        record: Box<Record>,
    },
}

/// Resolves a digest, a unique digest prefix or a logical path to something in the log. The
/// index must be up to date (see `append::catch_up_index`).
pub fn resolve_target(
    archive: &Archive,
    log: &super::log::Log,
    index: &super::index::PathIndex,
    text: &str,
) -> Result<Target> {
    let hex = text.strip_prefix("sha256:").unwrap_or(text);
    let looks_like_digest =
        (4..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if looks_like_digest {
        match resolve_object(archive, text) {
            Ok(digest) => {
                if let Some(position) = log.position(&digest)? {
                    return Ok(Target::Record {
                        index: position,
                        id: digest,
                        record: Box::new(read_record(archive, &digest)?),
                    });
                }
                let records = index.records_for_content(&digest)?;
                if !records.is_empty() {
                    return Ok(Target::Document {
                        content: digest,
                        records,
                    });
                }
                return Err(Error::UnknownId {
                    id: format!("{text} (stored, but not recorded in the log)"),
                });
            }
            Err(Error::UnknownId { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    match index.versions(text)?.last() {
        Some(latest) => Ok(Target::Document {
            content: latest.content,
            records: index.records_for_content(&latest.content)?,
        }),
        None => Err(Error::UnknownId {
            id: text.to_string(),
        }),
    }
}

/// What `show` names: `#N` (a log position, as `log` prints it), a digest or a unique prefix,
/// or a logical path (the record of its latest version).
pub fn resolve_shown(archive: &Archive, text: &str) -> Result<Resolved> {
    let hex = text.strip_prefix("sha256:").unwrap_or(text);
    let digest_like = (4..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if text.starts_with('#') || digest_like {
        match resolve(archive, text) {
            // A hex-looking name may still be a logical path.
            Err(Error::UnknownId { .. }) if digest_like => {}
            other => return other,
        }
    }
    let (log, index) = archive.current_index()?;
    for version in index.versions(text)?.iter().rev() {
        // The index is not trusted: a hit counts only if its record says so.
        let record = read_record(archive, &version.record)?;
        if matches!(&record, Record::Document(d) if d.path == text) {
            if let Some(index) = log.position(&version.record)? {
                return Ok(Resolved::Record(Box::new(LoggedRecord {
                    index,
                    id: version.record,
                    record,
                })));
            }
        }
    }
    Err(match digest_like {
        true => Error::UnknownId {
            id: text.to_string(),
        },
        // Neither a digest nor a recorded path: say what a digest looks like.
        false => Error::BadId {
            id: text.to_string(),
        },
    })
}

/// What `cat` names: a digest or a unique prefix of an object, or a logical path (the content
/// of its latest version, as `show` finds it).
pub fn resolve_content(archive: &Archive, text: &str) -> Result<Digest> {
    match resolve_object(archive, text) {
        Err(Error::BadId { .. } | Error::UnknownId { .. }) => match resolve_shown(archive, text)? {
            Resolved::Record(logged) => match &logged.record {
                Record::Document(doc) => Ok(doc.content),
                _ => Err(Error::UnknownId {
                    id: format!("{text} (a record that is not a document)"),
                }),
            },
            Resolved::Object(digest) => Ok(digest),
        },
        other => other,
    }
}

/// The newest `limit` records (all when `None`) for which `keep` holds, in log order. Read
/// from the newest back in growing batches, stopping once `limit` are found: without a
/// filter, the cost is proportional to `limit`.
pub fn last_records(
    archive: &Archive,
    log: &super::log::Log,
    limit: Option<u64>,
    keep: &dyn Fn(&LoggedRecord) -> bool,
) -> Result<Vec<LoggedRecord>> {
    let limit = limit.unwrap_or(u64::MAX);
    let mut found = Vec::new();
    let mut end = log.size();
    let mut batch = limit.clamp(1, 4096);
    while end > 0 && (found.len() as u64) < limit {
        let start = end.saturating_sub(batch);
        let chunk = records_range(archive, log, start, end)?;
        for r in chunk.into_iter().rev().filter(|r| keep(r)) {
            if found.len() as u64 == limit {
                break;
            }
            found.push(r);
        }
        end = start;
        batch = batch.saturating_mul(2).min(1 << 16);
    }
    found.reverse();
    Ok(found)
}

/// The content digests and record ids of the versions recorded under the logical path
/// `path` (each confirmed against its record: the index is not trusted).
pub fn confirmed_versions(archive: &Archive, path: &str) -> Result<Vec<(Digest, Digest)>> {
    let (_log, index) = archive.current_index()?;
    let mut out = Vec::new();
    for version in index.versions(path)? {
        if matches!(read_record(archive, &version.record)?,
            Record::Document(d) if d.path == path && d.content == version.content)
        {
            out.push((version.content, version.record));
        }
    }
    Ok(out)
}

/// Whether `logged` is about one of `versions` (content, record id): one of their document
/// records, or an annotation, link, custody event or retraction naming one, or a retraction
/// of an annotation on one (its target is read: retractions are few).
pub fn concerns(archive: &Archive, logged: &LoggedRecord, versions: &[(Digest, Digest)]) -> bool {
    let named = |d: &Digest| versions.iter().any(|(c, r)| c == d || r == d);
    let annotation_on = |record: &Record| matches!(record, Record::Annotation(a) if named(&a.target) || a.links.iter().any(|l| named(&l.target)));
    match &logged.record {
        Record::Document(_) => versions.iter().any(|(_, r)| *r == logged.id),
        record @ Record::Annotation(_) => annotation_on(record),
        Record::Custody(c) => c.targets.iter().any(named),
        Record::Metadata(m) => named(&m.target),
        // A target that cannot be read is left out of this filtered view; `verify` reports it.
        Record::Retraction(r) => {
            named(&r.target) || read_record(archive, &r.target).is_ok_and(|t| annotation_on(&t))
        }
        Record::Rewrap(r) => named(&r.target),
        Record::Key(_) | Record::Case(_) | Record::Recipients(_) | Record::Unknown { .. } => false,
    }
}
