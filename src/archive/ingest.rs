//! `add`: ingest files and directories as document records.
//!
//! Order of work, for crash safety and concurrency:
//! 1. plan: walk the inputs (symlinks met in a walk are not followed, and reported; one named
//!    as an input is refused), make every name a logical path (escaping what a logical path
//!    cannot hold, keeping the exact bytes), and refuse the whole command if any input cannot
//!    be recorded — nothing is written before that;
//! 2. store content: hash and copy every file into one batch of the object store (a pack for a
//!    large add), in parallel, without the lock (objects are content-addressed, so concurrent
//!    writers cannot conflict), and build each document record on the same worker;
//! 3. under the write lock: skip paths whose latest content is identical, store the other
//!    records in the same batch, make the batch durable, append to the log and commit its HEAD,
//!    then update the derived index.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use rayon::prelude::*;
use walkdir::WalkDir;

use crate::core::digest::Digest;
use crate::core::path;
use crate::core::record::{
    Collection, DocumentRecord, EncryptionInfo, Header, PlaintextBinding, Record,
};
use crate::error::{Error, Result};
use crate::progress::{self, Unit};
use crate::term;

use super::append::{append_prepared, catch_up_index, PreparedRecord};
use super::index::PathVersion;
use super::objects::ObjectWriter;
use super::sink::BLOCK;
use super::{failpoint, fsutil, Archive};

/// What the user says about the documents being added.
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    pub collection: Collection,
    /// Overrides the media type guessed from the file name.
    pub media_type: Option<String>,
    /// Show a progress bar (the caller decides, e.g. only on a terminal).
    pub progress: bool,
    /// Name documents by their path relative to this directory instead of from the last
    /// component of each input.
    pub relative_to: Option<PathBuf>,
    /// Store each document only as age ciphertext to these recipients (FORMAT.md §23).
    pub encrypt: Option<super::encrypted::EncryptTo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddStatus {
    /// A new document record was appended.
    Recorded,
    /// The same content is already the latest version of this path; nothing was recorded.
    Unchanged,
    /// The same content is already recorded, and a `metadata` record adds the new tags,
    /// collector, note… given this time (`metadata`: its id).
    MetadataAdded { metadata: Digest },
}

#[derive(Debug, Clone)]
pub struct AddedDocument {
    pub content: Digest,
    pub size: u64,
    pub path: String,
    /// The exact bytes of the name when the path had to be escaped (FORMAT.md §5.1).
    pub original_path: Option<Vec<u8>>,
    /// The record holding this document (the existing one when unchanged).
    pub record: Digest,
    pub status: AddStatus,
}

/// An input that was deliberately not ingested.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct AddReport {
    pub documents: Vec<AddedDocument>,
    pub skipped: Vec<Skipped>,
}

struct Planned {
    source: PathBuf,
    logical: String,
    original_name: String,
    original_path: Option<Vec<u8>>,
    /// From the walk when the progress bar needs it; 0 means "ask the open file".
    size: u64,
}

struct Plan {
    files: Vec<Planned>,
    skipped: Vec<Skipped>,
}

