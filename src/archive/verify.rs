//! `verify`: check everything an archive claims, from the bytes up.
//!
//! Every record object is re-read and re-hashed, re-parsed under the canonical profile, and its
//! leaf hash compared with the stored tree; every document's content is re-hashed; the tree is
//! rebuilt from the records and its root compared with every checkpoint; every checkpoint's
//! signatures, number, chain link and growth are checked. The report names each failing item.

use std::collections::BTreeMap;
use std::io::Read;

use rayon::prelude::*;
use serde::Serialize;

use crate::core::cbor::MAX_ENCODED_LEN;
use crate::core::digest::{Digest, Hasher};
use crate::core::key::VerifierKey;
use crate::core::merkle::{leaf_hash, MemoryTree};
use crate::core::note::SignatureStatus;
use crate::core::record::Record;
use crate::error::{Error, Result};

use super::checkpoints::{CheckpointStore, StoredCheckpoint};
use super::Archive;

/// Which keys may sign.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Keys from a trust file: signatures by any other key do not count.
    Keys(Vec<VerifierKey>),
    /// No trust file: signatures are checked against the keys stored in the archive, which
    /// proves integrity but not who signed.
    ArchiveKeys,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// What is at fault: a record, object, checkpoint or archive file.
    pub item: String,
    /// A stable code for the kind of problem.
    pub code: &'static str,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignatureReport {
    pub name: String,
    pub key_id: String,
    /// `valid`, `invalid`, or `unknown-key` (not in the trust set; ignored).
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
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub format: &'static str,
    pub origin: String,
    pub ok: bool,
    pub records: u64,
    pub documents: u64,
    pub content_bytes: u64,
    pub sealed_records: u64,
    pub unsealed_records: u64,
    pub signers_authenticated: bool,
    pub checkpoints: Vec<CheckpointReport>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
}

impl VerifyReport {
    fn problem(&mut self, item: impl Into<String>, code: &'static str, detail: impl Into<String>) {
        self.problems.push(Problem {
            item: item.into(),
            code,
            detail: detail.into(),
        });
    }
}

