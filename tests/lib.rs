//! Integration tests: the real binary against fixture repositories, real validators.

#[cfg(feature = "reporter")]
mod apiserver;
mod argocd;
mod argocd_cmp;
mod conformance;
mod determinism;
mod diagnostics;
mod examples;
// Uses the API server harness of `apiserver`, which is compiled with the reporter.
#[cfg(feature = "reporter")]
mod flux_controller;
mod flux_health;
mod harness;
mod inputs;
mod krm;
mod layers;
mod output_safety;
mod plaintext_secrets;
#[cfg(feature = "git")]
mod plan;
mod precommit;
mod render_fixtures;
mod sops;
mod writes;