pub fn add(archive: &Archive, inputs: &[PathBuf], options: &AddOptions) -> Result<AddReport> {
    if let Some(media_type) = &options.media_type {
        check_media_type_option(media_type)?;
    }
    let plan = plan(
        archive,
        inputs,
        options.relative_to.as_deref(),
        options.progress,
    )?;
    // Content and records go through one batch (one pack for a large add), made durable once
    // before the log refers to any of it.
    // A current index knows every content that a document record refers to: new content is
    // then stored without searching the packs (content stored by an interrupted command, and
    // not referred to, may be stored twice, which is harmless).
    let expected = plan.files.len() * 2;
    let content_index = archive.index();
    let log_size = archive.log()?.size();
    // Until the write lock is taken, an interrupt leaves only unreferenced objects behind.
    let kept = || {
        format!(
            "nothing of this add was recorded; the archive is unchanged at {log_size} record(s)"
        )
    };
    let writer = if content_index.covered() == Some(log_size) {
        let hint = Box::new(move |digest: &Digest| content_index.may_know_content(digest));
        archive.store().writer_with_hint(expected, hint)?
    } else {
        archive.store().writer(expected)?
    };

    let total: u64 = plan.files.iter().map(|f| f.size).sum();
    progress::stage("hashing", total, Unit::Bytes);
    // Each file is stored and its record built and encoded on the worker threads; only the
    // check against what the log already holds waits for the write lock.
    let stored: Vec<Result<(u64, PreparedRecord)>> = plan
        .files
        .par_iter()
        // One read buffer per worker thread, reused for every small file.
        .map_init(Vec::new, |buffer, file| {
            progress::check(kept)?;
            let (content, size, encryption) =
                store_content(&*writer, file, buffer, options.encrypt.as_ref())?;
            let record = Record::Document(Box::new(DocumentRecord {
                header: Header::now(),
                content,
                size,
                media_type: options
                    .media_type
                    .clone()
                    .unwrap_or_else(|| guess_media_type(&file.logical)),
                path: file.logical.clone(),
                original_name: file.original_name.clone(),
                original_path: file.original_path.clone(),
                collection: options.collection.clone(),
                encryption,
            }));
            let prepared = PreparedRecord::new(record).map_err(|e| Error::BadInput {
                path: file.source.clone(),
                why: e.to_string(),
            })?;
            Ok((size, prepared))
        })
        .collect();
    progress::finish();
    progress::check(kept)?;
    let stored: Vec<(u64, PreparedRecord)> = stored.into_iter().collect::<Result<_>>()?;
    failpoint::hit("add-after-objects");

    let lock = archive.lock()?;
    let mut log = archive.log()?;
    catch_up_index(archive, &log)?;
    let index = archive.index();
    let mut report = AddReport {
        documents: Vec::with_capacity(plan.files.len()),
        skipped: plan.skipped,
    };
    // The latest version of each path (looked up together, in key order), confirmed against
    // its record.
    let logicals: Vec<&str> = plan.files.iter().map(|f| f.logical.as_str()).collect();
    let versions = index.versions_many(&logicals)?;
    refuse_literal_escapes(archive, &plan.files, &versions)?;
    let unchanged: Vec<Option<Digest>> = versions
        .into_par_iter()
        .zip(plan.files.par_iter().zip(&stored))
        .map(|(versions, (file, (_, prepared)))| {
            let Record::Document(doc) = &prepared.record else {
                return None;
            };
            versions
                .last()
                .filter(|v| same_content(archive, v, doc, &file.logical))
                .map(|v| v.record)
        })
        .collect();
    let mut metadata = metadata_for_unchanged(archive, &unchanged, &options.collection)?;
    let mut records = Vec::new();
    let mut recorded_at = Vec::new();
    for ((file, (size, prepared)), unchanged) in plan.files.iter().zip(stored).zip(unchanged) {
        let Record::Document(doc) = &prepared.record else {
            continue;
        };
        let content = doc.content;
        let (record, status) = match unchanged {
            Some(record) => (record, AddStatus::Unchanged),
            None => {
                recorded_at.push(report.documents.len());
                records.push(prepared);
                (Digest([0; 32]), AddStatus::Recorded)
            }
        };
        report.documents.push(AddedDocument {
            content,
            size,
            path: file.logical.clone(),
            original_path: file.original_path.clone(),
            record,
            status,
        });
    }
    // Metadata records after the documents: each names an earlier document record.
    let mut metadata_at = Vec::new();
    for (slot, doc) in report.documents.iter().enumerate() {
        if let Some(record) = metadata.remove(&doc.record) {
            metadata_at.push(slot);
            records.push(record);
        }
    }
    let ids = append_prepared(archive, &lock, &mut log, records, writer)?;
    let (document_ids, metadata_ids) = ids.split_at(recorded_at.len().min(ids.len()));
    for (slot, id) in recorded_at.into_iter().zip(document_ids) {
        report.documents[slot].record = *id;
    }
    for (slot, id) in metadata_at.into_iter().zip(metadata_ids) {
        report.documents[slot].status = AddStatus::MetadataAdded { metadata: *id };
    }
    Ok(report)
}

