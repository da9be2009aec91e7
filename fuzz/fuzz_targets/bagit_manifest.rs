//! BagIt manifest lines (`<hex>  <path>`, percent-encoded) are parsed without panicking or
//! reading past their input.
#![no_main]
use evidentia::bundle::bagit;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(entries) = bagit::parse_manifest(std::path::Path::new("manifest-sha256.txt"), text) {
        let _ = entries.len();
    }
});
