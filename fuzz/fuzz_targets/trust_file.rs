//! Trust files (FORMAT.md §8) are parsed without panicking; every key accepted re-parses from
//! its canonical text.
#![no_main]
use evidentia::core::key::VerifierKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(keys) = evidentia::trust::parse(std::path::Path::new("fuzz.trust"), text) {
        for k in keys {
            assert_eq!(VerifierKey::parse(&k.key.to_string()).ok(), Some(k.key));
        }
    }
});
