//! Time-stamp replies and tokens (untrusted DER from a TSA or a bundle) must never panic.
#![no_main]
use evidentia::core::digest::Digest;
use evidentia::timestamp::token::{check_token, parse_reply, token_info};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(reply) = parse_reply(data) {
        let _ = token_info(&reply.token);
    }
    let _ = token_info(data);
    let check = check_token(data, &Digest::of(b"hi\n"), None);
    // Nothing unreadable is ever reported as anything but invalid.
    if check.problems.is_empty() {
        assert_ne!(check.status, "invalid");
    }
});
