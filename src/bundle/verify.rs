//! Verifying a bundle offline, as a recipient who trusts nothing in it.
//!
//! The bundle is read, never written. Unsafe entries (symlinks, devices, paths that escape,
//! names that collide by case) are refused before any file is read; every payload file is
//! hashed against the BagIt manifest and SHA256SUMS; every record is re-parsed canonically and
//! its inclusion proof checked against the signed checkpoint's root; every document's bytes
//! are checked against its record; the checkpoint's signatures are checked against the trust
//! file, optionally pinned by its hash.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::archive::checkpoints::CheckpointStore;
use crate::archive::fsutil;
use crate::archive::verify::checkpoints::Signers;
use crate::archive::verify::recipient;
use crate::archive::verify::{Problem, SignatureReport, Trust};
use crate::core::digest::Digest;
use crate::core::key::VerifierKey;
use crate::core::merkle::{self, leaf_hash, verify_inclusion};
use crate::core::record::{KeyRecord, Record};
use crate::core::timestamp::Timestamp;
use crate::error::{Error, Result};
use crate::trust::TrustedKey;
use crate::verdict::Verdict;

use super::export::hash_file;
use super::inspect::{check_bag, extract_tar, read_bytes, read_text, safe_relative, walk};
use super::layout;
use super::manifest::{BundleManifest, BUNDLE_FORMAT, MAX_MANIFEST_LEN};

#[derive(Debug, Clone)]
pub struct BundleVerifyOptions {
    pub trust: Trust,
    pub require: usize,
    /// SHA-256 of the checkpoint text, received out of band.
    pub checkpoint_hash: Option<Digest>,
    /// Witnesses and a held checkpoint (`--since`).
    pub recipient: crate::archive::verify::recipient::RecipientChecks,
}

