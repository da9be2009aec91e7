//! Encrypted documents in the archive (issue 14; docs/FORMAT.md §23): the recipients set kept
//! as `recipients` records, content encrypted on its way into the object store, decryption
//! that releases bytes only once checked, and `rewrap`.
//!
//! The stored object of an encrypted document is its age ciphertext, named by the
//! ciphertext's SHA-256 like any object, so the store, packs, mirrors and `s3://` archives
//! handle it unchanged and anyone can verify it without a key.

use std::cell::RefCell;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use crate::core::digest::{Digest, Hasher};
use crate::core::record::{
    DocumentRecord, EncryptionInfo, Header, PlaintextBinding, RecipientsRecord, Record,
    RewrapRecord, KIND_RECIPIENTS, KIND_REWRAP,
};
use crate::crypt::stream::{self, Expected};
use crate::crypt::{CryptError, Encryption, Identities, Opening, Recipients, Sealed};
use crate::error::{Error, Result};

use super::append::{append_records, catch_up_index};
use super::fsutil;
use super::objects::{ObjectWriter, PutOutcome};
use super::query;
use super::Archive;

/// How `add --encrypt` encrypts: to whom, and how the record binds the plaintext.
#[derive(Debug, Clone)]
pub struct EncryptTo {
    pub recipients: Recipients,
    /// The `recipients` record naming these keys (claimed in each document's map).
    pub record: Option<Digest>,
    /// Bind the plaintext by a salted commitment instead of its SHA-256.
    pub hide_digest: bool,
}

/// The archive's current recipients: the latest `recipients` record, if any.
/// Reads the `recipients` records and the log's new tail only (`kind_index`), not the log.
pub fn current_recipients(archive: &Archive) -> Result<Option<(Digest, RecipientsRecord)>> {
    let mut latest = None;
    for logged in super::kind_index::records_of(archive, KIND_RECIPIENTS)? {
        if let Record::Recipients(r) = logged.record {
            latest = Some((logged.id, *r));
        }
    }
    Ok(latest)
}

/// [`EncryptTo`] for the archive's current recipients; an error saying how to set them when
/// there are none.
pub fn encrypt_to_current(archive: &Archive, hide_digest: bool) -> Result<EncryptTo> {
    let Some((id, record)) = current_recipients(archive)? else {
        return Err(Error::InvalidOption {
            option: "--encrypt",
            value: archive.root().display().to_string(),
            why: "the archive has no encryption recipients; set them with `evidentia recipients set AGE1…` (or `init --recipient`)".into(),
        });
    };
    Ok(EncryptTo {
        recipients: Recipients::parse_all(&record.recipients, "recipients record")?,
        record: Some(id),
        hide_digest,
    })
}

/// Logs a `recipients` record: the archive's recipients from now on.
pub fn set_recipients(
    archive: &Archive,
    recipients: &Recipients,
    reason: Option<&str>,
) -> Result<Digest> {
    let record = Record::Recipients(Box::new(RecipientsRecord {
        header: Header::now(),
        recipients: recipients.texts(),
        reason: reason.map(str::to_string),
    }));
    let lock = archive.lock()?;
    let mut log = archive.log()?;
    catch_up_index(archive, &log)?;
    Ok(append_records(archive, &lock, &mut log, &[record])?[0])
}

