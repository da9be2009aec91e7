//! The `export` command and bundle verification output.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, ValueEnum};

use evidentia::archive::output::{self, Existing, NewOutput};
use evidentia::archive::Archive;
use evidentia::bundle::export::{self, BagInfoFields, BundleFormat, ExportOptions};
use evidentia::bundle::proof;
use evidentia::bundle::verify::{self, BundleReport, BundleVerifyOptions};
use evidentia::verification::recipient::RecipientChecks;
use evidentia::verification::Trust;
use evidentia::Error;

use super::render::{print_verification, signature_list};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Dir,
    Tar,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Where to write the bundle (a new directory, or a tar file with --format tar)
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// The checkpoint to prove against: a number or `latest` [default: latest]
    #[arg(long, value_name = "N|latest")]
    checkpoint: Option<super::names::CheckpointName>,
    /// A document to disclose: digest, unique prefix, logical path, or tag:TAG (repeatable)
    #[arg(long = "select", value_name = "ID|PATH|tag:TAG")]
    select: Vec<String>,
    /// Disclose every document sealed by the checkpoint
    #[arg(long)]
    all: bool,
    /// Who the bundle is for (recorded in the bundle and in the custody log)
    #[arg(long, value_name = "NAME")]
    recipient: Option<String>,
    /// Who is exporting, for the custody log [default: the signing identity of --key, else $USER]
    #[arg(long, value_name = "NAME")]
    actor: Option<String>,
    /// Your signing key (its .pub beside it names you as the exporter; no passphrase is asked)
    #[arg(long = "key", value_name = "KEYFILE", env = "EVIDENTIA_KEY")]
    key: Option<PathBuf>,
    /// dir: a bundle directory; tar: one tar file holding a directory named after it
    #[arg(long, value_enum, default_value = "dir")]
    format: Format,
    /// bag-info.txt Source-Organization: the sending organisation [default: the archive's origin]
    #[arg(long, value_name = "NAME")]
    source_organization: Option<String>,
    /// bag-info.txt Contact-Name: whom the recipient may contact about the bundle
    #[arg(long, value_name = "NAME")]
    contact_name: Option<String>,
    /// bag-info.txt Contact-Email
    #[arg(long, value_name = "ADDRESS")]
    contact_email: Option<String>,
    /// bag-info.txt External-Description [default: what the bundle holds, in counts]
    #[arg(long, value_name = "TEXT")]
    external_description: Option<String>,
    /// Encrypt every document file to this age recipient (age1…, e.g. the court's key); the
    /// recipient verifies the ciphertexts without a key and the contents with `verify
    /// --identity` (repeatable)
    #[arg(long = "encrypt-to", value_name = "RECIPIENT")]
    encrypt_to: Vec<String>,
    /// Encrypt every document file to the recipients in FILE (one age1… key a line, `#`
    /// comments, as `age -R` reads it)
    #[arg(long = "encrypt-to-file", value_name = "FILE")]
    encrypt_to_file: Vec<PathBuf>,
    // Documents stored encrypted (add --encrypt) in the selection are decrypted with this
    // identity, checked, and exported in the clear or re-encrypted to --encrypt-to; the
    // export is logged as a decryption
    #[command(flatten)]
    identity: super::encrypt::IdentityArgs,
}

/// The recipients of `--encrypt-to` and `--encrypt-to-file`, or None for a clear bundle.
fn encrypt_to(args: &ExportArgs) -> Result<Option<evidentia::crypt::Recipients>> {
    use evidentia::crypt::{Recipient, Recipients};
    if args.encrypt_to.is_empty() && args.encrypt_to_file.is_empty() {
        return Ok(None);
    }
    let mut keys = (args.encrypt_to.iter())
        .map(|text| Recipient::parse(text, "--encrypt-to"))
        .collect::<Result<Vec<_>, _>>()?;
    for file in &args.encrypt_to_file {
        keys.extend(Recipients::read_file(file)?);
    }
    Ok(Some(Recipients::new(keys, "--encrypt-to")?))
}

impl ExportArgs {
    /// Where the bundle goes (for the interrupt line).
    pub fn out(&self) -> &std::path::Path {
        &self.out
    }
}

