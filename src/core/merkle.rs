//! The RFC 9162 Merkle tree: hashing, roots, inclusion and consistency proofs. Pure: nodes come
//! from a [`NodeSource`], so the same code serves the on-disk log and in-memory trees.
//!
//! A node at `(level, index)` is the root of the complete subtree over leaves
//! `[index·2^level, (index+1)·2^level)`. Only complete subtrees are stored; the hashes along the
//! right edge of a tree whose size is not a power of two are computed from them, so a root or a
//! proof costs O(log² n) node reads at worst and never a scan.

use super::digest::Digest;

/// Leaf hash: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Digest {
    Digest::of_parts(&[&[0x00], data])
}

/// Interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    Digest::of_parts(&[&[0x01], left.as_bytes(), right.as_bytes()])
}

/// Root of the empty tree: SHA-256 of no bytes.
pub fn empty_root() -> Digest {
    Digest::of(b"")
}

/// Where complete-subtree hashes come from.
pub trait NodeSource {
    type Error;
    fn node(&mut self, level: u32, index: u64) -> Result<Digest, Self::Error>;
}

/// Largest power of two strictly less than `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Hash of the subtree over leaves `[start, end)`, as RFC 9162's MTH.
pub fn subtree_hash<S: NodeSource>(src: &mut S, start: u64, end: u64) -> Result<Digest, S::Error> {
    let n = end - start;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return src.node(n.trailing_zeros(), start >> n.trailing_zeros());
    }
    let k = split_point(n);
    let left = subtree_hash(src, start, start + k)?;
    let right = subtree_hash(src, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// Root of the tree of the first `size` leaves.
pub fn root<S: NodeSource>(src: &mut S, size: u64) -> Result<Digest, S::Error> {
    subtree_hash(src, 0, size)
}

/// Why a proof was not produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofRequestError {
    /// Inclusion: the index is not below the tree size.
    IndexOutOfRange { index: u64, size: u64 },
    /// Consistency: sizes must satisfy 0 < first ≤ second.
    BadSizes { first: u64, second: u64 },
}

/// Inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1).
pub fn inclusion_proof<S: NodeSource>(
    src: &mut S,
    index: u64,
    size: u64,
) -> Result<Result<Vec<Digest>, ProofRequestError>, S::Error> {
    if index >= size {
        return Ok(Err(ProofRequestError::IndexOutOfRange { index, size }));
    }
    let mut proof = Vec::new();
    let (mut start, mut end) = (0u64, size);
    // Walk down from the root, collecting siblings; RFC order is bottom-up, so reverse at the end.
    while end - start > 1 {
        let k = split_point(end - start);
        if index - start < k {
            proof.push(subtree_hash(src, start + k, end)?);
            end = start + k;
        } else {
            proof.push(subtree_hash(src, start, start + k)?);
            start += k;
        }
    }
    proof.reverse();
    Ok(Ok(proof))
}

