//! The log: the ordered list of records and the Merkle tree over them, kept so that appending
//! costs O(new records · log n) and a root or proof O(log² n) reads.
//!
//! On disk, in `log/`:
//! - `records`: 32 bytes per record, the SHA-256 of its bytes (its object name), in log order;
//! - `tree/NN`: one file per tree level NN (two decimal digits); entry i of level k is the
//!   hash of the complete subtree over leaves [i·2^k, (i+1)·2^k); level 00 holds leaf hashes;
//! - `HEAD`: the committed number of records, as decimal text and a newline.
//!
//! `HEAD` is the commit marker: it is replaced atomically only after the appended entries are
//! durable. Bytes beyond what `HEAD` covers are leftovers of an interrupted append; readers
//! ignore them and the next append overwrites them.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::core::digest::{Digest, DIGEST_LEN};
use crate::core::merkle::{self, NodeSource};
use crate::error::{Error, Result};

use super::fsutil;

const ENTRY: u64 = DIGEST_LEN as u64;

/// A new entry for the log: the record's object digest and its leaf hash.
#[derive(Debug, Clone, Copy)]
pub struct LogEntry {
    pub record: Digest,
    pub leaf: Digest,
}

pub struct Log {
    dir: PathBuf,
    size: u64,
}

impl Log {
    pub fn create(dir: &Path) -> Result<()> {
        let tree = dir.join("tree");
        fs::create_dir_all(&tree).map_err(Error::io(&tree))?;
        // Level 00 (the leaf hashes) exists from the start; higher levels appear with their
        // first entry.
        let leaves = tree.join("00");
        File::create(&leaves).map_err(Error::io(&leaves))?;
        let records = dir.join("records");
        File::create(&records).map_err(Error::io(&records))?;
        fsutil::write_atomic(&dir.join("HEAD"), b"0\n")
    }

    pub fn open(dir: &Path) -> Result<Log> {
        let head = dir.join("HEAD");
        let text = fsutil::read_stored(&head, 64)?;
        let size = std::str::from_utf8(&text)
            .ok()
            .and_then(|t| t.strip_suffix('\n'))
            .filter(|t| {
                !t.is_empty()
                    && t.bytes().all(|b| b.is_ascii_digit())
                    && (t.len() == 1 || !t.starts_with('0'))
            })
            .and_then(|t| t.parse::<u64>().ok())
            .ok_or_else(|| Error::Corrupt {
                path: head.clone(),
                why: "expected a record count and a newline".into(),
            })?;
        let log = Log {
            dir: dir.to_path_buf(),
            size,
        };
        // HEAD is untrusted: before anything is sized by it, the records and the leaf hashes
        // it commits must really be there, written (no sparse holes), not merely claimed.
        log.check_committed(&log.records_path(), &head)?;
        log.check_committed(&log.level_path(0), &head)?;
        Ok(log)
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Refuses a level or record file that does not hold `size` written entries.
    fn check_committed(&self, path: &Path, head: &Path) -> Result<()> {
        let short = |why: String| Error::Corrupt {
            path: path.to_path_buf(),
            why,
        };
        let needed = self.size.checked_mul(ENTRY).ok_or_else(|| {
            short(format!(
                "{} commits {} records, more than any file can hold",
                head.display(),
                self.size
            ))
        })?;
        let (file, len) = fsutil::open_regular(path, fsutil::Links::Refuse)?;
        if len < needed {
            return Err(short(format!(
                "holds {} entries but {} commits {}",
                len / ENTRY,
                head.display(),
                self.size
            )));
        }
        if let Some(hole) = fsutil::first_hole(&file, needed) {
            return Err(short(format!(
                "is sparse: nothing was written from byte {hole}, yet {} commits {} entries \
                 ({needed} bytes)",
                head.display(),
                self.size
            )));
        }
        Ok(())
    }

    fn records_path(&self) -> PathBuf {
        self.dir.join("records")
    }

    fn level_path(&self, level: u32) -> PathBuf {
        self.dir.join("tree").join(format!("{level:02}"))
    }

    /// Object digests of records `[start, end)`, in one read.
    pub fn record_digests(&self, start: u64, end: u64) -> Result<Vec<Digest>> {
        read_entries(&self.records_path(), start, end.min(self.size))
    }

    pub fn record_digest(&self, index: u64) -> Result<Digest> {
        let mut one = self.record_digests(index, index + 1)?;
        one.pop().ok_or_else(|| Error::Corrupt {
            path: self.records_path(),
            why: format!("no record at index {index} (log size {})", self.size),
        })
    }

    /// The index of the record with object digest `id`, by scanning the record list (32 bytes
    /// a record: about 30 ms for a million).
    pub fn position(&self, id: &Digest) -> Result<Option<u64>> {
        const BATCH: u64 = 1 << 16;
        let mut start = 0;
        while start < self.size {
            let end = (start + BATCH).min(self.size);
            if let Some(at) = self
                .record_digests(start, end)?
                .iter()
                .position(|d| d == id)
            {
                return Ok(Some(start + at as u64));
            }
            start = end;
        }
        Ok(None)
    }

    /// Every stored node of one tree level within the committed size.
    pub fn level_nodes(&self, level: u32) -> Result<Vec<Digest>> {
        read_entries(&self.level_path(level), 0, self.size >> level)
    }

    /// Stored leaf hashes `[start, end)`.
    pub fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Digest>> {
        read_entries(&self.level_path(0), start, end.min(self.size))
    }

    /// A reader of stored tree nodes, for roots and proofs.
    pub fn nodes(&self) -> StoredNodes<'_> {
        StoredNodes {
            log: self,
            files: Vec::new(),
        }
    }

