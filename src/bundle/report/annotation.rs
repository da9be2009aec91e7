//! An annotation's section of the report: its body, selectors and claims.

use super::*;

pub(super) fn annotation(
    out: &mut String,
    ctx: &Ctx,
    index: u64,
    id: &Digest,
    a: &AnnotationRecord,
) {
    let retractions = ctx.retractions.get(id);
    let superseded = ctx.superseded.get(id);
    let withdrawn = retractions.is_some() || superseded.is_some();
    put!(
        out,
        "<div class=\"ann{}\" id=\"r{index}\">\n<p>",
        if withdrawn { " withdrawn" } else { "" }
    );
    if retractions.is_some() {
        out.push_str("<span class=\"flag retracted\">RETRACTED</span>");
    }
    if superseded.is_some() {
        out.push_str("<span class=\"flag superseded\">SUPERSEDED</span>");
    }
    let analyst = a.analyst.as_deref().unwrap_or("an unnamed analyst");
    let by = format!("by {analyst}, recorded {}", a.header.recorded_at);
    put!(
        out,
        "<strong>Annotation #{index}</strong> {}</p>\n",
        muted(&by)
    );
    for (rindex, r) in retractions.into_iter().flatten() {
        retraction_banner(out, "Retracted", *rindex, r);
    }
    for by in superseded.into_iter().flatten() {
        put!(
            out,
            "<p><strong>Superseded</strong> by <a href=\"{}\">annotation #{by}</a>.</p>\n",
            ctx.href(*by)
        );
    }
    for s in &a.selectors {
        // An encrypted bundle's page travels beside ciphertexts that hide the content: it
        // must not print passages of it (FORMAT.md §23.8).
        if ctx.manifest.encryption.is_some() && matches!(s, Selector::TextQuote { .. }) {
            out.push_str("<p class=\"muted\">Quoted passage not shown: the document is encrypted; decrypt it to read the passage in context.</p>\n");
            continue;
        }
        out.push_str(&selector(s));
    }
    put!(
        out,
        "<p class=\"prose\">{}</p>\n",
        esc(crate::archive::sealed_notes::body_shown(a))
    );
    if !a.claim.is_empty() {
        table_head(out, "claim", &["Claim", "Value"]);
        for (k, v) in &a.claim {
            tr(out, &[format!("<strong>{}</strong>", esc(k)), esc(v)]);
        }
        out.push_str("</tbody></table>\n");
    }
    for link in &a.links {
        let relation = esc(link.relation.as_str());
        // "supersedes" is said of this annotation, the other relations of its document.
        let subject = match link.relation {
            crate::core::record::Relation::Supersedes => "this annotation",
            _ => "this document",
        };
        put!(
            out,
            "<p>Link: {subject} <strong>{relation}</strong> {}</p>\n",
            ctx.describe(&link.target)
        );
    }
    if !a.tags.is_empty() {
        put!(out, "<p class=\"muted\">Tags: {}</p>\n", tags(&a.tags));
    }
    let id = mono(&id.to_hex());
    put!(out, "<p class=\"muted\">Record id {id}</p>\n</div>\n");
}

/// Where in the document an annotation points, in words (escaped HTML).
fn selector(s: &Selector) -> String {
    match s {
        Selector::TextQuote {
            exact,
            prefix,
            suffix,
        } => {
            // The passage in its surrounding text, as the annotation records it: the words
            // before and after are shown dimmed, the quoted words marked.
            let around = |text: &Option<String>| {
                text.as_deref().map_or_else(String::new, |t| {
                    format!("<span class=\"around\">{}</span>", esc(t))
                })
            };
            let (before, after) = (around(prefix), around(suffix));
            let exact = esc(exact);
            format!(
                "<p>Quoted passage, in its surrounding text:</p>\n<blockquote class=\"prose quote\">{}{before}<strong>{exact}</strong>{after}{}</blockquote>\n",
                if prefix.is_some() { "…" } else { "" },
                if suffix.is_some() { "…" } else { "" },
            )
        }
        Selector::TextPosition { start, end } => {
            format!(
                "<p>Characters {start} to {end} of the text (counted from 0, end excluded).</p>\n"
            )
        }
        Selector::ByteRange { start, end } => {
            format!("<p>Bytes {start} to {end} of the file (counted from 0, end excluded).</p>\n")
        }
        Selector::Page { page } => format!("<p>Page {page}.</p>\n"),
        Selector::TimeRange { start_ms, end_ms } => {
            let (from, to) = (clock(*start_ms), clock(*end_ms));
            format!("<p>From {from} to {to} of the recording.</p>\n")
        }
        Selector::Rectangle {
            x,
            y,
            width,
            height,
        } => format!(
            "<p>Image region {width} × {height} pixels, its top-left corner {x} pixels from the \
             left and {y} from the top.</p>\n"
        ),
    }
}

/// Milliseconds as h:mm:ss.mmm.
pub(super) fn clock(ms: u64) -> String {
    let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{h}:{m:02}:{s:02}.{milli:03}")
}
