//! Signers that must not be trusted: TSAs outside the roots, issued by a non-CA leaf, expired, or
//! without the timeStamping extended key usage.

use super::*;

#[test]
fn token_from_a_tsa_outside_the_roots_is_untrusted() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let other = Ca::new(&ws.path("pki/other"), "Unrelated Root");
    let rogue = other.issue_tsa("tsa", "Evidentia Test TSA", Profile::Tsa);
    stamp(&setup, &rogue, 1, "one");
    // The token carries its own (unrelated) root: that must not make it trusted.
    let codes = assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        1,
        &["timestamp-untrusted"],
    );
    assert_eq!(codes, vec!["timestamp-untrusted"]);
    let (code, stdout, stderr) = ws.run(&[
        "verify",
        "--trust",
        "signer.pub",
        "--tsa-roots",
        s(&setup.ca.cert),
    ]);
    assert_eq!(code, 1, "{stdout} {stderr}");
    let text = format!("{stdout}{stderr}");
    assert!(
        text.contains("PROBLEM [timestamp-untrusted] checkpoint 1: ") && text.contains("FAILED"),
        "the human report names the problem: {text}"
    );
    // Control: under its own root it is valid.
    let (code, report) = verify_roots(ws, &other.cert);
    assert_eq!(code, 0, "{report}");
    assert_eq!(timestamps(&report, 1)[0]["status"], "valid", "{report}");
    // A roots file with both roots accepts it.
    let both = ws.write(
        "both.pem",
        [
            fs::read(&setup.ca.cert).expect("ca"),
            fs::read(&other.cert).expect("other"),
        ]
        .concat(),
    );
    let (code, report) = verify_roots(ws, &both);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn tsa_certificate_issued_by_a_non_ca_leaf_is_untrusted() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    // A leaf (basicConstraints CA:FALSE, no timeStamping) certified by the trusted root
    // issues itself a TSA certificate. `openssl x509 -req` signs with any key.
    let leaf = setup
        .ca
        .issue_tsa("leaf", "Some Leaf", Profile::NoTimeStamping);
    let dir = ws.path("pki/forged");
    fs::create_dir_all(&dir).expect("dir");
    let key = dir.join("tsa.key");
    let csr = dir.join("tsa.csr");
    let cert = dir.join("tsa.pem");
    let ext = dir.join("tsa.ext");
    fs::write(
        &ext,
        "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n\
         extendedKeyUsage = critical, timeStamping\n",
    )
    .expect("ext");
    openssl(
        &dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            s(&key),
            "-out",
            s(&csr),
            "-subj",
            "/CN=Forged TSA",
        ],
    );
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            s(&csr),
            "-CA",
            s(&leaf.cert),
            "-CAkey",
            s(&leaf.key),
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            s(&ext),
            "-out",
            s(&cert),
        ],
    );
    // Its ts config: the forged certificate signs, the leaf travels in the token as `certs`.
    let forged = Tsa::with_files(&dir, &cert, &key, &leaf.cert);
    stamp(&setup, &forged, 1, "one");
    let (ok, text) = openssl_status(
        &dir,
        &[
            "ts",
            "-verify",
            "-in",
            s(&ws.path("one.tsr")),
            "-queryfile",
            s(&ws.path("one.tsq")),
            "-CAfile",
            s(&setup.ca.cert),
            "-untrusted",
            s(&leaf.cert),
        ],
    );
    assert!(!ok, "openssl must refuse a chain through a non-CA: {text}");
    assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        1,
        &["timestamp-untrusted"],
    );
}

#[test]
fn expired_tsa_certificate_fails_verification() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let old = setup
        .ca
        .issue_tsa("old", "Evidentia Expired TSA", Profile::Expired);
    stamp(&setup, &old, 2, "two");
    // The implementation names this case precisely (it does not fold it into untrusted).
    let codes = assert_timestamp_problem(
        verify_roots(ws, &setup.ca.cert),
        2,
        &["timestamp-cert-expired"],
    );
    assert!(
        !codes.contains(&"timestamp-untrusted".to_string()),
        "{codes:?}"
    );
}

#[test]
fn token_signed_without_the_timestamping_eku_fails() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let tsq = ws.path("one.tsq");
    let tsr = ws.path("one.tsr");
    request(ws, Some(1), &tsq);
    setup.tsa.reply(&tsq, &tsr);

    // Control: the re-signing itself is sound: re-signed by the real TSA, the token verifies.
    let resigned = ws.path("resigned.tsr");
    setup.tsa.resign(&tsr, &setup.tsa, &resigned);
    attach_ok(ws, &resigned, Some(1));
    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "control (re-signed by the TSA): {report}");
    assert_eq!(timestamps(&report, 1)[0]["status"], "valid", "{report}");
    for file in token_files(ws) {
        Workspace::make_writable(&file);
        fs::remove_file(file).expect("remove control token");
    }

    // `openssl ts -reply` refuses a signer without the EKU, so sign the TSTInfo with CMS.
    let not_tsa = setup
        .ca
        .issue_tsa("notsa", "Evidentia Not A TSA", Profile::NoTimeStamping);
    let forged = ws.path("not-tsa.tsr");
    setup.tsa.resign(&tsr, &not_tsa, &forged);
    let (ok, text) = openssl_status(
        &ws.path(""),
        &[
            "ts",
            "-verify",
            "-in",
            s(&forged),
            "-queryfile",
            s(&tsq),
            "-CAfile",
            s(&setup.ca.cert),
            "-untrusted",
            s(&not_tsa.cert),
        ],
    );
    assert!(
        !ok && text.contains("purpose"),
        "openssl refuses it too: {text}"
    );

    // attach may refuse it outright; verify must fail on it either way, so a token planted
    // in the archive by someone with write access is caught.
    let (code, stdout, stderr) = attach(ws, &forged, Some(1));
    if code == 0 {
        eprintln!("note: attach accepted a token from a non-TSA certificate");
    } else {
        assert_eq!(code, 2, "{stdout} {stderr}");
        assert!(
            stderr.contains("timeStamping") || stderr.contains("not-tsa"),
            "{stderr}"
        );
        plant_token(ws, 1, &forged);
    }
    assert_timestamp_problem(verify_roots(ws, &setup.ca.cert), 1, &["timestamp-not-tsa"]);
    assert_timestamp_problem(verify(ws, None, &[]), 1, &["timestamp-not-tsa"]);
}

#[test]
fn an_empty_roots_file_is_refused_not_a_crash() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    stamp(&setup, &setup.tsa, 1, "one");
    for (name, text) in [("empty.pem", ""), ("blank.pem", "\n\r\n")] {
        let roots = ws.write(name, text);
        let (code, stdout, stderr) =
            ws.run(&["verify", "--trust", "signer.pub", "--tsa-roots", s(&roots)]);
        assert_eq!(code, 2, "{name}: {stdout} {stderr}");
        assert!(
            stderr.contains(name) && stderr.contains("no certificate"),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
