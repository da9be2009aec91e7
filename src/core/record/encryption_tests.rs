//! Round trips, refusals and the committed vectors of the encrypted-content records.

use ciborium::value::Value;

use super::*;
use crate::core::cbor;
use crate::core::record::SALT_LEN;
use crate::core::timestamp::Timestamp;

const KEY_A: &str = "age18ta5d3g6rp6qef4wcddv6kzx3jlr34najk6rjkw7crv4empcrpgqn4e3j3";

fn header() -> Header {
    Header {
        salt: [7; SALT_LEN],
        recorded_at: Timestamp::parse_canonical("2026-11-22T10:00:00Z").unwrap(),
    }
}

fn key_b() -> String {
    crate::crypt::NewIdentity::generate()
        .recipient()
        .unwrap()
        .to_string()
}

fn committed() -> EncryptionInfo {
    EncryptionInfo {
        plaintext_size: 90,
        binding: PlaintextBinding::Committed {
            commitment: Digest::of(b"c"),
            opening: b"age-encryption.org/v1\n...".to_vec(),
        },
        recipients: Some(Digest::of(b"recipients record")),
    }
}

fn rewrap() -> RewrapRecord {
    RewrapRecord {
        header: header(),
        target: Digest::of(b"document record"),
        content: Digest::of(b"new ciphertext"),
        size: 290,
        encryption: committed(),
        reason: Some("court key added".into()),
    }
}

fn map_of(bytes: &[u8]) -> Vec<(Value, Value)> {
    match cbor::decode(bytes).unwrap() {
        Value::Map(m) => m,
        _ => unreachable!(),
    }
}

/// Re-encodes a record map after `edit`, as an attacker would (canonical again).
fn edited(bytes: &[u8], edit: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let mut map = map_of(bytes);
    edit(&mut map);
    cbor::encode(&Value::Map(map)).unwrap()
}

fn entry(map: &mut [(Value, Value)], key: u64) -> &mut Value {
    &mut map
        .iter_mut()
        .find(|(k, _)| cbor::as_uint(k) == Some(key))
        .unwrap()
        .1
}

#[test]
fn sub_map_round_trips_both_modes() {
    let open = EncryptionInfo {
        plaintext_size: 5,
        binding: PlaintextBinding::Digest(Digest::of(b"hello")),
        recipients: None,
    };
    for info in [open, committed()] {
        let value = info.to_value();
        let bytes = cbor::encode(&value).unwrap();
        let back = EncryptionInfo::from_value(cbor::decode(&bytes).unwrap(), 14, "encryption");
        assert_eq!(back.unwrap(), info);
    }
}

/// An edit of a CBOR map, as an attacker makes it.
type Edit = dyn Fn(&mut Vec<(Value, Value)>);

#[test]
fn sub_map_refuses_both_or_neither_binding_and_strays() {
    let both = |map: &mut Vec<(Value, Value)>| {
        map.push((cbor::uint(2), Value::Bytes(vec![1; 32])));
    };
    let neither = |map: &mut Vec<(Value, Value)>| {
        map.retain(|(k, _)| ![3, 4].contains(&cbor::as_uint(k).unwrap()));
    };
    let no_opening = |map: &mut Vec<(Value, Value)>| {
        map.retain(|(k, _)| cbor::as_uint(k) != Some(4));
    };
    let stray = |map: &mut Vec<(Value, Value)>| {
        map.push((cbor::uint(9), Value::Text("x".into())));
    };
    let scheme = |map: &mut Vec<(Value, Value)>| {
        *entry(map, 0) = Value::Text("age-v2".into());
    };
    let empty_opening = |map: &mut Vec<(Value, Value)>| {
        *entry(map, 4) = Value::Bytes(Vec::new());
    };
    let short = |map: &mut Vec<(Value, Value)>| {
        *entry(map, 3) = Value::Bytes(vec![1; 31]);
    };
    let edits: [&Edit; 7] = [
        &both,
        &neither,
        &no_opening,
        &stray,
        &scheme,
        &empty_opening,
        &short,
    ];
    for (n, edit) in edits.iter().enumerate() {
        let Value::Map(mut map) = committed().to_value() else {
            unreachable!()
        };
        edit(&mut map);
        let value = cbor::decode(&cbor::encode(&Value::Map(map)).unwrap()).unwrap();
        let err = EncryptionInfo::from_value(value, 14, "encryption").unwrap_err();
        assert!(
            matches!(err, RecordError::Invalid { key: 14, .. }),
            "edit {n}: {err}"
        );
    }
}

