//! Age identities: the secret keys that decrypt. Files made by `age-keygen` are read as they
//! are (`#` comments, blank lines, `AGE-SECRET-KEY-1…` lines); a file protected with `age -p`
//! (binary or `-a` armored) is detected and decrypted with a passphrase asked for only then.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::recipients::{Recipient, Recipients};
use super::{io_error, CryptError, Result};
use crate::keyfile::Passphrase;

/// Largest identity file read, protected or not (age itself allows 16 MiB; a person's identity
/// file is a few hundred bytes).
const MAX_IDENTITY_FILE: u64 = 1 << 20;

/// Highest scrypt work factor (log2 N) accepted for a protected identity: `age -p` uses 18;
/// this bounds the time and memory a planted file can make the passphrase check cost.
const MAX_WORK_FACTOR: u8 = 22;

const BINARY_AGE: &[u8] = b"age-encryption.org/v1\n";
const ARMORED_AGE: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";

/// One or more X25519 identities loaded from one file.
pub struct Identities {
    keys: Vec<age::x25519::Identity>,
    source: PathBuf,
}

impl Identities {
    /// True when the file at `path` is protected with a passphrase (an age file, as `age -p`
    /// writes it), so that a caller knows to ask before calling [`Identities::read_file`].
    pub fn is_protected(path: &Path) -> Result<bool> {
        Ok(is_age_file(&read(path)?))
    }

    /// Loads the identities in `path`; `passphrase` is called only if the file is protected.
    /// A wrong passphrase is [`CryptError::WrongPassphrase`], so a caller may ask again.
    pub fn read_file(
        path: &Path,
        passphrase: impl FnOnce() -> crate::Result<Passphrase>,
    ) -> Result<Identities> {
        let bytes = read(path)?;
        Identities::from_bytes(&bytes, path, passphrase)
    }

    /// Loads identities from the bytes of an identity file; `source` names it in errors.
    pub fn from_bytes(
        bytes: &[u8],
        source: &Path,
        passphrase: impl FnOnce() -> crate::Result<Passphrase>,
    ) -> Result<Identities> {
        let text = if is_age_file(bytes) {
            let given = passphrase().map_err(|e| CryptError::Read {
                what: format!("passphrase for identity file {}", source.display()),
                source: Box::new(e),
            })?;
            decrypt_protected(bytes, source, &given)?
        } else {
            Zeroizing::new(bytes.to_vec())
        };
        let text = std::str::from_utf8(&text).map_err(|_| bad(source, "not UTF-8 text"))?;
        let keys = parse_identity_lines(text, source)?;
        Ok(Identities {
            keys,
            source: source.to_path_buf(),
        })
    }

    /// The public keys of these identities.
    pub fn recipients(&self) -> Result<Recipients> {
        let keys = self
            .keys
            .iter()
            .map(|k| Recipient::parse(&k.to_public().to_string(), "identity"))
            .collect::<Result<Vec<_>>>()?;
        Recipients::new(keys, &format!("identity file {}", self.source.display()))
    }

    /// The file these identities came from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    pub(crate) fn age_identities(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.keys.iter().map(|k| k as &dyn age::Identity)
    }
}

/// A freshly generated identity (for `key generate --age`).
pub struct NewIdentity {
    key: age::x25519::Identity,
    created: String,
}

impl NewIdentity {
    pub fn generate() -> NewIdentity {
        let format =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        let created = time::OffsetDateTime::now_utc()
            .format(&format)
            .unwrap_or_else(|_| "unknown".into());
        NewIdentity {
            key: age::x25519::Identity::generate(),
            created,
        }
    }

    /// The public key to give to whoever encrypts to this identity.
    pub fn recipient(&self) -> Result<Recipient> {
        Recipient::parse(&self.key.to_public().to_string(), "new identity")
    }

    /// The identity file exactly as `age-keygen` writes it.
    pub fn file_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "# created: {}\n# public key: {}\n{}\n",
            self.created,
            self.key.to_public(),
            self.key.to_string().expose_secret()
        ))
    }

    /// The identity file protected with `passphrase`, as `age -p -a` writes it (armored, so
    /// it stays text); `age -d` and [`Identities::read_file`] both read it.
    pub fn protected_file(&self, passphrase: &Passphrase) -> Result<Vec<u8>> {
        protect(self.file_text().as_bytes(), passphrase)
    }
}

/// Encrypts `plain` with a passphrase (scrypt recipient), armored.
pub(crate) fn protect(plain: &[u8], passphrase: &Passphrase) -> Result<Vec<u8>> {
    use std::io::Write;
    let what = "protected identity file";
    let secret = SecretString::from(passphrase.to_string());
    let encryptor = age::Encryptor::with_user_passphrase(secret);
    let armor = age::armor::ArmoredWriter::wrap_output(Vec::new(), age::armor::Format::AsciiArmor)
        .map_err(io_error(what))?;
    let mut writer = encryptor.wrap_output(armor).map_err(io_error(what))?;
    writer.write_all(plain).map_err(io_error(what))?;
    let armor = writer.finish().map_err(io_error(what))?;
    armor.finish().map_err(io_error(what))
}

fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    crate::archive::fsutil::read_limited(path, MAX_IDENTITY_FILE)
        .map(Zeroizing::new)
        .map_err(|source| CryptError::Read {
            what: format!("identity file {}", path.display()),
            source: Box::new(source),
        })
}

fn is_age_file(bytes: &[u8]) -> bool {
    bytes.starts_with(BINARY_AGE) || bytes.trim_ascii_start().starts_with(ARMORED_AGE)
}

fn bad(source: &Path, why: impl Into<String>) -> CryptError {
    CryptError::BadIdentityFile {
        path: source.to_path_buf(),
        why: why.into(),
    }
}

fn decrypt_protected(
    bytes: &[u8],
    source: &Path,
    passphrase: &Passphrase,
) -> Result<Zeroizing<Vec<u8>>> {
    let armored = age::armor::ArmoredReader::new(BufReader::new(bytes));
    let decryptor = age::Decryptor::new_buffered(BufReader::new(armored))
        .map_err(|e| bad(source, format!("not a readable age file: {e}")))?;
    if !decryptor.is_scrypt() {
        return Err(bad(
            source,
            "an age file encrypted to recipients, not with a passphrase; decrypt it first or \
             give the identity file itself",
        ));
    }
    let mut identity = age::scrypt::Identity::new(SecretString::from(passphrase.to_string()));
    identity.set_max_work_factor(MAX_WORK_FACTOR);
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::KeyDecryptionFailed => {
                CryptError::WrongPassphrase {
                    path: source.to_path_buf(),
                }
            }
            other => bad(source, other.to_string()),
        })?;
    let mut plain = Zeroizing::new(Vec::new());
    reader
        .by_ref()
        .take(MAX_IDENTITY_FILE + 1)
        .read_to_end(&mut plain)
        .map_err(|e| bad(source, format!("damaged: {e}")))?;
    if plain.len() as u64 > MAX_IDENTITY_FILE {
        return Err(bad(source, "the protected identity file is too large"));
    }
    Ok(plain)
}

/// Parses identity lines as age does; never echoes a line (it may hold a secret key).
fn parse_identity_lines(text: &str, source: &Path) -> Result<Vec<age::x25519::Identity>> {
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match age::x25519::Identity::from_str(line) {
            Ok(key) => keys.push(key),
            Err(_) => {
                let why = if line.starts_with("AGE-PLUGIN-") {
                    "is a plugin identity, which evidentia does not support"
                } else if line.to_ascii_lowercase().starts_with("age1") {
                    "is a public key (age1…): give the identity file, which holds the secret key"
                } else {
                    "is not an age identity (AGE-SECRET-KEY-1…)"
                };
                return Err(bad(source, format!("line {} {why}", n + 1)));
            }
        }
    }
    if keys.is_empty() {
        return Err(bad(source, "holds no identity (AGE-SECRET-KEY-1… line)"));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_passphrase() -> crate::Result<Passphrase> {
        panic!("no passphrase should be asked for")
    }

    #[test]
    fn new_identity_round_trips_plain_and_protected() {
        let new = NewIdentity::generate();
        let text = new.file_text();
        assert!(text.starts_with("# created: "));
        let plain =
            Identities::from_bytes(text.as_bytes(), Path::new("id"), no_passphrase).unwrap();
        let public = new.recipient().unwrap();
        assert!(plain.recipients().unwrap().contains(&public));

        let pass: Passphrase = Zeroizing::new("correct horse".into());
        let protected = new.protected_file(&pass).unwrap();
        assert!(is_age_file(&protected));
        let loaded =
            Identities::from_bytes(&protected, Path::new("id"), || Ok(pass.clone())).unwrap();
        assert!(loaded.recipients().unwrap().contains(&public));

        let wrong = Identities::from_bytes(&protected, Path::new("id"), || {
            Ok(Zeroizing::new("wrong".into()))
        });
        assert!(matches!(wrong, Err(CryptError::WrongPassphrase { .. })));
    }

    #[test]
    fn refuses_public_keys_and_garbage_without_echoing() {
        let new = NewIdentity::generate();
        let public = format!("{}\n", new.recipient().unwrap());
        let err = Identities::from_bytes(public.as_bytes(), Path::new("f"), no_passphrase)
            .err()
            .unwrap();
        assert!(err.to_string().contains("line 1 is a public key"), "{err}");
        let err = Identities::from_bytes(b"# only comments\n", Path::new("f"), no_passphrase)
            .err()
            .unwrap();
        assert!(err.to_string().contains("holds no identity"), "{err}");
        let secretish = "AGE-SECRET-KEY-1NOTAVALIDKEYATALL\n";
        let err = Identities::from_bytes(secretish.as_bytes(), Path::new("f"), no_passphrase)
            .err()
            .unwrap();
        assert!(!err.to_string().contains("NOTAVALID"), "{err}");
    }
}
