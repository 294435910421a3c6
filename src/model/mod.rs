//! Typed inputs.
pub mod cluster;
pub mod server;
