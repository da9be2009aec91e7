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
const KEY_ORIGINAL_PATH: u64 = 14;
const KEY_COLLECTED_OFFSET: u64 = 15;
const KEY_ENCRYPTION: u64 = 16;

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
    /// The exact bytes of the name's components, joined with `/`, when one of them is not a
    /// valid logical-path component and had to be escaped (FORMAT.md §5.1).
    pub original_path: Option<Vec<u8>>,
    pub collection: Collection,
    /// Set when the content is stored only as age ciphertext: `content` and `size` are then
    /// the ciphertext's, this says how it binds the plaintext (FORMAT.md §23).
    pub encryption: Option<super::EncryptionInfo>,
}

impl DocumentRecord {
    /// The exact original name (all components) for a person, when the path had to be
    /// escaped: UTF-8 as text, other bytes as `\xHH`. Still to be escaped for a terminal.
    pub fn original_path_shown(&self) -> Option<String> {
        self.original_path.as_deref().map(path::display_bytes)
    }

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
        if let Some(bytes) = &self.original_path {
            e.bytes(KEY_ORIGINAL_PATH, bytes);
        }
        super::metadata::put_offset(&mut e, KEY_COLLECTED_OFFSET, c.collected_offset);
        if let Some(info) = &self.encryption {
            e.value(KEY_ENCRYPTION, info.to_value());
        }
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
        let original_path = fields.opt_bytes(KEY_ORIGINAL_PATH, "original-path")?;
        if let Some(bytes) = &original_path {
            check_original_path(bytes, &logical, &original_name)?;
        }
        let encryption = fields
            .take(KEY_ENCRYPTION)
            .map(|v| super::EncryptionInfo::from_value(v, KEY_ENCRYPTION, "encryption"))
            .transpose()?;
        Ok(DocumentRecord {
            header,
            content,
            size,
            media_type,
            path: logical,
            original_name,
            original_path,
            collection,
            encryption,
        })
    }
}

/// The original-path must be what the path and original-name were made from, and must be
/// there only when a component needed escaping: one name, one encoding.
fn check_original_path(
    bytes: &[u8],
    logical: &str,
    original_name: &str,
) -> Result<(), RecordError> {
    let bad = |why: String| invalid(KEY_ORIGINAL_PATH, "original-path", why);
    if bytes.is_empty() || bytes.len() > path::MAX_PATH_LEN {
        return Err(bad(format!("expected 1 to {} bytes", path::MAX_PATH_LEN)));
    }
    let components: Vec<&[u8]> = bytes.split(|b| *b == b'/').collect();
    let named = path::from_name_bytes(&components)
        .map_err(|e| bad(format!("does not make a logical path: {e}")))?;
    if named.original_path.is_none() {
        return Err(bad(
            "no component needs escaping (omit the field when none does)".into(),
        ));
    }
    if named.path != logical {
        return Err(bad(format!(
            "gives the logical path '{}', but the record's path is '{logical}'",
            named.path
        )));
    }
    if named.original_name != original_name {
        return Err(bad(format!(
            "gives the original-name '{}', but the record holds '{original_name}'",
            named.original_name
        )));
    }
    Ok(())
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
