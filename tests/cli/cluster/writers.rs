//! Two writers at once, on two machines (separate replicas), through the store's lock:
//! nothing lost, nothing recorded twice, no fork; and a held lock makes a writer wait, or
//! fail cleanly when it may not wait long enough.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use evidentia::remote::client::Put;

use super::{assert_no_gap_or_overlap, Site};

/// Adds `files` (written under `dir/`) on `machine`, then seals; a seal that finds the other
/// writer already sealed everything is fine.
/// Returns when the add ran.
fn add_and_seal(site: &Site, machine: &str, dir: &str, files: usize) -> (Instant, Instant) {
    let started = Instant::now();
    let (code, stdout, stderr) = site.run_on(machine, &["add", dir]);
    let ran = (started, Instant::now());
    assert_eq!(code, 0, "add on {machine}: {stdout}\n{stderr}");
    assert_eq!(crate::common::added(&stdout).len(), files, "{stdout}");
    let (code, stdout, stderr) = site.run_on(machine, &["seal", "--key", "signer.key"]);
    assert!(
        code == 0 || stderr.contains("already covers all"),
        "seal on {machine}: {code} {stdout}\n{stderr}"
    );
    ran
}

/// Concurrent rounds of both writers; then every file is in the log exactly once, the
/// segments tile the log, and the archive verifies.
fn rounds(site: &Site, rounds: usize, files: usize, expected: &mut BTreeSet<String>) {
    for round in 0..rounds {
        let dirs: Vec<(&str, String)> = ["a", "b"]
            .iter()
            .map(|m| (*m, format!("{m}-round{round}")))
            .collect();
        for (machine, dir) in &dirs {
            for i in 0..files {
                let path = format!("{dir}/{i}.txt");
                site.write(&path, format!("{machine} round {round} file {i}\n"));
                expected.insert(path);
            }
        }
        let ran: Vec<(Instant, Instant)> = std::thread::scope(|scope| {
            let writers: Vec<_> = dirs
                .iter()
                .map(|(machine, dir)| scope.spawn(move || add_and_seal(site, machine, dir, files)))
                .collect();
            writers
                .into_iter()
                .map(|w| w.join().expect("writer"))
                .collect()
        });
        // The two processes ran at the same time (each waits for the other's lock inside).
        assert!(
            ran[0].0 < ran[1].1 && ran[1].0 < ran[0].1,
            "round {round}: the two adds did not overlap in time"
        );
    }
}

#[test]
fn two_writers_at_once_lose_nothing_and_record_nothing_twice() {
    let Some(site) = Site::archive("two-writers") else {
        return;
    };
    let mut expected = BTreeSet::new();
    rounds(&site, 3, 4, &mut expected);
    // Many files each, so both commands really overlap in time.
    rounds(&site, 1, 300, &mut expected);

    let segments = site.segments();
    let size = assert_no_gap_or_overlap(&segments);
    assert_eq!(
        size,
        1 + expected.len() as u64,
        "key record + each file once"
    );
    let docs = site.documents("c");
    let paths: BTreeSet<String> = docs.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(paths, expected);
    // Each record once: no two records with the same bytes.
    let ids: BTreeSet<&Vec<u8>> = segments.iter().flat_map(|(_, _, r)| r).collect();
    assert_eq!(ids.len() as u64, size);
    site.verified();
    // Both machines' replicas agree with the store.
    for machine in ["a", "b"] {
        assert_eq!(site.documents(machine), docs, "{machine}");
    }
    let (code, stdout, stderr) = site.run_on("a", &["seal", "--key", "signer.key"]);
    assert!(
        code == 0 || stderr.contains("already covers all"),
        "{stdout}\n{stderr}"
    );
    site.verified();
}

/// Writes `name` and adds it on machine "a", waiting at most `wait` seconds for the lock.
fn add_waiting(site: &Site, name: &str, wait: &str) -> (i32, String, String) {
    site.write(name, format!("{name}\n"));
    let out = site
        .cmd_on("a")
        .env("EVIDENTIA_LOCK_WAIT", wait)
        .args(["add", name])
        .output()
        .expect("run");
    super::decode(&["add"], &out)
}

