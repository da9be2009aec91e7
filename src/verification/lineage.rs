//! Key lineage: which keys may sign a checkpoint, and how many independent signers they are.
//!
//! One rule, used by archive verify, bundle verify and verify-proof alike (TUF-like):
//! - every key of the trust file starts a lineage (its *root*); equal keys are one root;
//! - a `rotate` record passes a key's authority to exactly one successor: the first valid
//!   rotation of that key in log order. The old key is retired at that log position;
//! - a retired key (rotated out, or revoked, at an earlier log position) endorses nothing: a
//!   later rotation signed by it gives the new key no trust and is reported as refused;
//! - a retired key's signatures on checkpoints that cover its retirement count for nothing;
//! - `--require N` counts distinct roots, so keys descended from one trust-file key count once.
//!
//! Times written by signers (a revocation's `effective`, a record's or checkpoint's time) only
//! ever take trust away: they can retire a key earlier than its log position, never later.

use crate::core::checkpoint::Checkpoint;
use crate::core::key::VerifierKey;
use crate::core::note::{SignatureStatus, SignedNote};
use crate::core::record::{KeyAction, KeyRecord};
use crate::core::timestamp::Timestamp;
use crate::trust::TrustedKey;

use super::{Finding, SignatureReport};

/// The result of checking one checkpoint's signatures.
#[derive(Debug, Default)]
pub(crate) struct SignatureOutcome {
    pub signatures: Vec<SignatureReport>,
    /// Problem codes and details (invalid signatures, too few valid signers).
    pub problems: Vec<(&'static str, String)>,
    /// Names of the distinct keys whose signatures count.
    pub valid_signers: Vec<String>,
    /// Distinct trust-file roots (lineages) among the keys whose signatures count.
    pub lineages: usize,
}

/// When a key stops being acceptable: covering log index `index` or dated at/after `effective`.
struct Retirement {
    key: VerifierKey,
    index: u64,
    effective: Option<Timestamp>,
    /// "revoked" or "rotated out", for the report.
    how: &'static str,
}

/// A key that may sign, and the trust-file key it descends from.
struct LineageKey {
    trusted: TrustedKey,
    root: usize,
}

/// The keys that may sign, when each was retired, and the rotations that were refused.
pub(crate) struct Signers {
    keys: Vec<LineageKey>,
    retirements: Vec<Retirement>,
    /// `key-rotation-refused` findings: (log index of the rotate record, why).
    pub refused: Vec<(u64, String)>,
}

fn same(a: &VerifierKey, b: &VerifierKey) -> bool {
    a.name == b.name && a.id == b.id
}

impl Signers {
    pub(crate) fn new(
        base: Vec<TrustedKey>,
        key_events: &[(u64, KeyRecord)],
        origin: &str,
    ) -> Signers {
        let mut keys: Vec<LineageKey> = Vec::new();
        for trusted in base {
            // A key listed twice is one signer, not two.
            let root = keys
                .iter()
                .find(|k| k.trusted.key == trusted.key)
                .map_or(keys.len(), |k| k.root);
            keys.push(LineageKey { trusted, root });
        }
        // Revocations first: a revocation only takes trust away, whatever its position, and a
        // rotation must see a revocation `effective` before the rotation's own date.
        let mut retirements: Vec<Retirement> = key_events
            .iter()
            .filter(|(_, e)| e.action == KeyAction::Revoke)
            .map(|(index, e)| Retirement {
                key: e.key.clone(),
                index: *index,
                effective: e.effective,
                how: "revoked",
            })
            .collect();
        let mut refused = Vec::new();
        for (index, event) in key_events {
            if event.action != KeyAction::Rotate {
                continue;
            }
            let Some(previous) = &event.previous else {
                continue;
            };
            // The whole key must match, not just name and 4-byte id: an id collision (about
            // 2^32 tries) must not let a stranger's key inherit trust.
            let Some(old) = keys.iter().find(|k| k.trusted.key == *previous) else {
                continue;
            };
            if !event.endorsement_valid(origin) {
                continue;
            }
            let at = event.header.recorded_at;
            let retired = retirements.iter().find(|r| {
                same(&r.key, previous) && (r.index < *index || r.effective.is_some_and(|e| at >= e))
            });
            if let Some(r) = retired {
                refused.push((
                    *index,
                    format!(
                        "record #{index} rotates {}+{} to {}+{}, but that key was already {} at record #{}: a retired key endorses nothing, so {} gains no trust",
                        previous.name,
                        previous.id_hex(),
                        event.key.name,
                        event.key.id_hex(),
                        r.how,
                        r.index,
                        event.key.name
                    ),
                ));
                continue;
            }
            let root = old.root;
            match keys.iter().find(|k| same(&k.trusted.key, &event.key)) {
                // Already a key of its own (listed in the trust file, or held by the input):
                // endorsed as this key's successor, it is this signer, not another one.
                Some(existing) => {
                    let merged = existing.root;
                    for k in keys.iter_mut().filter(|k| k.root == merged) {
                        k.root = root;
                    }
                }
                None => {
                    let trusted = TrustedKey {
                        key: event.key.clone(),
                        ..old.trusted.clone()
                    };
                    keys.push(LineageKey { trusted, root });
                }
            }
            retirements.push(Retirement {
                key: previous.clone(),
                index: *index,
                effective: None,
                how: "rotated out",
            });
        }
        Signers {
            keys,
            retirements,
            refused,
        }
    }

