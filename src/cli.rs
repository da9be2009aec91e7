//! Argument definitions and the glue from each command to the library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use evidentia::archive::ingest::{self, AddOptions, AddStatus};
use evidentia::archive::output::Existing;
use evidentia::archive::query::{self, Resolved};
use evidentia::archive::seal;
use evidentia::archive::verify::{self, VerifyOptions, VerifyReport};
use evidentia::archive::Archive;
use evidentia::core::timestamp::Timestamp;
use evidentia::{trust, verdict, Error};

/// Human-readable output. Everything shown on a terminal passes through
/// `evidentia::term::escape_text`, so an escape sequence or bidi control in a file name,
/// record field or annotation is shown as `\u{1b}`, never interpreted (JSON goes to its
/// serializer instead).
macro_rules! outln {
    () => { println!() };
    ($($arg:tt)*) => { println!("{}", evidentia::term::escape_text(&format!($($arg)*))) };
}
macro_rules! out {
    ($($arg:tt)*) => { print!("{}", evidentia::term::escape_text(&format!($($arg)*))) };
}
macro_rules! errln {
    ($($arg:tt)*) => { eprintln!("{}", evidentia::term::escape_text(&format!($($arg)*))) };
}

mod annotate;
mod audit;
mod bundle;
mod encrypt;
mod json;
mod keys;
mod metadata;
mod names;
mod progress;
mod render;
mod show;
mod title;

