//! Typed inputs.
pub mod server;
