//! `show`: one record of any kind in full, as text or JSON (also the records of `log --json`).

use anyhow::Result;
use serde_json::{json, Value};

use evidentia::archive::query::LoggedRecord;
use evidentia::archive::sealed_notes::{is_hidden, ENCRYPTED};
use evidentia::core::record::{Collection, DocumentRecord, Record};

use super::annotate::{describe_selector, selector_json};

pub(super) fn document_json(doc: &DocumentRecord) -> Value {
    let mut value = json!({
        "content": super::json::digest(&doc.content),
        "size": doc.size,
        "media_type": doc.media_type,
        "path": doc.path,
        "original_name": doc.original_name,
        // The exact name bytes when the path had to be escaped: lossless (hex) and for display.
        "original_path_hex": doc.original_path.as_deref().map(hex::encode),
        "original_path_lossy": doc.original_path.as_deref().map(|b| String::from_utf8_lossy(b).into_owned()),
    });
    add_collection_json(&mut value, &doc.collection);
    if let (Some(info), Some(map)) = (&doc.encryption, value.as_object_mut()) {
        map.insert("encryption".into(), encryption_json(info));
    }
    value
}

/// An `encryption` map: the plaintext side of a stored ciphertext (FORMAT.md §23.2).
fn encryption_json(info: &evidentia::core::record::EncryptionInfo) -> Value {
    use evidentia::core::record::PlaintextBinding;
    let (digest, commitment) = match &info.binding {
        PlaintextBinding::Digest(d) => (Some(sha(d)), None),
        PlaintextBinding::Committed { commitment, .. } => (None, Some(sha(commitment))),
    };
    json!({
        "scheme": "age-v1",
        "plaintext_size": info.plaintext_size,
        "plaintext_sha256": digest,
        "commitment": commitment,
        "recipients_record": info.recipients.as_ref().map(sha),
    })
}

fn encryption_fields(info: &evidentia::core::record::EncryptionInfo) {
    use evidentia::core::record::PlaintextBinding;
    field(
        "encrypted",
        "age v1 (content and size above are the ciphertext's)",
    );
    field("plaintext size", &format!("{} bytes", info.plaintext_size));
    match &info.binding {
        PlaintextBinding::Digest(d) => field("plaintext", &sha(d)),
        PlaintextBinding::Committed { commitment, .. } => field(
            "commitment",
            &format!(
                "{} (digest hidden; opened with an identity)",
                sha(commitment)
            ),
        ),
    }
    if let Some(r) = &info.recipients {
        field("recipients", &format!("{} (recipients record)", sha(r)));
    }
}

/// Collection fields; `collected_at` in UTC, `collected_at_local` as given (with its offset).
pub(super) fn add_collection_json(value: &mut Value, c: &Collection) {
    let fields = json!({
        "source_url": c.source_url,
        "collected_at": c.collected_at.map(|t| t.to_string()),
        "collected_at_local": c.collected_at.map(|t| t.at_offset(c.collected_offset)),
        "collected_offset_minutes": c.collected_offset,
        "collector": c.collector,
        "tool": c.tool,
        "note": c.note,
        "tags": c.tags,
    });
    if let (Some(map), Value::Object(more)) = (value.as_object_mut(), fields) {
        map.extend(more);
    }
}

fn collection_fields(c: &Collection) {
    optional("source url", c.source_url.as_deref());
    optional(
        "collected at",
        c.collected_at
            .map(|t| t.at_offset(c.collected_offset))
            .as_deref(),
    );
    optional("collector", c.collector.as_deref());
    optional("tool", c.tool.as_deref());
    optional("note", c.note.as_deref());
    if !c.tags.is_empty() {
        field("tags", &c.tags.join(", "));
    }
}

fn sha(digest: &evidentia::core::digest::Digest) -> String {
    super::json::digest(digest)
}

