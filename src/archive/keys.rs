//! The archive's keys as `key list` shows them: every key that its key records or `keys/`
//! name, with its lineage, its key events and the checkpoints it signed.
//!
//! Lineage and retirement follow the verifier's own rule (`verification::lineage`), with every
//! key the archive names taken as a root: this is the archive's account of its keys, before
//! any trust file. A key rotated to from another shares that key's lineage number.

use crate::core::digest::Digest;
use crate::core::key::VerifierKey;
use crate::core::note::SignatureStatus;
use crate::core::record::{KeyAction, KeyRecord, Record};
use crate::core::timestamp::Timestamp;
use crate::error::Result;
use crate::trust::TrustedKey;
use crate::verification::lineage::Signers;

use super::{query, Archive};

/// What a key record says about one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEventRole {
    /// The key was introduced (self-signed).
    Introduced,
    /// The key was rotated to, from `other`.
    RotatedFrom,
    /// The key was rotated out, to `other`.
    RotatedTo,
    Revoked,
}

impl KeyEventRole {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyEventRole::Introduced => "introduced",
            KeyEventRole::RotatedFrom => "rotated-from",
            KeyEventRole::RotatedTo => "rotated-to",
            KeyEventRole::Revoked => "revoked",
        }
    }
}

#[derive(Debug, Clone)]
pub struct KeyEvent {
    pub index: u64,
    pub id: Digest,
    pub role: KeyEventRole,
    pub recorded_at: Timestamp,
    /// The key at the other end of a rotation.
    pub other: Option<VerifierKey>,
    pub reason: Option<String>,
    pub effective: Option<Timestamp>,
    /// False for a rotation whose endorsement does not verify, or that a retired key signed:
    /// it passes no authority (verify reports it).
    pub accepted: bool,
}

/// A key's state at the end of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Active,
    RotatedOut,
    Revoked,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::RotatedOut => "rotated-out",
            KeyState::Revoked => "revoked",
        }
    }
}

/// A checkpoint with a valid signature by the key; `counts` is false when the key was already
/// retired for it (verify rejects that signature).
#[derive(Debug, Clone, Copy)]
pub struct SignedCheckpoint {
    pub number: u64,
    pub counts: bool,
}

#[derive(Debug, Clone)]
pub struct KeyView {
    pub key: VerifierKey,
    /// 1-based; keys joined by accepted rotations share a number.
    pub lineage: usize,
    pub state: KeyState,
    /// From when the key stops counting: its earliest retirement's effective time, if given.
    pub retired_effective: Option<Timestamp>,
    /// The log index of its earliest retirement.
    pub retired_at: Option<u64>,
    pub events: Vec<KeyEvent>,
    pub signed: Vec<SignedCheckpoint>,
}

/// Every key of the archive, in order of first mention (log, then `keys/`).
pub fn list(archive: &Archive) -> Result<Vec<KeyView>> {
    let key_events: Vec<(u64, Digest, KeyRecord)> = query::records(archive)?
        .into_iter()
        .filter_map(|logged| match logged.record {
            Record::Key(key) => Some((logged.index, logged.id, *key)),
            _ => None,
        })
        .collect();
    let mut keys: Vec<VerifierKey> = Vec::new();
    let mut note = |key: &VerifierKey| {
        if !keys.contains(key) {
            keys.push(key.clone());
        }
    };
    for (_, _, event) in &key_events {
        if let Some(previous) = &event.previous {
            note(previous);
        }
        note(&event.key);
    }
    let mut known = archive.known_keys()?;
    known.sort_by_key(|k| k.to_string());
    for key in &known {
        note(key);
    }
    let origin = archive.origin();
    let indexed: Vec<(u64, KeyRecord)> = key_events
        .iter()
        .map(|(index, _, event)| (*index, event.clone()))
        .collect();
    let signers = Signers::new(
        keys.iter().cloned().map(TrustedKey::new).collect(),
        &indexed,
        origin,
    );
    let checkpoints = query::checkpoints(archive)?;
    let mut roots: Vec<usize> = Vec::new();
    let mut views = Vec::with_capacity(keys.len());
    for key in &keys {
        let root = signers.lineage_of(key).unwrap_or(usize::MAX);
        let lineage = match roots.iter().position(|r| *r == root) {
            Some(i) => i + 1,
            None => {
                roots.push(root);
                roots.len()
            }
        };
        let retirements = signers.retirements_of(key);
        let state = if retirements.iter().any(|r| r.2 == "revoked") {
            KeyState::Revoked
        } else if retirements.is_empty() {
            KeyState::Active
        } else {
            KeyState::RotatedOut
        };
        let events = key_events
            .iter()
            .filter_map(|(index, id, event)| event_about(key, *index, *id, event, &signers, origin))
            .collect();
        let signed = checkpoints
            .iter()
            .filter(|cp| {
                let statuses = cp.note.check(std::slice::from_ref(key));
                statuses.contains(&SignatureStatus::Valid)
            })
            .map(|cp| SignedCheckpoint {
                number: cp.checkpoint.number,
                counts: signers.counts_on(key, &cp.checkpoint),
            })
            .collect();
        views.push(KeyView {
            key: key.clone(),
            lineage,
            state,
            retired_effective: retirements.iter().find_map(|r| r.1),
            retired_at: retirements.first().map(|r| r.0),
            events,
            signed,
        });
    }
    Ok(views)
}

/// What the key record at `index` says about `key`, if anything.
fn event_about(
    key: &VerifierKey,
    index: u64,
    id: Digest,
    event: &KeyRecord,
    signers: &Signers,
    origin: &str,
) -> Option<KeyEvent> {
    let is_previous = event.previous.as_ref() == Some(key);
    let role = match event.action {
        KeyAction::Introduce if event.key == *key => KeyEventRole::Introduced,
        KeyAction::Revoke if event.key == *key => KeyEventRole::Revoked,
        KeyAction::Rotate if event.key == *key => KeyEventRole::RotatedFrom,
        KeyAction::Rotate if is_previous => KeyEventRole::RotatedTo,
        _ => return None,
    };
    let other = match role {
        KeyEventRole::RotatedFrom => event.previous.clone(),
        KeyEventRole::RotatedTo => Some(event.key.clone()),
        _ => None,
    };
    let refused = signers.refused.iter().any(|(i, _)| *i == index);
    Some(KeyEvent {
        index,
        id,
        role,
        recorded_at: event.header.recorded_at,
        other,
        reason: event.reason.clone(),
        effective: event.effective,
        accepted: event.endorsement_valid(origin) && !refused,
    })
}
