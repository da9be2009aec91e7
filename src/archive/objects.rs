//! The object store: immutable byte strings named by their SHA-256.
//!
//! Everything the archive keeps — document content and record bytes — goes through the
//! [`ObjectStore`] trait, so another backend (an S3-compatible bucket, say) can be added without
//! touching the rest. [`FsObjectStore`] keeps an object either as a read-only loose file
//! `objects/sha256/<first 2 hex digits>/<remaining 62>` or inside a pack (`objects/packs/`,
//! see [`super::pack`]): a batch of many objects (a large `add`) goes into one pack, because
//! creating a file per object cost more than hashing it.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock};

use crate::core::digest::{Digest, Hasher};
use crate::error::{Error, Result};

use super::fsutil;
use super::pack::{self, Entry, Pack, PackBuilder};
use super::sink::{AlignedBuf, Sink, BLOCK, DEPTH};

/// A batch of at least this many objects goes into a pack; smaller batches stay loose files,
/// which keeps the number of packs (each searched on lookup) at most one per this many objects.
pub const PACK_MIN_OBJECTS: usize = 256;
/// After this many pack lookups in one process, every pack index may be loaded into memory
/// (verification reads every object; a single command reads a few)...
const LOOKUPS_BEFORE_MAP: usize = 4096;
/// ...but only once the lookups number at least 1/MAP_RATIO of the packed objects, so that the
/// map's memory stays proportional to the work done: a `seal` of k new records in an archive of
/// n objects reads k records, and must not hold n entries (2.9 GB at 10^7).
const MAP_RATIO: u64 = 4;

/// The result of storing one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutOutcome {
    pub digest: Digest,
    pub size: u64,
    /// False when an identical object was already stored (deduplicated).
    pub newly_stored: bool,
}

/// Content-addressed, write-once storage.
pub trait ObjectStore: Send + Sync {
    /// Starts a batch of writes; `expected` is how many objects the caller is about to store
    /// (a hint: a large batch is packed). Objects become readable and durable when the batch
    /// is finished, which the caller does before writing anything that refers to them.
    fn writer(&self, expected: usize) -> Result<Box<dyn ObjectWriter + '_>>;
    /// [`ObjectStore::writer`] for a batch whose existing copies `may_be_stored` knows: a
    /// digest it rules out is stored without searching the packs (at worst, a harmless
    /// duplicate). Spares a large `add` from searching, or loading, every pack index.
    fn writer_with_hint<'a>(
        &'a self,
        expected: usize,
        may_be_stored: ContentHint<'a>,
    ) -> Result<Box<dyn ObjectWriter + 'a>>;
    /// Opens an object for streaming. The caller re-hashes if it needs to trust the bytes.
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>>;
    /// Copies an object's bytes to the end of `out` (named `out_name` in errors) WITHOUT
    /// checking them, for a caller that hashes the copy itself; returns how many bytes.
    fn copy_unchecked(&self, digest: &Digest, out: &fs::File, out_name: &Path) -> Result<u64> {
        let mut out = out;
        io::copy(&mut self.open(digest)?, &mut out).map_err(Error::io(out_name))
    }
    /// Reads a whole object of at most `max` bytes and checks its digest.
    fn read_verified(&self, digest: &Digest, max: u64) -> Result<Vec<u8>>;
    fn contains(&self, digest: &Digest) -> Result<bool>;
    /// All stored digests whose hex form starts with `hex_prefix` (at least 2 digits).
    fn with_prefix(&self, hex_prefix: &str) -> Result<Vec<Digest>>;
    /// Every stored digest, in order. A full listing, for verification.
    fn list(&self) -> Result<Vec<Digest>>;
}

/// Says whether an object may already be stored (false: certainly not).
pub type ContentHint<'a> = Box<dyn Fn(&Digest) -> bool + Send + Sync + 'a>;

