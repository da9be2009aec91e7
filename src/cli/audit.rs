//! `diff`, `witness`, consistency proofs, and the recipient's options for `verify`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};

use evidentia::archive::output::{self, Existing, NewOutput};
use evidentia::archive::Archive;
use evidentia::audit::authenticate::{self, Authentication};
use evidentia::audit::consistency;
use evidentia::audit::diff::{self, AppendOnly, Change};
use evidentia::audit::source;
use evidentia::audit::witness::{self, ProofSource};
use evidentia::verdict::Verdict;
use evidentia::verification::recipient::{HeldCheckpoint, RecipientChecks};
use evidentia::verification::Trust;
use evidentia::{trust, Error};

#[derive(Args, Debug)]
pub struct RecipientArgs {
    /// Witness public keys whose cosignatures count (one per line, as .pub files)
    #[arg(long, value_name = "FILE")]
    witness_trust: Option<PathBuf>,
    /// Cosignatures by at least K distinct trusted witnesses on the newest checkpoint
    #[arg(
        long,
        value_name = "K",
        default_value_t = 0,
        requires = "witness_trust"
    )]
    require_witnesses: usize,
    /// A signed checkpoint you already hold: fail unless this version extends it
    #[arg(long, value_name = "CHECKPOINT_FILE")]
    since: Option<PathBuf>,
    /// The SHA-256 of a checkpoint text that must be among this version's checkpoints
    #[arg(long, value_name = "HEX")]
    pin: Option<String>,
    /// Root certificates (PEM) that RFC 3161 time-stamp tokens must chain to
    #[arg(long, value_name = "FILE")]
    tsa_roots: Option<PathBuf>,
}

