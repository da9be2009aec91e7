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
pub mod encrypted;
mod packs;
mod records;
mod refs;
mod sealed_notes;

use serde::Serialize;

use crate::core::merkle::MemoryTree;
use crate::error::Result;
use crate::verdict::Verdict;
use crate::verification::recipient;
use crate::verification::Trust;
use crate::verification::{CheckpointSummary, ReportCore, FORMAT1_COMPLETENESS};

use super::Archive;

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub trust: Trust,
    /// Distinct valid signatures each checkpoint needs (k of n); at least 1.
    pub require: usize,
    pub recipient: recipient::RecipientChecks,
    /// Decrypt encrypted documents with this identity and check their plaintext.
    pub identity: Option<encrypted::VerifyIdentity>,
}

impl VerifyOptions {
    pub fn new(trust: Trust) -> VerifyOptions {
        VerifyOptions {
            trust,
            require: 1,
            recipient: recipient::RecipientChecks::default(),
            identity: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckpointReport {
    #[serde(flatten)]
    pub summary: CheckpointSummary,
    /// Witnesses (from --witness-trust) with a valid cosignature on this checkpoint.
    pub witnesses: Vec<String>,
    /// RFC 3161 time-stamp tokens of this checkpoint.
    pub timestamps: Vec<recipient::TimestampReport>,
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub format: &'static str,
    /// Origin, verdict, findings, the newest checkpoint: the part every verifier shares.
    #[serde(flatten)]
    pub core: ReportCore,
    pub records: u64,
    pub documents: u64,
    pub annotations: u64,
    pub custody_events: u64,
    pub retractions: u64,
    pub key_events: u64,
    pub content_bytes: u64,
    pub sealed_records: u64,
    pub unsealed_records: u64,
    pub required_signatures: usize,
    pub checkpoints: Vec<CheckpointReport>,
    /// The case title: the latest `case` record the last checkpoint covers, and any later one.
    pub case: crate::archive::case::CaseState,
}

impl VerifyReport {
    pub(crate) fn problem(
        &mut self,
        item: impl Into<String>,
        code: &'static str,
        detail: impl Into<String>,
    ) {
        self.core.problem(item, code, detail);
    }

    pub(crate) fn warn(
        &mut self,
        item: impl Into<String>,
        code: &'static str,
        detail: impl Into<String>,
    ) {
        self.core.warn(item, code, detail);
    }
}

/// The archive's checks, in order: each reports into the one report.
pub fn verify(archive: &Archive, options: &VerifyOptions) -> Result<VerifyReport> {
    let mut core = ReportCore::new(options.trust.authenticates());
    core.origin = Some(archive.origin().to_string());
    let mut report = VerifyReport {
        format: "evidentia-verify-report/2",
        core,
        records: 0,
        documents: 0,
        annotations: 0,
        custody_events: 0,
        retractions: 0,
        key_events: 0,
        content_bytes: 0,
        sealed_records: 0,
        unsealed_records: 0,
        required_signatures: options.require.max(1),
        checkpoints: Vec::new(),
        case: Default::default(),
    };
    let mut tree = MemoryTree::new();
    let identity = options.identity.as_ref();
    let facts = match records::check_log_encrypted(archive, &mut report, &mut tree, identity) {
        Ok(facts) => Some(facts),
        Err(e @ (crate::Error::Interrupted { .. } | crate::Error::Crypt(_))) => return Err(e),
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
    check_sealed(archive, &mut report, &options.trust);
    crate::progress::finish();
    crate::progress::check(not_finished)?;
    report.core.checkpoint = report.checkpoints.last().map(|c| c.summary.clone());
    if let Some(facts) = &facts {
        let sealed = report.checkpoints.last().map_or(0, |c| c.summary.size);
        report.case = crate::archive::case::CaseState::from_titles(&facts.case_titles, sealed);
    }
    report.core.decide();
    if report.core.verdict == Verdict::Verified && report.checkpoints.is_empty() {
        // An empty archive: no signer vouched for anything, so no signer was authenticated.
        report.core.verdict = Verdict::NotProvable;
    }
    if report.core.ok() && !report.checkpoints.is_empty() {
        report.core.proven.push(format!(
            "every object and record is intact, and the tree matches all {} checkpoint(s)",
            report.checkpoints.len()
        ));
    }
    Ok(report)
}

/// What an interrupted verification leaves.
pub(crate) fn not_finished() -> String {
    "verification not finished — no verdict".to_string()
}

/// What is sealed, what is not, and whether the signers were authenticated.
fn check_sealed(archive: &Archive, report: &mut VerifyReport, trust: &Trust) {
    if report.checkpoints.is_empty() && report.records > 0 {
        let detail = "no checkpoint signs these records: nothing is sealed, so nothing is proven to come from a signer; run `evidentia seal`";
        match trust {
            // A recipient who names trusted signers expects signed statements.
            Trust::Keys(_) => report.problem("checkpoints/", "no-checkpoint", detail),
            Trust::ArchiveKeys => report.warn("checkpoints/", "no-checkpoint", detail),
        }
    }
    if archive.version() < 2 {
        report.warn(
            "checkpoints/",
            "completeness-not-provable",
            FORMAT1_COMPLETENESS,
        );
    }
    if !report.core.signers_authenticated {
        report.warn(
            "checkpoints/",
            "signers-not-authenticated",
            "signers were not authenticated: signatures were checked against the keys the archive itself holds; pass --trust FILE with the signers' public keys to prove who signed",
        );
    }
    if report.unsealed_records > 0 {
        let detail = format!(
            "{} record(s) are not yet sealed by any checkpoint; run `evidentia seal`",
            report.unsealed_records
        );
        report.warn("log", "records-unsealed", detail);
    }
}

/// Time-stamps, witnesses, `--pin` and `--since` against the archive's checkpoints and
/// rebuilt tree.
fn check_recipient(
    archive: &Archive,
    report: &mut VerifyReport,
    tree: &mut MemoryTree,
    facts: Option<&records::LogFacts>,
    checks: &recipient::RecipientChecks,
) -> Result<()> {
    let stored = super::query::checkpoints(archive).unwrap_or_default();
    for (cp_report, cp) in report.checkpoints.iter_mut().zip(&stored) {
        let number = cp.checkpoint.number;
        let tokens = match crate::timestamp::tokens(archive, number) {
            Ok(tokens) => tokens,
            Err(e) => {
                let item = format!("checkpoint {number}");
                report
                    .core
                    .problem(item, "timestamp-unreadable", e.to_string());
                continue;
            }
        };
        let before = report.core.problem_count();
        cp_report.timestamps = recipient::report_timestamps(
            &mut report.core,
            number,
            &tokens,
            &cp.note,
            checks.tsa_roots.as_deref(),
        );
        cp_report.ok &= report.core.problem_count() == before;
    }
    if !checks.witnesses.is_empty() {
        for (cp_report, cp) in report.checkpoints.iter_mut().zip(&stored) {
            cp_report.witnesses = recipient::witnesses_on(&cp.note, &checks.witnesses);
            // Name cosignature lines as such instead of "unknown-key".
            let lines = cp_report.summary.signatures.iter_mut();
            for (line, sig) in lines.zip(&cp.note.signatures) {
                if checks.witnesses.iter().any(|w| {
                    crate::core::cosignature::verify_cosignature(w, &cp.note.text, sig).is_some()
                }) {
                    line.status = "witness-cosignature";
                }
            }
        }
    }
    if let (true, Some(latest)) = (checks.require_witnesses > 0, stored.last()) {
        recipient::report_witnesses(
            &mut report.core,
            &latest.note,
            latest.checkpoint.number,
            checks,
        );
    } else if checks.require_witnesses > 0 {
        let detail = "no checkpoint, so no witness cosignature";
        report.problem("checkpoint 0", "witnesses-insufficient", detail);
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
        let outcome = if held.checkpoint.origin == archive.origin() {
            recipient::SinceOutcome::Rollback(format!(
                "the presented archive has no checkpoint, but you hold checkpoint {} of '{}' ({} records): an older state is being presented as the newest",
                held.checkpoint.number, held.checkpoint.origin, held.checkpoint.size
            ))
        } else {
            recipient::SinceOutcome::NotProvable(format!(
                "the held checkpoint is of another archive ('{}'), and this one has no checkpoint",
                held.checkpoint.origin
            ))
        };
        recipient::report_since(&mut report.core, outcome);
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
        recipient::report_since(&mut report.core, outcome);
    }
    Ok(())
}
