//! Annotations, retractions, custody events, item histories and key events (introduce, rotate,
//! revoke, several signers, trust-file attributes), driven through the binary.

use std::fs;
use std::path::Path;

use serde_json::Value;

use evidentia::archive::append::append_records;
use evidentia::archive::Archive;
use evidentia::core::key::SignerKey;
use evidentia::core::record::{key_event_message, Header, KeyAction, KeyRecord, Record};
use evidentia::keyfile;

use crate::common::{added, Workspace};

const REPORT: &str = "The convoy left at dawn. 2,442 children were taken to Belarus. \
Officials later said 2,442 children had been \"evacuated\".\n";

/// Runs the binary and expects exit 0; returns stdout.
fn ok(ws: &Workspace, args: &[&str]) -> String {
    let (code, stdout, stderr) = ws.run(args);
    assert_eq!(code, 0, "evidentia {args:?} failed: {stderr}");
    stdout
}

/// Runs the binary and expects a refusal (exit 2); returns stderr.
fn refused(ws: &Workspace, args: &[&str]) -> String {
    let (code, stdout, stderr) = ws.run(args);
    assert_eq!(
        code, 2,
        "evidentia {args:?} must be refused; stdout: {stdout} stderr: {stderr}"
    );
    assert!(stderr.contains("error"), "{stderr}");
    stderr
}

/// Runs the binary, expects exit 0 and parses stdout as JSON.
fn json(ws: &Workspace, args: &[&str]) -> Value {
    let stdout = ok(ws, args);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"))
}

/// `annotate` with `args` after the target; returns the annotation id (hex).
fn annotate(ws: &Workspace, target: &str, args: &[&str]) -> String {
    let mut all = vec!["annotate", target];
    all.extend_from_slice(args);
    let stdout = ok(ws, &all);
    let id = stdout
        .trim_end()
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("annotate prints sha256:<id>: {stdout}"));
    assert_eq!(id.len(), 64, "{stdout}");
    id.to_string()
}

/// Adds one file and returns its content digest (hex).
fn add_one(ws: &Workspace, args: &[&str]) -> String {
    let docs = added(&ws.add(args));
    assert_eq!(docs.len(), 1, "{docs:?}");
    docs[0].0.clone()
}

/// Prints `sha256:<hex>` for a command that records one thing; returns the hex.
fn recorded(ws: &Workspace, args: &[&str]) -> String {
    let stdout = ok(ws, args);
    stdout
        .trim_end()
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("{args:?} prints sha256:<id>: {stdout}"))
        .to_string()
}

/// The log size, to show a refused command recorded nothing.
fn size(ws: &Workspace) -> u64 {
    ws.log_size()
}

/// Runs `verify --json --trust FILE --require N`; returns (exit code, report).
fn verify_with(ws: &Workspace, trust: &str, require: usize) -> (i32, Value) {
    let require = require.to_string();
    let (code, stdout, stderr) =
        ws.run(&["verify", "--json", "--trust", trust, "--require", &require]);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("verify printed no JSON ({e}): {stdout} {stderr}"));
    (code, report)
}

fn assert_verifies(ws: &Workspace, trust: &str, require: usize) -> Value {
    let (code, report) = verify_with(ws, trust, require);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true, "{report}");
    assert!(Workspace::problem_codes(&report).is_empty(), "{report}");
    report
}

/// The problems of a report as (code, item) pairs.
fn problems(report: &Value) -> Vec<(String, String)> {
    report["problems"]
        .as_array()
        .expect("problems array")
        .iter()
        .map(|p| {
            (
                p["code"].as_str().expect("code").to_string(),
                p["item"].as_str().expect("item").to_string(),
            )
        })
        .collect()
}

/// The signature statuses of checkpoint `number` in a report, as (name, status).
fn statuses(report: &Value, number: u64) -> Vec<(String, String)> {
    let checkpoint = report["checkpoints"]
        .as_array()
        .expect("checkpoints")
        .iter()
        .find(|c| c["number"] == number)
        .unwrap_or_else(|| panic!("no checkpoint {number} in {report}"));
    checkpoint["signatures"]
        .as_array()
        .expect("signatures")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_string(),
                s["status"].as_str().expect("status").to_string(),
            )
        })
        .collect()
}

fn checkpoint_ok(report: &Value, number: u64) -> bool {
    report["checkpoints"]
        .as_array()
        .expect("checkpoints")
        .iter()
        .find(|c| c["number"] == number)
        .unwrap_or_else(|| panic!("no checkpoint {number} in {report}"))["ok"]
        .as_bool()
        .expect("ok is a boolean")
}

