//! `evidentia mirror SRC DST`: keeps a copy of an archive in another place (a directory or an
//! `s3://` address, either way round).
//!
//! Both sides are read without trusting any cache. DST must be empty, absent, or an earlier
//! state of the same archive: its log a prefix of SRC's and every checkpoint both hold
//! identical. Then what DST lacks is copied, every object re-hashed on the way, records
//! committed in chunks (an interrupted mirror resumes where it stopped), then checkpoints,
//! each checked against DST's own tree before it is written, then keys and time-stamps.
//! Diverged copies are never overwritten: two different signed checkpoints with one number,
//! or a signed checkpoint that the other log contradicts, give an equivocation report.

use std::path::Path;

use crate::archive::append::{append_prepared, PreparedRecord};
use crate::archive::checkpoints::{CheckpointStore, StoredCheckpoint};
use crate::archive::{fsutil, Archive, ARCHIVE_FILE};
use crate::audit::equivocation::Equivocation;
use crate::core::cbor::MAX_ENCODED_LEN;
use crate::core::key::VerifierKey;
use crate::core::record::Record;
use crate::error::{Error, Result};
use crate::progress::{self, Unit};

/// Records committed to DST per step: what an interrupted mirror may have to copy again.
const CHUNK: u64 = 10_000;

/// What a mirror did.
#[derive(Debug, Default)]
pub struct Mirrored {
    pub records: u64,
    pub objects: u64,
    pub bytes: u64,
    pub checkpoints: u64,
    pub files: u64,
    /// DST's size before and after.
    pub from_size: u64,
    pub to_size: u64,
}

/// Why a mirror refused to copy.
pub enum Refusal {
    /// Two validly signed statements conflict: the evidence.
    Equivocation(Box<Equivocation>),
    /// The copies differ, but no two signed statements conflict.
    Diverged(String),
}

pub enum Outcome {
    Copied(Mirrored),
    Refused(Refusal),
}

pub fn mirror(src: &Path, dst: &Path) -> Result<Outcome> {
    let (source, _src_scratch) = Archive::open_uncached(src)?;
    let identity = fsutil::read_stored(&source.root().join(ARCHIVE_FILE), 4096)?;
    let (target, _dst_scratch) = open_or_create(dst, &identity)?;
    let target_identity = fsutil::read_stored(&target.root().join(ARCHIVE_FILE), 4096)?;
    if target_identity != identity {
        return Err(Error::BadInput {
            path: dst.to_path_buf(),
            why: format!(
                "it is another archive ('{}', not '{}'): mirror copies one archive to another place",
                target.origin(),
                source.origin()
            ),
        });
    }
    let lock = target.lock()?;
    let src_log = source.log()?;
    let mut dst_log = target.log()?;
    let keys = known_keys(&source, &target)?;
    if let Some(refusal) = compare(&source, &target, &src_log, &dst_log, &keys)? {
        return Ok(Outcome::Refused(refusal));
    }
    let mut done = Mirrored {
        from_size: dst_log.size(),
        ..Default::default()
    };
    // Records and the content they name, a chunk at a time, each chunk one commit.
    progress::stage(
        "copying records",
        src_log.size() - done.from_size,
        Unit::Items,
    );
    while dst_log.size() < src_log.size() {
        let start = dst_log.size();
        // Each chunk is one commit: stopping between or inside chunks leaves a valid copy.
        let kept = || stopped_at(dst, done.from_size, start);
        progress::check(kept)?;
        let end = src_log.size().min(start + CHUNK);
        let ids = src_log.record_digests(start, end)?;
        let mut prepared = Vec::with_capacity(ids.len());
        let mut contents = Vec::new();
        for id in &ids {
            let bytes = source.store().read_verified(id, MAX_ENCODED_LEN as u64)?;
            let record = Record::decode(&bytes).map_err(|source| Error::Record {
                digest: *id,
                source,
            })?;
            if let Record::Document(doc) = &record {
                contents.push(doc.content);
            }
            prepared.push(PreparedRecord::stored(record, bytes, *id));
        }
        contents.sort_unstable();
        contents.dedup();
        let writer = target.store().writer(contents.len() + prepared.len())?;
        for digest in &contents {
            if target.store().contains(digest)? {
                continue;
            }
            progress::check(kept)?;
            let mut reader = source.store().open(digest)?;
            let stored = writer.put_stream(
                &mut reader,
                Path::new(&format!("{} object {digest}", source.location())),
            )?;
            if stored.digest != *digest {
                return Err(Error::ObjectCorrupt {
                    expected: *digest,
                    found: stored.digest,
                });
            }
            done.objects += 1;
            done.bytes += stored.size;
        }
        append_prepared(&target, &lock, &mut dst_log, prepared, writer)?;
        done.records += end - start;
        progress::advance(end - start);
    }
    progress::finish();
    done.to_size = dst_log.size();
    done.checkpoints = copy_checkpoints(&source, &target, &dst_log, &keys)?;
    for dir in ["keys", "timestamps"] {
        done.files += copy_files(&source, &target, dir)?;
    }
    Ok(Outcome::Copied(done))
}

