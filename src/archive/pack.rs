//! Packs: many small objects in one file, so that a command storing thousands of documents
//! creates a handful of files instead of two per document (a file creation cost more than
//! hashing the document did).
//!
//! A pack is two files in `objects/packs/`, named by the SHA-256 of the index file:
//! - `<name>.pack`: the objects' bytes, concatenated, nothing else;
//! - `<name>.idx`: one fixed-width text line per object, sorted by digest:
//!   `<64 hex digest> <16 hex offset> <16 hex length>\n` (99 bytes).
//!
//! Both are written under temporary names, synced, then renamed, the index last: an index in
//! `objects/packs/` is the commit marker of a complete, durable pack.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::core::digest::{lower_hex, Digest};
use crate::error::{Error, Result};

use super::fsutil;
use super::sink::{AlignedBuf, Sink, BLOCK};

/// Bytes per index line.
pub const LINE: usize = 64 + 1 + 16 + 1 + 16 + 1;

/// Where one object lives inside a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub digest: Digest,
    pub offset: u64,
    pub len: u64,
}

/// Parses one index line; `None` if it is not exactly in the specified form.
pub fn parse_line(line: &[u8]) -> Option<Entry> {
    if line.len() != LINE || line[64] != b' ' || line[81] != b' ' || line[98] != b'\n' {
        return None;
    }
    let digest = Digest::from_lower_hex(&line[..64])?;
    let hex16 = |field: &[u8]| {
        field
            .iter()
            .try_fold(0u64, |acc, &b| Some((acc << 4) | u64::from(lower_hex(b)?)))
    };
    Some(Entry {
        digest,
        offset: hex16(&line[65..81])?,
        len: hex16(&line[82..98])?,
    })
}

/// Writes one index line into `line` (exactly `LINE` bytes).
fn format_line(line: &mut [u8], entry: &Entry) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (pair, byte) in line[..64].chunks_exact_mut(2).zip(entry.digest.0) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0x0f)];
    }
    let hex16 = |field: &mut [u8], value: u64| {
        for (i, digit) in field.iter_mut().enumerate() {
            *digit = HEX[((value >> (4 * (15 - i))) & 0x0f) as usize];
        }
    };
    hex16(&mut line[65..81], entry.offset);
    hex16(&mut line[82..98], entry.len);
    line[64] = b' ';
    line[81] = b' ';
    line[98] = b'\n';
}

/// Collects small objects into a new pack.
pub struct PackBuilder {
    packs_dir: PathBuf,
    tmp: tempfile::NamedTempFile,
    sink: Option<Sink>,
    block: Option<AlignedBuf>,
    written: u64,
    entries: Vec<Entry>,
    seen: HashSet<Digest>,
}

impl PackBuilder {
    pub fn new(packs_dir: &Path, tmp_dir: &Path) -> Result<PackBuilder> {
        let tmp = writable_temp(tmp_dir, "pack-")?;
        let mut sink = Sink::start(tmp.as_file(), tmp.path()).map_err(Error::io(tmp.path()))?;
        let block = sink.buffer().map_err(Error::io(tmp.path()))?;
        Ok(PackBuilder {
            packs_dir: packs_dir.to_path_buf(),
            tmp,
            sink: Some(sink),
            block: Some(block),
            written: 0,
            entries: Vec::new(),
            seen: HashSet::new(),
        })
    }

