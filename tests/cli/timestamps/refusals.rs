//! Replies that are refused (another checkpoint, unknown nonce, rejected, truncated, garbage) and
//! tampered tokens that fail verification.

use super::*;

#[test]
fn reply_for_another_checkpoint_is_refused() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let tsq = ws.path("one.tsq");
    let tsr = ws.path("one.tsr");
    request(ws, Some(1), &tsq);
    setup.tsa.reply(&tsq, &tsr);
    attach_refused(
        ws,
        &tsr,
        Some(2),
        &["checkpoint 2", "imprint", "other bytes"],
    );
    assert!(token_files(ws).is_empty());
    // Control: the same reply is accepted for the checkpoint it was made for.
    attach_ok(ws, &tsr, Some(1));
    assert_eq!(token_files(ws).len(), 1);
}

#[test]
fn reply_to_an_unknown_nonce_is_refused() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    // A query over the right bytes, but made by openssl, not by `timestamp request`.
    let tsq = ws.path("foreign.tsq");
    let tsr = ws.path("foreign.tsr");
    let digest: String = sealed_digest(ws, 2)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    openssl(
        &ws.path(""),
        &[
            "ts",
            "-query",
            "-digest",
            &digest,
            "-sha256",
            "-cert",
            "-out",
            s(&tsq),
        ],
    );
    request(ws, Some(2), &ws.path("ours.tsq"));
    setup.tsa.reply(&tsq, &tsr);
    attach_refused(ws, &tsr, Some(2), &["nonce"]);
    attach_refused(ws, &tsr, None, &["nonce"]);
    assert!(token_files(ws).is_empty());
}

#[test]
fn rejected_reply_is_refused() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let tsq = ws.path("one.tsq");
    let tsr = ws.path("rejected.tsr");
    request(ws, Some(1), &tsq);
    setup.tsa.reject(&tsq, &tsr);
    attach_refused(ws, &tsr, Some(1), &["reject", "status", "not granted"]);
    assert!(token_files(ws).is_empty());
}

#[test]
fn truncated_and_garbage_replies_are_refused() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let tsq = ws.path("one.tsq");
    let tsr = ws.path("one.tsr");
    request(ws, Some(1), &tsq);
    setup.tsa.reply(&tsq, &tsr);
    let good = fs::read(&tsr).expect("reply");
    let why = &[
        "reply",
        "token",
        "der",
        "unreadable",
        "truncated",
        "malformed",
    ];
    for (name, bytes) in [
        ("truncated.tsr", good[..good.len() / 2].to_vec()),
        ("short.tsr", good[..good.len() - 1].to_vec()),
        ("garbage.tsr", b"<html>502 Bad Gateway</html>\n".to_vec()),
        ("empty.tsr", Vec::new()),
        ("trailing.tsr", [good.as_slice(), b"\x00"].concat()),
    ] {
        let path = ws.write(name, bytes);
        attach_refused(ws, &path, Some(1), why);
    }
    assert!(token_files(ws).is_empty());
    // Control: the intact reply is accepted.
    attach_ok(ws, &tsr, Some(1));
}

#[test]
fn tampered_token_fails_verification() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let (_, tsr) = stamp(&setup, &setup.tsa, 1, "one");
    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "control: {report}");
    let files = token_files(ws);
    assert_eq!(files.len(), 1);
    let stored = fs::read(&files[0]).expect("token");

    // A digit of genTime (GeneralizedTime, tag 0x18, 15 bytes "YYYYMMDDhhmmssZ"): still a
    // readable time, so only the signature can catch it.
    let at = find(&stored, &[0x18, 0x0f]).expect("genTime in the stored token") + 2 + 13;
    let mut forged = stored.clone();
    forged[at] ^= 0x01;
    Workspace::overwrite(&files[0], &forged);
    let codes = assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        1,
        &["timestamp-signature-invalid"],
    );
    assert!(
        codes.iter().all(|c| c.starts_with("timestamp-")),
        "{codes:?}"
    );
    // Without roots too: the signature does not need the chain.
    assert_timestamp_problem(verify(ws, None, &[]), 1, &["timestamp-signature-invalid"]);

    // A byte of the signature itself (the token's last bytes; openssl adds no unsigned
    // attributes).
    let token = {
        let out = ws.path("token.der");
        openssl(
            &ws.path(""),
            &[
                "ts",
                "-reply",
                "-in",
                s(&tsr),
                "-token_out",
                "-out",
                s(&out),
            ],
        );
        fs::read(out).expect("token")
    };
    let start = find(&stored, &token).expect("the stored file holds the token as sent");
    let mut forged = stored.clone();
    forged[start + token.len() - 3] ^= 0x01;
    Workspace::overwrite(&files[0], &forged);
    assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        1,
        &["timestamp-signature-invalid"],
    );

    // A byte of the message imprint: the token no longer covers this checkpoint.
    let at = find(&stored, &sealed_digest(ws, 1)).expect("imprint in the stored token");
    let mut forged = stored.clone();
    forged[at + 7] ^= 0x01;
    Workspace::overwrite(&files[0], &forged);
    assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        1,
        &["timestamp-imprint-mismatch"],
    );

    // Bytes of the DER framing: unreadable (or at least some timestamp-* problem).
    for at in [0, 1] {
        let mut forged = stored.clone();
        forged[at] ^= 0x01;
        Workspace::overwrite(&files[0], &forged);
        let codes = assert_timestamp_problem(
            verify_roots(ws, &setup.ca.cert),
            1,
            &["timestamp-unreadable"],
        );
        assert!(
            codes.iter().all(|c| c.starts_with("timestamp-")),
            "byte {at}: {codes:?}"
        );
    }

    // A truncated token file.
    Workspace::overwrite(&files[0], &stored[..stored.len() / 2]);
    assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        1,
        &["timestamp-unreadable"],
    );

    // Control: restored, it verifies again.
    Workspace::overwrite(&files[0], &stored);
    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "restored: {report}");
}

#[test]
fn any_changed_byte_of_a_stored_token_is_noticed() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    stamp(&setup, &setup.tsa, 1, "one");
    let files = token_files(ws);
    let stored = fs::read(&files[0]).expect("token");
    // The last byte of the carried CA certificate's signature: unused when --tsa-roots holds
    // the root itself, so only the content address can catch it.
    let ca_der = {
        let out = ws.path("ca.der");
        openssl(
            &ws.path(""),
            &[
                "x509",
                "-in",
                s(&setup.ca.cert),
                "-outform",
                "DER",
                "-out",
                s(&out),
            ],
        );
        fs::read(out).expect("CA DER")
    };
    let at = find(&stored, &ca_der).expect("the token carries the CA certificate");
    let mut forged = stored.clone();
    forged[at + ca_der.len() - 2] ^= 0x01;
    Workspace::overwrite(&files[0], &forged);
    let (exit, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(exit, 1, "a changed token file must be noticed: {report}");
    assert!(
        Workspace::problem_codes(&report)
            .iter()
            .any(|c| c.starts_with("timestamp-")),
        "{report}"
    );
}
