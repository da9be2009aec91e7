//! Annotation selectors: every kind recorded, shown and rendered as W3C JSON-LD; quotes that are
//! absent or ambiguous, out-of-range positions and text selectors on binary content are refused.

use super::*;

#[test]
fn every_selector_kind_is_recorded_and_shown() {
    let ws = media_workspace();
    assert_eq!(
        json(&ws, &["annotations", "--json"])["annotations"].take(),
        serde_json::json!([])
    );
    assert_eq!(ok(&ws, &["annotations"]), "no annotations\n");
    let text = annotate(
        &ws,
        "report.txt",
        &[
            "--body",
            "the count of children",
            "--quote",
            "2,442 children",
            "--prefix",
            "dawn. ",
            "--suffix",
            " were",
            "--range",
            "25..39",
            "--bytes",
            "0..24",
            "--analyst",
            "A. Analyst",
        ],
    );
    let page = annotate(
        &ws,
        "statement.pdf",
        &["--body", "signature", "--page", "2"],
    );
    let time = annotate(
        &ws,
        "clip.mp4",
        &["--body", "shelling", "--time", "1:05..1:10.5"],
    );
    let rect = annotate(
        &ws,
        "scene.png",
        &["--body", "vehicle", "--rect", "10,5,30,25"],
    );

    let views = json(&ws, &["annotations", "--json"])["annotations"].take();
    assert_eq!(views.as_array().expect("array").len(), 4, "{views}");
    // Newest first.
    assert_eq!(views[0]["id"], format!("sha256:{rect}"));
    assert_eq!(views[3]["id"], format!("sha256:{text}"));

    let t = find_view(&views, &text);
    assert_eq!(t["document_path"], "report.txt");
    assert_eq!(t["analyst"], "A. Analyst");
    assert_eq!(t["body"], "the count of children");
    assert_eq!(t["state"]["status"], "active");
    assert!(t["sealed"].is_null(), "not sealed yet: {t}");
    assert_eq!(
        t["selectors"],
        serde_json::json!([
            {"type": "text-quote", "exact": "2,442 children", "prefix": "dawn. ", "suffix": " were"},
            {"type": "text-position", "start": 25, "end": 39},
            {"type": "byte-range", "start": 0, "end": 24},
        ])
    );
    assert_eq!(
        find_view(&views, &page)["selectors"],
        serde_json::json!([{"type": "page", "page": 2}])
    );
    assert_eq!(
        find_view(&views, &time)["selectors"],
        serde_json::json!([{"type": "time-range", "start_ms": 65000, "end_ms": 70500}])
    );
    assert_eq!(
        find_view(&views, &rect)["selectors"],
        serde_json::json!([{"type": "rectangle", "x": 10, "y": 5, "width": 30, "height": 25}])
    );

    // Only the annotations on one document when a target is given.
    let only = json(&ws, &["annotations", "scene.png", "--json"])["annotations"].take();
    assert_eq!(only.as_array().expect("array").len(), 1, "{only}");
    assert_eq!(only[0]["id"], format!("sha256:{rect}"));

    // Sealing is reflected.
    ws.seal();
    let views = json(&ws, &["annotations", "--json"])["annotations"].take();
    assert_eq!(find_view(&views, &text)["sealed"]["checkpoint"], 1);

    let human = ok(&ws, &["annotations", "report.txt"]);
    assert!(
        human.contains(&format!("sha256:{text}  [active]")),
        "{human}"
    );
    assert!(human.contains("analyst: A. Analyst"), "{human}");
    assert!(human.contains("sealed in checkpoint 1"), "{human}");
}

