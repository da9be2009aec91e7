//! Small file-system helpers for crash safety: atomic replacement and batched durability.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::{Error, Result};

/// Runs `f` with this thread's 1 MiB read buffer. Zeroing a fresh 1 MiB per file cost more
/// than hashing a typical document; the buffer is taken out while in use, so a nested call
/// gets a buffer of its own instead of a panic.
pub fn with_read_buffer<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    thread_local! {
        static BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    let mut buf = BUFFER.take();
    if buf.len() < READ_BUFFER {
        buf = vec![0u8; READ_BUFFER];
    }
    let out = f(&mut buf);
    BUFFER.set(buf);
    out
}

/// Size of [`with_read_buffer`]'s buffer.
pub const READ_BUFFER: usize = 1 << 20;

/// Copies `len` bytes of `src` from `offset` to the end of `out`, inside the kernel where the
/// file systems allow (`copy_file_range`: no pass through this process's memory), by
/// positioned reads otherwise. Stops early if `src` is shorter; returns the bytes copied.
/// Nothing is checked: the caller hashes the copy.
pub fn copy_range(
    src: &File,
    offset: u64,
    len: u64,
    out: &File,
    names: (&Path, &Path),
) -> Result<u64> {
    use std::os::unix::fs::FileExt;
    let (src_name, out_name) = names;
    let mut at = offset;
    let end = offset.saturating_add(len);
    while at < end {
        let chunk = usize::try_from(end - at).unwrap_or(usize::MAX).min(1 << 30);
        match rustix::fs::copy_file_range(src, Some(&mut at), out, None, chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            // A real failure (EIO, ENOSPC, …) is the copy's, reported as such.
            Err(e)
                if !matches!(
                    e,
                    rustix::io::Errno::XDEV
                        | rustix::io::Errno::INVAL
                        | rustix::io::Errno::NOSYS
                        | rustix::io::Errno::OPNOTSUPP
                        | rustix::io::Errno::PERM
                ) =>
            {
                return Err(Error::io(out_name)(std::io::Error::from(e)));
            }
            // Not supported between these files (other file systems, old kernels).
            Err(_) => {
                let mut out = out;
                let copied = with_read_buffer(|buf| -> Result<u64> {
                    while at < end {
                        let want = usize::try_from(end - at)
                            .unwrap_or(usize::MAX)
                            .min(buf.len());
                        let n = src
                            .read_at(&mut buf[..want], at)
                            .map_err(Error::io(src_name))?;
                        if n == 0 {
                            break;
                        }
                        out.write_all(&buf[..n]).map_err(Error::io(out_name))?;
                        at += n as u64;
                    }
                    Ok(at - offset)
                })?;
                return Ok(copied);
            }
        }
    }
    Ok(at - offset)
}

/// Writes `bytes` to `path` atomically and durably: temporary file in the same directory,
/// fsync, rename over the target, fsync the directory. A failure of that last fsync is
/// [`Error::NotDurable`]: the new content is already in place.
/// Opens (creating it if missing) and exclusively locks `path`; the lock lasts as long as the
/// returned file is open. Waits for another holder.
pub fn lock_exclusive(path: &Path) -> Result<File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(Error::io(path))?;
    file.lock().map_err(Error::io(path))?;
    Ok(file)
}

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
    sync_dir(dir).map_err(|e| match e {
        Error::Io { source, .. } => Error::NotDurable {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    })
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

/// Upper bound on an index file read whole (a pack's `.idx`, a path-index shard): 4 GiB, tens
/// of millions of entries. Larger is refused as damage rather than read into memory.
pub const MAX_INDEX_FILE: u64 = 1 << 32;

/// Whether the last component of a path may be a symbolic link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// A path the user named (a trust file, a key): a link there is their choice.
    Follow,
    /// A file inside an archive or bundle: evidentia never creates links there, so one is
    /// refused rather than followed (it could point at a device or outside the archive).
    Refuse,
}

