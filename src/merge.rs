//! The cluster → datacenter merge of k8ssandra-operator (goalesce `MergeCRs`), on JSON values.
//!
//! Upstream merges typed Go structs; the rules depend on the Go type of each field. We merge the
//! JSON form and recover the type-dependent rules from the field name (keyed lists) and from a
//! short list of fields whose Go type is a plain `bool` (where `false` is the zero value and
//! never overrides). See spec control-plane §1.7.

use serde_json::{Map, Value};

/// Lists merged element-wise by a key field; every other list is replaced wholesale by a DC list.
fn list_merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers" | "initContainers" | "env" | "volumes" | "racks" | "additionalVolumes"
        | "pvcs" => Some("name"),
        "ports" => Some("containerPort"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        _ => None,
    }
}

/// Fields that are a plain Go `bool` (not `*bool`): a DC `false` does not override `true`.
fn is_plain_bool(field: &str) -> bool {
    matches!(
        field,
        "analyticsEnabled"
            | "graphEnabled"
            | "searchEnabled"
            | "stdin"
            | "stdinOnce"
            | "tty"
            | "readOnly"
            | "skipSecretValidation"
    )
}

/// Keys of a `corev1.Volume` that hold its (one-of) source; the source is replaced atomically.
fn is_volume_source_key(key: &str) -> bool {
    key != "name"
}

#[derive(Clone, Copy)]
struct Ctx<'a> {
    /// The field name that holds the value being merged.
    field: &'a str,
    /// Inside `cassandraYaml`/`dseYaml`: untyped values, every list atomic, zero scalars lose.
    free: bool,
    /// The elements being merged are `corev1.Volume`s.
    volume: bool,
}

fn is_zero(v: &Value, ctx: Ctx<'_>) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Bool(b) => !b && (ctx.free || is_plain_bool(ctx.field)),
        Value::Object(_) | Value::Array(_) => false,
    }
}

/// Merges `dc` over `cluster` (DC wins) with upstream's rules.
#[must_use]
pub fn merge(cluster: &Value, dc: &Value) -> Value {
    merge_in(
        cluster,
        dc,
        Ctx {
            field: "",
            free: false,
            volume: false,
        },
    )
}

fn merge_in(cluster: &Value, dc: &Value, ctx: Ctx<'_>) -> Value {
    match (cluster, dc) {
        (c, d) if is_zero(d, ctx) => {
            if c.is_null() {
                d.clone()
            } else {
                c.clone()
            }
        }
        (Value::Null, d) => d.clone(),
        (Value::Object(c), Value::Object(d)) => Value::Object(merge_objects(c, d, ctx)),
        (Value::Array(c), Value::Array(d)) if !ctx.free => match list_merge_key(ctx.field) {
            Some(key) => Value::Array(merge_keyed(c, d, key, ctx)),
            None => dc.clone(),
        },
        (_, d) => d.clone(),
    }
}

fn merge_objects(
    c: &Map<String, Value>,
    d: &Map<String, Value>,
    ctx: Ctx<'_>,
) -> Map<String, Value> {
    let mut out = Map::new();
    // A Volume's source is a one-of: a DC source replaces the cluster's entirely.
    let dc_has_source = ctx.volume && d.keys().any(|k| is_volume_source_key(k));
    for (k, cv) in c {
        if dc_has_source && is_volume_source_key(k) {
            continue;
        }
        let child = Ctx {
            field: k,
            free: ctx.free || k == "cassandraYaml" || k == "dseYaml",
            volume: k == "volumes",
        };
        let merged = match d.get(k) {
            Some(dv) if k == "valueFrom" && !dv.is_null() => dv.clone(), // EnvVarSource is atomic
            Some(dv) => merge_in(cv, dv, child),
            None => cv.clone(),
        };
        out.insert(k.clone(), merged);
    }
    for (k, dv) in d {
        if !c.contains_key(k) && !dv.is_null() {
            out.insert(k.clone(), dv.clone());
        }
    }
    // EnvVar: when both `value` and `valueFrom` survive, the side that set it on the DC wins.
    if ctx.field == "env" && out.contains_key("value") && out.contains_key("valueFrom") {
        if d.contains_key("valueFrom") {
            out.remove("value");
        } else {
            out.remove("valueFrom");
        }
    }
    out
}

