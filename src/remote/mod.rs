//! Archives on an S3-compatible object store (`s3://BUCKET/PREFIX`).
//!
//! The store holds the archive (FORMAT.md §22): `archive.txt`, every content object under its
//! digest, the log as segments (one per command, keyed by its first position: the commit
//! markers), checkpoints, keys and time-stamps under the same names as on disk. Each command
//! works on a local *replica* of everything but the content (a cache, `$EVIDENTIA_CACHE`):
//! it pulls what the store has that the replica lacks, runs as on a local archive, and
//! publishes each commit to the store before the replica's own commit marker moves, so the
//! replica is always a prefix of the store. `verify` pulls into a fresh replica: it trusts
//! nothing cached.

pub mod client;
pub mod lock;
pub mod mirror;
pub mod segment;
pub mod store;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::archive::log::LogEntry;
use crate::archive::objects::ObjectStore as _;
use crate::archive::{fsutil, Archive, ARCHIVE_FILE};
use crate::core::digest::Digest;
use crate::core::merkle::leaf_hash;
use crate::error::{Error, Result};

use client::{Client, Location, Put};
use store::RemoteObjects;

/// Directories of files kept on the store under the same names as on disk; each file is
/// written once (a cosigned checkpoint is the one file rewritten, adding signature lines).
const FILE_DIRS: [&str; 3] = ["checkpoints/", "keys/", "timestamps/"];
/// The largest such file (a checkpoint is at most 1 MiB; tokens and keys are smaller).
const MAX_FILE: u64 = 1 << 20;
/// How long a writer waits for the store's lock by default.
const LOCK_WAIT: Duration = Duration::from_secs(300);

/// The store side of an open archive.
pub struct Remote {
    pub client: Arc<Client>,
    pub objects: RemoteObjects,
}

impl Remote {
    pub fn url(&self) -> String {
        self.client.location.url()
    }

    /// Every object on the store (its `objects/` keys), for verification.
    pub fn list_objects(&self) -> Result<Vec<Digest>> {
        Ok(self
            .client
            .list("objects/sha256/", None)?
            .iter()
            .filter_map(|l| store::digest_of_key(&l.key))
            .collect())
    }
}