    /// True if this pack already holds `digest`.
    pub fn holds(&self, digest: &Digest) -> bool {
        self.seen.contains(digest)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends an object whose digest the caller computed.
    pub fn append(&mut self, digest: Digest, bytes: &[u8]) -> Result<()> {
        if !self.seen.insert(digest) {
            return Ok(());
        }
        self.entries.push(Entry {
            digest,
            offset: self.written,
            len: bytes.len() as u64,
        });
        self.written += bytes.len() as u64;
        let path = self.tmp.path();
        let mut rest = bytes;
        while !rest.is_empty() {
            let (Some(block), Some(sink)) = (self.block.as_mut(), self.sink.as_mut()) else {
                return Err(Error::io(path)(io::Error::other("pack already finished")));
            };
            rest = &rest[block.push(rest)..];
            if block.is_full() {
                let full = std::mem::replace(block, sink.buffer().map_err(Error::io(path))?);
                sink.submit(full).map_err(Error::io(path))?;
            }
        }
        Ok(())
    }

    /// Queues the last, partial block and waits until everything is written.
    fn flush(&mut self) -> Result<()> {
        if let (Some(block), Some(mut sink)) = (self.block.take(), self.sink.take()) {
            let path = self.tmp.path();
            if !block.is_empty() {
                sink.submit(block).map_err(Error::io(path))?;
            }
            sink.finish().map_err(Error::io(path))?;
        }
        Ok(())
    }

    /// Number of objects appended so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Abandons the pack and hands its objects, one at a time, to `store` (which keeps them
    /// loose instead: a pack of a few objects would only add one more index to search).
    pub fn into_objects(
        mut self,
        mut store: impl FnMut(Digest, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let path = self.tmp.path().to_path_buf();
        self.flush()?;
        let file = self.tmp.as_file();
        let mut bytes = Vec::new();
        for entry in &self.entries {
            bytes.resize(entry.len as usize, 0);
            file.read_exact_at(&mut bytes, entry.offset)
                .map_err(Error::io(&path))?;
            store(entry.digest, &bytes)?;
        }
        Ok(())
    }

    /// Writes the index, makes both files durable and renames them into place, the index
    /// last. Returns the pack's name, or `None` (and nothing on disk) if it is empty.
    pub fn finish(mut self) -> Result<Option<String>> {
        let path = self.tmp.path().to_path_buf();
        self.flush()?;
        if self.entries.is_empty() {
            return Ok(None);
        }
        // The pack's flush overlaps with building the index.
        let pack_file = self.tmp.as_file().try_clone().map_err(Error::io(&path))?;
        let flushing = std::thread::spawn(move || pack_file.sync_data());
        self.entries.sort_unstable_by_key(|e| e.digest);
        let mut index = vec![0u8; self.entries.len() * LINE];
        index
            .par_chunks_mut(LINE)
            .zip(self.entries.par_iter())
            .for_each(|(line, entry)| format_line(line, entry));
        let name = Digest::of(&index).to_hex();
        let tmp_dir = path.parent().unwrap_or(Path::new("."));
        let index_tmp = writable_temp(tmp_dir, "idx-")?;
        write_through_sink(&index_tmp, &index)?;
        index_tmp
            .as_file()
            .sync_data()
            .map_err(Error::io(index_tmp.path()))?;
        flushing
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("flush thread panicked")))
            .map_err(Error::io(&path))?;
        for file in [self.tmp.as_file(), index_tmp.as_file()] {
            file.set_permissions(fs::Permissions::from_mode(0o444))
                .map_err(Error::io(&path))?;
        }
        fs::create_dir_all(&self.packs_dir).map_err(Error::io(&self.packs_dir))?;
        let pack_path = self.packs_dir.join(format!("{name}.pack"));
        let index_path = self.packs_dir.join(format!("{name}.idx"));
        self.tmp
            .persist(&pack_path)
            .map_err(|e| Error::io(&pack_path)(e.error))?;
        // The pack's name must be durable before its index's: renames are not ordered.
        fsutil::sync_dir(&self.packs_dir)?;
        index_tmp
            .persist(&index_path)
            .map_err(|e| Error::io(&index_path)(e.error))?;
        fsutil::sync_dir(&self.packs_dir)?;
        Ok(Some(name))
    }
}

/// Writes `bytes` to a new temporary file through a [`Sink`] (direct I/O where possible).
fn write_through_sink(file: &tempfile::NamedTempFile, bytes: &[u8]) -> Result<()> {
    let err = |e| Error::io(file.path())(e);
    let mut sink = Sink::start(file.as_file(), file.path()).map_err(err)?;
    for piece in bytes.chunks(BLOCK) {
        let mut block = sink.buffer().map_err(err)?;
        block.push(piece);
        sink.submit(block).map_err(err)?;
    }
    sink.finish().map_err(err)
}

/// A temporary file the sink can reopen for writing (objects end read-only when committed).
pub fn writable_temp(dir: &Path, prefix: &str) -> Result<tempfile::NamedTempFile> {
    fsutil::temp_file(dir, prefix, 0o644)
}

/// One committed pack, opened for lookups.
pub struct Pack {
    pub name: String,
    pub index_path: PathBuf,
    pub pack_path: PathBuf,
    index: File,
    count: u64,
    /// The `.pack` file, opened once with the index (`None` if it could not be opened: reads
    /// then try again and report why). Packs never change once committed, so every read of
    /// the process shares this handle instead of opening the file per object.
    data: Option<Arc<File>>,
    /// Length of the `.pack` file when opened (0 if it is missing).
    pack_len: u64,
}

