//! What a report page may hold. `verify` checks `report.html` and `report/<digits>.html`
//! against this (FORMAT.md §17, check 6a): only the tags and attributes evidentia writes, links
//! only to places in the report, and a style sheet that loads nothing. The pages are the
//! sender's and not evidence, but a recipient opens them in a browser: a forger who adds a
//! script or an external resource must not pass unnoticed. docs/verify-bundle.py applies the
//! same rules.

/// The tags a report page may use.
const TAGS: &[&str] = &[
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "footer",
    "nav",
    "section",
    "div",
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "a",
    "span",
    "strong",
    "code",
    "blockquote",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "br",
];

/// The attributes it may use (on any of those tags).
const ATTRIBUTES: &[&str] = &[
    "lang", "charset", "name", "content", "class", "id", "href", "start",
];

/// Words that would let a style sheet load or run something.
const STYLE_DENIED: &[&str] = &[
    "url(",
    "image",
    "@import",
    "@font-face",
    "\\",
    "expression",
    "binding",
    "behavior",
    "src",
];

/// The largest report page `verify` reads.
pub const MAX_PAGE_LEN: u64 = 512 << 20;

/// Whether a bundle-relative name is a report page: `report.html` or `report/<digits>.html`
/// (at least four ASCII digits).
pub fn is_page(name: &str) -> bool {
    name == "report.html" || name.strip_prefix("report/").is_some_and(is_detail_file)
}

/// `0001.html` and the like.
fn is_detail_file(name: &str) -> bool {
    name.strip_suffix(".html")
        .is_some_and(|n| n.len() >= 4 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `href` points within the report: `#frag`, `report.html`, `../report.html`,
/// `report/0001.html` or `0001.html`, each optionally followed by `#frag`.
fn is_report_link(href: &str) -> bool {
    let (file, fragment) = href.split_once('#').unwrap_or((href, ""));
    let fragment_ok =
        (fragment.bytes()).all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let file_ok = file.is_empty()
        || matches!(file, "report.html" | "../report.html")
        || file.strip_prefix("report/").is_some_and(is_detail_file)
        || is_detail_file(file);
    fragment_ok && file_ok && !href.is_empty()
}

/// Checks one page; the error says what it holds that a report may not.
pub fn check(html: &str) -> Result<(), String> {
    for (n, piece) in html.split('<').enumerate().skip(1) {
        let Some((tag, text)) = piece.split_once('>') else {
            return Err(format!("'<' number {n} does not start a tag"));
        };
        if tag == "!DOCTYPE html" {
            continue;
        }
        let name = check_tag(tag)?;
        if name == "style" {
            let css = text.to_lowercase();
            if let Some(word) = STYLE_DENIED.iter().find(|w| css.contains(*w)) {
                return Err(format!(
                    "its style sheet holds '{word}', which could load or run something"
                ));
            }
        }
    }
    Ok(())
}

/// Checks one tag (what lies between '<' and '>'); returns the name of an opening tag.
fn check_tag(tag: &str) -> Result<&str, String> {
    if let Some(name) = tag.strip_prefix('/') {
        return match TAGS.contains(&name) {
            true => Ok(""),
            false => Err(format!(
                "a tag </{}> that a report does not use",
                shorten(name)
            )),
        };
    }
    let (name, mut rest) = tag.split_once(' ').unwrap_or((tag, ""));
    if !TAGS.contains(&name) {
        return Err(format!(
            "a tag <{}> that a report does not use",
            shorten(name)
        ));
    }
    while !rest.is_empty() {
        let bad = || format!("a malformed attribute in <{name}>: {}", shorten(rest));
        let (attribute, after) = rest.split_once("=\"").ok_or_else(bad)?;
        let (value, after) = after.split_once('"').ok_or_else(bad)?;
        if !ATTRIBUTES.contains(&attribute) {
            return Err(format!(
                "an attribute {} that a report does not use",
                shorten(attribute)
            ));
        }
        if attribute == "href" && !is_report_link(value) {
            return Err(format!("a link to {} outside the report", shorten(value)));
        }
        rest = match after {
            "" => "",
            _ => after.strip_prefix(' ').ok_or_else(bad)?,
        };
    }
    Ok(name)
}

/// At most 60 characters of hostile text for a message (escaped by whoever prints it).
fn shorten(text: &str) -> String {
    text.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_links_within_the_report() {
        assert!(
            is_page("report.html") && is_page("report/0001.html") && is_page("report/12345.html")
        );
        for name in [
            "report/1.html",
            "report/0001.htm",
            "report/../x.html",
            "Report.html",
            "report/a001.html",
        ] {
            assert!(!is_page(name), "{name}");
        }
        for href in [
            "#r1",
            "report/0002.html#r5",
            "0003.html",
            "../report.html",
            "report.html#how-to-verify",
        ] {
            assert!(is_report_link(href), "{href}");
        }
        for href in [
            "",
            "http://x",
            "//x",
            "/etc/passwd",
            "javascript:alert(1)",
            "../../x.html",
            "#a b",
            "0001.html?x",
        ] {
            assert!(!is_report_link(href), "{href}");
        }
    }

    #[test]
    fn scripts_resources_and_foreign_attributes_are_refused() {
        let ok = "<!DOCTYPE html>\n<html lang=\"en\"><style>p { color: var(--ink); }</style><a href=\"#r1\" class=\"x\">a &lt;b&gt;</a></html>";
        assert_eq!(check(ok), Ok(()));
        for bad in [
            "<script>alert(1)</script>",
            "<SCRIPT>",
            "<img src=\"x\">",
            "<p onclick=\"x\">",
            "<p style=\"background:url(http://x)\">",
            "<a href=\"http://evil.example/\">",
            "<a href='#r1'>",
            "<a href=\"#r1\"x=\"\">",
            "<style>@import 'http://x';</style>",
            "<style>p { background: URL(x) }</style>",
            "<style>p { background: image-set('x' 1x) }</style>",
            "<!-- <script> -->",
            "<meta http-equiv=\"refresh\" content=\"0;url=http://x\">",
            "<p",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
