//! Membership filters beside the `by-content` runs: a blocked Bloom filter per run, so that
//! a lookup of content that no run holds (every new file of an `add`) reads one 64-byte block
//! per run instead of searching it.
//!
//! A filter is derived data and never trusted for a positive answer: "may hold" sends the
//! lookup to the run's search as before. Only "does not hold" skips a run, and only from a
//! block whose check matches: each block carries 8 bytes of SHA-256 over the run's name and
//! line count, the block's number and its bits, so a damaged, zeroed, shifted or stale block
//! (or one of another run) answers "may hold" and the search decides. A filter of the wrong
//! length, or none, is not used, and the next writer rebuilds it. Memory: one block per
//! lookup and a 64 KiB buffer while writing, whatever the run's size.
//!
//! Layout (FORMAT.md §11): `blocks_for(lines)` blocks of 56 bytes of bits and 8 of check.
//! Block `b` holds the keys whose first 8 bytes, as a fraction of 2^64, fall in
//! [b / blocks, (b + 1) / blocks), so a filter is written in one pass over the sorted run; a
//! key sets [`PROBES`] bits of its block, chosen by its bytes 8..24.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use tempfile::NamedTempFile;

use crate::core::digest::Digest;
use crate::error::{Error, Result};

use super::fsutil;
use super::runs::KEY_HEX;

/// Bytes per block: one cache line, read with one `pread`.
pub const BLOCK: usize = 64;
const CHECK: usize = 8;
const BITS: usize = (BLOCK - CHECK) * 8;
/// 16 bits and 8 probes per key: about 0.1–0.2 % of absent keys still search the run.
const BITS_PER_KEY: u64 = 16;
const PROBES: usize = 8;
const DOMAIN: &[u8] = b"evidentia-filter 1\n";
const WRITE_BUFFER: usize = 64 * 1024;

/// The filter file of the run file `run`.
pub fn file_name(run: &str) -> String {
    format!("{run}.filter")
}

/// Blocks of the filter of a run of `lines` lines.
pub fn blocks_for(lines: u64) -> u64 {
    lines
        .saturating_mul(BITS_PER_KEY)
        .div_ceil(BITS as u64)
        .max(1)
}

fn block_of(key: &Digest, blocks: u64) -> u64 {
    let prefix = u64::from_be_bytes(key.0[..8].try_into().unwrap_or([0; 8]));
    ((u128::from(prefix) * u128::from(blocks)) >> 64) as u64
}

fn bits_of(key: &Digest) -> impl Iterator<Item = usize> + '_ {
    key.0[8..8 + 2 * PROBES]
        .chunks_exact(2)
        .map(|pair| usize::from(u16::from_be_bytes([pair[0], pair[1]])) % BITS)
}

/// What every block's check covers besides the block itself: the run it belongs to.
fn salt(run: &str, lines: u64) -> Digest {
    Digest::of_parts(&[DOMAIN, run.as_bytes(), b"\n", &lines.to_be_bytes()])
}

fn check(salt: &Digest, block: u64, bits: &[u8]) -> [u8; CHECK] {
    let digest = Digest::of_parts(&[&salt.0, &block.to_be_bytes(), bits]);
    let mut out = [0u8; CHECK];
    out.copy_from_slice(&digest.0[..CHECK]);
    out
}

/// An opened filter.
pub struct Filter {
    file: File,
    blocks: u64,
    salt: Digest,
}

impl Filter {
    /// The filter at `path` for the run file `run` of `lines` lines; `None` when it is missing,
    /// unreadable or of the wrong length (the run is then searched for every key).
    pub fn open(path: &Path, run: &str, lines: u64) -> Option<Filter> {
        let (file, len) = fsutil::open_regular(path, fsutil::Links::Refuse).ok()?;
        let blocks = blocks_for(lines);
        (Some(len) == blocks.checked_mul(BLOCK as u64)).then(|| Filter {
            file,
            blocks,
            salt: salt(run, lines),
        })
    }

