//! Tests of what legal staff read and print (issue 13): running header and page numbers, the
//! case title, the timeline, seal times, the supersedes link, quotes in their context.

use super::*;
use crate::bundle::manifest::ConsistencyEntry;

/// The value of the row `label` of the kv table in the section that starts at `from`.
fn row<'h>(html: &'h str, from: usize, label: &str) -> &'h str {
    let at = from
        + html[from..]
            .find(&format!("<th>{label}</th>"))
            .expect(label);
    let end = at + html[at..].find("</tr>").expect("row end");
    &html[at..end]
}

#[test]
fn every_printed_page_names_the_bundle_and_its_number() {
    let html = render_with(&sample(), &BundleReport::pending());
    let hash = sample_checkpoint().text_hash().to_hex();
    let id = format!(
        "Evidence bundle, checkpoint 3 (text SHA-256 {}…)",
        &hash[..16]
    );
    assert!(
        html.contains(&format!("@top-left {{ content: \"{id}\"")),
        "no running header with the bundle id"
    );
    assert!(html.contains("counter(page) \" of \" counter(pages)"));
    // No forced page break per document: that left near-blank pages.
    assert!(!html.contains("break-before: page"));
    // Custody cells break between words, never inside one ("Acto r").
    let style = &html[..html.find("</style>").expect("style")];
    assert!(style.contains(".custody th, .custody td"));
    assert!(!style.contains("table.custody, table.links { table-layout: fixed; }"));
}

#[test]
fn the_running_header_carries_no_text_the_archive_chose() {
    // The origin is hostile markup; only digits and hex reach the style sheet.
    let html = render_with(&sample(), &BundleReport::pending());
    let start = html.find("<style>").expect("style");
    let style = &html[start..html.find("</style>").expect("style end")];
    assert!(
        !style.contains("script"),
        "the origin reached the style sheet"
    );
    assert_eq!(inert::check(&html), Ok(()));
}

#[test]
fn the_case_title_is_the_archive_name() {
    assert_eq!(
        timeline::case_title("evidentia/ua-by-transfers/0a1b2c3d", &[]),
        "ua-by-transfers"
    );
    assert_eq!(
        timeline::case_title("example.org/log", &[]),
        "example.org/log"
    );
    // A disclosed title record wins over the origin: the latest one.
    let titled = |title: &str, index: u64| {
        let record = Record::Case(Box::new(crate::core::record::CaseRecord {
            header: crate::core::record::Header::now(),
            title: title.into(),
        }));
        (index, Digest::of(title.as_bytes()), record)
    };
    let records = [
        titled("Old title", 0),
        titled("UA-BY children transfers", 4),
    ];
    assert_eq!(
        timeline::case_title("evidentia/ua-by-transfers/0a1b2c3d", &records),
        "UA-BY children transfers"
    );
    let html = render_with(&sample(), &BundleReport::pending());
    assert!(
        html.contains("<h1>&lt;script&gt;"),
        "the escaped origin is the title"
    );
}

#[test]
fn sealed_shows_the_checkpoint_not_the_record_time() {
    // Checkpoint 2 held one record: document a (#0) was sealed by it; b (#1) by checkpoint 3.
    let earlier = ConsistencyEntry {
        checkpoint: 2,
        size: 1,
        root: Digest::of(b"earlier").to_hex(),
        proof: Vec::new(),
    };
    let pages = render_pages_with(
        &sample(),
        &BundleReport::pending(),
        vec![earlier],
        &HashMap::new(),
    );
    let html = &pages[0].1;
    let a = html.find("id=\"r0\"").expect("document a");
    let b = html.find("id=\"r1\"").expect("document b");
    let sealed_a = row(html, a, "Sealed into the archive");
    assert!(sealed_a.contains("in checkpoint 2"), "{sealed_a}");
    assert!(!sealed_a.contains("2024-01-02T03:04:05Z"), "{sealed_a}");
    let sealed_b = row(html, b, "Sealed into the archive");
    assert!(
        sealed_b.contains("in checkpoint 3 of 2024-03-02T00:00:00Z"),
        "{sealed_b}"
    );
    let recorded = row(html, b, "Recorded in the archive");
    assert!(recorded.contains("2024-01-02T03:04:05Z"), "{recorded}");
}

#[test]
fn a_supersedes_link_reads_from_the_newer_annotation() {
    let html = render_with(&sample(), &BundleReport::pending());
    // Annotation #3 supersedes annotation #2: said of the annotation, not of its document.
    assert!(
        html.contains(
            "Link: this annotation <strong>supersedes</strong> <a href=\"#r2\">annotation #2</a>"
        ),
        "annotation section"
    );
    assert!(!html.contains("this document <strong>supersedes</strong>"));
    let links = &html[html.find("id=\"links\"").expect("links")..];
    assert!(
        links.contains("<td><a href=\"#r3\">annotation #3</a></td><td><strong>supersedes</strong></td><td><a href=\"#r2\">annotation #2</a>"),
        "links table: {links}"
    );
}

#[test]
fn the_timeline_lists_records_by_time() {
    let html = render_with(&sample(), &BundleReport::pending());
    let at = html.find("id=\"timeline\"").expect("timeline");
    let end = at + html[at..].find("</section>").expect("end");
    let timeline = &html[at..end];
    // The transfer (2023-12-31) before the documents (2024-01-02), then the annotations
    // (2024-01-03), the custody record's recording is not a second event, the retraction last.
    let transfer = timeline.find("transferred").expect("transfer");
    let recorded = timeline
        .find("recorded</strong> as log entry #0")
        .expect("doc a");
    let annotated = timeline.find("annotated").expect("annotation");
    let retracted = timeline.find("retracted").expect("retraction");
    assert!(transfer < recorded && recorded < annotated && annotated < retracted);
    assert_eq!(timeline.matches("transferred").count(), 1);
}

#[test]
fn a_quote_is_shown_in_its_surrounding_text() {
    let mut records = sample();
    let Record::Annotation(a) = &mut records[2].2 else {
        panic!("annotation")
    };
    a.selectors = vec![Selector::TextQuote {
        exact: "three buses".into(),
        prefix: Some("we saw ".into()),
        suffix: Some(" leave at dawn".into()),
    }];
    let html = render_with(&records, &BundleReport::pending());
    assert!(html.contains(
        "<blockquote class=\"prose quote\">…<span class=\"around\">we saw </span><strong>three buses</strong><span class=\"around\"> leave at dawn</span>…</blockquote>"
    ));
}
