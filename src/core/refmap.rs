//! The reference map (format 2): an authenticated map that a checkpoint commits to, saying for
//! every *subject* which records of the log are about it. A recipient shown one document can then
//! be shown, provably, *all* the records about it — annotations, custody events, links,
//! retractions, later versions of its path — and the whole key state, each either disclosed or
//! withheld by leaf hash. Without it, deleting a revocation or a retraction from a bundle would
//! leave every remaining signature valid (docs/FORMAT.md §21).
//!
//! Structure: a compact sparse Merkle tree over 256-bit keys (the SHA-256 of a tagged subject).
//! The hash of a set of leaves that share their first `d` key bits is
//! - `ZERO` (32 zero bytes) for no leaf,
//! - the leaf hash `SHA-256(0x10 ‖ key ‖ value)` for one leaf,
//! - `SHA-256(0x11 ‖ hash(left) ‖ hash(right))` for two or more, split on bit `d` (0 = left),
//!
//! so the root is a function of the map alone. The value of a subject is the end of a hash chain
//! over its records in log order: `v₀ = ZERO`, `vᵢ₊₁ = SHA-256(0x12 ‖ vᵢ ‖ u64be(index) ‖ leaf
//! hash ‖ kind)`. Pure: no I/O; the on-disk store is `archive::refmap_store`.

use std::collections::BTreeMap;

use thiserror::Error;

use super::digest::Digest;
use super::record::Record;

/// The hash of an empty subtree, and the value of a subject with no records.
pub const ZERO: Digest = Digest([0u8; 32]);

/// Longest proof: one sibling per key bit.
pub const MAX_DEPTH: usize = 256;

/// What a map key names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// Records that refer to a digest: a document's content or a record's id.
    About(Digest),
    /// Document records with this logical path: the versions of a path.
    Path(String),
    /// Every key record: the whole key state.
    Keys,
    /// Every `case` record: the case's titles, the latest one current.
    Case,
}

impl Subject {
    /// The map key: SHA-256 of a tag byte and the subject, so that the three kinds of subject
    /// can never share a key (their preimages differ in the first byte).
    pub fn key(&self) -> Digest {
        match self {
            Subject::About(d) => Digest::of_parts(&[&[0x00], d.as_bytes()]),
            Subject::Path(p) => Digest::of_parts(&[&[0x01], p.as_bytes()]),
            Subject::Keys => Digest::of_parts(&[&[0x02]]),
            Subject::Case => Digest::of_parts(&[&[0x03]]),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Subject::About(d) => format!("records about {}", d.to_prefixed()),
            Subject::Path(p) => format!("versions of '{p}'"),
            Subject::Keys => "the key records".to_string(),
            Subject::Case => "the case title records".to_string(),
        }
    }
}

/// The subjects a record is filed under. Unknown kinds are filed under none: this version
/// cannot say what they refer to (a later format version that defines them says it).
pub fn subjects_of(record: &Record) -> Vec<Subject> {
    let mut out: Vec<Subject> = match record {
        Record::Document(d) => vec![Subject::Path(d.path.clone())],
        Record::Annotation(a) => std::iter::once(a.target)
            .chain(a.links.iter().map(|l| l.target))
            .map(Subject::About)
            .collect(),
        Record::Retraction(r) => vec![Subject::About(r.target)],
        Record::Metadata(m) => vec![Subject::About(m.target)],
        Record::Custody(c) => c.targets.iter().copied().map(Subject::About).collect(),
        Record::Key(_) => vec![Subject::Keys],
        Record::Case(_) => vec![Subject::Case],
        // A rewrap is about its document record, like metadata; the recipients set is filed
        // under no subject (bundles do not disclose it).
        Record::Rewrap(r) => vec![Subject::About(r.target)],
        Record::Recipients(_) | Record::Unknown { .. } => Vec::new(),
    };
    // A record names a subject once, however many of its fields name it.
    out.sort();
    out.dedup();
    out
}

/// The chain entry of record `index` (leaf hash `leaf`) and the map keys of the subjects it is
/// filed under: what every writer and verifier of the map appends.
pub fn chain_entry(index: u64, leaf: &Digest, record: &Record) -> (ChainEntry, Vec<Digest>) {
    let entry = ChainEntry {
        index,
        leaf: *leaf,
        kind: record.kind().to_string(),
    };
    (
        entry,
        subjects_of(record).iter().map(Subject::key).collect(),
    )
}

