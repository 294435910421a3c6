//! `plan`: what changes between two rendered revisions, per context, and which changes are
//! risky for a running Cassandra cluster. Pure functions over two [`ByContext`] sets.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::model::server::ServerVersion;
use crate::render::{ByContext, Kind, Manifest};

/// One object's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectChange {
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// `Kind namespace/name`.
    pub object: String,
    /// Field-level differences (`path: old → new`), for changed objects.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// A change that needs a human decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Risk {
    /// Stable identifier (`dc-removed`, `size-lowered`, ...).
    pub kind: &'static str,
    /// Context of the datacenter.
    pub context: String,
    /// `<cluster namespace>/<cluster name>/<datacenter>`.
    pub datacenter: String,
    /// What happens.
    pub message: String,
}

/// The whole plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Changes by context (contexts without changes are absent).
    pub contexts: BTreeMap<String, Vec<ObjectChange>>,
    /// Risky changes, in a stable order.
    pub risks: Vec<Risk>,
}

/// `Kind namespace/name`, or `Kind name` for an object without a namespace.
fn object_id(m: &Manifest) -> String {
    let (kind, ns, name) = (m.kind(), m.namespace(), m.name());
    if ns.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {ns}/{name}")
    }
}

fn short(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

/// Field-level differences between two values, as `path: old → new` lines.
#[must_use]
pub fn field_diff(from: &Value, to: &Value) -> Vec<String> {
    fn walk(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<String>) {
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(&p, x.get(k), y.get(k), out);
                }
            }
            (Some(Value::Array(x)), Some(Value::Array(y))) if x.len() == y.len() => {
                for (i, (xa, ya)) in x.iter().zip(y).enumerate() {
                    walk(&format!("{path}[{i}]"), Some(xa), Some(ya), out);
                }
            }
            (Some(x), Some(y)) if x == y => {}
            (Some(x), Some(y)) => out.push(format!("{path}: {} → {}", short(x), short(y))),
            (Some(x), None) => out.push(format!("{path}: {} → (removed)", short(x))),
            (None, Some(y)) => out.push(format!("{path}: (added) → {}", short(y))),
            (None, None) => {}
        }
    }
    let mut out = Vec::new();
    walk("", Some(from), Some(to), &mut out);
    out
}

/// A CassandraDatacenter as `plan` compares it: identified by its K8ssandraCluster and name.
struct Dc<'a> {
    context: &'a str,
    object: &'a Value,
}

fn datacenters(r: &ByContext) -> BTreeMap<String, Dc<'_>> {
    let mut out = BTreeMap::new();
    for (context, list) in r {
        for m in list
            .iter()
            .filter(|m| m.kind() == Kind::CassandraDatacenter)
        {
            // The owner names the cluster but not its namespace, and `m.namespace()` is the
            // datacenter's own, which may differ: that part still comes from the label.
            let cluster_namespace = m.object["metadata"]["labels"]
                [crate::render::labels::CLUSTER_NAMESPACE_LABEL]
                .as_str()
                .unwrap_or_default();
            let key = format!("{cluster_namespace}/{}/{}", m.cluster(), m.name());
            out.insert(
                key,
                Dc {
                    context,
                    object: &m.object,
                },
            );
        }
    }
    out
}

fn replication_option(dc: &Value) -> Option<String> {
    dc.pointer("/spec/config/cassandra-env-sh/additional-jvm-opts")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(Value::as_str)
        .find_map(|o| o.strip_prefix("-Dcassandra.system_distributed_replication="))
        .map(str::to_string)
}

