//! The verification layer's one model: every verifier (archive verify, bundle verify,
//! verify-proof, consistency proofs) reports into a [`ReportCore`] — findings with a stable code,
//! the item at fault as a person knows it, and a severity; what the checks prove and do not
//! prove; the checkpoint relied on; the verdict. Each command's JSON embeds the core under the
//! schema name [`REPORT_SCHEMA`], and the CLI renders it with one text renderer, so a finding
//! reads the same whichever command found it.

pub(crate) mod lineage;
pub mod recipient;

use serde::{Serialize, Serializer};

use crate::audit::equivocation::Equivocation;
use crate::trust::TrustedKey;
use crate::verdict::Verdict;

/// Which keys may sign.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Keys from a trust file: signatures by any other key do not count.
    Keys(Vec<TrustedKey>),
    /// No trust file: signatures are checked against the keys the input itself carries, which
    /// proves integrity but not who signed.
    ArchiveKeys,
}

impl Trust {
    /// Whether signers are authenticated by the user's own trust file.
    pub fn authenticates(&self) -> bool {
        matches!(self, Trust::Keys(_))
    }

    /// The keys signatures are checked against: the trust file's, or `carried` (the input's
    /// own, named `carried_name` in reports); and how a report names them.
    pub fn base_keys(
        &self,
        carried: impl FnOnce() -> Vec<TrustedKey>,
        carried_name: &'static str,
    ) -> (Vec<TrustedKey>, &'static str) {
        match self {
            Trust::Keys(keys) => (keys.clone(), "keys in the trust file"),
            Trust::ArchiveKeys => (carried(), carried_name),
        }
    }
}

/// What a format-1 verdict must say: its checkpoints commit to no reference map.
pub const FORMAT1_COMPLETENESS: &str = "completeness NOT PROVABLE: this is a format-1 archive; its checkpoints do not commit to which records are about each document or to the whole key state, so a withheld retraction, annotation or key revocation cannot be detected in copies or bundles of it";

/// The versioned name of the shared part of every verification report.
pub const REPORT_SCHEMA: &str = "evidentia-verification/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Something is wrong: the verdict is FAILED.
    Problem,
    /// Worth knowing, but nothing is proven wrong: the verdict does not change.
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What is at fault, as a person knows it: a record, object, checkpoint, document or file.
    pub item: String,
    /// A stable code for the kind of finding (FORMAT.md lists every one).
    pub code: &'static str,
    pub detail: String,
    pub severity: Severity,
}

impl Finding {
    pub fn problem(
        item: impl Into<String>,
        code: &'static str,
        detail: impl Into<String>,
    ) -> Finding {
        Finding {
            item: item.into(),
            code,
            detail: detail.into(),
            severity: Severity::Problem,
        }
    }

    /// A warning; its `detail` is a whole sentence that names the item itself.
    pub fn warning(
        item: impl Into<String>,
        code: &'static str,
        detail: impl Into<String>,
    ) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::problem(item, code, detail)
        }
    }
}

/// One signature line of a checkpoint, as checked.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureReport {
    pub name: String,
    pub key_id: String,
    /// The signer named by the trust file, if any.
    pub signer: Option<String>,
    /// `valid`; `invalid` (does not verify); `unknown-key` (not trusted; ignored);
    /// `outside-validity` (trusted key, but the checkpoint's time is outside its window);
    /// `revoked` (the key was revoked or rotated out before this checkpoint);
    /// `witness-cosignature` (a trusted witness's cosignature).
    pub status: &'static str,
}

/// The signed checkpoint a verdict relies on.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointSummary {
    pub number: u64,
    pub size: u64,
    pub root: String,
    pub time: String,
    pub message: Option<String>,
    /// SHA-256 of the checkpoint text: what `--checkpoint-hash` and `--pin` pin.
    pub text_sha256: String,
    pub signatures: Vec<SignatureReport>,
}

impl CheckpointSummary {
    pub fn new(
        cp: &crate::core::checkpoint::Checkpoint,
        signatures: Vec<SignatureReport>,
    ) -> CheckpointSummary {
        CheckpointSummary {
            number: cp.number,
            size: cp.size,
            root: cp.root.to_hex(),
            time: cp.time.to_string(),
            message: cp.message.clone(),
            text_sha256: cp.text_hash().to_hex(),
            signatures,
        }
    }
}

