//! Verification of the checkpoints: numbering, chain, growth, roots against the rebuilt tree,
//! and signatures against the trusted keys (validity windows, revocations, k of n).

use crate::core::merkle::MemoryTree;
use crate::core::record::KeyAction;
use crate::error::Result;
use crate::trust::TrustedKey;

use crate::verification::lineage::Signers;
use crate::verification::{CheckpointSummary, SignatureReport};

use super::super::checkpoints::{CheckpointStore, StoredCheckpoint};
use super::super::Archive;
use super::records::LogFacts;
use super::{CheckpointReport, VerifyOptions, VerifyReport};

pub fn check_checkpoints(
    archive: &Archive,
    report: &mut VerifyReport,
    tree: &mut MemoryTree,
    facts: Option<&LogFacts>,
    options: &VerifyOptions,
) -> Result<()> {
    let carried = || archive_keys(archive, facts, report);
    let (base, whose) = options.trust.base_keys(carried, "keys the archive holds");
    let signers = Signers::new(
        base,
        facts.map_or(&[][..], |f| &f.key_events[..]),
        archive.origin(),
    );
    report.core.findings.extend(signers.refusal_warnings());
    let required = options.require.max(1);

    // A missing or unlistable checkpoints/ is damage to report, not a reason to give no report.
    let files = archive.checkpoints().files().unwrap_or_else(|e| {
        report.problem("checkpoints/", "checkpoints-unreadable", e.to_string());
        Vec::new()
    });
    // `--require` applies to the checkpoint relied on, the latest, which commits to every
    // record before it; an earlier one sealed by fewer signers is history, not a failure.
    let latest = files.iter().filter_map(|f| f.number).max();
    let mut previous: Option<StoredCheckpoint> = None;
    let mut expected_number = 1u64;
    for file in files {
        let Some(number) = file.number else {
            report.problem(
                format!("checkpoint {}", file.path.display()),
                "checkpoint-stray-file",
                "this file's name is not a checkpoint number; remove it or find out who put it there",
            );
            continue;
        };
        let item = format!("checkpoint {number}");
        if number != expected_number {
            report.problem(
                &item,
                "checkpoint-gap",
                format!("expected checkpoint {expected_number} next; checkpoints are missing"),
            );
        }
        expected_number = number + 1;
        let stored = match CheckpointStore::read(&file.path) {
            Ok(stored) => stored,
            Err(e) => {
                report.problem(&item, "checkpoint-unreadable", e.to_string());
                continue;
            }
        };
        let problems_before = report.core.problem_count();
        check_structure(
            archive,
            report,
            tree,
            facts,
            &item,
            number,
            &stored,
            previous.as_ref(),
        );

        let cp = &stored.checkpoint;
        let relied_on = Some(number) == latest;
        let needed = if relied_on { required } else { 1 };
        let signatures =
            check_signatures(report, &signers, &stored, &item, needed, required, whose);
        report.checkpoints.push(CheckpointReport {
            summary: CheckpointSummary::new(cp, signatures),
            witnesses: Vec::new(),
            timestamps: Vec::new(),
            ok: report.core.problem_count() == problems_before,
        });
        report.sealed_records = cp.size;
        previous = Some(stored);
    }
    if let Some(facts) = facts {
        report.unsealed_records = facts.size.saturating_sub(report.sealed_records);
    }
    Ok(())
}

/// The keys the archive carries: `keys/` and the keys introduced in the log (without a trust
/// file none of them is authenticated).
fn archive_keys(
    archive: &Archive,
    facts: Option<&LogFacts>,
    report: &mut VerifyReport,
) -> Vec<TrustedKey> {
    let mut keys: Vec<TrustedKey> = archive
        .known_keys()
        .unwrap_or_else(|e| {
            report.problem("keys/", "keys-unreadable", e.to_string());
            Vec::new()
        })
        .into_iter()
        .map(TrustedKey::new)
        .collect();
    for (_, event) in facts.map_or(&[][..], |f| &f.key_events[..]) {
        if event.action == KeyAction::Introduce
            && event.endorsement_valid(archive.origin())
            && !keys.iter().any(|k| k.key == event.key)
        {
            keys.push(TrustedKey::new(event.key.clone()));
        }
    }
    keys
}