/// One batch of writes into an [`ObjectStore`].
pub trait ObjectWriter: Send + Sync {
    /// Streams `reader` into the store in constant memory, hashing as it goes. `source` names
    /// the input in error messages.
    fn put_stream(&self, reader: &mut dyn Read, source: &Path) -> Result<PutOutcome>;
    fn put_bytes(&self, bytes: &[u8]) -> Result<PutOutcome>;
    /// [`ObjectWriter::put_bytes`] for bytes this process produced and hashed as `digest` while
    /// producing them (an encryption's ciphertext), sparing a second pass. Never for a digest
    /// read from input: an object would be stored under a name that is not its hash. A store
    /// that cannot use the digest hashes again.
    fn put_hashed(&self, digest: Digest, bytes: &[u8]) -> Result<PutOutcome> {
        let _ = digest;
        self.put_bytes(bytes)
    }
    /// Stores `bytes`, whose SHA-256 the caller computed as `digest`, without looking for an
    /// existing copy: for objects known to be new, such as records (each carries a random
    /// salt). Storing a duplicate this way wastes space but is otherwise harmless.
    fn put_new(&self, digest: Digest, bytes: &[u8]) -> Result<PutOutcome>;
    /// Makes every object of the batch durable (one sync per batch, not per object) and
    /// readable.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// The packs known to a process, and (after many lookups) all their entries in memory.
struct PackSnapshot {
    /// Every committed pack listed, including any whose index could not be used.
    names: Vec<String>,
    packs: Vec<Arc<Pack>>,
    /// Digest to (pack number, offset, length): no second copy of the digest, as a large
    /// archive holds millions of entries.
    map: Option<HashMap<Digest, (u32, u64, u64)>>,
    /// The pack of the last hit, searched first: consecutive reads (records in log order,
    /// documents of one `add`) mostly come from one pack, so a lookup costs one pack's search
    /// instead of one per pack.
    last_hit: AtomicUsize,
}

impl PackSnapshot {
    fn new(
        names: Vec<String>,
        packs: Vec<Arc<Pack>>,
        map: Option<HashMap<Digest, (u32, u64, u64)>>,
    ) -> PackSnapshot {
        PackSnapshot {
            names,
            packs,
            map,
            last_hit: AtomicUsize::new(0),
        }
    }

