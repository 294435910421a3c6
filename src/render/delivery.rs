//! Delivery objects for the rendered contexts (gitops spec §2.1–2.2, §3.1): an Argo CD
//! ApplicationSet (list generator, RollingSync steps in rollout order) into `DIR/argocd/`, and
//! one Flux Kustomization per context (chained with `dependsOn`, CEL health checks for
//! CassandraDatacenters, CassandraTasks and Medusa backup/restore jobs) into `DIR/flux/`.
//!
//! A context's rollout stage is the position, in priority order, of the first datacenter it
//! holds (the earliest over all clusters); contexts without datacenters come first.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{Kind, Manifest, Owner};
use crate::diagnostic::{Code, Diagnostic};
use crate::plan::ClusterPlan;
use crate::plan::delivery::{ArgoCdDelivery, Delivery, DeliveryPlan, FluxDelivery};
use crate::yaml::keys;

/// Output directory (pseudo-context) of the ApplicationSet.
pub const ARGOCD_DIR: &str = "argocd";
/// Output directory (pseudo-context) of the Flux Kustomizations.
pub const FLUX_DIR: &str = "flux";
/// Label carrying a generated Application's rollout stage.
pub const STAGE_LABEL: &str = "gitops.k8ssandra.io/rollout-stage";

/// CEL readiness of a CassandraDatacenter, the same rule as the Argo CD health check.
/// A stopped datacenter (Stopped True) is as done as it will get.
pub const DC_CURRENT: &str = "has(status.observedGeneration) && status.observedGeneration == metadata.generation && status.?cassandraOperatorProgress.orValue('') == 'Ready' && (status.?conditions.orValue([]).exists(c, c.type == 'Stopped' && c.status == 'True') || !status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'False'))";
/// CEL failure of a CassandraDatacenter: the operator refused its spec.
pub const DC_FAILED: &str =
    "status.?conditions.orValue([]).exists(c, c.type == 'Valid' && c.status == 'False')";

/// CEL failure of a CassandraTask: cass-operator's `Failed` condition, or finished with failed
/// pods (the same rule as the Argo CD check).
pub const TASK_FAILED: &str = "status.?conditions.orValue([]).exists(c, c.type == 'Failed' && c.status == 'True') || (has(status.completionTime) && status.?failed.orValue(0) > 0)";
/// CEL readiness of a CassandraTask (a rebuild, a restart...): completed, without failure.
/// Until then Flux waits, as Argo CD's sync waves do for the `<dc>-rebuild` task.
pub const TASK_CURRENT: &str = "(has(status.completionTime) || status.?conditions.orValue([]).exists(c, c.type == 'Complete' && c.status == 'True')) && !status.?conditions.orValue([]).exists(c, c.type == 'Failed' && c.status == 'True') && status.?failed.orValue(0) == 0";
/// CEL failure of a MedusaBackupJob: finished with failed nodes.
pub const BACKUP_FAILED: &str = "has(status.finishTime) && size(status.?failed.orValue([])) > 0";
/// CEL readiness of a MedusaBackupJob: finished on every node.
pub const BACKUP_CURRENT: &str = "has(status.finishTime) && size(status.?failed.orValue([])) == 0";
/// CEL failure of a MedusaRestoreJob: k8ssandra-operator wrote why in `status.message`, or the
/// restore finished with failed nodes.
pub const RESTORE_FAILED: &str = "status.?message.orValue('') != '' || (has(status.finishTime) && size(status.?failed.orValue([])) > 0)";
/// CEL readiness of a MedusaRestoreJob: finished, no failed node, no error message.
pub const RESTORE_CURRENT: &str = "has(status.finishTime) && size(status.?failed.orValue([])) == 0 && status.?message.orValue('') == ''";

