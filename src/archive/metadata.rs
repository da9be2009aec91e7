//! Metadata after the fact: a `metadata` record adds collection fields (tags, collector, note,
//! …) to a document record already in the log. Nothing is recorded when the fields say nothing
//! new, so adding the same file with the same options again stays "unchanged".

use std::collections::{HashMap, HashSet};

use crate::core::digest::Digest;
use crate::core::record::{Collection, Header, MetadataRecord, Record, KIND_METADATA};
use crate::error::{Error, Result};

use super::append::{append_records, catch_up_index};
use super::query::{self, LoggedRecord, Target};
use super::Archive;

/// The metadata records about each of `targets` (document record ids), in log order. Reads
/// the `metadata` records and the log's new tail (`kind_index`), not the whole log.
pub fn metadata_about(
    archive: &Archive,
    targets: &HashSet<Digest>,
) -> Result<HashMap<Digest, Vec<LoggedRecord>>> {
    let mut out: HashMap<Digest, Vec<LoggedRecord>> = HashMap::new();
    if targets.is_empty() {
        return Ok(out);
    }
    for r in super::kind_index::records_of(archive, KIND_METADATA)? {
        if let Record::Metadata(m) = &r.record {
            if targets.contains(&m.target) {
                out.entry(m.target).or_default().push(r);
            }
        }
    }
    Ok(out)
}

/// What a document record says once its metadata records (log order) are applied.
pub fn effective(document: &Collection, later: &[LoggedRecord]) -> Collection {
    let mut merged = document.clone();
    for r in later {
        if let Record::Metadata(m) = &r.record {
            merged.merge(&m.collection);
        }
    }
    merged
}

/// A metadata record for `target` carrying what `given` adds, or `None` if nothing is new.
pub fn record_for(target: Digest, known: &Collection, given: &Collection) -> Option<Record> {
    let news = known.news(given);
    (!news.is_empty()).then(|| {
        Record::Metadata(Box::new(MetadataRecord {
            header: Header::now(),
            target,
            collection: news,
        }))
    })
}

#[derive(Debug, Clone)]
pub struct MetadataOutcome {
    /// The document record the metadata is about.
    pub target: Digest,
    pub path: String,
    /// The new metadata record; `None` when everything given was already recorded.
    pub record: Option<Digest>,
}

/// `evidentia metadata TARGET`: adds `given` to the document TARGET names (a logical path or
/// content digest: its latest document record; or a document record's id).
pub fn add_metadata(
    archive: &Archive,
    target: &str,
    given: &Collection,
) -> Result<MetadataOutcome> {
    if given.is_empty() {
        return Err(Error::InvalidOption {
            option: "metadata",
            value: target.to_string(),
            why: "nothing to add: give --tag, --collector, --note, --tool, --source-url or --collected-at".into(),
        });
    }
    let lock = archive.lock()?;
    let mut log = archive.log()?;
    let index = catch_up_index(archive, &log)?;
    let record_id = match query::resolve_target(archive, &log, &index, target)? {
        Target::Document { records, .. } => records.last().copied(),
        Target::Record { id, record, .. } => match *record {
            Record::Document(_) => Some(id),
            other => {
                return Err(Error::WrongTarget {
                    id: target.to_string(),
                    what: format!("a '{}' record", other.kind()),
                    hint: "metadata is added to documents: give a logical path, a content digest or a document record's id",
                })
            }
        },
    }
    .ok_or_else(|| Error::UnknownId {
        id: target.to_string(),
    })?;
    let Record::Document(doc) = query::read_record(archive, &record_id)? else {
        return Err(Error::UnknownId {
            id: target.to_string(),
        });
    };
    let later = metadata_about(archive, &HashSet::from([record_id]))?;
    let known = effective(
        &doc.collection,
        later.get(&record_id).map_or(&[][..], Vec::as_slice),
    );
    let mut outcome = MetadataOutcome {
        target: record_id,
        path: doc.path.clone(),
        record: None,
    };
    if let Some(record) = record_for(record_id, &known, given) {
        record.encode_checked().map_err(|e| Error::InvalidOption {
            option: "metadata",
            value: target.to_string(),
            why: e.to_string(),
        })?;
        let ids = append_records(archive, &lock, &mut log, &[record])?;
        outcome.record = ids.first().copied();
    }
    Ok(outcome)
}

/// The fields a metadata record adds, on one line.
pub fn describe(c: &Collection) -> String {
    let mut parts = Vec::new();
    if !c.tags.is_empty() {
        parts.push(format!("tags {}", c.tags.join(", ")));
    }
    for (label, value) in [
        ("collector", &c.collector),
        ("tool", &c.tool),
        ("source", &c.source_url),
    ] {
        if let Some(v) = value {
            parts.push(format!("{label} {v}"));
        }
    }
    if let Some(t) = c.collected_at {
        parts.push(format!("collected {}", t.at_offset(c.collected_offset)));
    }
    if let Some(note) = &c.note {
        parts.push(format!("note {}", note.replace('\n', " ")));
    }
    parts.join("; ")
}
