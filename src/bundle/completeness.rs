//! Complete disclosure (format 2, docs/FORMAT.md §21): a bundle or proof shows, for every
//! disclosed record and document, *all* the records about it — each disclosed or withheld by
//! leaf hash — and the whole key state, proven against the reference-map root that the signed
//! checkpoint commits to (core::refmap). Deleting a revocation, a retraction or a later version
//! from a bundle is then caught by the signed data, not trusted to the sender.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::core::checkpoint::Checkpoint;
use crate::core::digest::Digest;
use crate::core::record::Record;
use crate::core::refmap::{chain_value, subjects_of, ChainEntry, MultiProof, Step, Subject};
use crate::verification::ReportCore;

use super::manifest::ListedHex;

/// The `completeness` member of `data/bundle.json` and of a proof file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Completeness {
    /// Every subject a recipient must see complete, with all its records in log order.
    pub subjects: Vec<SubjectEntries>,
    /// One reference-map proof for all the subjects' keys (`inner`, `empty`,
    /// `leaf <key> <value>`, `hash <hex>`, depth first).
    pub proof: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SubjectEntries {
    /// `about <hex>`, `path <logical path>` or `keys`.
    pub subject: String,
    pub entries: Vec<EntryJson>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EntryJson {
    pub index: u64,
    /// Leaf hash of the record, hex.
    pub leaf: ListedHex,
    pub kind: String,
}

pub fn subject_text(subject: &Subject) -> String {
    match subject {
        Subject::About(d) => format!("about {}", d.to_hex()),
        Subject::Path(p) => format!("path {p}"),
        Subject::Keys => "keys".into(),
        Subject::Case => "case".into(),
    }
}

pub fn parse_subject(text: &str) -> Option<Subject> {
    if text == "keys" {
        return Some(Subject::Keys);
    }
    if text == "case" {
        return Some(Subject::Case);
    }
    if let Some(hex) = text.strip_prefix("about ") {
        return Digest::from_lower_hex(hex.as_bytes()).map(Subject::About);
    }
    text.strip_prefix("path ")
        .filter(|p| crate::core::path::check(p).is_ok())
        .map(|p| Subject::Path(p.to_string()))
}

pub fn step_text(step: &Step) -> String {
    match step {
        Step::Inner => "inner".into(),
        Step::Empty => "empty".into(),
        Step::Leaf { key, value } => format!("leaf {key} {value}"),
        Step::Hash(h) => format!("hash {h}"),
    }
}

pub fn parse_step(text: &str) -> Option<Step> {
    let hex = |t: &str| Digest::from_lower_hex(t.as_bytes());
    match text.split(' ').collect::<Vec<_>>()[..] {
        ["inner"] => Some(Step::Inner),
        ["empty"] => Some(Step::Empty),
        ["hash", h] => hex(h).map(Step::Hash),
        ["leaf", k, v] => Some(Step::Leaf {
            key: hex(k)?,
            value: hex(v)?,
        }),
        _ => None,
    }
}

/// The subjects a recipient of these disclosed records must see complete: every disclosed
/// record (what refers to it), every disclosed document's content and path, and the key state.
pub fn required_subjects<'a>(
    records: impl Iterator<Item = (&'a Digest, &'a Record)>,
) -> BTreeSet<Subject> {
    let mut out = BTreeSet::from([Subject::Keys]);
    for (id, record) in records {
        out.insert(Subject::About(*id));
        if let Record::Document(d) = record {
            out.insert(Subject::About(d.content));
            out.insert(Subject::Path(d.path.clone()));
        }
        // A disclosed title must come with the whole list of titles, so that a recipient sees
        // whether it is the latest.
        if let Record::Case(_) = record {
            out.insert(Subject::Case);
        }
    }
    out
}

/// Builds the section for `subjects` from every record the checkpoint covers, `(index, leaf,
/// record)` in log order, and a proof made by `prove` for the subjects' sorted keys.
pub fn build<'a, E>(
    subjects: &BTreeSet<Subject>,
    all: impl Iterator<Item = (u64, Digest, &'a Record)>,
    prove: impl FnOnce(&[Digest]) -> Result<MultiProof, E>,
) -> Result<Completeness, E> {
    let mut entries: BTreeMap<&Subject, Vec<EntryJson>> =
        subjects.iter().map(|s| (s, Vec::new())).collect();
    for (index, leaf, record) in all {
        for subject in subjects_of(record) {
            if let Some(list) = entries.get_mut(&subject) {
                list.push(EntryJson {
                    index,
                    leaf: leaf.into(),
                    kind: record.kind().to_string(),
                });
            }
        }
    }
    let mut keys: Vec<Digest> = subjects.iter().map(Subject::key).collect();
    keys.sort();
    let proof = prove(&keys)?;
    Ok(Completeness {
        subjects: entries
            .into_iter()
            .map(|(s, entries)| SubjectEntries {
                subject: subject_text(s),
                entries,
            })
            .collect(),
        proof: proof.steps.iter().map(step_text).collect(),
    })
}

