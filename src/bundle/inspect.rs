//! Reading a bundle defensively: unpacking tars, walking the tree without following anything
//! but plain files and directories, and checking the BagIt manifests and SHA256SUMS.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

use rayon::prelude::*;

use crate::archive::fsutil;
use crate::core::cbor::MAX_ENCODED_LEN;
use crate::core::digest::Digest;
use crate::crypt::Identities;
use crate::error::{Error, Result};
use crate::progress::Unit;

use super::bagit;
use super::encrypted::{read_once, ReadOnce};
use super::export::{hash_file, hash_file_counted};
use super::verify::BundleReport;

/// Most entries (tar) or files (directory) accepted, against resource exhaustion.
pub(super) const MAX_ENTRIES: usize = 1_000_000;

/// Unpacks a bundle tar into `into` for reading; returns the unsafe entries it refused.
pub fn unpack(path: &Path, into: &Path) -> Result<Vec<String>> {
    let mut report = BundleReport::new();
    extract_tar(path, into, &mut report)?;
    Ok(report
        .core
        .problems()
        .map(|p| format!("{}: {}", p.item, p.detail))
        .collect())
}

/// The bundle inside an unpacked tar: the tar's one top-level directory (as `export --format
/// tar` writes it), or the unpacked directory itself (a tar of the bundle's contents, as
/// `tar -cf x.tar -C DIR .` makes and earlier versions wrote).
pub fn unpacked_root(into: &Path) -> PathBuf {
    if into.join("bagit.txt").exists() {
        return into.to_path_buf();
    }
    let entries: Vec<fs::DirEntry> = match fs::read_dir(into) {
        Ok(entries) => entries.filter_map(|e| e.ok()).take(2).collect(),
        Err(_) => return into.to_path_buf(),
    };
    match entries.as_slice() {
        [one] if one.file_type().is_ok_and(|t| t.is_dir()) => one.path(),
        _ => into.to_path_buf(),
    }
}

/// Unpacks a tar into `into`, refusing anything but plain files and directories at safe paths.
pub(super) fn extract_tar(path: &Path, into: &Path, report: &mut BundleReport) -> Result<()> {
    let (file, _) = fsutil::open_regular(path, fsutil::Links::Follow)?;
    let mut archive = tar::Archive::new(file);
    let entries = archive.entries().map_err(|e| Error::BadInput {
        path: path.to_path_buf(),
        why: format!("not a readable tar file: {e}"),
    })?;
    let mut seen: HashSet<String> = HashSet::new();
    // A hostile tar must not fill the disk: stop before the unpacked bytes would leave less
    // than a margin of the scratch file system's free space.
    let free = rustix::fs::statvfs(into)
        .map(|s| s.f_bavail.saturating_mul(s.f_frsize))
        .unwrap_or(u64::MAX);
    let budget = free.saturating_sub(256 << 20);
    let mut unpacked = 0u64;
    for (count, entry) in entries.enumerate() {
        if count >= MAX_ENTRIES {
            report.problem(
                "tar",
                "too-many-entries",
                format!("more than {MAX_ENTRIES} entries"),
            );
            return Ok(());
        }
        let mut entry = entry.map_err(|e| Error::BadInput {
            path: path.to_path_buf(),
            why: format!("damaged tar entry: {e}"),
        })?;
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        // `tar -cf x.tar -C DIR .` begins with an entry for DIR itself ("./"): nothing to do.
        if entry.header().entry_type().is_dir()
            && !name.is_empty()
            && Path::new(&name)
                .components()
                .all(|c| c == Component::CurDir)
        {
            continue;
        }
        let Some(relative) = safe_relative(&name) else {
            report.problem(
                &name,
                "unsafe-path",
                "an entry's path escapes the bundle or is not plain",
            );
            continue;
        };
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            report.problem(
                &name,
                "unsafe-entry",
                "only plain files and directories are allowed (no links or devices)",
            );
            continue;
        }
        let key = relative.to_string_lossy().to_lowercase();
        if kind.is_file() && !seen.insert(key) {
            report.problem(
                &name,
                "duplicate-name",
                "two entries have this name (perhaps differing only in case)",
            );
            continue;
        }
        let target = into.join(&relative);
        if kind.is_dir() {
            fs::create_dir_all(&target).map_err(Error::io(&target))?;
        } else {
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(Error::io(parent))?;
            }
            let size = entry.header().size().unwrap_or(u64::MAX);
            unpacked = unpacked.saturating_add(size);
            if unpacked > budget {
                report.problem(
                    &name,
                    "too-large",
                    "unpacking the tar would nearly fill the temporary file system; unpack it yourself and verify the directory",
                );
                return Ok(());
            }
            let mut out = fs::File::create(&target).map_err(Error::io(&target))?;
            std::io::copy(&mut std::io::Read::take(&mut entry, size), &mut out)
                .map_err(Error::io(&target))?;
        }
    }
    Ok(())
}

