//! The `document` record: content stored as an object, where it sits, and how it was collected.

use super::fields::{invalid, Entries, Fields};
use super::{Header, RecordError, MAX_FIELD_LEN, MAX_NOTE_LEN};
use crate::core::digest::Digest;
use crate::core::path;
use crate::core::timestamp::Timestamp;

const KEY_CONTENT: u64 = 3;
const KEY_SIZE: u64 = 4;
const KEY_MEDIA_TYPE: u64 = 5;
const KEY_PATH: u64 = 6;
const KEY_ORIGINAL_NAME: u64 = 7;
const KEY_SOURCE_URL: u64 = 8;
const KEY_COLLECTED_AT: u64 = 9;
const KEY_COLLECTOR: u64 = 10;
const KEY_TOOL: u64 = 11;
const KEY_NOTE: u64 = 12;
const KEY_TAGS: u64 = 13;
const KEY_COLLECTED_OFFSET: u64 = 14;

/// How and by whom a document was collected (Berkeley Protocol collection record).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collection {
    pub source_url: Option<String>,
    pub collected_at: Option<Timestamp>,
    /// The UTC offset, in minutes east, that the collection time was given with (None: UTC).
    pub collected_offset: Option<i16>,
    pub collector: Option<String>,
    pub tool: Option<String>,
    pub note: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    pub header: Header,
    pub content: Digest,
    pub size: u64,
    pub media_type: String,
    pub path: String,
    pub original_name: String,
    pub collection: Collection,
}

impl DocumentRecord {
    pub(super) fn entries(&self) -> Vec<(ciborium::value::Value, ciborium::value::Value)> {
        let c = &self.collection;
        let mut e = Entries::default();
        e.digest(KEY_CONTENT, &self.content)
            .uint(KEY_SIZE, self.size)
            .text(KEY_MEDIA_TYPE, &self.media_type)
            .text(KEY_PATH, &self.path)
            .text(KEY_ORIGINAL_NAME, &self.original_name)
            .opt_text(KEY_SOURCE_URL, c.source_url.as_deref())
            .opt_timestamp(KEY_COLLECTED_AT, c.collected_at)
            .opt_text(KEY_COLLECTOR, c.collector.as_deref())
            .opt_text(KEY_TOOL, c.tool.as_deref())
            .opt_text(KEY_NOTE, c.note.as_deref())
            .texts(KEY_TAGS, &c.tags);
        super::metadata::put_offset(&mut e, KEY_COLLECTED_OFFSET, c.collected_offset);
        e.0
    }

    pub(super) fn decode(
        header: Header,
        fields: &mut Fields,
    ) -> Result<DocumentRecord, RecordError> {
        let content = fields.digest(KEY_CONTENT, "content")?;
        let size = fields.uint(KEY_SIZE, "size")?;
        let media_type = fields.text(KEY_MEDIA_TYPE, "media-type", MAX_FIELD_LEN)?;
        check_media_type(&media_type)?;
        let logical = fields.text(KEY_PATH, "path", path::MAX_PATH_LEN)?;
        path::check(&logical).map_err(|source| RecordError::Path {
            path: logical.clone(),
            source,
        })?;
        let original_name = fields.text(KEY_ORIGINAL_NAME, "original-name", MAX_FIELD_LEN)?;
        let collected_at = fields.opt_timestamp(KEY_COLLECTED_AT, "collected-at")?;
        let collection = Collection {
            source_url: fields.opt_text(KEY_SOURCE_URL, "source-url", MAX_FIELD_LEN)?,
            collected_at,
            collected_offset: super::metadata::take_offset(
                fields,
                KEY_COLLECTED_OFFSET,
                collected_at.is_some(),
            )?,
            collector: fields.opt_text(KEY_COLLECTOR, "collector", MAX_FIELD_LEN)?,
            tool: fields.opt_text(KEY_TOOL, "tool", MAX_FIELD_LEN)?,
            note: fields.opt_prose(KEY_NOTE, "note", MAX_NOTE_LEN)?,
            tags: fields.tags(KEY_TAGS)?,
        };
        Ok(DocumentRecord {
            header,
            content,
            size,
            media_type,
            path: logical,
            original_name,
            collection,
        })
    }
}

/// A media type is `type/subtype` (parameters allowed after `;`), without whitespace.
pub fn check_media_type(media_type: &str) -> Result<(), RecordError> {
    let well_formed = media_type
        .split_once('/')
        .is_some_and(|(t, s)| !t.is_empty() && !s.is_empty() && !s.contains('/'))
        && !media_type
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    if well_formed {
        Ok(())
    } else {
        Err(invalid(
            KEY_MEDIA_TYPE,
            "media-type",
            format!("'{media_type}' is not a type/subtype media type"),
        ))
    }
}
