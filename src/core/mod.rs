//! The pure core: everything that is hashed or signed, with no I/O.
//!
//! Every byte that `docs/FORMAT.md` specifies is produced and checked here.

pub mod cbor;
pub mod checkpoint;
pub mod cosignature;
pub mod digest;
pub mod key;
pub mod merkle;
pub mod note;
pub mod path;
pub mod record;
pub mod refmap;
pub mod timestamp;
