//! Read-only queries: the log, the documents, one record, one object.

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
    let digests = log.record_digests(0, log.size())?;
    let store = archive.store();
    digests
        .into_iter()
        .enumerate()
        .map(|(index, id)| {
            let bytes = store.read_verified(&id, MAX_ENCODED_LEN as u64)?;
            let record =
                Record::decode(&bytes).map_err(|source| Error::Record { digest: id, source })?;
            Ok(LoggedRecord {
                index: index as u64,
                id,
                record,
            })
        })
        .collect()
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
pub fn resolve(archive: &Archive, id: &str) -> Result<Resolved> {
    let digest = resolve_object(archive, id)?;
    let log = archive.log()?;
    let digests = log.record_digests(0, log.size())?;
    match digests.iter().position(|d| *d == digest) {
        Some(index) => {
            let bytes = archive
                .store()
                .read_verified(&digest, MAX_ENCODED_LEN as u64)?;
            let record =
                Record::decode(&bytes).map_err(|source| Error::Record { digest, source })?;
            Ok(Resolved::Record(Box::new(LoggedRecord {
                index: index as u64,
                id: digest,
                record,
            })))
        }
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
