//! Encrypted documents on the command line (FORMAT.md §23): identities, the archive's
//! recipients, `rewrap`, decrypting `cat`, and `key generate --age`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use clap::{Args, Subcommand};
use zeroize::Zeroizing;

use evidentia::archive::encrypted;
use evidentia::archive::output::{Existing, NewOutput};
use evidentia::archive::query;
use evidentia::archive::verify::encrypted::VerifyIdentity;
use evidentia::archive::Archive;
use evidentia::core::digest::Digest;
use evidentia::crypt::{Identities, NewIdentity, Recipient, Recipients};
use evidentia::keyfile::{self, Passphrase};
use evidentia::Error;

/// An age identity to decrypt with.
#[derive(Args, Debug, Clone, Default)]
pub struct IdentityArgs {
    /// An age identity file (from `age-keygen` or `evidentia key generate --age`; protected
    /// with `age -p` asks for its passphrase) to decrypt encrypted documents with
    #[arg(long, value_name = "FILE", env = "EVIDENTIA_IDENTITY")]
    pub identity: Option<PathBuf>,
    /// Read the identity file's passphrase from the first line of this file [default:
    /// $EVIDENTIA_IDENTITY_PASSPHRASE, else a prompt on the terminal]
    #[arg(long, value_name = "FILE")]
    pub identity_passphrase_file: Option<PathBuf>,
}

impl IdentityArgs {
    /// The identities, if an identity file was given.
    pub fn load(&self) -> Result<Option<Identities>, Error> {
        let Some(path) = &self.identity else {
            return Ok(None);
        };
        let passphrase = || -> evidentia::Result<Passphrase> {
            if let Some(file) = &self.identity_passphrase_file {
                return keyfile::read_passphrase_file(file);
            }
            if let Some(given) = std::env::var("EVIDENTIA_IDENTITY_PASSPHRASE")
                .ok()
                .filter(|v| !v.is_empty())
            {
                return Ok(Zeroizing::new(given));
            }
            if std::io::stdin().is_terminal() {
                return super::keys::prompt(&format!("passphrase for {}: ", path.display()));
            }
            Err(Error::NoPassphrase { path: path.clone() })
        };
        Ok(Some(Identities::read_file(path, passphrase)?))
    }

    pub fn for_verify(&self) -> Result<Option<VerifyIdentity>, Error> {
        Ok(self.load()?.map(|i| VerifyIdentity(Arc::new(i))))
    }

    /// The identities, or an error saying that `what` needs one.
    fn require(&self, what: &str) -> Result<Identities> {
        match self.load()? {
            Some(identities) => Ok(identities),
            None => anyhow::bail!(
                "{what} is encrypted: give --identity FILE (an age identity of one of its recipients; or set EVIDENTIA_IDENTITY)"
            ),
        }
    }
}

/// Recipients given on the command line: keys and recipients files, together.
#[derive(Args, Debug, Clone, Default)]
pub struct RecipientArgs {
    /// An age X25519 public key (age1…) to encrypt documents to (repeat for several)
    #[arg(long = "recipient", value_name = "AGE1…")]
    pub recipients: Vec<String>,
    /// A file of age1… keys, one per line (`#` comments allowed), as `age -R` reads it
    #[arg(long, value_name = "FILE")]
    pub recipients_file: Vec<PathBuf>,
}

impl RecipientArgs {
    pub fn is_empty(&self) -> bool {
        self.recipients.is_empty() && self.recipients_file.is_empty()
    }

    fn keys(&self) -> Result<Vec<Recipient>, Error> {
        let mut keys = self
            .recipients
            .iter()
            .map(|k| Recipient::parse(k, "--recipient"))
            .collect::<Result<Vec<_>, _>>()?;
        for file in &self.recipients_file {
            keys.extend(Recipients::read_file(file)?);
        }
        Ok(keys)
    }
}

#[derive(Subcommand, Debug)]
pub enum RecipientsAction {
    /// Replace the set: documents added with --encrypt from now on are encrypted to these keys
    Set {
        #[command(flatten)]
        keys: RecipientArgs,
        /// Why the set changes (recorded in the log)
        #[arg(long)]
        reason: Option<String>,
    },
    /// Add keys to the current set
    Add {
        #[command(flatten)]
        keys: RecipientArgs,
        /// Why the set changes (recorded in the log)
        #[arg(long)]
        reason: Option<String>,
    },
    /// Remove keys from the current set (what is already sealed stays readable by them; see
    /// `rewrap`)
    Remove {
        #[command(flatten)]
        keys: RecipientArgs,
        /// Why the set changes (recorded in the log)
        #[arg(long)]
        reason: Option<String>,
    },
}

/// Logs the recipients given at `init`.
pub fn init_recipients(archive: &Archive, given: &RecipientArgs) -> Result<()> {
    if given.is_empty() {
        return Ok(());
    }
    let recipients = Recipients::new(given.keys()?, "--recipient")?;
    let id = encrypted::set_recipients(archive, &recipients, None)?;
    outln!(
        "encryption recipients: {} key(s), recorded as sha256:{id}",
        recipients.len()
    );
    Ok(())
}