/// Generates an unencrypted key `PREFIX.key` / `PREFIX.pub`; returns the public key line.
fn generate_key(ws: &Workspace, prefix: &str) -> String {
    ok(ws, &["key", "generate", "--out", prefix, "--unencrypted"]);
    read_pub(ws, prefix)
}

fn read_pub(ws: &Workspace, prefix: &str) -> String {
    fs::read_to_string(ws.path(&format!("{prefix}.pub")))
        .expect("read .pub")
        .trim_end()
        .to_string()
}

fn load_key(ws: &Workspace, file: &str) -> SignerKey {
    keyfile::load(
        &ws.path(file),
        || -> evidentia::Result<keyfile::Passphrase> { panic!("test keys are unencrypted") },
    )
    .expect("load key")
}

/// The annotation with `id` (hex) in `annotations --json` output.
fn find_view<'a>(views: &'a Value, id: &str) -> &'a Value {
    views
        .as_array()
        .expect("an array of annotations")
        .iter()
        .find(|v| v["id"] == format!("sha256:{id}"))
        .unwrap_or_else(|| panic!("annotation {id} not listed: {views}"))
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A valid `width` x `height` 8-bit greyscale PNG (all black), zlib with one stored block.
fn tiny_png(width: u32, height: u32) -> Vec<u8> {
    let mut raw = Vec::new();
    for _ in 0..height {
        raw.push(0); // filter: none
        raw.extend(std::iter::repeat_n(0u8, width as usize));
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    let len = raw.len() as u16;
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&len.to_le_bytes());
    zlib.extend_from_slice(&(!len).to_le_bytes());
    zlib.extend_from_slice(&raw);
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // depth 8, greyscale, deflate, filter 0, no interlace
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(&mut png, b"IDAT", &zlib);
    png_chunk(&mut png, b"IEND", &[]);
    png
}

