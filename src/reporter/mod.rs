//! The status reporter's logic that needs no cluster access (issue: status reporter). The
//! in-cluster process (kube-rs watchers, status writes, seed sync, metrics) builds on these pure
//! functions, which are tested on real status objects.

pub mod rollup;
#[cfg(feature = "reporter")]
pub mod run;
