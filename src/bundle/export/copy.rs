//! Copying each disclosed document into the bundle: as stored, encrypted to `--encrypt-to`,
//! or decrypted with `--identity` (FORMAT.md §23.9); every file is created exclusively and read
//! back through the handle that wrote it, which is the self-check's hash of that file.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use rayon::prelude::*;

use crate::archive::{fsutil, Archive};
use crate::core::digest::Digest;
use crate::core::record::DocumentRecord;
use crate::error::{Error, Result};

use super::super::layout;
use super::super::manifest::DecryptedDocument;
use super::{decrypt, ExportOptions, ReadBack};

/// Copies every disclosed document to its place. Copies run in parallel: each is copied, read
/// back and hashed independently.
pub(super) fn copy_documents(
    archive: &Archive,
    root: &Path,
    docs: &[(Digest, &DocumentRecord)],
    places: &[layout::Placement],
    options: &ExportOptions,
) -> Result<(ReadBack, HashMap<String, DecryptedDocument>)> {
    let total = docs.iter().map(|(_, doc)| doc.size).sum();
    crate::progress::stage("copying documents", total, crate::progress::Unit::Bytes);
    let mut decrypted: HashMap<String, DecryptedDocument> = HashMap::new();
    let read_back: ReadBack = docs
        .par_iter()
        .zip(places)
        .map(|((_, doc), place)| {
            let to = root.join(&place.file);
            let (found, plain) = match (&options.encrypt_to, &options.identity) {
                (_, Some(identity)) if doc.encryption.is_some() => {
                    decrypt_object(archive, &identity.0, doc, options, &to)?
                }
                (Some(recipients), _) => (encrypt_object(archive, doc, recipients, &to)?, None),
                (None, _) => (copy_object(archive, &doc.content, &to)?, None),
            };
            Ok((place.file.clone(), found, plain))
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(|(file, found, plain)| {
            if let Some(plain) = plain {
                decrypted.insert(file.clone(), plain);
            }
            (file, found)
        })
        .collect();
    Ok((read_back, decrypted))
}

/// Copies an object into the bundle, then reads the new file back through the handle that
/// created and wrote it and returns the SHA-256 and length of what it holds. That read-back is
/// the self-check's hash of this file (see [`ReadBack`]); the copy itself is not hashed.
pub(super) fn copy_object(archive: &Archive, digest: &Digest, to: &Path) -> Result<(Digest, u64)> {
    // Never over another document: every name a bundle uses is dictated to one record.
    let file = create_new(to)?;
    crate::progress::check(String::new)?; // the caller says what is kept
    let copied = archive.store().copy_unchecked(digest, &file, to)?;
    crate::progress::advance(copied);
    crate::archive::failpoint::hit("export-mid-copy");
    read_back(&file, to)
}

/// [`copy_object`] for an encrypted bundle: the object encrypted to `recipients` (streaming),
/// then read back likewise.
fn encrypt_object(
    archive: &Archive,
    doc: &DocumentRecord,
    recipients: &crate::crypt::Recipients,
    to: &Path,
) -> Result<(Digest, u64)> {
    let file = create_new(to)?;
    crate::progress::check(String::new)?;
    super::super::encrypted::encrypt_object(
        archive,
        &doc.content,
        doc.size,
        recipients,
        &file,
        to,
    )?;
    crate::progress::advance(doc.size);
    read_back(&file, to)
}

/// [`copy_object`] for a document stored encrypted: decrypted with the identity (and encrypted
/// again with --encrypt-to), then read back likewise.
fn decrypt_object(
    archive: &Archive,
    identities: &crate::crypt::Identities,
    doc: &DocumentRecord,
    options: &ExportOptions,
    to: &Path,
) -> Result<((Digest, u64), Option<DecryptedDocument>)> {
    let file = create_new(to)?;
    crate::progress::check(String::new)?;
    let encrypt_to = options.encrypt_to.as_ref();
    let listed = decrypt::export_document(archive, identities, doc, encrypt_to, &file, to)?;
    crate::progress::advance(doc.size);
    Ok((read_back(&file, to)?, Some(listed)))
}

/// SHA-256 and length of a file's bytes, read from its start by position (the page cache,
/// moments after writing).
pub(super) fn read_back(file: &fs::File, path: &Path) -> Result<(Digest, u64)> {
    use std::os::unix::fs::FileExt;
    let mut hasher = crate::core::digest::Hasher::new();
    let mut at = 0u64;
    fsutil::with_read_buffer(|buf| loop {
        let n = file.read_at(buf, at).map_err(Error::io(path))?;
        if n == 0 {
            return Ok((hasher.finish(), at));
        }
        at += n as u64;
        hasher.update(&buf[..n]);
    })
}

/// Creates a payload file that must not exist yet (`O_EXCL`): a second write to one path,
/// such as two names that one file system takes as the same, fails here instead of replacing
/// the first file. Readable too, for the read-back of what was written.
pub(super) fn create_new(path: &Path) -> Result<fs::File> {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(Error::io(path))
}
