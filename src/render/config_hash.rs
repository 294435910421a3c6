//! A content hash of the ConfigMaps we generate, on the pod template of every CassandraDatacenter
//! that mounts them (DESIGN.md: "a config change rolls the pods").
//!
//! cass-operator mounts ConfigMaps by reference, so a changed `medusa.ini`, `vector.toml` or
//! metrics-agent file would otherwise only reach the pods at their next restart. A changed
//! pod-template annotation makes cass-operator roll the StatefulSets, which is what a GitOps
//! user expects from committing a config change. The control plane has no such hash (it
//! relies on its own `resource-hash` bookkeeping), so this is listed in docs/deviations.md.
//!
//! Only ConfigMaps rendered by us for the same cluster, context and namespace count: a user's
//! own ConfigMap is not in the repository, so it cannot be hashed offline.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Pod-template annotation holding the hash.
pub const CONFIG_HASH_ANNOTATION: &str = "gitops.k8ssandra.io/config-hash";

/// The digest of a ConfigMap's content (`data`), the form the hash is built from.
#[must_use]
pub fn content_digest(data: &Value) -> [u8; 32] {
    let mut content = Map::new();
    content.insert("data".into(), data.clone());
    crate::json::content_digest(&Value::Object(content))
}

/// The hash for a CassandraDatacenter `dc` (the object as built): over the name and content
/// digest of each of `ours` (ConfigMaps rendered for the cluster in the DC's context and
/// namespace, by name) that it mounts, in name order so that the volume order does not matter.
/// `None` when it mounts none of them.
#[must_use]
pub fn pod_config_hash(dc: &Value, ours: &BTreeMap<String, [u8; 32]>) -> Option<String> {
    let names: BTreeSet<String> = mounted_config_maps(dc).into_iter().collect();
    let mut hasher = Sha256::new();
    let mut any = false;
    for (name, content) in ours.iter().filter(|(n, _)| names.contains(*n)) {
        any = true;
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(content);
        hasher.update([0]);
    }
    any.then(|| {
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// Names of the ConfigMaps a CassandraDatacenter mounts: pod volumes (plain and projected) and
/// `storageConfig.additionalVolumes`.
pub(crate) fn mounted_config_maps(dc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut from_source = |source: &Value| {
        if let Some(n) = source.pointer("/configMap/name").and_then(Value::as_str) {
            out.push(n.to_string());
        }
        if let Some(sources) = source
            .pointer("/projected/sources")
            .and_then(Value::as_array)
        {
            for s in sources {
                if let Some(n) = s.pointer("/configMap/name").and_then(Value::as_str) {
                    out.push(n.to_string());
                }
            }
        }
    };
    let list = |p: &str| {
        dc.pointer(p)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    for v in list("/spec/podTemplateSpec/spec/volumes") {
        from_source(&v);
    }
    for v in list("/spec/storageConfig/additionalVolumes") {
        if let Some(s) = v.get("volumeSource") {
            from_source(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::render_one;

    const CLUSTER: &str = r"
metadata: {name: demo, namespace: db}
spec:
  cassandra:
    serverVersion: 4.1.5
    storageConfig: {cassandraDataVolumeClaimSpec: {storageClassName: standard}}
    telemetry: {vector: {enabled: true}}
    datacenters:
      - metadata: {name: dc1}
        size: 3
";

    fn hash_of(yaml: &str) -> (String, Value) {
        let (out, diags) = render_one(yaml, super::super::datacenter::render_cluster);
        assert!(diags.is_empty(), "{diags:#?}");
        let dc = out
            .iter()
            .find(|m| m.kind() == crate::render::Kind::CassandraDatacenter)
            .expect("a DC")
            .object
            .clone();
        let hash = dc
            .pointer("/spec/podTemplateSpec/metadata/annotations")
            .and_then(|a| a.get(CONFIG_HASH_ANNOTATION))
            .and_then(Value::as_str)
            .expect("hash annotation")
            .to_string();
        (hash, dc)
    }

    #[test]
    fn a_config_change_changes_the_hash_and_nothing_else_in_the_dc() {
        let (h1, dc1) = hash_of(CLUSTER);
        let (h1_again, _) = hash_of(CLUSTER);
        assert_eq!(h1, h1_again, "same input, same hash");
        assert_eq!(h1.len(), 64);
        // Only vector.toml changes (a raw config line); the DC spec is otherwise identical.
        let changed = CLUSTER.replace(
            "vector: {enabled: true}",
            "vector: {enabled: true, config: \"[api]\"}",
        );
        let (h2, dc2) = hash_of(&changed);
        assert_ne!(h1, h2);
        let strip = |mut v: Value| {
            v.pointer_mut("/spec/podTemplateSpec/metadata/annotations")
                .and_then(Value::as_object_mut)
                .unwrap()
                .remove(CONFIG_HASH_ANNOTATION);
            v
        };
        assert_eq!(strip(dc1), strip(dc2));
    }

    #[test]
    fn metrics_agent_changes_roll_the_pods_too() {
        let (h1, _) = hash_of(CLUSTER);
        let relabel = CLUSTER.replace(
            "telemetry: {vector: {enabled: true}}",
            "telemetry: {vector: {enabled: true}, cassandra: {relabels: []}}",
        );
        let (h2, _) = hash_of(&relabel);
        assert_ne!(h1, h2);
    }

    #[test]
    fn user_config_maps_are_not_ours_to_hash() {
        let dc = serde_json::json!({
            "spec": {"podTemplateSpec": {"spec": {"volumes": [
                {"name": "u", "configMap": {"name": "users-own"}}
            ]}}}
        });
        let digest = content_digest(&serde_json::json!({"k": "v"}));
        let ours = BTreeMap::from([("ours".to_string(), digest)]);
        assert_eq!(pod_config_hash(&dc, &ours), None);
        let both = BTreeMap::from([
            ("ours".to_string(), digest),
            ("users-own".to_string(), digest),
        ]);
        assert!(
            pod_config_hash(&dc, &both).is_some(),
            "a mounted one of ours counts"
        );
        assert_eq!(mounted_config_maps(&dc), ["users-own"]);
    }
}
