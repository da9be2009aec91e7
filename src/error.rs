//! The library's error type. Each variant carries the facts needed to act on it.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use crate::core::checkpoint::CheckpointError;
use crate::core::digest::Digest;
use crate::core::key::KeyError;
use crate::core::note::NoteError;
use crate::core::record::RecordError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum Error {
    #[error("{}: {source}", crate::term::escape(&path.to_string_lossy()))]
    Io { path: PathBuf, source: io::Error },

    /// A file was put in place but the disk did not confirm it durable (the directory's fsync
    /// failed after the rename): the change is visible, so repeating the command would repeat it.
    #[error("{}: {source}; the file is in place, but the disk did not confirm it is durable: check the disk, then run `evidentia verify` (the change was made, so do not repeat the command)", crate::term::escape(&path.to_string_lossy()))]
    NotDurable { path: PathBuf, source: io::Error },

    #[error("{} is not an evidentia archive (it has no archive.txt); create one with `evidentia init`, or point --archive at an existing one", crate::term::escape(&path.to_string_lossy()))]
    NotAnArchive { path: PathBuf },

    #[error("{} is not empty and is not an archive; choose a new or empty directory", crate::term::escape(&path.to_string_lossy()))]
    DirectoryNotEmpty { path: PathBuf },

    #[error("{} is already an evidentia archive", crate::term::escape(&path.to_string_lossy()))]
    AlreadyAnArchive { path: PathBuf },

    #[error("archive file {} is damaged: {why}; run `evidentia verify` for a full report", crate::term::escape(&path.to_string_lossy()))]
    Corrupt { path: PathBuf, why: String },

    #[error("no bundle written at {}: the bundle failed its own verification ({problems}); run `evidentia verify` on the archive and fix what it reports", crate::term::escape(&out.to_string_lossy()))]
    ExportSelfCheck { out: PathBuf, problems: String },

    #[error("{source}; the export could not be recorded in the custody log, so {}: fix the cause and export again", export_taken_back(out, *removed))]
    ExportNotLogged {
        out: PathBuf,
        removed: bool,
        source: Box<Error>,
    },

    #[error(
        "object {digest} is missing from the archive; run `evidentia verify` for a full report"
    )]
    ObjectMissing { digest: Digest },

    #[error("object {expected} is damaged: its content hashes to {found}; run `evidentia verify` for a full report")]
    ObjectCorrupt { expected: Digest, found: Digest },

    #[error("the new {kind} record is not valid: {source}")]
    InvalidRecord { kind: String, source: RecordError },

    #[error("record {digest} is invalid: {source}")]
    Record { digest: Digest, source: RecordError },

    #[error("checkpoint {}: {source}", crate::term::escape(&path.to_string_lossy()))]
    Checkpoint {
        path: PathBuf,
        source: CheckpointError,
    },

    #[error("checkpoint {}: {source}", crate::term::escape(&path.to_string_lossy()))]
    Note { path: PathBuf, source: NoteError },

    #[error("{}: {why}", crate::term::escape(&path.to_string_lossy()))]
    BadInput { path: PathBuf, why: String },

    #[error("{} already exists ({what}); choose another path{}", path.display(), if *can_force { ", or pass --force to replace it" } else { " (this output is never replaced)" })]
    OutputExists {
        path: PathBuf,
        what: &'static str,
        can_force: bool,
    },

    #[error("`evidentia {command}` refused: {why}")]
    TrustChoice {
        command: &'static str,
        why: &'static str,
    },

    #[error("refusing to add: {count} input(s) cannot be recorded:\n{list}\nrename or remove them, then run the command again (nothing was added)")]
    BadInputs { count: usize, list: String },

    #[error("nothing new to seal: {}; add documents first", nothing_new(*number, *size))]
    NothingToSeal { number: u64, size: u64 },

    #[error("key file {}: {why}", crate::term::escape(&path.to_string_lossy()))]
    KeyFile { path: PathBuf, why: String },

    /// A secret key file where public keys are expected (a trust file, a .pub file).
    #[error("{}{} holds a SECRET key, but {expected} is expected here: give the public key instead (the .pub file written beside the secret key, or the line `evidentia key public SECRET.key` prints), and keep the secret key private", crate::term::escape(&path.to_string_lossy()), line.map(|n| format!(" line {n}")).unwrap_or_default())]
    SecretKeyGiven {
        path: PathBuf,
        /// The line of a trust file that holds it.
        line: Option<usize>,
        expected: &'static str,
    },

    /// A public key (a .pub or trust file) where a secret key file is expected.
    #[error("{} holds a public key, but a secret key file is needed here: give the .key file that `evidentia key generate` wrote beside the .pub file", crate::term::escape(&path.to_string_lossy()))]
    PublicKeyGiven { path: PathBuf },

    #[error("key file {}: wrong passphrase, or the file is damaged", crate::term::escape(&path.to_string_lossy()))]
    WrongPassphrase { path: PathBuf },

    #[error("a passphrase is needed for {}: set EVIDENTIA_PASSPHRASE, pass --passphrase-file, or run on a terminal", crate::term::escape(&path.to_string_lossy()))]
    NoPassphrase { path: PathBuf },

    #[error("{what}: {source}")]
    Key { what: String, source: KeyError },

    #[error("trust file {} line {line}: {source}; each line must be a public key exactly as in a .pub file", crate::term::escape(&path.to_string_lossy()))]
    TrustFile {
        path: PathBuf,
        line: usize,
        source: KeyError,
    },

    #[error("trust file {} lists no keys", crate::term::escape(&path.to_string_lossy()))]
    EmptyTrustFile { path: PathBuf },

    #[error("no record or object matches '{id}'; `evidentia log` lists records and `evidentia ls` documents")]
    UnknownId { id: String },

    #[error("'{id}' matches {count} objects; give more digits")]
    AmbiguousId { id: String, count: usize },

    #[error("'{id}' is not a digest or digest prefix: use at least 4 hex digits, optionally after 'sha256:'")]
    BadId { id: String },

    #[error("quote '{quote}' does not occur in {target}; check the exact wording (quotes must match character for character)")]
    QuoteNotFound { quote: String, target: String },

    #[error("quote '{quote}' occurs {count} times in {target}; add --prefix and/or --suffix with the text just before or after the one you mean")]
    QuoteAmbiguous {
        quote: String,
        target: String,
        count: usize,
    },

    #[error("{selector} selector is outside {target}: {detail}")]
    SelectorOutOfRange {
        selector: &'static str,
        target: String,
        detail: String,
    },

    #[error("{target} is not text ({media_type}), so a {selector} selector cannot be checked; use --bytes, --page, --time or --rect")]
    NotText {
        target: String,
        media_type: String,
        selector: &'static str,
    },

    #[error("'{target}' (record sha256:{record}) is already retracted by record #{index} (sha256:{retraction}): {reason}; a record is retracted once, and that retraction stays in force")]
    AlreadyRetracted {
        target: String,
        record: String,
        index: u64,
        retraction: String,
        reason: String,
    },

    #[error("{target} is {media_type}, which has no {what}, so a {selector} selector cannot be recorded; {allowed}")]
    SelectorNotApplicable {
        target: String,
        media_type: String,
        what: &'static str,
        selector: &'static str,
        allowed: &'static str,
    },

    #[error("'{id}' is {what}; {hint}")]
    WrongTarget {
        id: String,
        what: String,
        hint: &'static str,
    },

    #[error("witness refuses to cosign for {origin}: {reason}\n{evidence}")]
    WitnessRefused {
        origin: String,
        reason: String,
        evidence: String,
    },

    #[error("{url}: {why}")]
    Remote { url: String, why: String },

    #[error("{url} is missing from the object store; run `evidentia verify --archive` on the archive for a full report")]
    RemoteMissing { url: String },

    #[error("{url} already exists: another writer committed first; nothing of this command was recorded, run it again")]
    RemoteExists { url: String },

    #[error("the archive {url} changed while this command ran ({why}); nothing of this command was recorded: run it again")]
    RemoteConflict { url: String, why: String },

    #[error("{url} is held by another writer ({holder}); waited {waited_s} s. If no writer runs (a crashed one), its claim expires {expires_s} s after it was made; to end it sooner, delete that key")]
    RemoteLocked {
        url: String,
        holder: String,
        waited_s: u64,
        expires_s: u64,
    },

    #[error("invalid {option} '{value}': {why}")]
    InvalidOption {
        option: &'static str,
        value: String,
        why: String,
    },

    /// Ctrl-C (SIGINT) or SIGTERM stopped the command at a safe point; `kept` says what is
    /// left (exit code 130).
    #[error("interrupted: {kept}")]
    Interrupted { kept: String },

    /// Encrypted content (FORMAT.md §23): recipients, identities, ciphertexts.
    #[error(transparent)]
    Crypt(#[from] crate::crypt::CryptError),
}

