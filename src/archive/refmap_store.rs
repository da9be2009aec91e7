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

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::core::digest::Digest;
use crate::core::refmap::{bit, leaf_hash, node_hash, MapProof, MultiProof, Step, Terminal, ZERO};
use crate::error::{Error, Result};

const NODE: u64 = 88;
const LINE: u64 = 128;
const NULL: u64 = u64::MAX;

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
    versions: Vec<MapVersion>,
    nodes: Option<File>,
    /// Nodes written by the update in progress; node number = committed count + position.
    pending: Vec<[u8; NODE as usize]>,
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
        let versions_path = dir.join("versions");
        let mut versions = Vec::new();
        if versions_path.exists() {
            // Bounded by the log: at most one version per seal; a torn last line is ignored.
            let bytes = super::fsutil::read_stored(&versions_path, 1 << 30)?;
            for (i, line) in bytes.chunks_exact(LINE as usize).enumerate() {
                let version = parse_line(line).ok_or_else(|| Error::Corrupt {
                    path: versions_path.clone(),
                    why: format!(
                        "line {} is not a map version; remove {} to have the next seal rebuild it",
                        i + 1,
                        dir.display()
                    ),
                })?;
                versions.push(version);
            }
        }
        let nodes_path = dir.join("nodes");
        let nodes = match super::fsutil::open_regular(&nodes_path, super::fsutil::Links::Refuse) {
            Ok((f, _)) => Some(f),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok(MapStore {
            dir: dir.to_path_buf(),
            versions,
            nodes,
            pending: Vec::new(),
        })
    }

    pub fn latest(&self) -> MapVersion {
        self.versions.last().copied().unwrap_or(MapVersion::EMPTY)
    }

    /// The version that reflects exactly `covered` records, if one was committed.
    pub fn at(&self, covered: u64) -> Option<MapVersion> {
        if covered == 0 {
            return Some(MapVersion::EMPTY);
        }
        let i = self.versions.partition_point(|v| v.covered < covered);
        self.versions
            .get(i)
            .filter(|v| v.covered == covered)
            .copied()
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

    fn read(&self, ptr: u64, expect: &Digest, committed: u64) -> Result<Node> {
        let mut buf = [0u8; NODE as usize];
        if ptr >= committed {
            let i = (ptr - committed) as usize;
            buf = *self
                .pending
                .get(i)
                .ok_or_else(|| self.damaged(format!("node {ptr} does not exist")))?;
        } else {
            let file = self
                .nodes
                .as_ref()
                .ok_or_else(|| self.damaged("log/refmap/nodes is missing".into()))?;
            file.read_exact_at(&mut buf, ptr * NODE)
                .map_err(|e| self.damaged(format!("node {ptr} cannot be read ({e})")))?;
        }
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

    fn write(&mut self, committed: u64, node: &Node) -> (u64, Digest) {
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
        (committed + self.pending.len() as u64 - 1, hash)
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
        let committed = self.latest().nodes;
        self.pending.clear();
        let sorted: Vec<(Digest, Digest)> = updates.iter().map(|(k, v)| (*k, *v)).collect();
        let (root_node, root) = self.update(committed, (base.root_node, base.root), 0, &sorted)?;
        let version = MapVersion {
            covered,
            nodes: committed + self.pending.len() as u64,
            root_node,
            root,
        };
        let nodes_path = self.dir.join("nodes");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .read(true)
            .open(&nodes_path)
            .map_err(Error::io(&nodes_path))?;
        let bytes: Vec<u8> = self.pending.concat();
        file.write_all_at(&bytes, committed * NODE)
            .and_then(|_| file.set_len(version.nodes * NODE))
            .and_then(|_| file.sync_data())
            .map_err(Error::io(&nodes_path))?;
        let versions_path = self.dir.join("versions");
        let mut versions = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&versions_path)
            .map_err(Error::io(&versions_path))?;
        let at = self.versions.len() as u64 * LINE;
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
        self.versions.push(version);
        self.pending.clear();
        self.nodes = Some(file);
        Ok(version)
    }

    fn update(
        &mut self,
        committed: u64,
        (ptr, hash): (u64, Digest),
        depth: usize,
        updates: &[(Digest, Digest)],
    ) -> Result<(u64, Digest)> {
        if updates.is_empty() {
            return Ok((ptr, hash));
        }
        if ptr == NULL {
            return Ok(self.build(committed, depth, updates));
        }
        match self.read(ptr, &hash, committed)? {
            Node::Leaf(k, v) => {
                let mut merged = updates.to_vec();
                if let Err(at) = merged.binary_search_by(|(key, _)| key.cmp(&k)) {
                    merged.insert(at, (k, v));
                }
                Ok(self.build(committed, depth, &merged))
            }
            Node::Inner { left, right } => {
                let split = updates.partition_point(|(k, _)| !bit(k, depth));
                let left = self.update(committed, left, depth + 1, &updates[..split])?;
                let right = self.update(committed, right, depth + 1, &updates[split..])?;
                Ok(self.write(committed, &Node::Inner { left, right }))
            }
        }
    }

    /// A new subtree holding exactly `entries` (sorted, distinct keys).
    fn build(
        &mut self,
        committed: u64,
        depth: usize,
        entries: &[(Digest, Digest)],
    ) -> (u64, Digest) {
        match entries {
            [] => (NULL, ZERO),
            [(k, v)] => self.write(committed, &Node::Leaf(*k, *v)),
            _ => {
                let split = entries.partition_point(|(k, _)| !bit(k, depth));
                let left = self.build(committed, depth + 1, &entries[..split]);
                let right = self.build(committed, depth + 1, &entries[split..]);
                self.write(committed, &Node::Inner { left, right })
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
            let found = store.at(version.covered).unwrap();
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