#[test]
fn rewrap_round_trips_and_is_strict() {
    let record = rewrap();
    let bytes = record.encode().unwrap();
    assert_eq!(RewrapRecord::decode(&bytes).unwrap(), record);
    let stray = edited(&bytes, |m| m.push((cbor::uint(99), cbor::uint(1))));
    assert!(matches!(
        RewrapRecord::decode(&stray),
        Err(RecordError::UnknownField { key: 99, .. })
    ));
    let no_target = edited(&bytes, |m| m.retain(|(k, _)| cbor::as_uint(k) != Some(3)));
    assert!(matches!(
        RewrapRecord::decode(&no_target),
        Err(RecordError::Missing { key: 3, .. })
    ));
    // A recipients record is not a rewrap.
    let other = RecipientsRecord {
        header: header(),
        recipients: vec![KEY_A.into()],
        reason: None,
    };
    assert!(RewrapRecord::decode(&other.encode().unwrap()).is_err());
}

#[test]
fn recipients_record_round_trips_and_needs_canonical_sorted_keys() {
    let mut keys = vec![KEY_A.to_string(), key_b()];
    keys.sort();
    let record = RecipientsRecord {
        header: header(),
        recipients: keys.clone(),
        reason: Some("archive created".into()),
    };
    let bytes = record.encode().unwrap();
    assert_eq!(RecipientsRecord::decode(&bytes).unwrap(), record);

    let texts = |list: Vec<String>| Value::Array(list.into_iter().map(Value::Text).collect());
    let unsorted = edited(&bytes, |m| {
        *entry(m, 3) = texts(keys.iter().rev().cloned().collect())
    });
    let duplicate = edited(&bytes, |m| {
        *entry(m, 3) = texts(vec![KEY_A.into(), KEY_A.into()])
    });
    let upper = edited(&bytes, |m| *entry(m, 3) = texts(vec![KEY_A.to_uppercase()]));
    let ssh = edited(&bytes, |m| {
        *entry(m, 3) = texts(vec!["ssh-ed25519 AAAAC3Nza user".into()])
    });
    let empty = edited(&bytes, |m| *entry(m, 3) = texts(Vec::new()));
    for (name, bad) in [
        ("unsorted", unsorted),
        ("duplicate", duplicate),
        ("upper", upper),
        ("ssh", ssh),
        ("empty", empty),
    ] {
        let err = RecipientsRecord::decode(&bad).unwrap_err();
        assert!(
            matches!(err, RecordError::Invalid { key: 3, .. }),
            "{name}: {err}"
        );
    }
}

/// Byte-exact encodings, committed in fixtures/vectors/encryption/records.json so that
/// another implementation can check itself against FORMAT.md.
#[test]
fn record_vectors() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/vectors/encryption/records.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let recipients = RecipientsRecord {
        header: header(),
        recipients: vec![KEY_A.into()],
        reason: None,
    };
    let plain = EncryptionInfo {
        plaintext_size: 90,
        binding: PlaintextBinding::Digest(
            Digest::from_hex("47d0c402b5c7ba479d2dd8f08406edc45e48e657f1a2411d1842c9b7187a1554")
                .unwrap(),
        ),
        recipients: Some(Digest::of(&recipients.encode().unwrap())),
    };
    let cases = [
        ("recipients_record", recipients.encode().unwrap()),
        ("encryption_open", cbor::encode(&plain.to_value()).unwrap()),
        ("rewrap_record", rewrap().encode().unwrap()),
    ];
    for (name, bytes) in cases {
        assert_eq!(
            v[name]["hex"].as_str(),
            Some(hex::encode(&bytes).as_str()),
            "{name}"
        );
    }
}
