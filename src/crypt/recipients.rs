//! Age recipients: `age1…` X25519 public keys, one by one or from a recipients file as `age -R`
//! takes it (one key a line; `#` comments and blank lines ignored).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::{CryptError, Result, MAX_RECIPIENTS};

/// Largest recipients file read: far beyond [`MAX_RECIPIENTS`] keys with comments.
const MAX_RECIPIENTS_FILE: u64 = 1 << 20;

/// One age X25519 recipient. Its canonical text is the lowercase Bech32 `age1…` form that
/// `age-keygen` prints; records store and compare that text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Recipient {
    key: age::x25519::Recipient,
    canonical: String,
}

impl Recipient {
    /// Parses one `age1…` key; `what` names where it came from for the error message.
    pub fn parse(text: &str, what: &str) -> Result<Recipient> {
        let text = text.trim();
        if let Some(kind) = unsupported_kind(text) {
            return Err(CryptError::UnsupportedRecipient {
                what: what.to_string(),
                kind,
            });
        }
        let key =
            age::x25519::Recipient::from_str(text).map_err(|why| CryptError::BadRecipient {
                what: what.to_string(),
                given: shorten(text),
                why: why.to_string(),
            })?;
        let canonical = key.to_string();
        Ok(Recipient { key, canonical })
    }

    /// The canonical `age1…` text.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    pub(crate) fn age(&self) -> &age::x25519::Recipient {
        &self.key
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({})", self.canonical)
    }
}

impl PartialOrd for Recipient {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Recipient {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.canonical.cmp(&other.canonical)
    }
}

/// A set of recipients: 1 to [`MAX_RECIPIENTS`] distinct keys, kept sorted by canonical text so
/// that the same set always encodes to the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipients(Vec<Recipient>);

impl Recipients {
    /// The set of `keys`; duplicates (also the same key written in upper case) count once.
    pub fn new(mut keys: Vec<Recipient>, what: &str) -> Result<Recipients> {
        keys.sort();
        keys.dedup();
        if keys.is_empty() {
            return Err(CryptError::NoRecipients {
                what: what.to_string(),
            });
        }
        if keys.len() > MAX_RECIPIENTS {
            return Err(CryptError::TooManyRecipients {
                what: what.to_string(),
                count: keys.len(),
                max: MAX_RECIPIENTS,
            });
        }
        Ok(Recipients(keys))
    }

    /// Parses keys given one by one (`--recipient`).
    pub fn parse_all<S: AsRef<str>>(texts: &[S], what: &str) -> Result<Recipients> {
        let keys = texts
            .iter()
            .map(|t| Recipient::parse(t.as_ref(), what))
            .collect::<Result<Vec<_>>>()?;
        Recipients::new(keys, what)
    }

    /// Parses the text of a recipients file as `age -R` does: one key a line, lines starting
    /// with `#` and blank lines ignored. `name` names the file in errors (with the line).
    pub fn parse_file_text(text: &str, name: &str) -> Result<Vec<Recipient>> {
        text.lines()
            .enumerate()
            .map(|(n, line)| (n, line.trim()))
            .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
            .map(|(n, line)| Recipient::parse(line, &format!("{name}, line {}", n + 1)))
            .collect()
    }

    /// Reads a recipients file (`--recipients-file`) through the one read path for untrusted
    /// files.
    pub fn read_file(path: &Path) -> Result<Vec<Recipient>> {
        let name = format!("recipients file {}", path.display());
        let bytes =
            crate::archive::fsutil::read_limited(path, MAX_RECIPIENTS_FILE).map_err(|source| {
                CryptError::Read {
                    what: name.clone(),
                    source: Box::new(source),
                }
            })?;
        let text = std::str::from_utf8(&bytes).map_err(|_| CryptError::BadRecipient {
            what: name.clone(),
            given: "(file)".into(),
            why: "not UTF-8 text".into(),
        })?;
        Recipients::parse_file_text(text, &name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Recipient> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, recipient: &Recipient) -> bool {
        self.0.binary_search(recipient).is_ok()
    }

    /// The canonical texts, sorted: what a `recipients` record stores.
    pub fn texts(&self) -> Vec<String> {
        self.0.iter().map(|r| r.canonical.clone()).collect()
    }

    /// The keys as the `age` crate takes them.
    pub(crate) fn age_recipients(&self) -> impl Iterator<Item = &dyn age::Recipient> {
        self.0.iter().map(|r| r.age() as &dyn age::Recipient)
    }
}

/// Recognises recipient kinds that age knows but evidentia does not take, to say so plainly
/// instead of "invalid Bech32".
fn unsupported_kind(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("ssh-") || lower.starts_with("ecdsa-") || lower.starts_with("sk-") {
        return Some("ssh".into());
    }
    if lower.starts_with("age-secret-key-") || lower.starts_with("age-plugin-") {
        return Some("secret identity (give the public age1… key, not the identity)".into());
    }
    // Bech32 puts its separator at the last '1' and never uses '1' in the data, so a '1' after
    // `age1` means another human-readable part: age1pq1…, age1tag1…, plugins like age1yubikey1…
    // (which need an external program evidentia does not run).
    let rest = lower.strip_prefix("age1")?;
    let at = rest.rfind('1')?;
    Some(format!("age1{}", &rest[..at]))
}

/// At most 80 characters of untrusted text for an error message.
fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(80).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Public key of fixtures/vectors/encryption/identity.txt.
    const KEY: &str = "age18ta5d3g6rp6qef4wcddv6kzx3jlr34najk6rjkw7crv4empcrpgqn4e3j3";

    #[test]
    fn parses_canonical_and_upper_case_alike() {
        let a = Recipient::parse(KEY, "test").unwrap();
        let b = Recipient::parse(&KEY.to_ascii_uppercase(), "test").unwrap();
        assert_eq!(a, b);
        assert_eq!(b.as_str(), KEY);
        let set = Recipients::new(vec![a, b], "test").unwrap();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn recipients_file_as_age_takes_it() {
        let text = format!("# the court\n\n  {KEY}  \n# end\n");
        let keys = Recipients::parse_file_text(&text, "f").unwrap();
        assert_eq!(keys.len(), 1);
        let bad = format!("{KEY}\nnot-a-key\n");
        let err = Recipients::parse_file_text(&bad, "f").unwrap_err();
        assert!(err.to_string().contains("f, line 2"), "{err}");
    }

    #[test]
    fn refuses_other_kinds_clearly() {
        for (text, kind) in [
            ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsK user@host", "ssh"),
            ("age1yubikey1qwerty", "age1yubikey"),
            ("AGE-SECRET-KEY-1QQQ", "secret identity"),
        ] {
            let err = Recipient::parse(text, "--recipient").unwrap_err();
            assert!(
                matches!(&err, CryptError::UnsupportedRecipient { kind: k, .. } if k.contains(kind)),
                "{text}: {err}"
            );
        }
        let err = Recipient::parse("age1qqqq", "--recipient").unwrap_err();
        assert!(matches!(err, CryptError::BadRecipient { .. }), "{err}");
        assert!(matches!(
            Recipients::new(Vec::new(), "x"),
            Err(CryptError::NoRecipients { .. })
        ));
    }
}