/// Opens an untrusted file for reading: once, without blocking (a FIFO with no writer would
/// otherwise hang the open), and refuses it unless the open handle is a regular file. Returns
/// the handle and its length. Every reader of archive, bundle and user-named input files goes
/// through here, so a FIFO, a device or a link to `/dev/zero` is refused, never read.
pub fn open_regular(path: &Path, links: Links) -> Result<(File, u64)> {
    use rustix::fs::{Mode, OFlags};
    let mut flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    if links == Links::Refuse {
        flags |= OFlags::NOFOLLOW;
    }
    let fd = rustix::fs::open(path, flags, Mode::empty()).map_err(|e| {
        if e == rustix::io::Errno::LOOP && links == Links::Refuse {
            refused(
                path,
                links,
                "it is a symbolic link, not a regular file, so it is not read".into(),
            )
        } else {
            Error::io(path)(e.into())
        }
    })?;
    let file = File::from(fd);
    let meta = file.metadata().map_err(Error::io(path))?;
    if !meta.file_type().is_file() {
        let kind = file_kind(&meta.file_type());
        let why = format!("it is {kind}, not a regular file, so it is not read");
        return Err(refused(path, links, why));
    }
    Ok((file, meta.len()))
}

/// A refused file: damage when it sits in an archive or bundle (exit 1), bad input when the
/// user named it (exit 2).
fn refused(path: &Path, links: Links, why: String) -> Error {
    let path = path.to_path_buf();
    match links {
        Links::Refuse => Error::Corrupt { path, why },
        Links::Follow => Error::BadInput { path, why },
    }
}

fn file_kind(kind: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

/// Reads a whole file that the user named (links followed), refusing anything that is not a
/// regular file or holds more than `max` bytes (also when it grows while being read).
pub fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>> {
    read_regular(path, max, Links::Follow)
}

/// Reads a whole file stored inside an archive or bundle: as [`read_limited`], and a symbolic
/// link in its place is refused.
pub fn read_stored(path: &Path, max: u64) -> Result<Vec<u8>> {
    read_regular(path, max, Links::Refuse)
}

/// [`read_stored`] for text: refuses bytes that are not UTF-8.
pub fn read_stored_text(path: &Path, max: u64) -> Result<String> {
    String::from_utf8(read_stored(path, max)?).map_err(|_| Error::Corrupt {
        path: path.to_path_buf(),
        why: "not UTF-8 text".into(),
    })
}

fn read_regular(path: &Path, max: u64, links: Links) -> Result<Vec<u8>> {
    let (file, len) = open_regular(path, links)?;
    let too_large = |len: u64| {
        refused(
            path,
            links,
            format!("{len} bytes, more than the {max}-byte limit"),
        )
    };
    if len > max {
        return Err(too_large(len));
    }
    // Read from the handle that was checked, at most one byte past the limit: a file that
    // grew since fstat is refused, never read to the end.
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(Error::io(path))?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// The first hole (unwritten, sparse region) of `file` below `end`, if any. Files evidentia
/// writes have none; a hole means the file was stretched (e.g. by `truncate -s`) to look
/// longer than what was written. File systems without hole reporting report none.
pub fn first_hole(file: &File, end: u64) -> Option<u64> {
    match rustix::fs::seek(file, rustix::fs::SeekFrom::Hole(0)) {
        Ok(at) if at < end => Some(at),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, b"12345").unwrap();
        assert_eq!(read_stored(&file, 5).unwrap(), b"12345");
        assert!(matches!(read_stored(&file, 4), Err(Error::Corrupt { .. })));
        assert!(matches!(
            read_limited(&file, 4),
            Err(Error::BadInput { .. })
        ));

        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_limited(&link, 5).unwrap(), b"12345");
        assert!(matches!(read_stored(&link, 5), Err(Error::Corrupt { .. })));

        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let err = read_limited(&zero, 1 << 30).unwrap_err().to_string();
        assert!(err.contains("character device"), "{err}");
        assert!(read_limited(dir.path(), 1 << 30)
            .unwrap_err()
            .to_string()
            .contains("a directory"));
    }

    #[test]
    fn holes_are_found_in_sparse_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sparse");
        let file = File::create(&path).unwrap();
        file.set_len(1 << 30).unwrap();
        let written = dir.path().join("written");
        fs::write(&written, vec![1u8; 1 << 16]).unwrap();
        let written = File::open(&written).unwrap();
        assert_eq!(first_hole(&written, 1 << 16), None);
        // Where the file system reports holes, the stretched file has one at its start.
        if let Some(at) = first_hole(&File::open(&path).unwrap(), 1 << 30) {
            assert_eq!(at, 0);
        }
    }
}