    /// Checks every signature of one checkpoint and counts distinct lineages among the valid
    /// signers; fewer than `required` is a problem.
    pub(crate) fn evaluate(
        &self,
        note: &SignedNote,
        cp: &Checkpoint,
        required: usize,
        whose: &str,
    ) -> SignatureOutcome {
        let verifiers: Vec<VerifierKey> = self.keys.iter().map(|k| k.trusted.key.clone()).collect();
        let statuses = note.check(&verifiers);
        let mut outcome = SignatureOutcome::default();
        let mut roots: Vec<usize> = Vec::new();
        let mut rejected = Vec::new();
        for (sig, status) in note.signatures.iter().zip(&statuses) {
            let found = self.find(&sig.name, &sig.key_id);
            let label = match (status, found) {
                (SignatureStatus::Valid, Some(k)) if self.retired(&k.trusted.key, cp) => {
                    rejected.push(format!("{} (revoked or rotated out)", sig.name));
                    "revoked"
                }
                (SignatureStatus::Valid, Some(k)) if !k.trusted.valid_at(cp.time) => {
                    rejected.push(format!("{} (outside its validity window)", sig.name));
                    "outside-validity"
                }
                (SignatureStatus::Valid, found) => {
                    if let Some(k) = found {
                        if !roots.contains(&k.root) {
                            roots.push(k.root);
                        }
                    }
                    if !outcome.valid_signers.contains(&sig.name) {
                        outcome.valid_signers.push(sig.name.clone());
                    }
                    "valid"
                }
                (SignatureStatus::Invalid, _) => {
                    outcome.problems.push((
                        "signature-invalid",
                        format!(
                            "the signature by {} (key {}) does not verify: forged, or the checkpoint was altered",
                            sig.name,
                            hex::encode(sig.key_id)
                        ),
                    ));
                    "invalid"
                }
                (SignatureStatus::UnknownKey, _) => "unknown-key",
            };
            outcome.signatures.push(SignatureReport {
                name: sig.name.clone(),
                key_id: hex::encode(sig.key_id),
                signer: found.and_then(|k| k.trusted.signer.clone()),
                status: label,
            });
        }
        outcome.lineages = roots.len();
        if outcome.lineages < required {
            let rejected_note = if rejected.is_empty() {
                String::new()
            } else {
                format!("; rejected: {}", rejected.join(", "))
            };
            let shared = if outcome.valid_signers.len() > outcome.lineages {
                " (keys rotated from one trusted key count as one signer)"
            } else {
                ""
            };
            outcome.problems.push(if outcome.lineages == 0 {
                (
                    "signature-missing",
                    format!("no valid signature by {whose}{rejected_note}"),
                )
            } else {
                (
                    "signatures-insufficient",
                    format!(
                        "{} independent signer(s) among {whose}{shared}, {required} required{rejected_note}",
                        outcome.lineages
                    ),
                )
            });
        }
        outcome
    }

