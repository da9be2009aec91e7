//! Check 12d: the hidden fields of disclosed sealed annotations and custody events (FORMAT.md
//! §23.10, "Bundles"). Each sealed record's fields travel in one file at the place its id and
//! form dictate; only the signed `sealed` map decides whether the file is that record's.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::archive::sealed_notes::{context_of, sealed_of};
use crate::core::digest::Digest;
use crate::core::record::{HiddenFields, Record, SealedFields, MAX_HIDDEN_LEN};
use crate::crypt::stream::{decrypt_to_vec, inspect, Expected};
use crate::crypt::{CryptError, Identities};

use super::super::encrypted::{check_ciphertext, Finding};
use super::super::manifest::BundleManifest;
use super::super::sealed::{Form, SEALED_AREA};
use super::{hex_digest, BundleReport};

/// One sealed record's fields, as checked.
enum Outcome {
    /// Plaintext checked against the signed record (clear, or decrypted with the identity).
    Checked(Box<HiddenFields>),
    /// Ciphertext intact and of the recorded plaintext size; plaintext not checked.
    Intact,
    Problem(Finding),
    /// Failed the bag check (corrupt or unlisted), and named there already.
    Named,
}

/// Checks every `sealed` entry of data/bundle.json against the disclosed records.
pub(super) fn check_sealed(
    root: &Path,
    files: &HashSet<String>,
    hashed: &HashMap<String, String>,
    manifest: &BundleManifest,
    decoded: &HashMap<Digest, Record>,
    identities: Option<&Identities>,
    report: &mut BundleReport,
) -> SealedChecked {
    let mut listed: HashSet<Digest> = HashSet::new();
    let mut dictated: HashSet<&str> = HashSet::new();
    let (mut checked, mut intact) = (0, 0);
    for entry in &manifest.sealed {
        let item = format!("encrypted fields of record {}", entry.record);
        let record = hex_digest(&entry.record);
        let sealed = record.and_then(|id| decoded.get(&id).map(|r| (id, r)));
        let Some((id, record)) = sealed.filter(|(_, r)| sealed_of(r).is_some()) else {
            report.problem(
                item,
                "bad-manifest",
                "no disclosed record with encrypted fields has this id",
            );
            continue;
        };
        if !listed.insert(id) {
            report.problem(item, "bad-manifest", "listed twice");
            continue;
        }
        let Some(form) = Form::parse(&entry.form) else {
            report.problem(
                item,
                "bad-manifest",
                "form is not stored, clear or encrypted",
            );
            continue;
        };
        if entry.file != form.file(&id) {
            report.problem(
                item,
                "bad-manifest",
                format!("its file must be '{}'", form.file(&id)),
            );
            continue;
        }
        dictated.insert(&entry.file);
        if !files.contains(&entry.file) {
            report.problem(
                item,
                "sealed-fields-missing",
                format!("{} is not a regular file in the bundle", entry.file),
            );
            continue;
        }
        let enc = manifest.encryption.as_ref().map(|e| e.recipients);
        match check_one(root, hashed, &entry.file, form, record, enc, identities) {
            Outcome::Checked(hidden) => {
                checked += 1;
                report
                    .sealed_fields
                    .push(SealedFieldsReport::new(id, form, *hidden));
            }
            Outcome::Intact => intact += 1,
            Outcome::Problem((code, detail)) => report.problem(item, code, detail),
            Outcome::Named => {}
        }
    }
    for (id, record) in decoded {
        if sealed_of(record).is_some() && !listed.contains(id) {
            report.problem(
                format!("encrypted fields of record {id}"),
                "sealed-fields-missing",
                "a disclosed record keeps fields in a ciphertext, and data/bundle.json lists no file of them",
            );
        }
    }
    report_reused(decoded, report);
    for name in files {
        if name.starts_with(SEALED_AREA) && !dictated.contains(name.as_str()) {
            report.problem(
                name.clone(),
                "unlisted-sealed-fields",
                "a file in data/sealed/ that no listed sealed record puts there",
            );
        }
    }
    if intact > 0 {
        report.core.warn(
            "data/sealed/",
            "plaintext-not-checked",
            format!("the encrypted fields of {intact} annotation(s)/custody event(s) were not decrypted"),
        );
    }
    SealedChecked { checked, intact }
}

