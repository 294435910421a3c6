//! Typed inputs.
pub mod cluster;
pub mod config;
pub mod labels;
pub mod operations;
pub mod secret;
pub mod server;
