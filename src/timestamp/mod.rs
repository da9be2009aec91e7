//! Trusted time (RFC 3161): time-stamp tokens from independent Time-Stamping Authorities over a
//! checkpoint's sealed bytes, kept in the archive and checked offline.
//!
//! The imprint is SHA-256 of the checkpoint's **sealed bytes**: the checkpoint file as sealed,
//! i.e. its signed note without witness cosignature lines (those are added later). Covering the
//! signatures, not just the text, proves the signatures existed by the token's time, which keeps
//! them meaningful after a signing key is compromised.
//!
//! On disk: `timestamps/requests/<N>-<nonce hex>.tsq` (requests made, so replies can be
//! matched), `timestamps/<N>/<SHA-256 of the token, hex>.tst` (tokens, DER, as the TSA sent them,
//! with the certificates they carry); `<N>` is the 10-digit checkpoint number.

mod decode;
mod ess;
mod pki;
#[cfg(test)]
mod tests;
pub mod token;

use std::fs;
use std::path::{Path, PathBuf};

use rand_core::RngCore;

use crate::archive::checkpoints::StoredCheckpoint;
use crate::archive::{fsutil, Archive};
use crate::core::digest::Digest;
use crate::core::note::SignedNote;
use crate::error::{Error, Result};

/// Largest reply or token accepted.
pub const MAX_TOKEN: u64 = 1 << 20;

/// The bytes a checkpoint's time-stamps cover: the signed note without cosignature lines
/// (an Ed25519 note signature is 64 bytes; a cosignature carries 8 more for its time).
pub fn sealed_bytes(note: &SignedNote) -> Vec<u8> {
    let mut sealed = note.clone();
    sealed.signatures.retain(|s| s.signature.len() == 64);
    sealed.render().into_bytes()
}

pub fn imprint(note: &SignedNote) -> Digest {
    Digest::of(&sealed_bytes(note))
}

fn dir(archive: &Archive) -> PathBuf {
    archive.root().join("timestamps")
}

fn checkpoint(archive: &Archive, number: Option<u64>) -> Result<StoredCheckpoint> {
    archive.checkpoints().select(number)
}

/// A request made for a checkpoint.
pub struct Request {
    pub number: u64,
    pub der: Vec<u8>,
    pub nonce_hex: String,
    pub imprint: Digest,
}

/// Builds a TimeStampReq for a checkpoint and remembers it in the archive.
pub fn request(archive: &Archive, number: Option<u64>) -> Result<Request> {
    let stored = checkpoint(archive, number)?;
    let imprint = imprint(&stored.note);
    let mut random = [0u8; 8];
    rand_core::OsRng.fill_bytes(&mut random);
    let nonce = token::nonce_from(random);
    let der = token::build_request(&imprint, &nonce).map_err(|why| Error::InvalidOption {
        option: "request",
        value: String::new(),
        why,
    })?;
    let nonce_hex = hex::encode(nonce);
    let number = stored.checkpoint.number;
    let requests = dir(archive).join("requests");
    fs::create_dir_all(&requests).map_err(Error::io(&requests))?;
    let _lock = archive.lock()?;
    let name = format!("{number:010}-{nonce_hex}.tsq");
    archive.publish_file(&format!("timestamps/requests/{name}"), &der, false)?;
    fsutil::write_atomic(&requests.join(name), &der)?;
    Ok(Request {
        number,
        der,
        nonce_hex,
        imprint,
    })
}

/// The token attached, and where.
pub struct Attached {
    pub number: u64,
    pub path: PathBuf,
    pub time: String,
    pub tsa: String,
}

