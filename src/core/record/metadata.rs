//! The `metadata` record: collection metadata added to a document after it was recorded (a
//! tag, a collector, a note found later). The document record is never rewritten; readers merge
//! the metadata records about it, in log order, and show them as added later.

use ciborium::value::Value;

use super::fields::{invalid, Entries, Fields};
use super::{Collection, Header, RecordError, MAX_FIELD_LEN, MAX_NOTE_LEN};
use crate::core::digest::Digest;

const KEY_TARGET: u64 = 3;
const KEY_SOURCE_URL: u64 = 4;
const KEY_COLLECTED_AT: u64 = 5;
const KEY_COLLECTED_OFFSET: u64 = 6;
const KEY_COLLECTOR: u64 = 7;
const KEY_TOOL: u64 = 8;
const KEY_NOTE: u64 = 9;
const KEY_TAGS: u64 = 10;

/// Largest UTC offset in minutes (RFC 3339 allows up to ±23:59).
pub const MAX_OFFSET_MINUTES: i64 = 23 * 60 + 59;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataRecord {
    pub header: Header,
    /// Record id of the document record (one version) the metadata is about.
    pub target: Digest,
    /// The fields added; at least one is set.
    pub collection: Collection,
}

impl MetadataRecord {
    pub(super) fn entries(&self) -> Vec<(Value, Value)> {
        let c = &self.collection;
        let mut e = Entries::default();
        e.digest(KEY_TARGET, &self.target)
            .opt_text(KEY_SOURCE_URL, c.source_url.as_deref())
            .opt_timestamp(KEY_COLLECTED_AT, c.collected_at);
        put_offset(&mut e, KEY_COLLECTED_OFFSET, c.collected_offset);
        e.opt_text(KEY_COLLECTOR, c.collector.as_deref())
            .opt_text(KEY_TOOL, c.tool.as_deref())
            .opt_text(KEY_NOTE, c.note.as_deref())
            .texts(KEY_TAGS, &c.tags);
        e.0
    }

    pub(super) fn decode(
        header: Header,
        fields: &mut Fields,
    ) -> Result<MetadataRecord, RecordError> {
        let target = fields.digest(KEY_TARGET, "target")?;
        let collected_at = fields.opt_timestamp(KEY_COLLECTED_AT, "collected-at")?;
        let collection = Collection {
            source_url: fields.opt_text(KEY_SOURCE_URL, "source-url", MAX_FIELD_LEN)?,
            collected_at,
            collected_offset: take_offset(fields, KEY_COLLECTED_OFFSET, collected_at.is_some())?,
            collector: fields.opt_text(KEY_COLLECTOR, "collector", MAX_FIELD_LEN)?,
            tool: fields.opt_text(KEY_TOOL, "tool", MAX_FIELD_LEN)?,
            note: fields.opt_prose(KEY_NOTE, "note", MAX_NOTE_LEN)?,
            tags: fields.tags(KEY_TAGS)?,
        };
        if collection.is_empty() {
            return Err(RecordError::Missing {
                key: KEY_SOURCE_URL,
                name: "metadata (at least one of fields 4-10)",
            });
        }
        Ok(MetadataRecord {
            header,
            target,
            collection,
        })
    }
}

impl Collection {
    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        *self == Collection::default()
    }

    /// The fields of `added` that say something `self` does not already say: tags not yet
    /// present, and every other field that is given and differs. Empty when nothing is new,
    /// so re-adding with the same metadata records nothing.
    pub fn news(&self, added: &Collection) -> Collection {
        fn differs<T: PartialEq + Clone>(known: &Option<T>, given: &Option<T>) -> Option<T> {
            given.clone().filter(|g| known.as_ref() != Some(g))
        }
        let same_time = self.collected_at == added.collected_at
            && self.collected_offset == added.collected_offset;
        let mut tags: Vec<String> = Vec::new();
        for tag in &added.tags {
            if !self.tags.contains(tag) && !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        Collection {
            source_url: differs(&self.source_url, &added.source_url),
            collected_at: added.collected_at.filter(|_| !same_time),
            collected_offset: added.collected_offset.filter(|_| !same_time),
            collector: differs(&self.collector, &added.collector),
            tool: differs(&self.tool, &added.tool),
            note: differs(&self.note, &added.note),
            tags,
        }
    }

    /// Applies later metadata: its fields replace these, its tags are appended.
    pub fn merge(&mut self, later: &Collection) {
        if later.collected_at.is_some() {
            self.collected_at = later.collected_at;
            self.collected_offset = later.collected_offset;
        }
        for (mine, theirs) in [
            (&mut self.source_url, &later.source_url),
            (&mut self.collector, &later.collector),
            (&mut self.tool, &later.tool),
            (&mut self.note, &later.note),
        ] {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        }
        for tag in &later.tags {
            if !self.tags.contains(tag) {
                self.tags.push(tag.clone());
            }
        }
    }
}

