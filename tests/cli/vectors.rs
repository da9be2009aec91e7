//! Test vectors in `fixtures/vectors/` (see docs/FORMAT.md), checked with the library.
//!
//! The record, checkpoint and key vectors are written by `fixtures/vectors/generate.py` with
//! cbor2 and Python's `cryptography`, independently of evidentia's encoder; `merkle.json` and
//! `signed-note.json` come from Go's golang.org/x/mod/sumdb. Each test checks every file and
//! reports all failures, each naming its file.

use std::fs;
use std::path::{Path, PathBuf};

use evidentia::core::checkpoint::Checkpoint;
use evidentia::core::digest::Digest;
use evidentia::core::key::{SignerKey, VerifierKey};
use evidentia::core::merkle::{leaf_hash, verify_consistency, verify_inclusion, MemoryTree};
use evidentia::core::note::{SignatureStatus, SignedNote};
use evidentia::core::record::{key_event_message, KeyAction, Record, Selector};
use evidentia::keyfile::{self, Passphrase};
use serde_json::{json, Value};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vectors")
}

fn load(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `.json` file of a vector directory, sorted by name, with its file name.
fn load_dir(sub: &str) -> Vec<(String, Value)> {
    let dir = vectors_dir().join(sub);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no vectors in {}", dir.display());
    files
        .iter()
        .map(|p| {
            (
                format!("{sub}/{}", p.file_name().unwrap().to_string_lossy()),
                load(p),
            )
        })
        .collect()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("'{key}' is not a string"))
}

fn digest(hex: &str) -> Digest {
    Digest::from_hex(hex).unwrap_or_else(|| panic!("bad digest {hex}"))
}

