//! Tests of the report page.

use std::collections::BTreeMap;

use super::annotation::clock;
use super::*;
use crate::bundle::manifest::{DisclosedDocument, Withheld};
use crate::core::note::NoteSignature;
use crate::core::record::{Collection, CustodyEvent, Header, Link, Relation};
use crate::verification::Finding;

const HOSTILE: &str = "<script>alert('x')</script><img src=http://evil.example/x>";

fn header(at: &str) -> Header {
    let recorded_at = Timestamp::parse_canonical(at).unwrap();
    Header {
        salt: [7; 16],
        recorded_at,
    }
}

fn doc(path: &str, bytes: &[u8]) -> Record {
    let collection = Collection {
        source_url: Some(format!("https://example.org/{HOSTILE}")),
        collector: Some(HOSTILE.into()),
        note: Some(format!("line one\n{HOSTILE}")),
        tags: vec![HOSTILE.into()],
        ..Collection::default()
    };
    Record::Document(Box::new(DocumentRecord {
        header: header("2024-01-02T03:04:05Z"),
        content: Digest::of(bytes),
        size: bytes.len() as u64,
        media_type: "text/plain".into(),
        path: path.into(),
        original_name: HOSTILE.into(),
        original_path: None,
        encryption: None,
        collection,
    }))
}

fn annotation(target: Digest, links: Vec<Link>) -> Record {
    Record::Annotation(Box::new(AnnotationRecord {
        header: header("2024-01-03T00:00:00Z"),
        target,
        selectors: vec![Selector::TextQuote {
            exact: HOSTILE.into(),
            prefix: Some(HOSTILE.into()),
            suffix: None,
        }],
        body: HOSTILE.into(),
        tags: Vec::new(),
        claim: BTreeMap::from([("quantity".to_string(), HOSTILE.to_string())]),
        links,
        analyst: Some(HOSTILE.into()),
        sealed: None,
    }))
}

/// A bundle of two documents: the first annotated three times (one annotation retracted,
/// one superseding another), with a custody event dated before its ingest.
fn sample() -> Vec<(u64, Digest, Record)> {
    let (a, b) = (doc("case/a.txt", b"first"), doc("case/b.txt", b"second"));
    let (ca, cb) = (Digest::of(b"first"), Digest::of(b"second"));
    let old = annotation(ca, vec![]);
    let old_id = Digest::of(b"old annotation");
    let supersedes = Link {
        relation: Relation::Supersedes,
        target: old_id,
    };
    let contradicts = Link {
        relation: Relation::Contradicts,
        target: cb,
    };
    let undisclosed = Link {
        relation: Relation::Corroborates,
        target: Digest::of(b"hidden"),
    };
    let new = annotation(ca, vec![supersedes, contradicts, undisclosed]);
    let custody = Record::Custody(Box::new(CustodyRecord {
        header: header("2024-02-01T00:00:00Z"),
        targets: vec![ca, cb],
        event: CustodyEvent::Transferred,
        actor: HOSTILE.into(),
        from: Some(HOSTILE.into()),
        to: Some("Archive unit".into()),
        note: Some(HOSTILE.into()),
        at: Some(Timestamp::parse_canonical("2023-12-31T00:00:00Z").unwrap()),
        sealed: None,
    }));
    let retraction = Record::Retraction(Box::new(RetractionRecord {
        header: header("2024-03-01T00:00:00Z"),
        target: Digest::of(b"new annotation"),
        reason: format!("wrong figure {HOSTILE}"),
    }));
    let ids = [
        "a",
        "b",
        "old annotation",
        "new annotation",
        "custody",
        "retraction",
    ];
    let records = [a, b, old, new, custody, retraction];
    let entries = ids.iter().zip(records).enumerate();
    entries
        .map(|(i, (id, r))| (i as u64, Digest::of(id.as_bytes()), r))
        .collect()
}

