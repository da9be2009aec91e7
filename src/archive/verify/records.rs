//! Verification of the log: record objects, their encodings and references, document content,
//! and the stored tree.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::Path;

use rayon::prelude::*;

use crate::core::cbor::MAX_ENCODED_LEN;
use crate::core::digest::Digest;
use crate::core::merkle::{leaf_hash, MemoryTree};
use crate::core::record::{KeyAction, KeyRecord, Record, Relation};
use crate::error::{Error, Result};
use crate::progress::{self, Unit};

use super::super::log::Log;
use super::super::objects::{stream_object, ObjectCopy};
use super::super::Archive;
use super::copies::check_copies;
use super::VerifyReport;

/// What the checkpoint checks need to know about the log.
pub struct LogFacts {
    pub size: u64,
    /// Key records, with their log index, in log order (introductions, rotations, revocations).
    pub key_events: Vec<(u64, KeyRecord)>,
    /// The records' subjects, for the format-2 reference-map check of each checkpoint.
    pub refs: std::cell::RefCell<super::refs::RefsReplay>,
    /// The `case` records, in log order.
    pub case_titles: Vec<crate::archive::case::CaseTitle>,
}

/// Verification of the log and of encrypted content (`identity`: decrypt with it).
pub fn check_log_encrypted(
    archive: &Archive,
    report: &mut VerifyReport,
    tree: &mut MemoryTree,
    identity: Option<&super::encrypted::VerifyIdentity>,
) -> Result<LogFacts> {
    let (facts, encrypted, contents) = check_log(archive, report, tree)?;
    super::encrypted::check_encrypted(archive, report, &encrypted, &contents, identity)?;
    Ok(facts)
}

