//! Trust files: the public keys a verifier accepts.
//!
//! One key per line, exactly as a `.pub` file holds it, optionally followed by attributes:
//!
//! ```text
//! # Open Records Watch, sealing officer
//! officer.example.org+1a2b3c4d+AXm1… signer="M. Duval" valid-after=2024-01-01T00:00:00Z roles=sealing-officer
//! analyst.example.org+5e6f7a8b+AT0… valid-before=2026-01-01T00:00:00Z roles=analyst,collector
//! ```
//!
//! Attributes are `name=value`; a value with spaces is written in double quotes. `valid-after`
//! and `valid-before` bound the checkpoint times a key may sign; `signer` is the person or office
//! behind the key; `roles` is a comma-separated list. Blank lines and `#` comments are ignored.

use std::path::Path;

use crate::archive::fsutil;
use crate::core::key::{KeyError, VerifierKey};
use crate::core::timestamp::Timestamp;
use crate::error::{Error, Result};

/// A key the verifier accepts, with what the trust file says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    pub key: VerifierKey,
    pub signer: Option<String>,
    pub valid_after: Option<Timestamp>,
    pub valid_before: Option<Timestamp>,
    pub roles: Vec<String>,
}

impl TrustedKey {
    pub fn new(key: VerifierKey) -> TrustedKey {
        TrustedKey {
            key,
            signer: None,
            valid_after: None,
            valid_before: None,
            roles: Vec::new(),
        }
    }

    /// Whether a signature dated `time` falls inside the key's validity window.
    pub fn valid_at(&self, time: Timestamp) -> bool {
        self.valid_after.is_none_or(|after| time >= after)
            && self.valid_before.is_none_or(|before| time < before)
    }
}

pub fn parse(path: &Path, text: &str) -> Result<Vec<TrustedKey>> {
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: String| Error::TrustFile {
            path: path.to_path_buf(),
            line: i + 1,
            source: KeyError::BadVerifierKey { why },
        };
        if crate::keyfile::is_secret_key_line(line) {
            return Err(Error::SecretKeyGiven {
                path: path.to_path_buf(),
                line: Some(i + 1),
                expected: "a trust file (public keys, one per line)",
            });
        }
        let (key_text, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let key = VerifierKey::parse(key_text).map_err(|source| Error::TrustFile {
            path: path.to_path_buf(),
            line: i + 1,
            source,
        })?;
        let mut trusted = TrustedKey::new(key);
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in split_attributes(rest).map_err(&bad)? {
            if seen.contains(&name) {
                return Err(bad(format!("attribute {name} is given twice")));
            }
            if value.chars().any(char::is_control) {
                return Err(bad(format!(
                    "attribute {name} contains a control character"
                )));
            }
            seen.push(name.clone());
            let time = |v: &str| {
                Timestamp::parse_lenient(v).map_err(|e| bad(format!("attribute {name}: {e}")))
            };
            match name.as_str() {
                "signer" => trusted.signer = Some(value),
                "valid-after" => trusted.valid_after = Some(time(&value)?),
                "valid-before" => trusted.valid_before = Some(time(&value)?),
                "roles" => {
                    trusted.roles = value
                        .split(',')
                        .filter(|r| !r.is_empty())
                        .map(str::to_string)
                        .collect()
                }
                other => {
                    return Err(bad(format!(
                    "unknown attribute '{other}' (known: signer, valid-after, valid-before, roles)"
                )))
                }
            }
        }
        keys.push(trusted);
    }
    if keys.is_empty() {
        return Err(Error::EmptyTrustFile {
            path: path.to_path_buf(),
        });
    }
    Ok(keys)
}

/// Splits `a=b c="d e"` into pairs.
fn split_attributes(text: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| format!("expected name=value, found '{rest}'"))?;
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!("bad attribute name '{name}'"));
        }
        let (value, remainder) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| format!("unterminated quote in attribute {name}"))?;
            let after_quote = &quoted[end + 1..];
            if !after_quote.is_empty() && !after_quote.starts_with(char::is_whitespace) {
                return Err(format!("attribute {name}: text follows the closing quote"));
            }
            (&quoted[..end], after_quote)
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if value.is_empty() {
            return Err(format!("attribute {name} has an empty value"));
        }
        out.push((name.to_string(), value.to_string()));
        rest = remainder.trim_start();
    }
    Ok(out)
}

pub fn load(path: &Path) -> Result<Vec<TrustedKey>> {
    let bytes = fsutil::read_limited(path, 1 << 20)?;
    let text = String::from_utf8(bytes).map_err(|_| Error::BadInput {
        path: path.to_path_buf(),
        why: "a trust file must be UTF-8 text".into(),
    })?;
    parse(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::key::SignerKey;

    #[test]
    fn parses_attributes() {
        let key = SignerKey::from_seed("officer", &[5; 32])
            .unwrap()
            .verifier();
        let text = format!(
            "# comment\n\n{key} signer=\"M. Duval\" valid-after=2024-01-01T00:00:00Z roles=a,b\n"
        );
        let keys = parse(Path::new("t"), &text).unwrap();
        assert_eq!(keys[0].signer.as_deref(), Some("M. Duval"));
        assert_eq!(keys[0].roles, vec!["a", "b"]);
        let before = Timestamp::parse_canonical("2023-12-31T23:59:59Z").unwrap();
        let after = Timestamp::parse_canonical("2024-01-01T00:00:00Z").unwrap();
        assert!(!keys[0].valid_at(before));
        assert!(keys[0].valid_at(after));
        assert!(parse(Path::new("t"), &format!("{key} colour=red")).is_err());
        assert!(parse(Path::new("t"), &format!("{key} signer=\"open")).is_err());
        assert!(parse(Path::new("t"), "# nothing\n").is_err());
    }
}
