//! Where an audited version comes from: a checkpoint of an archive (this one or a copy), or a
//! hand-over bundle. Only what the version's signed root commits to is kept: an archive's
//! records must rebuild the checkpoint's root, and a bundle's records each need an inclusion
//! proof that checks against it. Anything else in the source is unproven and left out.

use std::path::{Path, PathBuf};

use crate::archive::checkpoints::{CheckpointStore, StoredCheckpoint};
use crate::archive::fsutil;
use crate::archive::query::LoggedRecord;
use crate::archive::Archive;
use crate::bundle::manifest::{BundleManifest, ListedHex, MAX_MANIFEST_LEN};
use crate::core::cbor::MAX_ENCODED_LEN;
use crate::core::checkpoint::Checkpoint;
use crate::core::digest::Digest;
use crate::core::key::VerifierKey;
use crate::core::merkle::{self, MemoryTree};
use crate::core::note::SignedNote;
use crate::core::record::Record;
use crate::error::{Error, Result};

/// Where a version was read from, so that it can be verified as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An archive directory; the version is its checkpoint `number` (None: the latest).
    Archive { root: PathBuf, number: Option<u64> },
    /// A bundle, as given (directory or tar file).
    Bundle(PathBuf),
}

/// One version of an archive, as far as its source lets us see it.
pub struct Version {
    /// How the user named it.
    pub label: String,
    pub location: Location,
    pub origin: String,
    pub checkpoint: Checkpoint,
    pub note: SignedNote,
    /// The checkpoint file's text (signed note), for evidence.
    pub note_text: String,
    /// The records the checkpoint is proven to cover that this source holds (all of them for an
    /// archive; the disclosed ones with a valid inclusion proof for a bundle), in log order.
    pub records: Vec<LoggedRecord>,
    /// Records the source lists that are not proven to be in the signed tree (left out).
    pub unproven: u64,
    /// An archive's tree, rebuilt from its records and equal to the signed root at the
    /// checkpoint's size: proofs and earlier roots come from it, never from stored tree files.
    pub tree: Option<MemoryTree>,
    /// Public keys the source carries (for integrity-only checks; they authenticate nobody).
    pub keys: Vec<VerifierKey>,
    /// A bundle's consistency proofs from earlier checkpoints, if any.
    pub bundle: Option<BundleManifest>,
}

impl Version {
    /// Whether all records the checkpoint covers are available.
    pub fn complete(&self) -> bool {
        self.tree.is_some()
    }

    /// The root of this version's history at an earlier size `n`, when it can show it: from
    /// its rebuilt tree when it is an archive, from a consistency proof it carries (checked
    /// against its signed root) when it is a bundle.
    pub fn root_at(&mut self, n: u64) -> Option<Digest> {
        let (size, signed_root) = (self.checkpoint.size, self.checkpoint.root);
        if n > size {
            return None;
        }
        if n == size {
            return Some(signed_root);
        }
        if let Some(tree) = &mut self.tree {
            return Some(tree.root_at(n));
        }
        let entry = self
            .bundle
            .as_ref()?
            .consistency
            .iter()
            .find(|c| c.size == n)?;
        let root = Digest::from_hex(&entry.root)?;
        let proof = hex_digests(&entry.proof)?;
        merkle::verify_consistency(n, size, &root, &signed_root, &proof).then_some(root)
    }
}

/// Parses a list of hex digests (any case, `sha256:` allowed); None if any is malformed.
pub fn hex_digests(list: &[ListedHex]) -> Option<Vec<Digest>> {
    list.iter().map(ListedHex::digest_any_case).collect()
}

/// Resolves FROM/TO: a checkpoint number of `current`, or a path to an archive or a bundle
/// (directory or tar). Nothing is read yet: the location is verified first.
pub fn locate(current: &Path, spec: &str) -> Result<Location> {
    // `latest`: the archive's newest checkpoint (a directory of that name is `./latest`).
    if spec == "latest" {
        let archive = Archive::open(current)?;
        return Ok(Location::Archive {
            root: archive.root().to_path_buf(),
            number: None,
        });
    }
    if !spec.is_empty() && spec.bytes().all(|b| b.is_ascii_digit()) {
        let number: u64 = spec.parse().map_err(|_| Error::InvalidOption {
            option: "checkpoint",
            value: spec.to_string(),
            why: "not a checkpoint number".into(),
        })?;
        let archive = Archive::open(current)?;
        // An archive on an object store is named by its address: its replica's directory
        // holds no content, so opening that as an archive would find every object missing.
        let root = match archive.remote() {
            Some(_) => current.to_path_buf(),
            None => archive.root().to_path_buf(),
        };
        return Ok(Location::Archive {
            root,
            number: Some(number),
        });
    }
    let path = PathBuf::from(spec);
    if path.join(crate::archive::ARCHIVE_FILE).exists() {
        return Ok(Location::Archive {
            root: path,
            number: None,
        });
    }
    if path.join("data/bundle.json").exists() || path.is_file() {
        return Ok(Location::Bundle(path));
    }
    Err(Error::BadInput {
        path,
        why: "not a checkpoint number, an archive or a bundle".into(),
    })
}

