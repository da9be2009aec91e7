//! Names a user gives on the command line: `latest` for a checkpoint, and the archive found
//! by walking up from the current directory.

use std::path::PathBuf;
use std::str::FromStr;

/// A checkpoint number, or `latest` (the newest checkpoint when the command runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointName {
    Number(u64),
    Latest,
}

impl CheckpointName {
    /// The number, or `None` for the latest: the convention of `CheckpointStore::select` and
    /// of every `--checkpoint` option, where absent means the latest.
    pub fn number(self) -> Option<u64> {
        match self {
            CheckpointName::Number(n) => Some(n),
            CheckpointName::Latest => None,
        }
    }
}

impl FromStr for CheckpointName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "latest" {
            return Ok(CheckpointName::Latest);
        }
        text.parse()
            .map(CheckpointName::Number)
            .map_err(|_| format!("'{text}' is not a checkpoint: give a number (as `evidentia log` lists them) or `latest`"))
    }
}

/// `Some(number)` for `--checkpoint N`, `None` for `latest` or no option (both the latest).
pub fn checkpoint_number(name: Option<CheckpointName>) -> Option<u64> {
    name.and_then(CheckpointName::number)
}

/// The archive to use when neither --archive nor EVIDENTIA_ARCHIVE names one: the nearest of
/// the current directory and its parents that holds `archive.txt`, as git finds its
/// repository. Said on standard error when it is not the current directory. When none is
/// found, the current directory (whose error then says it is not an archive).
pub fn discover_archive() -> PathBuf {
    let here = PathBuf::from(".");
    let Ok(cwd) = std::env::current_dir() else {
        return here;
    };
    for dir in cwd.ancestors() {
        if dir.join(evidentia::archive::ARCHIVE_FILE).is_file() {
            if dir == cwd.as_path() {
                return here;
            }
            errln!(
                "using the archive at {} (found above the current directory)",
                dir.display()
            );
            return dir.to_path_buf();
        }
    }
    here
}
