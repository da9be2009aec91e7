//! Round trips and refusals for every record kind.

use std::collections::BTreeMap;

use ciborium::value::Value;

use super::*;
use crate::core::cbor::{self, uint};
use crate::core::digest::Digest;
use crate::core::key::SignerKey;
use crate::core::timestamp::Timestamp;

fn header() -> Header {
    Header {
        salt: [7; SALT_LEN],
        recorded_at: Timestamp::parse_canonical("2026-11-22T10:00:00Z").unwrap(),
    }
}

fn document() -> DocumentRecord {
    DocumentRecord {
        header: header(),
        content: Digest::of(b"hello"),
        size: 5,
        media_type: "text/plain".into(),
        path: "case/hello.txt".into(),
        original_name: "hello.txt".into(),
        original_path: None,
        encryption: None,
        collection: Collection {
            source_url: Some("https://example.org/a".into()),
            collected_at: Some(Timestamp::parse_canonical("2026-11-01T09:30:00Z").unwrap()),
            collected_offset: None,
            collector: Some("Analyst A".into()),
            tool: None,
            note: Some("line one\nline two".into()),
            tags: vec!["news".into(), "belarus".into()],
        },
    }
}

fn sample() -> Record {
    Record::Document(Box::new(document()))
}

fn annotation() -> AnnotationRecord {
    AnnotationRecord {
        header: header(),
        target: Digest::of(b"hello"),
        selectors: vec![
            Selector::TextQuote {
                exact: "2,442 children".into(),
                prefix: Some("At least ".into()),
                suffix: None,
            },
            Selector::Page { page: 3 },
        ],
        body: "States the number of children taken to Belarus.".into(),
        tags: vec!["figure".into()],
        claim: BTreeMap::from([
            ("quantity".to_string(), "2442".to_string()),
            ("unit".to_string(), "children".to_string()),
        ]),
        links: vec![Link {
            relation: Relation::Corroborates,
            target: Digest::of(b"other"),
        }],
        analyst: Some("O. K.".into()),
        sealed: None,
    }
}

fn round_trip(record: Record) {
    let bytes = record.encode_checked().unwrap();
    assert_eq!(Record::decode(&bytes).unwrap(), record);
}

#[test]
fn every_kind_round_trips() {
    round_trip(sample());
    round_trip(Record::Annotation(Box::new(annotation())));
    round_trip(Record::Retraction(Box::new(RetractionRecord {
        header: header(),
        target: Digest::of(b"record"),
        reason: "Duplicate of an earlier capture.".into(),
    })));
    round_trip(Record::Custody(Box::new(CustodyRecord {
        header: header(),
        targets: vec![Digest::of(b"a"), Digest::of(b"b")],
        event: CustodyEvent::Transferred,
        actor: "Evidence officer".into(),
        from: Some("Field team B".into()),
        to: Some("Archive unit".into()),
        note: None,
        at: Some(Timestamp::parse_canonical("2026-11-20T08:00:00Z").unwrap()),
        sealed: None,
    })));
    let old = SignerKey::from_seed("officer", &[1; 32]).unwrap();
    let new = SignerKey::from_seed("officer", &[2; 32]).unwrap();
    let message = key_event::endorsement_message(
        "o",
        KeyAction::Rotate,
        &new.verifier(),
        Some(&old.verifier()),
    );
    let rotation = KeyRecord {
        header: header(),
        action: KeyAction::Rotate,
        key: new.verifier(),
        previous: Some(old.verifier()),
        endorsement: Some(old.sign(&message)),
        reason: None,
        effective: None,
    };
    assert!(rotation.endorsement_valid("o"));
    assert!(!rotation.endorsement_valid("another-origin"));
    round_trip(Record::Key(Box::new(rotation)));
}

#[test]
fn refuses_bad_fields() {
    let mut doc = document();
    doc.path = "../escape".into();
    let record = Record::Document(Box::new(doc));
    assert!(matches!(
        record.encode_checked(),
        Err(RecordError::Path { .. })
    ));
    let mut doc = document();
    doc.media_type = "text plain".into();
    let record = Record::Document(Box::new(doc));
    assert!(matches!(
        record.encode_checked(),
        Err(RecordError::Invalid { .. })
    ));
    let mut doc = document();
    doc.collection.collector = Some(String::new());
    let record = Record::Document(Box::new(doc));
    assert!(matches!(
        record.encode_checked(),
        Err(RecordError::Invalid { .. })
    ));
}

#[test]
fn refuses_bad_annotations() {
    let mut a = annotation();
    a.selectors = vec![Selector::ByteRange { start: 5, end: 5 }];
    assert!(Record::Annotation(Box::new(a)).encode_checked().is_err());
    let mut a = annotation();
    a.selectors.reverse(); // not in canonical order
    assert!(Record::Annotation(Box::new(a)).encode_checked().is_err());
    let mut a = annotation();
    a.claim.insert("bad key".into(), "x".into());
    assert!(Record::Annotation(Box::new(a)).encode_checked().is_err());
    let mut a = annotation();
    a.selectors = vec![Selector::Page { page: 0 }];
    assert!(Record::Annotation(Box::new(a)).encode_checked().is_err());
}

proptest::proptest! {
    /// Random and mutated bytes never panic the decoder, and whatever it accepts is
    /// canonical: it re-encodes to the same bytes.
    #[test]
    fn decoding_never_panics_and_accepts_only_canonical(
        random in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        at in proptest::prelude::any::<usize>(),
        byte in proptest::prelude::any::<u8>(),
        which in 0usize..2,
    ) {
        let _ = Record::decode(&random);
        let record = if which == 0 { sample() } else { Record::Annotation(Box::new(annotation())) };
        let valid = record.encode().unwrap();
        let mut mutated = valid.clone();
        let i = at % mutated.len();
        mutated[i] = byte;
        if let Ok(decoded) = Record::decode(&mutated) {
            if !matches!(decoded, Record::Unknown { .. }) {
                proptest::prop_assert_eq!(decoded.encode().unwrap(), mutated);
            }
        }
        let mut truncated = valid;
        truncated.truncate(i);
        proptest::prop_assert!(Record::decode(&truncated).is_err());
    }
}

#[test]
fn unknown_kind_is_kept_opaque() {
    let value = Value::Map(vec![
        (uint(0), Value::Text("witness-statement".into())),
        (uint(1), Value::Bytes(vec![0; SALT_LEN])),
        (uint(2), Value::Text("2026-11-22T10:00:00Z".into())),
        (uint(3), Value::Text("anything".into())),
    ]);
    let bytes = cbor::encode(&value).unwrap();
    assert!(matches!(Record::decode(&bytes), Ok(Record::Unknown { .. })));
}
