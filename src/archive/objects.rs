//! The object store: immutable byte strings named by their SHA-256.
//!
//! Everything the archive keeps — document content and record bytes — goes through the
//! [`ObjectStore`] trait, so another backend (an S3-compatible bucket, say) can be added without
//! touching the rest. [`FsObjectStore`] keeps each object as a read-only file
//! `objects/sha256/<first 2 hex digits>/<remaining 62>`.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use crate::core::digest::{Digest, Hasher};
use crate::error::{Error, Result};

use super::fsutil;

/// Chunk size for streaming; memory use per `put_stream` is a few of these.
const CHUNK: usize = 1 << 20;
/// Chunks in flight between the hashing and the writing thread.
const PIPELINE_DEPTH: usize = 4;

/// The result of storing one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutOutcome {
    pub digest: Digest,
    pub size: u64,
    /// False when an identical object was already stored (deduplicated).
    pub newly_stored: bool,
}

/// Content-addressed, write-once storage.
pub trait ObjectStore: Send + Sync {
    /// Streams `reader` into the store in constant memory, hashing as it goes. `source` names
    /// the input in error messages.
    fn put_stream(&self, reader: &mut dyn Read, source: &Path) -> Result<PutOutcome>;
    fn put_bytes(&self, bytes: &[u8]) -> Result<PutOutcome>;
    /// Opens an object for streaming. The caller re-hashes if it needs to trust the bytes.
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>>;
    /// Reads a whole object of at most `max` bytes and checks its digest.
    fn read_verified(&self, digest: &Digest, max: u64) -> Result<Vec<u8>>;
    fn contains(&self, digest: &Digest) -> Result<bool>;
    /// All stored digests whose hex form starts with `hex_prefix` (at least 2 digits).
    fn with_prefix(&self, hex_prefix: &str) -> Result<Vec<Digest>>;
    /// Every stored digest, in order. A full listing, for verification.
    fn list(&self) -> Result<Vec<Digest>>;
    /// Makes every object stored so far durable. Called once per command, before anything
    /// that refers to the objects is written.
    fn make_durable(&self) -> Result<()>;
}

/// Objects as files in a local directory.
pub struct FsObjectStore {
    root: PathBuf,
    tmp: PathBuf,
}

impl FsObjectStore {
    /// `root` is the archive's `objects` directory.
    pub fn new(root: &Path) -> FsObjectStore {
        FsObjectStore {
            root: root.join("sha256"),
            tmp: root.join("tmp"),
        }
    }

    pub fn create_layout(root: &Path) -> Result<()> {
        for dir in [root.join("sha256"), root.join("tmp")] {
            fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        }
        Ok(())
    }

    /// Where an object lives on disk.
    pub fn path_of(&self, digest: &Digest) -> PathBuf {
        let hex = digest.to_hex();
        self.root.join(&hex[..2]).join(&hex[2..])
    }

