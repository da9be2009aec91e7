//! Secret key files, encrypted at rest.
//!
//! An unencrypted key file holds one line, the signer key text
//! (`PRIVATE+KEY+name+keyid+base64`). An encrypted one (the default) holds four lines:
//!
//! ```text
//! evidentia-encrypted-key 1
//! scrypt <log2 N> <r> <p> <base64 salt, 16 bytes>
//! xchacha20poly1305 <base64 nonce, 24 bytes>
//! <base64 ciphertext of the signer key text, with its 16-byte tag>
//! ```
//!
//! The key is scrypt(passphrase, salt) → 32 bytes; the first three lines, each with its newline,
//! are the AEAD's associated data, so the parameters cannot be altered unnoticed.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::RngCore;
use zeroize::Zeroizing;

use crate::archive::fsutil;
use crate::archive::output::{self, Existing, NewOutput};
use crate::core::key::{SignerKey, VerifierKey};
use crate::error::{Error, Result};

const HEADER: &str = "evidentia-encrypted-key 1";
/// scrypt cost for new keys: N = 2^17, r = 8, p = 1 (128 MiB, about half a second).
const LOG_N: u8 = 17;
/// Highest cost accepted when reading, so a hostile file cannot demand unbounded memory.
const MAX_LOG_N: u8 = 20;

pub type Passphrase = Zeroizing<String>;

/// The two files `key generate` writes.
pub struct GeneratedKey {
    pub secret_path: PathBuf,
    pub public_path: PathBuf,
    pub public_text: String,
}

/// Generates a key and writes `PREFIX.key` (mode 0600) and `PREFIX.pub`. Refuses to overwrite.
/// A missing directory of PREFIX is created (mode 0700). `passphrase` is asked only once both
/// output names are known to be free, so a taken name never costs the user a passphrase;
/// `None` writes the key unencrypted.
pub fn generate(
    prefix: &Path,
    name: &str,
    passphrase: impl FnOnce() -> Result<Option<Passphrase>>,
) -> Result<GeneratedKey> {
    let signer = SignerKey::generate(name).map_err(|source| Error::Key {
        what: "signer name".into(),
        source,
    })?;
    let secret_path = with_suffix(prefix, "key");
    let public_path = with_suffix(prefix, "pub");
    create_private_dir(prefix)?;
    // Both names are checked before either is written (a key is never replaced: no --force).
    let secret_out = NewOutput::create(&secret_path, 0o600, Existing::Never)?;
    let public_out = NewOutput::create(&public_path, output::SHARED, Existing::Never)?;
    let secret = match passphrase()? {
        Some(p) => encrypt(&signer.to_text(), &p, LOG_N)?,
        None => Zeroizing::new(format!("{}\n", signer.to_text().as_str())),
    };
    secret_out.finish(secret.as_bytes())?;
    let public_text = signer.verifier().to_string();
    public_out.finish(format!("{public_text}\n").as_bytes())?;
    Ok(GeneratedKey {
        secret_path,
        public_path,
        public_text,
    })
}