/// Risks between two renders (see the issue: decommission, size, storage, version,
/// identity, initial replication).
fn risks(from: &ByContext, to: &ByContext) -> Vec<Risk> {
    let (a, b) = (datacenters(from), datacenters(to));
    let mut out = Vec::new();
    let mut push = |kind, dc: &Dc<'_>, key: &str, message: String| {
        out.push(Risk {
            kind,
            context: dc.context.to_string(),
            datacenter: key.to_string(),
            message,
        });
    };
    for (key, old) in &a {
        let Some(new) = b.get(key) else {
            push(
                "dc-removed",
                old,
                key,
                format!(
                    "datacenter removed from context {}: decommissioning it streams its data away and deletes its nodes (the rendered object is prune-protected; delete it by hand when the keyspaces no longer replicate to it)",
                    old.context
                ),
            );
            continue;
        };
        let (o, n) = (old.object, new.object);
        if old.context != new.context {
            push(
                "k8s-context-changed",
                new,
                key,
                format!(
                    "k8sContext changed from {} to {}: the datacenter would be created empty in {} while the old one keeps running",
                    old.context, new.context, new.context
                ),
            );
        }
        let size = |v: &Value| v.pointer("/spec/size").and_then(Value::as_i64).unwrap_or(0);
        if size(n) < size(o) {
            push(
                "size-lowered",
                new,
                key,
                format!(
                    "size lowered from {} to {}: nodes are decommissioned",
                    size(o),
                    size(n)
                ),
            );
        }
        for (field, what) in [
            (
                "/spec/storageConfig/cassandraDataVolumeClaimSpec/storageClassName",
                "storage class",
            ),
            (
                "/spec/storageConfig/cassandraDataVolumeClaimSpec/resources/requests/storage",
                "storage size",
            ),
        ] {
            let (x, y) = (o.pointer(field), n.pointer(field));
            if x != y {
                push(
                    if what == "storage class" {
                        "storage-class-changed"
                    } else {
                        "storage-size-changed"
                    },
                    new,
                    key,
                    format!(
                        "{what} changed from {} to {}: cass-operator cannot change existing volumes in place",
                        x.map_or("(unset)".into(), short),
                        y.map_or("(unset)".into(), short)
                    ),
                );
            }
        }
        let (vx, vy) = (
            crate::json::str_at_pointer(o, "/spec/serverVersion"),
            crate::json::str_at_pointer(n, "/spec/serverVersion"),
        );
        if vx != vy
            && let (Some(x), Some(y)) = (ServerVersion::parse(vx), ServerVersion::parse(vy))
        {
            if (y.major, y.minor, y.patch) < (x.major, x.minor, x.patch) {
                push(
                    "version-downgrade",
                    new,
                    key,
                    format!(
                        "serverVersion downgraded from {vx} to {vy}: Cassandra does not support downgrades"
                    ),
                );
            } else if major_steps(&x, &y) > 1 {
                push(
                    "version-major-jump",
                    new,
                    key,
                    format!(
                        "serverVersion jumps from {vx} to {vy}, skipping a major version: upgrade one major version at a time"
                    ),
                );
            }
        }
        for (field, kind, what) in [
            ("/spec/clusterName", "cluster-name-changed", "clusterName"),
            (
                "/spec/datacenterName",
                "datacenter-name-changed",
                "datacenterName",
            ),
        ] {
            if crate::json::str_at_pointer(o, field) != crate::json::str_at_pointer(n, field) {
                push(
                    kind,
                    new,
                    key,
                    format!(
                        "{what} changed from {:?} to {:?} on an existing datacenter: Cassandra refuses to start nodes whose cluster or datacenter name changed",
                        crate::json::str_at_pointer(o, field),
                        crate::json::str_at_pointer(n, field)
                    ),
                );
            }
        }
        let (rx, ry) = (replication_option(o), replication_option(n));
        if rx.is_some() && ry.is_some() && rx != ry {
            push(
                "initial-replication-changed",
                new,
                key,
                format!(
                    "the initial system replication changes from {} to {}: it only applies when the cluster is created; pin it with the k8ssandra.io/initial-system-replication annotation",
                    rx.unwrap_or_default(),
                    ry.unwrap_or_default()
                ),
            );
        }
    }
    out
}

/// How many major versions apart two versions are (3.11 → 5.0 is two: it skips 4.x).
fn major_steps(x: &ServerVersion, y: &ServerVersion) -> u64 {
    y.major.saturating_sub(x.major)
}

/// The plan from one render to another.
#[must_use]
pub fn plan(from: &ByContext, to: &ByContext) -> Plan {
    let mut p = Plan::default();
    let contexts: std::collections::BTreeSet<&String> = from.keys().chain(to.keys()).collect();
    for c in contexts {
        let index = |r: &'_ ByContext| -> BTreeMap<String, Value> {
            r.get(c)
                .into_iter()
                .flatten()
                .map(|m| (object_id(m), m.object.clone()))
                .collect()
        };
        let (a, b) = (index(from), index(to));
        let mut changes = Vec::new();
        let ids: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for id in ids {
            match (a.get(id), b.get(id)) {
                (Some(_), None) => changes.push(ObjectChange {
                    change: "removed",
                    object: id.clone(),
                    fields: Vec::new(),
                }),
                (None, Some(_)) => changes.push(ObjectChange {
                    change: "added",
                    object: id.clone(),
                    fields: Vec::new(),
                }),
                (Some(x), Some(y)) if x != y => changes.push(ObjectChange {
                    change: "changed",
                    object: id.clone(),
                    fields: field_diff(x, y),
                }),
                _ => {}
            }
        }
        if !changes.is_empty() {
            p.contexts.insert(c.clone(), changes);
        }
    }
    p.risks = risks(from, to);
    p
}

