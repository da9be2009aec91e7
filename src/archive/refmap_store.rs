//! The reference map on disk (format 2), so that `seal` updates it in O(changed subjects ×
//! depth) and `export` proves from it, instead of replaying the whole log.
//!
//! `log/refmap/nodes` is an append-only file of 88-byte nodes of a persistent (path-copying)
//! compact sparse Merkle tree (`core::refmap`); a node is never changed once written, so every
//! earlier version stays readable. `log/refmap/versions` is the commit marker: one 128-byte line
//! per committed version, `<records covered> <node count> <root node> <root hash hex>`, each
//! number 20 decimal digits. Nodes past the last line's count and a torn last line are leftovers
//! of an interrupted seal; the next seal cuts them off. The map is derived data: `verify`
//! rebuilds it from the records and never reads these files; deleting `log/refmap/` makes the
//! next seal rebuild it.
//!
//! Every node read is checked against the hash its parent holds, down from a root that the
//! caller checks against a signed checkpoint, so a damaged file is noticed, never signed over.
//!
//! Nothing here grows with the map: opening reads one version line (others are found by binary
//! search when asked for), an update reads only the touched keys' paths, and the nodes it writes
//! go to the file in bounded chunks (docs/PERFORMANCE.md, seal at 10^7).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::core::digest::Digest;
use crate::core::refmap::{bit, leaf_hash, node_hash, MapProof, MultiProof, Step, Terminal, ZERO};
use crate::error::{Error, Result};

const NODE: u64 = 88;
const LINE: u64 = 128;
const NULL: u64 = u64::MAX;
/// Written nodes held in memory before they go to the file (2.9 MB).
const FLUSH_NODES: usize = 1 << 15;

/// One committed version of the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapVersion {
    /// How many log records the map reflects.
    pub covered: u64,
    nodes: u64,
    root_node: u64,
    pub root: Digest,
}

impl MapVersion {
    const EMPTY: MapVersion = MapVersion {
        covered: 0,
        nodes: 0,
        root_node: NULL,
        root: ZERO,
    };
}

enum Node {
    Leaf(Digest, Digest),
    Inner {
        left: (u64, Digest),
        right: (u64, Digest),
    },
}

pub struct MapStore {
    dir: PathBuf,
    /// `log/refmap/versions` (if it exists) and how many whole lines it holds.
    versions: Option<File>,
    version_count: u64,
    latest: MapVersion,
    nodes: Option<File>,
    /// Nodes written by the update in progress and not yet in the file; node number =
    /// `pending_start` + position.
    pending: Vec<[u8; NODE as usize]>,
    pending_start: u64,
    /// Nodes read so far (a regression test keeps an update's reads proportional to its keys).
    reads: AtomicU64,
}

impl MapStore {
    pub fn create(dir: &Path) -> Result<()> {
        fs::create_dir_all(dir).map_err(Error::io(dir))?;
        for name in ["nodes", "versions"] {
            let path = dir.join(name);
            File::create(&path).map_err(Error::io(&path))?;
        }
        Ok(())
    }

