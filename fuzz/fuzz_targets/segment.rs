//! Log segments (FORMAT.md §22) as read from an object store: never panic; an accepted
//! segment re-encodes to exactly its bytes, and its ids are its records' digests.
#![no_main]
use evidentia::core::digest::Digest;
use evidentia::remote::segment::{decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(segment) = decode(data) {
        for (id, record) in &segment.records {
            assert_eq!(*id, Digest::of(record));
        }
        let records: Vec<&[u8]> = segment.records.iter().map(|(_, r)| r.as_slice()).collect();
        assert_eq!(encode(segment.from, &records), data);
    }
});
