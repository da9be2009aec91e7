//! `witness cosign`: an independent party countersigns a checkpoint only after checking that
//! the log's keys signed it and that it extends the last checkpoint it cosigned for the same
//! origin. Its memory is a state directory: `<state>/<SHA-256 of the origin, hex>.checkpoint`
//! holds the last cosigned signed checkpoint; `<state>/lock` serialises witnesses sharing it.
//! An older checkpoint is refused as stale; an equivocation report is written only when two
//! checkpoints validly signed by the log's keys conflict.

use std::fs::{self, OpenOptions};
use std::path::Path;

use crate::archive::fsutil;
use crate::archive::Archive;
use crate::core::checkpoint::Checkpoint;
use crate::core::cosignature::{cosign, is_cosignature_by};
use crate::core::digest::Digest;
use crate::core::key::{SignerKey, VerifierKey};
use crate::core::merkle;
use crate::core::note::{SignatureStatus, SignedNote};
use crate::core::timestamp::Timestamp;
use crate::error::{Error, Result};

use super::consistency::{proof_between, ConsistencyProofFile};
use super::equivocation::Equivocation;

/// Where the witness gets the consistency proof from.
pub enum ProofSource<'a> {
    /// A consistency proof file from `evidentia prove consistency`.
    File(&'a ConsistencyProofFile),
    /// A copy of the archive, from which the witness computes the proof itself.
    Archive(&'a Archive),
    /// None: only a first checkpoint, or one equal to the last, can be cosigned.
    None,
}

#[derive(Debug, Clone)]
pub struct Cosigned {
    /// The checkpoint with the cosignature line added.
    pub note: String,
    pub origin: String,
    pub size: u64,
    /// The size of the last checkpoint cosigned before, if any.
    pub previous_size: Option<u64>,
}

fn parse(path: &Path, text: &str) -> Result<(SignedNote, Checkpoint)> {
    let stored = crate::archive::checkpoints::CheckpointStore::parse(path, text)?;
    Ok((stored.note, stored.checkpoint))
}

/// A signed checkpoint as text, parsed.
struct SignedCheckpoint {
    text: String,
    note: SignedNote,
    cp: Checkpoint,
}

/// Cosigns a checkpoint: the witness's checks, in order. Nothing is cosigned, stored or
/// compared before the log's own signature is checked, and the state is written last.
pub fn cosign_checkpoint(
    checkpoint_file: &Path,
    witness: &SignerKey,
    state: &Path,
    log_keys: &[VerifierKey],
    source: ProofSource,
) -> Result<Cosigned> {
    let presented = read_signed_by_log(checkpoint_file, log_keys)?;
    fs::create_dir_all(state).map_err(Error::io(state))?;
    let _lock = lock_state(state)?;
    let origin_digest = Digest::of(presented.cp.origin.as_bytes());
    let state_file = state.join(format!("{origin_digest}.checkpoint"));
    let previous = read_last_cosigned(&state_file)?;
    if let Some(last) = &previous {
        check_extends(checkpoint_file, &presented, last, log_keys, source)?;
    }
    let verifier = witness.verifier();
    let mut cosigned = presented.note.clone();
    cosigned
        .signatures
        .retain(|s| !is_cosignature_by(&verifier, s));
    let now = u64::try_from(Timestamp::now().unix_seconds()).unwrap_or(0);
    cosigned
        .signatures
        .push(cosign(witness, &presented.note.text, now));
    fsutil::write_atomic(&state_file, presented.text.as_bytes())?;
    Ok(Cosigned {
        note: cosigned.render(),
        origin: presented.cp.origin,
        size: presented.cp.size,
        previous_size: previous.map(|last| last.cp.size),
    })
}

fn signed_by_log(note: &SignedNote, log_keys: &[VerifierKey]) -> bool {
    note.check(log_keys).contains(&SignatureStatus::Valid)
}

/// The presented checkpoint, refused unless a log key signed it: an unsigned or forged
/// checkpoint must never become the witness's state.
fn read_signed_by_log(path: &Path, log_keys: &[VerifierKey]) -> Result<SignedCheckpoint> {
    let bytes = fsutil::read_limited(path, 1 << 20)?;
    let text = String::from_utf8(bytes).map_err(|_| Error::BadInput {
        path: path.to_path_buf(),
        why: "not UTF-8 text".into(),
    })?;
    let (note, cp) = parse(path, &text)?;
    if !signed_by_log(&note, log_keys) {
        return Err(Error::WitnessRefused {
            origin: cp.origin.clone(),
            reason: "the checkpoint has no valid signature by the log keys given with --log-trust; nothing was cosigned or stored".into(),
            evidence: String::new(),
        });
    }
    Ok(SignedCheckpoint { text, note, cp })
}

/// Serialises witnesses sharing one state directory; held until dropped.
fn lock_state(state: &Path) -> Result<fs::File> {
    let lock_path = state.join("lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(Error::io(&lock_path))?;
    lock.lock().map_err(Error::io(&lock_path))?;
    Ok(lock)
}

/// The last checkpoint cosigned for this origin, if any.
fn read_last_cosigned(state_file: &Path) -> Result<Option<SignedCheckpoint>> {
    match fsutil::read_stored_text(state_file, 1 << 20) {
        Ok(text) => {
            let (note, cp) = parse(state_file, &text)?;
            Ok(Some(SignedCheckpoint { text, note, cp }))
        }
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The presented checkpoint must extend the last one cosigned: an older one is stale, one of
/// the same size must have the same root, a larger one needs a consistency proof.
fn check_extends(
    checkpoint_file: &Path,
    presented: &SignedCheckpoint,
    last: &SignedCheckpoint,
    log_keys: &[VerifierKey],
    source: ProofSource,
) -> Result<()> {
    let cp = &presented.cp;
    let (m, r1) = (last.cp.size, last.cp.root);
    if cp.size < m {
        // An older checkpoint is what an honest client with a stale view sends: refuse it as
        // stale, accusing nobody.
        return Err(Error::WitnessRefused {
            origin: cp.origin.clone(),
            reason: format!("STALE: the presented checkpoint has {} records, fewer than the {m} already cosigned; the witness only cosigns checkpoints at least as new as its last one (ask the log for its latest checkpoint)", cp.size),
            evidence: String::new(),
        });
    }
    if cp.size == m && cp.root != r1 {
        return Err(fork(
            format!("fork: same size {m} as the last cosigned checkpoint but a different root"),
            presented,
            last,
            log_keys,
        ));
    }
    if cp.size == m {
        return Ok(());
    }
    let proof_from_file = matches!(source, ProofSource::File(_));
    let proof = consistency_proof(checkpoint_file, cp, m, r1, source)?;
    if merkle::verify_consistency(m, cp.size, &r1, &cp.root, &proof) {
        return Ok(());
    }
    // A proof file is nobody's signed statement: a failing one may be altered, so it is
    // refused without accusing the log of a fork.
    if proof_from_file {
        return Err(Error::WitnessRefused {
            origin: cp.origin.clone(),
            reason: format!("the consistency proof file does not show that the presented tree of {} records contains the {m} records already cosigned", cp.size),
            evidence: String::new(),
        });
    }
    Err(fork(
        format!("fork: the presented tree of {} records does not contain the {m} records already cosigned", cp.size),
        presented,
        last,
        log_keys,
    ))
}

/// Two checkpoints conflict: an accusation, with the evidence, only if both are validly signed
/// by the log.
fn fork(
    reason: String,
    presented: &SignedCheckpoint,
    last: &SignedCheckpoint,
    log_keys: &[VerifierKey],
) -> Error {
    let origin = presented.cp.origin.clone();
    if !signed_by_log(&last.note, log_keys) {
        return Error::WitnessRefused {
            origin,
            reason: format!("{reason}; the last cosigned checkpoint in the witness's state is not signed by the log keys given, so this accuses nobody"),
            evidence: String::new(),
        };
    }
    let report = Equivocation::new(
        &origin,
        ("last cosigned", &last.cp, &last.note, &last.text),
        ("presented", &presented.cp, &presented.note, &presented.text),
        log_keys,
        reason.clone(),
        None,
    );
    Error::WitnessRefused {
        origin,
        reason,
        evidence: report.to_string(),
    }
}

/// The consistency proof from the last cosigned size `m` (root `r1`) to the presented
/// checkpoint, from a proof file (which must be between exactly these two) or an archive copy
/// (whose tree must be the one the checkpoint signs).
fn consistency_proof(
    checkpoint_file: &Path,
    cp: &Checkpoint,
    m: u64,
    r1: Digest,
    source: ProofSource,
) -> Result<Vec<Digest>> {
    match source {
        ProofSource::File(file) => {
            let (_, from) = parse(checkpoint_file, &file.from)?;
            let (_, to) = parse(checkpoint_file, &file.to)?;
            if from.size != m || from.root != r1 || to.size != cp.size || to.root != cp.root {
                return Err(Error::BadInput {
                    path: checkpoint_file.to_path_buf(),
                    why: "the consistency proof file is not between the last cosigned checkpoint and this one".into(),
                });
            }
            Ok(file
                .proof
                .iter()
                .map(|h| Digest::from_hex(h))
                .collect::<Option<Vec<_>>>()
                .unwrap_or_default())
        }
        ProofSource::Archive(archive) => {
            if archive.origin() != cp.origin {
                return Err(Error::BadInput {
                    path: archive.root().to_path_buf(),
                    why: "the archive given is of another origin".into(),
                });
            }
            // The archive copy is nobody's signed statement: if it is not the tree the
            // checkpoint signs, it is unusable, not evidence of a fork.
            if archive.log()?.root(cp.size)? != cp.root {
                return Err(Error::BadInput {
                    path: archive.root().to_path_buf(),
                    why: format!("the archive's tree at {} records is not the tree the presented checkpoint signs; give the log's own archive or a consistency proof (--proof)", cp.size),
                });
            }
            proof_between(archive, m, cp.size)
        }
        ProofSource::None => Err(Error::InvalidOption {
            option: "--proof",
            value: String::new(),
            why: format!(
                "the last cosigned checkpoint had {m} records: give a consistency proof (--proof FILE from `evidentia prove consistency`) or --archive"
            ),
        }),
    }
}
