//! The path index: for each logical path, the documents recorded under it, so that `add` can
//! tell in one file read whether identical content is already recorded there.
//!
//! It is derived data, rebuilt from the log: `index/paths/<2 hex>/<62 hex>` (the SHA-256 of the
//! logical path) holds one line per version, `<content hex> <record hex>`, oldest first, and
//! `index/covered` says how many log records the index reflects. A writer that finds
//! `covered` behind the log (after a crash) replays just the missing records.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::core::digest::Digest;
use crate::error::{Error, Result};

use super::fsutil;

pub struct PathIndex {
    dir: PathBuf,
}

/// One version of a path: its content and the record that put it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathVersion {
    pub content: Digest,
    pub record: Digest,
}

impl PathIndex {
    pub fn new(dir: &Path) -> PathIndex {
        PathIndex {
            dir: dir.to_path_buf(),
        }
    }

    pub fn create(dir: &Path) -> Result<()> {
        let paths = dir.join("paths");
        fs::create_dir_all(&paths).map_err(Error::io(&paths))?;
        fsutil::write_atomic(&dir.join("covered"), b"0\n")
    }

    fn file_for(&self, logical: &str) -> PathBuf {
        let hex = Digest::of(logical.as_bytes()).to_hex();
        self.dir.join("paths").join(&hex[..2]).join(&hex[2..])
    }

    /// All versions recorded under `logical`, oldest first.
    pub fn versions(&self, logical: &str) -> Result<Vec<PathVersion>> {
        let file = self.file_for(logical);
        let text = match fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(file)(e)),
        };
        text.lines()
            .map(|line| {
                let parsed = line.split_once(' ').and_then(|(c, r)| {
                    Some(PathVersion {
                        content: Digest::from_hex(c)?,
                        record: Digest::from_hex(r)?,
                    })
                });
                parsed.ok_or_else(|| Error::Corrupt {
                    path: file.clone(),
                    why: format!("bad index line '{line}'; delete index/ to rebuild it"),
                })
            })
            .collect()
    }

    /// Adds a version unless already present. Not synced: the index is rebuilt after a crash.
    pub fn insert(&self, logical: &str, version: PathVersion) -> Result<()> {
        let mut versions = self.versions(logical)?;
        if versions.contains(&version) {
            return Ok(());
        }
        versions.push(version);
        let text: String = versions
            .iter()
            .map(|v| format!("{} {}\n", v.content, v.record))
            .collect();
        let file = self.file_for(logical);
        if let Some(parent) = file.parent() {
            fs::create_dir_all(parent).map_err(Error::io(parent))?;
        }
        let tmp = file.with_extension("tmp");
        fs::write(&tmp, text).map_err(Error::io(&tmp))?;
        fs::rename(&tmp, &file).map_err(Error::io(&file))
    }

    /// How many log records the index reflects (0 when the marker is missing or damaged, which
    /// makes the next writer rebuild the index).
    pub fn covered(&self) -> u64 {
        fs::read_to_string(self.dir.join("covered"))
            .ok()
            .and_then(|t| t.trim_end().parse().ok())
            .unwrap_or(0)
    }

    pub fn set_covered(&self, size: u64) -> Result<()> {
        let path = self.dir.join("covered");
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, format!("{size}\n")).map_err(Error::io(&tmp))?;
        fs::rename(&tmp, &path).map_err(Error::io(&path))
    }
}
