//! The `annotation` record, modelled on the W3C Web Annotation data model: a target document
//! (by content digest) with optional selectors, a body, tags, a structured claim, and typed
//! links to other documents or annotations.

use std::collections::BTreeMap;

use ciborium::value::Value;

use super::fields::{as_digest, check_text, invalid, Entries, Fields};
use super::{Header, RecordError, MAX_FIELD_LEN, MAX_NOTE_LEN};
use crate::core::cbor::{as_uint, uint};
use crate::core::digest::Digest;

const KEY_TARGET: u64 = 3;
const KEY_SELECTORS: u64 = 4;
const KEY_BODY: u64 = 5;
const KEY_TAGS: u64 = 6;
const KEY_CLAIM: u64 = 7;
const KEY_LINKS: u64 = 8;
const KEY_ANALYST: u64 = 9;
const KEY_SEALED: u64 = 10;

pub const MAX_SELECTORS: usize = 6;
pub const MAX_LINKS: usize = 64;
pub const MAX_CLAIM_ENTRIES: usize = 64;

/// Where in the target the annotation points. At most one of each kind per annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// An exact quote, with optional context before and after (W3C TextQuoteSelector).
    TextQuote {
        exact: String,
        prefix: Option<String>,
        suffix: Option<String>,
    },
    /// Character offsets [start, end) in Unicode scalar values (W3C TextPositionSelector).
    TextPosition { start: u64, end: u64 },
    /// Byte offsets [start, end).
    ByteRange { start: u64, end: u64 },
    /// A page of a paged document, from 1.
    Page { page: u64 },
    /// A span of audio or video, in milliseconds [start, end).
    TimeRange { start_ms: u64, end_ms: u64 },
    /// A region of an image, in pixels.
    Rectangle {
        x: u64,
        y: u64,
        width: u64,
        height: u64,
    },
}

impl Selector {
    pub fn type_name(&self) -> &'static str {
        match self {
            Selector::TextQuote { .. } => "text-quote",
            Selector::TextPosition { .. } => "text-position",
            Selector::ByteRange { .. } => "byte-range",
            Selector::Page { .. } => "page",
            Selector::TimeRange { .. } => "time-range",
            Selector::Rectangle { .. } => "rectangle",
        }
    }

    /// Position in the canonical order of selectors within a record.
    pub fn order(&self) -> u8 {
        match self {
            Selector::TextQuote { .. } => 0,
            Selector::TextPosition { .. } => 1,
            Selector::ByteRange { .. } => 2,
            Selector::Page { .. } => 3,
            Selector::TimeRange { .. } => 4,
            Selector::Rectangle { .. } => 5,
        }
    }

    pub(super) fn to_value(&self) -> Value {
        let mut entries = vec![(uint(0), Value::Text(self.type_name().into()))];
        let mut push = |k: u64, v: Value| entries.push((uint(k), v));
        match self {
            Selector::TextQuote {
                exact,
                prefix,
                suffix,
            } => {
                push(1, Value::Text(exact.clone()));
                if let Some(p) = prefix {
                    push(2, Value::Text(p.clone()));
                }
                if let Some(s) = suffix {
                    push(3, Value::Text(s.clone()));
                }
            }
            Selector::TextPosition { start, end } | Selector::ByteRange { start, end } => {
                push(1, uint(*start));
                push(2, uint(*end));
            }
            Selector::Page { page } => push(1, uint(*page)),
            Selector::TimeRange { start_ms, end_ms } => {
                push(1, uint(*start_ms));
                push(2, uint(*end_ms));
            }
            Selector::Rectangle {
                x,
                y,
                width,
                height,
            } => {
                push(1, uint(*x));
                push(2, uint(*y));
                push(3, uint(*width));
                push(4, uint(*height));
            }
        }
        Value::Map(entries)
    }

    pub(super) fn from_value(value: Value) -> Result<Selector, RecordError> {
        let bad = |why: &str| invalid(KEY_SELECTORS, "selectors", why.to_string());
        let Value::Map(entries) = value else {
            return Err(bad("a selector must be a map"));
        };
        let mut f = Fields::new(entries)?;
        let kind = f.text(0, "selector type", 32)?;
        let num = |f: &mut Fields, k: u64| {
            f.take(k)
                .and_then(|v| as_uint(&v))
                .ok_or_else(|| bad("a selector number is missing or not an unsigned integer"))
        };
        let selector = match kind.as_str() {
            "text-quote" => Selector::TextQuote {
                exact: f.prose(1, "quote", MAX_NOTE_LEN)?,
                prefix: f.opt_prose(2, "quote prefix", MAX_FIELD_LEN)?,
                suffix: f.opt_prose(3, "quote suffix", MAX_FIELD_LEN)?,
            },
            "text-position" => Selector::TextPosition {
                start: num(&mut f, 1)?,
                end: num(&mut f, 2)?,
            },
            "byte-range" => Selector::ByteRange {
                start: num(&mut f, 1)?,
                end: num(&mut f, 2)?,
            },
            "page" => Selector::Page {
                page: num(&mut f, 1)?,
            },
            "time-range" => Selector::TimeRange {
                start_ms: num(&mut f, 1)?,
                end_ms: num(&mut f, 2)?,
            },
            "rectangle" => Selector::Rectangle {
                x: num(&mut f, 1)?,
                y: num(&mut f, 2)?,
                width: num(&mut f, 3)?,
                height: num(&mut f, 4)?,
            },
            other => return Err(bad(&format!("unknown selector type '{other}'"))),
        };
        f.finish(&format!("{kind} selector"))?;
        selector.check_shape()?;
        Ok(selector)
    }

    /// Checks what can be checked without the target's content.
    pub fn check_shape(&self) -> Result<(), RecordError> {
        let bad = |why: String| invalid(KEY_SELECTORS, "selectors", why);
        match self {
            Selector::TextPosition { start, end }
            | Selector::ByteRange { start, end }
            | Selector::TimeRange {
                start_ms: start,
                end_ms: end,
            } if start >= end => Err(bad(format!(
                "{} {start}..{end} is empty: the start must be before the end",
                self.type_name()
            ))),
            Selector::Page { page: 0 } => Err(bad("pages are numbered from 1".into())),
            Selector::Rectangle { width, height, .. } if *width == 0 || *height == 0 => {
                Err(bad("a rectangle needs a non-zero width and height".into()))
            }
            _ => Ok(()),
        }
    }
}

