//! Derived lookup data, rebuilt from the log whenever it is missing or behind:
//!
//! - `index/paths/<2 hex>/<62 hex>` (SHA-256 of a logical path): one line per version of that
//!   path, `<content hex> <record hex>`, oldest first — so `add` can tell in one read whether
//!   identical content is already recorded there;
//! - `index/contents/<2 hex>/<62 hex>` (a content digest): one line per document record with
//!   that content, `<record hex>` — so a digest given by a user can be checked in one read;
//! - `index/covered`: `<index version> <number of log records reflected>`.
//!
//! Nothing here is trusted by `verify`. A writer that finds `covered` behind the log (after a
//! crash) or from another index version replays just the missing records.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::core::digest::Digest;
use crate::error::{Error, Result};

use super::fsutil;

/// Bumped whenever the index gains data, so older indexes are rebuilt.
const INDEX_VERSION: u64 = 2;

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
        for sub in ["paths", "contents"] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(Error::io(&path))?;
        }
        fsutil::write_atomic(
            &dir.join("covered"),
            format!("{INDEX_VERSION} 0\n").as_bytes(),
        )
    }

    fn file_for(&self, namespace: &str, key: &Digest) -> PathBuf {
        let hex = key.to_hex();
        self.dir.join(namespace).join(&hex[..2]).join(&hex[2..])
    }

    fn read_lines(&self, file: &Path) -> Result<Vec<String>> {
        match fs::read_to_string(file) {
            Ok(text) => Ok(text.lines().map(str::to_string).collect()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io(file)(e)),
        }
    }

    /// Appends `line` unless present. Not synced: the index is rebuilt after a crash.
    fn add_line(&self, file: &Path, line: String) -> Result<()> {
        let mut lines = self.read_lines(file)?;
        if lines.contains(&line) {
            return Ok(());
        }
        lines.push(line);
        if let Some(parent) = file.parent() {
            fs::create_dir_all(parent).map_err(Error::io(parent))?;
        }
        let tmp = file.with_extension("tmp");
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        fs::write(&tmp, text).map_err(Error::io(&tmp))?;
        fs::rename(&tmp, file).map_err(Error::io(file))
    }

    fn damaged(file: &Path, line: &str) -> Error {
        Error::Corrupt {
            path: file.to_path_buf(),
            why: format!(
                "bad index line '{line}'; delete the archive's index/ directory to rebuild it"
            ),
        }
    }

    /// All versions recorded under `logical`, oldest first.
    pub fn versions(&self, logical: &str) -> Result<Vec<PathVersion>> {
        let file = self.file_for("paths", &Digest::of(logical.as_bytes()));
        self.read_lines(&file)?
            .iter()
            .map(|line| {
                line.split_once(' ')
                    .and_then(|(c, r)| {
                        Some(PathVersion {
                            content: Digest::from_hex(c)?,
                            record: Digest::from_hex(r)?,
                        })
                    })
                    .ok_or_else(|| Self::damaged(&file, line))
            })
            .collect()
    }

    /// Document records whose content is `content`, oldest first.
    pub fn records_for_content(&self, content: &Digest) -> Result<Vec<Digest>> {
        let file = self.file_for("contents", content);
        self.read_lines(&file)?
            .iter()
            .map(|line| Digest::from_hex(line).ok_or_else(|| Self::damaged(&file, line)))
            .collect()
    }

    /// Indexes a document record.
    pub fn insert(&self, logical: &str, version: PathVersion) -> Result<()> {
        let path_file = self.file_for("paths", &Digest::of(logical.as_bytes()));
        self.add_line(
            &path_file,
            format!("{} {}", version.content, version.record),
        )?;
        let content_file = self.file_for("contents", &version.content);
        self.add_line(&content_file, version.record.to_hex())
    }

    /// How many log records the index reflects; 0 when the marker is missing, damaged or from
    /// another index version, which makes the next writer rebuild the index.
    pub fn covered(&self) -> u64 {
        let text = fs::read_to_string(self.dir.join("covered")).unwrap_or_default();
        match text.split_whitespace().collect::<Vec<_>>().as_slice() {
            [version, count] if version.parse() == Ok(INDEX_VERSION) => count.parse().unwrap_or(0),
            _ => 0,
        }
    }

    pub fn set_covered(&self, size: u64) -> Result<()> {
        let path = self.dir.join("covered");
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, format!("{INDEX_VERSION} {size}\n")).map_err(Error::io(&tmp))?;
        fs::rename(&tmp, &path).map_err(Error::io(&path))
    }
}
