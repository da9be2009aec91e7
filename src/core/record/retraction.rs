//! The `retraction` record: a document or annotation is withdrawn. The withdrawn record stays
//! in the log and stays provable; it is shown as retracted everywhere.

use ciborium::value::Value;

use super::fields::{Entries, Fields};
use super::{Header, RecordError, MAX_NOTE_LEN};
use crate::core::digest::Digest;

const KEY_TARGET: u64 = 3;
const KEY_REASON: u64 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetractionRecord {
    pub header: Header,
    /// Record id of the withdrawn document or annotation record.
    pub target: Digest,
    pub reason: String,
}

impl RetractionRecord {
    pub(super) fn entries(&self) -> Vec<(Value, Value)> {
        let mut e = Entries::default();
        e.digest(KEY_TARGET, &self.target)
            .text(KEY_REASON, &self.reason);
        e.0
    }

    pub(super) fn decode(
        header: Header,
        fields: &mut Fields,
    ) -> Result<RetractionRecord, RecordError> {
        Ok(RetractionRecord {
            header,
            target: fields.digest(KEY_TARGET, "target")?,
            reason: fields.prose(KEY_REASON, "reason", MAX_NOTE_LEN)?,
        })
    }
}
