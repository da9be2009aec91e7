//! Checkpoint files: `checkpoints/<number, 10 decimal digits>`, each a signed note whose text
//! is a [`Checkpoint`]. A checkpoint file is the commit marker of a seal: it is written last,
//! atomically and durably.

use std::fs;
use std::path::{Path, PathBuf};

use crate::core::checkpoint::Checkpoint;
use crate::core::note::SignedNote;
use crate::error::{Error, Result};

use super::fsutil;

/// Largest checkpoint file read.
pub const MAX_CHECKPOINT_FILE: u64 = 1 << 20;

pub struct CheckpointStore {
    dir: PathBuf,
}

/// A file in the checkpoints directory.
#[derive(Debug, Clone)]
pub struct CheckpointFile {
    /// The number the file name gives, or `None` for a name that is not a checkpoint's.
    pub number: Option<u64>,
    pub path: PathBuf,
}

/// A parsed checkpoint with its signatures.
#[derive(Debug, Clone)]
pub struct StoredCheckpoint {
    pub path: PathBuf,
    pub note: SignedNote,
    pub checkpoint: Checkpoint,
}

impl CheckpointStore {
    pub fn new(dir: &Path) -> CheckpointStore {
        CheckpointStore {
            dir: dir.to_path_buf(),
        }
    }

    pub fn create(dir: &Path) -> Result<()> {
        fs::create_dir_all(dir).map_err(Error::io(dir))
    }

    pub fn path_of(&self, number: u64) -> PathBuf {
        self.dir.join(format!("{number:010}"))
    }

    /// Every file in the directory, checkpoints first in number order, then any strays.
    pub fn files(&self) -> Result<Vec<CheckpointFile>> {
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(Error::io(&self.dir))? {
            let entry = entry.map_err(Error::io(&self.dir))?;
            let name = entry.file_name();
            let number = name
                .to_str()
                .filter(|n| n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse::<u64>().ok())
                .filter(|n| *n >= 1);
            let is_temp = name.to_str().is_some_and(|n| n.starts_with(".tmp-"));
            if !is_temp {
                files.push(CheckpointFile {
                    number,
                    path: entry.path(),
                });
            }
        }
        files.sort_by_key(|f| (f.number.is_none(), f.number, f.path.clone()));
        Ok(files)
    }

    pub fn read(path: &Path) -> Result<StoredCheckpoint> {
        let bytes = fsutil::read_stored(path, MAX_CHECKPOINT_FILE)?;
        let text = String::from_utf8(bytes).map_err(|_| Error::Corrupt {
            path: path.to_path_buf(),
            why: "not UTF-8 text".into(),
        })?;
        Self::parse(path, &text)
    }

    /// Parses signed-checkpoint text; `path` names its source in errors.
    pub fn parse(path: &Path, text: &str) -> Result<StoredCheckpoint> {
        let note = SignedNote::parse(text).map_err(|source| Error::Note {
            path: path.to_path_buf(),
            source,
        })?;
        let checkpoint = Checkpoint::parse(&note.text).map_err(|source| Error::Checkpoint {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(StoredCheckpoint {
            path: path.to_path_buf(),
            note,
            checkpoint,
        })
    }

    /// The newest checkpoint, or `None` before the first seal.
    /// The checkpoint a `--checkpoint N` option names, or the latest when it is absent; a
    /// missing one is a usage error that says what to do.
    pub fn select(&self, number: Option<u64>) -> Result<StoredCheckpoint> {
        match number {
            Some(n) => Self::read(&self.path_of(n)).map_err(|e| match e {
                Error::Io { .. } => Error::InvalidOption {
                    option: "--checkpoint",
                    value: n.to_string(),
                    why: "no such checkpoint; `evidentia log` lists them".into(),
                },
                other => other,
            }),
            None => self.latest()?.ok_or_else(|| Error::InvalidOption {
                option: "--checkpoint",
                value: "latest".into(),
                why: "the archive has no checkpoint yet; run `evidentia seal` first".into(),
            }),
        }
    }

    pub fn latest(&self) -> Result<Option<StoredCheckpoint>> {
        let files = self.files()?;
        match files.iter().rev().find_map(|f| f.number.map(|_| &f.path)) {
            Some(path) => Self::read(path).map(Some),
            None => Ok(None),
        }
    }

    /// Writes a new checkpoint; refuses to replace an existing one.
    pub fn write(&self, number: u64, note: &SignedNote) -> Result<PathBuf> {
        let path = self.path_of(number);
        if path.exists() {
            return Err(Error::Corrupt {
                path,
                why: "a checkpoint with this number already exists".into(),
            });
        }
        fsutil::write_atomic(&path, note.render().as_bytes())?;
        Ok(path)
    }
}
