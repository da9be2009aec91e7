//! Derived lookup data, rebuilt from the log whenever it is missing or behind:
//!
//! - `index/by-path/<2 hex>`: one line per document record, `<path hex> <content hex> <record
//!   hex>`, where `<path hex>` is the SHA-256 of the logical path and the file is named by its
//!   first two hex digits — so `add` can tell in one read whether identical content is already
//!   recorded under a path;
//! - `index/by-content/<2 hex>`: one line per document record, `<content hex> <record hex>`,
//!   in the shard of the content digest — so a digest given by a user is found in one read;
//! - `index/covered`: `<index version> <number of log records reflected>`.
//!
//! 256 shards per namespace: a command appends to each shard it touches once, however many
//! documents it records (one file per path or content cost a file creation per document),
//! and a lookup reads 1/256 of the entries.
//!
//! Nothing here is trusted by `verify`. A writer that finds `covered` behind the log (after a
//! crash) or from another index version replays just the missing records.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;

use crate::core::digest::Digest;
use crate::error::{Error, Result};

use super::fsutil;

/// Bumped whenever the index changes, so older indexes are rebuilt.
const INDEX_VERSION: u64 = 4;
const BY_PATH: &str = "by-path";
const BY_CONTENT: &str = "by-content";
/// Directories of earlier index versions, removed when the index is rebuilt.
const OLD_NAMESPACES: [&str; 2] = ["paths", "contents"];

/// The other one or two fields of an index line: (content, record) for `by-path`, (record,
/// none) for `by-content`.
type Rest = (Digest, Option<Digest>);

/// One shard file's complete lines, and (after many lookups) the lines by their first field.
struct Shard {
    text: Vec<u8>,
    lookups: AtomicUsize,
    by_key: OnceLock<HashMap<Digest, Vec<Rest>>>,
}

/// Lookups in one shard answered by scanning before the shard is turned into a map.
const SCANS_BEFORE_MAP: usize = 8;

/// Splits an index line into its first field and the other one or two (all lowercase hex
/// digests); `None` for anything else (the index is a hint, never trusted: damaged lines are
/// skipped).
fn parse_line(line: &[u8]) -> Option<(Digest, Rest)> {
    let mut fields = line.split(|&b| b == b' ');
    let key = Digest::from_lower_hex(fields.next()?)?;
    let first = Digest::from_lower_hex(fields.next()?)?;
    let second = match fields.next() {
        None => None,
        Some(field) => Some(Digest::from_lower_hex(field)?),
    };
    fields.next().is_none().then_some((key, (first, second)))
}

pub struct PathIndex {
    dir: PathBuf,
    /// Shards read by this handle, so that a command looking up many keys reads each once.
    cache: Mutex<HashMap<PathBuf, Arc<Shard>>>,
}

