//! Unpacking a hostile bundle tar (`verify BUNDLE.tar`, `bundle::unpack`) into a scratch
//! directory three levels down: never a panic, nothing written outside it (checked by walking
//! the whole scratch tree and a canary absolute path), and nothing unpacked but plain files and
//! directories.
#![no_main]

use std::fs;
use std::path::Path;

use libfuzzer_sys::fuzz_target;

/// An absolute path the seed corpus names in a tar entry.
const CANARY: &str = "/tmp/evidentia-fuzz-escape";

fn assert_plain_tree(dir: &Path) {
    for entry in fs::read_dir(dir).expect("read unpacked dir") {
        let entry = entry.expect("entry");
        let meta = fs::symlink_metadata(entry.path()).expect("metadata");
        if meta.is_dir() {
            assert_plain_tree(&entry.path());
        } else {
            assert!(
                meta.is_file(),
                "unpacked a non-file: {}",
                entry.path().display()
            );
            assert_eq!(
                std::os::unix::fs::MetadataExt::nlink(&meta),
                1,
                "unpacked a hard link: {}",
                entry.path().display()
            );
        }
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(dir)
        .expect("read scratch dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

fuzz_target!(|data: &[u8]| {
    let scratch = tempfile::tempdir().expect("scratch");
    let root = scratch.path();
    let tar = root.join("in.tar");
    fs::write(&tar, data).expect("write tar");
    let into = root.join("a/b/c/out");
    fs::create_dir_all(&into).expect("create out dir");
    let _ = evidentia::bundle::unpack(&tar, &into);
    assert_eq!(
        names(root),
        ["a", "in.tar"],
        "something was written beside the tar"
    );
    assert_eq!(names(&root.join("a")), ["b"], "something escaped to a/");
    assert_eq!(names(&root.join("a/b")), ["c"], "something escaped to a/b/");
    assert_eq!(
        names(&root.join("a/b/c")),
        ["out"],
        "something escaped to a/b/c/"
    );
    assert!(
        !Path::new(CANARY).exists(),
        "an absolute tar path was written"
    );
    assert_plain_tree(&into);
});
