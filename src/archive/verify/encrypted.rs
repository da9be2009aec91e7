//! Encrypted documents (FORMAT.md §23.6): each ciphertext object is read once (crypt::onepass),
//! in parallel over objects: its stored bytes are hashed against the record like any content;
//! without an identity, its age header and length must imply the recorded plaintext size; with
//! one, each ciphertext the identity opens is decrypted, streaming, and its plaintext checked
//! against the record.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;

use crate::core::digest::Digest;
use crate::core::record::{DocumentRecord, EncryptionInfo, RewrapRecord};
use crate::crypt::onepass::{self, StoredPass};
use crate::crypt::stream::Expected;
use crate::crypt::{CryptError, Identities, Result as CryptResult};
use crate::error::{Error, Result};
use crate::progress::{self, Unit};

use super::super::encrypted::{expected_plaintext, Ciphertext};
use super::super::Archive;
use super::records::report_content;
use super::VerifyReport;

/// The identity `verify --identity` decrypts with.
#[derive(Clone)]
pub struct VerifyIdentity(pub Arc<Identities>);

impl std::fmt::Debug for VerifyIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifyIdentity({})", self.0.source().display())
    }
}

/// Every ciphertext met in the log, by the document record it holds the plaintext of.
#[derive(Default)]
pub struct EncryptedReplay {
    /// Encrypted document record id → its `encryption` map.
    documents: HashMap<Digest, EncryptionInfo>,
    /// (report item, document record id, ciphertext), in log order.
    ciphertexts: Vec<(String, Digest, Ciphertext)>,
    pub recipients_records: u64,
    /// Sealed annotation and custody fields: (report item, record kind, targets, sealed map).
    pub notes: Vec<super::sealed_notes::SealedNote>,
}

impl EncryptedReplay {
    pub fn document(&mut self, item: &str, id: &Digest, doc: &DocumentRecord) {
        if let Some(info) = &doc.encryption {
            self.documents.insert(*id, info.clone());
            self.ciphertexts.push((
                item.to_string(),
                *id,
                Ciphertext {
                    content: doc.content,
                    size: doc.size,
                    info: info.clone(),
                },
            ));
        }
    }

    /// A `rewrap` must name an earlier encrypted document and keep its plaintext size and
    /// binding; the new ciphertext is then checked like the document's. Returns the problem.
    pub fn rewrap(&mut self, item: &str, rewrap: &RewrapRecord) -> Option<String> {
        let Some(target) = self.documents.get(&rewrap.target) else {
            return Some(format!(
                "rewraps {}, which is not an earlier encrypted document record",
                rewrap.target
            ));
        };
        if !target.binds_same_plaintext(&rewrap.encryption) {
            return Some(format!(
                "its plaintext size or binding differs from document record {}'s: it is not a new ciphertext of the same plaintext",
                rewrap.target
            ));
        }
        self.ciphertexts.push((
            item.to_string(),
            rewrap.target,
            Ciphertext {
                content: rewrap.content,
                size: rewrap.size,
                info: rewrap.encryption.clone(),
            },
        ));
        None
    }

    /// `contents` split into the ciphertexts (hashed by [`check_encrypted`], in the read that
    /// checks them) and the rest.
    pub fn split_contents(
        &self,
        contents: &BTreeMap<Digest, u64>,
    ) -> (BTreeMap<Digest, u64>, BTreeMap<Digest, u64>) {
        let ciphertexts: HashSet<&Digest> = self
            .ciphertexts
            .iter()
            .map(|(_, _, c)| &c.content)
            .collect();
        contents
            .iter()
            .map(|(d, s)| (*d, *s))
            .partition(|(d, _)| ciphertexts.contains(d))
    }

    /// The rewraps' ciphertexts, to be hashed with the documents' contents.
    pub fn extra_contents(&self, contents: &mut BTreeMap<Digest, u64>) {
        for (_, _, c) in &self.ciphertexts {
            contents.entry(c.content).or_insert(c.size);
        }
        for note in &self.notes {
            contents
                .entry(note.sealed.content)
                .or_insert(note.sealed.size);
        }
    }
}

