//! evidentia: seal evidence into an append-only, content-addressed, signed archive.
//!
//! Layers, bottom up:
//! - [`core`]: pure code with no I/O — digests, canonical CBOR, records, the Merkle tree and its
//!   proofs, checkpoint text, signed notes and keys.
//! - [`archive`]: the on-disk archive — object store, log, path index, checkpoints, and the
//!   operations `init`, `add`, `seal`, `verify` and the read-only queries.
//! - [`keyfile`] and [`trust`]: secret key files (encrypted at rest) and trust files.
#![forbid(unsafe_code)]

pub mod archive;
pub mod audit;
pub mod bundle;
pub mod core;
pub mod crypt;
pub mod error;
pub mod keyfile;
pub mod progress;
pub mod remote;
pub mod term;
pub mod timestamp;
pub mod trust;
pub mod verdict;
pub mod verification;

pub use error::{Error, Result};
