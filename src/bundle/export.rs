//! `export`: write a hand-over bundle for one checkpoint, disclosing only what was selected.
//!
//! Selection is by document. A disclosed document brings its document records, the annotations
//! on it, the custody events about it and the retractions of any of these — except records that
//! would reveal undisclosed material (an annotation linking to an undisclosed document, a
//! custody event also naming one), which are withheld and counted. Key records are always
//! disclosed: signer identities are not secret. Nothing else about undisclosed records leaves
//! the archive: the recipient learns only the tree size and the root.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use std::fs;
use std::path::{Path, PathBuf};

use crate::archive::append::append_records;
use crate::archive::checkpoints::StoredCheckpoint;
use crate::archive::fsutil;
use crate::archive::output;
use crate::archive::query::{self, LoggedRecord, Target};
use crate::archive::Archive;
use crate::core::digest::Digest;
use crate::core::record::{
    CustodyEvent, CustodyRecord, DocumentRecord, Header, HiddenFields, Record, MAX_CUSTODY_TARGETS,
};
use crate::core::timestamp::Timestamp;
use crate::error::{Error, Result};

pub(crate) use super::bagit::{hash_file, hash_file_counted};
use super::manifest::{
    BundleManifest, ConsistencyEntry, DisclosedDocument, Withheld, BUNDLE_FORMAT,
};
use super::report::{self, ReportInput};
use super::verify::{self, BundleVerifyOptions};
use super::{bagit, layout};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleFormat {
    Dir,
    Tar,
}

#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub out: PathBuf,
    /// Checkpoint to export (default: the latest).
    pub checkpoint: Option<u64>,
    /// Digests, prefixes, logical paths, or `tag:TAG`.
    pub select: Vec<String>,
    pub all: bool,
    pub recipient: Option<String>,
    /// Who exports, for the custody record.
    pub actor: String,
    pub format: BundleFormat,
    /// bag-info.txt fields the sender sets.
    pub bag_info: BagInfoFields,
    /// Encrypt every document file to these recipients (`--encrypt-to`), FORMAT.md §23.8.
    pub encrypt_to: Option<crate::crypt::Recipients>,
    /// Decrypts the documents stored encrypted in the selection (`--identity`), FORMAT.md §23.9.
    pub identity: Option<crate::archive::verify::encrypted::VerifyIdentity>,
}

#[derive(Debug, Clone)]
pub struct ExportOutcome {
    pub path: PathBuf,
    pub checkpoint: u64,
    pub tree_size: u64,
    pub documents: usize,
    pub records: usize,
    pub withheld: Withheld,
    /// The custody records that log the export: one per MAX_CUSTODY_TARGETS documents.
    pub custody_records: Vec<Digest>,
    /// SHA-256 of the checkpoint's text: what `verify BUNDLE --checkpoint-hash` takes, for the
    /// recipient to confirm with the sender out of band.
    pub checkpoint_text_sha256: Digest,
}