    /// Opens the store; a missing directory is an empty map (rebuilt by the next seal).
    pub fn open(dir: &Path) -> Result<MapStore> {
        let open = |name: &str| {
            let path = dir.join(name);
            match super::fsutil::open_regular(&path, super::fsutil::Links::Refuse) {
                Ok(found) => Ok(Some(found)),
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        };
        // One line per seal; a torn last line is ignored.
        let (versions, version_count) = match open("versions")? {
            Some((file, len)) => (Some(file), len / LINE),
            None => (None, 0),
        };
        let mut store = MapStore {
            dir: dir.to_path_buf(),
            versions,
            version_count,
            latest: MapVersion::EMPTY,
            nodes: open("nodes")?.map(|(file, _)| file),
            pending: Vec::new(),
            pending_start: 0,
            reads: AtomicU64::new(0),
        };
        if version_count > 0 {
            store.latest = store.version_line(version_count - 1)?;
        }
        Ok(store)
    }

    /// Line `i` (from 0) of `log/refmap/versions`.
    fn version_line(&self, i: u64) -> Result<MapVersion> {
        let path = self.dir.join("versions");
        let bad = |why: String| Error::Corrupt {
            path: path.clone(),
            why: format!(
                "line {} {why}; remove {} to have the next seal rebuild it",
                i + 1,
                self.dir.display()
            ),
        };
        let file = self
            .versions
            .as_ref()
            .ok_or_else(|| bad("is missing".into()))?;
        let mut line = [0u8; LINE as usize];
        file.read_exact_at(&mut line, i * LINE)
            .map_err(|e| bad(format!("cannot be read ({e})")))?;
        parse_line(&line).ok_or_else(|| bad("is not a map version".into()))
    }

    pub fn latest(&self) -> MapVersion {
        self.latest
    }

    /// The version that reflects exactly `covered` records, if one was committed: a binary
    /// search over the version lines (their record counts increase).
    pub fn at(&self, covered: u64) -> Result<Option<MapVersion>> {
        if covered == 0 {
            return Ok(Some(MapVersion::EMPTY));
        }
        let (mut low, mut high) = (0, self.version_count);
        while low < high {
            let mid = low + (high - low) / 2;
            let version = self.version_line(mid)?;
            match version.covered.cmp(&covered) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Ok(Some(version)),
            }
        }
        Ok(None)
    }