/// A disclosed record that verified against the checkpoint's tree.
pub struct Proven<'a> {
    pub index: u64,
    pub id: Digest,
    pub leaf: Digest,
    pub record: &'a Record,
}

/// What the check established, for the verdict.
#[derive(Debug, Default)]
pub struct Outcome {
    pub problems: Vec<(String, &'static str, String)>,
    pub proven: Vec<String>,
    pub not_proven: Vec<String>,
    /// Per disclosed document record id: how many records are about it, disclosed and withheld.
    pub per_document: HashMap<Digest, String>,
    /// The index of the latest `case` record, when the section lists the `case` subject and
    /// its chain is the signed one.
    pub case_latest: Option<u64>,
}

/// Where a completeness section travels: the file named in findings, whether that file claims
/// format 2, and what a missing section may hide.
pub struct Holder<'a> {
    pub item: &'a str,
    pub claims_format_2: bool,
    pub missing: &'a str,
    /// Every later version of a disclosed path, and every metadata record about a disclosed
    /// document, must be disclosed too (bundles); a proof only reports them.
    pub whole_paths: bool,
}

/// A bundle's or proof's section against the checkpoint's `refs` line, reported into `core`.
/// The signed checkpoint decides the format: one that commits to a reference map requires the
/// section, so relabelling as format 1 (or deleting the section) switches nothing off.
/// `disclosed`: the records whose inclusion proofs verified, as (index, id, leaf hash, record).
pub fn check_against_checkpoint<'a>(
    section: Option<&Completeness>,
    holder: Holder,
    cp: &Checkpoint,
    disclosed: impl IntoIterator<Item = (u64, Digest, Digest, &'a Record)>,
    core: &mut ReportCore,
) -> Outcome {
    let Some(refs) = cp.refs else {
        if section.is_some() || holder.claims_format_2 {
            core.problem(
                holder.item,
                "bad-manifest",
                "a format-1 checkpoint (no reference map) cannot have a completeness section",
            );
        }
        return Outcome {
            not_proven: vec![crate::verification::FORMAT1_COMPLETENESS.into()],
            ..Outcome::default()
        };
    };
    let Some(section) = section else {
        core.problem(holder.item, "completeness-missing", holder.missing);
        return Outcome::default();
    };
    let disclosed: Vec<Proven> = disclosed
        .into_iter()
        .map(|(index, id, leaf, record)| Proven {
            index,
            id,
            leaf,
            record,
        })
        .collect();
    let outcome = check(section, &refs, &disclosed, cp.size, holder.whole_paths);
    for (item, code, why) in &outcome.problems {
        core.problem(item.clone(), code, why.clone());
    }
    outcome
}