    /// The refused rotations, as warnings for a report.
    pub(crate) fn refusal_warnings(&self) -> impl Iterator<Item = Finding> + '_ {
        self.refused.iter().map(|(index, why)| {
            Finding::warning(
                format!("record #{index}"),
                "key-rotation-refused",
                format!("key-rotation-refused (record #{index}): {why}"),
            )
        })
    }

    /// The lineage (root) of `key`, if it may sign at all: for `key list`.
    pub(crate) fn lineage_of(&self, key: &VerifierKey) -> Option<usize> {
        self.keys
            .iter()
            .find(|k| k.trusted.key == *key)
            .map(|k| k.root)
    }

    /// How `key` was retired, if it was: (log index, effective time, "revoked" or "rotated
    /// out"), earliest first, for `key list`.
    pub(crate) fn retirements_of(
        &self,
        key: &VerifierKey,
    ) -> Vec<(u64, Option<Timestamp>, &'static str)> {
        let mut found: Vec<_> = self
            .retirements
            .iter()
            .filter(|r| same(&r.key, key))
            .map(|r| (r.index, r.effective, r.how))
            .collect();
        found.sort_by_key(|r| r.0);
        found
    }

    /// Whether a valid signature by `key` on `cp` counts (the key was not yet retired).
    pub(crate) fn counts_on(&self, key: &VerifierKey, cp: &Checkpoint) -> bool {
        !self.retired(key, cp)
    }

    fn find(&self, name: &str, id: &[u8; 4]) -> Option<&LineageKey> {
        self.keys
            .iter()
            .find(|k| k.trusted.key.name == name && &k.trusted.key.id == id)
    }

