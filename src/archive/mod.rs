//! The archive on disk and the operations on it.
//!
//! Layout (docs/FORMAT.md, "On-disk layout"):
//! ```text
//! archive.txt          identity: format version and origin (written last by init)
//! lock                 taken exclusively by every writer
//! objects/sha256/…     content-addressed objects (documents and records)
//! log/                 record list, Merkle tree levels, HEAD (see log.rs)
//! checkpoints/         signed checkpoints, one file per seal
//! keys/                public keys of the signers that sealed, as .pub lines
//! index/               derived lookup data, rebuildable from the log
//! ```

pub mod annotate;
pub mod append;
pub mod case;
pub mod checkpoints;
pub mod encrypted;
pub mod events;
pub mod failpoint;
pub mod filter;
pub mod fsutil;
pub mod history;
pub mod index;
pub mod ingest;
pub mod keys;
pub mod kind_index;
pub mod log;
pub mod metadata;
pub mod objects;
pub mod output;
pub mod pack;
pub mod query;
pub mod refmap_store;
pub mod runs;
pub mod seal;
pub mod sealed_notes;
pub mod sink;
pub mod verify;

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::core::checkpoint::check_origin;
use crate::core::key::VerifierKey;
use crate::error::{Error, Result};

use checkpoints::CheckpointStore;
use index::PathIndex;
use log::Log;
use objects::{FsObjectStore, ObjectStore};

pub const ARCHIVE_FILE: &str = "archive.txt";
/// The identity line of archives this version creates (format 2: checkpoints commit to the
/// reference map). Format-1 archives are still read, verified and extended as format 1.
pub const FORMAT_LINE: &str = "evidentia-archive 2";
const FORMAT_LINES: [(&str, u32); 2] = [("evidentia-archive 1", 1), ("evidentia-archive 2", 2)];

/// An open archive.
pub struct Archive {
    root: PathBuf,
    origin: String,
    version: u32,
    store: FsObjectStore,
    /// Set when `root` is the local replica of an archive on an object store.
    remote: Option<crate::remote::Remote>,
}

/// Held while a command writes; dropping it releases the lock.
pub struct WriteLock {
    _file: File,
    /// The object store's lock, for an archive on one (released after the local one).
    claim: Option<crate::remote::lock::Claim>,
}

impl WriteLock {
    pub(crate) fn claim(&self) -> Option<&crate::remote::lock::Claim> {
        self.claim.as_ref()
    }

    /// For an archive on an object store: refuses to commit once the store's lock may have
    /// lapsed (see remote::lock).
    pub(crate) fn check_fresh(&self) -> Result<()> {
        match &self.claim {
            Some(claim) => claim.check_fresh(),
            None => Ok(()),
        }
    }
}

