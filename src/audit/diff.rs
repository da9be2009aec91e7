//! `diff FROM TO`: is TO an append-only extension of FROM (proven with a consistency proof, or
//! violated, with evidence), and what TO adds, in the vocabulary of hashdeep's audit mode.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::archive::query::LoggedRecord;
use crate::core::digest::Digest;
use crate::core::merkle;
use crate::core::record::Record;
use crate::error::{Error, Result};

use super::authenticate::Authentication;
use super::equivocation::Equivocation;
use super::source::Version;

/// The `format` of the diff report (`--json`).
pub const REPORT_FORMAT: &str = "evidentia-diff-report/2";

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
    /// True when both versions' signers were authenticated by the user's trust file; false
    /// with `--integrity-only` (the verdict then holds for the presented data only).
    pub signers_authenticated: bool,
    /// How the verdict was reached.
    pub detail: String,
    pub equivocation: Option<Equivocation>,
    pub added: Added,
    /// True when TO is a bundle: only disclosed records are listed.
    pub partial: bool,
    /// Records TO lists that are not proven to be in its signed tree: not listed as added.
    pub unproven_records: u64,
}

/// The valid signers of each side, as its verification found them.
pub struct Signed {
    pub from: Vec<String>,
    pub to: Vec<String>,
}

fn summary(v: &Version, signers: &[String]) -> VersionSummary {
    VersionSummary {
        label: v.label.clone(),
        checkpoint: v.checkpoint.number,
        size: v.checkpoint.size,
        root: v.checkpoint.root.to_hex(),
        time: v.checkpoint.time.to_string(),
        signers: signers.to_vec(),
    }
}

/// The first leaf where two full histories differ, within the first `upto` leaves.
fn first_divergent_leaf(a: &Version, b: &Version, upto: u64) -> Option<u64> {
    let (Some(x), Some(y)) = (&a.tree, &b.tree) else {
        return None;
    };
    let upto = usize::try_from(upto).ok()?;
    x.level(0)
        .iter()
        .zip(y.level(0))
        .take(upto)
        .position(|(p, q)| p != q)
        .map(|i| i as u64)
}

/// What comparing the two signed trees shows.
enum Outcome {
    Proven(String),
    NotProvable(String),
    /// The two signed checkpoints cannot both be true.
    Conflict(String, Option<u64>),
}

fn compare(from: &mut Version, to: &mut Version) -> Result<Outcome> {
    let (m, r1) = (from.checkpoint.size, from.checkpoint.root);
    let (n, r2) = (to.checkpoint.size, to.checkpoint.root);
    if m > n {
        // FROM is the later one. If it shows its own state at TO's size, that tells an older
        // version (arguments reversed: nothing is wrong) from a fork; otherwise ask for the
        // arguments in order, where TO's proofs can decide.
        return match from.root_at(n) {
            Some(root) if root != r2 => Ok(Outcome::Conflict(
                format!("TO ({n} records) is not an earlier version of FROM ({m} records): at {n} records FROM's signed history has root {root}, TO signs {r2}"),
                first_divergent_leaf(from, to, n),
            )),
            _ => Err(Error::InvalidOption {
                option: "FROM TO",
                value: format!("{} {}", from.label, to.label),
                why: format!(
                    "FROM is newer than TO ({m} records against {n}); diff shows what a later version adds to an earlier one: did you mean `diff {} {}`?",
                    to.label, from.label
                ),
            }),
        };
    }
    if m == n {
        return Ok(if r1 == r2 {
            Outcome::Proven(format!("both versions are the same tree of {n} records"))
        } else {
            Outcome::Conflict(
                format!("both versions have {n} records but different roots"),
                first_divergent_leaf(from, to, n),
            )
        });
    }
    if let Some(tree) = &mut to.tree {
        // TO's tree was rebuilt from its records and equals its signed root.
        let proof = tree
            .consistency_proof(m, n)
            .map_err(|e| Error::InvalidOption {
                option: "FROM TO",
                value: format!("{m}..{n}"),
                why: format!("no consistency proof: {e:?}"),
            })?;
        return Ok(if merkle::verify_consistency(m, n, &r1, &r2, &proof) {
            Outcome::Proven(format!(
                "consistency proof checked: the signed tree of {n} records contains the signed tree of {m} records unchanged ({} hashes)",
                proof.len()
            ))
        } else {
            Outcome::Conflict(
                format!("no consistency: TO's first {m} records are not FROM's {m} records"),
                first_divergent_leaf(from, to, m),
            )
        });
    }
    let has_entry = to
        .bundle
        .as_ref()
        .is_some_and(|b| b.consistency.iter().any(|c| c.size == m));
    // The bundle's earlier root is not signed: it counts only through a proof that reaches
    // TO's signed root.
    Ok(match to.root_at(m) {
        Some(root) if root == r1 => Outcome::Proven(format!(
            "the bundle's consistency proof from {m} to {n} records checked"
        )),
        Some(_) => Outcome::Conflict(
            format!("the bundle proves that its own earlier version of {m} records has a different root than FROM"),
            None,
        ),
        None if has_entry => Outcome::NotProvable(format!(
            "the bundle's consistency proof from {m} to {n} records does not hold (a damaged or altered bundle): append-only is not shown"
        )),
        None => Outcome::NotProvable(format!(
            "TO is a bundle that carries no consistency proof from a tree of {m} records"
        )),
    })
}