    fn retired(&self, key: &VerifierKey, cp: &Checkpoint) -> bool {
        self.retirements.iter().any(|r| {
            same(&r.key, key) && (cp.size > r.index || r.effective.is_some_and(|e| cp.time >= e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::digest::Digest;
    use crate::core::key::SignerKey;
    use crate::core::record::{key_event_message, Header};

    const ORIGIN: &str = "evidentia/test/lineage";

    fn key(name: &str, seed: u8) -> SignerKey {
        SignerKey::from_seed(name, &[seed; 32]).unwrap()
    }

    fn at(time: &str) -> Timestamp {
        Timestamp::parse_canonical(time).unwrap()
    }

    fn rotate(old: &SignerKey, new: &SignerKey, time: &str) -> KeyRecord {
        let (previous, key) = (old.verifier(), new.verifier());
        let message = key_event_message(ORIGIN, KeyAction::Rotate, &key, Some(&previous));
        KeyRecord {
            header: Header {
                salt: [0; 16],
                recorded_at: at(time),
            },
            action: KeyAction::Rotate,
            key,
            previous: Some(previous),
            endorsement: Some(old.sign(&message)),
            reason: None,
            effective: None,
        }
    }

    fn revoke(key: &SignerKey, time: &str, effective: &str) -> KeyRecord {
        KeyRecord {
            header: Header {
                salt: [0; 16],
                recorded_at: at(time),
            },
            action: KeyAction::Revoke,
            key: key.verifier(),
            previous: None,
            endorsement: None,
            reason: Some("stolen".into()),
            effective: Some(at(effective)),
        }
    }

    /// A checkpoint of `size` records dated `time`, signed by `keys`.
    fn checkpoint(size: u64, time: &str, keys: &[&SignerKey]) -> (SignedNote, Checkpoint) {
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: Digest::of(b"root"),
            number: 1,
            previous: None,
            time: at(time),
            refs: None,
            message: None,
        };
        (SignedNote::sign(&cp.to_text(), keys), cp)
    }

    #[test]
    fn a_key_and_its_successor_are_one_signer_even_where_both_may_sign() {
        let (old, new) = (key("old", 1), key("new", 2));
        let events = [(5, rotate(&old, &new, "2024-01-01T00:00:00Z"))];
        let signers = Signers::new(vec![TrustedKey::new(old.verifier())], &events, ORIGIN);
        // A checkpoint that does not cover the rotation: both signatures are valid...
        let (note, cp) = checkpoint(5, "2024-01-02T00:00:00Z", &[&old, &new]);
        let outcome = signers.evaluate(&note, &cp, 2, "keys in the trust file");
        let statuses: Vec<&str> = outcome.signatures.iter().map(|s| s.status).collect();
        assert_eq!(statuses, ["valid", "valid"]);
        // ...but they are one lineage, not two signers.
        assert_eq!(outcome.lineages, 1);
        assert_eq!(outcome.problems[0].0, "signatures-insufficient");
        assert!(outcome.problems[0].1.contains("count as one signer"));
        assert!(signers
            .evaluate(&note, &cp, 1, "keys in the trust file")
            .problems
            .is_empty());
        // Also when the trust file lists the successor as a key of its own.
        let listed = vec![
            TrustedKey::new(old.verifier()),
            TrustedKey::new(new.verifier()),
        ];
        let signers = Signers::new(listed, &events, ORIGIN);
        assert_eq!(signers.evaluate(&note, &cp, 2, "keys").lineages, 1);
        // Without the rotation they are two signers.
        let listed = vec![
            TrustedKey::new(old.verifier()),
            TrustedKey::new(new.verifier()),
        ];
        let signers = Signers::new(listed, &[], ORIGIN);
        assert_eq!(signers.evaluate(&note, &cp, 2, "keys").lineages, 2);
    }

    #[test]
    fn a_revocation_dated_before_the_rotation_refuses_it_wherever_it_sits() {
        let (old, thief) = (key("old", 1), key("thief", 3));
        // The revocation is logged after the rotation, but says the key was compromised before.
        let events = [
            (2, rotate(&old, &thief, "2024-06-01T00:00:00Z")),
            (
                3,
                revoke(&old, "2024-06-02T00:00:00Z", "2024-05-01T00:00:00Z"),
            ),
        ];
        let signers = Signers::new(vec![TrustedKey::new(old.verifier())], &events, ORIGIN);
        assert_eq!(signers.refused.len(), 1);
        assert!(signers.refused[0]
            .1
            .contains("already revoked at record #3"));
        let (note, cp) = checkpoint(4, "2024-06-03T00:00:00Z", &[&thief]);
        let outcome = signers.evaluate(&note, &cp, 1, "keys in the trust file");
        assert_eq!(outcome.signatures[0].status, "unknown-key");
        assert_eq!(outcome.problems[0].0, "signature-missing");

        // Dated after the rotation, the same revocation leaves the successor its authority.
        let events = [
            (2, rotate(&old, &thief, "2024-06-01T00:00:00Z")),
            (
                3,
                revoke(&old, "2024-06-02T00:00:00Z", "2024-06-02T00:00:00Z"),
            ),
        ];
        let signers = Signers::new(vec![TrustedKey::new(old.verifier())], &events, ORIGIN);
        assert!(signers.refused.is_empty());
        let outcome = signers.evaluate(&note, &cp, 1, "keys in the trust file");
        assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
    }

    #[test]
    fn a_forged_endorsement_or_an_untrusted_previous_key_moves_nothing() {
        let (old, new, stranger) = (key("old", 1), key("new", 2), key("stranger", 4));
        let mut forged = rotate(&old, &new, "2024-01-01T00:00:00Z");
        forged.endorsement = Some([7; 64]);
        let events = [
            (1, forged),
            (2, rotate(&stranger, &new, "2024-01-01T00:00:00Z")),
        ];
        let signers = Signers::new(vec![TrustedKey::new(old.verifier())], &events, ORIGIN);
        let (note, cp) = checkpoint(3, "2024-01-02T00:00:00Z", &[&new, &old]);
        let outcome = signers.evaluate(&note, &cp, 1, "keys in the trust file");
        let statuses: Vec<&str> = outcome.signatures.iter().map(|s| s.status).collect();
        assert_eq!(statuses, ["unknown-key", "valid"], "old was never retired");
    }
}
