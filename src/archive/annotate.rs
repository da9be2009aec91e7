//! `annotate`: an analyst's annotation of a document, its selectors checked against the
//! document's content before it is recorded.

use std::collections::BTreeMap;

use crate::core::digest::Digest;
use crate::core::record::{
    AnnotationRecord, Header, HiddenFields, Link, Record, Relation, Selector,
};
use crate::error::{Error, Result};

use super::append::{append_records, catch_up_index};
use super::query::{self, Target};
use super::Archive;

/// Content larger than this is not read to check text selectors.
const MAX_TEXT_CHECK: u64 = 256 << 20;

/// What the analyst asks to record.
#[derive(Debug, Clone, Default)]
pub struct AnnotationRequest {
    /// A digest, unique digest prefix or logical path naming a document.
    pub target: String,
    pub body: String,
    pub selectors: Vec<Selector>,
    pub tags: Vec<String>,
    pub claim: BTreeMap<String, String>,
    /// Relation and a digest, prefix or path of a document or annotation.
    pub links: Vec<(Relation, String)>,
    pub analyst: Option<String>,
    /// Store the body, quote and claim encrypted (FORMAT.md §23.10). `None`: encrypted exactly
    /// when the target document is stored encrypted.
    pub encrypt: Option<bool>,
}

/// The recorded annotation.
#[derive(Debug, Clone)]
pub struct Annotated {
    pub id: Digest,
    pub target: Digest,
}

pub fn annotate(archive: &Archive, request: &AnnotationRequest) -> Result<Annotated> {
    annotate_with(archive, request, None)
}

/// [`annotate`]; `identities` decrypt an encrypted target whose selectors must be checked
/// against its plaintext (FORMAT.md §23).
pub fn annotate_with(
    archive: &Archive,
    request: &AnnotationRequest,
    identities: Option<&crate::crypt::Identities>,
) -> Result<Annotated> {
    let lock = archive.lock()?;
    let mut log = archive.log()?;
    let index = catch_up_index(archive, &log)?;
    let (content, document) = match query::resolve_target(archive, &log, &index, &request.target)? {
        Target::Document { content, records } => {
            let latest = records.last().copied().ok_or_else(|| Error::UnknownId {
                id: request.target.clone(),
            })?;
            (content, query::read_record(archive, &latest)?)
        }
        Target::Record { record, .. } => match *record {
            Record::Document(ref doc) => (doc.content, Record::Document(doc.clone())),
            other => {
                return Err(Error::WrongTarget {
                    id: request.target.clone(),
                    what: format!("a '{}' record", other.kind()),
                    hint: "annotations target documents; to comment on an annotation, annotate its document and --link supersedes:ID or corroborates:ID",
                })
            }
        },
    };
    let Record::Document(doc) = document else {
        return Err(Error::UnknownId {
            id: request.target.clone(),
        });
    };
    let label = format!("{} (sha256:{})", doc.path, &content.to_hex()[..12]);
    let mut selectors = request.selectors.clone();
    selectors.sort_by_key(Selector::order);
    if selectors.windows(2).any(|w| w[0].order() == w[1].order()) {
        return Err(Error::InvalidOption {
            option: "selector",
            value: String::new(),
            why: "give at most one selector of each kind".into(),
        });
    }
    let plaintext = match &doc.encryption {
        Some(info) if selectors.iter().any(needs_bytes) => {
            Some(decrypt_for_selectors(archive, &content, info, identities)?)
        }
        _ => None,
    };
    let size = doc
        .encryption
        .as_ref()
        .map_or(doc.size, |i| i.plaintext_size);
    check_selectors(
        archive,
        (&content, plaintext),
        &doc.media_type,
        size,
        &label,
        &selectors,
    )?;

    let mut links = Vec::new();
    for (relation, target) in &request.links {
        let resolved = query::resolve_target(archive, &log, &index, target)?;
        let link_target = match (&resolved, relation) {
            (Target::Record { id, record, .. }, Relation::Supersedes) => {
                if !matches!(**record, Record::Annotation(_)) {
                    return Err(Error::WrongTarget {
                        id: target.clone(),
                        what: format!("a '{}' record", record.kind()),
                        hint: "only an annotation can be superseded; to withdraw a document use `evidentia retract`",
                    });
                }
                *id
            }
            (Target::Document { .. }, Relation::Supersedes) => {
                return Err(Error::WrongTarget {
                    id: target.clone(),
                    what: "a document".into(),
                    hint: "only an annotation can be superseded; give the annotation's id",
                })
            }
            (Target::Document { content, .. }, _) => *content,
            (Target::Record { id, .. }, _) => *id,
        };
        links.push(Link {
            relation: *relation,
            target: link_target,
        });
    }

    let mut annotation = AnnotationRecord {
        header: Header::now(),
        target: content,
        selectors,
        body: request.body.clone(),
        tags: request.tags.clone(),
        claim: request.claim.clone(),
        links,
        analyst: request.analyst.clone(),
        sealed: None,
    };
    if request.encrypt.unwrap_or(doc.encryption.is_some()) {
        seal_annotation(archive, &mut annotation)?;
    }
    let record = Record::Annotation(Box::new(annotation));
    record.encode_checked().map_err(|e| Error::InvalidOption {
        option: "annotation",
        value: String::new(),
        why: e.to_string(),
    })?;
    let ids = append_records(archive, &lock, &mut log, &[record])?;
    Ok(Annotated {
        id: ids[0],
        target: content,
    })
}

