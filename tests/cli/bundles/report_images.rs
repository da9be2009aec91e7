//! Thumbnails in report.html (issue 13) and check 6a on pictures: a page may show only the
//! bundle's own disclosed documents of a raster media type whose bytes verified. Each forgery
//! edits report.html and rewrites the tag manifest as a forger would, so only the rule can
//! catch it, in both verifiers.

use super::report_pages::{copy, edit};
use super::*;

/// A PNG of `width` × `height` pixels: signature and header chunk are all a report reads.
pub(super) fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(b"\x08\x02\0\0\0\0\0\0\0\0\0\0\0IEND\xaeB`\x82");
    bytes
}

/// A sealed archive with a photo (a region annotated on it), an SVG map, a text file holding
/// PNG bytes and a photo left out of the bundle; the bundle of the first three.
fn bundle_with_a_photo() -> (Workspace, PathBuf) {
    let ws = Workspace::new();
    ws.write("case/photo one.png", png(200, 100));
    ws.write(
        "case/map.svg",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
    );
    ws.write("case/notes.txt", png(10, 10));
    ws.write("case/other.png", png(20, 20));
    ws.add(&["case"]);
    let (code, _, stderr) = run(
        &ws,
        &[
            "annotate",
            "case/photo one.png",
            "--rect",
            "10,20,50,30",
            "--body",
            "the bus",
        ],
        &[],
    );
    assert_eq!(code, 0, "annotate: {stderr}");
    ws.seal();
    let bundle = ws.path("bundle");
    let selected = ["case/photo one.png", "case/map.svg", "case/notes.txt"];
    let mut args = vec![];
    for path in selected {
        args.extend(["--select", path]);
    }
    export(&ws, &bundle, &args);
    (ws, bundle)
}

/// The `src` of the one picture of an honest report.html.
const PHOTO: &str = "data/documents/case/photo%20one.png";

#[test]
fn a_photo_is_shown_with_its_region_and_the_bundle_verifies() {
    let (ws, bundle) = bundle_with_a_photo();
    let html = fs::read_to_string(bundle.join("report.html")).expect("report.html");
    assert!(
        html.contains(&format!("<img src=\"{PHOTO}\" alt=\"")),
        "no thumbnail of the photo"
    );
    assert!(bundle.join("data/documents/case/photo one.png").is_file());
    assert!(
        html.contains("x=\"5%\" y=\"20%\" width=\"25%\" height=\"30%\""),
        "the region is not drawn"
    );
    // Neither the SVG nor the PNG bytes recorded as text are shown as pictures.
    assert_eq!(html.matches("<img ").count(), 1);
    // No false accusation: the honest report passes check 6a in both verifiers.
    assert_bundle_ok(&ws, &bundle);
}

#[test]
fn pictures_from_anywhere_else_are_refused() {
    let (ws, bundle) = bundle_with_a_photo();
    let forgeries = [
        // Outside the bundle, on the network, inline.
        ("outside", "../secret.png"),
        ("http", "http://evil.example/x.png"),
        ("data-uri", "data:image/png;base64,iVBORw0KGgo="),
        // A disclosed, verified document that is SVG, which can hold a script.
        ("svg", "data/documents/case/map.svg"),
        // A disclosed document whose bytes are a PNG but whose signed type is text.
        ("not-an-image", "data/documents/case/notes.txt"),
        // Files that are no disclosed document: one left out, the manifest, a record.
        ("undisclosed", "data/documents/case/other.png"),
        ("manifest", "data/bundle.json"),
        // The photo, but with a query the verifier's encoding never writes.
        ("query", "data/documents/case/photo%20one.png?x"),
    ];
    for (name, src) in forgeries {
        let forged = copy(&ws, &bundle, name);
        edit(&forged.join("report.html"), PHOTO, src);
        retag(&forged);
        assert_bundle_problem(&ws, &forged, "report-unsafe", &["report.html"]);
    }
    // The honest picture with an event handler, or made to load a second source.
    for (name, extra) in [
        ("onerror", " onerror=\"fetch('x')\""),
        ("srcset", " srcset=\"http://evil.example/x.png 2x\""),
    ] {
        let forged = copy(&ws, &bundle, name);
        let honest = format!("<img src=\"{PHOTO}\"");
        edit(
            &forged.join("report.html"),
            &honest,
            &format!("{honest}{extra}"),
        );
        retag(&forged);
        assert_bundle_problem(&ws, &forged, "report-unsafe", &["report.html"]);
    }
    // Script-capable SVG inside the overlay.
    let forged = copy(&ws, &bundle, "svg-script");
    edit(
        &forged.join("report.html"),
        "</svg>",
        "<foreignObject><script>x()</script></foreignObject></svg>",
    );
    retag(&forged);
    assert_bundle_problem(&ws, &forged, "report-unsafe", &["report.html"]);
}

#[test]
fn a_photo_whose_bytes_do_not_verify_is_no_picture() {
    // The photo's bytes replaced (every manifest recomputed): the content check catches it,
    // and the report that shows it is refused too.
    let (ws, bundle) = bundle_with_a_photo();
    let forged = copy(&ws, &bundle, "swapped");
    fs::write(
        forged.join("data/documents/case/photo one.png"),
        png(201, 100),
    )
    .expect("write");
    rebag(&forged);
    let codes = assert_bundle_problem(&ws, &forged, "report-unsafe", &["report.html"]);
    assert!(codes.iter().any(|c| c == "content-corrupt"), "{codes:?}");
}
