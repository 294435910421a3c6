//! The Cassandra `ServiceMonitor` (`monitoring.coreos.com/v1`) the control plane creates for each
//! datacenter whose merged `telemetry.prometheus.enabled` is true (spec components §4.1 and §4.2,
//! control-plane §2.10).
//!
//! The object tells a Prometheus operator to scrape the datacenter's all-pods Service (the only
//! Service cass-operator labels `cassandra.datastax.com/prom-metrics: "true"`):
//!
//! - name `CleanupForKubernetes(<Cassandra cluster name>-<LabelResourceName>-cass-servicemonitor)`,
//!   where the cluster name is `spec.cassandra.clusterName` or else the K8ssandraCluster name
//!   (unsanitized before the concatenation, as upstream) and `LabelResourceName` is the cleaned
//!   CassandraDatacenter object name; namespace and context are the datacenter's;
//! - labels: the merged `prometheus.commonLabels`, then six labels the operator forces over them
//!   (`app.kubernetes.io/managed-by`, `part-of`, `component: telemetry`, `k8ssandra.io/cluster-name`,
//!   `k8ssandra.io/cluster-namespace`, `k8ssandra.io/datacenter`);
//! - one endpoint: the management API's metrics port `metrics` (9000, `/metrics`) by default, or
//!   the legacy MCAC port `prometheus` (9103) with MCAC's 60 metric relabelings when the merged
//!   `telemetry.mcac.enabled` is true. Both scrape every 15 s with a 15 s timeout over plain HTTP.
//!
//! Upstream serializes its Go `ServiceMonitor` with every field of the endpoint and spec types
//! tagged `omitempty` (pointers or empty values), so exactly the fields set here reach the API
//! server.
//!
//! Decisions:
//! - quirk #1: the `cassandra.datastax.com/cluster` selector value is `CleanLabelValue` of the
//!   Cassandra cluster name, the value cass-operator puts on its Services. Upstream uses the
//!   K8ssandraCluster object name, which selects nothing when `clusterName` overrides it;
//! - quirk #5: each datacenter's ServiceMonitor is built from that datacenter's own merged
//!   telemetry (upstream pairs spec-order templates with priority-order datacenters by index);
//! - quirk #10: no `k8ssandra.io/resource-hash` annotation;
//! - a stopped datacenter keeps its ServiceMonitor, as upstream (quirks.md, last paragraph);
//! - no `ownerReferences`: upstream makes the CassandraDatacenter the controller owner, but its
//!   uid only exists in the live cluster (deviation, listed in docs/deviations.md);
//! - upstream only acts when the target cluster serves `servicemonitors` (and fails the reconcile
//!   when Prometheus is enabled without it); offline the object is rendered whenever enabled,
//!   and the Prometheus operator CRDs are a prerequisite of the target cluster;
//! - `commonLabels` end up as object labels: the plan checks them and decides which datacenters
//!   get a ServiceMonitor ([`crate::plan::service_monitor`]); this module only builds.
//!
//! The check that MCAC is only turned off where the new metrics endpoint exists (Cassandra
//! 3.11.13+ / 4.0.4+) belongs to the CassandraDatacenter and is reported there, not here.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Kind, Manifest};
use crate::plan::service_monitor::{enabled, forced_labels, label_resource_name};
use crate::plan::{ClusterPlan, DcPlan};
use crate::ports::names::{clean_label_value, cleanup_for_kubernetes};

/// `apiVersion` of the ServiceMonitor.
pub const API_VERSION: &str = "monitoring.coreos.com/v1";
/// `kind` of the ServiceMonitor.
pub const KIND: &str = "ServiceMonitor";

/// Label cass-operator puts on a datacenter's Services: `CleanLabelValue(spec.clusterName)`.
const CLUSTER_LABEL: &str = "cassandra.datastax.com/cluster";
/// Label cass-operator puts on a datacenter's Services: the CassandraDatacenter name.
const DATACENTER_LABEL: &str = "cassandra.datastax.com/datacenter";
/// Label cass-operator sets to `"true"` on the all-pods Service only.
const PROM_METRICS_LABEL: &str = "cassandra.datastax.com/prom-metrics";
const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";

/// Scrape interval and timeout of both endpoint flavours.
const SCRAPE_INTERVAL: &str = "15s";