/// Compares two versions that have each been verified (see [`super::authenticate`]). A
/// conflict is an accusation (VIOLATED, with an equivocation report) only when both signers
/// were authenticated; otherwise it is reported as not provable.
pub fn diff(
    from: &mut Version,
    to: &mut Version,
    auth: &Authentication,
    signed: &Signed,
) -> Result<DiffReport> {
    if from.origin != to.origin {
        return Err(Error::BadInput {
            path: to.label.clone().into(),
            why: format!(
                "it is a different archive ('{}', not '{}'); diff compares versions of one archive",
                to.origin, from.origin
            ),
        });
    }
    let authenticated = auth.authenticated();
    let (verdict, detail, equivocation) = match compare(from, to)? {
        Outcome::Proven(detail) => (AppendOnly::Proven, detail, None),
        Outcome::NotProvable(detail) => (AppendOnly::NotProvable, detail, None),
        Outcome::Conflict(reason, leaf) if authenticated => {
            let evidence = Equivocation::new(
                &from.origin,
                (&from.label, &from.checkpoint, &from.note, &from.note_text),
                (&to.label, &to.checkpoint, &to.note, &to.note_text),
                &auth.trusted_keys(),
                reason.clone(),
                leaf,
            );
            (AppendOnly::Violated, reason, Some(evidence))
        }
        Outcome::Conflict(reason, _) => (
            AppendOnly::NotProvable,
            format!("{reason}; the signers are NOT AUTHENTICATED (--integrity-only), so this accuses nobody: run again with --trust FILE"),
            None,
        ),
    };
    let added = additions(from, to, signed);
    Ok(DiffReport {
        format: REPORT_FORMAT,
        origin: from.origin.clone(),
        from: summary(from, &signed.from),
        to: summary(to, &signed.to),
        append_only: verdict,
        signers_authenticated: authenticated,
        detail,
        equivocation,
        added,
        partial: !to.complete(),
        unproven_records: to.unproven,
    })
}

fn change(r: &LoggedRecord, summary: String) -> Change {
    Change {
        index: r.index,
        record: r.id.to_hex(),
        summary,
    }
}

fn additions(from: &Version, to: &Version, signed: &Signed) -> Added {
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
                let body: String = crate::archive::sealed_notes::body_shown(a)
                    .chars()
                    .take(80)
                    .collect();
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
            Record::Metadata(m) => added
                .other
                .push(change(r, format!("metadata about {}", m.target))),
            Record::Case(c) => added
                .other
                .push(change(r, format!("case title \"{}\"", c.title))),
            Record::Recipients(x) => added.other.push(change(
                r,
                format!("encryption recipients: {} key(s)", x.recipients.len()),
            )),
            Record::Rewrap(x) => added.other.push(change(
                r,
                format!("rewrap of {} as sha256:{}", x.target, x.content),
            )),
            Record::Unknown { kind, .. } => added.other.push(change(r, format!("kind '{kind}'"))),
        }
    }
    let (before, after) = (&signed.from, &signed.to);
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
