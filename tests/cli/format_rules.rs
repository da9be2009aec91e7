//! docs/FORMAT.md is normative: an independent verifier written from it alone must accept
//! exactly what evidentia accepts. These tests pin the places where the spec and the code once
//! disagreed: reference kinds (§4.9, §13 step 6), trust-file attributes (§8), claim keys and the
//! Unicode versions (§1, §4.5), the layout `init` creates (§11, §12), and the problem codes each
//! verifier emits (§13, §17–§20).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use evidentia::archive::append::append_records;
use evidentia::archive::Archive;
use evidentia::core::digest::Digest;
use evidentia::core::record::{
    AnnotationRecord, CustodyEvent, CustodyRecord, Header, Link, Record, Relation, RetractionRecord,
};

use crate::common::{added, Workspace};

/// Appends hand-built records through the library, as a writer that skips the CLI's checks
/// would; returns their ids.
fn append(ws: &Workspace, records: &[Record]) -> Vec<Digest> {
    let archive = Archive::open(&ws.archive()).expect("open archive");
    let lock = archive.lock().expect("lock");
    let mut log = archive.log().expect("log");
    append_records(&archive, &lock, &mut log, records).expect("append")
}

fn retraction(target: Digest) -> Record {
    Record::Retraction(Box::new(RetractionRecord {
        header: Header::now(),
        target,
        reason: "withdrawn".into(),
    }))
}

fn annotation(target: Digest, links: &[(Relation, Digest)]) -> Record {
    Record::Annotation(Box::new(AnnotationRecord {
        header: Header::now(),
        target,
        selectors: Vec::new(),
        body: "an analyst's note".into(),
        tags: Vec::new(),
        claim: BTreeMap::new(),
        links: links
            .iter()
            .map(|&(relation, target)| Link { relation, target })
            .collect(),
        analyst: None,
        sealed: None,
    }))
}

fn custody(target: Digest) -> Record {
    Record::Custody(Box::new(CustodyRecord {
        header: Header::now(),
        targets: vec![target],
        event: CustodyEvent::Accessed,
        actor: "clerk".into(),
        from: None,
        to: None,
        note: None,
        at: None,
        sealed: None,
    }))
}

/// An archive holding one document, an annotation on it and a custody event about it.
struct Case {
    ws: Workspace,
    content: Digest,
    document: Digest,
    annotation: Digest,
    custody: Digest,
}

fn case() -> Case {
    let ws = Workspace::new();
    ws.write("a.txt", "Statement of witness A.\n");
    let docs = added(&ws.add(&["a.txt"]));
    let content = Digest::from_hex(&docs[0].0).expect("content digest");
    let document = ws.record_digests()[0];
    let ids = append(&ws, &[annotation(content, &[]), custody(content)]);
    Case {
        ws,
        content,
        document,
        annotation: ids[0],
        custody: ids[1],
    }
}

#[test]
fn references_to_the_wrong_kind_of_record_are_dangling() {
    type Build = fn(&Case) -> Record;
    let wrong: Vec<(&str, Build)> = vec![
        ("retraction of a custody record", |c| retraction(c.custody)),
        ("retraction of a content digest", |c| retraction(c.content)),
        ("supersedes a document record", |c| {
            annotation(c.content, &[(Relation::Supersedes, c.document)])
        }),
        ("supersedes a custody record", |c| {
            annotation(c.content, &[(Relation::Supersedes, c.custody)])
        }),
        ("annotation target is a record id", |c| {
            annotation(c.document, &[])
        }),
        ("custody target is a record id", |c| custody(c.document)),
    ];
    for (what, build) in wrong {
        let c = case();
        let id = append(&c.ws, &[build(&c)])[0];
        assert_only_dangling(&c.ws, &format!("record #3 ({id})"), what);
    }
}

/// Seals, then expects verify to fail (exit 1) with one `dangling-reference`, for `item`.
fn assert_only_dangling(ws: &Workspace, item: &str, what: &str) {
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 1, "{what}: {report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        vec!["dangling-reference"],
        "{what}: {report}"
    );
    assert_eq!(report["problems"][0]["item"], item, "{what}: {report}");
}

#[test]
fn references_to_later_records_are_dangling() {
    let c = case();
    // The retraction is built first, so its id is known; the annotation that cites it comes
    // before it in the log.
    let later = retraction(c.annotation);
    let later_id = Digest::of(&later.encode().expect("encode"));
    let citing = annotation(c.content, &[(Relation::Corroborates, later_id)]);
    let ids = append(&c.ws, &[citing, later]);
    assert_eq!(ids[1], later_id);
    assert_only_dangling(&c.ws, &format!("record #3 ({})", ids[0]), "a later record");
}

