//! Checks a recipient brings from outside, shared by archive and bundle verification: witness
//! cosignatures (k of n), a checkpoint held from before (`--since`: rollback and fork
//! protection), a pinned checkpoint hash, and RFC 3161 time-stamps against the recipient's roots.

use std::path::Path;

use crate::audit::equivocation::Equivocation;
use crate::core::checkpoint::Checkpoint;
use crate::core::cosignature::verify_cosignature;
use crate::core::digest::Digest;
use crate::core::key::VerifierKey;
use crate::core::note::SignedNote;
use crate::error::{Error, Result};

use super::ReportCore;

/// What the recipient brings.
#[derive(Debug, Clone, Default)]
pub struct RecipientChecks {
    /// Witness public keys whose cosignatures count.
    pub witnesses: Vec<VerifierKey>,
    /// Cosignatures by distinct witnesses the newest checkpoint needs.
    pub require_witnesses: usize,
    /// A signed checkpoint the recipient already holds: the new version must extend it.
    pub since: Option<HeldCheckpoint>,
    /// SHA-256 of a checkpoint text that must be among the versions presented.
    pub pin: Option<Digest>,
    /// Roots for RFC 3161 time-stamp tokens; without them chains are reported unchecked.
    pub tsa_roots: Option<Vec<x509_cert::Certificate>>,
}

/// One time-stamp token of a checkpoint, as checked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TimestampReport {
    pub file: String,
    pub tsa: String,
    pub time: String,
    /// `valid`, `chain-unchecked` or `invalid`.
    pub status: &'static str,
    pub problems: Vec<String>,
}