/// Encrypts `plaintext` into the batch `writer`: the stored object is the ciphertext. A
/// `small` plaintext already in memory is encrypted there; otherwise it is streamed in constant
/// memory. Returns the stored object and the record's `encryption` map.
pub fn store_encrypted(
    writer: &dyn ObjectWriter,
    plaintext: &mut dyn Read,
    small: Option<&[u8]>,
    to: &EncryptTo,
    source: &Path,
) -> Result<(PutOutcome, EncryptionInfo)> {
    let (outcome, sealed) = match small {
        Some(bytes) => {
            // Sealed straight from memory: no copy buffer per file (a large add has many).
            let header_room = 256 + 128 * to.recipients.len();
            let out = Vec::with_capacity(bytes.len() + bytes.len() / 4096 + header_room);
            let mut encryption = Encryption::new(&to.recipients, out)?;
            encryption
                .write_all(bytes)
                .map_err(crate::crypt::io_error("encrypting"))?;
            let (ciphertext, sealed) = encryption.finish()?;
            // The encryption hashed the ciphertext as it produced it: stored under that digest
            // without a second pass.
            (writer.put_hashed(sealed.ciphertext, &ciphertext)?, sealed)
        }
        None => put_encrypted_stream(writer, &to.recipients, plaintext, source)?,
    };
    if outcome.digest != sealed.ciphertext || outcome.size != sealed.ciphertext_size {
        return Err(Error::BadInput {
            path: source.to_path_buf(),
            why: "the stored ciphertext is not what was encrypted".into(),
        });
    }
    Ok((outcome, info_for(&sealed, to)?))
}

/// Streams an encryption of `plaintext` to `recipients` into the store, one pass over each
/// side: this thread reads and encrypts, another hashes the plaintext, and the store hashes
/// the ciphertext it writes (that digest names the object, and the record commits to it).
fn put_encrypted_stream(
    writer: &dyn ObjectWriter,
    recipients: &Recipients,
    plaintext: &mut dyn Read,
    source: &Path,
) -> Result<(PutOutcome, Sealed)> {
    let mut reader = EncryptingReader::new(recipients, plaintext)?;
    let outcome = writer.put_stream(&mut reader, source)?;
    let (plaintext, plaintext_size) = reader.finish().map_err(|e| Error::BadInput {
        path: source.to_path_buf(),
        why: format!("encryption did not finish: {e}"),
    })?;
    let sealed = Sealed {
        plaintext,
        plaintext_size,
        ciphertext: outcome.digest,
        ciphertext_size: outcome.size,
    };
    Ok((outcome, sealed))
}

/// The `encryption` map for what was sealed.
fn info_for(sealed: &Sealed, to: &EncryptTo) -> Result<EncryptionInfo> {
    let binding = if to.hide_digest {
        let opening = Opening::new(sealed.plaintext);
        PlaintextBinding::Committed {
            commitment: opening.commitment(),
            opening: opening.seal(&to.recipients)?,
        }
    } else {
        PlaintextBinding::Digest(sealed.plaintext)
    };
    Ok(EncryptionInfo {
        plaintext_size: sealed.plaintext_size,
        binding,
        recipients: to.record,
    })
}

/// A writer into a buffer the reader side drains.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Plaintext read per step of an [`EncryptingReader`].
const PLAIN_BLOCK: usize = 1 << 20;
/// Plaintext blocks in flight to the hashing thread (memory: this many `PLAIN_BLOCK`s).
const PLAIN_DEPTH: usize = 3;

/// Hashes plaintext blocks on its own thread, so that hashing runs beside the encryption;
/// each block comes back for reuse once hashed (constant memory, no copy).
struct BackgroundHasher {
    to_hasher: Option<SyncSender<(Vec<u8>, usize)>>,
    returned: Receiver<Vec<u8>>,
    allocated: usize,
    thread: Option<JoinHandle<(Digest, u64)>>,
}

impl BackgroundHasher {
    fn start() -> BackgroundHasher {
        let (to_hasher, blocks) = mpsc::sync_channel::<(Vec<u8>, usize)>(PLAIN_DEPTH);
        let (give_back, returned) = mpsc::sync_channel(PLAIN_DEPTH);
        let thread = std::thread::spawn(move || {
            let mut hasher = Hasher::new();
            let mut len = 0u64;
            for (block, n) in blocks {
                hasher.update(&block[..n]);
                len += n as u64;
                let _ = give_back.send(block); // the reader may have stopped: then drop it
            }
            (hasher.finish(), len)
        });
        BackgroundHasher {
            to_hasher: Some(to_hasher),
            returned,
            allocated: 0,
            thread: Some(thread),
        }
    }

