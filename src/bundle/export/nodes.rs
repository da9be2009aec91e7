//! Tree nodes for many inclusion proofs at once.
//!
//! A proof reads about log2(n) stored nodes, each a positioned read of 32 bytes: 15 system calls
//! per record at 20,000 records, 350,000 for `export --all`. A level whose whole stored width
//! is small next to the number of proofs wanted is read once into memory instead; the others
//! (the wide low levels of a large archive, when few records are disclosed) are read per
//! node as before, so memory stays in proportion to what is exported.

use crate::archive::log::{Log, StoredNodes};
use crate::core::digest::Digest;
use crate::core::merkle::NodeSource;
use crate::error::{Error, Result};

/// A level is held in memory when it has at most this many nodes per proof wanted.
const NODES_PER_PROOF: u64 = 16;

pub(super) struct ProofNodes<'a> {
    log: &'a Log,
    stored: StoredNodes<'a>,
    /// Per level: its nodes, once read whole; `None` while unread or read per node.
    levels: Vec<Option<Vec<Digest>>>,
    proofs: u64,
}

impl<'a> ProofNodes<'a> {
    /// For `proofs` inclusion proofs from `log`'s stored tree.
    pub(super) fn new(log: &'a Log, proofs: usize) -> ProofNodes<'a> {
        ProofNodes {
            log,
            stored: log.nodes(),
            levels: Vec::new(),
            proofs: proofs as u64,
        }
    }
}

impl NodeSource for ProofNodes<'_> {
    type Error = Error;
    fn node(&mut self, level: u32, index: u64) -> Result<Digest> {
        let width = self.log.size() >> level;
        if width > self.proofs.saturating_mul(NODES_PER_PROOF) {
            return self.stored.node(level, index);
        }
        let slot = level as usize;
        if self.levels.len() <= slot {
            self.levels.resize_with(slot + 1, || None);
        }
        if self.levels[slot].is_none() {
            self.levels[slot] = Some(self.log.level_nodes(level)?);
        }
        match self.levels[slot]
            .as_ref()
            .and_then(|l| l.get(index as usize))
        {
            Some(node) => Ok(*node),
            // Beyond what the log has stored: the per-node read reports it as it always has.
            None => self.stored.node(level, index),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::log::LogEntry;
    use crate::core::merkle::{inclusion_proof, leaf_hash, MemoryTree};

    /// Proofs from levels held whole, from levels read per node, and for a checkpoint smaller
    /// than the log, all equal the in-memory tree's.
    #[test]
    fn proofs_match_the_memory_tree_whether_levels_are_held_or_read_per_node() {
        let dir = tempfile::tempdir().unwrap();
        Log::create(dir.path()).unwrap();
        let mut log = Log::open(dir.path()).unwrap();
        let mut mem = MemoryTree::new();
        let entries: Vec<LogEntry> = (0..300u64)
            .map(|i| {
                let leaf = leaf_hash(&i.to_be_bytes());
                mem.push(leaf);
                LogEntry {
                    record: Digest::of(&i.to_be_bytes()),
                    leaf,
                }
            })
            .collect();
        log.append(&entries).unwrap();
        for proofs in [1, 3, 300] {
            let mut nodes = ProofNodes::new(&log, proofs);
            for size in [1u64, 17, 250, 300] {
                for index in [0, size / 2, size - 1] {
                    let ours = inclusion_proof(&mut nodes, index, size).unwrap().unwrap();
                    let expected = mem.inclusion_proof(index, size).unwrap();
                    assert_eq!(
                        ours, expected,
                        "proofs {proofs}, index {index}, size {size}"
                    );
                }
            }
        }
    }
}
