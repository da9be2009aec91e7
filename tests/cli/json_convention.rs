//! The one JSON convention (docs/JSON.md), checked on every `--json` output of a small case
//! that has every record kind, two checkpoints, a bundle, proofs, a mirror and a fork: a
//! top-level object tagged `format`, every digest `sha256:<hex>`, every signer
//! `{"name", "key_id"}`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::Workspace;

/// Fields that hold signers (or signature reports, which extend the signer object).
const SIGNER_FIELDS: &[&str] = &[
    "signers",
    "signed_both",
    "signers_added",
    "signers_removed",
    "witnesses",
    "signatures",
    "signatures_from",
    "signatures_to",
];

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A signed-note key name: no '+', no white space.
fn is_key_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.contains(char::is_whitespace)
}

/// `evidentia-<lowercase letters and dashes>/<number>`.
fn is_format_tag(text: &str) -> bool {
    let Some((what, version)) = text
        .strip_prefix("evidentia-")
        .and_then(|rest| rest.split_once('/'))
    else {
        return false;
    };
    !what.is_empty()
        && what.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        && !version.is_empty()
        && version.bytes().all(|b| b.is_ascii_digit())
}

/// What the walk saw, to show the test reached what it checks.
#[derive(Default)]
struct Seen {
    digests: usize,
    signers: usize,
    violations: Vec<String>,
}

impl Seen {
    fn walk(&mut self, at: &str, value: &Value, jsonld: bool) {
        match value {
            Value::String(text) => self.string(at, text, jsonld),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.walk(&format!("{at}[{i}]"), item, jsonld);
                }
            }
            Value::Object(map) => {
                for (key, field) in map {
                    let here = format!("{at}.{key}");
                    if SIGNER_FIELDS.contains(&key.as_str()) {
                        self.signers(&here, field);
                    }
                    self.walk(&here, field, jsonld);
                }
            }
            _ => {}
        }
    }

    fn string(&mut self, at: &str, text: &str, jsonld: bool) {
        // JSON-LD identifies resources by IRI: the digest URN is its form of the convention.
        let digest = match text.strip_prefix("urn:sha256:") {
            Some(hex) if jsonld => Some(hex),
            _ => text.strip_prefix("sha256:"),
        };
        match digest {
            Some(hex) if is_hex(hex, 64) => self.digests += 1,
            Some(_) => self
                .violations
                .push(format!("{at}: malformed digest {text:?}")),
            None if is_hex(text, 64) => self
                .violations
                .push(format!("{at}: bare digest {text:?} (write sha256:<hex>)")),
            // The old `name+keyid` form of a signer: one way only.
            None if text
                .rsplit_once('+')
                .is_some_and(|(name, id)| is_key_name(name) && is_hex(id, 8)) =>
            {
                self.violations
                    .push(format!("{at}: signer as a string {text:?}"))
            }
            None => {}
        }
    }

    fn signers(&mut self, at: &str, field: &Value) {
        let Some(items) = field.as_array() else {
            self.violations.push(format!("{at}: signers not a list"));
            return;
        };
        for item in items {
            let named = item["name"].as_str().is_some_and(|n| !n.is_empty());
            let keyed = item["key_id"].as_str().is_some_and(|id| is_hex(id, 8));
            if named && keyed {
                self.signers += 1;
            } else {
                self.violations
                    .push(format!("{at}: not a signer object: {item}"));
            }
        }
    }
}

/// Runs one command that prints JSON; returns the document.
fn json_of(ws: &Workspace, args: &[&str]) -> Value {
    let (_, stdout, stderr) = ws.run(args);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {stdout} {stderr}"))
}

fn ok(ws: &Workspace, args: &[&str]) {
    let (code, stdout, stderr) = ws.run(args);
    assert_eq!(code, 0, "{args:?}: {stdout} {stderr}");
}

/// Documents, a new version, an annotation with a link, custody, a retraction, a key record,
/// two checkpoints; a bundle, an inclusion and a consistency proof, and a fork of the archive
/// signed by the same key.
fn case() -> Workspace {
    let ws = Workspace::new();
    ok(&ws, &["key", "introduce", "--key", "signer.key"]);
    ws.write("a.txt", "Statement of witness A.\n");
    ws.write("b.txt", "Statement of witness B.\n");
    ws.write("b-copy.txt", "Statement of witness B.\n");
    ws.add(&["a.txt", "b.txt", "b-copy.txt"]);
    ok(
        &ws,
        &[
            "annotate",
            "a.txt",
            "--quote",
            "witness A",
            "--body",
            "named",
            "--claim",
            "k=v",
            "--link",
            "corroborates:b.txt",
        ],
    );
    ok(
        &ws,
        &[
            "custody",
            "a.txt",
            "--event",
            "transferred",
            "--actor",
            "Field team",
        ],
    );
    ws.seal();
    ok(&ws, &["mirror", "arc", "fork"]);
    ws.write("a.txt", "Statement of witness A, corrected.\n");
    ws.add(&["a.txt"]);
    ok(&ws, &["retract", "b.txt", "--reason", "duplicate"]);
    ws.seal();
    ws.write("c.txt", "Something else.\n");
    ok(&ws, &["--archive", "fork", "add", "c.txt"]);
    ok(&ws, &["--archive", "fork", "seal", "--key", "signer.key"]);
    ok(&ws, &["export", "--out", "bundle", "--all"]);
    ok(&ws, &["prove", "a.txt", "--out", "proof.json"]);
    ok(
        &ws,
        &[
            "prove",
            "consistency",
            "1",
            "2",
            "--out",
            "consistency.json",
        ],
    );
    ws
}

