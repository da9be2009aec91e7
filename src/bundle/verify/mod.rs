//! Verifying a bundle offline, as a recipient who trusts nothing in it.
//!
//! The bundle is read, never written. Unsafe entries (symlinks, devices, paths that escape,
//! names that collide by case) are refused before any file is read; every payload file is
//! hashed against the BagIt manifest and SHA256SUMS; every record is re-parsed canonically and
//! its inclusion proof checked against the signed checkpoint's root; every document's bytes
//! are checked against its record; the checkpoint's signatures are checked against the trust
//! file, optionally pinned by its hash.

mod case;
mod decrypted;
mod disclosed;
pub mod sealed;
mod tag_files;

pub(super) use disclosed::document_item;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::archive::checkpoints::{CheckpointStore, StoredCheckpoint};
use crate::archive::fsutil;
use crate::core::checkpoint::Checkpoint;
use crate::core::digest::Digest;
use crate::core::key::VerifierKey;
use crate::core::merkle;
use crate::core::record::KeyRecord;
use crate::core::timestamp::Timestamp;
use crate::error::{Error, Result};
use crate::trust::TrustedKey;
use crate::verification::lineage::Signers;
use crate::verification::recipient::{self, RecipientChecks};
use crate::verification::{CheckpointSummary, ReportCore, Trust};

use super::inspect::{check_bag, extract_tar, read_bytes, read_text, unpacked_root, walk};
use super::manifest::{BundleManifest, ListedHex, BUNDLE_FORMAT, MAX_MANIFEST_LEN};

#[derive(Debug, Clone)]
pub struct BundleVerifyOptions {
    pub trust: Trust,
    pub require: usize,
    /// SHA-256 of the checkpoint text, received out of band.
    pub checkpoint_hash: Option<Digest>,
    /// Witnesses and a held checkpoint (`--since`).
    pub recipient: RecipientChecks,
    /// The recipient's age identity file (`--identity`): decrypt an encrypted bundle's
    /// documents and check their plaintext against the records.
    pub identity: Option<crate::archive::verify::encrypted::VerifyIdentity>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemReport {
    pub path: String,
    pub content: String,
    pub size: u64,
    pub file: String,
    pub ok: bool,
    /// Whether the document's bytes were checked against its record's digest: false for an
    /// encrypted document not decrypted (only its ciphertext's shape and size were checked).
    pub content_checked: bool,
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
    /// Origin, checkpoint, verdict, findings, proven and not proven: the part every verifier
    /// shares.
    #[serde(flatten)]
    pub core: ReportCore,
    pub documents: Vec<ItemReport>,
    pub records_checked: u64,
    /// Witnesses with a valid cosignature on the checkpoint (from `--witness-trust`).
    pub witnesses: Vec<String>,
    /// RFC 3161 time-stamp tokens of the checkpoint.
    pub timestamps: Vec<recipient::TimestampReport>,
    /// The case title, from a disclosed `case` record (None: none, or not the latest).
    pub case: Option<case::BundleCase>,
    /// An encrypted bundle (`export --encrypt-to`): what was checked of its documents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionReport>,
    /// The encrypted annotation/custody fields checked against their records (§23.10).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sealed_fields: Vec<sealed::SealedFieldsReport>,
}

/// The levels at which an encrypted bundle's documents were checked (FORMAT.md §23.8).
#[derive(Debug, Clone, Default, Serialize)]
pub struct EncryptionReport {
    pub scheme: String,
    /// How many X25519 recipients each document file is encrypted to.
    pub recipients: u64,
    /// Encrypted documents listed.
    pub documents: u64,
    /// Of those, how many were decrypted and their plaintext matched the record.
    pub plaintext_checked: u64,
    /// How many the given identity could not decrypt (encrypted to other keys).
    pub not_a_recipient: u64,
}

impl EncryptionReport {
    /// Documents whose plaintext was not checked against the record.
    pub fn unchecked(&self) -> u64 {
        self.documents - self.plaintext_checked
    }
}

impl BundleReport {
    pub(super) fn new() -> BundleReport {
        BundleReport {
            format: "evidentia-bundle-verify-report/2",
            core: ReportCore::new(false),
            documents: Vec::new(),
            records_checked: 0,
            witnesses: Vec::new(),
            timestamps: Vec::new(),
            case: None,
            encryption: None,
            sealed_fields: Vec::new(),
        }
    }

