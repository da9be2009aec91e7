//! The writers' lock on an object store, built from plain writes and listings, because not
//! every S3-compatible store honours `If-None-Match` (Garage 2.5 ignores it: see
//! docs/THREAT-MODEL.md "Concurrent writers on an object store").
//!
//! A writer puts a claim `lock/<random>`, then lists `lock/`. It holds the lock only if its
//! listing shows no other live claim; otherwise it deletes its claim, waits a random while and
//! tries again. With a store whose listings show every write completed before the listing
//! began (S3, Garage in "consistent" mode), two writers cannot both see themselves alone: the
//! one that lists last sees the other's claim. A claim is dead when it is older than
//! [`LEASE_MS`] (by the store's clock), or made on this machine by a process that no longer
//! runs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand_core::RngCore;

use super::client::{Client, Put};
use crate::error::{Error, Result};

/// A claim older than this (by the store's clock, against the newest claim listed) is ignored.
pub const LEASE_MS: i64 = 30 * 60 * 1000;
/// A holder publishes its commit only while its claim is younger than this, so a claim that
/// others may have started to ignore never commits.
const SAFE_FOR: Duration = Duration::from_secs(25 * 60);

/// A held lock; dropping it deletes the claim.
pub struct Claim {
    client: Arc<Client>,
    key: String,
    made: Instant,
}

impl Claim {
    /// Refuses a commit once the claim is too old to be sure no one else took over.
    pub fn check_fresh(&self) -> Result<()> {
        if self.made.elapsed() < SAFE_FOR {
            Ok(())
        } else {
            Err(Error::RemoteConflict {
                url: self.client.location.url(),
                why: format!(
                    "the writer's claim {} was made {} s ago, too long for the lock to still be sure",
                    self.client.url_of(&self.key),
                    self.made.elapsed().as_secs()
                ),
            })
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let _ = self.client.delete(&self.key);
    }
}

/// Takes the lock, waiting at most `wait` for other writers.
pub fn acquire(client: &Arc<Client>, wait: Duration) -> Result<Claim> {
    let mut id = [0u8; 12];
    rand_core::OsRng.fill_bytes(&mut id);
    let key = format!("lock/{}", hex::encode(id));
    let started = Instant::now();
    let mut round = 0u32;
    loop {
        client.put(&key, whoami().into_bytes(), Put::Overwrite)?;
        let made = Instant::now();
        let claims = client.list("lock/", None)?;
        let mine = claims.iter().find(|c| c.key == key).map(|c| c.modified_ms);
        let others: Vec<_> = match mine {
            // A listing that misses the claim just made proves nothing: try again.
            None => claims.iter().collect(),
            Some(mine) => claims
                .iter()
                .filter(|c| c.key != key && c.modified_ms > mine - LEASE_MS)
                .collect(),
        };
        let mut live = Vec::new();
        for other in others {
            let body = client.get(&other.key, 4096).unwrap_or_default();
            let body = String::from_utf8_lossy(&body).into_owned();
            if holder_is_dead_here(&body) {
                let _ = client.delete(&other.key);
            } else {
                live.push((other.key.clone(), body));
            }
        }
        if live.is_empty() && mine.is_some() {
            return Ok(Claim {
                client: client.clone(),
                key,
                made,
            });
        }
        client.delete(&key)?;
        if started.elapsed() >= wait {
            let (other, body) = live.first().cloned().unwrap_or_default();
            return Err(Error::RemoteLocked {
                url: client.url_of(&other),
                holder: body.lines().collect::<Vec<_>>().join(", "),
                waited_s: started.elapsed().as_secs(),
                expires_s: (LEASE_MS / 1000) as u64,
            });
        }
        round = (round + 1).min(5);
        let ceiling = 50u64 << round;
        let pause = 20 + rand_core::OsRng.next_u64() % ceiling;
        std::thread::sleep(Duration::from_millis(pause));
    }
}

/// Who makes a claim: enough for another process on this machine to tell that the claimant
/// died, and for a person to find it.
fn whoami() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!(
        "host {}\nboot {}\npid {}\nstarted {}\n",
        host.trim(),
        boot_id(),
        std::process::id(),
        start_time(std::process::id()).unwrap_or_default()
    )
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// A process's start time in clock ticks since boot (field 22 of /proc/PID/stat).
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    after_name.split_whitespace().nth(19).map(str::to_string)
}

/// True only when the claim was made during this boot of this machine by a process that is
/// gone (no process with that id, or one started at another time).
fn holder_is_dead_here(body: &str) -> bool {
    let field = |name: &str| {
        body.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
            .map(str::to_string)
    };
    let (Some(boot), Some(pid), Some(started)) = (field("boot"), field("pid"), field("started"))
    else {
        return false;
    };
    let mine = boot_id();
    if mine.is_empty() || boot != mine || started.is_empty() {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    start_time(pid).as_deref() != Some(started.as_str())
}
