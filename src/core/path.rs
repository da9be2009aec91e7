//! Logical paths: the name a document has inside the archive.
//!
//! A logical path is UTF-8 in Unicode Normalization Form C, relative, `/`-separated, with no
//! empty, `.` or `..` components, no backslashes and no control characters. These rules make a
//! path safe to materialise on any file system when a bundle is exported.

use thiserror::Error;
use unicode_normalization::{is_nfc, UnicodeNormalization};

/// Longest logical path accepted, in bytes.
pub const MAX_PATH_LEN: usize = 4096;
/// Longest single component accepted, in bytes.
pub const MAX_COMPONENT_LEN: usize = 255;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PathError {
    #[error("the path is empty")]
    Empty,
    #[error("the path is absolute; logical paths are relative")]
    Absolute,
    #[error("the path has an empty, '.' or '..' component")]
    BadComponent,
    #[error("the path contains a backslash or a control character")]
    BadCharacter,
    #[error("the path is not in Unicode Normalization Form C")]
    NotNfc,
    #[error("the path or one of its components is too long")]
    TooLong,
}

/// Normalises user input to NFC and checks it. For building records.
pub fn normalize(text: &str) -> Result<String, PathError> {
    let nfc: String = text.nfc().collect();
    check(&nfc)?;
    Ok(nfc)
}

/// Checks a logical path read from a record: it must already be valid and in NFC.
pub fn check(path: &str) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if path.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong);
    }
    if path.starts_with('/') {
        return Err(PathError::Absolute);
    }
    if path.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(PathError::BadCharacter);
    }
    for component in path.split('/') {
        if component.is_empty() || component == "." || component == ".." {
            return Err(PathError::BadComponent);
        }
        if component.len() > MAX_COMPONENT_LEN {
            return Err(PathError::TooLong);
        }
    }
    if !is_nfc(path) {
        return Err(PathError::NotNfc);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        assert_eq!(normalize("case/report.txt").unwrap(), "case/report.txt");
        // "e" + combining acute becomes the precomposed character.
        assert_eq!(normalize("caf\u{65}\u{301}.txt").unwrap(), "caf\u{e9}.txt");
    }

    #[test]
    fn rejects_hostile_paths() {
        assert_eq!(check(""), Err(PathError::Empty));
        assert_eq!(check("/etc/passwd"), Err(PathError::Absolute));
        assert_eq!(check("a/../b"), Err(PathError::BadComponent));
        assert_eq!(check(".."), Err(PathError::BadComponent));
        assert_eq!(check("a//b"), Err(PathError::BadComponent));
        assert_eq!(check("a/./b"), Err(PathError::BadComponent));
        assert_eq!(check("a\\b"), Err(PathError::BadCharacter));
        assert_eq!(check("a\nb"), Err(PathError::BadCharacter));
        assert_eq!(check("caf\u{65}\u{301}"), Err(PathError::NotNfc));
        assert_eq!(check(&"a".repeat(300)), Err(PathError::TooLong));
    }
}