    /// A free block: a hashed one back, a new one while fewer than `PLAIN_DEPTH` exist, or
    /// else the next to come back.
    fn buffer(&mut self) -> io::Result<Vec<u8>> {
        if let Ok(block) = self.returned.try_recv() {
            return Ok(block);
        }
        if self.allocated < PLAIN_DEPTH {
            self.allocated += 1;
            return Ok(vec![0; PLAIN_BLOCK]);
        }
        self.returned.recv().map_err(|_| hasher_gone())
    }

    /// Hashes the first `n` bytes of `block`.
    fn hash(&mut self, block: Vec<u8>, n: usize) -> io::Result<()> {
        let to_hasher = self.to_hasher.as_ref().ok_or_else(hasher_gone)?;
        to_hasher.send((block, n)).map_err(|_| hasher_gone())
    }

    /// The digest and size of everything hashed.
    fn finish(&mut self) -> io::Result<(Digest, u64)> {
        drop(self.to_hasher.take());
        let thread = self.thread.take().ok_or_else(hasher_gone)?;
        thread.join().map_err(|_| hasher_gone())
    }
}

fn hasher_gone() -> io::Error {
    io::Error::other("the plaintext hashing thread stopped")
}

/// Reads plaintext from `input` and yields its ciphertext: lets the object store pull an
/// encryption as it pulls a file (constant memory: a few blocks at a time). It hashes the
/// plaintext (on a [`BackgroundHasher`]) but not the ciphertext: the store does that.
struct EncryptingReader<'a> {
    input: &'a mut dyn Read,
    stream: Option<age::stream::StreamWriter<Shared>>,
    out: Shared,
    pos: usize,
    plain: BackgroundHasher,
}

impl<'a> EncryptingReader<'a> {
    fn new(recipients: &Recipients, input: &'a mut dyn Read) -> Result<EncryptingReader<'a>> {
        let out = Shared::default();
        Ok(EncryptingReader {
            input,
            stream: Some(stream::age_writer(recipients, out.clone())?),
            out,
            pos: 0,
            plain: BackgroundHasher::start(),
        })
    }

    /// The plaintext's digest and size, once every byte was read and encrypted.
    fn finish(mut self) -> io::Result<(Digest, u64)> {
        if self.stream.is_some() {
            return Err(io::Error::other("the plaintext was not read to its end"));
        }
        self.plain.finish()
    }
}

impl Read for EncryptingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            {
                let mut pending = self.out.0.borrow_mut();
                if self.pos < pending.len() {
                    let n = buf.len().min(pending.len() - self.pos);
                    buf[..n].copy_from_slice(&pending[self.pos..self.pos + n]);
                    self.pos += n;
                    return Ok(n);
                }
                pending.clear();
                self.pos = 0;
            }
            let Some(encryption) = self.stream.as_mut() else {
                return Ok(0);
            };
            let mut block = self.plain.buffer()?;
            let n = fsutil::read_full(self.input, &mut block)?;
            if n == 0 {
                if let Some(encryption) = self.stream.take() {
                    encryption.finish()?;
                }
            } else {
                encryption.write_all(&block[..n])?;
                self.plain.hash(block, n)?;
            }
        }
    }
}

/// One stored ciphertext of a document's plaintext: the document's own object, or a rewrap's.
#[derive(Debug, Clone)]
pub struct Ciphertext {
    pub content: Digest,
    pub size: u64,
    pub info: EncryptionInfo,
}

/// What the plaintext of `info` must be, after opening a hidden binding with `identities`.
pub fn expected_plaintext(
    identities: &Identities,
    info: &EncryptionInfo,
    what: &str,
) -> std::result::Result<Expected, CryptError> {
    let digest = match &info.binding {
        PlaintextBinding::Digest(d) => *d,
        PlaintextBinding::Committed {
            commitment,
            opening,
        } => Opening::open(identities, opening, commitment, what)?.plaintext,
    };
    Ok(Expected {
        digest,
        size: info.plaintext_size,
    })
}