impl RecipientArgs {
    pub fn checks(&self) -> Result<RecipientChecks, Error> {
        let witnesses = match &self.witness_trust {
            Some(path) => trust::load(path)?.into_iter().map(|t| t.key).collect(),
            None => Vec::new(),
        };
        let since = self
            .since
            .as_deref()
            .map(HeldCheckpoint::load)
            .transpose()?;
        let pin = self
            .pin
            .as_deref()
            .map(|h| super::json::parse_digest("--pin", h))
            .transpose()?;
        let tsa_roots = match &self.tsa_roots {
            Some(path) => {
                let bytes = evidentia::archive::fsutil::read_limited(path, 16 << 20)?;
                let text = String::from_utf8_lossy(&bytes);
                Some(
                    evidentia::timestamp::token::parse_pem_certificates(&text).map_err(|why| {
                        Error::BadInput {
                            path: path.clone(),
                            why: format!("not PEM certificates: {why}"),
                        }
                    })?,
                )
            }
            None => None,
        };
        Ok(RecipientChecks {
            witnesses,
            require_witnesses: self.require_witnesses,
            since,
            pin,
            tsa_roots,
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum WitnessCommand {
    /// Countersign a checkpoint after checking it extends the last one cosigned for its origin
    Cosign {
        /// The signed checkpoint to cosign
        checkpoint: PathBuf,
        /// The witness's secret key
        #[arg(long, value_name = "KEYFILE", env = "EVIDENTIA_KEY")]
        key: PathBuf,
        /// The witness's memory: the last checkpoint cosigned per origin
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
        /// A consistency proof from the last cosigned checkpoint to this one
        /// [default: computed from the archive given by --archive]
        #[arg(long, value_name = "FILE")]
        proof: Option<PathBuf>,
        /// The log's public keys (a trust file): the checkpoint must be validly signed by one
        #[arg(long, value_name = "FILE")]
        log_trust: PathBuf,
        /// Write the cosigned checkpoint here [default: standard output]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace an existing file at --out (atomically; a symlink there is replaced, not followed)
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        passphrase: super::keys::PassphraseArgs,
    },
}

fn print_changes(title: &str, changes: &[Change]) {
    if changes.is_empty() {
        return;
    }
    outln!("{title} ({}):", changes.len());
    for c in changes {
        outln!("  #{:<6} {}", c.index, c.summary);
    }
}

#[derive(Args, Debug)]
pub struct DiffAuthArgs {
    /// Public keys that may sign (one per line, as in a .pub file): both versions must verify
    /// with them
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    /// Each checkpoint needs valid signatures by at least N distinct trusted keys
    #[arg(long, value_name = "N", default_value_t = 1, requires = "trust")]
    require: usize,
    /// Compare without authenticating the signers (signatures checked against the keys the
    /// versions carry): the verdict holds for the presented data only, exit code 3
    #[arg(long, conflicts_with = "trust")]
    integrity_only: bool,
}

impl DiffAuthArgs {
    fn authentication(&self) -> Result<Authentication, Error> {
        Ok(match &self.trust {
            Some(path) => Authentication::Trusted {
                keys: trust::load(path)?,
                require: self.require,
            },
            None if self.integrity_only => Authentication::IntegrityOnly,
            None => return Err(Error::InvalidOption {
                option: "--trust",
                value: String::new(),
                why: "diff authenticates both versions before it compares them: give --trust FILE with the signers' public keys (as for verify), or --integrity-only to compare without authenticating them (exit code 3 when the data is consistent)".into(),
            }),
        })
    }
}

/// Verifies one side; a side that does not verify ends the diff (exit 1) with the findings.
fn authenticate_side(
    location: &source::Location,
    label: &str,
    auth: &Authentication,
    json: bool,
) -> Result<Result<authenticate::Verified, ExitCode>> {
    match authenticate::check(location, label, auth)? {
        Ok(verified) => Ok(Ok(verified)),
        Err(refusal) if json => {
            let report = serde_json::json!({
                "append_only": "not-compared",
                "signers_authenticated": auth.authenticated(),
                "refused": refusal,
            });
            super::json::print_report(diff::REPORT_FORMAT, report)?;
            Ok(Err(ExitCode::from(1)))
        }
        Err(refusal) => {
            outln!("{refusal}");
            outln!(
                "append-only: NOT COMPARED ({} does not verify{})",
                refusal.label,
                if auth.authenticated() {
                    " with the keys of the trust file"
                } else {
                    ""
                }
            );
            Ok(Err(ExitCode::from(1)))
        }
    }
}

pub fn diff(
    archive_dir: &Path,
    from: &str,
    to: &str,
    auth: &DiffAuthArgs,
    json: bool,
) -> Result<ExitCode> {
    let auth = auth.authentication()?;
    let (from_at, to_at) = (
        source::locate(archive_dir, from)?,
        source::locate(archive_dir, to)?,
    );
    let from_verified = match authenticate_side(&from_at, from, &auth, json)? {
        Ok(verified) => verified,
        Err(code) => return Ok(code),
    };
    // Two checkpoints of one archive: it is verified as a whole once.
    let same_archive = matches!(
        (&from_at, &to_at),
        (source::Location::Archive { root: a, .. }, source::Location::Archive { root: b, .. })
            if a == b
    );
    let to_verified = if same_archive {
        from_verified.clone()
    } else {
        match authenticate_side(&to_at, to, &auth, json)? {
            Ok(verified) => verified,
            Err(code) => return Ok(code),
        }
    };
    let mut from = source::load(&from_at, from)?;
    let mut to = source::load(&to_at, to)?;
    let signed = diff::Signed {
        from: from_verified.signers(Some(from.checkpoint.number)),
        to: to_verified.signers(Some(to.checkpoint.number)),
    };
    let report = diff::diff(&mut from, &mut to, &auth, &signed)?;
    // Diff's NOT PROVABLE fails (exit 1): the user asked whether TO extends FROM.
    let verdict = match (report.append_only, report.signers_authenticated) {
        (AppendOnly::Proven, true) => Verdict::Verified,
        (AppendOnly::Proven, false) => Verdict::IntactUnauthenticated,
        _ => Verdict::Failed,
    };
    let code = ExitCode::from(verdict.exit_code());
    if json {
        super::json::print_report(report.format, &report)?;
        return Ok(code);
    }
    let verdict = match (report.append_only, report.signers_authenticated) {
        (AppendOnly::Proven, true) => "append-only: proven",
        (AppendOnly::Proven, false) => {
            "append-only: proven for the presented data, signers NOT AUTHENTICATED"
        }
        (AppendOnly::Violated, _) => "append-only: VIOLATED",
        (AppendOnly::NotProvable, _) => "append-only: NOT PROVABLE",
    };
    outln!("{verdict} ({})", report.detail);
    if let Some(evidence) = &report.equivocation {
        outln!();
        out!("{evidence}");
        outln!();
    }
    for (name, v) in [("from", &report.from), ("to", &report.to)] {
        outln!(
            "{name}: {} = checkpoint {} ({} records, root sha256:{}, {}), signed by {}",
            v.label,
            v.checkpoint,
            v.size,
            v.root,
            v.time,
            if v.signers.is_empty() {
                "(no known key)".to_string()
            } else {
                v.signers.join(", ")
            }
        );
    }
    let a = &report.added;
    outln!(
        "TO adds {} record(s), {} byte(s) of new content{}",
        a.records,
        a.content_bytes,
        if report.partial {
            " (TO is a bundle: only disclosed records are listed)"
        } else {
            ""
        }
    );
    if report.unproven_records > 0 {
        outln!(
            "{} record(s) that TO lists are not proven to be in its signed tree and are not listed",
            report.unproven_records
        );
    }
    print_changes("new documents", &a.documents_new);
    print_changes(
        "changed documents (same path, new content)",
        &a.documents_changed,
    );
    print_changes(
        "moved or copied documents (same content, new path)",
        &a.documents_moved_or_copied,
    );
    print_changes(
        "documents recorded again (same path and content)",
        &a.documents_repeated,
    );
    print_changes("new annotations", &a.annotations_new);
    if !a.annotations_superseded.is_empty() {
        outln!(
            "superseded annotations ({}):",
            a.annotations_superseded.len()
        );
        for id in &a.annotations_superseded {
            outln!("  {id}");
        }
    }
    print_changes("retractions", &a.retractions);
    print_changes("custody events", &a.custody_events);
    print_changes("key events", &a.key_events);
    print_changes("records of kinds this version does not know", &a.other);
    if !a.signers_added.is_empty() || !a.signers_removed.is_empty() {
        outln!(
            "signers: added {}; removed {}",
            if a.signers_added.is_empty() {
                "none".into()
            } else {
                a.signers_added.join(", ")
            },
            if a.signers_removed.is_empty() {
                "none".into()
            } else {
                a.signers_removed.join(", ")
            }
        );
    }
    Ok(code)
}

pub fn prove_consistency(
    archive: &Archive,
    from: &str,
    to: &str,
    out: &Path,
    existing: Existing,
) -> Result<()> {
    let output = NewOutput::create(out, output::SHARED, existing)?;
    let number = |text: &str| -> Result<u64, Error> {
        if text == "latest" {
            return Ok(archive.checkpoints().select(None)?.checkpoint.number);
        }
        text.parse().map_err(|_| Error::InvalidOption {
            option: "checkpoint",
            value: text.to_string(),
            why: "expected a checkpoint number or `latest`".into(),
        })
    };
    let file = consistency::prove(archive, number(from)?, number(to)?)?;
    let json = serde_json::to_string_pretty(&file)?;
    output.finish(format!("{json}\n").as_bytes())?;
    outln!(
        "consistency proof from checkpoint {from} to {to} ({} hashes) written to {}",
        file.proof.len(),
        out.display()
    );
    Ok(())
}

pub fn verify_consistency(
    path: &Path,
    trust: Trust,
    require: usize,
    json: bool,
) -> Result<ExitCode> {
    let authenticated = trust.authenticates();
    let report = consistency::verify(path, &trust, require)?;
    let verdict = report.core.verdict;
    if json {
        let mut value = serde_json::to_value(&report)?;
        // The library's (number, size, root) triples, named (version 2 of the report).
        for (side, (number, size, root)) in [("from", &report.from), ("to", &report.to)] {
            value[side] = serde_json::json!({"checkpoint": number, "size": size, "root": root});
        }
        super::json::print_report(report.format, value)?;
    } else {
        outln!(
            "checkpoint {} ({} records) -> checkpoint {} ({} records) of {}",
            report.from.0,
            report.from.1,
            report.to.0,
            report.to.1,
            report.core.origin.as_deref().unwrap_or_default()
        );
        super::render::print_findings(&report.core);
        if report.core.ok() {
            outln!(
                "{}: append-only: the later signed tree contains the earlier one{}",
                verdict.headline(),
                if authenticated {
                    ""
                } else {
                    " (the signatures verify with keys the proof carries, which anyone could have made; give --trust FILE to authenticate the signer)"
                }
            );
        } else {
            outln!("FAILED: the two checkpoints are not shown to be one growing history");
        }
    }
    Ok(ExitCode::from(verdict.exit_code()))
}

pub fn witness(archive_dir: &Path, command: WitnessCommand) -> Result<ExitCode> {
    let WitnessCommand::Cosign {
        checkpoint,
        key,
        state,
        proof,
        log_trust,
        out,
        force,
        passphrase,
    } = command;
    // Refuse an existing --out before cosigning: the witness's state must not advance for a
    // cosignature that is then not written.
    let output = out
        .as_deref()
        .map(|path| NewOutput::create(path, output::SHARED, Existing::from_force(force)))
        .transpose()?;
    let signer = super::keys::load_signer(&key, &passphrase)?;
    let log_keys: Vec<_> = trust::load(&log_trust)?
        .into_iter()
        .map(|t| t.key)
        .collect();
    let proof_file = proof.as_deref().map(consistency::read_file).transpose()?;
    let archive = if proof_file.is_none() {
        Archive::open(archive_dir).ok()
    } else {
        None
    };
    let source = match (&proof_file, &archive) {
        (Some(file), _) => ProofSource::File(file),
        (None, Some(archive)) => ProofSource::Archive(archive),
        (None, None) => ProofSource::None,
    };
    let done = witness::cosign_checkpoint(&checkpoint, &signer, &state, &log_keys, source)?;
    match (output, &out) {
        (Some(output), Some(path)) => {
            output.finish(done.note.as_bytes())?;
            errln!("cosigned checkpoint written to {}", path.display());
        }
        _ => print!("{}", done.note),
    }
    errln!(
        "cosigned {} at {} records{}",
        done.origin,
        done.size,
        done.previous_size
            .map(|p| format!(" (extends the {p} records cosigned before)"))
            .unwrap_or_else(|| " (first checkpoint seen for this origin)".into())
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Subcommand, Debug)]
pub enum TimestampCommand {
    /// Write an RFC 3161 TimeStampReq for a checkpoint (send it to any TSA)
    Request {
        /// The checkpoint: a number or `latest` [default: latest]
        #[arg(long, value_name = "N|latest")]
        checkpoint: Option<super::names::CheckpointName>,
        /// Where to write the request (DER TimeStampReq, to send to a TSA)
        #[arg(long, value_name = "FILE.tsq")]
        out: PathBuf,
        /// Replace an existing file at --out (atomically; a symlink there is replaced, not followed)
        #[arg(long)]
        force: bool,
    },
    /// Request time-stamps from TSAs over HTTP and keep every token
    Fetch {
        /// A TSA's URL (repeatable)
        #[arg(long = "tsa", value_name = "URL", required = true)]
        tsas: Vec<String>,
        /// The checkpoint: a number or `latest` [default: latest]
        #[arg(long, value_name = "N|latest")]
        checkpoint: Option<super::names::CheckpointName>,
    },
    /// Check a TSA's reply against the request and keep its token
    Attach {
        /// The TSA's reply (DER TimeStampResp) to the request made for this checkpoint
        reply: PathBuf,
        /// The checkpoint: a number or `latest` [default: latest]
        #[arg(long, value_name = "N|latest")]
        checkpoint: Option<super::names::CheckpointName>,
    },
}

pub fn timestamp(archive: &Archive, command: TimestampCommand) -> Result<()> {
    use evidentia::timestamp as ts;
    match command {
        TimestampCommand::Request {
            checkpoint,
            out,
            force,
        } => {
            let output = NewOutput::create(&out, output::SHARED, Existing::from_force(force))?;
            let request = ts::request(archive, super::names::checkpoint_number(checkpoint))?;
            output.finish(&request.der)?;
            outln!(
                "request for checkpoint {} written to {} (nonce {}, imprint sha256:{})",
                request.number,
                out.display(),
                request.nonce_hex,
                request.imprint
            );
            errln!(
                "send it with: curl --data-binary @{} -H 'Content-Type: application/timestamp-query' TSA-URL > reply.tsr; then: evidentia timestamp attach reply.tsr",
                out.display()
            );
        }
        TimestampCommand::Fetch { tsas, checkpoint } => {
            // Every TSA is asked, whatever the others did: one TSA down must not cost the
            // tokens of the rest. Each result is reported; any failure makes the exit code 2.
            let mut failed = Vec::new();
            for url in &tsas {
                match ts::fetch(archive, url, super::names::checkpoint_number(checkpoint)) {
                    Ok(attached) => outln!(
                        "{url}: checkpoint {}: time-stamped by {} at {} ({})",
                        attached.number,
                        attached.tsa,
                        attached.time,
                        attached.path.display()
                    ),
                    Err(e) => {
                        errln!("{url}: failed: {e}");
                        failed.push(url.as_str());
                    }
                }
            }
            if !failed.is_empty() {
                anyhow::bail!(
                    "{} of {} TSAs gave no token ({}); the tokens of the others are kept; \
                     retry the failed ones with `evidentia timestamp fetch --tsa URL`",
                    failed.len(),
                    tsas.len(),
                    failed.join(", ")
                );
            }
        }
        TimestampCommand::Attach { reply, checkpoint } => {
            let bytes = evidentia::archive::fsutil::read_limited(&reply, ts::MAX_TOKEN)?;
            let attached = ts::attach(
                archive,
                &reply,
                &bytes,
                super::names::checkpoint_number(checkpoint),
            )?;
            outln!(
                "checkpoint {}: time-stamped by {} at {} ({})",
                attached.number,
                attached.tsa,
                attached.time,
                attached.path.display()
            );
        }
    }
    Ok(())
}

/// `evidentia mirror SRC DST`: exit 0 when DST holds everything SRC has, 1 when the copies
/// have diverged (nothing copied; an equivocation report when signed statements conflict).
pub fn mirror(src: &Path, dst: &Path, json: bool) -> Result<ExitCode> {
    use evidentia::remote::mirror::{self, Outcome, Refusal};
    match mirror::mirror(src, dst)? {
        Outcome::Copied(done) => {
            if json {
                let value = serde_json::json!({
                    "copied": true,
                    "records": done.records,
                    "objects": done.objects,
                    "bytes": done.bytes,
                    "checkpoints": done.checkpoints,
                    "files": done.files,
                    "size_before": done.from_size,
                    "size_after": done.to_size,
                });
                super::json::print_report(super::json::MIRROR, value)?;
            } else {
                outln!(
                    "mirrored {} to {}: {} record(s) ({} -> {}), {} object(s) ({} bytes), {} checkpoint(s), {} key/time-stamp file(s); every object re-hashed",
                    src.display(),
                    dst.display(),
                    done.records,
                    done.from_size,
                    done.to_size,
                    done.objects,
                    done.bytes,
                    done.checkpoints,
                    done.files
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Refused(refusal) => {
            let (reason, evidence) = match refusal {
                Refusal::Equivocation(evidence) => (evidence.reason.clone(), Some(evidence)),
                Refusal::Diverged(reason) => (reason, None),
            };
            if json {
                let value = serde_json::json!({
                    "copied": false,
                    "diverged": reason,
                    "equivocation": evidence,
                });
                super::json::print_report(super::json::MIRROR, value)?;
            } else {
                outln!("NOT MIRRORED: the copies have diverged; nothing was copied ({reason})");
                if let Some(evidence) = &evidence {
                    outln!();
                    out!("{evidence}");
                }
            }
            Ok(ExitCode::from(Verdict::Failed.exit_code()))
        }
    }
}
