//! Where each disclosed document's bytes sit in a bundle (docs/FORMAT.md §17, "Layout").
//!
//! The place is dictated by the signed document records alone, so the exporter and every
//! verifier compute the same file name and a forger cannot move bytes between names: the
//! current version of a logical path is at `data/documents/<path>`; an older version, or a
//! current one whose name is already taken case-insensitively, is at
//! `data/versions/<record id>/<path>`. The two areas are separate directories, so no logical
//! path (not even one beginning with `versions/`) can reach the other area, and each record id
//! names one directory holding one file.

use std::collections::{HashMap, HashSet};

use crate::core::digest::Digest;
use crate::core::record::{DocumentRecord, Record};

use super::manifest::BundleManifest;
use super::verify::{document_item, BundleReport};

/// The area of current versions.
pub const CURRENT_AREA: &str = "data/documents/";
/// The area of older versions and of current versions whose name is taken.
pub const OTHER_AREA: &str = "data/versions/";

/// The dictated place of one disclosed document record, and what it is among its path's
/// versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The document record's id.
    pub record: Digest,
    /// Bundle-relative file name.
    pub file: String,
    /// 1-based, among the disclosed records of this logical path in log order.
    pub version: usize,
    pub versions: usize,
    /// Content of the version before and after this one, if disclosed.
    pub replaces: Option<Digest>,
    pub replaced_by: Option<Digest>,
    /// For a current version moved out of `data/documents/`: the path whose file name (or a
    /// directory on the way to it) took its name first, compared case-insensitively.
    pub displaced_by: Option<String>,
}

impl Placement {
    pub fn is_current(&self) -> bool {
        self.replaced_by.is_none()
    }

    /// Words for people: which version this is and what it replaces or is replaced by. Empty
    /// for the only version of a path at its obvious place.
    pub fn label(&self, path: &str) -> String {
        let mut words = match (self.replaces, self.replaced_by) {
            (_, Some(next)) => format!(
                "older version {} of {path}, replaced by sha256:{next} (version {})",
                self.version,
                self.version + 1
            ),
            (Some(previous), None) => format!(
                "version {} of {path} (current), replaces sha256:{previous}",
                self.version
            ),
            (None, None) => String::new(),
        };
        if let Some(other) = &self.displaced_by {
            if !words.is_empty() {
                words.push_str("; ");
            }
            words.push_str(&format!(
                "stored under {OTHER_AREA} because its name collides with '{other}' when case is ignored"
            ));
        }
        words
    }
}

/// The file name a logical path is written under: '%' becomes U+FF05, because RFC 8493 has
/// manifests encode '%' as %25, which bagit.py and most BagIt tools do not decode.
pub fn file_name(path: &str) -> String {
    path.replace('%', "\u{ff05}")
}

/// Places every disclosed document record. `documents` must be in log order (by leaf index).
pub fn place(documents: &[(Digest, &DocumentRecord)]) -> Vec<Placement> {
    place_with(documents, "")
}

/// [`place`] with `suffix` appended to every file name before any name is compared (`.age` in
/// an encrypted bundle), so that suffixed names cannot collide either.
pub fn place_with(documents: &[(Digest, &DocumentRecord)], suffix: &str) -> Vec<Placement> {
    let mut by_path: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (_, doc)) in documents.iter().enumerate() {
        by_path.entry(doc.path.as_str()).or_default().push(i);
    }
    let mut names = Names::default();
    let mut out = Vec::with_capacity(documents.len());
    // How many versions of each path were placed so far: this record's position among them.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (record, doc) in documents {
        let same = &by_path[doc.path.as_str()];
        let counter = seen.entry(doc.path.as_str()).or_default();
        let position = *counter;
        *counter += 1;
        let content_at =
            |p: Option<usize>| p.and_then(|p| same.get(p)).map(|&j| documents[j].1.content);
        let replaced_by = content_at(Some(position + 1));
        let name = file_name(&doc.path) + suffix;
        let mut displaced_by = None;
        let file = if replaced_by.is_none() {
            match names.reserve(&format!("{CURRENT_AREA}{name}"), &doc.path) {
                Ok(file) => file,
                Err(other) => {
                    displaced_by = Some(other);
                    format!("{OTHER_AREA}{record}/{name}")
                }
            }
        } else {
            format!("{OTHER_AREA}{record}/{name}")
        };
        out.push(Placement {
            record: *record,
            file,
            version: position + 1,
            versions: same.len(),
            replaces: content_at(position.checked_sub(1)),
            replaced_by,
            displaced_by,
        });
    }
    out
}

/// Names taken in `data/documents/`, lowercased: files, and the directories on the way to them.
#[derive(Default)]
struct Names {
    files: HashMap<String, String>,
    dirs: HashMap<String, String>,
}

impl Names {
    /// Takes `file` for `path`, or says which path already holds its name (or a file where it
    /// needs a directory, or a directory where it needs a file).
    fn reserve(&mut self, file: &str, path: &str) -> Result<String, String> {
        let lower = file.to_lowercase();
        if let Some(other) = self.files.get(&lower).or_else(|| self.dirs.get(&lower)) {
            return Err(other.clone());
        }
        let ancestors: Vec<&str> = lower
            .match_indices('/')
            .map(|(at, _)| &lower[..at])
            .collect();
        if let Some(other) = ancestors.iter().find_map(|dir| self.files.get(*dir)) {
            return Err(other.clone());
        }
        for dir in ancestors {
            self.dirs
                .entry(dir.to_string())
                .or_insert_with(|| path.to_string());
        }
        self.files.insert(lower, path.to_string());
        Ok(file.to_string())
    }
}

