//! Encrypted annotation and custody fields (FORMAT.md §23.10). Their ciphertext objects are
//! hashed with every other content (records.rs); here, without an identity, each must be a
//! well-formed age file of the recorded plaintext size; with one, it is decrypted and must be
//! exactly the hidden fields the signed record commits to (`sealed-fields-mismatch`).

use rayon::prelude::*;

use crate::archive::sealed_notes::{ciphertext, context_of, open, sealed_of};
use crate::core::digest::Digest;
use crate::core::record::{Record, SealedFields};
use crate::crypt::CryptError;
use crate::error::Error;

use super::super::Archive;
use super::encrypted::{check_shape, EncryptedReplay, VerifyIdentity};
use super::VerifyReport;

/// One sealed record met in the log.
pub struct SealedNote {
    item: String,
    kind: &'static str,
    targets: Vec<Digest>,
    pub sealed: SealedFields,
}

impl EncryptedReplay {
    /// Remembers `record` if it keeps fields in a ciphertext.
    pub fn note(&mut self, item: &str, record: &Record) {
        if let Some(sealed) = sealed_of(record) {
            let (kind, targets) = context_of(record);
            self.notes.push(SealedNote {
                item: item.to_string(),
                kind,
                targets,
                sealed: sealed.clone(),
            });
        }
    }
}

enum Outcome {
    Checked,
    Unopened,
    Problem(&'static str, String),
}

/// The checks of §23.10 on every sealed record; `identity` adds the plaintext level. Returns
/// how many the identity opened (an identity that opens only fields is not the wrong key).
pub fn check_notes(
    archive: &Archive,
    report: &mut VerifyReport,
    notes: &[SealedNote],
    identity: Option<&VerifyIdentity>,
) -> usize {
    if notes.is_empty() {
        return 0;
    }
    // A ciphertext whose stored bytes failed the content checks is reported there once.
    let damaged: std::collections::HashSet<String> =
        report.core.problems().map(|f| f.item.clone()).collect();
    let outcomes: Vec<Outcome> = crate::remote::with_io_threads(archive, || {
        notes
            .par_iter()
            .map(|note| {
                if damaged.contains(&format!("document content {}", note.sealed.content)) {
                    return Outcome::Unopened;
                }
                check_one(archive, note, identity)
            })
            .collect()
    });
    report_reused(report, notes);
    let mut checked = 0;
    for (note, outcome) in notes.iter().zip(outcomes) {
        match outcome {
            Outcome::Checked => checked += 1,
            Outcome::Unopened => {}
            Outcome::Problem(code, detail) => report.problem(
                format!("{}: encrypted fields {}", note.item, note.sealed.content),
                code,
                detail,
            ),
        }
    }
    let unchecked = notes.len() - checked;
    if checked > 0 {
        report.core.proven.push(format!(
            "the encrypted fields of {checked} annotation(s)/custody event(s) decrypt and match their records"
        ));
    }
    if unchecked > 0 {
        let why = match identity {
            None => "no --identity; their ciphertexts are intact and of the recorded size",
            Some(_) => "not decrypted by the identity given, or damaged (reported above)",
        };
        let detail = format!(
            "encrypted fields of {unchecked} of {} annotation(s)/custody event(s) not checked: {why}",
            notes.len()
        );
        report.core.not_proven.push(detail.clone());
        report.warn("objects/", "plaintext-not-checked", detail);
    }
    checked
}

/// A sealed plaintext begins with a fresh salt, so honest records never share its digest: a
/// second record with the same one carries fields copied from another record (its kind and
/// targets, all the plaintext names, may match), which would attribute them to a record that
/// did not make them. Needs no key: the digest is in the signed record.
fn report_reused(report: &mut VerifyReport, notes: &[SealedNote]) {
    let mut first: std::collections::HashMap<&Digest, &str> = std::collections::HashMap::new();
    for note in notes {
        let anchor = note.sealed.encryption.binding.anchor();
        match first.get(anchor) {
            Some(earlier) => report.problem(
                format!("{}: encrypted fields {}", note.item, note.sealed.content),
                "sealed-fields-reused",
                format!("the same sealed fields (plaintext {anchor}) as {earlier}: copied from that record"),
            ),
            None => {
                first.insert(anchor, &note.item);
            }
        }
    }
}

fn check_one(archive: &Archive, note: &SealedNote, identity: Option<&VerifyIdentity>) -> Outcome {
    if let Some((code, detail)) = check_shape(archive, &ciphertext(&note.sealed)) {
        return Outcome::Problem(code, detail);
    }
    let Some(identity) = identity else {
        return Outcome::Unopened;
    };
    match open(archive, &identity.0, note.kind, &note.targets, &note.sealed) {
        Ok(_) => Outcome::Checked,
        Err(Error::Crypt(CryptError::NotARecipient { .. })) => Outcome::Unopened,
        Err(Error::Crypt(e @ CryptError::PlaintextMismatch { .. })) => {
            Outcome::Problem("sealed-fields-mismatch", e.to_string())
        }
        Err(e) => Outcome::Problem("ciphertext-damaged", e.to_string()),
    }
}