/// Writes a collected-at offset (minutes east of UTC), omitted when absent.
pub(super) fn put_offset(e: &mut Entries, key: u64, offset: Option<i16>) {
    if let Some(minutes) = offset {
        e.value(key, Value::Integer(i64::from(minutes).into()));
    }
}

/// Reads a collected-at offset: an integer in ±1439, not 0 (UTC is written as no offset),
/// and only beside a collected-at time.
pub(super) fn take_offset(
    fields: &mut Fields,
    key: u64,
    has_time: bool,
) -> Result<Option<i16>, RecordError> {
    let Some(value) = fields.take(key) else {
        return Ok(None);
    };
    let name = "collected-offset";
    if !has_time {
        return Err(invalid(key, name, "an offset without a collected-at time"));
    }
    let minutes = match value {
        Value::Integer(i) => i64::try_from(i).ok(),
        _ => None,
    }
    .filter(|m| *m != 0 && m.abs() <= MAX_OFFSET_MINUTES)
    .ok_or_else(|| {
        invalid(
            key,
            name,
            format!("expected a non-zero integer of minutes within ±{MAX_OFFSET_MINUTES} (omit it for UTC)"),
        )
    })?;
    // In range by the filter above.
    Ok(i16::try_from(minutes).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::record::{Record, SALT_LEN};
    use crate::core::timestamp::Timestamp;

    fn given(tags: &[&str], collector: Option<&str>) -> Collection {
        Collection {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            collector: collector.map(str::to_string),
            ..Collection::default()
        }
    }

    #[test]
    fn news_holds_only_what_is_new_and_merge_applies_it() {
        let mut known = given(&["a"], Some("Analyst A"));
        assert!(known.news(&given(&["a"], Some("Analyst A"))).is_empty());
        assert!(known.news(&given(&[], None)).is_empty());
        let news = known.news(&given(&["a", "b", "b"], Some("Analyst B")));
        assert_eq!(news, given(&["b"], Some("Analyst B")));
        known.merge(&news);
        assert_eq!(known, given(&["a", "b"], Some("Analyst B")));
        // The same instant with another offset is new: the offset is what the collector wrote.
        let (at, offset) = Timestamp::parse_with_offset("2024-03-01T10:00:00+02:00").unwrap();
        known.collected_at = Some(at);
        known.collected_offset = offset;
        let (same, utc) = Timestamp::parse_with_offset("2024-03-01T08:00:00Z").unwrap();
        let mut later = Collection {
            collected_at: Some(same),
            collected_offset: utc,
            ..Collection::default()
        };
        assert!(!known.news(&later).is_empty());
        later.collected_offset = offset;
        assert!(known.news(&later).is_empty());
    }

    #[test]
    fn metadata_round_trips_and_empty_is_refused() {
        let header = Header {
            salt: [3; SALT_LEN],
            recorded_at: Timestamp::parse_canonical("2026-11-25T12:00:00Z").unwrap(),
        };
        let (at, offset) = Timestamp::parse_with_offset("2024-03-01T02:30:00-05:30").unwrap();
        let mut collection = given(&["later"], None);
        collection.collected_at = Some(at);
        collection.collected_offset = offset;
        let record = Record::Metadata(Box::new(MetadataRecord {
            header,
            target: Digest::of(b"document record"),
            collection,
        }));
        let bytes = record.encode_checked().unwrap();
        assert_eq!(Record::decode(&bytes).unwrap(), record);
        let empty = Record::Metadata(Box::new(MetadataRecord {
            header,
            target: Digest::of(b"document record"),
            collection: Collection::default(),
        }));
        let bytes = empty.encode().unwrap();
        assert!(Record::decode(&bytes).is_err());
    }
}
