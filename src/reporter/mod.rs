//! The status reporter (issue: status reporter). [`rollup`] is the pure logic, tested on real
//! status objects; the in-cluster process (feature `reporter`: kube-rs reflectors, status
//! writes, seed sync, metrics) builds on it.

#[cfg(feature = "reporter")]
pub mod error;
#[cfg(feature = "reporter")]
mod http;
#[cfg(feature = "reporter")]
pub mod logging;
#[cfg(feature = "reporter")]
pub mod rollup;
#[cfg(feature = "reporter")]
pub mod run;
#[cfg(feature = "reporter")]
mod watch;