/// One record in a subject's chain: enough to recompute the chain without the record itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChainEntry {
    pub index: u64,
    pub leaf: Digest,
    pub kind: String,
}

pub fn chain_step(previous: &Digest, entry: &ChainEntry) -> Digest {
    Digest::of_parts(&[
        &[0x12],
        previous.as_bytes(),
        &entry.index.to_be_bytes(),
        entry.leaf.as_bytes(),
        entry.kind.as_bytes(),
    ])
}

/// The value of a subject whose records are `entries`, in log order.
pub fn chain_value(entries: &[ChainEntry]) -> Digest {
    entries.iter().fold(ZERO, |v, e| chain_step(&v, e))
}

pub fn leaf_hash(key: &Digest, value: &Digest) -> Digest {
    Digest::of_parts(&[&[0x10], key.as_bytes(), value.as_bytes()])
}

pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    Digest::of_parts(&[&[0x11], left.as_bytes(), right.as_bytes()])
}

/// Bit `depth` of a key, most significant bit of byte 0 first.
pub fn bit(key: &Digest, depth: usize) -> bool {
    key.0[depth / 8] & (0x80 >> (depth % 8)) != 0
}

/// Where a proof's path ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terminal {
    /// An empty subtree: no key with this prefix.
    Empty,
    /// The only leaf with this prefix.
    Leaf { key: Digest, value: Digest },
}

/// An inclusion or non-inclusion proof: the siblings along the key's path from the root down
/// (index 0 is the root's other child), and what the path ends at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapProof {
    pub siblings: Vec<Digest>,
    pub terminal: Terminal,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MapProofError {
    #[error("the proof has {0} siblings; at most 256 are possible")]
    TooLong(usize),
    #[error("the proof ends at a leaf whose key does not share the path to the subject's key")]
    WrongPath,
    #[error("the proof does not lead to the signed reference-map root")]
    RootMismatch,
}

impl MapProof {
    /// Checks the proof for `key` against `root`: `Some(value)` if the key is in the map,
    /// `None` if it provably is not.
    pub fn verify(&self, root: &Digest, key: &Digest) -> Result<Option<Digest>, MapProofError> {
        let depth = self.siblings.len();
        if depth > MAX_DEPTH {
            return Err(MapProofError::TooLong(depth));
        }
        let (mut hash, found) = match &self.terminal {
            Terminal::Empty => (ZERO, None),
            Terminal::Leaf { key: k, value } => {
                // The leaf must lie on the subject's path: same first `depth` bits.
                if (0..depth).any(|d| bit(k, d) != bit(key, d)) {
                    return Err(MapProofError::WrongPath);
                }
                (leaf_hash(k, value), (k == key).then_some(*value))
            }
        };
        for d in (0..depth).rev() {
            let sibling = &self.siblings[d];
            hash = if bit(key, d) {
                node_hash(sibling, &hash)
            } else {
                node_hash(&hash, sibling)
            };
        }
        if hash != *root {
            return Err(MapProofError::RootMismatch);
        }
        Ok(found)
    }
}

/// One step of a [`MultiProof`], in depth-first, left-to-right order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An inner node on the path of some proven key: its two children follow.
    Inner,
    /// An empty subtree on the path of some proven key.
    Empty,
    /// The only leaf of a subtree on the path of some proven key.
    Leaf { key: Digest, value: Digest },
    /// The hash of a subtree that no proven key's path enters.
    Hash(Digest),
}

/// A proof for several keys at once: the union of their paths, each shared node given once.
/// For k keys of a map of n it holds about k·log₂(n/k) hashes, so disclosing everything costs
/// about the map's size, not k·log₂ n.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiProof {
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MultiProofError {
    #[error("the proof ends early or has {0} step(s) left over")]
    Shape(usize),
    #[error("the proof descends deeper than 256 levels")]
    TooDeep,
    #[error("a leaf in the proof does not lie on the path of the keys it stands for")]
    WrongPath,
    #[error("the proof does not lead to the signed reference-map root")]
    RootMismatch,
}

impl MultiProof {
    /// Checks the proof for `keys` (any order, duplicates allowed) against `root`; returns each
    /// key's value, `None` for keys provably absent.
    pub fn verify(
        &self,
        root: &Digest,
        keys: &[Digest],
    ) -> Result<BTreeMap<Digest, Option<Digest>>, MultiProofError> {
        let mut sorted = keys.to_vec();
        sorted.sort();
        sorted.dedup();
        let mut found = BTreeMap::new();
        let mut at = 0usize;
        let hash = self.walk(&mut at, 0, &sorted, &mut found)?;
        if at != self.steps.len() {
            return Err(MultiProofError::Shape(self.steps.len() - at));
        }
        if hash != *root {
            return Err(MultiProofError::RootMismatch);
        }
        Ok(found)
    }

