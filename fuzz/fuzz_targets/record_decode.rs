//! Record decoding must never panic, and anything of a known kind it accepts must re-encode to
//! the same bytes (canonical CBOR, one encoding per value).
#![no_main]
use evidentia::core::record::Record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = Record::decode(data) {
        if !matches!(record, Record::Unknown { .. }) {
            assert_eq!(record.encode().ok().as_deref(), Some(data));
        }
    }
});
