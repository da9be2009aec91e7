//! Tests of image documents shown as thumbnails with their annotated regions (issue 13).

use super::*;
use crate::bundle::report::thumbnail::{pixel_size, PixelSizes};

/// An annotation on `target` selecting the rectangle `(x, y, width, height)`.
fn region(target: Digest, (x, y, width, height): (u64, u64, u64, u64)) -> Record {
    let mut record = annotation(target, vec![]);
    if let Record::Annotation(a) = &mut record {
        a.selectors = vec![Selector::Rectangle {
            x,
            y,
            width,
            height,
        }];
    }
    record
}

/// A PNG document "case/photo one.png" of 200 × 100 pixels (leaf 0) with two regions (leaves
/// 1 and 2, the second retracted by leaf 3), and a text document (leaf 4).
fn photo_case() -> (Vec<(u64, Digest, Record)>, PixelSizes) {
    let mut photo = doc("case/photo one.png", b"png bytes");
    if let Record::Document(d) = &mut photo {
        d.media_type = "image/png".into();
    }
    let content = Digest::of(b"png bytes");
    let retraction = Record::Retraction(Box::new(RetractionRecord {
        header: header("2024-03-01T00:00:00Z"),
        target: Digest::of(b"second region"),
        reason: "wrong bus".into(),
    }));
    let records = vec![
        (0, Digest::of(b"photo"), photo),
        (
            1,
            Digest::of(b"first region"),
            region(content, (10, 20, 50, 30)),
        ),
        // Reaches past the right edge: drawn up to the edge.
        (
            2,
            Digest::of(b"second region"),
            region(content, (190, 0, 40, 100)),
        ),
        (3, Digest::of(b"retraction"), retraction),
        (4, Digest::of(b"text"), doc("case/a.txt", b"text bytes")),
    ];
    let images = HashMap::from([(Digest::of(b"photo"), (200, 100))]);
    (records, images)
}

#[test]
fn an_image_document_is_a_thumbnail_with_its_regions_numbered() {
    let (records, images) = photo_case();
    // render_pages_with checks every page against the verifier's rules, with this picture.
    let pages = render_pages_with(&records, &BundleReport::pending(), Vec::new(), &images);
    let html = &pages[0].1;
    assert!(
        html.contains("<img src=\"data/documents/case/photo%20one.png\" alt=\""),
        "no thumbnail of the photo"
    );
    // Pixels become percent of the image: (10, 20, 50, 30) of 200 × 100.
    assert!(html.contains(
        "<rect class=\"region\" x=\"5%\" y=\"20%\" width=\"25%\" height=\"30%\"></rect>\
         <text x=\"5%\" y=\"20%\">#1</text>"
    ));
    // The retracted annotation's box is dashed, and clipped to the image.
    assert!(html.contains(
        "<rect class=\"region gone\" x=\"95%\" y=\"0%\" width=\"20%\" height=\"100%\"></rect>"
    ));
    assert!(html.contains("(200 × 100 pixels)"));
    // Scaled to fit 320 × 240 CSS pixels, its proportions kept.
    assert!(html.contains("alt=\"case/photo one.png, scaled\" width=\"320\" height=\"160\">"));
    assert!(html.contains("2 annotated region(s) drawn on it"));
    // One picture only: the text document has none.
    assert_eq!(html.matches("<img ").count(), 1);
    // Without the picture allowed (as when its bytes did not verify), the page is refused.
    assert!(inert::check(html).is_err());
}

#[test]
fn an_image_without_a_known_size_is_listed_without_a_thumbnail() {
    let (records, _) = photo_case();
    let html = render_with(&records, &BundleReport::pending());
    assert!(!html.contains("<img "));
    assert!(!html.contains("<svg"));
    // The regions are still described in words.
    assert!(html.contains("Image region 50 × 30 pixels"));
}

#[test]
fn a_detail_page_links_its_pictures_from_one_level_down() {
    let (mut records, images) = photo_case();
    for i in 0..PAGE_DOCUMENTS as u64 {
        let bytes = format!("filler {i}");
        let id = Digest::of(bytes.as_bytes());
        records.push((
            10 + i,
            id,
            doc(&format!("case/f{i:05}.txt"), bytes.as_bytes()),
        ));
    }
    let pages = render_pages_with(&records, &BundleReport::pending(), Vec::new(), &images);
    assert!(pages.len() > 1);
    assert!(!pages[0].1.contains("<img "), "the entry page lists only");
    let detail = &pages[1];
    assert_eq!(detail.0, "report/0001.html");
    assert!(detail
        .1
        .contains("<img src=\"../data/documents/case/photo%20one.png\""));
}

#[test]
fn pixel_sizes_are_read_from_each_raster_header() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x01\x2c\0\0\0\xc8\x08\x02";
    assert_eq!(pixel_size("image/png", png), Some((300, 200)));
    assert_eq!(
        pixel_size("image/gif", b"GIF89a\x40\x01\xf0\x00"),
        Some((320, 240))
    );
    // A JPEG with an APP0 segment before its frame header (SOF0: height 480, width 640).
    let mut jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00".to_vec();
    jpeg.extend_from_slice(b"\xff\xc0\x00\x11\x08\x01\xe0\x02\x80\x03");
    assert_eq!(pixel_size("image/jpeg", &jpeg), Some((640, 480)));
    let webp_x = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0\x3f\x01\0\xc7\0\0";
    assert_eq!(pixel_size("image/webp", webp_x), Some((320, 200)));
    let webp_l = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f\x3f\x00\x32\x00";
    assert_eq!(pixel_size("image/webp", webp_l), Some((64, 201)));
    // The bytes must be of the recorded type: SVG or text named PNG is no picture.
    assert_eq!(pixel_size("image/png", b"<svg onload=\"x\"/>"), None);
    assert_eq!(pixel_size("image/svg+xml", png), None);
    assert_eq!(pixel_size("image/jpeg", png), None);
    // Cut short, or zero pixels.
    assert_eq!(pixel_size("image/png", &png[..20]), None);
    assert_eq!(pixel_size("image/gif", b"GIF89a\0\0\x01\0"), None);
    assert_eq!(pixel_size("image/jpeg", b"\xff\xd8\xff\xe0\xff\xff"), None);
}