    fn walk(
        &self,
        at: &mut usize,
        depth: usize,
        keys: &[Digest],
        found: &mut BTreeMap<Digest, Option<Digest>>,
    ) -> Result<Digest, MultiProofError> {
        let step = self.steps.get(*at).ok_or(MultiProofError::Shape(0))?;
        *at += 1;
        match step {
            Step::Hash(h) if keys.is_empty() => Ok(*h),
            Step::Hash(_) => Err(MultiProofError::WrongPath),
            Step::Empty => {
                for k in keys {
                    found.insert(*k, None);
                }
                Ok(ZERO)
            }
            Step::Leaf { key, value } => {
                for k in keys {
                    if (0..depth).any(|d| bit(k, d) != bit(key, d)) {
                        return Err(MultiProofError::WrongPath);
                    }
                    found.insert(*k, (k == key).then_some(*value));
                }
                Ok(leaf_hash(key, value))
            }
            Step::Inner if keys.is_empty() => Err(MultiProofError::WrongPath),
            Step::Inner => {
                if depth >= MAX_DEPTH {
                    return Err(MultiProofError::TooDeep);
                }
                let split = keys.partition_point(|k| !bit(k, depth));
                let left = self.walk(at, depth + 1, &keys[..split], found)?;
                let right = self.walk(at, depth + 1, &keys[split..], found)?;
                Ok(node_hash(&left, &right))
            }
        }
    }
}

/// An in-memory map: the reference implementation, used by `verify` (which rebuilds the map of
/// every checkpoint from the records) and by the tests. Hashes are recomputed lazily, so a root
/// after a batch of updates costs O(changed keys × depth).
#[derive(Debug, Default)]
pub struct MemoryMap {
    root: Node,
    values: BTreeMap<Digest, Digest>,
}

#[derive(Debug, Default)]
enum Node {
    #[default]
    Empty,
    Leaf(Digest, Digest),
    Inner(Box<Node>, Box<Node>, Option<Digest>),
}

impl Node {
    fn insert(&mut self, depth: usize, key: Digest, value: Digest) {
        match self {
            Node::Empty => *self = Node::Leaf(key, value),
            Node::Leaf(k, v) if *k == key => *v = value,
            Node::Leaf(k, v) => {
                let (old_key, old_value) = (*k, *v);
                let mut inner = Node::Inner(Box::default(), Box::default(), None);
                inner.insert(depth, old_key, old_value);
                inner.insert(depth, key, value);
                *self = inner;
            }
            Node::Inner(left, right, cached) => {
                *cached = None;
                let child = if bit(&key, depth) { right } else { left };
                child.insert(depth + 1, key, value);
            }
        }
    }

    fn hash(&mut self) -> Digest {
        match self {
            Node::Empty => ZERO,
            Node::Leaf(k, v) => leaf_hash(k, v),
            Node::Inner(left, right, cached) => {
                if let Some(h) = cached {
                    return *h;
                }
                let h = node_hash(&left.hash(), &right.hash());
                *cached = Some(h);
                h
            }
        }
    }
}