fn merge_keyed(c: &[Value], d: &[Value], key: &str, ctx: Ctx<'_>) -> Vec<Value> {
    let key_of = |v: &Value| v.get(key).cloned();
    let elem_ctx = Ctx {
        field: ctx.field,
        free: false,
        volume: ctx.volume,
    };
    let mut out: Vec<Value> = Vec::with_capacity(c.len() + d.len());
    for cv in c {
        let k = key_of(cv);
        let matching = k
            .as_ref()
            .and_then(|k| d.iter().find(|dv| key_of(dv).as_ref() == Some(k)));
        out.push(match matching {
            Some(dv) => merge_in(cv, dv, elem_ctx),
            None => cv.clone(),
        });
    }
    for dv in d {
        let k = key_of(dv);
        let in_cluster = k
            .as_ref()
            .is_some_and(|k| c.iter().any(|cv| key_of(cv).as_ref() == Some(k)));
        if !in_cluster {
            out.push(dv.clone());
        }
    }
    out
}

/// Merges the `telemetry` objects: the generic rule, then the two special cases of upstream's
/// `MergeWithDefaults`-style telemetry merge (Vector components concatenate; Vector `config`
/// text is joined).
#[must_use]
pub fn merge_telemetry(cluster: &Value, dc: &Value) -> Value {
    let mut merged = merge(cluster, dc);
    let vector = |v: &Value, k: &str| v.get("vector").and_then(|x| x.get(k)).cloned();
    if let Some(Value::Object(out_vector)) = merged.get_mut("vector") {
        let (cc, dcc) = (vector(cluster, "components"), vector(dc, "components"));
        if let (Some(Value::Object(cc)), Some(Value::Object(dcc))) = (&cc, &dcc) {
            let mut comps = Map::new();
            for kind in ["sources", "sinks", "transforms"] {
                let mut items: Vec<Value> = Vec::new();
                for side in [cc, dcc] {
                    if let Some(Value::Array(list)) = side.get(kind) {
                        items.extend(list.iter().cloned());
                    }
                }
                if !items.is_empty() {
                    comps.insert(kind.to_string(), Value::Array(items));
                }
            }
            out_vector.insert("components".to_string(), Value::Object(comps));
        }
        let (ct, dt) = (vector(cluster, "config"), vector(dc, "config"));
        if let (Some(Value::String(ct)), Some(Value::String(dt))) = (&ct, &dt)
            && !ct.is_empty()
            && !dt.is_empty()
        {
            let joined = format!(
                "{}\n{}",
                ct.trim_end_matches('\n'),
                dt.trim_start_matches('\n')
            );
            out_vector.insert("config".to_string(), Value::String(joined));
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Golden facts from spec control-plane §8 (upstream pkg/cassandra/datacenter_test.go).

    #[test]
    fn cassandra_yaml_merges_key_wise_and_dc_heap_wins() {
        let c = json!({"config": {"cassandraYaml": {"concurrent_reads": 8}, "jvmOptions": {"heap_max_size": "512Mi"}}});
        let d = json!({"config": {"cassandraYaml": {"concurrent_writes": 8}, "jvmOptions": {"heap_max_size": "1024Mi"}}});
        let m = merge(&c, &d);
        assert_eq!(
            m["config"]["cassandraYaml"],
            json!({"concurrent_reads": 8, "concurrent_writes": 8})
        );
        assert_eq!(m["config"]["jvmOptions"]["heap_max_size"], "1024Mi");
    }

    #[test]
    fn racks_merge_by_name_cluster_order_first() {
        let c = json!({"racks": [{"name": "rack1"}]});
        let d = json!({"racks": [{"name": "rack1"}, {"name": "rack2"}, {"name": "rack3"}]});
        assert_eq!(
            merge(&c, &d)["racks"],
            json!([{"name": "rack1"}, {"name": "rack2"}, {"name": "rack3"}])
        );
    }

    #[test]
    fn containers_env_and_mounts_merge_by_key() {
        let c = json!({"containers": [{"name": "cassandra",
            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}},
            "env": [{"name": "ENV1", "value": "cluster"}, {"name": "ENV2", "value": "cluster"}],
            "volumeMounts": [{"name": "cluster-volume-mount", "mountPath": "/volume-mount1"}]}]});
        let d = json!({"containers": [{"name": "cassandra", "image": "dc-image",
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
            "env": [{"name": "ENV1", "value": "dc"}, {"name": "ENV3", "value": "dc"}],
            "volumeMounts": [{"name": "dc-volume-mount", "mountPath": "/volume-mount1"}]}]});
        let m = merge(&c, &d);
        let cass = &m["containers"][0];
        assert_eq!(cass["image"], "dc-image");
        assert_eq!(
            cass["resources"],
            json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}})
        );
        assert_eq!(
            cass["env"],
            json!([{"name": "ENV1", "value": "dc"}, {"name": "ENV2", "value": "cluster"}, {"name": "ENV3", "value": "dc"}])
        );
        assert_eq!(
            cass["volumeMounts"],
            json!([{"name": "dc-volume-mount", "mountPath": "/volume-mount1"}])
        );
    }

    #[test]
    fn extra_volumes_merge_by_name_and_volume_source_is_atomic() {
        let c = json!({"extraVolumes": {
            "pvcs": [{"name": "test-pvc", "mountPath": "/cluster"}, {"name": "test-pvc2", "mountPath": "/cluster2"}],
            "volumes": [{"name": "test-volume", "emptyDir": {}}]}});
        let d = json!({"extraVolumes": {
            "pvcs": [{"name": "test-pvc", "mountPath": "/dc"}, {"name": "test-pvc3", "mountPath": "/dc3"}],
            "volumes": [{"name": "test-volume", "hostPath": {"path": "/dc"}}, {"name": "test-volume2", "emptyDir": {}}]}});
        let m = merge(&c, &d);
        assert_eq!(
            m["extraVolumes"]["pvcs"],
            json!([
            {"name": "test-pvc", "mountPath": "/dc"}, {"name": "test-pvc2", "mountPath": "/cluster2"}, {"name": "test-pvc3", "mountPath": "/dc3"}])
        );
        assert_eq!(
            m["extraVolumes"]["volumes"],
            json!([
            {"name": "test-volume", "hostPath": {"path": "/dc"}}, {"name": "test-volume2", "emptyDir": {}}])
        );
    }

    #[test]
    fn pointer_bools_override_but_plain_bools_and_zero_values_do_not() {
        let c = json!({"networking": {"hostNetwork": true}, "dseWorkloads": {"analyticsEnabled": true}, "serverVersion": "4.0.1",
                       "config": {"cassandraYaml": {"a": true, "n": 5}}});
        let d = json!({"networking": {"hostNetwork": false}, "dseWorkloads": {"analyticsEnabled": false, "graphEnabled": true}, "serverVersion": "",
                       "config": {"cassandraYaml": {"a": false, "n": 0}}});
        let m = merge(&c, &d);
        assert_eq!(m["networking"]["hostNetwork"], false);
        assert_eq!(
            m["dseWorkloads"],
            json!({"analyticsEnabled": true, "graphEnabled": true})
        );
        assert_eq!(m["serverVersion"], "4.0.1");
        assert_eq!(m["config"]["cassandraYaml"], json!({"a": true, "n": 5}));
    }

    #[test]
    fn other_lists_are_replaced_even_by_an_empty_dc_list() {
        let c =
            json!({"tolerations": [{"key": "a"}], "config": {"cassandraYaml": {"seeds": [1, 2]}}});
        let d = json!({"tolerations": [], "config": {"cassandraYaml": {"seeds": [3]}}});
        let m = merge(&c, &d);
        assert_eq!(m["tolerations"], json!([]));
        assert_eq!(m["config"]["cassandraYaml"]["seeds"], json!([3]));
    }

    #[test]
    fn env_value_from_on_the_dc_side_wins() {
        let c = json!({"env": [{"name": "X", "value": "v"}]});
        let d = json!({"env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "a"}}}]});
        assert_eq!(
            merge(&c, &d)["env"],
            json!([{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "a"}}}])
        );
    }

    #[test]
    fn vector_components_concatenate_and_config_text_joins() {
        let c = json!({"vector": {"enabled": true, "config": "[api]\nenabled = true\n\n", "components": {"sinks": [{"name": "a"}]}}});
        let d = json!({"vector": {"config": "\ndata_dir = /var/lib/vector-big", "components": {"sinks": [{"name": "b"}]}}});
        let m = merge_telemetry(&c, &d);
        assert_eq!(
            m["vector"]["config"],
            "[api]\nenabled = true\ndata_dir = /var/lib/vector-big"
        );
        assert_eq!(
            m["vector"]["components"]["sinks"],
            json!([{"name": "a"}, {"name": "b"}])
        );
        assert_eq!(m["vector"]["enabled"], true);
    }
}