    /// How many nodes this store has read since it was opened.
    pub fn nodes_read(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    fn damaged(&self, why: String) -> Error {
        Error::Corrupt {
            path: self.dir.clone(),
            why: format!(
                "{why}; the reference map is derived data: remove {} and seal again to rebuild it",
                self.dir.display()
            ),
        }
    }

    /// Node `ptr` of a version of `nodes` nodes, checked against `expect`.
    fn read(&self, ptr: u64, expect: &Digest, nodes: u64) -> Result<Node> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        if ptr >= nodes {
            return Err(self.damaged(format!("node {ptr} does not exist")));
        }
        let mut buf = [0u8; NODE as usize];
        let file = self
            .nodes
            .as_ref()
            .ok_or_else(|| self.damaged("log/refmap/nodes is missing".into()))?;
        file.read_exact_at(&mut buf, ptr * NODE)
            .map_err(|e| self.damaged(format!("node {ptr} cannot be read ({e})")))?;
        let d = |r: std::ops::Range<usize>| Digest::from_slice(&buf[r]).unwrap_or(ZERO);
        let p = |r: std::ops::Range<usize>| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[r]);
            u64::from_be_bytes(b)
        };
        let (node, hash) = match buf[0] {
            b'L' => {
                let (k, v) = (d(8..40), d(40..72));
                (Node::Leaf(k, v), leaf_hash(&k, &v))
            }
            b'I' => {
                let (l, r) = (d(8..40), d(40..72));
                let node = Node::Inner {
                    left: (p(72..80), l),
                    right: (p(80..88), r),
                };
                (node, node_hash(&l, &r))
            }
            _ => return Err(self.damaged(format!("node {ptr} has an unknown type"))),
        };
        if hash != *expect {
            return Err(self.damaged(format!("node {ptr} does not hash to what its parent holds")));
        }
        Ok(node)
    }

    /// Appends `node` to the version being written; returns its number and hash.
    fn write(&mut self, node: &Node) -> Result<(u64, Digest)> {
        let mut buf = [0u8; NODE as usize];
        let hash = match node {
            Node::Leaf(k, v) => {
                buf[0] = b'L';
                buf[8..40].copy_from_slice(k.as_bytes());
                buf[40..72].copy_from_slice(v.as_bytes());
                leaf_hash(k, v)
            }
            Node::Inner { left, right } => {
                buf[0] = b'I';
                buf[8..40].copy_from_slice(left.1.as_bytes());
                buf[40..72].copy_from_slice(right.1.as_bytes());
                buf[72..80].copy_from_slice(&left.0.to_be_bytes());
                buf[80..88].copy_from_slice(&right.0.to_be_bytes());
                node_hash(&left.1, &right.1)
            }
        };
        self.pending.push(buf);
        let number = self.pending_start + self.pending.len() as u64 - 1;
        if self.pending.len() >= FLUSH_NODES {
            self.flush_pending()?;
        }
        Ok((number, hash))
    }

    /// Writes the pending nodes to the file, past the last committed version: until a version
    /// line covers them they are leftovers that the next update overwrites.
    fn flush_pending(&mut self) -> Result<()> {
        let path = self.dir.join("nodes");
        let file = self
            .nodes
            .as_ref()
            .ok_or_else(|| self.damaged("log/refmap/nodes is missing".into()))?;
        file.write_all_at(&self.pending.concat(), self.pending_start * NODE)
            .map_err(Error::io(&path))?;
        self.pending_start += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// The value of `key` in `version`.
    pub fn get(&self, version: &MapVersion, key: &Digest) -> Result<Option<Digest>> {
        let (mut ptr, mut hash) = (version.root_node, version.root);
        let mut depth = 0;
        while ptr != NULL {
            match self.read(ptr, &hash, version.nodes)? {
                Node::Leaf(k, v) => return Ok((k == *key).then_some(v)),
                Node::Inner { left, right } => {
                    (ptr, hash) = if bit(key, depth) { right } else { left };
                    depth += 1;
                }
            }
        }
        Ok(None)
    }

    /// An inclusion or non-inclusion proof of `key` in `version`.
    pub fn prove(&self, version: &MapVersion, key: &Digest) -> Result<MapProof> {
        let (mut ptr, mut hash) = (version.root_node, version.root);
        let mut siblings = Vec::new();
        loop {
            if ptr == NULL {
                return Ok(MapProof {
                    siblings,
                    terminal: Terminal::Empty,
                });
            }
            match self.read(ptr, &hash, version.nodes)? {
                Node::Leaf(k, v) => {
                    return Ok(MapProof {
                        siblings,
                        terminal: Terminal::Leaf { key: k, value: v },
                    })
                }
                Node::Inner { left, right } => {
                    let (next, other) = if bit(key, siblings.len()) {
                        (right, left)
                    } else {
                        (left, right)
                    };
                    siblings.push(other.1);
                    (ptr, hash) = next;
                }
            }
        }
    }

    /// One proof for all of `keys` (sorted, distinct) in `version`.
    pub fn prove_many(&self, version: &MapVersion, keys: &[Digest]) -> Result<MultiProof> {
        let mut proof = MultiProof::default();
        self.prove_node(
            version,
            (version.root_node, version.root),
            0,
            keys,
            &mut proof.steps,
        )?;
        Ok(proof)
    }

    fn prove_node(
        &self,
        version: &MapVersion,
        (ptr, hash): (u64, Digest),
        depth: usize,
        keys: &[Digest],
        steps: &mut Vec<Step>,
    ) -> Result<()> {
        if keys.is_empty() {
            steps.push(Step::Hash(hash));
            return Ok(());
        }
        if ptr == NULL {
            steps.push(Step::Empty);
            return Ok(());
        }
        match self.read(ptr, &hash, version.nodes)? {
            Node::Leaf(key, value) => steps.push(Step::Leaf { key, value }),
            Node::Inner { left, right } => {
                steps.push(Step::Inner);
                let split = keys.partition_point(|k| !bit(k, depth));
                self.prove_node(version, left, depth + 1, &keys[..split], steps)?;
                self.prove_node(version, right, depth + 1, &keys[split..], steps)?;
            }
        }
        Ok(())
    }

    /// Writes a new version: `base` with `updates` (new values by key) applied, reflecting
    /// `covered` records. Durable when this returns.
    pub fn commit(
        &mut self,
        base: &MapVersion,
        updates: &BTreeMap<Digest, Digest>,
        covered: u64,
    ) -> Result<MapVersion> {
        let sorted: Vec<(Digest, Digest)> = updates.iter().map(|(k, v)| (*k, *v)).collect();
        self.commit_with(base, &sorted, &mut |_, new, _| *new, covered)
    }

    /// Writes a new version: `base` with each key of `changes` (sorted, distinct) set to
    /// `value(key, change, its value in base)`, reflecting `covered` records. One descent
    /// reads each touched path once, for the old values and the new nodes alike. Durable when
    /// this returns.
    pub fn commit_with<T>(
        &mut self,
        base: &MapVersion,
        changes: &[(Digest, T)],
        value: &mut impl FnMut(&Digest, &T, Option<Digest>) -> Digest,
        covered: u64,
    ) -> Result<MapVersion> {
        let committed = self.latest().nodes;
        let nodes_path = self.dir.join("nodes");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .read(true)
            .open(&nodes_path)
            .map_err(Error::io(&nodes_path))?;
        self.nodes = Some(file);
        self.pending.clear();
        self.pending_start = committed;
        let (root_node, root) =
            self.update(committed, (base.root_node, base.root), 0, changes, value)?;
        self.flush_pending()?;
        let version = MapVersion {
            covered,
            nodes: self.pending_start,
            root_node,
            root,
        };
        if let Some(file) = &self.nodes {
            file.set_len(version.nodes * NODE)
                .and_then(|_| file.sync_data())
                .map_err(Error::io(&nodes_path))?;
        }
        let versions_path = self.dir.join("versions");
        let mut versions = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .read(true)
            .open(&versions_path)
            .map_err(Error::io(&versions_path))?;
        let at = self.version_count * LINE;
        let line = format!(
            "{:020} {:020} {:020} {}\n",
            version.covered,
            version.nodes,
            version.root_node,
            version.root.to_hex()
        );
        versions
            .set_len(at)
            .and_then(|_| versions.write_all_at(line.as_bytes(), at))
            .and_then(|_| versions.flush())
            .and_then(|_| versions.sync_data())
            .map_err(Error::io(&versions_path))?;
        self.versions = Some(versions);
        self.version_count += 1;
        self.latest = version;
        Ok(version)
    }

    fn update<T>(
        &mut self,
        committed: u64,
        (ptr, hash): (u64, Digest),
        depth: usize,
        changes: &[(Digest, T)],
        value: &mut impl FnMut(&Digest, &T, Option<Digest>) -> Digest,
    ) -> Result<(u64, Digest)> {
        if changes.is_empty() {
            return Ok((ptr, hash));
        }
        // Below an empty subtree or a leaf, every changed key's old value is known.
        let old = match ptr {
            NULL => None,
            _ => match self.read(ptr, &hash, committed)? {
                Node::Leaf(k, v) => Some((k, v)),
                Node::Inner { left, right } => {
                    let split = changes.partition_point(|(k, _)| !bit(k, depth));
                    let (low, high) = changes.split_at(split);
                    let left = self.update(committed, left, depth + 1, low, value)?;
                    let right = self.update(committed, right, depth + 1, high, value)?;
                    return self.write(&Node::Inner { left, right });
                }
            },
        };
        let mut merged: Vec<(Digest, Digest)> = changes
            .iter()
            .map(|(k, change)| {
                let previous = old.filter(|(key, _)| key == k).map(|(_, v)| v);
                (*k, value(k, change, previous))
            })
            .collect();
        if let Some((k, v)) = old {
            if let Err(at) = merged.binary_search_by(|(key, _)| key.cmp(&k)) {
                merged.insert(at, (k, v));
            }
        }
        self.build(depth, &merged)
    }

    /// A new subtree holding exactly `entries` (sorted, distinct keys).
    fn build(&mut self, depth: usize, entries: &[(Digest, Digest)]) -> Result<(u64, Digest)> {
        match entries {
            [] => Ok((NULL, ZERO)),
            [(k, v)] => self.write(&Node::Leaf(*k, *v)),
            _ => {
                let split = entries.partition_point(|(k, _)| !bit(k, depth));
                let left = self.build(depth + 1, &entries[..split])?;
                let right = self.build(depth + 1, &entries[split..])?;
                self.write(&Node::Inner { left, right })
            }
        }
    }
}