/// A minimal two-page PDF (enough for page counting).
const PDF: &str = "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n\
3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n\
4 0 obj << /Type /Page /Parent 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// A workspace with report.txt, statement.pdf, scene.png (40x30), clip.mp4 and photo.jpg.
fn media_workspace() -> Workspace {
    let ws = Workspace::new();
    ws.write("report.txt", REPORT);
    ws.write("statement.pdf", PDF);
    ws.write("scene.png", tiny_png(40, 30));
    ws.write("clip.mp4", b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom\xff\xfe");
    ws.write("photo.jpg", b"\xff\xd8\xff\xe0\0\x10JFIF\0\xff\xfe\x80");
    let docs = added(&ws.add(&[
        "report.txt",
        "statement.pdf",
        "scene.png",
        "clip.mp4",
        "photo.jpg",
    ]));
    assert_eq!(docs.len(), 5, "{docs:?}");
    ws
}

#[test]
fn every_selector_kind_is_recorded_and_shown() {
    let ws = media_workspace();
    assert_eq!(json(&ws, &["annotations", "--json"]), serde_json::json!([]));
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

    let views = json(&ws, &["annotations", "--json"]);
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
    let only = json(&ws, &["annotations", "scene.png", "--json"]);
    assert_eq!(only.as_array().expect("array").len(), 1, "{only}");
    assert_eq!(only[0]["id"], format!("sha256:{rect}"));

    // Sealing is reflected.
    ws.seal();
    let views = json(&ws, &["annotations", "--json"]);
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

#[test]
fn unknown_targets_and_links_are_refused() {
    let ws = media_workspace();
    let before = size(&ws);
    let err = refused(&ws, &["annotate", "missing.txt", "--body", "b"]);
    assert!(err.contains("missing.txt"), "{err}");
    let nowhere = format!("sha256:{}", "ab".repeat(32));
    let err = refused(
        &ws,
        &[
            "annotate",
            "report.txt",
            "--body",
            "b",
            "--link",
            &format!("corroborates:{nowhere}"),
        ],
    );
    assert!(err.contains(&"ab".repeat(32)), "{err}");
    refused(
        &ws,
        &[
            "annotate",
            "report.txt",
            "--body",
            "b",
            "--link",
            "contradicts:nothing.txt",
        ],
    );
    // The target must be a document, not an annotation.
    let a = annotate(&ws, "report.txt", &["--body", "b"]);
    let err = refused(&ws, &["annotate", &a, "--body", "b"]);
    assert!(err.contains("'annotation' record"), "{err}");
    refused(&ws, &["annotations", &a]);
    refused(&ws, &["annotations", "missing.txt"]);
    assert_eq!(size(&ws), before + 1);
}

#[test]
fn bad_claim_and_link_syntax_is_refused() {
    let ws = media_workspace();
    let before = size(&ws);
    let base = ["annotate", "report.txt", "--body", "b"];
    let with = |extra: &[&str]| {
        let mut all = base.to_vec();
        all.extend_from_slice(extra);
        refused(&ws, &all)
    };
    let err = with(&["--claim", "quantity"]);
    assert!(err.contains("--claim 'quantity'"), "{err}");
    assert!(err.contains("KEY=VALUE"), "{err}");
    with(&["--claim", "=2442"]);
    with(&["--claim", "has space=1"]);
    let err = with(&["--claim", "n=1", "--claim", "n=2"]);
    assert!(err.contains("twice"), "{err}");
    let err = with(&["--link", "report.txt"]);
    assert!(err.contains("--link 'report.txt'"), "{err}");
    assert!(err.contains("RELATION:TARGET"), "{err}");
    let err = with(&["--link", "agrees:report.txt"]);
    assert!(err.contains("corroborates"), "{err}");
    // Two selectors of one kind cannot be given; clap refuses a repeated option too.
    with(&["--page", "1", "--page", "2"]);
    assert_eq!(size(&ws), before);
}

#[test]
fn claims_and_links_are_recorded() {
    let ws = media_workspace();
    let pdf = json(&ws, &["ls", "--json"])
        .as_array()
        .expect("ls array")
        .iter()
        .find(|d| d["path"] == "statement.pdf")
        .expect("statement.pdf listed")["content"]
        .clone();
    let first = annotate(&ws, "statement.pdf", &["--body", "signed statement"]);
    let id = annotate(
        &ws,
        "report.txt",
        &[
            "--body",
            "matches the statement",
            "--claim",
            "quantity=2442",
            "--claim",
            "place=Belarus",
            "--link",
            "corroborates:statement.pdf",
            "--link",
            &format!("derived-from:{}", &first[..16]),
            "--tag",
            "deportation",
            "--tag",
            "children",
        ],
    );
    let views = json(&ws, &["annotations", "report.txt", "--json"]);
    let view = find_view(&views, &id);
    assert_eq!(
        view["claim"],
        serde_json::json!({"place": "Belarus", "quantity": "2442"})
    );
    assert_eq!(
        view["links"],
        serde_json::json!([
            {"relation": "corroborates", "target": pdf},
            {"relation": "derived-from", "target": format!("sha256:{first}")},
        ])
    );
    assert_eq!(view["tags"], serde_json::json!(["deportation", "children"]));
    let human = ok(&ws, &["annotations", "report.txt"]);
    assert!(
        human.contains("claim: place=Belarus, quantity=2442"),
        "{human}"
    );
    assert!(human.contains(&format!("derived-from {first}")), "{human}");
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["annotations"], 2);
}

#[test]
fn supersede_marks_the_old_annotation() {
    let ws = media_workspace();
    let old = annotate(
        &ws,
        "report.txt",
        &["--body", "2,000 children", "--claim", "quantity=2000"],
    );
    // Superseding a document, a custody record or a missing id is refused.
    let err = refused(
        &ws,
        &[
            "annotate",
            "report.txt",
            "--body",
            "b",
            "--link",
            "supersedes:report.txt",
        ],
    );
    assert!(
        err.contains("only an annotation can be superseded"),
        "{err}"
    );
    let custody = recorded(
        &ws,
        &[
            "custody",
            "report.txt",
            "--event",
            "accessed",
            "--actor",
            "X",
        ],
    );
    let err = refused(
        &ws,
        &[
            "annotate",
            "report.txt",
            "--body",
            "b",
            "--link",
            &format!("supersedes:{custody}"),
        ],
    );
    assert!(err.contains("'custody' record"), "{err}");

    let new = annotate(
        &ws,
        "report.txt",
        &[
            "--body",
            "2,442 children",
            "--claim",
            "quantity=2442",
            "--link",
            &format!("supersedes:{old}"),
        ],
    );
    let views = json(&ws, &["annotations", "--json"]);
    let old_view = find_view(&views, &old);
    assert_eq!(old_view["state"]["status"], "superseded", "{old_view}");
    assert_eq!(old_view["state"]["by"], format!("sha256:{new}"));
    assert_eq!(find_view(&views, &new)["state"]["status"], "active");
    let human = ok(&ws, &["annotations"]);
    assert!(
        human.contains(&format!("sha256:{old}  [superseded by {}]", &new[..12])),
        "{human}"
    );
    let ld = json(&ws, &["annotations", "--jsonld"]);
    let old_ld = ld["first"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == format!("urn:sha256:{old}"))
        .expect("old annotation in JSON-LD");
    assert!(
        old_ld["evidentia:state"]
            .as_str()
            .expect("state")
            .starts_with("superseded"),
        "{old_ld}"
    );
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
}

#[test]
fn retracted_annotation_and_document_stay_listed_and_verify() {
    let ws = media_workspace();
    let note = annotate(&ws, "report.txt", &["--body", "wrong page cited"]);
    ws.seal();
    let retraction = recorded(&ws, &["retract", &note, "--reason", "misread the source"]);
    let views = json(&ws, &["annotations", "--json"]);
    let view = find_view(&views, &note);
    assert_eq!(view["state"]["status"], "retracted", "{view}");
    assert_eq!(view["state"]["reason"], "misread the source");
    assert_eq!(view["state"]["by"], format!("sha256:{retraction}"));
    assert_eq!(view["body"], "wrong page cited", "the record is intact");
    assert_eq!(
        view["sealed"]["checkpoint"], 1,
        "still proven by checkpoint 1"
    );
    let human = ok(&ws, &["annotations"]);
    assert!(
        human.contains(&format!("sha256:{note}  [RETRACTED: misread the source]")),
        "{human}"
    );

    // A document: its record is withdrawn but stays, with its content.
    let docs = json(&ws, &["ls", "--json"]);
    let photo = docs
        .as_array()
        .expect("ls array")
        .iter()
        .find(|d| d["path"] == "photo.jpg")
        .expect("photo listed")
        .clone();
    let record = photo["record"].as_str().expect("record id").to_string();
    let doc_retraction = recorded(&ws, &["retract", "photo.jpg", "--reason", "duplicate"]);
    let history = json(&ws, &["history", "photo.jpg", "--json"]);
    let retracted = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["event"] == "retracted")
        .unwrap_or_else(|| panic!("no retracted event: {history}"));
    assert_eq!(retracted["record"], format!("sha256:{doc_retraction}"));
    assert!(
        retracted["detail"]
            .as_str()
            .expect("detail")
            .ends_with(": duplicate"),
        "{retracted}"
    );
    let record_hex = record.trim_start_matches("sha256:");
    assert!(
        retracted["detail"]
            .as_str()
            .expect("detail")
            .starts_with(&record_hex[..12]),
        "names the withdrawn document record: {retracted}"
    );
    let docs = json(&ws, &["ls", "--json"]);
    assert!(
        docs.as_array()
            .expect("ls array")
            .iter()
            .any(|d| d["path"] == "photo.jpg"),
        "a retracted document is still listed: {docs}"
    );
    let content = photo["content"].as_str().expect("content");
    ok(&ws, &["cat", content.trim_start_matches("sha256:")]);

    // Only documents and annotations can be retracted; unknown ids are refused.
    let custody = recorded(
        &ws,
        &["custody", "report.txt", "--event", "copied", "--actor", "X"],
    );
    let err = refused(&ws, &["retract", &custody, "--reason", "r"]);
    assert!(err.contains("only documents and annotations"), "{err}");
    refused(&ws, &["retract", "nothing.txt", "--reason", "r"]);
    refused(&ws, &["retract", &retraction, "--reason", "r"]);

    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "retracted records still verify: {report}");
    assert_eq!(report["retractions"], 2);
    assert_eq!(report["annotations"], 1);
    assert_eq!(report["documents"], 5);
}

