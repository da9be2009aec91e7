//! Human and JSON output of the read-only commands.

use anyhow::Result;
use serde_json::{json, Value};

use evidentia::archive::query::{self, LoggedRecord};
use evidentia::archive::verify::VerifyReport;
use evidentia::archive::Archive;
use evidentia::core::record::{DocumentRecord, Record};
use evidentia::verification::{ReportCore, SignatureReport};

fn document_json(doc: &DocumentRecord) -> Value {
    let c = &doc.collection;
    json!({
        "content": format!("sha256:{}", doc.content),
        "size": doc.size,
        "media_type": doc.media_type,
        "path": doc.path,
        "original_name": doc.original_name,
        "source_url": c.source_url,
        "collected_at": c.collected_at.map(|t| t.to_string()),
        "collector": c.collector,
        "tool": c.tool,
        "note": c.note,
        "tags": c.tags,
    })
}

fn record_json(logged: &LoggedRecord) -> Value {
    let mut value = json!({
        "index": logged.index,
        "id": format!("sha256:{}", logged.id),
        "kind": logged.record.kind(),
        "recorded_at": logged.record.recorded_at().to_string(),
    });
    if let (Record::Document(doc), Some(map)) = (&logged.record, value.as_object_mut()) {
        map.insert("document".into(), document_json(doc));
    }
    value
}

pub fn record(logged: &LoggedRecord, json: bool) -> Result<()> {
    if json {
        println!("{}", evidentia::term::json(&record_json(logged))?);
        return Ok(());
    }
    outln!("record #{}  sha256:{}", logged.index, logged.id);
    outln!("  kind:           {}", logged.record.kind());
    outln!("  recorded at:    {}", logged.record.recorded_at());
    if let Record::Document(doc) = &logged.record {
        let c = &doc.collection;
        outln!("  path:           {}", doc.path);
        outln!("  content:        sha256:{}", doc.content);
        outln!("  size:           {} bytes", doc.size);
        outln!("  media type:     {}", doc.media_type);
        outln!("  original name:  {}", doc.original_name);
        let optional = [
            ("source url", c.source_url.clone()),
            ("collected at", c.collected_at.map(|t| t.to_string())),
            ("collector", c.collector.clone()),
            ("tool", c.tool.clone()),
            ("note", c.note.clone()),
        ];
        for (label, value) in optional {
            if let Some(value) = value {
                outln!(
                    "  {:<15} {}",
                    format!("{label}:"),
                    value.replace('\n', "\n                  ")
                );
            }
        }
        if !c.tags.is_empty() {
            outln!("  tags:           {}", c.tags.join(", "));
        }
    }
    Ok(())
}