/// Checks the section against the signed reference-map root `refs` and the disclosed records.
/// `whole_paths`: every later version of a disclosed path must be disclosed too (bundles); a
/// single-document proof of an older version only reports them.
pub fn check(
    section: &Completeness,
    refs: &Digest,
    disclosed: &[Proven],
    tree_size: u64,
    whole_paths: bool,
) -> Outcome {
    let mut out = Outcome::default();
    let mut bad = |item: &str, code: &'static str, why: String| {
        out.problems.push((item.to_string(), code, why));
    };
    let required = required_subjects(disclosed.iter().map(|p| (&p.id, p.record)));
    // Parse the listed subjects; each exactly once.
    let mut listed: BTreeMap<Subject, Vec<ChainEntry>> = BTreeMap::new();
    for s in &section.subjects {
        let Some(subject) = parse_subject(&s.subject) else {
            bad(
                "completeness",
                "bad-manifest",
                format!("'{}' is not a subject", s.subject),
            );
            continue;
        };
        let mut entries = Vec::new();
        for e in &s.entries {
            match e.leaf.digest() {
                Some(leaf) => entries.push(ChainEntry {
                    index: e.index,
                    leaf,
                    kind: e.kind.clone(),
                }),
                None => bad(&s.subject, "bad-manifest", "a leaf hash is not hex".into()),
            }
        }
        let ordered = entries.windows(2).all(|w| w[0].index < w[1].index)
            && entries.last().is_none_or(|e| e.index < tree_size);
        if !ordered {
            bad(
                &s.subject,
                "completeness-invalid",
                "entries must be in strictly increasing log order, inside the checkpoint's tree"
                    .into(),
            );
        }
        if listed.insert(subject, entries).is_some() {
            bad(
                &s.subject,
                "bad-manifest",
                "the subject is listed twice".into(),
            );
        }
    }
    for subject in required.iter().filter(|s| !listed.contains_key(s)) {
        bad(
            &subject.describe(),
            "completeness-missing",
            "the bundle does not show all records about it, which the signed checkpoint commits to; it was removed or never included".into(),
        );
    }
    // One proof for every listed subject.
    let steps: Option<Vec<Step>> = section.proof.iter().map(|s| parse_step(s)).collect();
    let keys: Vec<Digest> = listed.keys().map(Subject::key).collect();
    let values = match steps.map(|steps| MultiProof { steps }.verify(refs, &keys)) {
        Some(Ok(values)) => values,
        Some(Err(e)) => {
            bad("completeness", "completeness-invalid", e.to_string());
            return out;
        }
        None => {
            bad(
                "completeness",
                "bad-manifest",
                "a proof step is malformed".into(),
            );
            return out;
        }
    };
    let by_index: HashMap<u64, &Proven> = disclosed.iter().map(|p| (p.index, p)).collect();
    for (subject, entries) in &listed {
        let item = subject.describe();
        let signed = values.get(&subject.key()).copied().flatten();
        let shown = (!entries.is_empty()).then(|| chain_value(entries));
        if signed == shown && matches!(subject, Subject::Case) {
            out.case_latest = entries.last().map(|e| e.index);
        }
        if signed != shown {
            bad(
                &item,
                "completeness-invalid",
                format!(
                    "the {} record(s) listed are not the ones the signed reference map holds: records were removed, added or changed",
                    entries.len()
                ),
            );
            continue;
        }
        // The first disclosed version of a path: every later version must be disclosed too, so
        // that the file at the path is provably the current one.
        let first_disclosed = entries
            .iter()
            .find(|e| {
                whole_paths
                    && matches!(subject, Subject::Path(_))
                    && by_index.contains_key(&e.index)
            })
            .map(|e| e.index);
        for e in entries {
            if let Some(p) = by_index.get(&e.index) {
                if p.leaf != e.leaf
                    || p.record.kind() != e.kind
                    || !subjects_of(p.record).contains(subject)
                {
                    bad(
                        &item,
                        "completeness-invalid",
                        format!(
                            "entry #{} does not match the disclosed record at that index",
                            e.index
                        ),
                    );
                }
            } else if matches!(subject, Subject::Keys) {
                bad(&item, "key-record-withheld", format!("key record #{} is not in the bundle: the key state shown is incomplete (a revocation or rotation may be hidden)", e.index));
            } else if first_disclosed.is_some_and(|first| e.index > first) {
                bad(
                    &item,
                    "version-withheld",
                    format!(
                        "a later version (record #{}) of a disclosed document is not in the bundle: the disclosed one is not the current version",
                        e.index
                    ),
                );
            } else if e.kind == "retraction" && matches!(subject, Subject::About(_)) {
                bad(
                    &item,
                    "retraction-withheld",
                    format!(
                        "retraction #{} of a disclosed item is not in the bundle",
                        e.index
                    ),
                );
            } else if whole_paths && e.kind == "metadata" && matches!(subject, Subject::About(_)) {
                // Export always discloses metadata with its document: one missing was removed.
                // (A single-document proof carries none: there it is counted as withheld.)
                bad(
                    &item,
                    "metadata-withheld",
                    format!(
                        "metadata record #{} about a disclosed document is not in the bundle",
                        e.index
                    ),
                );
            }
        }
    }
    // Metadata is shown with its document: one about a document record not disclosed would be
    // shown about nothing, or taken for metadata of another version.
    let documents: BTreeSet<Digest> = disclosed
        .iter()
        .filter(|p| matches!(p.record, Record::Document(_)))
        .map(|p| p.id)
        .collect();
    for p in disclosed {
        if let Record::Metadata(m) = p.record {
            if !documents.contains(&m.target) {
                bad(
                    &format!("record #{}", p.index),
                    "metadata-unattached",
                    "a metadata record about a document record that is not disclosed".into(),
                );
            }
        }
    }
    // Every disclosed record must be in the chains of its own subjects (a set per subject:
    // a document with many disclosed annotations must not cost their square).
    let indices: BTreeMap<&Subject, BTreeSet<u64>> = listed
        .iter()
        .map(|(s, entries)| (s, entries.iter().map(|e| e.index).collect()))
        .collect();
    for p in disclosed {
        for subject in subjects_of(p.record) {
            if let Some(entries) = indices.get(&subject) {
                if !entries.contains(&p.index) {
                    bad(
                        &subject.describe(),
                        "completeness-invalid",
                        format!(
                            "the disclosed record #{} is about it but is not listed",
                            p.index
                        ),
                    );
                }
            }
        }
    }
    summarise(&listed, disclosed, &by_index, &mut out);
    out
}

