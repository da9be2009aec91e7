//! Encrypted annotation and custody fields (FORMAT.md §23.10): sealing the sensitive fields of
//! a record into an age ciphertext object to the archive's current recipients, and revealing
//! them again with an identity, checked against the signed record.

use std::collections::HashMap;
use std::path::Path;

use crate::core::digest::Digest;
use crate::core::record::{
    AnnotationRecord, CustodyRecord, HiddenFields, Record, SealedFields, Selector,
};
use crate::crypt::{CryptError, Identities};
use crate::error::{Error, Result};

use super::encrypted::{decrypt_object, encrypt_to_current, store_encrypted, Ciphertext};
use super::query::{self, LoggedRecord};
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
    /// Sealed with the same plaintext as an earlier record: left hidden, never decrypted
    /// ([`SealedOrigins`]).
    Copied,
    /// In a listing: sealed to keys other than the identities given (fields sealed before a
    /// recipients change, or by an insider to other keys): left hidden, the listing goes on.
    Unopened,
    /// In a listing: decrypted, but not the fields its record commits to
    /// (`sealed-fields-mismatch`): left hidden, the listing goes on.
    Mismatched,
}

impl Reveal {
    /// Sealed, an identity given, and still hidden: worth a warning ([`listed_warning`]).
    pub fn left_encrypted(self) -> bool {
        matches!(self, Reveal::Copied | Reveal::Unopened | Reveal::Mismatched)
    }
}

/// Reveals the sealed fields of `record` in place when `identities` are given. Callers that
/// show records use [`reveal_original`], which first rules out copies.
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

/// The first record (its log position) committing to each sealed plaintext among the records
/// given. A sealed plaintext begins with a fresh salt, so honest records never share its
/// SHA-256: a later record with the same one carries fields copied from the first (FORMAT.md
/// §23.10, `sealed-fields-reused`), and decrypting it would show the first record's words
/// under the copier's name, analyst and tags. The plaintext names the record's kind and
/// targets, so a copy that decrypts shares them: the records given must include every earlier
/// record of the same kind about the same targets.
#[derive(Debug, Default)]
pub struct SealedOrigins(HashMap<Digest, u64>);

impl SealedOrigins {
    /// From `(log position, sealed map)` pairs, in any order.
    pub fn of<'a>(records: impl IntoIterator<Item = (u64, Option<&'a SealedFields>)>) -> Self {
        let mut first: HashMap<Digest, u64> = HashMap::new();
        for (index, sealed) in records {
            if let Some(sealed) = sealed {
                let at = first.entry(*sealed.plaintext_digest()).or_insert(index);
                *at = (*at).min(index);
            }
        }
        SealedOrigins(first)
    }

    /// Whether the record at `index` with this `sealed` map repeats an earlier record's.
    pub fn is_copy(&self, index: u64, sealed: &SealedFields) -> bool {
        self.0
            .get(sealed.plaintext_digest())
            .is_some_and(|&first| first < index)
    }
}

/// [`reveal`], except that a record repeating an earlier record's sealed plaintext
/// ([`SealedOrigins`]) stays hidden: [`Reveal::Copied`] (say so with [`copy_warning`]).
pub fn reveal_original(
    archive: &Archive,
    identities: Option<&Identities>,
    origins: &SealedOrigins,
    index: u64,
    record: &mut Record,
) -> Result<Reveal> {
    match sealed_of(record) {
        Some(sealed) if identities.is_some() && origins.is_copy(index, sealed) => {
            Ok(Reveal::Copied)
        }
        _ => reveal(archive, identities, record),
    }
}

/// [`reveal_original`] for a record in a listing (`history`, `annotations`): a record the
/// identities cannot open ([`Reveal::Unopened`]) or whose plaintext is not its record's
/// ([`Reveal::Mismatched`]) stays hidden instead of failing the listing, so that one record
/// sealed to other keys (an honest recipients change, or an insider's) hides nothing else.
pub fn reveal_listed(
    archive: &Archive,
    identities: Option<&Identities>,
    origins: &SealedOrigins,
    index: u64,
    record: &mut Record,
) -> Result<Reveal> {
    match reveal_original(archive, identities, origins, index, record) {
        Err(Error::Crypt(CryptError::NotARecipient { .. })) => Ok(Reveal::Unopened),
        Err(Error::Crypt(CryptError::PlaintextMismatch { .. })) => Ok(Reveal::Mismatched),
        other => other,
    }
}

/// The warning for a record a listing left encrypted ([`reveal_listed`]); `None` when it was
/// not left encrypted for a reason worth a warning.
pub fn listed_warning(outcome: Reveal, kind: &str, id: &Digest) -> Option<String> {
    let shown = match kind {
        "custody" => "custody event",
        other => other,
    };
    match outcome {
        Reveal::Copied => Some(copy_warning(kind, id)),
        Reveal::Unopened => Some(format!(
            "{shown} sha256:{id}: its encrypted fields are sealed to other keys than the identity given: left encrypted"
        )),
        Reveal::Mismatched => Some(format!(
            "{shown} sha256:{id}: its encrypted fields do not match the record (sealed-fields-mismatch): left encrypted; run `evidentia verify`"
        )),
        Reveal::Clear | Reveal::Hidden | Reveal::Revealed => None,
    }
}

/// The warning for a record left encrypted as a copy (`kind`: `annotation` or `custody`).
pub fn copy_warning(kind: &str, id: &Digest) -> String {
    let kind = match kind {
        "custody" => "custody event",
        other => other,
    };
    format!(
        "{kind} sha256:{id} repeats the sealed fields of an earlier {kind} (sealed-fields-reused): left encrypted; run `evidentia verify`"
    )
}

/// Reveals, with `identities`, the sealed records among `records` (shown one by one, not as
/// part of a listing holding their targets' records) and returns the ids of those left hidden
/// as copies. A sealed record's origins are the records before it in the log of its kind and
/// targets; finding them reads the log up to it (there is no index by target), and only when
/// an identity is given and the record is sealed.
pub fn reveal_shown(
    archive: &Archive,
    identities: Option<&Identities>,
    records: &mut [LoggedRecord],
) -> Result<Vec<(&'static str, Digest)>> {
    let mut copies = Vec::new();
    for logged in records {
        let origins = match sealed_of(&logged.record) {
            Some(_) if identities.is_some() => origins_before(archive, logged)?,
            _ => SealedOrigins::default(),
        };
        let outcome = reveal_original(
            archive,
            identities,
            &origins,
            logged.index,
            &mut logged.record,
        )?;
        if outcome == Reveal::Copied {
            copies.push((context_of(&logged.record).0, logged.id));
        }
    }
    Ok(copies)
}

/// The sealed plaintexts of the records before `logged` of its kind and targets.
fn origins_before(archive: &Archive, logged: &LoggedRecord) -> Result<SealedOrigins> {
    let context = context_of(&logged.record);
    let log = archive.log()?;
    let mut pairs: Vec<(u64, SealedFields)> = Vec::new();
    let mut start = 0;
    while start < logged.index {
        // In steps, so that memory stays bounded on a long log.
        let end = logged.index.min(start + 4096);
        for r in query::records_range(archive, &log, start, end)? {
            if let Some(sealed) = sealed_of(&r.record).filter(|_| context_of(&r.record) == context)
            {
                pairs.push((r.index, sealed.clone()));
            }
        }
        start = end;
    }
    Ok(SealedOrigins::of(pairs.iter().map(|(i, s)| (*i, Some(s)))))
}