#[test]
fn history_lists_an_item_in_time_order() {
    let ws = Workspace::new();
    ws.write("report.txt", REPORT);
    ws.write("photo.txt", "Photo caption: buses at the border.\n");
    add_one(
        &ws,
        &[
            "report.txt",
            "--collected-at",
            "2022-03-09T08:30:00+02:00",
            "--collector",
            "O. Field",
            "--source-url",
            "https://example.org/report",
        ],
    );
    add_one(&ws, &["photo.txt"]);
    ok(
        &ws,
        &[
            "custody",
            "report.txt",
            "--event",
            "received",
            "--actor",
            "Desk",
            "--from",
            "O. Field",
            "--to",
            "Desk",
            "--at",
            "2022-03-10T12:00:00Z",
        ],
    );
    ws.seal();
    let note = annotate(
        &ws,
        "report.txt",
        &[
            "--body",
            "count",
            "--analyst",
            "A. Analyst",
            "--claim",
            "quantity=2442",
        ],
    );
    annotate(
        &ws,
        "photo.txt",
        &["--body", "same event", "--link", "corroborates:report.txt"],
    );
    ok(
        &ws,
        &[
            "custody",
            "report.txt",
            "--event",
            "accessed",
            "--actor",
            "Court clerk",
        ],
    );
    ok(
        &ws,
        &["retract", &note, "--reason", "superseded by expert report"],
    );
    ws.seal();

    let history = json(&ws, &["history", "report.txt", "--json"]);
    assert_eq!(history["paths"], serde_json::json!(["report.txt"]));
    let events = history["events"].as_array().expect("events");
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().expect("event"))
        .collect();
    assert_eq!(
        names,
        [
            "collected",
            "received",
            "ingested",
            "sealed",
            "annotated",
            "linked",
            "accessed",
            "retracted",
            "sealed"
        ],
        "{history}"
    );
    let times: Vec<&str> = events
        .iter()
        .map(|e| e["time"].as_str().expect("time"))
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "canonical UTC times sort as text");
    assert_eq!(times[0], "2022-03-09T06:30:00Z");
    assert_eq!(times[1], "2022-03-10T12:00:00Z");
    let detail = |i: usize| events[i]["detail"].as_str().expect("detail");
    assert!(detail(0).contains("by O. Field"), "{}", detail(0));
    assert!(detail(0).contains("https://example.org/report"));
    assert!(
        detail(1).contains("by Desk from O. Field to Desk"),
        "{}",
        detail(1)
    );
    assert!(detail(3).starts_with("checkpoint 1 "), "{}", detail(3));
    assert!(
        detail(3).contains("covers 2 of this item's records"),
        "{}",
        detail(3)
    );
    assert!(
        detail(4).contains("A. Analyst: count [quantity=2442]"),
        "{}",
        detail(4)
    );
    assert!(detail(5).contains("corroborates"), "{}", detail(5));
    assert!(detail(6).contains("Court clerk"), "{}", detail(6));
    assert!(
        detail(7).contains("superseded by expert report"),
        "{}",
        detail(7)
    );
    assert!(detail(8).starts_with("checkpoint 2 "), "{}", detail(8));
    assert!(events[3]["record"].is_null());

    let human = ok(&ws, &["history", "report.txt"]);
    assert!(human.starts_with("history of sha256:"), "{human}");
    let lines: Vec<&str> = human.lines().skip(1).collect();
    assert_eq!(lines.len(), 9, "{human}");
    assert!(
        lines[0].starts_with("2022-03-09T06:30:00Z  collected"),
        "{human}"
    );

    // Only documents have histories.
    refused(&ws, &["history", &note]);
    refused(&ws, &["history", "nothing.txt"]);
}

