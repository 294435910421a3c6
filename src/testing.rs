//! Shared helpers for unit tests: drive the real pipeline from inline YAML.

use crate::diagnostic::Diagnostic;
use crate::plan::ClusterPlan;
use crate::render::Manifest;
use crate::source::SourceFile;

/// `apiVersion`/`kind` of a K8ssandraCluster, to prefix test documents with.
pub const HEAD: &str = "apiVersion: k8ssandra.io/v1alpha1\nkind: K8ssandraCluster\n";
/// ClientConfigs declaring the contexts `east` and `west`.
pub const CONTEXTS: &str = "---\napiVersion: config.k8ssandra.io/v1beta1\nkind: ClientConfig\nmetadata: {name: east}\n---\napiVersion: config.k8ssandra.io/v1beta1\nkind: ClientConfig\nmetadata: {name: west}\n";

/// Loads `HEAD + yaml + CONTEXTS`, plans the one cluster in it, and runs `render` on it.
/// Returns what `render` produced and every diagnostic of the whole run.
pub fn render_one(
    yaml: &str,
    render: impl FnOnce(&ClusterPlan<'_>, &mut Vec<Diagnostic>) -> Vec<Manifest>,
) -> (Vec<Manifest>, Vec<Diagnostic>) {
    with_plan(yaml, |plan, diags| {
        let out = render(plan, diags);
        (out, std::mem::take(diags))
    })
}

/// Loads `HEAD + yaml + CONTEXTS`, plans the one cluster in it (which must plan without
/// errors being fatal) and hands the plan to `check`.
pub fn plan_one<R>(yaml: &str, check: impl FnOnce(&ClusterPlan<'_>) -> R) -> R {
    with_plan(yaml, |plan, _| check(plan))
}

/// [`plan_one`], also handing `check` every problem found while loading and planning.
pub fn plan_one_diagnosed<R>(
    yaml: &str,
    check: impl FnOnce(&ClusterPlan<'_>, &[Diagnostic]) -> R,
) -> R {
    with_plan(yaml, |plan, diags| check(plan, diags))
}

/// Loads and plans `HEAD + yaml + CONTEXTS`, then hands the one cluster's plan and the
/// problems found so far to `f`.
fn with_plan<R>(yaml: &str, f: impl FnOnce(&ClusterPlan<'_>, &mut Vec<Diagnostic>) -> R) -> R {
    let files = vec![SourceFile {
        rel_path: "c.yaml".into(),
        display_path: "c.yaml".into(),
        text: format!("{HEAD}{yaml}{CONTEXTS}"),
    }];
    let (inputs, mut diags) = crate::load::load(&files);
    let settings = crate::plan::Settings::from_inputs(&inputs);
    let plans = crate::plan::plan(&inputs, &settings, &mut diags);
    assert_eq!(plans.len(), 1, "{diags:#?}");
    f(&plans[0], &mut diags)
}

/// A `storageConfig` block for `spec.cassandra` (four-space indent).
pub const STORAGE: &str = "    storageConfig:\n      cassandraDataVolumeClaimSpec:\n        resources: {requests: {storage: 1Gi}}\n";

/// A K8ssandraCluster body in namespace `ns`: `top` goes under `spec` (two-space indent),
/// `dcs` under `spec.cassandra.datacenters`.
pub fn cluster(name: &str, top: &str, dcs: &str) -> String {
    format!(
        "metadata: {{name: {name}, namespace: ns}}\nspec:\n{top}  cassandra:\n    serverVersion: 4.1.8\n{STORAGE}    datacenters:\n{dcs}"
    )
}

/// The rendered object with this name (fails the test, listing the names, when there is none).
pub fn by_name<'m>(out: &'m [Manifest], name: &str) -> &'m Manifest {
    out.iter().find(|m| m.name() == name).unwrap_or_else(|| {
        panic!(
            "no {name} in {:?}",
            out.iter().map(Manifest::name).collect::<Vec<_>>()
        )
    })
}

/// The errors among `diags`, each as `field.path: message`.
pub fn errors(diags: &[crate::diagnostic::Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.severity() == crate::diagnostic::Severity::Error)
        .map(|d| format!("{}: {}", crate::yaml::path_string(&d.path), d.message))
        .collect()
}

/// The field paths of the warnings among `diags`.
pub fn warnings(diags: &[crate::diagnostic::Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.severity() == crate::diagnostic::Severity::Warning)
        .map(|d| crate::yaml::path_string(&d.path))
        .collect()
}
