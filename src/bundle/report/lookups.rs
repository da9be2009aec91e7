//! What every page of the report looks things up in: the disclosed records by id, content,
//! target and page ([`Lookups`], built once), seen from the page being written ([`Ctx`]).

use super::*;

/// Lookups over the disclosed records, shared by every page.
pub(super) struct Lookups<'a> {
    pub(super) manifest: &'a BundleManifest,
    pub(super) checkpoint: &'a Checkpoint,
    pub(super) records: &'a [(u64, Digest, Record)],
    /// Disclosed documents by content digest: (leaf index of the first record, logical path).
    pub(super) docs: HashMap<Digest, (u64, &'a str)>,
    /// Disclosed records by id: (leaf index, record).
    pub(super) by_id: HashMap<Digest, (u64, &'a Record)>,
    /// Retractions by the id of the record they withdraw.
    pub(super) retractions: HashMap<Digest, Vec<(u64, &'a RetractionRecord)>>,
    /// Annotation ids superseded, with the leaf indexes of the annotations that supersede them.
    pub(super) superseded: HashMap<Digest, Vec<u64>>,
    /// Which version of its path each document record is ("older version 1 of …").
    pub(super) versions: HashMap<Digest, String>,
    /// The same in a few words, for the list of a paged report ("older version 1").
    pub(super) short_versions: HashMap<Digest, String>,
    /// A document record's file in the bundle, by record id (hex).
    pub(super) files: HashMap<&'a str, &'a str>,
    /// Positions in `records` of the annotations on, and custody events about, each content.
    pub(super) annotations_on: HashMap<Digest, Vec<usize>>,
    pub(super) custody_of: HashMap<Digest, Vec<usize>>,
    /// Positions of the `metadata` records about each document record, by its id.
    pub(super) metadata_of: HashMap<Digest, Vec<usize>>,
    /// The detail page (1-based) of each document and annotation, by leaf index; empty when
    /// the report is one page.
    pub(super) pages: HashMap<u64, usize>,
    pub(super) page_count: usize,
    /// Pixel sizes of the images shown as thumbnails, by document record id.
    pub(super) images: &'a HashMap<Digest, (u64, u64)>,
}

/// The lookups, seen from the page being written. Detail pages are rendered in parallel, each
/// with its own `Ctx` over the one `Lookups`.
#[derive(Clone, Copy)]
pub(super) struct Ctx<'c, 'a> {
    pub(super) lookups: &'c Lookups<'a>,
    /// The page being written: 0 for report.html, else its detail page's number.
    pub(super) here: usize,
}

impl<'a> std::ops::Deref for Ctx<'_, 'a> {
    type Target = Lookups<'a>;

    fn deref(&self) -> &Lookups<'a> {
        self.lookups
    }
}