#[test]
fn custody_with_several_targets() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    ws.write("b.txt", "Witness B.\n");
    ws.write("c.txt", "Witness C.\n");
    let a = add_one(&ws, &["a.txt"]);
    add_one(&ws, &["b.txt"]);
    add_one(&ws, &["c.txt"]);
    let before = size(&ws);
    ok(
        &ws,
        &[
            "custody",
            "a.txt",
            "b.txt",
            &a[..10],
            "--event",
            "transferred",
            "--actor",
            "Courier 7",
            "--from",
            "Field office",
            "--to",
            "The Hague",
            "--note",
            "sealed bag 42",
            "--at",
            "2023-05-01T14:00:00+02:00",
        ],
    );
    assert_eq!(size(&ws), before + 1, "one record for all targets");
    for (path, expected) in [("a.txt", 1), ("b.txt", 1), ("c.txt", 0)] {
        let history = json(&ws, &["history", path, "--json"]);
        let transfers: Vec<&Value> = history["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["event"] == "transferred")
            .collect();
        assert_eq!(transfers.len(), expected, "{path}: {history}");
        if let Some(t) = transfers.first() {
            assert_eq!(t["time"], "2023-05-01T12:00:00Z");
            assert_eq!(
                t["detail"],
                "by Courier 7 from Field office to The Hague: sealed bag 42"
            );
        }
    }
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["custody_events"], 1);
}

