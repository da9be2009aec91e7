//! Where the records of one of the rarer kinds (`case`, `recipients`, `rewrap`, `retraction`,
//! `metadata`) sit in the
//! log, so that a command needing them reads those records and the log's new tail, not the
//! whole log: `add --encrypt` finds the current recipients and `log` the case title in time
//! independent of the archive's size.
//!
//! Derived data, like the path index: one file per kind, `index/kinds/<kind>`, holding
//! `covered N` and then one line `<index> sha256:<record id>` per record of that kind among
//! the first N. Every entry is confirmed against the log (its digest at that position) and
//! the record read again and checked to be of that kind before use; a file that disagrees
//! with the log in any way is ignored and the whole log read instead. `verify` never uses it.

use std::path::{Path, PathBuf};

use crate::core::digest::Digest;
use crate::error::Result;

use super::log::Log;
use super::query::{self, LoggedRecord};
use super::{fsutil, Archive};

/// Records read per step when scanning the log's tail.
const SCAN_STEP: u64 = 4096;

/// The largest positions file read (about 200,000 entries); beyond it the log is read again.
const MAX_FILE: u64 = 16 << 20;

/// Every record of `kind` (a record kind name, e.g. `"recipients"`), in log order.
pub fn records_of(archive: &Archive, kind: &str) -> Result<Vec<LoggedRecord>> {
    let log = archive.log()?;
    let size = log.size();
    let file = positions_file(archive, kind);
    let (mut found, covered) = read_positions(archive, &log, &file, kind).unwrap_or_default();
    let mut start = covered;
    while start < size {
        let end = size.min(start + SCAN_STEP);
        let tail = query::records_range(archive, &log, start, end)?;
        found.extend(tail.into_iter().filter(|l| l.record.kind() == kind));
        start = end;
    }
    if covered != size {
        // Best effort: an archive this process cannot write is read again next time.
        let mut text = format!("covered {size}\n");
        for r in &found {
            text.push_str(&format!("{} {}\n", r.index, r.id.to_prefixed()));
        }
        if let Some(dir) = file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = fsutil::write_atomic(&file, text.as_bytes());
    }
    Ok(found)
}

fn positions_file(archive: &Archive, kind: &str) -> PathBuf {
    archive.root().join("index/kinds").join(kind)
}

/// The records the positions file names and how many log records it covers; None when it is
/// missing, too large, damaged, or disagrees with the log or the records in any way.
fn read_positions(
    archive: &Archive,
    log: &Log,
    file: &Path,
    kind: &str,
) -> Option<(Vec<LoggedRecord>, u64)> {
    let text = fsutil::read_stored_text(file, MAX_FILE).ok()?;
    let mut lines = text.lines();
    let covered: u64 = lines.next()?.strip_prefix("covered ")?.parse().ok()?;
    if covered > log.size() {
        return None;
    }
    let mut found: Vec<LoggedRecord> = Vec::new();
    for line in lines {
        let (index, id) = line.split_once(' ')?;
        let index: u64 = index.parse().ok()?;
        let id = Digest::from_lower_hex(id.strip_prefix("sha256:")?.as_bytes())?;
        let in_order = found.last().is_none_or(|last| last.index < index);
        if !in_order || index >= covered || log.record_digest(index).ok()? != id {
            return None;
        }
        let record = query::read_record(archive, &id).ok()?;
        if record.kind() != kind {
            return None;
        }
        found.push(LoggedRecord { index, id, record });
    }
    Some((found, covered))
}
