//! Recording retractions, custody events and key events.

use crate::core::digest::Digest;
use crate::core::key::{SignerKey, VerifierKey};
use crate::core::record::key_event_message;
use crate::core::record::{
    CustodyEvent, CustodyRecord, Header, HiddenFields, KeyAction, KeyRecord, Record,
    RetractionRecord, KIND_RETRACTION,
};
use crate::core::timestamp::Timestamp;
use crate::error::{Error, Result};

use super::append::{append_records, catch_up_index};
use super::query::{self, Target};
use super::Archive;

/// Records under the lock after resolving targets; `build` gets the resolved targets.
fn record_with<F>(archive: &Archive, targets: &[String], build: F) -> Result<Digest>
where
    F: FnOnce(Vec<Target>) -> Result<Record>,
{
    let lock = archive.lock()?;
    let mut log = archive.log()?;
    let index = catch_up_index(archive, &log)?;
    let resolved = targets
        .iter()
        .map(|t| query::resolve_target(archive, &log, &index, t))
        .collect::<Result<Vec<_>>>()?;
    let record = build(resolved)?;
    let ids = append_records(archive, &lock, &mut log, &[record])?;
    Ok(ids[0])
}

/// Withdraws a document (its latest document record) or an annotation. Both stay provable.
pub fn retract(archive: &Archive, target: &str, reason: &str) -> Result<Digest> {
    record_with(archive, &[target.to_string()], |mut resolved| {
        let record_id = match resolved.pop() {
            Some(Target::Document { records, .. }) => records.last().copied(),
            Some(Target::Record { id, record, .. }) => match *record {
                Record::Document(_) | Record::Annotation(_) => Some(id),
                other => {
                    return Err(Error::WrongTarget {
                        id: target.to_string(),
                        what: format!("a '{}' record", other.kind()),
                        hint: "only documents and annotations can be retracted",
                    })
                }
            },
            None => None,
        };
        let record_id = record_id.ok_or_else(|| Error::UnknownId {
            id: target.to_string(),
        })?;
        if let Some((index, id, reason)) = earlier_retraction(archive, &record_id)? {
            return Err(Error::AlreadyRetracted {
                target: target.to_string(),
                record: record_id.to_string(),
                index,
                retraction: id.to_string(),
                reason,
            });
        }
        Ok(Record::Retraction(Box::new(RetractionRecord {
            header: Header::now(),
            target: record_id,
            reason: reason.to_string(),
        })))
    })
}

/// The first retraction of `target` in the log: its position, id and reason.
fn earlier_retraction(archive: &Archive, target: &Digest) -> Result<Option<(u64, Digest, String)>> {
    Ok(super::kind_index::records_of(archive, KIND_RETRACTION)?
        .into_iter()
        .find_map(|r| match r.record {
            Record::Retraction(x) if x.target == *target => Some((r.index, r.id, x.reason)),
            _ => None,
        }))
}

/// What a custodian reports about one handling.
#[derive(Debug, Clone)]
pub struct CustodyRequest {
    pub targets: Vec<String>,
    pub event: CustodyEvent,
    pub actor: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub note: Option<String>,
    pub at: Option<Timestamp>,
    /// Store the note, from and to encrypted (FORMAT.md §23.10). `None`: encrypted exactly
    /// when one of the documents is stored encrypted (and there is something to hide).
    pub encrypt: Option<bool>,
}

