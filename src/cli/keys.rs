//! `key …` commands, and how every command gets a signing key and its passphrase.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use evidentia::archive::events;
use evidentia::archive::keys::{self, KeyEventRole, KeyView};
use evidentia::archive::Archive;
use evidentia::core::key::SignerKey;
use evidentia::keyfile::{self, Passphrase};
use evidentia::Error;

/// Wrong passphrases accepted at a terminal before giving up (none from a file or the
/// environment: a script repeating a wrong passphrase would only burn time).
const TERMINAL_TRIES: u32 = 3;

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Generate an Ed25519 signing key: PREFIX.key (secret) and PREFIX.pub (public)
    Generate {
        /// Where to write: PREFIX.key and PREFIX.pub (missing directories are created, mode
        /// 0700; existing files are never replaced)
        #[arg(long, value_name = "PREFIX")]
        out: PathBuf,
        /// The name signatures are made under [default: the file name of PREFIX]
        #[arg(long)]
        signer: Option<String>,
        /// Write the secret key without encryption (unsafe: anyone who reads it can sign)
        #[arg(long)]
        unencrypted: bool,
        /// Generate an age identity for encrypted documents instead: --out is the identity
        /// file (protected with a passphrase as by `age -p`, unless --unencrypted); prints its
        /// recipient (age1…)
        #[arg(long, conflicts_with = "signer")]
        age: bool,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Record a signer key in the archive's log, signed by the key itself
    Introduce {
        /// The secret key file to introduce
        #[arg(long = "key", value_name = "KEYFILE", env = "EVIDENTIA_KEY")]
        key: PathBuf,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Replace a key: the old secret key signs the new public key
    Rotate {
        /// The old key's secret key file (it signs the rotation)
        #[arg(long, value_name = "KEYFILE", env = "EVIDENTIA_KEY")]
        old: PathBuf,
        /// The new key's public key file (.pub)
        #[arg(long, value_name = "PUBFILE")]
        new: PathBuf,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Revoke a key: its signatures on later checkpoints are rejected
    Revoke {
        /// The key's .pub file
        #[arg(value_name = "PUBFILE")]
        key: PathBuf,
        /// Why it is revoked (stored in the log)
        #[arg(long)]
        reason: String,
        /// From when it must no longer be trusted [default: now] (RFC 3339)
        #[arg(long, value_name = "RFC3339")]
        effective: Option<String>,
    },
    /// List the archive's keys: lineage, state (active, rotated out, revoked), their key
    /// events and the checkpoints each signed
    List {
        /// Machine-readable list (format evidentia-key-list/1)
        #[arg(long)]
        json: bool,
    },
    /// Print the public key of a secret key file, as its .pub file holds it (asks the
    /// passphrase of an encrypted key: the public key is stored only inside the encryption)
    Public {
        /// The secret key file
        #[arg(value_name = "KEYFILE")]
        key: PathBuf,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Change the passphrase of a secret key file, in place (atomically: the old file stays
    /// until the new one is complete and checked); an unencrypted key file gets encrypted
    Passphrase {
        /// The secret key file
        #[arg(value_name = "KEYFILE")]
        key: PathBuf,
        #[command(flatten)]
        passphrase: PassphraseArgs,
        /// Read the new passphrase from the first line of this file [default: asked twice on
        /// the terminal]
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct PassphraseArgs {
    /// Read the key passphrase from the first line of this file [default: $EVIDENTIA_PASSPHRASE,
    /// else a prompt on the terminal, where a wrong passphrase may be retyped (3 tries)]
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

impl PassphraseArgs {
    /// The passphrase from --passphrase-file or $EVIDENTIA_PASSPHRASE, if either is given.
    fn given(&self) -> Result<Option<Passphrase>, Error> {
        if let Some(path) = &self.passphrase_file {
            return keyfile::read_passphrase_file(path).map(Some);
        }
        Ok(std::env::var("EVIDENTIA_PASSPHRASE")
            .ok()
            .filter(|value| !value.is_empty())
            .map(Zeroizing::new))
    }

    fn at_terminal(&self) -> bool {
        self.passphrase_file.is_none()
            && std::env::var("EVIDENTIA_PASSPHRASE").map_or(true, |v| v.is_empty())
            && std::io::stdin().is_terminal()
    }
}

pub fn run(archive_dir: &Path, command: KeyCommand) -> Result<()> {
    match command {
        KeyCommand::Generate {
            out,
            age: true,
            unencrypted,
            passphrase,
            ..
        } => {
            super::encrypt::generate_identity(&out, unencrypted, || match passphrase.given()? {
                Some(given) => Ok(given),
                None if std::io::stdin().is_terminal() => ask_twice(&out, "passphrase for"),
                None => Err(Error::NoPassphrase { path: out.clone() }),
            })?
        }
        KeyCommand::Generate {
            out,
            signer,
            unencrypted,
            passphrase,
            ..
        } => generate(&out, signer, unencrypted, &passphrase)?,
        KeyCommand::Introduce { key, passphrase } => {
            let archive = Archive::open(archive_dir)?;
            let signer = load_signer(&key, &passphrase)?;
            let id = events::introduce_key(&archive, &signer)?;
            outln!("sha256:{id}");
            errln!("key {} introduced", signer.verifier());
        }
        KeyCommand::Rotate {
            old,
            new,
            passphrase,
        } => {
            let archive = Archive::open(archive_dir)?;
            let old_key = load_signer(&old, &passphrase)?;
            let new_key = keyfile::read_public(&new)?;
            let id = events::rotate_key(&archive, &old_key, &new_key)?;
            outln!("sha256:{id}");
            errln!("key {} rotated to {new_key}", old_key.verifier());
        }
        KeyCommand::Revoke {
            key,
            reason,
            effective,
        } => {
            let archive = Archive::open(archive_dir)?;
            let key = keyfile::read_public(&key)?;
            let effective = super::parse_time("--effective", effective.as_deref())?;
            let id = events::revoke_key(&archive, &key, &reason, effective)?;
            outln!("sha256:{id}");
            errln!("key {key} revoked; checkpoints it signs after this are rejected");
        }
        KeyCommand::List { json } => {
            let archive = Archive::open(archive_dir)?;
            let views = keys::list(&archive)?;
            if json {
                let value = json!({
                    "origin": archive.origin(),
                    "keys": views.iter().map(view_json).collect::<Vec<_>>(),
                });
                super::json::print(super::json::KEY_LIST, value)?;
            } else {
                print_list(archive.origin(), &views);
            }
        }
        KeyCommand::Public { key, passphrase } => {
            let signer = load_signer(&key, &passphrase)?;
            outln!("{}", signer.verifier());
        }
        KeyCommand::Passphrase {
            key,
            passphrase,
            new_passphrase_file,
        } => {
            let signer = load_signer(&key, &passphrase)?;
            let new = match &new_passphrase_file {
                Some(path) => keyfile::read_passphrase_file(path)?,
                None if std::io::stdin().is_terminal() => {
                    ask_twice(&key, "new passphrase for")?
                }
                None => anyhow::bail!(
                    "a new passphrase is needed for {}: pass --new-passphrase-file FILE, or run on a terminal",
                    key.display()
                ),
            };
            keyfile::change_passphrase(&key, &signer, Some(&new))?;
            errln!("passphrase of {} changed", key.display());
        }
    }
    Ok(())
}

fn generate(
    out: &Path,
    signer: Option<String>,
    unencrypted: bool,
    passphrase: &PassphraseArgs,
) -> Result<()> {
    let name = match signer {
        Some(name) => name,
        None => out
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
            .context("cannot derive a signer name from --out; pass --signer NAME")?,
    };
    let generated = keyfile::generate(out, &name, || {
        if unencrypted {
            return Ok(None);
        }
        match passphrase.given()? {
            Some(given) => Ok(Some(given)),
            None if std::io::stdin().is_terminal() => ask_twice(out, "passphrase for").map(Some),
            None => Err(Error::NoPassphrase {
                path: out.to_path_buf(),
            }),
        }
    })?;
    if unencrypted {
        errln!(
            "warning: {} is NOT encrypted: anyone who can read it can sign as '{name}'. Keep it offline, or generate an encrypted key instead.",
            generated.secret_path.display()
        );
    }
    outln!("secret key: {}", generated.secret_path.display());
    outln!("public key: {}", generated.public_path.display());
    outln!("{}", generated.public_text);
    Ok(())
}

/// Loads a secret key, asking its passphrase (if encrypted) from --passphrase-file,
/// $EVIDENTIA_PASSPHRASE or the terminal; at a terminal a wrong one may be tried again.
pub fn load_signer(path: &Path, args: &PassphraseArgs) -> Result<SignerKey, Error> {
    let tries = if args.at_terminal() {
        TERMINAL_TRIES
    } else {
        1
    };
    keyfile::load_retrying(path, tries, |attempt| {
        if attempt > 0 {
            errln!(
                "wrong passphrase for {}; try again ({} of {tries})",
                path.display(),
                attempt + 1
            );
        }
        match args.given()? {
            Some(given) => Ok(given),
            None if std::io::stdin().is_terminal() => {
                prompt(&format!("passphrase for {}: ", path.display()))
            }
            None => Err(Error::NoPassphrase {
                path: path.to_path_buf(),
            }),
        }
    })
}

/// The signing keys for `seal`: those given with --key, else $EVIDENTIA_KEY.
pub fn signing_keys(given: Vec<PathBuf>) -> Vec<PathBuf> {
    if !given.is_empty() {
        return given;
    }
    std::env::var_os("EVIDENTIA_KEY")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .collect()
}

pub(super) fn prompt(text: &str) -> Result<Passphrase, Error> {
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .map_err(Error::io("<terminal>"))
}

/// A new passphrase, typed twice; empty is refused.
pub(super) fn ask_twice(key: &Path, what: &str) -> Result<Passphrase, Error> {
    let first = prompt(&format!("{what} {}: ", key.display()))?;
    let second = prompt("repeat the passphrase: ")?;
    if first != second {
        return Err(Error::BadInput {
            path: key.to_path_buf(),
            why: "the two passphrases differ".into(),
        });
    }
    if first.is_empty() {
        return Err(Error::BadInput {
            path: key.to_path_buf(),
            why: "empty passphrase; use --unencrypted to write a plain key on purpose".into(),
        });
    }
    Ok(first)
}

fn role_text(event: &keys::KeyEvent) -> String {
    let other = event
        .other
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let mut text = match event.role {
        KeyEventRole::Introduced => "introduced".to_string(),
        KeyEventRole::RotatedFrom => format!("rotated to, from {other}"),
        KeyEventRole::RotatedTo => format!("rotated out, to {other}"),
        KeyEventRole::Revoked => format!(
            "revoked, effective {}: {}",
            event.effective.map(|t| t.to_string()).unwrap_or_default(),
            event.reason.as_deref().unwrap_or("")
        ),
    };
    if !event.accepted {
        text.push_str(" (REFUSED: passes no authority; `evidentia verify` says why)");
    }
    text
}

fn print_list(origin: &str, views: &[KeyView]) {
    outln!("archive {origin}");
    if views.is_empty() {
        outln!("no keys: `evidentia key introduce --key K` or `evidentia seal --key K` adds one");
    }
    for view in views {
        outln!();
        outln!("{}", view.key);
        let retired = match (view.retired_at, view.retired_effective) {
            (Some(index), Some(time)) => format!(" at record #{index}, effective {time}"),
            (Some(index), None) => format!(" at record #{index}"),
            _ => String::new(),
        };
        outln!("  state:    {}{retired}", view.state.as_str());
        outln!("  lineage:  {}", view.lineage);
        for event in &view.events {
            outln!(
                "  #{:<6}  {}  {}",
                event.index,
                event.recorded_at,
                role_text(event)
            );
        }
        let signed: Vec<String> = view
            .signed
            .iter()
            .map(|s| {
                if s.counts {
                    s.number.to_string()
                } else {
                    format!("{} (after retirement: not counted)", s.number)
                }
            })
            .collect();
        if signed.is_empty() {
            outln!("  signed:   no checkpoint");
        } else {
            outln!("  signed:   checkpoint(s) {}", signed.join(", "));
        }
    }
}

fn view_json(view: &KeyView) -> Value {
    json!({
        "key": view.key.to_string(),
        "name": view.key.name,
        "key_id": view.key.id_hex(),
        "lineage": view.lineage,
        "state": view.state.as_str(),
        "retired_at_record": view.retired_at,
        "retired_effective": view.retired_effective.map(|t| t.to_string()),
        "events": view.events.iter().map(|e| json!({
            "index": e.index,
            "id": super::json::digest(&e.id),
            "event": e.role.as_str(),
            "recorded_at": e.recorded_at.to_string(),
            "other_key": e.other.as_ref().map(ToString::to_string),
            "reason": e.reason,
            "effective": e.effective.map(|t| t.to_string()),
            "accepted": e.accepted,
        })).collect::<Vec<_>>(),
        "signed": view.signed.iter().map(|s| json!({
            "checkpoint": s.number,
            "counts": s.counts,
        })).collect::<Vec<_>>(),
    })
}