    /// Root of the first `size` records, from the stored tree.
    pub fn root(&self, size: u64) -> Result<Digest> {
        merkle::root(&mut self.nodes(), size.min(self.size))
    }

    /// Appends entries and commits them. The caller holds the archive's write lock and has
    /// made the referenced objects durable.
    pub fn append(&mut self, entries: &[LogEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let old = self.size;
        let leaves: Vec<Digest> = entries.iter().map(|e| e.leaf).collect();
        let levels = merkle::append_nodes(&mut self.nodes(), old, &leaves)?;
        let records: Vec<Digest> = entries.iter().map(|e| e.record).collect();
        write_entries(&self.records_path(), old, &records)?;
        for (level, nodes) in levels.iter().enumerate() {
            if !nodes.is_empty() {
                write_entries(&self.level_path(level as u32), old >> level, nodes)?;
            }
        }
        // One flush for every file written above, before the commit marker refers to them.
        fsutil::sync_filesystem(&self.dir)?;
        super::failpoint::hit("log-before-head");
        let new = old + entries.len() as u64;
        fsutil::write_atomic(&self.dir.join("HEAD"), format!("{new}\n").as_bytes())?;
        self.size = new;
        Ok(())
    }
}

/// Reads fixed-width entries `[start, end)` of a file.
fn read_entries(path: &Path, start: u64, end: u64) -> Result<Vec<Digest>> {
    if end <= start {
        return Ok(Vec::new());
    }
    let (file, _) = fsutil::open_regular(path, fsutil::Links::Refuse)?;
    let len = usize::try_from((end - start) * ENTRY).map_err(|_| Error::Corrupt {
        path: path.to_path_buf(),
        why: "range too large to read".into(),
    })?;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, start * ENTRY).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::Corrupt {
                path: path.to_path_buf(),
                why: format!("shorter than the {end} entries the log commits"),
            }
        } else {
            Error::io(path)(e)
        }
    })?;
    Ok(buf
        .chunks_exact(DIGEST_LEN)
        .filter_map(Digest::from_slice)
        .collect())
}

/// Writes entries at index `start`, first cutting off anything an interrupted append left
/// beyond it. The caller makes the files durable (one filesystem sync) before committing.
fn write_entries(path: &Path, start: u64, entries: &[Digest]) -> Result<()> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(Error::io(path))?;
    file.set_len(start * ENTRY).map_err(Error::io(path))?;
    let mut buf = Vec::with_capacity(entries.len() * DIGEST_LEN);
    for e in entries {
        buf.extend_from_slice(e.as_bytes());
    }
    file.write_all_at(&buf, start * ENTRY)
        .map_err(Error::io(path))
}

/// Reads tree nodes from the level files, keeping them open.
pub struct StoredNodes<'a> {
    log: &'a Log,
    files: Vec<Option<File>>,
}

impl NodeSource for StoredNodes<'_> {
    type Error = Error;
    fn node(&mut self, level: u32, index: u64) -> Result<Digest> {
        let slot = level as usize;
        if self.files.len() <= slot {
            self.files.resize_with(slot + 1, || None);
        }
        let path = self.log.level_path(level);
        if self.files[slot].is_none() {
            self.files[slot] = Some(fsutil::open_regular(&path, fsutil::Links::Refuse)?.0);
        }
        let mut buf = [0u8; DIGEST_LEN];
        if let Some(file) = &self.files[slot] {
            file.read_exact_at(&mut buf, index * ENTRY)
                .map_err(|e| Error::Corrupt {
                    path: path.clone(),
                    why: format!("cannot read node {index}: {e}"),
                })?;
        }
        Ok(Digest(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::merkle::{leaf_hash, MemoryTree};

    #[test]
    fn appends_match_memory_tree_and_survive_garbage() {
        let dir = tempfile::tempdir().unwrap();
        Log::create(dir.path()).unwrap();
        let mut log = Log::open(dir.path()).unwrap();
        let mut mem = MemoryTree::new();
        let mut next = 0u64;
        for batch in [1usize, 2, 5, 1, 13, 40] {
            let entries: Vec<LogEntry> = (0..batch)
                .map(|_| {
                    next += 1;
                    let leaf = leaf_hash(&next.to_be_bytes());
                    mem.push(leaf);
                    LogEntry {
                        record: Digest::of(&next.to_be_bytes()),
                        leaf,
                    }
                })
                .collect();
            log.append(&entries).unwrap();
            // Simulate an interrupted append: garbage beyond HEAD.
            let garbage = OpenOptions::new()
                .append(true)
                .open(dir.path().join("records"))
                .unwrap();
            garbage
                .write_all_at(&[0xAA; 40], log.size() * ENTRY)
                .unwrap();
            let reopened = Log::open(dir.path()).unwrap();
            assert_eq!(reopened.size(), next);
            for size in 1..=next {
                assert_eq!(reopened.root(size).unwrap(), mem.root_at(size));
            }
            log = reopened;
            let _ = &mut log;
        }
        assert_eq!(
            log.record_digest(0).unwrap(),
            Digest::of(&1u64.to_be_bytes())
        );
    }
}
