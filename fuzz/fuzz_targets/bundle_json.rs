//! data/bundle.json exactly as `verify BUNDLE` reads and checks it: the fuzz input replaces the
//! bundle.json of an honest bundle (fuzz/seed.sh), the BagIt manifests, SHA256SUMS and
//! Payload-Oxum are recomputed as a careful forger would, and the whole directory is verified
//! with the signer's key trusted. Never a panic, never an I/O error for a readable bundle, and
//! a bundle that passes discloses nothing but the honest documents.
#![no_main]
mod common;

use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use evidentia::bundle::verify::{verify_dir, BundleVerifyOptions};
use libfuzzer_sys::fuzz_target;

struct Bag {
    _scratch: tempfile::TempDir,
    dir: PathBuf,
    payload: Vec<(String, String)>,
    honest: HashSet<(String, String)>,
    options: BundleVerifyOptions,
}

fn bag() -> &'static Bag {
    static BAG: OnceLock<Bag> = OnceLock::new();
    BAG.get_or_init(|| {
        let (scratch, dir) = common::scratch_copy("bundle");
        let options = common::bundle_options();
        let report = verify_dir(&dir, &options).expect("the skeleton bundle is readable");
        assert!(report.core.ok(), "the skeleton bundle verifies");
        let honest = report
            .documents
            .iter()
            .map(|d| (d.path.clone(), d.content.clone()))
            .collect();
        let payload = common::read_manifest(&dir, "manifest-sha256.txt");
        Bag {
            _scratch: scratch,
            dir,
            payload,
            honest,
            options,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let bag = bag();
    fs::write(bag.dir.join("data/bundle.json"), data).expect("write bundle.json");
    common::rebag_after_manifest_change(&bag.dir, &bag.payload);
    let report = verify_dir(&bag.dir, &bag.options).expect("a readable bundle gets a report");
    if report.core.ok() {
        for doc in &report.documents {
            assert!(
                bag.honest
                    .contains(&(doc.path.clone(), doc.content.clone())),
                "a forged bundle.json passed with document {} {}",
                doc.path,
                doc.content
            );
        }
    }
});
