//! Logical paths: the name a document has inside the archive.
//!
//! A logical path is UTF-8 in Unicode Normalization Form C, relative, `/`-separated, with no
//! empty, `.` or `..` components, no backslashes and no control characters. These rules make a
//! path safe to materialise on any file system when a bundle is exported.

use thiserror::Error;
use unicode_normalization::{is_nfc, UnicodeNormalization};

/// Longest logical path accepted, in bytes.
pub const MAX_PATH_LEN: usize = 4096;
/// Longest single component accepted, in bytes.
pub const MAX_COMPONENT_LEN: usize = 255;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PathError {
    #[error("the path is empty")]
    Empty,
    #[error("the path is absolute; logical paths are relative")]
    Absolute,
    #[error("the path has an empty, '.' or '..' component")]
    BadComponent,
    #[error("the path contains a backslash or a control character")]
    BadCharacter,
    #[error("the path is not in Unicode Normalization Form C")]
    NotNfc,
    #[error("the path or one of its components is too long")]
    TooLong,
}

/// Normalises user input to NFC and checks it. For building records.
pub fn normalize(text: &str) -> Result<String, PathError> {
    let nfc: String = text.nfc().collect();
    check(&nfc)?;
    Ok(nfc)
}

/// Checks a logical path read from a record: it must already be valid and in NFC.
pub fn check(path: &str) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if path.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong);
    }
    if path.starts_with('/') {
        return Err(PathError::Absolute);
    }
    if path.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(PathError::BadCharacter);
    }
    for component in path.split('/') {
        if component.is_empty() || component == "." || component == ".." {
            return Err(PathError::BadComponent);
        }
        if component.len() > MAX_COMPONENT_LEN {
            return Err(PathError::TooLong);
        }
    }
    if !is_nfc(path) {
        return Err(PathError::NotNfc);
    }
    Ok(())
}

/// A file's name on disk made into a logical path (FORMAT.md §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPath {
    /// The logical path: plain components in NFC, the others escaped.
    pub path: String,
    /// The text kept as the record's original-name: the last component as found on disk when
    /// it is plain, its escaped form when it is not.
    pub original_name: String,
    /// The exact bytes of every component joined with `/`, when at least one component had to
    /// be escaped (the record's original-path); `None` when every component is plain.
    pub original_path: Option<Vec<u8>>,
}

/// Builds the logical path of a file from the exact bytes of its name's components. A
/// component is *plain* when it is UTF-8 whose NFC form has no control character, no `\` and
/// no `%` followed by two upper-case hex digits: it is used in NFC, as always. Any other
/// component is *escaped*: every offending byte becomes `%HH`. Plain components never hold
/// `%HH` and escaped ones always do, so no file name can be mistaken for another's escape.
pub fn from_name_bytes(components: &[&[u8]]) -> Result<NamedPath, PathError> {
    let mut parts = Vec::with_capacity(components.len());
    let mut original_name = String::new();
    let mut escaped_any = false;
    for raw in components {
        let (part, as_text) = match plain_component(raw) {
            Some((nfc, text)) => (nfc, text.to_string()),
            None => {
                escaped_any = true;
                let escaped = escape_component(raw);
                (escaped.clone(), escaped)
            }
        };
        parts.push(part);
        original_name = as_text;
    }
    let path = parts.join("/");
    check(&path)?;
    Ok(NamedPath {
        path,
        original_name,
        original_path: escaped_any.then(|| components.join(&b'/')),
    })
}

/// The NFC form and the text of a component that needs no escaping.
fn plain_component(raw: &[u8]) -> Option<(String, &str)> {
    let text = std::str::from_utf8(raw).ok()?;
    let nfc: String = text.nfc().collect();
    let offending = nfc.chars().any(|c| c == '\\' || c.is_control()) || holds_escape(&nfc);
    (!offending).then_some((nfc, text))
}

/// Whether `text` holds `%` followed by two upper-case hex digits: the shape of an escape.
pub fn holds_escape(text: &str) -> bool {
    text.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && is_upper_hex(w[1]) && is_upper_hex(w[2]))
}

fn is_upper_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'A'..=b'F').contains(&b)
}

/// The escaped form of a component: characters kept as they are, except control characters,
/// `\` and `%`, whose bytes are written `%HH`, as is every byte that is not part of a UTF-8
/// character. Should that text not be in NFC (the name was not, or a combining mark follows
/// an escape), every byte outside printable ASCII is escaped instead, which always is.
pub fn escape_component(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len() * 3);
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || c == '\\' || c == '%' {
                push_escaped(&mut out, c.encode_utf8(&mut [0; 4]).as_bytes());
            } else {
                out.push(c);
            }
        }
        push_escaped(&mut out, chunk.invalid());
    }
    if is_nfc(&out) {
        return out;
    }
    out.clear();
    for &b in raw {
        if (0x20..0x7f).contains(&b) && b != b'%' && b != b'\\' {
            out.push(char::from(b));
        } else {
            push_escaped(&mut out, &[b]);
        }
    }
    out
}