fn summarise(
    listed: &BTreeMap<Subject, Vec<ChainEntry>>,
    disclosed: &[Proven],
    by_index: &HashMap<u64, &Proven>,
    out: &mut Outcome,
) {
    let mut withheld_total: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    for p in disclosed {
        let Record::Document(doc) = p.record else {
            continue;
        };
        let mut about: BTreeMap<u64, &str> = BTreeMap::new();
        for subject in [Subject::About(doc.content), Subject::About(p.id)] {
            for e in listed.get(&subject).into_iter().flatten() {
                about.insert(e.index, &e.kind);
            }
        }
        let withheld: Vec<(&u64, &&str)> = about
            .iter()
            .filter(|(i, _)| !by_index.contains_key(i))
            .collect();
        for (i, kind) in &withheld {
            withheld_total.entry(kind).or_default().insert(**i);
        }
        let mut line = format!(
            "all {} record(s) about it: {} disclosed, {} withheld",
            about.len(),
            about.len() - withheld.len(),
            withheld.len()
        );
        let later = listed
            .get(&Subject::Path(doc.path.clone()))
            .into_iter()
            .flatten()
            .filter(|e| e.index > p.index)
            .count();
        if later > 0 {
            line.push_str(&format!(
                "; {later} later version(s) of '{}' exist{}",
                doc.path,
                if listed
                    .get(&Subject::Path(doc.path.clone()))
                    .into_iter()
                    .flatten()
                    .any(|e| e.index > p.index && !by_index.contains_key(&e.index))
                {
                    " (not all disclosed)"
                } else {
                    ""
                }
            ));
        }
        out.per_document.insert(p.id, line);
    }
    out.proven.push(format!(
        "complete disclosure: for every disclosed document and record, all records about it are shown (disclosed, or withheld by leaf hash), and the whole key state ({} key record(s)) is disclosed, as the signed reference map commits",
        listed.get(&Subject::Keys).map_or(0, Vec::len)
    ));
    if !withheld_total.is_empty() {
        let parts: Vec<String> = withheld_total
            .iter()
            .map(|(k, v)| format!("{} {k}(s)", v.len()))
            .collect();
        out.not_proven.push(format!(
            "the content of the records about disclosed documents that were withheld ({}): only their existence and kind are proven",
            parts.join(", ")
        ));
    }
}

/// The section for a bundle or proof of checkpoint `checkpoint` disclosing `disclosed`, made
/// from `all` the records it covers (log order). `None` for a format-1 checkpoint. Proofs come
/// from the on-disk map when it holds the checkpoint's version, else from a map rebuilt here;
/// either way the result is checked against the signed root before it is used.
pub fn for_checkpoint(
    archive: &crate::archive::Archive,
    log: &crate::archive::log::Log,
    checkpoint: &crate::core::checkpoint::Checkpoint,
    disclosed: &[(Digest, &Record)],
    all: &[crate::archive::query::LoggedRecord],
) -> crate::error::Result<Option<Completeness>> {
    use crate::core::refmap::MemoryMap;
    use crate::error::Error;
    let Some(refs) = checkpoint.refs else {
        return Ok(None);
    };
    let size = checkpoint.size;
    let leaves = log.leaf_hashes(0, size)?;
    let covered: Vec<(u64, Digest, &Record)> = all
        .iter()
        .filter(|r| r.index < size)
        .filter_map(|r| {
            leaves
                .get(r.index as usize)
                .map(|l| (r.index, *l, &r.record))
        })
        .collect();
    let subjects = required_subjects(disclosed.iter().map(|(id, r)| (id, *r)));
    let from_store = |keys: &[Digest]| -> crate::error::Result<MultiProof> {
        let store = archive.refmap()?;
        match store.at(size)?.filter(|v| v.root == refs) {
            Some(version) => store.prove_many(&version, keys),
            None => {
                let mut map = MemoryMap::new();
                for (index, leaf, record) in &covered {
                    map.add_record(*index, leaf, record);
                }
                Ok(map.prove_many(keys))
            }
        }
    };
    let section = build(&subjects, covered.iter().copied(), from_store)?;
    // Never hand over a section that does not check against the signed root.
    let steps: Vec<Step> = section.proof.iter().filter_map(|s| parse_step(s)).collect();
    let keys: Vec<Digest> = subjects.iter().map(Subject::key).collect();
    let proof = MultiProof { steps };
    if proof.verify(&refs, &keys).is_err() {
        return Err(Error::Corrupt {
            path: archive.root().join("log/refmap"),
            why: format!(
                "the reference map does not match checkpoint {}; run `evidentia verify`",
                checkpoint.number
            ),
        });
    }
    Ok(Some(section))
}