#[test]
fn every_json_output_follows_the_convention() {
    let ws = case();
    let trust = ["--trust", "signer.pub"];
    let mut commands: Vec<Vec<&str>> = vec![
        vec!["verify", "--json"],
        vec!["verify", "bundle", "--json"],
        vec!["verify-proof", "proof.json", "a.txt", "--json"],
        vec!["verify-proof", "consistency.json", "--json"],
        vec!["diff", "1", "2", "--json"],
        // A fork: the equivocation evidence names signers and roots.
        vec!["diff", "arc", "fork", "--json"],
    ];
    for command in &mut commands {
        command.extend_from_slice(&trust);
    }
    commands.extend([
        vec!["ls", "--json"],
        vec!["ls", "--all-versions", "--json"],
        vec!["log", "--json"],
        vec!["show", "#2", "--json"],
        vec!["show", "a.txt", "--json"],
        vec!["annotations", "--json"],
        vec!["annotations", "--jsonld"],
        vec!["history", "a.txt", "--json"],
        vec!["key", "list", "--json"],
        vec!["title", "--json"],
        vec!["mirror", "arc", "copy", "--json"],
        // Refused: the copies have diverged (equivocation evidence).
        vec!["mirror", "arc", "fork", "--json"],
    ]);
    let mut seen = Seen::default();
    let mut formats = BTreeSet::new();
    for args in &commands {
        let value = json_of(&ws, args);
        let format = value["format"].as_str().unwrap_or_default().to_string();
        assert!(
            is_format_tag(&format),
            "{args:?}: top-level `format` {format:?} is not evidentia-<what>/<version>: {value}"
        );
        formats.insert(format);
        seen.walk(&format!("{args:?}"), &value, args.contains(&"--jsonld"));
    }
    assert!(
        seen.violations.is_empty(),
        "outside the convention:\n{}",
        seen.violations.join("\n")
    );
    // Every command has its own format, documented; and the walk met real digests and signers.
    assert_eq!(formats.len(), 14, "{formats:?}");
    let documented = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/JSON.md"))
        .expect("docs/JSON.md");
    for format in &formats {
        assert!(
            documented.contains(&format!("\"format\": \"{format}\"")),
            "docs/JSON.md has no example of {format}"
        );
    }
    assert!(seen.digests > 50, "only {} digests seen", seen.digests);
    assert!(seen.signers > 10, "only {} signers seen", seen.signers);
}

/// `show` of a content digest that two records name: one document listing both, not two
/// documents one after the other.
#[test]
fn show_of_shared_content_is_one_document() {
    let ws = case();
    let listed = json_of(&ws, &["ls", "--json"]);
    let content = listed["documents"]
        .as_array()
        .and_then(|docs| docs.iter().find(|d| d["path"] == "b-copy.txt"))
        .and_then(|d| d["content"].as_str())
        .expect("b-copy.txt listed")
        .to_string();
    let shown = json_of(&ws, &["show", &content, "--json"]);
    assert_eq!(shown["format"], "evidentia-show/1");
    let paths: Vec<&str> = shown["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["document"]["path"].as_str())
        .collect();
    assert_eq!(paths, ["b-copy.txt", "b.txt"], "{shown}");
}

/// A digest copied from a JSON report is accepted where an option takes one.
#[test]
fn digests_from_json_go_back_into_options() {
    let ws = case();
    let report = json_of(
        &ws,
        &["verify", "bundle", "--json", "--trust", "signer.pub"],
    );
    let pin = report["checkpoint"]["text_sha256"].as_str().expect("pin");
    assert!(pin.starts_with("sha256:"), "{pin}");
    let args = [
        "verify",
        "bundle",
        "--trust",
        "signer.pub",
        "--checkpoint-hash",
        pin,
    ];
    ok(&ws, &args);
    ok(&ws, &["verify", "--trust", "signer.pub", "--pin", pin]);
    let wrong = format!("sha256:{}", "0".repeat(64));
    let (code, stdout, _) = ws.run(&[
        "verify",
        "bundle",
        "--trust",
        "signer.pub",
        "--checkpoint-hash",
        &wrong,
    ]);
    assert_eq!(code, 1, "{stdout}");
}

/// What a user recorded is printed as recorded, even a claim that looks like a digest under a
/// name the reports use for digests.
#[test]
fn user_data_is_never_rewritten() {
    let ws = Workspace::new();
    ws.write("a.txt", "Statement of witness A.\n");
    ws.add(&["a.txt"]);
    let hex = "0f".repeat(32);
    let claim = format!("record={hex}");
    let (code, stdout, stderr) = ws.run(&["annotate", "a.txt", "--body", "x", "--claim", &claim]);
    assert_eq!(code, 0, "{stderr}");
    let id = stdout.trim().to_string();
    let listed = json_of(&ws, &["annotations", "--json"]);
    assert_eq!(listed["annotations"][0]["claim"]["record"], hex.as_str());
    let shown = json_of(&ws, &["show", &id, "--json"]);
    assert_eq!(
        shown["records"][0]["annotation"]["claim"]["record"],
        hex.as_str(),
        "{shown}"
    );
}

#[test]
fn the_walk_catches_what_breaks_the_convention() {
    let hex = "0f".repeat(32);
    let mut seen = Seen::default();
    let broken = serde_json::json!({
        "root": hex,
        "short": "sha256:0f0f",
        "signers": ["a.example+0011aaff", {"name": "b"}],
        "note": "signed by a.example+0011aaff",
        "key": "a.example+0011aaff+AXm1",
    });
    seen.walk("x", &broken, false);
    assert_eq!(seen.violations.len(), 5, "{:?}", seen.violations);
    assert!(is_format_tag("evidentia-ls/1"));
    assert!(!is_format_tag("evidentia-ls/"));
    assert!(!is_format_tag("evidentia-LS/1"));
    assert!(!is_format_tag("ls/1"));
}