pub fn custody(archive: &Archive, request: &CustodyRequest) -> Result<Digest> {
    record_with(archive, &request.targets, |resolved| {
        let mut contents = Vec::new();
        // Whether a target is stored encrypted, learnt only when it decides the default.
        let decide = request.encrypt.is_none()
            && (request.note.is_some() || request.from.is_some() || request.to.is_some());
        let mut any_encrypted = false;
        for (target, text) in resolved.into_iter().zip(&request.targets) {
            let content = match target {
                Target::Document { content, records } => {
                    if decide && !any_encrypted {
                        if let Some(latest) = records.last() {
                            any_encrypted = matches!(
                                query::read_record(archive, latest)?,
                                Record::Document(d) if d.encryption.is_some()
                            );
                        }
                    }
                    content
                }
                Target::Record { record, .. } => match *record {
                    Record::Document(doc) => {
                        any_encrypted |= doc.encryption.is_some();
                        doc.content
                    }
                    other => {
                        return Err(Error::WrongTarget {
                            id: text.clone(),
                            what: format!("a '{}' record", other.kind()),
                            hint: "custody events are about documents",
                        })
                    }
                },
            };
            if !contents.contains(&content) {
                contents.push(content);
            }
        }
        let mut record = CustodyRecord {
            header: Header::now(),
            targets: contents,
            event: request.event,
            actor: request.actor.clone(),
            from: request.from.clone(),
            to: request.to.clone(),
            note: request.note.clone(),
            at: request.at,
            sealed: None,
        };
        let something = record.note.is_some() || record.from.is_some() || record.to.is_some();
        let encrypt = match request.encrypt {
            Some(true) if !something => {
                return Err(Error::InvalidOption {
                    option: "--encrypt",
                    value: String::new(),
                    why: "there is nothing to encrypt: give --note, --from or --to".into(),
                })
            }
            Some(choice) => choice,
            None => something && any_encrypted,
        };
        if encrypt {
            let mut hidden = HiddenFields::new("custody", record.targets.clone());
            hidden.note = record.note.take();
            hidden.from = record.from.take();
            hidden.to = record.to.take();
            record.sealed = Some(super::sealed_notes::seal(archive, &hidden)?);
        }
        Ok(Record::Custody(Box::new(record)))
    })
}

/// Introduces a signer key, with the key's own signature as proof of possession.
pub fn introduce_key(archive: &Archive, signer: &SignerKey) -> Result<Digest> {
    let key = signer.verifier();
    let message = key_event_message(archive.origin(), KeyAction::Introduce, &key, None);
    let record = KeyRecord {
        header: Header::now(),
        action: KeyAction::Introduce,
        key,
        previous: None,
        endorsement: Some(signer.sign(&message)),
        reason: None,
        effective: None,
    };
    record_with(archive, &[], |_| Ok(Record::Key(Box::new(record))))
}

/// Rotates from `old` (which signs the endorsement) to `new`.
pub fn rotate_key(archive: &Archive, old: &SignerKey, new: &VerifierKey) -> Result<Digest> {
    let previous = old.verifier();
    let message = key_event_message(archive.origin(), KeyAction::Rotate, new, Some(&previous));
    let record = KeyRecord {
        header: Header::now(),
        action: KeyAction::Rotate,
        key: new.clone(),
        previous: Some(previous),
        endorsement: Some(old.sign(&message)),
        reason: None,
        effective: None,
    };
    record_with(archive, &[], |_| Ok(Record::Key(Box::new(record))))
}

/// Revokes a key from `effective` for `reason`. The default is the second after this record's
/// whole-second time: a checkpoint sealed earlier in the same second carries that same time and
/// must stay valid, while any checkpoint covering this record is rejected by its log position.
pub fn revoke_key(
    archive: &Archive,
    key: &VerifierKey,
    reason: &str,
    effective: Option<Timestamp>,
) -> Result<Digest> {
    let header = Header::now();
    let record = KeyRecord {
        header,
        action: KeyAction::Revoke,
        key: key.clone(),
        previous: None,
        endorsement: None,
        reason: Some(reason.to_string()),
        effective: Some(effective.unwrap_or_else(|| {
            header
                .recorded_at
                .checked_add_seconds(1)
                .unwrap_or(header.recorded_at)
        })),
    };
    record_with(archive, &[], |_| Ok(Record::Key(Box::new(record))))
}