impl Plan {
    /// Human-readable text.
    #[must_use]
    pub fn to_text(&self, from: &str, to: &str) -> String {
        let mut s = String::new();
        if self.contexts.is_empty() {
            let _ = writeln!(s, "No changes between {from} and {to}.");
        }
        for (c, changes) in &self.contexts {
            let _ = writeln!(s, "context {c}:");
            for ch in changes {
                let sign = match ch.change {
                    "added" => '+',
                    "removed" => '-',
                    _ => '~',
                };
                let _ = writeln!(s, "  {sign} {}", ch.object);
                for f in &ch.fields {
                    let _ = writeln!(s, "      {f}");
                }
            }
        }
        if !self.risks.is_empty() {
            let _ = writeln!(s, "\nRisky changes ({}):", self.risks.len());
            for r in &self.risks {
                let _ = writeln!(
                    s,
                    "  ! [{}] {} ({}): {}",
                    r.kind, r.datacenter, r.context, r.message
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_diff_names_paths() {
        let a = json!({"spec": {"size": 3, "racks": [{"name": "r1"}], "x": "a"}});
        let b = json!({"spec": {"size": 1, "racks": [{"name": "r2"}], "y": true}});
        assert_eq!(
            field_diff(&a, &b),
            [
                "spec.racks[0].name: r1 → r2",
                "spec.size: 3 → 1",
                "spec.x: a → (removed)",
                "spec.y: (added) → true",
            ]
        );
    }

    #[test]
    fn only_objects_built_as_datacenters_are_compared_as_datacenters() {
        use crate::render::{Manifest, Owner};
        let object = |kind: Kind, name: &str| {
            let labels = json!({"k8ssandra.io/cluster-namespace": "db", "k8ssandra.io/cluster-name": "demo"});
            let owner = Owner::Datacenter {
                cluster: "demo".into(),
                dc: 0,
            };
            let object = json!({"kind": kind.as_str(), "metadata": {"name": name, "namespace": "db", "labels": labels}});
            Manifest::new("east".into(), owner, kind, object)
        };
        // A ConfigMap with a datacenter's labels is no datacenter: removing it is no risk.
        let from = ByContext::from([(
            "east".to_string(),
            vec![
                object(Kind::CassandraDatacenter, "dc1"),
                object(Kind::ConfigMap, "dc1-config"),
            ],
        )]);
        let risks = plan(&from, &ByContext::new()).risks;
        let found: Vec<(&str, &str)> = risks
            .iter()
            .map(|r| (r.kind, r.datacenter.as_str()))
            .collect();
        assert_eq!(found, [("dc-removed", "db/demo/dc1")]);
    }

    #[test]
    fn a_datacenter_is_keyed_by_its_owner_not_a_cluster_name_label() {
        use crate::render::{Manifest, Owner};
        let owner = Owner::Datacenter {
            cluster: "demo".into(),
            dc: 0,
        };
        // A user label may overwrite the operator's; the owner is what built the object.
        let labels =
            json!({"k8ssandra.io/cluster-namespace": "db", "k8ssandra.io/cluster-name": "mine"});
        let object = json!({"kind": "CassandraDatacenter", "metadata": {"name": "dc1", "namespace": "db", "labels": labels}});
        let dc = Manifest::new("east".into(), owner, Kind::CassandraDatacenter, object);
        let from = ByContext::from([("east".to_string(), vec![dc])]);
        let risks = plan(&from, &ByContext::new()).risks;
        let found: Vec<&str> = risks.iter().map(|r| r.datacenter.as_str()).collect();
        assert_eq!(found, ["db/demo/dc1"]);
    }

    #[test]
    fn major_jumps() {
        let v = |s: &str| ServerVersion::parse(s).unwrap();
        assert_eq!(major_steps(&v("3.11.17"), &v("4.1.5")), 1);
        assert_eq!(major_steps(&v("3.11.17"), &v("5.0.2")), 2);
        assert_eq!(major_steps(&v("4.0.13"), &v("5.0.2")), 1);
    }
}
