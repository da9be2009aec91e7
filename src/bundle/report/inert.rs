//! What a report page may hold. `verify` checks `report.html` and `report/<digits>.html`
//! against this (FORMAT.md §17, check 6a): only the tags and attributes evidentia writes, links
//! only to places in the report, pictures only of the bundle's own verified raster images (a
//! thumbnail, with an inline SVG of boxes over it), and a style sheet that loads nothing. The pages are the
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
    // A thumbnail and the boxes drawn over it.
    "img",
    "svg",
    "rect",
    "text",
];

/// The attributes it may use (on any of those tags; `src` only on `<img>`).
const ATTRIBUTES: &[&str] = &[
    "lang", "charset", "name", "content", "class", "id", "href", "start", "src", "alt", "x", "y",
    "width", "height",
];

// A report of 20,000 documents has about a million tags: looked up by hash, not by a linear
// scan of the lists (which was a tenth of export's self-check).
static TAG_SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
    std::sync::OnceLock::new();
static ATTRIBUTE_SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
    std::sync::OnceLock::new();

fn allowed(
    set: &std::sync::OnceLock<std::collections::HashSet<&'static str>>,
    list: &[&'static str],
    name: &str,
) -> bool {
    set.get_or_init(|| list.iter().copied().collect())
        .contains(name)
}

/// Attributes whose value is a number or a percentage, nothing else.
const NUMERIC: &[&str] = &["x", "y", "width", "height"];

/// The media types a report shows as a thumbnail: raster formats, which an `<img>` only
/// draws. Never SVG, which is a document that may hold scripts and links of its own.
pub const RASTER_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// The pictures one report page may show: the `src` values of `<img>`.
pub struct Images<'a> {
    /// [`image_src`] of the bundle's disclosed documents of a [`RASTER_TYPES`] media type
    /// whose bytes verified.
    pub files: &'a std::collections::HashSet<String>,
    /// Whether the page is a detail page in `report/`, whose links start with `../`.
    pub detail_page: bool,
}

impl Images<'_> {
    fn allows(&self, src: &str) -> bool {
        let file = match self.detail_page {
            true => src.strip_prefix("../"),
            false => Some(src),
        };
        file.is_some_and(|f| f.starts_with("data/") && self.files.contains(f))
    }
}