/// A relative path of normal components only, or `None`.
pub(super) fn safe_relative(text: &str) -> Option<PathBuf> {
    let path = Path::new(text);
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => {
                let s = part.to_str()?;
                if s.contains('\\') || s.chars().any(char::is_control) {
                    return None;
                }
                out.push(part);
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Every regular file under `root` (relative, '/'-separated); unsafe entries become problems.
pub(super) fn walk(root: &Path, report: &mut BundleReport) -> Result<HashSet<String>> {
    let mut files = HashSet::new();
    let mut lower: HashMap<String, String> = HashMap::new();
    for entry in walkdir::WalkDir::new(root).follow_links(false).min_depth(1) {
        let entry = entry.map_err(|e| Error::BadInput {
            path: root.to_path_buf(),
            why: e.to_string(),
        })?;
        let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let Some(name) = relative.to_str().map(|s| s.replace('\\', "/")) else {
            report.problem(
                relative.to_string_lossy(),
                "unsafe-path",
                "the name is not UTF-8",
            );
            continue;
        };
        let kind = entry.file_type();
        if kind.is_symlink() {
            report.problem(
                &name,
                "unsafe-entry",
                "symbolic links are not allowed in a bundle; it was not followed",
            );
            continue;
        }
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            report.problem(
                &name,
                "unsafe-entry",
                "not a regular file (device, fifo or socket)",
            );
            continue;
        }
        if let Some(other) = lower.insert(name.to_lowercase(), name.clone()) {
            report.problem(
                &name,
                "case-collision",
                format!("differs from '{other}' only in case"),
            );
        }
        if files.len() >= MAX_ENTRIES {
            report.problem(
                "bundle",
                "too-many-entries",
                format!("more than {MAX_ENTRIES} files"),
            );
            break;
        }
        files.insert(name);
    }
    Ok(files)
}

/// Reads a file the walk found as a regular file. Anything else is never opened: a FIFO would
/// block forever, and a symbolic link (or a path through one) leads outside the bundle.
pub(super) fn read_bytes(
    root: &Path,
    files: &HashSet<String>,
    name: &str,
    max: u64,
    report: &mut BundleReport,
) -> Option<Vec<u8>> {
    if !files.contains(name) {
        report.problem(
            name,
            "missing-file",
            "not a regular file in the bundle (absent, or a link or special file, not opened)",
        );
        return None;
    }
    match fsutil::read_stored(&root.join(name), max) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            report.problem(name, "missing-file", e.to_string());
            None
        }
    }
}

pub(super) fn read_text(
    root: &Path,
    files: &HashSet<String>,
    name: &str,
    max: u64,
    report: &mut BundleReport,
) -> Option<String> {
    match String::from_utf8(read_bytes(root, files, name, max, report)?) {
        Ok(text) => Some(text),
        Err(_) => {
            report.problem(name, "bad-tag-file", "not UTF-8 text");
            None
        }
    }
}

/// What the bag check found: the payload files that match their manifest digest, and the
/// bytes of the record files among them (162 bytes each, typically), so the record checks do
/// not open and read every record file a second time.
#[derive(Default)]
pub(super) struct Bag {
    /// Path → manifest digest (hex), for the files that hash to it.
    pub hashed: HashMap<String, String>,
    /// Path → bytes, for `data/records/*.cbor` files that hash to their manifest digest.
    pub records: HashMap<String, Vec<u8>>,
    /// Path → what its one read found, for the ciphertexts that hash to their manifest digest.
    pub ciphertexts: HashMap<String, ReadOnce>,
}