/// A claim by a writer on another machine: alive as far as this machine can tell.
fn plant_foreign_claim(site: &Site) -> String {
    let body =
        "host another-machine\nboot 00000000-0000-0000-0000-000000000000\npid 1\nstarted 1\n";
    plant_claim(site, "0123456789abcdef01234567", body)
}

fn plant_claim(site: &Site, id: &str, body: &str) -> String {
    let key = format!("lock/{id}");
    site.client()
        .put(&key, body.as_bytes().to_vec(), Put::Overwrite)
        .expect("put claim");
    key
}

/// A claim as a process of this machine makes it (src/remote/lock.rs whoami).
fn local_claim(pid: u32, started: &str) -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("boot id");
    format!(
        "host here\nboot {}\npid {pid}\nstarted {started}\n",
        boot.trim()
    )
}

/// Field 22 of /proc/PID/stat: the process's start time.
fn start_time(pid: u32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after_name = stat.rsplit_once(')').expect("stat format").1;
    after_name
        .split_whitespace()
        .nth(19)
        .expect("start time")
        .to_string()
}

#[test]
fn a_claim_of_a_live_process_here_is_waited_for_and_one_of_a_dead_process_is_ignored() {
    let Some(site) = Site::archive("lock-here") else {
        return;
    };
    // A process of this machine that has ended: its claim holds nothing.
    let mut ended = std::process::Command::new("sleep")
        .arg("0.2")
        .spawn()
        .expect("spawn");
    let (pid, started) = (ended.id(), start_time(ended.id()));
    ended.wait().expect("wait");
    let dead = plant_claim(
        &site,
        "dead0000000000000000dead",
        &local_claim(pid, &started),
    );
    let (code, stdout, stderr) = add_waiting(&site, "one.txt", "1");
    assert_eq!(
        code, 0,
        "a dead writer's claim must not block: {stdout}\n{stderr}"
    );
    let claims = site.client().list("lock/", None).expect("list");
    assert!(
        claims.iter().all(|c| c.key != dead),
        "the dead claim is cleared"
    );

    // This test process is alive: its claim is waited for, up to EVIDENTIA_LOCK_WAIT.
    let me = std::process::id();
    let live = plant_claim(
        &site,
        "1111111111111111aaaaaaaa",
        &local_claim(me, &start_time(me)),
    );
    let (code, _, stderr) = add_waiting(&site, "two.txt", "2");
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&live) && stderr.contains(&format!("pid {me}")),
        "{stderr}"
    );
    site.client().delete(&live).expect("release");
    site.ok(&["add", "two.txt"]);
    let paths: Vec<String> = site.documents("b").into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["one.txt", "two.txt"]);
}

#[test]
fn a_held_lock_makes_a_writer_wait_then_succeed_or_fail_cleanly() {
    let Some(site) = Site::archive("lock-wait") else {
        return;
    };
    site.write("first.txt", "first\n");
    site.ok(&["add", "first.txt"]);
    let before = site.segments();
    let claim = plant_foreign_claim(&site);

    // Not allowed to wait long enough: a clear error, exit 2, nothing recorded.
    let (code, stdout, stderr) = add_waiting(&site, "refused.txt", "1");
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("held by another writer") && stderr.contains(&claim),
        "{stderr}"
    );
    assert!(
        stderr.contains("another-machine"),
        "names the holder: {stderr}"
    );
    assert_eq!(site.segments(), before, "nothing recorded");

    // The holder finishes after 3 s: the writer waits, then records.
    site.write("waited.txt", "waited\n");
    let started = Instant::now();
    let out = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            site.cmd_on("b")
                .env("EVIDENTIA_LOCK_WAIT", "60")
                .args(["add", "waited.txt"])
                .output()
                .expect("run")
        });
        std::thread::sleep(Duration::from_secs(3));
        site.client().delete(&claim).expect("release");
        writer.join().expect("writer")
    });
    let (code, stdout, stderr) = super::decode(&["add"], &out);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(started.elapsed() >= Duration::from_secs(3), "it waited");
    let paths: Vec<String> = site.documents("c").into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["first.txt", "waited.txt"]);
    site.seal();
    site.verified();
}