/// Consistency proof between the trees of `first` and `second` leaves (RFC 9162 §2.1.4.1).
pub fn consistency_proof<S: NodeSource>(
    src: &mut S,
    first: u64,
    second: u64,
) -> Result<Result<Vec<Digest>, ProofRequestError>, S::Error> {
    if first == 0 || first > second {
        return Ok(Err(ProofRequestError::BadSizes { first, second }));
    }
    let mut proof = Vec::new();
    let (mut m, mut start, mut end, mut complete) = (first, 0u64, second, true);
    loop {
        let n = end - start;
        if m == n {
            if !complete {
                proof.push(subtree_hash(src, start, end)?);
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            proof.push(subtree_hash(src, start + k, end)?);
            end = start + k;
        } else {
            proof.push(subtree_hash(src, start, start + k)?);
            m -= k;
            start += k;
            complete = false;
        }
    }
    proof.reverse();
    Ok(Ok(proof))
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Digest,
    index: u64,
    size: u64,
    proof: &[Digest],
    root: &Digest,
) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2). `first = 0` is consistent with anything
/// given an empty proof and the empty root.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Digest,
    second_root: &Digest,
    proof: &[Digest],
) -> bool {
    if first > second {
        return false;
    }
    if first == 0 {
        return proof.is_empty() && *first_root == empty_root();
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    if proof.is_empty() {
        return false;
    }
    let mut path: Vec<Digest> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *first_root && sr == *second_root
}

/// New complete-subtree nodes created by appending `leaves` to a tree of `old_size` leaves:
/// element `k` holds the new nodes of level `k`, in index order, starting at index
/// `old_size >> k`. Reads at most one existing node per level.
pub fn append_nodes<S: NodeSource>(
    src: &mut S,
    old_size: u64,
    leaves: &[Digest],
) -> Result<Vec<Vec<Digest>>, S::Error> {
    let new_size = old_size + leaves.len() as u64;
    let mut levels: Vec<Vec<Digest>> = vec![leaves.to_vec()];
    let mut level = 1u32;
    while level < 64 && (new_size >> level) > 0 {
        let below = (level - 1) as usize;
        let below_first_new = old_size >> (level - 1);
        let mut nodes = Vec::new();
        for j in (old_size >> level)..(new_size >> level) {
            let mut child = |i: u64| -> Result<Digest, S::Error> {
                if i >= below_first_new {
                    Ok(levels[below][(i - below_first_new) as usize])
                } else {
                    src.node(level - 1, i)
                }
            };
            let left = child(2 * j)?;
            let right = child(2 * j + 1)?;
            nodes.push(node_hash(&left, &right));
        }
        levels.push(nodes);
        level += 1;
    }
    Ok(levels)
}

/// A whole tree in memory: for verification (rebuilt from the records) and tests.
#[derive(Debug, Default, Clone)]
pub struct MemoryTree {
    levels: Vec<Vec<Digest>>,
}

impl MemoryTree {
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The complete-subtree hashes of one level (0 = leaves).
    pub fn level(&self, level: usize) -> &[Digest] {
        self.levels.get(level).map_or(&[], Vec::as_slice)
    }

    pub fn height(&self) -> usize {
        self.levels.len()
    }

    pub fn push(&mut self, leaf: Digest) {
        let mut hash = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(hash);
            let len = self.levels[level].len();
            if len % 2 == 1 {
                break;
            }
            hash = node_hash(&self.levels[level][len - 2], &self.levels[level][len - 1]);
            level += 1;
        }
    }

    pub fn root_at(&mut self, size: u64) -> Digest {
        match root(self, size) {
            Ok(root) => root,
            Err(never) => match never {},
        }
    }

    pub fn inclusion_proof(
        &mut self,
        index: u64,
        size: u64,
    ) -> Result<Vec<Digest>, ProofRequestError> {
        match inclusion_proof(self, index, size) {
            Ok(result) => result,
            Err(never) => match never {},
        }
    }

    pub fn consistency_proof(
        &mut self,
        first: u64,
        second: u64,
    ) -> Result<Vec<Digest>, ProofRequestError> {
        match consistency_proof(self, first, second) {
            Ok(result) => result,
            Err(never) => match never {},
        }
    }
}