/// Streams one object out of a pack by positioned reads on the shared handle.
pub struct PackReader {
    file: Arc<File>,
    pos: u64,
    end: u64,
    /// For errors: a failing read names the pack, not just the object.
    path: PathBuf,
}

impl io::Read for PackReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (self.end - self.pos).min(buf.len() as u64) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self
            .file
            .read_at(&mut buf[..want], self.pos)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.path.display())))?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Pack {
    pub fn open(packs_dir: &Path, name: &str) -> Result<Pack> {
        let index_path = packs_dir.join(format!("{name}.idx"));
        let (index, len) = fsutil::open_regular(&index_path, fsutil::Links::Refuse)?;
        if len % LINE as u64 != 0 {
            return Err(Error::Corrupt {
                path: index_path,
                why: format!("{len} bytes, not a whole number of {LINE}-byte lines"),
            });
        }
        let pack_path = packs_dir.join(format!("{name}.pack"));
        let (data, pack_len) = match fsutil::open_regular(&pack_path, fsutil::Links::Refuse) {
            Ok((file, len)) => (Some(Arc::new(file)), len),
            Err(_) => (None, 0),
        };
        Ok(Pack {
            name: name.to_string(),
            pack_path,
            index_path,
            index,
            count: len / LINE as u64,
            data,
            pack_len,
        })
    }

    /// True if `entry` lies within the pack file (as it was when opened).
    pub fn holds_bytes_of(&self, entry: &Entry) -> bool {
        entry
            .offset
            .checked_add(entry.len)
            .is_some_and(|end| end <= self.pack_len)
    }

    /// Number of objects in the pack.
    pub fn count(&self) -> u64 {
        self.count
    }

    fn line(&self, i: u64) -> Result<Entry> {
        let mut buf = [0u8; LINE];
        self.index
            .read_exact_at(&mut buf, i * LINE as u64)
            .map_err(Error::io(&self.index_path))?;
        parse_line(&buf).ok_or_else(|| Error::Corrupt {
            path: self.index_path.clone(),
            why: format!("line {} is not `<digest> <offset> <length>`", i + 1),
        })
    }

    /// First line whose digest is not below `key` (the lines are sorted).
    fn lower_bound(&self, key: &Digest) -> Result<u64> {
        super::runs::lower_bound(self.count, key, |i| Ok(self.line(i)?.digest))
    }

    pub fn find(&self, digest: &Digest) -> Result<Option<Entry>> {
        let at = self.lower_bound(digest)?;
        if at < self.count {
            let entry = self.line(at)?;
            if entry.digest == *digest {
                return Ok(Some(entry));
            }
        }
        Ok(None)
    }

    /// Entries whose hex digest starts with `hex_prefix` (lowercase).
    pub fn with_prefix(&self, hex_prefix: &str) -> Result<Vec<Digest>> {
        let mut low = [0u8; 32];
        for (i, pair) in hex_prefix.as_bytes().chunks(2).enumerate().take(32) {
            let text = std::str::from_utf8(pair).unwrap_or("0");
            let padded = if text.len() == 1 {
                format!("{text}0")
            } else {
                text.to_string()
            };
            low[i] = u8::from_str_radix(&padded, 16).unwrap_or(0);
        }
        let mut out = Vec::new();
        let mut at = self.lower_bound(&Digest(low))?;
        while at < self.count {
            let entry = self.line(at)?;
            if !entry.digest.to_hex().starts_with(hex_prefix) {
                break;
            }
            out.push(entry.digest);
            at += 1;
        }
        Ok(out)
    }

    /// The entries that parse, skipping damaged lines (which `verify` reports).
    pub fn entries(&self) -> Result<Vec<Entry>> {
        let bytes = fsutil::read_stored(&self.index_path, fsutil::MAX_INDEX_FILE)?;
        Ok(bytes.chunks(LINE).filter_map(parse_line).collect())
    }

    /// The pack file: the handle opened with the index, or (if that failed) opened now, so
    /// that the error names what is wrong with it.
    fn data(&self) -> Result<Arc<File>> {
        match &self.data {
            Some(file) => Ok(file.clone()),
            None => Ok(Arc::new(
                fsutil::open_regular(&self.pack_path, fsutil::Links::Refuse)?.0,
            )),
        }
    }

    /// Streams one object's bytes (as many as the pack holds).
    pub fn reader(&self, entry: &Entry) -> Result<PackReader> {
        Ok(PackReader {
            file: self.data()?,
            pos: entry.offset,
            end: entry.offset.saturating_add(entry.len),
            path: self.pack_path.clone(),
        })
    }

    /// Copies one object's bytes (as many as the pack holds) to the end of `out`, unchecked.
    pub fn copy_to(&self, entry: &Entry, out: &File, out_name: &Path) -> Result<u64> {
        let data = self.data()?;
        fsutil::copy_range(
            &data,
            entry.offset,
            entry.len,
            out,
            (&self.pack_path, out_name),
        )
    }

    /// Reads one object's bytes (as many as the pack holds: a short read means damage, which
    /// the caller's digest check reports).
    pub fn read(&self, entry: &Entry) -> Result<Vec<u8>> {
        let len = usize::try_from(entry.len).unwrap_or(usize::MAX);
        // Never allocate more than the pack can hold, whatever a damaged index line says.
        let mut bytes = vec![0u8; len.min(self.pack_len.saturating_sub(entry.offset) as usize)];
        let n = fsutil::read_full(&mut self.reader(entry)?, &mut bytes)
            .map_err(Error::io(&self.pack_path))?;
        bytes.truncate(n);
        Ok(bytes)
    }
}

