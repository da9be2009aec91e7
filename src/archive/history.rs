//! Reading the story of an item: its chain of custody in time order, and the state of every
//! annotation (active, superseded, retracted), with the checkpoints that sealed them.

use std::collections::{HashMap, HashSet};

use crate::core::digest::Digest;
use crate::core::record::{AnnotationRecord, Record, Relation};
use crate::core::timestamp::Timestamp;
use crate::error::{Error, Result};

use super::checkpoints::StoredCheckpoint;
use super::query::{self, LoggedRecord, Target};
use super::{sealed_notes, Archive};

/// The checkpoint that first covered a record.
#[derive(Debug, Clone)]
pub struct Seal {
    pub number: u64,
    pub time: Timestamp,
    /// Its signature lines (name and key id of each signer).
    pub signers: Vec<crate::core::note::NoteSignature>,
}

fn first_seal(checkpoints: &[StoredCheckpoint], index: u64) -> Option<Seal> {
    checkpoints
        .iter()
        .find(|c| c.checkpoint.size > index)
        .map(|c| Seal {
            number: c.checkpoint.number,
            time: c.checkpoint.time,
            signers: c.note.signatures.clone(),
        })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnnotationState {
    Active,
    Superseded { by: Digest },
    Retracted { reason: String, by: Digest },
}

#[derive(Debug, Clone)]
pub struct AnnotationView {
    pub index: u64,
    pub id: Digest,
    pub annotation: AnnotationRecord,
    pub document_path: Option<String>,
    pub state: AnnotationState,
    pub sealed: Option<Seal>,
}

/// Annotations (all, or those on one document), newest first.
pub fn annotations(archive: &Archive, target: Option<&str>) -> Result<Vec<AnnotationView>> {
    let only = match target {
        Some(text) => Some(document_contents(archive, text)?),
        None => None,
    };
    let records = query::records(archive)?;
    let checkpoints = query::checkpoints(archive)?;
    let mut paths: HashMap<Digest, String> = HashMap::new();
    let mut superseded: HashMap<Digest, Digest> = HashMap::new();
    let mut retracted: HashMap<Digest, (String, Digest)> = HashMap::new();
    for r in &records {
        match &r.record {
            Record::Document(d) => {
                paths.insert(d.content, d.path.clone());
            }
            Record::Annotation(a) => {
                for old in a.supersedes() {
                    superseded.entry(*old).or_insert(r.id);
                }
            }
            Record::Retraction(x) => {
                retracted
                    .entry(x.target)
                    .or_insert((x.reason.clone(), r.id));
            }
            _ => {}
        }
    }
    let mut views: Vec<AnnotationView> = records
        .iter()
        .filter_map(|r| match &r.record {
            Record::Annotation(a) if only.as_ref().is_none_or(|c| c.contains(&a.target)) => {
                Some(AnnotationView {
                    index: r.index,
                    id: r.id,
                    annotation: (**a).clone(),
                    document_path: paths.get(&a.target).cloned(),
                    state: match (retracted.get(&r.id), superseded.get(&r.id)) {
                        (Some((reason, by)), _) => AnnotationState::Retracted {
                            reason: reason.clone(),
                            by: *by,
                        },
                        (None, Some(by)) => AnnotationState::Superseded { by: *by },
                        (None, None) => AnnotationState::Active,
                    },
                    sealed: first_seal(&checkpoints, r.index),
                })
            }
            _ => None,
        })
        .collect();
    views.reverse();
    Ok(views)
}

/// Resolves TARGET to a document's contents: for a logical path, the content of every
/// version recorded under it (oldest first, the current one last), so that what was said
/// about an earlier version is not lost when the path is recorded again.
fn document_contents(archive: &Archive, text: &str) -> Result<Vec<Digest>> {
    let (log, index) = archive.current_index()?;
    match query::resolve_target(archive, &log, &index, text)? {
        Target::Document { content, .. } => {
            let mut contents = Vec::new();
            for (version, _) in query::confirmed_versions(archive, text)? {
                if !contents.contains(&version) {
                    contents.push(version);
                }
            }
            // Named by digest (or the path's versions could not be confirmed): that content.
            contents.retain(|c| *c != content);
            contents.push(content);
            Ok(contents)
        }
        Target::Record { record, .. } => match *record {
            Record::Document(doc) => Ok(vec![doc.content]),
            other => Err(Error::WrongTarget {
                id: text.to_string(),
                what: format!("a '{}' record", other.kind()),
                hint: "give a document's digest or logical path",
            }),
        },
    }
}

#[derive(Debug, Clone)]
pub struct HistoryEvent {
    pub time: Timestamp,
    /// collected, ingested, annotated, linked, custody event names, retracted, sealed.
    pub event: String,
    pub detail: String,
    pub record: Option<Digest>,
}

#[derive(Debug, Clone)]
pub struct History {
    /// The content of the latest version.
    pub content: Digest,
    /// Every version's content, oldest first (one, unless a path was recorded again).
    pub contents: Vec<Digest>,
    pub paths: Vec<String>,
    pub events: Vec<HistoryEvent>,
    /// Sealed records left encrypted with an identity, and why (`Copied`: they repeat an
    /// earlier record's sealed fields, see `sealed_notes::SealedOrigins`; `Unopened`;
    /// `Mismatched`), with their kind and id.
    pub sealed_left: Vec<(sealed_notes::Reveal, &'static str, Digest)>,
}

/// The full chain of custody of a document (of every version, for a logical path), in time
/// order.
/// With `identities`, the encrypted fields of the annotations and custody events about it
/// are decrypted and checked (FORMAT.md §23.10) and shown; without, they read "[encrypted]".
pub fn history(
    archive: &Archive,
    target: &str,
    identities: Option<&crate::crypt::Identities>,
) -> Result<History> {
    let contents = document_contents(archive, target)?;
    let versions = contents.len();
    let content = *contents.last().ok_or_else(|| Error::UnknownId {
        id: target.to_string(),
    })?;
    let mut records = query::records(archive)?;
    let about_it = |r: &LoggedRecord| match &r.record {
        Record::Annotation(a) => contents.contains(&a.target),
        Record::Custody(c) => c.targets.iter().any(|t| contents.contains(t)),
        _ => false,
    };
    let mut sealed_left = Vec::new();
    if identities.is_some() {
        // A copy shares its original's kind and targets, so it is among the records about it.
        let origins = sealed_notes::SealedOrigins::of(
            records
                .iter()
                .filter(|r| about_it(r))
                .map(|r| (r.index, sealed_notes::sealed_of(&r.record))),
        );
        for r in records.iter_mut().filter(|r| about_it(r)) {
            let outcome =
                sealed_notes::reveal_listed(archive, identities, &origins, r.index, &mut r.record)?;
            if outcome.left_encrypted() {
                sealed_left.push((outcome, sealed_notes::context_of(&r.record).0, r.id));
            }
        }
    }
    let checkpoints = query::checkpoints(archive)?;
    // Each event with its place in the log: 2i+1 for record i, 2n for a checkpoint of size n
    // (after record n-1, before record n), so that events in the same second keep log order.
    let mut events: Vec<(u64, HistoryEvent)> = Vec::new();
    let mut paths = Vec::new();
    // Records that belong to this item: its document records and the annotations on it.
    let mut own: HashSet<Digest> = HashSet::new();
    let mut covered: Vec<u64> = Vec::new();
    let push =
        |events: &mut Vec<(u64, HistoryEvent)>, r: &LoggedRecord, time, event: &str, detail| {
            events.push((
                r.index.saturating_mul(2).saturating_add(1),
                HistoryEvent {
                    time,
                    event: event.to_string(),
                    detail,
                    record: Some(r.id),
                },
            ))
        };
    for r in &records {
        let at = r.record.recorded_at();
        match &r.record {
            Record::Document(d) if contents.contains(&d.content) => {
                own.insert(r.id);
                covered.push(r.index);
                if !paths.contains(&d.path) {
                    paths.push(d.path.clone());
                }
                let c = &d.collection;
                if let Some(collected) = c.collected_at {
                    let mut detail = format!(
                        "by {}",
                        c.collector.as_deref().unwrap_or("(collector not recorded)")
                    );
                    if let Some(tool) = &c.tool {
                        detail.push_str(&format!(" with {tool}"));
                    }
                    if let Some(url) = &c.source_url {
                        detail.push_str(&format!(" from {url}"));
                    }
                    if c.collected_offset.is_some() {
                        let local = collected.at_offset(c.collected_offset);
                        detail.push_str(&format!(" (given as {local})"));
                    }
                    push(&mut events, r, collected, "collected", detail);
                }
                let from_file = d
                    .original_path_shown()
                    .map(|name| format!(", from the file named \"{}\"", crate::term::escape(&name)))
                    .unwrap_or_default();
                push(
                    &mut events,
                    r,
                    at,
                    "ingested",
                    match versions {
                        1 => format!(
                            "as {} ({} bytes, {}){from_file}",
                            d.path, d.size, d.media_type
                        ),
                        _ => format!(
                            "as {} ({} bytes, {}), version sha256:{}{from_file}",
                            d.path,
                            d.size,
                            d.media_type,
                            &d.content.to_hex()[..12]
                        ),
                    },
                );
            }
            Record::Annotation(a) if contents.contains(&a.target) => {
                own.insert(r.id);
                covered.push(r.index);
                let who = a.analyst.as_deref().unwrap_or("(analyst not named)");
                let claim: Vec<String> = a.claim.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let mut detail = format!("by {who}: {}", sealed_notes::body_shown(a));
                if !claim.is_empty() {
                    detail.push_str(&format!(" [{}]", claim.join(", ")));
                }
                for link in &a.links {
                    detail.push_str(&format!(
                        " ({} {})",
                        link.relation.as_str(),
                        &link.target.to_hex()[..12]
                    ));
                }
                push(&mut events, r, at, "annotated", detail);
            }
            Record::Annotation(a) if a.links.iter().any(|l| contents.contains(&l.target)) => {
                for link in a.links.iter().filter(|l| contents.contains(&l.target)) {
                    let relation = match link.relation {
                        Relation::Supersedes => "supersedes",
                        other => other.as_str(),
                    };
                    push(
                        &mut events,
                        r,
                        at,
                        "linked",
                        format!(
                            "annotation {} on {} says it {relation} this document",
                            &r.id.to_hex()[..12],
                            &a.target.to_hex()[..12]
                        ),
                    );
                }
            }
            Record::Custody(c) if c.targets.iter().any(|t| contents.contains(t)) => {
                covered.push(r.index);
                let mut detail = format!("by {}", c.actor);
                if let Some(from) = &c.from {
                    detail.push_str(&format!(" from {from}"));
                }
                if let Some(to) = &c.to {
                    detail.push_str(&format!(" to {to}"));
                }
                if let Some(note) = sealed_notes::note_shown(c) {
                    detail.push_str(&format!(": {note}"));
                }
                push(&mut events, r, c.when(), c.event.as_str(), detail);
            }
            Record::Metadata(m) if own.contains(&m.target) => {
                covered.push(r.index);
                push(
                    &mut events,
                    r,
                    at,
                    "metadata added",
                    format!(
                        "to {}: {}",
                        &m.target.to_hex()[..12],
                        super::metadata::describe(&m.collection)
                    ),
                );
            }
            Record::Retraction(x) if own.contains(&x.target) => {
                covered.push(r.index);
                push(
                    &mut events,
                    r,
                    at,
                    "retracted",
                    format!("{}: {}", &x.target.to_hex()[..12], x.reason),
                );
            }
            _ => {}
        }
    }
    for checkpoint in &checkpoints {
        let cp = &checkpoint.checkpoint;
        let previous = checkpoints
            .iter()
            .rev()
            .find(|c| c.checkpoint.number < cp.number)
            .map_or(0, |c| c.checkpoint.size);
        let newly = covered
            .iter()
            .filter(|&&i| i >= previous && i < cp.size)
            .count();
        if newly > 0 {
            let signers: Vec<&str> = checkpoint
                .note
                .signatures
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            let detail = format!(
                "checkpoint {} (root sha256:{}) signed by {} covers {newly} of this item's records",
                cp.number,
                cp.root,
                signers.join(", ")
            );
            let sealed = HistoryEvent {
                time: cp.time,
                event: "sealed".into(),
                detail,
                record: None,
            };
            events.push((cp.size.saturating_mul(2), sealed));
        }
    }
    // Timestamps have whole seconds: within one, the log order decides.
    events.sort_by_key(|(place, e)| (e.time, *place));
    Ok(History {
        content,
        contents,
        paths,
        events: events.into_iter().map(|(_, e)| e).collect(),
        sealed_left,
    })
}

/// Where one document record stands among the versions of its logical path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionState {
    /// The latest version of its path that is not retracted.
    Current,
    /// A later version of the same path replaced it (`by`: that version's record).
    Superseded { by: Digest },
    /// Withdrawn by a retraction record (`by`); it stays recorded and provable.
    Retracted { reason: String, by: Digest },
}

impl VersionState {
    pub fn as_str(&self) -> &'static str {
        match self {
            VersionState::Current => "current",
            VersionState::Superseded { .. } => "superseded",
            VersionState::Retracted { .. } => "retracted",
        }
    }
}

