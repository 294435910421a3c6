//! The `Stargate` object (`stargate.k8ssandra.io/v1alpha1`) the control plane creates next to
//! each datacenter (spec components §1.1, control-plane §2.11 and §4.6). The data-plane Stargate
//! controller turns it into Deployments, a Service and ConfigMaps; that layer is not ours.
//!
//! The template of a datacenter is its own `stargate` block merged over the cluster-level
//! `spec.stargate` (goalesce rules, the datacenter wins; merged by the plan). Which datacenters
//! get a Stargate, the deprecation warnings and the other checks are the plan's
//! ([`crate::plan::stargate`]).
//!
//! Upstream builds the object from the Go `StargateDatacenterTemplate` and sends its JSON
//! encoding. We start from the templates as written and reproduce what that encoding keeps:
//! zero-valued `omitempty` members are dropped (so the Stargate CRD defaults them again, as
//! upstream), `nodeSelector: {}` and `tolerations: []` disappear (so the controller falls back to
//! the datacenter's node selector, as upstream), and empty non-pointer structs (`metadata.pods`,
//! `metadata.service`) are left out (deviations: "Empty objects..."). Nested Kubernetes types
//! are kept as written; quantities keep their text (numbers become strings).
//!
//! `cassandraEncryption` is always written. Its stores are copied, as upstream, only when client
//! or server encryption is on and secrets are internal; the datacenter renderer refuses exactly
//! that combination (the passwords would have to be read from Secrets at run time), so in
//! practice it is always `{}` today.
//!
//! Decisions (spec `quirks.md`):
//! - #3: the cluster- and datacenter-level templates are merged first and the CRD defaults are
//!   applied to the result, so a default never beats a value set at the cluster level (both
//!   decided by [`crate::plan::templates::stargate`]).
//! - #5: each Stargate is paired with its own datacenter by name.
//! - #10: no `k8ssandra.io/resource-hash` annotation.
//! - #11: the datacenter's tolerations are not copied (reproduced; the plan warns).

use serde_json::{Map, Value, json};

use super::labels;
use super::{Kind, Manifest};
use crate::json::{drop_zero_members, prune_empty, string_map};
use crate::plan::stargate::stargate_name;
use crate::plan::templates;
use crate::plan::{ClusterPlan, DcPlan};

/// `apiVersion` of the Stargate object.
pub const API_VERSION: &str = "stargate.k8ssandra.io/v1alpha1";

/// The Stargate objects the plan decided for one cluster ([`crate::plan::stargate`]), in any
/// order (the caller sorts), each with the context it goes to.
#[must_use]
pub fn render(plan: &ClusterPlan<'_>, context: Option<&str>) -> Vec<Manifest> {
    plan.stargate_dcs
        .iter()
        .filter(|&&i| plan.dcs[i].is_in(context))
        .filter_map(|&i| {
            let dc = &plan.dcs[i];
            let tpl = templates::stargate(plan, dc)?.defaulted();
            Some(Manifest::after_datacenters(
                plan,
                dc,
                Kind::Stargate,
                new_stargate(plan, dc, &tpl),
            ))
        })
        .collect()
}

/// `NewStargate` for one datacenter.
fn new_stargate(plan: &ClusterPlan<'_>, dc: &DcPlan<'_>, tpl: &Map<String, Value>) -> Value {
    let mut spec = go_encode_template(tpl);
    let template_meta = spec.get("metadata").and_then(Value::as_object);

    let mut labels = labels::operator_labels("stargate");
    labels.extend(labels::cleaned_up_by_labels(plan));
    labels.extend(string_map(template_meta.and_then(|m| m.get("labels"))));
    let annotations = string_map(template_meta.and_then(|m| m.get("annotations")));

    let external = plan.external_secrets();
    spec.insert(
        "secretsProvider".into(),
        plan.secrets_provider.clone().into(),
    );
    spec.insert("datacenterRef".into(), json!({ "name": dc.template.name }));
    spec.insert("auth".into(), plan.auth.into());
    spec.insert(
        "cassandraEncryption".into(),
        Value::Object(cassandra_encryption(plan, dc, external)),
    );

    let mut spec = Value::Object(spec);
    super::stringify_quantities(&mut spec, &["heapSize"], &[]);

    let mut metadata = Map::new();
    metadata.insert("name".into(), stargate_name(plan, dc).into());
    metadata.insert("namespace".into(), dc.namespace.clone().into());
    metadata.insert("labels".into(), Value::Object(labels));
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), Value::Object(annotations));
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": "Stargate",
        "metadata": metadata,
        "spec": spec,
    })
}