    fn entries(&self) -> u64 {
        self.packs.iter().map(|p| p.count()).sum()
    }
}

/// Streams object `digest` from `store` into `out` (`io::sink()` to only check it), hashing
/// as it goes; returns what the bytes hash to and how many there were. `out_name` names `out`
/// in errors.
pub fn stream_object(
    store: &dyn ObjectStore,
    digest: &Digest,
    out: &mut dyn Write,
    out_name: &Path,
) -> Result<(Digest, u64)> {
    let mut reader = store.open(digest)?;
    hash_stream(&mut reader, &format!("object {digest}"), out, out_name)
}

/// Copies `reader` (named `in_name` in errors) into `out`, hashing as it goes; returns what the
/// bytes hash to and how many there were.
pub fn hash_stream(
    reader: &mut dyn Read,
    in_name: &str,
    out: &mut dyn Write,
    out_name: &Path,
) -> Result<(Digest, u64)> {
    let read_err = |e| Error::Io {
        path: PathBuf::from(in_name),
        source: e,
    };
    let mut hasher = Hasher::new();
    let mut total = 0u64;
    fsutil::with_read_buffer(|buf| loop {
        let n = fsutil::read_full(reader, buf).map_err(read_err)?;
        if n == 0 {
            return Ok((hasher.finish(), total));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(Error::io(out_name))?;
        total += n as u64;
    })
}

/// [`stream_object`], failing (after writing) if the bytes do not match their name, so that a
/// damaged object is never passed on silently. Returns the number of bytes.
pub fn copy_verified(
    store: &dyn ObjectStore,
    digest: &Digest,
    out: &mut dyn Write,
    out_name: &Path,
) -> Result<u64> {
    let (found, total) = stream_object(store, digest, out, out_name)?;
    if found != *digest {
        return Err(Error::ObjectCorrupt {
            expected: *digest,
            found,
        });
    }
    Ok(total)
}

/// One stored copy of an object: a loose file, or an entry of a pack.
pub enum ObjectCopy {
    Loose(Digest),
    Packed(Arc<Pack>, Entry),
}

impl ObjectCopy {
    /// The digest the copy is stored under (what its bytes should hash to).
    pub fn digest(&self) -> Digest {
        match self {
            ObjectCopy::Loose(digest) => *digest,
            ObjectCopy::Packed(_, entry) => entry.digest,
        }
    }
}

/// Objects as files in a local directory: loose files `sha256/<2 hex>/<62 hex>` and packs in
/// `packs/` (see [`pack`]).
pub struct FsObjectStore {
    root: PathBuf,
    tmp: PathBuf,
    packs_dir: PathBuf,
    packs: RwLock<Option<Arc<PackSnapshot>>>,
    lookups: AtomicUsize,
}

impl FsObjectStore {
    /// `root` is the archive's `objects` directory.
    pub fn new(root: &Path) -> FsObjectStore {
        FsObjectStore {
            root: root.join("sha256"),
            tmp: root.join("tmp"),
            packs_dir: root.join("packs"),
            packs: RwLock::new(None),
            lookups: AtomicUsize::new(0),
        }
    }

    pub fn create_layout(root: &Path) -> Result<()> {
        for dir in [root.join("sha256"), root.join("tmp"), root.join("packs")] {
            fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        }
        Ok(())
    }

    /// Where a loose object lives on disk.
    pub fn path_of(&self, digest: &Digest) -> PathBuf {
        let hex = digest.to_hex();
        self.root.join(&hex[..2]).join(&hex[2..])
    }

    pub fn packs_dir(&self) -> &Path {
        &self.packs_dir
    }

    /// Every stored copy of every object, loose files and pack entries alike, repeats included
    /// (an object may be held loose and packed, or in two packs): verification checks each copy,
    /// since a reader uses only the first it finds.
    pub fn copies(&self) -> Result<Vec<ObjectCopy>> {
        let mut out = Vec::new();
        let fans = fs::read_dir(&self.root).map_err(Error::io(&self.root))?;
        for fan in fans {
            let fan = fan.map_err(Error::io(&self.root))?;
            let Some(prefix) = fan.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if prefix.len() == 2 {
                out.extend(
                    self.loose_with_prefix(&prefix)?
                        .into_iter()
                        .map(ObjectCopy::Loose),
                );
            }
        }
        for pack in &self.snapshot(true)?.packs {
            out.extend(
                pack.entries()?
                    .into_iter()
                    .map(|entry| ObjectCopy::Packed(pack.clone(), entry)),
            );
        }
        Ok(out)
    }

    /// Hashes one copy's bytes: (what they hash to, how many there are).
    pub fn hash_copy(&self, copy: &ObjectCopy) -> Result<(Digest, u64)> {
        let sink = Path::new("<check>");
        match copy {
            ObjectCopy::Loose(digest) => {
                let path = self.path_of(digest);
                let (mut file, _) = fsutil::open_regular(&path, fsutil::Links::Refuse)?;
                hash_stream(&mut file, &path.to_string_lossy(), &mut io::sink(), sink)
            }
            ObjectCopy::Packed(pack, entry) => hash_stream(
                &mut pack.reader(entry)?,
                &pack.pack_path.to_string_lossy(),
                &mut io::sink(),
                sink,
            ),
        }
    }

    /// The committed packs, opened (and re-listed when `refresh`).
    fn snapshot(&self, refresh: bool) -> Result<Arc<PackSnapshot>> {
        let current = self.packs.read().ok().and_then(|s| s.clone());
        if let Some(current) = current.as_ref().filter(|_| !refresh) {
            return Ok(current.clone());
        }
        let names = pack::list(&self.packs_dir)?;
        if let Some(current) = current.as_ref().filter(|c| c.names == names) {
            return Ok(current.clone());
        }
        let mut packs = Vec::with_capacity(names.len());
        for name in &names {
            let reused = current
                .as_ref()
                .and_then(|c| c.packs.iter().find(|p| &p.name == name).cloned());
            match reused {
                Some(pack) => packs.push(pack),
                // An unusable index hides its objects (reads say they are missing);
                // `verify` reports the index itself.
                None => match Pack::open(&self.packs_dir, name) {
                    Ok(pack) => packs.push(Arc::new(pack)),
                    Err(Error::Corrupt { .. }) => {}
                    Err(e) => return Err(e),
                },
            }
        }
        let wants_map = current.as_ref().is_some_and(|c| c.map.is_some());
        let map = if wants_map {
            Some(load_map(&packs)?)
        } else {
            None
        };
        let snapshot = Arc::new(PackSnapshot::new(names, packs, map));
        if let Ok(mut slot) = self.packs.write() {
            *slot = Some(snapshot.clone());
        }
        Ok(snapshot)
    }

    /// Loads every pack index into memory now if `expected` lookups would cost more as
    /// binary searches (about log2 n reads per pack each) than reading all the indexes once.
    fn prepare_lookups(&self, expected: usize) -> Result<()> {
        let snapshot = self.snapshot(false)?;
        if snapshot.map.is_some() || snapshot.packs.is_empty() {
            return Ok(());
        }
        let entries = snapshot.entries();
        let per_search = 64 - entries.max(1).leading_zeros() as u64;
        let searching = expected as u64 * snapshot.packs.len() as u64 * per_search;
        if searching > entries {
            self.install_map(&snapshot)?;
        }
        Ok(())
    }

    /// Loads every index of `snapshot`'s packs into memory and makes that the current view.
    fn install_map(&self, snapshot: &PackSnapshot) -> Result<Arc<PackSnapshot>> {
        let mapped = Arc::new(PackSnapshot::new(
            snapshot.names.clone(),
            snapshot.packs.clone(),
            Some(load_map(&snapshot.packs)?),
        ));
        if let Ok(mut slot) = self.packs.write() {
            *slot = Some(mapped.clone());
        }
        Ok(mapped)
    }

    /// Finds a packed object. `refresh` re-lists the packs on a miss (another process may
    /// have committed one since this process looked).
    fn find_packed(&self, digest: &Digest, refresh: bool) -> Result<Option<(Arc<Pack>, Entry)>> {
        let mut snapshot = self.snapshot(false)?;
        let lookups = self.lookups.fetch_add(1, Ordering::Relaxed) + 1;
        // Reconsidered every LOOKUPS_BEFORE_MAP lookups (summing the pack counts is cheap).
        if lookups.is_multiple_of(LOOKUPS_BEFORE_MAP)
            && snapshot.map.is_none()
            && lookups as u64 * MAP_RATIO >= snapshot.entries()
        {
            snapshot = self.install_map(&snapshot)?;
        }
        if let Some(found) = search(&snapshot, digest)? {
            return Ok(Some(found));
        }
        if refresh {
            let fresh = self.snapshot(true)?;
            if !Arc::ptr_eq(&fresh, &snapshot) {
                return search(&fresh, digest);
            }
        }
        Ok(None)
    }

    fn new_writer<'a>(
        &'a self,
        expected: usize,
        may_be_stored: Option<ContentHint<'a>>,
    ) -> Result<Box<dyn ObjectWriter + 'a>> {
        let (pack, loose_fans) = if expected >= PACK_MIN_OBJECTS {
            if may_be_stored.is_none() {
                self.prepare_lookups(expected)?;
            }
            (
                Some(Mutex::new(PackBuilder::new(&self.packs_dir, &self.tmp)?)),
                Some(self.loose_fans()?),
            )
        } else {
            (None, None)
        };
        Ok(Box::new(FsObjectWriter {
            store: self,
            pack,
            wrote_loose: AtomicBool::new(false),
            loose_fans,
            may_be_stored,
        }))
    }