/// What an interrupted mirror leaves at `dst`.
fn stopped_at(dst: &Path, from: u64, now: u64) -> String {
    let dst = dst.to_string_lossy();
    let dst = crate::term::escape(&dst);
    format!(
        "the copy at {dst} is valid but incomplete: it holds {now} record(s) ({} copied now) and no new checkpoint; run mirror again to finish",
        now - from
    )
}

/// Opens DST (read fresh), creating it with SRC's identity when it does not exist yet.
fn open_or_create(dst: &Path, identity: &[u8]) -> Result<(Archive, Option<tempfile::TempDir>)> {
    match Archive::open_uncached(dst) {
        Err(Error::NotAnArchive { .. }) => {
            match dst.to_str().and_then(super::client::Location::parse) {
                Some(location) => super::init_with_identity(&location?, identity)?,
                None => {
                    let empty = std::fs::read_dir(dst).map_or(true, |mut d| d.next().is_none());
                    if !empty {
                        return Err(Error::DirectoryNotEmpty {
                            path: dst.to_path_buf(),
                        });
                    }
                    Archive::create_replica(dst, identity)?;
                }
            }
            Archive::open_uncached(dst)
        }
        other => other,
    }
}

/// The public keys either side holds: whose signatures on a conflicting pair are reported.
fn known_keys(source: &Archive, target: &Archive) -> Result<Vec<VerifierKey>> {
    let mut keys = source.known_keys()?;
    for key in target.known_keys()? {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

fn all_checkpoints(archive: &Archive) -> Result<Vec<StoredCheckpoint>> {
    let store = archive.checkpoints();
    store
        .files()?
        .iter()
        .filter(|f| f.number.is_some())
        .map(|f| CheckpointStore::read(&f.path))
        .collect()
}

/// Whether DST is an earlier state of SRC. Conflicting signed checkpoints are an
/// equivocation; differing logs without such a pair are a plain divergence.
fn compare(
    source: &Archive,
    target: &Archive,
    src_log: &crate::archive::log::Log,
    dst_log: &crate::archive::log::Log,
    keys: &[VerifierKey],
) -> Result<Option<Refusal>> {
    let src_cps = all_checkpoints(source)?;
    let dst_cps = all_checkpoints(target)?;
    let evidence = |a: &StoredCheckpoint,
                    a_label: &str,
                    b: &StoredCheckpoint,
                    b_label: &str,
                    why: String,
                    leaf| {
        Refusal::Equivocation(Box::new(Equivocation::new(
            source.origin(),
            (a_label, &a.checkpoint, &a.note, &a.note.render()),
            (b_label, &b.checkpoint, &b.note, &b.note.render()),
            keys,
            why,
            leaf,
        )))
    };
    let src_label = format!("SRC {} checkpoint", source.location());
    let dst_label = format!("DST {} checkpoint", target.location());
    for d in &dst_cps {
        if let Some(s) = src_cps
            .iter()
            .find(|s| s.checkpoint.number == d.checkpoint.number)
        {
            if s.note.text != d.note.text {
                let why = format!(
                    "both copies hold a checkpoint {} and their signed texts differ",
                    d.checkpoint.number
                );
                return Ok(Some(evidence(s, &src_label, d, &dst_label, why, None)));
            }
        }
    }
    let common = src_log.size().min(dst_log.size());
    if src_log.root(common)? == dst_log.root(common)? {
        if dst_log.size() > src_log.size() {
            return Ok(Some(Refusal::Diverged(format!(
                "DST holds {} records, more than SRC's {}: it is ahead, not behind; mirror the other way",
                dst_log.size(),
                src_log.size()
            ))));
        }
        // A DST checkpoint beyond what SRC has signed is still a prefix statement: fine.
        return Ok(None);
    }
    let leaf = first_difference(src_log, dst_log, common)?;
    // A signed checkpoint of one side that covers the first differing record, against the
    // other side's checkpoint covering it too: two signed, conflicting histories.
    let covering =
        |cps: &[StoredCheckpoint]| cps.iter().find(|c| c.checkpoint.size > leaf).cloned();
    if let (Some(s), Some(d)) = (covering(&src_cps), covering(&dst_cps)) {
        let why = format!(
            "the two copies' logs differ from record #{leaf} on, and each side has a signed checkpoint covering it"
        );
        return Ok(Some(evidence(
            &s,
            &src_label,
            &d,
            &dst_label,
            why,
            Some(leaf),
        )));
    }
    Ok(Some(Refusal::Diverged(format!(
        "the two copies' logs differ from record #{leaf} on; no two signed checkpoints conflict (the differing records are not sealed on both sides), so this accuses no one: find out which copy was changed before mirroring"
    ))))
}

/// The first position where the two logs hold different records (they differ before `n`).
fn first_difference(
    a: &crate::archive::log::Log,
    b: &crate::archive::log::Log,
    n: u64,
) -> Result<u64> {
    // Roots of equal prefixes are equal: binary search on the prefix length.
    let (mut lo, mut hi) = (0u64, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if a.root(mid + 1)? == b.root(mid + 1)? {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// Checkpoints DST lacks (or holds with fewer cosignatures), in order, each checked against
/// DST's tree before it is written.
fn copy_checkpoints(
    source: &Archive,
    target: &Archive,
    dst_log: &crate::archive::log::Log,
    keys: &[VerifierKey],
) -> Result<u64> {
    let store = target.checkpoints();
    let mut copied = 0;
    for cp in all_checkpoints(source)? {
        let number = cp.checkpoint.number;
        let path = store.path_of(number);
        let rendered = cp.note.render();
        let existing = CheckpointStore::read(&path).ok();
        if existing
            .as_ref()
            .is_some_and(|e| e.note.signatures.len() >= cp.note.signatures.len())
        {
            continue;
        }
        if dst_log.root(cp.checkpoint.size)? != cp.checkpoint.root
            || cp.checkpoint.size > dst_log.size()
        {
            return Err(Error::Corrupt {
                path: cp.path.clone(),
                why: format!(
                    "checkpoint {number}'s root does not match the copied log at size {}: the source is damaged; run `evidentia verify` on it",
                    cp.checkpoint.size
                ),
            });
        }
        if crate::audit::equivocation::valid_signers(&cp.note, keys).is_empty() {
            return Err(Error::Corrupt {
                path: cp.path.clone(),
                why: format!(
                    "checkpoint {number} carries no valid signature by a key the archive holds"
                ),
            });
        }
        target.publish_file(
            &format!("checkpoints/{number:010}"),
            rendered.as_bytes(),
            existing.is_some(),
        )?;
        fsutil::write_atomic(&path, rendered.as_bytes())?;
        copied += 1;
    }
    Ok(copied)
}

/// Files of `dir` (keys, time-stamps) that DST lacks; each is written once, never replaced.
fn copy_files(source: &Archive, target: &Archive, dir: &str) -> Result<u64> {
    let root = source.root().join(dir);
    if !root.exists() {
        return Ok(0);
    }
    let mut copied = 0;
    for entry in walkdir::WalkDir::new(&root).follow_links(false) {
        let entry = entry.map_err(|e| Error::BadInput {
            path: root.clone(),
            why: e.to_string(),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(source.root()) else {
            continue;
        };
        let Some(rel_text) = rel.to_str() else {
            continue;
        };
        let to = target.root().join(rel);
        if to.exists() || rel_text.split('/').any(|p| p.starts_with(".tmp-")) {
            continue;
        }
        let bytes = fsutil::read_stored(entry.path(), super::MAX_FILE)?;
        target.publish_file(rel_text, &bytes, false)?;
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
        }
        fsutil::write_atomic(&to, &bytes)?;
        copied += 1;
    }
    Ok(copied)
}
