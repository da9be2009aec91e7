//! Bundles encrypted to named recipients (`export --encrypt-to`; FORMAT.md §23.8).
//!
//! Every document file is an age v1 ciphertext of the plaintext its (clear) record names. The
//! bag's manifests cover the ciphertexts, so anyone checks what is stored; without an identity
//! a verifier learns from each file's length only that it holds as many plaintext bytes as the
//! record says, never that they are the record's bytes. With the recipient's identity each file
//! is decrypted, streaming, and its plaintext checked against the record's digest.

use std::fs;
use std::io::{BufReader, Read, Seek, Write};
use std::path::Path;

use crate::archive::verify::encrypted::plaintext_matches;
use crate::core::digest::Digest;
use crate::crypt::onepass::{self, StoredPass};
use crate::crypt::stream::{self, Expected};
use crate::crypt::{CryptError, Identities, Opening, Recipients};
use crate::error::{Error, Result};

/// Appended to every document file name of an encrypted bundle (before layout compares names).
pub const SUFFIX: &str = ".age";

/// Largest age header read to count its stanzas: 256 recipients of about 120 bytes each.
const MAX_HEADER: u64 = 64 * 1024;

/// Encrypts the object `digest` of the archive (`size` bytes) to `recipients` into the new
/// file `out`, in constant memory. The plaintext is hashed on the way: an object that is not
/// what its record names is refused here, before anything is handed over.
pub(super) fn encrypt_object(
    archive: &crate::archive::Archive,
    digest: &Digest,
    size: u64,
    recipients: &Recipients,
    out: &fs::File,
    out_name: &Path,
) -> Result<u64> {
    let mut input = archive.store().open(digest)?;
    let writer = std::io::BufWriter::with_capacity(256 * 1024, out);
    let (writer, sealed) =
        stream::encrypt(recipients, &mut input, writer).map_err(|e| crypt_error(out_name, e))?;
    writer
        .into_inner()
        .map_err(|e| Error::io(out_name)(e.into_error()))?
        .flush()
        .map_err(Error::io(out_name))?;
    if sealed.plaintext != *digest || sealed.plaintext_size != size {
        return Err(Error::Corrupt {
            path: out_name.to_path_buf(),
            why: format!(
                "the archive's object {digest} does not hash to its name; run `evidentia verify`"
            ),
        });
    }
    Ok(sealed.ciphertext_size)
}

/// What the custody note of an encrypted export adds: to whom (the keys in full: they are
/// public, and a court must be able to tell which key could open what was handed over).
pub(super) fn custody_note(recipients: Option<&Recipients>) -> String {
    match recipients {
        None => String::new(),
        Some(r) => format!(
            "; documents encrypted (age) to {} recipient(s): {}",
            r.len(),
            r.texts().join(", ")
        ),
    }
}