/// The Kustomizations' `healthCheckExprs`: every kind the renderer writes or routes whose
/// readiness kstatus cannot tell (it counts a custom resource without conditions as ready).
fn health_check_exprs() -> Value {
    json!([
        {"apiVersion": "cassandra.datastax.com/v1beta1", "kind": "CassandraDatacenter", "current": DC_CURRENT, "failed": DC_FAILED},
        {"apiVersion": "control.k8ssandra.io/v1alpha1", "kind": "CassandraTask", "current": TASK_CURRENT, "failed": TASK_FAILED},
        {"apiVersion": "medusa.k8ssandra.io/v1alpha1", "kind": "MedusaBackupJob", "current": BACKUP_CURRENT, "failed": BACKUP_FAILED},
        {"apiVersion": "medusa.k8ssandra.io/v1alpha1", "kind": "MedusaRestoreJob", "current": RESTORE_CURRENT, "failed": RESTORE_FAILED},
    ])
}

/// Rollout stage of every context that has objects.
fn stages(plans: &[ClusterPlan<'_>], contexts: &[String]) -> BTreeMap<String, usize> {
    let mut out: BTreeMap<String, usize> = contexts.iter().map(|c| (c.clone(), 0)).collect();
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    for plan in plans {
        for (p, &i) in plan.priority.iter().enumerate() {
            let e = first.entry(plan.dcs[i].context.as_str()).or_insert(p);
            *e = (*e).min(p);
        }
    }
    for (c, p) in first {
        if let Some(s) = out.get_mut(c) {
            *s = p;
        }
    }
    out
}

/// The delivery objects the plan decided on, for the rendered `contexts`, after the checks that
/// need those: no context may be named like a delivery directory, every context needs an Argo
/// CD destination, and a Flux kubeconfig for a context with nothing to render is not used.
pub fn render(
    plans: &[ClusterPlan<'_>],
    contexts: &[String],
    delivery: Option<&DeliveryPlan<'_>>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Manifest> {
    let Some(delivery) = delivery else {
        return Vec::new();
    };
    let rc = delivery.doc;
    for (dir, asked) in [
        (ARGOCD_DIR, delivery.argocd.is_asked()),
        (FLUX_DIR, delivery.flux.is_asked()),
    ] {
        if asked && contexts.iter().any(|c| c == dir) {
            diags.push(rc.error(
                Code::InvalidName,
                keys(&["spec", dir]),
                format!("a context named {dir:?} would share DIR/{dir}/ with the {dir} objects: rename the context"),
            ));
            return Vec::new();
        }
    }
    let stages = stages(plans, contexts);
    let mut out = Vec::new();
    if let Delivery::On(argo) = &delivery.argocd {
        let missing: Vec<&str> = contexts
            .iter()
            .filter(|c| !argo.destinations.contains_key(*c))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            diags.push(rc.error(
                Code::MissingSetting,
                keys(&["spec", "argocd", "destinations"]),
                format!(
                    "no Argo CD destination for context{} {}: add `{}: {{name: <Argo CD cluster name>}}`",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", "),
                    missing[0]
                ),
            ));
        } else if let Some(repo) = &argo.repo_url {
            out.push(application_set(argo, repo, contexts, &stages));
        }
    }
    if let Delivery::On(flux) = &delivery.flux {
        for ctx in flux.kube_configs.keys() {
            if !contexts.contains(ctx) {
                diags.push(rc.warning(
                    Code::IgnoredField,
                    keys(&["spec", "flux", "kubeConfigs", ctx]),
                    format!("context {ctx:?} has nothing to render; its kubeconfig is not used"),
                ));
            }
        }
        out.extend(kustomizations(flux, contexts, &stages));
    }
    out
}