/// Reads the version at `location`.
pub fn load(location: &Location, label: &str) -> Result<Version> {
    let path = match location {
        Location::Archive { root, number } => {
            return from_archive(Archive::open(root)?, *number, label)
        }
        Location::Bundle(path) => path,
    };
    if path.is_dir() {
        return from_bundle_dir(path, path, label);
    }
    // A tar bundle: unpack it into a private directory, refusing unsafe entries.
    let scratch = tempfile::tempdir().map_err(Error::io(std::env::temp_dir()))?;
    let report = crate::bundle::unpack(path, scratch.path())?;
    if !report.is_empty() {
        return Err(Error::BadInput {
            path: path.clone(),
            why: format!("unsafe bundle: {}", report.join("; ")),
        });
    }
    from_bundle_dir(&crate::bundle::unpacked_root(scratch.path()), path, label)
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
    let log = archive.log()?;
    if log.size() < size {
        return Err(Error::Corrupt {
            path: archive.root().join("log"),
            why: format!(
                "{label}: the log holds {} records, fewer than the {size} its checkpoint {} signs; run `evidentia verify` on it",
                log.size(),
                stored.checkpoint.number
            ),
        });
    }
    // Rebuild the tree from the record bytes themselves: only records whose leaves give the
    // signed root are part of the signed version.
    let digests = log.record_digests(0, size)?;
    let objects = archive.store();
    let mut tree = MemoryTree::new();
    let mut records = Vec::with_capacity(digests.len());
    crate::progress::stage("reading records", size, crate::progress::Unit::Items);
    for (index, id) in digests.into_iter().enumerate() {
        crate::progress::check(String::new)?; // the caller says what is kept
        crate::progress::advance(1);
        let bytes = objects.read_verified(&id, MAX_ENCODED_LEN as u64)?;
        tree.push(merkle::leaf_hash(&bytes));
        let record =
            Record::decode(&bytes).map_err(|source| Error::Record { digest: id, source })?;
        records.push(LoggedRecord {
            index: index as u64,
            id,
            record,
        });
    }
    if tree.root_at(size) != stored.checkpoint.root {
        return Err(Error::Corrupt {
            path: archive.root().join("log/records"),
            why: format!(
                "{label}: its first {size} records do not rebuild the root that checkpoint {} signs; run `evidentia verify` on it",
                stored.checkpoint.number
            ),
        });
    }
    let note_text = fsutil::read_stored_text(
        &stored.path,
        crate::archive::checkpoints::MAX_CHECKPOINT_FILE,
    )?;
    Ok(Version {
        label: label.to_string(),
        location: Location::Archive {
            root: archive.root().to_path_buf(),
            number: Some(stored.checkpoint.number),
        },
        origin: archive.origin().to_string(),
        keys: archive.known_keys()?,
        checkpoint: stored.checkpoint,
        note: stored.note,
        note_text,
        records,
        unproven: 0,
        tree: Some(tree),
        bundle: None,
    })
}

/// Reads a bundle file that must be a regular file (not a FIFO, device or symbolic link: a
/// bundle comes from someone else, and a FIFO would block the reader forever).
fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>> {
    fsutil::read_stored(path, max)
}

fn from_bundle_dir(dir: &Path, given: &Path, label: &str) -> Result<Version> {
    let manifest_path = dir.join("data/bundle.json");
    let json = read_regular(&manifest_path, MAX_MANIFEST_LEN)?;
    let manifest: BundleManifest = serde_json::from_slice(&json).map_err(|e| Error::BadInput {
        path: manifest_path,
        why: e.to_string(),
    })?;
    let checkpoint_path = dir.join("data/checkpoint");
    let bytes = read_regular(&checkpoint_path, 1 << 20)?;
    let note_text = String::from_utf8(bytes).map_err(|_| Error::BadInput {
        path: checkpoint_path.clone(),
        why: "not UTF-8 text".into(),
    })?;
    let stored = CheckpointStore::parse(&checkpoint_path, &note_text)?;
    let (size, root) = (stored.checkpoint.size, stored.checkpoint.root);
    let mut records = Vec::new();
    let mut unproven = 0;
    for disclosed in &manifest.records {
        let Some(id) = Digest::from_hex(&disclosed.id) else {
            unproven += 1;
            continue;
        };
        let path = dir.join(format!("data/records/{}.cbor", id.to_hex()));
        let bytes = read_regular(&path, MAX_ENCODED_LEN as u64)?;
        if Digest::of(&bytes) != id {
            return Err(Error::ObjectCorrupt {
                expected: id,
                found: Digest::of(&bytes),
            });
        }
        // Listed is not proven: the record counts only if its inclusion proof reaches the
        // signed root at its stated position.
        let proven = hex_digests(&disclosed.proof).is_some_and(|proof| {
            merkle::verify_inclusion(
                &merkle::leaf_hash(&bytes),
                disclosed.index,
                size,
                &proof,
                &root,
            )
        });
        if !proven {
            unproven += 1;
            continue;
        }
        let record =
            Record::decode(&bytes).map_err(|source| Error::Record { digest: id, source })?;
        records.push(LoggedRecord {
            index: disclosed.index,
            id,
            record,
        });
    }
    records.sort_by_key(|r| r.index);
    records.dedup_by_key(|r| r.index);
    let mut keys = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir.join("data/keys")) {
        for entry in entries.flatten() {
            if let Ok(bytes) = read_regular(&entry.path(), 1 << 16) {
                if let Some(key) = std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|text| VerifierKey::parse(text.trim_end()).ok())
                {
                    keys.push(key);
                }
            }
        }
    }
    Ok(Version {
        label: label.to_string(),
        location: Location::Bundle(given.to_path_buf()),
        origin: manifest.origin.clone(),
        checkpoint: stored.checkpoint,
        note: stored.note,
        note_text,
        records,
        unproven,
        tree: None,
        keys,
        bundle: Some(manifest),
    })
}