fn opt_text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Collected failures: the test fails once, listing every failing vector.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn check(&mut self, ok: bool, file: &str, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(format!("{file}: {}", what()));
        }
    }

    fn finish(self, count: usize) {
        assert!(
            self.0.is_empty(),
            "{} of {count} vectors failed:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

#[test]
fn record_vectors() {
    let cases = load_dir("records");
    let mut failures = Failures::default();
    let (mut valid, mut invalid) = (0, 0);
    for (file, case) in &cases {
        let bytes = hex::decode(text(case, "hex")).unwrap();
        let result = Record::decode(&bytes);
        if case["valid"] == Value::Bool(false) {
            invalid += 1;
            let wanted = text(case, "error_contains");
            match result {
                Ok(record) => failures.check(false, file, || {
                    format!("accepted an invalid record as {record:?}")
                }),
                Err(e) => failures.check(e.to_string().contains(wanted), file, || {
                    format!("error '{e}' does not contain '{wanted}'")
                }),
            }
            continue;
        }
        valid += 1;
        let record = match result {
            Ok(record) => record,
            Err(e) => {
                failures.check(false, file, || format!("refused a valid record: {e}"));
                continue;
            }
        };
        let fields = &case["fields"];
        failures.check(
            leaf_hash(&bytes) == digest(text(case, "leaf_hash")),
            file,
            || "leaf hash differs".into(),
        );
        failures.check(
            Digest::of(&bytes) == digest(text(case, "record_digest")),
            file,
            || "record digest differs".into(),
        );
        failures.check(record.kind() == text(case, "kind"), file, || {
            format!("kind is '{}'", record.kind())
        });
        failures.check(
            record.recorded_at().to_string() == text(fields, "recorded_at"),
            file,
            || format!("recorded-at is {}", record.recorded_at()),
        );
        match &record {
            Record::Document(doc) => {
                let c = &doc.collection;
                let expected_tags: Vec<String> = fields
                    .get("tags")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(|t| t.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default();
                let same = hex::encode(doc.header.salt) == text(fields, "salt")
                    && doc.content == digest(text(fields, "content"))
                    && Some(doc.size) == fields["size"].as_u64()
                    && doc.media_type == text(fields, "media_type")
                    && doc.path == text(fields, "path")
                    && doc.original_name == text(fields, "original_name")
                    && doc.original_path.as_ref().map(hex::encode)
                        == opt_text(fields, "original_path")
                    && c.source_url == opt_text(fields, "source_url")
                    && c.collected_at.map(|t| t.to_string()) == opt_text(fields, "collected_at")
                    && c.collector == opt_text(fields, "collector")
                    && c.tool == opt_text(fields, "tool")
                    && c.note == opt_text(fields, "note")
                    && c.tags == expected_tags
                    && c.collected_offset.map(i64::from) == fields["collected_offset"].as_i64()
                    && encryption_fields(doc) == fields["encryption"];
                failures.check(same, file, || format!("decoded fields differ: {doc:?}"));
            }
            Record::Unknown { kind, header } => {
                failures.check(
                    kind == text(fields, "kind")
                        && hex::encode(header.salt) == text(fields, "salt"),
                    file,
                    || format!("decoded as {record:?}"),
                );
            }
            // Checked against fixtures/vectors/encryption/records.json by unit tests.
            Record::Recipients(_) | Record::Rewrap(_) => {
                failures.check(false, file, || {
                    "recipients and rewrap vectors belong in fixtures/vectors/encryption".into()
                });
            }
            Record::Annotation(_)
            | Record::Retraction(_)
            | Record::Custody(_)
            | Record::Key(_)
            | Record::Metadata(_)
            | Record::Case(_) => {
                let decoded = fields_json(&record);
                failures.check(&decoded == fields, file, || {
                    format!("decoded fields differ: {decoded}")
                });
            }
        }
        if let Record::Key(key) = &record {
            // The endorsement is checked for the origin the vector names, and must not verify
            // for any other archive.
            let origin = text(case, "origin");
            let wanted = case["endorsement_valid"].as_bool();
            failures.check(Some(key.endorsement_valid(origin)) == wanted, file, || {
                format!("endorsement_valid({origin}) is not {wanted:?}")
            });
            if let Some(message) = opt_text(case, "endorsement_message") {
                let ours = key_event_message(origin, key.action, &key.key, key.previous.as_ref());
                failures.check(ours == message.as_bytes(), file, || {
                    format!(
                        "endorsement message is {:?}",
                        String::from_utf8_lossy(&ours)
                    )
                });
            }
            if key.action != KeyAction::Revoke {
                failures.check(
                    !key.endorsement_valid("evidentia/other/0000000000000000"),
                    file,
                    || "the endorsement verifies for another origin".into(),
                );
            }
        }
        if !matches!(record, Record::Unknown { .. }) {
            // Our encoder must reproduce the independently made encoding byte for byte.
            let again = record.encode();
            failures.check(again.as_ref() == Ok(&bytes), file, || {
                format!("re-encoded as {again:?}")
            });
        }
    }
    assert!(valid >= 20 && invalid >= 80, "too few record vectors");
    failures.finish(cases.len());
}

fn opt_ts(ts: Option<evidentia::core::timestamp::Timestamp>) -> Option<String> {
    ts.map(|t| t.to_string())
}

fn selector_json(selector: &Selector) -> Value {
    let mut v = match selector {
        Selector::TextQuote {
            exact,
            prefix,
            suffix,
        } => {
            let mut v = json!({ "exact": exact });
            if let Some(p) = prefix {
                v["prefix"] = json!(p);
            }
            if let Some(s) = suffix {
                v["suffix"] = json!(s);
            }
            v
        }
        Selector::TextPosition { start, end } | Selector::ByteRange { start, end } => {
            json!({ "start": start, "end": end })
        }
        Selector::Page { page } => json!({ "page": page }),
        Selector::TimeRange { start_ms, end_ms } => {
            json!({ "start_ms": start_ms, "end_ms": end_ms })
        }
        Selector::Rectangle {
            x,
            y,
            width,
            height,
        } => json!({ "x": x, "y": y, "width": width, "height": height }),
    };
    v["type"] = json!(selector.type_name());
    v
}

/// The JSON view generate.py writes as `fields` for the kinds other than `document`.
fn fields_json(record: &Record) -> Value {
    let header = record.header();
    let mut v = match record {
        Record::Annotation(a) => json!({
            "target": a.target.to_hex(),
            "selectors": a.selectors.iter().map(selector_json).collect::<Vec<_>>(),
            "body": a.body,
            "tags": a.tags,
            "claim": a.claim,
            "links": a.links.iter().map(|l| json!({
                "relation": l.relation.as_str(),
                "target": l.target.to_hex(),
            })).collect::<Vec<_>>(),
            "analyst": a.analyst,
        }),
        Record::Retraction(r) => json!({ "target": r.target.to_hex(), "reason": r.reason }),
        Record::Metadata(m) => {
            let c = &m.collection;
            json!({
                "target": m.target.to_hex(),
                "source_url": c.source_url,
                "collected_at": opt_ts(c.collected_at),
                "collected_offset": c.collected_offset,
                "collector": c.collector,
                "tool": c.tool,
                "note": c.note,
                "tags": c.tags,
            })
        }
        Record::Case(c) => json!({ "title": c.title }),
        Record::Custody(c) => json!({
            "targets": c.targets.iter().map(Digest::to_hex).collect::<Vec<_>>(),
            "event": c.event.as_str(),
            "actor": c.actor,
            "from": c.from,
            "to": c.to,
            "note": c.note,
            "at": opt_ts(c.at),
        }),
        Record::Key(k) => json!({
            "action": k.action.as_str(),
            "key": k.key.to_string(),
            "previous": k.previous.as_ref().map(ToString::to_string),
            "endorsement": k.endorsement.map(hex::encode),
            "reason": k.reason,
            "effective": opt_ts(k.effective),
        }),
        _ => json!({}),
    };
    v["kind"] = json!(record.kind());
    v["salt"] = json!(hex::encode(header.salt));
    v["recorded_at"] = json!(header.recorded_at.to_string());
    v
}

/// The tree over leaves "leaf-0", "leaf-1", ... used by merkle.json.
fn go_tree(size: u64) -> (MemoryTree, Vec<Digest>) {
    let leaves: Vec<Digest> = (0..size)
        .map(|i| leaf_hash(format!("leaf-{i}").as_bytes()))
        .collect();
    let mut tree = MemoryTree::new();
    for leaf in &leaves {
        tree.push(*leaf);
    }
    (tree, leaves)
}

fn proof_of(v: &Value) -> Vec<Digest> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().map(|h| digest(h.as_str().unwrap())).collect(),
        other => panic!("bad proof {other}"),
    }
}

#[test]
fn merkle_vectors_match_go() {
    let file = "merkle.json";
    let v = load(&vectors_dir().join(file));
    let roots = v["roots_by_size"].as_object().unwrap();
    let max = roots
        .keys()
        .map(|k| k.parse::<u64>().unwrap())
        .max()
        .unwrap();
    let (mut tree, leaves) = go_tree(max);
    let mut failures = Failures::default();
    for (size, root) in roots {
        let size: u64 = size.parse().unwrap();
        failures.check(
            tree.root_at(size) == digest(root.as_str().unwrap()),
            file,
            || format!("root of size {size} differs"),
        );
    }
    let root = |tree: &mut MemoryTree, size: u64| match roots.get(&size.to_string()) {
        Some(r) => digest(r.as_str().unwrap()),
        None => tree.root_at(size),
    };
    let inclusion = v["inclusion_proofs"].as_array().unwrap();
    for case in inclusion {
        let size = case["tree_size"].as_u64().unwrap();
        let index = case["leaf_index"].as_u64().unwrap();
        let go_proof = proof_of(&case["proof"]);
        let r = root(&mut tree, size);
        let label = format!("inclusion of leaf {index} in size {size}");
        failures.check(
            tree.inclusion_proof(index, size) == Ok(go_proof.clone()),
            file,
            || format!("{label}: our proof differs from Go's"),
        );
        failures.check(
            verify_inclusion(&leaves[index as usize], index, size, &go_proof, &r),
            file,
            || format!("{label}: Go's proof does not verify"),
        );
        if let Some(first) = go_proof.first() {
            let mut bad = go_proof.clone();
            bad[0] = leaf_hash(first.as_bytes());
            failures.check(
                !verify_inclusion(&leaves[index as usize], index, size, &bad, &r),
                file,
                || format!("{label}: an altered proof verifies"),
            );
        }
    }
    let consistency = v["consistency_proofs"].as_array().unwrap();
    for case in consistency {
        let (old, new) = (
            case["old_size"].as_u64().unwrap(),
            case["new_size"].as_u64().unwrap(),
        );
        let go_proof = proof_of(&case["proof"]);
        let (r1, r2) = (root(&mut tree, old), root(&mut tree, new));
        let label = format!("consistency {old} -> {new}");
        failures.check(
            tree.consistency_proof(old, new) == Ok(go_proof.clone()),
            file,
            || format!("{label}: our proof differs from Go's"),
        );
        failures.check(
            verify_consistency(old, new, &r1, &r2, &go_proof),
            file,
            || format!("{label}: Go's proof does not verify"),
        );
        if old < new {
            failures.check(
                !verify_consistency(old, new, &r2, &r2, &go_proof),
                file,
                || format!("{label}: verifies against the wrong old root"),
            );
        }
    }
    assert!(inclusion.len() >= 10 && consistency.len() >= 10);
    failures.finish(roots.len() + inclusion.len() + consistency.len());
}

fn seed_of(hex_seed: &str) -> [u8; 32] {
    hex::decode(hex_seed).unwrap().try_into().unwrap()
}

#[test]
fn signed_note_reproduces_go_byte_for_byte() {
    let v = load(&vectors_dir().join("signed-note.json"));
    let signer = SignerKey::from_seed(text(&v, "signer_name"), &seed_of(text(&v, "seed_hex")))
        .expect("signer");
    assert_eq!(
        signer.verifier().to_string(),
        text(&v, "verifier_key"),
        "signed-note.json: verifier key"
    );
    let note = SignedNote::sign(text(&v, "note_text"), &[&signer]);
    assert_eq!(
        note.render(),
        text(&v, "signed_note"),
        "signed-note.json: signed note"
    );
    let parsed = SignedNote::parse(text(&v, "signed_note")).expect("signed-note.json parses");
    let key = VerifierKey::parse(text(&v, "verifier_key")).expect("signed-note.json key");
    assert_eq!(
        parsed.check(&[key]),
        vec![SignatureStatus::Valid],
        "signed-note.json: signature"
    );
}

fn status_name(status: &SignatureStatus) -> &'static str {
    match status {
        SignatureStatus::Valid => "valid",
        SignatureStatus::Invalid => "invalid",
        SignatureStatus::UnknownKey => "unknown-key",
    }
}