pub fn export(archive: &Archive, options: &ExportOptions) -> Result<ExportOutcome> {
    // A bundle is never written over anything (no --force): checked now, before the work, and
    // again by the rename that puts it in place.
    output::ensure_free(&options.out)?;
    options.bag_info.check()?;
    let store = archive.checkpoints();
    let stored = store.select(options.checkpoint)?;
    let parent = options
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let staging = tempfile::Builder::new()
        .prefix(".evidentia-export-")
        .tempdir_in(parent)
        .map_err(Error::io(parent))?;
    let root = staging.path();
    // The records, the manifest and the maps built from them are gone once this returns, so
    // the self-check below does not hold them beside its own.
    let written = write_bundle(archive, &stored, root, options)?;
    if crate::archive::failpoint::active("export-damage-staging") {
        write_file(
            &root.join("data/checkpoint"),
            b"damaged before the self-check\n",
        )?;
    }
    // Verify what was written, exactly as a recipient will, and put the verdict in the report.
    // Every check a recipient makes, with the documents' digests from the read-back.
    let verdict = verify::verify_written(
        root,
        &BundleVerifyOptions {
            trust: crate::verification::Trust::ArchiveKeys,
            require: 1,
            checkpoint_hash: None,
            recipient: Default::default(),
            identity: None,
        },
        &written.read_back,
    )?;
    if !verdict.core.ok() {
        // Nothing is left at --out: the staging directory is removed when it drops.
        return Err(Error::ExportSelfCheck {
            out: options.out.clone(),
            problems: self_check_problems(&verdict),
        });
    }
    // Only the entry page shows the verdict: it and the tag manifest are all that change.
    write_entry_page(root, &written, &stored, &verdict)?;
    // Its error, if any, is the final sync's too, which reports it with the path.
    let _ = written.early_flush.join();
    fsutil::sync_filesystem(root)?;
    crate::progress::check(String::new)?; // the last point before anything is placed
    crate::archive::failpoint::hit("export-before-place");

    let path = match options.format {
        BundleFormat::Dir => {
            output::place_dir(root, &options.out)?;
            // The staging directory is gone; keep its guard from looking for it.
            let _ = staging.keep();
            options.out.clone()
        }
        BundleFormat::Tar => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            packing::write_tar(root, &options.out, now)?;
            options.out.clone()
        }
    };

    // The export is itself a handling of the evidence: log it. A bundle whose export cannot be
    // logged is taken back, so that no bundle is handed over without its custody record.
    crate::archive::failpoint::hit("export-before-custody");
    let custody = export_events(&written.selected, options, &written.summary);
    let logged = archive.lock().and_then(|lock| {
        let mut log = archive.log()?;
        append_records(archive, &lock, &mut log, &custody)
    });
    let custody_records = match logged {
        Ok(records) => records,
        // The record is in place (only its durability is unconfirmed): the bundle stays.
        Err(e @ Error::NotDurable { .. }) => return Err(e),
        Err(e) => {
            let removed = match options.format {
                BundleFormat::Dir => fs::remove_dir_all(&path),
                BundleFormat::Tar => fs::remove_file(&path),
            };
            return Err(Error::ExportNotLogged {
                out: path,
                removed: removed.is_ok(),
                source: Box::new(e),
            });
        }
    };
    Ok(ExportOutcome {
        path,
        checkpoint: written.summary.checkpoint,
        tree_size: written.summary.tree_size,
        documents: written.summary.documents,
        records: written.summary.records,
        withheld: written.withheld,
        custody_records,
        checkpoint_text_sha256: stored.checkpoint.text_hash(),
    })
}

/// The self-check's problems for the error message: the first few in full and a count of the
/// rest (a damaged archive can fail every record, and one line of 20,000 problems helps no
/// one; `evidentia verify` on the archive lists them all).
fn self_check_problems(verdict: &verify::BundleReport) -> String {
    const SHOWN: usize = 5;
    let mut found: Vec<String> = (verdict.core.problems().take(SHOWN))
        .map(|p| format!("[{}] {}: {}", p.code, p.item, p.detail))
        .collect();
    let more = verdict.core.problems().count().saturating_sub(SHOWN);
    if more > 0 {
        found.push(format!("and {more} more problem(s)"));
    }
    found.join("; ")
}

/// The counts an export reports and logs.
struct Summary {
    checkpoint: u64,
    tree_size: u64,
    documents: usize,
    records: usize,
    /// Documents stored encrypted that were decrypted for the bundle.
    decrypted: usize,
    /// Sealed records whose fields were decrypted for the bundle.
    sealed_revealed: usize,
}

/// What export keeps of a written bundle while it verifies it.
struct Written {
    /// The selected documents' contents, in log order, for the custody records.
    selected: Vec<Digest>,
    withheld: Withheld,
    summary: Summary,
    /// The report, less the entry page's self-check.
    report: report::Rendered,
    /// (hex SHA-256, name) of every tag file but report.html and the tag manifest.
    tags: Vec<(String, String)>,
    /// The sync started once the documents were written (see [`write_bundle`]).
    early_flush: std::thread::JoinHandle<Result<()>>,
    /// What each document file held when read back right after it was written.
    read_back: ReadBack,
}

