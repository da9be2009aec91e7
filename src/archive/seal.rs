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
    let lock = archive.lock()?;
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
    let refs = if archive.version() >= 2 {
        let signed = latest.as_ref().map(|l| (last_size, l.checkpoint.refs));
        Some(update_refmap(archive, &log, signed, log.size())?)
    } else {
        None
    };
    let checkpoint = Checkpoint {
        origin: archive.origin().to_string(),
        size: log.size(),
        root: log.root(log.size())?,
        number: last_number + 1,
        previous: latest.as_ref().map(|c| c.checkpoint.text_hash()),
        time: Timestamp::now(),
        refs,
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
    lock.check_fresh()?;
    archive.publish_file(
        &format!("checkpoints/{:010}", checkpoint.number),
        note.render().as_bytes(),
        false,
    )?;
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

/// Brings the on-disk reference map up to `size` records and returns its root. The map is first
/// checked against the latest signed checkpoint (`signed`: its size and refs root), so a damaged
/// or planted map is never extended and signed.
fn update_refmap(
    archive: &Archive,
    log: &super::log::Log,
    signed: Option<(u64, Option<Digest>)>,
    size: u64,
) -> Result<Digest> {
    let mut store = archive.refmap()?;
    let stale = |why: String| Error::Corrupt {
        path: archive.root().join("log/refmap"),
        why: format!("{why}; remove log/refmap and seal again to rebuild the reference map"),
    };
    if store.latest().covered > size {
        return Err(stale(format!(
            "the reference map covers {} records but the log holds {size}",
            store.latest().covered
        )));
    }
    if let Some((signed_size, signed_refs)) = signed {
        if store.latest().covered < signed_size {
            advance_refmap(archive, log, &mut store, signed_size)?;
        }
        let at = store.at(signed_size)?.ok_or_else(|| {
            stale(format!(
                "the reference map has no version at the signed size {signed_size}"
            ))
        })?;
        // A format-1 checkpoint (none) cannot be followed by a format-2 one in one archive;
        // the archive's version decides, so here it is always present.
        if Some(at.root) != signed_refs {
            return Err(stale(format!(
                "the reference map at size {signed_size} does not match the latest checkpoint"
            )));
        }
    }
    Ok(advance_refmap(archive, log, &mut store, size)?.root)
}

/// Applies records [covered, size) of the log to the map: each record is appended to the chain
/// of every subject it is about (core::refmap).
fn advance_refmap(
    archive: &Archive,
    log: &super::log::Log,
    store: &mut super::refmap_store::MapStore,
    size: u64,
) -> Result<super::refmap_store::MapVersion> {
    use crate::core::refmap::{chain_entry, chain_step, ChainEntry, ZERO};
    let base = store.latest();
    if base.covered == size {
        return Ok(base);
    }
    use rayon::prelude::*;
    let ids = log.record_digests(base.covered, size)?;
    let leaves = log.leaf_hashes(base.covered, size)?;
    // The new chain entries of each touched subject, in log order; the map store extends each
    // subject's old value with them as it walks the subject's path (one read of each path).
    let mut appended: std::collections::BTreeMap<Digest, Vec<ChainEntry>> = Default::default();
    // Records are read and decoded in parallel, a bounded chunk at a time (a first seal of a
    // large archive replays every record), and applied in log order.
    const CHUNK: usize = 1 << 16;
    for (c, chunk) in ids.chunks(CHUNK).enumerate() {
        let records: Vec<crate::core::record::Record> = chunk
            .par_iter()
            .map(|id| super::query::read_record(archive, id))
            .collect::<Result<_>>()?;
        for (j, record) in records.iter().enumerate() {
            let i = c * CHUNK + j;
            let (entry, keys) = chain_entry(base.covered + i as u64, &leaves[i], record);
            for key in keys {
                appended.entry(key).or_default().push(entry.clone());
            }
        }
    }
    let changes: Vec<(Digest, Vec<ChainEntry>)> = appended.into_iter().collect();
    let mut extend = |_: &Digest, entries: &Vec<ChainEntry>, old: Option<Digest>| {
        entries.iter().fold(old.unwrap_or(ZERO), |value, entry| {
            chain_step(&value, entry)
        })
    };
    store.commit_with(&base, &changes, &mut extend, size)
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
        archive.publish_file(
            &format!("checkpoints/{:010}", checkpoint.number),
            merged.render().as_bytes(),
            true,
        )?;
        super::fsutil::write_atomic(&stored_path, merged.render().as_bytes())?;
    }
    Ok((checkpoint.number, added))
}
