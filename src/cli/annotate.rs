//! The annotation, custody, retraction, history and key-event commands.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use clap::Args;
use serde_json::{json, Value};

use evidentia::archive::annotate::{self, AnnotationRequest};
use evidentia::archive::events::{self, CustodyRequest};
use evidentia::archive::history::{self, AnnotationState, AnnotationView};
use evidentia::archive::sealed_notes;
use evidentia::archive::Archive;
use evidentia::core::record::{CustodyEvent, Record, Relation, Selector, RELATIONS};
use evidentia::Error;

#[derive(Args, Debug)]
pub struct AnnotateArgs {
    /// The document: a digest, a unique digest prefix, or a logical path
    target: String,
    #[command(flatten)]
    identity: super::encrypt::IdentityArgs,
    /// What the annotation says
    #[arg(long)]
    body: String,
    /// An exact quote from a text document
    #[arg(long, value_name = "EXACT")]
    quote: Option<String>,
    /// Text just before the quote, to pick one of several occurrences
    #[arg(long, requires = "quote")]
    prefix: Option<String>,
    /// Text just after the quote
    #[arg(long, requires = "quote")]
    suffix: Option<String>,
    /// Character offsets START..END in a text document (END exclusive)
    #[arg(long, value_name = "START..END")]
    range: Option<String>,
    /// Byte offsets START..END (END exclusive)
    #[arg(long, value_name = "START..END")]
    bytes: Option<String>,
    /// A page of a PDF, from 1
    #[arg(long, value_name = "N")]
    page: Option<u64>,
    /// A span of audio or video, in seconds or [hh:]mm:ss[.fff]: START..END
    #[arg(long, value_name = "START..END")]
    time: Option<String>,
    /// A region of an image in pixels: X,Y,W,H
    #[arg(long, value_name = "X,Y,W,H")]
    rect: Option<String>,
    /// A tag for the annotation (repeatable)
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Part of a structured claim, e.g. quantity=2442 (repeatable)
    #[arg(long = "claim", value_name = "KEY=VALUE")]
    claims: Vec<String>,
    /// A link: corroborates|contradicts|duplicates|derived-from|supersedes, then ':' and a
    /// document or annotation (repeatable)
    #[arg(long = "link", value_name = "RELATION:TARGET")]
    links: Vec<String>,
    /// The analyst's name as it should appear
    #[arg(long, value_name = "NAME")]
    analyst: Option<String>,
    #[command(flatten)]
    encryption: SealArgs,
}

/// Whether to store a record's sensitive fields encrypted (FORMAT.md §23.10).
#[derive(Args, Debug)]
pub struct SealArgs {
    /// Store the sensitive fields (annotation: body, quote, claim; custody: note, from, to)
    /// only as age ciphertext to the archive's recipients [default when a target document
    /// is stored encrypted]
    #[arg(long, conflicts_with = "no_encrypt")]
    encrypt: bool,
    /// Store the sensitive fields in the clear even though a target document is stored
    /// encrypted
    #[arg(long)]
    no_encrypt: bool,
}