/// What one record contributed, as found on disk.
struct RecordCheck {
    leaf: Option<Digest>,
    record: Option<Record>,
    problem: Option<(String, &'static str, String)>,
}

/// The log's checks, in order: every record read and decoded (in parallel), then replayed in
/// log order (leaf, references, counts, key events), then the content, unreferenced objects and
/// the stored tree.
fn check_log(
    archive: &Archive,
    report: &mut VerifyReport,
    tree: &mut MemoryTree,
) -> Result<(
    LogFacts,
    super::encrypted::EncryptedReplay,
    BTreeMap<Digest, u64>,
)> {
    let log = archive.log()?;
    let size = log.size();
    report.records = size;
    let digests = log.record_digests(0, size)?;
    let stored_leaves = log.leaf_hashes(0, size)?;
    progress::stage("reading records", size, Unit::Items);
    let checks = read_records(archive, &digests);
    progress::check(super::not_finished)?;
    let mut replay = Replay::default();
    for (i, (check, id)) in checks.into_iter().zip(&digests).enumerate() {
        if let Some((item, code, detail)) = check.problem {
            report.problem(item, code, detail);
        }
        let leaf = check_leaf(report, i, check.leaf, stored_leaves.get(i).copied());
        tree.push(leaf);
        replay.refs.record(i as u64, &leaf, check.record.as_ref());
        if let Some(record) = check.record {
            replay.check_record(archive, report, i, id, record);
        }
    }
    replay.encrypted.extra_contents(&mut replay.contents);
    // Ciphertexts are hashed in the same read that checks them (encrypted.rs).
    let (encrypted, clear) = replay.encrypted.split_contents(&replay.contents);
    check_contents(archive, report, &clear)?;
    check_unreferenced(archive, report, &digests, &replay.contents)?;
    check_tree_levels(&log, tree, report);
    check_tree_root(&log, tree, size, report);
    let facts = LogFacts {
        size,
        key_events: replay.key_events,
        refs: std::cell::RefCell::new(replay.refs),
        case_titles: replay.case_titles,
    };
    Ok((facts, replay.encrypted, encrypted))
}

/// Every record object read (at most 1 MiB), hashed and decoded, in parallel.
fn read_records(archive: &Archive, digests: &[Digest]) -> Vec<RecordCheck> {
    let store = archive.store();
    digests
        .par_iter()
        .enumerate()
        .map(|(i, digest)| {
            progress::advance(1);
            if progress::interrupted() {
                // Stopping: the caller discards these checks.
                return RecordCheck {
                    leaf: None,
                    record: None,
                    problem: None,
                };
            }
            let item = format!("record #{i} ({digest})");
            let bytes = match store.read_verified(digest, MAX_ENCODED_LEN as u64) {
                Ok(bytes) => bytes,
                Err(e) => {
                    let code = match e {
                        Error::ObjectMissing { .. } => "record-missing",
                        Error::ObjectCorrupt { .. } => "record-corrupt",
                        _ => "record-unreadable",
                    };
                    return RecordCheck {
                        leaf: None,
                        record: None,
                        problem: Some((item, code, e.to_string())),
                    };
                }
            };
            let leaf = Some(leaf_hash(&bytes));
            match Record::decode(&bytes) {
                Ok(record) => RecordCheck {
                    leaf,
                    record: Some(record),
                    problem: None,
                },
                Err(e) => RecordCheck {
                    leaf,
                    record: None,
                    problem: Some((item, "record-invalid", e.to_string())),
                },
            }
        })
        .collect()
}

/// Record `i`'s leaf hash against the stored one; returns the leaf the tree is rebuilt with.
fn check_leaf(
    report: &mut VerifyReport,
    i: usize,
    computed: Option<Digest>,
    stored: Option<Digest>,
) -> Digest {
    match (computed, stored) {
        (Some(computed), Some(stored)) => {
            if computed != stored {
                report.problem(
                    format!("log/tree/00 entry #{i}"),
                    "tree-mismatch",
                    format!("stored leaf hash {stored} but the record hashes to {computed}"),
                );
            }
            computed
        }
        (Some(computed), None) => computed,
        // Without the record, the stored leaf keeps the rest of the tree checkable.
        (None, Some(stored)) => stored,
        (None, None) => Digest([0; 32]),
    }
}

/// What the replay of the log in order has seen so far.
#[derive(Default)]
struct Replay {
    /// Document contents with their sizes: what a later record may refer to by content.
    contents: BTreeMap<Digest, u64>,
    /// Earlier record ids with their kinds.
    kinds: HashMap<Digest, &'static str>,
    key_events: Vec<(u64, KeyRecord)>,
    refs: super::refs::RefsReplay,
    case_titles: Vec<crate::archive::case::CaseTitle>,
    encrypted: super::encrypted::EncryptedReplay,
    /// The latest `recipients` record so far: what `add --encrypt` and `rewrap` encrypt to.
    current_recipients: Option<Digest>,
}

impl Replay {
    /// One decoded record: its references point backwards, one content has one size, a key
    /// record's endorsement verifies; counted by kind.
    fn check_record(
        &mut self,
        archive: &Archive,
        report: &mut VerifyReport,
        i: usize,
        id: &Digest,
        record: Record,
    ) {
        let item = format!("record #{i} ({id})");
        for why in dangling_references(&record, &self.contents, &self.kinds) {
            report.problem(&item, "dangling-reference", why);
        }
        self.kinds.insert(*id, kind_label(&record));
        match record {
            Record::Document(doc) => {
                report.documents += 1;
                self.encrypted.document(&item, id, &doc);
                self.check_recipients_claim(report, &item, doc.encryption.as_ref());
                if let Some(previous) = self.contents.insert(doc.content, doc.size) {
                    if previous != doc.size {
                        report.problem(
                            &item,
                            "size-mismatch",
                            format!(
                                "content {} is listed with sizes {previous} and {}",
                                doc.content, doc.size
                            ),
                        );
                    }
                }
            }
            Record::Annotation(a) => {
                report.annotations += 1;
                self.encrypted.note(&item, &Record::Annotation(a));
            }
            Record::Custody(c) => {
                report.custody_events += 1;
                self.encrypted.note(&item, &Record::Custody(c));
            }
            Record::Retraction(_) => report.retractions += 1,
            Record::Metadata(_) => {}
            Record::Key(key) => {
                report.key_events += 1;
                if !key.endorsement_valid(archive.origin()) {
                    let who = match key.action {
                        KeyAction::Introduce => "the introduced key's own",
                        _ => "the previous key's",
                    };
                    report.problem(
                        &item,
                        "key-endorsement-invalid",
                        format!(
                            "{who} endorsement of {} does not verify for this archive",
                            key.key
                        ),
                    );
                }
                self.key_events.push((i as u64, *key));
            }
            Record::Case(case) => self.case_titles.push(crate::archive::case::CaseTitle {
                title: case.title,
                record: id.to_prefixed(),
                index: i as u64,
            }),
            Record::Recipients(_) => {
                self.encrypted.recipients_records += 1;
                self.current_recipients = Some(*id);
            }
            Record::Rewrap(rewrap) => {
                self.check_recipients_claim(report, &item, Some(&rewrap.encryption));
                if let Some(why) = self.encrypted.rewrap(&item, &rewrap) {
                    report.problem(&item, "rewrap-invalid", why);
                }
            }
            Record::Unknown { kind, .. } => report.warn(&item, "unknown-record-kind", format!(
                "{item} is of kind '{kind}', which this version cannot interpret; its integrity was still checked"
            )),
        }
    }
}

impl Replay {
    /// A ciphertext claiming a `recipients` record other than the latest one logged before it
    /// was encrypted to a set that had been replaced: keys removed since can read it. Not an
    /// accusation (a `recipients` change racing an `add` does it honestly): a warning, so that
    /// an edited derived index (`index/kinds/recipients`) cannot hide it.
    fn check_recipients_claim(
        &self,
        report: &mut VerifyReport,
        item: &str,
        info: Option<&crate::core::record::EncryptionInfo>,
    ) {
        let Some(claim) = info.and_then(|i| i.recipients) else {
            return;
        };
        if self.current_recipients != Some(claim) {
            let current = self
                .current_recipients
                .map_or_else(|| "none".to_string(), |c| c.to_prefixed());
            report.warn(
                item,
                "recipients-not-current",
                format!(
                    "encrypted to the recipients of record {}, but the latest recipients record before it is {current}: keys removed in between can read it (rewrap it with `evidentia rewrap`)",
                    claim.to_prefixed()
                ),
            );
        }
    }
}

/// Interior nodes serve proofs later; each must match the tree rebuilt from the records.
fn check_tree_levels(log: &Log, tree: &MemoryTree, report: &mut VerifyReport) {
    for level in 1..tree.height() {
        let item = format!("log/tree/{level:02}");
        match log.level_nodes(level as u32) {
            Ok(stored) => {
                if let Some(at) = stored
                    .iter()
                    .zip(tree.level(level))
                    .position(|(s, r)| s != r)
                {
                    report.problem(
                        item,
                        "tree-mismatch",
                        format!(
                            "stored node #{at} does not match the node rebuilt from the records"
                        ),
                    );
                }
            }
            Err(e) => report.problem(item, "tree-unreadable", e.to_string()),
        }
    }
}

/// The stored tree's root at `size` against the root rebuilt from the records.
fn check_tree_root(log: &Log, tree: &mut MemoryTree, size: u64, report: &mut VerifyReport) {
    if size == 0 {
        return;
    }
    let rebuilt = tree.root_at(size);
    match log.root(size) {
        Ok(root) if root == rebuilt => {}
        Ok(root) => report.problem(
            "log/tree",
            "tree-mismatch",
            format!("the stored tree's root is {root} but the records give {rebuilt}"),
        ),
        Err(e) => report.problem("log/tree", "tree-unreadable", e.to_string()),
    }
}

fn kind_label(record: &Record) -> &'static str {
    match record {
        Record::Document(_) => "document",
        Record::Annotation(_) => "annotation",
        Record::Retraction(_) => "retraction",
        Record::Custody(_) => "custody",
        Record::Key(_) => "key",
        Record::Metadata(_) => "metadata",
        Record::Case(_) => "case",
        Record::Recipients(_) => "recipients",
        Record::Rewrap(_) => "rewrap",
        Record::Unknown { .. } => "unknown",
    }
}

