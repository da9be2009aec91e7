//! BagIt (RFC 8493) manifests: writing them, and reading them back defensively.

use std::io::Read;
use std::path::Path;

use crate::archive::fsutil;
use crate::core::digest::{Digest, Hasher};
use crate::error::{Error, Result};

pub const BAGIT_TXT: &str = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";

/// Encodes a path for a manifest line: `%`, CR and LF are percent-encoded (RFC 8493 §2.1.3).
pub fn encode_path(path: &str) -> String {
    path.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Decodes a manifest path; `None` for a malformed escape.
pub fn decode_path(path: &str) -> Option<String> {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 3)?;
        match code.to_ascii_uppercase().as_str() {
            "25" => out.push('%'),
            "0D" => out.push('\r'),
            "0A" => out.push('\n'),
            _ => return None,
        }
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// One `checksum path` line per file, sorted by path.
pub fn manifest(entries: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.1.cmp(&b.1));
    sorted
        .iter()
        .map(|(hex, path)| format!("{hex}  {}\n", encode_path(path)))
        .collect()
}

/// Parses a manifest into (hex digest, decoded path) pairs.
pub fn parse_manifest(file: &Path, text: &str) -> Result<Vec<(String, String)>> {
    let bad = |line: usize, why: &str| Error::BadInput {
        path: file.to_path_buf(),
        why: format!("line {line}: {why}"),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (hex, path) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| bad(i + 1, "expected 'checksum path'"))?;
        let path = path.trim_start_matches([' ', '\t']);
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(i + 1, "the checksum is not 64 hex digits"));
        }
        let path = decode_path(path).ok_or_else(|| bad(i + 1, "bad percent-encoding"))?;
        out.push((hex.to_ascii_lowercase(), path));
    }
    Ok(out)
}

/// `sha256sum` check-file lines (`hex  path`).
pub fn sha256sums(entries: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.1.cmp(&b.1));
    sorted
        .iter()
        .map(|(hex, path)| format!("{hex}  {path}\n"))
        .collect()
}

/// `bag-info.txt` with the fields archivists' tools read.
pub fn bag_info(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}: {}\n", v.replace(['\r', '\n'], " ")))
        .collect()
}

/// Reads `Payload-Oxum: <bytes>.<count>` from bag-info text.
pub fn payload_oxum(text: &str) -> Option<(u64, u64)> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix("Payload-Oxum:")?.trim();
        let (bytes, count) = value.split_once('.')?;
        Some((bytes.parse().ok()?, count.parse().ok()?))
    })
}

/// SHA-256 of a regular file (links refused).
pub(crate) fn hash_file(path: &Path) -> Result<Digest> {
    hash_file_counted(path).map(|(digest, _)| digest)
}

/// SHA-256 of a regular file and the number of bytes hashed (no second `stat` for the size).
pub(crate) fn hash_file_counted(path: &Path) -> Result<(Digest, u64)> {
    let (mut file, _) = fsutil::open_regular(path, fsutil::Links::Refuse)?;
    let mut hasher = Hasher::new();
    let mut count = 0u64;
    fsutil::with_read_buffer(|buf| loop {
        let n = file.read(buf).map_err(Error::io(path))?;
        if n == 0 {
            return Ok((hasher.finish(), count));
        }
        count += n as u64;
        hasher.update(&buf[..n]);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_round_trips() {
        let path = "data/100%\rdone\n.txt";
        assert_eq!(decode_path(&encode_path(path)).as_deref(), Some(path));
        assert_eq!(decode_path("data/%zz"), None);
    }

    #[test]
    fn manifest_round_trips() {
        let entries = vec![
            ("ab".repeat(32), "data/b.txt".to_string()),
            ("cd".repeat(32), "data/a 1%.txt".to_string()),
        ];
        let text = manifest(&entries);
        assert!(text.starts_with(&"cd".repeat(32)));
        let parsed = parse_manifest(Path::new("m"), &text).unwrap();
        assert_eq!(parsed[0].1, "data/a 1%.txt");
        assert!(parse_manifest(Path::new("m"), "nothex data/x\n").is_err());
    }
}
