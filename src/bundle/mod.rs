//! Hand-over bundles: a self-contained, BagIt-conformant directory (or tar file) holding the
//! disclosed documents and records, one signed checkpoint, and an inclusion proof of every
//! disclosed record in that checkpoint, so a recipient can verify it offline.
//!
//! Layout (docs/FORMAT.md, "Bundles"):
//! ```text
//! bagit.txt  bag-info.txt  manifest-sha256.txt  tagmanifest-sha256.txt   BagIt (RFC 8493)
//! SHA256SUMS                      `sha256sum -c SHA256SUMS` checks every payload file
//! VERIFY.txt                      how to check the bundle by hand
//! verify-bundle.py                the by-hand checker (Python 3 and openssl), docs/verify-bundle.py
//! report.html                     the report for legal staff: one page, or above 1,000 documents
//! report/0001.html …              the entry page and detail pages of 1,000 documents each
//! data/bundle.json                what is disclosed, with inclusion proofs
//! data/checkpoint                 the signed checkpoint (signed-note text)
//! data/keys/<name>+<id>.pub       the signers' public keys
//! data/records/<hex>.cbor         each disclosed record, named by its SHA-256
//! data/documents/<logical path>   the current version of each disclosed path ('%' in a file name
//!                                 is written as U+FF05, since bagit.py does not decode %25)
//! data/versions/<record id>/<path>  older versions, and current ones whose name is taken
//!                                 case-insensitively (layout.rs dictates every place)
//! data/sealed/<record id>.age|.cbor  the hidden fields of each disclosed sealed record (sealed.rs)
//! ```

pub mod bagit;
pub mod completeness;
pub mod encrypted;
pub mod export;
mod inspect;
pub mod layout;
pub mod manifest;
pub mod proof;
pub mod report;
pub mod sealed;
pub mod verify;

pub use inspect::{unpack, unpacked_root};
pub use manifest::BundleManifest;
