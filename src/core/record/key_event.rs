//! The `key` record: a signer key is introduced, rotated (the old key endorses the new one) or
//! revoked (with a reason and the time from which it must no longer be trusted).

use ciborium::value::Value;

use super::fields::{invalid, Entries, Fields};
use super::{Header, RecordError, MAX_NOTE_LEN};
use crate::core::key::VerifierKey;
use crate::core::timestamp::Timestamp;

const KEY_ACTION: u64 = 3;
const KEY_KEY: u64 = 4;
const KEY_PREVIOUS: u64 = 5;
const KEY_ENDORSEMENT: u64 = 6;
const KEY_REASON: u64 = 7;
const KEY_EFFECTIVE: u64 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    Introduce,
    Rotate,
    Revoke,
}

impl KeyAction {
    pub fn as_str(&self) -> &'static str {
        match self {
            KeyAction::Introduce => "introduce",
            KeyAction::Rotate => "rotate",
            KeyAction::Revoke => "revoke",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub header: Header,
    pub action: KeyAction,
    /// The key introduced, rotated to, or revoked.
    pub key: VerifierKey,
    /// Rotation only: the key being replaced.
    pub previous: Option<VerifierKey>,
    /// Introduce: the key's own signature over [`endorsement_message`] (proof of possession).
    /// Rotate: the previous key's signature over it. Revoke: absent.
    pub endorsement: Option<[u8; 64]>,
    /// Revoke only: why.
    pub reason: Option<String>,
    /// Revoke only: from when signatures by the key are no longer accepted.
    pub effective: Option<Timestamp>,
}

/// The bytes an endorsement signs; the first line separates them from anything else a key
/// signs (checkpoints start with the origin line, never with this text).
pub fn endorsement_message(
    origin: &str,
    action: KeyAction,
    key: &VerifierKey,
    previous: Option<&VerifierKey>,
) -> Vec<u8> {
    let mut text = format!(
        "evidentia key endorsement v1\n{origin}\n{}\n{key}\n",
        action.as_str()
    );
    if let Some(previous) = previous {
        text.push_str(&format!("{previous}\n"));
    }
    text.into_bytes()
}

impl KeyRecord {
    pub(super) fn entries(&self) -> Vec<(Value, Value)> {
        let mut e = Entries::default();
        e.text(KEY_ACTION, self.action.as_str())
            .text(KEY_KEY, &self.key.to_string())
            .opt_text(
                KEY_PREVIOUS,
                self.previous.as_ref().map(|k| k.to_string()).as_deref(),
            );
        if let Some(sig) = &self.endorsement {
            e.bytes(KEY_ENDORSEMENT, sig);
        }
        e.opt_text(KEY_REASON, self.reason.as_deref())
            .opt_timestamp(KEY_EFFECTIVE, self.effective);
        e.0
    }

    pub(super) fn decode(header: Header, fields: &mut Fields) -> Result<KeyRecord, RecordError> {
        let action_text = fields.text(KEY_ACTION, "action", 32)?;
        let action = match action_text.as_str() {
            "introduce" => KeyAction::Introduce,
            "rotate" => KeyAction::Rotate,
            "revoke" => KeyAction::Revoke,
            other => {
                return Err(invalid(
                    KEY_ACTION,
                    "action",
                    format!("unknown key action '{other}'"),
                ))
            }
        };
        let parse_key = |key: u64, name: &'static str, text: String| {
            VerifierKey::parse(&text).map_err(|e| invalid(key, name, e.to_string()))
        };
        let key = parse_key(KEY_KEY, "key", fields.text(KEY_KEY, "key", 256)?)?;
        let previous = fields
            .opt_text(KEY_PREVIOUS, "previous", 256)?
            .map(|t| parse_key(KEY_PREVIOUS, "previous", t))
            .transpose()?;
        let endorsement = fields
            .opt_bytes(KEY_ENDORSEMENT, "endorsement")?
            .map(|b| {
                <[u8; 64]>::try_from(b.as_slice())
                    .map_err(|_| invalid(KEY_ENDORSEMENT, "endorsement", "expected 64 bytes"))
            })
            .transpose()?;
        let reason = fields.opt_prose(KEY_REASON, "reason", MAX_NOTE_LEN)?;
        let effective = fields.opt_timestamp(KEY_EFFECTIVE, "effective")?;
        let shape_ok = match action {
            KeyAction::Introduce => {
                previous.is_none()
                    && endorsement.is_some()
                    && reason.is_none()
                    && effective.is_none()
            }
            KeyAction::Rotate => {
                previous.is_some()
                    && endorsement.is_some()
                    && reason.is_none()
                    && effective.is_none()
            }
            KeyAction::Revoke => {
                previous.is_none()
                    && endorsement.is_none()
                    && reason.is_some()
                    && effective.is_some()
            }
        };
        if !shape_ok {
            return Err(invalid(
                KEY_ACTION,
                "action",
                format!(
                    "a '{action_text}' key record has the wrong fields (introduce: key + endorsement; rotate: key + previous + endorsement; revoke: key + reason + effective)"
                ),
            ));
        }
        Ok(KeyRecord {
            header,
            action,
            key,
            previous,
            endorsement,
            reason,
            effective,
        })
    }

    /// Checks the endorsement signature (introduce and rotate); true for revocations.
    pub fn endorsement_valid(&self, origin: &str) -> bool {
        let message = endorsement_message(origin, self.action, &self.key, self.previous.as_ref());
        match (self.action, &self.endorsement) {
            (KeyAction::Introduce, Some(sig)) => self.key.verify(&message, sig),
            (KeyAction::Rotate, Some(sig)) => self
                .previous
                .as_ref()
                .is_some_and(|old| old.verify(&message, sig)),
            (KeyAction::Revoke, None) => true,
            _ => false,
        }
    }
}
