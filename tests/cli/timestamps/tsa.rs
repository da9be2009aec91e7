//! A real, local RFC 3161 time-stamping authority built with the `openssl` command at test time
//! (no committed keys): throwaway root CAs, TSA certificates issued by them (current, expired,
//! or without the timeStamping extended key usage), `openssl ts -reply` behind Rust helpers, and
//! a loopback HTTP responder for `timestamp fetch`.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The id-smime-ct-TSTInfo content type (RFC 3161).
const TST_INFO_OID: &str = "1.2.840.113549.1.9.16.1.4";

/// True when `openssl` runs. Missing under CI=true is a failure: a skip there would hide a
/// missing install step.
pub fn openssl_present() -> bool {
    let present = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but openssl is missing"
        );
        eprintln!("NOTICE: openssl is missing; RFC 3161 timestamp test skipped");
    }
    present
}

/// Runs `openssl args` in `dir`; panics with its output when it fails. Returns stdout.
pub fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .env_remove("OPENSSL_CONF")
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `openssl args` in `dir`; returns (success, stdout + stderr).
pub fn openssl_status(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .env_remove("OPENSSL_CONF")
        .output()
        .expect("run openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temporary path")
}

/// A self-signed root CA with an `openssl ca` database, so leaf certificates can be given any
/// validity period (`openssl x509 -req` in OpenSSL 3.0 cannot back-date).
pub struct Ca {
    pub dir: PathBuf,
    /// The CA certificate (PEM): what `--tsa-roots` gets.
    pub cert: PathBuf,
}

/// How a TSA certificate is issued.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Valid now, with `extendedKeyUsage = critical, timeStamping`.
    Tsa,
    /// As `Tsa`, but valid only during 2020.
    Expired,
    /// Valid now, without any extended key usage: not a TSA certificate.
    NoTimeStamping,
}

impl Ca {
    /// A new root CA named `cn` in `dir` (created).
    pub fn new(dir: &Path, cn: &str) -> Ca {
        fs::create_dir_all(dir.join("db")).expect("create CA directory");
        fs::write(dir.join("db/index.txt"), "").expect("CA index");
        fs::write(dir.join("db/serial"), "1000\n").expect("CA serial");
        let cert = dir.join("ca.pem");
        let key = dir.join("ca.key");
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                s(&key),
                "-out",
                s(&cert),
                "-days",
                "3650",
                "-subj",
                &format!("/CN={cn}/O=Evidentia Tests"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        let config = format!(
            "[ ca ]\ndefault_ca = test_ca\n\
             [ test_ca ]\n\
             database = {db}/index.txt\n\
             serial = {db}/serial\n\
             new_certs_dir = {db}\n\
             certificate = {cert}\n\
             private_key = {key}\n\
             default_md = sha256\n\
             policy = any\n\
             unique_subject = no\n\
             copy_extensions = none\n\
             [ any ]\n\
             commonName = supplied\n\
             organizationName = optional\n",
            db = s(&dir.join("db")),
            cert = s(&cert),
            key = s(&key),
        );
        fs::write(dir.join("ca.cnf"), config).expect("CA config");
        Ca {
            dir: dir.to_path_buf(),
            cert,
        }
    }

    /// Issues a TSA certificate for subject `/CN=cn/O=Evidentia Tests` (ECDSA P-256) and sets
    /// up its `openssl ts` configuration in `<CA dir>/<name>/`.
    pub fn issue_tsa(&self, name: &str, cn: &str, profile: Profile) -> Tsa {
        let dir = self.dir.join(name);
        fs::create_dir_all(&dir).expect("create TSA directory");
        let key = dir.join("tsa.key");
        let csr = dir.join("tsa.csr");
        let cert = dir.join("tsa.pem");
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
                &format!("/CN={cn}/O=Evidentia Tests"),
            ],
        );
        let mut extensions =
            String::from("basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n");
        if profile != Profile::NoTimeStamping {
            extensions.push_str("extendedKeyUsage = critical, timeStamping\n");
        }
        let ext = dir.join("tsa.ext");
        fs::write(&ext, extensions).expect("extensions file");
        let validity: &[&str] = if profile == Profile::Expired {
            &[
                "-startdate",
                "20200101000000Z",
                "-enddate",
                "20210101000000Z",
            ]
        } else {
            &["-days", "365"]
        };
        self.sign(&dir, &csr, &ext, &cert, validity);
        Tsa::with_files(&dir, &cert, &key, &self.cert)
    }

    /// `openssl ca`: certifies the request `csr` with the extensions in `ext` into `cert`.
    fn sign(&self, dir: &Path, csr: &Path, ext: &Path, cert: &Path, validity: &[&str]) {
        let ca_config = self.dir.join("ca.cnf");
        let mut args = vec![
            "ca",
            "-batch",
            "-notext",
            "-config",
            s(&ca_config),
            "-in",
            s(csr),
            "-out",
            s(cert),
            "-extfile",
            s(ext),
        ];
        args.extend_from_slice(validity);
        openssl(dir, &args);
    }
}

