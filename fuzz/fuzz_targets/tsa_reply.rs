//! A TimeStampResp as `timestamp attach` / `fetch` read it: status, then the token's imprint
//! and nonce, then the token check; and the token as verify checks it, with the fixture TSA
//! root (fixtures/timestamps/). The expected imprint is the token's own, so the checks past the
//! imprint comparison are reached. Never a panic; a token judged valid has no problems.
#![no_main]

use std::sync::OnceLock;

use evidentia::core::digest::Digest;
use evidentia::timestamp::token::{check_token, parse_reply, token_info};
use libfuzzer_sys::fuzz_target;
use x509_cert::der::Decode;
use x509_cert::Certificate;

const ROOT: &[u8] = include_bytes!("../../fixtures/timestamps/root-p256.der");

fn roots() -> &'static [Certificate] {
    static ROOTS: OnceLock<Vec<Certificate>> = OnceLock::new();
    ROOTS.get_or_init(|| vec![Certificate::from_der(ROOT).expect("fixture root")])
}

fuzz_target!(|data: &[u8]| {
    let Ok(reply) = parse_reply(data) else { return };
    let Ok(info) = token_info(&reply.token) else {
        return;
    };
    let expected = Digest(info.imprint_sha256.unwrap_or([0; 32]));
    for roots in [None, Some(roots())] {
        let check = check_token(&reply.token, &expected, roots);
        if check.status != "invalid" {
            assert!(check.problems.is_empty(), "{:?}", check.problems);
        }
    }
});
