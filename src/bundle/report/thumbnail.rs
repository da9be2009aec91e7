//! Image documents as thumbnails, with the regions their annotations select drawn over them.
//!
//! The picture is the bundle's own copy of the document (a relative link to its file under
//! `data/`), never a copy embedded in the page: `verify` accepts an `<img>` only when it shows a
//! disclosed document of a raster media type whose bytes verified (check 6a, see [`inert`]).
//! The regions are an inline SVG laid over the picture, placed in percent of its pixel size,
//! which export reads from the file's header; no image library decodes hostile pixels.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::archive::fsutil::{self, Links};

use super::inert::{image_src, RASTER_TYPES};
use super::*;

/// Pixel sizes (width, height) of image documents, by document record id.
pub type PixelSizes = HashMap<Digest, (u64, u64)>;

/// How much of a file's start is read for its pixel size. A JPEG's size follows its metadata
/// segments (Exif, ICC profiles, each at most 64 KiB), which are skipped by reading only their
/// headers ([`jpeg_size`]).
const HEAD_LEN: u64 = 64;

/// How many JPEG segments are walked before giving up on finding the frame header.
const MAX_SEGMENTS: usize = 1000;

/// The box a thumbnail is scaled into, in CSS pixels (about 8.5 × 6.4 cm printed).
const BOX: (f64, f64) = (320.0, 240.0);

/// The pixel sizes of the disclosed raster images by document record id, read from their files
/// in the bundle being written (`root`). An image whose size cannot be read is left out: it is
/// then listed without a thumbnail.
pub fn sizes(
    root: &Path,
    manifest: &BundleManifest,
    records: &[(u64, Digest, Record)],
) -> PixelSizes {
    let types: HashMap<&Digest, &str> = records
        .iter()
        .filter_map(|(_, id, r)| match r {
            Record::Document(d) => Some((id, d.media_type.as_str())),
            _ => None,
        })
        .collect();
    let mut sizes = HashMap::new();
    // Encrypted document files are not pictures, and a thumbnail would show the content.
    if manifest.encryption.is_some() {
        return sizes;
    }
    for doc in &manifest.documents {
        let Some(id) = Digest::from_hex(&doc.record) else {
            continue;
        };
        let Some(media_type) = types.get(&id).filter(|t| RASTER_TYPES.contains(*t)) else {
            continue;
        };
        let Ok((file, _)) = fsutil::open_regular(&root.join(&doc.file), Links::Refuse) else {
            continue;
        };
        let size = match *media_type {
            "image/jpeg" => jpeg_size(|at, buf| read_at(&file, at, buf)),
            _ => {
                let mut head = Vec::new();
                let read = (&file).take(HEAD_LEN).read_to_end(&mut head);
                read.ok().and_then(|_| pixel_size(media_type, &head))
            }
        };
        if let Some(size) = size {
            sizes.insert(id, size);
        }
    }
    sizes
}

/// Width and height in pixels of an image of `media_type` from its first bytes; `None` when
/// the bytes are not of that type or the header is cut short.
pub fn pixel_size(media_type: &str, head: &[u8]) -> Option<(u64, u64)> {
    let le16 = |at: usize| Some(u64::from(u16::from_le_bytes(get(head, at)?)));
    let le24 = |at: usize| {
        let [a, b, c]: [u8; 3] = get(head, at)?;
        Some(u64::from(a) | u64::from(b) << 8 | u64::from(c) << 16)
    };
    let size = match media_type {
        "image/png" if head.starts_with(b"\x89PNG\r\n\x1a\n") && head.get(12..16)? == b"IHDR" => {
            let w = u32::from_be_bytes(get(head, 16)?);
            let h = u32::from_be_bytes(get(head, 20)?);
            (u64::from(w), u64::from(h))
        }
        "image/gif" if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") => {
            (le16(6)?, le16(8)?)
        }
        "image/jpeg" => jpeg_size(|at, buf| {
            let from = head.get(usize::try_from(at).ok()?..)?;
            buf.copy_from_slice(from.get(..buf.len())?);
            Some(())
        })?,
        "image/webp" if head.starts_with(b"RIFF") && head.get(8..12)? == b"WEBP" => {
            match head.get(12..16)? {
                b"VP8 " if head.get(23..26)? == b"\x9d\x01\x2a" => {
                    (le16(26)? & 0x3fff, le16(28)? & 0x3fff)
                }
                b"VP8L" if head.get(20) == Some(&0x2f) => {
                    let bits = u32::from_le_bytes(get(head, 21)?);
                    (
                        u64::from(bits & 0x3fff) + 1,
                        u64::from(bits >> 14 & 0x3fff) + 1,
                    )
                }
                b"VP8X" => (le24(24)? + 1, le24(27)? + 1),
                _ => return None,
            }
        }
        _ => return None,
    };
    (size.0 > 0 && size.1 > 0).then_some(size)
}

