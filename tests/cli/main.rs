//! The integration test binary: drives the real `evidentia` executable on real files in
//! temporary directories. One binary, topical modules.

mod common;

mod cluster;

mod annotations;
mod archive;
mod attacks_encryption;
mod audits;
mod bundles;
mod cli_extras;
mod crash;
mod encrypted_notes;
mod encrypted_proofs;
mod encryption;
mod faults;
mod faults_export;
mod format_rules;
mod sealed_copies;

mod habits;
mod handcheck;
mod hostile;
mod hostile_files;
mod json_convention;
mod keys;
mod kind_index;
mod metadata;
mod names;
mod outputs;
mod packs;
mod proofs;
mod readme;
mod refmap_vectors;
mod report_core;
mod state;
mod tamper;
mod timestamps;
mod title;
mod vectors;
