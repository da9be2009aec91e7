//! `report.html`: one self-contained page for legal staff: what the bundle discloses, the signed
//! checkpoint it is proven in, and the verdict of verifying the bundle as written.
//!
//! No scripts, no network, no external fonts or images; readable on screen and in print. Every
//! piece of text from the bundle goes through [`html_escape`]: records carry free text written
//! by collectors and analysts, and a report must never run or load anything it quotes.

use std::collections::HashMap;

use crate::core::checkpoint::Checkpoint;
use crate::core::digest::Digest;
use crate::core::note::SignedNote;
use crate::core::record::{
    AnnotationRecord, CustodyRecord, DocumentRecord, KeyAction, Record, RetractionRecord, Selector,
};
use crate::core::timestamp::Timestamp;

use super::layout;
use super::manifest::BundleManifest;
use super::verify::BundleReport;
use lookups::{Ctx, Lookups};

/// Everything the report shows.
pub struct ReportInput<'a> {
    pub manifest: &'a BundleManifest,
    pub checkpoint: &'a Checkpoint,
    pub note: &'a SignedNote,
    /// Disclosed records in log order: (leaf index, record id, decoded record).
    pub records: &'a [(u64, Digest, Record)],
    /// The verification of the bundle as written.
    pub verdict: &'a BundleReport,
    /// Pixel sizes of the disclosed raster images by document record id
    /// ([`thumbnail::sizes`]): these are shown as thumbnails.
    pub images: &'a HashMap<Digest, (u64, u64)>,
}