/// Objects of this component for one cluster, in any order (the caller sorts), each with the
/// context it goes to: one per datacenter the plan gave one ([`ClusterPlan::service_monitor_dcs`]).
pub fn render(plan: &ClusterPlan<'_>, context: Option<&str>) -> Vec<Manifest> {
    plan.service_monitor_dcs
        .iter()
        .filter(|&&i| plan.dcs[i].is_in(context))
        .map(|&i| {
            let dc = &plan.dcs[i];
            Manifest::after_datacenters(
                plan,
                dc,
                Kind::ServiceMonitor,
                service_monitor(plan, dc, labels(plan, dc)),
            )
        })
        .collect()
}

/// Name of the Cassandra ServiceMonitor of a datacenter.
#[must_use]
pub fn service_monitor_name(plan: &ClusterPlan<'_>, dc: &DcPlan<'_>) -> String {
    cleanup_for_kubernetes(&format!(
        "{}-{}-cass-servicemonitor",
        plan.cass_cluster_name,
        label_resource_name(dc)
    ))
}

/// Merged `commonLabels` (checked by the plan), then the labels the operator forces.
fn labels(plan: &ClusterPlan<'_>, dc: &DcPlan<'_>) -> BTreeMap<String, String> {
    let common = dc
        .telemetry
        .get("prometheus")
        .and_then(|p| p.get("commonLabels"))
        .and_then(Value::as_object);
    let mut labels: BTreeMap<String, String> = common
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    for (key, value) in forced_labels(plan, dc) {
        labels.insert(key.to_string(), value);
    }
    labels
}

/// The ServiceMonitor of one datacenter.
fn service_monitor(
    plan: &ClusterPlan<'_>,
    dc: &DcPlan<'_>,
    labels: BTreeMap<String, String>,
) -> Value {
    let labels: Map<String, Value> = labels
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": service_monitor_name(plan, dc),
            "namespace": dc.namespace,
            "labels": labels,
        },
        "spec": {
            "selector": {
                "matchLabels": {
                    MANAGED_BY_LABEL: "cass-operator",
                    PROM_METRICS_LABEL: "true",
                },
                "matchExpressions": [
                    {
                        "key": CLUSTER_LABEL,
                        "operator": "In",
                        // Quirk #1: the Cassandra cluster name, as on cass-operator's Services.
                        "values": [clean_label_value(&plan.cass_cluster_name)],
                    },
                    {
                        "key": DATACENTER_LABEL,
                        "operator": "In",
                        "values": [dc.template.name],
                    },
                ],
            },
            "namespaceSelector": {"matchNames": [dc.namespace]},
            "targetLabels": [CLUSTER_LABEL, DATACENTER_LABEL],
            "endpoints": [endpoint(enabled(&dc.telemetry, "mcac"))],
        },
    })
}

/// The scrape endpoint: the management API metrics port, or MCAC's legacy port with its
/// relabelings.
fn endpoint(mcac: bool) -> Value {
    let mut e = Map::new();
    e.insert(
        "port".into(),
        (if mcac { "prometheus" } else { "metrics" }).into(),
    );
    e.insert("path".into(), "/metrics".into());
    e.insert("interval".into(), SCRAPE_INTERVAL.into());
    e.insert("scrapeTimeout".into(), SCRAPE_INTERVAL.into());
    e.insert("scheme".into(), "http".into());
    if mcac {
        e.insert("metricRelabelings".into(), Value::Array(mcac_relabelings()));
    }
    Value::Object(e)
}

// ---------------------------------------------------------------------------------------------
// MCAC metric relabelings (spec components §4.2)

/// One prometheus-operator `RelabelConfig` as written in the manifest: `action` only where the
/// table states it, `replacement` kept as literal text (`${1}` is expanded by Prometheus).
struct Relabel {
    action: Option<&'static str>,
    source_labels: &'static [&'static str],
    separator: Option<&'static str>,
    regex: &'static str,
    target_label: Option<&'static str>,
    replacement: Option<&'static str>,
}

impl Relabel {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(a) = self.action {
            m.insert("action".into(), a.into());
        }
        if !self.source_labels.is_empty() {
            m.insert(
                "sourceLabels".into(),
                Value::Array(self.source_labels.iter().map(|s| (*s).into()).collect()),
            );
        }
        if let Some(s) = self.separator {
            m.insert("separator".into(), s.into());
        }
        m.insert("regex".into(), self.regex.into());
        if let Some(t) = self.target_label {
            m.insert("targetLabel".into(), t.into());
        }
        if let Some(r) = self.replacement {
            m.insert("replacement".into(), r.into());
        }
        Value::Object(m)
    }
}

