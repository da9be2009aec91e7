//! Format 2: each checkpoint's `refs` line must be the root of the reference map rebuilt from
//! the records it covers (core::refmap). The map is replayed in log order and its root taken at
//! each checkpoint's size, so the whole check costs O(records × depth).

use crate::core::digest::Digest;
use crate::core::record::Record;
use crate::core::refmap::{chain_entry, ChainEntry, MemoryMap};

struct Event {
    entry: ChainEntry,
    keys: Vec<Digest>,
}

/// The records' contributions to the map, kept from the log pass for the checkpoint pass.
#[derive(Default)]
pub struct RefsReplay {
    events: Vec<Event>,
    /// The first record that could not be read or decoded: no map is known from there on.
    unknown_from: Option<u64>,
    map: MemoryMap,
    applied: usize,
    at_size: u64,
}

impl RefsReplay {
    pub fn record(&mut self, index: u64, leaf: &Digest, record: Option<&Record>) {
        let Some(record) = record else {
            self.unknown_from.get_or_insert(index);
            return;
        };
        let (entry, keys) = chain_entry(index, leaf, record);
        if !keys.is_empty() {
            self.events.push(Event { entry, keys });
        }
    }

    /// The map root over the first `size` records, or `None` if a record among them could not
    /// be decoded (that record's own problem is reported).
    pub fn root_at(&mut self, size: u64) -> Option<Digest> {
        if self.unknown_from.is_some_and(|first| first < size) {
            return None;
        }
        if size < self.at_size {
            // Checkpoints out of order (already a problem of their own): start again.
            self.map = MemoryMap::new();
            self.applied = 0;
        }
        while let Some(event) = self.events.get(self.applied) {
            if event.entry.index >= size {
                break;
            }
            self.map.append(&event.entry, &event.keys);
            self.applied += 1;
        }
        self.at_size = size;
        Some(self.map.root())
    }
}