/// Creates the missing directories above `prefix`, readable by their owner only (they hold
/// secret keys); existing ones are left as they are.
fn create_private_dir(prefix: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let Some(dir) = prefix.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.exists() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(Error::io(dir))
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_os_string();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// True when the key file at `path` needs a passphrase.
pub fn is_encrypted(path: &Path) -> Result<bool> {
    let bytes = fsutil::read_limited(path, 64 * 1024)?;
    Ok(bytes.starts_with(HEADER.as_bytes()))
}

/// Loads a signing key; `passphrase` is asked for only if the file is encrypted.
pub fn load(path: &Path, passphrase: impl FnOnce() -> Result<Passphrase>) -> Result<SignerKey> {
    let mut once = Some(passphrase);
    load_retrying(path, 1, |_| match once.take() {
        Some(ask) => ask(),
        None => Err(Error::WrongPassphrase {
            path: path.to_path_buf(),
        }),
    })
}

/// Loads a signing key, asking `passphrase(attempt)` (attempt 0, 1, …) again after a wrong
/// passphrase, up to `tries` times in all.
pub fn load_retrying(
    path: &Path,
    tries: u32,
    mut passphrase: impl FnMut(u32) -> Result<Passphrase>,
) -> Result<SignerKey> {
    let bytes = Zeroizing::new(fsutil::read_limited(path, 64 * 1024).map_err(|e| match e {
        Error::Corrupt { why, .. } | Error::BadInput { why, .. } => Error::KeyFile {
            path: path.to_path_buf(),
            why,
        },
        other => other,
    })?);
    let text = std::str::from_utf8(&bytes).map_err(|_| Error::KeyFile {
        path: path.to_path_buf(),
        why: "not UTF-8 text; is this a key file?".into(),
    })?;
    let plain = if text.starts_with(HEADER) {
        let mut attempt = 0;
        loop {
            let given = passphrase(attempt)?;
            match decrypt(path, text, &given) {
                Err(Error::WrongPassphrase { .. }) if attempt + 1 < tries => attempt += 1,
                result => break result?,
            }
        }
    } else {
        if holds_public_key(text) {
            return Err(Error::PublicKeyGiven {
                path: path.to_path_buf(),
            });
        }
        Zeroizing::new(text.trim_end().to_string())
    };
    SignerKey::parse(&plain).map_err(|source| Error::Key {
        what: format!("key file {}", path.display()),
        source,
    })
}

/// True for a line of a secret key file (encrypted or not): such a line never belongs where
/// public keys are read.
pub fn is_secret_key_line(line: &str) -> bool {
    let line = line.trim();
    line == HEADER || line.starts_with("PRIVATE+KEY+")
}

/// True when some line starts with a public key (a .pub or trust file).
fn holds_public_key(text: &str) -> bool {
    text.lines().any(|line| {
        let first = line.split_whitespace().next().unwrap_or("");
        VerifierKey::parse(first).is_ok()
    })
}

/// Reads a one-line public key file (as `key generate` writes `PREFIX.pub`); a secret key file
/// is refused by name.
pub fn read_public(path: &Path) -> Result<VerifierKey> {
    let bytes = fsutil::read_limited(path, 64 * 1024)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| Error::BadInput {
        path: path.to_path_buf(),
        why: "a public key file must be UTF-8 text (one line, as in a .pub file)".into(),
    })?;
    if text.lines().any(is_secret_key_line) {
        return Err(Error::SecretKeyGiven {
            path: path.to_path_buf(),
            line: None,
            expected: "a public key file (.pub)",
        });
    }
    VerifierKey::parse(text.trim_end()).map_err(|source| Error::Key {
        what: format!("public key file {}", path.display()),
        source,
    })
}

/// Re-encrypts the key file at `path` under `new` (or writes it unencrypted for `None`),
/// replacing it atomically under the same name: the new file is written beside it, checked to
/// decrypt to the same key, and renamed over the old one only if the old file is still the one
/// that was read. At no moment is there a half-written key at `path`.
pub fn change_passphrase(path: &Path, signer: &SignerKey, new: Option<&Passphrase>) -> Result<()> {
    // Renaming over a symbolic link would replace the link and leave the key it points to
    // under its old passphrase.
    let meta = fs::symlink_metadata(path).map_err(Error::io(path))?;
    if !meta.file_type().is_file() {
        return Err(Error::BadInput {
            path: path.to_path_buf(),
            why: "not a regular file (a symbolic link?); give the key file itself".into(),
        });
    }
    let before = Zeroizing::new(fsutil::read_limited(path, 64 * 1024)?);
    let secret = match new {
        Some(p) => encrypt(&signer.to_text(), p, LOG_N)?,
        None => Zeroizing::new(format!("{}\n", signer.to_text().as_str())),
    };
    if let Some(p) = new {
        let check = decrypt(path, &secret, p)?;
        if check.as_str() != signer.to_text().as_str() {
            return Err(Error::KeyFile {
                path: path.to_path_buf(),
                why: "the re-encrypted key did not decrypt to the same key; nothing was changed"
                    .into(),
            });
        }
    }
    let out = NewOutput::create(path, 0o600, Existing::Replace)?;
    let now = Zeroizing::new(fsutil::read_limited(path, 64 * 1024)?);
    if *now != *before {
        return Err(Error::KeyFile {
            path: path.to_path_buf(),
            why: "the file changed while its passphrase was being changed; nothing was written, run the command again".into(),
        });
    }
    out.finish(secret.as_bytes())
}

