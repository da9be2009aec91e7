//! Single-document proof files (evidentia-proof/2 and /1) and consistency proof files, read
//! from a file as `verify-proof` reads them, against the honest document (fuzz/seed.sh), with
//! the skeleton signer trusted and with the keys the file carries. Never a panic; a proof that
//! passes is of the honest document's content.
#![no_main]
mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use evidentia::audit::consistency;
use evidentia::bundle::proof::verify_proof;
use evidentia::core::digest::Digest;
use evidentia::verification::Trust;
use libfuzzer_sys::fuzz_target;

struct Setup {
    scratch: tempfile::TempDir,
    document: PathBuf,
    content: String,
    trusts: [Trust; 2],
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let document = common::skeleton("proof-document");
        let content = Digest::of(&std::fs::read(&document).expect("document")).to_hex();
        Setup {
            scratch: tempfile::tempdir().expect("scratch"),
            document,
            content,
            trusts: [common::signer_trust(), Trust::ArchiveKeys],
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let setup = setup();
    let file = setup.scratch.path().join("proof.json");
    std::fs::write(&file, data).expect("write proof file");
    for trust in &setup.trusts {
        if let Ok(report) = verify_proof(&file, &setup.document, trust, 1) {
            if report.core.ok() {
                assert_eq!(report.content.as_deref(), Some(setup.content.as_str()));
            }
        }
        if let Ok(report) = consistency::verify(&file, trust, 1) {
            if report.core.ok() {
                assert!(
                    report.from.1 <= report.to.1,
                    "a passing proof never shrinks the tree"
                );
            }
        }
    }
});
