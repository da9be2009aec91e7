//! Annotations, retractions, custody events, item histories and key events (introduce, rotate,
//! revoke, several signers, trust-file attributes), driven through the binary.

use std::fs;
use std::path::Path;

use serde_json::Value;

use evidentia::archive::append::append_records;
use evidentia::archive::Archive;
use evidentia::core::key::SignerKey;
use evidentia::core::record::{key_event_message, Header, KeyAction, KeyRecord, Record};
use evidentia::keyfile;

use crate::common::{added, Workspace};

mod history;
pub(crate) mod keys;
mod lineage;
mod links;
mod selectors;
mod supersede;

const REPORT: &str = "The convoy left at dawn. 2,442 children were taken to Belarus. \
Officials later said 2,442 children had been \"evacuated\".\n";

/// Runs the binary and expects exit 0; returns stdout.
fn ok(ws: &Workspace, args: &[&str]) -> String {
    let (code, stdout, stderr) = ws.run(args);
    assert_eq!(code, 0, "evidentia {args:?} failed: {stderr}");
    stdout
}

/// Runs the binary and expects a refusal (exit 2); returns stderr.
fn refused(ws: &Workspace, args: &[&str]) -> String {
    let (code, stdout, stderr) = ws.run(args);
    assert_eq!(
        code, 2,
        "evidentia {args:?} must be refused; stdout: {stdout} stderr: {stderr}"
    );
    assert!(stderr.contains("error"), "{stderr}");
    stderr
}

/// Runs the binary, expects exit 0 and parses stdout as JSON.
fn json(ws: &Workspace, args: &[&str]) -> Value {
    let stdout = ok(ws, args);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"))
}

/// `annotate` with `args` after the target; returns the annotation id (hex).
fn annotate(ws: &Workspace, target: &str, args: &[&str]) -> String {
    let mut all = vec!["annotate", target];
    all.extend_from_slice(args);
    let stdout = ok(ws, &all);
    let id = stdout
        .trim_end()
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("annotate prints sha256:<id>: {stdout}"));
    assert_eq!(id.len(), 64, "{stdout}");
    id.to_string()
}

/// Adds one file and returns its content digest (hex).
fn add_one(ws: &Workspace, args: &[&str]) -> String {
    let docs = added(&ws.add(args));
    assert_eq!(docs.len(), 1, "{docs:?}");
    docs[0].0.clone()
}

/// Prints `sha256:<hex>` for a command that records one thing; returns the hex.
fn recorded(ws: &Workspace, args: &[&str]) -> String {
    let stdout = ok(ws, args);
    stdout
        .trim_end()
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("{args:?} prints sha256:<id>: {stdout}"))
        .to_string()
}

/// The log size, to show a refused command recorded nothing.
fn size(ws: &Workspace) -> u64 {
    ws.log_size()
}

/// Runs `verify --json --trust FILE --require N`; returns (exit code, report).
fn verify_with(ws: &Workspace, trust: &str, require: usize) -> (i32, Value) {
    let require = require.to_string();
    let (code, stdout, stderr) =
        ws.run(&["verify", "--json", "--trust", trust, "--require", &require]);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("verify printed no JSON ({e}): {stdout} {stderr}"));
    (code, report)
}

fn assert_verifies(ws: &Workspace, trust: &str, require: usize) -> Value {
    let (code, report) = verify_with(ws, trust, require);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true, "{report}");
    assert!(Workspace::problem_codes(&report).is_empty(), "{report}");
    report
}

/// The problems of a report as (code, item) pairs.
fn problems(report: &Value) -> Vec<(String, String)> {
    report["problems"]
        .as_array()
        .expect("problems array")
        .iter()
        .map(|p| {
            (
                p["code"].as_str().expect("code").to_string(),
                p["item"].as_str().expect("item").to_string(),
            )
        })
        .collect()
}

/// The signature statuses of checkpoint `number` in a report, as (name, status).
fn statuses(report: &Value, number: u64) -> Vec<(String, String)> {
    let checkpoint = report["checkpoints"]
        .as_array()
        .expect("checkpoints")
        .iter()
        .find(|c| c["number"] == number)
        .unwrap_or_else(|| panic!("no checkpoint {number} in {report}"));
    checkpoint["signatures"]
        .as_array()
        .expect("signatures")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_string(),
                s["status"].as_str().expect("status").to_string(),
            )
        })
        .collect()
}

fn checkpoint_ok(report: &Value, number: u64) -> bool {
    report["checkpoints"]
        .as_array()
        .expect("checkpoints")
        .iter()
        .find(|c| c["number"] == number)
        .unwrap_or_else(|| panic!("no checkpoint {number} in {report}"))["ok"]
        .as_bool()
        .expect("ok is a boolean")
}

/// Generates an unencrypted key `PREFIX.key` / `PREFIX.pub`; returns the public key line.
fn generate_key(ws: &Workspace, prefix: &str) -> String {
    ok(ws, &["key", "generate", "--out", prefix, "--unencrypted"]);
    read_pub(ws, prefix)
}

fn read_pub(ws: &Workspace, prefix: &str) -> String {
    fs::read_to_string(ws.path(&format!("{prefix}.pub")))
        .expect("read .pub")
        .trim_end()
        .to_string()
}

fn load_key(ws: &Workspace, file: &str) -> SignerKey {
    keyfile::load(
        &ws.path(file),
        || -> evidentia::Result<keyfile::Passphrase> { panic!("test keys are unencrypted") },
    )
    .expect("load key")
}

/// The annotation with `id` (hex) in `annotations --json` output.
fn find_view<'a>(views: &'a Value, id: &str) -> &'a Value {
    views
        .as_array()
        .expect("an array of annotations")
        .iter()
        .find(|v| v["id"] == format!("sha256:{id}"))
        .unwrap_or_else(|| panic!("annotation {id} not listed: {views}"))
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A valid `width` x `height` 8-bit greyscale PNG (all black), zlib with one stored block.
fn tiny_png(width: u32, height: u32) -> Vec<u8> {
    let mut raw = Vec::new();
    for _ in 0..height {
        raw.push(0); // filter: none
        raw.extend(std::iter::repeat_n(0u8, width as usize));
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    let len = raw.len() as u16;
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&len.to_le_bytes());
    zlib.extend_from_slice(&(!len).to_le_bytes());
    zlib.extend_from_slice(&raw);
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // depth 8, greyscale, deflate, filter 0, no interlace
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(&mut png, b"IDAT", &zlib);
    png_chunk(&mut png, b"IEND", &[]);
    png
}

/// A minimal two-page PDF (enough for page counting).
const PDF: &str = "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n\
3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n\
4 0 obj << /Type /Page /Parent 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// A workspace with report.txt, statement.pdf, scene.png (40x30), clip.mp4 and photo.jpg.
fn media_workspace() -> Workspace {
    let ws = Workspace::new();
    ws.write("report.txt", REPORT);
    ws.write("statement.pdf", PDF);
    ws.write("scene.png", tiny_png(40, 30));
    ws.write("clip.mp4", b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom\xff\xfe");
    ws.write("photo.jpg", b"\xff\xd8\xff\xe0\0\x10JFIF\0\xff\xfe\x80");
    let docs = added(&ws.add(&[
        "report.txt",
        "statement.pdf",
        "scene.png",
        "clip.mp4",
        "photo.jpg",
    ]));
    assert_eq!(docs.len(), 5, "{docs:?}");
    ws
}
