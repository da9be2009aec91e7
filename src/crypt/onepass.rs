//! One read of a stored age file for `verify` (FORMAT.md §23.6): its SHA-256 and length, its
//! header (the key-less level) and, with an identity, the SHA-256 and length of its plaintext,
//! all from the same stream of bytes in constant memory.
//!
//! Nothing here compares with a record: the caller does, with every fact in hand. Plaintext
//! bytes never leave this module; only their digest does.
//!
//! A large object with an identity is checked by three threads joined by bounded pipes
//! (reading and hashing the ciphertext, decrypting, hashing the plaintext): age decrypts one
//! file on one thread, and hashing both sides on that thread too would double its time.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use super::identity::Identities;
use super::stream::{header_error, plaintext_size, unwrap_file_key};
use super::{CryptError, Result};
use crate::core::digest::{Digest, Hasher};

/// Objects at least this large are checked by the three-thread pipeline (with an identity).
pub const PIPELINE_FROM: u64 = 8 << 20;

/// Bytes per piece passed between the pipeline's threads; 4 pieces in flight per pipe.
const PIECE: usize = 256 * 1024;
const PIECES_IN_FLIGHT: usize = 4;

/// What one read of a stored age file found.
#[derive(Debug)]
pub struct StoredPass {
    /// SHA-256 and length of every stored byte.
    pub ciphertext: Digest,
    pub ciphertext_size: u64,
    /// The length of the header and payload nonce, or why the header is refused.
    pub header: Result<u64>,
    /// With an identity (and a well-formed header): the plaintext's SHA-256 and length, or why
    /// it could not be had (not a recipient, a damaged chunk).
    pub plaintext: Option<Result<(Digest, u64)>>,
}

impl StoredPass {
    /// The plaintext size the ciphertext's length implies (age does not pad), as
    /// `stream::inspect` derives it; `what` names the object in errors.
    pub fn implied_plaintext_size(&self, what: &str) -> Result<u64> {
        let header_len = *self.header.as_ref().map_err(|e| CryptError::Malformed {
            what: what.to_string(),
            why: e.to_string(),
        })?;
        let payload = self
            .ciphertext_size
            .checked_sub(header_len)
            .ok_or_else(|| CryptError::Malformed {
                what: what.to_string(),
                why: "shorter than its own header".into(),
            })?;
        plaintext_size(payload).ok_or_else(|| CryptError::Malformed {
            what: what.to_string(),
            why: format!("a payload of {payload} bytes is not a whole number of age chunks"),
        })
    }
}

/// Reads all of `object` (about `size_hint` bytes; only used to size buffers and to choose the
/// pipeline) once. An error is the object's own read error: it is unreadable, not damaged.
pub fn check_stored(
    object: &mut dyn Read,
    size_hint: u64,
    identities: Option<&Identities>,
    what: &str,
) -> io::Result<StoredPass> {
    match identities {
        Some(ids) if size_hint >= PIPELINE_FROM => pipelined(object, ids, what),
        _ => sequential(object, size_hint, identities, what),
    }
}

fn sequential(
    object: &mut dyn Read,
    size_hint: u64,
    identities: Option<&Identities>,
    what: &str,
) -> io::Result<StoredPass> {
    let mut hashing = HashingRead::new(object);
    let mut plain = HashingSink::default();
    let (header, opened) = {
        // BufReader allocates without zeroing: no per-object memset of a large buffer.
        let capacity = (size_hint as usize).clamp(8 * 1024, PIECE);
        let mut input = BufReader::with_capacity(capacity, &mut hashing);
        let found = open_payload(&mut input, identities, what, &mut plain);
        drain(&mut input);
        found
    };
    let (ciphertext, ciphertext_size) = hashing.finish()?;
    Ok(StoredPass {
        ciphertext,
        ciphertext_size,
        header,
        plaintext: opened.map(|r| r.map(|()| plain.finish())),
    })
}

