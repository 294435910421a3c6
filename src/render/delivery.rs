//! Delivery objects for the rendered contexts (gitops spec §2.1–2.2, §3.1): an Argo CD
//! ApplicationSet (list generator, RollingSync steps in rollout order) into `DIR/argocd/`, and
//! one Flux Kustomization per context (chained with `dependsOn`, CEL health checks for
//! CassandraDatacenters, CassandraTasks and Medusa backup/restore jobs) into `DIR/flux/`.
//!
//! A context's rollout stage is the position, in priority order, of the first datacenter it
//! holds (the earliest over all clusters); contexts without datacenters come first.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::Manifest;
use crate::diagnostic::{Code, Diagnostic};
use crate::load::Inputs;
use crate::model::config::RenderConfigSpec;
use crate::plan::ClusterPlan;
use crate::plan::SecretsBackend;
use crate::yaml::Seg;

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

fn spec_path(rest: &[&str]) -> Vec<Seg> {
    std::iter::once("spec")
        .chain(rest.iter().copied())
        .map(|k| Seg::Key(k.into()))
        .collect()
}

/// The delivery objects asked for in RenderConfig.
pub fn render(
    plans: &[ClusterPlan<'_>],
    contexts: &[String],
    inputs: &Inputs,
    settings: &crate::plan::Settings,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Manifest> {
    let Some(rc) = &inputs.render_config else {
        return Vec::new();
    };
    let spec: &RenderConfigSpec = &rc.value;
    let stages = stages(plans, contexts);
    let output_dir = spec
        .output_dir
        .clone()
        .unwrap_or_else(|| crate::plan::DEFAULT_OUTPUT_DIR.to_string());
    let mut out = Vec::new();
    for (dir, enabled) in [
        (ARGOCD_DIR, spec.argocd.is_some()),
        (FLUX_DIR, spec.flux.is_some()),
    ] {
        if enabled && contexts.iter().any(|c| c == dir) {
            diags.push(rc.error(
                Code::InvalidName,
                spec_path(&[dir]),
                format!("a context named {dir:?} would share DIR/{dir}/ with the {dir} objects: rename the context"),
            ));
            return Vec::new();
        }
    }
    let replicate = settings.secrets_backend == Some(SecretsBackend::Replicate);
    if replicate && spec.argocd.is_some() && spec.flux.is_some() {
        diags.push(rc.error(
            Code::MissingSetting,
            spec_path(&["flux"]),
            "with the replicate secrets backend, the rendered directories are decrypted either by Flux (spec.flux: kustomize-controller's spec.decryption) or by KSOPS under Argo CD (spec.argocd: a ksops generator in each context), not both: keep one of spec.argocd and spec.flux",
        ));
        return Vec::new();
    }
    if let Some(argo) = &spec.argocd {
        let repo = argo.repo_url.clone().unwrap_or_default();
        if repo.is_empty() {
            diags.push(rc.error(
                Code::MissingSetting,
                spec_path(&["argocd"]),
                "spec.argocd needs repoURL: the Git repository Argo CD reads the rendered output from",
            ));
        }
        let destinations = argo.destinations.clone().unwrap_or_default();
        let missing: Vec<&str> = contexts
            .iter()
            .filter(|c| !destinations.contains_key(*c))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            diags.push(rc.error(
                Code::MissingSetting,
                spec_path(&["argocd", "destinations"]),
                format!(
                    "no Argo CD destination for context{} {}: add `{}: {{name: <Argo CD cluster name>}}`",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", "),
                    missing[0]
                ),
            ));
        }
        let by_name = destinations.values().filter(|d| d.name.is_some()).count();
        let by_server = destinations.values().filter(|d| d.server.is_some()).count();
        let field = if by_server > 0 && by_name == 0 {
            "server"
        } else {
            "name"
        };
        for (ctx, d) in &destinations {
            let ok = match field {
                "server" => d.server.as_deref().is_some_and(|s| !s.is_empty()) && d.name.is_none(),
                _ => d.name.as_deref().is_some_and(|s| !s.is_empty()) && d.server.is_none(),
            };
            if !ok {
                diags.push(rc.error(
                    Code::ConflictingSettings,
                    spec_path(&["argocd", "destinations", ctx]),
                    format!("every destination must give the same one field, here `{field}` (the ApplicationSet template names one)"),
                ));
            }
        }
        if !repo.is_empty() && missing.is_empty() {
            let path = argo.path.clone().unwrap_or_else(|| output_dir.clone());
            let mut elements = Vec::new();
            for c in contexts {
                let d = &destinations[c];
                elements.push(json!({
                    "context": c,
                    "stage": stages[c].to_string(),
                    "destination": d.name.clone().or_else(|| d.server.clone()).unwrap_or_default(),
                }));
            }
            let steps: Vec<Value> = stages
                .values()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(|s| json!({"matchExpressions": [{"key": STAGE_LABEL, "operator": "In", "values": [s.to_string()]}]}))
                .collect();
            let namespace = argo.namespace.clone().unwrap_or_else(|| "argocd".into());
            out.push(Manifest::new(
                ARGOCD_DIR.into(),
                String::new(),
                json!({
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "ApplicationSet",
                    "metadata": {"name": "k8ssandra-gitops", "namespace": namespace},
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
                                "project": argo.project.clone().unwrap_or_else(|| "default".into()),
                                "source": {
                                    "repoURL": repo,
                                    "targetRevision": argo.target_revision.clone().unwrap_or_else(|| "HEAD".into()),
                                    "path": format!("{}/{{{{.context}}}}", path.trim_end_matches('/')),
                                    // An explicit source type: Argo CD runs no plugin discovery
                                    // (the control-plane directory holds a K8ssandraCluster
                                    // record), and the manifests are applied as committed. The
                                    // kustomization.yaml lists the same files; it is no object.
                                    "directory": {"recurse": true, "exclude": "kustomization.yaml"},
                                },
                                "destination": {field: "{{.destination}}"},
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
            ));
        }
    }
    if let Some(flux) = &spec.flux {
        let source = flux.source_ref.clone().unwrap_or_default();
        let source_name = source.name.clone().unwrap_or_default();
        if source_name.is_empty() {
            diags.push(rc.error(
                Code::MissingSetting,
                spec_path(&["flux"]),
                "spec.flux needs sourceRef.name: the GitRepository (or OCIRepository/Bucket) with the rendered output",
            ));
        } else {
            let kube_configs = flux.kube_configs.clone().unwrap_or_default();
            for ctx in kube_configs.keys() {
                if !contexts.contains(ctx) {
                    diags.push(rc.warning(
                        Code::IgnoredField,
                        spec_path(&["flux", "kubeConfigs", ctx]),
                        format!(
                            "context {ctx:?} has nothing to render; its kubeconfig is not used"
                        ),
                    ));
                }
            }
            let namespace = flux
                .namespace
                .clone()
                .unwrap_or_else(|| "flux-system".into());
            let path = flux
                .path
                .clone()
                .unwrap_or_else(|| format!("./{output_dir}"));
            let decryption = match (&flux.decryption, replicate) {
                (Some(d), true) => {
                    let mut d2 = json!({"provider": "sops"});
                    if let Some(r) = &d.secret_ref {
                        match r.name.as_deref().filter(|n| !n.is_empty()) {
                            Some(name) => d2["secretRef"] = json!({"name": name}),
                            None => diags.push(rc.error(
                                Code::MissingSetting,
                                spec_path(&["flux", "decryption", "secretRef"]),
                                "secretRef needs the name of the Secret with the SOPS keys (leave secretRef out to use kustomize-controller's own KMS credentials)",
                            )),
                        }
                    }
                    Some(d2)
                }
                (None, true) => {
                    diags.push(
                        rc.error(
                            Code::MissingSetting,
                            spec_path(&["flux"]),
                            "the replicate secrets backend commits SOPS-encrypted Secrets, which kustomize-controller must decrypt: set spec.flux.decryption.secretRef.name to the Secret with the SOPS keys (or `decryption: {}` to use kustomize-controller's own KMS credentials)",
                        )
                        .with_hint(Some(
                            "spec: {flux: {decryption: {secretRef: {name: sops-age}}}}".into(),
                        )),
                    );
                    None
                }
                (Some(_), false) => {
                    diags.push(rc.warning(
                        Code::IgnoredField,
                        spec_path(&["flux", "decryption"]),
                        "only the replicate secrets backend commits encrypted Secrets; spec.flux.decryption is not used",
                    ));
                    None
                }
                (None, false) => None,
            };
            let name = |c: &str| format!("cassandra-{c}");
            let mut ordered: Vec<&String> = contexts.iter().collect();
            ordered.sort_by_key(|c| (stages[*c], (*c).clone()));
            for (i, c) in ordered.iter().enumerate() {
                let mut s = json!({
                    "interval": flux.interval.clone().unwrap_or_else(|| "10m".into()),
                    "timeout": flux.timeout.clone().unwrap_or_else(|| "30m".into()),
                    "path": format!("{}/{c}", path.trim_end_matches('/')),
                    "prune": true,
                    "wait": true,
                    "sourceRef": {"kind": source.kind.clone().unwrap_or_else(|| "GitRepository".into()), "name": source_name},
                    "healthCheckExprs": health_check_exprs(),
                });
                if let Some(ns) = &source.namespace {
                    s["sourceRef"]["namespace"] = ns.clone().into();
                }
                if let Some(d) = &decryption {
                    s["decryption"] = d.clone();
                }
                // A chain in rollout order: each context after the previous one is healthy.
                if i > 0 {
                    s["dependsOn"] = json!([{"name": name(ordered[i - 1])}]);
                }
                if let Some(kc) = kube_configs.get(*c) {
                    let mut r = json!({"name": kc.secret_name.clone().unwrap_or_default()});
                    if let Some(k) = &kc.key {
                        r["key"] = k.clone().into();
                    }
                    s["kubeConfig"] = json!({"secretRef": r});
                }
                out.push(Manifest::new(
                    FLUX_DIR.into(),
                    String::new(),
                    json!({
                        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                        "kind": "Kustomization",
                        "metadata": {"name": name(c), "namespace": namespace},
                        "spec": s,
                    }),
                ));
            }
        }
    }
    out
}