/// Who exports: `--actor`, else the name and key id of the signing key (read from its public
/// key file, so no passphrase is needed), else the account running the command ($USER, $LOGNAME,
/// or the password-file name of its user id); never "unknown".
fn export_actor(args: &ExportArgs) -> Result<String> {
    if let Some(actor) = args.actor.as_ref().filter(|a| !a.trim().is_empty()) {
        return Ok(actor.clone());
    }
    if let Some(key) = &args.key {
        let public = key.with_extension("pub");
        let signer = evidentia::keyfile::read_public(&public).map_err(|e| {
            anyhow::anyhow!(
                "cannot name the exporter from --key {}: {e:#}; give --actor NAME",
                key.display()
            )
        })?;
        return Ok(format!("{}+{}", signer.name, signer.id_hex()));
    }
    let from_env = ["USER", "LOGNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|u| !u.trim().is_empty()));
    if let Some(user) = from_env {
        return Ok(user);
    }
    account_name().ok_or_else(|| {
        Error::InvalidOption {
            option: "--actor",
            value: String::new(),
            why: "who exports is not known ($USER and $LOGNAME are unset): give --actor NAME or \
                  --key YOUR.key, for the custody record of the export"
                .into(),
        }
        .into()
    })
}

/// The account the command runs as, from the owner of /proc/self and /etc/passwd: `name`, or
/// `uid N` when the password file does not name it.
fn account_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let named = passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?;
        (id == uid.to_string() && !name.is_empty()).then(|| name.to_string())
    });
    Some(named.unwrap_or_else(|| format!("uid {uid}")))
}

pub fn export(archive: &Archive, args: ExportArgs) -> Result<()> {
    let actor = export_actor(&args)?;
    let encrypt_to = encrypt_to(&args)?;
    let tar = matches!(args.format, Format::Tar);
    let outcome = export::export(
        archive,
        &ExportOptions {
            out: args.out,
            checkpoint: super::names::checkpoint_number(args.checkpoint),
            select: args.select,
            all: args.all,
            recipient: args.recipient,
            actor: actor.clone(),
            format: match args.format {
                Format::Dir => BundleFormat::Dir,
                Format::Tar => BundleFormat::Tar,
            },
            bag_info: BagInfoFields {
                source_organization: args.source_organization,
                contact_name: args.contact_name,
                contact_email: args.contact_email,
                external_description: args.external_description,
            },
            encrypt_to,
            identity: args.identity.for_verify()?,
        },
    )?;
    outln!(
        "bundle {}: {} document(s), {} record(s), proven in checkpoint {} ({} records)",
        outcome.path.display(),
        outcome.documents,
        outcome.records,
        outcome.checkpoint,
        outcome.tree_size
    );
    let w = &outcome.withheld;
    if w.annotations + w.custody_events + w.retractions > 0 {
        outln!(
            "withheld because they would reveal undisclosed material: {} annotation(s), {} custody event(s), {} retraction(s)",
            w.annotations, w.custody_events, w.retractions
        );
    }
    if tar {
        outln!(
            "the tar unpacks to one directory, {}/",
            export::tar_top_directory(&outcome.path)
        );
    }
    outln!("checkpoint text sha256: {}", outcome.checkpoint_text_sha256);
    outln!(
        "  tell the recipient this value by another channel than the bundle (phone, letter, signed mail);"
    );
    outln!(
        "  they check it with: evidentia verify BUNDLE --trust KEYS --checkpoint-hash {}",
        outcome.checkpoint_text_sha256
    );
    errln!("exported by {actor}");
    let ids: Vec<String> = outcome
        .custody_records
        .iter()
        .map(|id| format!("sha256:{id}"))
        .collect();
    match ids.as_slice() {
        [one] => errln!("export logged as custody event {one}"),
        many => errln!(
            "export logged as {} custody events (at most {} documents each): {}",
            many.len(),
            evidentia::core::record::MAX_CUSTODY_TARGETS,
            many.join(", ")
        ),
    }
    Ok(())
}