/// An escaped path cannot meet a plain name written by this version, but an archive written
/// before names were escaped may hold a document literally named like an escape (`a%FF`).
/// Recording the file `a<0xff>` as a new version of it would join two different files.
fn refuse_literal_escapes(
    archive: &Archive,
    files: &[Planned],
    versions: &[Vec<PathVersion>],
) -> Result<()> {
    for (file, versions) in files.iter().zip(versions) {
        let (Some(_), Some(latest)) = (&file.original_path, versions.last()) else {
            continue;
        };
        if let Ok(Record::Document(doc)) = super::query::read_record(archive, &latest.record) {
            if doc.original_path.is_none() {
                return Err(Error::BadInput {
                    path: file.source.clone(),
                    why: format!(
                        "its escaped logical path '{}' is already the literal name of another document (record {}); add it with --relative-to from another directory, so its path differs",
                        file.logical, latest.record
                    ),
                });
            }
        }
    }
    Ok(())
}

/// For unchanged documents (their latest record ids), a metadata record with what the options
/// add to each, if anything (FORMAT.md, metadata records).
fn metadata_for_unchanged(
    archive: &Archive,
    unchanged: &[Option<Digest>],
    given: &Collection,
) -> Result<std::collections::HashMap<Digest, PreparedRecord>> {
    let mut out = std::collections::HashMap::new();
    let targets: std::collections::HashSet<Digest> = unchanged.iter().flatten().copied().collect();
    if given.is_empty() || targets.is_empty() {
        return Ok(out);
    }
    let later = super::metadata::metadata_about(archive, &targets)?;
    for target in targets {
        let Record::Document(doc) = super::query::read_record(archive, &target)? else {
            continue;
        };
        let known = super::metadata::effective(
            &doc.collection,
            later.get(&target).map_or(&[][..], Vec::as_slice),
        );
        if let Some(record) = super::metadata::record_for(target, &known, given) {
            let prepared = PreparedRecord::new(record).map_err(|e| Error::InvalidOption {
                option: "metadata",
                value: doc.path.clone(),
                why: e.to_string(),
            })?;
            out.insert(target, prepared);
        }
    }
    Ok(out)
}

/// Stores one file's content (encrypted when `encrypt` says so); returns the stored object's
/// digest and size, and the `encryption` map of an encrypted one.
fn store_content(
    writer: &dyn ObjectWriter,
    file: &Planned,
    buffer: &mut Vec<u8>,
    encrypt: Option<&super::encrypted::EncryptTo>,
) -> Result<(Digest, u64, Option<EncryptionInfo>)> {
    let read_err = |e: io::Error| Error::BadInput {
        path: file.source.clone(),
        why: format!("read failed: {e}"),
    };
    // The plan saw a regular file; what is opened is checked again (it may have been swapped
    // for a FIFO or a link to a device since).
    let (handle, _) =
        fsutil::open_regular(&file.source, fsutil::Links::Refuse).map_err(|e| match e {
            Error::Corrupt { why, .. } => Error::BadInput {
                path: file.source.clone(),
                why,
            },
            other => Error::BadInput {
                path: file.source.clone(),
                why: format!("cannot open: {other}"),
            },
        })?;
    let mut reader = progress::Counted(handle);
    // A small file is read whole into the worker's buffer (for a regular file, one read
    // returns everything up to the end), then stored from memory; a file that fills the
    // buffer is streamed.
    buffer.resize(BLOCK, 0);
    let filled = fsutil::read_full(&mut reader, buffer).map_err(read_err)?;
    if let Some(to) = encrypt {
        let small = (filled < BLOCK).then(|| &buffer[..filled]);
        let mut rest = io::Cursor::new(&buffer[..filled]).chain(reader);
        let (outcome, info) =
            super::encrypted::store_encrypted(writer, &mut rest, small, to, &file.source)?;
        return Ok((outcome.digest, outcome.size, Some(info)));
    }
    let outcome = if filled < BLOCK {
        writer.put_bytes(&buffer[..filled])?
    } else {
        let head = io::Cursor::new(&buffer[..filled]);
        writer.put_stream(&mut head.chain(reader), &file.source)?
    };
    Ok((outcome.digest, outcome.size, None))
}