/// Bundle path of each document file → SHA-256 and length of the bytes read back from it
/// through its creating handle, right after it was written. The self-check takes these instead
/// of reading every document a second time. They are what the file holds when the bundle is
/// placed: each document file is created exclusively (`O_EXCL`, so no path is written twice,
/// not even by two names one file system takes as the same) and written only through that
/// handle, before it is read back; nothing writes under data/ afterwards.
pub(crate) type ReadBack = HashMap<String, (Digest, u64)>;

/// Writes the whole bundle into `root`, with a report whose self-check is pending.
fn write_bundle(
    archive: &Archive,
    stored: &StoredCheckpoint,
    root: &Path,
    options: &ExportOptions,
) -> Result<Written> {
    let size = stored.checkpoint.size;
    let (log, index) = archive.current_index()?;
    if log.root(size)? != stored.checkpoint.root {
        return Err(Error::Corrupt {
            path: stored.path.clone(),
            why: "the log no longer matches this checkpoint; run `evidentia verify`".into(),
        });
    }
    let records: Vec<LoggedRecord> = query::records(archive)?
        .into_iter()
        .filter(|r| r.index < size)
        .collect();

    let selected = select(archive, &log, &index, &records, options)?;
    let (disclosed, withheld) = disclose(&records, &selected);

    let ids: Vec<(Digest, &Record)> = disclosed.iter().map(|r| (r.id, &r.record)).collect();
    let completeness =
        super::completeness::for_checkpoint(archive, &log, &stored.checkpoint, &ids, &records)?;
    drop(ids);
    let (manifest, read_back, revealed) = write_payload(
        archive,
        &log,
        root,
        stored,
        &disclosed,
        withheld.clone(),
        completeness,
        options,
    )?;
    // Start writing the documents to disk while the rest of the bundle is made and the
    // self-check reads it from the page cache: the sync before placing the bundle then finds
    // little left (it took 0.8-1.5 s at 20,000 documents when it began after the self-check).
    // That later sync, after the last write, is the one that makes the bundle durable; this
    // one only moves the disk's work earlier, so its outcome is never relied on.
    let early_flush = {
        let root = root.to_path_buf();
        std::thread::spawn(move || fsutil::sync_filesystem(&root))
    };
    // The payload is final: hash what was not written from checked bytes.
    // An encrypted or decrypted file is listed under the digest of the bytes written, read
    // back (a decrypted plaintext was checked against its record on the way).
    let known: HashMap<String, String> = (manifest.documents.iter())
        .map(|d| match (&manifest.encryption, read_back.get(&d.file)) {
            (Some(_), Some((written, _))) => (d.file.clone(), written.to_hex()),
            (None, Some((written, _))) if d.decrypted.is_some() => {
                (d.file.clone(), written.to_hex())
            }
            _ => (d.file.clone(), d.content.clone()),
        })
        .chain(
            (manifest.records.iter())
                .map(|r| (format!("data/records/{}.cbor", r.id), r.id.clone())),
        )
        .collect();
    // The report shows the fields decrypted for the bundle.
    let mut revealed = revealed;
    let decoded: Vec<(u64, Digest, Record)> = disclosed
        .iter()
        .map(|r| {
            let mut record = r.record.clone();
            if let Some(fields) = revealed.remove(&r.id) {
                crate::archive::sealed_notes::fill(&mut record, fields);
            }
            (r.index, r.id, record)
        })
        .collect();
    drop(disclosed);
    drop(records);
    // The payload's files are hashed while the report is rendered: neither needs the other.
    let (payload, mut report) = rayon::join(
        || hash_tree(root, "data", &known),
        || {
            let images = report::thumbnail::sizes(root, &manifest, &decoded);
            report::Rendered::new(&ReportInput {
                manifest: &manifest,
                checkpoint: &stored.checkpoint,
                note: &stored.note,
                records: &decoded,
                verdict: &verify::BundleReport::pending(),
                images: &images,
            })
        },
    );
    let payload = payload?;
    drop(known);
    let tags = write_tag_files(
        root,
        &payload,
        &manifest,
        stored,
        &mut report,
        &options.bag_info,
    )?;
    let written = Written {
        selected,
        withheld,
        summary: Summary {
            checkpoint: manifest.checkpoint,
            tree_size: manifest.tree_size,
            documents: manifest.documents.len(),
            records: manifest.records.len(),
            decrypted: (manifest.documents.iter())
                .filter(|d| d.decrypted.is_some())
                .count(),
            sealed_revealed: (manifest.sealed.iter())
                .filter(|s| s.form != super::sealed::Form::Stored.name())
                .count(),
        },
        report,
        tags,
        early_flush,
        read_back,
    };
    write_entry_page(root, &written, stored, &verify::BundleReport::pending())?;
    Ok(written)
}