fn bad_reply(path: &Path, why: impl Into<String>) -> Error {
    Error::BadInput {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// Checks a TimeStampResp against the archive's checkpoints and remembered requests, and
/// stores its token. Nothing is written unless every check passes.
pub fn attach(
    archive: &Archive,
    reply_path: &Path,
    reply: &[u8],
    number: Option<u64>,
) -> Result<Attached> {
    let reply = token::parse_reply(reply).map_err(|why| bad_reply(reply_path, why))?;
    let info = token::token_info(&reply.token).map_err(|why| bad_reply(reply_path, why))?;
    let imprint = info
        .imprint_sha256
        .ok_or_else(|| bad_reply(reply_path, "the token's imprint is not SHA-256"))?;
    let candidates: Vec<StoredCheckpoint> = match number {
        Some(n) => vec![checkpoint(archive, Some(n))?],
        None => crate::archive::query::checkpoints(archive)?,
    };
    let stored = candidates
        .into_iter()
        .find(|c| self::imprint(&c.note).0 == imprint)
        .ok_or_else(|| {
            bad_reply(
                reply_path,
                match number {
                    Some(n) => format!(
                        "the token time-stamps other bytes, not checkpoint {n}'s sealed bytes"
                    ),
                    None => {
                        "the token time-stamps bytes that are no checkpoint of this archive".into()
                    }
                },
            )
        })?;
    let n = stored.checkpoint.number;
    let nonce = info.nonce.as_ref().ok_or_else(|| {
        bad_reply(
            reply_path,
            "the token has no nonce, so it cannot be matched to a request",
        )
    })?;
    let request_file = dir(archive)
        .join("requests")
        .join(format!("{n:010}-{}.tsq", hex::encode(nonce)));
    if !request_file.exists() {
        return Err(bad_reply(
            reply_path,
            format!("its nonce {} matches no request made for checkpoint {n} (`evidentia timestamp request`)", hex::encode(nonce)),
        ));
    }
    // The token must at least be internally sound; the chain is judged at verify time.
    let check = token::check_token(&reply.token, &stored_imprint(&stored), None);
    if let Some((code, why)) = check.problems.first() {
        return Err(bad_reply(reply_path, format!("{code}: {why}")));
    }
    let _lock = archive.lock()?;
    let folder = dir(archive).join(format!("{n:010}"));
    fs::create_dir_all(&folder).map_err(Error::io(&folder))?;
    let name = format!("{}.tst", Digest::of(&reply.token));
    let path = folder.join(&name);
    crate::archive::failpoint::hit("timestamp-before-store");
    archive.publish_file(&format!("timestamps/{n:010}/{name}"), &reply.token, false)?;
    fsutil::write_atomic(&path, &reply.token)?;
    Ok(Attached {
        number: n,
        path,
        time: check.time,
        tsa: check.tsa,
    })
}

fn stored_imprint(stored: &StoredCheckpoint) -> Digest {
    imprint(&stored.note)
}

/// Sends a request to a TSA over HTTP(S) and attaches the reply.
pub fn fetch(archive: &Archive, url: &str, number: Option<u64>) -> Result<Attached> {
    let request = request(archive, number)?;
    let response = ureq::post(url)
        .set("Content-Type", "application/timestamp-query")
        .timeout(std::time::Duration::from_secs(60))
        .send_bytes(&request.der)
        .map_err(|e| Error::BadInput {
            path: PathBuf::from(url),
            why: format!("the TSA request failed: {e}"),
        })?;
    let mut body = Vec::new();
    use std::io::Read;
    response
        .into_reader()
        .take(MAX_TOKEN)
        .read_to_end(&mut body)
        .map_err(|e| Error::BadInput {
            path: PathBuf::from(url),
            why: format!("reading the TSA's reply failed: {e}"),
        })?;
    attach(archive, Path::new(url), &body, Some(request.number))
}

/// Tokens stored for checkpoint `number`: (file name, bytes).
pub fn tokens(archive: &Archive, number: u64) -> Result<Vec<(String, Vec<u8>)>> {
    let folder = dir(archive).join(format!("{number:010}"));
    let mut out = Vec::new();
    let entries = match fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(&folder)(e)),
    };
    for entry in entries {
        let path = entry.map_err(Error::io(&folder))?.path();
        if path.extension().is_some_and(|e| e == "tst") {
            let bytes = fsutil::read_stored(&path, MAX_TOKEN)?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((name, bytes));
        }
    }
    out.sort();
    Ok(out)
}
