//! The parts of a bundle that are not evidence: its tar packing, bag-info.txt and VERIFY.txt.

use std::path::Path;

use crate::archive::checkpoints::StoredCheckpoint;
use crate::archive::fsutil;
use crate::archive::output::{self, Existing, NewOutput};
use crate::error::{Error, Result};

use super::super::bagit;
use super::super::manifest::BundleManifest;

/// The bag-info.txt fields a sender may set (RFC 8493 §2.2.2). Unset ones get defaults from the
/// archive: the archive has no settings file, so these come from `export`'s options only.
#[derive(Debug, Clone, Default)]
pub struct BagInfoFields {
    /// The organisation that sends the bundle [default: the archive's origin].
    pub source_organization: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    /// [default: what the bundle holds, in counts].
    pub external_description: Option<String>,
}

impl BagInfoFields {
    /// Refuses a value a tag file cannot hold as given: one line of text, no control characters.
    pub fn check(&self) -> Result<()> {
        for (option, value) in [
            ("--source-organization", &self.source_organization),
            ("--contact-name", &self.contact_name),
            ("--contact-email", &self.contact_email),
            ("--external-description", &self.external_description),
        ] {
            let Some(value) = value else { continue };
            let why = if value.trim().is_empty() {
                "empty; leave the option out for the default"
            } else if value.chars().any(char::is_control) {
                "holds a line break or control character; bag-info.txt values are one line"
            } else {
                continue;
            };
            return Err(Error::InvalidOption {
                option,
                value: value.clone(),
                why: why.into(),
            });
        }
        Ok(())
    }
}

/// bag-info.txt for `manifest`, whose payload is `bytes` in `files` files.
pub(super) fn bag_info(
    fields: &BagInfoFields,
    manifest: &BundleManifest,
    bytes: u64,
    files: usize,
) -> String {
    let date = manifest.exported_at.get(..10).unwrap_or("").to_string();
    let described = format!(
        "evidentia hand-over bundle: {} document(s), {} record(s) of a {}-record signed archive version",
        manifest.documents.len(),
        manifest.records.len(),
        manifest.tree_size
    );
    let mut info = vec![(
        "Source-Organization",
        (fields.source_organization.clone()).unwrap_or_else(|| manifest.origin.clone()),
    )];
    if let Some(name) = &fields.contact_name {
        info.push(("Contact-Name", name.clone()));
    }
    if let Some(email) = &fields.contact_email {
        info.push(("Contact-Email", email.clone()));
    }
    info.extend([
        (
            "External-Identifier",
            format!("{} checkpoint {}", manifest.origin, manifest.checkpoint),
        ),
        (
            "External-Description",
            fields.external_description.clone().unwrap_or(described),
        ),
        ("Bagging-Date", date),
        (
            "Bag-Software-Agent",
            format!("evidentia {}", env!("CARGO_PKG_VERSION")),
        ),
        ("Payload-Oxum", format!("{bytes}.{files}")),
        (
            "Internal-Sender-Identifier",
            manifest
                .recipient
                .clone()
                .map_or_else(|| "no recipient named".to_string(), |r| format!("for {r}")),
        ),
    ]);
    bagit::bag_info(&info)
}

pub(super) fn verify_text(manifest: &BundleManifest, stored: &StoredCheckpoint) -> String {
    let mut text = verify_text_clear(manifest, stored);
    if let Some(enc) = &manifest.encryption {
        text.push_str(&format!(
            "\nENCRYPTED DOCUMENTS\n\n\
             Every file under data/documents/ and data/versions/ is an age file (.age) encrypted\n\
             to {} recipient(s). Without a key, the checks above prove everything but the\n\
             contents (the verdict is NOT PROVABLE, exit 4). A recipient checks the contents\n\
             against the signed records with their age identity:\n\
             \x20     evidentia verify THIS-DIRECTORY --trust TRUSTED-KEYS.txt --identity IDENTITY.txt\n\
             and reads one with `age -d -i IDENTITY.txt FILE.age`.\n",
            enc.recipients
        ));
    }
    text
}

