//! What several targets share: the honest skeleton `fuzz/seed.sh` makes (a bundle, an archive,
//! trust files), copied into a scratch directory so fuzzing never changes it.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use evidentia::bundle::bagit;
use evidentia::bundle::verify::BundleVerifyOptions;
use evidentia::core::digest::Digest;
use evidentia::verification::recipient::RecipientChecks;
use evidentia::verification::Trust;

/// A file or directory of the skeleton.
pub fn skeleton(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("skeleton")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run fuzz/seed.sh first",
        path.display()
    );
    path
}

/// A scratch copy of a skeleton directory, kept for the whole fuzzing run.
pub fn scratch_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let scratch = tempfile::tempdir().expect("scratch directory");
    let to = scratch.path().join(name);
    copy_tree(&skeleton(name), &to);
    (scratch, to)
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create directory");
    for entry in fs::read_dir(from).expect("read skeleton") {
        let entry = entry.expect("skeleton entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy skeleton file");
        }
    }
}

/// The skeleton signer's key, from its trust file.
pub fn signer_trust() -> Trust {
    let keys = evidentia::trust::load(&skeleton("signer.trust")).expect("signer.trust");
    Trust::Keys(keys)
}

pub fn bundle_options() -> BundleVerifyOptions {
    BundleVerifyOptions {
        trust: signer_trust(),
        require: 1,
        checkpoint_hash: None,
        recipient: RecipientChecks::default(),
    }
}

/// A tag file's line in tagmanifest-sha256.txt, as the bytes now are.
fn tag_line(bundle: &Path, name: &str) -> (String, String) {
    let bytes = fs::read(bundle.join(name)).expect("read tag file");
    (Digest::of(&bytes).to_hex(), name.to_string())
}

/// Rewrites manifest-sha256.txt, SHA256SUMS, Payload-Oxum and tagmanifest-sha256.txt after
/// data/bundle.json changed, as a careful forger would, so only evidentia's own checks (signed
/// data and structural rules) can catch the change. `payload` is the honest manifest.
pub fn rebag_after_manifest_change(bundle: &Path, payload: &[(String, String)]) {
    let json = fs::read(bundle.join("data/bundle.json")).expect("bundle.json");
    let payload: Vec<(String, String)> = payload
        .iter()
        .map(|(hex, path)| match path.as_str() {
            "data/bundle.json" => (Digest::of(&json).to_hex(), path.clone()),
            _ => (hex.clone(), path.clone()),
        })
        .collect();
    fs::write(
        bundle.join("manifest-sha256.txt"),
        bagit::manifest(&payload),
    )
    .expect("manifest");
    fs::write(bundle.join("SHA256SUMS"), bagit::sha256sums(&payload)).expect("sums");
    let bytes: u64 = payload
        .iter()
        .map(|(_, p)| fs::metadata(bundle.join(p)).map_or(0, |m| m.len()))
        .sum();
    let info = fs::read_to_string(bundle.join("bag-info.txt")).expect("bag-info.txt");
    let info: String = info
        .lines()
        .map(|line| match line.starts_with("Payload-Oxum:") {
            true => format!("Payload-Oxum: {bytes}.{}\n", payload.len()),
            false => format!("{line}\n"),
        })
        .collect();
    fs::write(bundle.join("bag-info.txt"), info).expect("bag-info.txt");
    let tags: Vec<(String, String)> = [
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha256.txt",
        "SHA256SUMS",
        "VERIFY.txt",
        "verify-bundle.py",
        "report.html",
    ]
    .iter()
    .map(|name| tag_line(bundle, name))
    .collect();
    fs::write(
        bundle.join("tagmanifest-sha256.txt"),
        bagit::manifest(&tags),
    )
    .expect("tags");
}

/// A BagIt manifest of the skeleton bundle, parsed.
pub fn read_manifest(bundle: &Path, name: &str) -> Vec<(String, String)> {
    let path = bundle.join(name);
    let text = fs::read_to_string(&path).expect("manifest");
    bagit::parse_manifest(&path, &text).expect("honest manifest parses")
}