/// Two disclosed records committing to the same sealed plaintext: honest plaintexts begin with
/// a fresh salt and never repeat, so one record's fields were copied into the other (as in
/// archive verify, FORMAT.md §23.10). Needs no key: the digest is in the signed records.
fn report_reused(decoded: &HashMap<Digest, Record>, report: &mut BundleReport) {
    let mut sealed: Vec<(&Digest, &Digest)> = decoded
        .iter()
        .filter_map(|(id, r)| sealed_of(r).map(|s| (id, s.encryption.binding.anchor())))
        .collect();
    sealed.sort();
    let mut first: HashMap<&Digest, &Digest> = HashMap::new();
    for (id, anchor) in sealed {
        match first.get(anchor) {
            Some(other) => report.problem(
                format!("encrypted fields of record {id}"),
                "sealed-fields-reused",
                format!(
                    "the same sealed fields (plaintext {anchor}) as record {other}: one record's fields were copied into the other"
                ),
            ),
            None => {
                first.insert(anchor, id);
            }
        }
    }
}

/// How many sealed records' fields were checked against their records, and how many only at
/// the ciphertext level.
pub(super) struct SealedChecked {
    checked: usize,
    intact: usize,
}

impl SealedChecked {
    /// What a bundle that passed every check proves of the sealed fields, and what not.
    pub(super) fn state(&self, core: &mut crate::verification::ReportCore) {
        if self.checked > 0 {
            core.proven.push(format!(
                "the encrypted fields of {} annotation(s)/custody event(s) are exactly the ones their signed records commit to",
                self.checked
            ));
        }
        if self.intact > 0 {
            core.not_proven.push(format!(
                "the encrypted fields of {} annotation(s)/custody event(s) were NOT checked against their records (their ciphertexts are intact and of the signed size): verify with --identity FILE, or ask for an export made with --identity",
                self.intact
            ));
        }
    }
}

fn check_one(
    root: &Path,
    hashed: &HashMap<String, String>,
    file: &str,
    form: Form,
    record: &Record,
    bundle_recipients: Option<u64>,
    identities: Option<&Identities>,
) -> Outcome {
    let Some(sealed) = sealed_of(record) else {
        return Outcome::Intact;
    };
    let path = root.join(file);
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    let Some(found) = hashed.get(file).and_then(|h| hex_digest(h)) else {
        return Outcome::Named;
    };
    let plaintext = sealed.encryption.plaintext_size;
    let bytes = match form {
        Form::Stored => {
            if found != sealed.content || size != sealed.size {
                return Outcome::Problem((
                    "content-corrupt",
                    format!(
                        "the file ({size} bytes, SHA-256 {found}) is not the ciphertext {} ({} bytes) the signed record names",
                        sealed.content, sealed.size
                    ),
                ));
            }
            if let Some(finding) = shape(&path, size, plaintext) {
                return Outcome::Problem(finding);
            }
            match decrypt(&path, sealed, identities) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return Outcome::Intact,
                Err(finding) => return Outcome::Problem(finding),
            }
        }
        Form::Encrypted => {
            let Some(recipients) = bundle_recipients else {
                return Outcome::Problem((
                    "bad-manifest",
                    "fields re-encrypted to recipients in a bundle that names none".into(),
                ));
            };
            if let Err(finding) = check_ciphertext(&path, plaintext, recipients) {
                return Outcome::Problem(finding);
            }
            match decrypt(&path, sealed, identities) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return Outcome::Intact,
                Err(finding) => return Outcome::Problem(finding),
            }
        }
        Form::Clear => {
            if found != *sealed.plaintext_digest() || size != plaintext {
                return Outcome::Problem((
                    "sealed-fields-mismatch",
                    format!(
                        "the file ({size} bytes, SHA-256 {found}) is not the plaintext the signed record commits to ({plaintext} bytes, SHA-256 {})",
                        sealed.plaintext_digest()
                    ),
                ));
            }
            match crate::archive::fsutil::read_stored(&path, MAX_HIDDEN_LEN) {
                Ok(bytes) => bytes,
                Err(e) => return Outcome::Problem(("sealed-fields-missing", e.to_string())),
            }
        }
    };
    match names_record(&bytes, record) {
        Ok(hidden) => Outcome::Checked(Box::new(hidden)),
        Err(why) => Outcome::Problem(("sealed-fields-mismatch", why)),
    }
}