impl Ca {
    /// A second certificate from this CA for `tsa`'s key and subject (another serial number):
    /// the key certified twice. Returns the certificate (PEM).
    pub fn reissue(&self, tsa: &Tsa, name: &str) -> PathBuf {
        let cert = tsa.dir.join(format!("{name}.pem"));
        let (csr, ext) = (tsa.dir.join("tsa.csr"), tsa.dir.join("tsa.ext"));
        // Valid from well before the token's genTime: a certificate starting "now" would not
        // yet be valid at a genTime taken a second earlier on a loaded machine (a flaky test).
        let validity = [
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20991231000000Z",
        ];
        self.sign(&tsa.dir, &csr, &ext, &cert, &validity);
        cert
    }
}

/// A certificate's DER, from its PEM file.
pub fn cert_der(dir: &Path, pem: &Path) -> Vec<u8> {
    openssl(dir, &["x509", "-in", s(pem), "-outform", "DER"])
}

/// A certificate's serial number, as the DER INTEGER (tag, length, value).
pub fn serial_der(dir: &Path, pem: &Path) -> Vec<u8> {
    let text = String::from_utf8(openssl(dir, &["x509", "-in", s(pem), "-noout", "-serial"]))
        .expect("UTF-8");
    let hex = text.trim().trim_start_matches("serial=");
    let mut value: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex serial"))
        .collect();
    if value[0] & 0x80 != 0 {
        value.insert(0, 0);
    }
    der(0x02, &value)
}

/// A TSA: certificate, key and `openssl ts` configuration.
#[derive(Clone)]
pub struct Tsa {
    pub dir: PathBuf,
    /// The TSA certificate (PEM).
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca_cert: PathBuf,
    counter: Arc<AtomicUsize>,
}

impl Tsa {
    /// A TSA signing with `cert`/`key`, its token carrying `ca_cert` too, configured in `dir`.
    pub fn with_files(dir: &Path, cert: &Path, key: &Path, ca_cert: &Path) -> Tsa {
        let tsa = Tsa {
            dir: dir.to_path_buf(),
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            ca_cert: ca_cert.to_path_buf(),
            counter: Arc::new(AtomicUsize::new(0)),
        };
        fs::write(dir.join("serial"), "01\n").expect("TSA serial");
        fs::write(
            tsa.config_path(),
            tsa.config("sha256, sha384, sha512", "sha256", 0),
        )
        .expect("TSA config");
        tsa
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join("ts.cnf")
    }

    /// An `openssl ts` configuration accepting the `digests` listed, naming the signer
    /// certificate in the ESS attribute by an `ess_cert_id_alg` hash (sha1: signingCertificate,
    /// else signingCertificateV2) and giving genTime `clock_digits` fractional digits. The token
    /// carries the TSA certificate (certReq) and the CA certificate (`certs`).
    fn config(&self, digests: &str, ess_cert_id_alg: &str, clock_digits: u8) -> String {
        format!(
            "[ tsa ]\ndefault_tsa = tsa_config\n\
             [ tsa_config ]\n\
             serial = {serial}\n\
             signer_cert = {cert}\n\
             certs = {ca}\n\
             signer_key = {key}\n\
             signer_digest = sha256\n\
             default_policy = 1.3.6.1.4.1.55555.1.1\n\
             other_policies = 1.3.6.1.4.1.55555.1.2\n\
             digests = {digests}\n\
             accuracy = secs:1\n\
             ordering = no\n\
             tsa_name = yes\n\
             ess_cert_id_chain = no\n\
             ess_cert_id_alg = {ess_cert_id_alg}\n\
             clock_precision_digits = {clock_digits}\n",
            serial = s(&self.dir.join("serial")),
            cert = s(&self.cert),
            ca = s(&self.ca_cert),
            key = s(&self.key),
        )
    }

