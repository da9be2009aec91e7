//! Sorted runs: immutable files of fixed-width text lines, sorted by a leading key of 64
//! lowercase hex digits (a SHA-256), searched in place and merged as streams.
//!
//! A lookup reads a few lines of each run (interpolation search: SHA-256 keys are uniformly
//! distributed), never a whole file; a merge reads its inputs once, sequentially, in constant
//! memory. The derived index (`index.rs`) keeps each of its lookups as a short list of runs,
//! and pack indexes (`pack.rs`) are searched with the same [`lower_bound`].

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::core::digest::Digest;
use crate::error::{Error, Result};

use super::fsutil;

/// Hex digits of a line's key.
pub const KEY_HEX: usize = 64;
/// Lines read at once while collecting the lines of one key (most keys have one line).
const CHUNK_LINES: u64 = 8;
/// Lines read at once by a batch of lookups: a window of a few kilobytes holds the answer of
/// the next search in most cases (see [`Run::find_many`]).
const WINDOW_LINES: u64 = 64;
/// Read buffer per input of a merge.
const MERGE_BUFFER: usize = 256 * 1024;

/// The first position in `[0, count)` whose key is not below `key` (`count` if none), for keys
/// sorted ascending and read by `key_at`.
///
/// Interpolation search: digests are uniformly distributed, so the position of a key is about
/// count × (its first 8 bytes / 2^64), and a few reads find it instead of log2(count). Bounds
/// on the first 8 bytes shrink with every read; after as many steps as plain bisection would
/// need (a hostile file need not be uniform), the rest is bisection.
pub fn lower_bound(
    count: u64,
    key: &Digest,
    key_at: impl FnMut(u64) -> Result<Digest>,
) -> Result<u64> {
    lower_bound_from(0, 0, count, key, key_at)
}

fn prefix(d: &Digest) -> u64 {
    u64::from_be_bytes(d.0[..8].try_into().unwrap_or([0; 8]))
}

/// [`lower_bound`] within `[lo, count)`, where every key at `lo` or after has a prefix of at
/// least `lo_key`: the search a batch of ascending keys continues from its previous answer.
fn lower_bound_from(
    mut lo: u64,
    mut lo_key: u64,
    count: u64,
    key: &Digest,
    mut key_at: impl FnMut(u64) -> Result<Digest>,
) -> Result<u64> {
    let target = prefix(key);
    let mut hi = count;
    let mut hi_key = u64::MAX;
    let mut steps_left = 64 - (hi - lo.min(hi)).leading_zeros();
    while lo < hi {
        let mid = if steps_left > 0 && hi_key > lo_key {
            steps_left -= 1;
            let span = u128::from(hi - lo);
            let offset =
                u128::from(target.saturating_sub(lo_key)) * span / u128::from(hi_key - lo_key);
            lo + (offset as u64).min(hi - lo - 1)
        } else {
            lo + (hi - lo) / 2
        };
        let found = key_at(mid)?;
        if found < *key {
            lo = mid + 1;
            lo_key = lo_key.max(prefix(&found));
        } else {
            hi = mid;
            hi_key = hi_key.min(prefix(&found));
        }
    }
    Ok(lo)
}

/// One run file opened for lookups: `count` lines of `width` bytes (the last one LF).
pub struct Run {
    path: PathBuf,
    file: File,
    width: u64,
    count: u64,
}