#[derive(Parser, Debug)]
#[command(
    name = "evidentia",
    version,
    about = "Seal evidence into an append-only, signed, verifiable archive"
)]
pub struct Cli {
    /// The archive: a directory, or s3://BUCKET/PREFIX on an S3-compatible store (credentials
    /// and endpoint from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
    /// AWS_ENDPOINT_URL) [default: $EVIDENTIA_ARCHIVE, else the nearest of the current
    /// directory and its parents that holds archive.txt]
    #[arg(long, global = true, env = "EVIDENTIA_ARCHIVE", value_name = "DIR|URL")]
    archive: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a new, empty archive
    Init {
        /// Where to create it [default: --archive, else the current directory]
        dir: Option<PathBuf>,
        /// The case's title, any text on one line (e.g. "UA-BY children transfers"); logged
        /// as a signed `case` record, shown by verify, log and bundles
        #[arg(long, value_name = "TITLE")]
        name: Option<String>,
        /// The checkpoint origin, exactly [default: evidentia/<title as ASCII>/<random id>]
        #[arg(long, value_name = "ORIGIN")]
        origin: Option<String>,
        #[command(flatten)]
        recipients: encrypt::RecipientArgs,
    },
    /// Manage signing keys
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// Record files and directories as documents
    Add(AddArgs),
    /// Sign a checkpoint over everything recorded so far
    Seal {
        /// Secret key file (repeat for several signers) [default: $EVIDENTIA_KEY, except with
        /// --cosigned]
        #[arg(long = "key", value_name = "KEYFILE")]
        keys: Vec<PathBuf>,
        /// A checkpoint cosigned by a witness: add its cosignatures to the stored checkpoint
        #[arg(long, value_name = "FILE", requires = "witness_trust")]
        cosigned: Vec<PathBuf>,
        /// Witness public keys (one per line, as .pub files): only their valid cosignatures
        /// are added
        #[arg(long, value_name = "FILE")]
        witness_trust: Option<PathBuf>,
        /// One line stored in the checkpoint
        #[arg(long)]
        message: Option<String>,
        #[command(flatten)]
        passphrase: keys::PassphraseArgs,
    },
    /// Write a hand-over bundle (BagIt) of selected documents, with proofs, for offline checking
    Export(bundle::ExportArgs),
    /// Check an archive (default) or a hand-over bundle: every object, record, proof and signature
    Verify {
        /// A bundle directory or tar file; without it, the archive is verified
        bundle: Option<PathBuf>,
        /// Bundles: the SHA-256 of the checkpoint text you were given out of band
        #[arg(long, value_name = "HEX")]
        checkpoint_hash: Option<String>,
        /// Public keys that may sign, one per line as in a .pub file (or give --integrity-only)
        #[arg(long, value_name = "FILE")]
        trust: Option<PathBuf>,
        /// Check integrity only, without authenticating the signer (exit code 3 when intact)
        #[arg(long)]
        integrity_only: bool,
        /// The checkpoint relied on (the latest, or the bundle's) needs valid signatures by at
        /// least N independent signers (trust-file keys; keys rotated from one count once)
        #[arg(long, value_name = "N", default_value_t = 1)]
        require: usize,
        #[command(flatten)]
        recipient: audit::RecipientArgs,
        #[command(flatten)]
        identity: encrypt::IdentityArgs,
        /// Machine-readable report
        #[arg(long)]
        json: bool,
    },
    /// Compare two versions: prove the later only appended, and list what it adds
    Diff {
        /// A checkpoint number of this archive (or `latest`), or the path of an archive copy
        /// or a bundle
        from: String,
        /// A checkpoint number of this archive (or `latest`), or the path of an archive copy
        /// or a bundle
        to: String,
        #[command(flatten)]
        auth: audit::DiffAuthArgs,
        /// Machine-readable report (JSON)
        #[arg(long)]
        json: bool,
    },
    /// Copy an archive to another place (directory or s3://BUCKET/PREFIX, either way), or
    /// bring such a copy up to date: re-hashes everything copied, refuses a diverged copy
    Mirror {
        /// The archive to copy from (directory or s3:// address)
        src: PathBuf,
        /// Where to copy to: absent, empty, or an earlier copy of the same archive
        dst: PathBuf,
        /// Machine-readable report (JSON)
        #[arg(long)]
        json: bool,
    },
    /// Witness operations
    #[command(subcommand)]
    Witness(audit::WitnessCommand),
    /// RFC 3161 trusted time-stamps for checkpoints
    #[command(subcommand)]
    Timestamp(audit::TimestampCommand),
    /// Show the case's title, or change it: logs a signed `case` record (the latest wins;
    /// earlier titles stay in the log)
    Title {
        /// The new title, any text on one line [default: show the current title]
        title: Option<String>,
        /// One JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// List records and checkpoints, oldest first
    Log {
        /// Only the newest N records (after --path and --kind)
        #[arg(short = 'n', long = "max-count", value_name = "N")]
        max_count: Option<u64>,
        /// Newest first (default: log order, oldest first)
        #[arg(long)]
        newest_first: bool,
        /// Only records about this logical path, any version: its document records and the
        /// annotations, custody events and retractions naming them
        #[arg(long, value_name = "PATH")]
        path: Option<String>,
        /// Only records of this kind
        #[arg(long, value_name = "KIND", value_parser = ["document", "annotation", "custody", "retraction", "key", "case", "recipients", "rewrap"])]
        kind: Option<String>,
        /// One JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// List documents: the current version of each logical path (retracted ones marked)
    Ls {
        /// Every version of each path, each marked current, superseded or retracted
        #[arg(long)]
        all_versions: bool,
        /// The state as sealed by checkpoint N (or `latest`)
        #[arg(long, value_name = "N|latest")]
        at: Option<names::CheckpointName>,
        /// One JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// Show one record in full (or the records of a document's content)
    Show {
        /// A record number as `log` prints it (#N), a digest, a unique prefix of at least 4
        /// hex digits, or a logical path (its latest version's record)
        id: String,
        /// The record as JSON instead of text
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        identity: encrypt::IdentityArgs,
    },
    /// Annotate a document: a body, selectors checked against its content, a claim, links
    Annotate(annotate::AnnotateArgs),
    /// List annotations (of one document, or all), newest first, with their state
    Annotations {
        /// A document: digest or unique prefix (that content), or logical path (every version)
        target: Option<String>,
        /// One JSON document instead of text
        #[arg(long)]
        json: bool,
        /// W3C Web Annotation JSON-LD
        #[arg(long, conflicts_with = "json")]
        jsonld: bool,
        /// Decrypt and show encrypted bodies, quotes and claims (FORMAT.md §23.10)
        #[command(flatten)]
        identity: encrypt::IdentityArgs,
    },
    /// Withdraw a document or annotation (it stays recorded and provable)
    Retract {
        /// A document or annotation: digest, unique prefix or logical path
        target: String,
        /// Why it is retracted (recorded in the log; required)
        #[arg(long)]
        reason: String,
    },
    /// Record a chain-of-custody event for one or more documents
    Custody(annotate::CustodyArgs),
    /// Add tags, a collector, a note… to a document already recorded (a new `metadata`
    /// record; the document record is not changed)
    Metadata(metadata::MetadataArgs),
    /// A document's full chain of custody, in time order
    History {
        /// A document: digest or unique prefix (that content), or logical path (every version
        /// recorded under it)
        target: String,
        /// One JSON document instead of text
        #[arg(long)]
        json: bool,
        /// Decrypt and show encrypted annotation and custody fields (FORMAT.md §23.10)
        #[command(flatten)]
        identity: encrypt::IdentityArgs,
    },
    /// Write a portable proof that one document is in a signed checkpoint
    Prove {
        /// A document (digest, unique prefix or logical path), or `consistency FROM TO`
        /// (checkpoint numbers, or `latest`)
        #[arg(num_args = 1..=3, required = true, value_name = "ID | consistency FROM TO")]
        what: Vec<String>,
        /// The checkpoint to prove against: a number or `latest` [default: latest]
        #[arg(long, value_name = "N|latest")]
        checkpoint: Option<names::CheckpointName>,
        /// Where to write the proof file (created; never replaces an existing file)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Replace an existing file at --out (atomically; a symlink there is replaced, not followed)
        #[arg(long)]
        force: bool,
    },
    /// Check a proof file against a document's bytes, offline
    VerifyProof {
        /// The proof file (evidentia-proof/1 or /2, or a consistency proof)
        proof: PathBuf,
        /// The document the proof is about (not needed for a consistency proof)
        document: Option<PathBuf>,
        /// Public keys that may sign, one per line as in a .pub file (or give --integrity-only)
        #[arg(long, value_name = "FILE")]
        trust: Option<PathBuf>,
        /// Check integrity only, without authenticating the signer (exit code 3 when intact)
        #[arg(long)]
        integrity_only: bool,
        /// Require valid signatures by at least N independent signers
        #[arg(long, value_name = "N", default_value_t = 1)]
        require: usize,
        /// Machine-readable report (JSON)
        #[arg(long)]
        json: bool,
        /// To check DOCUMENT as the plaintext of a document stored encrypted whose record hides
        /// the plaintext digest (`add --encrypt --hide-digest`); not needed for the ciphertext,
        /// nor for a plaintext whose digest the record shows
        #[command(flatten)]
        identity: encrypt::IdentityArgs,
    },
    /// Print a shell completion script (e.g. `evidentia completions bash > /etc/bash_completion.d/evidentia`)
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write manual pages: evidentia.1 and one per subcommand (evidentia-add.1, …)
    Man {
        /// The directory to write them into (created if missing)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Replace existing pages (atomically; a symlink there is replaced, not followed)
        #[arg(long)]
        force: bool,
    },
    /// Write an object's raw bytes to standard output, or to --out FILE, only once they are
    /// checked against the digest
    ///
    /// To standard output, objects up to 64 MiB are read and checked in memory first, so not
    /// one byte is written unless the whole object matches its digest; larger objects are
    /// refused there. With --out FILE, an object of any size is streamed into a temporary file
    /// beside FILE that is renamed to FILE only when the digest matches (FILE must not exist).
    Cat {
        /// A digest, a unique prefix of at least 4 hex digits, or a logical path (its latest
        /// version)
        digest: String,
        /// Write to this new file instead of standard output (any size; see above)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        identity: encrypt::IdentityArgs,
    },
    /// Show the archive's encryption recipients, or change them (a logged `recipients` record)
    Recipients {
        #[command(subcommand)]
        action: Option<encrypt::RecipientsAction>,
    },
    /// Write new ciphertexts of encrypted documents for the current recipients (logged as
    /// `rewrap` records; the earlier ciphertexts stay stored and provable)
    Rewrap {
        /// A document: digest, unique prefix or logical path
        target: Option<String>,
        /// Every encrypted document
        #[arg(long)]
        all: bool,
        /// Why (recorded in the log)
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        identity: encrypt::IdentityArgs,
    },
}

#[derive(Args, Debug)]
struct AddArgs {
    /// Files and directories (directories are walked; symbolic links in them are reported and
    /// not followed; a symbolic link named here is refused)
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    collection: metadata::CollectionArgs,
    /// The media type, instead of guessing it from the file name
    #[arg(long, value_name = "TYPE")]
    media_type: Option<String>,
    /// Name documents by their path relative to DIR [default: from each input's last name]
    #[arg(long, value_name = "DIR")]
    relative_to: Option<PathBuf>,
    /// Store the content only as age ciphertext to the archive's recipients (see
    /// `evidentia recipients`); the record commits to the ciphertext and the plaintext digest
    #[arg(long)]
    encrypt: bool,
    /// With --encrypt: bind the plaintext by a salted commitment instead of its SHA-256, so
    /// that nobody without an identity can test a known file against the record
    #[arg(long, requires = "encrypt")]
    hide_digest: bool,
}

/// Whether a command works on the archive (and so may look for one above the current
/// directory): `init` makes one, the others read only their arguments.
fn uses_archive(command: &Command) -> bool {
    !matches!(
        command,
        Command::Init { .. }
            | Command::Key(
                keys::KeyCommand::Generate { .. }
                    | keys::KeyCommand::Public { .. }
                    | keys::KeyCommand::Passphrase { .. }
            )
            | Command::VerifyProof { .. }
            | Command::Mirror { .. }
            | Command::Completions { .. }
            | Command::Man { .. }
            | Command::Verify {
                bundle: Some(_),
                ..
            }
    )
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    match progress::LongCommand::of(&cli.command) {
        Some(long) => {
            long.start();
            long.finish(dispatch(cli))
        }
        None => dispatch(cli),
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    let archive_dir = match &cli.archive {
        Some(dir) => dir.clone(),
        None if uses_archive(&cli.command) => names::discover_archive(),
        None => PathBuf::from("."),
    };
    match cli.command {
        Command::Init {
            dir,
            name,
            origin,
            recipients,
        } => {
            let dir = dir.unwrap_or(archive_dir);
            let archive = Archive::init(&dir, name.as_deref(), origin.as_deref())?;
            encrypt::init_recipients(&archive, &recipients)?;
            outln!(
                "initialised archive {} in {}",
                archive.origin(),
                dir.display()
            );
            if let Some(name) = &name {
                outln!("case \"{name}\" recorded as #0; not sealed yet: `evidentia seal` covers it");
            }
        }
        Command::Key(command) => keys::run(&archive_dir, command)?,
        Command::Annotate(args) => annotate::annotate(&Archive::open(&archive_dir)?, args)?,
        Command::Annotations {
            target,
            json,
            jsonld,
            identity,
        } => annotate::list(
            &Archive::open(&archive_dir)?,
            target.as_deref(),
            annotate::ListFormat { json, jsonld },
            &identity,
        )?,
        Command::Retract { target, reason } => {
            annotate::retract(&Archive::open(&archive_dir)?, &target, &reason)?
        }
        Command::Custody(args) => annotate::custody(&Archive::open(&archive_dir)?, args)?,
        Command::Metadata(args) => metadata::run(&Archive::open(&archive_dir)?, args)?,
        Command::History {
            target,
            json,
            identity,
        } => {
            annotate::history(&Archive::open(&archive_dir)?, &target, json, &identity)?
        }
        Command::Add(args) => add(&Archive::open(&archive_dir)?, args)?,
        Command::Seal {
            keys,
            cosigned,
            witness_trust,
            message,
            passphrase,
        } => {
            let archive = Archive::open(&archive_dir)?;
            let witnesses: Vec<_> = match &witness_trust {
                Some(path) => trust::load(path)?.into_iter().map(|t| t.key).collect(),
                None => Vec::new(),
            };
            for file in &cosigned {
                let bytes = evidentia::archive::fsutil::read_limited(file, 1 << 20)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let text = String::from_utf8(bytes)
                    .with_context(|| format!("{} is not UTF-8 text", file.display()))?;
                let (number, added) = seal::collect_cosignatures(&archive, &text, &witnesses)?;
                outln!("checkpoint {number}: {added} cosignature line(s) added from {}", file.display());
            }
            // $EVIDENTIA_KEY signs only when a new checkpoint is asked for: collecting
            // cosignatures alone must not also seal.
            let keys = if cosigned.is_empty() {
                keys::signing_keys(keys)
            } else {
                keys
            };
            if keys.is_empty() && cosigned.is_empty() {
                anyhow::bail!("seal needs a signing key: give --key KEYFILE (repeat for several signers) or set EVIDENTIA_KEY");
            }
            if keys.is_empty() {
                return Ok(ExitCode::SUCCESS);
            }
            let signers = keys
                .iter()
                .map(|path| keys::load_signer(path, &passphrase))
                .collect::<Result<Vec<_>, Error>>()?;
            let outcome = seal::seal(&archive, &signers, message.as_deref())?;
            outln!(
                "checkpoint {}: {} records, root sha256:{}",
                outcome.number, outcome.size, outcome.root
            );
            for key in &outcome.signers {
                outln!("  signed by {}", key);
            }
        }
        Command::Prove {
            what,
            checkpoint,
            out,
            force,
        } => match what.as_slice() {
            [id] => bundle::prove(
                &Archive::open(&archive_dir)?,
                id,
                names::checkpoint_number(checkpoint),
                &out,
                Existing::from_force(force),
            )?,
            [word, from, to] if word == "consistency" => audit::prove_consistency(
                &Archive::open(&archive_dir)?,
                from,
                to,
                &out,
                Existing::from_force(force),
            )?,
            _ => anyhow::bail!("usage: evidentia prove ID --out FILE, or evidentia prove consistency FROM TO --out FILE"),
        },
        Command::VerifyProof {
            proof,
            document,
            trust,
            integrity_only,
            require,
            json,
            identity,
        } => {
            let trust = verdict::choose_trust("verify-proof", trust, integrity_only)?;
            return match document {
                Some(document) => {
                    let identities = identity.load()?;
                    let check = bundle::ProofCheck {
                        trust,
                        require,
                        identities: identities.as_ref(),
                    };
                    bundle::verify_proof(&proof, &document, check, json)
                }
                None => audit::verify_consistency(&proof, trust, require, json),
            }
        }
        Command::Export(args) => bundle::export(&Archive::open(&archive_dir)?, args)?,
        Command::Diff {
            from,
            to,
            auth,
            json,
        } => return audit::diff(&archive_dir, &from, &to, &auth, json),
        Command::Witness(command) => return audit::witness(&archive_dir, command),
        Command::Mirror { src, dst, json } => return audit::mirror(&src, &dst, json),
        Command::Timestamp(command) => audit::timestamp(&Archive::open(&archive_dir)?, command)?,
        Command::Verify {
            bundle: Some(path),
            checkpoint_hash,
            trust,
            integrity_only,
            require,
            recipient,
            identity,
            json,
        } => {
            let trust = verdict::choose_trust("verify", trust, integrity_only)?;
            return bundle::verify(
                &path,
                checkpoint_hash,
                trust,
                require,
                recipient.checks()?,
                identity.for_verify()?,
                json,
            )
        }
        Command::Verify {
            bundle: None,
            checkpoint_hash,
            trust,
            integrity_only,
            require,
            recipient,
            identity,
            json,
        } => {
            if checkpoint_hash.is_some() {
                anyhow::bail!("--checkpoint-hash applies to bundles: give the bundle's path");
            }
            let trust = verdict::choose_trust("verify", trust, integrity_only)?;
            // An archive on an object store is verified from a fresh replica: nothing cached
            // on this machine is trusted.
            let (archive, _scratch) = Archive::open_uncached(&archive_dir)?;
            let options = VerifyOptions {
                trust,
                require: require.max(1),
                recipient: recipient.checks()?,
                identity: identity.for_verify()?,
            };
            let report = verify::verify(&archive, &options)?;
            print_report(&report, json)?;
            return Ok(ExitCode::from(report.core.verdict.exit_code()));
        }
        Command::Title { title: new, json } => {
            title::run(&Archive::open(&archive_dir)?, new.as_deref(), json)?
        }
        Command::Log {
            max_count,
            newest_first,
            path,
            kind,
            json,
        } => {
            let options = render::LogOptions {
                limit: max_count,
                newest_first,
                path,
                kind,
            };
            render::log(&Archive::open(&archive_dir)?, &options, json)?
        }
        Command::Ls {
            all_versions,
            at,
            json,
        } => {
            let archive = Archive::open(&archive_dir)?;
            let size = match at {
                Some(name) => {
                    let cp = archive.checkpoints().select(name.number())?;
                    errln!(
                        "as sealed by checkpoint {} ({} records, {})",
                        cp.checkpoint.number,
                        cp.checkpoint.size,
                        cp.checkpoint.time
                    );
                    Some(cp.checkpoint.size)
                }
                None => None,
            };
            let options = render::LsOptions { all_versions, size };
            render::ls(&archive, &options, json)?
        }
        Command::Show { id, json, identity } => {
            let archive = Archive::open(&archive_dir)?;
            let mut records = match query::resolve_shown(&archive, &id)? {
                Resolved::Record(record) => vec![*record],
                Resolved::Object(digest) => {
                    let records = query::records_for_content(&archive, &digest)?;
                    if records.is_empty() {
                        errln!("object sha256:{digest} is stored but no record refers to it");
                    }
                    records.into_iter().map(|(logged, _)| logged).collect()
                }
            };
            show::reveal(&archive, identity.load()?.as_ref(), &mut records)?;
            show::records(&records, json)?;
        }
        Command::Completions { shell } => progress::completions(shell),
        Command::Man { out, force } => {
            let pages = progress::man_pages(&out, Existing::from_force(force))?;
            errln!("{} manual page(s) written to {}", pages.len(), out.display());
        }
        Command::Recipients { action } => {
            encrypt::recipients(&Archive::open(&archive_dir)?, action)?
        }
        Command::Rewrap {
            target,
            all,
            reason,
            identity,
        } => encrypt::rewrap(
            &Archive::open(&archive_dir)?,
            target.as_deref(),
            all,
            reason.as_deref(),
            &identity,
        )?,
        Command::Cat {
            digest,
            out,
            identity,
        } => {
            let archive = Archive::open(&archive_dir)?;
            let digest = query::resolve_content(&archive, &digest)?;
            if encrypt::cat(&archive, &digest, out.as_deref(), &identity)? {
                return Ok(ExitCode::SUCCESS);
            }
            match out {
                Some(path) => {
                    let bytes = query::cat_to_file(&archive, &digest, &path)?;
                    errln!("{bytes} bytes of sha256:{digest} written to {}", path.display());
                }
                None => {
                    query::cat(&archive, &digest, &mut std::io::stdout().lock())?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An optional RFC 3339 date-time option, in any offset, as UTC.
pub(crate) fn parse_time(
    option: &'static str,
    text: Option<&str>,
) -> Result<Option<Timestamp>, Error> {
    text.map(|t| {
        Timestamp::parse_lenient(t).map_err(|e| Error::InvalidOption {
            option,
            value: t.to_string(),
            why: e.to_string(),
        })
    })
    .transpose()
}

fn add(archive: &Archive, args: AddArgs) -> Result<()> {
    let options = AddOptions {
        collection: args.collection.into_collection()?,
        media_type: args.media_type,
        progress: std::io::stderr().is_terminal(),
        relative_to: args.relative_to,
        encrypt: match args.encrypt {
            true => Some(evidentia::archive::encrypted::encrypt_to_current(
                archive,
                args.hide_digest,
            )?),
            false => None,
        },
    };
    let report = ingest::add(archive, &args.paths, &options)?;
    for skipped in &report.skipped {
        errln!(
            "skipped {}: {}",
            ingest::shown_path(&skipped.path),
            skipped.reason
        );
    }
    // Buffered: a write per line cost a system call per document.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for doc in &report.documents {
        let line = format!("sha256:{}  {}", doc.content, doc.path);
        writeln!(out, "{}", evidentia::term::escape_text(&line))?;
        if let Some(original) = &doc.original_path {
            errln!(
                "escaped: {} is the file named \"{}\" (its exact name is kept in the record)",
                doc.path,
                evidentia::term::escape(&evidentia::core::path::display_bytes(original))
            );
        }
        match doc.status {
            AddStatus::Unchanged => errln!(
                "unchanged: {} is already recorded with this content (record {}); nothing added",
                doc.path,
                doc.record
            ),
            AddStatus::MetadataAdded { metadata } => errln!(
                "unchanged content: {} is already recorded (record {}); the new metadata was recorded as metadata record {metadata}",
                doc.path,
                doc.record
            ),
            AddStatus::Recorded => {}
        }
    }
    out.flush()?;
    let recorded = report
        .documents
        .iter()
        .filter(|d| d.status == AddStatus::Recorded)
        .count();
    let with_metadata = report
        .documents
        .iter()
        .filter(|d| matches!(d.status, AddStatus::MetadataAdded { .. }))
        .count();
    let metadata_note = match with_metadata {
        0 => String::new(),
        n => format!(" ({n} with new metadata)"),
    };
    errln!(
        "{recorded} document(s) recorded, {} unchanged{metadata_note}; run `evidentia seal` to sign a checkpoint",
        report.documents.len() - recorded
    );
    Ok(())
}

fn print_report(report: &VerifyReport, json: bool) -> Result<()> {
    if json {
        json::print_report(report.format, report)?;
    } else {
        render::verify_report(report);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every option and argument of every command says what it is for in `--help`.
    #[test]
    fn every_argument_has_help() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "evidentia", &mut missing);
        assert!(
            missing.is_empty(),
            "arguments without help:\n{}",
            missing.join("\n")
        );
    }
}