/// `encrypted` (and, when sealed, `sealed`: the ciphertext and plaintext digests) on an
/// annotation or custody event; its `hidden` fields are left out until decrypted.
fn add_sealed_json(
    value: &mut Value,
    record: &Record,
    sealed: Option<&evidentia::core::record::SealedFields>,
    hidden: &[&str],
) {
    let Some(map) = value.as_object_mut() else {
        return;
    };
    map.insert("encrypted".into(), json!(sealed.is_some()));
    let Some(sealed) = sealed else {
        return;
    };
    map.insert(
        "sealed".into(),
        json!({
            "ciphertext": sha(&sealed.content),
            "ciphertext_size": sealed.size,
            "plaintext_size": sealed.encryption.plaintext_size,
            "plaintext_sha256": sha(sealed.plaintext_digest()),
            "recipients_record": sealed.encryption.recipients.as_ref().map(sha),
            "decrypted": !is_hidden(record),
        }),
    );
    if is_hidden(record) {
        for name in hidden {
            map.remove(*name);
        }
    }
}

fn sealed_fields(record: &Record, sealed: Option<&evidentia::core::record::SealedFields>) {
    if let Some(sealed) = sealed {
        let state = if is_hidden(record) {
            "not decrypted (give --identity FILE)"
        } else {
            "decrypted and checked against the record"
        };
        field(
            "encrypted",
            &format!(
                "{state}: ciphertext {} ({} bytes), plaintext {}",
                sha(&sealed.content),
                sealed.size,
                sha(sealed.plaintext_digest())
            ),
        );
    }
}

/// The fields of a record other than its kind and time, under the name of its kind.
fn body_json(record: &Record) -> Option<(&'static str, Value)> {
    Some(match record {
        Record::Document(doc) => ("document", document_json(doc)),
        Record::Annotation(a) => ("annotation", {
            let mut value = json!({
                "target": sha(&a.target),
                "analyst": a.analyst,
                "body": a.body,
                "selectors": a.selectors.iter().map(selector_json).collect::<Vec<_>>(),
                "claim": a.claim,
                "links": a.links.iter().map(|l| json!({"relation": l.relation.as_str(), "target": sha(&l.target)})).collect::<Vec<_>>(),
                "tags": a.tags,
            });
            add_sealed_json(&mut value, record, a.sealed.as_ref(), &["body", "claim"]);
            value
        }),
        Record::Custody(c) => ("custody", {
            let mut value = json!({
                "event": c.event.as_str(),
                "actor": c.actor,
                "from": c.from,
                "to": c.to,
                "note": c.note,
                "at": c.at.map(|t| t.to_string()),
                "targets": c.targets.iter().map(sha).collect::<Vec<_>>(),
            });
            add_sealed_json(
                &mut value,
                record,
                c.sealed.as_ref(),
                &["from", "to", "note"],
            );
            value
        }),
        Record::Metadata(m) => ("metadata", {
            let mut value = json!({ "target": sha(&m.target) });
            add_collection_json(&mut value, &m.collection);
            value
        }),
        Record::Retraction(r) => (
            "retraction",
            json!({"target": sha(&r.target), "reason": r.reason}),
        ),
        Record::Key(k) => (
            "key",
            json!({
                "action": k.action.as_str(),
                "key": k.key.to_string(),
                "previous": k.previous.as_ref().map(|p| p.to_string()),
                "endorsed": k.endorsement.is_some(),
                "reason": k.reason,
                "effective": k.effective.map(|t| t.to_string()),
            }),
        ),
        Record::Case(c) => ("case", json!({"title": c.title})),
        Record::Recipients(r) => (
            "recipients",
            json!({"recipients": r.recipients, "reason": r.reason}),
        ),
        Record::Rewrap(r) => (
            "rewrap",
            json!({
                "target": sha(&r.target),
                "content": sha(&r.content),
                "size": r.size,
                "encryption": encryption_json(&r.encryption),
                "reason": r.reason,
            }),
        ),
        Record::Unknown { .. } => return None,
    })
}

pub(super) fn record_json(logged: &LoggedRecord) -> Value {
    let mut value = json!({
        "index": logged.index,
        "id": sha(&logged.id),
        "kind": logged.record.kind(),
        "recorded_at": logged.record.recorded_at().to_string(),
    });
    if let (Some((name, body)), Some(map)) = (body_json(&logged.record), value.as_object_mut()) {
        map.insert(name.into(), body);
    }
    value
}

/// A labelled line; continuation lines of a multi-line value are indented under it.
fn field(label: &str, value: &str) {
    outln!(
        "  {:<15} {}",
        format!("{label}:"),
        value.replace('\n', "\n                  ")
    );
}

fn optional(label: &str, value: Option<&str>) {
    if let Some(value) = value {
        field(label, value);
    }
}

