//! Audits: comparing two versions of an archive, proving that the later one only appended,
//! witness cosigning, and evidence of equivocation (two signed histories that cannot both be
//! true).

pub mod authenticate;
pub mod consistency;
pub mod diff;
pub mod equivocation;
pub mod source;
pub mod witness;