/// What one ciphertext's check found.
enum Outcome {
    Checked,
    /// The identity given does not open it.
    NotARecipient,
    /// Not decrypted: no identity given, or its stored bytes were already reported damaged.
    NotOpened,
    Problem(&'static str, String),
}

/// The checks of §23.6 on every ciphertext, each read once: its stored bytes hashed against
/// the record (`contents`: every ciphertext with its recorded size), its header parsed and,
/// with `identity`, its plaintext decrypted and checked. An identity that opens none of them
/// is refused (exit 2): it is the wrong key, not damage.
pub fn check_encrypted(
    archive: &Archive,
    report: &mut VerifyReport,
    replay: &EncryptedReplay,
    contents: &BTreeMap<Digest, u64>,
    identity: Option<&VerifyIdentity>,
) -> Result<()> {
    let notes_opened = super::sealed_notes::check_notes(archive, report, &replay.notes, identity);
    if replay.ciphertexts.is_empty() {
        return Ok(());
    }
    let ids = identity.map(|i| &*i.0);
    progress::stage("checking ciphertexts", contents.values().sum(), Unit::Bytes);
    let passes: Vec<(Digest, u64, Result<StoredPass>)> =
        crate::remote::with_io_threads(archive, || {
            contents
                .par_iter()
                .map(|(digest, size)| {
                    progress::check(super::not_finished)?;
                    let pass = read_once(archive, digest, *size, ids);
                    progress::advance(*size);
                    Ok((*digest, *size, pass))
                })
                .collect::<Result<_>>()
        })?;
    // A ciphertext whose stored bytes failed the content checks is reported there once; so is
    // one a record gave two sizes.
    let damaged: HashSet<String> = report.core.problems().map(|f| f.item.clone()).collect();
    let mut intact: HashMap<Digest, StoredPass> = HashMap::new();
    for (digest, size, pass) in passes {
        let (hashed, pass) = match pass {
            Ok(p) => (Ok((p.ciphertext, p.ciphertext_size)), Some(p)),
            Err(e) => (Err(e), None),
        };
        let ok = report_content(report, &digest, size, hashed);
        if let (true, Some(pass)) = (ok, pass) {
            if !damaged.contains(&format!("document content {digest}")) {
                intact.insert(digest, pass);
            }
        }
    }
    let outcomes: Vec<Outcome> = replay
        .ciphertexts
        .par_iter()
        .map(|(_, _, c)| match intact.get(&c.content) {
            Some(pass) => check_one(pass, c, ids),
            None => Outcome::NotOpened,
        })
        .collect();
    let mut plaintext_checked: HashMap<Digest, bool> = HashMap::new();
    // Whether every ciphertext refused the identity: then it is the wrong key (a damaged
    // ciphertext, or one skipped as damaged, leaves that open; so do sealed fields it opened,
    // e.g. written after a recipients change to a key no document was encrypted to).
    let mut refused_all = notes_opened == 0;
    for ((item, document, ciphertext), outcome) in replay.ciphertexts.iter().zip(outcomes) {
        let checked = plaintext_checked.entry(*document).or_default();
        refused_all &= matches!(outcome, Outcome::NotARecipient);
        match outcome {
            Outcome::Checked => *checked = true,
            Outcome::NotARecipient | Outcome::NotOpened => {}
            Outcome::Problem(code, detail) => report.problem(
                format!("{item}: ciphertext {}", ciphertext.content),
                code,
                detail,
            ),
        }
    }
    let documents = plaintext_checked.len();
    let unchecked = plaintext_checked.values().filter(|c| !**c).count();
    match identity {
        None => {
            let detail = format!(
                "plaintext of {documents} encrypted document(s) not checked (no --identity): their ciphertexts are intact and of the recorded plaintext size; give --identity FILE to decrypt and check the plaintext"
            );
            report.core.not_proven.push(detail.clone());
            report.warn("objects/", "plaintext-not-checked", detail);
        }
        Some(identity) if refused_all => {
            return Err(Error::Crypt(CryptError::NotARecipient {
                what: format!("none of the {documents} encrypted document(s) of this archive"),
                identities: identity.0.source().to_path_buf(),
            }))
        }
        Some(_) => {
            if unchecked > 0 {
                let detail = format!(
                    "plaintext of {unchecked} of {documents} encrypted document(s) not checked: the identity given is not one of their recipients"
                );
                report.core.not_proven.push(detail.clone());
                report.warn("objects/", "plaintext-not-checked", detail);
            }
            if unchecked < documents {
                report.core.proven.push(format!(
                    "the plaintext of {} encrypted document(s) decrypts and matches its record",
                    documents - unchecked
                ));
            }
        }
    }
    Ok(())
}

/// Reads the stored object `digest` once (see [`onepass`]).
fn read_once(
    archive: &Archive,
    digest: &Digest,
    size: u64,
    ids: Option<&Identities>,
) -> Result<StoredPass> {
    let mut object = archive.store().open(digest)?;
    let what = format!("encrypted object {digest}");
    onepass::check_stored(&mut object, size, ids, &what)
        .map_err(Error::io(format!("object {digest}")))
}

/// The checks of one ciphertext record against what the read of its object found.
fn check_one(pass: &StoredPass, c: &Ciphertext, ids: Option<&Identities>) -> Outcome {
    // The key-less level: the age header parses and the length implies the recorded size.
    match pass.implied_plaintext_size(&format!("ciphertext {}", c.content)) {
        Ok(size) if size != c.info.plaintext_size => {
            return Outcome::Problem(
                "plaintext-size-mismatch",
                format!(
                    "the ciphertext holds {size} plaintext bytes but the record says {}",
                    c.info.plaintext_size
                ),
            )
        }
        Ok(_) => {}
        Err(why) => return Outcome::Problem("ciphertext-malformed", why.to_string()),
    }
    let (Some(ids), Some(opened)) = (ids, &pass.plaintext) else {
        return Outcome::NotOpened;
    };
    let what = format!("encrypted object {}", c.content);
    let checked = expected_plaintext(ids, &c.info, &what).and_then(|expected| match opened {
        Ok(found) => plaintext_matches(&what, expected, *found),
        Err(e) => Err(copy_error(e)),
    });
    match checked {
        Ok(()) => Outcome::Checked,
        Err(CryptError::NotARecipient { .. }) => Outcome::NotARecipient,
        Err(e @ CryptError::PlaintextMismatch { .. }) => {
            Outcome::Problem("plaintext-mismatch", e.to_string())
        }
        Err(e @ CryptError::OpeningMismatch { .. }) => {
            Outcome::Problem("opening-mismatch", e.to_string())
        }
        Err(e) => Outcome::Problem("ciphertext-damaged", e.to_string()),
    }
}

/// The decrypted plaintext's size and SHA-256 against the record's, size first.
pub(crate) fn plaintext_matches(
    what: &str,
    expected: Expected,
    found: (Digest, u64),
) -> CryptResult<()> {
    let (digest, size) = found;
    let (field, expected, found) = if size != expected.size {
        (
            "size",
            format!("{} bytes", expected.size),
            format!("{size} bytes"),
        )
    } else if digest != expected.digest {
        (
            "SHA-256",
            expected.digest.to_prefixed(),
            digest.to_prefixed(),
        )
    } else {
        return Ok(());
    };
    Err(CryptError::PlaintextMismatch {
        what: what.to_string(),
        field,
        expected,
        found,
    })
}

/// One read's decryption failure, for each record of that ciphertext (errors are not `Clone`).
fn copy_error(e: &CryptError) -> CryptError {
    match e {
        CryptError::NotARecipient { what, identities } => CryptError::NotARecipient {
            what: what.clone(),
            identities: identities.clone(),
        },
        CryptError::Malformed { what, why } => CryptError::Malformed {
            what: what.clone(),
            why: why.clone(),
        },
        CryptError::Damaged { what, why } => CryptError::Damaged {
            what: what.clone(),
            why: why.clone(),
        },
        other => CryptError::Damaged {
            what: "decryption".into(),
            why: other.to_string(),
        },
    }
}

/// The key-less checks of one ciphertext: its problem code and detail, if any.
pub(super) fn check_shape(archive: &Archive, c: &Ciphertext) -> Option<(&'static str, String)> {
    let what = format!("ciphertext {}", c.content);
    // The key-less level: the age header parses and the length implies the recorded size.
    // The header is parsed from memory: age's header parser reads a few bytes at a time, one
    // system call each on a file. 64 KiB holds the header of any allowed ciphertext.
    let shape = read_head(archive, &c.content)
        .map_err(|e| e.to_string())
        .and_then(|head| {
            crate::crypt::stream::inspect(&head[..], c.size, &what).map_err(|e| e.to_string())
        });
    match shape {
        Ok(shape) if shape.plaintext_size != c.info.plaintext_size => Some((
            "plaintext-size-mismatch",
            format!(
                "the ciphertext holds {} plaintext bytes but the record says {}",
                shape.plaintext_size, c.info.plaintext_size
            ),
        )),
        Ok(_) => None,
        Err(why) => Some(("ciphertext-malformed", why)),
    }
}

/// The first 64 KiB of a stored object (all of a smaller one).
fn read_head(archive: &Archive, digest: &Digest) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::new();
    archive
        .store()
        .open(digest)?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(Error::io(format!("object {digest}")))?;
    Ok(head)
}