#[test]
fn checkpoint_vectors() {
    let cases = load_dir("checkpoints");
    let mut failures = Failures::default();
    for (file, case) in &cases {
        let note_text = text(case, "note");
        let keys: Vec<VerifierKey> = case["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| VerifierKey::parse(k.as_str().unwrap()).unwrap())
            .collect();
        let expect = text(case, "expect");
        let note = match (SignedNote::parse(note_text), expect) {
            (Err(e), "note-error") => {
                let wanted = text(case, "error_contains");
                failures.check(e.to_string().contains(wanted), file, || {
                    format!("error '{e}' does not contain '{wanted}'")
                });
                continue;
            }
            (Err(e), _) => {
                failures.check(false, file, || format!("note refused: {e}"));
                continue;
            }
            (Ok(_), "note-error") => {
                failures.check(false, file, || "note accepted".into());
                continue;
            }
            (Ok(note), _) => note,
        };
        failures.check(note.render() == note_text, file, || {
            "the note does not re-render to the same bytes".into()
        });
        let statuses: Vec<&str> = note.check(&keys).iter().map(status_name).collect();
        let checkpoint = Checkpoint::parse(&note.text);
        if expect == "checkpoint-error" {
            let wanted = text(case, "error_contains");
            match checkpoint {
                Ok(cp) => failures.check(false, file, || format!("accepted {cp:?}")),
                Err(e) => failures.check(e.to_string().contains(wanted), file, || {
                    format!("error '{e}' does not contain '{wanted}'")
                }),
            }
            // Each such text is properly signed: only its form is at fault.
            failures.check(statuses.iter().all(|s| *s == "valid"), file, || {
                format!("signatures {statuses:?}")
            });
            continue;
        }
        let expected_statuses: Vec<&str> = case["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        failures.check(statuses == expected_statuses, file, || {
            format!("signatures {statuses:?}, expected {expected_statuses:?}")
        });
        let cp = match checkpoint {
            Ok(cp) => cp,
            Err(e) => {
                failures.check(false, file, || format!("checkpoint refused: {e}"));
                continue;
            }
        };
        let want = &case["checkpoint"];
        let same = cp.origin == text(want, "origin")
            && Some(cp.size) == want["size"].as_u64()
            && cp.root == digest(text(want, "root"))
            && Some(cp.number) == want["number"].as_u64()
            && cp.previous.map(|d| d.to_hex()) == opt_text(want, "previous")
            && cp.time.to_string() == text(want, "time")
            && cp.message == opt_text(want, "message");
        failures.check(same, file, || format!("parsed as {cp:?}"));
        failures.check(
            cp.text_hash() == digest(text(case, "text_hash")),
            file,
            || "text hash differs".into(),
        );
    }
    failures.finish(cases.len());
}

