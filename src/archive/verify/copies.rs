//! Objects held more than once (loose and packed, or in two packs). A reader uses the first
//! copy it finds, so a damaged second copy would never be noticed, and could be the one a later
//! reader (another tool, or evidentia after the first copy is removed) serves: every copy of
//! such an object is re-hashed here.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use crate::core::digest::Digest;
use crate::error::Result;

use super::super::objects::{FsObjectStore, ObjectCopy};
use super::VerifyReport;

/// One copy's check: its digest, how many copies there are, the copy's item, what it hashes to.
type CopyCheck = (Digest, usize, String, Result<(Digest, u64)>);

/// What an object is to the log, which decides how a damaged copy is reported.
enum Role {
    Record(usize),
    Content,
    Unreferenced,
}

/// Re-hashes every copy of each object that is stored more than once. A damaged copy of a
/// record or of a document's content is a problem naming the copy; of an unreferenced object, a
/// warning (like other leftovers).
pub fn check_copies(
    store: &FsObjectStore,
    report: &mut VerifyReport,
    mut copies: Vec<ObjectCopy>,
    records: &[Digest],
    contents: &BTreeMap<Digest, u64>,
) {
    // Sorting, not a map of every copy: an archive holds millions of objects, few repeated.
    copies.sort_unstable_by_key(ObjectCopy::digest);
    let repeated: Vec<&[ObjectCopy]> = copies
        .chunk_by(|a, b| a.digest() == b.digest())
        .filter(|group| group.len() > 1)
        .collect();
    if repeated.is_empty() {
        return;
    }
    let mut positions: HashMap<Digest, usize> = repeated
        .iter()
        .map(|group| (group[0].digest(), usize::MAX))
        .collect();
    for (i, digest) in records.iter().enumerate() {
        if let Some(at) = positions.get_mut(digest) {
            *at = (*at).min(i);
        }
    }
    let checked: Vec<CopyCheck> = repeated
        .par_iter()
        .flat_map_iter(|group| {
            group.iter().map(|copy| {
                let hashed = store.hash_copy(copy);
                (copy.digest(), group.len(), describe(copy), hashed)
            })
        })
        .collect();
    for (digest, count, item, result) in checked {
        let role = match positions.get(&digest) {
            Some(&i) if i != usize::MAX => Role::Record(i),
            _ if contents.contains_key(&digest) => Role::Content,
            _ => Role::Unreferenced,
        };
        let what = match role {
            Role::Record(i) => format!("record #{i} ({digest})"),
            Role::Content => format!("document content {digest}"),
            Role::Unreferenced => format!("unreferenced object {digest}"),
        };
        let (damage, corrupt) = match result {
            Ok((found, _)) if found == digest => continue,
            Ok((found, _)) => (
                format!("this copy of {what} (one of {count}) hashes to {found}: it was altered; restore it from an intact copy"),
                true,
            ),
            Err(e) => (format!("this copy of {what} (one of {count}) cannot be read: {e}"), false),
        };
        let code = match (role, corrupt) {
            (Role::Record(_), true) => "record-corrupt",
            (Role::Record(_), false) => "record-unreadable",
            (Role::Content, true) => "content-corrupt",
            (Role::Content, false) => "content-unreadable",
            (Role::Unreferenced, _) => {
                report.warn(
                    &item,
                    "unreferenced-object-corrupt",
                    format!("{item}: {damage}"),
                );
                continue;
            }
        };
        report.problem(item, code, damage);
    }
}

/// The copy as a person finds it in the archive directory.
fn describe(copy: &ObjectCopy) -> String {
    match copy {
        ObjectCopy::Loose(digest) => {
            let hex = digest.to_hex();
            format!("objects/sha256/{}/{}", &hex[..2], &hex[2..])
        }
        ObjectCopy::Packed(pack, entry) => format!(
            "objects/packs/{}.pack (object {} at offset {})",
            pack.name, entry.digest, entry.offset
        ),
    }
}
