//! Key text parsing must never panic.
#![no_main]
use evidentia::core::key::{SignerKey, VerifierKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(key) = VerifierKey::parse(text) {
        // Re-parsing the canonical text gives the same key.
        assert_eq!(VerifierKey::parse(&key.to_string()).ok(), Some(key));
    }
    let _ = SignerKey::parse(text);
});