    /// `openssl ts -reply -queryfile tsq -config … -out tsr`.
    pub fn reply(&self, tsq: &Path, tsr: &Path) {
        self.reply_with(&self.config_path(), tsq, tsr);
    }

    fn reply_with(&self, config: &Path, tsq: &Path, tsr: &Path) {
        openssl(
            &self.dir,
            &[
                "ts",
                "-reply",
                "-queryfile",
                s(tsq),
                "-config",
                s(config),
                "-out",
                s(tsr),
            ],
        );
    }

    /// A reply whose ESS attribute uses `ess_cert_id_alg` and whose genTime has `clock_digits`
    /// fractional digits.
    pub fn reply_configured(
        &self,
        tsq: &Path,
        tsr: &Path,
        ess_cert_id_alg: &str,
        clock_digits: u8,
    ) {
        let config = self
            .dir
            .join(format!("ts-{ess_cert_id_alg}-{clock_digits}.cnf"));
        let text = self.config("sha256, sha384, sha512", ess_cert_id_alg, clock_digits);
        fs::write(&config, text).expect("config");
        self.reply_with(&config, tsq, tsr);
    }

    /// A reply with status rejection: the same TSA configured to accept SHA-384 only, so a
    /// SHA-256 query is refused (badAlg). Checks that openssl did reject it.
    pub fn reject(&self, tsq: &Path, tsr: &Path) {
        let config = self.dir.join("ts-sha384-only.cnf");
        fs::write(&config, self.config("sha384", "sha256", 0)).expect("config");
        self.reply_with(&config, tsq, tsr);
        let text = self.reply_text(tsr);
        assert!(text.contains("Status: Rejected"), "{text}");
    }

    /// The reply for a query given as bytes (for the HTTP responder).
    pub fn reply_bytes(&self, query: &[u8]) -> Vec<u8> {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let tsq = self.dir.join(format!("http-{n}.tsq"));
        let tsr = self.dir.join(format!("http-{n}.tsr"));
        fs::write(&tsq, query).expect("write query");
        self.reply(&tsq, &tsr);
        fs::read(&tsr).expect("read reply")
    }

    /// `openssl ts -reply -in tsr -text`.
    pub fn reply_text(&self, tsr: &Path) -> String {
        String::from_utf8(openssl(
            &self.dir,
            &["ts", "-reply", "-in", s(tsr), "-text"],
        ))
        .expect("UTF-8")
    }

    /// The genTime of a granted reply as ("YYYY-MM-DD", "hh:mm:ss"), read by openssl.
    pub fn gen_time(&self, tsr: &Path) -> (String, String) {
        let text = self.reply_text(tsr);
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("Time stamp: "))
            .unwrap_or_else(|| panic!("no time stamp in {text}"));
        // "Nov 22 14:05:41 2026 GMT" (the day may be space-padded).
        let parts: Vec<&str> = line.split_whitespace().collect();
        let months = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let month = months
            .iter()
            .position(|m| *m == parts[0])
            .expect("month name")
            + 1;
        let day: u32 = parts[1].parse().expect("day");
        let time = parts[2].split('.').next().expect("time").to_string();
        (format!("{}-{month:02}-{day:02}", parts[3]), time)
    }

    /// Re-signs the token of a granted `tsr` (its TSTInfo unchanged, so imprint and nonce still
    /// match) with `signer`'s certificate and key via `openssl cms -sign -cades` (which adds the
    /// signing-certificate-v2 attribute RFC 3161 asks for), and wraps it in a granted
    /// TimeStampResp. This is how a token signed by a certificate `openssl ts -reply` refuses
    /// to use (no timeStamping EKU) is made.
    pub fn resign(&self, tsr: &Path, signer: &Tsa, out: &Path) {
        self.resign_with(tsr, signer, out, &[]);
    }

    /// As `resign`, with more `openssl cms -sign` arguments (`-keyid`: the SignerInfo names
    /// the signer by subject key identifier).
    pub fn resign_with(&self, tsr: &Path, signer: &Tsa, out: &Path, extra: &[&str]) {
        let token = self.dir.join("resign-token.der");
        let tst_info = self.dir.join("resign-tstinfo.der");
        let signed = self.dir.join("resign-signed.der");
        openssl(
            &self.dir,
            &[
                "ts",
                "-reply",
                "-in",
                s(tsr),
                "-token_out",
                "-out",
                s(&token),
            ],
        );
        openssl(
            &self.dir,
            &[
                "cms",
                "-verify",
                "-noverify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                s(&token),
                "-out",
                s(&tst_info),
            ],
        );
        let mut sign = vec![
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-cades",
            "-md",
            "sha256",
            "-econtent_type",
            TST_INFO_OID,
            "-in",
            s(&tst_info),
            "-signer",
            s(&signer.cert),
            "-inkey",
            s(&signer.key),
            "-certfile",
            s(&signer.ca_cert),
            "-outform",
            "DER",
            "-out",
            s(&signed),
        ];
        sign.extend_from_slice(extra);
        openssl(&self.dir, &sign);
        let token = fs::read(&signed).expect("read signed token");
        fs::write(out, granted_reply(&token)).expect("write reply");
    }
}