/// A bundle file's name as an `<img src>` relative to the bundle's root: every byte but ASCII
/// letters, digits and `-._~/` percent-encoded (upper-case hex), so that no `?`, `#`, `:` or
/// quote reaches the URL. docs/verify-bundle.py encodes the same way.
pub fn image_src(file: &str) -> String {
    let mut out = String::with_capacity(file.len());
    for b in file.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

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

/// Checks one page that shows no pictures; the error says what it holds that a report may not.
pub fn check(html: &str) -> Result<(), String> {
    let none = std::collections::HashSet::new();
    let images = Images {
        files: &none,
        detail_page: false,
    };
    check_page(html, &images)
}

/// Checks one page that may show `images`.
pub fn check_page(html: &str, images: &Images) -> Result<(), String> {
    let mut in_style = false;
    for (n, piece) in html.split('<').enumerate().skip(1) {
        let Some((tag, text)) = piece.split_once('>') else {
            return Err(format!("'<' number {n} does not start a tag"));
        };
        // A browser reads all from <style> to </style> as CSS, tags included: the CSS checked
        // below must be all of it.
        if std::mem::take(&mut in_style) && tag != "/style" {
            return Err("a tag inside its style sheet".into());
        }
        if tag == "!DOCTYPE html" {
            continue;
        }
        let name = check_tag(tag, images)?;
        if name == "style" {
            in_style = true;
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
fn check_tag<'t>(tag: &'t str, images: &Images) -> Result<&'t str, String> {
    if let Some(name) = tag.strip_prefix('/') {
        return match allowed(&TAG_SET, TAGS, name) {
            true => Ok(""),
            false => Err(format!(
                "a tag </{}> that a report does not use",
                shorten(name)
            )),
        };
    }
    let (name, mut rest) = tag.split_once(' ').unwrap_or((tag, ""));
    if !allowed(&TAG_SET, TAGS, name) {
        return Err(format!(
            "a tag <{}> that a report does not use",
            shorten(name)
        ));
    }
    while !rest.is_empty() {
        let bad = || format!("a malformed attribute in <{name}>: {}", shorten(rest));
        let (attribute, after) = rest.split_once("=\"").ok_or_else(bad)?;
        let (value, after) = after.split_once('"').ok_or_else(bad)?;
        if !allowed(&ATTRIBUTE_SET, ATTRIBUTES, attribute) {
            return Err(format!(
                "an attribute {} that a report does not use",
                shorten(attribute)
            ));
        }
        if attribute == "href" && !is_report_link(value) {
            return Err(format!("a link to {} outside the report", shorten(value)));
        }
        if attribute == "src" && (name != "img" || !images.allows(value)) {
            return Err(format!(
                "a picture from {} that is not a verified image document of this bundle",
                shorten(value)
            ));
        }
        let number = |v: &str| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_digit() || b == b'.' || b == b'%')
        };
        // The page is checked as UTF-8; another encoding would show the browser other text.
        if attribute == "charset" && !value.eq_ignore_ascii_case("utf-8") {
            return Err(format!("a charset {} other than utf-8", shorten(value)));
        }
        if NUMERIC.contains(&attribute) && !number(value) {
            return Err(format!(
                "an attribute {attribute} that is not a number: {}",
                shorten(value)
            ));
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
        assert_eq!(
            check("<meta charset=\"UTF-8\"><style></style><p>x</p>"),
            Ok(())
        );
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
            // CSS after a tag is still CSS to a browser, until </style>.
            "<style>a{}<p>{}body{background:url(http://x)}</style>",
            "<style><br></style>",
            "<meta charset=\"iso-2022-jp\">",
            "<meta http-equiv=\"refresh\" content=\"0;url=http://x\">",
            "<p",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pictures_only_of_the_bundles_verified_image_documents() {
        assert_eq!(
            image_src("data/documents/a b/ü?#\"'.png"),
            "data/documents/a%20b/%C3%BC%3F%23%22%27.png"
        );
        let files = std::collections::HashSet::from(["data/documents/a/photo%20one.png".into()]);
        let entry = Images {
            files: &files,
            detail_page: false,
        };
        let detail = Images {
            files: &files,
            detail_page: true,
        };
        let picture = |src: &str| {
            format!(
                "<div class=\"thumb\"><img src=\"{src}\" alt=\"a &quot;b\"><svg class=\"regions\">\
                 <rect class=\"region\" x=\"1.5%\" y=\"2%\" width=\"30%\" height=\"4%\"></rect>\
                 <text x=\"1.5%\" y=\"2%\">#3</text></svg></div>"
            )
        };
        let src = "data/documents/a/photo%20one.png";
        assert_eq!(check_page(&picture(src), &entry), Ok(()));
        assert_eq!(check_page(&picture(&format!("../{src}")), &detail), Ok(()));
        // The same picture on a page that may show none, or from the other directory.
        assert!(check(&picture(src)).is_err());
        assert!(check_page(&picture(src), &detail).is_err());
        assert!(check_page(&picture(&format!("../{src}")), &entry).is_err());
        for bad in [
            "http://evil.example/a.png",
            "//evil.example/a.png",
            "/etc/passwd",
            "file:///etc/passwd",
            "data:image/png;base64,iVBORw0KGgo=",
            "data/documents/a/photo one.png",
            "data/documents/a/photo%20one.png?x",
            "data/documents/a/other.svg",
            "data/records/x.cbor",
            "../../data/documents/a/photo%20one.png",
        ] {
            assert!(check_page(&picture(bad), &entry).is_err(), "{bad}");
        }
        for bad in [
            "<p src=\"data/documents/a/photo%20one.png\">",
            "<img src=\"data/documents/a/photo%20one.png\" onerror=\"alert(1)\">",
            "<img src=\"data/documents/a/photo%20one.png\" srcset=\"http://x 2x\">",
            "<svg><use href=\"#x\"></use></svg>",
            "<svg><image href=\"http://x\"></image></svg>",
            "<svg><foreignObject></foreignObject></svg>",
            "<svg><set attributeName=\"href\" to=\"javascript:x\"></set></svg>",
            "<svg onload=\"alert(1)\"></svg>",
            "<rect x=\"calc(1px)\"></rect>",
            "<rect width=\"\"></rect>",
        ] {
            assert!(check_page(bad, &entry).is_err(), "{bad}");
        }
    }
}