impl Run {
    /// Opens a run that should hold `count` lines of `width` bytes; a file of another length
    /// (truncated, appended to, replaced) is `Corrupt`.
    pub fn open(path: &Path, width: usize, count: u64) -> Result<Run> {
        // One read path for archive files: a link, FIFO or device is refused on the handle.
        let (file, len) = super::fsutil::open_regular(path, super::fsutil::Links::Refuse)?;
        let width = width as u64;
        if Some(len) != count.checked_mul(width) {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                why: format!(
                    "{len} bytes, expected {count} lines of {width} bytes; delete index/ to rebuild it"
                ),
            });
        }
        Ok(Run {
            path: path.to_path_buf(),
            file,
            width,
            count,
        })
    }

    fn key_at(&self, i: u64) -> Result<Digest> {
        let mut buf = [0u8; KEY_HEX];
        self.file
            .read_exact_at(&mut buf, i * self.width)
            .map_err(Error::io(&self.path))?;
        self.key_of(&buf, i)
    }

    /// Every line whose key is `key`, in file order, without its LF.
    pub fn find(&self, key: &Digest) -> Result<Vec<Vec<u8>>> {
        let hex = key.to_hex();
        let mut at = lower_bound(self.count, key, |i| self.key_at(i))?;
        let mut out = Vec::new();
        let mut chunk = Vec::new();
        // Most lookups (every new file of an `add`) find nothing: one line tells.
        let mut want = 1;
        while at < self.count {
            let lines = want.min(self.count - at);
            want = CHUNK_LINES;
            chunk.resize((lines * self.width) as usize, 0);
            self.file
                .read_exact_at(&mut chunk, at * self.width)
                .map_err(Error::io(&self.path))?;
            for line in chunk.chunks_exact(self.width as usize) {
                if !line.starts_with(hex.as_bytes()) {
                    return Ok(out);
                }
                out.push(line[..line.len() - 1].to_vec());
            }
            at += lines;
        }
        Ok(out)
    }

    /// For each of `keys`, every line whose key it is, in file order, without its LF: the
    /// answers of [`Run::find`], cheaper for many keys at once. Keys in ascending order (as a
    /// large `add` asks them) make each search start where the previous one ended, close to
    /// its answer (the next key is about as many lines further as the gap between the keys
    /// predicts), so most searches stay inside the window of lines already read. A key below
    /// its predecessor starts from the whole run again: any order is answered correctly.
    pub fn find_many(&self, keys: &[Digest]) -> Result<Vec<Vec<Vec<u8>>>> {
        let mut window = Window {
            start: 0,
            bytes: Vec::new(),
        };
        let mut out = Vec::with_capacity(keys.len());
        let (mut lo, mut lo_key, mut previous) = (0u64, 0u64, None);
        for key in keys {
            if previous.is_some_and(|p: &Digest| key < p) {
                (lo, lo_key) = (0, 0);
            }
            let mut at = lower_bound_from(lo, lo_key, self.count, key, |i| {
                let line = self.line_in(&mut window, i)?;
                self.key_of(line, i)
            })?;
            (lo, lo_key, previous) = (at, prefix(key), Some(key));
            let hex = key.to_hex();
            let mut lines = Vec::new();
            while at < self.count {
                let line = self.line_in(&mut window, at)?;
                if !line.starts_with(hex.as_bytes()) {
                    break;
                }
                lines.push(line[..line.len() - 1].to_vec());
                at += 1;
            }
            out.push(lines);
        }
        Ok(out)
    }

    /// Line `i`, from `window` or else read into it with its neighbours.
    fn line_in<'w>(&self, window: &'w mut Window, i: u64) -> Result<&'w [u8]> {
        let width = self.width as usize;
        let held = (window.bytes.len() / width) as u64;
        if i < window.start || i >= window.start + held {
            let start = i
                .saturating_sub(WINDOW_LINES / 2)
                .min(self.count.saturating_sub(WINDOW_LINES));
            let end = (start + WINDOW_LINES).min(self.count);
            window
                .bytes
                .resize(((end - start) * self.width) as usize, 0);
            self.file
                .read_exact_at(&mut window.bytes, start * self.width)
                .map_err(Error::io(&self.path))?;
            window.start = start;
        }
        let at = ((i - window.start) * self.width) as usize;
        window
            .bytes
            .get(at..at + width)
            .ok_or_else(|| Error::Corrupt {
                path: self.path.clone(),
                why: format!("line {} is beyond the end of the run", i + 1),
            })
    }

    fn key_of(&self, line: &[u8], i: u64) -> Result<Digest> {
        line.get(..KEY_HEX)
            .and_then(Digest::from_lower_hex)
            .ok_or_else(|| Error::Corrupt {
                path: self.path.clone(),
                why: format!("line {} does not start with a lowercase hex digest", i + 1),
            })
    }
}

