//! Trust files: the public keys a verifier accepts, one per line exactly as a `.pub` file holds
//! it; blank lines and lines starting with `#` are ignored.

use std::path::Path;

use crate::archive::fsutil;
use crate::core::key::VerifierKey;
use crate::error::{Error, Result};

pub fn parse(path: &Path, text: &str) -> Result<Vec<VerifierKey>> {
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = VerifierKey::parse(line).map_err(|source| Error::TrustFile {
            path: path.to_path_buf(),
            line: i + 1,
            source,
        })?;
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(Error::EmptyTrustFile {
            path: path.to_path_buf(),
        });
    }
    Ok(keys)
}

pub fn load(path: &Path) -> Result<Vec<VerifierKey>> {
    let bytes = fsutil::read_limited(path, 1 << 20)?;
    let text = String::from_utf8(bytes).map_err(|_| Error::BadInput {
        path: path.to_path_buf(),
        why: "a trust file must be UTF-8 text".into(),
    })?;
    parse(path, &text)
}
