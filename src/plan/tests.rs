//! Unit tests of the plan: where each datacenter goes (context, namespace), the rollout order,
//! and the cluster → datacenter merge. Expected values come from the spec (control-plane
//! §1.6, §1.7, §2.2 `metadata.namespace`, §4.1, §6.1) and the README's RenderConfig fields, not from
//! the code's output.

use serde_json::{Value, json};

use super::{ClusterPlan, Settings, plan};
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceFile;

const CLIENT_CONFIGS: &str = "apiVersion: config.k8ssandra.io/v1beta1\nkind: ClientConfig\nmetadata: {name: east}\n---\napiVersion: config.k8ssandra.io/v1beta1\nkind: ClientConfig\nmetadata: {name: west}\n";

/// Loads the files (name, text) plus ClientConfigs for `east` and `west`, plans them and hands
/// the plans and every diagnostic to `check`.
pub(super) fn with_plans(
    files: &[(&str, &str)],
    check: impl FnOnce(&[ClusterPlan<'_>], &[Diagnostic]),
) {
    let mut sources: Vec<SourceFile> = files
        .iter()
        .map(|(name, text)| SourceFile {
            rel_path: (*name).into(),
            display_path: (*name).into(),
            text: (*text).to_string(),
        })
        .collect();
    sources.push(SourceFile {
        rel_path: "clients.yaml".into(),
        display_path: "clients.yaml".into(),
        text: CLIENT_CONFIGS.to_string(),
    });
    let (inputs, mut diags) = crate::load::load(&sources);
    let settings = Settings::from_inputs(&inputs);
    let plans = plan(&inputs, &settings, &mut diags);
    check(&plans, &diags);
}

/// Each problem as (code, field path).
pub(super) fn codes_at(diags: &[Diagnostic]) -> Vec<(crate::diagnostic::Code, String)> {
    diags
        .iter()
        .map(|d| (d.code, crate::yaml::path_string(&d.path)))
        .collect()
}

pub(super) fn errors(diags: &[Diagnostic]) -> Vec<&str> {
    diags
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .map(|d| d.message.as_str())
        .collect()
}

/// A K8ssandraCluster; `meta` goes under `metadata` (after the name), `cassandra` under
/// `spec.cassandra` (four-space indent, after serverVersion and storageConfig).
pub(super) fn cluster(meta: &str, cassandra: &str) -> String {
    format!(
        "apiVersion: k8ssandra.io/v1alpha1\nkind: K8ssandraCluster\nmetadata:\n  name: demo\n{meta}spec:\n  cassandra:\n    serverVersion: 4.1.5\n    storageConfig:\n      cassandraDataVolumeClaimSpec:\n        resources: {{requests: {{storage: 1Gi}}}}\n{cassandra}"
    )
}

const RENDER_CONFIG: &str = "apiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata: {name: default}\nspec:\n  controlPlaneContext: hub\n  defaultNamespace: team-a\n";

#[test]
fn datacenters_go_to_their_context_or_the_control_plane() {
    let c = cluster(
        "",
        "    datacenters:\n    - metadata: {name: dc1}\n      size: 1\n    - metadata: {name: dc2}\n      k8sContext: east\n      size: 1\n",
    );
    // README: DCs without k8sContext go to controlPlaneContext, `control-plane` by default.
    with_plans(&[("c.yaml", &c)], |plans, diags| {
        assert!(errors(diags).is_empty(), "{diags:#?}");
        let contexts: Vec<&str> = plans[0].dcs.iter().map(|d| d.context.as_str()).collect();
        assert_eq!(contexts, ["control-plane", "east"]);
    });
    with_plans(
        &[("c.yaml", &c), ("rc.yaml", RENDER_CONFIG)],
        |plans, diags| {
            assert!(errors(diags).is_empty(), "{diags:#?}");
            let contexts: Vec<&str> = plans[0].dcs.iter().map(|d| d.context.as_str()).collect();
            assert_eq!(contexts, ["hub", "east"]);
        },
    );
}

#[test]
fn a_context_no_client_config_declares_is_an_error_at_that_field() {
    // Spec §6.1 webhook rule 2: every k8sContext must resolve to a known ClientConfig.
    let c = cluster(
        "",
        "    datacenters:\n    - metadata: {name: dc1}\n      k8sContext: eats\n      size: 1\n",
    );
    with_plans(&[("c.yaml", &c)], |plans, diags| {
        assert!(plans.is_empty());
        let found: Vec<&Diagnostic> = diags
            .iter()
            .filter(|d| d.severity() == Severity::Error && d.message.contains("\"eats\""))
            .collect();
        assert_eq!(found.len(), 1, "{diags:#?}");
        assert_eq!(found[0].path, super::dc_path(0, &["k8sContext"]));
    });
}

#[test]
fn namespaces_come_from_the_datacenter_then_the_cluster_then_the_default() {
    // Spec §2.2: the DC's metadata.namespace, else the K8ssandraCluster's; README: a cluster
    // without one gets RenderConfig's defaultNamespace, `default` by default.
    let dcs = "    datacenters:\n    - metadata: {name: dc1}\n      size: 1\n    - metadata: {name: dc2, namespace: other}\n      size: 1\n";
    let with_ns = cluster("  namespace: prod\n", dcs);
    let without_ns = cluster("", dcs);
    let namespaces = |plans: &[ClusterPlan<'_>]| -> (String, Vec<String>) {
        (
            plans[0].namespace.clone(),
            plans[0].dcs.iter().map(|d| d.namespace.clone()).collect(),
        )
    };
    with_plans(&[("c.yaml", &with_ns)], |plans, diags| {
        assert!(errors(diags).is_empty(), "{diags:#?}");
        assert_eq!(
            namespaces(plans),
            ("prod".into(), vec!["prod".into(), "other".into()])
        );
    });
    with_plans(&[("c.yaml", &without_ns)], |plans, _| {
        assert_eq!(
            namespaces(plans),
            ("default".into(), vec!["default".into(), "other".into()])
        );
    });
    with_plans(
        &[("c.yaml", &without_ns), ("rc.yaml", RENDER_CONFIG)],
        |plans, _| {
            assert_eq!(
                namespaces(plans),
                ("team-a".into(), vec!["team-a".into(), "other".into()])
            );
        },
    );
}

#[test]
fn rollout_order_is_analytics_then_plain_then_search_keeping_spec_order() {
    // Spec §4.1: analyticsEnabled → 3, searchEnabled without analytics → 1, everything else
    // (graph-only, no workloads) → 2; descending, spec order kept among equals.
    let c = cluster(
        "",
        "    serverType: dse\n    datacenters:\n    - metadata: {name: plain}\n      size: 1\n    - metadata: {name: search}\n      size: 1\n      dseWorkloads: {searchEnabled: true}\n    - metadata: {name: analytics}\n      size: 1\n      dseWorkloads: {analyticsEnabled: true}\n    - metadata: {name: graph}\n      size: 1\n      dseWorkloads: {graphEnabled: true}\n    - metadata: {name: both}\n      size: 1\n      dseWorkloads: {analyticsEnabled: true, searchEnabled: true}\n    - metadata: {name: search2}\n      size: 1\n      dseWorkloads: {searchEnabled: true}\n",
    )
    .replace("serverVersion: 4.1.5", "serverVersion: 6.8.50");
    with_plans(&[("c.yaml", &c)], |plans, diags| {
        assert!(errors(diags).is_empty(), "{diags:#?}");
        let p = &plans[0];
        let order: Vec<&str> = p
            .priority
            .iter()
            .map(|&i| p.dcs[i].template.name.as_str())
            .collect();
        assert_eq!(
            order,
            ["analytics", "both", "plain", "graph", "search", "search2"]
        );
    });
}

#[test]
fn cluster_options_merge_into_each_datacenter_with_the_datacenter_winning() {
    // Spec §1.7: maps merge key by key (DC wins), storageConfig's claim spec field by field,
    // racks by name (cluster order, then DC-only racks), other lists are replaced whole, a
    // DC `false` in a *bool overrides a cluster `true`, metadata maps merge key-wise.
    let c = "apiVersion: k8ssandra.io/v1alpha1\nkind: K8ssandraCluster\nmetadata: {name: demo}\nspec:\n  cassandra:\n    serverVersion: 4.1.5\n    softPodAntiAffinity: true\n    resources: {requests: {cpu: '1'}}\n    metadata:\n      labels: {team: a, tier: gold}\n    storageConfig:\n      cassandraDataVolumeClaimSpec:\n        storageClassName: fast\n        resources: {requests: {storage: 1Gi}}\n    racks:\n    - name: r1\n      nodeAffinityLabels: {zone: a}\n    - name: r2\n    config:\n      cassandraYaml: {num_tokens: 16, concurrent_reads: 32}\n      jvmOptions:\n        heapSize: 1Gi\n        additionalOptions: [-Dcluster=1, -Dshared=1]\n    datacenters:\n    - metadata:\n        name: dc1\n        labels: {tier: silver}\n      size: 3\n      softPodAntiAffinity: false\n      resources: {requests: {cpu: '2'}}\n      storageConfig:\n        cassandraDataVolumeClaimSpec:\n          resources: {requests: {storage: 5Gi}}\n      racks:\n      - name: r3\n      - name: r1\n        nodeAffinityLabels: {rack: one}\n      config:\n        cassandraYaml: {concurrent_reads: 64}\n        jvmOptions:\n          additionalOptions: [-Ddc=1]\n    - metadata: {name: dc2}\n      size: 1\n";
    with_plans(&[("c.yaml", c)], |plans, diags| {
        assert!(errors(diags).is_empty(), "{diags:#?}");
        let dc1 = &plans[0].dcs[0];
        assert_eq!(
            dc1.options.storage_config,
            Some(json!({"cassandraDataVolumeClaimSpec": {
                "storageClassName": "fast",
                "resources": {"requests": {"storage": "5Gi"}}
            }}))
        );
        let racks: Vec<Value> = dc1.options.racks.clone().unwrap();
        assert_eq!(
            racks,
            [
                json!({"name": "r1", "nodeAffinityLabels": {"zone": "a", "rack": "one"}}),
                json!({"name": "r2"}),
                json!({"name": "r3"}),
            ]
        );
        assert_eq!(
            dc1.config["cassandraYaml"],
            json!({"num_tokens": 16, "concurrent_reads": 64})
        );
        assert_eq!(dc1.config["jvmOptions"]["heapSize"], "1Gi");
        assert_eq!(
            dc1.config["jvmOptions"]["additionalOptions"],
            json!(["-Ddc=1"])
        );
        assert_eq!(dc1.options.soft_pod_anti_affinity, Some(false));
        assert_eq!(
            dc1.options.resources,
            Some(json!({"requests": {"cpu": "2"}}))
        );
        assert_eq!(dc1.meta["labels"], json!({"team": "a", "tier": "silver"}));
        // A datacenter that sets nothing gets the cluster's values.
        let dc2 = &plans[0].dcs[1];
        assert_eq!(
            dc2.config["cassandraYaml"],
            json!({"num_tokens": 16, "concurrent_reads": 32})
        );
        assert_eq!(
            dc2.config["jvmOptions"]["additionalOptions"],
            json!(["-Dcluster=1", "-Dshared=1"])
        );
        assert_eq!(dc2.options.soft_pod_anti_affinity, Some(true));
        assert_eq!(dc2.meta["labels"], json!({"team": "a", "tier": "gold"}));
    });
}

#[test]
fn crd_defaults_apply_per_side_before_the_merge() {
    // Spec §1.6: jvmOptions.gc defaults to G1GC wherever a jvmOptions object exists, so a DC
    // with any jvmOptions overrides a cluster-level gc; a DC without one keeps it.
    let c = cluster(
        "",
        "    config:\n      jvmOptions: {gc: CMS}\n    datacenters:\n    - metadata: {name: dc1}\n      size: 1\n      config:\n        jvmOptions: {heapSize: 1Gi}\n    - metadata: {name: dc2}\n      size: 1\n",
    );
    with_plans(&[("c.yaml", &c)], |plans, diags| {
        assert!(errors(diags).is_empty(), "{diags:#?}");
        assert_eq!(plans[0].dcs[0].config["jvmOptions"]["gc"], "G1GC");
        assert_eq!(plans[0].dcs[1].config["jvmOptions"]["gc"], "CMS");
    });
}

#[test]
fn cluster_and_datacenter_names_default_as_upstream() {
    // Spec §1.7: datacenterName comes from the DC only (a cluster-level one is ignored, with a
    // warning); the Cassandra cluster name is spec.cassandra.clusterName, else the
    // K8ssandraCluster's name.
    let c = cluster(
        "",
        "    datacenterName: ignored\n    datacenters:\n    - metadata: {name: dc1}\n      size: 1\n    - metadata: {name: dc2}\n      datacenterName: DC2\n      size: 1\n",
    );
    with_plans(&[("c.yaml", &c)], |plans, diags| {
        assert!(errors(diags).is_empty(), "{diags:#?}");
        let names: Vec<&str> = plans[0]
            .dcs
            .iter()
            .map(|d| d.cass_dc_name.as_str())
            .collect();
        assert_eq!(names, ["dc1", "DC2"]);
        assert_eq!(plans[0].cass_cluster_name, "demo");
        assert!(
            diags.iter().any(|d| d.severity() == Severity::Warning
                && d.message
                    .starts_with("datacenterName is ignored at cluster level")),
            "{diags:#?}"
        );
    });
    let named = cluster(
        "",
        "    clusterName: Prod Cluster\n    datacenters:\n    - metadata: {name: dc1}\n      size: 1\n",
    );
    with_plans(&[("c.yaml", &named)], |plans, _| {
        assert_eq!(plans[0].cass_cluster_name, "Prod Cluster");
    });
}