/// Each reference must name something earlier in the log, of the right kind: annotations and
/// custody events are about documents (by content); links name documents or records;
/// `supersedes` names an annotation; retractions name a document or annotation record;
/// metadata names a document record.
fn dangling_references(
    record: &Record,
    contents: &BTreeMap<Digest, u64>,
    kinds: &HashMap<Digest, &'static str>,
) -> Vec<String> {
    let is_document = |d: &Digest| contents.contains_key(d);
    let is_kind = |d: &Digest, allowed: &[&str]| kinds.get(d).is_some_and(|k| allowed.contains(k));
    let mut out = Vec::new();
    match record {
        Record::Annotation(a) => {
            if !is_document(&a.target) {
                out.push(format!(
                    "its target {} is not an earlier document's content",
                    a.target
                ));
            }
            for link in &a.links {
                let ok = match link.relation {
                    Relation::Supersedes => is_kind(&link.target, &["annotation"]),
                    _ => is_document(&link.target) || kinds.contains_key(&link.target),
                };
                if !ok {
                    out.push(format!(
                        "its '{}' link to {} names nothing suitable earlier in the log",
                        link.relation.as_str(),
                        link.target
                    ));
                }
            }
        }
        Record::Custody(c) => {
            for target in c.targets.iter().filter(|t| !is_document(t)) {
                out.push(format!(
                    "custody target {target} is not an earlier document's content"
                ));
            }
        }
        Record::Retraction(x) if !is_kind(&x.target, &["document", "annotation"]) => {
            out.push(format!(
                "retracts {}, which is not an earlier document or annotation record",
                x.target
            ));
        }
        Record::Metadata(m) if !is_kind(&m.target, &["document"]) => {
            out.push(format!(
                "adds metadata to {}, which is not an earlier document record",
                m.target
            ));
        }
        _ => {}
    }
    out
}

