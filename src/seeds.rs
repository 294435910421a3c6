//! Additional-seed EndpointSlices (control-plane §4.5): one object builder shared by the
//! renderer (static `additionalSeeds`) and the status reporter's seed sync (pod IPs of the other
//! datacenters), so both write the same names and labels.

use std::collections::BTreeMap;

use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};
use serde_json::Value;

use crate::json::{object_meta, to_object};
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
    let cluster = clean_label_value(t.cass_cluster_name);
    let mut labels: BTreeMap<String, String> = [
        ("cassandra.datastax.com/cluster", cluster.clone()),
        (
            "cassandra.datastax.com/datacenter",
            clean_label_value(t.dc_name),
        ),
        ("app.kubernetes.io/managed-by", "cass-operator".into()),
        ("app.kubernetes.io/name", "cassandra".into()),
        ("app.kubernetes.io/version", t.version.into()),
        ("app.kubernetes.io/instance", format!("cassandra-{cluster}")),
        ("app.kubernetes.io/created-by", "cass-operator".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    // Common labels may override the operator's, but not the two the slice is found by.
    labels.extend(strings(t.common_labels).map(|(k, v)| (k.clone(), clean_label_value(v))));
    labels.insert("kubernetes.io/service-name".into(), service.clone());
    labels.insert(
        "endpointslice.kubernetes.io/managed-by".into(),
        "k8ssandra-operator".into(),
    );
    let annotations = strings(t.common_annotations)
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    let name = format!("{}-{service}-{}", t.kc_name, family.to_ascii_lowercase());
    to_object(&EndpointSlice {
        metadata: object_meta(name, Some(t.namespace), labels, annotations),
        address_type: family.to_string(),
        endpoints: Some(vec![Endpoint {
            addresses: addresses.to_vec(),
            ..Endpoint::default()
        }]),
        ..EndpointSlice::default()
    })
}

/// The string members of a JSON object (label and annotation maps; the schema allows nothing
/// else there).
fn strings(v: Option<&Value>) -> impl Iterator<Item = (&String, &str)> {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k, v.as_str()?)))
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