#[test]
fn custody_event_names_are_validated() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    let before = size(&ws);
    for event in ["ingested", "exported", "stolen", "Received", ""] {
        let err = refused(&ws, &["custody", "a.txt", "--event", event, "--actor", "X"]);
        assert!(err.contains(&format!("--event '{event}'")), "{err}");
        assert!(err.contains("received, transferred"), "{err}");
    }
    let err = refused(
        &ws,
        &[
            "custody",
            "a.txt",
            "--event",
            "received",
            "--actor",
            "X",
            "--at",
            "yesterday",
        ],
    );
    assert!(err.contains("--at 'yesterday'"), "{err}");
    // One unknown target refuses the whole event.
    let err = refused(
        &ws,
        &[
            "custody", "a.txt", "b.txt", "--event", "received", "--actor", "X",
        ],
    );
    assert!(err.contains("b.txt"), "{err}");
    // An annotation is not something held in custody.
    let note = annotate(&ws, "a.txt", &["--body", "b"]);
    refused(
        &ws,
        &["custody", &note, "--event", "accessed", "--actor", "X"],
    );
    refused(&ws, &["custody", "a.txt", "--event", "received"]);
    assert_eq!(size(&ws), before + 1, "only the annotation was recorded");
    for event in [
        "received",
        "transferred",
        "accessed",
        "copied",
        "redacted",
        "other",
    ] {
        ok(&ws, &["custody", "a.txt", "--event", event, "--actor", "X"]);
    }
    assert_eq!(size(&ws), before + 7);
}

/// A workspace with one document, sealed by `signer.key` and `second.key` together.
fn cosigned() -> Workspace {
    let ws = Workspace::new();
    generate_key(&ws, "second");
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    let out = ok(&ws, &["seal", "--key", "signer.key", "--key", "second.key"]);
    assert!(out.starts_with("checkpoint 1: 1 records"), "{out}");
    assert_eq!(out.matches("signed by").count(), 2, "{out}");
    ws
}

#[test]
fn two_signatures_meet_require_two() {
    let ws = cosigned();
    let both = format!(
        "{} signer=\"Sealing officer\" roles=sealing\n{}\n",
        read_pub(&ws, "signer"),
        read_pub(&ws, "second")
    );
    ws.write("both.trust", both);
    let report = assert_verifies(&ws, "both.trust", 2);
    assert_eq!(report["required_signatures"], 2);
    assert_eq!(
        statuses(&report, 1),
        [
            ("signer".to_string(), "valid".to_string()),
            ("second".to_string(), "valid".to_string())
        ]
    );
    assert_eq!(
        report["checkpoints"][0]["signatures"][0]["signer"],
        "Sealing officer"
    );

    // One trusted key is not two.
    let (code, report) = verify_with(&ws, "signer.pub", 2);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [(
            "signatures-insufficient".to_string(),
            "checkpoint 1".to_string()
        )]
    );
    assert_eq!(statuses(&report, 1)[1].1, "unknown-key");
    // Nor are two keys three.
    let (code, report) = verify_with(&ws, "both.trust", 3);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        ["signatures-insufficient"]
    );
    // One is enough when one is required.
    assert_verifies(&ws, "signer.pub", 1);
    assert_verifies(&ws, "second.pub", 1);
}

