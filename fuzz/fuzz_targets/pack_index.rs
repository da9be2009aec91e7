//! Pack index lines must never panic; an accepted line must be exactly the canonical form.
#![no_main]
use evidentia::archive::pack::{parse_line, LINE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in data.chunks(LINE) {
        if let Some(entry) = parse_line(line) {
            let canonical = format!("{} {:016x} {:016x}\n", entry.digest, entry.offset, entry.len);
            assert_eq!(canonical.as_bytes(), line);
        }
    }
});
