//! Small file-system helpers for crash safety: atomic replacement and batched durability.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically and durably: temporary file in the same directory,
/// fsync, rename over the target, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(Error::io(dir))?;
    tmp.write_all(bytes).map_err(Error::io(tmp.path()))?;
    // Archive files are meant to be read by whoever holds a copy (temporary files start 0600).
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644))
        .map_err(Error::io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(Error::io(tmp.path()))?;
    tmp.persist(path).map_err(|e| Error::io(path)(e.error))?;
    sync_dir(dir)
}

/// A new temporary file in `dir` with permissions `mode`, creating `dir` if it is missing (a
/// copied archive may lack its empty `objects/tmp/`: git and some archivers drop empty
/// directories).
pub fn temp_file(dir: &Path, prefix: &str, mode: u32) -> Result<tempfile::NamedTempFile> {
    let make = || {
        tempfile::Builder::new()
            .prefix(prefix)
            .permissions(fs::Permissions::from_mode(mode))
            .tempfile_in(dir)
    };
    match make() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(Error::io(dir))?;
            make().map_err(Error::io(dir))
        }
        other => other.map_err(Error::io(dir)),
    }
}

/// Reads until `buf` is full or the input ends; returns the number of bytes read.
pub fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Makes a directory's entries (creations, renames) durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir))
}

/// Makes everything written so far on the file system holding `dir` durable, with one call.
/// This is how a command batches its syncs instead of paying one fsync per object.
pub fn sync_filesystem(dir: &Path) -> Result<()> {
    let handle = File::open(dir).map_err(Error::io(dir))?;
    rustix::fs::syncfs(&handle).map_err(|e| Error::io(dir)(e.into()))
}

/// Reads a whole file, refusing anything larger than `max` bytes.
pub fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>> {
    let meta = fs::metadata(path).map_err(Error::io(path))?;
    if meta.len() > max {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            why: format!("{} bytes, more than the {max}-byte limit", meta.len()),
        });
    }
    fs::read(path).map_err(Error::io(path))
}
