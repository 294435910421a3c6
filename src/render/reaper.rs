//! The `Reaper` object (`reaper.k8ssandra.io/v1alpha1`) the control plane creates next to each
//! datacenter (spec components §2.1, control-plane §2.11 and §4.6). The data-plane Reaper
//! controller turns it into a Deployment (or StatefulSet) and a Service; that layer is not ours.
//!
//! Upstream builds the object from the Go `ReaperClusterTemplate` and sends its JSON encoding.
//! We start from the template as written plus the CRD defaults
//! ([`crate::plan::templates::reaper`]) and reproduce what that encoding
//! keeps: zero-valued `omitempty` fields of the Reaper types are dropped (so that the Reaper CRD
//! defaults them again, as upstream), empty non-pointer structs are left out (deviations: "Empty
//! objects..."), and the `ReaperClusterTemplate`-only fields (`deploymentMode`, `reaperRef`) are
//! not part of a Reaper spec. Nested Kubernetes types (probes, affinity, resources, ...) are kept
//! as written; quantities keep their text (numbers become strings), not Go's canonical form.
//!
//! Decisions (spec `quirks.md`):
//! - #2: `httpManagement.enabled` is always written, `false` included; upstream loses `false`
//!   (plain bool with `omitempty`) and the Reaper CRD turns it back into `true`.
//! - #5: each Reaper is paired with its own datacenter by name (upstream pairs spec order with
//!   rollout-priority order by index).
//! - #10: no `k8ssandra.io/resource-hash` annotation.
//! - `skipSchemaMigration: true` whenever some datacenter of the cluster is `stopped`. Upstream
//!   requires the K8ssandraCluster condition `CassandraInitialized=True` too, but that condition is
//!   set (in memory, never cleared) as soon as every datacenter passed its readiness gate, which is
//!   before any Reaper is created or updated; so at the moment upstream writes a Reaper the
//!   condition always holds, and "some DC stopped" is the whole rule, decidable offline.

use serde_json::{Map, Value, json};

use super::labels;
use super::{Kind, Manifest};
use crate::json::object_entry;
use crate::json::{drop_zero_members, prune_empty, str_in, string_map};
use crate::plan::reaper::reaper_name;
use crate::plan::templates;
use crate::plan::{ClusterPlan, DcPlan};
use crate::ports::inject_secret::{
    INJECT_SECRET_ANNOTATION, SecretInjection, append_secret_injections,
};

/// `apiVersion` of the Reaper object.
pub const API_VERSION: &str = "reaper.k8ssandra.io/v1alpha1";
/// Containers of the Reaper pod that get the credentials mounted.
const REAPER_CONTAINERS: [&str; 2] = ["reaper", "reaper-schema-init"];

/// The Reaper objects the plan decided for one cluster ([`crate::plan::reaper`]), in any order
/// (the caller sorts), each with the context it goes to.
#[must_use]
pub fn render(plan: &ClusterPlan<'_>, context: Option<&str>) -> Vec<Manifest> {
    let (Some(decided), Some(template)) = (&plan.reaper, templates::reaper(plan)) else {
        return Vec::new();
    };
    let tpl = template.defaulted();
    decided
        .dcs
        .iter()
        .filter(|&&i| plan.dcs[i].is_in(context))
        .map(|&i| {
            let dc = &plan.dcs[i];
            let object = new_reaper(plan, dc, template, &tpl, &decided.pod_injections);
            Manifest::after_datacenters(plan, dc, Kind::Reaper, object)
        })
        .collect()
}