/// The ApplicationSet: one Application per context, synced stage by stage.
fn application_set(
    argo: &ArgoCdDelivery,
    repo: &str,
    contexts: &[String],
    stages: &BTreeMap<String, usize>,
) -> Manifest {
    let elements: Vec<Value> = contexts
        .iter()
        .map(|c| {
            json!({
                "context": c,
                "stage": stages[c].to_string(),
                "destination": argo.destinations[c],
            })
        })
        .collect();
    let steps: Vec<Value> = stages
        .values()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|s| json!({"matchExpressions": [{"key": STAGE_LABEL, "operator": "In", "values": [s.to_string()]}]}))
        .collect();
    Manifest::new(
        ARGOCD_DIR.into(),
        Owner::Repository,
        Kind::ApplicationSet,
        json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": "k8ssandra-gitops", "namespace": argo.namespace},
            "spec": {
                "goTemplate": true,
                "goTemplateOptions": ["missingkey=error"],
                "generators": [{"list": {"elements": elements}}],
                // Each stage waits until the previous stage's Applications are Healthy
                // (needs the health checks of argocd/ and the ApplicationSet
                // controller's progressive syncs; without them every Application
                // syncs at once through the template's automated sync).
                "strategy": {"type": "RollingSync", "rollingSync": {"steps": steps}},
                "template": {
                    "metadata": {
                        "name": "cassandra-{{.context}}",
                        "labels": {STAGE_LABEL: "{{.stage}}"},
                    },
                    "spec": {
                        "project": argo.project,
                        "source": {
                            "repoURL": repo,
                            "targetRevision": argo.target_revision,
                            "path": format!("{}/{{{{.context}}}}", argo.path),
                            // An explicit source type: Argo CD runs no plugin discovery
                            // (the control-plane directory holds a K8ssandraCluster
                            // record), and the manifests are applied as committed. The
                            // kustomization.yaml lists the same files; it is no object.
                            "directory": {"recurse": true, "exclude": "kustomization.yaml"},
                        },
                        "destination": {argo.destination_field.as_str(): "{{.destination}}"},
                        // Automated sync makes the Applications sync where progressive
                        // syncs are off; with them on, RollingSync turns it off and
                        // syncs each step itself (keeping `prune`).
                        "syncPolicy": {
                            "automated": {"prune": true, "selfHeal": true},
                            "syncOptions": ["ServerSideApply=true"],
                        },
                    },
                },
            },
        }),
    )
}