/// The `exported` custody records of a bundle. One record names at most MAX_CUSTODY_TARGETS
/// documents, so a larger bundle is logged as consecutive parts (FORMAT.md §4.7), which the
/// caller appends together.
fn export_events(selected: &[Digest], options: &ExportOptions, summary: &Summary) -> Vec<Record> {
    let parts = selected.chunks(MAX_CUSTODY_TARGETS).count();
    selected
        .chunks(MAX_CUSTODY_TARGETS)
        .enumerate()
        .map(|(i, targets)| {
            let part = if parts > 1 {
                format!(", part {} of {parts}", i + 1)
            } else {
                String::new()
            };
            Record::Custody(Box::new(CustodyRecord {
                header: Header::now(),
                targets: targets.to_vec(),
                event: CustodyEvent::Exported,
                actor: options.actor.clone(),
                from: None,
                to: options.recipient.clone(),
                note: Some(format!(
                    "hand-over bundle: {} document(s), {} record(s), checkpoint {}{part}{}{}{}",
                    summary.documents,
                    summary.records,
                    summary.checkpoint,
                    super::encrypted::custody_note(options.encrypt_to.as_ref()),
                    decrypt::custody_note(
                        summary.decrypted,
                        options.identity.as_ref(),
                        options.encrypt_to.is_some()
                    ),
                    sealed::custody_note(summary.sealed_revealed, options.encrypt_to.is_some())
                )),
                at: None,
                sealed: None,
            }))
        })
        .collect()
}

/// Content digests of the selected documents, in log order.
fn select(
    archive: &Archive,
    log: &crate::archive::log::Log,
    index: &crate::archive::index::PathIndex,
    records: &[LoggedRecord],
    options: &ExportOptions,
) -> Result<Vec<Digest>> {
    let sealed_in_order: Vec<Digest> = records
        .iter()
        .filter_map(|r| match &r.record {
            Record::Document(d) => Some(d.content),
            _ => None,
        })
        .collect();
    let sealed: HashSet<Digest> = sealed_in_order.iter().copied().collect();
    let mut wanted: HashSet<Digest> = HashSet::new();
    if options.all {
        wanted.extend(sealed.iter().copied());
    }
    for item in &options.select {
        if let Some(tag) = item.strip_prefix("tag:") {
            let tagged: Vec<Digest> = records
                .iter()
                .filter_map(|r| match &r.record {
                    Record::Document(d) if d.collection.tags.iter().any(|t| t == tag) => {
                        Some(d.content)
                    }
                    _ => None,
                })
                .collect();
            if tagged.is_empty() {
                return Err(Error::UnknownId {
                    id: format!("{item} (no sealed document has this tag)"),
                });
            }
            wanted.extend(tagged);
            continue;
        }
        let content =
            match query::resolve_target(archive, log, index, item)? {
                Target::Document { content, .. } => content,
                Target::Record { record, .. } => match *record {
                    Record::Document(doc) => doc.content,
                    other => return Err(Error::WrongTarget {
                        id: item.clone(),
                        what: format!("a '{}' record", other.kind()),
                        hint:
                            "select documents; their annotations and custody events come with them",
                    }),
                },
            };
        if !sealed.contains(&content) {
            return Err(Error::WrongTarget {
                id: item.clone(),
                what: "not sealed by the chosen checkpoint".into(),
                hint: "run `evidentia seal`, or choose a later --checkpoint",
            });
        }
        wanted.insert(content);
    }
    if wanted.is_empty() {
        return Err(Error::InvalidOption {
            option: "--select",
            value: String::new(),
            why: "nothing selected: give --select ID|PATH|tag:TAG (repeatable) or --all".into(),
        });
    }
    // A version is never handed over without the versions of its path that replace it, so the
    // latest disclosed version of a path is its current one in this checkpoint (FORMAT.md §17).
    // Repeated until nothing changes: a content pulled in may also sit at an earlier path.
    loop {
        let before = wanted.len();
        let mut later_paths: HashSet<&str> = HashSet::new();
        for r in records {
            if let Record::Document(d) = &r.record {
                if wanted.contains(&d.content) {
                    later_paths.insert(&d.path);
                } else if later_paths.contains(d.path.as_str()) {
                    wanted.insert(d.content);
                }
            }
        }
        if wanted.len() == before {
            break;
        }
    }
    let mut placed = HashSet::new();
    Ok(sealed_in_order
        .into_iter()
        .filter(|content| wanted.contains(content) && placed.insert(*content))
        .collect())
}

