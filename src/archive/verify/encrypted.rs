//! Encrypted documents (FORMAT.md §23.6): without an identity, each ciphertext's age header and
//! length must imply the recorded plaintext size; with one, each ciphertext the identity opens
//! is decrypted, streaming, and its plaintext checked against the record. Its stored bytes are
//! hashed with every other content (records.rs).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::Arc;

use rayon::prelude::*;

use crate::core::digest::Digest;
use crate::core::record::{DocumentRecord, EncryptionInfo, RewrapRecord};
use crate::crypt::{stream, CryptError, Identities};
use crate::error::{Error, Result};

use super::super::encrypted::{decrypt_object, Ciphertext};
use super::super::Archive;
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

    /// The rewraps' ciphertexts, to be hashed with the documents' contents.
    pub fn extra_contents(&self, contents: &mut BTreeMap<Digest, u64>) {
        for (_, _, c) in &self.ciphertexts {
            contents.entry(c.content).or_insert(c.size);
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

/// The checks of §23.6 on every ciphertext; `identity` adds the plaintext level. An identity
/// that opens none of them is refused (exit 2): it is the wrong key, not damage.
pub fn check_encrypted(
    archive: &Archive,
    report: &mut VerifyReport,
    replay: &EncryptedReplay,
    identity: Option<&VerifyIdentity>,
) -> Result<()> {
    if replay.ciphertexts.is_empty() {
        return Ok(());
    }
    // A ciphertext whose stored bytes failed the content checks is reported there once.
    let damaged: std::collections::HashSet<String> =
        report.core.problems().map(|f| f.item.clone()).collect();
    let outcomes: Vec<Outcome> = crate::remote::with_io_threads(archive, || {
        replay
            .ciphertexts
            .par_iter()
            .map(|(_, _, c)| {
                if damaged.contains(&format!("document content {}", c.content)) {
                    return Outcome::NotOpened;
                }
                check_one(archive, c, identity)
            })
            .collect()
    });
    let mut plaintext_checked: HashMap<Digest, bool> = HashMap::new();
    // Whether every ciphertext refused the identity: then it is the wrong key (a damaged
    // ciphertext, or one skipped as damaged, leaves that open).
    let mut refused_all = true;
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

fn check_one(archive: &Archive, c: &Ciphertext, identity: Option<&VerifyIdentity>) -> Outcome {
    let what = format!("ciphertext {}", c.content);
    // The key-less level: the age header parses and the length implies the recorded size.
    // The header is parsed from memory: age's header parser reads a few bytes at a time, one
    // system call each on a file. 64 KiB holds the header of any allowed ciphertext.
    let shape = read_head(archive, &c.content)
        .map_err(|e| e.to_string())
        .and_then(|head| stream::inspect(&head[..], c.size, &what).map_err(|e| e.to_string()));
    match shape {
        Ok(shape) if shape.plaintext_size != c.info.plaintext_size => {
            return Outcome::Problem(
                "plaintext-size-mismatch",
                format!(
                    "the ciphertext holds {} plaintext bytes but the record says {}",
                    shape.plaintext_size, c.info.plaintext_size
                ),
            )
        }
        Ok(_) => {}
        Err(why) => return Outcome::Problem("ciphertext-malformed", why),
    }
    let Some(identity) = identity else {
        return Outcome::NotOpened;
    };
    match decrypt_object(archive, &identity.0, c, &mut io::sink()) {
        Ok(_) => Outcome::Checked,
        Err(Error::Crypt(CryptError::NotARecipient { .. })) => Outcome::NotARecipient,
        Err(Error::Crypt(e @ CryptError::PlaintextMismatch { .. })) => {
            Outcome::Problem("plaintext-mismatch", e.to_string())
        }
        Err(Error::Crypt(e @ CryptError::OpeningMismatch { .. })) => {
            Outcome::Problem("opening-mismatch", e.to_string())
        }
        Err(e) => Outcome::Problem("ciphertext-damaged", e.to_string()),
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