/// The part of a verification report every verifier shares. Serialized flat into each
/// command's report: `schema`, `ok`, `verdict`, `signers_authenticated`, `origin`,
/// `checkpoint`, `findings` (every finding with its severity), `problems` (the findings of
/// severity problem), `warnings` (the warnings' sentences), `proven`, `not_proven`,
/// `equivocation`.
#[derive(Debug, Clone)]
pub struct ReportCore {
    pub verdict: Verdict,
    /// Whether signatures were checked against the user's trust file (not the input's keys).
    pub signers_authenticated: bool,
    pub origin: Option<String>,
    pub checkpoint: Option<CheckpointSummary>,
    pub findings: Vec<Finding>,
    /// Plain statements of what the checks prove.
    pub proven: Vec<String>,
    /// What they do not prove.
    pub not_proven: Vec<String>,
    /// Evidence when `--since` finds that the presented history forks from the held one.
    pub equivocation: Option<Equivocation>,
}

impl ReportCore {
    pub fn new(signers_authenticated: bool) -> ReportCore {
        ReportCore {
            verdict: Verdict::Failed,
            signers_authenticated,
            origin: None,
            checkpoint: None,
            findings: Vec::new(),
            proven: Vec::new(),
            not_proven: Vec::new(),
            equivocation: None,
        }
    }

    pub fn problem(
        &mut self,
        item: impl Into<String>,
        code: &'static str,
        detail: impl Into<String>,
    ) {
        self.findings.push(Finding::problem(item, code, detail));
    }

    pub fn warn(&mut self, item: impl Into<String>, code: &'static str, detail: impl Into<String>) {
        self.findings.push(Finding::warning(item, code, detail));
    }

    pub fn problems(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Problem)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
    }

    pub fn problem_count(&self) -> usize {
        self.problems().count()
    }

    /// No problem found (warnings do not count).
    pub fn ok(&self) -> bool {
        self.problem_count() == 0
    }

    /// Whether a problem with a code starting with `prefix` was found.
    pub fn has_problem(&self, prefix: &str) -> bool {
        self.problems().any(|p| p.code.starts_with(prefix))
    }

    /// Sets the verdict from the findings and whether the signers were authenticated.
    pub fn decide(&mut self) {
        self.verdict = Verdict::decide(self.problem_count(), self.signers_authenticated);
    }
}

impl Serialize for ReportCore {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Flat<'a> {
            schema: &'static str,
            ok: bool,
            verdict: Verdict,
            signers_authenticated: bool,
            origin: &'a Option<String>,
            checkpoint: &'a Option<CheckpointSummary>,
            findings: &'a [Finding],
            problems: Vec<&'a Finding>,
            warnings: Vec<&'a str>,
            proven: &'a [String],
            not_proven: &'a [String],
            equivocation: &'a Option<Equivocation>,
        }
        Flat {
            schema: REPORT_SCHEMA,
            ok: self.ok(),
            verdict: self.verdict,
            signers_authenticated: self.signers_authenticated,
            origin: &self.origin,
            checkpoint: &self.checkpoint,
            findings: &self.findings,
            problems: self.problems().collect(),
            warnings: self.warnings().map(|w| w.detail.as_str()).collect(),
            proven: &self.proven,
            not_proven: &self.not_proven,
            equivocation: &self.equivocation,
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_do_not_fail_and_every_finding_is_serialized_once_per_view() {
        let mut core = ReportCore::new(true);
        core.warn(
            "objects/",
            "unreferenced-objects",
            "2 stored object(s) are not referenced",
        );
        core.decide();
        assert_eq!(core.verdict, Verdict::Verified);
        core.problem("record #1 (ab)", "record-corrupt", "hashes differ");
        core.decide();
        assert_eq!(core.verdict, Verdict::Failed);
        let json = serde_json::to_value(&core).unwrap();
        assert_eq!(json["schema"], REPORT_SCHEMA);
        assert_eq!(json["ok"], false);
        assert_eq!(json["findings"].as_array().map(Vec::len), Some(2));
        assert_eq!(json["problems"][0]["code"], "record-corrupt");
        assert_eq!(json["problems"][0]["severity"], "problem");
        assert_eq!(json["warnings"][0], "2 stored object(s) are not referenced");
        assert_eq!(json["findings"][0]["severity"], "warning");
    }
}
