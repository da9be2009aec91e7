//! BagIt tag files as `verify BUNDLE` reads them: the input is bagit.txt NUL bag-info.txt NUL
//! tagmanifest-sha256.txt NUL a manifest path (fuzz/seed.sh frames its seeds so). The three
//! files replace an honest bundle's (a part left out keeps the honest file) and the bundle is
//! verified. A bundle passes only with the exact BagIt declaration and the true Payload-Oxum;
//! percent-encoded paths round-trip.
#![no_main]
mod common;

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use evidentia::bundle::bagit;
use evidentia::bundle::verify::{verify_dir, BundleVerifyOptions};
use libfuzzer_sys::fuzz_target;

const TAG_FILES: [&str; 3] = ["bagit.txt", "bag-info.txt", "tagmanifest-sha256.txt"];

struct Bag {
    _scratch: tempfile::TempDir,
    dir: PathBuf,
    honest: Vec<Vec<u8>>,
    oxum: (u64, u64),
    options: BundleVerifyOptions,
}

fn bag() -> &'static Bag {
    static BAG: OnceLock<Bag> = OnceLock::new();
    BAG.get_or_init(|| {
        let (scratch, dir) = common::scratch_copy("bundle");
        let honest: Vec<Vec<u8>> = TAG_FILES
            .iter()
            .map(|name| fs::read(dir.join(name)).expect("tag file"))
            .collect();
        let info = String::from_utf8(honest[1].clone()).expect("bag-info.txt is UTF-8");
        let oxum = bagit::payload_oxum(&info).expect("honest Payload-Oxum");
        Bag {
            _scratch: scratch,
            dir,
            honest,
            oxum,
            options: common::bundle_options(),
        }
    })
}

fn check_path_encoding(path: &[u8]) {
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    assert_eq!(
        bagit::decode_path(&bagit::encode_path(path)).as_deref(),
        Some(path)
    );
    if let Some(decoded) = bagit::decode_path(path) {
        let again = bagit::encode_path(&decoded);
        assert_eq!(
            bagit::decode_path(&again).as_deref(),
            Some(decoded.as_str())
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let bag = bag();
    let mut parts = data.splitn(4, |&b| b == 0);
    let files: Vec<&[u8]> = (0..3)
        .map(|i| parts.next().unwrap_or(&bag.honest[i]))
        .collect();
    for (name, bytes) in TAG_FILES.iter().zip(&files) {
        fs::write(bag.dir.join(name), bytes).expect("write tag file");
    }
    check_path_encoding(parts.next().unwrap_or_default());
    let report = verify_dir(&bag.dir, &bag.options).expect("a readable bundle gets a report");
    if report.core.ok() {
        assert_eq!(
            files[0],
            bagit::BAGIT_TXT.as_bytes(),
            "bagit.txt must be exact"
        );
        let info = std::str::from_utf8(files[1]).expect("a passing bag-info.txt is UTF-8");
        assert_eq!(
            bagit::payload_oxum(info),
            Some(bag.oxum),
            "Payload-Oxum must be true"
        );
    }
});
