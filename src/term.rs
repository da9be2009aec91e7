//! Escaping for human-readable output. File names, record fields, annotations and error
//! messages come from whoever made the material; printed raw, an escape sequence in one can
//! repaint the terminal (hide a PROBLEM line, fake a VERIFIED) and a bidi control can reorder
//! what is shown. Every human-readable line evidentia prints passes through [`escape`] or
//! [`escape_text`]; JSON output is left to its serializer.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal raw: C0 controls, DEL, C1 controls, and the
/// bidirectional formatting characters (embeddings, overrides, isolates, marks).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}')
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
    }
}
