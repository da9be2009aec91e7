//! Portable consistency proofs between two signed checkpoints (`prove consistency`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::archive::checkpoints::CheckpointStore;
use crate::archive::{fsutil, Archive};
use crate::core::checkpoint::Checkpoint;
use crate::core::digest::Digest;
use crate::core::key::VerifierKey;
use crate::core::merkle;
use crate::core::note::SignedNote;
use crate::error::{Error, Result};
use crate::trust::TrustedKey;
use crate::verification::lineage::Signers;
use crate::verification::{CheckpointSummary, ReportCore, SignatureReport, Trust};

use super::equivocation::Equivocation;

pub const CONSISTENCY_FORMAT: &str = "evidentia-consistency-proof/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProofFile {
    pub format: String,
    pub origin: String,
    /// The earlier signed checkpoint, as its file holds it.
    pub from: String,
    /// The later signed checkpoint.
    pub to: String,
    pub keys: Vec<String>,
    /// RFC 9162 consistency proof from `from`'s tree to `to`'s, hex.
    pub proof: Vec<String>,
}

/// Computes the consistency proof between sizes `first` and `second` of an archive's log.
pub fn proof_between(archive: &Archive, first: u64, second: u64) -> Result<Vec<Digest>> {
    if first == 0 || first == second {
        return Ok(Vec::new());
    }
    let log = archive.log()?;
    if second > log.size() {
        return Err(Error::Corrupt {
            path: archive.root().join("log"),
            why: format!("the log holds {} records, fewer than {second}", log.size()),
        });
    }
    merkle::consistency_proof(&mut log.nodes(), first, second)?.map_err(|e| Error::InvalidOption {
        option: "checkpoint",
        value: format!("{first}..{second}"),
        why: format!("no consistency proof: {e:?}"),
    })
}

