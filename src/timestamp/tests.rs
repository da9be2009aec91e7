//! Token checks against a fixed token made by `openssl ts` (fixtures/timestamps/README.md):
//! fractional seconds read, and every single-byte change outside the carried root certificate
//! makes the token invalid, and random edits never panic.

use super::token::{check_token, parse_pem_certificates};
use crate::core::digest::Digest;
use cms::cert::x509::Certificate;
use der::Decode;

const TOKEN: &[u8] = include_bytes!("../../fixtures/timestamps/fractional-p256.tst");
const ROOT: &[u8] = include_bytes!("../../fixtures/timestamps/root-p256.der");

fn imprint() -> Digest {
    Digest::of(b"hi\n")
}

fn root() -> Certificate {
    Certificate::from_der(ROOT).expect("root fixture")
}

#[test]
fn the_fixture_token_is_valid_with_its_fractional_time() {
    let check = check_token(TOKEN, &imprint(), Some(&[root()]));
    assert_eq!(check.status, "valid", "{:?}", check.problems);
    assert_eq!(check.time, "2026-11-30T19:13:23.131Z");
    let unchecked = check_token(TOKEN, &imprint(), None);
    assert_eq!(
        unchecked.status, "chain-unchecked",
        "{:?}",
        unchecked.problems
    );
    for empty in ["", "\n", "\r\n\n"] {
        assert!(parse_pem_certificates(empty).is_err(), "{empty:?}");
    }
}

#[test]
fn every_changed_byte_outside_the_root_certificate_is_invalid() {
    let root_at = TOKEN
        .windows(ROOT.len())
        .position(|w| w == ROOT)
        .expect("the token carries the root");
    for at in (0..TOKEN.len()).filter(|at| !(root_at..root_at + ROOT.len()).contains(at)) {
        for flip in [0x01u8, 0x80] {
            let mut forged = TOKEN.to_vec();
            forged[at] ^= flip;
            let check = check_token(&forged, &imprint(), None);
            assert_eq!(
                check.status, "invalid",
                "byte {at} ^ {flip:#04x} went unnoticed: {check:?}"
            );
            assert!(!check.problems.is_empty());
        }
    }
}

#[test]
fn truncations_and_extensions_are_unreadable_not_panics() {
    for len in 0..TOKEN.len() {
        let check = check_token(&TOKEN[..len], &imprint(), None);
        assert_eq!(check.status, "invalid", "prefix of {len} bytes");
    }
    let longer = [TOKEN, &[0u8]].concat();
    assert_eq!(check_token(&longer, &imprint(), None).status, "invalid");
}

proptest::proptest! {
    /// Several edits at once (changes, insertions, removals) never panic, and an edited token
    /// is never reported as anything but decoded and checked.
    #[test]
    fn edited_tokens_never_panic(
        edits in proptest::collection::vec((0usize..TOKEN.len(), 0u8..=255, 0u8..3), 1..6)
    ) {
        let mut forged = TOKEN.to_vec();
        for (at, byte, kind) in edits {
            let at = at.min(forged.len().saturating_sub(1));
            match kind {
                0 => forged[at] = byte,
                1 => forged.insert(at, byte),
                _ if !forged.is_empty() => {
                    forged.remove(at);
                }
                _ => {}
            }
        }
        let check = check_token(&forged, &imprint(), None);
        proptest::prop_assert!(check.status == "invalid" || check.problems.is_empty());
    }
}