/// Moves the body, quote and claim of `annotation` into a ciphertext object (FORMAT.md §23.10).
fn seal_annotation(archive: &Archive, annotation: &mut AnnotationRecord) -> Result<()> {
    let mut hidden = HiddenFields::new("annotation", vec![annotation.target]);
    hidden.body = Some(std::mem::take(&mut annotation.body));
    hidden.claim = std::mem::take(&mut annotation.claim);
    if let Some(at) = annotation
        .selectors
        .iter()
        .position(|s| matches!(s, Selector::TextQuote { .. }))
    {
        hidden.quote = Some(annotation.selectors.remove(at));
    }
    annotation.sealed = Some(super::sealed_notes::seal(archive, &hidden)?);
    Ok(())
}

/// Whether checking `selector` reads the content.
fn needs_bytes(selector: &Selector) -> bool {
    matches!(
        selector,
        Selector::TextQuote { .. }
            | Selector::TextPosition { .. }
            | Selector::Page { .. }
            | Selector::Rectangle { .. }
    )
}

/// The plaintext of an encrypted target, decrypted and checked against its record (small
/// enough to check selectors in memory), or an error saying an identity is needed.
fn decrypt_for_selectors(
    archive: &Archive,
    content: &Digest,
    info: &crate::core::record::EncryptionInfo,
    identities: Option<&crate::crypt::Identities>,
) -> Result<Vec<u8>> {
    let Some(identities) = identities else {
        return Err(Error::InvalidOption {
            option: "--identity",
            value: String::new(),
            why: format!("document sha256:{content} is encrypted: its selectors are checked against the plaintext; give --identity FILE (an age identity of one of its recipients)"),
        });
    };
    if info.plaintext_size > MAX_TEXT_CHECK {
        return Err(Error::InvalidOption {
            option: "selector",
            value: String::new(),
            why: format!(
                "the plaintext is larger than the {} MiB checked in memory",
                MAX_TEXT_CHECK >> 20
            ),
        });
    }
    let ciphertexts = super::encrypted::ciphertexts_of(archive, content)?;
    let mut bytes = Vec::new();
    super::encrypted::decrypt_any(archive, identities, &ciphertexts, &mut bytes)?;
    Ok(bytes)
}

/// Checks selectors against the target: quotes must occur exactly once (after prefix and
/// suffix), offsets must fall inside the content, pages inside a PDF, rectangles inside a PNG.
fn check_selectors(
    archive: &Archive,
    (content, plaintext): (&Digest, Option<Vec<u8>>),
    media_type: &str,
    size: u64,
    label: &str,
    selectors: &[Selector],
) -> Result<()> {
    let out_of_range = |selector: &'static str, detail: String| Error::SelectorOutOfRange {
        selector,
        target: label.to_string(),
        detail,
    };
    let bytes = if plaintext.is_some() {
        plaintext
    } else if selectors.iter().any(needs_bytes) && size <= MAX_TEXT_CHECK {
        Some(archive.store().read_verified(content, MAX_TEXT_CHECK)?)
    } else {
        None
    };
    for selector in selectors {
        check_applicable(media_type, label, selector)?;
        selector.check_shape().map_err(|e| Error::InvalidOption {
            option: "selector",
            value: selector.type_name().into(),
            why: e.to_string(),
        })?;
        let text = || -> Result<&str> {
            let not_text = || Error::NotText {
                target: label.to_string(),
                media_type: media_type.to_string(),
                selector: selector.type_name(),
            };
            let bytes = bytes.as_deref().ok_or_else(not_text)?;
            std::str::from_utf8(bytes).map_err(|_| not_text())
        };
        match selector {
            Selector::TextQuote {
                exact,
                prefix,
                suffix,
            } => {
                let text = text()?;
                let all = occurrences(text, exact);
                let matching = all
                    .iter()
                    .filter(|&&at| {
                        prefix
                            .as_ref()
                            .is_none_or(|p| text[..at].ends_with(p.as_str()))
                            && suffix
                                .as_ref()
                                .is_none_or(|s| text[at + exact.len()..].starts_with(s.as_str()))
                    })
                    .count();
                match matching {
                    1 => {}
                    0 if all.is_empty() => {
                        return Err(Error::QuoteNotFound {
                            quote: exact.clone(),
                            target: label.to_string(),
                        })
                    }
                    0 => {
                        return Err(Error::QuoteNotFound {
                            quote: format!(
                            "{exact}' with that prefix/suffix (the quote alone occurs {} time(s))",
                            all.len()
                        ),
                            target: label.to_string(),
                        })
                    }
                    count => {
                        return Err(Error::QuoteAmbiguous {
                            quote: exact.clone(),
                            target: label.to_string(),
                            count,
                        })
                    }
                }
            }
            Selector::TextPosition { end, .. } => {
                let chars = text()?.chars().count() as u64;
                if *end > chars {
                    return Err(out_of_range(
                        "text-position",
                        format!("it ends at character {end} but the text has {chars}"),
                    ));
                }
            }
            Selector::ByteRange { end, .. } => {
                if *end > size {
                    return Err(out_of_range(
                        "byte-range",
                        format!("it ends at byte {end} but the document has {size}"),
                    ));
                }
            }
            Selector::Page { page } => {
                if let Some(pages) = bytes.as_deref().and_then(pdf_page_count) {
                    if *page > pages {
                        return Err(out_of_range(
                            "page",
                            format!("page {page} asked for, the PDF has {pages}"),
                        ));
                    }
                }
            }
            Selector::Rectangle {
                x,
                y,
                width,
                height,
            } => {
                if let Some((w, h)) = bytes.as_deref().and_then(png_dimensions) {
                    if x + width > w || y + height > h {
                        return Err(out_of_range(
                            "rectangle",
                            format!("{x},{y} {width}x{height} does not fit the {w}x{h} image"),
                        ));
                    }
                }
            }
            Selector::TimeRange { .. } => {}
        }
    }
    Ok(())
}