fn parse_line(line: &[u8]) -> Option<MapVersion> {
    let text = std::str::from_utf8(line).ok()?.strip_suffix('\n')?;
    let mut parts = text.split(' ');
    let mut number = || -> Option<u64> {
        let p = parts.next()?;
        (p.len() == 20 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let (covered, nodes, root_node) = (number()?, number()?, number()?);
    let root = Digest::from_lower_hex(parts.next()?.as_bytes())?;
    if parts.next().is_some() || (root_node != NULL && root_node >= nodes) {
        return None;
    }
    Some(MapVersion {
        covered,
        nodes,
        root_node,
        root,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::refmap::MemoryMap;

    #[test]
    fn store_matches_memory_map_across_versions() {
        let dir = tempfile::tempdir().unwrap();
        MapStore::create(dir.path()).unwrap();
        let mut store = MapStore::open(dir.path()).unwrap();
        let mut memory = MemoryMap::new();
        let mut roots = Vec::new();
        for round in 0..6u32 {
            let base = store.latest();
            let mut updates = BTreeMap::new();
            for n in 0..(round * 13 + 1) {
                let key = Digest::of(&(n % 40).to_be_bytes());
                let value = Digest::of(&(round * 1000 + n).to_be_bytes());
                updates.insert(key, value);
            }
            for (k, v) in &updates {
                memory.insert(*k, *v);
            }
            let version = store.commit(&base, &updates, u64::from(round) + 1).unwrap();
            assert_eq!(version.root, memory.root(), "round {round}");
            roots.push((version, memory.root()));
        }
        // Reopened, every version is still there and proves what the memory map proves.
        let store = MapStore::open(dir.path()).unwrap();
        for (version, root) in &roots {
            let found = store.at(version.covered).unwrap().unwrap();
            assert_eq!(found.root, *root);
        }
        let latest = store.latest();
        for n in 0..45u32 {
            let key = Digest::of(&n.to_be_bytes());
            let proof = store.prove(&latest, &key).unwrap();
            assert_eq!(proof, memory.prove(&key));
            assert_eq!(proof.verify(&latest.root, &key).unwrap(), memory.get(&key));
            assert_eq!(store.get(&latest, &key).unwrap(), memory.get(&key));
        }
        let keys: Vec<Digest> = {
            let mut k: Vec<Digest> = (0..45u32).map(|n| Digest::of(&n.to_be_bytes())).collect();
            k.sort();
            k
        };
        assert_eq!(
            store.prove_many(&latest, &keys).unwrap(),
            memory.prove_many(&keys)
        );
    }

    fn key(n: u32) -> Digest {
        Digest::of(&n.to_be_bytes())
    }

    /// Commits `count` keys from `first` in batches of `batch`, as successive seals do.
    fn fill(store: &mut MapStore, first: u32, count: u32, batch: u32) {
        for start in (first..first + count).step_by(batch as usize) {
            let updates: BTreeMap<Digest, Digest> = (start..(start + batch).min(first + count))
                .map(|n| (key(n), key(n + 1)))
                .collect();
            let base = store.latest();
            let covered = base.covered + updates.len() as u64;
            store.commit(&base, &updates, covered).unwrap();
        }
    }

    /// What `seal` does with k changed subjects: one commit that extends each key's value. It
    /// must read about k·log₂ n nodes, not the map (a seal at 10^7 records must not grow with n).
    fn nodes_read_by_an_update(store_keys: u32, k: u32) -> u64 {
        let dir = tempfile::tempdir().unwrap();
        MapStore::create(dir.path()).unwrap();
        let mut store = MapStore::open(dir.path()).unwrap();
        fill(&mut store, 0, store_keys, 5_000);
        let mut store = MapStore::open(dir.path()).unwrap();
        let base = store.latest();
        // Half of the keys exist, half are new.
        let mut changes: Vec<(Digest, u32)> = (0..k)
            .map(|i| i * 7 + store_keys - k * 3)
            .map(|n| (key(n), n))
            .collect();
        changes.sort();
        let mut extend = |_: &Digest, n: &u32, old: Option<Digest>| {
            assert_eq!(
                old,
                (*n < store_keys).then(|| key(n + 1)),
                "old value of key {n}"
            );
            Digest::of_parts(&[old.unwrap_or(ZERO).as_bytes(), b"changed"])
        };
        let version = store
            .commit_with(&base, &changes, &mut extend, base.covered + 1)
            .unwrap();
        let reads = store.nodes_read();
        for (key, n) in &changes {
            let old = (*n < store_keys).then(|| self::key(n + 1));
            let expect = Digest::of_parts(&[old.unwrap_or(ZERO).as_bytes(), b"changed"]);
            assert_eq!(store.get(&version, key).unwrap(), Some(expect));
        }
        reads
    }

    #[test]
    fn update_reads_only_the_touched_paths() {
        let k = 20;
        let small = nodes_read_by_an_update(2_000, k);
        let large = nodes_read_by_an_update(40_000, k);
        // log₂ 40,000 ≈ 15.3; a random key's depth is about log₂ n + 2.
        let bound = u64::from(k) * (16 + 8);
        assert!(
            large <= bound,
            "{large} nodes read for {k} keys (bound {bound})"
        );
        // Twenty times the map, about log₂ 20 ≈ 4.3 more levels per path, not 20× the reads.
        assert!(large < small + u64::from(k) * 8, "{small} vs {large}");
    }

    #[test]
    fn large_update_is_written_in_chunks_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        MapStore::create(dir.path()).unwrap();
        let mut store = MapStore::open(dir.path()).unwrap();
        let count = FLUSH_NODES as u32 + 7_000; // about twice FLUSH_NODES nodes
        fill(&mut store, 0, 100, 100);
        fill(&mut store, 100, count, count);
        let entries: Vec<(Digest, Digest)> = (0..100 + count)
            .map(|n| (key(n), key(n + 1)))
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect();
        let latest = store.latest();
        assert_eq!(
            latest.root,
            crate::core::refmap::root_of_sorted(&entries, 0)
        );
        let bytes = fs::metadata(dir.path().join("nodes")).unwrap().len();
        assert_eq!(bytes, latest.nodes * NODE);
        let store = MapStore::open(dir.path()).unwrap();
        assert_eq!(store.latest(), latest);
        assert_eq!(store.at(100).unwrap().map(|v| v.covered), Some(100));
        assert_eq!(store.at(101).unwrap(), None);
        for n in [0, 99, 100, 5_000, 100 + count - 1] {
            assert_eq!(store.get(&latest, &key(n)).unwrap(), Some(key(n + 1)));
        }
    }

    #[test]
    fn damaged_node_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        MapStore::create(dir.path()).unwrap();
        let mut store = MapStore::open(dir.path()).unwrap();
        let mut updates = BTreeMap::new();
        for n in 0..10u32 {
            updates.insert(Digest::of(&n.to_be_bytes()), Digest::of(b"v"));
        }
        let version = store.commit(&MapVersion::EMPTY, &updates, 10).unwrap();
        let nodes = dir.path().join("nodes");
        let mut bytes = fs::read(&nodes).unwrap();
        bytes[50] ^= 1;
        fs::write(&nodes, bytes).unwrap();
        let store = MapStore::open(dir.path()).unwrap();
        let mut failed = false;
        for n in 0..10u32 {
            failed |= store.get(&version, &Digest::of(&n.to_be_bytes())).is_err();
        }
        assert!(failed);
    }
}