/// `NewReaper` for one datacenter. `pod_injections` are the entries the template's own
/// secret-injection annotation lists, read by the plan.
fn new_reaper(
    plan: &ClusterPlan<'_>,
    dc: &DcPlan<'_>,
    template: templates::ReaperTemplate<'_>,
    tpl: &Map<String, Value>,
    pod_injections: &[SecretInjection],
) -> Value {
    let name = reaper_name(plan, dc);

    let mut spec = go_encode_template(tpl);
    let template_meta = spec
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();

    // Object metadata: operator labels, cleaned-up-by labels, then the template's labels win.
    let mut labels = labels::operator_labels("reaper");
    labels.insert(
        "app.kubernetes.io/managed-by".into(),
        "k8ssandra-operator".into(),
    );
    labels.extend(labels::cleaned_up_by_labels(plan));
    labels.extend(string_map(template_meta.get("labels")));
    let annotations = string_map(template_meta.get("annotations"));

    spec.insert(
        "secretsProvider".into(),
        plan.secrets_provider.clone().into(),
    );
    spec.insert(
        "datacenterRef".into(),
        json!({ "name": dc.template.name, "namespace": dc.namespace }),
    );
    let availability =
        if str_in(tpl, &["deploymentMode"]) == "SINGLE" || plan.cassandra.datacenters.len() == 1 {
            "ALL"
        } else {
            "EACH"
        };
    spec.insert("datacenterAvailability".into(), availability.into());
    if let Some(stores) = plan
        .cassandra
        .client_encryption_stores
        .as_ref()
        .filter(|v| !v.is_null())
    {
        spec.insert("clientEncryptionStores".into(), stores.clone());
    }

    // The template's own metadata, then the secret injection, then Cassandra's common metadata.
    let mut meta = template_meta;
    if plan.auth && !plan.external_secrets() {
        let cql = template.cql_user_secret(plan);
        spec.insert("cassandraUserSecretRef".into(), json!({ "name": cql }));
        // `jmxUserSecretRef` is deprecated: upstream deliberately gives it no default.
        if tpl.get("uiUserSecretRef").is_none_or(Value::is_null) {
            spec.insert(
                "uiUserSecretRef".into(),
                json!({ "name": templates::reaper_default_ui_secret_name(plan) }),
            );
        }
        let ui = str_in(&spec, &["uiUserSecretRef", "name"]).to_string();
        let secrets: Vec<&str> = std::iter::once(cql.as_str())
            .chain(Some(ui.as_str()).filter(|u| !u.is_empty()))
            .collect();
        let value = append_secret_injections(pod_injections.to_vec(), &secrets, &REAPER_CONTAINERS);
        let pods = object_entry(&mut meta, "pods");
        let pod_annotations = object_entry(pods, "annotations");
        pod_annotations.insert(INJECT_SECRET_ANNOTATION.into(), value.into());
    }
    if spec.get("skipSchemaMigration") != Some(&Value::Bool(true))
        && plan.dcs.iter().any(|d| d.template.stopped)
    {
        spec.insert("skipSchemaMigration".into(), true.into());
    }
    merge_common_meta(&mut meta, &plan.cassandra.meta);
    // Always present, as upstream: whether `spec.metadata` exists at all changes the labels of
    // the Service the Reaper controller creates.
    spec.insert("metadata".into(), Value::Object(prune_empty(meta)));

    let mut spec = Value::Object(spec);
    super::stringify_quantities(&mut spec, &["heapSize"], &[]);

    let mut metadata = Map::new();
    metadata.insert("name".into(), name.into());
    metadata.insert("namespace".into(), dc.namespace.clone().into());
    metadata.insert("labels".into(), Value::Object(labels));
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), Value::Object(annotations));
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": "Reaper",
        "metadata": metadata,
        "spec": spec,
    })
}

