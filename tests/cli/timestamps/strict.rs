//! Strict decoding and the signer binding: tokens that break a DER or CMS rule (made from a
//! genuine token by editing its unsigned framing, lengths recomputed), a genTime with
//! fractional seconds, the ESS signing-certificate attribute (V1 and V2, and a certificate
//! swapped for another of the same key), and a signer named by subject key identifier.

use super::*;

/// A checkpoint-1 request and a genuine reply to it from the setup's TSA (not attached).
fn genuine(setup: &Setup) -> (PathBuf, PathBuf) {
    let tsq = setup.ws.path("one.tsq");
    let tsr = setup.ws.path("one.tsr");
    request(&setup.ws, Some(1), &tsq);
    setup.tsa.reply(&tsq, &tsr);
    (tsq, tsr)
}

/// Offset of the SignedData inside a token: ContentInfo header, the signedData OID, the [0]
/// header.
fn signed_data_at(token: &[u8]) -> usize {
    let oid = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
    ];
    let at = find(token, &oid).expect("signedData OID") + oid.len();
    at + tsa::tlv(token, at).0
}

/// `openssl ts -verify` of a reply against the query and the CA; true when it accepts.
fn openssl_accepts(setup: &Setup, tsq: &Path, reply: &[u8]) -> bool {
    let tsr = setup.ws.write("openssl-check.tsr", reply);
    openssl_status(
        &setup.ws.path(""),
        &[
            "ts",
            "-verify",
            "-queryfile",
            s(tsq),
            "-in",
            s(&tsr),
            "-CAfile",
            s(&setup.ca.cert),
        ],
    )
    .0
}

/// The forged token is refused at attach (exit 2, the code named, archive unchanged) and, planted
/// in the archive under its own SHA-256, fails verify with `code` and nothing else outside
/// `timestamp-*`.
fn assert_refused(setup: &Setup, label: &str, forged: &[u8], code: &str) {
    let ws = &setup.ws;
    let reply = ws.write(&format!("{label}.tsr"), tsa::granted_reply(forged));
    let stderr = attach_refused(ws, &reply, Some(1), &[code]);
    assert!(stderr.contains(code), "{label}: {stderr}");
    let planted = plant_bytes(ws, 1, forged);
    let codes = assert_timestamp_problem(verify_roots(ws, &setup.ca.cert), 1, &[code]);
    assert!(
        codes.iter().all(|c| c.starts_with("timestamp-")),
        "{label}: {codes:?}"
    );
    fs::remove_file(planted).expect("remove planted token");
}

