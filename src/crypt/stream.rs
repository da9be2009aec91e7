//! Streaming encryption and decryption in constant memory.
//!
//! Encryption hashes the plaintext going in and the ciphertext coming out in the same pass, so
//! a record can commit to both without reading anything twice. Decryption hands out bytes as
//! age authenticates them chunk by chunk (64 KiB), but those bytes are NOT yet known to be the
//! recorded plaintext: a signer could have encrypted other content. Only
//! [`Decryption::finish`] says so, after the last byte. Callers must therefore either
//! - stream into a temporary file and rename it into place only after `finish` succeeds (as
//!   `cat --out` does for clear objects: `archive::output::NewOutput`), or
//! - for small objects, use [`decrypt_to_vec`], which returns bytes only once checked (as
//!   `cat` to standard output does today for clear objects, up to 64 MiB).
//!
//! Never write decrypted bytes to a place a user reads before `finish` has returned `Ok`.

use std::cell::Cell;
use std::io::{self, BufRead, Read, Write};
use std::rc::Rc;

use super::identity::Identities;
use super::recipients::Recipients;
use super::{io_error, CryptError, Result};
use crate::core::digest::{Digest, Hasher};

/// Plaintext bytes in one age STREAM chunk; each chunk adds a 16-byte Poly1305 tag.
pub const CHUNK_SIZE: u64 = 64 * 1024;
const TAG_SIZE: u64 = 16;

/// Copy buffer: large enough to amortise calls, small enough to stay constant.
const BUFFER: usize = 256 * 1024;

/// What one encryption produced: the digests and sizes a record commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    pub plaintext: Digest,
    pub plaintext_size: u64,
    pub ciphertext: Digest,
    pub ciphertext_size: u64,
}

/// What the record says the plaintext is; checked at the end of a decryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub digest: Digest,
    pub size: u64,
}

/// Hashes and counts every byte written through it.
struct Hashing<W> {
    inner: W,
    hasher: Hasher,
    len: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A writer that encrypts to recipients: write the plaintext into it, then [`finish`].
///
/// [`finish`]: Encryption::finish
pub struct Encryption<W: Write> {
    stream: age::stream::StreamWriter<Hashing<W>>,
    plain: Hasher,
    plain_len: u64,
}

impl<W: Write> Encryption<W> {
    /// Starts an age v1 file to `recipients` on `output` (the header is written at once).
    pub fn new(recipients: &Recipients, output: W) -> Result<Encryption<W>> {
        let hashing = Hashing {
            inner: output,
            hasher: Hasher::new(),
            len: 0,
        };
        let stream = age_writer(recipients, hashing)?;
        Ok(Encryption {
            stream,
            plain: Hasher::new(),
            plain_len: 0,
        })
    }

    /// Writes the last chunk and returns the output with what was sealed. Without this call
    /// the ciphertext is truncated and will not decrypt.
    pub fn finish(self) -> Result<(W, Sealed)> {
        let hashing = self
            .stream
            .finish()
            .map_err(io_error("writing the last age chunk"))?;
        let sealed = Sealed {
            plaintext: self.plain.finish(),
            plaintext_size: self.plain_len,
            ciphertext: hashing.hasher.finish(),
            ciphertext_size: hashing.len,
        };
        Ok((hashing.inner, sealed))
    }
}

impl<W: Write> Write for Encryption<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.stream.write(buf)?;
        self.plain.update(&buf[..n]);
        self.plain_len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// Starts an age v1 file to `recipients` on `output` that hashes nothing: for a caller that
/// hashes the plaintext and the ciphertext on other threads (`add` of a large file, where the
/// object store hashes the ciphertext it stores). Each call draws a new file key and, per
/// recipient, a new ephemeral key (age does; nothing is reused across files).
pub fn age_writer<W: Write>(
    recipients: &Recipients,
    output: W,
) -> Result<age::stream::StreamWriter<W>> {
    let encryptor = age::Encryptor::with_recipients(recipients.age_recipients()).map_err(|e| {
        CryptError::Malformed {
            what: "recipients".into(),
            why: e.to_string(),
        }
    })?;
    encryptor
        .wrap_output(output)
        .map_err(io_error("writing the age header"))
}

/// Encrypts all of `input` to `recipients` onto `output`, in constant memory.
pub fn encrypt<W: Write>(
    recipients: &Recipients,
    input: &mut dyn Read,
    output: W,
) -> Result<(W, Sealed)> {
    let mut encryption = Encryption::new(recipients, output)?;
    let mut buf = vec![0u8; BUFFER];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error("reading the plaintext")(e)),
        };
        encryption
            .write_all(&buf[..n])
            .map_err(io_error("writing the ciphertext"))?;
    }
    encryption.finish()
}

