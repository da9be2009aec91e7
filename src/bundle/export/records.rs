//! The disclosed records' files and inclusion proofs, made while the documents copy.

use std::path::Path;

use rayon::prelude::*;

use crate::archive::checkpoints::StoredCheckpoint;
use crate::archive::log::Log;
use crate::archive::query::LoggedRecord;
use crate::archive::Archive;
use crate::core::digest::Digest;
use crate::core::merkle;
use crate::error::{Error, Result};

use super::super::manifest::DisclosedRecord;
use super::copy::create_new;
use super::{make_dirs, nodes};

/// Writes `data/records/<id>.cbor` for every disclosed record and returns each one's inclusion
/// proof in the checkpoint's tree, in the order given.
pub(super) fn write(
    archive: &Archive,
    log: &Log,
    root: &Path,
    stored: &StoredCheckpoint,
    disclosed: &[&LoggedRecord],
) -> Result<Vec<DisclosedRecord>> {
    // Record files are read and written in parallel; proofs come from one node cursor.
    // Directories are made once, before the files (not a mkdir and a stat per file).
    make_dirs(root, ["data/records"])?;
    disclosed.par_iter().try_for_each(|r| {
        // The record was read and decoded moments ago: its canonical encoding is its bytes, so
        // it is not read from the store a second time. Only bytes whose SHA-256 is the
        // record's id are written; anything else (a kind this version cannot encode) is read.
        let encoded = r.record.encode().ok().filter(|b| Digest::of(b) == r.id);
        let bytes = match encoded {
            Some(bytes) => bytes,
            None => archive
                .store()
                .read_verified(&r.id, crate::core::cbor::MAX_ENCODED_LEN as u64)?,
        };
        let path = root.join(format!("data/records/{}.cbor", r.id));
        // Created, never opened over another file: no bundle path is written twice.
        let mut file = create_new(&path)?;
        std::io::Write::write_all(&mut file, &bytes).map_err(Error::io(&path))
    })?;
    let size = stored.checkpoint.size;
    let mut nodes = nodes::ProofNodes::new(log, disclosed.len());
    let mut records = Vec::with_capacity(disclosed.len());
    for r in disclosed {
        let proof = match merkle::inclusion_proof(&mut nodes, r.index, size)? {
            Ok(proof) => proof,
            Err(e) => {
                return Err(Error::Corrupt {
                    path: stored.path.clone(),
                    why: format!("no inclusion proof for record #{}: {e:?}", r.index),
                })
            }
        };
        records.push(DisclosedRecord {
            index: r.index,
            id: r.id.to_hex(),
            kind: r.record.kind().to_string(),
            proof: proof.iter().map(|&d| d.into()).collect(),
        });
    }
    Ok(records)
}
