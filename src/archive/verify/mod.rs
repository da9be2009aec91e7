//! `verify`: check everything an archive claims, from the bytes up.
//!
//! Every record object is re-read and re-hashed, re-parsed under the canonical profile, and its
//! leaf hash compared with the stored tree; every document's content is re-hashed; references
//! between records must point backwards in the log; key endorsements must verify; the tree is
//! rebuilt from the records and its root compared with every checkpoint; every checkpoint's
//! signatures (trust, validity windows, revocations, k-of-n), number, chain link and growth are
//! checked. The report names each failing item.

pub(crate) mod checkpoints;
mod copies;
mod lineage;
mod packs;
pub mod recipient;
mod records;
mod refs;

use serde::Serialize;

use crate::core::merkle::MemoryTree;
use crate::error::Result;
use crate::trust::TrustedKey;
use crate::verdict::Verdict;

use super::Archive;

/// Which keys may sign.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Keys from a trust file: signatures by any other key do not count.
    Keys(Vec<TrustedKey>),
    /// No trust file: signatures are checked against the keys the archive itself holds, which
    /// proves integrity but not who signed.
    ArchiveKeys,
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub trust: Trust,
    /// Distinct valid signatures each checkpoint needs (k of n); at least 1.
    pub require: usize,
    pub recipient: recipient::RecipientChecks,
}

