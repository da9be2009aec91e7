//! Checkpoint text (C2SP tlog-checkpoint with evidentia's extension lines):
//!
//! ```text
//! <origin>
//! <tree size, decimal>
//! <root hash, base64>
//! number <checkpoint number, decimal, from 1>
//! previous <hex SHA-256 of the previous checkpoint's text>   (absent in checkpoint 1)
//! time <canonical RFC 3339 UTC>
//! refs <reference-map root, base64>                          (format 2 only)
//! message <one line of text>                                 (optional)
//! ```
//!
//! The text is the signed part of a signed note. Parsing is strict: re-rendering a parsed
//! checkpoint must give back the same bytes.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use thiserror::Error;

use super::digest::Digest;
use super::timestamp::Timestamp;

pub const MAX_MESSAGE_LEN: usize = 1000;
pub const MAX_ORIGIN_LEN: usize = 256;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("checkpoint line {line} ({what}) is missing or malformed")]
    BadLine { line: usize, what: &'static str },
    #[error("the checkpoint text is not in canonical form")]
    NotCanonical,
    #[error(
        "origin '{origin}' is not allowed: 1-{MAX_ORIGIN_LEN} printable characters, no spaces"
    )]
    BadOrigin { origin: String },
    #[error("message is not allowed: one line of at most {MAX_MESSAGE_LEN} bytes, no control characters")]
    BadMessage,
}

/// A checkpoint: the signed statement of one archive version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Digest,
    pub number: u64,
    /// SHA-256 of the previous checkpoint's text; `None` only for checkpoint 1.
    pub previous: Option<Digest>,
    pub time: Timestamp,
    /// Root of the reference map (format 2, `core::refmap`): which records are about each
    /// subject, and the whole key state. `None` in format-1 checkpoints.
    pub refs: Option<Digest>,
    pub message: Option<String>,
}

pub fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    let ok = !origin.is_empty()
        && origin.len() <= MAX_ORIGIN_LEN
        && !origin.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(CheckpointError::BadOrigin {
            origin: origin.to_string(),
        })
    }
}

pub fn check_message(message: &str) -> Result<(), CheckpointError> {
    if message.is_empty()
        || message.len() > MAX_MESSAGE_LEN
        || message.chars().any(char::is_control)
        || message.trim() != message
    {
        return Err(CheckpointError::BadMessage);
    }
    Ok(())
}