impl NodeSource for MemoryTree {
    type Error = std::convert::Infallible;
    fn node(&mut self, level: u32, index: u64) -> Result<Digest, Self::Error> {
        // Callers only ask for nodes inside the tree; a miss is a bug in this module.
        Ok(self.levels[level as usize][index as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_root(leaves: &[Digest]) -> Digest {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
            }
        }
    }

    fn tree(n: u64) -> (MemoryTree, Vec<Digest>) {
        let leaves: Vec<Digest> = (0..n)
            .map(|i| leaf_hash(format!("leaf-{i}").as_bytes()))
            .collect();
        let mut t = MemoryTree::new();
        for l in &leaves {
            t.push(*l);
        }
        (t, leaves)
    }

    #[test]
    fn roots_match_naive_definition() {
        let (mut t, leaves) = tree(70);
        for size in 0..=70u64 {
            assert_eq!(
                t.root_at(size),
                naive_root(&leaves[..size as usize]),
                "size {size}"
            );
        }
    }

    #[test]
    fn append_nodes_matches_memory_tree() {
        let (full, leaves) = tree(100);
        for split in [0usize, 1, 2, 3, 7, 8, 33, 64, 99, 100] {
            let mut before = MemoryTree::new();
            for l in &leaves[..split] {
                before.push(*l);
            }
            let new = append_nodes(&mut before, split as u64, &leaves[split..]).unwrap();
            for (level, nodes) in new.iter().enumerate() {
                let first = (split as u64) >> level;
                for (i, node) in nodes.iter().enumerate() {
                    let mut f = full.clone();
                    assert_eq!(*node, f.node(level as u32, first + i as u64).unwrap());
                }
            }
        }
    }

    proptest! {
        #[test]
        fn inclusion_proofs_verify_and_alterations_fail(size in 1u64..300, seed in any::<u64>(), flip in any::<u8>()) {
            let (mut t, leaves) = tree(size);
            let index = seed % size;
            let root = t.root_at(size);
            let proof = t.inclusion_proof(index, size).unwrap();
            prop_assert!(verify_inclusion(&leaves[index as usize], index, size, &proof, &root));
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let at = (seed as usize / 7) % bad.len();
                bad[at].0[(flip % 32) as usize] ^= 1;
                prop_assert!(!verify_inclusion(&leaves[index as usize], index, size, &bad, &root));
                prop_assert!(!verify_inclusion(&leaves[index as usize], index, size, &proof[..proof.len() - 1], &root));
            }
            let other = (index + 1) % size;
            if other != index {
                prop_assert!(!verify_inclusion(&leaves[other as usize], index, size, &proof, &root));
            }
        }

        #[test]
        fn consistency_proofs_verify_and_alterations_fail(second in 1u64..300, seed in any::<u64>(), flip in any::<u8>()) {
            let first = 1 + seed % second;
            let (mut t, _) = tree(second);
            let (r1, r2) = (t.root_at(first), t.root_at(second));
            let proof = t.consistency_proof(first, second).unwrap();
            prop_assert!(verify_consistency(first, second, &r1, &r2, &proof));
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let at = (seed as usize / 5) % bad.len();
                bad[at].0[(flip % 32) as usize] ^= 0x80;
                prop_assert!(!verify_consistency(first, second, &r1, &r2, &bad));
                let mut extra = proof.clone();
                extra.push(r1);
                prop_assert!(!verify_consistency(first, second, &r1, &r2, &extra));
            }
            if first < second {
                let wrong = t.root_at(second - 1);
                prop_assert!(!verify_consistency(first, second, &r1, &wrong, &proof));
            }
        }
    }

    proptest! {
        /// The edges of RFC 9162's consistency algorithm: m = 1 and m = n, for every size, with
        /// roots from the naive definition (an independent computation).
        #[test]
        fn consistency_edges_m_is_1_and_m_is_n(n in 1u64..300) {
            let (mut t, leaves) = tree(n);
            let rn = naive_root(&leaves[..n as usize]);
            let r1 = naive_root(&leaves[..1]);
            let p1 = t.consistency_proof(1, n).unwrap();
            prop_assert!(verify_consistency(1, n, &r1, &rn, &p1));
            if n > 1 {
                let older = naive_root(&leaves[..(n - 1) as usize]);
                prop_assert!(!verify_consistency(1, n, &r1, &older, &p1));
            }
            let pn = t.consistency_proof(n, n).unwrap();
            prop_assert!(pn.is_empty());
            prop_assert!(verify_consistency(n, n, &rn, &rn, &pn));
            if n > 1 {
                prop_assert!(!verify_consistency(n, n, &rn, &r1, &pn));
            }
        }
    }

    #[test]
    fn consistency_edge_cases() {
        let (mut t, _) = tree(8);
        let r8 = t.root_at(8);
        assert!(verify_consistency(8, 8, &r8, &r8, &[]));
        assert!(!verify_consistency(8, 8, &r8, &t.root_at(7), &[]));
        assert!(verify_consistency(0, 8, &empty_root(), &r8, &[]));
        assert!(!verify_consistency(5, 3, &r8, &r8, &[]));
        assert_eq!(
            t.consistency_proof(0, 8),
            Err(ProofRequestError::BadSizes {
                first: 0,
                second: 8
            })
        );
    }
}