/// `CassandraEncryption`: the cluster's stores, for the kinds of encryption the datacenter's
/// merged `cassandraYaml` turns on, unless secrets are external.
fn cassandra_encryption(
    plan: &ClusterPlan<'_>,
    dc: &DcPlan<'_>,
    external: bool,
) -> Map<String, Value> {
    let mut enc = Map::new();
    if external {
        return enc;
    }
    let yaml = |path: &[&str]| {
        path.iter()
            .try_fold(dc.config.get("cassandraYaml")?, |v, p| v.get(*p))
    };
    let stores = |v: &Option<Value>| v.as_ref().filter(|s| s.is_object()).cloned();
    if yaml(&["client_encryption_options", "enabled"]) == Some(&Value::Bool(true))
        && let Some(s) = stores(&plan.cassandra.client_encryption_stores)
    {
        enc.insert("clientEncryptionStores".into(), s);
    }
    if yaml(&["server_encryption_options", "internode_encryption"])
        .is_some_and(|v| !v.is_null() && v.as_str() != Some("none"))
        && let Some(s) = stores(&plan.cassandra.server_encryption_stores)
    {
        enc.insert("serverEncryptionStores".into(), s);
    }
    enc
}

/// The merged, defaulted template as Go's JSON encoder writes a `StargateDatacenterTemplate`
/// (see the module documentation).
fn go_encode_template(tpl: &Map<String, Value>) -> Map<String, Value> {
    let mut out = go_encode_fields(tpl);
    if let Some(Value::Array(racks)) = out.get_mut("racks") {
        for rack in racks.iter_mut() {
            if let Value::Object(r) = rack {
                *r = go_encode_fields(r);
            }
        }
    }
    out
}