/// The template as Go's JSON encoder would write the `ReaperTemplate` part of it (see the
/// module documentation), with `httpManagement.enabled` always explicit (quirk #2).
fn go_encode_template(tpl: &Map<String, Value>) -> Map<String, Value> {
    let mut spec = Map::new();
    for (key, value) in tpl {
        if value.is_null() {
            continue;
        }
        let kept = match key.as_str() {
            // ReaperClusterTemplate only: not part of a Reaper spec.
            "deploymentMode" | "reaperRef" => None,
            "storageType" | "keyspace" | "secretsProvider" | "ServiceAccountName" => {
                Some(value.clone()).filter(|v| v.as_str() != Some(""))
            }
            "skipSchemaMigration" => Some(value.clone()).filter(|v| v.as_bool() == Some(true)),
            "tolerations" | "additionalEnvVars" => {
                Some(value.clone()).filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
            }
            // Non-pointer structs: Go's encoder writes them even when zero (`{}`), and the
            // CRD then fills in their defaults, so they are written (see below when absent).
            "cassandraUserSecretRef" | "jmxUserSecretRef" | "autoScheduling" => {
                Some(drop_zero_members(value))
            }
            // Pointers: kept even when empty (their presence means something).
            "uiUserSecretRef" | "containerImage" | "initContainerImage" | "encryption" => {
                Some(drop_zero_members(value))
            }
            "httpManagement" => {
                let mut h = Map::new();
                let enabled = value
                    .get("enabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                h.insert("enabled".into(), enabled.into());
                if let Some(k) = value.get("keystores").filter(|k| !k.is_null()) {
                    h.insert("keystores".into(), drop_zero_members(k));
                }
                Some(Value::Object(h))
            }
            _ => Some(value.clone()),
        };
        if let Some(v) = kept {
            spec.insert(key.clone(), v);
        }
    }
    // CRD default: present unless the user wrote something the schema rejected.
    spec.entry("httpManagement")
        .or_insert_with(|| json!({ "enabled": true }));
    // The operator sends these zero structs as `{}`; the API server then stores their CRD
    // defaults (`autoScheduling.enabled: false`, `initialDelayPeriod: PT15S`, ..., `name: ""`).
    // Leaving them out would store a different object.
    for key in [
        "autoScheduling",
        "cassandraUserSecretRef",
        "jmxUserSecretRef",
    ] {
        spec.entry(key).or_insert_with(|| json!({}));
    }
    spec
}

/// `transformCassandraClusterMeta` + `goalesce.MustDeepMerge`: `spec.cassandra.metadata`
/// `commonLabels` go to labels, commonLabels, pods.labels and service.labels (the same four for
/// `commonAnnotations`), and win over the template's own values, except that an empty value never
/// replaces a non-empty one (goalesce keeps the other side of a zero value).
fn merge_common_meta(meta: &mut Map<String, Value>, cassandra_meta: &Value) {
    for (source, key) in [
        ("commonLabels", "labels"),
        ("commonAnnotations", "annotations"),
    ] {
        let common = string_map(cassandra_meta.get(source));
        if common.is_empty() {
            continue;
        }
        merge_strings(object_entry(meta, key), &common);
        merge_strings(object_entry(meta, source), &common);
        merge_strings(object_entry(object_entry(meta, "pods"), key), &common);
        merge_strings(object_entry(object_entry(meta, "service"), key), &common);
    }
}

fn merge_strings(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        match into.get(k) {
            Some(Value::String(old)) if !old.is_empty() && v.as_str() == Some("") => {}
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;

    /// Plans and renders; the diagnostics are the plan's (render reports nothing).
    fn run(yaml: &str) -> (Vec<Manifest>, Vec<Diagnostic>) {
        crate::testing::render_one(yaml, |plan, _| render(plan, None))
    }

    fn ok(yaml: &str) -> Vec<Manifest> {
        let (out, diags) = run(yaml);
        assert!(diags.is_empty(), "{diags:#?}");
        out
    }

    use crate::testing::{errors, warnings};

    use crate::testing::{STORAGE, by_name, cluster};

    const ONE_DC: &str = "    - metadata: {name: dc1}\n      k8sContext: east\n      size: 3\n";
    const TWO_DCS: &str = "    - metadata: {name: dc1}\n      k8sContext: east\n      size: 3\n    - metadata: {name: dc2}\n      k8sContext: west\n      size: 3\n";

    /// Golden fact 31 (controllers/k8ssandra/auth_test.go): kc `cluster1`, dc1, `reaper: {}`,
    /// auth on → Reaper `cluster1-dc1-reaper` whose CQL secret is `cluster1-reaper`.
    #[test]
    fn golden_default_secrets_and_injection() {
        let out = ok(&cluster("cluster1", "  reaper: {}\n", ONE_DC));
        assert_eq!(out.len(), 1);
        let r = &out[0];
        assert_eq!(r.context, "east");
        assert_eq!(r.cluster(), "cluster1");
        assert_eq!(r.kind(), Kind::Reaper);
        assert_eq!(r.object["apiVersion"], "reaper.k8ssandra.io/v1alpha1");
        assert_eq!(r.name(), "cluster1-dc1-reaper");
        assert_eq!(r.namespace(), "ns");
        let spec = &r.object["spec"];
        assert_eq!(
            spec["cassandraUserSecretRef"],
            json!({"name": "cluster1-reaper"})
        );
        assert_eq!(
            spec["uiUserSecretRef"],
            json!({"name": "cluster1-reaper-ui"})
        );
        assert_eq!(
            spec["metadata"]["pods"]["annotations"][INJECT_SECRET_ANNOTATION],
            r#"[{"name":"cluster1-reaper","path":"/etc/secrets/cluster1-reaper","containers":["reaper","reaper-schema-init"]},{"name":"cluster1-reaper-ui","path":"/etc/secrets/cluster1-reaper-ui","containers":["reaper","reaper-schema-init"]}]"#
        );
        assert_eq!(
            spec["datacenterRef"],
            json!({"name": "dc1", "namespace": "ns"})
        );
        assert_eq!(spec["datacenterAvailability"], "ALL");
        assert_eq!(spec["secretsProvider"], "internal");
        // CRD defaults (components §0.5), as the Go encoder keeps them.
        assert_eq!(spec["keyspace"], "reaper_db");
        assert_eq!(spec["storageType"], "cassandra");
        assert_eq!(spec["heapSize"], "2Gi");
        assert_eq!(spec["ServiceAccountName"], "default");
        assert_eq!(spec["httpManagement"], json!({"enabled": true}));
        // Go's encoder writes the zero `autoScheduling` struct as `{}`; the API server then
        // fills in its CRD defaults, so it must be written for the stored objects to match.
        assert_eq!(spec["autoScheduling"], json!({}));
        assert!(
            spec.get("deploymentMode").is_none(),
            "not a Reaper spec field"
        );
        assert!(spec.get("skipSchemaMigration").is_none());
        // Deprecated and never defaulted by the operator, but still sent as a zero struct.
        assert_eq!(spec["jmxUserSecretRef"], json!({}));
        // Labels (components §2.1): operator labels + CleanedUpBy; no hash annotation (quirk 10).
        assert_eq!(
            r.object["metadata"]["labels"],
            json!({
                "app.kubernetes.io/name": "k8ssandra-operator",
                "app.kubernetes.io/part-of": "k8ssandra",
                "app.kubernetes.io/component": "reaper",
                "app.kubernetes.io/managed-by": "k8ssandra-operator",
                "k8ssandra.io/cleaned-up-by": "k8ssandracluster-controller",
                "k8ssandra.io/cluster-name": "cluster1",
                "k8ssandra.io/cluster-namespace": "ns",
            })
        );
        // Only the rollout wave: after the one datacenter (position 0).
        assert_eq!(
            r.object["metadata"]["annotations"],
            json!({"argocd.argoproj.io/sync-wave": "5"})
        );
    }

    /// Upstream `Test_computeReaperDcAvailability`: one DC → ALL, PER_DC with two → EACH,
    /// SINGLE with two → ALL.
    #[test]
    fn datacenter_availability() {
        let out = ok(&cluster(
            "test",
            "  reaper:\n    deploymentMode: PER_DC\n",
            TWO_DCS,
        ));
        assert_eq!(out.len(), 2);
        for m in &out {
            assert_eq!(m.object["spec"]["datacenterAvailability"], "EACH");
        }
        let out = ok(&cluster(
            "test",
            "  reaper:\n    deploymentMode: SINGLE\n",
            TWO_DCS,
        ));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].object["spec"]["datacenterAvailability"], "ALL");
    }

    /// Upstream `Test_transformCassandraClusterMeta` + the deep merge in `NewReaper`: Cassandra's
    /// commonLabels/commonAnnotations go to labels, commonLabels, pods and service, and win.
    #[test]
    fn common_meta_is_forwarded_and_wins() {
        let yaml = cluster(
            "test",
            "  reaper:\n    metadata:\n      labels: {own: x, testLabel: mine}\n      annotations: {a: b}\n      pods: {labels: {p: q}}\n",
            ONE_DC,
        )
        .replace(
            "    serverVersion: 4.1.8\n",
            "    serverVersion: 4.1.8\n    metadata:\n      commonLabels: {testLabel: testValue}\n      commonAnnotations: {testAnnotation: testValue}\n",
        );
        let out = ok(&yaml);
        let meta = &out[0].object["spec"]["metadata"];
        assert_eq!(
            meta["labels"],
            json!({"own": "x", "testLabel": "testValue"})
        );
        assert_eq!(
            meta["annotations"],
            json!({"a": "b", "testAnnotation": "testValue"})
        );
        assert_eq!(meta["commonLabels"], json!({"testLabel": "testValue"}));
        assert_eq!(
            meta["commonAnnotations"],
            json!({"testAnnotation": "testValue"})
        );
        assert_eq!(
            meta["pods"]["labels"],
            json!({"p": "q", "testLabel": "testValue"})
        );
        assert_eq!(meta["pods"]["annotations"]["testAnnotation"], "testValue");
        assert!(meta["pods"]["annotations"][INJECT_SECRET_ANNOTATION].is_string());
        assert_eq!(
            meta["service"],
            json!({"labels": {"testLabel": "testValue"}, "annotations": {"testAnnotation": "testValue"}})
        );
        // The object's own metadata: template labels/annotations only, not the common ones.
        let labels = &out[0].object["metadata"]["labels"];
        assert_eq!(labels["own"], "x");
        assert_eq!(labels["testLabel"], "mine");
        assert_eq!(
            out[0].object["metadata"]["annotations"],
            json!({"a": "b", "argocd.argoproj.io/sync-wave": "5"})
        );
    }

    /// goalesce never lets a zero value win: an empty common label keeps the template's value.
    #[test]
    fn empty_common_value_does_not_override() {
        let yaml = cluster(
            "test",
            "  auth: false\n  reaper:\n    metadata: {labels: {a: x}}\n",
            ONE_DC,
        )
        .replace(
            "    serverVersion: 4.1.8\n",
            "    serverVersion: 4.1.8\n    metadata:\n      commonLabels: {a: \"\", b: \"\"}\n",
        );
        let out = ok(&yaml);
        assert_eq!(
            out[0].object["spec"]["metadata"]["labels"],
            json!({"a": "x", "b": ""})
        );
    }

    /// Without auth and without common metadata, `spec.metadata` is still written (upstream
    /// always sends it; its absence would change the Reaper Service labels).
    #[test]
    fn metadata_always_present() {
        let out = ok(&cluster("test", "  auth: false\n  reaper: {}\n", ONE_DC));
        let spec = &out[0].object["spec"];
        assert_eq!(spec["metadata"], json!({}));
        // No credentials without auth: the zero struct, as the operator sends it.
        assert_eq!(spec["cassandraUserSecretRef"], json!({}));
        assert!(spec.get("uiUserSecretRef").is_none());
    }

    /// control-plane §4.6 / components §2.1: no Reaper for a stopped DC; SINGLE goes to the first
    /// non-stopped DC; with a stopped DC every Reaper skips schema migration.
    #[test]
    fn stopped_datacenters() {
        let dcs = TWO_DCS.replacen("      size: 3\n", "      size: 3\n      stopped: true\n", 1);
        let out = ok(&cluster("test", "  reaper: {}\n", &dcs));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].name(), "test-dc2-reaper");
        assert_eq!(out[0].context, "west");
        assert_eq!(out[0].object["spec"]["skipSchemaMigration"], true);
        assert_eq!(out[0].object["spec"]["datacenterAvailability"], "EACH");

        let out = ok(&cluster(
            "test",
            "  reaper: {deploymentMode: SINGLE}\n",
            &dcs,
        ));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].name(), "test-dc2-reaper");

        let out = ok(&cluster(
            "test",
            "  reaper: {deploymentMode: SINGLE}\n",
            TWO_DCS,
        ));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].name(), "test-dc1-reaper");
        assert!(out[0].object["spec"].get("skipSchemaMigration").is_none());

        let all = TWO_DCS.replace("      size: 3\n", "      size: 3\n      stopped: true\n");
        assert!(ok(&cluster("test", "  reaper: {}\n", &all)).is_empty());
    }

    /// `reaperRef` set ⇒ no Reaper object (components §2.1), whatever the mode; the plan says
    /// why (`plan::reaper`).
    #[test]
    fn reaper_ref_means_no_reaper() {
        let (out, diags) = run(&cluster(
            "test",
            "  reaper:\n    reaperRef: {name: reaper1}\n    uiUserSecretRef: {name: reaper-ui-secret}\n",
            TWO_DCS,
        ));
        assert!(out.is_empty());
        assert_eq!(warnings(&diags), ["spec.reaper.reaperRef.name"]);
    }

    /// Quirk #2: a disabled HTTP management is written explicitly.
    #[test]
    fn quirk2_http_management_disabled_is_explicit() {
        let out = ok(&cluster(
            "test",
            "  reaper:\n    httpManagement: {enabled: false}\n",
            ONE_DC,
        ));
        assert_eq!(
            out[0].object["spec"]["httpManagement"],
            json!({"enabled": false})
        );
        let yaml = crate::emit::object_to_yaml(&out[0].object);
        assert!(
            yaml.contains("  httpManagement:\n    enabled: false\n"),
            "{yaml}"
        );
    }

    /// Quirk #5: with DSE workloads the rollout order (analytics first) differs from spec
    /// order; each Reaper still references its own DC and goes to its context.
    #[test]
    fn quirk5_pairs_by_name() {
        let yaml = format!(
            "metadata: {{name: test, namespace: ns}}\nspec:\n  reaper: {{}}\n  cassandra:\n    serverType: dse\n    serverVersion: 6.8.25\n{STORAGE}    datacenters:\n    - metadata: {{name: dc1}}\n      k8sContext: east\n      size: 3\n    - metadata: {{name: dc2}}\n      k8sContext: west\n      size: 3\n      dseWorkloads: {{analyticsEnabled: true}}\n"
        );
        let (out, diags) = run(&yaml);
        assert!(errors(&diags).is_empty(), "{diags:#?}");
        let r2 = by_name(&out, "test-dc2-reaper");
        assert_eq!(r2.context, "west");
        assert_eq!(r2.object["spec"]["datacenterRef"]["name"], "dc2");
        let r1 = by_name(&out, "test-dc1-reaper");
        assert_eq!(r1.context, "east");
        assert_eq!(r1.object["spec"]["datacenterRef"]["name"], "dc1");
    }

    /// Conformance `multi-dc-encryption-reaper.yaml`: clusterName override and datacenterName
    /// drive the name (sanitized), user secrets are kept, client stores are copied.
    #[test]
    fn names_and_user_secrets() {
        let yaml = "metadata: {name: test, namespace: ns}\nspec:\n  secretsProvider: external\n  reaper:\n    keyspace: reaper_ks\n    cassandraUserSecretRef: {name: reaper-cql-secret}\n    uiUserSecretRef: {name: reaper-ui-secret}\n    autoScheduling: {enabled: false}\n    heapSize: 256Mi\n  cassandra:\n    clusterName: E2E Test Cluster\n    serverVersion: 4.1.8\n    storageConfig:\n      cassandraDataVolumeClaimSpec:\n        resources: {requests: {storage: 1Gi}}\n    clientEncryptionStores:\n      keystoreSecretRef: {name: client-encryption-stores}\n      truststoreSecretRef: {name: client-encryption-stores}\n    datacenters:\n    - metadata: {name: dc1}\n      k8sContext: east\n      size: 2\n    - metadata: {name: dc2}\n      k8sContext: west\n      size: 2\n      datacenterName: real-dc2\n";
        let out = ok(yaml);
        let r = by_name(&out, "e2etestcluster-real-dc2-reaper");
        let spec = &r.object["spec"];
        assert_eq!(
            spec["datacenterRef"],
            json!({"name": "dc2", "namespace": "ns"})
        );
        assert_eq!(spec["keyspace"], "reaper_ks");
        assert_eq!(spec["heapSize"], "256Mi");
        assert_eq!(spec["secretsProvider"], "external");
        assert_eq!(
            spec["cassandraUserSecretRef"],
            json!({"name": "reaper-cql-secret"})
        );
        assert_eq!(spec["uiUserSecretRef"], json!({"name": "reaper-ui-secret"}));
        assert_eq!(
            spec["clientEncryptionStores"]["keystoreSecretRef"]["name"],
            "client-encryption-stores"
        );
        // External secrets: no injection annotation.
        assert_eq!(spec["metadata"], json!({}));
        // `enabled: false` is dropped like Go's omitempty; the rest are CRD defaults.
        assert!(spec["autoScheduling"].get("enabled").is_none());
        assert!(
            by_name(&out, "e2etestcluster-dc1-reaper").object["spec"]["datacenterRef"]["name"]
                == "dc1"
        );
    }

    /// An explicit empty `uiUserSecretRef` turns the UI authentication off: no default, no
    /// injection of a UI secret.
    #[test]
    fn empty_ui_secret_disables_ui_auth() {
        let out = ok(&cluster(
            "test",
            "  reaper:\n    uiUserSecretRef: {name: \"\"}\n",
            ONE_DC,
        ));
        let spec = &out[0].object["spec"];
        assert_eq!(spec["uiUserSecretRef"], json!({}));
        assert_eq!(
            spec["metadata"]["pods"]["annotations"][INJECT_SECRET_ANNOTATION],
            r#"[{"name":"test-reaper","path":"/etc/secrets/test-reaper","containers":["reaper","reaper-schema-init"]}]"#
        );
    }

    /// An existing inject-secret annotation is extended, not replaced; a secret already listed
    /// is not added twice; invalid JSON is an error.
    #[test]
    fn existing_injection_annotation() {
        let out = ok(&cluster(
            "test",
            "  reaper:\n    cassandraUserSecretRef: {name: mine}\n    uiUserSecretRef: {name: mine}\n    metadata:\n      pods:\n        annotations:\n          k8ssandra.io/inject-secret: '[{\"Name\": \"x&y\", \"path\": \"/p\", \"extra\": 1}]'\n",
            ONE_DC,
        ));
        assert_eq!(
            out[0].object["spec"]["metadata"]["pods"]["annotations"][INJECT_SECRET_ANNOTATION],
            r#"[{"name":"x\u0026y","path":"/p"},{"name":"mine","path":"/etc/secrets/mine","containers":["reaper","reaper-schema-init"]}]"#
        );
        let (out, diags) = run(&cluster(
            "test",
            "  reaper:\n    metadata:\n      pods:\n        annotations:\n          k8ssandra.io/inject-secret: 'nope'\n",
            ONE_DC,
        ));
        assert!(out.is_empty());
        let e = errors(&diags);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("spec.reaper.metadata.pods.annotations"),
            "{e:?}"
        );
    }

    /// Webhook rule 7 (checked by `plan::reaper`): a valid local storage renders one Reaper
    /// with its storage claim.
    #[test]
    fn local_storage() {
        let (out, diags) = run(&cluster("test", "  reaper: {storageType: local}\n", ONE_DC));
        assert!(out.is_empty(), "refused by the plan");
        assert_eq!(errors(&diags).len(), 2, "{diags:#?}");

        let out = ok(&cluster(
            "test",
            "  reaper:\n    storageType: local\n    deploymentMode: SINGLE\n    storageConfig:\n      accessModes: [ReadWriteOnce]\n      resources: {requests: {storage: 1Gi}}\n",
            TWO_DCS,
        ));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].object["spec"]["storageType"], "local");
        assert_eq!(
            out[0].object["spec"]["storageConfig"]["accessModes"],
            json!(["ReadWriteOnce"])
        );
    }

    /// Deprecated and ignored fields are copied as upstream does (the plan warns about them);
    /// the template's `secretsProvider` is overridden by the cluster's.
    #[test]
    fn deprecated_and_ignored_fields_are_copied() {
        let (out, diags) = run(&cluster(
            "test",
            "  reaper:\n    jmxUserSecretRef: {name: jmx}\n    initContainerImage: {name: old}\n    secretsProvider: external\n    deploymentMode: CONTROL_PLANE\n",
            TWO_DCS,
        ));
        assert!(errors(&diags).is_empty(), "{diags:#?}");
        assert_eq!(warnings(&diags).len(), 4, "{diags:#?}");
        assert_eq!(out.len(), 2, "CONTROL_PLANE: one per DC, as PER_DC");
        let spec = &out[0].object["spec"];
        assert_eq!(spec["jmxUserSecretRef"], json!({"name": "jmx"}));
        assert_eq!(
            spec["initContainerImage"],
            json!({"name": "old", "tag": "latest"})
        );
        assert_eq!(spec["secretsProvider"], "internal");
        assert_eq!(spec["datacenterAvailability"], "EACH");
    }

    /// Go's encoder drops zero-valued `omitempty` members, so the Reaper CRD defaults them
    /// again instead of the controller reading `""`.
    #[test]
    fn zero_values_are_dropped_like_go() {
        let out = ok(&cluster(
            "test",
            "  auth: false\n  reaper:\n    keyspace: \"\"\n    skipSchemaMigration: false\n    tolerations: []\n    cassandraUserSecretRef: {name: \"\"}\n    containerImage: {registry: \"\", name: reaper}\n",
            ONE_DC,
        ));
        let spec = out[0].object["spec"].as_object().unwrap();
        for k in ["keyspace", "skipSchemaMigration", "tolerations"] {
            assert!(!spec.contains_key(k), "{k}");
        }
        // A struct, not a pointer: its zero member goes, the struct stays.
        assert_eq!(spec["cassandraUserSecretRef"], json!({}));
        assert_eq!(
            spec["containerImage"],
            json!({"name": "reaper", "tag": "latest"})
        );
    }

    /// Numeric quantities are written as strings, as the API server stores them.
    #[test]
    fn quantities_as_strings() {
        let out = ok(&cluster(
            "test",
            "  reaper:\n    heapSize: 1073741824\n    resources: {requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 2}}\n",
            ONE_DC,
        ));
        let spec = &out[0].object["spec"];
        assert_eq!(spec["heapSize"], "1073741824");
        assert_eq!(
            spec["resources"],
            json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2"}})
        );
    }

    /// The longest Reaper name the plan accepts is rendered; a longer one is refused by the
    /// plan (`plan::reaper`) and nothing is rendered.
    #[test]
    fn overlong_name() {
        let long = "a".repeat(44);
        let out = ok(&cluster(&long, "  reaper: {}\n", ONE_DC));
        assert_eq!(out[0].name().len(), 55);
        let dc = ONE_DC.replace(
            "      size: 3\n",
            "      size: 3\n      datacenterName: a-long-dc-name\n",
        );
        let (out, diags) = run(&cluster(&long, "  reaper: {}\n", &dc));
        assert!(out.is_empty());
        assert_eq!(errors(&diags).len(), 1, "{diags:#?}");
    }

    /// Render reports nothing about Reaper: a cluster whose Reaper the plan refused renders its
    /// other objects, with no diagnostic and no Reaper.
    #[test]
    fn render_reports_nothing_for_a_refused_reaper() {
        let yaml = cluster("test", "  reaper: {storageType: local}\n", ONE_DC);
        let (out, plan_diags) = crate::testing::render_one(&yaml, |plan, diags| {
            let before = diags.len();
            let out = crate::render::render_cluster(plan, None, None, diags);
            assert_eq!(diags.len(), before, "render added {:#?}", &diags[before..]);
            out
        });
        assert_eq!(
            errors(&plan_diags).len(),
            2,
            "the plan refused it: {plan_diags:#?}"
        );
        assert!(out.iter().any(|m| m.kind() == Kind::CassandraDatacenter));
        assert!(out.iter().all(|m| m.kind() != Kind::Reaper), "{out:#?}");
    }

    /// The golden example: the `autoScheduling` CRD defaults once the object is written.
    #[test]
    fn auto_scheduling_defaults() {
        let out = ok(&cluster(
            "test",
            "  reaper:\n    autoScheduling: {enabled: true}\n",
            ONE_DC,
        ));
        assert_eq!(
            out[0].object["spec"]["autoScheduling"],
            json!({"enabled": true, "repairType": "AUTO", "percentUnrepairedThreshold": 10, "initialDelayPeriod": "PT15S",
                   "periodBetweenPolls": "PT10M", "timeBeforeFirstSchedule": "PT5M", "scheduleSpreadPeriod": "PT6H"})
        );
    }

    /// Writes rendered objects for the strict validator when REAPER_VALIDATE_DIR is set.
    #[test]
    fn write_for_validation() {
        let Ok(dir) = std::env::var("REAPER_VALIDATE_DIR") else {
            return;
        };
        let cases = [
            cluster("cluster1", "  reaper: {}\n", ONE_DC),
            cluster("test", "  reaper:\n    httpManagement: {enabled: false, keystores: {name: ks}}\n    uiUserSecretRef: {name: \"\"}\n    metadata: {labels: {a: b}, annotations: {c: d}, commonLabels: {e: f}}\n", TWO_DCS)
                .replace("    serverVersion: 4.1.8\n", "    serverVersion: 4.1.8\n    metadata:\n      commonLabels: {xx: yy}\n      commonAnnotations: {z: w}\n"),
            cluster("local", "  reaper:\n    storageType: local\n    deploymentMode: SINGLE\n    jmxUserSecretRef: {name: jmx}\n    initContainerImage: {name: old}\n    autoScheduling: {enabled: true, excludedKeyspaces: [a]}\n    encryption: {serverCertName: s}\n    storageConfig:\n      accessModes: [ReadWriteOnce]\n      resources: {requests: {storage: 1Gi}}\n", &TWO_DCS.replace("      size: 3\n", "      size: 3\n      stopped: true\n").replacen("      stopped: true\n", "", 1)),
            "metadata: {name: enc, namespace: ns}\nspec:\n  secretsProvider: external\n  reaper: {keyspace: ks, heapSize: 256Mi}\n  cassandra:\n    clusterName: E2E Test Cluster\n    serverVersion: 4.1.8\n    storageConfig:\n      cassandraDataVolumeClaimSpec:\n        resources: {requests: {storage: 1Gi}}\n    clientEncryptionStores:\n      keystoreSecretRef: {name: c}\n      truststoreSecretRef: {name: c}\n    datacenters:\n    - metadata: {name: dc1}\n      k8sContext: east\n      size: 2\n    - metadata: {name: dc2, namespace: other}\n      k8sContext: west\n      size: 2\n      datacenterName: real-dc2\n".to_string(),
        ];
        for (i, case) in cases.iter().enumerate() {
            let (out, diags) = run(case);
            assert!(errors(&diags).is_empty(), "{diags:#?}");
            for m in out {
                let path = std::path::Path::new(&dir).join(format!("{i}-{}.yaml", m.name()));
                std::fs::write(path, crate::emit::object_to_yaml(&m.object)).unwrap();
            }
        }
    }
}