#[test]
fn references_of_every_allowed_kind_verify() {
    let c = case();
    let superseding = annotation(c.content, &[(Relation::Supersedes, c.annotation)]);
    let linking = annotation(
        c.content,
        &[
            (Relation::Corroborates, c.custody),
            (Relation::DerivedFrom, c.content),
            (Relation::Contradicts, c.document),
        ],
    );
    let ids = append(&c.ws, &[superseding, linking]);
    append(&c.ws, &[retraction(ids[1]), retraction(c.document)]);
    c.ws.seal();
    let (code, report) = c.ws.verify_json();
    assert_eq!(code, 0, "no false accusation: {report}");
}

#[test]
fn a_trust_file_naming_an_attribute_twice_is_unusable() {
    let ws = Workspace::new();
    ws.write("x.txt", "x");
    ws.add(&["x.txt"]);
    ws.seal();
    let key = fs::read_to_string(ws.path("signer.pub")).expect("pub");
    let key = key.trim_end();
    for attributes in [
        "valid-before=2000-01-01T00:00:00Z valid-before=2100-01-01T00:00:00Z",
        "signer=\"M. Duval\" signer=Mallory",
    ] {
        ws.write("twice.trust", format!("# keys\n{key} {attributes}\n"));
        let (code, stdout, stderr) = ws.run(&["verify", "--trust", "twice.trust"]);
        assert_eq!(code, 2, "{attributes}: {stdout}{stderr}");
        assert!(stderr.contains("twice.trust line 2"), "{stderr}");
        assert!(stderr.contains("given twice"), "{stderr}");
    }
    // The other malformations §8 lists make the file unusable too.
    for attributes in [
        "colour=blue",
        "signer",
        "signer=\"M. Duval",
        "signer=\"\"",
        "signer=\"M.\u{7}Duval\"",
        "signer=\"M. Duval\"x",
    ] {
        ws.write("bad.trust", format!("{key} {attributes}\n"));
        let (code, stdout, stderr) = ws.run(&["verify", "--trust", "bad.trust"]);
        assert_eq!(code, 2, "{attributes:?}: {stdout}{stderr}");
        assert!(stderr.contains("bad.trust line 1"), "{stderr}");
    }
    // Each attribute once is fine.
    ws.write(
        "once.trust",
        format!("{key} signer=\"M. Duval\" valid-before=2100-01-01T00:00:00Z\n"),
    );
    let (code, stdout, stderr) = ws.run(&["verify", "--trust", "once.trust"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn init_creates_the_empty_leaf_level() {
    let ws = Workspace::new();
    let tree = ws.archive().join("log/tree");
    let levels: Vec<String> = fs::read_dir(&tree)
        .expect("log/tree")
        .map(|e| e.expect("entry").file_name().into_string().expect("name"))
        .collect();
    assert_eq!(levels, vec!["00"]);
    assert_eq!(fs::metadata(tree.join("00")).expect("00").len(), 0);
    assert_eq!(
        fs::read(ws.archive().join("log/records"))
            .expect("records")
            .len(),
        0
    );
    // The first add appends to it; higher levels appear with their first entry.
    ws.write("a.txt", "a");
    ws.write("b.txt", "b");
    ws.add(&["a.txt", "b.txt"]);
    assert_eq!(fs::metadata(tree.join("00")).expect("00").len(), 64);
    assert_eq!(fs::metadata(tree.join("01")).expect("01").len(), 32);
    ws.seal();
    assert_eq!(ws.verify_json().0, 0);
}

#[test]
fn claim_keys_are_the_characters_the_spec_names() {
    let ws = Workspace::new();
    ws.write("a.txt", "A statement.\n");
    ws.add(&["a.txt"]);
    // Alphabetic (letters, Other_Alphabetic vowel signs and circled letters), N*, and -_.
    for key in ["माता", "Ⓐ", "½", "٣", "Ⅻ", "ǅ", "unit-of_measure.v2"] {
        let claim = format!("{key}=1");
        let (code, _, stderr) = ws.run(&["annotate", "a.txt", "--body", "b", "--claim", &claim]);
        assert_eq!(code, 0, "{key:?} must be accepted: {stderr}");
    }
    // A combining mark that is not Alphabetic, a currency sign, an emoji, a space, a slash.
    for key in ["a\u{0301}", "€", "😀", "a b", "a/b"] {
        let claim = format!("{key}=1");
        let (code, _, stderr) = ws.run(&["annotate", "a.txt", "--body", "b", "--claim", &claim]);
        assert_eq!(code, 2, "{key:?} must be refused: {stderr}");
    }
    ws.seal();
    assert_eq!(ws.verify_json().0, 0);
}

fn spec() -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/FORMAT.md"))
        .expect("docs/FORMAT.md")
}

#[test]
fn the_unicode_versions_are_the_ones_the_spec_pins() {
    let spec = spec();
    let (a, b, c) = char::UNICODE_VERSION;
    let properties = format!("character properties (general categories, `Alphabetic`, `White_Space`) are those of **Unicode {a}.{b}.{c}**");
    assert!(
        spec.contains(&properties),
        "this toolchain's char methods implement Unicode {a}.{b}.{c}: check what changed for claim keys, whitespace and control characters, then update FORMAT.md §1"
    );
    let (a, b, c) = unicode_normalization::UNICODE_VERSION;
    let nfc =
        format!("Normalization Form C ([§5](#5-logical-paths)) is that of **Unicode {a}.{b}.{c}**");
    assert!(
        spec.contains(&nfc),
        "unicode-normalization implements Unicode {a}.{b}.{c}: check what changed for logical paths, then update FORMAT.md §1"
    );
}

/// Sections of FORMAT.md by number.
fn sections(spec: &str) -> BTreeMap<u32, &str> {
    spec.split("\n## ")
        .filter_map(|part| {
            let (number, _) = part.split_once(". ")?;
            Some((number.parse().ok()?, part))
        })
        .collect()
}

/// The kebab-case string literals of a source file (`"record-corrupt"`), and the one-word codes
/// passed to `.problem(item, "code", …)` (`"rollback"`).
fn emitted_codes(source: &str) -> BTreeSet<String> {
    let is_code = |s: &str| {
        !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--")
    };
    let mut out = BTreeSet::new();
    for (i, _) in source.match_indices('"') {
        let rest = &source[i + 1..];
        if let Some(end) = rest.find('"') {
            let literal = &rest[..end];
            if is_code(literal) && literal.contains('-') {
                out.insert(literal.to_string());
            }
        }
    }
    for (i, _) in source.match_indices(".problem(") {
        let rest = &source[i..];
        let after_item = rest.split_once(',').map_or("", |(_, r)| r).trim_start();
        if let Some(literal) = after_item
            .strip_prefix('"')
            .and_then(|r| r.split('"').next())
        {
            if is_code(literal) {
                out.insert(literal.to_string());
            }
        }
    }
    out
}

/// Each verifier's source files, and the sections that must list every code they emit.
const VERIFIERS: [(&str, &[&str], &[u32]); 6] = [
    (
        "archive verify",
        &[
            "src/archive/verify/mod.rs",
            "src/archive/verify/records.rs",
            "src/archive/verify/checkpoints.rs",
            "src/verification/lineage.rs",
            "src/archive/verify/packs.rs",
            "src/archive/verify/copies.rs",
        ],
        &[13, 19, 20],
    ),
    (
        "bundle verify",
        &[
            "src/bundle/verify/mod.rs",
            "src/bundle/verify/disclosed.rs",
            "src/bundle/inspect.rs",
            "src/bundle/completeness.rs",
            "src/bundle/encrypted.rs",
        ],
        &[17, 19, 20, 21],
    ),
    ("verify-proof", &["src/bundle/proof.rs"], &[18, 21]),
    (
        "encrypted content",
        &["src/archive/verify/encrypted.rs"],
        &[13, 23],
    ),
    ("consistency proofs", &["src/audit/consistency.rs"], &[19]),
    (
        "time-stamps and recipient checks",
        &["src/timestamp/token.rs", "src/verification/recipient.rs"],
        &[19, 20],
    ),
];

#[test]
fn every_problem_code_a_verifier_emits_is_specified() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = spec();
    let sections = sections(&spec);
    let mut missing = Vec::new();
    for (verifier, files, numbers) in VERIFIERS {
        let text: String = numbers
            .iter()
            .map(|n| *sections.get(n).expect("section"))
            .collect();
        for file in files {
            let source = fs::read_to_string(root.join(file)).expect("source file");
            for code in emitted_codes(&source) {
                if !text.contains(&format!("`{code}`")) {
                    missing.push(format!("{verifier} ({file}): `{code}` not in §{numbers:?}"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "FORMAT.md must list: {missing:#?}");
}

#[test]
fn every_problem_code_the_spec_lists_is_emitted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all_source = String::new();
    for entry in walkdir::WalkDir::new(root.join("src")) {
        let entry = entry.expect("walk src");
        if entry.path().extension().is_some_and(|e| e == "rs") {
            all_source.push_str(&fs::read_to_string(entry.path()).expect("source"));
        }
    }
    let emitted = emitted_codes(&all_source);
    let spec = spec();
    let sections = sections(&spec);
    let mut phantom = Vec::new();
    // The last column of the verification tables of §13, §17 and §20 holds problem codes.
    for number in [13, 17, 20] {
        let mut in_code_table = false;
        for line in sections[&number].lines() {
            if !line.starts_with('|') {
                in_code_table = false;
                continue;
            }
            if line.ends_with("| Problem code |") {
                in_code_table = true;
            }
            let Some(last) = line.trim_end_matches('|').rsplit('|').next() else {
                continue;
            };
            if !in_code_table {
                continue;
            }
            for code in last.split('`').skip(1).step_by(2) {
                if code.contains('-') && !emitted.contains(code) {
                    phantom.push(format!("§{number}: `{code}`"));
                }
            }
        }
    }
    assert!(phantom.is_empty(), "listed but never emitted: {phantom:?}");
}