/// The `StargateTemplate` members (shared by the datacenter template and its racks).
fn go_encode_fields(tpl: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in tpl {
        if value.is_null() {
            continue;
        }
        let kept = match key.as_str() {
            "allowStargateOnDataNodes" => Some(value.clone()).filter(|v| v.as_bool() == Some(true)),
            "secretsProvider" | "name" => Some(value.clone()).filter(|v| v.as_str() != Some("")),
            "nodeSelector" => {
                Some(value.clone()).filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
            }
            "tolerations" | "racks" => {
                Some(value.clone()).filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
            }
            "containerImage" => {
                let mut image = drop_zero_members(value);
                if let Some(Value::Object(m)) = Some(&mut image)
                    && let Some(secret) = m.get("pullSecretRef").map(drop_zero_members)
                {
                    m.insert("pullSecretRef".into(), secret);
                }
                Some(image)
            }
            "cassandraConfigMapRef" | "authOptions" => Some(drop_zero_members(value)),
            "metadata" => Some(Value::Object(prune_empty(
                value.as_object().cloned().unwrap_or_default(),
            ))),
            _ => Some(value.clone()),
        };
        if let Some(v) = kept {
            out.insert(key.clone(), v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;

    /// Plans and renders; the diagnostics are the plan's (render reports nothing).
    fn run(yaml: &str) -> (Vec<Manifest>, Vec<Diagnostic>) {
        crate::testing::render_one(yaml, |plan, _| render(plan, None))
    }

    use crate::testing::{errors, warnings};

    /// Renders, expecting no errors and exactly the given warning paths.
    fn ok(yaml: &str, expected_warnings: &[&str]) -> Vec<Manifest> {
        let (out, diags) = run(yaml);
        assert!(errors(&diags).is_empty(), "{diags:#?}");
        assert_eq!(warnings(&diags), expected_warnings, "{diags:#?}");
        out
    }

    use crate::testing::{STORAGE, by_name, cluster};

    const DC1: &str = "    - metadata: {name: dc1}\n      k8sContext: east\n      size: 3\n";
    const DC2: &str = "    - metadata: {name: dc2}\n      k8sContext: west\n      size: 3\n";
    const DEPRECATED_DC0: &str = "spec.cassandra.datacenters[0].stargate";

    /// Upstream fixture `stargate-jwt`: name, place, labels, forced fields, CRD defaults, and Go's
    /// omitempty dropping `allowStargateOnDataNodes: false`.
    #[test]
    fn single_dc_golden() {
        let dc = format!(
            "{DC1}      stargate:\n        size: 1\n        heapSize: 384Mi\n        authOptions:\n          apiAuthMethod: JWT\n          providerUrl: http://keycloak-stargate-service:8080/realms/stargate/protocol/openid-connect/certs\n        cassandraConfigMapRef:\n          name: cassandra-config\n"
        );
        let out = ok(&cluster("cluster1", "", &dc), &[DEPRECATED_DC0]);
        assert_eq!(out.len(), 1);
        let s = &out[0];
        assert_eq!(s.context, "east");
        assert_eq!(s.cluster(), "cluster1");
        assert_eq!(s.object["apiVersion"], "stargate.k8ssandra.io/v1alpha1");
        assert_eq!(s.kind(), Kind::Stargate);
        assert_eq!(s.name(), "cluster1-dc1-stargate");
        assert_eq!(s.namespace(), "ns");
        assert_eq!(
            s.object["metadata"]["labels"],
            json!({
                "app.kubernetes.io/name": "k8ssandra-operator",
                "app.kubernetes.io/part-of": "k8ssandra",
                "app.kubernetes.io/component": "stargate",
                "k8ssandra.io/cleaned-up-by": "k8ssandracluster-controller",
                "k8ssandra.io/cluster-name": "cluster1",
                "k8ssandra.io/cluster-namespace": "ns",
            })
        );
        // Only the rollout wave: after the one datacenter (position 0).
        assert_eq!(
            s.object["metadata"]["annotations"],
            json!({"argocd.argoproj.io/sync-wave": "5"})
        );
        assert_eq!(
            s.object["spec"],
            json!({
                "size": 1,
                "heapSize": "384Mi",
                "serviceAccount": "default",
                "containerImage": {"repository": "stargateio", "tag": "v1.0.77"},
                "authOptions": {
                    "apiAuthMethod": "JWT",
                    "providerUrl": "http://keycloak-stargate-service:8080/realms/stargate/protocol/openid-connect/certs"
                },
                "cassandraConfigMapRef": {"name": "cassandra-config"},
                "secretsProvider": "internal",
                "datacenterRef": {"name": "dc1"},
                "auth": true,
                "cassandraEncryption": {},
            })
        );
    }

    /// Upstream `testStargateDatacenterTemplateMerge` ("Non-nil dc with non-nil cluster"): the
    /// DC wins field by field, maps merge, lists are atomic, size from the DC, racks kept.
    #[test]
    fn merge_golden() {
        let top = "  stargate:\n    size: 20\n    containerImage: {repository: repo2, name: img2}\n    serviceAccount: sa2\n    heapSize: 256Mi\n    nodeSelector: {k2: v2a, k3: v3}\n    tolerations: [{key: k2, value: v2}]\n    affinity:\n      podAffinity:\n        requiredDuringSchedulingIgnoredDuringExecution:\n        - labelSelector: {matchExpressions: [{key: k2, operator: In, values: [v2]}]}\n          topologyKey: k2\n      podAntiAffinity:\n        requiredDuringSchedulingIgnoredDuringExecution:\n        - labelSelector: {matchExpressions: [{key: k2, operator: In, values: [v2]}]}\n          topologyKey: k2\n";
        let dc = "    - metadata: {name: dc1}\n      k8sContext: east\n      size: 3\n      racks: [{name: rack1}]\n      stargate:\n        size: 10\n        containerImage: {registry: reg1, name: img1}\n        heapSize: 512Mi\n        nodeSelector: {k1: v1, k2: v2}\n        tolerations: [{key: k1, value: v1}]\n        affinity:\n          podAffinity:\n            requiredDuringSchedulingIgnoredDuringExecution:\n            - labelSelector: {matchExpressions: [{key: k1, operator: In, values: [v1]}]}\n              topologyKey: k1\n        racks: [{name: rack1, heapSize: 512Mi}]\n";
        // The rack leaves serviceAccount and containerImage to the CRD defaults (warned about).
        let out = ok(
            &cluster("c", top, dc),
            &[
                "spec.stargate",
                DEPRECATED_DC0,
                "spec.cassandra.datacenters[0].stargate.racks[0].serviceAccount",
                "spec.cassandra.datacenters[0].stargate.racks[0].containerImage",
            ],
        );
        let spec = &out[0].object["spec"];
        assert_eq!(spec["size"], 10);
        assert_eq!(spec["heapSize"], "512Mi");
        assert_eq!(spec["serviceAccount"], "sa2");
        let image = &spec["containerImage"];
        assert_eq!(
            (&image["registry"], &image["repository"], &image["name"]),
            (&json!("reg1"), &json!("repo2"), &json!("img1"))
        );
        assert_eq!(
            spec["nodeSelector"],
            json!({"k1": "v1", "k2": "v2", "k3": "v3"})
        );
        assert_eq!(spec["tolerations"], json!([{"key": "k1", "value": "v1"}]));
        assert_eq!(
            spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"],
            "k1"
        );
        assert_eq!(
            spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                [0]["topologyKey"],
            "k2"
        );
        assert_eq!(spec["racks"][0]["name"], "rack1");
        assert_eq!(spec["racks"][0]["heapSize"], "512Mi");
    }

    /// Quirk #3: CRD defaults are applied after the merge, so a DC-level block does not bring
    /// `heapSize: 256Mi`, `serviceAccount: default` or the default image over the cluster's.
    #[test]
    fn quirk3_defaults_after_merge() {
        let top = "  stargate:\n    size: 1\n    heapSize: 1Gi\n    serviceAccount: sg\n    containerImage: {repository: myrepo, tag: v2}\n";
        let dc = format!("{DC1}      stargate: {{size: 2}}\n");
        let out = ok(&cluster("c", top, &dc), &["spec.stargate", DEPRECATED_DC0]);
        let spec = &out[0].object["spec"];
        assert_eq!(spec["size"], 2);
        assert_eq!(spec["heapSize"], "1Gi");
        assert_eq!(spec["serviceAccount"], "sg");
        assert_eq!(
            spec["containerImage"],
            json!({"repository": "myrepo", "tag": "v2"})
        );

        // Cluster level only: every DC gets one, defaults filled in.
        let out = ok(
            &cluster("c", "  stargate: {size: 1}\n", &format!("{DC1}{DC2}")),
            &["spec.stargate"],
        );
        assert_eq!(out.len(), 2);
        let spec = &by_name(&out, "c-dc2-stargate").object["spec"];
        assert_eq!(spec["heapSize"], "256Mi");
        assert_eq!(spec["serviceAccount"], "default");
        assert_eq!(spec["datacenterRef"], json!({"name": "dc2"}));
        assert!(spec.get("racks").is_none());
    }

    /// Control-plane §4.6: no Stargate for a stopped DC; the deprecation warning still applies.
    #[test]
    fn stopped_dc_has_no_stargate() {
        let dcs = format!("{DC1}      stopped: true\n      stargate: {{size: 1}}\n{DC2}");
        let out = ok(
            &cluster("c", "  stargate: {size: 1}\n", &dcs),
            &["spec.stargate", DEPRECATED_DC0],
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].name(), "c-dc2-stargate");
    }

    /// No template at either level: nothing, silently.
    #[test]
    fn no_template_no_stargate() {
        let (out, diags) = run(&cluster("c", "", &format!("{DC1}{DC2}")));
        assert!(out.is_empty());
        assert!(diags.is_empty(), "{diags:#?}");
        let (out, diags) = run(&cluster("c", "  stargate: null\n", DC1));
        assert!(out.is_empty());
        assert!(diags.is_empty(), "{diags:#?}");
    }

    /// Quirk #5: with DSE workloads the rollout order (analytics first) differs from spec
    /// order; each Stargate still gets its own DC's template, reference and context.
    #[test]
    fn quirk5_pairs_by_name() {
        let yaml = format!(
            "metadata: {{name: test, namespace: ns}}\nspec:\n  cassandra:\n    serverType: dse\n    serverVersion: 6.8.25\n{STORAGE}    datacenters:\n    - metadata: {{name: dc1}}\n      k8sContext: east\n      size: 3\n      stargate: {{size: 1, heapSize: 1Gi}}\n    - metadata: {{name: dc2}}\n      k8sContext: west\n      size: 3\n      dseWorkloads: {{analyticsEnabled: true}}\n      stargate: {{size: 2, heapSize: 2Gi}}\n"
        );
        let out = ok(
            &yaml,
            &[DEPRECATED_DC0, "spec.cassandra.datacenters[1].stargate"],
        );
        let s2 = by_name(&out, "test-dc2-stargate");
        assert_eq!(s2.context, "west");
        assert_eq!(s2.object["spec"]["datacenterRef"]["name"], "dc2");
        assert_eq!(s2.object["spec"]["heapSize"], "2Gi");
        assert_eq!(s2.object["spec"]["size"], 2);
        let s1 = by_name(&out, "test-dc1-stargate");
        assert_eq!(s1.context, "east");
        assert_eq!(s1.object["spec"]["datacenterRef"]["name"], "dc1");
        assert_eq!(s1.object["spec"]["heapSize"], "1Gi");
    }

    /// Quirk #11 (reproduced): the DC's tolerations are not copied into the Stargate spec; a
    /// warning says so. Stargate's own tolerations are kept.
    #[test]
    fn quirk11_tolerations_not_copied() {
        let dc = format!(
            "{DC1}      tolerations: [{{key: dedicated, operator: Equal, value: cassandra, effect: NoSchedule}}]\n      stargate: {{size: 1}}\n"
        );
        let (out, diags) = run(&cluster("c", "", &dc));
        assert!(out[0].object["spec"].get("tolerations").is_none());
        assert_eq!(warnings(&diags), [DEPRECATED_DC0, DEPRECATED_DC0]);
        assert!(diags[1].message.contains("tolerations"), "{diags:#?}");

        let dc = format!(
            "{DC1}      tolerations: [{{key: a, operator: Exists}}]\n      stargate: {{size: 1, tolerations: [{{key: b, operator: Exists}}]}}\n"
        );
        let out = ok(&cluster("c", "", &dc), &[DEPRECATED_DC0]);
        assert_eq!(
            out[0].object["spec"]["tolerations"],
            json!([{"key": "b", "operator": "Exists"}])
        );
    }

    /// Upstream fixture `multi-dc-stargate`: the name uses the unsanitized cluster name and
    /// `DatacenterName()` and is then cleaned up; `datacenterRef` is the object name. Its
    /// Stargate rack `rack3` matches no DC rack and is ignored by the Stargate controller.
    #[test]
    fn names_and_unknown_rack() {
        let yaml = "metadata: {name: test, namespace: ns}\nspec:\n  cassandra:\n    clusterName: E2E Test Cluster\n    serverVersion: 3.11.14\n    storageConfig:\n      cassandraDataVolumeClaimSpec:\n        resources: {requests: {storage: 5Gi}}\n    datacenters:\n    - metadata: {name: dc2}\n      k8sContext: west\n      size: 2\n      datacenterName: real-dc2\n      racks: [{name: rack1}, {name: rack2}]\n      stargate:\n        size: 1\n        heapSize: 384Mi\n        racks:\n        - name: rack3\n          heapSize: 384Mi\n          affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [region2-zone3]}]}]}}}\n";
        let out = ok(
            yaml,
            &[
                DEPRECATED_DC0,
                "spec.cassandra.datacenters[0].stargate.racks[0].name",
            ],
        );
        let s = &out[0];
        assert_eq!(s.name(), "e2etestcluster-real-dc2-stargate");
        assert_eq!(s.object["spec"]["datacenterRef"], json!({"name": "dc2"}));
        assert_eq!(s.object["spec"]["racks"][0]["name"], "rack3");
    }

    /// `auth` is the K8ssandraCluster's; `secretsProvider` is forced to the cluster's whatever
    /// the template says.
    #[test]
    fn auth_and_secrets_provider() {
        let dc = format!("{DC1}      stargate: {{size: 1, secretsProvider: internal}}\n");
        let out = ok(
            &cluster("c", "  auth: false\n  secretsProvider: external\n", &dc),
            &[DEPRECATED_DC0],
        );
        assert_eq!(out[0].object["spec"]["auth"], false);
        assert_eq!(out[0].object["spec"]["secretsProvider"], "external");
    }

    /// `NewStargate`: stores are copied when the DC config turns encryption on and secrets are
    /// internal (the datacenter renderer refuses that case today), never with external secrets.
    #[test]
    fn encryption_stores() {
        let yaml = |provider: &str| {
            format!(
                "metadata: {{name: c, namespace: ns}}\nspec:\n  secretsProvider: {provider}\n  cassandra:\n    serverVersion: 4.1.8\n{STORAGE}    config:\n      cassandraYaml:\n        server_encryption_options: {{internode_encryption: all}}\n        client_encryption_options: {{enabled: true}}\n    serverEncryptionStores:\n      keystoreSecretRef: {{name: server-encryption-stores}}\n      truststoreSecretRef: {{name: server-encryption-stores}}\n    clientEncryptionStores:\n      keystoreSecretRef: {{name: client-encryption-stores}}\n      truststoreSecretRef: {{name: client-encryption-stores}}\n    datacenters:\n{DC1}      stargate: {{size: 1}}\n"
            )
        };
        let out = ok(&yaml("external"), &[DEPRECATED_DC0]);
        assert_eq!(out[0].object["spec"]["cassandraEncryption"], json!({}));
        // The plan refuses stores with internal secrets for the datacenters (spec §2.8); what
        // Stargate's object would hold is still built.
        let (out, diags) = run(&yaml("internal"));
        let refused = errors(&diags);
        assert_eq!(refused.len(), 1, "{diags:#?}");
        assert!(
            refused[0].starts_with("spec.cassandra.clientEncryptionStores: encryption stores with internal secrets cannot be rendered offline"),
            "{refused:?}"
        );
        let enc = &out[0].object["spec"]["cassandraEncryption"];
        assert_eq!(
            enc["clientEncryptionStores"]["keystoreSecretRef"]["name"],
            "client-encryption-stores"
        );
        assert_eq!(
            enc["serverEncryptionStores"]["truststoreSecretRef"]["name"],
            "server-encryption-stores"
        );
    }

    /// Template metadata: labels merged over the operator's, annotations copied; the template
    /// itself keeps its metadata for the Stargate controller.
    #[test]
    fn template_metadata() {
        let top = "  stargate:\n    size: 1\n    metadata:\n      labels: {team: a, app.kubernetes.io/part-of: mine}\n      annotations: {note: x}\n      pods: {labels: {p: q}}\n      service: {}\n";
        let out = ok(&cluster("c", top, DC1), &["spec.stargate"]);
        let m = &out[0].object["metadata"];
        assert_eq!(m["labels"]["team"], "a");
        assert_eq!(m["labels"]["app.kubernetes.io/part-of"], "mine");
        assert_eq!(
            m["annotations"],
            json!({"note": "x", "argocd.argoproj.io/sync-wave": "5"})
        );
        assert_eq!(
            out[0].object["spec"]["metadata"],
            json!({"labels": {"team": "a", "app.kubernetes.io/part-of": "mine"}, "annotations": {"note": "x"}, "pods": {"labels": {"p": "q"}}})
        );
    }

    /// goalesce: a DC-level `false` for a plain bool is "unset" and loses to the cluster's
    /// `true` (reproduced, with a warning); `false` alone is dropped like Go's omitempty.
    #[test]
    fn allow_on_data_nodes_false_does_not_override() {
        let dc = format!("{DC1}      stargate: {{size: 1, allowStargateOnDataNodes: false}}\n");
        let out = ok(
            &cluster(
                "c",
                "  stargate: {size: 1, allowStargateOnDataNodes: true}\n",
                &dc,
            ),
            &[
                "spec.stargate",
                DEPRECATED_DC0,
                "spec.cassandra.datacenters[0].stargate.allowStargateOnDataNodes",
            ],
        );
        assert_eq!(out[0].object["spec"]["allowStargateOnDataNodes"], true);
        let out = ok(&cluster("c", "", &dc), &[DEPRECATED_DC0]);
        assert!(
            out[0].object["spec"]
                .get("allowStargateOnDataNodes")
                .is_none()
        );
    }

    /// Go's omitempty: empty node selector, tolerations and zero auth options disappear.
    #[test]
    fn zero_values_dropped_like_go() {
        let dc = format!(
            "{DC1}      stargate:\n        size: 1\n        nodeSelector: {{}}\n        tolerations: []\n        authOptions: {{providerUrl: \"\"}}\n        containerImage: {{registry: \"\", name: sg}}\n"
        );
        let out = ok(&cluster("c", "", &dc), &[DEPRECATED_DC0]);
        let spec = out[0].object["spec"].as_object().unwrap();
        assert!(!spec.contains_key("nodeSelector"));
        assert!(!spec.contains_key("tolerations"));
        assert_eq!(spec["authOptions"], json!({"apiAuthMethod": "Table"}));
        assert_eq!(
            spec["containerImage"],
            json!({"name": "sg", "tag": "latest"})
        );
    }

    /// A rack that leaves heapSize unset gets the CRD default, which beats the DC value in the
    /// Stargate controller's rack merge: warned about.
    #[test]
    fn rack_default_shadows_dc_value() {
        let dc = "    - metadata: {name: dc1}\n      k8sContext: east\n      size: 3\n      racks: [{name: r1}, {name: r2}]\n      stargate:\n        size: 2\n        heapSize: 1Gi\n        racks: [{name: r1, serviceAccount: default}, {name: r2, heapSize: 1Gi, serviceAccount: default}]\n";
        let out = ok(
            &cluster("c", "", dc),
            &[
                DEPRECATED_DC0,
                "spec.cassandra.datacenters[0].stargate.racks[0].heapSize",
            ],
        );
        // The rack as the API server would store it anyway.
        assert_eq!(out[0].object["spec"]["racks"][0]["heapSize"], "256Mi");
    }

    /// Numeric quantities are written as strings.
    #[test]
    fn quantities_as_strings() {
        let dc = format!(
            "{DC1}      stargate: {{size: 1, heapSize: 536870912, resources: {{requests: {{cpu: 1}}}}}}\n"
        );
        let out = ok(&cluster("c", "", &dc), &[DEPRECATED_DC0]);
        assert_eq!(out[0].object["spec"]["heapSize"], "536870912");
        assert_eq!(
            out[0].object["spec"]["resources"],
            json!({"requests": {"cpu": "1"}})
        );
    }

    /// Render reports nothing about Stargate: a datacenter whose Stargate the plan refused
    /// (a Deployment name too long) gets none, the other one does, and render adds no
    /// diagnostic.
    #[test]
    fn render_reports_nothing_for_a_refused_stargate() {
        let dcs = format!(
            "{DC1}      racks: [{{name: a-very-long-rack-name-indeed}}]\n      stargate: {{size: 1}}\n{DC2}      stargate: {{size: 1}}\n"
        );
        let (out, plan_diags) =
            crate::testing::render_one(&cluster(&"c".repeat(20), "", &dcs), |plan, diags| {
                let before = diags.len();
                let out = crate::render::render_cluster(plan, None, None, diags);
                assert_eq!(diags.len(), before, "render added {:#?}", &diags[before..]);
                out
            });
        assert_eq!(errors(&plan_diags).len(), 1, "{plan_diags:#?}");
        let stargates: Vec<&str> = out
            .iter()
            .filter(|m| m.kind() == Kind::Stargate)
            .map(Manifest::name)
            .collect();
        assert_eq!(stargates, ["cccccccccccccccccccc-dc2-stargate"]);
    }

    /// Writes rendered objects for the strict validator when STARGATE_VALIDATE_DIR is set.
    #[test]
    fn write_for_validation() {
        let Ok(dir) = std::env::var("STARGATE_VALIDATE_DIR") else {
            return;
        };
        let full = "  stargate:\n    size: 2\n    heapSize: 1Gi\n    serviceAccount: sg\n    containerImage: {registry: r, repository: myrepo, name: sg, tag: v2, pullPolicy: Always, pullSecretRef: {name: pull}}\n    resources: {requests: {cpu: 1, memory: 2Gi}}\n    nodeSelector: {a: b}\n    tolerations: [{key: k, operator: Exists}]\n    allowStargateOnDataNodes: true\n    cassandraConfigMapRef: {name: cm}\n    livenessProbe: {initialDelaySeconds: 100, periodSeconds: 10}\n    readinessProbe: {initialDelaySeconds: 100}\n    authOptions: {apiAuthMethod: JWT, providerUrl: 'http://x', tokenTtlSeconds: 60}\n    telemetry: {prometheus: {enabled: true}}\n    metadata: {labels: {a: b}, annotations: {c: d}, commonLabels: {e: f}, pods: {labels: {g: h}}, service: {annotations: {i: j}}}\n";
        let cases = [
            cluster("cluster1", "", &format!("{DC1}      stargate: {{size: 1}}\n")),
            cluster(
                "full",
                full,
                "    - metadata: {name: dc1}\n      k8sContext: east\n      size: 3\n      racks: [{name: r1}, {name: r2}]\n      stargate:\n        size: 3\n        racks: [{name: r1, heapSize: 2Gi, affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: z, operator: In, values: [a]}]}]}}}}]\n    - metadata: {name: dc2, namespace: other}\n      k8sContext: west\n      size: 3\n      datacenterName: Real_DC2\n",
            ),
            "metadata: {name: enc, namespace: ns}\nspec:\n  auth: false\n  cassandra:\n    clusterName: E2E Test Cluster\n    serverVersion: 4.1.8\n    storageConfig:\n      cassandraDataVolumeClaimSpec:\n        resources: {requests: {storage: 1Gi}}\n    config:\n      cassandraYaml:\n        server_encryption_options: {internode_encryption: all}\n        client_encryption_options: {enabled: true}\n    serverEncryptionStores:\n      keystoreSecretRef: {name: s}\n      truststoreSecretRef: {name: s}\n    clientEncryptionStores:\n      keystoreSecretRef: {name: c, key: k}\n      truststoreSecretRef: {name: c}\n      keystorePasswordSecretRef: {name: p, key: k}\n    datacenters:\n    - metadata: {name: dc1}\n      k8sContext: east\n      size: 2\n      stargate: {size: 1}\n".to_string(),
        ];
        for (i, case) in cases.iter().enumerate() {
            let (out, diags) = run(case);
            assert!(errors(&diags).is_empty(), "{diags:#?}");
            assert!(!out.is_empty());
            for m in out {
                let path = std::path::Path::new(&dir).join(format!("{i}-{}.yaml", m.name()));
                std::fs::write(path, crate::emit::object_to_yaml(&m.object)).unwrap();
            }
        }
    }
}
