//! Typed inputs.
pub mod cluster;
pub mod config;
pub mod operations;
pub mod secret;
pub mod server;