    /// A stand-in while the bundle is being written (the report is rendered again after).
    pub fn pending() -> BundleReport {
        let mut report = BundleReport::new();
        report
            .core
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
        self.core.problem(item, code, detail);
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
    if !report.core.ok() {
        return Ok(finish(report));
    }
    verify_dir(&unpacked_root(scratch.path()), options)
}

/// Verifies an unpacked bundle directory. Reads only. The checks, in order; each reports into
/// the one report, and a check whose input is missing ends the list.
pub fn verify_dir(root: &Path, options: &BundleVerifyOptions) -> Result<BundleReport> {
    verify_written(root, options, &HashMap::new())
}

/// [`verify_dir`] for export's self-check: the payload files in `read_back` are not read again;
/// their digest and length are taken from it (export read each back right after writing it,
/// see `export::ReadBack`). Every other check is the recipient's, unchanged.
pub(super) fn verify_written(
    root: &Path,
    options: &BundleVerifyOptions,
    read_back: &HashMap<String, (Digest, u64)>,
) -> Result<BundleReport> {
    let mut report = BundleReport::new();
    report.core.signers_authenticated = options.trust.authenticates();
    let files = walk(root, &mut report)?;
    // Loaded by the caller (passphrase from --identity-passphrase-file, the environment or
    // the terminal); the path names it in messages.
    let identity = options
        .identity
        .as_ref()
        .map(|v| (v.0.source().to_path_buf(), &*v.0));
    let identities = identity.as_ref().map(|(_, i)| *i);
    // Read before the bag check, which reads each ciphertext it lists once for every level.
    let manifest = read_manifest(root, &files, &mut report);
    let ciphertexts = disclosed::ciphertext_files(manifest.as_ref(), identities);
    let bag = check_bag(root, &files, read_back, &ciphertexts, &mut report);
    drop(ciphertexts);
    crate::progress::check(crate::archive::verify::not_finished)?;
    let hashed = &bag.hashed;
    tag_files::check_tag_files(root, &files, &mut report);
    // Without checked documents, a report page may show no picture.
    let no_images = HashSet::new();
    let Some(manifest) = manifest else {
        tag_files::check_report_pages(root, &files, &no_images, &mut report);
        return Ok(finish(report));
    };
    let Some(stored) = read_checkpoint(root, &files, &manifest, options, &mut report) else {
        tag_files::check_report_pages(root, &files, &no_images, &mut report);
        return Ok(finish(report));
    };
    let cp = &stored.checkpoint;
    let found = disclosed::check_records(root, &files, &bag, &manifest, cp, &mut report);
    let sealed_encrypted = (manifest.sealed.iter()).any(|s| s.form != "clear");
    if identity.is_some() && manifest.encryption.is_none() && !sealed_encrypted {
        report.core.warn(
            "--identity",
            "identity-unused",
            "the bundle is not encrypted: its documents were checked without the identity",
        );
    }
    let decoded = &found.decoded;
    disclosed::check_documents(
        root,
        &files,
        &bag,
        &manifest,
        decoded,
        identities,
        &mut report,
    );
    let sealed_checked = sealed::check_sealed(
        root,
        &files,
        hashed,
        &manifest,
        decoded,
        identities,
        &mut report,
    );
    if let (Some((path, _)), Some(enc)) = (&identity, &report.encryption) {
        if enc.documents > 0 && enc.not_a_recipient == enc.documents {
            // A wrong key is the reader's mistake, not the bundle's: refuse, accuse no one.
            return Err(Error::BadInput {
                path: path.to_path_buf(),
                why: "none of its identities can decrypt this bundle's documents (they were \
                      encrypted to other keys): give the identity of the recipient the bundle \
                      was exported for, or verify without --identity at the ciphertext level"
                    .into(),
            });
        }
    }
    let images = tag_files::verified_images(&manifest, &found, &report);
    tag_files::check_report_pages(root, &files, &images, &mut report);
    let completeness = check_completeness(&manifest, cp, &found, &mut report);
    let signers = check_signatures(
        root,
        &files,
        &manifest,
        &stored,
        &found.key_events,
        options,
        &mut report,
    );
    let earlier_roots = check_consistency(&manifest, cp, &mut report);
    check_recipient(
        root,
        &files,
        hashed,
        &stored,
        &earlier_roots,
        &options.recipient,
        &mut report,
    );
    if report.core.ok() {
        let pinned = options.checkpoint_hash.or(options.recipient.pin).is_some();
        let case_latest = completeness.case_latest;
        state_proven(&manifest, cp, &signers, pinned, completeness, &mut report);
        sealed_checked.state(&mut report.core);
        case::report_case(cp, &found, case_latest, &mut report);
    }
    Ok(finish(report))
}

/// data/bundle.json: JSON of a known format with a canonical export time.
fn read_manifest(
    root: &Path,
    files: &HashSet<String>,
    report: &mut BundleReport,
) -> Option<BundleManifest> {
    // Bytes, not text: a bundle.json that is not UTF-8 is a bad manifest like any other.
    let json = read_bytes(root, files, "data/bundle.json", MAX_MANIFEST_LEN, report)?;
    let manifest: BundleManifest = match serde_json::from_slice(&json) {
        Ok(m) => m,
        Err(e) => {
            report.problem("data/bundle.json", "bad-manifest", e.to_string());
            return None;
        }
    };
    if manifest.format != BUNDLE_FORMAT && manifest.format != super::manifest::BUNDLE_FORMAT_1 {
        report.problem(
            "data/bundle.json",
            "bad-manifest",
            format!("unknown format '{}'", manifest.format),
        );
        return None;
    }
    if let Err(e) = Timestamp::parse_canonical(&manifest.exported_at) {
        report.problem(
            "data/bundle.json",
            "bad-manifest",
            format!("exported_at: {e}"),
        );
    }
    report.core.origin = Some(manifest.origin.clone());
    Some(manifest)
}

/// data/checkpoint: readable, the one data/bundle.json names, and the one every pin names.
fn read_checkpoint(
    root: &Path,
    files: &HashSet<String>,
    manifest: &BundleManifest,
    options: &BundleVerifyOptions,
    report: &mut BundleReport,
) -> Option<StoredCheckpoint> {
    if !files.contains("data/checkpoint") {
        report.problem(
            "data/checkpoint",
            "checkpoint-unreadable",
            "not a regular file in the bundle (absent, or a link or special file, not opened)",
        );
        return None;
    }
    let stored = match CheckpointStore::read(&root.join("data/checkpoint")) {
        Ok(stored) => stored,
        Err(e) => {
            report.problem("data/checkpoint", "checkpoint-unreadable", e.to_string());
            return None;
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
    Some(stored)
}

/// The checkpoint's signatures against the trust file (or the bundle's own keys), through the
/// disclosed key records' lineage; returns the names of the valid signers.
fn check_signatures(
    root: &Path,
    files: &HashSet<String>,
    manifest: &BundleManifest,
    stored: &StoredCheckpoint,
    key_events: &[(u64, KeyRecord)],
    options: &BundleVerifyOptions,
    report: &mut BundleReport,
) -> Vec<String> {
    let cp = &stored.checkpoint;
    let carried = || bundle_keys(root, files, report);
    let (base, whose) = options.trust.base_keys(carried, "keys the bundle carries");
    let signers = Signers::new(base, key_events, &manifest.origin);
    report.core.findings.extend(signers.refusal_warnings());
    let outcome = signers.evaluate(&stored.note, cp, options.require.max(1), whose);
    for (code, detail) in outcome.problems {
        report.problem(format!("checkpoint {}", cp.number), code, detail);
    }
    report.core.checkpoint = Some(CheckpointSummary::new(cp, outcome.signatures));
    outcome.valid_signers
}

/// Consistency proofs from earlier versions; returns the tree roots they prove, by size.
fn check_consistency(
    manifest: &BundleManifest,
    cp: &Checkpoint,
    report: &mut BundleReport,
) -> HashMap<u64, Digest> {
    let mut earlier_roots: HashMap<u64, Digest> = HashMap::new();
    for entry in &manifest.consistency {
        let root = hex_digest(&entry.root);
        let proof: Option<Vec<Digest>> = entry.proof.iter().map(ListedHex::digest).collect();
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
    earlier_roots
}

/// What the recipient brings: witnesses, a held checkpoint (`--since`) and TSA roots.
fn check_recipient(
    root: &Path,
    files: &HashSet<String>,
    hashed: &HashMap<String, String>,
    stored: &StoredCheckpoint,
    earlier_roots: &HashMap<u64, Digest>,
    checks: &RecipientChecks,
    report: &mut BundleReport,
) {
    let cp = &stored.checkpoint;
    report.witnesses =
        recipient::report_witnesses(&mut report.core, &stored.note, cp.number, checks);
    if let Some(held) = &checks.since {
        let text =
            fsutil::read_stored_text(&root.join("data/checkpoint"), 1 << 20).unwrap_or_default();
        let keys: Vec<VerifierKey> = bundle_keys(root, files, &mut BundleReport::new())
            .into_iter()
            .map(|t| t.key)
            .collect();
        let outcome = recipient::check_since(held, (cp, &stored.note, &text), &keys, |size| {
            earlier_roots.get(&size).copied()
        });
        recipient::report_since(&mut report.core, outcome);
    }
    let mut tokens = Vec::new();
    let mut names: Vec<&String> = hashed
        .keys()
        .filter(|f| f.starts_with("data/timestamps/") && f.ends_with(".tst"))
        .collect();
    names.sort();
    for name in names {
        match fsutil::read_stored(&root.join(name), crate::timestamp::MAX_TOKEN) {
            Ok(bytes) => tokens.push((name.clone(), bytes)),
            Err(e) => report.problem(name, "timestamp-unreadable", e.to_string()),
        }
    }
    let roots = checks.tsa_roots.as_deref();
    report.timestamps =
        recipient::report_timestamps(&mut report.core, cp.number, &tokens, &stored.note, roots);
}

/// The plain statements of what a bundle that passed every check proves, and what it does not.
fn state_proven(
    manifest: &BundleManifest,
    cp: &Checkpoint,
    valid_signers: &[String],
    pinned: bool,
    completeness: super::completeness::Outcome,
    report: &mut BundleReport,
) {
    let core = &mut report.core;
    match &report.encryption {
        None => core.proven.push(format!(
            "the {} disclosed document(s) are intact: their bytes match the SHA-256 digests in their records",
            manifest.documents.len()
        )),
        Some(enc) => super::encrypted::state_levels(enc, core),
    }
    decrypted::state_proven(manifest, report.encryption.is_some(), core);
    core.proven.push(format!(
        "all {} disclosed record(s) are included in checkpoint {} of archive '{}' (a tree of {} records, root {})",
        report.records_checked, cp.number, manifest.origin, cp.size, cp.root
    ));
    let signers_text = valid_signers.join(", ");
    if core.signers_authenticated {
        core.proven.push(format!(
            "checkpoint {} is signed by {signers_text}, trusted by your trust file",
            cp.number
        ));
    } else {
        core.not_proven.push(format!(
            "who signed: the signatures ({signers_text}) verify with keys the bundle itself carries, which anyone could have made; pass --trust with keys obtained from the signers"
        ));
    }
    if pinned {
        core.proven
            .push("the checkpoint is exactly the one pinned with --checkpoint-hash".into());
    } else {
        core.not_proven.push(
            "that this is the version you were told about: pin it with --checkpoint-hash".into(),
        );
    }
    core.proven.extend(completeness.proven);
    core.not_proven.extend(completeness.not_proven);
    let undisclosed = cp.size.saturating_sub(report.records_checked);
    if undisclosed > 0 {
        core.not_proven.push(format!(
            "anything about the {undisclosed} undisclosed record(s) beyond their existence under the signed root"
        ));
    }
    let claimed = cp.time.to_string();
    match recipient::time_statement(&report.timestamps, &claimed) {
        Ok(proven) => core.proven.push(proven),
        Err(not_proven) => core.not_proven.push(not_proven),
    }
}

/// The format-2 completeness section against the checkpoint's `refs` line; each disclosed
/// document's line: all records about it, k disclosed, m withheld.
fn check_completeness(
    manifest: &BundleManifest,
    cp: &Checkpoint,
    found: &disclosed::Disclosed,
    report: &mut BundleReport,
) -> super::completeness::Outcome {
    use super::completeness::{check_against_checkpoint, Holder};
    if cp.refs.is_some() && manifest.completeness.is_some() && manifest.format != BUNDLE_FORMAT {
        report.problem(
            "data/bundle.json",
            "bad-manifest",
            format!("a bundle of a format-2 checkpoint must say format '{BUNDLE_FORMAT}'"),
        );
    }
    let proven = found.proven_leaves.iter().filter_map(|(index, id, leaf)| {
        let record = found.decoded.get(id)?;
        Some((*index, *id, *leaf, record))
    });
    let holder = Holder {
        item: "data/bundle.json",
        claims_format_2: manifest.format == BUNDLE_FORMAT,
        missing: "the checkpoint commits to a reference map but the bundle shows no completeness section: records about the disclosed documents, or key records, may have been removed",
        whole_paths: true,
    };
    let section = manifest.completeness.as_ref();
    let outcome = check_against_checkpoint(section, holder, cp, proven, &mut report.core);
    for (item, doc) in report.documents.iter_mut().zip(&manifest.documents) {
        if let Some(line) = hex_digest(&doc.record).and_then(|id| outcome.per_document.get(&id)) {
            item.about = line.clone();
        }
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
    report.core.decide();
    // Contents not checked against their records are not proven, however intact the rest.
    let unchecked = report.encryption.as_ref().map_or(0, |e| e.unchecked());
    if unchecked > 0 && report.core.ok() {
        report.core.verdict = crate::verdict::Verdict::NotProvable;
    }
    report
}
