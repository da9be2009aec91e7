//! A background writer for large sequential files (big objects and packs).
//!
//! Data is written in aligned blocks with `O_DIRECT` where the file system accepts it, so that
//! gigabytes of evidence go from one reused buffer to the disk without dirtying the page cache
//! (on the reference machine, copying into fresh page-cache pages cost more than the disk write,
//! and the later sync then had to flush all of it). Where `O_DIRECT` is refused (tmpfs, some
//! network file systems) the same bytes are written through the page cache. The tail that is
//! not a whole block is always written through the page cache. The batch's durability step
//! (see `ObjectWriter::finish`) covers both.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

const EINVAL: i32 = 22;
const EOPNOTSUPP: i32 = 95;

/// Alignment of buffers, offsets and lengths for `O_DIRECT`: the largest logical block size in
/// common use.
pub const ALIGN: usize = 4096;
/// Bytes per block handed to the writer thread.
pub const BLOCK: usize = 1 << 20;
/// Blocks in flight between the producer and the writer thread.
pub const DEPTH: usize = 4;
/// Buffers per sink: enough for a reader, a hasher and the writer to each hold a few.
const POOL: usize = 2 * DEPTH + 2;

/// A heap buffer whose usable window starts at an `ALIGN`ed address.
pub struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    fn new() -> AlignedBuf {
        let storage = vec![0u8; BLOCK + ALIGN];
        let start = storage.as_ptr().align_offset(ALIGN).min(ALIGN);
        AlignedBuf {
            storage,
            start,
            len: 0,
        }
    }

    /// The filled part.
    pub fn filled(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    /// The whole window (`BLOCK` bytes), to be filled; set the filled length with `set_len`.
    pub fn window_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + BLOCK]
    }

    pub fn set_len(&mut self, len: usize) {
        self.len = len.min(BLOCK);
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_full(&self) -> bool {
        self.len == BLOCK
    }

    /// Copies as much of `bytes` as fits; returns how many bytes were taken.
    pub fn push(&mut self, bytes: &[u8]) -> usize {
        let take = bytes.len().min(BLOCK - self.len);
        let at = self.start + self.len;
        self.storage[at..at + take].copy_from_slice(&bytes[..take]);
        self.len += take;
        take
    }
}

/// Writes blocks to one file, in order, on its own thread.
pub struct Sink {
    to_writer: Option<mpsc::SyncSender<AlignedBuf>>,
    pool: Option<Pool>,
    writer: Option<JoinHandle<io::Result<()>>>,
}

/// The buffers of one [`Sink`]: written blocks come back here to be filled again. A fixed
/// pool matters: a fresh megabyte per block costs a page fault per 4 KiB.
pub struct Pool {
    recycled: mpsc::Receiver<AlignedBuf>,
    allocated: usize,
}

impl Pool {
    /// An empty buffer: a recycled one, or a new one while fewer than the pool size exist.
    /// Fails only when the writer has stopped (its error comes from [`Sink::finish`]).
    pub fn buffer(&mut self) -> io::Result<AlignedBuf> {
        if let Ok(buf) = self.recycled.try_recv() {
            return Ok(buf);
        }
        if self.allocated < POOL {
            self.allocated += 1;
            return Ok(AlignedBuf::new());
        }
        self.recycled
            .recv()
            .map_err(|_| io::Error::other("the writer thread stopped"))
    }
}

impl Sink {
    /// Starts writing to `file` (open for writing, empty), which lives at `path`.
    pub fn start(file: &File, path: &Path) -> io::Result<Sink> {
        let buffered = file.try_clone()?;
        let direct = open_direct(path);
        let (to_writer, from_producer) = mpsc::sync_channel::<AlignedBuf>(DEPTH);
        let (recycle, recycled) = mpsc::channel::<AlignedBuf>();
        let writer = std::thread::spawn(move || -> io::Result<()> {
            let mut direct = direct;
            let mut offset = 0u64;
            for mut block in from_producer {
                let bytes = block.filled();
                let whole = bytes.len() - bytes.len() % ALIGN;
                if let Some(handle) = direct.as_ref().filter(|_| whole > 0) {
                    match handle.write_all_at(&bytes[..whole], offset) {
                        Ok(()) => {}
                        // Refused at write time (some file systems only say so here): fall
                        // back to the page cache for this and every later block.
                        Err(e)
                            if offset == 0
                                && matches!(e.raw_os_error(), Some(EINVAL | EOPNOTSUPP)) =>
                        {
                            direct = None
                        }
                        Err(e) => return Err(e),
                    }
                }
                let done = if direct.is_some() { whole } else { 0 };
                buffered.write_all_at(&bytes[done..], offset + done as u64)?;
                offset += bytes.len() as u64;
                if bytes.len() % ALIGN != 0 {
                    // Later blocks would start unaligned: the rest goes through the page cache.
                    direct = None;
                }
                block.set_len(0);
                let _ = recycle.send(block);
            }
            Ok(())
        });
        Ok(Sink {
            to_writer: Some(to_writer),
            pool: Some(Pool {
                recycled,
                allocated: 0,
            }),
            writer: Some(writer),
        })
    }

    /// An empty buffer from the pool (see [`Pool::buffer`]).
    pub fn buffer(&mut self) -> io::Result<AlignedBuf> {
        match self.pool.as_mut().map(Pool::buffer) {
            Some(Ok(buf)) => Ok(buf),
            Some(Err(_)) => Err(self.stop()),
            None => Err(io::Error::other("the sink's buffers were handed out")),
        }
    }

    /// Hands the buffer pool to another thread (a reader feeding a separate hashing thread
    /// that owns the sink).
    pub fn take_pool(&mut self) -> Option<Pool> {
        self.pool.take()
    }

    /// Queues a filled block for writing.
    pub fn submit(&mut self, block: AlignedBuf) -> io::Result<()> {
        let sent = match &self.to_writer {
            Some(tx) => tx.send(block).is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            Err(self.stop())
        }
    }

    /// Waits for every queued block to be written.
    pub fn finish(mut self) -> io::Result<()> {
        self.to_writer = None;
        match self.writer.take() {
            Some(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("writer thread panicked"))),
            None => Ok(()),
        }
    }

    /// The writer's error after it stopped early.
    fn stop(&mut self) -> io::Error {
        self.to_writer = None;
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            _ => io::Error::other("the writer thread stopped"),
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.to_writer = None;
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
    }
}

/// A second handle on `path` that bypasses the page cache, if the file system allows it.
fn open_direct(path: &Path) -> Option<File> {
    use rustix::fs::{Mode, OFlags};
    rustix::fs::open(
        path,
        OFlags::WRONLY | OFlags::DIRECT | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()
    .map(File::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_blocks_and_tail_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let file = File::create(&path).unwrap();
        let mut sink = Sink::start(&file, &path).unwrap();
        let data: Vec<u8> = (0..(BLOCK * 3 + 1234)).map(|i| (i % 253) as u8).collect();
        for piece in data.chunks(BLOCK) {
            let mut buf = sink.buffer().unwrap();
            assert_eq!(buf.push(piece), piece.len());
            sink.submit(buf).unwrap();
        }
        sink.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }

    #[test]
    fn buffers_are_aligned() {
        let buf = AlignedBuf::new();
        assert_eq!(buf.filled().as_ptr() as usize % ALIGN, 0);
    }
}
