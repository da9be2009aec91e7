//! Human and JSON output of the read-only commands.

use anyhow::Result;
use serde_json::{json, Value};

use std::io::Write;

use evidentia::archive::history::{self, VersionState, VersionView};
use evidentia::archive::query::{self, LoggedRecord};
use evidentia::archive::verify::VerifyReport;
use evidentia::archive::Archive;
use evidentia::core::record::Record;

use super::show::{document_json, record_json};
use evidentia::verification::{ReportCore, SignatureReport};

/// Which records `log` prints, and in what order.
#[derive(Default)]
pub struct LogOptions {
    /// Only the newest N (after filtering).
    pub limit: Option<u64>,
    /// Newest first instead of log order.
    pub newest_first: bool,
    /// Only records about this logical path (any version).
    pub path: Option<String>,
    /// Only records of this kind.
    pub kind: Option<String>,
}

pub fn log(archive: &Archive, options: &LogOptions, json: bool) -> Result<()> {
    let versions = match &options.path {
        Some(path) => Some(query::confirmed_versions(archive, path)?),
        None => None,
    };
    let keep = |r: &LoggedRecord| {
        options.kind.as_deref().is_none_or(|k| r.record.kind() == k)
            && versions
                .as_ref()
                .is_none_or(|v| query::concerns(archive, r, v))
    };
    let log = archive.log()?;
    let mut records = query::last_records(archive, &log, options.limit, &keep)?;
    let checkpoints = query::checkpoints(archive)?;
    if options.newest_first {
        records.reverse();
    }
    let case = evidentia::archive::case::state(archive)?;
    if json {
        let value = json!({
            "origin": archive.origin(),
            "case": case,
            "records": records.iter().map(record_json).collect::<Vec<_>>(),
            "checkpoints": checkpoints.iter().map(|c| json!({
                "number": c.checkpoint.number,
                "size": c.checkpoint.size,
                "root": super::json::digest(&c.checkpoint.root),
                "time": c.checkpoint.time.to_string(),
                "message": c.checkpoint.message,
                "signers": c.note.signatures.iter().map(super::json::note_signer).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        super::json::print(super::json::LOG, value)?;
        return Ok(());
    }
    outln!("archive {}", archive.origin());
    // An archive without a title is named by its origin line alone (`verify` says it has none).
    if case.sealed.is_some() || case.unsealed.is_some() {
        for line in super::title::lines(&case, archive.origin()) {
            outln!("{line}");
        }
    }
    // A checkpoint line follows the last shown record it covers (precedes it, newest first);
    // one that covers no shown record is left out when only part of the log is shown.
    let whole = options.limit.is_none() && options.path.is_none() && options.kind.is_none();
    let mut in_order: Vec<&LoggedRecord> = records.iter().collect();
    in_order.sort_by_key(|r| r.index);
    let mut next_checkpoint = checkpoints.iter().enumerate().peekable();
    let mut checkpoint_lines: Vec<(usize, usize)> = Vec::new();
    for (at, logged) in in_order.iter().enumerate() {
        let next_index = in_order.get(at + 1).map_or(u64::MAX, |r| r.index);
        while let Some((cp, _)) = next_checkpoint.next_if(|(_, c)| c.checkpoint.size <= next_index)
        {
            if checkpoints[cp].checkpoint.size > logged.index || whole {
                checkpoint_lines.push((at, cp));
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    for (at, logged) in in_order.iter().enumerate() {
        out.push(record_line(logged));
        for (_, cp) in checkpoint_lines.iter().filter(|(after, _)| *after == at) {
            out.push(checkpoint_line(&checkpoints[*cp]));
        }
    }
    if in_order.is_empty() && whole {
        out.extend(checkpoints.iter().map(checkpoint_line));
    }
    if options.newest_first {
        out.reverse();
    }
    for line in out {
        outln!("{line}");
    }
    if records.is_empty() && !whole {
        outln!("(no record matches)");
    }
    let sealed = checkpoints.last().map_or(0, |c| c.checkpoint.size);
    let unsealed = log.size().saturating_sub(sealed);
    if unsealed > 0 {
        outln!("({unsealed} record(s) not yet sealed)");
    }
    Ok(())
}

fn record_line(logged: &LoggedRecord) -> String {
    format!(
        "#{:<6} {}  {:<9} {}  {}",
        logged.index,
        &logged.id.to_hex()[..12],
        logged.record.kind(),
        logged.record.recorded_at(),
        summary(&logged.record)
    )
}

/// One line describing a record.
pub fn summary(record: &Record) -> String {
    let short = |d: &evidentia::core::digest::Digest| d.to_hex()[..12].to_string();
    match record {
        Record::Document(doc) => format!(
            "{}  sha256:{}{}{}",
            doc.path,
            doc.content,
            original_suffix(doc),
            if doc.encryption.is_some() {
                "  (encrypted)"
            } else {
                ""
            }
        ),
        Record::Annotation(a) => {
            let body: String = evidentia::archive::sealed_notes::body_shown(a)
                .chars()
                .take(60)
                .collect();
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
        Record::Metadata(m) => format!(
            "adds to {}: {}",
            short(&m.target),
            evidentia::archive::metadata::describe(&m.collection)
        ),
        Record::Case(c) => format!("case title \"{}\"", c.title),
        Record::Recipients(r) => format!("encryption recipients: {}", r.recipients.join(" ")),
        Record::Rewrap(r) => format!(
            "rewraps {} as sha256:{} ({} bytes)",
            short(&r.target),
            r.content,
            r.size
        ),
        Record::Unknown { kind, .. } => format!("(record kind '{kind}' not known to this version)"),
    }
}

/// `  (file named "…")` after an escaped path: the exact original name, safe for a terminal.
pub fn original_suffix(doc: &evidentia::core::record::DocumentRecord) -> String {
    doc.original_path_shown()
        .map(|name| format!("  (file named \"{}\")", evidentia::term::escape(&name)))
        .unwrap_or_default()
}

fn checkpoint_line(cp: &evidentia::archive::checkpoints::StoredCheckpoint) -> String {
    let c = &cp.checkpoint;
    let signers: Vec<&str> = cp.note.signatures.iter().map(|s| s.name.as_str()).collect();
    format!(
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
    )
}

/// What `ls` lists.
pub struct LsOptions {
    /// Every version of each path, not only the current one.
    pub all_versions: bool,
    /// The state after the first N records (a checkpoint's size), not now.
    pub size: Option<u64>,
}

pub fn ls(archive: &Archive, options: &LsOptions, json: bool) -> Result<()> {
    let paths = history::path_versions(archive, options.size)?;
    let mut shown: Vec<(&VersionView, usize)> = Vec::new();
    for versions in &paths {
        if options.all_versions {
            shown.extend(versions.iter().map(|v| (v, versions.len())));
        } else if let Some(v) = versions
            .iter()
            .rev()
            .find(|v| v.state == VersionState::Current)
            // Every version retracted: the latest is listed, marked, so nothing vanishes.
            .or(versions.last())
        {
            shown.push((v, versions.len()));
        }
    }
    if json {
        let documents: Vec<Value> = shown.iter().map(|(v, n)| version_json(v, *n)).collect();
        super::json::print(super::json::LS, json!({ "documents": documents }))?;
        return Ok(());
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (v, versions) in shown {
        let doc = &v.document;
        let mark = match (&v.state, options.all_versions) {
            (VersionState::Retracted { reason, .. }, _) => format!("  [retracted: {reason}]"),
            (VersionState::Superseded { .. }, _) => "  [superseded]".into(),
            (VersionState::Current, true) => "  [current]".into(),
            (VersionState::Current, false) if versions > 1 => format!("  ({versions} versions)"),
            (VersionState::Current, false) => String::new(),
        };
        let later = added_later(v);
        let added = match later.is_empty() {
            true => String::new(),
            false => format!(
                "  [added later: {}]",
                evidentia::archive::metadata::describe(&later)
            ),
        };
        let line = format!(
            "sha256:{}  {:>10}  {:<24} {}{mark}{}{added}",
            doc.content,
            doc.size,
            doc.media_type,
            doc.path,
            original_suffix(doc)
        );
        writeln!(out, "{}", evidentia::term::escape_text(&line))?;
    }
    out.flush()?;
    Ok(())
}

/// What the metadata records about a version add, merged in log order.
fn added_later(v: &VersionView) -> evidentia::core::record::Collection {
    evidentia::archive::metadata::effective(&Default::default(), &v.metadata)
}

fn version_json(v: &VersionView, versions: usize) -> Value {
    let mut value = document_json(&v.document);
    let later = added_later(v);
    let mut tags = v.document.collection.tags.clone();
    for tag in &later.tags {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    let added = match later.is_empty() {
        true => Value::Null,
        false => {
            let records: Vec<String> = v
                .metadata
                .iter()
                .map(|r| super::json::digest(&r.id))
                .collect();
            let mut added = json!({ "records": records });
            super::show::add_collection_json(&mut added, &later);
            added
        }
    };
    if let Some(map) = value.as_object_mut() {
        // Every tag, the document record's own first; `added_later` says what came later.
        map.insert("tags".into(), json!(tags));
        map.insert("added_later".into(), added);
        map.insert("record".into(), json!(super::json::digest(&v.record.id)));
        map.insert("index".into(), json!(v.record.index));
        map.insert(
            "recorded_at".into(),
            json!(v.document.header.recorded_at.to_string()),
        );
        map.insert("state".into(), json!(v.state.as_str()));
        map.insert(
            "retracted".into(),
            json!(matches!(v.state, VersionState::Retracted { .. })),
        );
        let (retraction, superseded_by) = match &v.state {
            VersionState::Retracted { reason, by } => (
                json!({"reason": reason, "record": super::json::digest(by)}),
                Value::Null,
            ),
            VersionState::Superseded { by } => (Value::Null, json!(super::json::digest(by))),
            VersionState::Current => (Value::Null, Value::Null),
        };
        map.insert("retraction".into(), retraction);
        map.insert("superseded_by".into(), superseded_by);
        map.insert("versions".into(), json!(versions));
    }
    value
}

pub fn verify_report(report: &VerifyReport) {
    let core = &report.core;
    outln!("archive {}", core.origin.as_deref().unwrap_or_default());
    for line in super::title::lines(&report.case, core.origin.as_deref().unwrap_or_default()) {
        outln!("{line}");
    }
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