    /// False only if the run certainly holds no line with key `key`: the key's block was read,
    /// its check matches and one of the key's bits is clear. Any doubt answers true.
    pub fn may_hold(&self, key: &Digest) -> bool {
        let index = block_of(key, self.blocks);
        let mut block = [0u8; BLOCK];
        if self
            .file
            .read_exact_at(&mut block, index * BLOCK as u64)
            .is_err()
        {
            return true;
        }
        let (bits, stored) = block.split_at(BLOCK - CHECK);
        if check(&self.salt, index, bits) != stored {
            return true;
        }
        bits_of(key).all(|bit| bits[bit / 8] & (1 << (bit % 8)) != 0)
    }
}

/// Writes the filter of one run from its lines, in key order, through a temporary file that
/// [`FilterWriter::finish`] makes durable and renames into place (the caller syncs the
/// directory before a manifest names the run).
pub struct FilterWriter {
    tmp: NamedTempFile,
    out: BufWriter<File>,
    path: std::path::PathBuf,
    blocks: u64,
    salt: Digest,
    /// The block being filled, and its bits.
    current: u64,
    bits: [u8; BLOCK - CHECK],
}

impl FilterWriter {
    /// A writer of `dir/<run>.filter` for the run file `run` of `lines` lines.
    pub fn create(dir: &Path, run: &str, lines: u64) -> Result<FilterWriter> {
        let tmp = fsutil::temp_file(dir, ".tmp-", 0o644)?;
        let out = BufWriter::with_capacity(
            WRITE_BUFFER,
            tmp.as_file().try_clone().map_err(Error::io(tmp.path()))?,
        );
        Ok(FilterWriter {
            tmp,
            out,
            path: dir.join(file_name(run)),
            blocks: blocks_for(lines),
            salt: salt(run, lines),
            current: 0,
            bits: [0; BLOCK - CHECK],
        })
    }

