//! Encrypted annotation and custody fields (FORMAT.md §23.10): sealing the sensitive fields of
//! a record into an age ciphertext object to the archive's current recipients, and revealing
//! them again with an identity, checked against the signed record.

use std::path::Path;

use crate::core::digest::Digest;
use crate::core::record::{
    AnnotationRecord, CustodyRecord, HiddenFields, Record, SealedFields, Selector,
};
use crate::crypt::{CryptError, Identities};
use crate::error::{Error, Result};

use super::encrypted::{decrypt_object, encrypt_to_current, store_encrypted, Ciphertext};
use super::Archive;

/// Shown in place of a sealed field to whoever has not decrypted it.
pub const ENCRYPTED: &str = "[encrypted]";

/// Encrypts `hidden` to the archive's current recipients and stores the ciphertext: the
/// `sealed` map of the record to write. The object is durable when this returns.
pub fn seal(archive: &Archive, hidden: &HiddenFields) -> Result<SealedFields> {
    let to = encrypt_to_current(archive, false)?;
    let plaintext = hidden.encode().map_err(|e| Error::InvalidOption {
        option: "--encrypt",
        value: String::new(),
        why: e.to_string(),
    })?;
    let writer = archive.store().writer(1)?;
    let (outcome, encryption) = store_encrypted(
        &*writer,
        &mut std::io::empty(),
        Some(&plaintext),
        &to,
        Path::new("<sealed fields>"),
    )?;
    writer.finish()?;
    Ok(SealedFields {
        content: outcome.digest,
        size: outcome.size,
        encryption,
    })
}

/// The stored ciphertext a `sealed` map names, as the decryption code takes it.
pub fn ciphertext(sealed: &SealedFields) -> Ciphertext {
    Ciphertext {
        content: sealed.content,
        size: sealed.size,
        info: sealed.encryption.clone(),
    }
}

/// Decrypts the hidden fields of a sealed record and checks them against it: the plaintext's
/// SHA-256 and size must be the record's, and it must name the record's kind and targets (a
/// ciphertext copied from another record is refused). A mismatch is
/// [`CryptError::PlaintextMismatch`].
pub fn open(
    archive: &Archive,
    identities: &Identities,
    kind: &str,
    targets: &[Digest],
    sealed: &SealedFields,
) -> Result<HiddenFields> {
    let what = format!(
        "the encrypted fields of a '{kind}' record (object {})",
        sealed.content
    );
    let mut plain = Vec::new();
    decrypt_object(archive, identities, &ciphertext(sealed), &mut plain)?;
    let mismatch = |found: String| {
        Error::Crypt(CryptError::PlaintextMismatch {
            what: what.clone(),
            field: "hidden fields",
            expected: format!("the fields of this '{kind}' record"),
            found,
        })
    };
    let hidden = HiddenFields::decode(&plain).map_err(|e| mismatch(e.to_string()))?;
    if hidden.kind != kind || hidden.targets != targets {
        return Err(mismatch(format!(
            "the fields of a '{}' record about {} document(s) other than this record's",
            hidden.kind,
            hidden.targets.len()
        )));
    }
    let complete = match kind {
        "annotation" => hidden.body.as_ref().is_some_and(|b| !b.is_empty()),
        _ => hidden.note.is_some() || hidden.from.is_some() || hidden.to.is_some(),
    };
    if !complete {
        return Err(mismatch("no field to hide".into()));
    }
    Ok(hidden)
}

/// Whether a record of this kind keeps fields only in a ciphertext.
pub fn sealed_of(record: &Record) -> Option<&SealedFields> {
    match record {
        Record::Annotation(a) => a.sealed.as_ref(),
        Record::Custody(c) => c.sealed.as_ref(),
        _ => None,
    }
}

/// The kind and targets a sealed record's plaintext must name.
pub fn context_of(record: &Record) -> (&'static str, Vec<Digest>) {
    match record {
        Record::Annotation(a) => ("annotation", vec![a.target]),
        Record::Custody(c) => ("custody", c.targets.clone()),
        _ => ("", Vec::new()),
    }
}

/// Puts the revealed fields back into their record (for display; the record is not encoded
/// again).
pub fn fill(record: &mut Record, hidden: HiddenFields) {
    match record {
        Record::Annotation(a) => fill_annotation(a, hidden),
        Record::Custody(c) => fill_custody(c, hidden),
        _ => {}
    }
}

fn fill_annotation(a: &mut AnnotationRecord, hidden: HiddenFields) {
    a.body = hidden.body.unwrap_or_default();
    if let Some(quote) = hidden.quote {
        a.selectors.insert(0, quote);
        a.selectors.sort_by_key(Selector::order);
    }
    a.claim = hidden.claim;
}

fn fill_custody(c: &mut CustodyRecord, hidden: HiddenFields) {
    c.note = hidden.note;
    c.from = hidden.from;
    c.to = hidden.to;
}

/// What revealing a record gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reveal {
    /// The record hides nothing.
    Clear,
    /// Sealed, and no identity was given: the fields stay hidden.
    Hidden,
    /// Sealed, decrypted and checked: the record now holds the fields.
    Revealed,
}

/// Reveals the sealed fields of `record` in place when `identities` are given.
pub fn reveal(
    archive: &Archive,
    identities: Option<&Identities>,
    record: &mut Record,
) -> Result<Reveal> {
    let Some(sealed) = sealed_of(record).cloned() else {
        return Ok(Reveal::Clear);
    };
    let Some(identities) = identities else {
        return Ok(Reveal::Hidden);
    };
    let (kind, targets) = context_of(record);
    let hidden = open(archive, identities, kind, &targets, &sealed)?;
    fill(record, hidden);
    Ok(Reveal::Revealed)
}

/// Whether `record` keeps fields in a ciphertext that have not been revealed into it. (A
/// revealed record always holds a field: [`open`] refuses a plaintext that hides nothing.)
pub fn is_hidden(record: &Record) -> bool {
    match record {
        Record::Annotation(a) => a.sealed.is_some() && a.body.is_empty(),
        Record::Custody(c) => {
            c.sealed.is_some() && c.note.is_none() && c.from.is_none() && c.to.is_none()
        }
        _ => false,
    }
}

/// An annotation's body for display: [`ENCRYPTED`] while sealed and not revealed.
pub fn body_shown(a: &AnnotationRecord) -> &str {
    if a.sealed.is_some() && a.body.is_empty() {
        ENCRYPTED
    } else {
        &a.body
    }
}

/// A custody event's note for display: [`ENCRYPTED`] while sealed and not revealed.
pub fn note_shown(c: &CustodyRecord) -> Option<&str> {
    match (&c.sealed, &c.note, &c.from, &c.to) {
        (Some(_), None, None, None) => Some(ENCRYPTED),
        _ => c.note.as_deref(),
    }
}