fn push_escaped(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push_str(&format!("%{b:02X}"));
    }
}

/// The exact bytes an escaped component stands for: `%HH` is the byte HH, anything else
/// itself. (Applied to a plain component it changes nothing, as plain ones hold no `%HH`.)
pub fn unescape_component(component: &str) -> Vec<u8> {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i..i + 3) {
            Some([b'%', h, l]) if is_upper_hex(*h) && is_upper_hex(*l) => {
                out.push(hex_value(*h) << 4 | hex_value(*l));
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

fn hex_value(b: u8) -> u8 {
    if b.is_ascii_digit() {
        b - b'0'
    } else {
        b - b'A' + 10
    }
}

/// Shows name bytes to a person: UTF-8 as text, each other byte as `\xHH`, and a backslash
/// doubled so that a name holding the text `\xff` reads differently (a lossless, readable
/// form; the caller still escapes it for the terminal).
pub fn display_bytes(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        out.push_str(&chunk.valid().replace('\\', "\\\\"));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        assert_eq!(normalize("case/report.txt").unwrap(), "case/report.txt");
        // "e" + combining acute becomes the precomposed character.
        assert_eq!(normalize("caf\u{65}\u{301}.txt").unwrap(), "caf\u{e9}.txt");
    }

    #[test]
    fn rejects_hostile_paths() {
        assert_eq!(check(""), Err(PathError::Empty));
        assert_eq!(check("/etc/passwd"), Err(PathError::Absolute));
        assert_eq!(check("a/../b"), Err(PathError::BadComponent));
        assert_eq!(check(".."), Err(PathError::BadComponent));
        assert_eq!(check("a//b"), Err(PathError::BadComponent));
        assert_eq!(check("a/./b"), Err(PathError::BadComponent));
        assert_eq!(check("a\\b"), Err(PathError::BadCharacter));
        assert_eq!(check("a\nb"), Err(PathError::BadCharacter));
        assert_eq!(check("caf\u{65}\u{301}"), Err(PathError::NotNfc));
        assert_eq!(check(&"a".repeat(300)), Err(PathError::TooLong));
    }

    fn named(components: &[&[u8]]) -> NamedPath {
        from_name_bytes(components).unwrap()
    }

    #[test]
    fn plain_names_keep_their_path() {
        let n = named(&[b"case", "caf\u{65}\u{301}.txt".as_bytes()]);
        assert_eq!(n.path, "case/caf\u{e9}.txt");
        assert_eq!(n.original_name, "caf\u{65}\u{301}.txt");
        assert_eq!(n.original_path, None);
        // A `%` that does not look like an escape stays as it is.
        assert_eq!(
            named(&[b"100% %zz %4g %ab.txt"]).path,
            "100% %zz %4g %ab.txt"
        );
    }

    #[test]
    fn offending_bytes_are_escaped_reversibly() {
        for (raw, escaped) in [
            (&b"a\xffb"[..], "a%FFb"),
            (b"line\nbreak", "line%0Abreak"),
            (b"tab\there", "tab%09here"),
            (b"back\\slash", "back%5Cslash"),
            (b"report%20final.pdf", "report%2520final.pdf"),
            ("\u{416}\x01.txt".as_bytes(), "\u{416}%01.txt"),
            // A combining mark after an escape would compose with the hex digit: all escaped.
            (b"\xfe\xcc\x81", "%FE%CC%81"),
            (b"\xfeE\xcc\x81", "%FEE%CC%81"),
        ] {
            let n = named(&[b"dir", raw]);
            assert_eq!(n.path, format!("dir/{escaped}"));
            assert_eq!(n.original_name, escaped);
            assert_eq!(
                n.original_path.as_deref(),
                Some([b"dir/", raw].concat().as_slice())
            );
            assert_eq!(unescape_component(escaped), raw);
            assert!(holds_escape(escaped));
        }
        // An escaped directory, a plain file below it.
        let n = named(&[b"d\xe9j\xe0", b"x.txt"]);
        assert_eq!(
            (n.path.as_str(), n.original_name.as_str()),
            ("d%E9j%E0/x.txt", "x.txt")
        );
    }

    #[test]
    fn an_escape_never_equals_a_plain_name() {
        // The literal name `a%FF` is escaped itself, so it cannot meet the escape of `a\xff`.
        assert_eq!(named(&[b"a%FF"]).path, "a%25FF");
        assert_eq!(named(&[b"a\xff"]).path, "a%FF");
        assert_eq!(unescape_component("a%25FF"), b"a%FF");
    }

    #[test]
    fn escaped_names_still_obey_the_path_rules() {
        assert_eq!(from_name_bytes(&[b".."]), Err(PathError::BadComponent));
        assert_eq!(from_name_bytes(&[&[0xff; 100]]), Err(PathError::TooLong));
        assert_eq!(display_bytes(b"a\xff\nb"), "a\\xff\nb");
        assert_eq!(display_bytes(b"a\\xff"), "a\\\\xff");
    }
}