    /// Which `sha256/<hh>` directories exist.
    fn loose_fans(&self) -> Result<[bool; 256]> {
        let mut fans = [false; 256];
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(fans),
            Err(e) => return Err(Error::io(&self.root)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(Error::io(&self.root))?;
            let name = entry.file_name();
            if let Some(fan) = name.to_str().and_then(|n| u8::from_str_radix(n, 16).ok()) {
                fans[usize::from(fan)] = true;
            }
        }
        Ok(fans)
    }

    fn loose_exists(&self, digest: &Digest, size: Option<u64>) -> bool {
        fs::metadata(self.path_of(digest)).is_ok_and(|m| size.is_none_or(|s| m.len() == s))
    }

    /// Stores `bytes` as a loose object, whose SHA-256 the caller has computed as `digest`.
    fn put_loose(&self, bytes: &[u8], digest: Digest) -> Result<PutOutcome> {
        // Created read-only (objects are never modified in place); the open handle can still
        // write, and no chmod is needed later.
        let mut tmp = fsutil::temp_file(&self.tmp, "put-", 0o444)?;
        tmp.write_all(bytes).map_err(Error::io(tmp.path()))?;
        self.install(tmp, digest, bytes.len() as u64)
    }

    /// Streams a large input (whose first `BLOCK` bytes are `first`) into a loose object in
    /// three stages on three threads: this one reads, another hashes, the sink's writes. Reading
    /// and hashing on one thread made `add` of a large file as slow as `openssl dgst`, which
    /// does both; this way hashing alone sets the pace.
    fn put_large(&self, first: &[u8], reader: &mut dyn Read, source: &Path) -> Result<PutOutcome> {
        let read_err = |e: io::Error| Error::BadInput {
            path: source.to_path_buf(),
            why: format!("read failed: {e}"),
        };
        let tmp = pack::writable_temp(&self.tmp, "put-")?;
        let tmp_path = tmp.path().to_path_buf();
        let write_err = |e: io::Error| Error::io(&tmp_path)(e);
        let mut sink = Sink::start(tmp.as_file(), &tmp_path).map_err(write_err)?;
        let Some(mut pool) = sink.take_pool() else {
            return Err(write_err(io::Error::other("no buffers")));
        };
        let (to_hasher, from_reader) = mpsc::sync_channel::<AlignedBuf>(DEPTH);
        let hashing = std::thread::spawn(move || {
            let mut hasher = Hasher::new();
            let mut size = 0u64;
            for block in from_reader {
                hasher.update(block.filled());
                size += block.len() as u64;
                if let Err(e) = sink.submit(block) {
                    return (hasher, size, Err(e));
                }
            }
            (hasher, size, sink.finish())
        });
        let read_result = (|| -> Result<()> {
            let mut block = pool.buffer().map_err(write_err)?;
            block.push(first);
            loop {
                if to_hasher.send(block).is_err() {
                    return Ok(()); // the writer failed; its error is reported below
                }
                block = match pool.buffer() {
                    Ok(block) => block,
                    Err(_) => return Ok(()), // likewise
                };
                let n = fsutil::read_full(reader, block.window_mut()).map_err(read_err)?;
                if n == 0 {
                    return Ok(());
                }
                block.set_len(n);
            }
        })();
        drop(to_hasher);
        let (hasher, size, written) = hashing.join().unwrap_or_else(|_| {
            (
                Hasher::new(),
                0,
                Err(io::Error::other("hashing thread panicked")),
            )
        });
        read_result?;
        written.map_err(write_err)?;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o444))
            .map_err(write_err)?;
        let digest = hasher.finish();
        // Reuse an existing object only if its length is right: after a power cut a renamed
        // but unsynced object can be empty or short, and must be replaced, not trusted.
        if self.loose_exists(&digest, Some(size)) {
            return Ok(PutOutcome {
                digest,
                size,
                newly_stored: false,
            });
        }
        self.install(tmp, digest, size)
    }

    /// Renames a written temporary file into place; the caller has checked that no intact
    /// object of that name exists.
    fn install(
        &self,
        tmp: tempfile::NamedTempFile,
        digest: Digest,
        size: u64,
    ) -> Result<PutOutcome> {
        let target = self.path_of(&digest);
        // The shard directory exists for all but the first object in it: try the rename first
        // and create the directory only when it is missing (saves a stat and a mkdir per object).
        let tmp = match tmp.persist(&target) {
            Ok(_) => None,
            Err(e) if e.error.kind() == io::ErrorKind::NotFound => Some(e.file),
            Err(e) => return Err(Error::io(&target)(e.error)),
        };
        if let Some(tmp) = tmp {
            let dir = target.parent().unwrap_or(&self.root);
            fs::create_dir_all(dir).map_err(Error::io(dir))?;
            tmp.persist(&target)
                .map_err(|e| Error::io(&target)(e.error))?;
        }
        Ok(PutOutcome {
            digest,
            size,
            newly_stored: true,
        })
    }

    fn loose_with_prefix(&self, prefix: &str) -> Result<Vec<Digest>> {
        let dir = self.root.join(&prefix[..2]);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(Error::io(&dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let full = format!("{}{}", &prefix[..2], name);
            if full.starts_with(prefix) {
                if let Some(digest) = Digest::from_hex(&full) {
                    out.push(digest);
                }
            }
        }
        Ok(out)
    }
}

