//! Request → reply → attach → verify (valid, chain unchecked), interoperability with
//! `openssl ts -verify`, and fetching over HTTP from loopback TSAs.

use super::*;

#[test]
fn request_is_a_standard_query_over_the_sealed_checkpoint() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let tsq = ws.path("one.tsq");
    let stdout = request(ws, Some(1), &tsq);
    let der = fs::read(&tsq).expect("read query");
    assert!(
        contains(&der, &sealed_digest(ws, 1)),
        "the query must carry SHA-256 of checkpoint 1's file"
    );
    assert!(!contains(&der, &sealed_digest(ws, 2)));
    let text = String::from_utf8(openssl(
        &ws.path(""),
        &["ts", "-query", "-in", s(&tsq), "-text"],
    ))
    .expect("UTF-8");
    assert!(text.contains("Version: 1"), "{text}");
    assert!(text.contains("Hash Algorithm: sha256"), "{text}");
    assert!(text.contains("Certificate required: yes"), "{text}");
    let nonce = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Nonce: "))
        .unwrap_or_else(|| panic!("no nonce: {text}"));
    let nonce = nonce.trim_start_matches("0x").to_lowercase();
    assert!(
        nonce.len() >= 8 && nonce.chars().all(|c| c.is_ascii_hexdigit()),
        "{text}"
    );
    // openssl prints the nonce as a hex integer (no leading zeros); evidentia prints it too.
    assert!(
        stdout
            .to_lowercase()
            .contains(nonce.trim_start_matches('0')),
        "the nonce {nonce} must be printed: {stdout}"
    );

    // Default: the latest checkpoint; each request has its own nonce.
    let latest = ws.path("latest.tsq");
    let stdout2 = request(ws, None, &latest);
    let der2 = fs::read(&latest).expect("read query");
    assert!(contains(&der2, &sealed_digest(ws, 2)));
    assert_ne!(stdout, stdout2, "two requests must have different nonces");

    // No such checkpoint: a usage error.
    let (code, _, stderr) = ws.run(&[
        "timestamp",
        "request",
        "--checkpoint",
        "9",
        "--out",
        "nine.tsq",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!ws.path("nine.tsq").exists());
}

#[test]
fn attached_token_verifies_against_the_tsa_root() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let tsq = ws.path("latest.tsq");
    let tsr = ws.path("latest.tsr");
    request(ws, None, &tsq);
    setup.tsa.reply(&tsq, &tsr);
    attach_ok(ws, &tsr, None);
    assert_eq!(token_files(ws).len(), 1, "one token stored");

    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true, "{report}");
    assert!(timestamps(&report, 1).is_empty(), "{report}");
    let stamps = timestamps(&report, 2);
    assert_eq!(stamps.len(), 1, "{report}");
    assert_eq!(stamps[0]["status"], "valid", "{report}");
    let tsa = stamps[0]["tsa"].as_str().expect("tsa");
    assert!(tsa.contains("Evidentia Test TSA"), "{report}");
    let time = stamps[0]["time"].as_str().expect("time");
    let (date, clock) = setup.tsa.gen_time(&tsr);
    assert!(
        time.contains(&date) && time.contains(&clock),
        "time {time} must be the token's genTime {date} {clock}"
    );

    // The human-readable report names the TSA too.
    let (code, stdout, stderr) = ws.run(&[
        "verify",
        "--trust",
        "signer.pub",
        "--tsa-roots",
        s(&setup.ca.cert),
    ]);
    assert_eq!(code, 0, "{stdout} {stderr}");
    assert!(stdout.contains("Evidentia Test TSA"), "{stdout}");
}

#[test]
fn without_roots_the_chain_is_unchecked() {
    let Some(setup) = setup() else { return };
    stamp(&setup, &setup.tsa, 1, "one");
    let (code, report) = verify(&setup.ws, None, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true, "{report}");
    let stamps = timestamps(&report, 1);
    assert_eq!(stamps.len(), 1, "{report}");
    assert_eq!(stamps[0]["status"], "chain-unchecked", "{report}");
    assert!(timestamps(&report, 2).is_empty(), "{report}");
}