/// Decides which records go into the bundle.
fn disclose<'a>(
    records: &'a [LoggedRecord],
    selected: &[Digest],
) -> (Vec<&'a LoggedRecord>, Withheld) {
    let contents: HashSet<Digest> = selected.iter().copied().collect();
    let mut ids: HashSet<Digest> = HashSet::new();
    let mut out = Vec::new();
    let mut withheld = Withheld::default();
    for r in records {
        let include = match &r.record {
            Record::Document(d) => contents.contains(&d.content),
            Record::Annotation(a) if contents.contains(&a.target) => {
                let safe = a
                    .links
                    .iter()
                    .all(|l| contents.contains(&l.target) || ids.contains(&l.target));
                if !safe {
                    withheld.annotations += 1;
                }
                safe
            }
            Record::Custody(c) if c.targets.iter().any(|t| contents.contains(t)) => {
                let safe = c.targets.iter().all(|t| contents.contains(t));
                if !safe {
                    withheld.custody_events += 1;
                }
                safe
            }
            Record::Retraction(x) if ids.contains(&x.target) => true,
            // Metadata added later to a disclosed document record goes with it.
            Record::Metadata(m) if ids.contains(&m.target) => true,
            Record::Key(_) | Record::Case(_) => true,
            _ => false,
        };
        if include {
            ids.insert(r.id);
            out.push(r);
        }
    }
    // Retractions of withheld records would point at nothing disclosed; they stay behind too.
    let annotations_on_selected: HashSet<Digest> = records
        .iter()
        .filter(|r| matches!(&r.record, Record::Annotation(a) if contents.contains(&a.target)))
        .map(|r| r.id)
        .collect();
    withheld.retractions = records
        .iter()
        .filter(|r| matches!(&r.record, Record::Retraction(x) if !ids.contains(&x.target) && annotations_on_selected.contains(&x.target)))
        .count() as u64;
    (out, withheld)
}

/// Creates each distinct directory (relative to `root`) once.
fn make_dirs<P: AsRef<Path>>(root: &Path, dirs: impl IntoIterator<Item = P>) -> Result<()> {
    let mut made: HashSet<PathBuf> = HashSet::new();
    for dir in dirs {
        let dir = root.join(dir);
        if !made.contains(&dir) {
            fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
            made.insert(dir);
        }
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(Error::io(parent))?;
    }
    fs::write(path, bytes).map_err(Error::io(path))
}