/// What the ciphertext level finds wrong with one document file: (problem code, detail).
pub type Finding = (&'static str, String);

/// The ciphertext-level check of one document file, no key needed: a well-formed age v1 file
/// whose header holds exactly `recipients` stanzas, all X25519, and whose length implies
/// exactly `size` plaintext bytes.
pub fn check_ciphertext(path: &Path, size: u64, recipients: u64) -> Result<(), Finding> {
    let malformed = |why: String| ("ciphertext-malformed", why);
    let (mut file, total) = open(path).map_err(|e| ("content-missing", e.to_string()))?;
    let shape = stream::inspect(BufReader::new(&mut file), total, "document file")
        .map_err(|e| malformed(e.to_string()))?;
    let stanzas = stanzas(&mut file, shape.header_len).map_err(malformed)?;
    judge_ciphertext(stanzas, shape.plaintext_size, size, recipients)
}

/// The ciphertext level from what the header held (`stanzas`, the recipient stanza types) and
/// the plaintext size the file's length implies: X25519 stanzas only, exactly `recipients` of
/// them, and exactly `size` plaintext bytes.
fn judge_ciphertext(
    mut stanzas: Vec<String>,
    plaintext_size: u64,
    size: u64,
    recipients: u64,
) -> Result<(), Finding> {
    // age writes random "grease" stanzas (type ending in -grease) that no identity opens.
    stanzas.retain(|s| !s.ends_with("-grease"));
    if let Some(other) = stanzas.iter().find(|s| *s != "X25519") {
        return Err((
            "ciphertext-malformed",
            format!(
                "a recipient stanza of type '{}': only X25519 is allowed",
                crate::term::escape(other)
            ),
        ));
    }
    if stanzas.len() as u64 != recipients {
        return Err((
            "recipients-mismatch",
            format!(
                "encrypted to {} recipient(s), data/bundle.json says {recipients}",
                stanzas.len()
            ),
        ));
    }
    if plaintext_size != size {
        return Err((
            "plaintext-size-mismatch",
            format!(
                "the ciphertext holds {plaintext_size} plaintext bytes, the record says {size}"
            ),
        ));
    }
    Ok(())
}

/// The type of each recipient stanza (`-> TYPE …` lines) of the header of `header_len` bytes
/// (nonce included) at the start of `file`. age has parsed and bounded the header already.
fn stanzas(file: &mut fs::File, header_len: u64) -> std::result::Result<Vec<String>, String> {
    if let Some(why) = header_too_long(header_len) {
        return Err(why);
    }
    let mut header = Vec::new();
    file.rewind().map_err(|e| e.to_string())?;
    file.take(header_text_len(header_len) as u64)
        .read_to_end(&mut header)
        .map_err(|e| e.to_string())?;
    Ok(stanza_types(&header))
}

/// A header longer than [`MAX_HEADER`] is refused: age itself reads longer headers, so
/// counting only the first 64 KiB would miss a stanza (another reader) hidden after grease.
fn header_too_long(header_len: u64) -> Option<String> {
    let text_len = header_len.saturating_sub(16);
    (text_len > MAX_HEADER)
        .then(|| format!("a header of {text_len} bytes, more than the {MAX_HEADER} allowed"))
}

/// How much of a header of `header_len` bytes (nonce included) is read for its stanzas.
fn header_text_len(header_len: u64) -> usize {
    header_len.saturating_sub(16).min(MAX_HEADER) as usize
}

/// The type of each recipient stanza (`-> TYPE …` lines) of a header's text.
fn stanza_types(header: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(header);
    text.lines()
        .filter_map(|line| line.strip_prefix("-> "))
        .map(|args| args.split(' ').next().unwrap_or("").to_string())
        .collect()
}

/// One read of a document file of an encrypted bundle (crypt::onepass): the SHA-256 the bag's
/// manifest check needs, the header the ciphertext level needs and, with an identity, the
/// plaintext's SHA-256, so that each ciphertext is read once however many levels are checked.
pub struct ReadOnce {
    pass: StoredPass,
    /// The recipient stanza types of its header (empty when the header is refused).
    stanzas: Vec<String>,
    /// Why a header age accepted is refused here (longer than [`MAX_HEADER`]).
    header_refused: Option<String>,
}

impl ReadOnce {
    /// SHA-256 and length of every byte of the file, as read.
    pub fn stored(&self) -> (Digest, u64) {
        (self.pass.ciphertext, self.pass.ciphertext_size)
    }
}

/// Reads the document file `path` once (see [`ReadOnce`]); `what` names it in findings. An
/// error: the file could not be opened or read (not damage).
pub fn read_once(path: &Path, identities: Option<&Identities>, what: &str) -> Result<ReadOnce> {
    let (file, total) = open(path)?;
    let mut input = KeepsHead {
        inner: file,
        head: Vec::new(),
    };
    let pass =
        onepass::check_stored(&mut input, total, identities, what).map_err(Error::io(path))?;
    let (stanzas, header_refused) = match pass.header {
        Ok(header_len) => {
            let text = header_text_len(header_len).min(input.head.len());
            (
                stanza_types(&input.head[..text]),
                header_too_long(header_len),
            )
        }
        Err(_) => (Vec::new(), None),
    };
    Ok(ReadOnce {
        pass,
        stanzas,
        header_refused,
    })
}

/// Keeps the first [`MAX_HEADER`] bytes read through it: the header's stanzas are counted
/// from them after the one pass.
struct KeepsHead<R> {
    inner: R,
    head: Vec<u8>,
}

impl<R: Read> Read for KeepsHead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let room = (MAX_HEADER as usize).saturating_sub(self.head.len());
        self.head.extend_from_slice(&buf[..n.min(room)]);
        Ok(n)
    }
}

/// A bundle file, never through a link (the walk refused links already; this is the handle).
fn open(path: &Path) -> Result<(fs::File, u64)> {
    crate::archive::fsutil::open_regular(path, crate::archive::fsutil::Links::Refuse)
}