/// Consecutive lines of a run held in memory by [`Run::find_many`].
struct Window {
    start: u64,
    bytes: Vec<u8>,
}

/// Writes `lines` (whole lines, already sorted) as the run `dir/name`, through a temporary
/// file made durable (`fdatasync`) and renamed into place; the caller syncs `dir` once for
/// all its renames. Only the run's own data is flushed, not the whole file system, which
/// others may be filling.
pub fn write(dir: &Path, name: &str, lines: &[u8]) -> Result<()> {
    let mut tmp = fsutil::temp_file(dir, ".tmp-", 0o644)?;
    tmp.write_all(lines).map_err(Error::io(tmp.path()))?;
    tmp.as_file().sync_data().map_err(Error::io(tmp.path()))?;
    let path = dir.join(name);
    tmp.persist(&path).map_err(|e| Error::io(&path)(e.error))?;
    Ok(())
}

/// Merges `inputs` (oldest first) into the run `dir/name`, in one pass and constant memory,
/// durable and renamed into place like [`write`]; lines with equal keys keep their order (an
/// older run's first). Each output line is also passed to `on_line` (which builds the run's
/// filter in the same pass). Returns the line count.
pub fn merge(
    inputs: &[&Run],
    dir: &Path,
    name: &str,
    mut on_line: impl FnMut(&[u8]) -> Result<()>,
) -> Result<u64> {
    let width = inputs.first().map_or(0, |r| r.width as usize);
    let mut readers = Vec::with_capacity(inputs.len());
    let mut heads: Vec<Option<Vec<u8>>> = Vec::with_capacity(inputs.len());
    for run in inputs {
        let (file, _) = super::fsutil::open_regular(&run.path, super::fsutil::Links::Refuse)?;
        let mut reader = BufReader::with_capacity(MERGE_BUFFER, file);
        heads.push(next_line(&mut reader, width, run)?);
        readers.push(reader);
    }
    let tmp = fsutil::temp_file(dir, ".tmp-", 0o644)?;
    let mut out = BufWriter::with_capacity(MERGE_BUFFER, tmp.as_file());
    let mut count = 0u64;
    loop {
        // The smallest key; on a tie the older run (lower position) wins, so that equal keys
        // stay in log order.
        let mut best: Option<usize> = None;
        for (i, head) in heads.iter().enumerate() {
            if let Some(line) = head {
                let better = best
                    .and_then(|b| heads[b].as_ref())
                    .is_none_or(|current| line[..KEY_HEX] < current[..KEY_HEX]);
                if better {
                    best = Some(i);
                }
            }
        }
        let Some(i) = best else { break };
        if let Some(line) = &heads[i] {
            out.write_all(line).map_err(Error::io(tmp.path()))?;
            on_line(line)?;
        }
        count += 1;
        heads[i] = next_line(&mut readers[i], width, inputs[i])?;
    }
    out.flush().map_err(Error::io(tmp.path()))?;
    drop(out);
    tmp.as_file().sync_data().map_err(Error::io(tmp.path()))?;
    let path = dir.join(name);
    tmp.persist(&path).map_err(|e| Error::io(&path)(e.error))?;
    Ok(count)
}

impl Run {
    /// Passes every line of the run, in order, to `on_line`: one sequential read in constant
    /// memory (to rebuild a derived file of the run).
    pub fn for_each_line(&self, mut on_line: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let (file, _) = super::fsutil::open_regular(&self.path, super::fsutil::Links::Refuse)?;
        let mut reader = BufReader::with_capacity(MERGE_BUFFER, file);
        while let Some(line) = next_line(&mut reader, self.width as usize, self)? {
            on_line(&line)?;
        }
        Ok(())
    }
}

