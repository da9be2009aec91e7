//! Documents stored encrypted in the archive and disclosed decrypted (FORMAT.md §23.9). Their
//! record names the stored ciphertext (`content`, `size`) and binds the plaintext in its signed
//! `encryption` map: by its SHA-256, or by a salted commitment. data/bundle.json's `decrypted`
//! member says what the file holds; only the signed binding decides whether it is the record's.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::core::digest::Digest;
use crate::core::record::{PlaintextBinding, Record};
use crate::crypt::{Commitment, Salt};

use super::super::encrypted::{Finding, Plaintext};
use super::super::export::hash_file;
use super::super::manifest::{DecryptedDocument, DisclosedDocument};
use super::disclosed::{doc_item, stored_file};
use super::{hex_digest, BundleReport};

/// The `encryption` map of a listed document's record, if it is of a document stored
/// encrypted.
fn encryption_of(record: Option<&Record>) -> Option<&crate::core::record::EncryptionInfo> {
    match record {
        Some(Record::Document(d)) => d.encryption.as_ref(),
        _ => None,
    }
}

fn bad(detail: &str) -> Finding {
    ("bad-manifest", detail.to_string())
}

/// A clear bundle's decrypted document: the file holds the listed plaintext, whose size and
/// SHA-256 the record binds (directly, or through the disclosed salt and its commitment).
/// Returns whether it holds up.
pub(super) fn check_clear(
    root: &Path,
    files: &HashSet<String>,
    hashed: &HashMap<String, String>,
    doc: &DisclosedDocument,
    record: Option<&Record>,
    report: &mut BundleReport,
) -> bool {
    match clear_finding(root, files, hashed, doc, record, report) {
        Ok(held) => held,
        Err((code, detail)) => {
            report.problem(doc_item(doc), code, detail);
            false
        }
    }
}

/// `Ok(false)`: a finding already reported (the file is missing).
fn clear_finding(
    root: &Path,
    files: &HashSet<String>,
    hashed: &HashMap<String, String>,
    doc: &DisclosedDocument,
    record: Option<&Record>,
    report: &mut BundleReport,
) -> Result<bool, Finding> {
    let Some(listed) = &doc.decrypted else {
        return Err(bad("not listed as decrypted"));
    };
    let Some(info) = encryption_of(record) else {
        return Err(bad(
            "listed as decrypted, but no disclosed record of a document stored encrypted has this path, digest and size",
        ));
    };
    if listed.opening.is_some() {
        return Err(bad("an opening is listed only in an encrypted bundle"));
    }
    if !stored_file(files, doc, report) {
        return Ok(false);
    }
    // The manifest check hashed every listed payload file already.
    let already = hashed.get(&doc.file).and_then(|hex| hex_digest(hex));
    let found = match already.map_or_else(|| hash_file(&root.join(&doc.file)), Ok) {
        Ok(found) => found,
        Err(e) => return Err(("content-missing", e.to_string())),
    };
    let size = std::fs::metadata(root.join(&doc.file)).map_or(0, |m| m.len());
    if listed.sha256.as_deref() != Some(found.to_hex().as_str()) || listed.size != size {
        return Err((
            "content-corrupt",
            format!("the file ({size} bytes, SHA-256 {found}) is not the plaintext data/bundle.json lists"),
        ));
    }
    if size != info.plaintext_size {
        return Err((
            "plaintext-mismatch",
            format!(
                "{size} plaintext bytes, the signed record says {}",
                info.plaintext_size
            ),
        ));
    }
    match (&info.binding, &listed.salt) {
        (PlaintextBinding::Digest(_), Some(_)) => Err(bad(
            "a salt is listed for a record that binds the plaintext digest itself",
        )),
        (PlaintextBinding::Digest(digest), None) if *digest != found => Err((
            "plaintext-mismatch",
            format!("the file's SHA-256 is {found}, the signed record says {digest}"),
        )),
        (PlaintextBinding::Digest(_), None) => Ok(true),
        (PlaintextBinding::Committed { .. }, None) => Err((
            "opening-missing",
            "the record hides the plaintext digest behind a commitment, and data/bundle.json \
             lists no salt to open it: the clear bytes are not tied to the record"
                .to_string(),
        )),
        (PlaintextBinding::Committed { commitment, .. }, Some(salt)) => {
            let salt = Digest::from_lower_hex(salt.as_bytes())
                .ok_or_else(|| bad("the salt is not 64 lowercase hex digits"))?;
            if Commitment::compute(&Salt(*salt.as_bytes()), &found) != *commitment {
                return Err((
                    "opening-mismatch",
                    format!(
                        "the listed salt and the file's SHA-256 do not open the record's commitment {}",
                        commitment.to_prefixed()
                    ),
                ));
            }
            Ok(true)
        }
    }
}