/// What [`examine`] found of one document file.
pub enum Examined {
    /// Wrong at the ciphertext level.
    Ciphertext(Finding),
    /// Right at the ciphertext level; no identity given.
    Intact,
    /// Right at the ciphertext level, then decrypted.
    Decrypted(Decrypted),
}

/// What a document file's plaintext must be: the record's digest (`None`: not a digest, so
/// only the ciphertext level can be checked), or, for a document stored encrypted with a hidden
/// binding, whatever the opening sealed to the bundle's recipients opens the commitment to.
pub enum Plaintext {
    Digest(Option<Digest>),
    Committed {
        commitment: Digest,
        opening: Vec<u8>,
    },
}

/// Both levels for one listed document file (`what` names it in findings): the ciphertext
/// level always (it must hold `size` plaintext bytes), the plaintext level when `identities`
/// are given. Reads only this file, so files can be examined in parallel.
pub fn examine(
    path: &Path,
    size: u64,
    plaintext: Plaintext,
    recipients: u64,
    identities: Option<&Identities>,
    what: &str,
) -> Examined {
    if let Err(finding) = check_ciphertext(path, size, recipients) {
        return Examined::Ciphertext(finding);
    }
    let Some(identities) = identities else {
        return Examined::Intact;
    };
    match expected_digest(plaintext, identities, what) {
        Ok(digest) => Examined::Decrypted(check_plaintext(path, identities, digest, size, what)),
        Err(examined) => examined,
    }
}

/// [`examine`] from the one read of the file ([`read_once`], with the same `identities`).
pub fn examine_read(
    read: &ReadOnce,
    size: u64,
    plaintext: Plaintext,
    recipients: u64,
    identities: Option<&Identities>,
    what: &str,
) -> Examined {
    if let Some(why) = &read.header_refused {
        return Examined::Ciphertext(("ciphertext-malformed", why.clone()));
    }
    let level = (read.pass.implied_plaintext_size(what))
        .map_err(|e| ("ciphertext-malformed", e.to_string()))
        .and_then(|implied| judge_ciphertext(read.stanzas.clone(), implied, size, recipients));
    if let Err(finding) = level {
        return Examined::Ciphertext(finding);
    }
    let (Some(identities), Some(opened)) = (identities, &read.pass.plaintext) else {
        return Examined::Intact;
    };
    let digest = match expected_digest(plaintext, identities, what) {
        Ok(digest) => digest,
        Err(examined) => return examined,
    };
    let expected = Expected { digest, size };
    let checked = match opened {
        Ok(found) => plaintext_matches(what, expected, *found),
        Err(CryptError::NotARecipient { .. }) => {
            return Examined::Decrypted(Decrypted::NotARecipient)
        }
        Err(e @ CryptError::Damaged { .. }) => {
            return Examined::Decrypted(Decrypted::Problem(("ciphertext-damaged", e.to_string())))
        }
        Err(e) => {
            return Examined::Decrypted(Decrypted::Problem(("ciphertext-malformed", e.to_string())))
        }
    };
    Examined::Decrypted(match checked {
        Ok(()) => Decrypted::Matches,
        Err(e) => Decrypted::Problem(("plaintext-mismatch", e.to_string())),
    })
}

/// The digest the plaintext must have (`Err`: what to report instead of decrypting).
fn expected_digest(
    plaintext: Plaintext,
    identities: &Identities,
    what: &str,
) -> std::result::Result<Digest, Examined> {
    match plaintext {
        Plaintext::Digest(None) => Err(Examined::Intact),
        Plaintext::Digest(Some(digest)) => Ok(digest),
        Plaintext::Committed {
            commitment,
            opening,
        } => match Opening::open(identities, &opening, &commitment, what) {
            Ok(opened) => Ok(opened.plaintext),
            Err(CryptError::NotARecipient { .. }) => {
                Err(Examined::Decrypted(Decrypted::NotARecipient))
            }
            Err(e) => Err(Examined::Decrypted(Decrypted::Problem((
                "opening-mismatch",
                e.to_string(),
            )))),
        },
    }
}

