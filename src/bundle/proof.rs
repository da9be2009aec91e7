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
use crate::archive::verify::checkpoints::Signers;
use crate::archive::verify::{Problem, SignatureReport, Trust};
use crate::archive::{fsutil, Archive};
use crate::core::digest::Digest;
use crate::core::key::VerifierKey;
use crate::core::merkle::{self, leaf_hash, verify_inclusion};
use crate::core::record::{KeyRecord, Record};
use crate::error::{Error, Result};
use crate::trust::TrustedKey;
use crate::verdict::Verdict;

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
    pub ok: bool,
    /// `verified`, `intact-unauthenticated` or `failed`: what `ok` means for authenticity.
    pub verdict: Verdict,
    pub document: String,
    pub content: Option<String>,
    pub path: Option<String>,
    pub origin: Option<String>,
    pub checkpoint: Option<u64>,
    pub checkpoint_text_sha256: Option<String>,
    pub signatures: Vec<SignatureReport>,
    pub signers_authenticated: bool,
    pub proven: Vec<String>,
    pub not_proven: Vec<String>,
    /// The archive withdrew this document: the reasons of its proven retractions.
    pub retracted: Vec<String>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
}

/// Checks a proof file against a document's bytes.
pub fn verify_proof(
    proof_path: &Path,
    document: &Path,
    trust: &Trust,
    require: usize,
) -> Result<ProofReport> {
    let mut report = ProofReport {
        format: "evidentia-proof-verify-report/1",
        ok: false,
        verdict: Verdict::Failed,
        document: document.display().to_string(),
        content: None,
        path: None,
        origin: None,
        checkpoint: None,
        checkpoint_text_sha256: None,
        signatures: Vec::new(),
        signers_authenticated: matches!(trust, Trust::Keys(_)),
        proven: Vec::new(),
        not_proven: Vec::new(),
        retracted: Vec::new(),
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let problem = |report: &mut ProofReport, item: &str, code: &'static str, detail: String| {
        report.problems.push(Problem {
            item: item.to_string(),
            code,
            detail,
        })
    };
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
    report.origin = Some(file.origin.clone());
    let stored = CheckpointStore::parse(proof_path, &file.checkpoint)?;
    let (note, cp) = (stored.note, stored.checkpoint);
    report.checkpoint = Some(cp.number);
    report.checkpoint_text_sha256 = Some(cp.text_hash().to_hex());
    if cp.origin != file.origin {
        problem(
            &mut report,
            "checkpoint",
            "checkpoint-origin",
            "signed for another archive".into(),
        );
    }
    // Records whose inclusion proofs verified: (index, id, leaf hash, record).
    let mut verified: Vec<(u64, Digest, Digest, Record)> = Vec::new();
    let check = |proven: &ProvenRecord| -> std::result::Result<(Vec<u8>, Record), String> {
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
    };
    let mut key_events: Vec<(u64, KeyRecord)> = Vec::new();
    let mut keep = |proven: &ProvenRecord, bytes: &[u8], record: &Record| {
        verified.push((
            proven.index,
            Digest::of(bytes),
            leaf_hash(bytes),
            record.clone(),
        ));
    };
    for proven in &file.key_records {
        match check(proven) {
            Ok((bytes, Record::Key(key))) if key.endorsement_valid(&file.origin) => {
                keep(proven, &bytes, &Record::Key(key.clone()));
                key_events.push((proven.index, *key))
            }
            Ok(_) => problem(
                &mut report,
                "key record",
                "key-record-invalid",
                format!("record #{} is not a valid key record", proven.index),
            ),
            Err(why) => problem(&mut report, "key record", "proof-invalid", why),
        }
    }
    let document_id = match check(&file.record) {
        Ok((bytes, record)) => {
            keep(&file.record, &bytes, &record);
            Some(Digest::of(&bytes))
        }
        Err(_) => None,
    };
    for proven in &file.retractions {
        match check(proven) {
            Ok((bytes, Record::Retraction(x))) if Some(x.target) == document_id => {
                report
                    .retracted
                    .push(format!("record #{}: {}", proven.index, x.reason));
                keep(proven, &bytes, &Record::Retraction(x));
            }
            Ok(_) => problem(
                &mut report,
                "retraction",
                "record-invalid",
                format!(
                    "record #{} is not a retraction of the proven document",
                    proven.index
                ),
            ),
            Err(why) => problem(&mut report, "retraction", "proof-invalid", why),
        }
    }
    match check(&file.record) {
        Ok((_, Record::Document(doc))) => {
            report.content = Some(doc.content.to_hex());
            report.path = Some(doc.path.clone());
            match hash_file(document) {
                Ok(found) => {
                    let size = fs::metadata(document).map(|m| m.len()).unwrap_or(0);
                    if found != doc.content || size != doc.size {
                        let item = report.document.clone();
                        problem(&mut report, &item, "content-mismatch", format!(
                            "the file hashes to {found} ({size} bytes); the proven record says {} ({} bytes)",
                            doc.content, doc.size
                        ));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(_) => problem(
            &mut report,
            "record",
            "record-invalid",
            "the proven record is not a document record".into(),
        ),
        Err(why) => problem(&mut report, "record", "proof-invalid", why),
    }
    let completeness = check_completeness(&file, &cp, &verified, &mut report);
    let base: Vec<TrustedKey> = match trust {
        Trust::Keys(keys) => keys.clone(),
        Trust::ArchiveKeys => file
            .keys
            .iter()
            .filter_map(|k| VerifierKey::parse(k).ok())
            .map(TrustedKey::new)
            .collect(),
    };
    let signers = Signers::new(base, &key_events, &file.origin);
    report.warnings.extend(signers.refusal_warnings());
    let whose = match trust {
        Trust::Keys(_) => "keys in the trust file",
        Trust::ArchiveKeys => "keys the proof carries",
    };
    let outcome = signers.evaluate(&note, &cp, require.max(1), whose);
    for (code, detail) in outcome.problems {
        problem(&mut report, "checkpoint", code, detail);
    }
    report.signatures = outcome.signatures;
    if report.problems.is_empty() {
        report.proven.push(format!(
            "{} is exactly the document recorded as '{}' (SHA-256 {})",
            report.document,
            report.path.clone().unwrap_or_default(),
            report.content.clone().unwrap_or_default()
        ));
        report.proven.push(format!(
            "its record is included in checkpoint {} of archive '{}' (a tree of {} records)",
            cp.number, file.origin, cp.size
        ));
        let names = outcome.valid_signers.join(", ");
        if report.signers_authenticated {
            report.proven.push(format!(
                "the checkpoint is signed by {names}, trusted by your trust file"
            ));
        } else {
            report.not_proven.push(format!(
                "who signed: the signatures ({names}) verify with keys the proof itself carries; pass --trust with keys obtained from the signers"
            ));
        }
        report
            .not_proven
            .push(format!("when: '{}' is the signer's own claim", cp.time));
        report.proven.extend(completeness.proven);
        report.not_proven.extend(completeness.not_proven);
        if !report.retracted.is_empty() {
            report.proven.push(format!(
                "RETRACTED: the archive withdrew this document before checkpoint {} ({})",
                cp.number,
                report.retracted.join("; ")
            ));
        }
    }
    report.ok = report.problems.is_empty();
    report.verdict = Verdict::decide(report.problems.len(), report.signers_authenticated);
    Ok(report)
}

/// The completeness section against the checkpoint's `refs` line (format 2), as for bundles:
/// the signed checkpoint decides whether it is required.
fn check_completeness(
    file: &ProofFile,
    cp: &crate::core::checkpoint::Checkpoint,
    verified: &[(u64, Digest, Digest, Record)],
    report: &mut ProofReport,
) -> super::completeness::Outcome {
    use super::completeness::{check, Outcome, Proven};
    let mut fail = |code: &'static str, detail: &str| {
        report.problems.push(Problem {
            item: "proof".into(),
            code,
            detail: detail.into(),
        })
    };
    let Some(refs) = cp.refs else {
        if file.completeness.is_some() || file.format == PROOF_FORMAT {
            fail(
                "bad-manifest",
                "a format-1 checkpoint (no reference map) cannot have a completeness section",
            );
        }
        return Outcome {
            not_proven: vec![crate::archive::verify::FORMAT1_COMPLETENESS.into()],
            ..Outcome::default()
        };
    };
    let Some(section) = &file.completeness else {
        fail("completeness-missing", "the checkpoint commits to a reference map but the proof shows no completeness section: retractions or key records may have been removed");
        return Outcome::default();
    };
    let proven: Vec<Proven> = verified
        .iter()
        .map(|(index, id, leaf, record)| Proven {
            index: *index,
            id: *id,
            leaf: *leaf,
            record,
        })
        .collect();
    let outcome = check(section, &refs, &proven, cp.size);
    for (item, code, why) in &outcome.problems {
        report.problems.push(Problem {
            item: item.clone(),
            code,
            detail: why.clone(),
        });
    }
    outcome
}
