//! Signed-note and checkpoint parsing must never panic; accepted input must round-trip.
#![no_main]
use evidentia::core::checkpoint::Checkpoint;
use evidentia::core::note::SignedNote;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(note) = SignedNote::parse(text) {
        assert_eq!(note.render(), text);
        if let Ok(checkpoint) = Checkpoint::parse(&note.text) {
            assert_eq!(checkpoint.to_text(), note.text);
        }
    }
});
