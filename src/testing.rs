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
    let files = vec![SourceFile {
        rel_path: "c.yaml".into(),
        display_path: "c.yaml".into(),
        text: format!("{HEAD}{yaml}{CONTEXTS}"),
    }];
    let (inputs, mut diags) = crate::load::load(&files);
    let settings = crate::plan::Settings::from_inputs(&inputs);
    let plans = crate::plan::plan(&inputs, &settings, &mut diags);
    assert_eq!(plans.len(), 1, "{diags:#?}");
    let out = render(&plans[0], &mut diags);
    (out, diags)
}
