//! `seal`: sign a checkpoint over everything recorded so far.

use std::path::PathBuf;

use crate::core::checkpoint::{check_message, Checkpoint};
use crate::core::cosignature::verify_cosignature;
use crate::core::digest::Digest;
use crate::core::key::{SignerKey, VerifierKey};
use crate::core::note::SignedNote;
use crate::core::timestamp::Timestamp;
use crate::error::{Error, Result};

use super::{failpoint, Archive};

#[derive(Debug, Clone)]
pub struct SealOutcome {
    pub number: u64,
    pub size: u64,
    pub root: Digest,
    pub signers: Vec<VerifierKey>,
    pub path: PathBuf,
    pub text: String,
}

pub fn seal(
    archive: &Archive,
    signers: &[SignerKey],
    message: Option<&str>,
) -> Result<SealOutcome> {
    if let Some(message) = message {
        check_message(message).map_err(|e| Error::InvalidOption {
            option: "--message",
            value: message.to_string(),
            why: e.to_string(),
        })?;
    }
    if signers.is_empty() {
        return Err(Error::InvalidOption {
            option: "--key",
            value: String::new(),
            why: "at least one signing key is required".into(),
        });
    }
    let _lock = archive.lock()?;
    let log = archive.log()?;
    let store = archive.checkpoints();
    let latest = store.latest()?;
    let (last_number, last_size) = latest
        .as_ref()
        .map_or((0, 0), |c| (c.checkpoint.number, c.checkpoint.size));
    if log.size() == last_size {
        return Err(Error::NothingToSeal {
            number: last_number,
            size: last_size,
        });
    }
    if log.size() < last_size {
        return Err(Error::Corrupt {
            path: archive.root().join("log/HEAD"),
            why: format!(
                "the log holds {} records but checkpoint {last_number} covers {last_size}",
                log.size()
            ),
        });
    }
    // Never extend a log that no longer matches what was last signed.
    if let Some(latest) = &latest {
        let stored = log.root(last_size)?;
        if stored != latest.checkpoint.root {
            return Err(Error::Corrupt {
                path: archive.root().join("log"),
                why: format!(
                    "the log's root at size {last_size} is {stored}, but checkpoint {last_number} signed {}; refusing to seal",
                    latest.checkpoint.root
                ),
            });
        }
    }
    let checkpoint = Checkpoint {
        origin: archive.origin().to_string(),
        size: log.size(),
        root: log.root(log.size())?,
        number: last_number + 1,
        previous: latest.as_ref().map(|c| c.checkpoint.text_hash()),
        time: Timestamp::now(),
        message: message.map(str::to_string),
    };
    let verifiers: Vec<VerifierKey> = signers.iter().map(SignerKey::verifier).collect();
    for key in &verifiers {
        archive.remember_key(key)?;
    }
    let text = checkpoint.to_text();
    let refs: Vec<&SignerKey> = signers.iter().collect();
    let note = SignedNote::sign(&text, &refs);
    failpoint::hit("seal-before-checkpoint");
    let path = store.write(checkpoint.number, &note)?;
    Ok(SealOutcome {
        number: checkpoint.number,
        size: checkpoint.size,
        root: checkpoint.root,
        signers: verifiers,
        path,
        text: note.render(),
    })
}

/// Adds the witness cosignatures in `note_text` (a checkpoint cosigned by witnesses) that the
/// stored checkpoint with the same text lacks. Every signature line the stored checkpoint does
/// not already hold must be a valid C2SP cosignature/v1 of its text by one of `witnesses`, or
/// nothing is added: one bad line would otherwise make the stored checkpoint unreadable or
/// change its sealed bytes. Cosignature lines are not part of the sealed bytes (FORMAT.md
/// §20), so time-stamp imprints and `previous` hashes are unchanged. Returns the checkpoint
/// number and how many lines were added.
pub fn collect_cosignatures(
    archive: &Archive,
    note_text: &str,
    witnesses: &[VerifierKey],
) -> Result<(u64, usize)> {
    let path = std::path::PathBuf::from("<cosigned checkpoint>");
    let incoming = SignedNote::parse(note_text).map_err(|source| Error::Note {
        path: path.clone(),
        source,
    })?;
    let checkpoint = Checkpoint::parse(&incoming.text).map_err(|source| Error::Checkpoint {
        path: path.clone(),
        source,
    })?;
    let _lock = archive.lock()?;
    let store = archive.checkpoints();
    let stored_path = store.path_of(checkpoint.number);
    let stored =
        super::checkpoints::CheckpointStore::read(&stored_path).map_err(|_| Error::BadInput {
            path: path.clone(),
            why: format!(
                "this archive has no checkpoint {} to add cosignatures to",
                checkpoint.number
            ),
        })?;
    if stored.note.text != incoming.text {
        return Err(Error::BadInput {
            path,
            why: format!(
                "its text differs from this archive's checkpoint {}: it is not a cosignature of it",
                checkpoint.number
            ),
        });
    }
    let mut merged = stored.note.clone();
    let mut added = 0;
    for (line, sig) in incoming.signatures.into_iter().enumerate() {
        if merged.signatures.contains(&sig) {
            continue;
        }
        let by_witness = witnesses
            .iter()
            .any(|w| verify_cosignature(w, &incoming.text, &sig).is_some());
        if !by_witness {
            return Err(Error::BadInput {
                path,
                why: format!(
                    "signature line {} ('— {}') is not a valid cosignature of checkpoint {} by a witness key in --witness-trust; nothing was added",
                    line + 1,
                    sig.name,
                    checkpoint.number
                ),
            });
        }
        merged.signatures.push(sig);
        added += 1;
    }
    if added > 0 {
        super::fsutil::write_atomic(&stored_path, merged.render().as_bytes())?;
    }
    Ok((checkpoint.number, added))
}