fn next_line(reader: &mut impl Read, width: usize, run: &Run) -> Result<Option<Vec<u8>>> {
    let mut line = vec![0u8; width];
    match reader.read_exact(&mut line) {
        Ok(()) => Ok(Some(line)),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(Error::io(&run.path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(key: u8, tag: u8) -> Vec<u8> {
        let mut d = [0u8; 32];
        d[0] = key;
        format!("{} {tag:02x}\n", Digest(d).to_hex()).into_bytes()
    }

    #[test]
    fn finds_every_line_of_a_key_and_merges_stably() {
        let dir = tempfile::tempdir().unwrap();
        let width = line(0, 0).len();
        let older: Vec<u8> = [line(1, 0), line(5, 1), line(5, 2), line(9, 3)].concat();
        let newer: Vec<u8> = [line(0, 4), line(5, 5), line(9, 6)].concat();
        write(dir.path(), "a", &older).unwrap();
        write(dir.path(), "b", &newer).unwrap();
        let a = Run::open(&dir.path().join("a"), width, 4).unwrap();
        let b = Run::open(&dir.path().join("b"), width, 3).unwrap();
        let key5 = |tag: u8| line(5, tag)[..width - 1].to_vec();
        assert_eq!(a.find(&Digest([5; 32])).unwrap(), Vec::<Vec<u8>>::new());
        let mut d = [0u8; 32];
        d[0] = 5;
        assert_eq!(a.find(&Digest(d)).unwrap(), vec![key5(1), key5(2)]);
        let mut passed = Vec::new();
        let count = merge(&[&a, &b], dir.path(), "ab", |line| {
            passed.extend_from_slice(line);
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 7);
        let merged = Run::open(&dir.path().join("ab"), width, 7).unwrap();
        assert_eq!(
            merged.find(&Digest(d)).unwrap(),
            vec![key5(1), key5(2), key5(5)]
        );
        let expected: Vec<u8> = [
            line(0, 4),
            line(1, 0),
            line(5, 1),
            line(5, 2),
            line(5, 5),
            line(9, 3),
            line(9, 6),
        ]
        .concat();
        assert_eq!(std::fs::read(dir.path().join("ab")).unwrap(), expected);
        assert_eq!(passed, expected);
        let mut streamed = Vec::new();
        merged
            .for_each_line(|line| {
                streamed.extend_from_slice(line);
                Ok(())
            })
            .unwrap();
        assert_eq!(streamed, expected);
    }

    #[test]
    fn find_many_answers_as_find_does_in_any_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let width = line(0, 0).len();
        // 3,000 lines of pseudo-random keys, some repeated, spanning many windows.
        let keys: Vec<Digest> = (0u32..2000).map(|i| Digest::of(&i.to_be_bytes())).collect();
        let mut lines: Vec<Vec<u8>> = (0..3000usize)
            .map(|i| format!("{} {:02x}\n", keys[i % 2000].to_hex(), i % 251).into_bytes())
            .collect();
        lines.sort_by(|a, b| a[..KEY_HEX].cmp(&b[..KEY_HEX]));
        write(dir.path(), "r", &lines.concat()).unwrap();
        let run = Run::open(&dir.path().join("r"), width, 3000).unwrap();
        // Present keys, absent ones (beyond every line too), ascending, then shuffled.
        let mut asked: Vec<Digest> = (0u32..2600).map(|i| Digest::of(&i.to_be_bytes())).collect();
        asked.extend([Digest([0; 32]), Digest([0xff; 32])]);
        asked.sort();
        let mut shuffled = asked.clone();
        shuffled.reverse();
        shuffled.rotate_left(777);
        for batch in [&asked, &shuffled] {
            let many = run.find_many(batch).unwrap();
            assert_eq!(many.len(), batch.len());
            for (key, found) in batch.iter().zip(&many) {
                assert_eq!(found, &run.find(key).unwrap());
            }
            let hits = many.iter().filter(|f| !f.is_empty()).count();
            assert_eq!(hits, 2000);
            assert_eq!(many.iter().map(Vec::len).sum::<usize>(), 3000);
        }
    }

    #[test]
    fn a_run_of_the_wrong_length_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let width = line(0, 0).len();
        write(dir.path(), "a", &[line(1, 0), line(2, 0)].concat()).unwrap();
        assert!(matches!(
            Run::open(&dir.path().join("a"), width, 3),
            Err(Error::Corrupt { .. })
        ));
    }
}
