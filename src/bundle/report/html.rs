//! Small HTML builders shared by the report pages. Every piece of text from the bundle goes through
//! [`html_escape`]: a report must never run or load anything it quotes.

use crate::core::timestamp::Timestamp;

pub(super) fn kv_table(out: &mut String, rows: &[(&str, String)]) {
    out.push_str("<table class=\"kv\"><tbody>\n");
    for (label, value) in rows {
        put!(out, "<tr><th>{}</th><td>{value}</td></tr>\n", esc(label));
    }
    out.push_str("</tbody></table>\n");
}

/// One table row of cells that are already HTML.
pub(super) fn tr(out: &mut String, cells: &[String]) {
    put!(out, "<tr><td>{}</td></tr>\n", cells.join("</td><td>"));
}

/// Opens a table with a header row; the caller closes it with `</tbody></table>`.
pub(super) fn table_head(out: &mut String, class: &str, columns: &[&str]) {
    put!(out, "<table class=\"{class}\"><thead><tr>");
    for c in columns {
        put!(out, "<th>{}</th>", esc(c));
    }
    out.push_str("</tr></thead><tbody>\n");
}

pub(super) fn bullet_list(out: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    put!(out, "<h4>{}</h4>\n<ul>\n", esc(title));
    for item in items {
        put!(out, "<li>{}</li>\n", esc(item));
    }
    out.push_str("</ul>\n");
}

pub(super) fn esc(text: &str) -> String {
    html_escape(text)
}

pub(super) fn mono(text: &str) -> String {
    format!("<span class=\"mono\">{}</span>", esc(text))
}

pub(super) fn muted(text: &str) -> String {
    format!("<span class=\"muted\">{}</span>", esc(text))
}

pub(super) fn prose(text: &str) -> String {
    format!("<span class=\"prose\">{}</span>", esc(text))
}

pub(super) fn none() -> String {
    muted("—")
}

pub(super) fn opt(text: Option<&str>) -> String {
    text.map_or_else(none, esc)
}

pub(super) fn ts(t: Timestamp) -> String {
    esc(&t.to_string())
}

pub(super) fn tags(tags: &[String]) -> String {
    if tags.is_empty() {
        none()
    } else {
        esc(&tags.join(", "))
    }
}

/// A size for people: bytes, KiB, MiB or GiB.
pub(super) fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{n} bytes"),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}

/// Escapes text for HTML element content and attribute values. Control and bidi characters
/// are shown as `\u{202e}` (line breaks and tabs kept): raw, an override would reorder what
/// the reader sees, as in a terminal.
pub fn html_escape(text: &str) -> String {
    let text = crate::term::escape_text(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
