//! k8ssandra-gitops: render K8ssandraCluster specs into plain manifests, one tree per cluster.
pub mod model;
pub mod yaml;
pub mod emit;
pub mod merge;