/// How a link relates the annotated document to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Relation {
    Corroborates,
    Contradicts,
    Duplicates,
    DerivedFrom,
    Supersedes,
}

pub const RELATIONS: [&str; 5] = [
    "corroborates",
    "contradicts",
    "duplicates",
    "derived-from",
    "supersedes",
];

impl Relation {
    pub fn as_str(&self) -> &'static str {
        match self {
            Relation::Corroborates => "corroborates",
            Relation::Contradicts => "contradicts",
            Relation::Duplicates => "duplicates",
            Relation::DerivedFrom => "derived-from",
            Relation::Supersedes => "supersedes",
        }
    }

    pub fn parse(text: &str) -> Option<Relation> {
        Some(match text {
            "corroborates" => Relation::Corroborates,
            "contradicts" => Relation::Contradicts,
            "duplicates" => Relation::Duplicates,
            "derived-from" => Relation::DerivedFrom,
            "supersedes" => Relation::Supersedes,
            _ => return None,
        })
    }
}

/// A typed link to a document (content digest) or an annotation (record id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub relation: Relation,
    pub target: Digest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationRecord {
    pub header: Header,
    /// Content digest of the annotated document.
    pub target: Digest,
    /// In canonical order (by [`Selector::order`]), at most one of each type.
    pub selectors: Vec<Selector>,
    pub body: String,
    pub tags: Vec<String>,
    /// A structured claim, e.g. quantity=2442, unit=children, place=Belarus.
    pub claim: BTreeMap<String, String>,
    pub links: Vec<Link>,
    /// Free-text name of the analyst; the signer identity comes from the sealing checkpoint.
    pub analyst: Option<String>,
    /// Set when the body, quote and claim are stored encrypted (FORMAT.md §23.10): `body` is
    /// then empty and `selectors`/`claim` hold no quote or claim until revealed.
    pub sealed: Option<super::SealedFields>,
}

impl AnnotationRecord {
    /// The annotations this one supersedes.
    pub fn supersedes(&self) -> impl Iterator<Item = &Digest> {
        self.links
            .iter()
            .filter(|l| l.relation == Relation::Supersedes)
            .map(|l| &l.target)
    }

    pub(super) fn entries(&self) -> Vec<(Value, Value)> {
        let mut e = Entries::default();
        e.digest(KEY_TARGET, &self.target);
        if !self.selectors.is_empty() {
            let values = self.selectors.iter().map(Selector::to_value).collect();
            e.value(KEY_SELECTORS, Value::Array(values));
        }
        if self.sealed.is_none() {
            e.text(KEY_BODY, &self.body);
        }
        e.texts(KEY_TAGS, &self.tags);
        if !self.claim.is_empty() {
            e.value(KEY_CLAIM, claim_value(&self.claim));
        }
        if !self.links.is_empty() {
            let links = self
                .links
                .iter()
                .map(|l| {
                    Value::Map(vec![
                        (uint(0), Value::Text(l.relation.as_str().into())),
                        (uint(1), Value::Bytes(l.target.0.to_vec())),
                    ])
                })
                .collect();
            e.value(KEY_LINKS, Value::Array(links));
        }
        e.opt_text(KEY_ANALYST, self.analyst.as_deref());
        if let Some(sealed) = &self.sealed {
            e.value(KEY_SEALED, sealed.to_value());
        }
        e.0
    }