/// Checks that every listed document is where its record dictates, that each record is listed
/// once, and that nothing else sits in the two document areas. Returns the placements by
/// record id, for the report's version labels.
pub(super) fn check(
    manifest: &BundleManifest,
    decoded: &HashMap<Digest, Record>,
    files: &HashSet<String>,
    report: &mut BundleReport,
) -> HashMap<String, Placement> {
    // The disclosed document records in log order, each once.
    let mut in_log_order: Vec<(u64, Digest, &DocumentRecord)> = manifest
        .records
        .iter()
        .filter_map(|r| {
            let id = Digest::from_lower_hex(r.id.as_bytes())?;
            match decoded.get(&id) {
                Some(Record::Document(d)) => Some((r.index, id, d.as_ref())),
                _ => None,
            }
        })
        .collect();
    in_log_order.sort_by_key(|(index, _, _)| *index);
    in_log_order.dedup_by_key(|(_, id, _)| *id);
    let documents: Vec<(Digest, &DocumentRecord)> =
        in_log_order.iter().map(|(_, id, d)| (*id, *d)).collect();
    let suffix = match manifest.encryption {
        Some(_) => super::encrypted::SUFFIX,
        None => "",
    };
    let placed: HashMap<String, Placement> = place_with(&documents, suffix)
        .into_iter()
        .map(|p| (p.record.to_hex(), p))
        .collect();
    let mut listed = HashSet::new();
    for doc in &manifest.documents {
        if !listed.insert(doc.record.as_str()) {
            report.problem(
                document_item(&doc.path, &doc.content),
                "bad-manifest",
                format!("document record {} is listed twice", doc.record),
            );
            continue;
        }
        // A record that is not disclosed is already `document-mismatch`.
        if let Some(place) = placed.get(&doc.record) {
            if place.file != doc.file {
                report.problem(
                    document_item(&doc.path, &doc.content),
                    "document-misplaced",
                    format!(
                        "its record puts its bytes at '{}', but data/bundle.json names '{}'",
                        place.file, doc.file
                    ),
                );
            }
        }
    }
    let dictated: HashSet<&str> = placed.values().map(|p| p.file.as_str()).collect();
    let mut strays: Vec<&String> = files
        .iter()
        .filter(|f| f.starts_with(CURRENT_AREA) || f.starts_with(OTHER_AREA))
        .filter(|f| !dictated.contains(f.as_str()))
        .collect();
    strays.sort();
    for file in strays {
        report.problem(
            file,
            "unlisted-document",
            "a file in a document area where no disclosed document record puts one",
        );
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::record::{Collection, Header};

    fn doc(path: &str, content: u8) -> DocumentRecord {
        DocumentRecord {
            header: Header::now(),
            content: Digest([content; 32]),
            size: 1,
            media_type: "text/plain".into(),
            path: path.into(),
            original_name: "x".into(),
            original_path: None,
            encryption: None,
            collection: Collection::default(),
        }
    }

    fn files(docs: &[DocumentRecord]) -> Vec<String> {
        let input: Vec<(Digest, &DocumentRecord)> = docs
            .iter()
            .enumerate()
            .map(|(i, d)| (Digest([i as u8 + 100; 32]), d))
            .collect();
        place(&input).into_iter().map(|p| p.file).collect()
    }

    #[test]
    fn the_latest_version_takes_the_obvious_name() {
        let docs = [
            doc("case/x.txt", 1),
            doc("case/y.txt", 2),
            doc("case/x.txt", 3),
        ];
        let out = files(&docs);
        assert_eq!(
            out[0],
            format!("data/versions/{}/case/x.txt", Digest([100; 32]))
        );
        assert_eq!(out[1], "data/documents/case/y.txt");
        assert_eq!(out[2], "data/documents/case/x.txt");
    }

    #[test]
    fn case_and_prefix_collisions_go_to_the_other_area() {
        let docs = [
            doc("Case/a.txt", 1),
            doc("case/A.TXT", 2),
            doc("case", 3),
            doc("CASE/a.txt/b", 4),
            doc("versions/x", 5),
            doc("50%", 6),
        ];
        let out = files(&docs);
        assert_eq!(out[0], "data/documents/Case/a.txt");
        assert!(out[1].starts_with("data/versions/"), "{out:?}");
        assert!(out[2].starts_with("data/versions/"), "{out:?}");
        assert!(out[3].starts_with("data/versions/"), "{out:?}");
        assert_eq!(out[4], "data/documents/versions/x");
        assert_eq!(out[5], "data/documents/50\u{ff05}");
    }

    #[test]
    fn labels_name_the_neighbouring_versions() {
        let docs = [doc("x", 1), doc("x", 2)];
        let input: Vec<(Digest, &DocumentRecord)> =
            docs.iter().map(|d| (Digest([9; 32]), d)).collect();
        let placed = place(&input);
        assert!(placed[0].label("x").starts_with(&format!(
            "older version 1 of x, replaced by sha256:{}",
            Digest([2; 32])
        )));
        assert_eq!(
            placed[1].label("x"),
            format!(
                "version 2 of x (current), replaces sha256:{}",
                Digest([1; 32])
            )
        );
    }
}