/// A reader of decrypted bytes that checks, at [`finish`], that they are the recorded
/// plaintext. Bytes read before `finish` returns `Ok` are unverified (see the module docs).
///
/// [`finish`]: Decryption::finish
pub struct Decryption<R: BufRead> {
    stream: age::stream::StreamReader<R>,
    hasher: Hasher,
    len: u64,
    expected: Expected,
    what: String,
}

impl<R: BufRead> Decryption<R> {
    /// Opens the age file `ciphertext` with `identities`; `what` names it in errors (e.g. the
    /// document's path and ciphertext digest).
    pub fn new(
        identities: &Identities,
        ciphertext: R,
        expected: Expected,
        what: &str,
    ) -> Result<Decryption<R>> {
        let decryptor =
            age::Decryptor::new_buffered(ciphertext).map_err(|e| header_error(e, what))?;
        if decryptor.is_scrypt() {
            return Err(CryptError::Malformed {
                what: what.to_string(),
                why: "encrypted with a passphrase, not to X25519 recipients".into(),
            });
        }
        let stream = unwrap_file_key(decryptor, identities, what)?;
        Ok(Decryption {
            stream,
            hasher: Hasher::new(),
            len: 0,
            expected,
            what: what.to_string(),
        })
    }

    /// Reads what is left, then checks size and digest against the record. Only after `Ok`
    /// may the bytes read be treated as the recorded plaintext.
    pub fn finish(mut self) -> Result<Expected> {
        let mut buf = vec![0u8; BUFFER];
        while self.read_checked(&mut buf)? > 0 {}
        if self.len != self.expected.size {
            return Err(self.size_mismatch(format!("{} bytes", self.len)));
        }
        let found = self.hasher.finish();
        if found != self.expected.digest {
            return Err(CryptError::PlaintextMismatch {
                what: self.what,
                field: "SHA-256",
                expected: self.expected.digest.to_prefixed(),
                found: found.to_prefixed(),
            });
        }
        Ok(self.expected)
    }

    /// Like `Read::read`, with age's errors named: a failed chunk is damage, more bytes than
    /// the record's size is a mismatch found early (no need to decrypt a planted giant).
    pub fn read_checked(&mut self, buf: &mut [u8]) -> Result<usize> {
        let n = loop {
            match self.stream.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(CryptError::Damaged {
                        what: self.what.clone(),
                        why: e.to_string(),
                    })
                }
            }
        };
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        if self.len > self.expected.size {
            return Err(self.size_mismatch(format!("more than {} bytes", self.expected.size)));
        }
        Ok(n)
    }

    fn size_mismatch(&self, found: String) -> CryptError {
        CryptError::PlaintextMismatch {
            what: self.what.clone(),
            field: "size",
            expected: format!("{} bytes", self.expected.size),
            found,
        }
    }
}

impl<R: BufRead> Read for Decryption<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_checked(buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
    }
}

/// Opens an age file's payload with `identities`: "not a recipient" is told apart from a bad
/// header, so that a wrong key is never reported as damage.
pub(crate) fn unwrap_file_key<R: Read>(
    decryptor: age::Decryptor<R>,
    identities: &Identities,
    what: &str,
) -> Result<age::stream::StreamReader<R>> {
    decryptor
        .decrypt(identities.age_identities())
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => CryptError::NotARecipient {
                what: what.to_string(),
                identities: identities.source().to_path_buf(),
            },
            other => header_error(other, what),
        })
}

pub(crate) fn header_error(e: age::DecryptError, what: &str) -> CryptError {
    match e {
        age::DecryptError::InvalidMac | age::DecryptError::DecryptionFailed => {
            CryptError::Damaged {
                what: what.to_string(),
                why: e.to_string(),
            }
        }
        other => CryptError::Malformed {
            what: what.to_string(),
            why: other.to_string(),
        },
    }
}

