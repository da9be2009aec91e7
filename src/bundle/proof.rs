//! Single-document proofs (`prove` / `verify-proof`): placeholder until written.
