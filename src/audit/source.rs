//! Where an audited version comes from: a checkpoint of an archive (this one or a copy), or a
//! hand-over bundle.

use std::path::{Path, PathBuf};

use crate::archive::checkpoints::{CheckpointStore, StoredCheckpoint};
use crate::archive::fsutil;
use crate::archive::query::{self, LoggedRecord};
use crate::archive::Archive;
use crate::bundle::manifest::{BundleManifest, MAX_MANIFEST_LEN};
use crate::core::checkpoint::Checkpoint;
use crate::core::digest::Digest;
use crate::core::key::VerifierKey;
use crate::core::note::SignedNote;
use crate::core::record::Record;
use crate::error::{Error, Result};

/// One version of an archive, as far as its source lets us see it.
pub struct Version {
    /// How the user named it.
    pub label: String,
    pub origin: String,
    pub checkpoint: Checkpoint,
    pub note: SignedNote,
    /// The checkpoint file's text (signed note), for evidence.
    pub note_text: String,
    /// The records the checkpoint covers that this source holds (all of them for an archive;
    /// the disclosed ones for a bundle), in log order.
    pub records: Vec<LoggedRecord>,
    /// The full archive, when the source is one (needed for consistency proofs).
    pub archive: Option<Archive>,
    /// Public keys the source carries.
    pub keys: Vec<VerifierKey>,
    /// A bundle's consistency proofs from earlier checkpoints, if any.
    pub bundle: Option<BundleManifest>,
}

impl Version {
    /// Whether all records the checkpoint covers are available.
    pub fn complete(&self) -> bool {
        self.archive.is_some()
    }
}

/// Resolves FROM/TO: a checkpoint number of `current`, or a path to an archive or a bundle
/// (directory or tar).
pub fn open(current: &Path, spec: &str) -> Result<Version> {
    if !spec.is_empty() && spec.bytes().all(|b| b.is_ascii_digit()) {
        let number: u64 = spec.parse().map_err(|_| Error::InvalidOption {
            option: "checkpoint",
            value: spec.to_string(),
            why: "not a checkpoint number".into(),
        })?;
        let archive = Archive::open(current)?;
        return from_archive(archive, Some(number), spec);
    }
    let path = PathBuf::from(spec);
    if path.join(crate::archive::ARCHIVE_FILE).exists() {
        let archive = Archive::open(&path)?;
        return from_archive(archive, None, spec);
    }
    if path.join("data/bundle.json").exists() {
        return from_bundle_dir(&path, spec);
    }
    if path.is_file() {
        // A tar bundle: unpack it into a private directory, refusing unsafe entries.
        let scratch = tempfile::tempdir().map_err(Error::io(std::env::temp_dir()))?;
        let report = crate::bundle::unpack(&path, scratch.path())?;
        if !report.is_empty() {
            return Err(Error::BadInput {
                path,
                why: format!("unsafe bundle: {}", report.join("; ")),
            });
        }
        let version = from_bundle_dir(scratch.path(), spec);
        drop(scratch);
        return version;
    }
    Err(Error::BadInput {
        path,
        why: "not a checkpoint number, an archive or a bundle".into(),
    })
}

fn from_archive(archive: Archive, number: Option<u64>, label: &str) -> Result<Version> {
    let store = archive.checkpoints();
    let stored: StoredCheckpoint = match number {
        Some(n) => CheckpointStore::read(&store.path_of(n)).map_err(|e| match e {
            Error::Io { .. } => Error::InvalidOption {
                option: "checkpoint",
                value: n.to_string(),
                why: "no such checkpoint in the archive; `evidentia log` lists them".into(),
            },
            other => other,
        })?,
        None => store.latest()?.ok_or_else(|| Error::BadInput {
            path: archive.root().to_path_buf(),
            why: "the archive has no checkpoint yet".into(),
        })?,
    };
    let size = stored.checkpoint.size;
    let records = query::records(&archive)?
        .into_iter()
        .filter(|r| r.index < size)
        .collect();
    let note_text = std::fs::read_to_string(&stored.path).map_err(Error::io(&stored.path))?;
    Ok(Version {
        label: label.to_string(),
        origin: archive.origin().to_string(),
        keys: archive.known_keys()?,
        checkpoint: stored.checkpoint,
        note: stored.note,
        note_text,
        records,
        archive: Some(archive),
        bundle: None,
    })
}

fn from_bundle_dir(dir: &Path, label: &str) -> Result<Version> {
    let json = fsutil::read_limited(&dir.join("data/bundle.json"), MAX_MANIFEST_LEN)?;
    let manifest: BundleManifest = serde_json::from_slice(&json).map_err(|e| Error::BadInput {
        path: dir.join("data/bundle.json"),
        why: e.to_string(),
    })?;
    let stored = CheckpointStore::read(&dir.join("data/checkpoint"))?;
    let note_text = std::fs::read_to_string(dir.join("data/checkpoint"))
        .map_err(Error::io(dir.join("data/checkpoint")))?;
    let mut records = Vec::new();
    for disclosed in &manifest.records {
        let Some(id) = Digest::from_hex(&disclosed.id) else {
            continue;
        };
        let path = dir.join(format!("data/records/{}.cbor", disclosed.id));
        let bytes = fsutil::read_limited(&path, crate::core::cbor::MAX_ENCODED_LEN as u64)?;
        if Digest::of(&bytes) != id {
            return Err(Error::ObjectCorrupt {
                expected: id,
                found: Digest::of(&bytes),
            });
        }
        let record =
            Record::decode(&bytes).map_err(|source| Error::Record { digest: id, source })?;
        records.push(LoggedRecord {
            index: disclosed.index,
            id,
            record,
        });
    }
    let mut keys = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir.join("data/keys")) {
        for entry in entries.flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                if let Ok(key) = VerifierKey::parse(text.trim_end()) {
                    keys.push(key);
                }
            }
        }
    }
    Ok(Version {
        label: label.to_string(),
        origin: manifest.origin.clone(),
        checkpoint: stored.checkpoint,
        note: stored.note,
        note_text,
        records,
        archive: None,
        keys,
        bundle: Some(manifest),
    })
}
