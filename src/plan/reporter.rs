//! The status reporter as RenderConfig asks for it (`spec.reporter`), decided before rendering:
//! whether it runs, where, with which image and interval, whether it syncs seeds, and which
//! kubeconfig Secrets its RBAC may read; and the K8ssandraCluster record it reports on.

use std::collections::BTreeSet;

use serde_json::Value;

use super::ClusterPlan;
use crate::diagnostic::{Code, Diagnostic};
use crate::load::Inputs;
use crate::schema::InputKind;
use crate::yaml::Seg;

/// Namespace of the reporter unless RenderConfig names one.
pub const DEFAULT_NAMESPACE: &str = "k8ssandra-operator";
/// Seconds between passes unless RenderConfig says otherwise.
pub const DEFAULT_INTERVAL_SECONDS: u32 = 15;

/// The reporter to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReporterPlan {
    /// Its namespace in the control-plane context.
    pub namespace: String,
    /// Its container image.
    pub image: String,
    /// Seconds between passes.
    pub interval_seconds: u32,
    /// It keeps the additional-seed EndpointSlices (RenderConfig `reporter.seedSync`): the
    /// renderer then leaves them out, so that no GitOps tool fights it over them. Only a
    /// reporter that is rendered can keep them, so the decision lives here and nowhere else.
    pub seed_sync: bool,
    /// The kubeconfig Secrets named by the ClientConfigs of its namespace (or of no namespace),
    /// sorted: the only Secrets it may read.
    pub kubeconfig_secrets: BTreeSet<String>,
}

/// The reporter, when RenderConfig enables it with a valid namespace (an invalid one is
/// reported at `spec.reporter.namespace`).
#[must_use]
pub fn resolve(inputs: &Inputs, diags: &mut Vec<Diagnostic>) -> Option<ReporterPlan> {
    let rc = inputs.render_config.as_ref()?;
    let cfg = rc
        .value
        .reporter
        .as_ref()
        .filter(|r| r.enabled == Some(true))?;
    let namespace = cfg
        .namespace
        .clone()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.into());
    if !crate::ports::names::is_dns1123_label(&namespace) {
        diags.push(rc.error(
            Code::InvalidName,
            vec![
                Seg::Key("spec".into()),
                Seg::Key("reporter".into()),
                Seg::Key("namespace".into()),
            ],
            format!("invalid namespace {namespace:?}: must be a DNS label"),
        ));
        return None;
    }
    let kubeconfig_secrets = inputs
        .client_configs
        .iter()
        .filter(|c| c.value.namespace.is_empty() || c.value.namespace == namespace)
        .map(|c| c.value.kube_config_secret.clone())
        .filter(|s| !s.is_empty())
        .collect();
    Some(ReporterPlan {
        namespace,
        image: cfg.image.clone().unwrap_or_else(|| {
            format!(
                "ghcr.io/k8ssandra-gitops/k8ssandra-gitops:{}",
                env!("CARGO_PKG_VERSION")
            )
        }),
        interval_seconds: cfg.interval_seconds.unwrap_or(DEFAULT_INTERVAL_SECONDS),
        seed_sync: cfg.seed_sync == Some(true),
        kubeconfig_secrets,
    })
}

/// The K8ssandraCluster record the reporter keeps the status of: the cluster as the API server
/// would store it (the schema's normalisation, no defaults), without `status` and with its
/// namespace filled in. Built when rendered, not held in the plan: it is the whole document
/// (issue #13).
#[must_use]
pub fn cluster_record(plan: &ClusterPlan<'_>) -> Value {
    let mut record = crate::schema::normalize(InputKind::K8ssandraCluster, &plan.doc.node);
    if let Some(o) = record.as_object_mut() {
        o.remove("status");
    }
    record["metadata"]["namespace"] = plan.namespace.clone().into();
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    #[test]
    fn the_cluster_record_is_the_normalised_document_without_status_in_its_namespace() {
        let yaml = "metadata: {name: c}\nspec:\n  cassandra:\n    serverVersion: 4.1.8\n    storageConfig: {cassandraDataVolumeClaimSpec: {resources: {requests: {storage: 1Gi}}}}\n    datacenters:\n    - metadata: {name: dc1}\n      size: 3.0\nstatus: {conditions: []}\n";
        let record = crate::testing::plan_one(yaml, cluster_record);
        assert_eq!(record["metadata"]["namespace"], "default");
        assert!(record.get("status").is_none(), "{record}");
        assert_eq!(record["kind"], "K8ssandraCluster");
        assert_eq!(
            record["spec"]["cassandra"]["datacenters"][0]["size"],
            serde_json::json!(3),
            "normalised as the API server stores it"
        );
        assert!(
            record["spec"].get("reaper").is_none(),
            "no defaults are added"
        );
    }

    const CLIENTS: &str = "apiVersion: config.k8ssandra.io/v1beta1
kind: ClientConfig
metadata: {name: east, namespace: ops}
spec: {kubeConfigSecret: {name: east-kubeconfig}}
---
apiVersion: config.k8ssandra.io/v1beta1
kind: ClientConfig
metadata: {name: west, namespace: elsewhere}
spec: {kubeConfigSecret: {name: west-kubeconfig}}
";

    fn resolve_with(reporter: &str) -> (Option<ReporterPlan>, Vec<String>) {
        let files = vec![SourceFile {
            rel_path: "r.yaml".into(),
            display_path: "r.yaml".into(),
            text: format!(
                "apiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata: {{name: default}}\nspec:\n  reporter: {reporter}\n---\n{CLIENTS}"
            ),
        }];
        let (inputs, mut diags) = crate::load::load(&files);
        let out = resolve(&inputs, &mut diags);
        (out, diags.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn an_enabled_reporter_gets_defaults_and_only_its_namespaces_secrets() {
        let (plan, diags) = resolve_with("{enabled: true, namespace: ops, seedSync: true}");
        assert!(diags.is_empty(), "{diags:?}");
        let plan = plan.expect("enabled");
        assert_eq!(plan.namespace, "ops");
        assert_eq!(plan.interval_seconds, 15);
        assert!(plan.seed_sync);
        assert!(
            plan.image
                .starts_with("ghcr.io/k8ssandra-gitops/k8ssandra-gitops:")
        );
        assert_eq!(
            plan.kubeconfig_secrets.into_iter().collect::<Vec<_>>(),
            ["east-kubeconfig"]
        );
    }

    #[test]
    fn seed_sync_is_off_unless_asked_for() {
        for reporter in ["{enabled: true}", "{enabled: true, seedSync: false}"] {
            let (plan, diags) = resolve_with(reporter);
            assert!(diags.is_empty(), "{diags:?}");
            assert!(!plan.expect("enabled").seed_sync, "{reporter}");
        }
        // A reporter that is not rendered keeps nothing.
        assert_eq!(resolve_with("{enabled: false, seedSync: true}").0, None);
    }

    #[test]
    fn a_disabled_reporter_is_none_and_a_bad_namespace_is_an_error_there() {
        assert_eq!(resolve_with("{enabled: false}").0, None);
        let (plan, diags) = resolve_with("{enabled: true, namespace: Not_A_Label}");
        assert_eq!(plan, None);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].contains("spec.reporter.namespace") && diags[0].contains("DNS label"),
            "{diags:?}"
        );
    }
}
