//! Witness cosignature lines, as `seal --cosigned` reads a cosigned checkpoint file
//! (`collect_cosignatures`, against a scratch copy of the skeleton archive) and as verifiers
//! count them (`witnesses_on`). Never a panic; a file accepted adds only lines that are valid
//! cosignatures by the witness, and leaves a stored checkpoint that still reads.
#![no_main]
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use evidentia::archive::checkpoints::CheckpointStore;
use evidentia::archive::seal::collect_cosignatures;
use evidentia::archive::Archive;
use evidentia::core::cosignature::verify_cosignature;
use evidentia::core::key::VerifierKey;
use evidentia::verification::recipient::witnesses_on;
use libfuzzer_sys::fuzz_target;

struct Setup {
    _scratch: tempfile::TempDir,
    archive: Archive,
    /// The stored checkpoints' files and bytes, put back after a run added lines.
    stored: Vec<(PathBuf, Vec<u8>)>,
    witnesses: Vec<VerifierKey>,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let (scratch, dir) = common::scratch_copy("archive");
        let archive = Archive::open(&dir).expect("skeleton archive");
        let stored = fs::read_dir(dir.join("checkpoints"))
            .expect("checkpoints")
            .map(|e| {
                let path = e.expect("entry").path();
                let bytes = fs::read(&path).expect("checkpoint");
                (path, bytes)
            })
            .collect();
        let witnesses = evidentia::trust::load(&common::skeleton("witness.trust"))
            .expect("witness.trust")
            .into_iter()
            .map(|t| t.key)
            .collect();
        Setup {
            _scratch: scratch,
            archive,
            stored,
            witnesses,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let setup = setup();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(stored) = CheckpointStore::parse(Path::new("fuzz"), text) {
        let _ = witnesses_on(&stored.note, &setup.witnesses);
    }
    let Ok((number, added)) = collect_cosignatures(&setup.archive, text, &setup.witnesses) else {
        return;
    };
    if added == 0 {
        return;
    }
    let path = setup.archive.checkpoints().path_of(number);
    let merged = CheckpointStore::read(&path).expect("the merged checkpoint still reads");
    let (_, original) = setup
        .stored
        .iter()
        .find(|(p, _)| *p == path)
        .expect("known");
    let before = CheckpointStore::parse(&path, std::str::from_utf8(original).expect("UTF-8"))
        .expect("original reads");
    assert_eq!(
        merged.note.text, before.note.text,
        "the signed text is unchanged"
    );
    for sig in merged
        .note
        .signatures
        .iter()
        .skip(before.note.signatures.len())
    {
        let valid = setup
            .witnesses
            .iter()
            .any(|w| verify_cosignature(w, &merged.note.text, sig).is_some());
        assert!(valid, "an invalid cosignature line was added: {}", sig.name);
    }
    fs::write(&path, original).expect("restore the checkpoint");
});