impl<'a> Lookups<'a> {
    pub(super) fn new(input: &ReportInput<'a>) -> Lookups<'a> {
        let mut ctx = Lookups {
            manifest: input.manifest,
            checkpoint: input.checkpoint,
            records: input.records,
            docs: HashMap::new(),
            by_id: HashMap::new(),
            retractions: HashMap::new(),
            superseded: HashMap::new(),
            versions: HashMap::new(),
            short_versions: HashMap::new(),
            files: (input.manifest.documents.iter())
                .map(|d| (d.record.as_str(), d.file.as_str()))
                .collect(),
            annotations_on: HashMap::new(),
            custody_of: HashMap::new(),
            metadata_of: HashMap::new(),
            pages: HashMap::new(),
            page_count: 1,
            images: input.images,
        };
        for (at, (index, id, record)) in input.records.iter().enumerate() {
            ctx.by_id.insert(*id, (*index, record));
            match record {
                Record::Document(d) => {
                    ctx.docs.entry(d.content).or_insert((*index, &d.path));
                }
                Record::Retraction(r) => {
                    let list = ctx.retractions.entry(r.target).or_default();
                    list.push((*index, r));
                }
                Record::Annotation(a) => {
                    for target in a.supersedes() {
                        ctx.superseded.entry(*target).or_default().push(*index);
                    }
                    ctx.annotations_on.entry(a.target).or_default().push(at);
                }
                Record::Custody(c) => {
                    let mut targets: Vec<&Digest> = c.targets.iter().collect();
                    targets.sort();
                    targets.dedup();
                    for target in targets {
                        ctx.custody_of.entry(*target).or_default().push(at);
                    }
                }
                Record::Metadata(m) => ctx.metadata_of.entry(m.target).or_default().push(at),
                _ => {}
            }
        }
        let docs: Vec<(Digest, &DocumentRecord)> =
            ctx.documents().map(|(_, id, d)| (*id, d)).collect();
        for ((_, doc), place) in docs.iter().zip(layout::place(&docs)) {
            ctx.versions.insert(place.record, place.label(&doc.path));
            (ctx.short_versions).insert(place.record, pages::short_version(&place));
        }
        pages::assign(&mut ctx);
        ctx
    }
}

impl<'a> Ctx<'_, 'a> {
    /// A link to the item at leaf `index`, from the page being written.
    pub(super) fn href(&self, index: u64) -> String {
        let page = self.pages.get(&index).copied().unwrap_or(0);
        match (self.here, page) {
            (here, there) if here == there => format!("#r{index}"),
            (0, there) => format!("{}#r{index}", page_name(there)),
            (_, 0) => format!("../report.html#r{index}"),
            (_, there) => format!("{}#r{index}", pages::file_name(there)),
        }
    }

    /// A link or custody target in words (escaped HTML): a disclosed document's path, a
    /// disclosed annotation, or else the bare digest.
    pub(super) fn describe(&self, target: &Digest) -> String {
        if let Some((index, path)) = self.docs.get(target) {
            let what = muted(&format!("(document, entry #{index})"));
            let href = self.href(*index);
            return format!("<a href=\"{href}\">{}</a> {what}", esc(path));
        }
        if let Some((index, Record::Annotation(a))) = self.by_id.get(target) {
            let on = self.docs.get(&a.target).map_or("?", |(_, p)| *p);
            return format!(
                "<a href=\"{}\">annotation #{index}</a> on {}",
                self.href(*index),
                esc(on)
            );
        }
        format!(
            "{} {}",
            mono(&target.to_hex()),
            muted("(not disclosed in this bundle)")
        )
    }
}

impl<'a> Lookups<'a> {
    /// The records at the positions `index` lists for `key`, in log order.
    pub(super) fn positions<'m>(
        &'m self,
        index: &'m HashMap<Digest, Vec<usize>>,
        key: &Digest,
    ) -> impl Iterator<Item = (u64, &'a Digest, &'a Record)> + 'm {
        let records = self.records;
        (index.get(key).into_iter().flatten()).map(move |&at| {
            let (i, id, record) = &records[at];
            (*i, id, record)
        })
    }

    /// The version label of a document record, as escaped HTML ("" for a path's only version).
    pub(super) fn version(&self, id: &Digest) -> String {
        match self.versions.get(id) {
            Some(label) if !label.is_empty() => format!(" {}", muted(&format!("({label})"))),
            _ => String::new(),
        }
    }

    pub(super) fn documents(&self) -> impl Iterator<Item = (u64, &'a Digest, &'a DocumentRecord)> {
        self.records.iter().filter_map(|(index, id, r)| match r {
            Record::Document(d) => Some((*index, id, d.as_ref())),
            _ => None,
        })
    }

    pub(super) fn annotations(
        &self,
    ) -> impl Iterator<Item = (u64, &'a Digest, &'a AnnotationRecord)> {
        self.records.iter().filter_map(|(index, id, r)| match r {
            Record::Annotation(a) => Some((*index, id, a.as_ref())),
            _ => None,
        })
    }

    pub(super) fn retracted_flag(&self, id: &Digest) -> &'static str {
        if self.retractions.contains_key(id) {
            " <span class=\"flag retracted\">RETRACTED</span>"
        } else {
            ""
        }
    }
}