/// A JPEG's size from its first start-of-frame segment, walking the segments before it with
/// `read(offset, buffer)`, which fills the buffer or fails: a few small reads, whatever the
/// size of the metadata before the frame.
fn jpeg_size(read: impl Fn(u64, &mut [u8]) -> Option<()>) -> Option<(u64, u64)> {
    let mut start = [0; 2];
    read(0, &mut start)?;
    if start != [0xff, 0xd8] {
        return None;
    }
    let mut at = 2;
    for _ in 0..MAX_SEGMENTS {
        let mut segment = [0; 9];
        read(at, &mut segment[..2])?;
        if segment[0] != 0xff {
            return None;
        }
        match segment[1] {
            // Fill bytes and markers without a length.
            0xff => at += 1,
            0x01 | 0xd0..=0xd7 => at += 2,
            0xc0..=0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf => {
                read(at, &mut segment)?;
                let h = u16::from_be_bytes([segment[5], segment[6]]);
                let w = u16::from_be_bytes([segment[7], segment[8]]);
                return (w > 0 && h > 0).then_some((u64::from(w), u64::from(h)));
            }
            // Start of scan or end of image before any frame header.
            0xda | 0xd9 => return None,
            _ => {
                read(at, &mut segment[..4])?;
                at += 2 + u64::from(u16::from_be_bytes([segment[2], segment[3]]));
            }
        }
    }
    None
}

/// Fills `buf` from `file` at `offset`; `None` if the file ends first.
fn read_at(file: &File, offset: u64, buf: &mut [u8]) -> Option<()> {
    file.read_exact_at(buf, offset).ok()
}

/// `N` bytes of `bytes` from `at`, if there are that many.
fn get<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The thumbnail of the image document at `path`, stored as `file`, of `size` pixels, with a labelled box for every
/// rectangle selector of `annotations` (withdrawn ones dashed).
pub(super) fn thumbnail(
    out: &mut String,
    ctx: &Ctx,
    path: &str,
    file: &str,
    size: (u64, u64),
    annotations: &[(u64, &Digest, &AnnotationRecord)],
) {
    // A detail page sits in report/, one level below the bundle's root.
    let up = if ctx.here == 0 { "" } else { "../" };
    // Up or down to fit the box: a small scan is as legible as a large photo.
    let scale = (BOX.0 / size.0 as f64).min(BOX.1 / size.1 as f64);
    let shown = |pixels: u64| ((pixels as f64 * scale).round() as u64).max(1);
    put!(
        out,
        "<div class=\"thumb\"><img src=\"{up}{}\" alt=\"{}\" width=\"{}\" height=\"{}\">\
         <svg class=\"regions\">",
        image_src(file),
        esc(&format!("{path}, scaled")),
        shown(size.0),
        shown(size.1)
    );
    let mut drawn = 0;
    for (index, id, a) in annotations {
        let withdrawn = ctx.retractions.contains_key(*id) || ctx.superseded.contains_key(*id);
        let class = if withdrawn { "region gone" } else { "region" };
        for s in &a.selectors {
            let Selector::Rectangle {
                x,
                y,
                width,
                height,
            } = s
            else {
                continue;
            };
            let (left, top) = (percent(*x, size.0), percent(*y, size.1));
            let (w, h) = (percent(*width, size.0), percent(*height, size.1));
            put!(
                out,
                "<rect class=\"{class}\" x=\"{left}%\" y=\"{top}%\" width=\"{w}%\" height=\"{h}%\"></rect>\
                 <text x=\"{left}%\" y=\"{top}%\">#{index}</text>"
            );
            drawn += 1;
        }
    }
    out.push_str("</svg></div>\n");
    let what = match drawn {
        0 => "No annotation selects a region of it.".to_string(),
        n => format!(
            "{n} annotated region(s) drawn on it, each labelled with its annotation's number \
             (dashed: retracted or superseded)."
        ),
    };
    put!(
        out,
        "<p class=\"muted\">The bundle's copy of this image ({} × {} pixels), scaled. {what}</p>\n",
        size.0,
        size.1
    );
}

/// `part` of `whole` in percent, within 0 to 100 (a region may reach past the image's edge).
fn percent(part: u64, whole: u64) -> String {
    let value = (part as f64 * 100.0 / whole as f64).min(100.0);
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jpeg_frame_after_large_metadata_is_found_in_a_few_reads() {
        // Two 60,000-byte Exif segments before the frame header (SOF2: 480 high, 640 wide).
        let mut jpeg = b"\xff\xd8".to_vec();
        for _ in 0..2 {
            jpeg.extend_from_slice(b"\xff\xe1\xea\x62");
            jpeg.extend(std::iter::repeat_n(0u8, 60_000));
        }
        jpeg.extend_from_slice(b"\xff\xff\xff\xc2\x00\x11\x08\x01\xe0\x02\x80\x03");
        assert_eq!(pixel_size("image/jpeg", &jpeg), Some((640, 480)));
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("photo.jpg");
        std::fs::write(&path, &jpeg).expect("write");
        let file = File::open(&path).expect("open");
        let reads = std::cell::Cell::new(0);
        let counted = |at, buf: &mut [u8]| {
            reads.set(reads.get() + 1);
            read_at(&file, at, buf)
        };
        assert_eq!(jpeg_size(counted), Some((640, 480)));
        assert!(reads.get() < 10, "{} reads", reads.get());
        // Cut inside the frame header.
        std::fs::write(&path, &jpeg[..jpeg.len() - 3]).expect("write");
        let file = File::open(&path).expect("open");
        assert_eq!(jpeg_size(|at, buf| read_at(&file, at, buf)), None);
    }
}