fn derive(passphrase: &str, salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<Zeroizing<[u8; 32]>> {
    let params = scrypt::Params::new(log_n, r, p, 32).map_err(|e| Error::InvalidOption {
        option: "scrypt parameters",
        value: format!("{log_n} {r} {p}"),
        why: e.to_string(),
    })?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(passphrase.as_bytes(), salt, &params, key.as_mut()).map_err(|e| {
        Error::InvalidOption {
            option: "scrypt output",
            value: String::new(),
            why: e.to_string(),
        }
    })?;
    Ok(key)
}

fn encrypt(plain: &str, passphrase: &str, log_n: u8) -> Result<Zeroizing<String>> {
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    rand_core::OsRng.fill_bytes(&mut salt);
    rand_core::OsRng.fill_bytes(&mut nonce);
    let key = derive(passphrase, &salt, log_n, 8, 1)?;
    let header = format!(
        "{HEADER}\nscrypt {log_n} 8 1 {}\nxchacha20poly1305 {}\n",
        B64.encode(salt),
        B64.encode(nonce)
    );
    let cipher = XChaCha20Poly1305::new((&*key).into());
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain.as_bytes(),
                aad: header.as_bytes(),
            },
        )
        .map_err(|_| Error::InvalidOption {
            option: "encryption",
            value: String::new(),
            why: "AEAD encryption failed".into(),
        })?;
    Ok(Zeroizing::new(format!("{header}{}\n", B64.encode(sealed))))
}

fn decrypt(path: &Path, text: &str, passphrase: &str) -> Result<Zeroizing<String>> {
    let bad = |why: &str| Error::KeyFile {
        path: path.to_path_buf(),
        why: why.to_string(),
    };
    let lines: Vec<&str> = text.split('\n').collect();
    if lines.len() != 5 || !lines[4].is_empty() || lines[0] != HEADER {
        return Err(bad(
            "the encrypted key file is malformed (expected 4 lines)",
        ));
    }
    let kdf: Vec<&str> = lines[1].split(' ').collect();
    let aead: Vec<&str> = lines[2].split(' ').collect();
    let (["scrypt", log_n, r, p, salt], ["xchacha20poly1305", nonce]) =
        (kdf.as_slice(), aead.as_slice())
    else {
        return Err(bad("unknown key derivation or cipher line"));
    };
    let log_n: u8 = log_n.parse().map_err(|_| bad("bad scrypt cost"))?;
    let r: u32 = r.parse().map_err(|_| bad("bad scrypt r"))?;
    let p: u32 = p.parse().map_err(|_| bad("bad scrypt p"))?;
    // scrypt needs 128·r·2^log_n bytes; refuse files that would demand more than 1 GiB.
    let memory = 128u64
        .saturating_mul(u64::from(r))
        .saturating_mul(1u64.checked_shl(u32::from(log_n)).unwrap_or(u64::MAX));
    if log_n > MAX_LOG_N || r == 0 || r > 32 || p == 0 || p > 16 || memory > 1 << 30 {
        return Err(bad("scrypt parameters are too costly to accept"));
    }
    let salt = B64.decode(salt).map_err(|_| bad("bad salt"))?;
    if !(16..=64).contains(&salt.len()) {
        return Err(bad("the salt must be 16 to 64 bytes"));
    }
    let nonce = B64.decode(nonce).map_err(|_| bad("bad nonce"))?;
    if nonce.len() != 24 {
        return Err(bad("the nonce must be 24 bytes"));
    }
    let sealed = B64.decode(lines[3]).map_err(|_| bad("bad ciphertext"))?;
    let key = derive(passphrase, &salt, log_n, r, p)?;
    let header_len = lines[0].len() + lines[1].len() + lines[2].len() + 3;
    let cipher = XChaCha20Poly1305::new((&*key).into());
    let plain = cipher
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &sealed,
                aad: &text.as_bytes()[..header_len],
            },
        )
        .map_err(|_| Error::WrongPassphrase {
            path: path.to_path_buf(),
        })?;
    let plain = Zeroizing::new(plain);
    let text = std::str::from_utf8(&plain).map_err(|_| bad("decrypted key is not text"))?;
    Ok(Zeroizing::new(text.to_string()))
}