/// The checkpoint every rendered sample is proven in.
fn sample_checkpoint() -> Checkpoint {
    Checkpoint {
        origin: HOSTILE.into(),
        size: 40,
        root: Digest::of(b"root"),
        number: 3,
        previous: Some(Digest::of(b"previous")),
        time: Timestamp::parse_canonical("2024-03-02T00:00:00Z").unwrap(),
        refs: None,
        message: Some(HOSTILE.into()),
    }
}

/// The one page of a small bundle.
fn render_with(records: &[(u64, Digest, Record)], verdict: &BundleReport) -> String {
    let mut pages = render_pages(records, verdict);
    assert_eq!(pages.len(), 1, "a small bundle keeps one page");
    let (name, html) = pages.remove(0);
    assert_eq!(name, "report.html");
    for d in records.iter().filter_map(|(_, _, r)| match r {
        Record::Document(d) => Some(d.content.to_hex()),
        _ => None,
    }) {
        assert!(html.contains(&d), "digest {d} missing");
    }
    html
}

/// Every file of the report: (bundle-relative name, HTML).
fn render_pages(
    records: &[(u64, Digest, Record)],
    verdict: &BundleReport,
) -> Vec<(String, String)> {
    render_pages_with(records, verdict, Vec::new(), &HashMap::new())
}

/// The same, for a bundle with consistency proofs from earlier checkpoints.
fn render_pages_with(
    records: &[(u64, Digest, Record)],
    verdict: &BundleReport,
    consistency: Vec<crate::bundle::manifest::ConsistencyEntry>,
    images: &HashMap<Digest, (u64, u64)>,
) -> Vec<(String, String)> {
    let documents = records
        .iter()
        .filter_map(|(_, id, r)| match r {
            Record::Document(d) => Some(DisclosedDocument {
                record: id.to_hex(),
                content: d.content.to_hex(),
                size: d.size,
                path: d.path.clone(),
                file: format!("data/documents/{}", d.path),
                decrypted: None,
            }),
            _ => None,
        })
        .collect();
    let manifest = BundleManifest {
        format: "evidentia-bundle/1".into(),
        origin: HOSTILE.into(),
        checkpoint: 3,
        tree_size: 40,
        exported_at: "2024-04-01T00:00:00Z".into(),
        recipient: Some(HOSTILE.into()),
        records: Vec::new(),
        documents,
        consistency,
        completeness: None,
        encryption: None,
        sealed: Vec::new(),
        withheld: Withheld {
            annotations: 2,
            custody_events: 0,
            retractions: 0,
        },
    };
    let checkpoint = sample_checkpoint();
    let signatures = vec![NoteSignature {
        name: HOSTILE.into(),
        key_id: [1; 4],
        signature: vec![0; 64],
    }];
    let note = SignedNote {
        text: checkpoint.to_text(),
        signatures,
    };
    let input = ReportInput {
        manifest: &manifest,
        checkpoint: &checkpoint,
        note: &note,
        records,
        verdict,
        images,
    };
    let pages = render(&input);
    // The pictures verify accepts: the documents shown as images (the test says which).
    let shown: std::collections::HashSet<String> = (manifest.documents.iter())
        .filter(|d| Digest::from_hex(&d.record).is_some_and(|id| images.contains_key(&id)))
        .map(|d| inert::image_src(&d.file))
        .collect();
    for (name, html) in &pages {
        let allowed = inert::Images {
            files: &shown,
            detail_page: name != "report.html",
        };
        assert_eq!(
            inert::check_page(html, &allowed),
            Ok(()),
            "{name} holds what a report may not"
        );
    }
    pages
}

#[test]
fn every_digest_and_the_checkpoint_hash_appear() {
    let records = sample();
    let html = render_with(&records, &BundleReport::pending());
    assert!(html.contains(&Digest::of(b"first").to_hex()));
    assert!(html.contains(&Digest::of(b"second").to_hex()));
    assert!(html.contains(&Digest::of(b"root").to_hex()));
    assert!(
        html.contains(&Digest::of(b"hidden").to_hex()),
        "undisclosed link target"
    );
    assert!(html.contains("Sender's self-check at export: not yet run"));
    assert!(html.contains("not yet checked"));
    assert!(html.contains("2 annotation(s)"), "withheld counts");
}