/// Writes `data/` and returns the manifest.
#[allow(clippy::too_many_arguments)]
fn write_payload(
    archive: &Archive,
    log: &crate::archive::log::Log,
    root: &Path,
    stored: &StoredCheckpoint,
    disclosed: &[&LoggedRecord],
    withheld: Withheld,
    completeness: Option<super::completeness::Completeness>,
    options: &ExportOptions,
) -> Result<(BundleManifest, ReadBack, HashMap<Digest, HiddenFields>)> {
    let size = stored.checkpoint.size;
    let checkpoint_bytes = fsutil::read_stored(
        &stored.path,
        crate::archive::checkpoints::MAX_CHECKPOINT_FILE,
    )?;
    write_file(&root.join("data/checkpoint"), &checkpoint_bytes)?;
    for key in archive.known_keys()? {
        write_file(
            &root.join(format!("data/keys/{}", crate::archive::key_file_name(&key))),
            format!("{key}\n").as_bytes(),
        )?;
    }
    // Time-stamp tokens travel with the checkpoint, certificates included.
    for (name, bytes) in crate::timestamp::tokens(archive, stored.checkpoint.number)? {
        write_file(&root.join(format!("data/timestamps/{name}")), &bytes)?;
    }
    // Each document goes where its record dictates (layout.rs), which the verifier recomputes.
    let docs: Vec<(Digest, &DocumentRecord)> = disclosed
        .iter()
        .filter_map(|r| match &r.record {
            Record::Document(doc) => Some((r.id, doc.as_ref())),
            _ => None,
        })
        .collect();
    decrypt::require_identity(&docs, options.identity.as_ref())?;
    let suffix = match options.encrypt_to {
        Some(_) => super::encrypted::SUFFIX,
        None => "",
    };
    let places = layout::place_with(&docs, suffix);
    make_dirs(
        root,
        places
            .iter()
            .filter_map(|place| Path::new(&place.file).parent()),
    )?;
    // The record files and inclusion proofs are made while the documents copy: the copies
    // wait on file creation much of the time, which leaves a core to the records.
    let (records, copied) = rayon::join(
        || records::write(archive, log, root, stored, disclosed),
        || copy::copy_documents(archive, root, &docs, &places, options),
    );
    let (records, (read_back, mut decrypted)) = (records?, copied?);
    let sealed = sealed::write(archive, root, disclosed, options)?;
    let documents: Vec<DisclosedDocument> = docs
        .iter()
        .zip(places)
        .map(|((_, doc), place)| DisclosedDocument {
            record: place.record.to_hex(),
            content: doc.content.to_hex(),
            size: doc.size,
            path: doc.path.clone(),
            decrypted: decrypted.remove(&place.file),
            file: place.file,
        })
        .collect();
    let mut consistency = Vec::new();
    for earlier in crate::archive::query::checkpoints(archive)? {
        let cp = &earlier.checkpoint;
        if cp.number >= stored.checkpoint.number || cp.size == 0 || cp.size >= size {
            continue;
        }
        let proof = crate::audit::consistency::proof_between(archive, cp.size, size)?;
        consistency.push(ConsistencyEntry {
            checkpoint: cp.number,
            size: cp.size,
            root: cp.root.to_hex(),
            proof: proof.iter().map(|&d| d.into()).collect(),
        });
    }
    let manifest = BundleManifest {
        format: if completeness.is_some() {
            BUNDLE_FORMAT
        } else {
            super::manifest::BUNDLE_FORMAT_1
        }
        .into(),
        origin: archive.origin().to_string(),
        checkpoint: stored.checkpoint.number,
        tree_size: size,
        exported_at: Timestamp::now().to_string(),
        recipient: options.recipient.clone(),
        records,
        documents,
        withheld,
        consistency,
        completeness,
        encryption: (options.encrypt_to.as_ref()).map(|r| super::manifest::BundleEncryption {
            scheme: super::manifest::ENCRYPTION_SCHEME.into(),
            recipients: r.len() as u64,
        }),
        sealed: sealed.files,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::BadInput {
        path: root.join("data/bundle.json"),
        why: e.to_string(),
    })?;
    write_file(&root.join("data/bundle.json"), &json)?;
    Ok((manifest, read_back, sealed.revealed))
}

/// A payload file: (hex SHA-256, path relative to the bundle root, size).
type PayloadFile = (String, String, u64);