#[test]
fn trust_validity_window_in_the_past_rejects_signatures() {
    let ws = cosigned();
    let signer = read_pub(&ws, "signer");
    ws.write(
        "expired.trust",
        format!("{signer} valid-before=2020-01-01T00:00:00Z\n"),
    );
    let (code, report) = verify_with(&ws, "expired.trust", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [("signature-missing".to_string(), "checkpoint 1".to_string())]
    );
    assert_eq!(statuses(&report, 1)[0].1, "outside-validity");
    let (code, stdout, _) = ws.run(&["verify", "--trust", "expired.trust"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("outside its validity window"), "{stdout}");

    // Not yet valid is also outside the window.
    ws.write(
        "future.trust",
        format!("{signer} valid-after=9000-01-01T00:00:00Z\n"),
    );
    let (code, report) = verify_with(&ws, "future.trust", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(statuses(&report, 1)[0].1, "outside-validity");

    // The control: a window that holds the checkpoint.
    ws.write(
        "window.trust",
        format!("{signer} valid-after=2020-01-01T00:00:00Z valid-before=9000-01-01T00:00:00Z\n"),
    );
    assert_verifies(&ws, "window.trust", 1);

    // Malformed attributes are bad input, not a failed verification.
    ws.write("bad.trust", format!("{signer} valid-before=soon\n"));
    let (code, _, stderr) = ws.run(&["verify", "--trust", "bad.trust"]);
    assert_eq!(code, 2, "{stderr}");
    ws.write("unknown.trust", format!("{signer} colour=red\n"));
    let (code, _, stderr) = ws.run(&["verify", "--trust", "unknown.trust"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("colour"), "{stderr}");
}

#[test]
fn introduced_key_verifies() {
    let ws = Workspace::new();
    let officer = generate_key(&ws, "officer");
    let id = recorded(&ws, &["key", "introduce", "--key", "officer.key"]);
    let shown = json(&ws, &["show", &id, "--json"]);
    assert_eq!(shown["kind"], "key", "{shown}");
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ok(&ws, &["seal", "--key", "officer.key"]);
    ws.write("officer.trust", format!("{officer}\n"));
    let report = assert_verifies(&ws, "officer.trust", 1);
    assert_eq!(report["key_events"], 1);
    assert_eq!(statuses(&report, 1), [("officer".into(), "valid".into())]);
    // The workspace's other key was never introduced nor used: trusting it alone fails.
    let (code, report) = verify_with(&ws, "signer.pub", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(Workspace::problem_codes(&report), ["signature-missing"]);
    // Without a trust file the archive's own keys (introduced ones included) are used.
    let (code, stdout, stderr) = ws.run(&["verify", "--json"]);
    assert_eq!(code, 0, "{stdout} {stderr}");
}

#[test]
fn rotation_carries_trust_to_the_new_key() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ws.seal();
    generate_key(&ws, "successor");
    let rotation = recorded(
        &ws,
        &[
            "key",
            "rotate",
            "--old",
            "signer.key",
            "--new",
            "successor.pub",
        ],
    );
    ws.write("b.txt", "Witness B.\n");
    add_one(&ws, &["b.txt"]);
    ok(&ws, &["seal", "--key", "successor.key"]);

    // Only the OLD key is trusted, with attributes; trust follows the endorsed rotation.
    ws.write(
        "old.trust",
        format!("{} signer=\"Sealing officer\"\n", read_pub(&ws, "signer")),
    );
    let report = assert_verifies(&ws, "old.trust", 1);
    assert_eq!(report["key_events"], 1);
    assert_eq!(statuses(&report, 2), [("successor".into(), "valid".into())]);
    assert_eq!(
        report["checkpoints"][1]["signatures"][0]["signer"], "Sealing officer",
        "the new key inherits what the trust file says of the old"
    );
    let shown = ok(&ws, &["show", &rotation]);
    assert!(shown.contains("kind:           key"), "{shown}");

    // The old key alone may no longer sign.
    ws.write("c.txt", "Witness C.\n");
    add_one(&ws, &["c.txt"]);
    ws.seal();
    let (code, report) = verify_with(&ws, "old.trust", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [("signature-missing".to_string(), "checkpoint 3".to_string())]
    );
    assert_eq!(statuses(&report, 3), [("signer".into(), "revoked".into())]);
    assert!(checkpoint_ok(&report, 1), "sealed before the rotation");
    assert!(checkpoint_ok(&report, 2));
}

#[test]
fn revoked_key_fails_later_checkpoints_only() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ws.seal();
    ok(
        &ws,
        &["key", "revoke", "signer.pub", "--reason", "laptop stolen"],
    );
    // Checkpoint 1 predates the revocation.
    let report = assert_verifies(&ws, "signer.pub", 1);
    assert_eq!(report["key_events"], 1);
    assert_eq!(report["unsealed_records"], 1);

    ws.write("b.txt", "Witness B.\n");
    add_one(&ws, &["b.txt"]);
    ws.seal();
    let (code, report) = verify_with(&ws, "signer.pub", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [("signature-missing".to_string(), "checkpoint 2".to_string())]
    );
    assert_eq!(statuses(&report, 2), [("signer".into(), "revoked".into())]);
    assert_eq!(statuses(&report, 1), [("signer".into(), "valid".into())]);
    assert!(checkpoint_ok(&report, 1));
    let (code, text) = ws.verify_text();
    assert_eq!(code, 1);
    assert!(text.contains("revoked or rotated out"), "{text}");
}

#[test]
fn revocation_effective_in_the_past_rejects_earlier_checkpoints() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ws.seal();
    assert_verifies(&ws, "signer.pub", 1);
    ok(
        &ws,
        &[
            "key",
            "revoke",
            "signer.pub",
            "--reason",
            "compromised since 2020",
            "--effective",
            "2020-01-01T00:00:00Z",
        ],
    );
    let (code, report) = verify_with(&ws, "signer.pub", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(statuses(&report, 1), [("signer".into(), "revoked".into())]);
    refused(
        &ws,
        &[
            "key",
            "revoke",
            "signer.pub",
            "--reason",
            "r",
            "--effective",
            "last week",
        ],
    );
}

/// Appends a key record through the library, exactly as the archive's own writers do.
fn append_key_record(ws: &Workspace, record: KeyRecord) -> String {
    let archive = Archive::open(&ws.archive()).expect("open archive");
    let lock = archive.lock().expect("lock");
    let mut log = archive.log().expect("log");
    let ids = append_records(&archive, &lock, &mut log, &[Record::Key(Box::new(record))])
        .expect("append");
    ids[0].to_hex()
}

#[test]
fn forged_rotation_endorsement_is_reported() {
    let ws = Workspace::new();
    ws.write("a.txt", "Witness A.\n");
    add_one(&ws, &["a.txt"]);
    ws.seal();
    generate_key(&ws, "successor");
    generate_key(&ws, "mallory");
    assert_verifies(&ws, "signer.pub", 1);

    let origin = Archive::open(&ws.archive())
        .expect("open")
        .origin()
        .to_string();
    let old = load_key(&ws, "signer.key").verifier();
    let new = load_key(&ws, "successor.key").verifier();
    let mallory = load_key(&ws, "mallory.key");
    // Endorsed by the wrong key: mallory signs what only the old key may sign.
    let message = key_event_message(&origin, KeyAction::Rotate, &new, Some(&old));
    let id = append_key_record(
        &ws,
        KeyRecord {
            header: Header::now(),
            action: KeyAction::Rotate,
            key: new,
            previous: Some(old),
            endorsement: Some(mallory.sign(&message)),
            reason: None,
            effective: None,
        },
    );
    ok(&ws, &["seal", "--key", "successor.key"]);
    let (code, report) = verify_with(&ws, "signer.pub", 1);
    assert_eq!(code, 1, "{report}");
    let found = problems(&report);
    assert!(
        found.contains(&(
            "key-endorsement-invalid".to_string(),
            format!("record #1 ({id})")
        )),
        "{report}"
    );
    // The forged rotation does not move trust: checkpoint 2 has no trusted signature.
    assert!(
        found.contains(&("signature-missing".to_string(), "checkpoint 2".to_string())),
        "{report}"
    );
    assert_eq!(
        statuses(&report, 2),
        [("successor".into(), "unknown-key".into())]
    );
    assert!(checkpoint_ok(&report, 1));
}

#[test]
fn forged_introduction_endorsement_is_reported() {
    let ws = Workspace::new();
    generate_key(&ws, "officer");
    let officer = load_key(&ws, "officer.key").verifier();
    let signer = load_key(&ws, "signer.key");
    let origin = Archive::open(&ws.archive())
        .expect("open")
        .origin()
        .to_string();
    // Proof of possession by another key is no proof.
    let message = key_event_message(&origin, KeyAction::Introduce, &officer, None);
    let id = append_key_record(
        &ws,
        KeyRecord {
            header: Header::now(),
            action: KeyAction::Introduce,
            key: officer,
            previous: None,
            endorsement: Some(signer.sign(&message)),
            reason: None,
            effective: None,
        },
    );
    ws.seal();
    let (code, report) = verify_with(&ws, "signer.pub", 1);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        [(
            "key-endorsement-invalid".to_string(),
            format!("record #0 ({id})")
        )]
    );
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create directory");
    for entry in fs::read_dir(from).expect("read fixture directory") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

#[test]
fn v1_sample_archive_still_verifies() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/archives");
    let archive = fixtures.join("v1-sample");
    if !archive.is_dir() {
        eprintln!("skipped: {} does not exist yet", archive.display());
        return;
    }
    let ws = Workspace::bare();
    let copy = ws.path("v1-sample");
    copy_tree(&archive, &copy);
    let trust = fixtures.join("v1-sample.trust");
    let copy_arg = copy.to_string_lossy().into_owned();
    let trust_arg = trust.to_string_lossy().into_owned();
    let (code, stdout, stderr) = ws.run(&[
        "--archive",
        &copy_arg,
        "verify",
        "--json",
        "--trust",
        &trust_arg,
    ]);
    assert_eq!(code, 0, "{stdout} {stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["ok"], true, "{report}");
    assert!(Workspace::problem_codes(&report).is_empty(), "{report}");
    assert!(
        !report["checkpoints"]
            .as_array()
            .expect("checkpoints")
            .is_empty(),
        "the fixture is sealed: {report}"
    );
}