/// Runs `work` (rayon work that reads objects) on enough threads to keep many requests in
/// flight when the archive is on an object store, where each read waits on the network more
/// than on the CPU; on local disk, on the usual pool.
pub fn with_io_threads<T: Send>(archive: &Archive, work: impl FnOnce() -> T + Send) -> T {
    if archive.remote().is_none() {
        return work();
    }
    match rayon::ThreadPoolBuilder::new()
        .num_threads(IO_THREADS)
        .thread_name(|i| format!("evidentia-io-{i}"))
        .build()
    {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

/// Reads of objects in flight at once on an object store.
const IO_THREADS: usize = 32;

/// The directory replicas are kept in: `$EVIDENTIA_CACHE`, else `$XDG_CACHE_HOME/evidentia`,
/// else `~/.cache/evidentia`.
fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("EVIDENTIA_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("evidentia");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
    PathBuf::from(home).join(".cache/evidentia")
}

/// A new directory for a replica that lives only as long as the command.
pub fn scratch_dir() -> Result<tempfile::TempDir> {
    let root = cache_root();
    std::fs::create_dir_all(&root).map_err(Error::io(&root))?;
    tempfile::Builder::new()
        .prefix("scratch-")
        .tempdir_in(&root)
        .map_err(Error::io(&root))
}

/// One replica per endpoint, bucket and prefix.
fn replica_dir(client: &Client) -> PathBuf {
    let id = Digest::of(
        format!(
            "{}\n{}\n{}\n",
            client.endpoint, client.location.bucket, client.location.prefix
        )
        .as_bytes(),
    );
    cache_root().join("replicas").join(&id.to_hex()[..24])
}

fn connect(location: &Location) -> Result<Arc<Client>> {
    Ok(Arc::new(Client::connect(location)?))
}

/// `evidentia init s3://…`: refuses a prefix that holds anything, then creates the archive
/// (its identity file is the commit marker, written last, create-only).
pub fn init(location: &Location, origin: &str) -> Result<Archive> {
    let client = connect(location)?;
    if let Some(first) = client.list("", None)?.first() {
        return Err(Error::Remote {
            url: client.url_of(&first.key),
            why: "the prefix already holds objects: choose a new, empty prefix".into(),
        });
    }
    let dir = replica_dir(&client);
    let _creating = replica_guard(&dir)?;
    remove_replica(&dir)?;
    let local = Archive::init_local(&dir, origin)?;
    let identity = fsutil::read_stored(&dir.join(ARCHIVE_FILE), 4096)?;
    publish_identity(&client, location, identity)?;
    write_note(&dir, location)?;
    Ok(attach(local, client))
}

/// Creates an empty archive on a store with a given identity (a mirror's destination).
pub fn init_with_identity(location: &Location, identity: &[u8]) -> Result<()> {
    let client = connect(location)?;
    if let Some(first) = client.list("", None)?.first() {
        return Err(Error::Remote {
            url: client.url_of(&first.key),
            why: "the prefix holds objects but no archive: choose a new, empty prefix".into(),
        });
    }
    publish_identity(&client, location, identity.to_vec())
}

fn publish_identity(client: &Client, location: &Location, identity: Vec<u8>) -> Result<()> {
    client
        .put(ARCHIVE_FILE, identity, Put::Create)
        .map_err(|e| match e {
            Error::RemoteExists { .. } => Error::AlreadyAnArchive {
                path: PathBuf::from(location.url()),
            },
            other => other,
        })
}

/// Opens an archive on a store through this machine's replica, brought up to date.
pub fn open(location: &Location) -> Result<Archive> {
    let client = connect(location)?;
    let dir = replica_dir(&client);
    open_in(client, &dir)
}

/// Opens an archive on a store through a new replica in `dir` (which must not exist): for
/// `verify` and `mirror`, which must not trust anything cached.
pub fn open_fresh(location: &Location, dir: &Path) -> Result<Archive> {
    open_in(connect(location)?, dir)
}

fn open_in(client: Arc<Client>, dir: &Path) -> Result<Archive> {
    let identity = match client.get(ARCHIVE_FILE, 4096) {
        Ok(bytes) => bytes,
        Err(Error::RemoteMissing { .. }) => {
            return Err(Error::NotAnArchive {
                path: PathBuf::from(client.location.url()),
            })
        }
        Err(e) => return Err(e),
    };
    {
        // Two commands starting at once must not both build (or one remove) the replica.
        let _creating = replica_guard(dir)?;
        let current = fsutil::read_stored(&dir.join(ARCHIVE_FILE), 4096).ok();
        if current.as_deref() != Some(identity.as_slice()) {
            // No replica yet, or one of another archive that was at this address: start over.
            remove_replica(dir)?;
            Archive::create_replica(dir, &identity)?;
            write_note(dir, &client.location)?;
        }
    }
    let archive = attach(Archive::open(dir)?, client);
    {
        let _local = archive.local_lock()?;
        pull(&archive)?;
    }
    Ok(archive)
}

/// An exclusive lock on `<dir>.lock`, beside the replica, held while it is created.
fn replica_guard(dir: &Path) -> Result<std::fs::File> {
    let mut name = dir.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    }
    fsutil::lock_exclusive(&path)
}

fn attach(local: Archive, client: Arc<Client>) -> Archive {
    let objects = RemoteObjects::new(&local.root().join("objects"), client.clone());
    local.with_remote(Remote { client, objects })
}

fn write_note(dir: &Path, location: &Location) -> Result<()> {
    let note = dir.join("replica-of.txt");
    std::fs::write(
        &note,
        format!(
            "a replica of {} kept by evidentia; safe to delete when no command runs\n",
            location.url()
        ),
    )
    .map_err(Error::io(&note))
}

fn remove_replica(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(dir)(e)),
    }
}