/// One checkpoint's signatures: `needed` lineages (the `required` of `--require` for the
/// checkpoint relied on, one for history, where fewer than `required` is a warning).
fn check_signatures(
    report: &mut VerifyReport,
    signers: &Signers,
    stored: &StoredCheckpoint,
    item: &str,
    needed: usize,
    required: usize,
    whose: &str,
) -> Vec<SignatureReport> {
    let outcome = signers.evaluate(&stored.note, &stored.checkpoint, needed, whose);
    if needed < required && outcome.lineages >= 1 && outcome.lineages < required {
        let detail = format!(
            "{item} is signed by {} independent signer(s), fewer than the {required} required; only the latest checkpoint, which commits to every record before it, must meet --require",
            outcome.lineages
        );
        report.warn(item, "require-history", detail);
    }
    for (code, detail) in outcome.problems {
        report.problem(item, code, detail);
    }
    outcome.signatures
}

/// Origin, number, chain link, growth and root of one checkpoint.
#[allow(clippy::too_many_arguments)]
fn check_structure(
    archive: &Archive,
    report: &mut VerifyReport,
    tree: &mut MemoryTree,
    facts: Option<&LogFacts>,
    item: &str,
    number: u64,
    stored: &StoredCheckpoint,
    previous: Option<&StoredCheckpoint>,
) {
    let cp = &stored.checkpoint;
    if cp.origin != archive.origin() {
        report.problem(
            item,
            "checkpoint-origin",
            format!(
                "signed for archive '{}', not '{}'",
                cp.origin,
                archive.origin()
            ),
        );
    }
    if cp.number != number {
        report.problem(
            item,
            "checkpoint-number",
            format!(
                "the file is named {number} but the signed text says {}",
                cp.number
            ),
        );
    }
    match previous {
        Some(prev) => {
            let prev_cp = &prev.checkpoint;
            if cp.previous != Some(prev_cp.text_hash()) {
                report.problem(
                    item,
                    "checkpoint-chain",
                    format!(
                        "does not link to checkpoint {} (its 'previous' line is not that checkpoint's hash)",
                        prev_cp.number
                    ),
                );
            }
            if cp.size <= prev_cp.size {
                report.problem(
                    item,
                    "checkpoint-not-growing",
                    format!(
                        "covers {} records, not more than checkpoint {} ({})",
                        cp.size, prev_cp.number, prev_cp.size
                    ),
                );
            }
            if cp.time < prev_cp.time {
                let detail = format!(
                    "checkpoint {number} is dated {}, before checkpoint {} ({}); check the sealing machine's clock",
                    cp.time, prev_cp.number, prev_cp.time
                );
                report.warn(item, "checkpoint-clock", detail);
            }
        }
        None if cp.previous.is_some() => report.problem(
            item,
            "checkpoint-chain",
            "links to a previous checkpoint that is not in the archive",
        ),
        None => {}
    }
    match facts {
        Some(facts) if cp.size > facts.size => report.problem(
            item,
            "checkpoint-beyond-log",
            format!(
                "covers {} records but the log holds only {}: records were removed",
                cp.size, facts.size
            ),
        ),
        Some(_) => {
            // Every root is compared with the one tree rebuilt from the records, so two roots
            // that both match are consistent with each other by construction.
            let rebuilt = tree.root_at(cp.size);
            if rebuilt != cp.root {
                report.problem(
                    item,
                    "root-mismatch",
                    format!(
                        "signed root {} but the records give {rebuilt}: the log was rewritten",
                        cp.root
                    ),
                );
            }
        }
        None => {}
    }
    check_refs(archive, report, facts, item, cp);
}

/// Format 2: the checkpoint commits to the reference map of the records it covers. A format-1
/// archive's checkpoints carry none; one that does was signed as format 2, so the archive's
/// identity file was changed (a downgrade that would switch the completeness checks off).
fn check_refs(
    archive: &Archive,
    report: &mut VerifyReport,
    facts: Option<&LogFacts>,
    item: &str,
    cp: &crate::core::checkpoint::Checkpoint,
) {
    match (archive.version(), cp.refs) {
        (1, None) => {}
        (1, Some(_)) => report.problem(
            item,
            "format-mismatch",
            "the checkpoint commits to a reference map (format 2) but archive.txt says format 1: the identity file was changed",
        ),
        (_, None) => report.problem(
            item,
            "refs-missing",
            "a format-2 checkpoint must commit to the reference map (a 'refs' line); without it no recipient can be shown complete disclosure",
        ),
        (_, Some(signed)) => {
            let Some(facts) = facts else { return };
            if cp.size > facts.size {
                return;
            }
            if let Some(rebuilt) = facts.refs.borrow_mut().root_at(cp.size) {
                if rebuilt != signed {
                    report.problem(
                        item,
                        "refs-mismatch",
                        format!(
                            "signed reference-map root {signed} but the records give {rebuilt}: the checkpoint misstates which records are about which documents, or the key state"
                        ),
                    );
                }
            }
        }
    }
}
