//! Integration tests: the real binary against fixture repositories, real validators.

mod apiserver;
mod argocd;
mod conformance;
mod determinism;
mod diagnostics;
mod examples;
mod harness;
mod krm;
mod layers;
mod output_safety;
mod plaintext_secrets;
mod plan;
mod precommit;
mod render_fixtures;
mod sops;
mod writes;