/// Checks every token of one checkpoint; returns the reports and (code, detail) problems.
pub fn check_timestamps(
    tokens: &[(String, Vec<u8>)],
    note: &SignedNote,
    roots: Option<&[x509_cert::Certificate]>,
) -> (Vec<TimestampReport>, Vec<(&'static str, String)>) {
    let imprint = crate::timestamp::imprint(note);
    let mut reports = Vec::new();
    let mut problems = Vec::new();
    for (file, bytes) in tokens {
        let mut check = crate::timestamp::token::check_token(bytes, &imprint, roots);
        // Tokens are stored under their own SHA-256: a changed byte anywhere is noticed, even
        // in parts (such as a carried root certificate) that no other check reads.
        let stem = Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("");
        if Digest::from_hex(stem) != Some(Digest::of(bytes)) {
            check.status = "invalid";
            check.problems.push((
                "timestamp-corrupt",
                "the token's bytes do not match the SHA-256 it is stored under".into(),
            ));
        }
        for (code, why) in &check.problems {
            problems.push((*code, format!("time-stamp {file} ({}): {why}", check.tsa)));
        }
        reports.push(TimestampReport {
            file: file.clone(),
            tsa: check.tsa,
            time: check.time,
            status: check.status,
            problems: check
                .problems
                .iter()
                .map(|(c, w)| format!("{c}: {w}"))
                .collect(),
        });
    }
    (reports, problems)
}

#[derive(Debug, Clone)]
pub struct HeldCheckpoint {
    pub text: String,
    pub note: SignedNote,
    pub checkpoint: Checkpoint,
}

impl HeldCheckpoint {
    pub fn load(path: &Path) -> Result<HeldCheckpoint> {
        let bytes = crate::archive::fsutil::read_limited(path, 1 << 20)?;
        let text = String::from_utf8(bytes).map_err(|_| Error::BadInput {
            path: path.to_path_buf(),
            why: "not UTF-8 text".into(),
        })?;
        let stored = crate::archive::checkpoints::CheckpointStore::parse(path, &text)?;
        Ok(HeldCheckpoint {
            text,
            note: stored.note,
            checkpoint: stored.checkpoint,
        })
    }
}

/// Names of the witnesses with a valid cosignature on `note`.
pub fn witnesses_on(note: &SignedNote, witnesses: &[VerifierKey]) -> Vec<String> {
    let mut names = Vec::new();
    for witness in witnesses {
        let cosigned = note
            .signatures
            .iter()
            .any(|sig| verify_cosignature(witness, &note.text, sig).is_some());
        let label = format!("{}+{}", witness.name, witness.id_hex());
        if cosigned && !names.contains(&label) {
            names.push(label);
        }
    }
    names
}

/// The outcome of comparing a held checkpoint with what is presented.
pub enum SinceOutcome {
    Extends,
    Rollback(String),
    Fork(Box<Equivocation>, String),
    NotProvable(String),
}

/// Compares a held checkpoint with the presented newest one. `root_at(size)` gives the
/// presented history's root at an earlier size, when it can (a full archive can; a bundle
/// can for the sizes it carries consistency proofs for, after checking them).
pub fn check_since(
    held: &HeldCheckpoint,
    presented: (&Checkpoint, &SignedNote, &str),
    keys: &[VerifierKey],
    mut root_at: impl FnMut(u64) -> Option<Digest>,
) -> SinceOutcome {
    let (cp, note, text) = presented;
    let h = &held.checkpoint;
    let fork = |reason: String| {
        SinceOutcome::Fork(
            Box::new(Equivocation::new(
                &cp.origin,
                ("held by the recipient", h, &held.note, &held.text),
                ("presented", cp, note, text),
                keys,
                reason.clone(),
                None,
            )),
            reason,
        )
    };
    if h.origin != cp.origin {
        return SinceOutcome::NotProvable(format!(
            "the held checkpoint is of another archive ('{}')",
            h.origin
        ));
    }
    if h.size > cp.size {
        return SinceOutcome::Rollback(format!(
            "the presented version has {} records, fewer than the {} of the checkpoint you hold: an older version is being presented as the newest",
            cp.size, h.size
        ));
    }
    match root_at(h.size) {
        Some(root) if root == h.root => SinceOutcome::Extends,
        Some(root) => fork(format!(
            "at {} records the presented history has root {root}, but the checkpoint you hold says {}",
            h.size, h.root
        )),
        None => SinceOutcome::NotProvable(format!(
            "the presented version carries no proof about its state at {} records",
            h.size
        )),
    }
}

/// Reports the outcome of `check_since`. A fork is evidence against the signer only when the
/// user's trust file authenticated every signature involved.
pub fn report_since(core: &mut ReportCore, outcome: SinceOutcome) {
    match outcome {
        SinceOutcome::Extends => {}
        SinceOutcome::Rollback(why) => core.problem("--since", "rollback", why),
        SinceOutcome::NotProvable(why) => core.problem("--since", "since-not-provable", why),
        SinceOutcome::Fork(evidence, why) => {
            let authenticated = core.signers_authenticated && !core.has_problem("signature");
            core.problem("--since", "equivocation", why);
            if authenticated {
                core.equivocation = Some(*evidence);
            }
        }
    }
}

/// The trusted witnesses that cosigned `note` (checkpoint `number`, the one relied on); a
/// problem when fewer than the recipient requires.
pub fn report_witnesses(
    core: &mut ReportCore,
    note: &SignedNote,
    number: u64,
    checks: &RecipientChecks,
) -> Vec<String> {
    let witnesses = witnesses_on(note, &checks.witnesses);
    if checks.require_witnesses > witnesses.len() {
        core.problem(
            format!("checkpoint {number}"),
            "witnesses-insufficient",
            format!(
                "{} valid witness cosignature(s) on the newest checkpoint, {} required",
                witnesses.len(),
                checks.require_witnesses
            ),
        );
    }
    witnesses
}

/// Checks the time-stamp tokens of checkpoint `number` and reports their problems; returns the
/// tokens' reports.
pub fn report_timestamps(
    core: &mut ReportCore,
    number: u64,
    tokens: &[(String, Vec<u8>)],
    note: &SignedNote,
    roots: Option<&[x509_cert::Certificate]>,
) -> Vec<TimestampReport> {
    let (reports, problems) = check_timestamps(tokens, note, roots);
    for (code, detail) in problems {
        core.problem(format!("checkpoint {number}"), code, detail);
    }
    reports
}

/// What the time-stamps prove about when a checkpoint existed: `Ok` with the proven statement
/// when one chains to the recipient's roots, otherwise `Err` with what is not proven.
pub fn time_statement(
    timestamps: &[TimestampReport],
    claimed: &str,
) -> std::result::Result<String, String> {
    let trusted: Vec<String> = timestamps
        .iter()
        .filter(|t| t.status == "valid")
        .map(|t| format!("{} by {}", t.time, t.tsa))
        .collect();
    if trusted.is_empty() {
        Err(format!(
            "when the checkpoint was made: '{claimed}' is the signer's own claim (no trusted time-stamp checked against --tsa-roots)"
        ))
    } else {
        Ok(format!(
            "the signed checkpoint existed by {} (RFC 3161 time-stamps chained to your --tsa-roots)",
            trusted.join("; ")
        ))
    }
}
