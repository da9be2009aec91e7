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
const INDEX_VERSION: u64 = 3;

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

    /// Complete lines, first occurrence of each, in order. A last line without its newline (an
    /// append cut short by a crash) is ignored; replays after a crash may repeat lines.
    fn read_lines(&self, file: &Path) -> Result<Vec<String>> {
        let text = match fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(file)(e)),
        };
        let complete = match text.rfind('\n') {
            Some(end) => &text[..end],
            None => "",
        };
        let mut seen = std::collections::HashSet::new();
        Ok(complete
            .lines()
            .filter(|line| seen.insert(*line))
            .map(str::to_string)
            .collect())
    }

    /// Appends `line` with one write: constant cost however many lines the file has. Not
    /// synced: the index is rebuilt after a crash.
    fn add_line(&self, file: &Path, line: String) -> Result<()> {
        let open = || fs::OpenOptions::new().create(true).append(true).open(file);
        let mut handle = match open() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(parent) = file.parent() {
                    fs::create_dir_all(parent).map_err(Error::io(parent))?;
                }
                open()
            }
            other => other,
        }
        .map_err(Error::io(file))?;
        io::Write::write_all(&mut handle, format!("{line}\n").as_bytes()).map_err(Error::io(file))
    }

    /// All versions recorded under `logical`, oldest first.
    pub fn versions(&self, logical: &str) -> Result<Vec<PathVersion>> {
        let file = self.file_for("paths", &Digest::of(logical.as_bytes()));
        // Lines that do not parse are skipped: the index is a hint, and every hit is checked
        // against the record it names before it is relied on.
        Ok(self
            .read_lines(&file)?
            .iter()
            .filter_map(|line| {
                line.split_once(' ').and_then(|(c, r)| {
                    Some(PathVersion {
                        content: Digest::from_hex(c)?,
                        record: Digest::from_hex(r)?,
                    })
                })
            })
            .collect())
    }

    /// Document records whose content is `content`, oldest first.
    pub fn records_for_content(&self, content: &Digest) -> Result<Vec<Digest>> {
        let file = self.file_for("contents", content);
        Ok(self
            .read_lines(&file)?
            .iter()
            .filter_map(|line| Digest::from_hex(line))
            .collect())
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