/// `recipients [set|add|remove]`: show or change the archive's encryption recipients.
pub fn recipients(archive: &Archive, action: Option<RecipientsAction>) -> Result<()> {
    let current = encrypted::current_recipients(archive)?;
    let current_keys = || -> Result<Vec<Recipient>, Error> {
        current.as_ref().map_or(Ok(Vec::new()), |(_, r)| {
            r.recipients
                .iter()
                .map(|k| Recipient::parse(k, "recipients record"))
                .collect::<Result<_, _>>()
                .map_err(Error::from)
        })
    };
    let (keys, reason) = match action {
        None => {
            match &current {
                None => errln!("no encryption recipients; set them with `evidentia recipients set --recipient AGE1…`"),
                Some((id, record)) => {
                    for key in &record.recipients {
                        outln!("{key}");
                    }
                    errln!("{} recipient(s), recorded as sha256:{id}", record.recipients.len());
                }
            }
            return Ok(());
        }
        Some(RecipientsAction::Set { keys, reason }) => (keys.keys()?, reason),
        Some(RecipientsAction::Add { keys, reason }) => {
            let mut all = current_keys()?;
            all.extend(keys.keys()?);
            all.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            all.dedup_by(|a, b| a.as_str() == b.as_str());
            (all, reason)
        }
        Some(RecipientsAction::Remove { keys, reason }) => {
            let removed = keys.keys()?;
            let all = current_keys()?;
            for key in &removed {
                if !all.iter().any(|k| k.as_str() == key.as_str()) {
                    anyhow::bail!("{} is not a current recipient", key.as_str());
                }
            }
            let kept = all
                .into_iter()
                .filter(|k| !removed.iter().any(|r| r.as_str() == k.as_str()))
                .collect();
            (kept, reason)
        }
    };
    let recipients = Recipients::new(keys, "recipients")?;
    let id = encrypted::set_recipients(archive, &recipients, reason.as_deref())?;
    outln!("sha256:{id}");
    errln!(
        "encryption recipients: {} key(s) from now on; documents already sealed keep their ciphertext (see `evidentia rewrap`)",
        recipients.len()
    );
    Ok(())
}

/// `rewrap PATH|--all`: new ciphertexts of encrypted documents for the current recipients.
pub fn rewrap(
    archive: &Archive,
    target: Option<&str>,
    all: bool,
    reason: Option<&str>,
    identity: &IdentityArgs,
) -> Result<()> {
    let targets: Vec<Digest> = match (target, all) {
        (Some(_), true) | (None, false) => {
            anyhow::bail!("give one document (digest, prefix or logical path) or --all")
        }
        (Some(text), false) => {
            let content = query::resolve_content(archive, text)?;
            let records = query::records_for_content(archive, &content)?;
            match records.iter().rev().find(|(_, d)| d.encryption.is_some()) {
                Some((logged, _)) => vec![logged.id],
                None => anyhow::bail!("{text} is not an encrypted document"),
            }
        }
        (None, true) => query::documents(archive)?
            .into_iter()
            .filter(|(_, d)| d.encryption.is_some())
            .map(|(l, _)| l.id)
            .collect(),
    };
    if targets.is_empty() {
        errln!("no encrypted documents to rewrap");
        return Ok(());
    }
    let identities = identity.require("rewrap needs the plaintext: each document")?;
    let ids = encrypted::rewrap(archive, &identities, &targets, reason)?;
    for id in &ids {
        outln!("sha256:{id}");
    }
    errln!(
        "{} document(s) rewrapped for the current recipients; the earlier ciphertexts stay stored and provable; run `evidentia seal`",
        ids.len()
    );
    Ok(())
}

/// `cat` of an encrypted object: decrypted with the identity, released only once checked.
/// Returns false when `digest` is not an encrypted document's (plain `cat` applies).
pub fn cat(
    archive: &Archive,
    digest: &Digest,
    out: Option<&Path>,
    identity: &IdentityArgs,
) -> Result<bool> {
    // Only an object that is an age file can be an encrypted document's: other objects are
    // served as before, without reading the log.
    if !encrypted::looks_encrypted(archive, digest)? {
        return Ok(false);
    }
    let ciphertexts = encrypted::ciphertexts_of(archive, digest)?;
    if ciphertexts.is_empty() {
        return Ok(false);
    }
    let identities = identity.require(&format!("document sha256:{digest}"))?;
    match out {
        Some(path) => {
            let mut output = NewOutput::create(path, 0o600, Existing::Never)?;
            let bytes = encrypted::decrypt_any(archive, &identities, &ciphertexts, output.file())?;
            output.commit()?;
            errln!(
                "{bytes} bytes of plaintext of sha256:{digest} (checked against its record) written to {}",
                path.display()
            );
        }
        None => {
            let limit = query::CAT_IN_MEMORY;
            let size = ciphertexts[0].info.plaintext_size;
            if size > limit {
                anyhow::bail!(
                    "the plaintext of sha256:{digest} is {size} bytes, more than the {} MiB `cat` checks in memory before writing to standard output; give --out FILE",
                    limit >> 20
                );
            }
            let mut bytes = Vec::new();
            encrypted::decrypt_any(archive, &identities, &ciphertexts, &mut bytes)?;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes)?;
            stdout.flush()?;
        }
    }
    Ok(true)
}

/// `key generate --age --out FILE`: a new age identity, passphrase-protected unless
/// `unencrypted`; prints its recipient.
pub fn generate_identity(
    out: &Path,
    unencrypted: bool,
    passphrase: impl FnOnce() -> Result<Passphrase, Error>,
) -> Result<()> {
    let identity = NewIdentity::generate();
    let bytes = if unencrypted {
        identity.file_text().as_bytes().to_vec()
    } else {
        identity.protected_file(&passphrase()?)?
    };
    NewOutput::create(out, 0o600, Existing::Never)?.finish(&bytes)?;
    if unencrypted {
        errln!(
            "warning: {} is NOT protected: anyone who can read it can decrypt what is encrypted to it",
            out.display()
        );
    }
    errln!(
        "age identity written to {}; its recipient (public key):",
        out.display()
    );
    outln!("{}", identity.recipient()?.as_str());
    Ok(())
}