pub fn log(archive: &Archive, json: bool) -> Result<()> {
    let records = query::records(archive)?;
    let checkpoints = query::checkpoints(archive)?;
    if json {
        let value = json!({
            "origin": archive.origin(),
            "records": records.iter().map(record_json).collect::<Vec<_>>(),
            "checkpoints": checkpoints.iter().map(|c| json!({
                "number": c.checkpoint.number,
                "size": c.checkpoint.size,
                "root": format!("sha256:{}", c.checkpoint.root),
                "time": c.checkpoint.time.to_string(),
                "message": c.checkpoint.message,
                "signers": c.note.signatures.iter().map(|s| format!("{}+{}", s.name, hex::encode(s.key_id))).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        println!("{}", evidentia::term::json(&value)?);
        return Ok(());
    }
    outln!("archive {}", archive.origin());
    let mut next_checkpoint = checkpoints.iter().peekable();
    for logged in &records {
        let summary = summary(&logged.record);
        outln!(
            "#{:<6} {}  {:<9} {}  {}",
            logged.index,
            &logged.id.to_hex()[..12],
            logged.record.kind(),
            logged.record.recorded_at(),
            summary
        );
        while let Some(cp) = next_checkpoint.next_if(|c| c.checkpoint.size == logged.index + 1) {
            print_checkpoint_line(cp);
        }
    }
    for cp in next_checkpoint {
        print_checkpoint_line(cp);
    }
    let sealed = checkpoints.last().map_or(0, |c| c.checkpoint.size);
    let unsealed = (records.len() as u64).saturating_sub(sealed);
    if unsealed > 0 {
        outln!("({unsealed} record(s) not yet sealed)");
    }
    Ok(())
}

/// One line describing a record.
pub fn summary(record: &Record) -> String {
    let short = |d: &evidentia::core::digest::Digest| d.to_hex()[..12].to_string();
    match record {
        Record::Document(doc) => format!("{}  sha256:{}", doc.path, doc.content),
        Record::Annotation(a) => {
            let body: String = a.body.chars().take(60).collect();
            format!("on {}: {}", short(&a.target), body.replace('\n', " "))
        }
        Record::Retraction(r) => format!("retracts {}: {}", short(&r.target), r.reason),
        Record::Custody(c) => format!(
            "{} by {} ({} item(s))",
            c.event.as_str(),
            c.actor,
            c.targets.len()
        ),
        Record::Key(k) => format!("{} {}", k.action.as_str(), k.key),
        Record::Unknown { kind, .. } => format!("(record kind '{kind}' not known to this version)"),
    }
}

fn print_checkpoint_line(cp: &evidentia::archive::checkpoints::StoredCheckpoint) {
    let c = &cp.checkpoint;
    let signers: Vec<&str> = cp.note.signatures.iter().map(|s| s.name.as_str()).collect();
    outln!(
        "=== checkpoint {} over {} records, root sha256:{}, {} , signed by {}{}",
        c.number,
        c.size,
        c.root,
        c.time,
        signers.join(", "),
        c.message
            .as_ref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default()
    );
}

pub fn ls(archive: &Archive, json: bool) -> Result<()> {
    let docs = query::documents(archive)?;
    if json {
        let value: Vec<Value> = docs
            .iter()
            .map(|(logged, doc)| {
                let mut v = document_json(doc);
                if let Some(map) = v.as_object_mut() {
                    map.insert("record".into(), json!(format!("sha256:{}", logged.id)));
                    map.insert(
                        "recorded_at".into(),
                        json!(doc.header.recorded_at.to_string()),
                    );
                }
                v
            })
            .collect();
        println!("{}", evidentia::term::json(&value)?);
        return Ok(());
    }
    for (_, doc) in &docs {
        outln!(
            "sha256:{}  {:>10}  {:<24} {}",
            doc.content,
            doc.size,
            doc.media_type,
            doc.path
        );
    }
    Ok(())
}

pub fn verify_report(report: &VerifyReport) {
    let core = &report.core;
    outln!("archive {}", core.origin.as_deref().unwrap_or_default());
    outln!(
        "  {} records: {} documents ({} bytes of content), {} annotations, {} custody events, {} retractions, {} key events; {} sealed, {} not sealed",
        report.records,
        report.documents,
        report.content_bytes,
        report.annotations,
        report.custody_events,
        report.retractions,
        report.key_events,
        report.sealed_records,
        report.unsealed_records
    );
    for cp in &report.checkpoints {
        let c = &cp.summary;
        outln!(
            "  checkpoint {}: {} records, root sha256:{}, {}: {}  [{}]",
            c.number,
            c.size,
            c.root,
            c.time,
            signature_list(&c.signatures),
            if cp.ok { "ok" } else { "FAILED" }
        );
    }
    for cp in &report.checkpoints {
        for t in &cp.timestamps {
            outln!(
                "  checkpoint {} time-stamped {} by {} [{}]",
                cp.summary.number,
                t.time,
                t.tsa,
                t.status
            );
        }
    }
    for cp in report
        .checkpoints
        .iter()
        .filter(|c| !c.witnesses.is_empty())
    {
        outln!(
            "  checkpoint {} cosigned by witnesses: {}",
            cp.summary.number,
            cp.witnesses.join(", ")
        );
    }
    print_findings(core);
    if core.ok() && report.checkpoints.is_empty() {
        outln!(
            "{}: NOT SEALED: the {} record(s) are intact, but no checkpoint signs them",
            core.verdict.headline(),
            report.records
        );
    } else {
        outln!("{}", core.verdict.line("the archive", core.problem_count()));
    }
}

/// A checkpoint's signature lines: `name+keyid (status)`.
pub fn signature_list(signatures: &[SignatureReport]) -> String {
    let lines: Vec<String> = signatures
        .iter()
        .map(|s| format!("{}+{} ({})", s.name, s.key_id, s.status))
        .collect();
    lines.join(", ")
}

/// The text of the part every verification report shares, the same for every command:
/// warnings, the evidence of a fork, every problem by item, what is proven and what is not.
pub fn print_findings(core: &ReportCore) {
    for warning in core.warnings() {
        outln!(
            "WARNING [{}] {}",
            warning.code,
            evidentia::term::escape(&warning.detail)
        );
    }
    if let Some(evidence) = &core.equivocation {
        out!("{evidence}");
    }
    for problem in core.problems() {
        outln!(
            "PROBLEM [{}] {}: {}",
            problem.code,
            // Items and details may quote file names: escaped whole, so a newline in one
            // cannot print a line of its own.
            evidentia::term::escape(&problem.item),
            evidentia::term::escape(&problem.detail)
        );
    }
    for line in &core.proven {
        outln!("PROVEN: {line}");
    }
    for line in &core.not_proven {
        outln!("NOT PROVEN: {line}");
    }
}

/// The shared part, then the verdict line about `subject` ("the bundle", "the document").
pub fn print_verification(core: &ReportCore, subject: &str) {
    print_findings(core);
    outln!("{}", core.verdict.line(subject, core.problem_count()));
}