/// Index lines ready to append, by (namespace, shard).
pub struct IndexLines(Vec<((&'static str, u8), String)>);

/// One version of a path: its content and the record that put it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathVersion {
    pub content: Digest,
    pub record: Digest,
}

impl PathIndex {
    pub fn new(dir: &Path) -> PathIndex {
        PathIndex {
            dir: dir.to_path_buf(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn create(dir: &Path) -> Result<()> {
        // Every shard file exists from the start: creating 512 files in the first large
        // `add` instead cost it a third of its index time.
        for sub in [BY_PATH, BY_CONTENT] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(Error::io(&path))?;
            for shard in 0..=255u8 {
                let file = path.join(format!("{shard:02x}"));
                fs::File::create(&file).map_err(Error::io(&file))?;
            }
        }
        fsutil::write_atomic(
            &dir.join("covered"),
            format!("{INDEX_VERSION} 0\n").as_bytes(),
        )
    }

    fn shard_file(&self, namespace: &str, key: &Digest) -> PathBuf {
        self.dir.join(namespace).join(&key.to_hex()[..2])
    }

    /// A shard's complete lines, read once per command. A last line without its newline (an
    /// append cut short by a crash) is left out.
    fn shard(&self, file: &Path) -> Result<Arc<Shard>> {
        if let Some(shard) = self.cache.lock().ok().and_then(|c| c.get(file).cloned()) {
            return Ok(shard);
        }
        let mut bytes = match fsutil::read_stored(file, fsutil::MAX_INDEX_FILE) {
            Ok(bytes) => bytes,
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        bytes.truncate(
            bytes
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |end| end + 1),
        );
        let shard = Arc::new(Shard {
            text: bytes,
            lookups: AtomicUsize::new(0),
            by_key: OnceLock::new(),
        });
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(file.to_path_buf(), shard.clone());
        }
        Ok(shard)
    }

    /// The other fields of each line whose first field is `key`, in file order.
    fn matching(&self, file: &Path, key: &Digest) -> Result<Vec<Rest>> {
        let shard = self.shard(file)?;
        // A few lookups scan the text (cheap per lookup); many build a map once (a large `add`
        // looks up every path, and scanning per file was quadratic).
        if shard.lookups.fetch_add(1, Ordering::Relaxed) < SCANS_BEFORE_MAP {
            let hex = key.to_hex();
            let mut out = Vec::new();
            for line in shard.text.split(|&b| b == b'\n') {
                if line.starts_with(hex.as_bytes()) {
                    if let Some((found, rest)) = parse_line(line) {
                        if found == *key && !out.contains(&rest) {
                            out.push(rest);
                        }
                    }
                }
            }
            return Ok(out);
        }
        let by_key = shard.by_key.get_or_init(|| {
            let mut map: HashMap<Digest, Vec<Rest>> = HashMap::new();
            for (found, rest) in shard.text.split(|&b| b == b'\n').filter_map(parse_line) {
                let group = map.entry(found).or_default();
                if !group.contains(&rest) {
                    group.push(rest);
                }
            }
            map
        });
        Ok(by_key.get(key).cloned().unwrap_or_default())
    }

    /// Appends `text` (whole lines) with one write: constant cost however long the shard is.
    /// Not synced: the index is rebuilt after a crash.
    fn append(&self, file: &Path, text: &str) -> Result<()> {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(file);
        }
        let open = || {
            fs::OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(file)
        };
        let mut handle = match open() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(parent) = file.parent() {
                    fs::create_dir_all(parent).map_err(Error::io(parent))?;
                }
                open()
            }
            other => other,
        }
        .map_err(Error::io(file))?;
        // After a crash the file may end in a cut-off line: start on a new line, or the first
        // line written now would be glued to the fragment and lost.
        let len = handle.metadata().map_err(Error::io(file))?.len();
        let mut last = [b'\n'];
        if len > 0 {
            std::os::unix::fs::FileExt::read_exact_at(&handle, &mut last, len - 1)
                .map_err(Error::io(file))?;
        }
        let text = if last[0] == b'\n' {
            std::borrow::Cow::Borrowed(text)
        } else {
            std::borrow::Cow::Owned(format!("\n{text}"))
        };
        io::Write::write_all(&mut handle, text.as_bytes()).map_err(Error::io(file))
    }

    /// All versions recorded under `logical`, oldest first.
    pub fn versions(&self, logical: &str) -> Result<Vec<PathVersion>> {
        let key = Digest::of(logical.as_bytes());
        let file = self.shard_file(BY_PATH, &key);
        // Every hit is checked against the record it names before it is relied on.
        Ok(self
            .matching(&file, &key)?
            .into_iter()
            .filter_map(|(content, record)| {
                Some(PathVersion {
                    content,
                    record: record?,
                })
            })
            .collect())
    }

    /// Document records whose content is `content`, oldest first.
    pub fn records_for_content(&self, content: &Digest) -> Result<Vec<Digest>> {
        let file = self.shard_file(BY_CONTENT, content);
        Ok(self
            .matching(&file, content)?
            .into_iter()
            .filter(|(_, second)| second.is_none())
            .map(|(record, _)| record)
            .collect())
    }

    /// Indexes document records, given as (logical path, version), in log order: one append
    /// per touched shard.
    pub fn insert_many(&self, entries: &[(&str, PathVersion)]) -> Result<()> {
        self.write(Self::format(entries))
    }

    /// The index lines for document records, grouped by shard: pure computation, which a
    /// writer can do while it waits for the log to become durable.
    pub fn format(entries: &[(&str, PathVersion)]) -> IndexLines {
        let lines: Vec<[(u8, String); 2]> = entries
            .par_iter()
            .map(|(logical, version)| {
                let path_key = Digest::of(logical.as_bytes());
                let (content, record) = (version.content.to_hex(), version.record.to_hex());
                [
                    (
                        path_key.0[0],
                        format!("{} {content} {record}\n", path_key.to_hex()),
                    ),
                    (version.content.0[0], format!("{content} {record}\n")),
                ]
            })
            .collect();
        let mut shards: BTreeMap<(&'static str, u8), String> = BTreeMap::new();
        for [(path_shard, path_line), (content_shard, content_line)] in &lines {
            shards
                .entry((BY_PATH, *path_shard))
                .or_default()
                .push_str(path_line);
            shards
                .entry((BY_CONTENT, *content_shard))
                .or_default()
                .push_str(content_line);
        }
        IndexLines(shards.into_iter().collect())
    }

    /// Appends formatted lines: one append per touched shard, shards in parallel (a large
    /// add touches every shard).
    pub fn write(&self, lines: IndexLines) -> Result<()> {
        lines
            .0
            .par_iter()
            .try_for_each(|((namespace, shard), text)| {
                self.append(&self.dir.join(namespace).join(format!("{shard:02x}")), text)
            })
    }

    /// How many log records the index reflects; 0 when the marker is missing, damaged or from
    /// another index version, which makes the next writer rebuild the index.
    pub fn covered(&self) -> u64 {
        let text = fsutil::read_stored_text(&self.dir.join("covered"), 4096).unwrap_or_default();
        match text.split_whitespace().collect::<Vec<_>>().as_slice() {
            [version, count] if version.parse() == Ok(INDEX_VERSION) => count.parse().unwrap_or(0),
            _ => 0,
        }
    }

    /// Empties the index before a rebuild from the start of the log, removing the layouts of
    /// earlier index versions too.
    pub fn clear(&self) -> Result<()> {
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
        for sub in OLD_NAMESPACES.iter().chain(&[BY_PATH, BY_CONTENT]) {
            let path = self.dir.join(sub);
            match fs::remove_dir_all(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(Error::io(path)(e)),
                _ => {}
            }
        }
        Ok(())
    }

    /// Records that the index reflects `size` log records, after making the appended lines
    /// durable: a marker that outlived its lines in a power cut would never be caught up.
    pub fn set_covered(&self, size: u64) -> Result<()> {
        fsutil::sync_filesystem(&self.dir)?;
        let path = self.dir.join("covered");
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, format!("{INDEX_VERSION} {size}\n")).map_err(Error::io(&tmp))?;
        fs::rename(&tmp, &path).map_err(Error::io(&path))
    }
}
