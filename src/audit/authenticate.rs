//! Before `diff` compares two versions, each must verify on its own, as `verify` would check
//! it: an archive copy in full (objects, records, tree, every checkpoint's signatures), a
//! bundle as a recipient checks it. With a trust file the signers are authenticated; with
//! `--integrity-only` the signatures are checked against the keys the versions carry, which
//! shows integrity but not who signed.

use std::fmt;

use crate::archive::verify::{self, VerifyOptions};
use crate::archive::Archive;
use crate::bundle::verify::{verify_bundle, BundleVerifyOptions};
use crate::core::key::VerifierKey;
use crate::error::Result;
use crate::trust::TrustedKey;
use crate::verification::{Finding, SignatureReport, Trust};

use super::source::Location;

/// Who may sign the versions compared.
#[derive(Debug, Clone)]
pub enum Authentication {
    /// The user's trust file, and how many distinct trusted signers each checkpoint needs.
    Trusted {
        keys: Vec<TrustedKey>,
        require: usize,
    },
    /// `--integrity-only`: signatures by the keys the versions carry; nobody is authenticated.
    IntegrityOnly,
}

impl Authentication {
    pub fn authenticated(&self) -> bool {
        matches!(self, Authentication::Trusted { .. })
    }

    /// The keys whose signatures count as evidence in an equivocation report.
    pub fn trusted_keys(&self) -> Vec<VerifierKey> {
        match self {
            Authentication::Trusted { keys, .. } => keys.iter().map(|k| k.key.clone()).collect(),
            Authentication::IntegrityOnly => Vec::new(),
        }
    }

    fn trust(&self) -> (Trust, usize) {
        match self {
            Authentication::Trusted { keys, require } => {
                (Trust::Keys(keys.clone()), (*require).max(1))
            }
            Authentication::IntegrityOnly => (Trust::ArchiveKeys, 1),
        }
    }
}

/// A version that does not verify on its own, with the verifier's findings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Refusal {
    pub label: String,
    pub problems: Vec<Finding>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} does not verify, so it is not compared:", self.label)?;
        for p in &self.problems {
            write!(f, "\n  PROBLEM [{}] {}: {}", p.code, p.item, p.detail)?;
        }
        Ok(())
    }
}

/// What verification found valid: each checkpoint's signers whose signatures count.
#[derive(Debug, Clone)]
pub struct Verified {
    checkpoints: Vec<(u64, Vec<String>)>,
}

impl Verified {
    /// The `name+keyid` of the keys whose signatures count on checkpoint `number` (None: the
    /// latest).
    pub fn signers(&self, number: Option<u64>) -> Vec<String> {
        self.checkpoints
            .iter()
            .rfind(|(n, _)| number.is_none_or(|wanted| *n == wanted))
            .map(|(_, signers)| signers.clone())
            .unwrap_or_default()
    }
}

/// Verifies the source at `location` as a whole, before anything is read from it for the
/// comparison.
pub fn check(
    location: &Location,
    label: &str,
    auth: &Authentication,
) -> Result<std::result::Result<Verified, Refusal>> {
    let (trust, require) = auth.trust();
    let (problems, checkpoints): (Vec<Finding>, _) = match location {
        Location::Archive { root, .. } => {
            let archive = Archive::open(root)?;
            let mut options = VerifyOptions::new(trust);
            options.require = require;
            let report = verify::verify(&archive, &options)?;
            let checkpoints = report
                .checkpoints
                .iter()
                .map(|c| (c.summary.number, valid(&c.summary.signatures)))
                .collect();
            (report.core.problems().cloned().collect(), checkpoints)
        }
        Location::Bundle(path) => {
            let options = BundleVerifyOptions {
                identity: None,
                trust,
                require,
                checkpoint_hash: None,
                recipient: Default::default(),
            };
            let report = verify_bundle(path, &options)?;
            let checkpoints = report
                .core
                .checkpoint
                .as_ref()
                .map(|c| vec![(c.number, valid(&c.signatures))])
                .unwrap_or_default();
            (report.core.problems().cloned().collect(), checkpoints)
        }
    };
    if !problems.is_empty() {
        return Ok(Err(Refusal {
            label: label.to_string(),
            problems,
        }));
    }
    Ok(Ok(Verified { checkpoints }))
}

fn valid(signatures: &[SignatureReport]) -> Vec<String> {
    signatures
        .iter()
        .filter(|s| s.status == "valid")
        .map(|s| format!("{}+{}", s.name, s.key_id))
        .collect()
}
