//! The case's timeline: every disclosed record by time, so legal staff read the case in the
//! order things happened (collection, sealing, analysis, handling), not in log order.

use super::*;

/// One row: when, what happened, and the item it is about (escaped HTML).
struct Event {
    when: Timestamp,
    what: String,
    item: String,
}

pub(super) fn timeline(out: &mut String, ctx: &Ctx) {
    let mut events = Vec::new();
    for (index, _, record) in ctx.records {
        let index = *index;
        match record {
            Record::Document(d) => {
                let item = format!("<a href=\"{}\">{}</a>", ctx.href(index), esc(&d.path));
                if let Some(at) = d.collection.collected_at {
                    let who = d.collection.collector.as_deref();
                    let by = who.map_or_else(String::new, |c| format!(" by {}", esc(c)));
                    events.push(Event {
                        when: at,
                        what: format!("<strong>collected</strong>{by}"),
                        item: item.clone(),
                    });
                }
                events.push(Event {
                    when: d.header.recorded_at,
                    what: format!("<strong>recorded</strong> as log entry #{index}"),
                    item,
                });
            }
            Record::Annotation(a) => {
                let analyst = a
                    .analyst
                    .as_deref()
                    .map_or_else(String::new, |n| format!(" by {}", esc(n)));
                events.push(Event {
                    when: a.header.recorded_at,
                    what: format!(
                        "<strong>annotated</strong>{analyst} (<a href=\"{}\">annotation #{index}</a>)",
                        ctx.href(index)
                    ),
                    item: ctx.describe(&a.target),
                });
            }
            Record::Custody(c) => {
                let item = match c.targets.as_slice() {
                    [one] => ctx.describe(one),
                    many => format!("{} documents", many.len()),
                };
                events.push(Event {
                    when: c.when(),
                    what: format!(
                        "<strong>{}</strong> by {}",
                        esc(c.event.as_str()),
                        esc(&c.actor)
                    ),
                    item,
                });
            }
            Record::Retraction(r) => events.push(Event {
                when: r.header.recorded_at,
                what: format!("<strong>retracted</strong> (log entry #{index})"),
                item: ctx.describe(&r.target),
            }),
            Record::Case(c) => events.push(Event {
                when: c.header.recorded_at,
                what: format!("<strong>case titled</strong> (log entry #{index})"),
                item: esc(&c.title),
            }),
            _ => {}
        }
    }
    // Stable: events at the same time stay in log order.
    events.sort_by_key(|e| e.when);
    out.push_str("<section id=\"timeline\">\n<h2>Timeline of the case</h2>\n");
    if events.is_empty() {
        out.push_str("<p class=\"muted\">No disclosed records.</p>\n</section>\n");
        return;
    }
    table_head(out, "timeline", &["Time", "What happened", "Item"]);
    for e in events {
        tr(out, &[ts(e.when), e.what, e.item]);
    }
    out.push_str(
        "</tbody></table>\n<p class=\"muted\">Times are as recorded (collection times as the \
         collector gave them); none is a trusted timestamp.</p>\n</section>\n",
    );
}

/// The first checkpoint that seals the record at leaf `index`, as escaped HTML: its number,
/// and its signed time when it is the bundle's checkpoint (earlier checkpoints' times are not
/// in the bundle; the bundle's checkpoint is then the latest the record can have been sealed).
pub(super) fn sealed(ctx: &Ctx, cp: &Checkpoint, index: u64) -> String {
    let first = (ctx.manifest.consistency.iter())
        .filter(|c| c.size > index)
        .map(|c| c.checkpoint)
        .min();
    match first {
        Some(n) if n != cp.number => format!(
            "in checkpoint {n} {}",
            muted(&format!(
                "(its time is not in this bundle; at the latest by checkpoint {} of {})",
                cp.number, cp.time
            ))
        ),
        _ => format!(
            "in checkpoint {} of {} {}",
            cp.number,
            ts(cp.time),
            muted("(the signer's claimed time)")
        ),
    }
}

/// The case title: the latest disclosed `case` record's, else the archive's name taken from
/// its origin (`evidentia/NAME/ID`), else the origin itself.
pub(super) fn case_title(origin: &str, records: &[(u64, Digest, Record)]) -> String {
    if let Some(Record::Case(case)) = records
        .iter()
        .rev()
        .map(|(_, _, r)| r)
        .find(|r| matches!(r, Record::Case(_)))
    {
        return case.title.clone();
    }
    let mut parts = origin.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("evidentia"), Some(name), Some(_), None) if !name.is_empty() => name.to_string(),
        _ => origin.to_string(),
    }
}

/// The running header and footer of every printed page (CSS paged media): the bundle's id
/// (checkpoint number and the start of its text SHA-256, hex only, so no archive-chosen text
/// reaches the style sheet) and "page N of M".
pub(super) fn print_style(cp: &Checkpoint) -> String {
    let hash = cp.text_hash().to_hex();
    let id = format!(
        "Evidence bundle, checkpoint {} (text SHA-256 {}…)",
        cp.number,
        hash.get(..16).unwrap_or(&hash)
    );
    format!(
        "\n@page {{ size: auto; margin: 13mm 11mm 12mm;\n  \
         @top-left {{ content: \"{id}\"; font: 8pt system-ui, sans-serif; color: #444; }}\n  \
         @top-right {{ content: \"written by the sender, not a verification\"; font: 8pt system-ui, sans-serif; color: #444; }}\n  \
         @bottom-right {{ content: \"page \" counter(page) \" of \" counter(pages); font: 8pt system-ui, sans-serif; }}\n }}\n"
    )
}
