//! The report of a large bundle: report.html as the entry page and report/0001.html … as
//! detail pages of at most 1,000 documents, each listed in the tag manifest; and check 6a, which
//! refuses anything outside data/ that is not a tag file, a tag file the tag manifest does not
//! list, and report pages that could run or load something. Each forgery rewrites the tag
//! manifest as a forger would, so only the rule can catch it.

use std::process::Command;

use super::*;

/// Names that must come out escaped: markup, quotes and a right-to-left override.
const HOSTILE: [&str; 3] = [
    "<script>alert(1)</script>.txt",
    "\"quoted' & <b>.txt",
    "invoice\u{202e}fdp.exe.txt",
];

/// A bundle of 1,001 documents: two detail pages.
fn large_bundle() -> (Workspace, PathBuf) {
    let ws = Workspace::new();
    for i in 0..1001 {
        ws.write(&format!("case/d{i:04}.txt"), format!("statement {i}\n"));
    }
    for (i, name) in HOSTILE.iter().enumerate() {
        ws.write(&format!("case/{name}"), format!("hostile {i}\n"));
    }
    ws.add(&["case"]);
    ws.seal();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--all"]);
    (ws, bundle)
}

/// A copy of `bundle` to forge.
pub(super) fn copy(ws: &Workspace, bundle: &Path, name: &str) -> PathBuf {
    let to = ws.path(name);
    let status = Command::new("cp").arg("-r").arg(bundle).arg(&to).status();
    assert!(status.expect("cp").success());
    to
}

/// Replaces `from` by `to` in a page; the text must be there.
pub(super) fn edit(page: &Path, from: &str, to: &str) {
    let html = fs::read_to_string(page).expect("read page");
    assert!(html.contains(from), "{} has no {from:?}", page.display());
    fs::write(page, html.replacen(from, to, 1)).expect("write page");
}

#[test]
fn a_large_bundle_has_listed_detail_pages_and_forged_pages_are_refused() {
    let (ws, bundle) = large_bundle();
    let tags = fs::read_to_string(bundle.join("tagmanifest-sha256.txt")).expect("tags");
    for name in ["report.html", "report/0001.html", "report/0002.html"] {
        assert!(bundle.join(name).is_file(), "{name} missing");
        assert!(
            tags.contains(&format!("  {name}\n")),
            "{name} not in the tag manifest"
        );
    }
    assert!(!bundle.join("report/0003.html").exists());
    let entry = fs::read_to_string(bundle.join("report.html")).expect("entry page");
    assert!(
        entry.contains("href=\"report/0002.html#r"),
        "the list links the detail pages"
    );
    let first = fs::read_to_string(bundle.join("report/0001.html")).expect("page 1");
    let second = fs::read_to_string(bundle.join("report/0002.html")).expect("page 2");
    for page in [&entry, &first, &second] {
        assert!(page.contains("Written by the sender: this page is not a verification"));
        assert!(
            !page.contains("<script") && !page.contains("<b>"),
            "a name got through raw"
        );
    }
    // The hostile names sort first: escaped in the list and on the first detail page.
    for page in [&entry, &first] {
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;.txt"));
        assert!(page.contains("&quot;quoted&#39; &amp; &lt;b&gt;.txt"));
    }
    // A right-to-left override is shown, never applied.
    assert!(
        second.contains("invoice\\u{202e}fdp.exe.txt"),
        "the last document, on page 2"
    );
    assert!(!(entry.clone() + &first + &second).contains('\u{202e}'));
    // The honest bundle verifies in both verifiers: no false accusation.
    assert_bundle_ok(&ws, &bundle);

    // A script added to a detail page.
    let forged = copy(&ws, &bundle, "script");
    edit(
        &forged.join("report/0002.html"),
        "</body>",
        "<script>fetch('x')</script></body>",
    );
    retag(&forged);
    assert_bundle_problem(&ws, &forged, "report-unsafe", &["report/0002.html"]);

    // An image from elsewhere on the entry page; an event handler.
    let forged = copy(&ws, &bundle, "image");
    edit(
        &forged.join("report.html"),
        "<footer",
        "<img src=\"http://evil.example/x.png\"><footer",
    );
    retag(&forged);
    assert_bundle_problem(&ws, &forged, "report-unsafe", &["report.html"]);
    let forged = copy(&ws, &bundle, "handler");
    edit(
        &forged.join("report.html"),
        "<footer",
        "<p onmouseover=\"x()\">hi</p><footer",
    );
    retag(&forged);
    assert_bundle_problem(&ws, &forged, "report-unsafe", &["report.html"]);

    // A link out of the report; a style sheet that loads something.
    let forged = copy(&ws, &bundle, "link");
    edit(
        &forged.join("report/0001.html"),
        "href=\"../report.html\"",
        "href=\"https://evil.example/\"",
    );
    retag(&forged);
    assert_bundle_problem(&ws, &forged, "report-unsafe", &["report/0001.html"]);
    let forged = copy(&ws, &bundle, "style");
    edit(
        &forged.join("report/0001.html"),
        "</style>",
        "body { background: url(https://evil.example/t) }</style>",
    );
    retag(&forged);
    assert_bundle_problem(&ws, &forged, "report-unsafe", &["report/0001.html"]);

    // A page that is not one of the report's names, even when listed.
    let forged = copy(&ws, &bundle, "stray");
    fs::write(forged.join("report/open-me.html"), "<p>hello</p>").expect("write");
    fs::write(forged.join("README.html"), "<p>hello</p>").expect("write");
    retag(&forged);
    let codes = assert_bundle_problem(&ws, &forged, "stray-file", &["report/open-me.html"]);
    assert_eq!(
        codes,
        ["stray-file", "stray-file"],
        "both strays, nothing else"
    );

    // A detail page the tag manifest does not list (the forger did not retag).
    let forged = copy(&ws, &bundle, "unlisted");
    fs::copy(
        forged.join("report/0002.html"),
        forged.join("report/0003.html"),
    )
    .expect("copy");
    let codes = assert_bundle_problem(&ws, &forged, "unlisted-tag-file", &["report/0003.html"]);
    assert_eq!(codes, ["unlisted-tag-file"]);
}

#[test]
fn a_small_bundle_keeps_one_page_and_verify_bundle_py_must_be_listed() {
    let (ws, bundle, _) = exported();
    assert!(bundle.join("report.html").is_file());
    assert!(
        !bundle.join("report").exists(),
        "a small bundle has no detail pages"
    );
    let tags = fs::read_to_string(bundle.join("tagmanifest-sha256.txt")).expect("tags");
    let without: String = (tags.lines())
        .filter(|line| !line.ends_with("  verify-bundle.py"))
        .map(|line| format!("{line}\n"))
        .collect();
    fs::write(bundle.join("tagmanifest-sha256.txt"), without).expect("write");
    let codes = assert_bundle_problem(&ws, &bundle, "unlisted-tag-file", &["verify-bundle.py"]);
    assert_eq!(codes, ["unlisted-tag-file"]);
}