#[test]
fn hostile_text_is_escaped_everywhere() {
    let html = render_with(&sample(), &BundleReport::pending());
    assert!(!html.contains("<script"), "a raw script tag got through");
    assert!(!html.contains("<img"), "a raw img tag got through");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    // The only links are anchors within the page: nothing is fetched or followed.
    assert_eq!(
        html.matches("href=\"").count(),
        html.matches("href=\"#").count()
    );
    // Every tag is one the report writes itself: none loads, runs or embeds anything.
    const ALLOWED: &str = " !DOCTYPE html head meta title style body header footer section \
        div p h1 h2 h3 h4 a span strong code blockquote ul ol li table thead tbody tr th td br ";
    for tag in html.split('<').skip(1) {
        let name = tag.trim_start_matches('/');
        let name = name
            .split(|c: char| c.is_whitespace() || c == '>')
            .next()
            .unwrap();
        assert!(
            ALLOWED.contains(&format!(" {name} ")),
            "unexpected tag <{name}>"
        );
    }
}

#[test]
fn retractions_supersessions_links_and_custody_order_are_shown() {
    let html = render_with(&sample(), &BundleReport::pending());
    assert!(html.contains("RETRACTED"));
    assert!(html.contains("wrong figure &lt;script&gt;"));
    assert!(html.contains("SUPERSEDED</span>"));
    assert!(html.contains("Superseded</strong> by <a href=\"#r3\">annotation #3</a>"));
    assert!(html.contains("<strong>contradicts</strong> <a href=\"#r1\">case/b.txt</a>"));
    // The transfer (dated 2023-12-31) comes before the ingest (2024-01-02) in document a.
    let a = html.find("id=\"r0\"").unwrap();
    let transfer = a + html[a..].find("transferred").unwrap();
    let ingest = a + html[a..].find("ingested").unwrap();
    assert!(transfer < ingest);
}

#[test]
fn the_page_says_the_sender_wrote_it_and_how_to_verify() {
    let records = sample();
    let mut passed = BundleReport::pending();
    passed.core.verdict = crate::verdict::Verdict::IntactUnauthenticated;
    passed.core.not_proven.clear();
    passed.core.proven.push("the documents are intact".into());
    let html = render_with(&records, &passed);
    // The sender's check is shown as the sender's, never as a verdict.
    assert!(html.contains("Sender's self-check at export: every check passed"));
    assert!(!html.contains("VERIFIED"), "the page claims a verdict");
    assert!(!html.contains("verdict ok"), "a green box");
    // First the notice, then the self-check.
    let notice = html
        .find("Written by the sender: this page is not a verification")
        .expect("notice");
    assert!(notice < html.find("Sender's self-check").unwrap());
    // The exact command, with this checkpoint's hash, and the hash to confirm out of band.
    let hash = sample_checkpoint().text_hash().to_hex();
    let command = format!(
        "evidentia verify &lt;bundle&gt; --trust &lt;your trust file&gt; --checkpoint-hash {hash}"
    );
    let at = html.find(&command).expect("the command to run");
    assert!(at > notice && at < html.find("Sender's self-check").unwrap());
    assert!(html.contains(&format!("<span class=\"mono\">{hash}</span>")));
    let mut failed = BundleReport::pending();
    failed.core.findings.push(Finding::problem(
        HOSTILE,
        "payload-corrupt",
        "hashes differ",
    ));
    let html = render_with(&records, &failed);
    assert!(html.contains("Sender's self-check at export: FAILED"));
    assert!(html.contains("payload-corrupt") && !html.contains("<script"));
}

#[test]
fn clocks_and_sizes_read_well() {
    assert_eq!(clock(3_723_004), "1:02:03.004");
    assert_eq!(bytes(512), "512 bytes");
    assert_eq!(bytes(1536), "1.5 KiB");
}

mod paged;
mod print;
mod thumbnail;
