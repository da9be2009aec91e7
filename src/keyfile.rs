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
use crate::core::key::SignerKey;
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
pub fn generate(
    prefix: &Path,
    name: &str,
    passphrase: Option<&Passphrase>,
) -> Result<GeneratedKey> {
    let signer = SignerKey::generate(name).map_err(|source| Error::Key {
        what: "signer name".into(),
        source,
    })?;
    let secret_path = with_suffix(prefix, "key");
    let public_path = with_suffix(prefix, "pub");
    // Both names are checked before either is written (a key is never replaced: no --force).
    let secret_out = NewOutput::create(&secret_path, 0o600, Existing::Never)?;
    let public_out = NewOutput::create(&public_path, output::SHARED, Existing::Never)?;
    let secret = match passphrase {
        Some(p) => encrypt(&signer.to_text(), p, LOG_N)?,
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
        let passphrase = passphrase()?;
        decrypt(path, text, &passphrase)?
    } else {
        Zeroizing::new(text.trim_end().to_string())
    };
    SignerKey::parse(&plain).map_err(|source| Error::Key {
        what: format!("key file {}", path.display()),
        source,
    })
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
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
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
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
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
}