fn verify_text_clear(manifest: &BundleManifest, stored: &StoredCheckpoint) -> String {
    format!(
        "HOW TO CHECK THIS BUNDLE\n\
         ========================\n\n\
         This is an evidentia hand-over bundle: {docs} document(s) and {records} record(s) from version\n\
         (checkpoint) {number} of the archive '{origin}', whose signed tree holds {size} records.\n\
         Records not disclosed here are represented only by that count and the tree's root.\n\n\
         1. With evidentia (offline):\n\
         \x20     evidentia verify THIS-DIRECTORY --trust TRUSTED-KEYS.txt\n\
         \x20  where TRUSTED-KEYS.txt holds the signers' public keys obtained from them directly.\n\
         \x20  To pin the exact version you were told about out of band, add\n\
         \x20     --checkpoint-hash {text_hash}\n\n\
         2. With standard tools:\n\
         \x20  a. File integrity:   sha256sum -c SHA256SUMS\n\
         \x20  b. BagIt validity:   bagit.py --validate .\n\
         \x20  c. Everything else, with Python 3 and openssl only (no evidentia needed):\n\
         \x20        python3 verify-bundle.py . TRUSTED-KEYS.txt {text_hash}\n\
         \x20     or by hand, by docs/VERIFYING.md and docs/FORMAT.md of evidentia: a record file's SHA-256 is its name;\n\
         \x20     its leaf hash is SHA-256(0x00 || bytes); data/bundle.json gives its index and\n\
         \x20     inclusion proof; folding the proof (RFC 9162 section 2.1.3.2) must give the root on\n\
         \x20     line 3 of data/checkpoint (base64); the checkpoint's text (up to the blank line) is\n\
         \x20     signed with Ed25519 by each key in data/keys (C2SP signed-note format).\n\n\
         Checkpoint text SHA-256: {text_hash}\n\
         Root: {root}\n",
        docs = manifest.documents.len(),
        records = manifest.records.len(),
        number = manifest.checkpoint,
        origin = manifest.origin,
        size = manifest.tree_size,
        text_hash = stored.checkpoint.text_hash(),
        root = stored.checkpoint.root,
    )
}

/// The one top-level directory of a tar bundle: the tar's file name less `.tar`
/// (`case-0427.tar` unpacks to `case-0427/`), or `bundle` when that is not a plain name.
pub fn tar_top_directory(out: &Path) -> String {
    let name = out.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name.strip_suffix(".tar").unwrap_or(name);
    let plain = !stem.is_empty()
        && !stem.starts_with('.')
        && !stem.contains(['/', '\\'])
        && !stem.chars().any(char::is_control);
    if plain { stem } else { "bundle" }.to_string()
}

/// Packs a bundle directory into a tar file under one top-level directory, as `tar -cf
/// out.tar DIR` would: sorted, owned by 0:0, every entry dated `mtime` (the export time, in
/// seconds since 1970), so that unpacking gives files dated when they were exported.
pub(super) fn write_tar(root: &Path, out: &Path, mtime: u64) -> Result<()> {
    let mut output = NewOutput::create(out, output::SHARED, Existing::Never)?;
    let tmp = output.temp_path().to_path_buf();
    let top = Path::new(&tar_top_directory(out)).to_path_buf();
    let mut builder = tar::Builder::new(std::io::BufWriter::new(output.file()));
    let header = |kind: tar::EntryType, mode: u32, size: u64| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(mtime);
        h.set_uid(0);
        h.set_gid(0);
        h
    };
    let mut top_header = header(tar::EntryType::Directory, 0o755, 0);
    builder
        .append_data(&mut top_header, &top, std::io::empty())
        .map_err(Error::io(&tmp))?;
    for entry in walkdir::WalkDir::new(root).sort_by_file_name().min_depth(1) {
        let entry = entry.map_err(|e| Error::BadInput {
            path: root.to_path_buf(),
            why: e.to_string(),
        })?;
        let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let name = top.join(relative);
        if entry.file_type().is_dir() {
            let mut h = header(tar::EntryType::Directory, 0o755, 0);
            builder
                .append_data(&mut h, &name, std::io::empty())
                .map_err(Error::io(&tmp))?;
        } else {
            let (mut f, size) = fsutil::open_regular(entry.path(), fsutil::Links::Refuse)?;
            let mut h = header(tar::EntryType::Regular, 0o644, size);
            builder
                .append_data(&mut h, &name, &mut f)
                .map_err(Error::io(&tmp))?;
        }
    }
    crate::archive::failpoint::hit("export-mid-tar");
    let buffered = builder.into_inner().map_err(Error::io(&tmp))?;
    buffered
        .into_inner()
        .map_err(|e| Error::io(&tmp)(e.into_error()))?;
    output.commit()
}