#[test]
fn jsonld_uses_w3c_selectors() {
    let ws = media_workspace();
    annotate(
        &ws,
        "report.txt",
        &[
            "--body",
            "count",
            "--quote",
            "convoy",
            "--range",
            "4..10",
            "--bytes",
            "4..10",
            "--tag",
            "deportation",
            "--claim",
            "quantity=2442",
        ],
    );
    annotate(&ws, "statement.pdf", &["--body", "p1", "--page", "1"]);
    annotate(&ws, "clip.mp4", &["--body", "t", "--time", "2..3.25"]);
    annotate(&ws, "scene.png", &["--body", "r", "--rect", "0,0,40,30"]);

    refused(&ws, &["annotations", "--json", "--jsonld"]);
    let doc = json(&ws, &["annotations", "--jsonld"]);
    assert_eq!(doc["@context"], "http://www.w3.org/ns/anno.jsonld", "{doc}");
    assert_eq!(doc["type"], "AnnotationCollection");
    assert_eq!(doc["total"], 4);
    let items = doc["first"]["items"].as_array().expect("items");
    assert_eq!(items.len(), 4);
    for item in items {
        assert_eq!(item["type"], "Annotation", "{item}");
        assert_eq!(item["@context"][0], "http://www.w3.org/ns/anno.jsonld");
        let id = item["id"].as_str().expect("id");
        assert!(id.starts_with("urn:sha256:"), "{id}");
        let source = item["target"]["source"].as_str().expect("source");
        assert!(source.starts_with("urn:sha256:"), "{source}");
    }
    let by_path = |path: &str| {
        items
            .iter()
            .find(|i| i["target"]["evidentia:path"] == path)
            .unwrap_or_else(|| panic!("no annotation on {path}: {doc}"))
    };
    let text = by_path("report.txt");
    let selectors = text["target"]["selector"].as_array().expect("3 selectors");
    let types: Vec<&str> = selectors
        .iter()
        .map(|s| s["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        types,
        [
            "TextQuoteSelector",
            "TextPositionSelector",
            "DataPositionSelector"
        ]
    );
    assert_eq!(selectors[0]["exact"], "convoy");
    assert_eq!(selectors[1]["start"], 4);
    assert_eq!(selectors[2]["end"], 10);
    assert_eq!(text["evidentia:claim"]["quantity"], "2442");
    let bodies = text["body"].as_array().expect("bodies");
    assert!(bodies
        .iter()
        .any(|b| b["purpose"] == "tagging" && b["value"] == "deportation"));

    let fragment = |path: &str| {
        let s = &by_path(path)["target"]["selector"];
        assert_eq!(s["type"], "FragmentSelector", "{s}");
        s["value"].as_str().expect("value").to_string()
    };
    assert_eq!(fragment("statement.pdf"), "page=1");
    assert_eq!(fragment("clip.mp4"), "t=2.000,3.250");
    assert_eq!(fragment("scene.png"), "xywh=0,0,40,30");
}

#[test]
fn absent_quote_is_refused() {
    let ws = media_workspace();
    let before = size(&ws);
    let err = refused(
        &ws,
        &["annotate", "report.txt", "--body", "b", "--quote", "2,443"],
    );
    assert!(err.contains("'2,443'"), "{err}");
    assert!(err.contains("does not occur"), "{err}");
    assert!(err.contains("report.txt"), "{err}");
    assert_eq!(size(&ws), before, "nothing recorded");
}

#[test]
fn ambiguous_quote_is_refused_then_disambiguated() {
    let ws = media_workspace();
    let before = size(&ws);
    let err = refused(
        &ws,
        &["annotate", "report.txt", "--body", "b", "--quote", "2,442"],
    );
    assert!(err.contains("'2,442'"), "{err}");
    assert!(err.contains("occurs 2 times"), "{err}");
    assert!(err.contains("--prefix"), "{err}");
    assert_eq!(size(&ws), before);

    // A prefix or a suffix that matches neither occurrence.
    let err = refused(
        &ws,
        &[
            "annotate",
            "report.txt",
            "--body",
            "b",
            "--quote",
            "2,442",
            "--suffix",
            " adults",
        ],
    );
    assert!(err.contains("2,442"), "{err}");
    assert!(err.contains("2 time(s)"), "{err}");

    let first = annotate(
        &ws,
        "report.txt",
        &["--body", "b", "--quote", "2,442", "--prefix", "dawn. "],
    );
    let second = annotate(
        &ws,
        "report.txt",
        &[
            "--body",
            "b",
            "--quote",
            "2,442",
            "--suffix",
            " children had",
        ],
    );
    assert_ne!(first, second);
    assert_eq!(size(&ws), before + 2);
}

#[test]
fn out_of_range_selectors_are_refused() {
    let ws = media_workspace();
    let before = size(&ws);
    let chars = REPORT.chars().count();
    let past = format!("0..{}", chars + 1);
    let err = refused(
        &ws,
        &["annotate", "report.txt", "--body", "b", "--range", &past],
    );
    assert!(err.contains("text-position"), "{err}");
    assert!(
        err.contains(&format!("the text has {chars}")),
        "names the character count: {err}"
    );
    // The last character is fine.
    annotate(
        &ws,
        "report.txt",
        &["--body", "b", "--range", &format!("0..{chars}")],
    );

    let bytes = REPORT.len();
    let err = refused(
        &ws,
        &[
            "annotate",
            "report.txt",
            "--body",
            "b",
            "--bytes",
            &format!("10..{}", bytes + 5),
        ],
    );
    assert!(err.contains("byte-range"), "{err}");
    assert!(err.contains(&format!("has {bytes}")), "{err}");

    let err = refused(
        &ws,
        &[
            "annotate",
            "scene.png",
            "--body",
            "b",
            "--rect",
            "30,10,11,5",
        ],
    );
    assert!(err.contains("rectangle"), "{err}");
    assert!(err.contains("40x30"), "{err}");
    let err = refused(
        &ws,
        &[
            "annotate",
            "scene.png",
            "--body",
            "b",
            "--rect",
            "0,0,40,31",
        ],
    );
    assert!(err.contains("40x30"), "{err}");

    let err = refused(
        &ws,
        &["annotate", "statement.pdf", "--body", "b", "--page", "3"],
    );
    assert!(err.contains("the PDF has 2"), "{err}");
    let err = refused(
        &ws,
        &["annotate", "statement.pdf", "--body", "b", "--page", "0"],
    );
    assert!(err.contains("pages are numbered from 1"), "{err}");

    // Empty and reversed spans, an empty rectangle.
    refused(
        &ws,
        &["annotate", "report.txt", "--body", "b", "--range", "5..5"],
    );
    refused(
        &ws,
        &["annotate", "clip.mp4", "--body", "b", "--time", "10..2"],
    );
    refused(
        &ws,
        &["annotate", "scene.png", "--body", "b", "--rect", "1,1,0,4"],
    );
    // Malformed values.
    refused(
        &ws,
        &["annotate", "report.txt", "--body", "b", "--range", "5-9"],
    );
    refused(
        &ws,
        &["annotate", "scene.png", "--body", "b", "--rect", "1,2,3"],
    );
    refused(
        &ws,
        &["annotate", "clip.mp4", "--body", "b", "--time", "1:xx..2"],
    );
    assert_eq!(size(&ws), before + 1, "only the in-range annotation");
}

#[test]
fn text_selectors_on_binary_content_are_refused() {
    let ws = media_workspace();
    let before = size(&ws);
    for args in [["--quote", "JFIF"], ["--range", "0..2"]] {
        let mut all = vec!["annotate", "photo.jpg", "--body", "b"];
        all.extend_from_slice(&args);
        let err = refused(&ws, &all);
        assert!(err.contains("photo.jpg"), "{err}");
        assert!(err.contains("is not text"), "{err}");
    }
    // Byte ranges are fine on anything.
    annotate(&ws, "photo.jpg", &["--body", "b", "--bytes", "0..4"]);
    assert_eq!(size(&ws), before + 1);
}