pub fn verify(
    path: &Path,
    checkpoint_hash: Option<String>,
    trust: Trust,
    require: usize,
    recipient: RecipientChecks,
    identity: Option<evidentia::archive::verify::encrypted::VerifyIdentity>,
    json: bool,
) -> Result<ExitCode> {
    let pin = checkpoint_hash
        .map(|h| super::json::parse_digest("--checkpoint-hash", &h))
        .transpose()?;
    let report = verify::verify_bundle(
        path,
        &BundleVerifyOptions {
            trust,
            require: require.max(1),
            checkpoint_hash: pin,
            recipient,
            identity,
        },
    )?;
    if json {
        super::json::print_report(report.format, &report)?;
    } else {
        print_report(path, &report);
    }
    Ok(ExitCode::from(report.core.verdict.exit_code()))
}

fn print_report(path: &Path, report: &BundleReport) {
    outln!("bundle {}", path.display());
    if let Some(origin) = &report.core.origin {
        outln!("  archive {origin}");
    }
    match &report.case {
        Some(case) if case.latest_proven => {
            outln!(
                "  case \"{}\" (record #{}, the latest title)",
                case.title,
                case.index
            )
        }
        Some(case) => outln!(
            "  case \"{}\" (record #{}, the latest title disclosed)",
            case.title,
            case.index
        ),
        None => outln!("  case title: not proven (see below); the origin names the case"),
    }
    if let Some(cp) = &report.core.checkpoint {
        outln!(
            "  checkpoint {}: {} records, root sha256:{}, {}; signatures: {}",
            cp.number,
            cp.size,
            cp.root,
            cp.time,
            signature_list(&cp.signatures)
        );
        outln!("  checkpoint text sha256:{}", cp.text_sha256);
    }
    for doc in &report.documents {
        outln!(
            "  {} sha256:{}  {:>10}  {}",
            match (doc.ok, doc.content_checked) {
                (false, _) => "FAILED",
                // An encrypted document not decrypted: its record's digest is not checked.
                (true, false) => "sealed",
                (true, true) => "ok    ",
            },
            doc.content,
            doc.size,
            doc.path
        );
        if !doc.version.is_empty() {
            outln!("         {}", doc.version);
        }
        if !doc.about.is_empty() {
            outln!("         {}", doc.about);
        }
    }
    for fields in &report.sealed_fields {
        outln!("  encrypted fields, checked: {}", fields.line());
    }
    for t in &report.timestamps {
        outln!("  time-stamped {} by {} [{}]", t.time, t.tsa, t.status);
    }
    if !report.witnesses.is_empty() {
        outln!("  cosigned by witnesses: {}", report.witnesses.join(", "));
    }
    print_verification(&report.core, "the bundle");
}

pub fn prove(
    archive: &Archive,
    id: &str,
    checkpoint: Option<u64>,
    out: &Path,
    existing: Existing,
) -> Result<()> {
    // Refuse before the work, not after it.
    let output = NewOutput::create(out, output::SHARED, existing)?;
    let file = proof::prove(archive, id, checkpoint)?;
    let json = serde_json::to_string_pretty(&file)?;
    output.finish(format!("{json}\n").as_bytes())?;
    outln!(
        "proof {} for record #{} written to {}",
        id,
        file.record.index,
        out.display()
    );
    Ok(())
}

/// What `verify-proof` checks a single-document proof against.
pub struct ProofCheck<'a> {
    pub trust: Trust,
    pub require: usize,
    pub identities: Option<&'a evidentia::crypt::Identities>,
}

pub fn verify_proof(
    proof_file: &Path,
    document: &Path,
    check: ProofCheck,
    json: bool,
) -> Result<ExitCode> {
    let report = proof::verify_proof(
        proof_file,
        document,
        &check.trust,
        check.require,
        check.identities,
    )?;
    if json {
        super::json::print_report(report.format, &report)?;
    } else {
        outln!("document {}", report.document);
        if let Some(cp) = &report.core.checkpoint {
            for s in &cp.signatures {
                outln!("  signature {}+{} ({})", s.name, s.key_id, s.status);
            }
        }
        print_verification(&report.core, "the document");
    }
    Ok(ExitCode::from(report.core.verdict.exit_code()))
}
