//! C2SP signed notes: a UTF-8 text, a blank line, then one signature line per signer:
//! `— <name> <base64(key id ‖ signature)>`, where the dash is U+2014.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use thiserror::Error;

use super::key::{check_name, KeyError, SignerKey, VerifierKey};

/// Largest note accepted, in bytes.
pub const MAX_NOTE_LEN: usize = 1 << 20;
/// Most signature lines accepted on one note.
pub const MAX_SIGNATURES: usize = 100;
const SIG_PREFIX: &str = "\u{2014} ";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("the note is {len} bytes, over the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("the note contains a control character other than newline")]
    ControlCharacter,
    #[error("no blank line separates the text from the signatures (truncated?)")]
    NoSignatureBlock,
    #[error("the note has no signature lines")]
    Unsigned,
    #[error("the note does not end with a newline (truncated?)")]
    MissingFinalNewline,
    #[error("signature line {line} is malformed: {why}")]
    BadSignatureLine { line: usize, why: String },
    #[error("more than {max} signatures")]
    TooManySignatures { max: usize },
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// One signature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: [u8; 4],
    /// The signature bytes after the key id (64 bytes for Ed25519).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    pub fn to_line(&self) -> String {
        let mut raw = self.key_id.to_vec();
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }
}

/// A note text with its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    /// The signed text, ending in a newline.
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

/// The outcome of checking one signature line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureStatus {
    /// Made by a known key and verified.
    Valid,
    /// Claims a known key (same name and id) but does not verify: forged or damaged.
    Invalid,
    /// No known key has this name and id; ignored, as the signed-note format requires.
    UnknownKey,
}

impl SignedNote {
    pub fn sign(text: &str, signers: &[&SignerKey]) -> SignedNote {
        let signatures = signers
            .iter()
            .map(|s| NoteSignature {
                name: s.name.clone(),
                key_id: s.verifier().id,
                signature: s.sign(text.as_bytes()).to_vec(),
            })
            .collect();
        SignedNote {
            text: text.to_string(),
            signatures,
        }
    }

    pub fn render(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for sig in &self.signatures {
            out.push_str(&sig.to_line());
        }
        out
    }

    pub fn parse(note: &str) -> Result<SignedNote, NoteError> {
        if note.len() > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge {
                len: note.len(),
                max: MAX_NOTE_LEN,
            });
        }
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(NoteError::ControlCharacter);
        }
        if !note.ends_with('\n') {
            return Err(NoteError::MissingFinalNewline);
        }
        let split = note.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let text = &note[..split + 1];
        let block = &note[split + 2..];
        if block.is_empty() {
            return Err(NoteError::Unsigned);
        }
        let mut signatures = Vec::new();
        for (i, line) in block
            .strip_suffix('\n')
            .unwrap_or(block)
            .split('\n')
            .enumerate()
        {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            signatures.push(parse_signature_line(i + 1, line)?);
        }
        Ok(SignedNote {
            text: text.to_string(),
            signatures,
        })
    }

    /// Checks every signature line against `keys`, in order.
    pub fn check(&self, keys: &[VerifierKey]) -> Vec<SignatureStatus> {
        self.signatures
            .iter()
            .map(|sig| {
                let Some(key) = keys
                    .iter()
                    .find(|k| k.name == sig.name && k.id == sig.key_id)
                else {
                    return SignatureStatus::UnknownKey;
                };
                let Ok(bytes) = <[u8; 64]>::try_from(sig.signature.as_slice()) else {
                    return SignatureStatus::Invalid;
                };
                if key.verify(self.text.as_bytes(), &bytes) {
                    SignatureStatus::Valid
                } else {
                    SignatureStatus::Invalid
                }
            })
            .collect()
    }
}

fn parse_signature_line(line_no: usize, line: &str) -> Result<NoteSignature, NoteError> {
    let bad = |why: &str| NoteError::BadSignatureLine {
        line: line_no,
        why: why.into(),
    };
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .ok_or_else(|| bad("it does not start with '\u{2014} '"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| bad("expected a name and a base64 signature"))?;
    check_name(name)?;
    let raw = B64
        .decode(b64)
        .map_err(|_| bad("the signature is not valid base64"))?;
    if B64.encode(&raw) != b64 {
        return Err(bad("the base64 is not in canonical form"));
    }
    if raw.len() < 5 {
        return Err(bad("the signature is shorter than a key id"));
    }
    let mut key_id = [0u8; 4];
    key_id.copy_from_slice(&raw[..4]);
    Ok(NoteSignature {
        name: name.to_string(),
        key_id,
        signature: raw[4..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "example.org/evidence/archive-1\n5\nANIYKaVQMUU0irz3ElE+rPKidCEa2D6XAgK7W22AsoY=\n";
    const SIGNED: &str = "example.org/evidence/archive-1\n5\nANIYKaVQMUU0irz3ElE+rPKidCEa2D6XAgK7W22AsoY=\n\n\u{2014} example-signer s1e3Uws2oYg/yY7DQymdz4/hi5x3e1k8oHQeviYUQOb39/nlqf5ZASkFo6l1LKuSTS0p4A3GQLYE8VHgxZVtvjArIA0=\n";

    fn signer() -> SignerKey {
        let seed: [u8; 32] = core::array::from_fn(|i| i as u8 + 1);
        SignerKey::from_seed("example-signer", &seed).unwrap()
    }

    #[test]
    fn reproduces_go_signed_note() {
        let note = SignedNote::sign(TEXT, &[&signer()]);
        assert_eq!(note.render(), SIGNED);
        let parsed = SignedNote::parse(SIGNED).unwrap();
        assert_eq!(parsed, note);
        assert_eq!(
            parsed.check(&[signer().verifier()]),
            vec![SignatureStatus::Valid]
        );
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics_and_round_trips(text in "\\PC{0,200}", cut in 0usize..200) {
            if let Ok(note) = SignedNote::parse(&text) {
                proptest::prop_assert_eq!(note.render(), text);
            }
            let end = SIGNED.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(SIGNED.len());
            let _ = SignedNote::parse(&SIGNED[..end]);
        }
    }

    #[test]
    fn detects_tampering() {
        let tampered = SIGNED.replace("\n5\n", "\n6\n");
        let parsed = SignedNote::parse(&tampered).unwrap();
        assert_eq!(
            parsed.check(&[signer().verifier()]),
            vec![SignatureStatus::Invalid]
        );
        let other = SignerKey::from_seed("other", &[9; 32]).unwrap();
        assert_eq!(
            parsed.check(&[other.verifier()]),
            vec![SignatureStatus::UnknownKey]
        );
        assert_eq!(SignedNote::parse(TEXT), Err(NoteError::NoSignatureBlock));
        assert_eq!(
            SignedNote::parse(&SIGNED[..SIGNED.len() - 10]),
            Err(NoteError::MissingFinalNewline)
        );
        assert!(SignedNote::parse(&SIGNED.replace('\u{2014}', "-")).is_err());
    }
}