    fn new_temp(&self) -> Result<tempfile::NamedTempFile> {
        // Created read-only (objects are never modified in place); the open handle can still
        // write, and no chmod is needed later.
        let builder = || {
            tempfile::Builder::new()
                .prefix("put-")
                .permissions(fs::Permissions::from_mode(0o444))
                .tempfile_in(&self.tmp)
        };
        match builder() {
            // A copied archive may lack the empty tmp/ directory (git, some archivers).
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(&self.tmp).map_err(Error::io(&self.tmp))?;
                builder().map_err(Error::io(&self.tmp))
            }
            other => other.map_err(Error::io(&self.tmp)),
        }
    }

    /// Stores `bytes`, whose SHA-256 the caller has computed as `digest`.
    fn put_known(&self, bytes: &[u8], digest: Digest) -> Result<PutOutcome> {
        let existing = fs::metadata(self.path_of(&digest));
        if existing.is_ok_and(|m| m.len() == bytes.len() as u64) {
            return Ok(PutOutcome {
                digest,
                size: bytes.len() as u64,
                newly_stored: false,
            });
        }
        let mut tmp = self.new_temp()?;
        tmp.write_all(bytes)
            .map_err(Error::io(tmp.path().to_path_buf()))?;
        self.install(tmp, digest, bytes.len() as u64)
    }

    /// Moves a fully written temporary file into place under its digest.
    fn commit(
        &self,
        tmp: tempfile::NamedTempFile,
        digest: Digest,
        size: u64,
    ) -> Result<PutOutcome> {
        let target = self.path_of(&digest);
        // Reuse an existing object only if its length is right: after a power cut a renamed
        // but unsynced object can be empty or short, and must be replaced, not trusted.
        if fs::metadata(&target).is_ok_and(|m| m.len() == size) {
            return Ok(PutOutcome {
                digest,
                size,
                newly_stored: false,
            });
        }
        self.install(tmp, digest, size)
    }

    /// Renames a written temporary file into place; the caller has checked that no intact
    /// object of that name exists.
    fn install(
        &self,
        tmp: tempfile::NamedTempFile,
        digest: Digest,
        size: u64,
    ) -> Result<PutOutcome> {
        let target = self.path_of(&digest);
        // The shard directory exists for all but the first object in it: try the rename first
        // and create the directory only when it is missing (saves a stat and a mkdir per object).
        let tmp = match tmp.persist(&target) {
            Ok(_) => None,
            Err(e) if e.error.kind() == io::ErrorKind::NotFound => Some(e.file),
            Err(e) => return Err(Error::io(&target)(e.error)),
        };
        if let Some(tmp) = tmp {
            let dir = target.parent().unwrap_or(&self.root);
            fs::create_dir_all(dir).map_err(Error::io(dir))?;
            tmp.persist(&target)
                .map_err(|e| Error::io(&target)(e.error))?;
        }
        Ok(PutOutcome {
            digest,
            size,
            newly_stored: true,
        })
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn fill(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl ObjectStore for FsObjectStore {
    fn put_stream(&self, reader: &mut dyn Read, source: &Path) -> Result<PutOutcome> {
        let read_err = |e: io::Error| Error::BadInput {
            path: source.to_path_buf(),
            why: format!("read failed: {e}"),
        };
        // Read the first chunk into a buffer that grows with the input rather than a zeroed
        // CHUNK: most evidence files are small, and zeroing 1 MiB per file cost more than
        // hashing them.
        let mut first = Vec::with_capacity(CHUNK);
        reader
            .take(CHUNK as u64)
            .read_to_end(&mut first)
            .map_err(read_err)?;
        let n = first.len();
        if n < CHUNK {
            // Small input, already whole in memory: no temporary file at all when the object
            // is already stored, and no pipeline otherwise.
            return self.put_known(&first, Digest::of(&first));
        }
        let mut tmp = self.new_temp()?;
        let tmp_path = tmp.path().to_path_buf();
        let mut hasher = Hasher::new();
        hasher.update(&first);
        let mut size = n as u64;
        // Large input: hash on this thread while another writes, so that copying into the
        // store costs little more than hashing alone.
        let file = tmp.as_file_mut();
        let (to_writer, from_reader) = mpsc::sync_channel::<Vec<u8>>(PIPELINE_DEPTH);
        let (recycle_tx, recycle_rx) = mpsc::channel::<Vec<u8>>();
        let outcome: Result<()> = std::thread::scope(|scope| {
            let writer = scope.spawn(move || -> io::Result<()> {
                for chunk in from_reader {
                    file.write_all(&chunk)?;
                    let _ = recycle_tx.send(chunk);
                }
                Ok(())
            });
            let mut pending = Some(first);
            // A fixed pool of buffers, reused: allocating a fresh megabyte per chunk cost a
            // page fault per 4 KiB (seconds of system time per gigabyte).
            let mut allocated = 1;
            let read_result = (|| -> Result<()> {
                while let Some(chunk) = pending.take() {
                    let full = chunk.len() == CHUNK;
                    if to_writer.send(chunk).is_err() {
                        break; // the writer failed; its error is reported below
                    }
                    if !full {
                        break;
                    }
                    let mut buf = match recycle_rx.try_recv() {
                        Ok(buf) => buf,
                        Err(_) if allocated < PIPELINE_DEPTH + 2 => {
                            allocated += 1;
                            vec![0u8; CHUNK]
                        }
                        Err(_) => match recycle_rx.recv() {
                            Ok(buf) => buf,
                            Err(_) => break, // the writer failed; its error is reported below
                        },
                    };
                    buf.resize(CHUNK, 0);
                    let n = fill(reader, &mut buf).map_err(read_err)?;
                    if n == 0 {
                        break;
                    }
                    buf.truncate(n);
                    hasher.update(&buf);
                    size += n as u64;
                    pending = Some(buf);
                }
                Ok(())
            })();
            drop(to_writer);
            let write_result = writer
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("writer thread panicked")));
            write_result.map_err(Error::io(&tmp_path))?;
            read_result
        });
        outcome?;
        self.commit(tmp, hasher.finish(), size)
    }

    fn put_bytes(&self, bytes: &[u8]) -> Result<PutOutcome> {
        self.put_known(bytes, Digest::of(bytes))
    }

    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        let path = self.path_of(digest);
        match File::open(&path) {
            Ok(file) => Ok(Box::new(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(Error::ObjectMissing { digest: *digest })
            }
            Err(e) => Err(Error::io(path)(e)),
        }
    }

    fn read_verified(&self, digest: &Digest, max: u64) -> Result<Vec<u8>> {
        let path = self.path_of(digest);
        let bytes = match fsutil::read_limited(&path, max) {
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return Err(Error::ObjectMissing { digest: *digest })
            }
            other => other?,
        };
        let found = Digest::of(&bytes);
        if found != *digest {
            return Err(Error::ObjectCorrupt {
                expected: *digest,
                found,
            });
        }
        Ok(bytes)
    }

    fn contains(&self, digest: &Digest) -> Result<bool> {
        Ok(self.path_of(digest).exists())
    }

    fn with_prefix(&self, hex_prefix: &str) -> Result<Vec<Digest>> {
        let prefix = hex_prefix.to_ascii_lowercase();
        if prefix.len() < 2 {
            return Ok(Vec::new());
        }
        let dir = self.root.join(&prefix[..2]);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(Error::io(&dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let full = format!("{}{}", &prefix[..2], name);
            if full.starts_with(&prefix) {
                if let Some(digest) = Digest::from_hex(&full) {
                    out.push(digest);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn list(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        let fans = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) => return Err(Error::io(&self.root)(e)),
        };
        for fan in fans {
            let fan = fan.map_err(Error::io(&self.root))?;
            let Some(prefix) = fan.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if prefix.len() == 2 {
                out.extend(self.with_prefix(&prefix)?);
            }
        }
        out.sort();
        Ok(out)
    }

    fn make_durable(&self) -> Result<()> {
        fsutil::sync_filesystem(&self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_streams_and_dedupes() {
        let dir = tempfile::tempdir().unwrap();
        FsObjectStore::create_layout(dir.path()).unwrap();
        let store = FsObjectStore::new(dir.path());
        // Larger than one chunk, to go through the pipelined path.
        let data: Vec<u8> = (0..(CHUNK * 3 + 17)).map(|i| (i % 251) as u8).collect();
        let first = store
            .put_stream(&mut data.as_slice(), Path::new("test"))
            .unwrap();
        assert_eq!(first.digest, Digest::of(&data));
        assert_eq!(first.size, data.len() as u64);
        assert!(first.newly_stored);
        let again = store
            .put_stream(&mut data.as_slice(), Path::new("test"))
            .unwrap();
        assert!(!again.newly_stored);
        let max = data.len() as u64;
        assert_eq!(store.read_verified(&first.digest, max).unwrap(), data);
        let small = store.put_bytes(b"tiny").unwrap();
        assert_eq!(
            store.with_prefix(&small.digest.to_hex()[..6]).unwrap(),
            vec![small.digest]
        );
        store.make_durable().unwrap();
    }
}
