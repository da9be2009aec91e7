//! A writer killed mid-add (kill -9 of a real process, and failpoints before and right after
//! the segment is published): the store's archive verifies, missing at most the interrupted
//! work; running the add again completes it, and nothing is recorded twice.

use std::time::Duration;

use super::{assert_no_gap_or_overlap, Site};

fn make_files(site: &Site, dir: &str, count: usize) {
    for i in 0..count {
        site.write(&format!("{dir}/{i:05}.txt"), format!("{dir} file {i}\n"));
    }
}

/// After an interruption: the store verifies (if sealed before) and its log tiles; the
/// re-run on the same machine completes the add; after sealing, every file is recorded once.
fn complete_and_check(site: &Site, dir: &str, count: usize, already: usize) {
    let segments = site.segments();
    let size = assert_no_gap_or_overlap(&segments);
    assert!(
        size == 1 + already as u64 || size == 1 + (already + count) as u64,
        "the store holds all or none of the interrupted add: {size}"
    );
    site.verified();
    let (code, stdout, stderr) = site.run(&["add", dir]);
    assert_eq!(code, 0, "re-run: {stdout}\n{stderr}");
    assert_eq!(
        recorded(&stderr) + size,
        1 + (already + count) as u64,
        "{stderr}"
    );
    site.seal();
    let segments = site.segments();
    assert_eq!(
        assert_no_gap_or_overlap(&segments),
        1 + (already + count) as u64,
        "each file once"
    );
    let docs = site.documents("b");
    assert_eq!(docs.len(), already + count);
    site.verified();
}

/// N of the "N document(s) recorded" summary of `add` (every file gets a digest line, the
/// unchanged ones too).
fn recorded(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| l.split_once(" document(s) recorded"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary: {stderr}"))
}

#[test]
fn failpoints_before_and_after_the_segment_leave_a_verifiable_archive() {
    for point in ["add-before-log", "remote-after-segment"] {
        let Some(site) = Site::archive(&format!("crash-{point}")) else {
            return;
        };
        make_files(&site, "first", 3);
        site.ok(&["add", "first"]);
        site.seal();
        make_files(&site, "second", 40);
        let out = site
            .cmd_on("a")
            .env("EVIDENTIA_FAILPOINT", point)
            .args(["add", "second"])
            .output()
            .expect("run add");
        assert!(
            !out.status.success(),
            "{point}: add should have been stopped"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("failpoint {point}")), "{stderr}");
        let size = assert_no_gap_or_overlap(&site.segments());
        let expected = if point == "remote-after-segment" {
            44
        } else {
            4
        };
        assert_eq!(size, expected, "{point}: the store's log");
        complete_and_check(&site, "second", 40, 3);
    }
}

#[test]
fn a_writer_killed_during_a_large_add_leaves_a_verifiable_archive() {
    let Some(site) = Site::archive("crash-kill") else {
        return;
    };
    make_files(&site, "first", 3);
    site.ok(&["add", "first"]);
    site.seal();
    let mut already = 3;
    for (round, delay_ms) in [150u64, 600, 1500].into_iter().enumerate() {
        let dir = format!("big{round}");
        make_files(&site, &dir, 400);
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("evidentia"))
            .current_dir(site.path(""))
            .env("EVIDENTIA_ARCHIVE", &site.url)
            .env("EVIDENTIA_CACHE", site.path("cache-a"))
            .args(["add", &dir])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn add");
        std::thread::sleep(Duration::from_millis(delay_ms));
        // kill -9: no destructor runs; the claim on the store stays behind, from a process
        // of this machine that is gone.
        let _ = child.kill();
        let _ = child.wait();
        complete_and_check(&site, &dir, 400, already);
        already += 400;
    }
}
