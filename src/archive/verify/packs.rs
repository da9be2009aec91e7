//! Verification of packs as containers: each index is named by its own SHA-256, well formed
//! and sorted, and describes its pack file exactly. The objects inside are re-hashed by the
//! record and content checks like any other object.

use std::fs;
use std::io;
use std::path::Path;

use crate::core::digest::Digest;

use super::super::pack::{self, Entry, LINE};
use super::super::Archive;
use super::VerifyReport;

pub fn check_packs(archive: &Archive, report: &mut VerifyReport) {
    let dir = archive.fs_store().packs_dir().to_path_buf();
    let listing = match fs::read_dir(&dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => {
            report.problem("objects/packs/", "pack-unreadable", e.to_string());
            return;
        }
    };
    let mut names = Vec::new();
    for entry in listing {
        match entry {
            Ok(entry) => match entry.file_name().into_string() {
                Ok(name) => names.push(name),
                Err(name) => {
                    let name = format!("objects/packs/{}", name.to_string_lossy());
                    let detail = format!("{name} is not part of a pack; ignored");
                    report.warn(name, "pack-stray-file", detail)
                }
            },
            Err(e) => report.problem("objects/packs/", "pack-unreadable", e.to_string()),
        }
    }
    names.sort();
    for name in &names {
        if let Some(stem) = name.strip_suffix(".idx") {
            check_pack(&dir, stem, report);
        } else if let Some(stem) = name.strip_suffix(".pack") {
            if !names.iter().any(|n| n.strip_suffix(".idx") == Some(stem)) {
                report.warn(
                    format!("objects/packs/{name}"),
                    "pack-index-missing",
                    format!("objects/packs/{name} has no index (left by an interrupted command; harmless)"),
                );
            }
        } else {
            report.warn(
                format!("objects/packs/{name}"),
                "pack-stray-file",
                format!("objects/packs/{name} is not part of a pack; ignored"),
            );
        }
    }
}

fn check_pack(dir: &Path, name: &str, report: &mut VerifyReport) {
    let item = format!("objects/packs/{name}.idx");
    let index = match crate::archive::fsutil::read_stored(
        &dir.join(format!("{name}.idx")),
        crate::archive::fsutil::MAX_INDEX_FILE,
    ) {
        Ok(bytes) => bytes,
        Err(e) => return report.problem(item, "pack-unreadable", e.to_string()),
    };
    let found = Digest::of(&index);
    if found.to_hex() != name {
        report.problem(
            &item,
            "pack-index-corrupt",
            format!("the index hashes to {found}, not to its name: it was altered or renamed"),
        );
    }
    if index.len() % LINE != 0 {
        return report.problem(
            item,
            "pack-index-corrupt",
            format!(
                "{} bytes, not a whole number of {LINE}-byte lines",
                index.len()
            ),
        );
    }
    let mut entries: Vec<Entry> = Vec::with_capacity(index.len() / LINE);
    for (i, line) in index.chunks(LINE).enumerate() {
        match pack::parse_line(line) {
            Some(entry) if entries.last().is_none_or(|last| last.digest < entry.digest) => {
                entries.push(entry)
            }
            Some(_) => {
                return report.problem(
                    item,
                    "pack-index-corrupt",
                    format!("line {} is out of order or repeats a digest", i + 1),
                )
            }
            None => {
                return report.problem(
                    item,
                    "pack-index-corrupt",
                    format!("line {} is not `<digest> <offset> <length>`", i + 1),
                )
            }
        }
    }
    let pack_item = format!("objects/packs/{name}.pack");
    let size = match fs::metadata(dir.join(format!("{name}.pack"))) {
        Ok(meta) if meta.is_file() => meta.len(),
        Ok(_) => return report.problem(pack_item, "pack-corrupt", "not a regular file"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return report.problem(pack_item, "pack-missing", e.to_string())
        }
        Err(e) => return report.problem(pack_item, "pack-unreadable", e.to_string()),
    };
    // The objects must tile the pack exactly: no gaps (hidden bytes), no overlaps, no tail.
    entries.sort_unstable_by_key(|e| (e.offset, e.len));
    let mut end = 0u64;
    for entry in &entries {
        if entry.offset != end {
            return report.problem(
                pack_item,
                "pack-corrupt",
                format!(
                    "object {} starts at byte {} where the previous one ends at {end}",
                    entry.digest, entry.offset
                ),
            );
        }
        end = end.saturating_add(entry.len);
    }
    if end != size {
        report.problem(
            pack_item,
            "pack-corrupt",
            format!("{size} bytes, but its index describes {end}"),
        );
    }
}