fn load_map(packs: &[Arc<Pack>]) -> Result<HashMap<Digest, (u32, u64, u64)>> {
    let mut map = HashMap::new();
    for (i, pack) in (0u32..).zip(packs) {
        let entries = pack.entries()?;
        map.reserve(entries.len());
        for entry in entries {
            map.insert(entry.digest, (i, entry.offset, entry.len));
        }
    }
    Ok(map)
}

fn search(snapshot: &PackSnapshot, digest: &Digest) -> Result<Option<(Arc<Pack>, Entry)>> {
    if let Some(map) = &snapshot.map {
        return Ok(map.get(digest).and_then(|&(i, offset, len)| {
            let pack = snapshot.packs.get(i as usize)?.clone();
            Some((
                pack,
                Entry {
                    digest: *digest,
                    offset,
                    len,
                },
            ))
        }));
    }
    let first = snapshot.last_hit.load(Ordering::Relaxed);
    let order = std::iter::once(first).chain((0..snapshot.packs.len()).filter(|&i| i != first));
    for i in order {
        let Some(pack) = snapshot.packs.get(i) else {
            continue;
        };
        // A damaged index hides only its own objects (verify reports it).
        let found = match pack.find(digest) {
            Err(Error::Corrupt { .. }) => None,
            other => other?,
        };
        if let Some(entry) = found {
            snapshot.last_hit.store(i, Ordering::Relaxed);
            return Ok(Some((pack.clone(), entry)));
        }
    }
    Ok(None)
}

