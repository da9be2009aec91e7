//! Exporting documents stored encrypted (`add --encrypt`; FORMAT.md §23.9): each is decrypted
//! with the exporter's identity, streaming, and checked against its signed record, then written
//! in the clear or encrypted again to the bundle's recipients (`--encrypt-to`). Either way the
//! bundle lists what ties the plaintext to the record's binding, and the export's custody
//! record says that documents were decrypted for it.

use std::fs;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::archive::encrypted::{ciphertexts_of, Ciphertext};
use crate::archive::verify::encrypted::VerifyIdentity;
use crate::archive::Archive;
use crate::core::digest::Digest;
use crate::core::record::{DocumentRecord, EncryptionInfo, PlaintextBinding};
use crate::crypt::commitment::Opening;
use crate::crypt::stream::{Decryption, Encryption, Expected};
use crate::crypt::{io_error, CryptError, Identities, Recipients};
use crate::error::{Error, Result};

use super::super::encrypted::crypt_error;
use super::super::manifest::DecryptedDocument;

/// Refuses, before anything is written, a selection holding a document stored encrypted when
/// no identity was given: exit 2, naming the document and the option.
pub(super) fn require_identity(
    docs: &[(Digest, &DocumentRecord)],
    identity: Option<&VerifyIdentity>,
) -> Result<()> {
    if identity.is_some() {
        return Ok(());
    }
    match docs.iter().find(|(_, doc)| doc.encryption.is_some()) {
        Some((_, doc)) => Err(Error::BadInput {
            path: PathBuf::from(&doc.path),
            why: "this document is stored encrypted (add --encrypt): exporting it decrypts it, \
                  so give --identity FILE (an age identity of one of its recipients; or set \
                  EVIDENTIA_IDENTITY), or leave it out of the selection"
                .into(),
        }),
        None => Ok(()),
    }
}

/// Decrypts the document `doc` (stored encrypted) into the new bundle file `out`, in the clear
/// or encrypted to `encrypt_to`, after checking the plaintext against the record. Returns what
/// data/bundle.json lists for it.
pub(super) fn export_document(
    archive: &Archive,
    identities: &Identities,
    doc: &DocumentRecord,
    encrypt_to: Option<&Recipients>,
    out: &fs::File,
    out_name: &Path,
) -> Result<DecryptedDocument> {
    let Some(info) = &doc.encryption else {
        return Err(Error::Corrupt {
            path: out_name.to_path_buf(),
            why: "not a document stored encrypted".into(),
        });
    };
    let mut ciphertexts = vec![Ciphertext {
        content: doc.content,
        size: doc.size,
        info: info.clone(),
    }];
    let mut rewraps_read = false;
    let mut tried = 0;
    // The document's own ciphertext first; its rewraps (other recipients) only when the
    // identity cannot open it, since finding them reads the log.
    loop {
        let Some(ciphertext) = ciphertexts.get(tried) else {
            if rewraps_read {
                return Err(crypt_error(
                    out_name,
                    CryptError::NotARecipient {
                        what: format!("document {} (stored encrypted)", doc.path),
                        identities: identities.source().to_path_buf(),
                    },
                ));
            }
            ciphertexts.extend(ciphertexts_of(archive, &doc.content)?.into_iter().skip(1));
            rewraps_read = true;
            continue;
        };
        tried += 1;
        let input = archive.store().open(&ciphertext.content)?;
        match decrypt_one(input, identities, &doc.path, ciphertext, encrypt_to, out) {
            Err(CryptError::NotARecipient { .. }) => continue,
            Err(e) => return Err(crypt_error(out_name, e)),
            Ok(listed) => return Ok(listed),
        }
    }
}

/// One ciphertext (`input`) decrypted into `out`, which it may have begun to fill when it
/// fails after opening: the export then fails as a whole and its staging directory goes.
fn decrypt_one(
    input: impl std::io::Read,
    identities: &Identities,
    path: &str,
    ciphertext: &Ciphertext,
    encrypt_to: Option<&Recipients>,
    out: &fs::File,
) -> std::result::Result<DecryptedDocument, CryptError> {
    let what = format!("document {path} (encrypted object {})", ciphertext.content);
    let (expected, opening) = open_binding(identities, &ciphertext.info, &what)?;
    let reader = BufReader::with_capacity(256 * 1024, input);
    // Opened before anything is written: an identity that is not a recipient fails here, and
    // the next ciphertext (a rewrap's) is tried on an empty file.
    let mut decryption = Decryption::new(identities, reader, expected, &what)?;
    let writer = BufWriter::with_capacity(256 * 1024, out);
    let written = match encrypt_to {
        None => {
            let mut writer = writer;
            pump(&mut decryption, &mut writer)?;
            decryption.finish()?;
            writer
        }
        Some(recipients) => {
            let mut encryption = Encryption::new(recipients, writer)?;
            pump(&mut decryption, &mut encryption)?;
            decryption.finish()?;
            encryption.finish()?.0
        }
    };
    written
        .into_inner()
        .map_err(|e| io_error("writing the bundle file")(e.into_error()))?
        .flush()
        .map_err(io_error("writing the bundle file"))?;
    Ok(match encrypt_to {
        None => DecryptedDocument {
            size: expected.size,
            sha256: Some(expected.digest.to_hex()),
            salt: opening.map(|o| hex::encode(o.salt.0)),
            opening: None,
        },
        // The salt stays hidden from all but the bundle's recipients: the opening is sealed
        // again, to them.
        Some(recipients) => DecryptedDocument {
            size: expected.size,
            sha256: None,
            salt: None,
            opening: match opening {
                Some(o) => Some(STANDARD.encode(o.seal(recipients)?)),
                None => None,
            },
        },
    })
}

/// Copies the checked plaintext stream into `out` (the check itself is `finish`'s).
fn pump<R: std::io::BufRead>(
    decryption: &mut Decryption<R>,
    out: &mut dyn Write,
) -> std::result::Result<(), CryptError> {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = decryption.read_checked(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        out.write_all(&buf[..n])
            .map_err(io_error("writing the bundle file"))?;
    }
}

/// What the plaintext of `info` must be, and the opening when the binding is hidden.
fn open_binding(
    identities: &Identities,
    info: &EncryptionInfo,
    what: &str,
) -> std::result::Result<(Expected, Option<Opening>), CryptError> {
    let (digest, opening) = match &info.binding {
        PlaintextBinding::Digest(d) => (*d, None),
        PlaintextBinding::Committed {
            commitment,
            opening,
        } => {
            let opened = Opening::open(identities, opening, commitment, what)?;
            (opened.plaintext, Some(opened))
        }
    };
    let expected = Expected {
        digest,
        size: info.plaintext_size,
    };
    Ok((expected, opening))
}

/// What the export's custody note adds when documents stored encrypted were decrypted for it:
/// how many, and with which identity (its public keys), re-encrypted or not.
pub(super) fn custody_note(
    decrypted: usize,
    identity: Option<&VerifyIdentity>,
    re_encrypted: bool,
) -> String {
    let Some(identity) = identity.filter(|_| decrypted > 0) else {
        return String::new();
    };
    let keys = identity
        .0
        .recipients()
        .map(|r| r.texts().join(", "))
        .unwrap_or_else(|_| "unknown".into());
    let then = if re_encrypted {
        "decrypted and re-encrypted"
    } else {
        "decrypted (in the clear in the bundle)"
    };
    format!("; {decrypted} document(s) stored encrypted {then} for this export with the identity of {keys}")
}
