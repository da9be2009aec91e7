//! The hidden fields of the disclosed sealed annotations and custody events (FORMAT.md §23.10,
//! "Bundles"): without an identity the archive's ciphertext object travels as it is; with one
//! the fields are decrypted, checked against their signed record, and written in the clear or
//! encrypted again to the bundle's recipients.

use std::collections::HashMap;
use std::path::Path;

use crate::archive::query::LoggedRecord;
use crate::archive::sealed_notes::{context_of, open, sealed_of};
use crate::archive::Archive;
use crate::core::digest::Digest;
use crate::core::record::HiddenFields;
use crate::crypt::CryptError;
use crate::error::{Error, Result};

use super::super::manifest::SealedFile;
use super::super::sealed::{Form, SEALED_AREA};
use super::ExportOptions;

/// What the export wrote of the sealed records.
#[derive(Default)]
pub(super) struct SealedWritten {
    pub files: Vec<SealedFile>,
    /// The fields disclosed in the clear, by record id (the report shows them).
    pub revealed: HashMap<Digest, HiddenFields>,
}

/// Writes the fields of every sealed record in `disclosed` under data/sealed/.
pub(super) fn write(
    archive: &Archive,
    root: &Path,
    disclosed: &[&LoggedRecord],
    options: &ExportOptions,
) -> Result<SealedWritten> {
    let mut written = SealedWritten::default();
    for logged in disclosed {
        let Some(sealed) = sealed_of(&logged.record) else {
            continue;
        };
        let (kind, targets) = context_of(&logged.record);
        let hidden = match &options.identity {
            Some(identity) => match open(archive, &identity.0, kind, &targets, sealed) {
                Ok(hidden) => Some(hidden),
                // Sealed to keys this identity does not hold: the ciphertext travels instead.
                Err(Error::Crypt(CryptError::NotARecipient { .. })) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        if written.files.is_empty() {
            let dir = root.join(SEALED_AREA);
            std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        }
        let form = match (&hidden, &options.encrypt_to) {
            (None, _) => Form::Stored,
            (Some(_), None) => Form::Clear,
            (Some(_), Some(_)) => Form::Encrypted,
        };
        let file = form.file(&logged.id);
        let to = root.join(&file);
        match (&hidden, &options.encrypt_to) {
            (None, _) => {
                super::copy::copy_object(archive, &sealed.content, &to)?;
            }
            (Some(fields), recipients) => {
                let plain = fields.encode().map_err(|e| Error::Corrupt {
                    path: to.clone(),
                    why: e.to_string(),
                })?;
                let bytes = match recipients {
                    None => plain,
                    Some(recipients) => {
                        crate::crypt::stream::encrypt(recipients, &mut plain.as_slice(), Vec::new())
                            .map_err(|e| super::super::encrypted::crypt_error(&to, e))?
                            .0
                    }
                };
                super::write_file(&to, &bytes)?;
            }
        }
        // Only a clear bundle shows them: a court's bundle is read by more than the court.
        if let (Some(fields), Form::Clear) = (hidden, form) {
            written.revealed.insert(logged.id, fields);
        }
        written.files.push(SealedFile {
            record: logged.id.to_hex(),
            form: form.name().into(),
            file,
        });
    }
    Ok(written)
}

/// What the export's custody note adds when sealed fields were decrypted for it.
pub(super) fn custody_note(revealed: usize, re_encrypted: bool) -> String {
    if revealed == 0 {
        return String::new();
    }
    let then = if re_encrypted {
        "decrypted and re-encrypted"
    } else {
        "decrypted (in the clear in the bundle)"
    };
    format!("; the encrypted fields of {revealed} annotation(s)/custody event(s) {then} for this export")
}