/// Media types with pages: PDF and the other paged formats (multi-page TIFF, DjVu, PostScript).
const PAGED: [&str; 4] = [
    "application/pdf",
    "image/tiff",
    "image/vnd.djvu",
    "application/postscript",
];

/// Refuses a time selector on media without time (not audio or video) and a page selector on
/// media without pages, so that no annotation points at a place its document cannot have.
fn check_applicable(media_type: &str, label: &str, selector: &Selector) -> Result<()> {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let refuse = |what, allowed| Error::SelectorNotApplicable {
        target: label.to_string(),
        media_type: media_type.to_string(),
        what,
        selector: selector.type_name(),
        allowed,
    };
    match selector {
        Selector::TimeRange { .. }
            if !(essence.starts_with("audio/") || essence.starts_with("video/")) =>
        {
            Err(refuse(
                "time",
                "--time is allowed on audio/* and video/* documents only",
            ))
        }
        Selector::Page { .. } if !PAGED.contains(&essence.as_str()) => Err(refuse(
            "pages",
            "--page is allowed on application/pdf, image/tiff, image/vnd.djvu and application/postscript documents only",
        )),
        _ => Ok(()),
    }
}

/// Byte offsets of every occurrence of `needle`, overlapping ones included.
fn occurrences(haystack: &str, needle: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = haystack[from..].find(needle) {
        found.push(from + at);
        from += at
            + haystack[from + at..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
    }
    found
}

/// Page objects in a PDF (`/Type /Page`, not `/Pages`); `None` if not a PDF or none found.
fn pdf_page_count(bytes: &[u8]) -> Option<u64> {
    if !bytes.starts_with(b"%PDF-") {
        return None;
    }
    let mut count = 0u64;
    for pattern in [&b"/Type /Page"[..], &b"/Type/Page"[..]] {
        let mut i = 0;
        while let Some(at) = bytes[i..].windows(pattern.len()).position(|w| w == pattern) {
            let end = i + at + pattern.len();
            if bytes.get(end) != Some(&b's') {
                count += 1;
            }
            i = end;
        }
    }
    (count > 0).then_some(count)
}

/// Width and height from a PNG header.
fn png_dimensions(bytes: &[u8]) -> Option<(u64, u64)> {
    if bytes.len() < 24 || !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    Some((u64::from(w), u64::from(h)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_overlapping_occurrences() {
        assert_eq!(occurrences("aaa", "aa"), vec![0, 1]);
        assert_eq!(occurrences("2,442 and 2,442", "2,442"), vec![0, 10]);
        assert!(occurrences("abc", "x").is_empty());
    }

    #[test]
    fn reads_pdf_pages_and_png_size() {
        let pdf = b"%PDF-1.4 /Type /Pages /Type /Page /Type/Page";
        assert_eq!(pdf_page_count(pdf), Some(2));
        assert_eq!(pdf_page_count(b"plain"), None);
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&96u32.to_be_bytes());
        png.extend_from_slice(&64u32.to_be_bytes());
        assert_eq!(png_dimensions(&png), Some((96, 64)));
    }
}