/// The checkpoint vectors sign the roots of the record vectors, and chain to each other.
#[test]
fn checkpoint_vectors_cover_record_vectors() {
    let dir = vectors_dir();
    let leaf = |name: &str| digest(text(&load(&dir.join("records").join(name)), "leaf_hash"));
    let mut tree = MemoryTree::new();
    for name in [
        "document-minimal.json",
        "document-full.json",
        "unknown-kind-example.json",
    ] {
        tree.push(leaf(name));
    }
    let cp = |name: &str| {
        let v = load(&dir.join("checkpoints").join(name));
        let note = SignedNote::parse(text(&v, "note")).unwrap();
        Checkpoint::parse(&note.text).unwrap()
    };
    let (first, second) = (cp("checkpoint-1.json"), cp("checkpoint-2.json"));
    assert_eq!(first.root, tree.root_at(2), "checkpoint-1.json root");
    assert_eq!(second.root, tree.root_at(3), "checkpoint-2.json root");
    assert_eq!(
        second.previous,
        Some(first.text_hash()),
        "checkpoint-2.json previous"
    );
    let proof = tree.consistency_proof(2, 3).unwrap();
    assert!(verify_consistency(2, 3, &first.root, &second.root, &proof));
}

#[test]
fn key_vectors() {
    let dir = vectors_dir().join("keys");
    let mut failures = Failures::default();
    let mut count = 0;
    for name in ["example-signer.json", "second-signer.json"] {
        count += 1;
        let file = format!("keys/{name}");
        let v = load(&dir.join(name));
        let signer =
            SignerKey::from_seed(text(&v, "name"), &seed_of(text(&v, "seed_hex"))).unwrap();
        let verifier = signer.verifier();
        failures.check(
            verifier.to_string() == text(&v, "verifier_key"),
            &file,
            || format!("verifier key {verifier}"),
        );
        failures.check(verifier.id_hex() == text(&v, "key_id"), &file, || {
            "key id differs".into()
        });
        failures.check(
            hex::encode(verifier.key.as_bytes()) == text(&v, "public_hex"),
            &file,
            || "public key differs".into(),
        );
        failures.check(
            signer.to_text().as_str() == text(&v, "signer_key"),
            &file,
            || "signer key text differs".into(),
        );
        let reparsed = SignerKey::parse(text(&v, "signer_key")).map(|s| s.verifier());
        failures.check(reparsed.as_ref() == Ok(&verifier), &file, || {
            format!("signer key parses as {reparsed:?}")
        });
        let parsed = VerifierKey::parse(text(&v, "verifier_key"));
        failures.check(parsed.as_ref() == Ok(&verifier), &file, || {
            format!("verifier key parses as {parsed:?}")
        });
    }

    let file = "keys/invalid-verifier-keys.json";
    let v = load(&dir.join("invalid-verifier-keys.json"));
    for case in v["cases"].as_array().unwrap() {
        count += 1;
        let key_text = text(case, "text");
        let wanted = text(case, "error_contains");
        match VerifierKey::parse(key_text) {
            Ok(key) => failures.check(false, file, || format!("accepted '{key_text}' as {key}")),
            Err(e) => failures.check(e.to_string().contains(wanted), file, || {
                format!("'{key_text}': error '{e}' does not contain '{wanted}'")
            }),
        }
    }

    count += 1;
    let file = "keys/encrypted-key-file.json";
    let v = load(&dir.join("encrypted-key-file.json"));
    let passphrase = text(&v, "passphrase").to_string();
    let key_path = dir.join(text(&v, "file"));
    match keyfile::load(&key_path, || Ok(Passphrase::new(passphrase))) {
        Ok(signer) => failures.check(
            signer.verifier().to_string() == text(&v, "verifier_key"),
            file,
            || format!("decrypted key is {}", signer.verifier()),
        ),
        Err(e) => failures.check(false, file, || format!("cannot load: {e}")),
    }
    let wrong = keyfile::load(&key_path, || Ok(Passphrase::new("wrong".into())));
    failures.check(wrong.is_err(), file, || {
        "a wrong passphrase was accepted".into()
    });

    count += 1;
    let file = "keys/example-signer.key";
    match keyfile::load(&dir.join("example-signer.key"), || {
        panic!("an unencrypted key file asked for a passphrase")
    }) {
        Ok(signer) => failures.check(
            signer.verifier().to_string() == text(&v, "verifier_key"),
            file,
            || format!("loaded key is {}", signer.verifier()),
        ),
        Err(e) => failures.check(false, file, || format!("cannot load: {e}")),
    }
    failures.finish(count);
}

