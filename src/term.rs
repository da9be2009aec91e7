//! Escaping for human-readable output. File names, record fields, annotations and error
//! messages come from whoever made the material; printed raw, an escape sequence in one can
//! repaint the terminal (hide a PROBLEM line, fake a VERIFIED) and a bidi control can reorder
//! what is shown. Every human-readable line evidentia prints passes through [`escape`] or
//! [`escape_text`]; JSON printed for people and programs goes through [`json`], which writes the
//! same characters as `\uXXXX` escapes (the decoded value is unchanged).

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal raw: C0 controls, DEL, C1 controls, the
/// bidirectional formatting characters (embeddings, overrides, isolates, marks), and the
/// invisible format characters (zero-width space and joiners, word joiner, byte-order mark,
/// soft hyphen), with which two different names would look the same.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}')
        || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}')
        || matches!(
            c,
            '\u{206a}'..='\u{206f}' | '\u{feff}' | '\u{00ad}' | '\u{180e}'
        )
}

/// One field (a name, a path, a note): every unsafe character, newlines and tabs included,
/// is written as `\u{1b}` so the field stays on its line and shows what is really there.
pub fn escape(field: &str) -> Cow<'_, str> {
    escape_except(field, &[])
}

/// A whole message or report composed by evidentia: as [`escape`], except that line breaks
/// and tabs, which evidentia's own layout uses, are kept.
pub fn escape_text(text: &str) -> Cow<'_, str> {
    escape_except(text, &['\n', '\t'])
}

fn escape_except<'a>(text: &'a str, keep: &[char]) -> Cow<'a, str> {
    let unsafe_char = |c: char| is_unsafe(c) && !keep.contains(&c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Pretty JSON with every unsafe character escaped. serde_json escapes only C0 controls; DEL,
/// C1 controls and bidi formatting characters would reach a terminal (or `jq`'s output) raw.
/// Outside strings JSON is ASCII, so escaping them anywhere keeps the document's value.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let text = serde_json::to_string_pretty(value)?;
    // serde_json escapes C0 controls inside strings, so a raw newline is the layout's own.
    let is_unsafe = |c: char| c != '\n' && is_unsafe(c);
    if !text.chars().any(is_unsafe) {
        return Ok(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            // Every unsafe character is in the Basic Multilingual Plane: one \u escape each.
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi_and_keeps_the_rest() {
        assert_eq!(escape("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(
            escape("x\ny\tz\u{7f}\u{9b}"),
            "x\\u{a}y\\u{9}z\\u{7f}\\u{9b}"
        );
        assert_eq!(
            escape("abc\u{202e}txt.exe\u{2066}"),
            "abc\\u{202e}txt.exe\\u{2066}"
        );
        assert_eq!(
            escape_text("line\n\u{1b}]0;x\u{7}\n"),
            "line\n\\u{1b}]0;x\\u{7}\n"
        );
        assert!(matches!(escape("déjà vu ✓ 証拠"), Cow::Borrowed(_)));
        // Invisible, so "a\u{200b}.txt" would pass for "a.txt".
        assert_eq!(
            escape("a\u{200b}b\u{feff}c\u{ad}d"),
            "a\\u{200b}b\\u{feff}c\\u{ad}d"
        );
    }

    #[test]
    fn json_escapes_del_c1_and_bidi_and_keeps_the_value() {
        let value = serde_json::json!({ "path": "a\u{7f}b\u{9b}c\u{202e}d\u{1b}é" });
        let text = json(&value).unwrap();
        assert!(!text.chars().any(|c| c != '\n' && is_unsafe(c)), "{text:?}");
        assert!(text.contains("\\u007f") && text.contains("\\u009b") && text.contains("\\u202e"));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