/// One document record with its state.
#[derive(Debug, Clone)]
pub struct VersionView {
    pub record: LoggedRecord,
    pub document: crate::core::record::DocumentRecord,
    pub state: VersionState,
    /// The metadata records added to this version later, in log order.
    pub metadata: Vec<LoggedRecord>,
}

/// The versions of each logical path, paths in the order they were first recorded, versions
/// oldest first, as they stood after the first `size` records (the whole log when `None`):
/// like an OCFL object's state, the current version of a path is its latest one not
/// retracted; when every version is retracted the path has no current version.
pub fn path_versions(archive: &Archive, size: Option<u64>) -> Result<Vec<Vec<VersionView>>> {
    let log = archive.log()?;
    let records = query::records_range(archive, &log, 0, size.unwrap_or(u64::MAX))?;
    let mut retracted: HashMap<Digest, (String, Digest)> = HashMap::new();
    let mut order: HashMap<String, usize> = HashMap::new();
    let mut paths: Vec<Vec<VersionView>> = Vec::new();
    let mut metadata: HashMap<Digest, Vec<LoggedRecord>> = HashMap::new();
    for r in records {
        match &r.record {
            Record::Metadata(m) => {
                let target = m.target;
                metadata.entry(target).or_default().push(r);
            }
            Record::Retraction(x) => {
                retracted
                    .entry(x.target)
                    .or_insert((x.reason.clone(), r.id));
            }
            Record::Document(d) => {
                let document = (**d).clone();
                let slot = *order.entry(document.path.clone()).or_insert_with(|| {
                    paths.push(Vec::new());
                    paths.len() - 1
                });
                paths[slot].push(VersionView {
                    record: r,
                    document,
                    state: VersionState::Current,
                    metadata: Vec::new(),
                });
            }
            _ => {}
        }
    }
    for versions in &mut paths {
        let mut later: Option<Digest> = None;
        for version in versions.iter_mut().rev() {
            version.metadata = metadata.remove(&version.record.id).unwrap_or_default();
            version.state = match (retracted.get(&version.record.id), later) {
                (Some((reason, by)), _) => VersionState::Retracted {
                    reason: reason.clone(),
                    by: *by,
                },
                (None, Some(by)) => VersionState::Superseded { by },
                (None, None) => VersionState::Current,
            };
            if !matches!(version.state, VersionState::Retracted { .. }) {
                later = later.or(Some(version.record.id));
            }
        }
    }
    Ok(paths)
}