/// One Kustomization per context, chained in rollout order.
fn kustomizations(
    flux: &FluxDelivery,
    contexts: &[String],
    stages: &BTreeMap<String, usize>,
) -> Vec<Manifest> {
    let decryption = flux.decryption.as_ref().map(|d| {
        let mut out = json!({"provider": "sops"});
        if let Some(name) = &d.secret_name {
            out["secretRef"] = json!({"name": name});
        }
        out
    });
    let name = |c: &str| format!("cassandra-{c}");
    let mut ordered: Vec<&String> = contexts.iter().collect();
    ordered.sort_by_key(|c| (stages[*c], (*c).clone()));
    let mut out = Vec::new();
    for (i, c) in ordered.iter().enumerate() {
        let mut s = json!({
            "interval": flux.interval,
            "timeout": flux.timeout,
            "path": format!("{}/{c}", flux.path),
            "prune": true,
            "wait": true,
            "sourceRef": {"kind": flux.source_kind, "name": flux.source_name},
            "healthCheckExprs": health_check_exprs(),
        });
        if let Some(ns) = &flux.source_namespace {
            s["sourceRef"]["namespace"] = ns.clone().into();
        }
        if let Some(d) = &decryption {
            s["decryption"] = d.clone();
        }
        // A chain in rollout order: each context after the previous one is healthy.
        if i > 0 {
            s["dependsOn"] = json!([{"name": name(ordered[i - 1])}]);
        }
        if let Some(kc) = flux.kube_configs.get(*c) {
            let mut r = json!({"name": kc.secret_name});
            if let Some(k) = &kc.key {
                r["key"] = k.clone().into();
            }
            s["kubeConfig"] = json!({"secretRef": r});
        }
        out.push(Manifest::new(
            FLUX_DIR.into(),
            Owner::Repository,
            Kind::FluxKustomization,
            json!({
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": name(c), "namespace": flux.namespace},
                "spec": s,
            }),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    //! The checks that need the rendered contexts, and the objects' use of the plan's settings.

    use super::*;
    use crate::source::SourceFile;

    /// Renders the delivery objects of a RenderConfig whose `spec` is `spec` for `contexts`
    /// (no datacenters: every context is in stage 0); returns them and every diagnostic of the
    /// render step (the plan's must be none).
    fn render_spec(spec: &str, contexts: &[&str]) -> (Vec<Manifest>, Vec<String>) {
        let files = vec![SourceFile {
            rel_path: "rc.yaml".into(),
            display_path: "rc.yaml".into(),
            text: format!(
                "apiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata: {{name: default}}\nspec:\n{spec}"
            ),
        }];
        let (inputs, mut diags) = crate::load::load(&files);
        let settings = crate::plan::Settings::from_inputs(&inputs);
        let plan = crate::plan::delivery::resolve(&inputs, &settings, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        let contexts: Vec<String> = contexts.iter().map(ToString::to_string).collect();
        let out = render(&[], &contexts, plan.as_ref(), &mut diags);
        (out, diags.iter().map(ToString::to_string).collect())
    }

    const ARGOCD: &str =
        "  argocd:\n    repoURL: r\n    destinations: {east: {name: e}, west: {name: w}}\n";
    const FLUX: &str =
        "  flux:\n    sourceRef: {name: s}\n    kubeConfigs: {west: {secretName: west-kc}}\n";

    #[test]
    fn a_context_named_like_a_delivery_directory_is_an_error_and_nothing_is_delivered() {
        let (out, diags) = render_spec(ARGOCD, &["argocd", "east", "west"]);
        assert!(out.is_empty());
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].contains("spec.argocd: a context named \"argocd\" would share DIR/argocd/"),
            "{diags:?}"
        );
        let (out, diags) = render_spec(FLUX, &["flux", "west"]);
        assert!(out.is_empty());
        assert!(
            diags[0].contains("spec.flux: a context named \"flux\""),
            "{diags:?}"
        );
        // Only a directory that is asked for is taken.
        let (out, diags) = render_spec(FLUX, &["argocd", "west"]);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn a_context_without_an_argocd_destination_is_an_error_and_no_application_set_is_rendered() {
        let (out, diags) = render_spec(ARGOCD, &["east", "north", "south"]);
        assert!(out.is_empty());
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].contains("spec.argocd.destinations: no Argo CD destination for contexts north, south: add `north: {name: <Argo CD cluster name>}`"),
            "{diags:?}"
        );
    }

    #[test]
    fn the_application_set_lists_every_context_with_its_destination() {
        let (out, diags) = render_spec(ARGOCD, &["east", "west"]);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(out.len(), 1);
        let spec = &out[0].object["spec"];
        assert_eq!(
            spec["generators"][0]["list"]["elements"],
            json!([
                {"context": "east", "stage": "0", "destination": "e"},
                {"context": "west", "stage": "0", "destination": "w"},
            ])
        );
        assert_eq!(
            spec["template"]["spec"]["source"]["path"],
            "rendered/{{.context}}"
        );
        assert_eq!(
            spec["template"]["spec"]["destination"],
            json!({"name": "{{.destination}}"})
        );
    }

    #[test]
    fn a_flux_kubeconfig_for_a_context_with_nothing_to_render_is_a_warning() {
        let (out, diags) = render_spec(FLUX, &["east"]);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].contains("warning[")
                && diags[0].contains("spec.flux.kubeConfigs.west: context \"west\" has nothing to render; its kubeconfig is not used"),
            "{diags:?}"
        );
        // East is still delivered, locally.
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].object["metadata"]["name"], "cassandra-east");
        assert!(out[0].object["spec"].get("kubeConfig").is_none());
    }

    #[test]
    fn flux_kustomizations_chain_and_use_their_kubeconfig() {
        let (out, diags) = render_spec(FLUX, &["east", "west"]);
        assert!(diags.is_empty(), "{diags:?}");
        let west = &out[1].object["spec"];
        assert_eq!(west["dependsOn"], json!([{"name": "cassandra-east"}]));
        assert_eq!(
            west["kubeConfig"],
            json!({"secretRef": {"name": "west-kc"}})
        );
        assert_eq!(west["path"], "./rendered/west");
        assert!(out[0].object["spec"].get("dependsOn").is_none());
    }
}