impl ObjectStore for FsObjectStore {
    fn writer(&self, expected: usize) -> Result<Box<dyn ObjectWriter + '_>> {
        self.new_writer(expected, None)
    }

    fn writer_with_hint<'a>(
        &'a self,
        expected: usize,
        may_be_stored: ContentHint<'a>,
    ) -> Result<Box<dyn ObjectWriter + 'a>> {
        self.new_writer(expected, Some(may_be_stored))
    }

    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        let path = self.path_of(digest);
        match fsutil::open_regular(&path, fsutil::Links::Refuse) {
            Ok((file, _)) => Ok(Box::new(file)),
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                match self.find_packed(digest, true)? {
                    Some((pack, entry)) => Ok(Box::new(pack.reader(&entry)?)),
                    None => Err(Error::ObjectMissing { digest: *digest }),
                }
            }
            Err(e) => Err(e),
        }
    }

    fn copy_unchecked(&self, digest: &Digest, out: &fs::File, out_name: &Path) -> Result<u64> {
        let path = self.path_of(digest);
        match fsutil::open_regular(&path, fsutil::Links::Refuse) {
            Ok((file, len)) => fsutil::copy_range(&file, 0, len, out, (&path, out_name)),
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                match self.find_packed(digest, true)? {
                    Some((pack, entry)) => pack.copy_to(&entry, out, out_name),
                    None => Err(Error::ObjectMissing { digest: *digest }),
                }
            }
            Err(e) => Err(e),
        }
    }

    fn read_verified(&self, digest: &Digest, max: u64) -> Result<Vec<u8>> {
        let path = self.path_of(digest);
        let bytes = match fsutil::read_stored(&path, max) {
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                match self.find_packed(digest, true)? {
                    Some((pack, entry)) if entry.len > max => {
                        return Err(Error::Corrupt {
                            path: pack.index_path.clone(),
                            why: format!(
                            "object {digest} is listed as {} bytes, more than the {max}-byte limit",
                            entry.len
                        ),
                        })
                    }
                    Some((pack, entry)) => pack.read(&entry)?,
                    None => return Err(Error::ObjectMissing { digest: *digest }),
                }
            }
            other => other?,
        };
        let found = Digest::of(&bytes);
        if found != *digest {
            // A damaged loose copy may have an intact packed twin.
            if let Some((pack, entry)) = self.find_packed(digest, true)? {
                if entry.len <= max {
                    let packed = pack.read(&entry)?;
                    if Digest::of(&packed) == *digest {
                        return Ok(packed);
                    }
                }
            }
            return Err(Error::ObjectCorrupt {
                expected: *digest,
                found,
            });
        }
        Ok(bytes)
    }

    fn contains(&self, digest: &Digest) -> Result<bool> {
        Ok(self.loose_exists(digest, None) || self.find_packed(digest, true)?.is_some())
    }

    fn with_prefix(&self, hex_prefix: &str) -> Result<Vec<Digest>> {
        let prefix = hex_prefix.to_ascii_lowercase();
        if prefix.len() < 2 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Vec::new());
        }
        let mut out = self.loose_with_prefix(&prefix)?;
        for pack in &self.snapshot(true)?.packs {
            out.extend(pack.with_prefix(&prefix)?);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn list(&self) -> Result<Vec<Digest>> {
        let mut out: Vec<Digest> = self.copies()?.iter().map(ObjectCopy::digest).collect();
        out.sort();
        out.dedup();
        Ok(out)
    }
}

mod writer;
use writer::FsObjectWriter;

#[cfg(test)]
mod tests;
