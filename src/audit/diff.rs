//! `diff FROM TO`: is TO an append-only extension of FROM (proven with a consistency proof, or
//! violated, with evidence), and what TO adds, in the vocabulary of hashdeep's audit mode.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::archive::query::LoggedRecord;
use crate::core::digest::Digest;
use crate::core::key::VerifierKey;
use crate::core::merkle;
use crate::core::record::Record;
use crate::error::{Error, Result};

use super::consistency::proof_between;
use super::equivocation::{valid_signers, Equivocation};
use super::source::Version;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppendOnly {
    Proven,
    Violated,
    NotProvable,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionSummary {
    pub label: String,
    pub checkpoint: u64,
    pub size: u64,
    pub root: String,
    pub time: String,
    pub signers: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub index: u64,
    pub record: String,
    pub summary: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Added {
    /// Content never seen before, under a path never seen before.
    pub documents_new: Vec<Change>,
    /// A path seen before, with new content.
    pub documents_changed: Vec<Change>,
    /// Content seen before, under a new path (moved or copied).
    pub documents_moved_or_copied: Vec<Change>,
    /// Content and path both seen before (recorded again).
    pub documents_repeated: Vec<Change>,
    pub annotations_new: Vec<Change>,
    /// Annotations (of either version) that TO's new annotations supersede.
    pub annotations_superseded: Vec<String>,
    pub retractions: Vec<Change>,
    pub custody_events: Vec<Change>,
    pub key_events: Vec<Change>,
    pub other: Vec<Change>,
    pub signers_added: Vec<String>,
    pub signers_removed: Vec<String>,
    pub records: u64,
    pub content_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub format: &'static str,
    pub origin: String,
    pub from: VersionSummary,
    pub to: VersionSummary,
    pub append_only: AppendOnly,
    /// How the verdict was reached.
    pub detail: String,
    pub equivocation: Option<Equivocation>,
    pub added: Added,
    /// True when TO is a bundle: only disclosed records are listed.
    pub partial: bool,
}

fn summary(v: &Version, keys: &[VerifierKey]) -> VersionSummary {
    VersionSummary {
        label: v.label.clone(),
        checkpoint: v.checkpoint.number,
        size: v.checkpoint.size,
        root: v.checkpoint.root.to_hex(),
        time: v.checkpoint.time.to_string(),
        signers: valid_signers(&v.note, keys),
    }
}

/// FROM's root at an earlier size `n`, when FROM can show it: from its log when it is an
/// archive, from a consistency proof it carries when it is a bundle.
fn root_at(from: &Version, n: u64) -> Option<Digest> {
    if let Some(archive) = &from.archive {
        return archive.log().ok()?.root(n).ok();
    }
    let entry = from
        .bundle
        .as_ref()?
        .consistency
        .iter()
        .find(|c| c.size == n)?;
    let root = Digest::from_hex(&entry.root)?;
    let proof: Vec<Digest> = entry
        .proof
        .iter()
        .map(|h| Digest::from_hex(h))
        .collect::<Option<_>>()?;
    let (m, r1) = (from.checkpoint.size, from.checkpoint.root);
    merkle::verify_consistency(n, m, &root, &r1, &proof).then_some(root)
}

/// The first leaf where two full logs differ, within the first `upto` leaves.
fn first_divergent_leaf(a: &Version, b: &Version, upto: u64) -> Option<u64> {
    let (Some(x), Some(y)) = (&a.archive, &b.archive) else {
        return None;
    };
    let (x, y) = (x.log().ok()?, y.log().ok()?);
    let upto = upto.min(x.size()).min(y.size());
    let (xs, ys) = (x.leaf_hashes(0, upto).ok()?, y.leaf_hashes(0, upto).ok()?);
    xs.iter()
        .zip(&ys)
        .position(|(p, q)| p != q)
        .map(|i| i as u64)
}

pub fn diff(from: &Version, to: &Version) -> Result<DiffReport> {
    if from.origin != to.origin {
        return Err(Error::BadInput {
            path: to.label.clone().into(),
            why: format!(
                "it is a different archive ('{}', not '{}'); diff compares versions of one archive",
                to.origin, from.origin
            ),
        });
    }
    let mut keys: Vec<VerifierKey> = from.keys.clone();
    keys.extend(to.keys.iter().cloned());
    let (m, r1) = (from.checkpoint.size, from.checkpoint.root);
    let (n, r2) = (to.checkpoint.size, to.checkpoint.root);
    let mut equivocation = None;
    let conflict = |reason: String, leaf: Option<u64>| {
        Some(Equivocation::new(
            &from.origin,
            (&from.label, &from.checkpoint, &from.note, &from.note_text),
            (&to.label, &to.checkpoint, &to.note, &to.note_text),
            &keys,
            reason,
            leaf,
        ))
    };
    let (verdict, detail) = if m > n {
        // Only FROM's own tree at n records can tell an older version from a fork; without it
        // there is no evidence of equivocation to report.
        match root_at(from, n) {
            Some(root) if root == r2 => (
                AppendOnly::Violated,
                format!("TO ({n} records) is an older version of FROM ({m} records): a rollback"),
            ),
            Some(_) => {
                let reason = format!("TO ({n} records) is smaller than FROM ({m}) and is not one of its earlier versions");
                equivocation = conflict(reason.clone(), first_divergent_leaf(from, to, n));
                (AppendOnly::Violated, reason)
            }
            None => (
                AppendOnly::Violated,
                format!("TO ({n} records) is smaller than FROM ({m}); FROM carries no proof of its state at {n} records, so whether TO is an older version or a fork is not shown"),
            ),
        }
    } else if m == n {
        if r1 == r2 {
            (
                AppendOnly::Proven,
                format!("both versions are the same tree of {n} records"),
            )
        } else {
            let reason = format!("both versions have {n} records but different roots");
            equivocation = conflict(reason.clone(), first_divergent_leaf(from, to, n));
            (AppendOnly::Violated, reason)
        }
    } else if let Some(archive) = &to.archive {
        let own_root = archive.log()?.root(n)?;
        if own_root != r2 {
            return Err(Error::Corrupt {
                path: archive.root().join("log"),
                why: "TO's log does not match its own checkpoint; run `evidentia verify` on it"
                    .into(),
            });
        }
        let proof = proof_between(archive, m, n)?;
        if merkle::verify_consistency(m, n, &r1, &r2, &proof) {
            (AppendOnly::Proven, format!(
                "consistency proof checked: the tree of {n} records contains the tree of {m} records unchanged ({} hashes)",
                proof.len()
            ))
        } else {
            let reason =
                format!("no consistency: TO's first {m} records are not FROM's {m} records");
            equivocation = conflict(reason.clone(), first_divergent_leaf(from, to, m));
            (AppendOnly::Violated, reason)
        }
    } else {
        match to
            .bundle
            .as_ref()
            .and_then(|b| b.consistency.iter().find(|c| c.size == m))
        {
            Some(entry) => {
                // The bundle's earlier root is not signed: it counts only through its proof.
                let root = Digest::from_hex(&entry.root);
                let proof: Option<Vec<Digest>> =
                    entry.proof.iter().map(|h| Digest::from_hex(h)).collect();
                match (root, proof) {
                    (Some(root), Some(p)) if merkle::verify_consistency(m, n, &root, &r2, &p) => {
                        if root == r1 {
                            (
                                AppendOnly::Proven,
                                format!("the bundle's consistency proof from {m} to {n} records checked"),
                            )
                        } else {
                            let reason = format!(
                                "the bundle proves that its own earlier version of {m} records has a different root than FROM"
                            );
                            equivocation = conflict(reason.clone(), None);
                            (AppendOnly::Violated, reason)
                        }
                    }
                    _ => (
                        AppendOnly::NotProvable,
                        format!("the bundle's consistency proof from {m} to {n} records does not hold (a damaged or altered bundle): append-only is not shown"),
                    ),
                }
            }
            None => (
                AppendOnly::NotProvable,
                format!(
                    "TO is a bundle that carries no consistency proof from a tree of {m} records"
                ),
            ),
        }
    };

    let added = additions(from, to, &keys);
    Ok(DiffReport {
        format: "evidentia-diff-report/1",
        origin: from.origin.clone(),
        from: summary(from, &keys),
        to: summary(to, &keys),
        append_only: verdict,
        detail,
        equivocation,
        added,
        partial: !to.complete(),
    })
}

fn change(r: &LoggedRecord, summary: String) -> Change {
    Change {
        index: r.index,
        record: r.id.to_hex(),
        summary,
    }
}

fn additions(from: &Version, to: &Version, keys: &[VerifierKey]) -> Added {
    let m = from.checkpoint.size;
    let mut seen_paths: HashMap<String, Digest> = HashMap::new();
    let mut seen_contents: HashSet<Digest> = HashSet::new();
    for r in &from.records {
        if let Record::Document(d) = &r.record {
            seen_paths.insert(d.path.clone(), d.content);
            seen_contents.insert(d.content);
        }
    }
    let mut added = Added::default();
    for r in to.records.iter().filter(|r| r.index >= m) {
        added.records += 1;
        match &r.record {
            Record::Document(d) => {
                added.content_bytes += d.size;
                let text = format!("{} sha256:{} ({} bytes)", d.path, d.content, d.size);
                match (seen_paths.get(&d.path), seen_contents.contains(&d.content)) {
                    (Some(old), _) if *old == d.content => {
                        added.documents_repeated.push(change(r, text))
                    }
                    (Some(old), _) => added
                        .documents_changed
                        .push(change(r, format!("{text}, was sha256:{old}"))),
                    (None, true) => added.documents_moved_or_copied.push(change(r, text)),
                    (None, false) => added.documents_new.push(change(r, text)),
                }
                seen_paths.insert(d.path.clone(), d.content);
                seen_contents.insert(d.content);
            }
            Record::Annotation(a) => {
                for old in a.supersedes() {
                    added.annotations_superseded.push(old.to_hex());
                }
                let body: String = a.body.chars().take(80).collect();
                added
                    .annotations_new
                    .push(change(r, format!("on sha256:{}: {body}", a.target)));
            }
            Record::Retraction(x) => added
                .retractions
                .push(change(r, format!("{}: {}", x.target, x.reason))),
            Record::Custody(c) => added.custody_events.push(change(
                r,
                format!(
                    "{} by {} ({} item(s))",
                    c.event.as_str(),
                    c.actor,
                    c.targets.len()
                ),
            )),
            Record::Key(k) => added
                .key_events
                .push(change(r, format!("{} {}", k.action.as_str(), k.key))),
            Record::Unknown { kind, .. } => added.other.push(change(r, format!("kind '{kind}'"))),
        }
    }
    let before = valid_signers(&from.note, keys);
    let after = valid_signers(&to.note, keys);
    added.signers_added = after
        .iter()
        .filter(|s| !before.contains(s))
        .cloned()
        .collect();
    added.signers_removed = before
        .iter()
        .filter(|s| !after.contains(s))
        .cloned()
        .collect();
    added
}