#[test]
fn openssl_verifies_our_query_with_its_reply() {
    let Some(setup) = setup() else { return };
    let (tsq, tsr) = stamp(&setup, &setup.tsa, 2, "two");
    let (ok, text) = openssl_status(
        &setup.ws.path(""),
        &[
            "ts",
            "-verify",
            "-in",
            s(&tsr),
            "-queryfile",
            s(&tsq),
            "-CAfile",
            s(&setup.ca.cert),
            "-untrusted",
            s(&setup.tsa.cert),
        ],
    );
    assert!(ok && text.contains("Verification: OK"), "{text}");
    // And against the checkpoint's bytes directly, as a court's expert would.
    let (ok, text) = openssl_status(
        &setup.ws.path(""),
        &[
            "ts",
            "-verify",
            "-in",
            s(&tsr),
            "-data",
            s(&setup.ws.checkpoint_path(2)),
            "-CAfile",
            s(&setup.ca.cert),
            "-untrusted",
            s(&setup.tsa.cert),
        ],
    );
    assert!(ok && text.contains("Verification: OK"), "{text}");
}

/// `timestamp fetch ARGS` straight to loopback (no proxy), within two minutes.
fn fetch(ws: &Workspace, args: &[&str]) -> std::process::Output {
    ws.cmd()
        .args(["timestamp", "fetch"])
        .args(args)
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .env("NO_PROXY", "127.0.0.1")
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run fetch")
}

#[test]
fn fetch_from_two_tsas_keeps_both_tokens() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let second = setup
        .ca
        .issue_tsa("tsa2", "Evidentia Second TSA", Profile::Tsa);
    let one = tsa::serve(&setup.tsa);
    let two = tsa::serve(&second);
    let out = fetch(
        ws,
        &["--tsa", &one.url, "--tsa", &two.url, "--checkpoint", "1"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "fetch failed: {} {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    for responder in [&one, &two] {
        let received = responder.received.lock().expect("lock");
        assert_eq!(received.len(), 1, "each TSA gets one request");
        let (content_type, body) = &received[0];
        assert_eq!(content_type, "application/timestamp-query");
        assert!(contains(body, &sealed_digest(ws, 1)));
    }
    assert_eq!(token_files(ws).len(), 2, "both tokens kept");

    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "{report}");
    let stamps = timestamps(&report, 1);
    assert_eq!(stamps.len(), 2, "{report}");
    assert!(stamps.iter().all(|t| t["status"] == "valid"), "{report}");
    let names: Vec<&str> = stamps.iter().filter_map(|t| t["tsa"].as_str()).collect();
    assert!(
        names.iter().any(|n| n.contains("Evidentia Test TSA"))
            && names.iter().any(|n| n.contains("Evidentia Second TSA")),
        "{names:?}"
    );
}

#[test]
fn fetch_from_an_unreachable_tsa_fails_cleanly() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port();
    let url = format!("http://127.0.0.1:{port}/tsa");
    let (code, stdout, stderr) = ws.run(&["timestamp", "fetch", "--tsa", &url]);
    assert_ne!(code, 0, "{stdout} {stderr}");
    assert!(!stderr.trim().is_empty());
    assert!(token_files(ws).is_empty());
}

#[test]
fn fetch_asks_every_tsa_and_reports_each() {
    let Some(setup) = setup() else { return };
    let ws = &setup.ws;
    let down = format!(
        "http://127.0.0.1:{}/tsa",
        std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("address")
            .port()
    );
    let up = tsa::serve(&setup.tsa);
    // The failing TSA first: the one after it must still be asked.
    let out = fetch(ws, &["--tsa", &down, "--tsa", &up.url]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(2), "{stdout} {stderr}");
    assert_eq!(
        up.received.lock().expect("lock").len(),
        1,
        "the second TSA was asked"
    );
    assert!(
        stdout.contains(&up.url) && stdout.contains("time-stamped by"),
        "the success is reported: {stdout}"
    );
    assert!(
        stderr.contains(&format!("{down}: failed")) && stderr.contains("1 of 2 TSAs"),
        "the failure is reported: {stderr}"
    );
    assert_eq!(token_files(ws).len(), 1, "the token obtained is kept");
    let (code, report) = verify_roots(ws, &setup.ca.cert);
    assert_eq!(code, 0, "{report}");
}