#[derive(Debug, Clone, Serialize)]
pub struct BundleCheckpoint {
    pub number: u64,
    pub size: u64,
    pub root: String,
    pub time: String,
    pub message: Option<String>,
    /// SHA-256 of the checkpoint text: what `--checkpoint-hash` pins.
    pub text_sha256: String,
    pub signatures: Vec<SignatureReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemReport {
    pub path: String,
    pub content: String,
    pub size: u64,
    pub file: String,
    pub ok: bool,
    /// Which version of its path this is ("older version 1 of …, replaced by …"); empty for
    /// the only disclosed version of a path.
    pub version: String,
    /// Format 2: "all N record(s) about it: k disclosed, m withheld", from the completeness
    /// section proven against the signed reference map; empty otherwise.
    pub about: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BundleReport {
    pub format: &'static str,
    pub ok: bool,
    /// `verified`, `intact-unauthenticated` or `failed`: what `ok` means for authenticity.
    pub verdict: Verdict,
    pub origin: Option<String>,
    pub checkpoint: Option<BundleCheckpoint>,
    pub signers_authenticated: bool,
    /// Plain statements of what the checks prove.
    pub proven: Vec<String>,
    /// What they do not prove.
    pub not_proven: Vec<String>,
    pub documents: Vec<ItemReport>,
    pub records_checked: u64,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    /// Witnesses with a valid cosignature on the checkpoint (from `--witness-trust`).
    pub witnesses: Vec<String>,
    /// RFC 3161 time-stamp tokens of the checkpoint.
    pub timestamps: Vec<recipient::TimestampReport>,
    /// Evidence when `--since` finds a fork.
    pub equivocation: Option<crate::audit::equivocation::Equivocation>,
}

impl BundleReport {
    pub(super) fn new() -> BundleReport {
        BundleReport {
            format: "evidentia-bundle-verify-report/1",
            ok: false,
            verdict: Verdict::Failed,
            origin: None,
            checkpoint: None,
            signers_authenticated: false,
            proven: Vec::new(),
            not_proven: Vec::new(),
            documents: Vec::new(),
            records_checked: 0,
            problems: Vec::new(),
            warnings: Vec::new(),
            witnesses: Vec::new(),
            timestamps: Vec::new(),
            equivocation: None,
        }
    }

    /// A stand-in while the bundle is being written (the report is rendered again after).
    pub fn pending() -> BundleReport {
        let mut report = BundleReport::new();
        report
            .not_proven
            .push("verification pending while the bundle is written".into());
        report
    }

    pub(super) fn problem(
        &mut self,
        item: impl Into<String>,
        code: &'static str,
        detail: impl Into<String>,
    ) {
        self.problems.push(Problem::new(item, code, detail));
    }
}

/// Verifies a bundle directory or tar file.
pub fn verify_bundle(path: &Path, options: &BundleVerifyOptions) -> Result<BundleReport> {
    let meta = fs::symlink_metadata(path).map_err(Error::io(path))?;
    if meta.is_dir() {
        return verify_dir(path, options);
    }
    if !meta.is_file() {
        return Err(Error::BadInput {
            path: path.to_path_buf(),
            why: "not a bundle directory or tar file".into(),
        });
    }
    let scratch = tempfile::tempdir().map_err(Error::io(std::env::temp_dir()))?;
    let mut report = BundleReport::new();
    extract_tar(path, scratch.path(), &mut report)?;
    if !report.problems.is_empty() {
        return Ok(finish(report));
    }
    verify_dir(scratch.path(), options)
}

/// Verifies an unpacked bundle directory. Reads only.
pub fn verify_dir(root: &Path, options: &BundleVerifyOptions) -> Result<BundleReport> {
    let mut report = BundleReport::new();
    report.signers_authenticated = matches!(options.trust, Trust::Keys(_));
    let files = walk(root, &mut report)?;
    let hashed = check_bag(root, &files, &mut report);

    // Bytes, not text: a bundle.json that is not UTF-8 is a bad manifest like any other.
    let Some(json) = read_bytes(
        root,
        &files,
        "data/bundle.json",
        MAX_MANIFEST_LEN,
        &mut report,
    ) else {
        return Ok(finish(report));
    };
    let manifest: BundleManifest = match serde_json::from_slice(&json) {
        Ok(m) => m,
        Err(e) => {
            report.problem("data/bundle.json", "bad-manifest", e.to_string());
            return Ok(finish(report));
        }
    };
    if manifest.format != BUNDLE_FORMAT && manifest.format != super::manifest::BUNDLE_FORMAT_1 {
        report.problem(
            "data/bundle.json",
            "bad-manifest",
            format!("unknown format '{}'", manifest.format),
        );
        return Ok(finish(report));
    }
    if let Err(e) = Timestamp::parse_canonical(&manifest.exported_at) {
        report.problem(
            "data/bundle.json",
            "bad-manifest",
            format!("exported_at: {e}"),
        );
    }
    report.origin = Some(manifest.origin.clone());

    if !files.contains("data/checkpoint") {
        report.problem(
            "data/checkpoint",
            "checkpoint-unreadable",
            "not a regular file in the bundle (absent, or a link or special file, not opened)",
        );
        return Ok(finish(report));
    }
    let stored = match CheckpointStore::read(&root.join("data/checkpoint")) {
        Ok(stored) => stored,
        Err(e) => {
            report.problem("data/checkpoint", "checkpoint-unreadable", e.to_string());
            return Ok(finish(report));
        }
    };
    let cp = &stored.checkpoint;
    if cp.origin != manifest.origin
        || cp.number != manifest.checkpoint
        || cp.size != manifest.tree_size
    {
        report.problem(
            "data/checkpoint",
            "checkpoint-mismatch",
            "the checkpoint's origin, number or size differ from data/bundle.json",
        );
    }
    let text_hash = cp.text_hash();
    // Every pin given is checked: `--checkpoint-hash` and `--pin` both, when both are given.
    let pins = [options.checkpoint_hash, options.recipient.pin];
    for (i, pin) in pins.iter().enumerate() {
        let Some(pin) = pin else { continue };
        if *pin != text_hash && !pins[..i].contains(&Some(*pin)) {
            report.problem(
                "data/checkpoint",
                "checkpoint-pin-mismatch",
                format!("its text hashes to {text_hash}, not the pinned {pin}: this is not the version you were told about"),
            );
        }
    }

    // Records: canonical bytes named by their digest, each proven in the checkpoint's tree.
    let mut decoded: HashMap<Digest, Record> = HashMap::new();
    let mut key_events: Vec<(u64, KeyRecord)> = Vec::new();
    let mut indices = HashSet::new();
    // Key records take effect in log order: a list out of order could skip a rotation.
    if manifest.records.windows(2).any(|w| w[0].index > w[1].index) {
        report.problem(
            "data/bundle.json",
            "bad-manifest",
            "the records are not listed in log order",
        );
    }
    // Records whose inclusion proof verified: (index, id, leaf hash), for completeness.
    let mut proven_leaves: Vec<(u64, Digest, Digest)> = Vec::new();
    for disclosed in &manifest.records {
        let item = format!("record #{} ({})", disclosed.index, disclosed.id);
        let file = format!("data/records/{}.cbor", disclosed.id);
        let Some(id) = hex_digest(&disclosed.id) else {
            report.problem(
                &item,
                "bad-manifest",
                "the record id is not a SHA-256 digest",
            );
            continue;
        };
        if !indices.insert(disclosed.index) || disclosed.index >= cp.size {
            report.problem(
                &item,
                "proof-invalid",
                "the index is repeated or outside the checkpoint's tree",
            );
            continue;
        }
        if !hashed.contains_key(&file) {
            report.problem(
                &item,
                "missing-file",
                format!("{file} is missing or failed its manifest check"),
            );
            continue;
        }
        let bytes = match fsutil::read_limited(
            &root.join(&file),
            crate::core::cbor::MAX_ENCODED_LEN as u64,
        ) {
            Ok(bytes) => bytes,
            Err(e) => {
                report.problem(&item, "record-unreadable", e.to_string());
                continue;
            }
        };
        if Digest::of(&bytes) != id {
            report.problem(
                &item,
                "record-corrupt",
                "the file's SHA-256 is not its name",
            );
            continue;
        }
        let proof: Option<Vec<Digest>> = disclosed.proof.iter().map(|h| hex_digest(h)).collect();
        let proven = proof.is_some_and(|p| {
            verify_inclusion(&leaf_hash(&bytes), disclosed.index, cp.size, &p, &cp.root)
        });
        if proven {
            proven_leaves.push((disclosed.index, id, leaf_hash(&bytes)));
        } else {
            report.problem(
                &item,
                "proof-invalid",
                format!(
                    "the inclusion proof does not lead to checkpoint {}'s root",
                    cp.number
                ),
            );
        }
        match Record::decode(&bytes) {
            Ok(record) => {
                if record.kind() != disclosed.kind {
                    report.problem(
                        &item,
                        "bad-manifest",
                        "the kind in data/bundle.json differs from the record",
                    );
                }
                if let Record::Key(key) = &record {
                    if !key.endorsement_valid(&manifest.origin) {
                        report.problem(
                            &item,
                            "key-endorsement-invalid",
                            "the key record's endorsement does not verify",
                        );
                    }
                    key_events.push((disclosed.index, (**key).clone()));
                }
                decoded.insert(id, record);
            }
            Err(e) => report.problem(&item, "record-invalid", e.to_string()),
        }
        report.records_checked += 1;
    }
    let listed: HashSet<String> = manifest
        .records
        .iter()
        .map(|r| format!("data/records/{}.cbor", r.id))
        .collect();
    for file in files.iter().filter(|f| f.starts_with("data/records/")) {
        if !listed.contains(file) {
            report.problem(
                file,
                "unlisted-record",
                "a record file that data/bundle.json does not list",
            );
        }
    }

    // Documents: bytes must match their record.
    for doc in &manifest.documents {
        let record = hex_digest(&doc.record).and_then(|id| decoded.get(&id));
        let matches_record = matches!(record, Some(Record::Document(d))
            if d.content.to_hex() == doc.content && d.size == doc.size && d.path == doc.path);
        let mut ok = true;
        if !matches_record {
            report.problem(
                &doc.path,
                "document-mismatch",
                "no disclosed document record has this path, digest and size",
            );
            ok = false;
        }
        let in_area =
            doc.file.starts_with(layout::CURRENT_AREA) || doc.file.starts_with(layout::OTHER_AREA);
        if !in_area || safe_relative(&doc.file).is_none() {
            report.problem(
                &doc.path,
                "unsafe-path",
                format!(
                    "document file '{}' is outside {} and {}",
                    doc.file,
                    layout::CURRENT_AREA,
                    layout::OTHER_AREA
                ),
            );
            ok = false;
        } else if !files.contains(&doc.file) {
            // Never opened: absent, or a link or special file the walk refused.
            report.problem(
                &doc.path,
                "content-missing",
                format!("{} is not a regular file in the bundle", doc.file),
            );
            ok = false;
        } else {
            // The manifest check already hashed every payload file it lists (once, in
            // parallel): a file that passed it hashes to its manifest digest.
            let already = hashed.get(&doc.file).and_then(|hex| hex_digest(hex));
            match already.map_or_else(|| hash_file(&root.join(&doc.file)), Ok) {
                Ok(found) if found.to_hex() == doc.content => {
                    let size = fs::metadata(root.join(&doc.file))
                        .map(|m| m.len())
                        .unwrap_or(0);
                    if size != doc.size {
                        report.problem(
                            &doc.path,
                            "content-corrupt",
                            format!("{size} bytes, the record says {}", doc.size),
                        );
                        ok = false;
                    }
                }
                Ok(found) => {
                    report.problem(
                        &doc.path,
                        "content-corrupt",
                        format!(
                            "the file hashes to {found}, the record says {}",
                            doc.content
                        ),
                    );
                    ok = false;
                }
                Err(e) => {
                    report.problem(&doc.path, "content-missing", e.to_string());
                    ok = false;
                }
            }
        }
        report.documents.push(ItemReport {
            path: doc.path.clone(),
            content: doc.content.clone(),
            size: doc.size,
            file: doc.file.clone(),
            ok,
            version: String::new(),
            about: String::new(),
        });
    }
    let placed = layout::check(&manifest, &decoded, &files, &mut report);
    for (item, doc) in report.documents.iter_mut().zip(&manifest.documents) {
        if let Some(place) = placed.get(&doc.record) {
            item.version = place.label(&doc.path);
            item.ok &= place.file == doc.file;
        }
    }
    let listed: HashSet<&str> = manifest
        .documents
        .iter()
        .map(|doc| doc.record.as_str())
        .collect();
    for (id, record) in &decoded {
        if let Record::Document(d) = record {
            if !listed.contains(id.to_hex().as_str()) {
                report.problem(
                    &d.path,
                    "document-missing",
                    "a disclosed document record whose content is not in the bundle",
                );
            }
        }
    }

    // Completeness (format 2): all records about each disclosed item, and the key state.
    let completeness = check_completeness(&manifest, cp, &proven_leaves, &decoded, &mut report);
    for (item, doc) in report.documents.iter_mut().zip(&manifest.documents) {
        if let Some(line) =
            hex_digest(&doc.record).and_then(|id| completeness.per_document.get(&id))
        {
            item.about = line.clone();
        }
    }

    // Signatures.
    let base: Vec<TrustedKey> = match &options.trust {
        Trust::Keys(keys) => keys.clone(),
        Trust::ArchiveKeys => bundle_keys(root, &files, &mut report),
    };
    key_events.sort_by_key(|(index, _)| *index);
    let signers = Signers::new(base, &key_events, &manifest.origin);
    report.warnings.extend(signers.refusal_warnings());
    let whose = match options.trust {
        Trust::Keys(_) => "keys in the trust file",
        Trust::ArchiveKeys => "keys the bundle carries",
    };
    let outcome = signers.evaluate(&stored.note, cp, options.require.max(1), whose);
    for (code, detail) in outcome.problems {
        report.problem(format!("checkpoint {}", cp.number), code, detail);
    }
    report.checkpoint = Some(BundleCheckpoint {
        number: cp.number,
        size: cp.size,
        root: cp.root.to_hex(),
        time: cp.time.to_string(),
        message: cp.message.clone(),
        text_sha256: text_hash.to_hex(),
        signatures: outcome.signatures,
    });

    // Consistency proofs from earlier versions, and what the recipient brings.
    let mut earlier_roots: HashMap<u64, Digest> = HashMap::new();
    for entry in &manifest.consistency {
        let root = hex_digest(&entry.root);
        let proof: Option<Vec<Digest>> = entry.proof.iter().map(|h| hex_digest(h)).collect();
        let holds = matches!((&root, &proof), (Some(r), Some(p)) if merkle::verify_consistency(entry.size, cp.size, r, &cp.root, p));
        match (holds, root) {
            (true, Some(root)) => {
                earlier_roots.insert(entry.size, root);
            }
            _ => report.problem(
                format!("consistency from checkpoint {}", entry.checkpoint),
                "consistency-invalid",
                "the proof does not show this version contains that earlier one",
            ),
        }
    }
    earlier_roots.insert(cp.size, cp.root);
    let checks = &options.recipient;
    let witnesses = recipient::witnesses_on(&stored.note, &checks.witnesses);
    if checks.require_witnesses > witnesses.len() {
        report.problem(
            format!("checkpoint {}", cp.number),
            "witnesses-insufficient",
            format!(
                "{} valid witness cosignature(s), {} required",
                witnesses.len(),
                checks.require_witnesses
            ),
        );
    }
    if let Some(held) = &checks.since {
        let text = fs::read_to_string(root.join("data/checkpoint")).unwrap_or_default();
        let keys: Vec<VerifierKey> = bundle_keys(root, &files, &mut BundleReport::new())
            .into_iter()
            .map(|t| t.key)
            .collect();
        match recipient::check_since(held, (cp, &stored.note, &text), &keys, |size| {
            earlier_roots.get(&size).copied()
        }) {
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
    report.witnesses = witnesses;
    let mut tokens = Vec::new();
    let mut names: Vec<&String> = hashed
        .keys()
        .filter(|f| f.starts_with("data/timestamps/") && f.ends_with(".tst"))
        .collect();
    names.sort();
    for name in names {
        match fsutil::read_limited(&root.join(name), crate::timestamp::MAX_TOKEN) {
            Ok(bytes) => tokens.push((name.clone(), bytes)),
            Err(e) => report.problem(name, "timestamp-unreadable", e.to_string()),
        }
    }
    let (timestamps, problems) =
        recipient::check_timestamps(&tokens, &stored.note, checks.tsa_roots.as_deref());
    for (code, detail) in problems {
        report.problem(format!("checkpoint {}", cp.number), code, detail);
    }
    report.timestamps = timestamps;

    // The graded verdict.
    if report.problems.is_empty() {
        report.proven.push(format!(
            "the {} disclosed document(s) are intact: their bytes match the SHA-256 digests in their records",
            manifest.documents.len()
        ));
        report.proven.push(format!(
            "all {} disclosed record(s) are included in checkpoint {} of archive '{}' (a tree of {} records, root {})",
            report.records_checked, cp.number, manifest.origin, cp.size, cp.root
        ));
        let signers_text = outcome.valid_signers.join(", ");
        if report.signers_authenticated {
            report.proven.push(format!(
                "checkpoint {} is signed by {signers_text}, trusted by your trust file",
                cp.number
            ));
        } else {
            report.not_proven.push(format!(
                "who signed: the signatures ({signers_text}) verify with keys the bundle itself carries, which anyone could have made; pass --trust with keys obtained from the signers"
            ));
        }
        if options.checkpoint_hash.or(options.recipient.pin).is_some() {
            report
                .proven
                .push("the checkpoint is exactly the one pinned with --checkpoint-hash".into());
        } else {
            report.not_proven.push(
                "that this is the version you were told about: pin it with --checkpoint-hash"
                    .into(),
            );
        }
        report.proven.extend(completeness.proven);
        report.not_proven.extend(completeness.not_proven);
        let undisclosed = cp.size.saturating_sub(report.records_checked);
        if undisclosed > 0 {
            report.not_proven.push(format!(
                "anything about the {undisclosed} undisclosed record(s) beyond their existence under the signed root"
            ));
        }
        let trusted_times: Vec<String> = report
            .timestamps
            .iter()
            .filter(|t| t.status == "valid")
            .map(|t| format!("{} by {}", t.time, t.tsa))
            .collect();
        if trusted_times.is_empty() {
            report.not_proven.push(format!(
                "when the checkpoint was made: '{}' is the signer's own claim (no trusted time-stamp checked against --tsa-roots)",
                cp.time
            ));
        } else {
            report.proven.push(format!(
                "the signed checkpoint existed by {} (RFC 3161 time-stamps chained to your --tsa-roots)",
                trusted_times.join("; ")
            ));
        }
    }
    Ok(finish(report))
}

/// The format-2 completeness section against the checkpoint's `refs` line. The signed
/// checkpoint decides the format: one that commits to a reference map requires the section, so
/// relabelling a bundle as format 1 (or deleting the section) switches nothing off.
fn check_completeness(
    manifest: &BundleManifest,
    cp: &crate::core::checkpoint::Checkpoint,
    proven_leaves: &[(u64, Digest, Digest)],
    decoded: &HashMap<Digest, Record>,
    report: &mut BundleReport,
) -> super::completeness::Outcome {
    use super::completeness::{check, Outcome, Proven};
    let Some(refs) = cp.refs else {
        if manifest.completeness.is_some() || manifest.format == BUNDLE_FORMAT {
            report.problem(
                "data/bundle.json",
                "bad-manifest",
                "a format-1 checkpoint (no reference map) cannot have a completeness section",
            );
        }
        return Outcome {
            not_proven: vec![crate::archive::verify::FORMAT1_COMPLETENESS.into()],
            ..Outcome::default()
        };
    };
    let Some(section) = &manifest.completeness else {
        report.problem(
            "data/bundle.json",
            "completeness-missing",
            "the checkpoint commits to a reference map but the bundle shows no completeness section: records about the disclosed documents, or key records, may have been removed",
        );
        return Outcome::default();
    };
    if manifest.format != BUNDLE_FORMAT {
        report.problem(
            "data/bundle.json",
            "bad-manifest",
            format!("a bundle of a format-2 checkpoint must say format '{BUNDLE_FORMAT}'"),
        );
    }
    let proven: Vec<Proven> = proven_leaves
        .iter()
        .filter_map(|(index, id, leaf)| {
            decoded.get(id).map(|record| Proven {
                index: *index,
                id: *id,
                leaf: *leaf,
                record,
            })
        })
        .collect();
    let outcome = check(section, &refs, &proven, cp.size);
    for (item, code, why) in &outcome.problems {
        report.problem(item, code, why.clone());
    }
    outcome
}

fn bundle_keys(root: &Path, files: &HashSet<String>, report: &mut BundleReport) -> Vec<TrustedKey> {
    let mut keys = Vec::new();
    for file in files
        .iter()
        .filter(|f| f.starts_with("data/keys/") && f.ends_with(".pub"))
    {
        let parsed = read_text(root, files, file, 4096, report)
            .and_then(|t| VerifierKey::parse(t.trim_end()).ok());
        match parsed {
            Some(key) => keys.push(TrustedKey::new(key)),
            None => report.problem(file, "bad-key", "not a public key line"),
        }
    }
    keys
}

/// A digest in data/bundle.json: exactly 64 lowercase hex digits, as export writes it, so that
/// one digest has one spelling (no "sha256:" prefix, no capitals) for every verifier.
fn hex_digest(text: &str) -> Option<Digest> {
    Digest::from_lower_hex(text.as_bytes())
}

fn finish(mut report: BundleReport) -> BundleReport {
    report.ok = report.problems.is_empty();
    report.verdict = Verdict::decide(report.problems.len(), report.signers_authenticated);
    report
}