/// Whether the latest version `version` of `logical` already holds what `doc` would record: the
/// same stored object, or for an encrypted document the same open plaintext digest (a new
/// ciphertext of the same file is not a new version). A hidden digest cannot be compared, so
/// such a file is recorded again.
fn same_content(
    archive: &Archive,
    version: &PathVersion,
    doc: &DocumentRecord,
    logical: &str,
) -> bool {
    let Some(info) = &doc.encryption else {
        return version.content == doc.content && index_hit_holds(archive, version, logical);
    };
    let PlaintextBinding::Digest(plain) = &info.binding else {
        return false;
    };
    matches!(
        super::query::read_record(archive, &version.record),
        Ok(Record::Document(latest)) if latest.content == version.content
            && latest.path == logical
            && latest.encryption.as_ref().is_some_and(|l| l.binding == PlaintextBinding::Digest(*plain))
    )
}

/// Confirms an index entry against the record it names, so that a damaged or planted index
/// line cannot make `add` skip a file.
fn index_hit_holds(archive: &Archive, version: &PathVersion, logical: &str) -> bool {
    matches!(
        super::query::read_record(archive, &version.record),
        Ok(Record::Document(doc)) if doc.content == version.content && doc.path == logical
    )
}

fn guess_media_type(logical: &str) -> String {
    mime_guess::from_path(logical)
        .first_or_octet_stream()
        .essence_str()
        .to_string()
}

fn check_media_type_option(media_type: &str) -> Result<()> {
    let ok = media_type
        .split_once('/')
        .is_some_and(|(t, s)| !t.is_empty() && !s.is_empty() && !s.contains('/'))
        && !media_type
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidOption {
            option: "--media-type",
            value: media_type.to_string(),
            why: "expected type/subtype, e.g. text/html".into(),
        })
    }
}

/// Walks the inputs and decides what to ingest, refusing the command on any bad input.
/// `want_sizes`: stat every walked file for the progress bar's total (otherwise the size of a
/// walked file is 0 here, and workers learn it from the open file: a `stat` per file on this
/// one thread was a fifth of the planning time).
fn plan(
    archive: &Archive,
    inputs: &[PathBuf],
    relative_to: Option<&Path>,
    want_sizes: bool,
) -> Result<Plan> {
    let archive_root = fs::canonicalize(archive.root()).ok();
    let relative_to = relative_to
        .map(|dir| {
            fs::canonicalize(dir).map_err(|e| Error::InvalidOption {
                option: "--relative-to",
                value: dir.display().to_string(),
                why: format!("cannot resolve the directory: {e}"),
            })
        })
        .transpose()?;
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut bad: Vec<(PathBuf, String)> = Vec::new();
    for input in inputs {
        // Without its trailing slash: `lstat("link/")` would resolve the link and walk it.
        let named: PathBuf = input.components().collect();
        let meta = fs::symlink_metadata(&named).map_err(|e| Error::BadInput {
            path: input.clone(),
            why: format!("cannot read: {e}"),
        })?;
        let base = match &relative_to {
            Some(dir) => relative_parts(input, dir)?,
            None => vec![base_name(input)?],
        };
        if meta.file_type().is_symlink() {
            bad.push((input.clone(), symlink_refusal(&named)));
        } else if meta.is_file() {
            push_file(&mut files, &mut bad, input, base, meta.len());
        } else if meta.is_dir() {
            let walker = WalkDir::new(input)
                .follow_links(false)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|entry| {
                    let inside_archive = entry.file_type().is_dir()
                        && archive_root.is_some()
                        && fs::canonicalize(entry.path()).ok() == archive_root;
                    !inside_archive
                });
            for entry in walker {
                let entry = entry.map_err(|e| Error::BadInput {
                    path: e.path().map_or_else(|| input.clone(), Path::to_path_buf),
                    why: format!("cannot read: {e}"),
                })?;
                let kind = entry.file_type();
                if kind.is_dir() {
                    continue;
                }
                if kind.is_symlink() {
                    skipped.push(Skipped {
                        path: entry.path().to_path_buf(),
                        reason: "symbolic link, not followed".into(),
                    });
                    continue;
                }
                if !kind.is_file() {
                    skipped.push(Skipped {
                        path: entry.path().to_path_buf(),
                        reason: "not a regular file".into(),
                    });
                    continue;
                }
                let relative = entry.path().strip_prefix(input).unwrap_or(entry.path());
                let mut parts = base.clone();
                for component in relative.components() {
                    if let Component::Normal(part) = component {
                        parts.push(part.as_encoded_bytes().to_vec());
                    }
                }
                let size = match want_sizes {
                    true => entry.metadata().map(|m| m.len()).unwrap_or(0),
                    false => 0,
                };
                push_file(&mut files, &mut bad, entry.path(), parts, size);
            }
            if let Some(root) = &archive_root {
                if fs::canonicalize(input)
                    .ok()
                    .is_some_and(|i| root.starts_with(&i) && &i != root)
                {
                    skipped.push(Skipped {
                        path: archive.root().to_path_buf(),
                        reason: "the archive itself is never ingested".into(),
                    });
                }
            }
        } else {
            skipped.push(Skipped {
                path: input.clone(),
                reason: "not a regular file or directory".into(),
            });
        }
    }
    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    for file in &files {
        if let Some(first) = seen.insert(&file.logical, &file.source) {
            bad.push((
                file.source.clone(),
                format!(
                    "logical path '{}' is also given by {}; add them in separate commands or from a common parent directory",
                    file.logical,
                    first.display()
                ),
            ));
        }
    }
    if !bad.is_empty() {
        let list = bad
            .iter()
            // A name is shown escaped in full (a newline in it must not start a fake line).
            .map(|(p, why)| format!("  {}: {}", shown_path(p), term::escape(why)))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(Error::BadInputs {
            count: bad.len(),
            list,
        });
    }
    files.sort_by(|a, b| a.logical.cmp(&b.logical));
    Ok(Plan { files, skipped })
}