/// Reads a passphrase file: its first line, without the newline.
pub fn read_passphrase_file(path: &Path) -> Result<Passphrase> {
    // A pipe is allowed here (`--passphrase-file <(pass show key)`), so the file is not
    // required to be regular; the read is bounded and into a buffer that never reallocates
    // (no stray copies of the secret).
    const MAX_PASSPHRASE_FILE: usize = 64 * 1024;
    let file = fs::File::open(path).map_err(Error::io(path))?;
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_PASSPHRASE_FILE + 1));
    file.take(MAX_PASSPHRASE_FILE as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(Error::io(path))?;
    if bytes.len() > MAX_PASSPHRASE_FILE {
        return Err(Error::BadInput {
            path: path.to_path_buf(),
            why: format!("more than {MAX_PASSPHRASE_FILE} bytes; a passphrase file holds one line"),
        });
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| Error::BadInput {
        path: path.to_path_buf(),
        why: "the passphrase file is not UTF-8 text".into(),
    })?;
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(Error::BadInput {
            path: path.to_path_buf(),
            why: "the passphrase file is empty".into(),
        });
    }
    Ok(Zeroizing::new(line.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_round_trip_and_wrong_passphrase() {
        let signer = SignerKey::from_seed("alice", &[3; 32]).unwrap();
        let sealed = encrypt(&signer.to_text(), "correct horse", 10).unwrap();
        let path = Path::new("test.key");
        let plain = decrypt(path, &sealed, "correct horse").unwrap();
        assert_eq!(plain.as_str(), signer.to_text().as_str());
        assert!(matches!(
            decrypt(path, &sealed, "wrong"),
            Err(Error::WrongPassphrase { .. })
        ));
        let tampered = sealed.replace("scrypt 10 ", "scrypt 11 ");
        assert!(decrypt(path, &tampered, "correct horse").is_err());
    }

    /// A key file in a temporary directory, encrypted under "right" at a low cost.
    fn encrypted_key_file() -> (tempfile::TempDir, PathBuf, SignerKey) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let signer = SignerKey::from_seed("alice", &[4; 32]).unwrap();
        let sealed = encrypt(&signer.to_text(), "right", 10).unwrap();
        fs::write(&path, sealed.as_bytes()).unwrap();
        (dir, path, signer)
    }

    #[test]
    fn retries_a_wrong_passphrase_up_to_the_limit() {
        let (_dir, path, signer) = encrypted_key_file();
        let answers = ["wrong", "also wrong", "right"];
        let mut asked = 0;
        let loaded = load_retrying(&path, 3, |attempt| {
            asked += 1;
            Ok(Zeroizing::new(answers[attempt as usize].to_string()))
        })
        .unwrap();
        assert_eq!(asked, 3);
        assert_eq!(loaded.verifier(), signer.verifier());

        let mut asked = 0;
        let refused = load_retrying(&path, 3, |_| {
            asked += 1;
            Ok(Zeroizing::new("wrong".to_string()))
        });
        assert!(matches!(refused, Err(Error::WrongPassphrase { .. })));
        assert_eq!(asked, 3, "three tries, then the error");

        // One try (a passphrase from a file or the environment): no second question.
        let mut asked = 0;
        let refused = load(&path, || {
            asked += 1;
            Ok(Zeroizing::new("wrong".to_string()))
        });
        assert!(matches!(refused, Err(Error::WrongPassphrase { .. })));
        assert_eq!(asked, 1);
    }

    #[test]
    fn secret_key_lines_are_recognised() {
        let signer = SignerKey::from_seed("alice", &[4; 32]).unwrap();
        assert!(is_secret_key_line(&signer.to_text()));
        assert!(is_secret_key_line(HEADER));
        assert!(!is_secret_key_line(&signer.verifier().to_string()));
        assert!(holds_public_key(&format!(
            "# c\n{} signer=x\n",
            signer.verifier()
        )));
        assert!(!holds_public_key(&signer.to_text()));
    }
}
