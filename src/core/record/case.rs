//! The `case` record: the case's human title. `init --name` logs the first one and `title`
//! logs each change; the latest one a checkpoint covers is the title shown as authenticated.
//! The title is carried in a record (not in `archive.txt` or `bundle.json`) so that it is
//! signed like every other statement: nothing unsigned can change what is shown next to a
//! verdict.

use ciborium::value::Value;

use super::fields::{invalid, Entries, Fields};
use super::{Header, RecordError};

const KEY_TITLE: u64 = 3;

/// Longest title in bytes: a title is a line, not a description.
pub const MAX_TITLE_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    pub header: Header,
    /// Any Unicode text of one line: no control characters, not only whitespace.
    pub title: String,
}

impl CaseRecord {
    pub(super) fn entries(&self) -> Vec<(Value, Value)> {
        let mut e = Entries::default();
        e.text(KEY_TITLE, &self.title);
        e.0
    }

    pub(super) fn decode(header: Header, fields: &mut Fields) -> Result<CaseRecord, RecordError> {
        let title = fields.text(KEY_TITLE, "title", MAX_TITLE_LEN)?;
        if title.trim().is_empty() {
            return Err(invalid(KEY_TITLE, "title", "only whitespace"));
        }
        Ok(CaseRecord { header, title })
    }
}

/// Why `title` cannot be a case title, if it cannot: the rules [`CaseRecord::decode`] applies,
/// said for a person typing one.
pub fn title_problem(title: &str) -> Option<String> {
    if title.trim().is_empty() {
        return Some("the title is empty".into());
    }
    if title.len() > MAX_TITLE_LEN {
        return Some(format!(
            "the title is {} bytes long; at most {MAX_TITLE_LEN} are allowed",
            title.len()
        ));
    }
    if title.chars().any(char::is_control) {
        return Some("the title contains a control character (a newline, tab or escape); write it on one line".into());
    }
    None
}