/// A path on this machine for a person: its exact bytes (`\xHH` where not UTF-8), escaped for
/// the terminal.
pub fn shown_path(path: &Path) -> String {
    term::escape(&path::display_bytes(path.as_os_str().as_encoded_bytes())).into_owned()
}

/// Why a symbolic link named as an input is refused, and what to add instead.
fn symlink_refusal(link: &Path) -> String {
    let target = fs::read_link(link)
        .map(|t| format!(" (it points to {})", t.display()))
        .unwrap_or_default();
    format!("is a symbolic link{target}; evidentia records files, not links: add the file it points to instead")
}

fn push_file(
    files: &mut Vec<Planned>,
    bad: &mut Vec<(PathBuf, String)>,
    source: &Path,
    parts: Vec<Vec<u8>>,
    size: u64,
) {
    let components: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    match path::from_name_bytes(&components) {
        Ok(named) => files.push(Planned {
            source: source.to_path_buf(),
            logical: named.path,
            original_name: named.original_name,
            original_path: named.original_path,
            size,
        }),
        Err(e) => bad.push((
            source.to_path_buf(),
            format!("unusable as a logical path: {e}"),
        )),
    }
}

/// The components of `input` below `dir` (`--relative-to`), as the bytes of their names.
fn relative_parts(input: &Path, dir: &Path) -> Result<Vec<Vec<u8>>> {
    // Resolve the parent only, so that a symlink given as input is not followed.
    let absolute = match (input.parent(), input.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            fs::canonicalize(parent).map(|p| p.join(name))
        }
        _ => fs::canonicalize(input),
    }
    .map_err(|e| Error::BadInput {
        path: input.to_path_buf(),
        why: format!("cannot resolve: {e}"),
    })?;
    let relative = absolute.strip_prefix(dir).map_err(|_| Error::BadInput {
        path: input.to_path_buf(),
        why: format!("is not inside --relative-to {}", dir.display()),
    })?;
    Ok(relative
        .components()
        .map(|c| c.as_os_str().as_encoded_bytes().to_vec())
        .collect())
}

/// The last name of an input path, resolving `.` and `..` so that `add .` names the directory.
fn base_name(input: &Path) -> Result<Vec<u8>> {
    let name = match input.file_name() {
        Some(name) => Some(name.to_os_string()),
        None => fs::canonicalize(input)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_os_string())),
    };
    name.map(|n| n.as_encoded_bytes().to_vec())
        .ok_or_else(|| Error::BadInput {
            path: input.to_path_buf(),
            why: "has no name to record it under; give --relative-to or name it differently".into(),
        })
}