impl Checkpoint {
    /// The text that is signed.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\nnumber {}\n",
            self.origin,
            self.size,
            B64.encode(self.root.0),
            self.number
        );
        if let Some(previous) = &self.previous {
            out.push_str(&format!("previous {previous}\n"));
        }
        out.push_str(&format!("time {}\n", self.time));
        if let Some(refs) = &self.refs {
            out.push_str(&format!("refs {}\n", B64.encode(refs.0)));
        }
        if let Some(message) = &self.message {
            out.push_str(&format!("message {message}\n"));
        }
        out
    }

    /// SHA-256 of the checkpoint text: what the next checkpoint's `previous` line holds.
    pub fn text_hash(&self) -> Digest {
        Digest::of(self.to_text().as_bytes())
    }

    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::BadLine {
            line: text.split('\n').count(),
            what: "final newline",
        })?;
        let lines: Vec<&str> = body.split('\n').collect();
        // Line numbers in errors are 1-based; a missing line is reported where it was expected.
        let mut at = 0usize;
        let mut next = |what: &'static str| match lines.get(at) {
            Some(line) => {
                at += 1;
                Ok((at, *line))
            }
            None => Err(CheckpointError::BadLine { line: at + 1, what }),
        };
        let (_, origin) = next("origin")?;
        let origin = origin.to_string();
        check_origin(&origin)?;
        let (n, line) = next("size")?;
        let size = parse_decimal(line).ok_or(CheckpointError::BadLine {
            line: n,
            what: "size",
        })?;
        let (n, line) = next("root hash")?;
        let root = B64
            .decode(line)
            .ok()
            .and_then(|raw| Digest::from_slice(&raw))
            .ok_or(CheckpointError::BadLine {
                line: n,
                what: "root hash",
            })?;
        let (n, line) = next("number")?;
        let number = line
            .strip_prefix("number ")
            .and_then(parse_decimal)
            .filter(|n| *n >= 1)
            .ok_or(CheckpointError::BadLine {
                line: n,
                what: "number",
            })?;
        let (mut n, mut line) = next("time")?;
        let previous = match line.strip_prefix("previous ") {
            Some(hex) => {
                let digest = Digest::from_hex(hex).ok_or(CheckpointError::BadLine {
                    line: n,
                    what: "previous",
                })?;
                (n, line) = next("time")?;
                Some(digest)
            }
            None => None,
        };
        let time = line
            .strip_prefix("time ")
            .and_then(|t| Timestamp::parse_canonical(t).ok())
            .ok_or(CheckpointError::BadLine {
                line: n,
                what: "time",
            })?;
        let extra = |line: usize| CheckpointError::BadLine {
            line,
            what: "end of checkpoint (extra lines follow)",
        };
        let mut following = next("message").ok();
        let refs = match following {
            Some((n, line)) if line.starts_with("refs ") => {
                following = next("message").ok();
                Some(
                    line.strip_prefix("refs ")
                        .and_then(|b| B64.decode(b).ok())
                        .and_then(|raw| Digest::from_slice(&raw))
                        .ok_or(CheckpointError::BadLine {
                            line: n,
                            what: "refs (reference-map root)",
                        })?,
                )
            }
            _ => None,
        };
        let message = match following {
            Some((n, line)) => {
                let message = line.strip_prefix("message ").ok_or(extra(n))?;
                check_message(message)?;
                Some(message.to_string())
            }
            None => None,
        };
        if let Ok((n, _)) = next("end") {
            return Err(extra(n));
        }
        let checkpoint = Checkpoint {
            origin,
            size,
            root,
            number,
            previous,
            time,
            refs,
            message,
        };
        if (checkpoint.number == 1) != checkpoint.previous.is_none() {
            return Err(CheckpointError::BadLine {
                line: 5,
                what: "previous (required after checkpoint 1, absent in checkpoint 1)",
            });
        }
        if checkpoint.to_text() != text {
            return Err(CheckpointError::NotCanonical);
        }
        Ok(checkpoint)
    }
}

/// Decimal without sign or leading zeros.
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint {
            origin: "evidentia/sample/0011".into(),
            size: 5,
            root: Digest::of(b"root"),
            number: 2,
            previous: Some(Digest::of(b"prev")),
            time: Timestamp::parse_canonical("2026-11-22T10:00:00Z").unwrap(),
            refs: None,
            message: Some("second seal".into()),
        }
    }

    #[test]
    fn round_trips() {
        let cp = sample();
        assert_eq!(Checkpoint::parse(&cp.to_text()).unwrap(), cp);
        let mut first = sample();
        first.number = 1;
        first.previous = None;
        first.message = None;
        assert_eq!(Checkpoint::parse(&first.to_text()).unwrap(), first);
        let mut v2 = sample();
        v2.refs = Some(Digest::of(b"refs"));
        assert_eq!(Checkpoint::parse(&v2.to_text()).unwrap(), v2);
        assert!(v2.to_text().contains("\nrefs "));
    }

    #[test]
    fn strict_parsing() {
        let text = sample().to_text();
        assert!(Checkpoint::parse(&text.replace("\n5\n", "\n05\n")).is_err());
        assert!(Checkpoint::parse(&text.replace("number 2", "number 1")).is_err());
        assert!(Checkpoint::parse(&format!("{text}extra\n")).is_err());
        assert!(Checkpoint::parse(&text[..text.len() - 1]).is_err());
        assert!(Checkpoint::parse(&text.replace("time ", "time  ")).is_err());
        assert!(Checkpoint::parse("").is_err());
    }
}