/// Takes the store's lock for a writer (the caller holds the replica's own lock) and brings
/// the replica up to the store, so the command works on the latest state.
pub fn lock(archive: &Archive, remote: &Remote) -> Result<lock::Claim> {
    let wait = std::env::var("EVIDENTIA_LOCK_WAIT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(LOCK_WAIT);
    let claim = lock::acquire(&remote.client, wait)?;
    pull(archive)?;
    Ok(claim)
}

/// Copies into the replica what the store has and it lacks: log segments past its size
/// (records into its object directory, then its log), then checkpoints, keys and time-stamps.
/// The caller holds the replica's lock.
pub fn pull(archive: &Archive) -> Result<()> {
    let Some(remote) = archive.remote() else {
        return Ok(());
    };
    let client = &remote.client;
    let mut log = archive.log()?;
    let size = log.size();
    let after = (size > 0).then(|| segment::key(size - 1));
    let listed = client.list("log/", after.as_deref())?;
    let mut next = size;
    let mut pending: Vec<segment::Segment> = Vec::new();
    let mut pending_records = 0usize;
    for (i, item) in listed.iter().enumerate() {
        let at = segment::position(&item.key)
            .ok_or_else(|| corrupt(client, &item.key, "not a segment name".into()))?;
        if at != next {
            return Err(corrupt(
                client,
                &item.key,
                format!("the log has a gap or an overlap: expected a segment starting at {next}"),
            ));
        }
        let bytes = client.get(&item.key, segment::MAX_SEGMENT)?;
        let decoded = segment::decode(&bytes).map_err(|why| corrupt(client, &item.key, why))?;
        if decoded.from != at {
            return Err(corrupt(
                client,
                &item.key,
                format!("it says it starts at {}", decoded.from),
            ));
        }
        next += decoded.records.len() as u64;
        pending_records += decoded.records.len();
        pending.push(decoded);
        // Applied in batches: one object batch (a pack when large) and one log sync each.
        if pending_records >= PULL_BATCH || i + 1 == listed.len() {
            apply_segments(
                archive,
                &mut log,
                std::mem::take(&mut pending),
                pending_records,
            )?;
            pending_records = 0;
        }
    }
    for dir in FILE_DIRS {
        pull_files(archive, client, dir)?;
    }
    Ok(())
}

/// Records pulled per batch (bounds a fresh replica's memory).
const PULL_BATCH: usize = 100_000;

fn apply_segments(
    archive: &Archive,
    log: &mut crate::archive::log::Log,
    segments: Vec<segment::Segment>,
    count: usize,
) -> Result<()> {
    let writer = archive.fs_store().writer(count)?;
    let mut entries = Vec::with_capacity(count);
    for segment in &segments {
        for (id, record) in &segment.records {
            writer.put_new(*id, record)?;
            entries.push(LogEntry {
                record: *id,
                leaf: leaf_hash(record),
            });
        }
    }
    writer.finish()?;
    log.append(&entries)
}

fn corrupt(client: &Client, key: &str, why: String) -> Error {
    Error::Corrupt {
        path: PathBuf::from(client.url_of(key)),
        why,
    }
}

/// Downloads the files of `dir` that the replica lacks (or, for a checkpoint, holds with
/// fewer signature lines).
fn pull_files(archive: &Archive, client: &Client, dir: &str) -> Result<()> {
    for item in client.list(dir, None)? {
        let Some(rel) = safe_relative(&item.key) else {
            continue;
        };
        let path = archive.root().join(&rel);
        let local_len = std::fs::symlink_metadata(&path).ok().map(|m| m.len());
        // A checkpoint may have grown by cosignatures; other files never change.
        let wanted = match local_len {
            None => true,
            Some(len) => dir == "checkpoints/" && len < item.size,
        };
        if !wanted || item.size > MAX_FILE {
            continue;
        }
        let bytes = client.get(&item.key, MAX_FILE)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
        }
        fsutil::write_atomic(&path, &bytes)?;
    }
    Ok(())
}

/// A key made only of safe path parts (no '.', '..' or empty parts), as a relative path.
fn safe_relative(key: &str) -> Option<PathBuf> {
    let ok = key.split('/').all(|part| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b))
    });
    ok.then(|| PathBuf::from(key))
}

/// Publishes a command's records as the segment at `from`: the command's commit on the
/// store. Refused if the lock's claim is too old; checked by reading it back, so that a
/// store that ignores `If-None-Match` and a lock that failed cannot silently lose it.
pub fn publish_records(
    remote: &Remote,
    claim: Option<&lock::Claim>,
    from: u64,
    records: &[&[u8]],
) -> Result<()> {
    let claim = claim.ok_or_else(|| Error::RemoteConflict {
        url: remote.url(),
        why: "a commit was attempted without the store's lock".into(),
    })?;
    claim.check_fresh()?;
    let key = segment::key(from);
    let bytes = segment::encode(from, records);
    let digest = Digest::of(&bytes);
    remote.client.put(&key, bytes, Put::Create)?;
    let back = remote.client.get(&key, segment::MAX_SEGMENT)?;
    if Digest::of(&back) != digest {
        return Err(Error::RemoteConflict {
            url: remote.url(),
            why: format!(
                "another writer's segment is at {}: the store's lock did not hold",
                remote.client.url_of(&key)
            ),
        });
    }
    Ok(())
}

/// Publishes a file of the replica (`rel`, relative to the archive) under the same name.
pub fn publish_file(remote: &Remote, rel: &str, bytes: &[u8], mode: Put) -> Result<()> {
    match remote.client.put(rel, bytes.to_vec(), mode) {
        // A key file holds only the key its name commits to.
        Err(Error::RemoteExists { .. }) if rel.starts_with("keys/") => return Ok(()),
        other => other?,
    }
    // Read back: on a store that ignores `If-None-Match`, a racing writer could have replaced
    // it; never report as done what the store does not hold.
    let back = remote.client.get(rel, MAX_FILE)?;
    if back != bytes && !rel.starts_with("keys/") {
        return Err(Error::RemoteConflict {
            url: remote.url(),
            why: format!(
                "{} holds other bytes than were just written: another writer wrote it",
                remote.client.url_of(rel)
            ),
        });
    }
    Ok(())
}
