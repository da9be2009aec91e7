//! The case title: `case` records in the log (docs/FORMAT.md §4.11). The latest one wins; a
//! title counts as sealed once a checkpoint covers its record.

use serde::Serialize;

use crate::core::digest::Digest;
use crate::core::record::{title_problem, CaseRecord, Header, Record};
use crate::error::{Error, Result};

use super::append::append_records;
use super::query;
use super::Archive;

/// Records read per step when looking for titles.
const SEARCH_STEP: u64 = 4096;

/// One `case` record as shown: its title and place in the log.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CaseTitle {
    pub title: String,
    /// `sha256:<hex>` of the record.
    pub record: String,
    pub index: u64,
}

/// The case's title as the archive holds it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CaseState {
    /// The latest title the latest checkpoint covers.
    pub sealed: Option<CaseTitle>,
    /// A later title not covered by any checkpoint yet.
    pub unsealed: Option<CaseTitle>,
}

impl CaseState {
    /// From the `case` records in log order and the latest checkpoint's size.
    pub fn from_titles(titles: &[CaseTitle], sealed_size: u64) -> CaseState {
        let sealed = titles.iter().rev().find(|t| t.index < sealed_size).cloned();
        let unsealed = titles.last().filter(|t| t.index >= sealed_size).cloned();
        CaseState { sealed, unsealed }
    }
}

/// Refuses what cannot be a title, naming the option it came from.
pub fn check_title(option: &'static str, title: &str) -> Result<()> {
    match title_problem(title) {
        Some(why) => Err(Error::InvalidOption {
            option,
            value: title.to_string(),
            why,
        }),
        None => Ok(()),
    }
}

/// Logs a `case` record: the case's title from now on (the earlier ones stay in the log).
pub fn set_title(archive: &Archive, option: &'static str, title: &str) -> Result<Digest> {
    check_title(option, title)?;
    let lock = archive.lock()?;
    let mut log = archive.log()?;
    super::append::catch_up_index(archive, &log)?;
    let record = Record::Case(Box::new(CaseRecord {
        header: Header::now(),
        title: title.to_string(),
    }));
    Ok(append_records(archive, &lock, &mut log, &[record])?[0])
}

/// The latest sealed title and any later unsealed one. The positions of the `case` records are
/// kept in [`CACHE`] (derived data, like the index: each entry is confirmed against the log
/// before use, and only the records after it are read), so `log -n 5` on a large archive does
/// not read the whole log. `verify` never uses it: it reads every record anyway.
pub fn state(archive: &Archive) -> Result<CaseState> {
    let sealed_size = archive
        .checkpoints()
        .latest()?
        .map_or(0, |cp| cp.checkpoint.size);
    let log = archive.log()?;
    let size = log.size();
    let cache = archive.root().join(CACHE);
    let (mut titles, covered) = read_cache(archive, &log, &cache).unwrap_or_default();
    let mut start = covered;
    while start < size {
        let end = size.min(start + SEARCH_STEP);
        for logged in query::records_range(archive, &log, start, end)? {
            if let Record::Case(case) = logged.record {
                titles.push(CaseTitle {
                    title: case.title,
                    record: logged.id.to_prefixed(),
                    index: logged.index,
                });
            }
        }
        start = end;
    }
    if covered != size {
        // Best effort: a read-only archive is read again next time, nothing else changes.
        let mut text = format!("covered {size}\n");
        for t in &titles {
            text.push_str(&format!("{} {}\n", t.index, t.record));
        }
        let _ = super::fsutil::write_atomic(&cache, text.as_bytes());
    }
    Ok(CaseState::from_titles(&titles, sealed_size))
}

/// Where `state` keeps the positions of the `case` records: `covered N`, then one line
/// `<index> sha256:<record id>` per `case` record among the first N.
const CACHE: &str = "index/case-titles";

/// The cached titles and how many records they cover; None when the cache is missing, damaged
/// or disagrees with the log in any way (then the whole log is read).
fn read_cache(
    archive: &Archive,
    log: &super::log::Log,
    path: &std::path::Path,
) -> Option<(Vec<CaseTitle>, u64)> {
    let text = super::fsutil::read_stored_text(path, 1 << 20).ok()?;
    let mut lines = text.lines();
    let covered: u64 = lines.next()?.strip_prefix("covered ")?.parse().ok()?;
    if covered > log.size() {
        return None;
    }
    let mut titles = Vec::new();
    for line in lines {
        let (index, record) = line.split_once(' ')?;
        let index: u64 = index.parse().ok()?;
        let id = Digest::from_lower_hex(record.strip_prefix("sha256:")?.as_bytes())?;
        if index >= covered || log.record_digest(index).ok()? != id {
            return None;
        }
        let Ok(Record::Case(case)) = query::read_record(archive, &id) else {
            return None;
        };
        titles.push(CaseTitle {
            title: case.title,
            record: record.to_string(),
            index,
        });
    }
    Some((titles, covered))
}

/// A checkpoint origin's name part made from a title: today's origin characters (ASCII
/// letters, digits, '-', '_', '.'), everything else a single '-', at most 64 characters;
/// "case" when nothing is left.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out
        .trim_matches(|c| c == '-' || c == '.')
        .chars()
        .take(64)
        .collect();
    let trimmed = trimmed.trim_end_matches(['-', '.']).to_string();
    if trimmed.is_empty() {
        "case".to_string()
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_origin_characters() {
        assert_eq!(slug("UA-BY children transfers"), "UA-BY-children-transfers");
        assert_eq!(slug("Діти / children (2026)"), "children-2026");
        assert_eq!(slug("Діти"), "case");
        assert_eq!(slug("..."), "case");
        assert_eq!(slug(&"a".repeat(100)).len(), 64);
    }

    #[test]
    fn latest_sealed_and_unsealed() {
        let t = |i: u64| CaseTitle {
            title: format!("t{i}"),
            record: String::new(),
            index: i,
        };
        let state = CaseState::from_titles(&[t(0), t(5), t(9)], 7);
        assert_eq!(state.sealed, Some(t(5)));
        assert_eq!(state.unsealed, Some(t(9)));
        let state = CaseState::from_titles(&[t(0)], 0);
        assert_eq!(state.sealed, None);
        assert_eq!(state.unsealed, Some(t(0)));
    }
}