impl Archive {
    /// Creates an empty archive in `dir` (created if missing; must be empty if present), or
    /// at an `s3://` address. Its origin is `origin` when given, else `evidentia/<slug of the
    /// title, or of the directory's name>/<16 random hex digits>`; a title is logged as the
    /// first record (a `case` record, sealed by the first `seal`).
    pub fn init(dir: &Path, title: Option<&str>, origin: Option<&str>) -> Result<Archive> {
        if let Some(title) = title {
            case::check_title("--name", title)?;
        }
        let origin = match origin {
            Some(origin) => {
                check_origin(origin).map_err(|e| Error::InvalidOption {
                    option: "--origin",
                    value: origin.to_string(),
                    why: e.to_string(),
                })?;
                origin.to_string()
            }
            None => {
                let base = match title {
                    Some(title) => case::slug(title),
                    None => case::slug(&default_name(dir)),
                };
                let mut id = [0u8; 8];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut id);
                format!("evidentia/{base}/{}", hex::encode(id))
            }
        };
        let archive = match remote_location(dir) {
            Some(location) => crate::remote::init(&location?, &origin)?,
            None => Archive::init_local(dir, &origin)?,
        };
        if let Some(title) = title {
            case::set_title(&archive, "--name", title)?;
        }
        Ok(archive)
    }

    /// Creates an empty local archive (or replica) with the given origin.
    pub(crate) fn init_local(dir: &Path, origin: &str) -> Result<Archive> {
        if dir.join(ARCHIVE_FILE).exists() {
            return Err(Error::AlreadyAnArchive {
                path: dir.to_path_buf(),
            });
        }
        if dir.exists() {
            let mut entries = fs::read_dir(dir).map_err(Error::io(dir))?;
            if entries.next().is_some() {
                return Err(Error::DirectoryNotEmpty {
                    path: dir.to_path_buf(),
                });
            }
        }
        let identity = format!("{FORMAT_LINE}\norigin {origin}\n");
        Archive::create_with_identity(dir, identity.as_bytes())?;
        Archive::open(dir)
    }

    /// Creates an empty local replica of an archive on an object store, with its identity.
    pub(crate) fn create_replica(dir: &Path, identity: &[u8]) -> Result<()> {
        Archive::create_with_identity(dir, identity)
    }

    fn create_with_identity(dir: &Path, identity: &[u8]) -> Result<()> {
        fs::create_dir_all(dir).map_err(Error::io(dir))?;
        FsObjectStore::create_layout(&dir.join("objects"))?;
        Log::create(&dir.join("log"))?;
        refmap_store::MapStore::create(&dir.join("log/refmap"))?;
        CheckpointStore::create(&dir.join("checkpoints"))?;
        PathIndex::create(&dir.join("index"))?;
        let keys = dir.join("keys");
        fs::create_dir_all(&keys).map_err(Error::io(&keys))?;
        File::create(dir.join("lock")).map_err(Error::io(dir.join("lock")))?;
        fsutil::sync_filesystem(dir)?;
        // The identity file is the commit marker of init: an archive without it is not one.
        fsutil::write_atomic(&dir.join(ARCHIVE_FILE), identity)
    }

    /// Opens the archive at `dir`, or at an `s3://BUCKET/PREFIX` address through this
    /// machine's replica of it.
    pub fn open(dir: &Path) -> Result<Archive> {
        if let Some(location) = remote_location(dir) {
            return crate::remote::open(&location?);
        }
        let file = dir.join(ARCHIVE_FILE);
        if !file.exists() {
            return Err(Error::NotAnArchive {
                path: dir.to_path_buf(),
            });
        }
        let bytes = fsutil::read_stored(&file, 4096)?;
        let text = String::from_utf8(bytes).unwrap_or_default();
        let parsed = FORMAT_LINES.iter().find_map(|(line, version)| {
            text.strip_prefix(line)
                .and_then(|rest| rest.strip_prefix("\norigin "))
                .and_then(|rest| rest.strip_suffix('\n'))
                .filter(|o| check_origin(o).is_ok())
                .map(|o| (o.to_string(), *version))
        });
        let (origin, version) = parsed.ok_or_else(|| Error::Corrupt {
            path: file.clone(),
            why: format!("expected '{FORMAT_LINE}' (or format 1) and an 'origin' line"),
        })?;
        // The store works with an absolute path: temporary files under a relative one would
        // cost a getcwd each.
        let objects =
            std::path::absolute(dir.join("objects")).unwrap_or_else(|_| dir.join("objects"));
        Ok(Archive {
            root: dir.to_path_buf(),
            store: FsObjectStore::new(&objects),
            origin,
            version,
            remote: None,
        })
    }

    /// [`Archive::open`], except that an archive on an object store is read into a new
    /// replica (removed when the returned guard is dropped) instead of this machine's cache.
    pub fn open_uncached(dir: &Path) -> Result<(Archive, Option<tempfile::TempDir>)> {
        match remote_location(dir) {
            Some(location) => {
                let scratch = crate::remote::scratch_dir()?;
                let archive = crate::remote::open_fresh(&location?, &scratch.path().join("a"))?;
                Ok((archive, Some(scratch)))
            }
            None => Ok((Archive::open(dir)?, None)),
        }
    }

    pub(crate) fn with_remote(mut self, remote: crate::remote::Remote) -> Archive {
        self.remote = Some(remote);
        self
    }

    /// The object store side, for an archive on one.
    pub fn remote(&self) -> Option<&crate::remote::Remote> {
        self.remote.as_ref()
    }

    /// Where the archive is, as the user names it: its directory or its `s3://` address.
    pub fn location(&self) -> String {
        match &self.remote {
            Some(remote) => remote.url(),
            None => self.root.display().to_string(),
        }
    }

    /// The archive format: 1 (no reference map) or 2.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The on-disk reference map (format 2).
    pub fn refmap(&self) -> Result<refmap_store::MapStore> {
        refmap_store::MapStore::open(&self.root.join("log/refmap"))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The archive's identity: the first line of every checkpoint.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn store(&self) -> &dyn ObjectStore {
        match &self.remote {
            Some(remote) => &remote.objects,
            None => &self.store,
        }
    }

    /// The objects on local disk (for an archive on an object store: its replica's, which
    /// hold the records).
    pub(crate) fn fs_store(&self) -> &FsObjectStore {
        match &self.remote {
            Some(remote) => remote.objects.local(),
            None => &self.store,
        }
    }

    pub fn log(&self) -> Result<Log> {
        Log::open(&self.root.join("log"))
    }

    pub fn checkpoints(&self) -> CheckpointStore {
        CheckpointStore::new(&self.root.join("checkpoints"))
    }

    pub(crate) fn index(&self) -> PathIndex {
        PathIndex::new(&self.root.join("index"))
    }

    /// The derived index, brought up to date with the log under the write lock (a no-op
    /// unless a command was interrupted). For read-only commands that resolve names.
    pub fn current_index(&self) -> Result<(log::Log, index::PathIndex)> {
        match self.local_lock() {
            Ok(_lock) => {
                let log = self.log()?;
                let index = append::catch_up_index(self, &log)?;
                Ok((log, index))
            }
            // A read-only copy cannot be locked; its index is used as it is.
            Err(_) => Ok((self.log()?, self.index())),
        }
    }

    /// Waits for and takes the archive's write lock. Two writers never interleave. For an
    /// archive on an object store, also the store's lock, after which the replica is brought
    /// up to the store.
    pub fn lock(&self) -> Result<WriteLock> {
        let mut lock = self.local_lock()?;
        if let Some(remote) = &self.remote {
            lock.claim = Some(crate::remote::lock(self, remote)?);
        }
        Ok(lock)
    }

    /// The lock of the files on local disk only.
    pub(crate) fn local_lock(&self) -> Result<WriteLock> {
        Ok(WriteLock {
            _file: fsutil::lock_exclusive(&self.root.join("lock"))?,
            claim: None,
        })
    }

    fn keys_dir(&self) -> PathBuf {
        self.root.join("keys")
    }

    /// Public keys of every signer that has sealed this archive.
    pub fn known_keys(&self) -> Result<Vec<VerifierKey>> {
        let dir = self.keys_dir();
        let mut keys = Vec::new();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(keys),
            Err(e) => return Err(Error::io(dir)(e)),
        };
        for entry in entries {
            let path = entry.map_err(Error::io(&dir))?.path();
            if path.extension().is_some_and(|e| e == "pub") {
                let text = fsutil::read_stored(&path, 4096)?;
                let text = String::from_utf8_lossy(&text);
                let key = VerifierKey::parse(text.trim_end()).map_err(|source| Error::Key {
                    what: format!("public key file {}", path.display()),
                    source,
                })?;
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// Stores a signer's public key so that later verifications can find it.
    pub(crate) fn remember_key(&self, key: &VerifierKey) -> Result<()> {
        let name = key_file_name(key);
        let path = self.keys_dir().join(&name);
        if !path.exists() {
            let text = format!("{key}\n");
            self.publish_file(&format!("keys/{name}"), text.as_bytes(), false)?;
            fsutil::write_atomic(&path, text.as_bytes())?;
        }
        Ok(())
    }

    /// For an archive on an object store, writes `rel` (a path relative to the archive) to
    /// the store before the replica's copy: created only if absent unless `replace`.
    pub(crate) fn publish_file(&self, rel: &str, bytes: &[u8], replace: bool) -> Result<()> {
        match &self.remote {
            Some(remote) => {
                let mode = if replace {
                    crate::remote::client::Put::Overwrite
                } else {
                    crate::remote::client::Put::Create
                };
                crate::remote::publish_file(remote, rel, bytes, mode)
            }
            None => Ok(()),
        }
    }
}

/// The file name a public key is kept under: `<name>+<key id>.pub`. Signer names may hold '/'
/// or '..' (C2SP names look like "example.org/log"), so only a sanitised form is used; nothing
/// interprets the file name.
pub fn key_file_name(key: &VerifierKey) -> String {
    let safe_name: String = key
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe_name}+{}.pub", key.id_hex())
}

/// The `s3://` address `dir` names, if it names one.
fn remote_location(dir: &Path) -> Option<Result<crate::remote::client::Location>> {
    crate::remote::client::Location::parse(dir.to_str()?)
}

/// The name a new archive takes without `--name`: its directory's (or, on an object store,
/// its prefix's last part or bucket's).
fn default_name(dir: &Path) -> String {
    if let Some(Ok(location)) = remote_location(dir) {
        return location
            .prefix
            .rsplit('/')
            .find(|n| !n.is_empty())
            .unwrap_or(&location.bucket)
            .to_string();
    }
    fs::canonicalize(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "archive".into())
}