/// Decrypts into `out` (a temporary file the caller renames into place only on `Ok`).
pub fn decrypt_to<R: BufRead>(
    identities: &Identities,
    ciphertext: R,
    expected: Expected,
    what: &str,
    out: &mut dyn Write,
) -> Result<u64> {
    let mut decryption = Decryption::new(identities, ciphertext, expected, what)?;
    let mut buf = vec![0u8; BUFFER];
    loop {
        let n = decryption.read_checked(&mut buf)?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])
            .map_err(io_error("writing the decrypted plaintext"))?;
    }
    decryption.finish().map(|e| e.size)
}

/// Decrypts a small object in memory and returns its bytes only once they match the record.
/// Refuses records claiming more than `max` bytes before decrypting anything.
pub fn decrypt_to_vec<R: BufRead>(
    identities: &Identities,
    ciphertext: R,
    expected: Expected,
    what: &str,
    max: u64,
) -> Result<Vec<u8>> {
    if expected.size > max {
        return Err(CryptError::TooLarge {
            what: what.to_string(),
            size: expected.size,
            max,
        });
    }
    let mut bytes = Vec::with_capacity(expected.size as usize);
    decrypt_to(identities, ciphertext, expected, what, &mut bytes)?;
    Ok(bytes)
}

/// The structure of an age file, learnt without any key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Bytes of the header and payload nonce.
    pub header_len: u64,
    /// The plaintext size the payload's length implies (age does not pad).
    pub plaintext_size: u64,
}

/// Counts bytes read through it, readable after the reader has been moved into age.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Parses the header of the age file `ciphertext` of `total_size` bytes and derives the
/// plaintext size from the payload length. Anyone can run this (no key): a verifier without an
/// identity uses it to check that a record's plaintext size is the ciphertext's, and that the
/// object is a well-formed age v1 file to recipients (not to a passphrase).
pub fn inspect(ciphertext: impl Read, total_size: u64, what: &str) -> Result<Shape> {
    let count = Rc::new(Cell::new(0));
    let counting = Counting {
        inner: ciphertext,
        count: Rc::clone(&count),
    };
    // The unbuffered parser reads exactly the header and the nonce, so `count` is their length.
    let decryptor = age::Decryptor::new(counting).map_err(|e| header_error(e, what))?;
    if decryptor.is_scrypt() {
        return Err(CryptError::Malformed {
            what: what.to_string(),
            why: "encrypted with a passphrase, not to X25519 recipients".into(),
        });
    }
    let header_len = count.get();
    let payload = total_size
        .checked_sub(header_len)
        .ok_or_else(|| CryptError::Malformed {
            what: what.to_string(),
            why: "shorter than its own header".into(),
        })?;
    let plaintext_size = plaintext_size(payload).ok_or_else(|| CryptError::Malformed {
        what: what.to_string(),
        why: format!("a payload of {payload} bytes is not a whole number of age chunks"),
    })?;
    Ok(Shape {
        header_len,
        plaintext_size,
    })
}

/// The plaintext size of an age STREAM payload of `len` bytes (after the nonce), or `None` if
/// no payload has that length: chunks are 64 KiB + 16 bytes, the last 16 to 64 KiB + 16, and
/// the last may be empty only when it is the only one (empty plaintext).
pub fn plaintext_size(len: u64) -> Option<u64> {
    let full = CHUNK_SIZE + TAG_SIZE;
    let (chunks, rest) = (len / full, len % full);
    match rest {
        0 if chunks > 0 => Some(chunks * CHUNK_SIZE),
        r if r == TAG_SIZE && chunks == 0 => Some(0),
        r if r > TAG_SIZE => Some(chunks * CHUNK_SIZE + r - TAG_SIZE),
        _ => None,
    }
}

/// The ciphertext size for a plaintext of `size` bytes under a header of `header_len` bytes
/// (nonce included): the inverse of [`plaintext_size`].
pub fn ciphertext_size(header_len: u64, size: u64) -> u64 {
    let chunks = size.div_ceil(CHUNK_SIZE).max(1);
    header_len + size + chunks * TAG_SIZE
}

#[cfg(test)]
mod tests;