/// A rule that sets `target` to `replacement` when `source` matches `regex` (implicit
/// `replace`).
const fn set(
    source: &'static [&'static str],
    regex: &'static str,
    target: &'static str,
    replacement: &'static str,
) -> Relabel {
    Relabel {
        action: None,
        source_labels: source,
        separator: None,
        regex,
        target_label: Some(target),
        replacement: Some(replacement),
    }
}

/// A rule that drops the series when `source` matches `regex`.
const fn drop(source: &'static [&'static str], regex: &'static str) -> Relabel {
    Relabel {
        action: Some("drop"),
        source_labels: source,
        separator: None,
        regex,
        target_label: None,
        replacement: None,
    }
}

const NAME: &[&str] = &["__name__"];
const PROM_NAME: &[&str] = &["prom_name"];

/// Prepends MCAC's Cassandra metric namespace to a regex.
macro_rules! cass {
    ($rest:literal) => {
        concat!(r"org\.apache\.cassandra\.metrics\.", $rest)
    };
}

/// `(targetLabel, replacement)` pairs set from one regex match.
type Targets = &'static [(&'static str, &'static str)];

/// Rules 10–57: each MCAC metric family is matched on the `mcac` label by one regex, and a
/// few target labels are set from its groups, in this order. `true` marks the groups whose
/// rules spell out `action: replace`.
const MCAC_FAMILIES: &[(&str, bool, Targets)] = &[
    (
        cass!(r"table\.(\w+)\.(\w+)\.(\w+)"),
        false,
        &[
            ("table", "${3}"),
            ("keyspace", "${2}"),
            ("__name__", "mcac_table_${1}"),
        ],
    ),
    (
        cass!(r"keyspace\.(\w+)\.(\w+)"),
        false,
        &[("keyspace", "${2}"), ("__name__", "mcac_keyspace_${1}")],
    ),
    (
        cass!(r"thread_pools\.(\w+)\.(\w+)\.(\w+).*"),
        false,
        &[
            ("pool_type", "${2}"),
            ("pool_name", "${3}"),
            ("__name__", "mcac_thread_pools_${1}"),
        ],
    ),
    (
        cass!(r"client_request\.(\w+)\.(\w+)$"),
        false,
        &[
            ("request_type", "${2}"),
            ("__name__", "mcac_client_request_${1}"),
        ],
    ),
    (
        cass!(r"client_request\.(\w+)\.(\w+)\.(\w+)$"),
        false,
        &[
            ("cl", "${3}"),
            ("request_type", "${2}"),
            ("__name__", "mcac_client_request_${1}_cl"),
        ],
    ),
    (
        cass!(r"cache\.(\w+)\.(\w+)"),
        false,
        &[("cache_name", "${2}"), ("__name__", "mcac_cache_${1}")],
    ),
    (
        cass!(r"cql\.(\w+)"),
        false,
        &[("__name__", "mcac_cql_${1}")],
    ),
    (
        cass!(r"dropped_message\.(\w+)\.(\w+)"),
        false,
        &[
            ("message_type", "${2}"),
            ("__name__", "mcac_dropped_message_${1}"),
        ],
    ),
    (
        cass!(r"streaming\.(\w+)\.(.+)$"),
        false,
        &[("peer_ip", "${2}"), ("__name__", "mcac_streaming_${1}")],
    ),
    (
        cass!(r"streaming\.(\w+)$"),
        false,
        &[("__name__", "mcac_streaming_${1}")],
    ),
    (
        cass!(r"commit_log\.(\w+)"),
        false,
        &[("__name__", "mcac_commit_log_${1}")],
    ),
    (
        cass!(r"compaction\.(\w+)"),
        false,
        &[("__name__", "mcac_compaction_${1}")],
    ),
    (
        cass!(r"storage\.(\w+)"),
        false,
        &[("__name__", "mcac_storage_${1}")],
    ),
    (
        cass!(r"batch\.(\w+)"),
        false,
        &[("__name__", "mcac_batch_${1}")],
    ),
    (
        cass!(r"client\.(\w+)"),
        false,
        &[("__name__", "mcac_client_${1}")],
    ),
    (
        cass!(r"buffer_pool\.(\w+)"),
        false,
        &[("__name__", "mcac_buffer_pool_${1}")],
    ),
    (
        cass!(r"index\.(\w+)"),
        false,
        &[("__name__", "mcac_sstable_index_${1}")],
    ),
    (
        cass!(r"hinted_hand_off_manager\.([^\-]+)-(\w+)"),
        false,
        &[("peer_ip", "${2}"), ("__name__", "mcac_hints_${1}")],
    ),
    (
        cass!(r"hints_service\.hint_delays[\-\.]([\w\.]+)"),
        true,
        &[("peer_ip", "${1}"), ("__name__", "mcac_hints_hint_delays")],
    ),
    (
        cass!(r"hints_service\.hints_created[\-\.]([\w\.]+)"),
        true,
        &[("peer_ip", "${1}"), ("__name__", "mcac_hints_hint_created")],
    ),
    (
        cass!(r"hints_service\.([^\-]+)"),
        false,
        &[("__name__", "mcac_hints_${1}")],
    ),
    (
        cass!(r"memtable_pool\.(\w+)"),
        false,
        &[("__name__", "mcac_memtable_pool_${1}")],
    ),
    (
        cass!(r"cdc_agent\.(\w+)"),
        false,
        &[("__name__", "mcac_cdc_agent_${1}")],
    ),
    (
        r"com\.datastax\.bdp\.type\.performance_objects\.name\.cql_slow_log\.metrics\.queries_latency",
        false,
        &[("__name__", "mcac_cql_slow_log_query_latency")],
    ),
    (
        cass!(r"read_coordination\.(.*)"),
        false,
        &[("read_type", "$1")],
    ),
    (
        r"jvm\.gc\.(\w+)\.(\w+)",
        false,
        &[("collector_type", "${1}"), ("__name__", "mcac_jvm_gc_${2}")],
    ),
    (
        r"jvm\.memory\.(\w+)\.(\w+)",
        false,
        &[
            ("memory_type", "${1}"),
            ("__name__", "mcac_jvm_memory_${2}"),
        ],
    ),
    (
        r"jvm\.memory\.pools\.(\w+)\.(\w+)",
        false,
        &[
            ("pool_name", "${2}"),
            ("__name__", "mcac_jvm_memory_pool_${2}"),
        ],
    ),
    (
        r"jvm\.fd\.usage",
        false,
        &[("__name__", "mcac_jvm_fd_usage")],
    ),
    (
        r"jvm\.buffers\.(\w+)\.(\w+)",
        false,
        &[
            ("buffer_type", "${1}"),
            ("__name__", "mcac_jvm_buffer_${2}"),
        ],
    ),
];