impl SealArgs {
    fn choice(&self) -> Option<bool> {
        match (self.encrypt, self.no_encrypt) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

fn parse_range(option: &'static str, text: &str) -> Result<(u64, u64), Error> {
    let bad = |why: &str| Error::InvalidOption {
        option,
        value: text.to_string(),
        why: why.to_string(),
    };
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| bad("expected START..END"))?;
    let start = a
        .trim()
        .parse()
        .map_err(|_| bad("START is not a whole number"))?;
    let end = b
        .trim()
        .parse()
        .map_err(|_| bad("END is not a whole number"))?;
    Ok((start, end))
}

/// Seconds (`12.5`) or `[hh:]mm:ss[.fff]` to milliseconds.
fn parse_seconds(text: &str) -> Option<u64> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let (last, rest) = parts.split_last()?;
    let (whole, fraction) = last.split_once('.').unwrap_or((last, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut seconds: u64 = whole.parse().ok()?;
    for (i, part) in rest.iter().rev().enumerate() {
        let n: u64 = part.parse().ok()?;
        seconds = seconds.checked_add(n.checked_mul(60u64.pow(i as u32 + 1))?)?;
    }
    let millis: u64 = format!("{fraction:0<3}").parse().ok()?;
    seconds.checked_mul(1000)?.checked_add(millis)
}

fn selectors(args: &AnnotateArgs) -> Result<Vec<Selector>, Error> {
    let mut out = Vec::new();
    if let Some(exact) = &args.quote {
        out.push(Selector::TextQuote {
            exact: exact.clone(),
            prefix: args.prefix.clone(),
            suffix: args.suffix.clone(),
        });
    }
    if let Some(range) = &args.range {
        let (start, end) = parse_range("--range", range)?;
        out.push(Selector::TextPosition { start, end });
    }
    if let Some(range) = &args.bytes {
        let (start, end) = parse_range("--bytes", range)?;
        out.push(Selector::ByteRange { start, end });
    }
    if let Some(page) = args.page {
        out.push(Selector::Page { page });
    }
    if let Some(time) = &args.time {
        let bad = || Error::InvalidOption {
            option: "--time",
            value: time.clone(),
            why: "expected START..END in seconds or [hh:]mm:ss[.fff]".into(),
        };
        let (a, b) = time.split_once("..").ok_or_else(bad)?;
        let start_ms = parse_seconds(a).ok_or_else(bad)?;
        let end_ms = parse_seconds(b).ok_or_else(bad)?;
        out.push(Selector::TimeRange { start_ms, end_ms });
    }
    if let Some(rect) = &args.rect {
        let numbers: Vec<u64> = rect
            .split(',')
            .map(|n| n.trim().parse())
            .collect::<Result<_, _>>()
            .map_err(|_| Error::InvalidOption {
                option: "--rect",
                value: rect.clone(),
                why: "expected four whole numbers X,Y,W,H".into(),
            })?;
        let [x, y, width, height] = numbers[..] else {
            return Err(Error::InvalidOption {
                option: "--rect",
                value: rect.clone(),
                why: "expected four whole numbers X,Y,W,H".into(),
            });
        };
        out.push(Selector::Rectangle {
            x,
            y,
            width,
            height,
        });
    }
    Ok(out)
}

pub fn annotate(archive: &Archive, args: AnnotateArgs) -> Result<()> {
    let mut claim = BTreeMap::new();
    for item in &args.claims {
        let (k, v) = item.split_once('=').ok_or_else(|| Error::InvalidOption {
            option: "--claim",
            value: item.clone(),
            why: "expected KEY=VALUE".into(),
        })?;
        if claim.insert(k.to_string(), v.to_string()).is_some() {
            bail!("--claim {k} is given twice");
        }
    }
    let mut links = Vec::new();
    for item in &args.links {
        let bad = || Error::InvalidOption {
            option: "--link",
            value: item.clone(),
            why: format!(
                "expected RELATION:TARGET, RELATION one of {}",
                RELATIONS.join(", ")
            ),
        };
        let (relation, target) = item.split_once(':').ok_or_else(bad)?;
        let relation = Relation::parse(relation).ok_or_else(bad)?;
        links.push((relation, target.to_string()));
    }
    let request = AnnotationRequest {
        target: args.target.clone(),
        body: args.body.clone(),
        selectors: selectors(&args)?,
        tags: args.tags.clone(),
        claim,
        links,
        analyst: args.analyst.clone(),
        encrypt: args.encryption.choice(),
    };
    let identities = args.identity.load()?;
    let done = annotate::annotate_with(archive, &request, identities.as_ref())?;
    outln!("sha256:{}", done.id);
    errln!(
        "annotation recorded on document sha256:{}; run `evidentia seal` to sign it",
        done.target
    );
    Ok(())
}

fn state_text(state: &AnnotationState) -> String {
    match state {
        AnnotationState::Active => "active".into(),
        AnnotationState::Superseded { by } => format!("superseded by {}", &by.to_hex()[..12]),
        AnnotationState::Retracted { reason, .. } => format!("RETRACTED: {reason}"),
    }
}

pub(super) fn describe_selector(selector: &Selector) -> String {
    match selector {
        Selector::TextQuote {
            exact,
            prefix,
            suffix,
        } => {
            let mut text = format!("quote: \"{exact}\"");
            if let Some(p) = prefix {
                text.push_str(&format!(" after \"{p}\""));
            }
            if let Some(s) = suffix {
                text.push_str(&format!(" before \"{s}\""));
            }
            text
        }
        Selector::TextPosition { start, end } => format!("characters {start}..{end}"),
        Selector::ByteRange { start, end } => format!("bytes {start}..{end}"),
        Selector::Page { page } => format!("page {page}"),
        Selector::TimeRange { start_ms, end_ms } => format!(
            "time {}.{:03}s..{}.{:03}s",
            start_ms / 1000,
            start_ms % 1000,
            end_ms / 1000,
            end_ms % 1000
        ),
        Selector::Rectangle {
            x,
            y,
            width,
            height,
        } => format!("region x={x} y={y} {width}x{height} px"),
    }
}

pub(super) fn selector_json(selector: &Selector) -> Value {
    match selector {
        Selector::TextQuote {
            exact,
            prefix,
            suffix,
        } => json!({"type": "text-quote", "exact": exact, "prefix": prefix, "suffix": suffix}),
        Selector::TextPosition { start, end } => {
            json!({"type": "text-position", "start": start, "end": end})
        }
        Selector::ByteRange { start, end } => {
            json!({"type": "byte-range", "start": start, "end": end})
        }
        Selector::Page { page } => json!({"type": "page", "page": page}),
        Selector::TimeRange { start_ms, end_ms } => {
            json!({"type": "time-range", "start_ms": start_ms, "end_ms": end_ms})
        }
        Selector::Rectangle {
            x,
            y,
            width,
            height,
        } => json!({"type": "rectangle", "x": x, "y": y, "width": width, "height": height}),
    }
}

fn view_json(view: &AnnotationView) -> Value {
    let a = &view.annotation;
    let hidden = a.sealed.is_some() && a.body.is_empty();
    json!({
        "id": super::json::digest(&view.id),
        "index": view.index,
        "target": super::json::digest(&a.target),
        "document_path": view.document_path,
        "recorded_at": a.header.recorded_at.to_string(),
        "analyst": a.analyst,
        // Left out (null) while sealed: plaintext fields appear only once decrypted.
        "body": (!hidden).then_some(&a.body),
        "encrypted": a.sealed.is_some(),
        // Encrypted, and decrypted and checked with --identity for this output.
        "decrypted": a.sealed.is_some() && !hidden,
        "selectors": a.selectors.iter().map(selector_json).collect::<Vec<_>>(),
        "tags": a.tags,
        "claim": a.claim,
        "links": a.links.iter().map(|l| json!({"relation": l.relation.as_str(), "target": super::json::digest(&l.target)})).collect::<Vec<_>>(),
        "state": match &view.state {
            AnnotationState::Active => json!({"status": "active"}),
            AnnotationState::Superseded { by } => json!({"status": "superseded", "by": super::json::digest(by)}),
            AnnotationState::Retracted { reason, by } => json!({"status": "retracted", "reason": reason, "by": super::json::digest(by)}),
        },
        "sealed": view.sealed.as_ref().map(|s| json!({"checkpoint": s.number, "time": s.time.to_string(), "signers": s.signers.iter().map(super::json::note_signer).collect::<Vec<_>>()})),
    })
}

/// W3C Web Annotation JSON-LD (https://www.w3.org/TR/annotation-model/).
fn view_jsonld(view: &AnnotationView) -> Value {
    let a = &view.annotation;
    let mut selectors: Vec<Value> = Vec::new();
    for s in &a.selectors {
        selectors.push(match s {
            Selector::TextQuote { exact, prefix, suffix } => {
                let mut v = json!({"type": "TextQuoteSelector", "exact": exact});
                if let Some(p) = prefix { v["prefix"] = json!(p); }
                if let Some(x) = suffix { v["suffix"] = json!(x); }
                v
            }
            Selector::TextPosition { start, end } => json!({"type": "TextPositionSelector", "start": start, "end": end}),
            Selector::ByteRange { start, end } => json!({"type": "DataPositionSelector", "start": start, "end": end}),
            Selector::Page { page } => json!({"type": "FragmentSelector", "conformsTo": "http://tools.ietf.org/rfc/rfc3778", "value": format!("page={page}")}),
            Selector::TimeRange { start_ms, end_ms } => json!({"type": "FragmentSelector", "conformsTo": "http://www.w3.org/TR/media-frags/", "value": format!("t={}.{:03},{}.{:03}", start_ms / 1000, start_ms % 1000, end_ms / 1000, end_ms % 1000)}),
            Selector::Rectangle { x, y, width, height } => json!({"type": "FragmentSelector", "conformsTo": "http://www.w3.org/TR/media-frags/", "value": format!("xywh={x},{y},{width},{height}")}),
        });
    }
    let mut body = vec![
        json!({"type": "TextualBody", "value": a.body, "format": "text/plain", "purpose": "commenting"}),
    ];
    for tag in &a.tags {
        body.push(json!({"type": "TextualBody", "value": tag, "purpose": "tagging"}));
    }
    for link in &a.links {
        body.push(json!({"type": "SpecificResource", "source": format!("urn:sha256:{}", link.target), "purpose": "linking", "evidentia:relation": link.relation.as_str()}));
    }
    let mut target = json!({"source": format!("urn:sha256:{}", a.target)});
    if let Some(path) = &view.document_path {
        target["evidentia:path"] = json!(path);
    }
    if !selectors.is_empty() {
        target["selector"] = if selectors.len() == 1 {
            selectors.remove(0)
        } else {
            json!(selectors)
        };
    }
    let mut out = json!({
        "@context": ["http://www.w3.org/ns/anno.jsonld", {"evidentia": "urn:evidentia:ns#"}],
        "id": format!("urn:sha256:{}", view.id),
        "type": "Annotation",
        "motivation": if a.links.is_empty() { "commenting" } else { "linking" },
        "created": a.header.recorded_at.to_string(),
        "body": body,
        "target": target,
        "evidentia:state": state_text(&view.state),
    });
    if let Some(analyst) = &a.analyst {
        out["creator"] = json!({"type": "Person", "name": analyst});
    }
    if !a.claim.is_empty() {
        out["evidentia:claim"] = json!(a.claim);
    }
    out
}

pub fn list(
    archive: &Archive,
    target: Option<&str>,
    format: ListFormat,
    identity: &super::encrypt::IdentityArgs,
) -> Result<()> {
    let ListFormat { json, jsonld } = format;
    let mut views = history::annotations(archive, target)?;
    // With an identity, encrypted bodies, quotes and claims are decrypted and checked first.
    if let Some(identities) = identity.load()? {
        // A second record with the same sealed plaintext holds fields copied from the first
        // (FORMAT.md §23.10, `sealed-fields-reused`): not shown as its own.
        let origins = sealed_notes::SealedOrigins::of(
            views
                .iter()
                .map(|v| (v.index, v.annotation.sealed.as_ref())),
        );
        for view in views.iter_mut().filter(|v| v.annotation.sealed.is_some()) {
            let mut record = Record::Annotation(Box::new(view.annotation.clone()));
            let outcome = sealed_notes::reveal_listed(
                archive,
                Some(&identities),
                &origins,
                view.index,
                &mut record,
            )?;
            if let Some(warning) = sealed_notes::listed_warning(outcome, "annotation", &view.id) {
                errln!("warning: {warning}");
            } else if let Record::Annotation(a) = record {
                view.annotation = *a;
            }
        }
    }
    if jsonld {
        let value = json!({
            "@context": "http://www.w3.org/ns/anno.jsonld",
            "type": "AnnotationCollection",
            "total": views.len(),
            "first": {"type": "AnnotationPage", "items": views.iter().map(view_jsonld).collect::<Vec<_>>()},
        });
        super::json::print(super::json::ANNOTATIONS_JSONLD, value)?;
        return Ok(());
    }
    if json {
        let annotations: Vec<Value> = views.iter().map(view_json).collect();
        super::json::print(
            super::json::ANNOTATIONS,
            json!({ "annotations": annotations }),
        )?;
        return Ok(());
    }
    if views.is_empty() {
        outln!("no annotations");
    }
    for view in &views {
        let a = &view.annotation;
        outln!(
            "sha256:{}  [{}]  {}",
            view.id,
            state_text(&view.state),
            a.header.recorded_at
        );
        outln!(
            "  on {} (sha256:{})",
            view.document_path.as_deref().unwrap_or("?"),
            &a.target.to_hex()[..12]
        );
        if let Some(analyst) = &a.analyst {
            outln!("  analyst: {analyst}");
        }
        for s in &a.selectors {
            outln!("  {}", describe_selector(s));
        }
        outln!(
            "  {}",
            evidentia::archive::sealed_notes::body_shown(a).replace('\n', "\n  ")
        );
        if !a.claim.is_empty() {
            let claim: Vec<String> = a.claim.iter().map(|(k, v)| format!("{k}={v}")).collect();
            outln!("  claim: {}", claim.join(", "));
        }
        for link in &a.links {
            outln!("  {} {}", link.relation.as_str(), link.target);
        }
        if !a.tags.is_empty() {
            outln!("  tags: {}", a.tags.join(", "));
        }
        match &view.sealed {
            Some(seal) => outln!(
                "  sealed in checkpoint {} ({}) by {}",
                seal.number,
                seal.time,
                seal.signers
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => outln!("  not yet sealed"),
        }
    }
    Ok(())
}

/// How `annotations` prints: text, `--json` or `--jsonld`.
pub struct ListFormat {
    pub json: bool,
    pub jsonld: bool,
}

pub fn history(
    archive: &Archive,
    target: &str,
    json: bool,
    identity: &super::encrypt::IdentityArgs,
) -> Result<()> {
    let identities = identity.load()?;
    let story = history::history(archive, target, identities.as_ref())?;
    for (outcome, kind, id) in &story.sealed_left {
        if let Some(warning) = sealed_notes::listed_warning(*outcome, kind, id) {
            errln!("warning: {warning}");
        }
    }
    if json {
        let value = json!({
            "content": super::json::digest(&story.content),
            "contents": story.contents.iter().map(super::json::digest).collect::<Vec<_>>(),
            "paths": story.paths,
            "events": story.events.iter().map(|e| json!({
                "time": e.time.to_string(),
                "event": e.event,
                "detail": e.detail,
                "record": e.record.as_ref().map(super::json::digest),
            })).collect::<Vec<_>>(),
        });
        super::json::print(super::json::HISTORY, value)?;
        return Ok(());
    }
    outln!(
        "history of sha256:{} ({})",
        story.content,
        story.paths.join(", ")
    );
    for e in &story.events {
        outln!("{}  {:<11} {}", e.time, e.event, e.detail);
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct CustodyArgs {
    /// Documents handled: digests, unique prefixes or logical paths
    #[arg(required = true)]
    targets: Vec<String>,
    /// received, transferred, accessed, copied, redacted or other
    #[arg(long)]
    event: String,
    /// Who handled it
    #[arg(long, value_name = "NAME")]
    actor: String,
    /// Who handed the material over (custody transfers)
    #[arg(long, value_name = "NAME")]
    from: Option<String>,
    /// Who received it (custody transfers)
    #[arg(long, value_name = "NAME")]
    to: Option<String>,
    /// A free note about the event
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// When it happened, if not now (RFC 3339)
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    #[command(flatten)]
    encryption: SealArgs,
}

pub fn custody(archive: &Archive, args: CustodyArgs) -> Result<()> {
    let event = CustodyEvent::parse(&args.event)
        .filter(CustodyEvent::is_manual)
        .ok_or_else(|| Error::InvalidOption {
            option: "--event",
            value: args.event.clone(),
            why: "expected received, transferred, accessed, copied, redacted or other".into(),
        })?;
    let at = super::parse_time("--at", args.at.as_deref())?;
    let id = events::custody(
        archive,
        &CustodyRequest {
            targets: args.targets,
            event,
            actor: args.actor,
            from: args.from,
            to: args.to,
            note: args.note,
            at,
            encrypt: args.encryption.choice(),
        },
    )?;
    outln!("sha256:{id}");
    Ok(())
}

pub fn retract(archive: &Archive, target: &str, reason: &str) -> Result<()> {
    let id = events::retract(archive, target, reason)?;
    outln!("sha256:{id}");
    errln!("retraction recorded; the withdrawn record stays in the archive and stays provable");
    Ok(())
}
