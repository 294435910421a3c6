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

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::Manifest;

/// Pod-template annotation holding the hash.
pub const CONFIG_HASH_ANNOTATION: &str = "gitops.k8ssandra.io/config-hash";

/// Adds [`CONFIG_HASH_ANNOTATION`] to every CassandraDatacenter among `objects` (one cluster's
/// objects) that mounts at least one of the ConfigMaps among them.
pub fn annotate(objects: &mut [Manifest]) {
    // (context, namespace, name) → the digest of the ConfigMap's data.
    let config_maps: BTreeMap<(String, String, String), [u8; 32]> = objects
        .iter()
        .filter(|m| m.kind() == "ConfigMap")
        .map(|m| {
            let mut content = Map::new();
            for key in ["data", "binaryData"] {
                if let Some(v) = m.object.get(key) {
                    content.insert(key.into(), v.clone());
                }
            }
            (
                (
                    m.context.clone(),
                    m.namespace().to_string(),
                    m.name().to_string(),
                ),
                crate::json::content_digest(&Value::Object(content)),
            )
        })
        .collect();
    for m in objects.iter_mut() {
        if m.kind() != "CassandraDatacenter" {
            continue;
        }
        let names: std::collections::BTreeSet<String> =
            mounted_config_maps(&m.object).into_iter().collect();
        let (context, namespace) = (m.context.clone(), m.namespace().to_string());
        // BTreeMap order: sorted by name, so the volume order does not matter.
        let mounted: Vec<(&String, &[u8; 32])> = config_maps
            .iter()
            .filter(|((c, ns, name), _)| *c == context && *ns == namespace && names.contains(name))
            .map(|((_, _, name), content)| (name, content))
            .collect();
        if mounted.is_empty() {
            continue;
        }
        let mut hasher = Sha256::new();
        for (name, content) in mounted {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(content);
            hasher.update([0]);
        }
        let hash: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let Some(spec) = m.object.get_mut("spec").and_then(Value::as_object_mut) else {
            continue;
        };
        let pod = spec
            .entry("podTemplateSpec")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(pod) = pod.as_object_mut() else {
            continue;
        };
        let meta = pod
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(meta) = meta.as_object_mut() else {
            continue;
        };
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(a) = annotations.as_object_mut() {
            a.insert(CONFIG_HASH_ANNOTATION.into(), hash.into());
        }
    }
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
        let (out, diags) = render_one(yaml, |plan, diags| {
            let mut objects = super::super::datacenter::render_cluster(plan, diags);
            annotate(&mut objects);
            objects
        });
        assert!(diags.is_empty(), "{diags:#?}");
        let dc = out
            .iter()
            .find(|m| m.kind() == "CassandraDatacenter")
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
        let mut objects = vec![Manifest {
            context: "c".into(),
            cluster: "demo".into(),
            object: {
                let mut o = dc.clone();
                o["kind"] = "CassandraDatacenter".into();
                o["metadata"] = serde_json::json!({"name": "dc1", "namespace": "db"});
                o
            },
            raw: None,
            ksops: false,
        }];
        annotate(&mut objects);
        assert!(
            objects[0]
                .object
                .pointer("/spec/podTemplateSpec/metadata")
                .is_none()
        );
        assert_eq!(mounted_config_maps(&dc), ["users-own"]);
    }
}