fn export_taken_back(out: &std::path::Path, removed: bool) -> String {
    let out = out.to_string_lossy();
    let out = crate::term::escape(&out);
    if removed {
        format!("the bundle at {out} was removed")
    } else {
        format!("the bundle at {out} must not be handed over; removing it failed, delete it")
    }
}

fn nothing_new(number: u64, size: u64) -> String {
    if number == 0 {
        "the archive has no records yet".to_string()
    } else {
        format!("checkpoint {number} already covers all {size} records")
    }
}

impl Error {
    /// True when the error means stored data failed an integrity check (exit code 1), as
    /// opposed to bad usage or unreadable input (exit code 2).
    pub fn is_integrity_failure(&self) -> bool {
        matches!(
            self,
            Error::Corrupt { .. }
                | Error::ExportSelfCheck { .. }
                | Error::ObjectMissing { .. }
                | Error::ObjectCorrupt { .. }
                | Error::Record { .. }
                | Error::Checkpoint { .. }
                | Error::Note { .. }
                | Error::RemoteMissing { .. }
                | Error::WitnessRefused { .. }
                | Error::Crypt(
                    crate::crypt::CryptError::Damaged { .. }
                        | crate::crypt::CryptError::PlaintextMismatch { .. }
                        | crate::crypt::CryptError::OpeningMismatch { .. }
                )
        )
    }

    /// For `map_err`: the path is copied only if there is an error (this sits on hot paths).
    pub fn io<P: AsRef<std::path::Path>>(path: P) -> impl FnOnce(io::Error) -> Error {
        move |source| Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }
}