/// What one record contributed, as found on disk.
struct RecordCheck {
    leaf: Option<Digest>,
    content: Option<(Digest, u64)>,
    problem: Option<(String, &'static str, String)>,
}

pub fn verify(archive: &Archive, trust: &Trust) -> Result<VerifyReport> {
    let mut report = VerifyReport {
        format: "evidentia-verify-report/1",
        origin: archive.origin().to_string(),
        ok: false,
        records: 0,
        documents: 0,
        content_bytes: 0,
        sealed_records: 0,
        unsealed_records: 0,
        signers_authenticated: matches!(trust, Trust::Keys(_)),
        checkpoints: Vec::new(),
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let mut tree = MemoryTree::new();
    let log_size = match check_log(archive, &mut report, &mut tree) {
        Ok(size) => Some(size),
        Err(e) => {
            report.problem("log", "log-unreadable", e.to_string());
            None
        }
    };
    let keys = match trust {
        Trust::Keys(keys) => keys.clone(),
        Trust::ArchiveKeys => archive.known_keys().unwrap_or_else(|e| {
            report.problem("keys/", "keys-unreadable", e.to_string());
            Vec::new()
        }),
    };
    check_checkpoints(archive, &mut report, &mut tree, log_size, &keys, trust)?;
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
    Ok(report)
}

fn check_log(archive: &Archive, report: &mut VerifyReport, tree: &mut MemoryTree) -> Result<u64> {
    let log = archive.log()?;
    let size = log.size();
    report.records = size;
    let digests = log.record_digests(0, size)?;
    let stored_leaves = log.leaf_hashes(0, size)?;
    let store = archive.store();
    let checks: Vec<RecordCheck> = digests
        .par_iter()
        .enumerate()
        .map(|(i, digest)| {
            let item = format!("record #{i} ({digest})");
            let bytes = match store.read_verified(digest, MAX_ENCODED_LEN as u64) {
                Ok(bytes) => bytes,
                Err(e) => {
                    let code = match e {
                        Error::ObjectMissing { .. } => "record-missing",
                        Error::ObjectCorrupt { .. } => "record-corrupt",
                        _ => "record-unreadable",
                    };
                    return RecordCheck {
                        leaf: None,
                        content: None,
                        problem: Some((item, code, e.to_string())),
                    };
                }
            };
            let leaf = Some(leaf_hash(&bytes));
            match Record::decode(&bytes) {
                Ok(Record::Document(doc)) => RecordCheck {
                    leaf,
                    content: Some((doc.content, doc.size)),
                    problem: None,
                },
                Ok(Record::Unknown { .. }) => RecordCheck {
                    leaf,
                    content: None,
                    problem: None,
                },
                Err(e) => RecordCheck {
                    leaf,
                    content: None,
                    problem: Some((item, "record-invalid", e.to_string())),
                },
            }
        })
        .collect();

    let mut contents: BTreeMap<Digest, u64> = BTreeMap::new();
    for (i, check) in checks.into_iter().enumerate() {
        if let Some((item, code, detail)) = check.problem {
            report.problem(item, code, detail);
        }
        let stored = stored_leaves.get(i).copied();
        let leaf = match (check.leaf, stored) {
            (Some(computed), Some(stored)) => {
                if computed != stored {
                    report.problem(
                        format!("log/tree/00 entry #{i}"),
                        "tree-mismatch",
                        format!("stored leaf hash {stored} but the record hashes to {computed}"),
                    );
                }
                computed
            }
            (Some(computed), None) => computed,
            // Without the record, the stored leaf keeps the rest of the tree checkable.
            (None, Some(stored)) => stored,
            (None, None) => Digest([0; 32]),
        };
        tree.push(leaf);
        if let Some((digest, size)) = check.content {
            {
                report.documents += 1;
                if let Some(previous) = contents.insert(digest, size) {
                    if previous != size {
                        report.problem(
                            format!("record #{i}"),
                            "size-mismatch",
                            format!("content {digest} is listed with sizes {previous} and {size}"),
                        );
                    }
                }
            }
        }
    }

    type ContentCheck = (Digest, u64, Result<(Digest, u64)>);
    let content_results: Vec<ContentCheck> = contents
        .par_iter()
        .map(|(digest, size)| (*digest, *size, hash_object(archive, digest)))
        .collect();
    for (digest, size, result) in content_results {
        let item = format!("document content {digest}");
        match result {
            Ok((found, found_size)) => {
                report.content_bytes += found_size;
                if found != digest {
                    report.problem(
                        item,
                        "content-corrupt",
                        format!("the stored bytes hash to {found}; the document was altered"),
                    );
                } else if found_size != size {
                    report.problem(
                        item,
                        "size-mismatch",
                        format!("{found_size} bytes stored but the record says {size}"),
                    );
                }
            }
            Err(Error::ObjectMissing { .. }) => report.problem(
                item,
                "content-missing",
                "the object holding this document is missing",
            ),
            Err(e) => report.problem(item, "content-unreadable", e.to_string()),
        }
    }

    check_unreferenced(archive, report, &digests, &contents)?;

    if size > 0 {
        let stored_root = log.root(size);
        let rebuilt = tree.root_at(size);
        match stored_root {
            Ok(root) if root == rebuilt => {}
            Ok(root) => report.problem(
                "log/tree",
                "tree-mismatch",
                format!("the stored tree's root is {root} but the records give {rebuilt}"),
            ),
            Err(e) => report.problem("log/tree", "tree-unreadable", e.to_string()),
        }
    }
    Ok(size)
}

/// Re-hashes the objects no record refers to. They are left by interrupted commands and are
/// harmless, so they produce warnings, not problems.
fn check_unreferenced(
    archive: &Archive,
    report: &mut VerifyReport,
    records: &[Digest],
    contents: &BTreeMap<Digest, u64>,
) -> Result<()> {
    let referenced: std::collections::HashSet<&Digest> =
        records.iter().chain(contents.keys()).collect();
    let unreferenced: Vec<Digest> = archive
        .store()
        .list()?
        .into_iter()
        .filter(|d| !referenced.contains(d))
        .collect();
    if unreferenced.is_empty() {
        return Ok(());
    }
    let damaged: Vec<Digest> = unreferenced
        .par_iter()
        .filter(|d| !matches!(hash_object(archive, d), Ok((found, _)) if found == **d))
        .copied()
        .collect();
    report.warnings.push(format!(
        "{} stored object(s) are not referenced by any record (left by an interrupted command; harmless)",
        unreferenced.len()
    ));
    for digest in damaged {
        report
            .warnings
            .push(format!("unreferenced object {digest} does not match its name"));
    }
    Ok(())
}

fn hash_object(archive: &Archive, digest: &Digest) -> Result<(Digest, u64)> {
    let mut reader = archive.store().open(digest)?;
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    let path = archive.fs_store().path_of(digest);
    loop {
        let n = reader.read(&mut buf).map_err(Error::io(&path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hasher.finish(), total))
}

fn check_checkpoints(
    archive: &Archive,
    report: &mut VerifyReport,
    tree: &mut MemoryTree,
    log_size: Option<u64>,
    keys: &[VerifierKey],
    trust: &Trust,
) -> Result<()> {
    let files = archive.checkpoints().files()?;
    let mut previous: Option<StoredCheckpoint> = None;
    let mut expected_number = 1u64;
    for file in files {
        let item = format!("checkpoint {}", file.path.display());
        let Some(number) = file.number else {
            report.problem(
                item,
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
        let cp = &stored.checkpoint;
        let problems_before = report.problems.len();
        if cp.origin != archive.origin() {
            report.problem(
                &item,
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
                &item,
                "checkpoint-number",
                format!(
                    "the file is named {number} but the signed text says {}",
                    cp.number
                ),
            );
        }
        if let Some(prev) = &previous {
            let prev_cp = &prev.checkpoint;
            if cp.previous != Some(prev_cp.text_hash()) {
                report.problem(
                    &item,
                    "checkpoint-chain",
                    format!(
                        "does not link to checkpoint {} (its 'previous' line is not that checkpoint's hash)",
                        prev_cp.number
                    ),
                );
            }
            if cp.size <= prev_cp.size {
                report.problem(
                    &item,
                    "checkpoint-not-growing",
                    format!(
                        "covers {} records, not more than checkpoint {} ({})",
                        cp.size, prev_cp.number, prev_cp.size
                    ),
                );
            }
            if cp.time < prev_cp.time {
                report.warnings.push(format!(
                    "checkpoint {number} is dated {} , before checkpoint {} ({}); check the sealing machine's clock",
                    cp.time, prev_cp.number, prev_cp.time
                ));
            }
        } else if cp.previous.is_some() {
            report.problem(
                &item,
                "checkpoint-chain",
                "links to a previous checkpoint that is not in the archive",
            );
        }
        match log_size {
            Some(size) if cp.size > size => report.problem(
                &item,
                "checkpoint-beyond-log",
                format!(
                    "covers {} records but the log holds only {size}: records were removed",
                    cp.size
                ),
            ),
            Some(_) => {
                let rebuilt = tree.root_at(cp.size);
                if rebuilt != cp.root {
                    report.problem(
                        &item,
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
        let statuses = stored.note.check(keys);
        let mut signatures = Vec::new();
        let mut valid = 0;
        for (sig, status) in stored.note.signatures.iter().zip(&statuses) {
            let label = match status {
                SignatureStatus::Valid => {
                    valid += 1;
                    "valid"
                }
                SignatureStatus::Invalid => {
                    report.problem(
                        &item,
                        "signature-invalid",
                        format!(
                            "the signature by {} (key {}) does not verify: forged, or the checkpoint was altered",
                            sig.name,
                            hex::encode(sig.key_id)
                        ),
                    );
                    "invalid"
                }
                SignatureStatus::UnknownKey => "unknown-key",
            };
            signatures.push(SignatureReport {
                name: sig.name.clone(),
                key_id: hex::encode(sig.key_id),
                status: label,
            });
        }
        if valid == 0 {
            let why = match trust {
                Trust::Keys(_) => "no signature by a key in the trust file",
                Trust::ArchiveKeys => "no valid signature by any key the archive holds",
            };
            report.problem(&item, "signature-missing", why);
        }
        report.checkpoints.push(CheckpointReport {
            number: cp.number,
            size: cp.size,
            root: cp.root.to_hex(),
            time: cp.time.to_string(),
            message: cp.message.clone(),
            signatures,
            ok: report.problems.len() == problems_before,
        });
        report.sealed_records = cp.size;
        previous = Some(stored);
    }
    if let Some(size) = log_size {
        report.unsealed_records = size.saturating_sub(report.sealed_records);
    }
    Ok(())
}
