//! The completeness section of a bundle or proof (FORMAT.md §21) is parsed and checked against a
//! root without panicking, whatever the JSON holds: subjects, entries, multiproof steps.
#![no_main]
use evidentia::bundle::completeness::{check, Completeness};
use evidentia::core::digest::Digest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(section) = serde_json::from_slice::<Completeness>(data) else { return };
    let root = Digest::of(data);
    let outcome = check(&section, &root, &[], 1 << 20, true);
    // Nothing but the empty map can be proven against an unrelated root.
    let _ = outcome.problems.len();
});
