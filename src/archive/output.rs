//! Files a command writes for the user (`--out`): created exclusively, never through a link.
//!
//! Each is written to a temporary file in the target directory, made durable, then renamed into
//! place by a rename that refuses to replace anything (`renameat2(RENAME_NOREPLACE)`, or
//! link + unlink where that is missing). With `--force` the rename replaces what is there —
//! the name itself, so a symlink at the path is replaced, never followed.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::fsutil;

/// What to do when something already sits at an output path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// Fail, leaving it untouched, and say that `--force` would replace it.
    #[default]
    Refuse,
    /// Fail, leaving it untouched: outputs that are never replaced (bundles, keys).
    Never,
    /// Replace it atomically (`--force`).
    Replace,
}

impl Existing {
    pub fn from_force(force: bool) -> Self {
        if force {
            Existing::Replace
        } else {
            Existing::Refuse
        }
    }
}

/// An output file being written; nothing appears at its path until [`NewOutput::commit`].
pub struct NewOutput {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
    existing: Existing,
}

impl NewOutput {
    /// Starts writing `path` with permissions `mode`. Refuses early, before any work, when
    /// something is already there and `existing` is [`Existing::Refuse`]; the final rename
    /// checks again, so a file placed meanwhile is not replaced either.
    pub fn create(path: &Path, mode: u32, existing: Existing) -> Result<Self> {
        refuse_existing(path, existing)?;
        let tmp = fsutil::temp_file(parent_of(path), ".evidentia-out-", mode)?;
        Ok(NewOutput {
            tmp,
            path: path.to_path_buf(),
            existing,
        })
    }

    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// The temporary file's path, for error messages while writing.
    pub fn temp_path(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes `bytes` as the whole content, then [`NewOutput::commit`]s.
    pub fn finish(mut self, bytes: &[u8]) -> Result<()> {
        let written = self.tmp.as_file_mut().write_all(bytes);
        written.map_err(Error::io(self.tmp.path()))?;
        self.commit()
    }

    /// Makes the file durable and moves it into place. Dropped without this, it vanishes.
    pub fn commit(self) -> Result<()> {
        let NewOutput {
            tmp,
            path,
            existing,
        } = self;
        tmp.as_file().sync_all().map_err(Error::io(tmp.path()))?;
        let placed = match existing {
            Existing::Refuse | Existing::Never => tmp.persist_noclobber(&path),
            Existing::Replace => tmp.persist(&path),
        };
        placed.map_err(|e| match e.error.kind() {
            std::io::ErrorKind::AlreadyExists => Error::OutputExists {
                path: path.clone(),
                what: "it appeared while the output was being written",
                can_force: existing == Existing::Refuse,
            },
            _ => Error::io(&path)(e.error),
        })?;
        fsutil::sync_dir(parent_of(&path))
    }
}

/// Writes a whole output file at once (see [`NewOutput`]); `mode` as for a new file.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32, existing: Existing) -> Result<()> {
    NewOutput::create(path, mode, existing)?.finish(bytes)
}

/// Moves a finished directory to `path`, refusing to replace anything there (a directory
/// cannot be swapped in atomically over another, so there is no `--force` for it).
pub fn place_dir(staged: &Path, path: &Path) -> Result<()> {
    refuse_existing(path, Existing::Never)?;
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        staged,
        rustix::fs::CWD,
        path,
        rustix::fs::RenameFlags::NOREPLACE,
    )
    .map_err(|e| match e {
        rustix::io::Errno::EXIST => Error::OutputExists {
            path: path.to_path_buf(),
            what: "it appeared while the output was being written",
            can_force: false,
        },
        other => Error::io(path)(other.into()),
    })?;
    fsutil::sync_dir(parent_of(path))
}

/// Fails when anything (even a dangling symlink) is at `path`: for commands that check their
/// output path before long work, and never replace it.
pub fn ensure_free(path: &Path) -> Result<()> {
    refuse_existing(path, Existing::Never)
}

/// Publicly readable permissions for outputs meant to be handed on.
pub const SHARED: u32 = 0o644;

fn refuse_existing(path: &Path, existing: Existing) -> Result<()> {
    // symlink_metadata: a dangling link is something too, and must not be written through.
    match fs::symlink_metadata(path) {
        Ok(meta) if existing != Existing::Replace => Err(Error::OutputExists {
            path: path.to_path_buf(),
            what: describe(&meta),
            can_force: existing == Existing::Refuse,
        }),
        Ok(meta) if meta.is_dir() => Err(Error::BadInput {
            path: path.to_path_buf(),
            why: "is a directory; --force replaces files only".into(),
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path)(e)),
    }
}

fn describe(meta: &fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_symlink() {
        "a symbolic link; it is never written through"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_file() {
        "a file"
    } else {
        "a special file"
    }
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn refuses_files_and_links_and_replaces_only_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let link = dir.path().join("out");
        std::os::unix::fs::symlink(&victim, &link).unwrap();

        let refused = write_new(&link, b"new", SHARED, Existing::Refuse).unwrap_err();
        assert!(matches!(refused, Error::OutputExists { .. }), "{refused}");
        write_new(&link, b"new", SHARED, Existing::Replace).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(!fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&link).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&link).unwrap().permissions().mode() & 0o777,
            SHARED
        );
        // Nothing but the two names is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_file_placed_while_writing_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let mut out = NewOutput::create(&path, SHARED, Existing::Refuse).unwrap();
        out.file().write_all(b"mine").unwrap();
        fs::write(&path, b"theirs").unwrap();
        assert!(matches!(out.commit(), Err(Error::OutputExists { .. })));
        assert_eq!(fs::read(&path).unwrap(), b"theirs");
    }

    #[test]
    fn a_directory_is_never_placed_over_anything() {
        let dir = tempfile::tempdir().unwrap();
        let staged = dir.path().join("staged");
        fs::create_dir(&staged).unwrap();
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        // A plain rename would replace an empty directory; this one must not.
        assert!(matches!(
            place_dir(&staged, &empty),
            Err(Error::OutputExists { .. })
        ));
        place_dir(&staged, &dir.path().join("new")).unwrap();
        assert!(!staged.exists());
    }
}