/// A granted TimeStampResp carrying `token`:
/// SEQUENCE { status PKIStatusInfo (SEQUENCE { INTEGER 0 }), token }.
pub fn granted_reply(token: &[u8]) -> Vec<u8> {
    let mut body = der(0x30, &[0x02, 0x01, 0x00]);
    body.extend_from_slice(token);
    der(0x30, &body)
}

/// (header length, content length) of the DER TLV at `at` (one-byte tags).
pub fn tlv(bytes: &[u8], at: usize) -> (usize, usize) {
    let first = bytes[at + 1];
    if first < 0x80 {
        return (2, usize::from(first));
    }
    let count = usize::from(first & 0x7f);
    let len = bytes[at + 2..at + 2 + count]
        .iter()
        .fold(0usize, |n, b| (n << 8) | usize::from(*b));
    (2 + count, len)
}

/// `bytes` (a DER TLV, or TLVs in sequence) with the `old_len` bytes at `at` replaced by `new`
/// and the length of every constructed TLV around them rewritten: what an attacker does to
/// swap one part of a token for another of a different size.
pub fn splice(bytes: &[u8], at: usize, old_len: usize, new: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let (head, len) = tlv(bytes, pos);
        let end = pos + head + len;
        let inside = pos < at && at + old_len <= end && at >= pos + head;
        if inside && bytes[pos] & 0x20 != 0 {
            let content = &bytes[pos + head..end];
            let inner = splice(content, at - pos - head, old_len, new);
            out.extend(der(bytes[pos], &inner));
        } else if pos == at && end == at + old_len {
            out.extend_from_slice(new);
        } else {
            assert!(!inside, "cannot splice inside primitive TLV at {pos}");
            out.extend_from_slice(&bytes[pos..end]);
        }
        pos = end;
    }
    out
}

/// A DER TLV with definite length.
pub fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

/// What a loopback responder received: (Content-Type, body) per request.
pub type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A loopback HTTP time-stamping service: a thread answering POSTs with `openssl ts -reply`.
pub struct Responder {
    pub url: String,
    pub received: Received,
}

/// Starts a responder for `tsa` on 127.0.0.1 (a free port). The thread lives until the test
/// process exits.
pub fn serve(tsa: &Tsa) -> Responder {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!(
        "http://{}/tsa",
        listener.local_addr().expect("local address")
    );
    let received: Received = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&received);
    let tsa = tsa.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
            let Some((content_type, body)) = read_request(&mut stream) else {
                let _ = stream.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            };
            let reply = tsa.reply_bytes(&body);
            log.lock().expect("lock").push((content_type, body));
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                reply.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&reply);
            let _ = stream.flush();
        }
    });
    Responder { url, received }
}

/// Reads one HTTP/1.1 POST: returns (Content-Type, body). Handles Content-Length and chunked
/// bodies.
fn read_request(stream: &mut std::net::TcpStream) -> Option<(String, Vec<u8>)> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    if !request_line.starts_with("POST ") {
        return None;
    }
    let mut content_type = String::new();
    let mut length: Option<usize> = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-type" => content_type = value.to_string(),
            "content-length" => length = value.parse().ok(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length?, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some((content_type, body))
}
