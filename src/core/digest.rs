//! SHA-256 digests.
//!
//! Hashing goes through aws-lc-rs: on CPUs without SHA extensions its assembly ran 1.5–1.7×
//! faster than the `sha2` crate's portable code and matched `openssl dgst -sha256`; with SHA
//! extensions the two crates are equally fast (docs/PERFORMANCE.md).

use std::fmt;

use aws_lc_rs::digest;

/// Length in bytes of a SHA-256 digest.
pub const DIGEST_LEN: usize = 32;

/// A SHA-256 digest. Displayed as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; DIGEST_LEN]);

impl Digest {
    /// SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        let mut hasher = Hasher::new();
        hasher.update(bytes);
        hasher.finish()
    }

    /// SHA-256 over the concatenation of `parts`.
    pub fn of_parts(parts: &[&[u8]]) -> Digest {
        let mut hasher = Hasher::new();
        for part in parts {
            hasher.update(part);
        }
        hasher.finish()
    }

    pub fn as_bytes(&self) -> &[u8; DIGEST_LEN] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        // Through a fixed buffer: `hex::encode`'s char iterator showed up in profiles of
        // large ingests, where every index and pack line formats several digests.
        let mut buf = [0u8; DIGEST_LEN * 2];
        match hex::encode_to_slice(self.0, &mut buf) {
            Ok(()) => String::from_utf8_lossy(&buf).into_owned(),
            Err(_) => hex::encode(self.0),
        }
    }

    /// `sha256:<hex>`, the form shown to users.
    pub fn to_prefixed(&self) -> String {
        format!("sha256:{}", self.to_hex())
    }

    /// Parses exactly 64 lowercase or uppercase hex digits, with or without a `sha256:` prefix.
    pub fn from_hex(text: &str) -> Option<Digest> {
        let text = text.strip_prefix("sha256:").unwrap_or(text);
        if text.len() != DIGEST_LEN * 2 {
            return None;
        }
        let mut out = [0u8; DIGEST_LEN];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Digest(out))
    }

    /// Parses exactly 64 lowercase hex digits (the form evidentia writes in its own files),
    /// without allocating: used on millions of index lines.
    pub fn from_lower_hex(text: &[u8]) -> Option<Digest> {
        if text.len() != DIGEST_LEN * 2 {
            return None;
        }
        let mut out = [0u8; DIGEST_LEN];
        for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
            *byte = (lower_hex(pair[0])? << 4) | lower_hex(pair[1])?;
        }
        Some(Digest(out))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Digest> {
        <[u8; DIGEST_LEN]>::try_from(bytes).ok().map(Digest)
    }
}

/// The value of a lowercase hex digit.
pub fn lower_hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

/// Incremental SHA-256, for streaming content of any size in constant memory.
pub struct Hasher {
    context: digest::Context,
}

impl Hasher {
    pub fn new() -> Hasher {
        Hasher {
            context: digest::Context::new(&digest::SHA256),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.context.update(bytes);
    }

    pub fn finish(self) -> Digest {
        let out = self.context.finish();
        let mut bytes = [0u8; DIGEST_LEN];
        bytes.copy_from_slice(out.as_ref());
        Digest(bytes)
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        assert_eq!(
            Digest::of(b"").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            Digest::of(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Digest::of_parts(&[b"a", b"bc"]), Digest::of(b"abc"));
    }

    #[test]
    fn hex_round_trip_and_rejects() {
        let d = Digest::of(b"x");
        assert_eq!(Digest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(Digest::from_hex(&d.to_prefixed()), Some(d));
        assert_eq!(Digest::from_hex("abcd"), None);
        assert_eq!(Digest::from_hex(&"zz".repeat(32)), None);
    }
}
