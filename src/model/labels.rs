//! Label keys of the k8ssandra API that both the renderer (which sets them) and the status
//! reporter (which selects by them) use.

/// `app.kubernetes.io/name`.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";
/// `app.kubernetes.io/part-of`.
pub const PART_OF_LABEL: &str = "app.kubernetes.io/part-of";
/// `app.kubernetes.io/component`.
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
/// `k8ssandra.io/cluster-name`: the K8ssandraCluster an object belongs to.
pub const CLUSTER_NAME_LABEL: &str = "k8ssandra.io/cluster-name";
/// `k8ssandra.io/cluster-namespace`: the namespace of that K8ssandraCluster.
pub const CLUSTER_NAMESPACE_LABEL: &str = "k8ssandra.io/cluster-namespace";
