//! Claims and links on annotations: unknown targets and bad syntax are refused, good ones recorded.

use super::*;

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
    let pdf = json(&ws, &["ls", "--json"])["documents"]
        .take()
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
    let views = json(&ws, &["annotations", "report.txt", "--json"])["annotations"].take();
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