fn pipelined(object: &mut dyn Read, ids: &Identities, what: &str) -> io::Result<StoredPass> {
    let (cipher_in, cipher_out) = pipe();
    let (plain_in, plain_out) = pipe();
    std::thread::scope(|scope| {
        let hashing = scope.spawn(move || {
            let mut plain = HashingSink::default();
            let mut reader = plain_out;
            // Hashed where the pieces lie. The pipe's reader cannot fail.
            while let Ok(bytes) = reader.fill_buf() {
                if bytes.is_empty() {
                    break;
                }
                let n = bytes.len();
                plain.hasher.update(bytes);
                plain.len += n as u64;
                reader.consume(n);
            }
            plain.finish()
        });
        let decrypting = scope.spawn(move || {
            let mut writer = plain_in;
            let mut reader = cipher_out;
            let (header, opened) = open_payload(&mut reader, Some(ids), what, &mut writer);
            writer.finish();
            (header, opened)
        });
        // This thread reads the ciphertext into the pipe's pieces and hashes it there.
        let mut hashing_read = HashingRead::new(object);
        let mut forward = cipher_in;
        // A read error is kept by `hashing_read` and returned below.
        let _ = forward.fill_from(&mut hashing_read);
        forward.finish();
        let read = hashing_read.finish();
        let (header, opened) = decrypting.join().unwrap_or_else(|_| {
            let why = "the decrypting thread stopped".to_string();
            (
                Err(io_damage(what, why.clone())),
                Some(Err(io_damage(what, why))),
            )
        });
        let plain = hashing.join();
        let (ciphertext, ciphertext_size) = read?;
        let plaintext = opened.map(|r| {
            r.and_then(|()| plain.map_err(|_| io_damage(what, "the hashing thread stopped".into())))
        });
        Ok(StoredPass {
            ciphertext,
            ciphertext_size,
            header,
            plaintext,
        })
    })
}

fn io_damage(what: &str, why: String) -> CryptError {
    CryptError::Damaged {
        what: what.to_string(),
        why,
    }
}

/// Parses the age header from `input` and, with `identities`, decrypts the payload into
/// `plain`. Returns the header-and-nonce length (or why the header is refused) and, when
/// decryption was attempted, its outcome. Stops at the first failure: the caller drains.
fn open_payload<R: BufRead>(
    input: R,
    identities: Option<&Identities>,
    what: &str,
    plain: &mut dyn PlainOut,
) -> (Result<u64>, Option<Result<()>>) {
    let consumed = Cell::new(0);
    let mut counted = Counted {
        inner: input,
        consumed: &consumed,
    };
    // The buffered parser reads the header line by line, then the 16-byte nonce.
    let decryptor = match age::Decryptor::new_buffered(&mut counted) {
        Ok(d) => d,
        Err(e) => return (Err(header_error(e, what)), None),
    };
    if decryptor.is_scrypt() {
        let refused = CryptError::Malformed {
            what: what.to_string(),
            why: "encrypted with a passphrase, not to X25519 recipients".into(),
        };
        return (Err(refused), None);
    }
    let header_len = consumed.get();
    let Some(ids) = identities else {
        return (Ok(header_len), None);
    };
    let opened = unwrap_file_key(decryptor, ids, what).and_then(|mut stream| {
        plain
            .read_all_from(&mut stream)
            .map_err(|e| io_damage(what, e.to_string()))
    });
    (Ok(header_len), Some(opened))
}

/// Consumes what is left of `input`, so that every stored byte is hashed.
fn drain(input: &mut impl BufRead) {
    loop {
        let n = match input.fill_buf() {
            Ok(bytes) => bytes.len(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        if n == 0 {
            return;
        }
        input.consume(n);
    }
}

/// Hashes and counts the bytes read through it, and keeps the object's first read error: a
/// failure of the storage must not be reported as damaged ciphertext.
struct HashingRead<R> {
    inner: R,
    hasher: Hasher,
    len: u64,
    error: Option<io::Error>,
}

impl<R: Read> HashingRead<R> {
    fn new(inner: R) -> HashingRead<R> {
        HashingRead {
            inner,
            hasher: Hasher::new(),
            len: 0,
            error: None,
        }
    }

    fn finish(self) -> io::Result<(Digest, u64)> {
        match self.error {
            Some(e) => Err(e),
            None => Ok((self.hasher.finish(), self.len)),
        }
    }
}

impl<R: Read> Read for HashingRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.error.is_some() {
            return Err(io::Error::other("the object could not be read"));
        }
        loop {
            match self.inner.read(buf) {
                Ok(n) => {
                    self.hasher.update(&buf[..n]);
                    self.len += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let told = io::Error::new(e.kind(), e.to_string());
                    self.error = Some(e);
                    return Err(told);
                }
            }
        }
    }
}