const STYLE: &str = r#"
:root { --ink: #1a1a1a; --muted: #555; --line: #c8c8c8; --ok: #0b6b2e; --bad: #a4141b; --wait: #7a5a00;
  --mono: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 62rem; padding: 1.5rem 2rem 3rem; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, "Segoe UI", "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 1.7rem; margin: .2rem 0 .6rem; line-height: 1.25; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin: 2rem 0 .6rem; padding-bottom: .2rem; border-bottom: 2px solid var(--ink); }
h3 { font-size: 1.1rem; margin: 0 0 .4rem; overflow-wrap: anywhere; }
h4 { font-size: .95rem; margin: 1rem 0 .4rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
p { margin: .4rem 0; } a { color: inherit; }
.kicker { text-transform: uppercase; letter-spacing: .08em; font-size: .8rem; color: var(--muted); margin: 0; }
.mono, code { font-family: var(--mono); font-size: .86em; } .mono { word-break: break-all; }
.muted { color: var(--muted); font-size: .88em; }
.prose { white-space: pre-wrap; overflow-wrap: anywhere; } .nw { white-space: nowrap; }
table { border-collapse: collapse; width: 100%; margin: .3rem 0 .6rem; } tr { break-inside: avoid; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-bottom: 1px solid var(--line);
  overflow-wrap: anywhere; }
table.kv th { width: 13rem; font-weight: 600; color: var(--muted); }
thead th { border-bottom: 2px solid var(--ink); font-size: .88em; }
table.claim { width: auto; min-width: 40%; }
.custody th, .custody td, .links th, .links td, .timeline th, .timeline td {
  overflow-wrap: break-word; word-break: normal; hyphens: manual; }
.custody td:nth-child(1), .timeline td:nth-child(1) { white-space: nowrap; }
.custody th:nth-child(6) { width: 35%; }
.quote .around { color: var(--muted); font-style: normal; } .quote strong { background: #fff3b0; }
.verdict { border: 3px solid; border-radius: 6px; padding: .8rem 1.1rem; margin: 1.2rem 0; }
.verdict .state { font-size: 1.35rem; font-weight: 800; letter-spacing: .03em; margin: 0 0 .3rem; }
.verdict ul { margin: .2rem 0 .5rem; padding-left: 1.3rem; }
.ok { border-color: var(--ok); background: #eef8f1; } .ok .state { color: var(--ok); }
.bad { border-color: var(--bad); background: #fcefef; } .bad .state { color: var(--bad); }
.wait { border-color: var(--wait); background: #fdf7e6; } .wait .state { color: var(--wait); }
.sender { border-color: var(--ink); } .self { border-color: var(--line); }
.item { border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.2rem; margin: 1rem 0 1.4rem; }
section.doc { content-visibility: auto; contain-intrinsic-size: auto 60rem; }
section.part { content-visibility: auto; contain-intrinsic-size: auto 1500rem; }
ol.index { padding-left: 3.5rem; } ol.index li { margin: 0; } nav { margin: .8rem 0; }
.ann { border-left: 4px solid var(--line); padding: .3rem 0 .3rem .9rem; margin: .7rem 0; break-inside: avoid; }
.flag { display: inline-block; font-weight: 800; font-size: .8rem; letter-spacing: .05em; padding: .05rem .45rem;
  border: 2px solid; border-radius: 3px; margin-right: .4rem; }
.flag.retracted, .banner { color: var(--bad); } .flag.superseded { color: var(--wait); }
.withdrawn { opacity: .75; }
.banner { border: 2px solid var(--bad); padding: .4rem .7rem; margin: .5rem 0; font-weight: 600; }
blockquote { margin: .3rem 0; padding: .2rem .8rem; border-left: 3px solid var(--ink); font-style: italic; }
ol.toc { padding-left: 1.5rem; } ol.toc li { margin: .2rem 0; }
footer { margin-top: 2.5rem; font-size: .92em; }
.thumb { position: relative; display: inline-block; margin: .5rem 0 .2rem; border: 1px solid var(--line); line-height: 0; }
.thumb img { display: block; max-width: 100%; height: auto; }
.thumb svg { position: absolute; left: 0; top: 0; width: 100%; height: 100%; overflow: visible; }
.region { fill: none; stroke: #d00; stroke-width: 2px; } .region.gone { stroke-dasharray: 5 3; }
.thumb text { font: 700 12px system-ui, Arial, sans-serif; fill: #d00; dominant-baseline: hanging;
  paint-order: stroke; stroke: #fff; stroke-width: 3px; }
@media print {
  body { max-width: none; padding: 0; font-size: 8pt; line-height: 1.22; }
  th, td { padding: 1px 4px; } table { margin: 2pt 0 3pt; } table.kv th { width: 8rem; }
  h1 { font-size: 13pt; margin: 0 0 2pt; } h2 { font-size: 10.5pt; margin: 7pt 0 2pt; }
  h3 { font-size: 9.5pt; margin: 0 0 2pt; } h4 { font-size: 7.5pt; margin: 4pt 0 1pt; }
  p { margin: 1.5pt 0; } footer { margin-top: 6pt; }
  .verdict { padding: 3pt 7pt; margin: 4pt 0; } .verdict .state { font-size: 10.5pt; }
  .verdict ul { margin: 1pt 0 2pt; } .ann { margin: 3pt 0; padding: 1pt 0 1pt 6pt; }
  * { color: #000 !important; background: #fff !important; }
  .verdict, .banner, .flag { border-color: #000 !important; }
  .withdrawn { opacity: 1; } a { text-decoration: none; }
  section.doc, section.part { content-visibility: visible; }
  .item { padding: 3pt 6pt; margin: 4pt 0; border-radius: 0; }
  h2, h3, h4 { break-after: avoid; } .ann, table.kv, blockquote { break-inside: avoid; }
  .thumb { break-inside: avoid; margin: 2pt 0; } .thumb svg { background: none !important; }
}
"#;

/// Other documents named beside this one in a custody event's row.
const MAX_TOGETHER: usize = 20;

/// Appends formatted text to the page.
macro_rules! put {
    ($out:expr, $($arg:tt)*) => { $out.push_str(&format!($($arg)*)) };
}

mod annotation;
use annotation::annotation;
mod html;
pub mod inert;
mod lookups;
mod metadata;
mod pages;
mod sender;
pub mod thumbnail;
mod timeline;
pub use html::html_escape;
use html::*;
pub use pages::{page_name, PAGE_DOCUMENTS};
use sender::{self_check, verify_command, written_by_the_sender};

/// The report's files, relative to the bundle: `report.html` first, then its detail pages
/// (`report/0001.html` …) when the bundle has more than [`PAGE_DOCUMENTS`] documents.
pub fn render(input: &ReportInput) -> Vec<(String, String)> {
    let rendered = Rendered::new(input);
    let mut files = vec![(
        "report.html".to_string(),
        rendered.entry(input.note, input.verdict),
    )];
    files.extend(rendered.details);
    files
}

/// The report with the self-check left open: only the entry page's self-check and signers
/// depend on the verdict, so export renders everything else once, before it verifies the
/// bundle, and may then drop the records and the manifest.
pub struct Rendered {
    /// The entry page up to the self-check, and from the contents on.
    before: String,
    after: String,
    /// The detail pages (`report/0001.html` …); empty when the report is one page.
    pub details: Vec<(String, String)>,
}

impl Rendered {
    /// Renders every part that does not depend on `input.verdict`.
    pub fn new(input: &ReportInput) -> Rendered {
        let lookups = Lookups::new(input);
        let ctx = Ctx {
            lookups: &lookups,
            here: 0,
        };
        if ctx.page_count > 1 {
            return pages::render_paged(&ctx, input);
        }
        let cp = input.checkpoint;
        let mut before = String::with_capacity(16 * 1024);
        head(&mut before, cp, "");
        header(&mut before, input, 1);
        written_by_the_sender(&mut before, cp);
        let mut after = String::with_capacity(64 * 1024);
        contents(&mut after, &ctx);
        timeline::timeline(&mut after, &ctx);
        for (index, id, doc) in ctx.documents() {
            document(&mut after, &ctx, index, id, doc);
        }
        links(&mut after, &ctx, ctx.annotations());
        keys(&mut after, &ctx);
        footer(&mut after, cp, ctx.manifest.encryption.is_some());
        after.push_str("</body>\n</html>\n");
        Rendered {
            before,
            after,
            details: Vec::new(),
        }
    }

    /// `report.html` with the given self-check.
    pub fn entry(&self, note: &SignedNote, verdict: &BundleReport) -> String {
        let mut out = String::with_capacity(self.before.len() + self.after.len() + 16 * 1024);
        out.push_str(&self.before);
        self_check(&mut out, verdict);
        signers(&mut out, note, verdict);
        out.push_str(&self.after);
        out
    }
}

/// The start of a page, up to `<body>`; `part` is added to the title.
fn head(out: &mut String, cp: &Checkpoint, part: &str) {
    put!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Evidence bundle: {} checkpoint {}{}</title>\n<style>{STYLE}{}</style>\n</head>\n<body>\n",
        esc(&cp.origin),
        cp.number,
        esc(part),
        timeline::print_style(cp)
    );
}

fn header(out: &mut String, input: &ReportInput, pages: usize) {
    let (cp, m) = (input.checkpoint, input.manifest);
    put!(
        out,
        "<header>\n<p class=\"kicker\">evidentia hand-over bundle</p>\n\
         <h1>{}</h1>\n\
         <p>This bundle discloses <strong>{} document(s)</strong> and {} record(s) from version \
         (checkpoint) {} of the archive, whose signed tree holds {} records. Records not disclosed \
         are represented only by that count and the tree's root.</p>\n",
        esc(&timeline::case_title(&cp.origin, input.records)),
        m.documents.len(),
        m.records.len(),
        cp.number,
        cp.size
    );
    if pages > 1 {
        put!(
            out,
            "<p>So that this page opens quickly, it lists the documents; the full detail of each \
             (collection, annotations, chain of custody) is on one of {pages} detail pages of at \
             most {PAGE_DOCUMENTS} documents, in the folder <code>report/</code>, linked from the \
             list below. Each detail page prints on its own.</p>\n"
        );
    }
    let hash_note = "<span class=\"muted\">Confirm this value with the sender by another channel; \
         it pins this exact version (<code class=\"nw\">--checkpoint-hash</code>).</span>";
    let mut rows = vec![
        ("Archive (origin)", mono(&cp.origin)),
        ("Checkpoint number", cp.number.to_string()),
        ("Tree size", format!("{} records", cp.size)),
        ("Root (SHA-256)", mono(&cp.root.to_hex())),
        (
            "Checkpoint time",
            format!(
                "{} {}",
                ts(cp.time),
                muted("(the signer's own claim, not a trusted timestamp)")
            ),
        ),
        ("Message", opt(cp.message.as_deref())),
        (
            "Checkpoint text SHA-256",
            format!("{}<br>{hash_note}", mono(&cp.text_hash().to_hex())),
        ),
    ];
    if let Some(previous) = &cp.previous {
        rows.push(("Previous checkpoint text SHA-256", mono(&previous.to_hex())));
    }
    rows.push(("Prepared for", opt(m.recipient.as_deref())));
    let exported = format!(
        "{} {}",
        esc(&m.exported_at),
        muted("(clock of the exporting computer)")
    );
    rows.push(("Exported at", exported));
    kv_table(out, &rows);
    out.push_str("</header>\n");
}

fn signers(out: &mut String, note: &SignedNote, verdict: &BundleReport) {
    out.push_str("<section id=\"signers\">\n<h2>Signers of the checkpoint</h2>\n");
    let columns = ["Key name", "Key id", "Signer (trust file)", "Status"];
    table_head(out, "", &columns);
    match &verdict.core.checkpoint {
        Some(checked) => {
            for s in &checked.signatures {
                let status = signature_status(s.status);
                tr(
                    out,
                    &[
                        mono(&s.name),
                        mono(&s.key_id),
                        opt(s.signer.as_deref()),
                        status,
                    ],
                );
            }
        }
        None => {
            for s in &note.signatures {
                let id = mono(&hex::encode(s.key_id));
                tr(out, &[mono(&s.name), id, none(), "not yet checked".into()]);
            }
        }
    }
    out.push_str(
        "</tbody></table>\n<p class=\"muted\">Names and key ids are as written in the signed \
         checkpoint. A signature proves who signed only if the key was obtained from the signer \
         directly (a trust file), not from this bundle.</p>\n</section>\n",
    );
}

fn signature_status(status: &str) -> String {
    let words = match status {
        "valid" => "the signature verifies",
        "invalid" => "DOES NOT VERIFY (forged or damaged)",
        "unknown-key" => "key not known; ignored",
        "outside-validity" => "key not valid at the checkpoint's time",
        "revoked" => "key revoked or rotated out before this checkpoint",
        _ => "",
    };
    format!("<strong>{}</strong> {words}", esc(status))
}

fn contents(out: &mut String, ctx: &Ctx) {
    out.push_str("<section id=\"contents\">\n<h2>Disclosed documents</h2>\n");
    if ctx.page_count > 1 {
        pages::index(out, ctx);
    } else {
        full_index(out, ctx);
    }
    contents_notes(out, ctx);
    out.push_str("</section>\n");
}

/// Every document with its media type, size and version: the list of a one-page report.
fn full_index(out: &mut String, ctx: &Ctx) {
    out.push_str("<ol class=\"toc\">\n");
    for (index, id, doc) in ctx.documents() {
        put!(
            out,
            "<li><a href=\"{}\">{}</a> {}{}{}</li>\n",
            ctx.href(index),
            esc(&doc.path),
            muted(&format!("({}, {})", doc.media_type, bytes(doc.size))),
            ctx.version(id),
            ctx.retracted_flag(id)
        );
    }
    out.push_str("</ol>\n");
}

/// What the list of documents leaves out: withheld records, records of unknown kinds.
fn contents_notes(out: &mut String, ctx: &Ctx) {
    let w = &ctx.manifest.withheld;
    if w.annotations + w.custody_events + w.retractions > 0 {
        put!(
            out,
            "<p><strong>Withheld:</strong> {} annotation(s), {} custody event(s) and {} \
             retraction(s) about these documents were left out because they would reveal \
             undisclosed material.</p>\n",
            w.annotations,
            w.custody_events,
            w.retractions
        );
    }
    let unknown = ctx.records.iter();
    let unknown = unknown
        .filter(|(_, _, r)| matches!(r, Record::Unknown { .. }))
        .count();
    if unknown > 0 {
        put!(
            out,
            "<p>{unknown} disclosed record(s) are of a kind this version of evidentia does not \
             display; they are still verified.</p>\n"
        );
    }
}

fn retraction_banner(out: &mut String, what: &str, index: u64, r: &RetractionRecord) {
    put!(
        out,
        "<p class=\"banner\">{what} by log entry #{index} on {}. Reason: {}</p>\n",
        ts(r.header.recorded_at),
        prose(&r.reason)
    );
}

fn document(out: &mut String, ctx: &Ctx, index: u64, id: &Digest, doc: &DocumentRecord) {
    put!(
        out,
        "<section class=\"doc item\" id=\"r{index}\">\n\
         <p class=\"kicker\">Document · log entry #{index}</p>\n<h3>{}{}</h3>\n",
        esc(&doc.path),
        ctx.retracted_flag(id)
    );
    if let Some(label) = ctx.versions.get(id).filter(|l| !l.is_empty()) {
        put!(out, "<p><strong>{}</strong></p>\n", esc(label));
    }
    for (rindex, r) in ctx.retractions.get(id).into_iter().flatten() {
        retraction_banner(out, "RETRACTED", *rindex, r);
    }
    let file = ctx.files.get(id.to_hex().as_str());
    let file = file.map_or("(not in this bundle)", |f| f);
    let size = match doc.size {
        n if n < 1024 => bytes(n),
        n => format!("{} ({n} bytes)", bytes(n)),
    };
    let c = &doc.collection;
    let url = c.source_url.as_deref();
    let url = url.map_or_else(none, |u| {
        format!("{} {}", mono(u), muted("(as recorded; not a link)"))
    });
    let note = c.note.as_deref().map_or_else(none, prose);
    let rows = [
        ("SHA-256 of the content", mono(&doc.content.to_hex())),
        ("Size", size),
        ("Media type", esc(&doc.media_type)),
        ("File in this bundle", mono(file)),
        ("Original file name", original_name(doc)),
        ("Source URL", url),
        (
            "Collected at",
            (c.collected_at).map_or_else(none, |t| metadata::collected(t, c.collected_offset)),
        ),
        ("Collector", opt(c.collector.as_deref())),
        ("Tool", opt(c.tool.as_deref())),
        ("Collection note", note),
        ("Tags", tags(&c.tags)),
        ("Recorded in the archive", ts(doc.header.recorded_at)),
        (
            "Sealed into the archive",
            timeline::sealed(ctx, ctx.checkpoint, index),
        ),
        ("Document record id", mono(&id.to_hex())),
    ];
    kv_table(out, &rows);
    metadata::added_later(out, ctx, id);
    let annotations: Vec<_> = ctx
        .positions(&ctx.annotations_on, &doc.content)
        .filter_map(|(index, id, r)| match r {
            Record::Annotation(a) => Some((index, id, a.as_ref())),
            _ => None,
        })
        .collect();
    if let (Some(size), Some(file)) = (ctx.images.get(id), ctx.files.get(id.to_hex().as_str())) {
        thumbnail::thumbnail(out, ctx, &doc.path, file, *size, &annotations);
    }
    put!(out, "<h4>Annotations ({})</h4>\n", annotations.len());
    if annotations.is_empty() {
        out.push_str("<p class=\"muted\">None disclosed.</p>\n");
    }
    for (aindex, aid, a) in annotations {
        annotation(out, ctx, aindex, aid, a);
    }
    custody(out, ctx, index, doc);
    out.push_str("</section>\n");
}

/// The chain of custody of one document record, in time order.
/// The name as recorded; when it had to be escaped, its exact bytes (FORMAT.md §5.1).
fn original_name(doc: &DocumentRecord) -> String {
    match doc.original_path_shown() {
        None => esc(&doc.original_name),
        Some(exact) => format!(
            "{} {}",
            mono(&crate::term::escape(&exact)),
            muted("(the exact name, escaped in its logical path; \\xHH: a byte that is not UTF-8)")
        ),
    }
}

fn custody(out: &mut String, ctx: &Ctx, index: u64, doc: &DocumentRecord) {
    let at = doc.header.recorded_at;
    let sealed = format!(
        "recorded as log entry #{index}; sealed {}",
        timeline::sealed(ctx, ctx.checkpoint, index)
    );
    let ingest = vec![
        ts(at),
        "<strong>ingested</strong>".into(),
        none(),
        none(),
        none(),
        sealed,
    ];
    let mut events: Vec<(Timestamp, Vec<String>)> = vec![(at, ingest)];
    for (cindex, _, record) in ctx.positions(&ctx.custody_of, &doc.content) {
        if let Record::Custody(c) = record {
            events.push((c.when(), custody_row(ctx, cindex, c, &doc.content)));
        }
    }
    // Stable: events at the same time stay in log order.
    events.sort_by_key(|(when, _)| *when);
    out.push_str("<h4>Chain of custody</h4>\n");
    table_head(
        out,
        "custody",
        &["Time", "Event", "Actor", "From", "To", "Note"],
    );
    for (_, row) in events {
        tr(out, &row);
    }
    out.push_str(
        "</tbody></table>\n<p class=\"muted\">Times are as recorded in the archive; none is a \
         trusted timestamp. Later handlings, including this export, are logged after this \
         checkpoint.</p>\n",
    );
}

fn custody_row(ctx: &Ctx, index: u64, c: &CustodyRecord, this: &Digest) -> Vec<String> {
    let mut time = ts(c.when());
    if c.at.is_some() {
        let recorded = muted(&format!("recorded {}", c.header.recorded_at));
        put!(time, "<br>{recorded}");
    }
    let mut note = crate::archive::sealed_notes::note_shown(c).map_or_else(String::new, prose);
    // One event may name thousands of documents: listing them all under each would make the
    // page grow with the square of the bundle. Each of the others shows the event itself.
    let others = c.targets.iter().filter(|t| *t != this);
    let count = others.clone().count();
    let mut named: Vec<String> = others.take(MAX_TOGETHER).map(|t| ctx.describe(t)).collect();
    if count > MAX_TOGETHER {
        named.push(format!("and {} other document(s)", count - MAX_TOGETHER));
    }
    if !named.is_empty() {
        put!(note, "<br>{} {}", muted("together with"), named.join("; "));
    }
    let entry = muted(&format!("custody record, log entry #{index}"));
    put!(note, "<br>{entry}");
    let event = format!("<strong>{}</strong>", esc(c.event.as_str()));
    let (from, to) = (opt(c.from.as_deref()), opt(c.to.as_deref()));
    vec![time, event, esc(&c.actor), from, to, note]
}

/// The links that `annotations` make between items.
fn links<'a>(
    out: &mut String,
    ctx: &Ctx<'_, 'a>,
    annotations: impl Iterator<Item = (u64, &'a Digest, &'a AnnotationRecord)>,
) {
    out.push_str("<section id=\"links\">\n<h2>Links between items</h2>\n");
    let mut rows = String::new();
    for (index, _, a) in annotations {
        for link in &a.links {
            let relation = format!("<strong>{}</strong>", esc(link.relation.as_str()));
            // A supersedes link is the annotation's own: it replaces the target annotation.
            let from = if link.relation == crate::core::record::Relation::Supersedes {
                format!("<a href=\"{}\">annotation #{index}</a>", ctx.href(index))
            } else {
                ctx.describe(&a.target)
            };
            let to = ctx.describe(&link.target);
            let annotation = format!("<a href=\"{}\">#{index}</a>", ctx.href(index));
            tr(&mut rows, &[from, relation, to, annotation]);
        }
    }
    if rows.is_empty() {
        out.push_str("<p class=\"muted\">No disclosed annotation links items.</p>\n");
    } else {
        table_head(out, "links", &["From", "Relation", "To", "Annotation"]);
        put!(out, "{rows}</tbody></table>\n");
    }
    out.push_str("</section>\n");
}

fn keys(out: &mut String, ctx: &Ctx) {
    out.push_str(
        "<section id=\"keys\">\n<h2>Key records</h2>\n<p class=\"muted\">Signer keys introduced, \
         rotated or revoked in the archive up to this checkpoint. They are always disclosed: \
         signer identities are not secret.</p>\n",
    );
    let mut any = false;
    for (index, _, record) in ctx.records {
        let Record::Key(k) = record else {
            continue;
        };
        any = true;
        let (name, id) = (esc(&k.key.name), mono(&k.key.id_hex()));
        let key = format!("{name} id {id}<br>{}", mono(&k.key.to_string()));
        let mut rows = vec![
            ("Action", format!("<strong>{}</strong>", k.action.as_str())),
            ("Key", key),
        ];
        if let Some(previous) = &k.previous {
            rows.push(("Replaces", mono(&previous.to_string())));
        }
        if k.action == KeyAction::Revoke {
            rows.push(("Reason", k.reason.as_deref().map_or_else(none, prose)));
            rows.push(("Not trusted from", k.effective.map_or_else(none, ts)));
        }
        rows.push(("Recorded", ts(k.header.recorded_at)));
        put!(
            out,
            "<h4 id=\"r{index}\">Key record · log entry #{index}</h4>\n"
        );
        kv_table(out, &rows);
    }
    if !any {
        out.push_str("<p class=\"muted\">None.</p>\n");
    }
    out.push_str("</section>\n");
}

fn footer(out: &mut String, cp: &Checkpoint, encrypted: bool) {
    // The documents of an encrypted bundle are checked only with the recipient's identity.
    let identity = if encrypted {
        " --identity <your age identity file>"
    } else {
        ""
    };
    put!(
        out,
        "<footer id=\"how-to-verify\">\n<h2>How to verify</h2>\n\
         <p>This page is a reading aid generated from the bundle; the evidence is the documents, \
         records and signed checkpoint under <code>data/</code>. <strong>VERIFY.txt</strong> in \
         this bundle gives the full procedure. In short:</p>\n<ol>\n\
         <li>Obtain the signers' public keys from them directly, and check the bundle offline: \
         <code>{}</code></li>\n\
         <li>Or with standard tools: <code>sha256sum -c SHA256SUMS</code> checks every file; \
         <code>bagit.py --validate .</code> checks the BagIt package; the proofs in \
         <code>data/bundle.json</code> tie each record to the root above.</li>\n\
         <li>Confirm the checkpoint text SHA-256 above with the sender by another channel.</li>\n</ol>\n\
         <p class=\"muted\">Generated by evidentia {} for checkpoint {} of {}. This page is \
         itself listed in <code>tagmanifest-sha256.txt</code>.</p>\n</footer>\n",
        esc(&format!("{}{identity}", verify_command(cp))),
        env!("CARGO_PKG_VERSION"),
        cp.number,
        esc(&cp.origin)
    );
}

#[cfg(test)]
mod tests;
