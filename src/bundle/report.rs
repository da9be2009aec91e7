//! `report.html`: one self-contained page for legal staff (written by a helper; placeholder).

use crate::core::checkpoint::Checkpoint;
use crate::core::digest::Digest;
use crate::core::note::SignedNote;
use crate::core::record::Record;

use super::manifest::BundleManifest;
use super::verify::BundleReport;

/// Everything the report shows.
pub struct ReportInput<'a> {
    pub manifest: &'a BundleManifest,
    pub checkpoint: &'a Checkpoint,
    pub note: &'a SignedNote,
    /// Disclosed records in log order: (leaf index, record id, decoded record).
    pub records: &'a [(u64, Digest, Record)],
    /// The verification of the bundle as written.
    pub verdict: &'a BundleReport,
}

pub fn render(input: &ReportInput) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>evidentia bundle</title></head><body><h1>{}</h1></body></html>\n",
        html_escape(&input.manifest.origin)
    )
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
