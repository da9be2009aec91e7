//! The one convention of every `--json` output (docs/JSON.md): a top-level object tagged
//! `"format": "evidentia-<what>/<version>"`, every digest written `sha256:<hex>`, every signer
//! an object `{"name": …, "key_id": …}`.
//!
//! Outputs built here use [`digest`] and [`signer`] directly. The verification, diff and
//! mirror reports are serialized by the library, which keeps bare hex and `name+keyid` strings
//! for its text renderers: [`print_report`] brings them to the convention by the field names
//! listed below, the only fields of those reports that hold digests or signers. Outputs that
//! carry user data (claims, notes, tags) never pass through that rewrite, so a value a user
//! recorded is printed as recorded even when it looks like a digest.

use anyhow::Result;
use serde_json::{json, Map, Value};

use evidentia::core::digest::Digest;
use evidentia::core::note::NoteSignature;

/// The `format` of each output built here (the library's reports name their own).
pub const LS: &str = "evidentia-ls/1";
pub const LOG: &str = "evidentia-log/1";
pub const SHOW: &str = "evidentia-show/1";
pub const ANNOTATIONS: &str = "evidentia-annotations/1";
/// W3C Web Annotation JSON-LD (`annotations --jsonld`): `format` is dc:format there, which
/// fits, so the collection carries the same tag as every other output.
pub const ANNOTATIONS_JSONLD: &str = "evidentia-annotations-jsonld/1";
pub const HISTORY: &str = "evidentia-history/1";
pub const KEY_LIST: &str = "evidentia-key-list/1";
/// Version 2: a refused mirror's equivocation evidence names signers and digests in the
/// convention.
pub const MIRROR: &str = "evidentia-mirror-report/2";

/// The prefix of every digest: the algorithm, so a reader never guesses it.
const DIGEST_PREFIX: &str = "sha256:";

/// Fields of the library's reports whose values (a string, or an array of strings) are
/// SHA-256 digests written as bare hex.
const DIGEST_FIELDS: &[&str] = &[
    "root",
    "text_sha256",
    "content",
    "record",
    "annotations_superseded",
];

/// Fields of the library's reports whose values are arrays of signers written `name+keyid`.
const SIGNER_FIELDS: &[&str] = &[
    "signers",
    "signed_both",
    "signers_added",
    "signers_removed",
    "witnesses",
];

/// A digest as every output writes it.
pub fn digest(digest: &Digest) -> String {
    format!("{DIGEST_PREFIX}{digest}")
}

/// A digest given as an option: bare hex as `export` prints it, or `sha256:<hex>` as the JSON
/// reports write it.
pub fn parse_digest(option: &'static str, text: &str) -> Result<Digest, evidentia::Error> {
    let hex = text.strip_prefix(DIGEST_PREFIX).unwrap_or(text);
    Digest::from_hex(hex).ok_or_else(|| evidentia::Error::InvalidOption {
        option,
        value: text.to_string(),
        why: "expected 64 hex digits, optionally after sha256:".into(),
    })
}

/// A signer as every output names it: the key's name and its 4-byte key id in hex (the
/// signed-note key hash, not a SHA-256 digest, so never prefixed).
pub fn signer(name: &str, key_id: &str) -> Value {
    json!({"name": name, "key_id": key_id})
}

/// The signer of one checkpoint signature line.
pub fn note_signer(signature: &NoteSignature) -> Value {
    signer(&signature.name, &hex::encode(signature.key_id))
}

/// Prints a library report (its own `format` passed) in the convention.
pub fn print_report(format: &str, report: impl serde::Serialize) -> Result<()> {
    let mut value = serde_json::to_value(report)?;
    conform(&mut value);
    print(format, value)
}

/// Prints `body` (an object built in the convention) as one JSON document tagged `format`.
pub fn print(format: &str, body: impl serde::Serialize) -> Result<()> {
    let value = serde_json::to_value(body)?;
    let object = match value {
        Value::Object(map) => map,
        other => anyhow::bail!("internal error: a JSON output is not an object: {other}"),
    };
    let mut out = Map::new();
    out.insert("format".into(), json!(format));
    out.extend(object.into_iter().filter(|(key, _)| key != "format"));
    println!("{}", evidentia::term::json(&Value::Object(out))?);
    Ok(())
}

/// Rewrites bare-hex digests and `name+keyid` signers in the fields that hold them, anywhere
/// in `value`. Values already in the convention are left as they are.
fn conform(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if DIGEST_FIELDS.contains(&key.as_str()) {
                    prefix_digests(field);
                } else if SIGNER_FIELDS.contains(&key.as_str()) {
                    signer_objects(field);
                }
                conform(field);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(conform),
        _ => {}
    }
}

fn is_bare_digest(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn prefix_digests(field: &mut Value) {
    match field {
        Value::String(text) if is_bare_digest(text) => *text = format!("{DIGEST_PREFIX}{text}"),
        Value::Array(items) => items.iter_mut().for_each(prefix_digests),
        _ => {}
    }
}

fn signer_objects(field: &mut Value) {
    let Value::Array(items) = field else { return };
    for item in items {
        let parsed = match item {
            // Key names cannot hold '+' (signed-note), so the last '+' ends the name.
            Value::String(text) => text
                .rsplit_once('+')
                .filter(|(name, id)| !name.is_empty() && id.len() == 8 && hex::decode(id).is_ok())
                .map(|(name, id)| signer(name, id)),
            _ => None,
        };
        if let Some(object) = parsed {
            *item = object;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_digests_and_signers_are_brought_to_the_convention() {
        let hex = "ab".repeat(32);
        let mut value = json!({
            "root": hex,
            "path": hex,
            "annotations_superseded": [hex],
            "content": format!("sha256:{hex}"),
            "from": {"signers": ["a.example+0011aaff", "not a signer"]},
            "witnesses": [],
        });
        conform(&mut value);
        assert_eq!(value["root"], format!("sha256:{hex}"));
        // A field that is not a digest keeps its value, even when it looks like one.
        assert_eq!(value["path"], hex);
        assert_eq!(value["annotations_superseded"][0], format!("sha256:{hex}"));
        assert_eq!(value["content"], format!("sha256:{hex}"));
        assert_eq!(
            value["from"]["signers"][0],
            json!({"name": "a.example", "key_id": "0011aaff"})
        );
        assert_eq!(value["from"]["signers"][1], "not a signer");
    }
}