#[test]
fn tokens_breaking_der_or_cms_rules_are_refused() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let (tsq, tsr) = genuine(&setup);
    let token = token_bytes(ws, &tsr);
    assert!(openssl_accepts(
        &setup,
        &tsq,
        &fs::read(&tsr).expect("reply")
    ));
    let sd = signed_data_at(&token);
    let version = sd + tsa::tlv(&token, sd).0;
    assert_eq!(
        token[version..version + 3],
        [0x02, 0x01, 0x03],
        "SignedData v3"
    );
    let digests = version + 3;
    let sha256 = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    let sha256_at = digests + find(&token[digests..], &sha256).expect("sha256 in digestAlgorithms");
    let ca = tsa::cert_der(&ws.path(""), &setup.ca.cert);
    let ca_at = find(&token, &ca).expect("the token carries the CA certificate");
    // The CA certificate's serialNumber tag (after its two SEQUENCE headers and version [0]).
    let ca_serial_tag = ca_at + 4 + 4 + 5;
    assert_eq!(token[ca_serial_tag], 0x02);

    let edit = |at: usize, byte: u8| {
        let mut forged = token.clone();
        forged[at] = byte;
        forged
    };
    // (label, forged token, code, whether openssl ts -verify accepts it)
    let cases = [
        (
            "signed-data-tag",
            edit(sd, 0x31),
            "timestamp-unreadable",
            false,
        ),
        (
            "digest-sha512",
            edit(sha256_at + 8, 0x03),
            "timestamp-malformed",
            false,
        ),
        (
            "digest-params",
            edit(sha256_at + 9, 0x03),
            "timestamp-malformed",
            false,
        ),
        (
            "ca-undecodable",
            edit(ca_serial_tag, 0x04),
            "timestamp-unreadable",
            false,
        ),
        // openssl does not check the version; RFC 5652 §5.1 demands 3 for TSTInfo content.
        (
            "version-1",
            edit(version + 2, 0x01),
            "timestamp-malformed",
            true,
        ),
        (
            "version-4",
            edit(version + 2, 0x04),
            "timestamp-malformed",
            true,
        ),
    ];
    for (label, forged, code, openssl_ok) in cases {
        assert_eq!(
            openssl_accepts(&setup, &tsq, &tsa::granted_reply(&forged)),
            openssl_ok,
            "{label}: openssl ts -verify"
        );
        assert_refused(&setup, label, &forged, code);
    }

    // A certificate in BER, not DER (a non-minimal length, the lengths around it recomputed).
    // openssl reads BER; a certificate is signed over its DER, so evidentia refuses it.
    let (head, len) = tsa::tlv(&ca, 0);
    let mut long_form = vec![0x30, 0x83, 0x00];
    long_form.extend_from_slice(&u16::try_from(len).expect("short").to_be_bytes());
    long_form.extend_from_slice(&ca[head..]);
    let forged = tsa::splice(&token, ca_at, ca.len(), &long_form);
    assert!(openssl_accepts(&setup, &tsq, &tsa::granted_reply(&forged)));
    assert_refused(&setup, "ca-not-der", &forged, "timestamp-unreadable");

    // Control: the genuine reply is attached and valid.
    attach_ok(ws, &tsr, Some(1));
    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "{report}");
    assert_eq!(timestamps(&report, 1)[0]["status"], "valid", "{report}");
}

#[test]
fn fractional_second_gen_time_is_accepted() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    // Three digits of precision; a time on a whole second is written without a fraction
    // (RFC 3161), so ask again until the fraction shows (999 times in 1000 the first time).
    let (tsr, text) = (0..5)
        .find_map(|attempt| {
            let tsq = ws.path(&format!("frac-{attempt}.tsq"));
            let tsr = ws.path(&format!("frac-{attempt}.tsr"));
            request(ws, Some(1), &tsq);
            setup.tsa.reply_configured(&tsq, &tsr, "sha256", 3);
            let text = setup.tsa.reply_text(&tsr);
            let line = text
                .lines()
                .find(|l| l.starts_with("Time stamp: "))?
                .to_string();
            line.contains('.').then_some((tsr, line))
        })
        .expect("a genTime with a fraction");
    let fraction = text
        .split('.')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("fraction digits")
        .to_string();
    attach_ok(ws, &tsr, Some(1));
    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "{report}");
    let stamps = timestamps(&report, 1);
    assert_eq!(stamps[0]["status"], "valid", "{report}");
    let time = stamps[0]["time"].as_str().expect("time");
    assert!(
        time.ends_with(&format!(".{fraction}Z")),
        "the reported time keeps the fraction {fraction}: {time}"
    );
}

#[test]
fn ess_signing_certificate_v1_is_accepted() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let tsq = ws.path("v1.tsq");
    let tsr = ws.path("v1.tsr");
    request(ws, Some(1), &tsq);
    setup.tsa.reply_configured(&tsq, &tsr, "sha1", 0);
    let token = token_bytes(ws, &tsr);
    // id-aa-signingCertificate (1.2.840.113549.1.9.16.2.12), not V2 (…2.47).
    let v1 = [
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0c,
    ];
    assert!(
        contains(&token, &v1),
        "openssl made a signingCertificate (V1)"
    );
    attach_ok(ws, &tsr, Some(1));
    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "{report}");
    assert_eq!(timestamps(&report, 1)[0]["status"], "valid", "{report}");
}

