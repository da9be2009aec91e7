//! fixtures/vectors/refmap.json (written by generate_refmap.py from the specification alone):
//! subject keys, chains, map roots and multiproofs of the format-2 reference map, each checked
//! against evidentia's implementation, and invalid proofs that must be refused.

use std::path::Path;

use serde_json::Value;

use evidentia::bundle::completeness::{parse_step, parse_subject, step_text};
use evidentia::core::digest::Digest;
use evidentia::core::refmap::{chain_step, ChainEntry, MemoryMap, MultiProof, ZERO};

fn vectors() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vectors/refmap.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("refmap.json")).expect("JSON")
}

fn digest(v: &Value) -> Digest {
    Digest::from_hex(v.as_str().expect("hex string")).expect("64 hex digits")
}

fn steps(v: &Value) -> MultiProof {
    MultiProof {
        steps: v
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| parse_step(s.as_str().expect("step")).expect("well-formed step"))
            .collect(),
    }
}

#[test]
fn subject_keys() {
    for case in vectors()["subjects"].as_array().expect("subjects") {
        let subject = parse_subject(case["subject"].as_str().expect("text")).expect("subject");
        assert_eq!(subject.key(), digest(&case["key"]), "{case}");
    }
}

#[test]
fn chains() {
    let mut value = ZERO;
    for case in vectors()["chain"].as_array().expect("chain") {
        let entry = ChainEntry {
            index: case["index"].as_u64().expect("index"),
            leaf: digest(&case["leaf"]),
            kind: case["kind"].as_str().expect("kind").into(),
        };
        value = chain_step(&value, &entry);
        assert_eq!(value, digest(&case["value"]), "{case}");
    }
}

#[test]
fn roots_and_multiproofs() {
    for case in vectors()["maps"].as_array().expect("maps") {
        let mut map = MemoryMap::new();
        for pair in case["entries"].as_array().expect("entries") {
            map.insert(digest(&pair[0]), digest(&pair[1]));
        }
        let root = digest(&case["root"]);
        assert_eq!(map.root(), root, "{}", case["description"]);
        let query: Vec<Digest> = case["query"]
            .as_array()
            .expect("query")
            .iter()
            .map(digest)
            .collect();
        // Our proofs are the specification's, step for step.
        let ours: Vec<String> = map.prove_many(&query).steps.iter().map(step_text).collect();
        let theirs: Vec<String> = case["proof"]
            .as_array()
            .expect("proof")
            .iter()
            .map(|s| s.as_str().expect("step").to_string())
            .collect();
        assert_eq!(ours, theirs, "{}", case["description"]);
        let found = steps(&case["proof"])
            .verify(&root, &query)
            .expect("valid proof");
        for (key, expected) in query.iter().zip(case["values"].as_array().expect("values")) {
            let expected = (!expected.is_null()).then(|| digest(expected));
            assert_eq!(found[key], expected, "{}", case["description"]);
        }
    }
}

#[test]
fn invalid_multiproofs_are_refused() {
    let v = vectors();
    let invalid = &v["invalid"];
    let root = digest(&invalid["root"]);
    let query: Vec<Digest> = invalid["query"]
        .as_array()
        .expect("query")
        .iter()
        .map(digest)
        .collect();
    for case in invalid["proofs"].as_array().expect("proofs") {
        assert!(
            steps(&case["proof"]).verify(&root, &query).is_err(),
            "accepted: {}",
            case["description"]
        );
    }
}
