//! The hidden fields of disclosed sealed annotations and custody events in a bundle (FORMAT.md
//! §23.10, "Bundles"): one file per sealed record, at a place its record id and form dictate,
//! so the exporter and every verifier agree on it and no file can stand in for another record's.

use crate::core::digest::Digest;

/// The area of sealed-fields files.
pub const SEALED_AREA: &str = "data/sealed/";

/// The forms a sealed record's fields travel in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The archive's ciphertext object itself (no identity at export).
    Stored,
    /// The hidden-fields plaintext, decrypted by the exporter (`export --identity`).
    Clear,
    /// That plaintext encrypted to the bundle's recipients (`--identity --encrypt-to`).
    Encrypted,
}

impl Form {
    pub fn name(self) -> &'static str {
        match self {
            Form::Stored => "stored",
            Form::Clear => "clear",
            Form::Encrypted => "encrypted",
        }
    }

    pub fn parse(text: &str) -> Option<Form> {
        [Form::Stored, Form::Clear, Form::Encrypted]
            .into_iter()
            .find(|f| f.name() == text)
    }

    /// The dictated file of `record`'s fields in this form.
    pub fn file(self, record: &Digest) -> String {
        let ext = match self {
            Form::Clear => "cbor",
            Form::Stored | Form::Encrypted => "age",
        };
        format!("{SEALED_AREA}{record}.{ext}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_has_one_name_and_one_place_per_record() {
        let record = Digest::of(b"record");
        for form in [Form::Stored, Form::Clear, Form::Encrypted] {
            assert_eq!(Form::parse(form.name()), Some(form));
            assert!(form.file(&record).starts_with(SEALED_AREA));
            assert!(form.file(&record).contains(&record.to_hex()));
        }
        assert_eq!(Form::parse("Stored"), None);
        assert!(Form::Clear.file(&record).ends_with(".cbor"));
        assert!(Form::Encrypted.file(&record).ends_with(".age"));
    }
}