/// How the plaintext level went for one document file.
pub enum Decrypted {
    /// The plaintext is the record's (size and SHA-256).
    Matches,
    /// The identity is not one of the file's recipients: nothing checked, nothing wrong found.
    NotARecipient,
    /// The file fails to decrypt, or decrypts to other bytes than the record's.
    Problem(Finding),
}

/// Decrypts one document file, streaming into nothing, and checks the plaintext against the
/// record's `digest` and `size`.
pub fn check_plaintext(
    path: &Path,
    identities: &Identities,
    digest: Digest,
    size: u64,
    what: &str,
) -> Decrypted {
    let file = match open(path) {
        Ok((file, _)) => file,
        Err(e) => return Decrypted::Problem(("content-missing", e.to_string())),
    };
    let expected = Expected { digest, size };
    let reader = BufReader::with_capacity(256 * 1024, file);
    match stream::decrypt_to(identities, reader, expected, what, &mut std::io::sink()) {
        Ok(_) => Decrypted::Matches,
        Err(CryptError::NotARecipient { .. }) => Decrypted::NotARecipient,
        Err(e @ CryptError::PlaintextMismatch { .. }) => {
            Decrypted::Problem(("plaintext-mismatch", e.to_string()))
        }
        Err(e @ CryptError::Damaged { .. }) => {
            Decrypted::Problem(("ciphertext-damaged", e.to_string()))
        }
        Err(e) => Decrypted::Problem(("ciphertext-malformed", e.to_string())),
    }
}

/// A crypt error as the typed error a command reports (exit 2: bad or unreadable input).
pub fn crypt_error(path: &Path, e: CryptError) -> Error {
    Error::BadInput {
        path: path.to_path_buf(),
        why: e.to_string(),
    }
}

/// What the document checks of an encrypted bundle proved, and what they did not.
pub(super) fn state_levels(
    enc: &super::verify::EncryptionReport,
    core: &mut crate::verification::ReportCore,
) {
    core.proven.push(format!(
        "the {} document file(s) are intact well-formed age ciphertexts to {} recipient(s), each holding exactly as many plaintext bytes as its record says",
        enc.documents, enc.recipients
    ));
    if enc.plaintext_checked > 0 {
        core.proven.push(format!(
            "{} of them decrypted with your identity to exactly the plaintext their records name (size and SHA-256)",
            enc.plaintext_checked
        ));
    }
    let unchecked = enc.unchecked();
    if unchecked > 0 {
        let why = if enc.not_a_recipient > 0 {
            format!(
                "{} of them are encrypted to keys your identity does not hold",
                enc.not_a_recipient
            )
        } else {
            "no --identity was given".to_string()
        };
        core.not_proven.push(format!(
            "that the contents of {unchecked} encrypted document(s) are the ones their signed records name: they were NOT decrypted and checked ({why}); verify with --identity FILE, the recipient's age identity"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/vectors/encryption");

    #[test]
    fn the_fixture_ciphertexts_pass_the_ciphertext_level_and_only_at_their_size() {
        // content.age was made by `age -r` (one recipient, no grease); two-chunks.age too.
        let content = Path::new(VECTORS).join("content.age");
        let plain = fs::read(Path::new(VECTORS).join("plaintext.txt")).unwrap();
        let size = plain.len() as u64;
        assert!(check_ciphertext(&content, size, 1).is_ok());
        let (code, _) = check_ciphertext(&content, size + 1, 1).unwrap_err();
        assert_eq!(code, "plaintext-size-mismatch");
        let (code, _) = check_ciphertext(&content, size, 2).unwrap_err();
        assert_eq!(code, "recipients-mismatch");
        let two = Path::new(VECTORS).join("two-chunks.age");
        assert!(check_ciphertext(&two, 65_537, 1).is_ok());
        // Not an age file at all.
        let (code, _) =
            check_ciphertext(&Path::new(VECTORS).join("plaintext.txt"), size, 1).unwrap_err();
        assert_eq!(code, "ciphertext-malformed");
    }

    #[test]
    fn the_custody_note_names_every_recipient_key() {
        let key = "age18ta5d3g6rp6qef4wcddv6kzx3jlr34najk6rjkw7crv4empcrpgqn4e3j3";
        let recipients = Recipients::parse_all(&[key], "test").unwrap();
        let note = custody_note(Some(&recipients));
        assert!(
            note.contains(key) && note.contains("1 recipient(s)"),
            "{note}"
        );
        assert_eq!(custody_note(None), "");
    }
}