/// Decrypts one stored ciphertext into `out`, checking it against its record at the end.
/// `out` receives unverified bytes: the caller releases them only on `Ok`.
pub fn decrypt_object(
    archive: &Archive,
    identities: &Identities,
    ciphertext: &Ciphertext,
    out: &mut dyn Write,
) -> Result<u64> {
    let what = format!("encrypted object {}", ciphertext.content);
    let expected = expected_plaintext(identities, &ciphertext.info, &what)?;
    let reader = BufReader::new(archive.store().open(&ciphertext.content)?);
    Ok(stream::decrypt_to(
        identities, reader, expected, &what, out,
    )?)
}

/// Whether the stored object `digest` begins like an age v1 file (a cheap test before looking
/// for the records of an encrypted document).
pub fn looks_encrypted(archive: &Archive, digest: &Digest) -> Result<bool> {
    const MAGIC: &[u8] = b"age-encryption.org/v1\n";
    let mut head = Vec::with_capacity(MAGIC.len());
    archive
        .store()
        .open(digest)?
        .take(MAGIC.len() as u64)
        .read_to_end(&mut head)
        .map_err(Error::io(format!("object {digest}")))?;
    Ok(head == MAGIC)
}

/// The encrypted ciphertexts of the document whose (some) ciphertext is `content`: the
/// document's own object first, then its rewraps in log order. Empty when `content` is not
/// an encrypted document's.
/// Reads the records naming `content` (through the content index) and the `rewrap` records
/// (`kind_index`), not the whole log.
pub fn ciphertexts_of(archive: &Archive, content: &Digest) -> Result<Vec<Ciphertext>> {
    let rewraps: Vec<RewrapRecord> = super::kind_index::records_of(archive, KIND_REWRAP)?
        .into_iter()
        .filter_map(|l| match l.record {
            Record::Rewrap(r) => Some(*r),
            _ => None,
        })
        .collect();
    let encrypted_document = |id: &Digest| -> Result<Option<DocumentRecord>> {
        Ok(match query::read_record(archive, id)? {
            Record::Document(d) if d.encryption.is_some() => Some(*d),
            _ => None,
        })
    };
    let mut target = None;
    for id in records_naming(archive, content)? {
        if encrypted_document(&id)?.is_some() {
            target = Some(id);
            break;
        }
    }
    let target = target.or_else(|| {
        rewraps
            .iter()
            .find(|r| r.content == *content)
            .map(|r| r.target)
    });
    let Some(target) = target else {
        return Ok(Vec::new());
    };
    let Some(doc) = encrypted_document(&target)? else {
        return Ok(Vec::new());
    };
    let Some(info) = doc.encryption else {
        return Ok(Vec::new());
    };
    // A rewrap is decrypted and checked against its own map: one that binds another plaintext
    // than its target (`rewrap-invalid` in `verify`) would release that plaintext as the
    // document's, so it is never used.
    let valid = |r: &&RewrapRecord| r.target == target && info.binds_same_plaintext(&r.encryption);
    let mut out = vec![Ciphertext {
        content: doc.content,
        size: doc.size,
        info: info.clone(),
    }];
    out.extend(rewraps.iter().filter(valid).map(|r| Ciphertext {
        content: r.content,
        size: r.size,
        info: r.encryption.clone(),
    }));
    if !out.iter().any(|c| c.content == *content) {
        // `content` is only a refused rewrap's: not a ciphertext of this document's plaintext.
        return Ok(Vec::new());
    }
    Ok(out)
}

/// The records naming `content`: the content index's, and any in the log's tail the index
/// does not cover yet (after an interrupted command; the caller may not hold the write lock
/// that bringing the index up to date needs).
fn records_naming(archive: &Archive, content: &Digest) -> Result<Vec<Digest>> {
    let index = archive.index();
    let log = archive.log()?;
    let covered = index.covered().filter(|c| *c <= log.size()).unwrap_or(0);
    let mut ids = if covered > 0 {
        index.records_for_content(content)?
    } else {
        Vec::new()
    };
    for logged in query::records_range(archive, &log, covered, log.size())? {
        if matches!(&logged.record, Record::Document(d) if d.content == *content) {
            ids.push(logged.id);
        }
    }
    Ok(ids)
}

