//! Integration tests: the real binary against fixture repositories, real validators. The
//! per-fixture cases (render, invalid and conformance corpus fixtures) are in `fixtures.rs`.

#[cfg(feature = "reporter")]
mod apiserver;
mod argocd;
mod argocd_cmp;
mod determinism;
mod diagnostics;
mod examples;
// Uses the API server harness of `apiserver`, which is compiled with the reporter.
#[cfg(feature = "reporter")]
mod flux_controller;
mod flux_health;
#[allow(dead_code)] // Shared with the `fixtures` binary, which uses the rest of it.
mod harness;
mod inputs;
mod krm;
mod layers;
mod library;
mod output_safety;
mod plaintext_secrets;
#[cfg(feature = "git")]
mod plan;
mod precommit;
mod sops;
mod writes;
