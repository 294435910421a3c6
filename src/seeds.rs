//! Additional-seed EndpointSlices (control-plane §4.5): one object builder shared by the
//! renderer (static `additionalSeeds`) and the status reporter's seed sync (pod IPs of the other
//! datacenters), so both write the same names and labels.

use serde_json::{Map, Value, json};

use crate::ports::names::{clean_label_value, cleanup_for_kubernetes};

/// `Some(true)` for IPv4 (and IPv4-mapped IPv6), `Some(false)` for IPv6, `None` for anything
/// that is not an IP address (host names are ignored upstream).
#[must_use]
pub fn split_ip(s: &str) -> Option<bool> {
    match s.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(_) => Some(true),
        std::net::IpAddr::V6(ip) => Some(ip.to_ipv4_mapped().is_some()),
    }
}

/// The datacenter an additional-seed EndpointSlice belongs to.
#[derive(Debug, Clone, Copy)]
pub struct SeedTarget<'a> {
    /// K8ssandraCluster name.
    pub kc_name: &'a str,
    /// Cassandra cluster name (unsanitized).
    pub cass_cluster_name: &'a str,
    /// CassandraDatacenter object name.
    pub dc_name: &'a str,
    /// Its namespace.
    pub namespace: &'a str,
    /// Its serverVersion.
    pub version: &'a str,
    /// Merged `metadata.commonLabels` of the datacenter.
    pub common_labels: Option<&'a Value>,
    /// Merged `metadata.commonAnnotations` of the datacenter.
    pub common_annotations: Option<&'a Value>,
}

/// One additional-seed EndpointSlice (§4.5): `<kc>-<seed service>-ipv4|ipv6`, with the labels
/// cass-operator and k8ssandra-operator put on it. Shared by the renderer (static seeds) and the
/// reporter's seed sync (pod IPs of the other datacenters).
#[must_use]
pub fn seed_slice(t: &SeedTarget<'_>, family: &str, addresses: &[String]) -> Value {
    let service = format!(
        "{}-{}-additional-seed-service",
        cleanup_for_kubernetes(t.cass_cluster_name),
        cleanup_for_kubernetes(t.dc_name)
    );
    let mut labels = Map::new();
    labels.insert(
        "cassandra.datastax.com/cluster".into(),
        clean_label_value(t.cass_cluster_name).into(),
    );
    labels.insert(
        "cassandra.datastax.com/datacenter".into(),
        clean_label_value(t.dc_name).into(),
    );
    labels.insert(
        "app.kubernetes.io/managed-by".into(),
        "cass-operator".into(),
    );
    labels.insert("app.kubernetes.io/name".into(), "cassandra".into());
    labels.insert("app.kubernetes.io/version".into(), t.version.into());
    labels.insert(
        "app.kubernetes.io/instance".into(),
        format!("cassandra-{}", clean_label_value(t.cass_cluster_name)).into(),
    );
    labels.insert(
        "app.kubernetes.io/created-by".into(),
        "cass-operator".into(),
    );
    if let Some(Value::Object(common)) = t.common_labels {
        for (k, v) in common {
            if let Some(v) = v.as_str() {
                labels.insert(k.clone(), clean_label_value(v).into());
            }
        }
    }
    labels.insert("kubernetes.io/service-name".into(), service.clone().into());
    labels.insert(
        "endpointslice.kubernetes.io/managed-by".into(),
        "k8ssandra-operator".into(),
    );
    let mut metadata = json!({
        "name": format!("{}-{service}-{}", t.kc_name, family.to_ascii_lowercase()),
        "namespace": t.namespace,
        "labels": labels,
    });
    if let Some(a) = t
        .common_annotations
        .filter(|a| a.as_object().is_some_and(|m| !m.is_empty()))
    {
        metadata["annotations"] = a.clone();
    }
    json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": metadata,
        "addressType": family,
        "endpoints": [{"addresses": addresses}],
    })
}