/// The key-less level of a ciphertext: its age header parses and its length implies the
/// signed plaintext size.
fn shape(path: &Path, size: u64, plaintext: u64) -> Option<Finding> {
    let file =
        match crate::archive::fsutil::open_regular(path, crate::archive::fsutil::Links::Refuse) {
            Ok((file, _)) => file,
            Err(e) => return Some(("sealed-fields-missing", e.to_string())),
        };
    match inspect(std::io::BufReader::new(file), size, "encrypted fields") {
        Ok(shape) if shape.plaintext_size != plaintext => Some((
            "plaintext-size-mismatch",
            format!(
                "the ciphertext holds {} plaintext bytes, the signed record says {plaintext}",
                shape.plaintext_size
            ),
        )),
        Ok(_) => None,
        Err(e) => Some(("ciphertext-malformed", e.to_string())),
    }
}

/// The plaintext of a ciphertext file, checked against the signed digest and size; `None`
/// without an identity or when it is not one of the file's recipients.
fn decrypt(
    path: &Path,
    sealed: &SealedFields,
    identities: Option<&Identities>,
) -> Result<Option<Vec<u8>>, Finding> {
    let Some(identities) = identities else {
        return Ok(None);
    };
    let (file, _) =
        crate::archive::fsutil::open_regular(path, crate::archive::fsutil::Links::Refuse)
            .map_err(|e| ("sealed-fields-missing", e.to_string()))?;
    let expected = Expected {
        digest: *sealed.plaintext_digest(),
        size: sealed.encryption.plaintext_size,
    };
    let reader = std::io::BufReader::new(file);
    match decrypt_to_vec(
        identities,
        reader,
        expected,
        "encrypted fields",
        MAX_HIDDEN_LEN,
    ) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(CryptError::NotARecipient { .. }) => Ok(None),
        Err(e @ CryptError::PlaintextMismatch { .. }) => {
            Err(("sealed-fields-mismatch", e.to_string()))
        }
        Err(e @ CryptError::Damaged { .. }) => Err(("ciphertext-damaged", e.to_string())),
        Err(e) => Err(("ciphertext-malformed", e.to_string())),
    }
}

/// Whether `bytes` are a canonical hidden-fields plaintext naming `record`'s kind and targets.
fn names_record(bytes: &[u8], record: &Record) -> Result<HiddenFields, String> {
    let hidden = HiddenFields::decode(bytes).map_err(|e| e.to_string())?;
    let (kind, targets) = context_of(record);
    if hidden.kind != kind || hidden.targets != targets {
        return Err(format!(
            "the fields of a '{}' record about {} document(s) other than this record's",
            crate::term::escape(&hidden.kind),
            hidden.targets.len()
        ));
    }
    Ok(hidden)
}

/// The fields of one sealed record, checked against it: what `verify BUNDLE` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SealedFieldsReport {
    /// The record, `sha256:<hex>`.
    pub record: String,
    pub kind: String,
    /// `stored`, `clear` or `encrypted`.
    pub form: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The quoted passage (text-quote selector's exact text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub claim: std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl SealedFieldsReport {
    fn new(record: Digest, form: Form, hidden: HiddenFields) -> SealedFieldsReport {
        let quote = match hidden.quote {
            Some(crate::core::record::Selector::TextQuote { exact, .. }) => Some(exact),
            _ => None,
        };
        SealedFieldsReport {
            record: record.to_prefixed(),
            kind: hidden.kind,
            form: form.name(),
            body: hidden.body,
            quote,
            claim: hidden.claim,
            note: hidden.note,
            from: hidden.from,
            to: hidden.to,
        }
    }

    /// One line for people: the kind, the record and each field present.
    pub fn line(&self) -> String {
        let mut parts = Vec::new();
        let fields = [
            ("body", &self.body),
            ("quote", &self.quote),
            ("note", &self.note),
            ("from", &self.from),
            ("to", &self.to),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                parts.push(format!("{name} \"{value}\""));
            }
        }
        for (key, value) in &self.claim {
            parts.push(format!("claim {key}=\"{value}\""));
        }
        format!("{} {}: {}", self.kind, self.record, parts.join(", "))
    }
}