/// `show`: the records in full; as JSON, one document listing them all.
/// Decrypts, with `identities`, the encrypted fields of the annotations and custody events
/// among `records` (FORMAT.md §23.10); without, they stay "[encrypted]".
pub fn reveal(
    archive: &evidentia::archive::Archive,
    identities: Option<&evidentia::crypt::Identities>,
    records: &mut [LoggedRecord],
) -> Result<()> {
    // A record repeating an earlier record's sealed fields stays encrypted (§23.10).
    let copies = evidentia::archive::sealed_notes::reveal_shown(archive, identities, records)?;
    for (kind, id) in &copies {
        errln!(
            "warning: {}",
            evidentia::archive::sealed_notes::copy_warning(kind, id)
        );
    }
    Ok(())
}

pub fn records(records: &[LoggedRecord], json: bool) -> Result<()> {
    if json {
        let records: Vec<Value> = records.iter().map(record_json).collect();
        return super::json::print(super::json::SHOW, json!({ "records": records }));
    }
    records.iter().try_for_each(record)
}

fn record(logged: &LoggedRecord) -> Result<()> {
    outln!("record #{}  sha256:{}", logged.index, logged.id);
    field("kind", logged.record.kind());
    field("recorded at", &logged.record.recorded_at().to_string());
    match &logged.record {
        Record::Document(doc) => {
            let c = &doc.collection;
            field("path", &doc.path);
            field("content", &sha(&doc.content));
            field("size", &format!("{} bytes", doc.size));
            field("media type", &doc.media_type);
            field("original name", &doc.original_name);
            if let Some(shown) = doc.original_path_shown() {
                field("original path", &evidentia::term::escape(&shown));
            }
            collection_fields(c);
            if let Some(info) = &doc.encryption {
                encryption_fields(info);
            }
        }
        Record::Metadata(m) => {
            field("target", &format!("{} (document record)", sha(&m.target)));
            collection_fields(&m.collection);
        }
        Record::Annotation(a) => {
            field("target", &sha(&a.target));
            optional("analyst", a.analyst.as_deref());
            for s in &a.selectors {
                field("selector", &describe_selector(s));
            }
            sealed_fields(&logged.record, a.sealed.as_ref());
            if is_hidden(&logged.record) {
                field("body", ENCRYPTED);
            } else {
                field("body", &a.body);
            }
            for (key, value) in &a.claim {
                field("claim", &format!("{key}={value}"));
            }
            for link in &a.links {
                field(
                    "link",
                    &format!("{} {}", link.relation.as_str(), sha(&link.target)),
                );
            }
            if !a.tags.is_empty() {
                field("tags", &a.tags.join(", "));
            }
        }
        Record::Custody(c) => {
            field("event", c.event.as_str());
            field("actor", &c.actor);
            optional("from", c.from.as_deref());
            optional("to", c.to.as_deref());
            optional("at", c.at.map(|t| t.to_string()).as_deref());
            sealed_fields(&logged.record, c.sealed.as_ref());
            if is_hidden(&logged.record) {
                field("note", ENCRYPTED);
            }
            optional("note", c.note.as_deref());
            for target in &c.targets {
                field("target", &sha(target));
            }
        }
        Record::Retraction(r) => {
            field("target", &sha(&r.target));
            field("reason", &r.reason);
        }
        Record::Key(k) => {
            field("action", k.action.as_str());
            field("key", &k.key.to_string());
            optional(
                "previous key",
                k.previous.as_ref().map(|p| p.to_string()).as_deref(),
            );
            field(
                "endorsement",
                if k.endorsement.is_some() {
                    "signed (checked by verify)"
                } else {
                    "none"
                },
            );
            optional("reason", k.reason.as_deref());
            optional("effective", k.effective.map(|t| t.to_string()).as_deref());
        }
        Record::Case(c) => field("title", &c.title),
        Record::Recipients(r) => {
            for key in &r.recipients {
                field("recipient", key);
            }
            optional("reason", r.reason.as_deref());
        }
        Record::Rewrap(r) => {
            field("target", &format!("{} (document record)", sha(&r.target)));
            field("content", &sha(&r.content));
            field("size", &format!("{} bytes", r.size));
            encryption_fields(&r.encryption);
            optional("reason", r.reason.as_deref());
        }
        Record::Unknown { .. } => {
            field("fields", "(record kind not known to this version)");
        }
    }
    Ok(())
}