/// An encrypted bundle's document: how many plaintext bytes its file must hold and what the
/// plaintext must be. A document stored encrypted is checked against its record's binding, not
/// against its `content` (the stored ciphertext's digest).
pub(super) fn expectation(
    doc: &DisclosedDocument,
    record: Option<&Record>,
) -> Result<(u64, Plaintext), Finding> {
    let Some(listed) = &doc.decrypted else {
        let digest = Digest::from_lower_hex(doc.content.as_bytes());
        return Ok((doc.size, Plaintext::Digest(digest)));
    };
    let Some(info) = encryption_of(record) else {
        return Err(bad(
            "listed as decrypted, but no disclosed record of a document stored encrypted has this path, digest and size",
        ));
    };
    check_sealed_listing(listed, info.plaintext_size)?;
    let plaintext =
        match (&info.binding, &listed.opening) {
            (PlaintextBinding::Digest(digest), None) => Plaintext::Digest(Some(*digest)),
            (PlaintextBinding::Digest(_), Some(_)) => {
                return Err(bad(
                    "an opening is listed for a record that binds the plaintext digest itself",
                ))
            }
            (PlaintextBinding::Committed { .. }, None) => return Err((
                "opening-missing",
                "the record hides the plaintext digest behind a commitment, and data/bundle.json \
                 lists no opening for the bundle's recipients"
                    .to_string(),
            )),
            (PlaintextBinding::Committed { commitment, .. }, Some(text)) => {
                let opening = STANDARD
                    .decode(text)
                    .map_err(|_| bad("the opening is not standard base64"))?;
                Plaintext::Committed {
                    commitment: *commitment,
                    opening,
                }
            }
        };
    Ok((info.plaintext_size, plaintext))
}

/// What an encrypted bundle lists for a document stored encrypted: its plaintext size, and
/// never the digest or salt in the clear (the record may hide them).
fn check_sealed_listing(listed: &DecryptedDocument, size: u64) -> Result<(), Finding> {
    if listed.sha256.is_some() || listed.salt.is_some() {
        return Err(bad(
            "an encrypted bundle lists no plaintext digest or salt in the clear",
        ));
    }
    if listed.size != size {
        return Err((
            "plaintext-size-mismatch",
            format!(
                "data/bundle.json lists {} plaintext bytes, the signed record says {size}",
                listed.size
            ),
        ));
    }
    Ok(())
}

/// What a clear bundle holding documents stored encrypted, disclosed decrypted, proves of them
/// (said only of a bundle that passed every check; an encrypted bundle says what its identity
/// checked, `encrypted::state_levels`).
pub(super) fn state_proven(
    manifest: &super::BundleManifest,
    encrypted_bundle: bool,
    core: &mut crate::verification::ReportCore,
) {
    let decrypted = (manifest.documents.iter())
        .filter(|d| d.decrypted.is_some())
        .count();
    if decrypted > 0 && !encrypted_bundle {
        core.proven.push(format!(
            "{decrypted} of the documents are stored encrypted in the archive and were decrypted by the exporter for this bundle: their files match the plaintext digest or salted commitment signed in their records (the records' own digests name the stored ciphertexts)"
        ));
    }
}
