//! Record decoding must never panic, and anything it accepts must re-encode to the same bytes.
#![no_main]
use evidentia::core::record::Record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Record::Document(doc)) = Record::decode(data) {
        assert_eq!(doc.encode(), data);
    }
});