pub fn prove(archive: &Archive, from: u64, to: u64) -> Result<ConsistencyProofFile> {
    let store = archive.checkpoints();
    let read = |n: u64| -> Result<(String, Checkpoint)> {
        let path = store.path_of(n);
        let stored = CheckpointStore::read(&path).map_err(|e| match e {
            Error::Io { .. } => Error::InvalidOption {
                option: "checkpoint",
                value: n.to_string(),
                why: "no such checkpoint; `evidentia log` lists them".into(),
            },
            other => other,
        })?;
        let text =
            fsutil::read_stored_text(&path, crate::archive::checkpoints::MAX_CHECKPOINT_FILE)?;
        Ok((text, stored.checkpoint))
    };
    let (from_text, from_cp) = read(from)?;
    let (to_text, to_cp) = read(to)?;
    if from_cp.size > to_cp.size {
        return Err(Error::InvalidOption {
            option: "checkpoint",
            value: format!("{from} {to}"),
            why: "FROM must not be later than TO".into(),
        });
    }
    let proof = proof_between(archive, from_cp.size, to_cp.size)?;
    Ok(ConsistencyProofFile {
        format: CONSISTENCY_FORMAT.into(),
        origin: archive.origin().to_string(),
        from: from_text,
        to: to_text,
        keys: archive
            .known_keys()?
            .iter()
            .map(|k| k.to_string())
            .collect(),
        proof: proof.iter().map(Digest::to_hex).collect(),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsistencyReport {
    pub format: &'static str,
    /// Origin, the later checkpoint, verdict, findings: the part every verifier shares.
    #[serde(flatten)]
    pub core: ReportCore,
    pub from: (u64, u64, String),
    pub to: (u64, u64, String),
    pub signatures_from: Vec<SignatureReport>,
    pub signatures_to: Vec<SignatureReport>,
}

pub fn read_file(path: &Path) -> Result<ConsistencyProofFile> {
    let bytes = fsutil::read_limited(path, 16 << 20)?;
    serde_json::from_slice(&bytes).map_err(|e| Error::BadInput {
        path: path.to_path_buf(),
        why: format!("not an evidentia consistency proof: {e}"),
    })
}

fn parse_note(path: &Path, text: &str) -> Result<(SignedNote, Checkpoint)> {
    let stored = CheckpointStore::parse(path, text)?;
    Ok((stored.note, stored.checkpoint))
}

/// Checks a consistency proof file: both checkpoints signed, same origin, and the later tree
/// contains the earlier one.
pub fn verify(path: &Path, trust: &Trust, require: usize) -> Result<ConsistencyReport> {
    let file = read_file(path)?;
    if file.format != CONSISTENCY_FORMAT {
        return Err(Error::BadInput {
            path: path.to_path_buf(),
            why: format!("unknown proof format '{}'", file.format),
        });
    }
    let (from_note, from) = parse_note(path, &file.from)?;
    let (to_note, to) = parse_note(path, &file.to)?;
    let carried: Vec<VerifierKey> = file
        .keys
        .iter()
        .filter_map(|k| VerifierKey::parse(k).ok())
        .collect();
    let (base, whose) = trust.base_keys(
        || carried.iter().cloned().map(TrustedKey::new).collect(),
        "keys the proof carries",
    );
    let signers = Signers::new(base, &[], &file.origin);
    let mut core = ReportCore::new(trust.authenticates());
    core.origin = Some(file.origin.clone());
    // `--require` applies to the checkpoint relied on, the later one; the earlier one needs a
    // valid signature, and fewer signers on it is history, reported as a warning.
    let required = require.max(1);
    let from_sigs = signers.evaluate(&from_note, &from, 1, whose);
    let to_sigs = signers.evaluate(&to_note, &to, required, whose);
    if from_sigs.lineages >= 1 && from_sigs.lineages < required {
        let detail = format!(
            "checkpoint {} is signed by {} independent signer(s), fewer than the {required} required of the later checkpoint {}",
            from.number, from_sigs.lineages, to.number
        );
        core.warn("from", "require-history", detail);
    }
    // An accusation needs two checkpoints whose signers the user's trust file authenticated.
    let both_authenticated = matches!(trust, Trust::Keys(_))
        && from_sigs.problems.is_empty()
        && to_sigs.problems.is_empty();
    for (code, detail) in from_sigs.problems {
        core.problem("from", code, detail);
    }
    for (code, detail) in to_sigs.problems {
        core.problem("to", code, detail);
    }
    if from.origin != file.origin || to.origin != file.origin {
        core.problem(
            "checkpoints",
            "checkpoint-origin",
            "the checkpoints are not both of this origin",
        );
    }
    let proof: Option<Vec<Digest>> = file.proof.iter().map(|h| Digest::from_hex(h)).collect();
    let consistent = proof
        .is_some_and(|p| merkle::verify_consistency(from.size, to.size, &from.root, &to.root, &p));
    if !consistent {
        let reason = if from.size > to.size {
            "the 'to' checkpoint is smaller than the 'from' checkpoint: a rollback".to_string()
        } else if from.size == to.size {
            "both checkpoints have the same size but different roots".to_string()
        } else {
            "the consistency proof does not show that the later tree contains the earlier one"
                .to_string()
        };
        core.problem("proof", "consistency-invalid", reason.clone());
        // Two authenticated signed trees of one size with different roots conflict whatever
        // the proof says; otherwise a failing proof shows nothing about the signer (it may be
        // altered).
        if both_authenticated && from.size == to.size && from.root != to.root {
            core.equivocation = Some(Equivocation::new(
                &file.origin,
                ("from", &from, &from_note, &file.from),
                ("to", &to, &to_note, &file.to),
                &carried,
                reason,
                None,
            ));
        }
    }
    core.checkpoint = Some(CheckpointSummary::new(&to, to_sigs.signatures.clone()));
    core.decide();
    Ok(ConsistencyReport {
        format: "evidentia-consistency-verify-report/2",
        core,
        from: (from.number, from.size, from.root.to_hex()),
        to: (to.number, to.size, to.root.to_hex()),
        signatures_from: from_sigs.signatures,
        signatures_to: to_sigs.signatures,
    })
}
