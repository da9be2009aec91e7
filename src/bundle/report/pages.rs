//! A report of more than [`PAGE_DOCUMENTS`] documents. `report.html` stays the entry page (the
//! sender's notice, self-check, signers, a compact list of every document, key records) and the
//! full detail of each document goes to `report/0001.html`, `report/0002.html` … of at most
//! [`PAGE_DOCUMENTS`] documents each, in log order. One page of 20,000 documents was 40 MB and
//! took a browser 10 s to open; each of these opens quickly and prints on its own.

use rayon::prelude::*;

use super::*;
use crate::bundle::layout::Placement;

/// Documents per detail page; a bundle of at most this many keeps its one page.
pub const PAGE_DOCUMENTS: usize = 1000;

/// The bundle-relative name of detail page `page` (1-based).
pub fn page_name(page: usize) -> String {
    format!("report/{}", file_name(page))
}

/// The file name of detail page `page`, as linked from another detail page.
pub(super) fn file_name(page: usize) -> String {
    format!("{page:04}.html")
}

/// Puts each document on its page and each annotation on the page of the document it
/// annotates (the first disclosed record of that content, where links to it point).
pub(super) fn assign(ctx: &mut Lookups) {
    let documents: Vec<u64> = ctx.documents().map(|(index, _, _)| index).collect();
    if documents.len() <= PAGE_DOCUMENTS {
        return;
    }
    ctx.page_count = documents.len().div_ceil(PAGE_DOCUMENTS);
    for (at, index) in documents.into_iter().enumerate() {
        ctx.pages.insert(index, at / PAGE_DOCUMENTS + 1);
    }
    let annotations: Vec<(u64, Digest)> =
        ctx.annotations().map(|(i, _, a)| (i, a.target)).collect();
    for (index, target) in annotations {
        let page = ctx
            .docs
            .get(&target)
            .and_then(|(doc, _)| ctx.pages.get(doc));
        if let Some(page) = page.copied() {
            ctx.pages.insert(index, page);
        }
    }
}

/// Which version of its path a document is, in a few words ("" for a path's only version).
pub(super) fn short_version(place: &Placement) -> String {
    match (place.replaces, place.replaced_by) {
        (_, Some(_)) => format!("older version {}", place.version),
        (Some(_), None) => format!("version {}, current", place.version),
        (None, None) => String::new(),
    }
}

/// The list of every document on the entry page: path, digest prefix and status, a short
/// line each, grouped by detail page.
pub(super) fn index(out: &mut String, ctx: &Ctx) {
    let documents: Vec<_> = ctx.documents().collect();
    for (n, part) in documents.chunks(PAGE_DOCUMENTS).enumerate() {
        let (page, first) = (n + 1, n * PAGE_DOCUMENTS + 1);
        put!(
            out,
            "<section class=\"part\" id=\"part{page}\">\n<h3><a href=\"{}\">Detail page {page}: \
             documents {first} to {}</a></h3>\n<ol class=\"index\" start=\"{first}\">\n",
            page_name(page),
            first + part.len() - 1
        );
        for (index, id, doc) in part {
            let status = match ctx.short_versions.get(*id) {
                Some(words) if !words.is_empty() => format!(" {}", muted(words)),
                _ => String::new(),
            };
            let digest = doc.content.to_hex();
            put!(
                out,
                "<li><a href=\"{}\">{}</a> <span class=\"mono\">{}…</span>{status}{}</li>\n",
                ctx.href(*index),
                esc(&doc.path),
                &digest[..16],
                ctx.retracted_flag(id)
            );
        }
        out.push_str("</ol>\n</section>\n");
    }
    out.push_str(
        "<p class=\"muted\">Each line gives the first 16 hex digits of the document's SHA-256; \
         its detail page gives all 64.</p>\n",
    );
}

/// The entry page, less its self-check and signers, and every detail page.
pub(super) fn render_paged(ctx: &Ctx, input: &ReportInput) -> Rendered {
    let cp = input.checkpoint;
    let documents: Vec<_> = ctx.documents().collect();
    let mut before = String::with_capacity(16 * 1024);
    head(&mut before, cp, "");
    header(&mut before, input, ctx.page_count);
    written_by_the_sender(&mut before, cp);
    let mut after = String::with_capacity(256 * documents.len());
    contents(&mut after, ctx);
    // Annotations on no disclosed document have no detail page: their links stay here.
    let unplaced: Vec<_> = (ctx.annotations())
        .filter(|(index, _, _)| !ctx.pages.contains_key(index))
        .collect();
    if !unplaced.is_empty() {
        links(&mut after, ctx, unplaced.into_iter());
    }
    keys(&mut after, ctx);
    footer(&mut after, cp, ctx.manifest.encryption.is_some());
    after.push_str("</body>\n</html>\n");
    // Pages are independent: rendered in parallel, each from its own view of the lookups.
    let details = (documents.par_chunks(PAGE_DOCUMENTS).enumerate())
        .map(|(n, part)| {
            let page = n + 1;
            let view = Ctx {
                lookups: ctx.lookups,
                here: page,
            };
            let first = n * PAGE_DOCUMENTS + 1;
            let html = detail_page(&view, cp, page, first, part, documents.len());
            (page_name(page), html)
        })
        .collect();
    Rendered {
        before,
        after,
        details,
    }
}

fn detail_page(
    ctx: &Ctx,
    cp: &Checkpoint,
    page: usize,
    first: usize,
    part: &[(u64, &Digest, &DocumentRecord)],
    total: usize,
) -> String {
    let last = first + part.len() - 1;
    let mut out = String::with_capacity(4096 * part.len());
    head(&mut out, cp, &format!(", documents {first} to {last}"));
    put!(
        out,
        "<header>\n<p class=\"kicker\">evidentia hand-over bundle · detail page {page} of {}</p>\n\
         <h1>Documents {first} to {last} of {total} from archive {}</h1>\n\
         <p>The full detail of these documents, disclosed from checkpoint {} of the archive. \
         The summary, the signers and the list of every document are on \
         <a href=\"../report.html\">report.html</a>.</p>\n",
        ctx.page_count,
        esc(&cp.origin),
        cp.number
    );
    nav(&mut out, ctx, page);
    out.push_str("</header>\n");
    written_by_the_sender(&mut out, cp);
    for (index, id, doc) in part {
        document(&mut out, ctx, *index, id, doc);
    }
    let here: Vec<_> = (ctx.annotations())
        .filter(|(index, _, _)| ctx.pages.get(index) == Some(&page))
        .collect();
    links(&mut out, ctx, here.into_iter());
    nav(&mut out, ctx, page);
    footer(&mut out, cp, ctx.manifest.encryption.is_some());
    out.push_str("</body>\n</html>\n");
    out
}

/// Links to the entry page and the neighbouring detail pages.
fn nav(out: &mut String, ctx: &Ctx, page: usize) {
    let mut to = vec!["<a href=\"../report.html\">Summary and list of documents</a>".to_string()];
    if page > 1 {
        to.push(format!(
            "<a href=\"{}\">Previous detail page ({})</a>",
            file_name(page - 1),
            page - 1
        ));
    }
    if page < ctx.page_count {
        to.push(format!(
            "<a href=\"{}\">Next detail page ({})</a>",
            file_name(page + 1),
            page + 1
        ));
    }
    put!(out, "<nav>{}</nav>\n", to.join(" · "));
}