/// Re-hashes every document's content, in parallel.
fn check_contents(
    archive: &Archive,
    report: &mut VerifyReport,
    contents: &BTreeMap<Digest, u64>,
) -> Result<()> {
    type ContentCheck = (Digest, u64, Result<(Digest, u64)>);
    progress::stage("hashing contents", contents.values().sum(), Unit::Bytes);
    let results: Vec<ContentCheck> = crate::remote::with_io_threads(archive, || {
        contents
            .par_iter()
            .map(|(digest, size)| {
                progress::check(super::not_finished)?;
                let hashed = hash_object(archive, digest);
                progress::advance(*size);
                Ok((*digest, *size, hashed))
            })
            .collect::<Result<_>>()
    })?;
    for (digest, size, result) in results {
        report_content(report, &digest, size, result);
    }
    Ok(())
}

/// What hashing the stored content `digest` of recorded `size` found; returns whether the
/// stored bytes are that content.
pub(super) fn report_content(
    report: &mut VerifyReport,
    digest: &Digest,
    size: u64,
    hashed: Result<(Digest, u64)>,
) -> bool {
    let item = format!("document content {digest}");
    match hashed {
        Ok((found, found_size)) => {
            report.content_bytes += found_size;
            if found != *digest {
                report.problem(
                    item,
                    "content-corrupt",
                    format!("the stored bytes hash to {found}; the document was altered"),
                );
            } else if found_size != size {
                report.problem(
                    item,
                    "size-mismatch",
                    format!("{found_size} bytes stored but the record says {size}"),
                );
            } else {
                return true;
            }
        }
        Err(Error::ObjectMissing { .. }) => report.problem(
            item,
            "content-missing",
            "the object holding this document is missing",
        ),
        Err(e) => report.problem(item, "content-unreadable", e.to_string()),
    }
    false
}

/// Re-hashes the objects no record refers to. They are left by interrupted commands and are
/// harmless, so they produce warnings, not problems. Also checks every copy of an object held
/// more than once.
fn check_unreferenced(
    archive: &Archive,
    report: &mut VerifyReport,
    records: &[Digest],
    contents: &BTreeMap<Digest, u64>,
) -> Result<()> {
    let referenced: HashSet<&Digest> = records.iter().chain(contents.keys()).collect();
    let copies = match archive.fs_store().copies() {
        Ok(copies) => copies,
        Err(e) => {
            // A damaged pack index is reported by the pack checks; the log checks go on.
            report.problem("objects/", "objects-unreadable", e.to_string());
            return Ok(());
        }
    };
    let mut unreferenced: Vec<Digest> = copies
        .iter()
        .map(ObjectCopy::digest)
        .filter(|d| !referenced.contains(d))
        .collect();
    if let Some(remote) = archive.remote() {
        // On an object store, content objects are there, not in the replica.
        match remote.list_objects() {
            Ok(listed) => {
                unreferenced.extend(listed.into_iter().filter(|d| !referenced.contains(d)))
            }
            Err(e) => report.problem(remote.url(), "objects-unreadable", e.to_string()),
        }
    }
    unreferenced.sort();
    unreferenced.dedup();
    check_copies(archive.fs_store(), report, copies, records, contents);
    if unreferenced.is_empty() {
        return Ok(());
    }
    // Hash each one; an object that cannot be read is said to be unreadable, not altered.
    let damaged: Vec<(Digest, String)> = crate::remote::with_io_threads(archive, || {
        unreferenced
            .par_iter()
            .filter_map(|d| match hash_object(archive, d) {
                Ok((found, _)) if found == *d => None,
                Ok((found, _)) => Some((
                    *d,
                    format!(
                        "unreferenced object {d} does not match its name (it hashes to {found})"
                    ),
                )),
                Err(e) => Some((*d, format!("unreferenced object {d} cannot be read: {e}"))),
            })
            .collect()
    });
    // Records that could not be read leave their documents looking unreferenced: say so
    // rather than call them leftovers.
    let why = if report.core.has_problem("record-unreadable")
        || report.core.has_problem("record-corrupt")
    {
        "some may belong to the records that could not be read or were altered"
    } else {
        "left by an interrupted command; harmless"
    };
    report.warn(
        "objects/",
        "unreferenced-objects",
        format!(
            "{} stored object(s) are not referenced by any record ({why})",
            unreferenced.len()
        ),
    );
    for (digest, why) in damaged {
        report.warn(
            format!("object {digest}"),
            "unreferenced-object-corrupt",
            why,
        );
    }
    Ok(())
}

fn hash_object(archive: &Archive, digest: &Digest) -> Result<(Digest, u64)> {
    stream_object(
        archive.store(),
        digest,
        &mut io::sink(),
        Path::new("<check>"),
    )
}