/// The 60 `metricRelabelings` of the MCAC endpoint, in order.
fn mcac_relabelings() -> Vec<Value> {
    const MCAC: &[&str] = &["mcac"];
    let mut rules = vec![
        // 1–8: histogram and meter bookkeeping on the raw collectd names.
        set(NAME, "collectd_mcac_(meter|histogram).*", "kind", "${1}"),
        drop(NAME, ".*rate_(mean|1m|5m|15m)"),
        set(NAME, "(collectd_mcac_.+)", "prom_name", "${1}"),
        set(PROM_NAME, r".+_bucket_(\d+)", "le", "${1}"),
        set(PROM_NAME, ".+_bucket_inf", "le", "+Inf"),
        set(PROM_NAME, r".*_histogram_p(\d+)", "quantile", ".${1}"),
        set(PROM_NAME, ".*_histogram_min", "quantile", "0"),
        set(PROM_NAME, ".*_histogram_max", "quantile", "1"),
        // 9: per-table metrics without keyspace and table are dropped.
        drop(MCAC, cass!(r"table\.(\w+)")),
    ];
    for (regex, explicit, targets) in MCAC_FAMILIES {
        for (target, replacement) in *targets {
            let mut r = set(MCAC, regex, target, replacement);
            if *explicit {
                r.action = Some("replace");
            }
            rules.push(r);
        }
    }
    // 58–60: restore the Prometheus suffix, drop the helper label and what is still unnamed.
    rules.push(Relabel {
        separator: Some(";"),
        ..set(
            &["__name__", "prom_name"],
            "(mcac_.*);.*(_micros_bucket|_bucket|_micros_count_total|_count_total|_total|_micros_sum|_sum|_stddev).*",
            "__name__",
            "${1}${2}",
        )
    });
    rules.push(Relabel {
        action: Some("labeldrop"),
        source_labels: &[],
        separator: None,
        regex: "prom_name",
        target_label: None,
        replacement: None,
    });
    rules.push(drop(NAME, r"(.*)\.+(.*)"));
    rules.iter().map(Relabel::to_json).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Diagnostic, Severity};

    const STORAGE: &str = "    storageConfig:\n      cassandraDataVolumeClaimSpec:\n        resources: {requests: {storage: 1Gi}}\n";

    /// The plan's problems with `yaml` and what render builds from that plan.
    fn run(yaml: &str) -> (Vec<Manifest>, Vec<Diagnostic>) {
        crate::testing::render_one(yaml, |plan, _| render(plan, None))
    }

    fn ok(yaml: &str) -> Vec<Manifest> {
        let (out, diags) = run(yaml);
        assert!(diags.is_empty(), "{diags:#?}");
        out
    }

    fn messages(diags: &[Diagnostic], severity: Severity) -> Vec<String> {
        diags
            .iter()
            .filter(|d| d.severity() == severity)
            .map(|d| format!("{}: {}", crate::yaml::path_string(&d.path), d.message))
            .collect()
    }

    /// A cluster `name` in namespace `ns`; `cassandra` is extra text under `spec.cassandra`.
    fn cluster(name: &str, cassandra: &str, dcs: &str) -> String {
        format!(
            "metadata: {{name: {name}, namespace: ns}}\nspec:\n  cassandra:\n    serverVersion: 4.1.8\n{STORAGE}{cassandra}    datacenters:\n{dcs}"
        )
    }

    const PROM_DC1: &str = "    - metadata: {name: dc1}\n      size: 3\n      telemetry: {prometheus: {enabled: true}}\n";

    fn only(out: &[Manifest]) -> &Manifest {
        assert_eq!(out.len(), 1, "{out:#?}");
        &out[0]
    }

    /// Upstream controller test: K8ssandraCluster `test` with `clusterName: "Not K8s_Compliant"`
    /// and datacenter dc1 gets `<SanitizedName>-dc1-cass-servicemonitor` in the DC's namespace.
    #[test]
    fn name_namespace_and_context() {
        let out = ok(&cluster(
            "test",
            "    clusterName: \"Not K8s_Compliant\"\n",
            "    - metadata: {name: dc1}\n      k8sContext: east\n      size: 3\n      telemetry: {prometheus: {enabled: true}}\n",
        ));
        let m = only(&out);
        assert_eq!(m.kind(), Kind::ServiceMonitor);
        assert_eq!(m.object["apiVersion"], "monitoring.coreos.com/v1");
        assert_eq!(m.name(), "notk8s-compliant-dc1-cass-servicemonitor");
        assert_eq!(m.namespace(), "ns");
        assert_eq!(m.context, "east");
        assert_eq!(m.cluster(), "test");
        assert_eq!(
            m.owner(),
            &crate::render::Owner::Datacenter {
                cluster: "test".into(),
                dc: 0
            }
        );
        assert!(m.object["metadata"].get("ownerReferences").is_none());
        // Only the rollout wave: after the one datacenter (position 0).
        assert_eq!(
            m.object["metadata"]["annotations"],
            serde_json::json!({"argocd.argoproj.io/sync-wave": "5"})
        );
    }

    /// Upstream concatenates the raw cluster name before cleaning: `a_` gives `a--dc1-...`,
    /// not `<SanitizedName>-dc1-...` (`a-dc1-...`).
    #[test]
    fn name_cleans_the_whole_concatenation() {
        let out = ok(&cluster("test", "    clusterName: a_\n", PROM_DC1));
        assert_eq!(only(&out).name(), "a--dc1-cass-servicemonitor");
    }

    /// Upstream reconciler test: the ServiceMonitor follows the DC namespace, not the
    /// K8ssandraCluster namespace, and carries the user's commonLabels.
    #[test]
    fn dc_namespace_and_common_labels() {
        let out = ok(&cluster(
            "test-cluster-name",
            "",
            "    - metadata: {name: test-dc-name, namespace: test-namespace}\n      size: 3\n      telemetry:\n        prometheus: {enabled: true, commonLabels: {test-label: test}}\n",
        ));
        let m = only(&out);
        assert_eq!(
            m.name(),
            "test-cluster-name-test-dc-name-cass-servicemonitor"
        );
        assert_eq!(m.namespace(), "test-namespace");
        assert_eq!(
            m.object["spec"]["namespaceSelector"],
            json!({"matchNames": ["test-namespace"]})
        );
        assert_eq!(
            m.object["metadata"]["labels"],
            json!({
                "test-label": "test",
                "app.kubernetes.io/managed-by": "k8ssandra-operator",
                "app.kubernetes.io/part-of": "k8ssandra",
                "app.kubernetes.io/component": "telemetry",
                "k8ssandra.io/cluster-name": "test-cluster-name",
                "k8ssandra.io/cluster-namespace": "ns",
                "k8ssandra.io/datacenter": "test-dc-name",
            })
        );
    }

    /// Spec §4.1 selector and target labels.
    #[test]
    fn selector_and_target_labels() {
        let out = ok(&cluster("demo", "", PROM_DC1));
        let spec = &only(&out).object["spec"];
        assert_eq!(
            spec["selector"],
            json!({
                "matchLabels": {
                    "app.kubernetes.io/managed-by": "cass-operator",
                    "cassandra.datastax.com/prom-metrics": "true",
                },
                "matchExpressions": [
                    {"key": "cassandra.datastax.com/cluster", "operator": "In", "values": ["demo"]},
                    {"key": "cassandra.datastax.com/datacenter", "operator": "In", "values": ["dc1"]},
                ],
            })
        );
        assert_eq!(
            spec["targetLabels"],
            json!([
                "cassandra.datastax.com/cluster",
                "cassandra.datastax.com/datacenter"
            ])
        );
    }

    /// Quirk #1: with a `clusterName` override the selector uses CleanLabelValue of the
    /// Cassandra cluster name (what cass-operator labels its Services with), not the object
    /// name; the `k8ssandra.io/cluster-name` label stays the object name.
    #[test]
    fn quirk1_selects_by_cassandra_cluster_name() {
        let out = ok(&cluster(
            "test",
            "    clusterName: \"Weird Cluster Name\"\n",
            PROM_DC1,
        ));
        let m = only(&out);
        assert_eq!(
            m.object["spec"]["selector"]["matchExpressions"][0]["values"],
            json!(["WeirdClusterName"])
        );
        assert_eq!(
            m.object["metadata"]["labels"]["k8ssandra.io/cluster-name"],
            "test"
        );
        assert_eq!(m.name(), "weirdclustername-dc1-cass-servicemonitor");
    }

    /// MCAC off (the default): port `metrics`, /metrics, 15s/15s, http, no relabelings
    /// (upstream `Test_NewCassServiceMonitor` "MCAC disabled": port `metrics`).
    #[test]
    fn modern_endpoint_by_default() {
        let out = ok(&cluster("demo", "", PROM_DC1));
        assert_eq!(
            only(&out).object["spec"]["endpoints"],
            json!([{
                "port": "metrics",
                "path": "/metrics",
                "interval": "15s",
                "scrapeTimeout": "15s",
                "scheme": "http",
            }])
        );
    }

    /// MCAC on: port `prometheus` with the 60 relabelings of spec §4.2.
    #[test]
    fn legacy_endpoint_with_mcac() {
        let out = ok(&cluster(
            "demo",
            "    telemetry: {mcac: {enabled: true}}\n",
            PROM_DC1,
        ));
        let endpoints = only(&out).object["spec"]["endpoints"].as_array().unwrap();
        assert_eq!(endpoints.len(), 1);
        let e = &endpoints[0];
        assert_eq!(e["port"], "prometheus");
        assert_eq!(e["path"], "/metrics");
        assert_eq!(e["interval"], "15s");
        assert_eq!(e["scrapeTimeout"], "15s");
        assert_eq!(e["scheme"], "http");
        let r = e["metricRelabelings"].as_array().unwrap();
        assert_eq!(r.len(), 60);
        // Rule numbers below are those of spec §4.2 (1-based).
        assert_eq!(
            r[0],
            json!({"sourceLabels": ["__name__"], "regex": "collectd_mcac_(meter|histogram).*", "targetLabel": "kind", "replacement": "${1}"})
        );
        assert_eq!(
            r[1],
            json!({"action": "drop", "sourceLabels": ["__name__"], "regex": ".*rate_(mean|1m|5m|15m)"})
        );
        assert_eq!(r[4]["replacement"], "+Inf");
        assert_eq!(r[5]["replacement"], ".${1}");
        assert_eq!(r[6]["replacement"], "0");
        assert_eq!(r[7]["replacement"], "1");
        assert_eq!(
            r[8],
            json!({"action": "drop", "sourceLabels": ["mcac"], "regex": r"org\.apache\.cassandra\.metrics\.table\.(\w+)"})
        );
        assert_eq!(
            r[9],
            json!({"sourceLabels": ["mcac"], "regex": r"org\.apache\.cassandra\.metrics\.table\.(\w+)\.(\w+)\.(\w+)", "targetLabel": "table", "replacement": "${3}"})
        );
        assert_eq!(r[11]["replacement"], "mcac_table_${1}");
        assert_eq!(r[21]["replacement"], "mcac_client_request_${1}_cl");
        assert_eq!(r[36]["replacement"], "mcac_sstable_index_${1}");
        // 40–43 spell out `action: replace`, 39 and 44 do not.
        for (i, rule) in r.iter().enumerate().take(43).skip(39) {
            assert_eq!(rule["action"], "replace", "rule {}", i + 1);
        }
        assert!(r[38].get("action").is_none());
        assert!(r[43].get("action").is_none());
        assert_eq!(r[42]["replacement"], "mcac_hints_hint_created");
        assert_eq!(
            r[46]["regex"],
            r"com\.datastax\.bdp\.type\.performance_objects\.name\.cql_slow_log\.metrics\.queries_latency"
        );
        assert_eq!(r[47]["replacement"], "$1");
        assert_eq!(r[47]["targetLabel"], "read_type");
        assert_eq!(r[53]["replacement"], "mcac_jvm_memory_pool_${2}");
        assert_eq!(r[54]["regex"], r"jvm\.fd\.usage");
        assert_eq!(r[56]["replacement"], "mcac_jvm_buffer_${2}");
        assert_eq!(
            r[57],
            json!({
                "sourceLabels": ["__name__", "prom_name"],
                "separator": ";",
                "regex": "(mcac_.*);.*(_micros_bucket|_bucket|_micros_count_total|_count_total|_total|_micros_sum|_sum|_stddev).*",
                "targetLabel": "__name__",
                "replacement": "${1}${2}",
            })
        );
        assert_eq!(r[58], json!({"action": "labeldrop", "regex": "prom_name"}));
        assert_eq!(
            r[59],
            json!({"action": "drop", "sourceLabels": ["__name__"], "regex": r"(.*)\.+(.*)"})
        );
        // Every rule between 9 and 57 reads the `mcac` label.
        for (i, rule) in r.iter().enumerate().take(57).skip(8) {
            assert_eq!(rule["sourceLabels"], json!(["mcac"]), "rule {}", i + 1);
        }
    }

    /// Upstream `Test_mergeTelemetrySpecs`: cluster MCAC on, DC MCAC off and Prometheus on:
    /// the DC's `false` wins, so the modern endpoint is scraped.
    #[test]
    fn dc_mcac_false_beats_cluster_true() {
        let out = ok(&cluster(
            "demo",
            "    telemetry: {mcac: {enabled: true}}\n",
            "    - metadata: {name: dc1}\n      size: 3\n      telemetry:\n        prometheus: {enabled: true, commonLabels: {test-label: test}}\n        mcac: {enabled: false}\n",
        ));
        assert_eq!(only(&out).object["spec"]["endpoints"][0]["port"], "metrics");
    }

    #[test]
    fn nothing_unless_enabled() {
        assert!(
            ok(&cluster(
                "demo",
                "",
                "    - metadata: {name: dc1}\n      size: 3\n"
            ))
            .is_empty()
        );
        assert!(
            ok(&cluster(
                "demo",
                "    telemetry: {prometheus: {enabled: false}}\n",
                "    - metadata: {name: dc1}\n      size: 3\n"
            ))
            .is_empty()
        );
        // Cluster on, DC off: only the other DC gets one.
        let out = ok(&cluster(
            "demo",
            "    telemetry: {prometheus: {enabled: true, commonLabels: {team: data}}}\n",
            "    - metadata: {name: dc1}\n      size: 3\n      telemetry: {prometheus: {enabled: false}}\n    - metadata: {name: dc2}\n      size: 3\n",
        ));
        let m = only(&out);
        assert_eq!(m.name(), "demo-dc2-cass-servicemonitor");
        assert_eq!(m.object["metadata"]["labels"]["team"], "data");
    }

    /// Cluster and DC commonLabels merge, the DC winning per key.
    #[test]
    fn common_labels_merge() {
        let out = ok(&cluster(
            "demo",
            "    telemetry: {prometheus: {enabled: true, commonLabels: {a: cluster, b: cluster}}}\n",
            "    - metadata: {name: dc1}\n      size: 3\n      telemetry: {prometheus: {commonLabels: {b: dc}}}\n",
        ));
        let labels = &only(&out).object["metadata"]["labels"];
        assert_eq!(labels["a"], "cluster");
        assert_eq!(labels["b"], "dc");
    }

    /// A stopped DC keeps its ServiceMonitor (quirks.md, things to reproduce).
    #[test]
    fn stopped_dc_keeps_its_service_monitor() {
        let out = ok(&cluster(
            "demo",
            "",
            "    - metadata: {name: dc1}\n      size: 3\n      stopped: true\n      telemetry: {prometheus: {enabled: true}}\n",
        ));
        assert_eq!(only(&out).name(), "demo-dc1-cass-servicemonitor");
    }

    /// Quirk #5: settings are paired with DCs by name. With DSE workloads the rollout order
    /// (analytics first) differs from spec order; each DC still gets its own telemetry.
    #[test]
    fn quirk5_pairs_by_dc_name() {
        let yaml = "metadata: {name: demo, namespace: ns}\nspec:\n  cassandra:\n    serverType: dse\n    serverVersion: 6.8.50\n"
            .to_string()
            + STORAGE
            + "    datacenters:\n    - metadata: {name: dc1}\n      k8sContext: east\n      size: 3\n      telemetry: {prometheus: {enabled: true, commonLabels: {which: dc1}}}\n    - metadata: {name: dc2}\n      k8sContext: west\n      size: 3\n      dseWorkloads: {analyticsEnabled: true}\n      telemetry: {prometheus: {enabled: true, commonLabels: {which: dc2}}, mcac: {enabled: true}}\n    - metadata: {name: dc3}\n      k8sContext: west\n      size: 3\n";
        let out = ok(&yaml);
        assert_eq!(out.len(), 2);
        for (dc, context, port) in [("dc1", "east", "metrics"), ("dc2", "west", "prometheus")] {
            let m = out
                .iter()
                .find(|m| m.name() == format!("demo-{dc}-cass-servicemonitor"))
                .unwrap();
            assert_eq!(m.context, context);
            assert_eq!(m.object["metadata"]["labels"]["which"], dc);
            assert_eq!(
                m.object["metadata"]["labels"]["k8ssandra.io/datacenter"],
                dc
            );
            assert_eq!(
                m.object["spec"]["selector"]["matchExpressions"][1]["values"],
                json!([dc])
            );
            assert_eq!(m.object["spec"]["endpoints"][0]["port"], port);
        }
    }

    /// Forced labels win over commonLabels; the user is told.
    #[test]
    fn forced_labels_win_with_a_warning() {
        let (out, diags) = run(&cluster(
            "demo",
            "",
            "    - metadata: {name: dc1}\n      size: 3\n      telemetry:\n        prometheus:\n          enabled: true\n          commonLabels: {app.kubernetes.io/component: cassandra, app.kubernetes.io/part-of: k8ssandra}\n",
        ));
        let m = only(&out);
        assert_eq!(
            m.object["metadata"]["labels"]["app.kubernetes.io/component"],
            "telemetry"
        );
        assert_eq!(
            messages(&diags, Severity::Warning),
            vec![
                "spec.cassandra.datacenters[0].telemetry.prometheus.commonLabels[\"app.kubernetes.io/component\"]: k8ssandra-operator sets app.kubernetes.io/component=telemetry on the Cassandra ServiceMonitor; this value is ignored"
                    .to_string()
            ]
        );
        assert!(messages(&diags, Severity::Error).is_empty());
    }

    /// commonLabels become object labels: invalid ones are errors at the level that set them.
    #[test]
    fn invalid_common_labels_are_errors() {
        let (out, diags) = run(&cluster(
            "demo",
            "    telemetry: {prometheus: {enabled: true, commonLabels: {\"bad key!\": x}}}\n",
            "    - metadata: {name: dc1}\n      size: 3\n      telemetry: {prometheus: {commonLabels: {ok: \"not ok\"}}}\n",
        ));
        assert!(out.is_empty());
        let errors = messages(&diags, Severity::Error);
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(
            errors[0].starts_with(
                "spec.cassandra.telemetry.prometheus.commonLabels[\"bad key!\"]: \"bad key!\" is not a valid label key"
            ),
            "{errors:#?}"
        );
        assert!(
            errors[1].starts_with(
                "spec.cassandra.datacenters[0].telemetry.prometheus.commonLabels.ok: \"not ok\" is not a valid label value"
            ),
            "{errors:#?}"
        );
    }

    #[test]
    fn relabel_table_is_60_rules() {
        assert_eq!(mcac_relabelings().len(), 60);
        let family_rules: usize = MCAC_FAMILIES.iter().map(|(_, _, t)| t.len()).sum();
        assert_eq!(family_rules, 57 - 9);
    }
}