/// The pack of `fixtures/vectors/pack/`, written by generate.py: every index line parses and
/// every object reads back, through the library and through `evidentia cat`; the invalid index
/// lines are refused.
#[test]
fn pack_vector() {
    use evidentia::archive::pack::{self, Pack};
    let dir = vectors_dir().join("pack");
    let case = load(&dir.join("pack.json"));
    let name = case["name"].as_str().expect("name");
    let index = fs::read(dir.join(format!("{name}.idx"))).expect("index");
    assert_eq!(Digest::of(&index).to_hex(), name);
    let opened = Pack::open(&dir, name).expect("open pack");
    let ws = crate::common::Workspace::new();
    let packs = ws.archive().join("objects/packs");
    for ext in ["idx", "pack"] {
        let file = format!("{name}.{ext}");
        fs::copy(dir.join(&file), packs.join(&file)).expect("copy pack");
    }
    let mut failures = Vec::new();
    for object in case["objects"].as_array().expect("objects") {
        let digest = Digest::from_hex(object["digest"].as_str().expect("digest")).expect("hex");
        let bytes = hex::decode(object["hex"].as_str().expect("hex")).expect("hex bytes");
        match opened.find(&digest) {
            Ok(Some(entry)) if opened.read(&entry).ok() == Some(bytes.clone()) => {}
            other => failures.push(format!("{digest}: library read {other:?}")),
        }
        let (code, _, stderr) = ws.run(&["cat", &digest.to_hex()]);
        let out = ws
            .cmd()
            .args(["cat", &digest.to_hex()])
            .output()
            .expect("cat");
        if code != 0 || out.stdout != bytes {
            failures.push(format!("{digest}: `evidentia cat` exit {code}: {stderr}"));
        }
    }
    for (label, line) in case["invalid_lines"].as_object().expect("invalid_lines") {
        let line = line.as_str().expect("line");
        if pack::parse_line(line.as_bytes()).is_some() {
            failures.push(format!("invalid line accepted: {label}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// FORMAT.md §22: the segment vector (written by fixtures/vectors/segment/generate.py from the
/// spec alone) decodes to its records, ids and leaf hashes; every invalid one is refused.
#[test]
fn segment_vectors() {
    use evidentia::remote::segment;
    let dir = vectors_dir().join("segment");
    let spec = load(&dir.join("segment.json"));
    let bytes = fs::read(dir.join(text(&spec, "segment"))).unwrap();
    let decoded = segment::decode(&bytes).unwrap();
    assert_eq!(decoded.from, spec["from"].as_u64().unwrap());
    assert_eq!(segment::key(decoded.from), text(&spec, "key"));
    let expected = spec["records"].as_array().unwrap();
    assert_eq!(decoded.records.len(), expected.len());
    for ((id, record), want) in decoded.records.iter().zip(expected) {
        assert_eq!(hex::encode(record), text(want, "hex"));
        assert_eq!(*id, digest(text(want, "id")));
        assert_eq!(leaf_hash(record), digest(text(want, "leaf")));
    }
    let refs: Vec<&[u8]> = decoded.records.iter().map(|(_, r)| r.as_slice()).collect();
    assert_eq!(
        segment::encode(decoded.from, &refs),
        bytes,
        "encoding is byte-exact"
    );
    for name in spec["invalid"].as_array().unwrap() {
        let name = name.as_str().unwrap();
        let bad = fs::read(dir.join(name)).unwrap();
        assert!(segment::decode(&bad).is_err(), "{name} must be refused");
    }
}

/// Document key 16 as the record vectors write it (an open binding; None without the key).
fn encryption_fields(doc: &evidentia::core::record::DocumentRecord) -> Value {
    use evidentia::core::record::PlaintextBinding;
    match &doc.encryption {
        None => Value::Null,
        Some(info) => {
            let PlaintextBinding::Digest(digest) = &info.binding else {
                return Value::String("a hidden binding (no vector yet)".into());
            };
            serde_json::json!({
                "scheme": "age-v1",
                "plaintext_size": info.plaintext_size,
                "plaintext_sha256": digest.to_hex(),
            })
        }
    }
}