/// Hashes every file under `dir` in parallel, in file-name order, except those in `known`
/// (relative path → digest): record files written from bytes whose digest was checked, and
/// documents listed under the digest their record names. The self-check re-hashes everything,
/// as a recipient will, so a document copied from a damaged object fails it.
fn hash_tree(root: &Path, dir: &str, known: &HashMap<String, String>) -> Result<Vec<PayloadFile>> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(root.join(dir)).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::BadInput {
            path: root.to_path_buf(),
            why: e.to_string(),
        })?;
        if entry.file_type().is_file() {
            files.push(entry.into_path());
        }
    }
    files
        .par_iter()
        .map(|path| {
            let relative = path.strip_prefix(root).unwrap_or(path);
            let size = fs::metadata(path).map_err(Error::io(path))?.len();
            let relative = relative.to_string_lossy().into_owned();
            let hex = match known.get(&relative) {
                Some(hex) => hex.clone(),
                None => hash_file(path)?.to_hex(),
            };
            Ok((hex, relative, size))
        })
        .collect()
}

/// Writes the BagIt files, SHA256SUMS, VERIFY.txt and the report's detail pages; returns their
/// digests for the tag manifest, which [`write_entry_page`] writes with the entry page.
fn write_tag_files(
    root: &Path,
    payload: &[PayloadFile],
    manifest: &BundleManifest,
    stored: &StoredCheckpoint,
    report: &mut report::Rendered,
    bag_info: &BagInfoFields,
) -> Result<Vec<(String, String)>> {
    let bytes: u64 = payload.iter().map(|(_, _, size)| size).sum();
    let payload: Vec<(String, String)> = payload
        .iter()
        .map(|(hex, path, _)| (hex.clone(), path.clone()))
        .collect();
    write_file(&root.join("bagit.txt"), bagit::BAGIT_TXT.as_bytes())?;
    write_file(
        &root.join("manifest-sha256.txt"),
        bagit::manifest(&payload).as_bytes(),
    )?;
    write_file(
        &root.join("SHA256SUMS"),
        bagit::sha256sums(&payload).as_bytes(),
    )?;
    let info = packing::bag_info(bag_info, manifest, bytes, payload.len());
    write_file(&root.join("bag-info.txt"), info.as_bytes())?;
    write_file(
        &root.join("VERIFY.txt"),
        packing::verify_text(manifest, stored).as_bytes(),
    )?;
    // The by-hand checker travels with the bundle, so a recipient without evidentia has it.
    write_file(
        &root.join("verify-bundle.py"),
        include_str!("../../docs/verify-bundle.py").as_bytes(),
    )?;
    let mut tags = Vec::new();
    for name in [
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha256.txt",
        "SHA256SUMS",
        "VERIFY.txt",
        "verify-bundle.py",
    ] {
        tags.push((hash_file(&root.join(name))?.to_hex(), name.to_string()));
    }
    // The detail pages, when the report has them (report/0001.html …).
    for (name, html) in report.details.drain(..) {
        write_file(&root.join(&name), html.as_bytes())?;
        tags.push((Digest::of(html.as_bytes()).to_hex(), name));
    }
    Ok(tags)
}

/// Writes report.html with `verdict` as its self-check, then the tag manifest, last.
fn write_entry_page(
    root: &Path,
    written: &Written,
    stored: &StoredCheckpoint,
    verdict: &verify::BundleReport,
) -> Result<()> {
    let entry = written.report.entry(&stored.note, verdict);
    write_file(&root.join("report.html"), entry.as_bytes())?;
    let mut tags = written.tags.clone();
    tags.push((Digest::of(entry.as_bytes()).to_hex(), "report.html".into()));
    write_file(
        &root.join("tagmanifest-sha256.txt"),
        bagit::manifest(&tags).as_bytes(),
    )
}

mod copy;
mod decrypt;
mod nodes;
mod packing;
mod records;
mod sealed;
pub use packing::{tar_top_directory, BagInfoFields};
#[cfg(test)]
mod tests;