/// Decrypts the first of `ciphertexts` that `identities` can open, into `out` (unverified
/// until `Ok`). Not a recipient of any: [`CryptError::NotARecipient`].
pub fn decrypt_any(
    archive: &Archive,
    identities: &Identities,
    ciphertexts: &[Ciphertext],
    out: &mut dyn Write,
) -> Result<u64> {
    let mut last = None;
    for ciphertext in ciphertexts {
        match decrypt_object(archive, identities, ciphertext, out) {
            Err(Error::Crypt(e @ CryptError::NotARecipient { .. })) => last = Some(e),
            other => return other,
        }
    }
    Err(Error::Crypt(last.unwrap_or_else(|| {
        CryptError::NotARecipient {
            what: "this document".into(),
            identities: identities.source().to_path_buf(),
        }
    })))
}

/// Writes new ciphertext objects of the documents whose records are `targets` for the
/// archive's current recipients, and logs one `rewrap` record each. Needs an identity that can
/// decrypt each (the plaintext is checked before anything is logged).
pub fn rewrap(
    archive: &Archive,
    identities: &Identities,
    targets: &[Digest],
    reason: Option<&str>,
) -> Result<Vec<Digest>> {
    let to = encrypt_to_current(archive, false)?;
    let mut records = Vec::new();
    let writer = archive.store().writer(targets.len())?;
    for target in targets {
        let Record::Document(doc) = query::read_record(archive, target)? else {
            return Err(not_encrypted(target));
        };
        let Some(info) = doc.encryption.clone() else {
            return Err(not_encrypted(target));
        };
        let mut ciphertexts = vec![Ciphertext {
            content: doc.content,
            size: doc.size,
            info: info.clone(),
        }];
        ciphertexts.extend(ciphertexts_of(archive, &doc.content)?.into_iter().skip(1));
        // The plaintext is decrypted to a temporary file (any size), checked, then encrypted
        // again; it never reaches the archive in the clear.
        let mut plain = tempfile::tempfile().map_err(Error::io("a temporary file"))?;
        decrypt_any(archive, identities, &ciphertexts, &mut plain)?;
        io::Seek::rewind(&mut plain).map_err(Error::io("a temporary file"))?;
        let (outcome, sealed) =
            put_encrypted_stream(&*writer, &to.recipients, &mut plain, Path::new("<rewrap>"))?;
        // Keep the binding (and so the commitment's salt): a new opening to the new recipients.
        let binding = match &info.binding {
            PlaintextBinding::Digest(d) => PlaintextBinding::Digest(*d),
            PlaintextBinding::Committed {
                commitment,
                opening,
            } => {
                let what = format!("the opening of document record {target}");
                let opened = Opening::open(identities, opening, commitment, &what)?;
                PlaintextBinding::Committed {
                    commitment: *commitment,
                    opening: opened.seal(&to.recipients)?,
                }
            }
        };
        records.push(Record::Rewrap(Box::new(RewrapRecord {
            header: Header::now(),
            target: *target,
            content: outcome.digest,
            size: sealed.ciphertext_size,
            encryption: EncryptionInfo {
                plaintext_size: sealed.plaintext_size,
                binding,
                recipients: to.record,
            },
            reason: reason.map(str::to_string),
        })));
    }
    writer.finish()?;
    let lock = archive.lock()?;
    let mut log = archive.log()?;
    catch_up_index(archive, &log)?;
    append_records(archive, &lock, &mut log, &records)
}

fn not_encrypted(target: &Digest) -> Error {
    Error::WrongTarget {
        id: target.to_prefixed(),
        what: "not an encrypted document record".into(),
        hint: "rewrap applies to documents added with --encrypt",
    }
}

#[cfg(test)]
mod tests;
