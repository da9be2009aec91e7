//! Metadata added to a document after it was recorded (`metadata` records), shown under the
//! document, each with its own log entry, so that a reader sees what came later and when.

use crate::core::digest::Digest;
use crate::core::record::Record;
use crate::core::timestamp::Timestamp;

use super::html::*;
use super::{timeline, Ctx};

/// A collection time as the collector gave it: local time with its offset, and UTC.
pub(super) fn collected(at: Timestamp, offset: Option<i16>) -> String {
    match offset {
        Some(_) => format!("{} ({})", esc(&at.at_offset(offset)), ts(at)),
        None => ts(at),
    }
}

/// The metadata records about the document record `id`, in log order.
pub(super) fn added_later(out: &mut String, ctx: &Ctx, id: &Digest) {
    let later: Vec<_> = (ctx.positions(&ctx.metadata_of, id))
        .filter_map(|(index, _, r)| match r {
            Record::Metadata(m) => Some((index, m)),
            _ => None,
        })
        .collect();
    if later.is_empty() {
        return;
    }
    put!(out, "<h4>Metadata added later ({})</h4>\n", later.len());
    for (index, m) in later {
        let c = &m.collection;
        let mut rows = vec![(
            "Added",
            format!(
                "log entry #{index}, recorded {}; sealed {}",
                ts(m.header.recorded_at),
                timeline::sealed(ctx, ctx.checkpoint, index)
            ),
        )];
        let texts = [
            ("Source URL", &c.source_url),
            ("Collector", &c.collector),
            ("Tool", &c.tool),
        ];
        rows.extend(
            (texts.into_iter()).filter_map(|(label, v)| v.as_deref().map(|v| (label, esc(v)))),
        );
        if let Some(at) = c.collected_at {
            rows.push(("Collected at", collected(at, c.collected_offset)));
        }
        if let Some(note) = &c.note {
            rows.push(("Collection note", prose(note)));
        }
        if !c.tags.is_empty() {
            rows.push(("Tags", tags(&c.tags)));
        }
        kv_table(out, &rows);
    }
}
