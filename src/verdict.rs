//! One verdict ladder for every verifier (archive verify, bundle verify, verify-proof), with its
//! wording and the exit code derived from the verdict alone.
//!
//! VERIFIED means: the user's own trust file authenticated the signer, and every byte shown is
//! bound to what was signed. Checking against keys the input itself carries proves only that the
//! input is intact, never who made it (anyone can make a key and claim a name), so it gets its
//! own verdict and exit code, as minisign, `ssh-keygen -Y verify` and age never verify without a
//! key the user supplies.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::verification::Trust;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Signer authenticated by the user's trust file; every check passed.
    Verified,
    /// Every integrity check passed, but the signatures were checked only against keys the
    /// input carries (`--integrity-only`).
    IntactUnauthenticated,
    /// A check found a problem.
    Failed,
    /// What was asked cannot be proven from this input (for example completeness of a v1
    /// archive's disclosure); nothing was found wrong.
    NotProvable,
}

/// Exit code for bad usage or unreadable input; not a verdict.
pub const EXIT_USAGE: u8 = 2;

impl Verdict {
    /// The verdict from the findings: any problem fails; otherwise whether the signers were
    /// authenticated by the user's trust file decides.
    pub fn decide(problems: usize, authenticated: bool) -> Verdict {
        match (problems, authenticated) {
            (0, true) => Verdict::Verified,
            (0, false) => Verdict::IntactUnauthenticated,
            _ => Verdict::Failed,
        }
    }

    /// 0 verified, 1 failed, 3 intact but signer not authenticated, 4 not provable (2 is bad
    /// usage or unreadable input, which never reaches a verdict).
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Verified => 0,
            Verdict::Failed => 1,
            Verdict::IntactUnauthenticated => 3,
            Verdict::NotProvable => 4,
        }
    }

    /// The first words of the verdict line.
    pub fn headline(self) -> &'static str {
        match self {
            Verdict::Verified => "VERIFIED",
            Verdict::IntactUnauthenticated => "INTACT BUT SIGNER NOT AUTHENTICATED",
            Verdict::Failed => "FAILED",
            Verdict::NotProvable => "NOT PROVABLE",
        }
    }

    /// The verdict line: the headline, then what it means for `subject` ("the archive", "the
    /// bundle", "the document").
    pub fn line(self, subject: &str, problems: usize) -> String {
        let headline = self.headline();
        match self {
            Verdict::Verified => format!(
                "{headline}: {subject} is intact and signed by keys your trust file names"
            ),
            Verdict::IntactUnauthenticated => format!(
                "{headline}: {subject} is intact and its signatures verify with keys it carries itself, which anyone could have made; this does not show who signed it. Verify with --trust FILE holding keys you obtained from the signers"
            ),
            Verdict::Failed => format!(
                "{headline}: {problems} problem(s) found; do not rely on {subject} as it stands"
            ),
            Verdict::NotProvable => {
                format!("{headline}: what was asked of {subject} cannot be proven from it")
            }
        }
    }
}

/// The signers a user relies on: their trust file, or the explicit choice to check integrity
/// only. Neither is refused: a verifier never silently falls back to the input's own keys.
pub fn choose_trust(
    command: &'static str,
    trust_file: Option<PathBuf>,
    integrity_only: bool,
) -> Result<Trust> {
    match (trust_file, integrity_only) {
        (Some(path), false) => Ok(Trust::Keys(crate::trust::load(&path)?)),
        (None, true) => Ok(Trust::ArchiveKeys),
        (Some(_), true) => Err(Error::TrustChoice {
            command,
            why: "--trust and --integrity-only exclude each other: give one",
        }),
        (None, false) => Err(Error::TrustChoice {
            command,
            why: "it needs to know whose signatures to accept: give --trust FILE (the public keys you obtained from the signers, one per line), or --integrity-only to check integrity without authenticating the signer (exit code 3 when intact)",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_verdict() {
        assert_eq!(Verdict::decide(0, true), Verdict::Verified);
        assert_eq!(Verdict::decide(0, false), Verdict::IntactUnauthenticated);
        assert_eq!(Verdict::decide(2, true), Verdict::Failed);
        assert_eq!(Verdict::decide(1, false), Verdict::Failed);
        let codes: Vec<u8> = [
            Verdict::Verified,
            Verdict::Failed,
            Verdict::IntactUnauthenticated,
            Verdict::NotProvable,
        ]
        .iter()
        .map(|v| v.exit_code())
        .collect();
        assert_eq!(codes, [0, 1, 3, 4]);
        assert!(!codes.contains(&EXIT_USAGE));
        assert_eq!(
            serde_json::to_value(Verdict::IntactUnauthenticated).unwrap(),
            "intact-unauthenticated"
        );
    }

    #[test]
    fn no_trust_choice_is_refused() {
        assert!(matches!(
            choose_trust("verify", None, false),
            Err(Error::TrustChoice { .. })
        ));
        assert!(choose_trust("verify", Some(PathBuf::from("t")), true).is_err());
        assert!(matches!(
            choose_trust("verify", None, true),
            Ok(Trust::ArchiveKeys)
        ));
    }
}