    /// Adds the key of `line`, a whole line of the run. Lines must come in key order (a key
    /// below its predecessor's block is refused: the filter would be wrong). A line without a
    /// lowercase hex key can match no lookup and is left out.
    pub fn push_line(&mut self, line: &[u8]) -> Result<()> {
        let Some(key) = line.get(..KEY_HEX).and_then(Digest::from_lower_hex) else {
            return Ok(());
        };
        let block = block_of(&key, self.blocks);
        if block < self.current {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                why: "run lines out of key order while writing its filter".to_string(),
            });
        }
        while self.current < block {
            self.flush_block()?;
        }
        for bit in bits_of(&key) {
            self.bits[bit / 8] |= 1 << (bit % 8);
        }
        Ok(())
    }

    fn flush_block(&mut self) -> Result<()> {
        let check = check(&self.salt, self.current, &self.bits);
        self.out
            .write_all(&self.bits)
            .and_then(|()| self.out.write_all(&check))
            .map_err(Error::io(self.tmp.path()))?;
        self.bits = [0; BLOCK - CHECK];
        self.current += 1;
        Ok(())
    }

    /// Writes the remaining blocks, makes the file durable and renames it into place.
    pub fn finish(mut self) -> Result<()> {
        while self.current < self.blocks {
            self.flush_block()?;
        }
        self.out.flush().map_err(Error::io(self.tmp.path()))?;
        drop(self.out);
        self.tmp
            .as_file()
            .sync_data()
            .map_err(Error::io(self.tmp.path()))?;
        let path = self.path;
        self.tmp
            .persist(&path)
            .map_err(|e| Error::io(&path)(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u32, salt: &str) -> Vec<Digest> {
        let mut keys: Vec<Digest> = (0..n)
            .map(|i| Digest::of(format!("{salt}{i}").as_bytes()))
            .collect();
        keys.sort();
        keys
    }

    fn write(dir: &Path, run: &str, keys: &[Digest]) {
        let mut writer = FilterWriter::create(dir, run, keys.len() as u64).unwrap();
        for key in keys {
            writer
                .push_line(format!("{} x\n", key.to_hex()).as_bytes())
                .unwrap();
        }
        writer.finish().unwrap();
    }

    #[test]
    fn holds_every_key_and_rejects_almost_every_other() {
        let dir = tempfile::tempdir().unwrap();
        let present = keys(20_000, "in");
        write(dir.path(), "0-9", &present);
        let path = dir.path().join("0-9.filter");
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            blocks_for(20_000) * BLOCK as u64
        );
        let filter = Filter::open(&path, "0-9", 20_000).unwrap();
        assert!(present.iter().all(|k| filter.may_hold(k)));
        let absent = keys(20_000, "out");
        let false_hits = absent.iter().filter(|k| filter.may_hold(k)).count();
        assert!(false_hits < 100, "{false_hits} false positives of 20000");
        // The same file is no filter of another run or line count: of another length it is
        // not opened; of the same length every check fails, so it rules nothing out.
        assert!(Filter::open(&path, "0-9", 40_000).is_none());
        for other in [
            Filter::open(&path, "0-8", 20_000).unwrap(),
            Filter::open(&path, "0-9", 20_001).unwrap(),
        ] {
            assert!(absent.iter().all(|k| other.may_hold(k)));
        }
    }

    #[test]
    fn a_damaged_block_answers_may_hold_and_a_wrong_length_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let present = keys(5_000, "in");
        write(dir.path(), "r", &present);
        let path = dir.path().join("r.filter");
        let mut bytes = std::fs::read(&path).unwrap();
        // Clear every bit of block 3 (its check left as it was), zero block 5 entirely, and
        // swap blocks 7 and 8: none of their keys may be answered "absent".
        bytes[3 * BLOCK..4 * BLOCK - CHECK].fill(0);
        bytes[5 * BLOCK..6 * BLOCK].fill(0);
        let (seven, eight) = (7 * BLOCK, 8 * BLOCK);
        let block_seven = bytes[seven..eight].to_vec();
        bytes.copy_within(eight..eight + BLOCK, seven);
        bytes[eight..eight + BLOCK].copy_from_slice(&block_seven);
        std::fs::write(&path, &bytes).unwrap();
        let filter = Filter::open(&path, "r", 5_000).unwrap();
        assert!(present.iter().all(|k| filter.may_hold(k)));
        let absent = keys(20_000, "out");
        let blocks = blocks_for(5_000);
        for key in absent
            .iter()
            .filter(|k| [3, 5, 7, 8].contains(&block_of(k, blocks)))
        {
            assert!(filter.may_hold(key));
        }
        bytes.pop();
        std::fs::write(&path, &bytes).unwrap();
        assert!(Filter::open(&path, "r", 5_000).is_none());
        assert!(Filter::open(&dir.path().join("missing"), "r", 5_000).is_none());
    }

    #[test]
    fn the_file_is_laid_out_as_format_md_says() {
        // FORMAT.md §11 "Content filters", computed here by hand for a run of one line.
        let dir = tempfile::tempdir().unwrap();
        let key = Digest::of(b"one");
        write(dir.path(), "4-5", &[key]);
        let bytes = std::fs::read(dir.path().join("4-5.filter")).unwrap();
        assert_eq!(bytes.len(), 64);
        let mut bits = [0u8; 56];
        for i in 0..8 {
            let v = usize::from(u16::from_be_bytes([key.0[8 + 2 * i], key.0[9 + 2 * i]])) % 448;
            bits[v / 8] |= 1 << (v % 8);
        }
        let mut s_input = b"evidentia-filter 1\n4-5\n".to_vec();
        s_input.extend_from_slice(&1u64.to_be_bytes());
        let s = Digest::of(&s_input);
        let mut c_input = s.0.to_vec();
        c_input.extend_from_slice(&0u64.to_be_bytes());
        c_input.extend_from_slice(&bits);
        assert_eq!(&bytes[..56], &bits);
        assert_eq!(&bytes[56..], &Digest::of(&c_input).0[..8]);
    }

    #[test]
    fn keys_out_of_order_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = FilterWriter::create(dir.path(), "r", 1000).unwrap();
        let line = |first: u8| format!("{} x\n", Digest([first; 32]).to_hex());
        writer.push_line(line(0xf0).as_bytes()).unwrap();
        writer.push_line(b"not a key\n").unwrap();
        assert!(writer.push_line(line(0x01).as_bytes()).is_err());
    }
}
