//! Check 6a (FORMAT.md §17): outside `data/` a bundle holds only its tag files, each listed in
//! `tagmanifest-sha256.txt`, and its report pages hold nothing that runs or loads anything
//! and show no picture but the bundle's own verified raster image documents.

use rayon::prelude::*;
use std::collections::HashSet;
use std::path::Path;

use crate::core::digest::Digest;
use crate::core::record::Record;

use super::super::bagit;
use super::super::inspect::read_text;
use super::super::manifest::BundleManifest;
use super::super::report::inert;
use super::disclosed::Disclosed;
use super::{hex_digest, BundleReport};

/// The tag files of a bundle, besides the report's detail pages `report/<digits>.html`.
pub const TAG_FILES: [&str; 8] = [
    "bagit.txt",
    "bag-info.txt",
    "manifest-sha256.txt",
    "tagmanifest-sha256.txt",
    "SHA256SUMS",
    "VERIFY.txt",
    "verify-bundle.py",
    "report.html",
];

pub(super) fn check_tag_files(root: &Path, files: &HashSet<String>, report: &mut BundleReport) {
    // An unreadable tag manifest is reported by the BagIt checks; it lists nothing here.
    let listed: Option<HashSet<String>> = files
        .contains("tagmanifest-sha256.txt")
        .then(|| listed_tag_files(root, files))
        .flatten();
    let mut outside: Vec<&String> = files.iter().filter(|f| !f.starts_with("data/")).collect();
    outside.sort();
    for name in outside {
        if !TAG_FILES.contains(&name.as_str()) && !inert::is_page(name) {
            report.problem(
                name,
                "stray-file",
                "a file outside data/ that is none of the bundle's tag files; remove it",
            );
            continue;
        }
        let unlisted = listed.as_ref().is_some_and(|l| !l.contains(name.as_str()));
        if name != "tagmanifest-sha256.txt" && unlisted {
            report.problem(
                name,
                "unlisted-tag-file",
                "a tag file that tagmanifest-sha256.txt does not list",
            );
        }
    }
}

/// The report pages against the rules of what a page may hold; `images` are the pictures
/// they may show ([`verified_images`]; none when the documents could not be checked).
pub(super) fn check_report_pages(
    root: &Path,
    files: &HashSet<String>,
    images: &HashSet<String>,
    report: &mut BundleReport,
) {
    let mut pages: Vec<&String> = files.iter().filter(|f| inert::is_page(f)).collect();
    pages.sort();
    // Pages are checked in parallel (a report of 20,000 documents is about 40 MB of HTML);
    // each page's findings are added in page order, as if checked one after another.
    let findings: Vec<Vec<crate::verification::Finding>> = pages
        .par_iter()
        .map(|name| {
            let mut page = BundleReport::new();
            if let Some(html) = read_text(root, files, name, inert::MAX_PAGE_LEN, &mut page) {
                let allowed = inert::Images {
                    files: images,
                    detail_page: name.as_str() != "report.html",
                };
                if let Err(why) = inert::check_page(&html, &allowed) {
                    let detail =
                        format!("the report page holds {why}; do not open it in a browser");
                    page.problem(name.as_str(), "report-unsafe", detail);
                }
            }
            page.core.findings
        })
        .collect();
    report.core.findings.extend(findings.into_iter().flatten());
}

/// The `<img src>` (bundle-relative, [`inert::image_src`]) of every listed document whose
/// record the checkpoint's tree holds, gives a raster media type, and whose bytes and place
/// verified: the only pictures a report page may show.
pub(super) fn verified_images(
    manifest: &BundleManifest,
    disclosed: &Disclosed,
    report: &BundleReport,
) -> HashSet<String> {
    // check_documents reports on every listed document, in list order. An encrypted bundle
    // shows no picture: its document files are ciphertexts.
    if report.documents.len() != manifest.documents.len() || manifest.encryption.is_some() {
        return HashSet::new();
    }
    let in_tree: HashSet<&Digest> = (disclosed.proven_leaves.iter())
        .map(|(_, id, _)| id)
        .collect();
    let checked = manifest.documents.iter().zip(&report.documents);
    checked
        .filter(|(doc, item)| {
            let id = hex_digest(&doc.record).filter(|id| in_tree.contains(id));
            let record = id.and_then(|id| disclosed.decoded.get(&id));
            item.ok
                && matches!(record, Some(Record::Document(d))
                    if inert::RASTER_TYPES.contains(&d.media_type.as_str()))
        })
        .map(|(doc, _)| inert::image_src(&doc.file))
        .collect()
}

/// The names `tagmanifest-sha256.txt` lists, if it can be read and parsed.
fn listed_tag_files(root: &Path, files: &HashSet<String>) -> Option<HashSet<String>> {
    let mut quiet = BundleReport::new();
    let text = read_text(root, files, "tagmanifest-sha256.txt", 1 << 20, &mut quiet)?;
    let path = root.join("tagmanifest-sha256.txt");
    let entries = bagit::parse_manifest(&path, &text).ok()?;
    Some(entries.into_iter().map(|(_, name)| name).collect())
}