/// Counts the bytes consumed through it (the header's length).
struct Counted<'a, R> {
    inner: R,
    consumed: &'a Cell<u64>,
}

impl<R: BufRead> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.set(self.consumed.get() + n as u64);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.consumed.set(self.consumed.get() + amount as u64);
        self.inner.consume(amount);
    }
}

/// Hashes and counts what is written to it.
#[derive(Default)]
struct HashingSink {
    hasher: Hasher,
    len: u64,
}

impl HashingSink {
    fn finish(self) -> (Digest, u64) {
        (self.hasher.finish(), self.len)
    }
}

impl Write for HashingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where decrypted bytes go: each takes them from the reader in its own way (no copy buffer
/// in between for the pipe).
trait PlainOut {
    fn read_all_from(&mut self, input: &mut dyn Read) -> io::Result<()>;
}

impl PlainOut for HashingSink {
    fn read_all_from(&mut self, input: &mut dyn Read) -> io::Result<()> {
        io::copy(input, self).map(|_| ())
    }
}

impl PlainOut for PipeWriter {
    fn read_all_from(&mut self, input: &mut dyn Read) -> io::Result<()> {
        self.fill_from(input)
    }
}

/// A bounded pipe of byte pieces between two threads; emptied pieces go back to the writer.
fn pipe() -> (PipeWriter, PipeReader) {
    let (full_tx, full_rx) = sync_channel(PIECES_IN_FLIGHT);
    let (empty_tx, empty_rx) = sync_channel(PIECES_IN_FLIGHT + 1);
    let writer = PipeWriter {
        full: Some(full_tx),
        empty: empty_rx,
        piece: Vec::with_capacity(PIECE),
        filled: 0,
    };
    let reader = PipeReader {
        full: full_rx,
        empty: empty_tx,
        piece: Vec::new(),
        pos: 0,
    };
    (writer, reader)
}

struct PipeWriter {
    /// `None` once the reader has gone: bytes are then read and dropped (the reader stopped
    /// at a failure it reports itself; the ciphertext must still be hashed to its end).
    full: Option<SyncSender<Vec<u8>>>,
    empty: Receiver<Vec<u8>>,
    piece: Vec<u8>,
    /// Bytes of `piece` filled.
    filled: usize,
}

impl PipeWriter {
    /// Reads all of `input` straight into pieces, handing each on when full.
    fn fill_from(&mut self, input: &mut dyn Read) -> io::Result<()> {
        loop {
            if self.piece.len() < PIECE {
                self.piece.resize(PIECE, 0);
            }
            let n = match input.read(&mut self.piece[self.filled..]) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.filled += n;
            if self.filled == PIECE {
                self.hand_on();
            }
        }
    }

    fn hand_on(&mut self) {
        let Some(full) = &self.full else {
            self.filled = 0;
            return;
        };
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(PIECE));
        let mut piece = std::mem::replace(&mut self.piece, next);
        piece.truncate(self.filled);
        self.filled = 0;
        if full.send(piece).is_err() {
            self.full = None;
        }
    }

    /// Hands on the last piece; dropping the writer then tells the reader the end is reached.
    fn finish(mut self) {
        if self.filled > 0 {
            self.hand_on();
        }
    }
}

struct PipeReader {
    full: Receiver<Vec<u8>>,
    empty: SyncSender<Vec<u8>>,
    piece: Vec<u8>,
    pos: usize,
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for PipeReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.piece.len() {
            // The writer gone with nothing sent is the end of the stream.
            let Ok(next) = self.full.recv() else {
                return Ok(&[]);
            };
            let done = std::mem::replace(&mut self.piece, next);
            let _ = self.empty.try_send(done);
            self.pos = 0;
        }
        Ok(&self.piece[self.pos..])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.piece.len());
    }
}

#[cfg(test)]
#[path = "onepass_tests.rs"]
mod tests;