impl MemoryMap {
    pub fn new() -> MemoryMap {
        MemoryMap::default()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn get(&self, key: &Digest) -> Option<Digest> {
        self.values.get(key).copied()
    }

    pub fn insert(&mut self, key: Digest, value: Digest) {
        self.values.insert(key, value);
        self.root.insert(0, key, value);
    }

    /// Appends one record to each of its subjects' chains.
    pub fn add_record(&mut self, index: u64, leaf: &Digest, record: &Record) {
        let (entry, keys) = chain_entry(index, leaf, record);
        self.append(&entry, &keys);
    }

    /// Appends `entry` to the chains of `keys`.
    pub fn append(&mut self, entry: &ChainEntry, keys: &[Digest]) {
        for key in keys {
            let value = chain_step(&self.get(key).unwrap_or(ZERO), entry);
            self.insert(*key, value);
        }
    }

    pub fn root(&mut self) -> Digest {
        self.root.hash()
    }

    pub fn prove(&mut self, key: &Digest) -> MapProof {
        self.root.hash();
        let mut siblings = Vec::new();
        let mut node = &self.root;
        let mut depth = 0;
        loop {
            match node {
                Node::Empty => {
                    return MapProof {
                        siblings,
                        terminal: Terminal::Empty,
                    }
                }
                Node::Leaf(k, v) => {
                    return MapProof {
                        siblings,
                        terminal: Terminal::Leaf { key: *k, value: *v },
                    }
                }
                Node::Inner(left, right, _) => {
                    let (next, other) = if bit(key, depth) {
                        (right, left)
                    } else {
                        (left, right)
                    };
                    siblings.push(cached_hash(other));
                    node = next;
                    depth += 1;
                }
            }
        }
    }
}

impl MemoryMap {
    /// A proof for every key of `keys` (sorted, distinct).
    pub fn prove_many(&mut self, keys: &[Digest]) -> MultiProof {
        self.root.hash();
        let mut proof = MultiProof::default();
        prove_node(&self.root, 0, keys, &mut proof.steps);
        proof
    }
}

fn prove_node(node: &Node, depth: usize, keys: &[Digest], steps: &mut Vec<Step>) {
    if keys.is_empty() {
        steps.push(Step::Hash(cached_hash(node)));
        return;
    }
    match node {
        Node::Empty => steps.push(Step::Empty),
        Node::Leaf(k, v) => steps.push(Step::Leaf { key: *k, value: *v }),
        Node::Inner(left, right, _) => {
            steps.push(Step::Inner);
            let split = keys.partition_point(|k| !bit(k, depth));
            prove_node(left, depth + 1, &keys[..split], steps);
            prove_node(right, depth + 1, &keys[split..], steps);
        }
    }
}

/// The hash of a node whose hashes were all computed by the caller.
fn cached_hash(node: &Node) -> Digest {
    match node {
        Node::Empty => ZERO,
        Node::Leaf(k, v) => leaf_hash(k, v),
        Node::Inner(left, right, cached) => {
            cached.unwrap_or_else(|| node_hash(&cached_hash(left), &cached_hash(right)))
        }
    }
}

/// The root of a map given as sorted (key, value) pairs, by the definition (recursion on the
/// key bits). Independent of [`MemoryMap`]; the tests check that both agree.
pub fn root_of_sorted(entries: &[(Digest, Digest)], depth: usize) -> Digest {
    match entries {
        [] => ZERO,
        [(k, v)] => leaf_hash(k, v),
        _ => {
            let split = entries.partition_point(|(k, _)| !bit(k, depth));
            node_hash(
                &root_of_sorted(&entries[..split], depth + 1),
                &root_of_sorted(&entries[split..], depth + 1),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> Digest {
        Digest::of(&n.to_be_bytes())
    }

    #[test]
    fn empty_map() {
        let mut map = MemoryMap::new();
        assert_eq!(map.root(), ZERO);
        let proof = map.prove(&key(1));
        assert_eq!(proof.terminal, Terminal::Empty);
        assert_eq!(proof.verify(&ZERO, &key(1)), Ok(None));
    }

    #[test]
    fn memory_map_matches_definition_and_proofs_verify() {
        let mut map = MemoryMap::new();
        let mut sorted = BTreeMap::new();
        for n in 0..300u32 {
            let value = Digest::of(&(n * 7).to_be_bytes());
            map.insert(key(n), value);
            sorted.insert(key(n), value);
            if n % 37 == 0 || n < 5 {
                let pairs: Vec<_> = sorted.iter().map(|(k, v)| (*k, *v)).collect();
                assert_eq!(map.root(), root_of_sorted(&pairs, 0), "after {n} inserts");
            }
        }
        // Updating a value changes the root, and proofs follow.
        map.insert(key(3), ZERO);
        let root = map.root();
        for n in [0u32, 3, 150, 299] {
            let proof = map.prove(&key(n));
            let expect = if n == 3 {
                ZERO
            } else {
                Digest::of(&(n * 7).to_be_bytes())
            };
            assert_eq!(proof.verify(&root, &key(n)), Ok(Some(expect)));
        }
        for n in 300..320u32 {
            let proof = map.prove(&key(n));
            assert_eq!(proof.verify(&root, &key(n)), Ok(None), "absent key {n}");
        }
    }

    #[test]
    fn forged_proofs_fail() {
        let mut map = MemoryMap::new();
        for n in 0..50u32 {
            map.insert(key(n), Digest::of(b"v"));
        }
        let root = map.root();
        let mut proof = map.prove(&key(7));
        // Claiming absence of a present key by swapping in an empty terminal.
        let mut absent = proof.clone();
        absent.terminal = Terminal::Empty;
        assert_eq!(
            absent.verify(&root, &key(7)),
            Err(MapProofError::RootMismatch)
        );
        // Another value.
        proof.terminal = Terminal::Leaf {
            key: key(7),
            value: ZERO,
        };
        assert_eq!(
            proof.verify(&root, &key(7)),
            Err(MapProofError::RootMismatch)
        );
        // A proof of one key presented for another.
        let other = map.prove(&key(8));
        assert!(other.verify(&root, &key(7)).is_err());
        // Truncating the path.
        let mut short = map.prove(&key(9));
        short.siblings.pop();
        assert!(short.verify(&root, &key(9)).is_err());
    }

    #[test]
    fn multiproofs() {
        let mut map = MemoryMap::new();
        for n in 0..200u32 {
            map.insert(key(n), Digest::of(&n.to_be_bytes()));
        }
        let root = map.root();
        let mut keys: Vec<Digest> = [3u32, 4, 150, 250, 251, 999]
            .iter()
            .map(|n| key(*n))
            .collect();
        keys.sort();
        let proof = map.prove_many(&keys);
        let found = proof.verify(&root, &keys).unwrap();
        assert_eq!(found[&key(3)], Some(Digest::of(&3u32.to_be_bytes())));
        assert_eq!(found[&key(250)], None);
        assert_eq!(found.len(), keys.len());
        // Everything at once is about the size of the map, not k·log n.
        let mut all: Vec<Digest> = (0..200u32).map(key).collect();
        all.sort();
        let full = map.prove_many(&all);
        assert!(full.steps.len() < 3 * 200, "{}", full.steps.len());
        assert_eq!(full.verify(&root, &all).unwrap().len(), 200);
        // A proof for fewer keys does not prove more; a changed step fails.
        assert!(proof.verify(&root, &all).is_err());
        let mut forged = proof.clone();
        if let Some(Step::Leaf { value, .. }) = forged
            .steps
            .iter_mut()
            .find(|s| matches!(s, Step::Leaf { .. }))
        {
            *value = ZERO;
        }
        assert_eq!(
            forged.verify(&root, &keys),
            Err(MultiProofError::RootMismatch)
        );
        let mut extra = proof.clone();
        extra.steps.push(Step::Empty);
        assert!(extra.verify(&root, &keys).is_err());
        // The empty map.
        let mut empty = MemoryMap::new();
        let p = empty.prove_many(&keys);
        assert_eq!(p.verify(&ZERO, &keys).unwrap()[&key(3)], None);
    }

    #[test]
    fn chains_depend_on_every_field() {
        let e = ChainEntry {
            index: 4,
            leaf: Digest::of(b"x"),
            kind: "retraction".into(),
        };
        let base = chain_value(std::slice::from_ref(&e));
        let mut other = e.clone();
        other.kind = "annotation".into();
        assert_ne!(chain_value(&[other]), base);
        let mut other = e.clone();
        other.index = 5;
        assert_ne!(chain_value(&[other]), base);
        assert_ne!(chain_value(&[e.clone(), e]), base);
    }

    #[test]
    fn subject_keys_are_domain_separated() {
        let d = Digest::of(b"case/a.txt");
        assert_ne!(
            Subject::About(d).key(),
            Subject::Path("case/a.txt".into()).key()
        );
        assert_ne!(Subject::Keys.key(), Subject::About(ZERO).key());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn step() -> impl Strategy<Value = Step> {
        let d = any::<[u8; 32]>().prop_map(Digest);
        prop_oneof![
            Just(Step::Inner),
            Just(Step::Empty),
            d.clone().prop_map(Step::Hash),
            (d.clone(), d).prop_map(|(key, value)| Step::Leaf { key, value }),
        ]
    }

    proptest! {
        /// Any list of steps is refused or accepted without panicking, and never proves a key
        /// against a root it does not hash to.
        #[test]
        fn arbitrary_multiproofs_never_panic(
            steps in proptest::collection::vec(step(), 0..300),
            keys in proptest::collection::vec(any::<[u8; 32]>().prop_map(Digest), 0..8),
        ) {
            let proof = MultiProof { steps };
            let _ = proof.verify(&ZERO, &keys);
            let _ = proof.verify(&Digest::of(b"some root"), &keys);
        }
    }
}
