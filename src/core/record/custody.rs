//! The `custody` record: one handling of one or more documents (Berkeley Protocol chain of
//! custody): who, what kind of event, from whom to whom, when.

use ciborium::value::Value;

use super::fields::{as_digest, invalid, Entries, Fields};
use super::{Header, RecordError, MAX_FIELD_LEN, MAX_NOTE_LEN};
use crate::core::digest::Digest;
use crate::core::timestamp::Timestamp;

const KEY_TARGETS: u64 = 3;
const KEY_EVENT: u64 = 4;
const KEY_ACTOR: u64 = 5;
const KEY_FROM: u64 = 6;
const KEY_TO: u64 = 7;
const KEY_NOTE: u64 = 8;
const KEY_AT: u64 = 9;
const KEY_SEALED: u64 = 10;

pub const MAX_TARGETS: usize = 10_000;

/// Event names; `ingested` and `exported` are recorded by evidentia itself.
pub const CUSTODY_EVENTS: [&str; 8] = [
    "received",
    "transferred",
    "accessed",
    "copied",
    "redacted",
    "other",
    "ingested",
    "exported",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustodyEvent {
    Received,
    Transferred,
    Accessed,
    Copied,
    Redacted,
    Other,
    Ingested,
    Exported,
}

impl CustodyEvent {
    pub fn as_str(&self) -> &'static str {
        CUSTODY_EVENTS[*self as usize]
    }

    pub fn parse(text: &str) -> Option<CustodyEvent> {
        use CustodyEvent::*;
        [
            Received,
            Transferred,
            Accessed,
            Copied,
            Redacted,
            Other,
            Ingested,
            Exported,
        ]
        .into_iter()
        .find(|e| e.as_str() == text)
    }

    /// Whether a user may record this event by hand (the others are automatic).
    pub fn is_manual(&self) -> bool {
        !matches!(self, CustodyEvent::Ingested | CustodyEvent::Exported)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodyRecord {
    pub header: Header,
    /// Content digests of the documents handled.
    pub targets: Vec<Digest>,
    pub event: CustodyEvent,
    pub actor: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub note: Option<String>,
    /// When the handling happened, if not when it was recorded.
    pub at: Option<Timestamp>,
    /// Set when the note, from and to are stored encrypted (FORMAT.md §23.10); they are then
    /// `None` until revealed.
    pub sealed: Option<super::SealedFields>,
}

impl CustodyRecord {
    /// When the event happened: `at` if given, else the time it was recorded.
    pub fn when(&self) -> Timestamp {
        self.at.unwrap_or(self.header.recorded_at)
    }

    pub(super) fn entries(&self) -> Vec<(Value, Value)> {
        let mut e = Entries::default();
        let targets = self
            .targets
            .iter()
            .map(|d| Value::Bytes(d.0.to_vec()))
            .collect();
        e.value(KEY_TARGETS, Value::Array(targets))
            .text(KEY_EVENT, self.event.as_str())
            .text(KEY_ACTOR, &self.actor)
            .opt_text(KEY_FROM, self.from.as_deref())
            .opt_text(KEY_TO, self.to.as_deref())
            .opt_text(KEY_NOTE, self.note.as_deref())
            .opt_timestamp(KEY_AT, self.at);
        if let Some(sealed) = &self.sealed {
            e.value(KEY_SEALED, sealed.to_value());
        }
        e.0
    }

    pub(super) fn decode(
        header: Header,
        fields: &mut Fields,
    ) -> Result<CustodyRecord, RecordError> {
        let targets_value = fields.opt_array(KEY_TARGETS, "targets", MAX_TARGETS)?;
        if targets_value.is_empty() {
            return Err(RecordError::Missing {
                key: KEY_TARGETS,
                name: "targets",
            });
        }
        let targets = targets_value
            .into_iter()
            .map(|v| as_digest(KEY_TARGETS, "targets", v))
            .collect::<Result<Vec<_>, _>>()?;
        let event_text = fields.text(KEY_EVENT, "event", 32)?;
        let event = CustodyEvent::parse(&event_text).ok_or_else(|| {
            invalid(
                KEY_EVENT,
                "event",
                format!("unknown custody event '{event_text}'"),
            )
        })?;
        let record = CustodyRecord {
            header,
            targets,
            event,
            actor: fields.text(KEY_ACTOR, "actor", MAX_FIELD_LEN)?,
            from: fields.opt_text(KEY_FROM, "from", MAX_FIELD_LEN)?,
            to: fields.opt_text(KEY_TO, "to", MAX_FIELD_LEN)?,
            note: fields.opt_prose(KEY_NOTE, "note", MAX_NOTE_LEN)?,
            at: fields.opt_timestamp(KEY_AT, "at")?,
            sealed: fields
                .take(KEY_SEALED)
                .map(|v| super::SealedFields::from_value(v, KEY_SEALED))
                .transpose()?,
        };
        if record.sealed.is_some()
            && (record.note.is_some() || record.from.is_some() || record.to.is_some())
        {
            return Err(invalid(
                KEY_SEALED,
                "sealed",
                "a sealed custody event keeps its note, from and to only in the ciphertext",
            ));
        }
        Ok(record)
    }
}