#[test]
fn signer_certificate_swapped_for_another_of_the_same_key_is_refused() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let (tsq, tsr) = genuine(&setup);
    let token = token_bytes(ws, &tsr);
    let dir = ws.path("");
    // The CA certified the TSA's key a second time (same subject, same key, another serial).
    let other = setup.ca.reissue(&setup.tsa, "reissued");
    let (signer, swapped) = (
        tsa::cert_der(&dir, &setup.tsa.cert),
        tsa::cert_der(&dir, &other),
    );
    let (old_serial, new_serial) = (
        tsa::serial_der(&dir, &setup.tsa.cert),
        tsa::serial_der(&dir, &other),
    );
    assert_eq!(old_serial.len(), new_serial.len());
    // Swap the certificate in the (unsigned) set, then the serial in the (unsigned) SignerInfo
    // identifier, the first occurrence after the certificates; lengths recomputed.
    let at = find(&token, &signer).expect("the token carries the signer certificate");
    let mut forged = tsa::splice(&token, at, signer.len(), &swapped);
    let ca = tsa::cert_der(&dir, &setup.ca.cert);
    let certs_end = [
        find(&forged, &swapped).expect("swapped") + swapped.len(),
        find(&forged, &ca).expect("CA") + ca.len(),
    ]
    .into_iter()
    .max()
    .expect("ends");
    let sid = certs_end + find(&forged[certs_end..], &old_serial).expect("the sid's serial");
    forged[sid..sid + new_serial.len()].copy_from_slice(&new_serial);

    // The signature still verifies (same key) and the chain holds: only ESS catches it.
    assert!(!openssl_accepts(&setup, &tsq, &tsa::granted_reply(&forged)));
    assert_refused(&setup, "swapped", &forged, "timestamp-ess-mismatch");
    let planted = plant_bytes(ws, 1, &forged);
    let (_, report) = verify_roots(ws, &setup.ca.cert);
    let codes = Workspace::problem_codes(&report);
    assert_eq!(codes, ["timestamp-ess-mismatch"], "{report}");
    fs::remove_file(planted).expect("remove");

    // Control: the genuine token verifies.
    attach_ok(ws, &tsr, Some(1));
    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn signer_named_by_key_identifier_is_found_among_the_certificates() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let (_, tsr) = genuine(&setup);
    let resigned = ws.path("keyid.tsr");
    setup
        .tsa
        .resign_with(&tsr, &setup.tsa, &resigned, &["-keyid"]);
    // Put the CA certificate first in the set, so "the first certificate" is not the signer.
    let reply = fs::read(&resigned).expect("reply");
    let dir = ws.path("");
    let signer = tsa::cert_der(&dir, &setup.tsa.cert);
    let ca = tsa::cert_der(&dir, &setup.ca.cert);
    let (signer_at, ca_at) = (
        find(&reply, &signer).expect("signer carried"),
        find(&reply, &ca).expect("CA carried"),
    );
    let reordered = if signer_at < ca_at {
        assert_eq!(signer_at + signer.len(), ca_at, "adjacent certificates");
        let mut out = reply.clone();
        out[signer_at..signer_at + ca.len()].copy_from_slice(&ca);
        out[signer_at + ca.len()..ca_at + ca.len()].copy_from_slice(&signer);
        out
    } else {
        reply
    };
    assert!(find(&reordered, &ca) < find(&reordered, &signer));
    let tsr = ws.write("keyid-reordered.tsr", reordered);
    attach_ok(ws, &tsr, Some(1));
    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "{report}");
    let stamp = &timestamps(&report, 1)[0];
    assert_eq!(stamp["status"], "valid", "{report}");
    assert!(
        stamp["tsa"]
            .as_str()
            .is_some_and(|t| t.contains("Evidentia Test TSA")),
        "{report}"
    );
}