impl VerifyOptions {
    pub fn new(trust: Trust) -> VerifyOptions {
        VerifyOptions {
            trust,
            require: 1,
            recipient: recipient::RecipientChecks::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// What is at fault: a record, object, checkpoint or archive file.
    pub item: String,
    /// A stable code for the kind of problem.
    pub code: &'static str,
    pub detail: String,
}

impl Problem {
    pub(crate) fn new(
        item: impl Into<String>,
        code: &'static str,
        detail: impl Into<String>,
    ) -> Problem {
        Problem {
            item: item.into(),
            code,
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SignatureReport {
    pub name: String,
    pub key_id: String,
    /// The signer named by the trust file, if any.
    pub signer: Option<String>,
    /// `valid`; `invalid` (does not verify); `unknown-key` (not trusted; ignored);
    /// `outside-validity` (trusted key, but the checkpoint's time is outside its window);
    /// `revoked` (the key was revoked or rotated out before this checkpoint).
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckpointReport {
    pub number: u64,
    pub size: u64,
    pub root: String,
    pub time: String,
    pub message: Option<String>,
    pub signatures: Vec<SignatureReport>,
    /// Witnesses (from --witness-trust) with a valid cosignature on this checkpoint.
    pub witnesses: Vec<String>,
    /// RFC 3161 time-stamp tokens of this checkpoint.
    pub timestamps: Vec<recipient::TimestampReport>,
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub format: &'static str,
    pub origin: String,
    pub ok: bool,
    /// `verified`, `intact-unauthenticated` or `failed`: what `ok` means for authenticity.
    pub verdict: Verdict,
    pub records: u64,
    pub documents: u64,
    pub annotations: u64,
    pub custody_events: u64,
    pub retractions: u64,
    pub key_events: u64,
    pub content_bytes: u64,
    pub sealed_records: u64,
    pub unsealed_records: u64,
    pub signers_authenticated: bool,
    pub required_signatures: usize,
    pub checkpoints: Vec<CheckpointReport>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    /// Evidence when `--since` finds that the presented history forks from the held one.
    pub equivocation: Option<crate::audit::equivocation::Equivocation>,
}

impl VerifyReport {
    pub(crate) fn problem(
        &mut self,
        item: impl Into<String>,
        code: &'static str,
        detail: impl Into<String>,
    ) {
        self.problems.push(Problem::new(item, code, detail));
    }
}

pub fn verify(archive: &Archive, options: &VerifyOptions) -> Result<VerifyReport> {
    let mut report = VerifyReport {
        format: "evidentia-verify-report/1",
        origin: archive.origin().to_string(),
        ok: false,
        verdict: Verdict::Failed,
        records: 0,
        documents: 0,
        annotations: 0,
        custody_events: 0,
        retractions: 0,
        key_events: 0,
        content_bytes: 0,
        sealed_records: 0,
        unsealed_records: 0,
        signers_authenticated: matches!(options.trust, Trust::Keys(_)),
        required_signatures: options.require.max(1),
        checkpoints: Vec::new(),
        problems: Vec::new(),
        warnings: Vec::new(),
        equivocation: None,
    };
    let mut tree = MemoryTree::new();
    let facts = match records::check_log(archive, &mut report, &mut tree) {
        Ok(facts) => Some(facts),
        Err(e) => {
            report.problem("log", "log-unreadable", e.to_string());
            None
        }
    };
    packs::check_packs(archive, &mut report);
    checkpoints::check_checkpoints(archive, &mut report, &mut tree, facts.as_ref(), options)?;
    check_recipient(
        archive,
        &mut report,
        &mut tree,
        facts.as_ref(),
        &options.recipient,
    )?;
    if report.checkpoints.is_empty() && report.records > 0 {
        let detail = "no checkpoint signs these records: nothing is sealed, so nothing is proven to come from a signer; run `evidentia seal`";
        match options.trust {
            // A recipient who names trusted signers expects signed statements.
            Trust::Keys(_) => report.problem("checkpoints/", "no-checkpoint", detail),
            Trust::ArchiveKeys => report.warnings.push(detail.to_string()),
        }
    }
    if archive.version() < 2 {
        report.warnings.push(FORMAT1_COMPLETENESS.into());
    }
    if !report.signers_authenticated {
        report.warnings.push(
            "signers were not authenticated: signatures were checked against the keys the archive itself holds; pass --trust FILE with the signers' public keys to prove who signed".into(),
        );
    }
    if report.unsealed_records > 0 {
        report.warnings.push(format!(
            "{} record(s) are not yet sealed by any checkpoint; run `evidentia seal`",
            report.unsealed_records
        ));
    }
    report.ok = report.problems.is_empty();
    report.verdict = Verdict::decide(report.problems.len(), report.signers_authenticated);
    if report.verdict == Verdict::Verified && report.checkpoints.is_empty() {
        // An empty archive: no signer vouched for anything, so no signer was authenticated.
        report.verdict = Verdict::NotProvable;
    }
    Ok(report)
}

/// What a format-1 verdict must say: its checkpoints commit to no reference map.
pub const FORMAT1_COMPLETENESS: &str = "completeness NOT PROVABLE: this is a format-1 archive; its checkpoints do not commit to which records are about each document or to the whole key state, so a withheld retraction, annotation or key revocation cannot be detected in copies or bundles of it";

/// Witnesses, `--since` and `--pin` against the archive's checkpoints and rebuilt tree.
fn check_recipient(
    archive: &Archive,
    report: &mut VerifyReport,
    tree: &mut MemoryTree,
    facts: Option<&records::LogFacts>,
    checks: &recipient::RecipientChecks,
) -> Result<()> {
    let stored = super::query::checkpoints(archive).unwrap_or_default();
    for (cp_report, cp) in report.checkpoints.iter_mut().zip(&stored) {
        let tokens = match crate::timestamp::tokens(archive, cp.checkpoint.number) {
            Ok(tokens) => tokens,
            Err(e) => {
                let item = format!("checkpoint {}", cp.checkpoint.number);
                report.problems.push(Problem {
                    item,
                    code: "timestamp-unreadable",
                    detail: e.to_string(),
                });
                continue;
            }
        };
        let (reports, problems) =
            recipient::check_timestamps(&tokens, &cp.note, checks.tsa_roots.as_deref());
        for (code, detail) in problems {
            report.problems.push(Problem {
                item: format!("checkpoint {}", cp.checkpoint.number),
                code,
                detail,
            });
            cp_report.ok = false;
        }
        cp_report.timestamps = reports;
    }
    if !checks.witnesses.is_empty() {
        for (cp_report, cp) in report.checkpoints.iter_mut().zip(&stored) {
            cp_report.witnesses = recipient::witnesses_on(&cp.note, &checks.witnesses);
            // Name cosignature lines as such instead of "unknown-key".
            for (line, sig) in cp_report.signatures.iter_mut().zip(&cp.note.signatures) {
                if checks.witnesses.iter().any(|w| {
                    crate::core::cosignature::verify_cosignature(w, &cp.note.text, sig).is_some()
                }) {
                    line.status = "witness-cosignature";
                }
            }
        }
    }
    if checks.require_witnesses > 0 {
        let have = report.checkpoints.last().map_or(0, |c| c.witnesses.len());
        if have < checks.require_witnesses {
            let number = report.checkpoints.last().map_or(0, |c| c.number);
            report.problem(
                format!("checkpoint {number}"),
                "witnesses-insufficient",
                format!(
                    "{have} valid witness cosignature(s) on the newest checkpoint, {} required",
                    checks.require_witnesses
                ),
            );
        }
    }
    if let Some(pin) = checks.pin {
        if !stored.iter().any(|c| c.checkpoint.text_hash() == pin) {
            report.problem(
                "checkpoints/",
                "pin-not-found",
                format!("no checkpoint of this archive has text hash {pin}"),
            );
        }
    }
    if let (Some(held), None) = (&checks.since, stored.last()) {
        // Presenting no signed state at all is the furthest rollback there is (for an archive
        // of the held checkpoint's origin; another archive shows nothing either way).
        let (code, why) = if held.checkpoint.origin == archive.origin() {
            ("rollback", format!(
                "the presented archive has no checkpoint, but you hold checkpoint {} of '{}' ({} records): an older state is being presented as the newest",
                held.checkpoint.number, held.checkpoint.origin, held.checkpoint.size
            ))
        } else {
            (
                "since-not-provable",
                format!(
                "the held checkpoint is of another archive ('{}'), and this one has no checkpoint",
                held.checkpoint.origin
            ),
            )
        };
        report.problem("--since", code, why);
    }
    if let (Some(held), Some(latest)) = (&checks.since, stored.last()) {
        let text = crate::archive::fsutil::read_stored_text(
            &latest.path,
            crate::archive::checkpoints::MAX_CHECKPOINT_FILE,
        )
        .unwrap_or_default();
        let log_size = facts.map_or(0, |f| f.size);
        let keys = archive.known_keys().unwrap_or_default();
        let outcome = recipient::check_since(
            held,
            (&latest.checkpoint, &latest.note, &text),
            &keys,
            |size| (size <= log_size).then(|| tree.root_at(size)),
        );
        match outcome {
            recipient::SinceOutcome::Extends => {}
            recipient::SinceOutcome::Rollback(why) => report.problem("--since", "rollback", why),
            recipient::SinceOutcome::NotProvable(why) => {
                report.problem("--since", "since-not-provable", why)
            }
            recipient::SinceOutcome::Fork(evidence, why) => {
                // Evidence against the signer only if the trust file authenticated it.
                let authenticated = report.signers_authenticated
                    && !report
                        .problems
                        .iter()
                        .any(|p| p.code.starts_with("signature"));
                report.problem("--since", "equivocation", why);
                if authenticated {
                    report.equivocation = Some(*evidence);
                }
            }
        }
    }
    Ok(())
}