/// The document files of an encrypted bundle (from data/bundle.json, not yet checked): each is
/// read once, hashed for the manifest and parsed (and decrypted, with `identities`) on the way.
#[derive(Default)]
pub(super) struct Ciphertexts<'a> {
    /// Path → how findings name the document.
    pub what: HashMap<String, String>,
    pub identities: Option<&'a Identities>,
}

/// What hashing a payload file kept of it for the later checks.
enum Kept {
    Nothing,
    Record(Vec<u8>),
    Ciphertext(Box<ReadOnce>),
}

/// Checks BagIt manifests and SHA256SUMS; returns the payload files with their hashes. A file
/// in `read_back` (export's self-check only) is not read: its digest and length come from there.
/// A file in `ciphertexts` is read once for every check of it (`encrypted::read_once`).
pub(super) fn check_bag(
    root: &Path,
    files: &HashSet<String>,
    read_back: &HashMap<String, (Digest, u64)>,
    ciphertexts: &Ciphertexts,
    report: &mut BundleReport,
) -> Bag {
    let mut bag = Bag::default();
    // Only the declaration evidentia writes: other BagIt versions (0.97 …) differ in rules
    // this verifier does not apply, and tag files are read as UTF-8.
    match read_text(root, files, "bagit.txt", 4096, report) {
        Some(text) if text == bagit::BAGIT_TXT => {}
        Some(text) => report.problem(
            "bagit.txt",
            "bad-bag",
            format!(
                "it must read exactly 'BagIt-Version: 1.0' and 'Tag-File-Character-Encoding: UTF-8', each on its own line; found {:?}",
                text.chars().take(120).collect::<String>()
            ),
        ),
        None => {}
    }
    let Some(text) = read_text(root, files, "manifest-sha256.txt", 256 << 20, report) else {
        return bag;
    };
    let entries = match bagit::parse_manifest(&root.join("manifest-sha256.txt"), &text) {
        Ok(entries) => entries,
        Err(e) => {
            report.problem("manifest-sha256.txt", "bad-bag", e.to_string());
            return bag;
        }
    };
    let mut listed_bytes = 0u64;
    // Structural checks first, in manifest order; then the files are hashed in parallel and
    // the results taken in manifest order again, so the report does not depend on timing.
    let mut to_hash: Vec<(&String, &String)> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for (hex, path) in &entries {
        let safe = safe_relative(path).is_some() && path.starts_with("data/");
        if !safe {
            report.problem(
                path,
                "unsafe-path",
                "a manifest path escapes the payload directory",
            );
            continue;
        }
        if !seen.insert(path) {
            report.problem(
                path,
                "duplicate-name",
                "listed twice in manifest-sha256.txt",
            );
            continue;
        }
        if !files.contains(path) {
            report.problem(
                path,
                "missing-file",
                "listed in manifest-sha256.txt but not in the bundle",
            );
            continue;
        }
        to_hash.push((hex, path));
    }
    crate::progress::stage("checking files", to_hash.len() as u64, Unit::Items);
    let results: Vec<_> = to_hash
        .par_iter()
        .map(|(_, path)| {
            // The caller stops before any verdict once interrupted.
            crate::progress::check(String::new)?;
            let hashed = match (read_back.get(path.as_str()), ciphertexts.what.get(*path)) {
                (Some(&(digest, size)), _) => Ok((digest, size, Kept::Nothing)),
                (None, Some(what)) => (read_once(&root.join(path), ciphertexts.identities, what))
                    .map(|read| {
                        let (digest, size) = read.stored();
                        (digest, size, Kept::Ciphertext(Box::new(read)))
                    }),
                (None, None) => hash_payload_file(root, path),
            };
            crate::progress::advance(1);
            hashed
        })
        .collect();
    crate::progress::finish();
    for ((hex, path), result) in to_hash.into_iter().zip(results) {
        match result {
            Ok((found, size, kept)) if found.to_hex() == *hex => {
                listed_bytes += size;
                bag.hashed.insert(path.clone(), hex.clone());
                match kept {
                    Kept::Record(bytes) => {
                        bag.records.insert(path.clone(), bytes);
                    }
                    Kept::Ciphertext(read) => {
                        bag.ciphertexts.insert(path.clone(), *read);
                    }
                    Kept::Nothing => {}
                }
            }
            Ok((found, _, _)) => report.problem(
                path,
                "payload-corrupt",
                format!("the file hashes to {found}, the manifest says {hex}"),
            ),
            Err(e) => report.problem(path, "payload-unreadable", e.to_string()),
        }
    }
    let listed: HashSet<&str> = entries.iter().map(|(_, p)| p.as_str()).collect();
    for file in files.iter().filter(|f| f.starts_with("data/")) {
        if !listed.contains(file.as_str()) {
            report.problem(
                file,
                "unlisted-payload",
                "a payload file that no manifest lists; it is not part of the evidence",
            );
        }
    }
    if let Some(info) = read_text(root, files, "bag-info.txt", 1 << 20, report) {
        match bagit::payload_oxum(&info) {
            Some((bytes, count)) if bytes == listed_bytes && count == entries.len() as u64 => {}
            Some((bytes, count)) => report.problem(
                "bag-info.txt",
                "bad-bag",
                format!(
                    "Payload-Oxum says {bytes}.{count}, the payload is {listed_bytes}.{}",
                    entries.len()
                ),
            ),
            None => report.problem("bag-info.txt", "bad-bag", "no Payload-Oxum"),
        }
    }
    if let Some(text) = read_text(root, files, "tagmanifest-sha256.txt", 1 << 20, report) {
        match bagit::parse_manifest(&root.join("tagmanifest-sha256.txt"), &text) {
            Ok(tags) => {
                for (hex, name) in tags {
                    if safe_relative(&name).is_none()
                        || name.starts_with("data/")
                        || !files.contains(&name)
                    {
                        report.problem(
                            &name,
                            "bad-bag",
                            "tagmanifest-sha256.txt lists a missing or misplaced tag file",
                        );
                        continue;
                    }
                    match hash_file(&root.join(&name)) {
                        Ok(found) if found.to_hex() == hex => {}
                        _ => report.problem(
                            &name,
                            "tag-file-corrupt",
                            "does not match tagmanifest-sha256.txt",
                        ),
                    }
                }
            }
            Err(e) => report.problem("tagmanifest-sha256.txt", "bad-bag", e.to_string()),
        }
    }
    if let Some(text) = read_text(root, files, "SHA256SUMS", 256 << 20, report) {
        match bagit::parse_manifest(&root.join("SHA256SUMS"), &text) {
            Ok(sums) => {
                let sums: HashMap<String, String> = sums.into_iter().map(|(h, p)| (p, h)).collect();
                let agree = sums.len() == entries.len()
                    && entries.iter().all(|(h, p)| sums.get(p) == Some(h));
                if !agree {
                    report.problem(
                        "SHA256SUMS",
                        "checksums-disagree",
                        "SHA256SUMS and manifest-sha256.txt do not list the same files and digests",
                    );
                }
            }
            Err(e) => report.problem("SHA256SUMS", "checksums-disagree", e.to_string()),
        }
    }
    bag
}

/// Hashes one payload file: (digest, bytes hashed, the bytes when it is a record file).
/// A record file larger than a record can be is hashed as any file; the record check reads it
/// again and reports it.
fn hash_payload_file(root: &Path, path: &str) -> Result<(Digest, u64, Kept)> {
    let full = root.join(path);
    if path.starts_with("data/records/") && path.ends_with(".cbor") {
        if let Ok(bytes) = fsutil::read_stored(&full, MAX_ENCODED_LEN as u64) {
            return Ok((Digest::of(&bytes), bytes.len() as u64, Kept::Record(bytes)));
        }
    }
    let (digest, size) = hash_file_counted(&full)?;
    Ok((digest, size, Kept::Nothing))
}
