//! Evidence that a signer showed two histories that cannot both be true: both signed
//! statements, who signed both, and why they conflict. Self-contained, for a court file.

use std::fmt;

use serde::Serialize;

use crate::core::checkpoint::Checkpoint;
use crate::core::key::VerifierKey;
use crate::core::note::{SignatureStatus, SignedNote};

#[derive(Debug, Clone, Serialize)]
pub struct SignedStatement {
    pub label: String,
    pub size: u64,
    pub root: String,
    /// The signed checkpoint, exactly as received.
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Equivocation {
    pub origin: String,
    pub first: SignedStatement,
    pub second: SignedStatement,
    /// Keys (name+id) whose valid signatures are on both statements.
    pub signed_both: Vec<String>,
    pub reason: String,
    /// The first leaf index where the two histories differ, when both logs are available.
    pub first_divergent_leaf: Option<u64>,
}

/// `name+keyid` of every key in `keys` with a valid signature on `note`.
pub fn valid_signers(note: &SignedNote, keys: &[VerifierKey]) -> Vec<String> {
    note.signatures
        .iter()
        .zip(note.check(keys))
        .filter(|(_, status)| *status == SignatureStatus::Valid)
        .map(|(sig, _)| format!("{}+{}", sig.name, hex::encode(sig.key_id)))
        .collect()
}

impl Equivocation {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        origin: &str,
        first: (&str, &Checkpoint, &SignedNote, &str),
        second: (&str, &Checkpoint, &SignedNote, &str),
        keys: &[VerifierKey],
        reason: String,
        first_divergent_leaf: Option<u64>,
    ) -> Equivocation {
        let a = valid_signers(first.2, keys);
        let b = valid_signers(second.2, keys);
        let signed_both = a.iter().filter(|k| b.contains(k)).cloned().collect();
        let statement =
            |(label, cp, _, text): (&str, &Checkpoint, &SignedNote, &str)| SignedStatement {
                label: label.to_string(),
                size: cp.size,
                root: cp.root.to_hex(),
                note: text.to_string(),
            };
        Equivocation {
            origin: origin.to_string(),
            first: statement(first),
            second: statement(second),
            signed_both,
            reason,
            first_divergent_leaf,
        }
    }
}

impl fmt::Display for Equivocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "EQUIVOCATION REPORT for archive {}", self.origin)?;
        writeln!(
            f,
            "Two signed versions of this archive cannot both be true."
        )?;
        writeln!(f, "Why: {}", self.reason)?;
        if let Some(leaf) = self.first_divergent_leaf {
            writeln!(f, "The histories part at record #{leaf} (leaf index).")?;
        }
        if self.signed_both.is_empty() {
            writeln!(f, "No single known key signed both statements.")?;
        } else {
            writeln!(f, "Signed both: {}", self.signed_both.join(", "))?;
        }
        for (n, s) in [(1, &self.first), (2, &self.second)] {
            writeln!(
                f,
                "--- statement {n}: {} (size {}, root {}) ---",
                s.label, s.size, s.root
            )?;
            write!(f, "{}", s.note)?;
        }
        writeln!(f, "--- end of report ---")
    }
}