/// Names of the committed packs in `packs_dir` (those with an index), sorted.
pub fn list(packs_dir: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(packs_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(packs_dir)(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(Error::io(packs_dir))?;
        if let Some(name) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_suffix(".idx"))
        {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_reject_variants() {
        let entry = Entry {
            digest: Digest::of(b"x"),
            offset: 5,
            len: 7,
        };
        let mut line = [0u8; LINE];
        format_line(&mut line, &entry);
        let text = String::from_utf8(line.to_vec()).unwrap();
        assert_eq!(
            text,
            format!(
                "{} {:016x} {:016x}\n",
                entry.digest, entry.offset, entry.len
            )
        );
        assert_eq!(parse_line(text.as_bytes()), Some(entry));
        assert_eq!(parse_line(text.to_uppercase().as_bytes()), None);
        assert_eq!(parse_line(text.replace(' ', "\t").as_bytes()), None);
        assert_eq!(parse_line(&text.as_bytes()[..LINE - 1]), None);
    }

    #[test]
    fn finds_keys_in_a_skewed_index() {
        // Not uniformly distributed (as a hostile index need not be): interpolation must fall
        // back to bisection and still find every key.
        let dir = tempfile::tempdir().unwrap();
        let mut digests: Vec<Digest> = (0..2000u32)
            .map(|i| {
                let mut d = [0u8; 32];
                d[28..].copy_from_slice(&i.to_be_bytes());
                Digest(d)
            })
            .collect();
        digests.push(Digest([0xff; 32]));
        let mut index = vec![0u8; digests.len() * LINE];
        for (line, digest) in index.chunks_mut(LINE).zip(&digests) {
            let entry = Entry {
                digest: *digest,
                offset: 0,
                len: 0,
            };
            format_line(line, &entry);
        }
        fs::write(dir.path().join("skewed.idx"), &index).unwrap();
        let pack = Pack::open(dir.path(), "skewed").unwrap();
        for digest in &digests {
            assert_eq!(pack.find(digest).unwrap().map(|e| e.digest), Some(*digest));
        }
        let mut absent = [0u8; 32];
        absent[0] = 0x80;
        assert_eq!(pack.find(&Digest(absent)).unwrap(), None);
    }

    #[test]
    fn builds_finds_and_reads() {
        let dir = tempfile::tempdir().unwrap();
        let packs = dir.path().join("packs");
        let mut builder = PackBuilder::new(&packs, dir.path()).unwrap();
        let objects: Vec<Vec<u8>> = (0..300u32)
            .map(|i| vec![(i % 256) as u8; (i as usize * 97) % 5000])
            .collect();
        for bytes in &objects {
            builder.append(Digest::of(bytes), bytes).unwrap();
        }
        let name = builder.finish().unwrap().unwrap();
        assert_eq!(list(&packs).unwrap(), vec![name.clone()]);
        let pack = Pack::open(&packs, &name).unwrap();
        for bytes in &objects {
            let entry = pack.find(&Digest::of(bytes)).unwrap().unwrap();
            assert_eq!(&pack.read(&entry).unwrap(), bytes);
        }
        assert_eq!(pack.find(&Digest::of(b"absent")).unwrap(), None);
        let some = Digest::of(&objects[3]).to_hex();
        assert!(pack
            .with_prefix(&some[..3])
            .unwrap()
            .contains(&Digest::of(&objects[3])));
        let index = fs::read(&pack.index_path).unwrap();
        assert_eq!(Digest::of(&index).to_hex(), name);
    }
}
