//! The case title: `case` records in the log (docs/FORMAT.md §4.11). The latest one wins; a
//! title counts as sealed once a checkpoint covers its record.

use serde::Serialize;

use crate::core::digest::Digest;
use crate::core::record::{title_problem, CaseRecord, Header, Record, KIND_CASE};
use crate::error::{Error, Result};

use super::append::append_records;
use super::Archive;

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

/// The latest sealed title and any later unsealed one. The `case` records are found through
/// [`kind_index`](super::kind_index) (confirmed against the log before use; only the records
/// after it are read), so `log -n 5` on a large archive does not read the whole log. `verify`
/// never uses it: it reads every record anyway.
pub fn state(archive: &Archive) -> Result<CaseState> {
    let sealed_size = archive
        .checkpoints()
        .latest()?
        .map_or(0, |cp| cp.checkpoint.size);
    let titles: Vec<CaseTitle> = super::kind_index::records_of(archive, KIND_CASE)?
        .into_iter()
        .filter_map(|logged| match logged.record {
            Record::Case(case) => Some(CaseTitle {
                title: case.title,
                record: logged.id.to_prefixed(),
                index: logged.index,
            }),
            _ => None,
        })
        .collect();
    Ok(CaseState::from_titles(&titles, sealed_size))
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
