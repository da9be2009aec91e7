//! Tests of the paged report: more than PAGE_DOCUMENTS documents.

use super::*;

/// Hostile names: markup, quotes, a right-to-left override and a control character.
const NAMES: [&str; 4] = [
    "<script>alert(1)</script>",
    "\"quoted' & <b>",
    "invoice\u{202e}fdp.exe",
    "bell\u{7}",
];

/// `n` documents (leaf indexes 0..n), then an annotation on the last one that links to the
/// first (so the link crosses pages), then a custody event about both.
fn many(n: usize) -> Vec<(u64, Digest, Record)> {
    let mut records: Vec<(u64, Digest, Record)> = (0..n)
        .map(|i| {
            let path = format!("case/{i:05}-{}.txt", NAMES[i % NAMES.len()]);
            let bytes = format!("document {i}");
            let id = Digest::of(format!("record {i}").as_bytes());
            (i as u64, id, doc(&path, bytes.as_bytes()))
        })
        .collect();
    let (first, last) = (content(0), content(n - 1));
    let corroborates = Link {
        relation: Relation::Corroborates,
        target: first,
    };
    let a = annotation(last, vec![corroborates]);
    records.push((n as u64, Digest::of(b"annotation"), a));
    records
}

fn content(i: usize) -> Digest {
    Digest::of(format!("document {i}").as_bytes())
}

/// The ids (`id="…"`) a page defines.
fn anchors(html: &str) -> Vec<&str> {
    html.split(" id=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect()
}

#[test]
fn a_large_bundle_has_an_entry_page_and_detail_pages_of_at_most_a_thousand() {
    let n = 2 * PAGE_DOCUMENTS + 7;
    let records = many(n);
    let pages = render_pages(&records, &BundleReport::pending());
    let names: Vec<&str> = pages.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "report.html",
            "report/0001.html",
            "report/0002.html",
            "report/0003.html"
        ]
    );
    let entry = &pages[0].1;
    // The entry page: the notice first, then the self-check, and a short line per document.
    let notice = entry.find("Written by the sender: this page is not a verification");
    assert!(notice.expect("notice") < entry.find("Sender's self-check").unwrap());
    assert!(entry.contains("3 detail pages"));
    assert!(entry.len() < 400 * n, "entry page of {} bytes", entry.len());
    for (i, (name, html)) in pages.iter().enumerate().skip(1) {
        // Each detail page says who wrote it, and prints on its own.
        assert!(html.contains("Written by the sender: this page is not a verification"));
        assert!(html.contains(&format!("detail page {i} of 3")), "{name}");
        assert!(html.contains("href=\"../report.html\""));
    }
    // Each document is on exactly one detail page, the one the entry page links it to.
    for i in 0..n {
        let anchor = format!("id=\"r{i}\"");
        let on: Vec<usize> = (pages.iter().enumerate())
            .filter(|(_, (_, html))| html.contains(&anchor))
            .map(|(at, _)| at)
            .collect();
        let page = i / PAGE_DOCUMENTS + 1;
        assert_eq!(on, [page], "document {i}");
        assert!(
            pages[page].1.contains(&content(i).to_hex()),
            "full digest of {i}"
        );
        let link = format!("href=\"report/{page:04}.html#r{i}\"");
        assert!(entry.contains(&link), "entry page links {i} with {link}");
        assert!(
            entry.contains(&content(i).to_hex()[..16]),
            "digest prefix of {i}"
        );
    }
    // The annotation is on the last document's page, and links back to the first page.
    let last = &pages[3].1;
    assert!(
        last.contains(&format!("id=\"r{n}\"")),
        "annotation with its document"
    );
    assert!(
        last.contains("href=\"0001.html#r0\""),
        "a link across pages"
    );
    assert!(!entry.contains(&format!("id=\"r{n}\"")));
}

#[test]
fn every_link_of_a_paged_report_reaches_a_place_that_exists() {
    let pages = render_pages(&many(PAGE_DOCUMENTS + 1), &BundleReport::pending());
    let files: HashMap<&str, Vec<&str>> = (pages.iter())
        .map(|(name, html)| (name.as_str(), anchors(html)))
        .collect();
    for (name, html) in &pages {
        for href in html
            .split("href=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
        {
            let (file, fragment) = href.split_once('#').unwrap_or((href, ""));
            // Resolve against the page's own folder.
            let target = match (name.starts_with("report/"), file) {
                (_, "") => name.clone(),
                (true, "../report.html") => "report.html".to_string(),
                (true, file) => format!("report/{file}"),
                (false, file) => file.to_string(),
            };
            let ids = files.get(target.as_str());
            let ids = ids.unwrap_or_else(|| panic!("{name} links to missing {target}"));
            assert!(
                fragment.is_empty() || ids.contains(&fragment),
                "{name} links to {href}, which has no such place"
            );
        }
    }
}

#[test]
fn hostile_names_are_escaped_on_every_page() {
    let pages = render_pages(&many(PAGE_DOCUMENTS + 4), &BundleReport::pending());
    for (name, html) in &pages {
        assert!(!html.contains("<script"), "{name}: a raw script tag");
        assert!(!html.contains("<b>"), "{name}: raw markup from a name");
        // Quotes cannot end an attribute: every one from a name is escaped.
        assert!(!html.contains("\"quoted"), "{name}");
        assert!(html.contains("&quot;quoted&#39; &amp; &lt;b&gt;"), "{name}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{name}"
        );
        // Bidi and control characters are shown, never applied.
        assert!(
            !html.contains('\u{202e}') && !html.contains('\u{7}'),
            "{name}"
        );
        assert!(
            html.contains("invoice\\u{202e}fdp.exe") && html.contains("bell\\u{7}"),
            "{name}"
        );
    }
}

#[test]
fn a_bundle_of_a_thousand_keeps_one_page() {
    let pages = render_pages(&many(PAGE_DOCUMENTS), &BundleReport::pending());
    assert_eq!(pages.len(), 1);
    assert!(!pages[0].1.contains("report/0001.html"));
}
