//! Single-document proofs: one JSON file that, with the document's bytes, shows the document
//! belongs to a signed archive version (`evidentia prove` / `evidentia verify-proof`).
//!
//! ```json
//! { "format": "evidentia-proof/1", "origin": "...", "checkpoint": "<signed note text>",
//!   "keys": ["name+keyid+base64", ...],
//!   "record": { "index": 3, "bytes": "<hex>", "proof": ["<hex>", ...] },
//!   "key_records": [ { "index": 0, "bytes": "<hex>", "proof": [...] } ] }
//! ```

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::archive::checkpoints::CheckpointStore;
use crate::archive::query::{self, Target};
use crate::archive::{fsutil, Archive};
use crate::core::checkpoint::Checkpoint;
use crate::core::digest::Digest;
use crate::core::key::VerifierKey;
use crate::core::merkle::{self, leaf_hash, verify_inclusion};
use crate::core::record::{KeyRecord, PlaintextBinding, Record};
use crate::crypt::Identities;
use crate::error::{Error, Result};
use crate::trust::TrustedKey;
use crate::verification::lineage::Signers;
use crate::verification::{CheckpointSummary, ReportCore, Trust};

use super::export::hash_file;

/// Proofs of format-2 checkpoints: with retractions and a completeness section.
pub const PROOF_FORMAT: &str = "evidentia-proof/2";
/// Proofs of format-1 checkpoints.
pub const PROOF_FORMAT_1: &str = "evidentia-proof/1";
const MAX_PROOF_FILE: u64 = 16 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenRecord {
    pub index: u64,
    /// The record's canonical bytes, hex.
    pub bytes: String,
    pub proof: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofFile {
    pub format: String,
    pub origin: String,
    /// The signed checkpoint, as its file holds it.
    pub checkpoint: String,
    pub keys: Vec<String>,
    pub record: ProvenRecord,
    /// Every key record in the checkpoint, for rotations and revocations.
    pub key_records: Vec<ProvenRecord>,
    /// Every retraction of the document record that the checkpoint covers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retractions: Vec<ProvenRecord>,
    /// Format 2: all records about the document and the key state, proven against the
    /// checkpoint's reference map (`bundle::completeness`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<super::completeness::Completeness>,
}

fn prove_record(
    nodes: &mut crate::archive::log::StoredNodes<'_>,
    archive: &Archive,
    index: u64,
    id: &Digest,
    size: u64,
) -> Result<ProvenRecord> {
    let bytes = archive
        .store()
        .read_verified(id, crate::core::cbor::MAX_ENCODED_LEN as u64)?;
    let proof = merkle::inclusion_proof(nodes, index, size)?.map_err(|e| Error::Corrupt {
        path: archive.root().join("log"),
        why: format!("no inclusion proof for record #{index}: {e:?}"),
    })?;
    Ok(ProvenRecord {
        index,
        bytes: hex::encode(bytes),
        proof: proof.iter().map(Digest::to_hex).collect(),
    })
}

/// Builds the proof that a document is in checkpoint `checkpoint` (default: the latest).
pub fn prove(archive: &Archive, id: &str, checkpoint: Option<u64>) -> Result<ProofFile> {
    let store = archive.checkpoints();
    let stored = store.select(checkpoint)?;
    let size = stored.checkpoint.size;
    let (log, index) = archive.current_index()?;
    let (record_index, record_id) = match query::resolve_target(archive, &log, &index, id)? {
        Target::Record {
            index,
            id: rid,
            record,
        } if matches!(*record, Record::Document(_)) => (index, rid),
        Target::Record { record, .. } => {
            return Err(Error::WrongTarget {
                id: id.to_string(),
                what: format!("a '{}' record", record.kind()),
                hint: "prove a document: give its digest, a prefix or its logical path",
            })
        }
        Target::Document { records, .. } => {
            // The latest document record for this content that the checkpoint covers.
            let mut found = None;
            for rid in records.iter().rev() {
                if let Some(position) = log.position(rid)? {
                    if position < size {
                        found = Some((position, *rid));
                        break;
                    }
                }
            }
            found.ok_or_else(|| Error::WrongTarget {
                id: id.to_string(),
                what: "not sealed by this checkpoint".into(),
                hint: "run `evidentia seal`, or choose a later --checkpoint",
            })?
        }
    };
    if record_index >= size {
        return Err(Error::WrongTarget {
            id: id.to_string(),
            what: "not sealed by this checkpoint".into(),
            hint: "run `evidentia seal`, or choose a later --checkpoint",
        });
    }
    let mut nodes = log.nodes();
    let record = prove_record(&mut nodes, archive, record_index, &record_id, size)?;
    let all: Vec<query::LoggedRecord> = query::records(archive)?
        .into_iter()
        .filter(|r| r.index < size)
        .collect();
    let mut key_records = Vec::new();
    let mut retractions = Vec::new();
    let mut disclosed: Vec<(Digest, &Record)> = Vec::new();
    for logged in &all {
        let list = match &logged.record {
            Record::Key(_) => &mut key_records,
            Record::Retraction(x) if x.target == record_id => &mut retractions,
            Record::Document(_) if logged.index == record_index => {
                disclosed.push((logged.id, &logged.record));
                continue;
            }
            _ => continue,
        };
        list.push(prove_record(
            &mut nodes,
            archive,
            logged.index,
            &logged.id,
            size,
        )?);
        disclosed.push((logged.id, &logged.record));
    }
    let completeness =
        super::completeness::for_checkpoint(archive, &log, &stored.checkpoint, &disclosed, &all)?;
    let checkpoint_text = fsutil::read_stored_text(
        &stored.path,
        crate::archive::checkpoints::MAX_CHECKPOINT_FILE,
    )?;
    Ok(ProofFile {
        format: if completeness.is_some() {
            PROOF_FORMAT
        } else {
            PROOF_FORMAT_1
        }
        .into(),
        origin: archive.origin().to_string(),
        checkpoint: checkpoint_text,
        keys: archive
            .known_keys()?
            .iter()
            .map(|k| k.to_string())
            .collect(),
        record,
        key_records,
        retractions,
        completeness,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct ProofReport {
    pub format: &'static str,
    /// Origin, checkpoint (with its signatures), verdict, findings, proven and not proven: the
    /// part every verifier shares.
    #[serde(flatten)]
    pub core: ReportCore,
    pub document: String,
    pub content: Option<String>,
    pub path: Option<String>,
    /// The archive withdrew this document: the reasons of its proven retractions.
    pub retracted: Vec<String>,
    /// What the given file was checked as: `content` (a document stored in the clear), or, for
    /// a document stored encrypted, `ciphertext` (the stored bytes) or `plaintext` (checked
    /// against the signed plaintext digest, or the commitment opened with `--identity`).
    pub checked_as: Option<&'static str>,
}

/// Records whose inclusion proofs verified: (index, id, leaf hash, record); and the key
/// records among them, for the signers' lineage.
#[derive(Default)]
struct Verified {
    records: Vec<(u64, Digest, Digest, Record)>,
    key_events: Vec<(u64, KeyRecord)>,
}

impl Verified {
    fn keep(&mut self, proven: &ProvenRecord, bytes: &[u8], record: &Record) {
        self.records.push((
            proven.index,
            Digest::of(bytes),
            leaf_hash(bytes),
            record.clone(),
        ));
    }
}

/// Checks a proof file against a document's bytes. The checks, in order, each reporting into
/// the one report.
pub fn verify_proof(
    proof_path: &Path,
    document: &Path,
    trust: &Trust,
    require: usize,
    identities: Option<&Identities>,
) -> Result<ProofReport> {
    let file = read_proof_file(proof_path)?;
    let stored = CheckpointStore::parse(proof_path, &file.checkpoint)?;
    let (note, cp) = (stored.note, stored.checkpoint);
    let mut report = ProofReport {
        format: PROOF_REPORT_FORMAT,
        core: ReportCore::new(trust.authenticates()),
        document: document.display().to_string(),
        content: None,
        path: None,
        retracted: Vec::new(),
        checked_as: None,
    };
    report.core.origin = Some(file.origin.clone());
    if cp.origin != file.origin {
        report.core.problem(
            "checkpoint",
            "checkpoint-origin",
            "signed for another archive",
        );
    }
    let mut verified = Verified::default();
    check_key_records(&file, &cp, &mut verified, &mut report);
    let document_id = open_record(&file.record, &cp).ok().map(|(bytes, record)| {
        verified.keep(&file.record, &bytes, &record);
        Digest::of(&bytes)
    });
    check_retractions(&file, &cp, document_id, &mut verified, &mut report);
    let unproven = check_document(&file, &cp, document, identities, &mut report)?;
    let completeness = check_completeness(&file, &cp, &verified.records, &mut report);
    let carried = || {
        let keys = file.keys.iter().filter_map(|k| VerifierKey::parse(k).ok());
        keys.map(TrustedKey::new).collect()
    };
    let (base, whose) = trust.base_keys(carried, "keys the proof carries");
    let signers = Signers::new(base, &verified.key_events, &file.origin);
    report.core.findings.extend(signers.refusal_warnings());
    let outcome = signers.evaluate(&note, &cp, require.max(1), whose);
    for (code, detail) in outcome.problems {
        report.core.problem("checkpoint", code, detail);
    }
    report.core.checkpoint = Some(CheckpointSummary::new(&cp, outcome.signatures));
    if report.core.ok() {
        state_proven(
            &file,
            &cp,
            &outcome.valid_signers,
            completeness,
            &mut report,
        );
    }
    report.core.decide();
    if let Some(why) = unproven {
        if report.core.ok() {
            report.core.not_proven.push(why);
            report.core.verdict = crate::verdict::Verdict::NotProvable;
        }
    }
    Ok(report)
}

/// The shape of `verify-proof --json`; version 2 carries the checkpoint as an object (the
/// shared report core's) instead of its number.
pub const PROOF_REPORT_FORMAT: &str = "evidentia-proof-verify-report/3";

fn read_proof_file(proof_path: &Path) -> Result<ProofFile> {
    let bytes = fsutil::read_limited(proof_path, MAX_PROOF_FILE)?;
    let file: ProofFile = serde_json::from_slice(&bytes).map_err(|e| Error::BadInput {
        path: proof_path.to_path_buf(),
        why: format!("not an evidentia proof file: {e}"),
    })?;
    if file.format != PROOF_FORMAT && file.format != PROOF_FORMAT_1 {
        return Err(Error::BadInput {
            path: proof_path.to_path_buf(),
            why: format!("unknown proof format '{}'", file.format),
        });
    }
    Ok(file)
}

/// A proven record's bytes and record, when its inclusion proof leads to the checkpoint's root.
fn open_record(
    proven: &ProvenRecord,
    cp: &Checkpoint,
) -> std::result::Result<(Vec<u8>, Record), String> {
    let bytes =
        hex::decode(&proven.bytes).map_err(|_| "the record bytes are not hex".to_string())?;
    let path: Option<Vec<Digest>> = proven.proof.iter().map(|h| Digest::from_hex(h)).collect();
    let path = path.ok_or("a proof hash is not 64 hex digits")?;
    if !verify_inclusion(&leaf_hash(&bytes), proven.index, cp.size, &path, &cp.root) {
        return Err(format!(
            "the inclusion proof of record #{} does not lead to the checkpoint's root",
            proven.index
        ));
    }
    let record = Record::decode(&bytes).map_err(|e| e.to_string())?;
    Ok((bytes, record))
}

/// Every key record: proven, and endorsed for this archive.
fn check_key_records(
    file: &ProofFile,
    cp: &Checkpoint,
    verified: &mut Verified,
    report: &mut ProofReport,
) {
    for proven in &file.key_records {
        match open_record(proven, cp) {
            Ok((bytes, Record::Key(key))) if key.endorsement_valid(&file.origin) => {
                verified.keep(proven, &bytes, &Record::Key(key.clone()));
                verified.key_events.push((proven.index, *key))
            }
            Ok(_) => report.core.problem(
                "key record",
                "key-record-invalid",
                format!("record #{} is not a valid key record", proven.index),
            ),
            Err(why) => report.core.problem("key record", "proof-invalid", why),
        }
    }
}

/// Every retraction: proven, and of the proven document record.
fn check_retractions(
    file: &ProofFile,
    cp: &Checkpoint,
    document_id: Option<Digest>,
    verified: &mut Verified,
    report: &mut ProofReport,
) {
    for proven in &file.retractions {
        match open_record(proven, cp) {
            Ok((bytes, Record::Retraction(x))) if Some(x.target) == document_id => {
                report
                    .retracted
                    .push(format!("record #{}: {}", proven.index, x.reason));
                verified.keep(proven, &bytes, &Record::Retraction(x));
            }
            Ok(_) => report.core.problem(
                "retraction",
                "record-invalid",
                format!(
                    "record #{} is not a retraction of the proven document",
                    proven.index
                ),
            ),
            Err(why) => report.core.problem("retraction", "proof-invalid", why),
        }
    }
}

/// The proven record is a document record, and the document's bytes are the ones it names.
/// For a document stored encrypted the file may be the ciphertext or the plaintext; a
/// plaintext that only a hidden (committed) digest could confirm, with no identity given, is
/// returned as the reason it is not provable: never an accusation.
fn check_document(
    file: &ProofFile,
    cp: &Checkpoint,
    document: &Path,
    identities: Option<&Identities>,
    report: &mut ProofReport,
) -> Result<Option<String>> {
    let doc = match open_record(&file.record, cp) {
        Ok((_, Record::Document(doc))) => doc,
        Ok(_) => {
            report.core.problem(
                "record",
                "record-invalid",
                "the proven record is not a document record",
            );
            return Ok(None);
        }
        Err(why) => {
            report.core.problem("record", "proof-invalid", why);
            return Ok(None);
        }
    };
    report.content = Some(doc.content.to_hex());
    report.path = Some(doc.path.clone());
    let found = hash_file(document)?;
    let size = fs::metadata(document).map(|m| m.len()).unwrap_or(0);
    if found == doc.content && size == doc.size {
        report.checked_as = Some(match doc.encryption {
            Some(_) => "ciphertext",
            None => "content",
        });
        return Ok(None);
    }
    let mismatch = |report: &mut ProofReport, against: String| {
        report.core.problem(
            report.document.clone(),
            "content-mismatch",
            format!("the file hashes to {found} ({size} bytes); the proven record says {against}"),
        )
    };
    let Some(enc) = &doc.encryption else {
        mismatch(report, format!("{} ({} bytes)", doc.content, doc.size));
        return Ok(None);
    };
    let stored = format!("{} ({} bytes) for the ciphertext", doc.content, doc.size);
    if size != enc.plaintext_size {
        // The plaintext size is public (age does not pad): a file of another size is neither
        // the ciphertext nor the plaintext, whatever the binding hides.
        mismatch(
            report,
            format!("{stored}, or a plaintext of {} bytes", enc.plaintext_size),
        );
        return Ok(None);
    }
    let plaintext = match (&enc.binding, identities) {
        (PlaintextBinding::Digest(d), _) => *d,
        (PlaintextBinding::Committed { .. }, Some(ids)) => {
            crate::archive::encrypted::expected_plaintext(ids, enc, &report.document)
                .map_err(Error::from)?
                .digest
        }
        (PlaintextBinding::Committed { .. }, None) => {
            return Ok(Some(format!(
                "{} is not the stored ciphertext, and the record hides the plaintext's digest behind a salted commitment: give --identity FILE (a recipient's age identity) to check it as the plaintext",
                report.document
            )));
        }
    };
    if found == plaintext && size == enc.plaintext_size {
        report.checked_as = Some("plaintext");
    } else {
        mismatch(
            report,
            format!(
                "{stored}, or {plaintext} ({} bytes) for the plaintext",
                enc.plaintext_size
            ),
        );
    }
    Ok(None)
}

/// The plain statements of what a proof that passed every check proves, and what it does not.
fn state_proven(
    file: &ProofFile,
    cp: &Checkpoint,
    valid_signers: &[String],
    completeness: super::completeness::Outcome,
    report: &mut ProofReport,
) {
    let core = &mut report.core;
    let path = report.path.clone().unwrap_or_default();
    let content = report.content.clone().unwrap_or_default();
    let exactly = match report.checked_as {
        // Not checked (a hidden plaintext digest and no identity): nothing to claim.
        None => None,
        Some("ciphertext") => Some(format!(
            "{} is exactly the ciphertext stored for the encrypted document recorded as '{path}' (SHA-256 {content}); its plaintext was not checked",
            report.document
        )),
        Some("plaintext") => Some(format!(
            "{} is exactly the plaintext of the encrypted document recorded as '{path}' (the signed record binds its digest; stored ciphertext SHA-256 {content})",
            report.document
        )),
        Some(_) => Some(format!(
            "{} is exactly the document recorded as '{path}' (SHA-256 {content})",
            report.document
        )),
    };
    core.proven.extend(exactly);
    core.proven.push(format!(
        "its record is included in checkpoint {} of archive '{}' (a tree of {} records)",
        cp.number, file.origin, cp.size
    ));
    let names = valid_signers.join(", ");
    if core.signers_authenticated {
        core.proven.push(format!(
            "the checkpoint is signed by {names}, trusted by your trust file"
        ));
    } else {
        core.not_proven.push(format!(
            "who signed: the signatures ({names}) verify with keys the proof itself carries; pass --trust with keys obtained from the signers"
        ));
    }
    core.not_proven
        .push(format!("when: '{}' is the signer's own claim", cp.time));
    core.proven.extend(completeness.proven);
    core.proven.extend(
        completeness
            .per_document
            .values()
            .map(|l| format!("the document: {l}")),
    );
    core.not_proven.extend(completeness.not_proven);
    if !report.retracted.is_empty() {
        core.proven.push(format!(
            "RETRACTED: the archive withdrew this document before checkpoint {} ({})",
            cp.number,
            report.retracted.join("; ")
        ));
    }
}

/// The completeness section against the checkpoint's `refs` line (format 2), as for bundles.
fn check_completeness(
    file: &ProofFile,
    cp: &Checkpoint,
    verified: &[(u64, Digest, Digest, Record)],
    report: &mut ProofReport,
) -> super::completeness::Outcome {
    use super::completeness::{check_against_checkpoint, Holder};
    let proven = verified
        .iter()
        .map(|(index, id, leaf, record)| (*index, *id, *leaf, record));
    let holder = Holder {
        item: "proof",
        claims_format_2: file.format == PROOF_FORMAT,
        missing: "the checkpoint commits to a reference map but the proof shows no completeness section: retractions or key records may have been removed",
        whole_paths: false,
    };
    let section = file.completeness.as_ref();
    check_against_checkpoint(section, holder, cp, proven, &mut report.core)
}