    pub(super) fn decode(
        header: Header,
        fields: &mut Fields,
    ) -> Result<AnnotationRecord, RecordError> {
        let target = fields.digest(KEY_TARGET, "target")?;
        let selectors = fields
            .opt_array(KEY_SELECTORS, "selectors", MAX_SELECTORS)?
            .into_iter()
            .map(Selector::from_value)
            .collect::<Result<Vec<_>, _>>()?;
        if selectors.windows(2).any(|w| w[0].order() >= w[1].order()) {
            return Err(invalid(
                KEY_SELECTORS,
                "selectors",
                "selectors must be in canonical order with at most one of each type",
            ));
        }
        let sealed = fields
            .take(KEY_SEALED)
            .map(|v| super::SealedFields::from_value(v, KEY_SEALED))
            .transpose()?;
        // A sealed annotation carries its body, quote and claim only inside the ciphertext.
        let body = match sealed {
            None => fields.prose(KEY_BODY, "body", MAX_NOTE_LEN)?,
            Some(_) => String::new(),
        };
        let tags = fields.tags(KEY_TAGS)?;
        let claim = decode_claim(fields.take(KEY_CLAIM))?;
        if sealed.is_some()
            && (!claim.is_empty()
                || selectors
                    .iter()
                    .any(|s| matches!(s, Selector::TextQuote { .. })))
        {
            return Err(invalid(
                KEY_SEALED,
                "sealed",
                "a sealed annotation keeps its quote and claim only in the ciphertext",
            ));
        }
        let links = fields
            .opt_array(KEY_LINKS, "links", MAX_LINKS)?
            .into_iter()
            .map(decode_link)
            .collect::<Result<Vec<_>, _>>()?;
        let analyst = fields.opt_text(KEY_ANALYST, "analyst", MAX_FIELD_LEN)?;
        Ok(AnnotationRecord {
            header,
            target,
            selectors,
            body,
            tags,
            claim,
            links,
            analyst,
            sealed,
        })
    }
}

pub(super) fn claim_value(claim: &BTreeMap<String, String>) -> Value {
    let map = claim
        .iter()
        .map(|(k, v)| (Value::Text(k.clone()), Value::Text(v.clone())))
        .collect();
    Value::Map(map)
}

pub(super) fn decode_claim(value: Option<Value>) -> Result<BTreeMap<String, String>, RecordError> {
    let bad = |why: &str| invalid(KEY_CLAIM, "claim", why.to_string());
    let Some(value) = value else {
        return Ok(BTreeMap::new());
    };
    let Value::Map(entries) = value else {
        return Err(bad("expected a map of text to text"));
    };
    if entries.is_empty() || entries.len() > MAX_CLAIM_ENTRIES {
        return Err(bad(
            "expected 1 to 64 entries (omit the field when there are none)",
        ));
    }
    let mut claim = BTreeMap::new();
    for (k, v) in entries {
        let key = check_text(KEY_CLAIM, "claim key", k, 64, false)?;
        check_claim_key(&key)?;
        let value = check_text(KEY_CLAIM, "claim value", v, MAX_FIELD_LEN, false)?;
        claim.insert(key, value);
    }
    Ok(claim)
}

/// Claim keys are short identifiers: letters, digits, '-', '_' and '.'.
pub fn check_claim_key(key: &str) -> Result<(), RecordError> {
    let ok = !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            KEY_CLAIM,
            "claim",
            format!("claim key '{key}' must be 1-64 letters, digits, '-', '_' or '.'"),
        ))
    }
}

fn decode_link(value: Value) -> Result<Link, RecordError> {
    let bad = |why: &str| invalid(KEY_LINKS, "links", why.to_string());
    let Value::Map(entries) = value else {
        return Err(bad("a link must be a map"));
    };
    let mut f = Fields::new(entries)?;
    let relation_text = f.text(0, "link relation", 32)?;
    let relation = Relation::parse(&relation_text)
        .ok_or_else(|| bad(&format!("unknown relation '{relation_text}'")))?;
    let target = as_digest(1, "link target", f.require(1, "link target")?)?;
    f.finish("link")?;
    Ok(Link { relation, target })
}
