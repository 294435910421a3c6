//! Typed inputs.
pub mod cluster;
pub mod config;
pub mod server;
