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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The operators' names and labels, common labels cleaned (they cannot replace the two
    /// labels the slice is found by), common annotations, and the family's addresses.
    #[test]
    fn seed_slice_carries_operator_names_labels_and_addresses() {
        let labels = json!({"team": "Data Team", "app.kubernetes.io/name": "mine",
            "kubernetes.io/service-name": "other", "n": 1});
        let annotations = json!({"note": "a b"});
        let t = SeedTarget {
            kc_name: "kc",
            cass_cluster_name: "My Cluster",
            dc_name: "DC1",
            namespace: "ns",
            version: "4.1.5",
            common_labels: Some(&labels),
            common_annotations: Some(&annotations),
        };
        assert_eq!(
            seed_slice(&t, "IPv6", &["2001:db8::1".into()]),
            json!({
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": "kc-mycluster-dc1-additional-seed-service-ipv6",
                    "namespace": "ns",
                    "labels": {
                        "app.kubernetes.io/created-by": "cass-operator",
                        "app.kubernetes.io/instance": "cassandra-MyCluster",
                        "app.kubernetes.io/managed-by": "cass-operator",
                        "app.kubernetes.io/name": "mine",
                        "app.kubernetes.io/version": "4.1.5",
                        "cassandra.datastax.com/cluster": "MyCluster",
                        "cassandra.datastax.com/datacenter": "DC1",
                        "endpointslice.kubernetes.io/managed-by": "k8ssandra-operator",
                        "kubernetes.io/service-name": "mycluster-dc1-additional-seed-service",
                        "team": "DataTeam",
                    },
                    "annotations": {"note": "a b"},
                },
                "addressType": "IPv6",
                "endpoints": [{"addresses": ["2001:db8::1"]}],
            })
        );
        // Empty common annotations are not written; an empty address list is.
        let none = json!({});
        let t = SeedTarget {
            common_labels: None,
            common_annotations: Some(&none),
            ..t
        };
        let slice = seed_slice(&t, "IPv4", &[]);
        assert_eq!(slice["metadata"].get("annotations"), None);
        assert_eq!(slice["endpoints"], json!([{"addresses": []}]));
    }
}
