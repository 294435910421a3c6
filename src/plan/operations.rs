//! Routing of the repository's operations documents (Medusa schedules and jobs, CassandraTasks):
//! each goes to the context and namespace of the one datacenter it names, after that datacenter
//! in the rollout.

use super::{ClusterPlan, DcPlan};
use crate::diagnostic::{Code, Diagnostic};
use crate::load::{Doc, Inputs};
use crate::model::operations::Operation;
use crate::yaml::keys;

/// An operations document and where it goes.
#[derive(Debug)]
pub struct RoutedOperation<'a> {
    /// The document.
    pub doc: &'a Doc<Operation>,
    /// The K8ssandraCluster whose datacenter it names (`metadata.name`).
    pub cluster: String,
    /// The datacenter's context.
    pub context: String,
    /// The datacenter's namespace.
    pub namespace: String,
    /// The datacenter's position in its cluster's `spec.cassandra.datacenters` ([`DcPlan::index`]).
    pub dc: usize,
    /// The datacenter's position in its cluster's rollout order.
    pub position: usize,
}

impl<'a> RoutedOperation<'a> {
    /// The operations document, typed (its `doc` serves diagnostics: file and position).
    #[must_use]
    pub fn operation(&self) -> &'a Operation {
        &self.doc.value
    }

    /// The sync wave it is applied in unless the document names one: after its datacenter.
    #[must_use]
    pub fn wave(&self) -> super::waves::Wave {
        super::waves::Wave::AfterDatacenter(self.position)
    }
}

/// Finds the datacenter each operations document names, in file order. A document that names
/// no planned datacenter, or several, is reported and left out.
#[must_use]
pub fn route<'a>(
    plans: &[ClusterPlan<'_>],
    inputs: &'a Inputs,
    diags: &mut Vec<Diagnostic>,
) -> Vec<RoutedOperation<'a>> {
    let mut out = Vec::new();
    for doc in &inputs.operations {
        let op = &doc.value;
        let (kind, name, dc_name, namespace) = (
            op.kind.name(),
            op.name.as_str(),
            op.datacenter.as_str(),
            op.namespace.as_str(),
        );
        let dc_path = op.kind.datacenter_path();
        let by_name: Vec<(&ClusterPlan<'_>, &DcPlan<'_>)> = plans
            .iter()
            .flat_map(|p| p.dcs.iter().map(move |d| (p, d)))
            .filter(|(_, d)| d.template.name == dc_name)
            .collect();
        if by_name.is_empty() {
            // A K8ssandraCluster that could not be planned has this datacenter: its own errors
            // are reported, a second one here would only be noise.
            let unplanned = inputs.clusters.iter().any(|c| {
                !plans.iter().any(|p| {
                    p.doc.origin.file == c.origin.file && p.doc.origin.index == c.origin.index
                }) && c
                    .value
                    .spec
                    .cassandra
                    .as_ref()
                    .is_some_and(|t| t.datacenters.iter().any(|d| d.name == dc_name))
            });
            if !unplanned {
                let known: Vec<String> = plans
                    .iter()
                    .flat_map(|p| {
                        p.dcs
                            .iter()
                            .map(|d| format!("{}/{}", d.namespace, d.template.name))
                    })
                    .collect();
                let hint = crate::diagnostic::did_you_mean(
                    dc_name,
                    plans
                        .iter()
                        .flat_map(|p| p.dcs.iter().map(|d| d.template.name.as_str())),
                );
                diags.push(doc.error(
                    Code::UnknownReference,
                    keys(dc_path),
                    format!(
                        "{kind} {name:?} names datacenter {dc_name:?}, which no K8ssandraCluster of the repository has (datacenters: {})",
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    ),
                ).with_hint(hint));
            }
            continue;
        }
        let candidates: Vec<_> = by_name
            .iter()
            .filter(|(_, d)| namespace.is_empty() || d.namespace == namespace)
            .copied()
            .collect();
        let place = |(p, d): &(&ClusterPlan<'_>, &DcPlan<'_>)| {
            format!(
                "namespace {:?} (K8ssandraCluster {}/{}, context {})",
                d.namespace, p.namespace, p.name, d.context
            )
        };
        let (plan, dc) = match candidates.as_slice() {
            [one] => *one,
            [] => {
                let places: Vec<String> = by_name.iter().map(place).collect();
                diags.push(doc.error(
                    Code::NamespaceMismatch,
                    op.namespace_path.clone().unwrap_or_else(|| keys(&["metadata", "namespace"])),
                    format!(
                        "{kind} {name:?} is for namespace {namespace:?}, but datacenter {dc_name:?} is in {}",
                        places.join(", ")
                    ),
                ).with_hint(Some("leave the namespace out: the datacenter's is used".into())));
                continue;
            }
            many => {
                let places: Vec<String> = many.iter().map(place).collect();
                let first_ns = &many[0].1.namespace;
                let hint = if many.iter().all(|(_, d)| d.namespace == *first_ns) {
                    format!(
                        "these datacenters share namespace {first_ns:?} in different contexts, so nothing in the document can tell them apart: give one of them another metadata.name"
                    )
                } else {
                    "set metadata.namespace to the namespace of the datacenter it is for".into()
                };
                diags.push(
                    doc.error(
                        Code::AmbiguousReference,
                        keys(dc_path),
                        format!(
                            "{kind} {name:?} names datacenter {dc_name:?}, which several K8ssandraClusters have: in {}",
                            places.join(" and ")
                        ),
                    )
                    .with_hint(Some(hint)),
                );
                continue;
            }
        };
        let position = plan
            .priority
            .iter()
            .position(|&i| i == dc.index)
            .unwrap_or(0);
        out.push(RoutedOperation {
            doc,
            cluster: plan.name.clone(),
            context: dc.context.clone(),
            namespace: dc.namespace.clone(),
            dc: dc.index,
            position,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::testing::{CONTEXTS, HEAD, cluster};

    /// Plans one cluster with datacenters dc1 (context east, namespace ns) and dc2 (context
    /// west, namespace ns2) next to `docs`; returns (kind, name, cluster, context, namespace,
    /// position, wave) of each routed document and the printed diagnostics.
    #[allow(clippy::type_complexity)]
    fn route(
        docs: &str,
    ) -> (
        Vec<(&'static str, String, String, String, String, usize, i64)>,
        Vec<String>,
    ) {
        let dcs = "    - {metadata: {name: dc1}, k8sContext: east, size: 1}\n    - {metadata: {name: dc2, namespace: ns2}, k8sContext: west, size: 1}\n";
        let files = vec![crate::source::SourceFile {
            rel_path: "c.yaml".into(),
            display_path: "c.yaml".into(),
            text: format!(
                "{HEAD}{}{CONTEXTS}{docs}",
                cluster("c", "  secretsProvider: external\n", dcs)
            ),
        }];
        let (inputs, mut diags) = crate::load::load(&files);
        let plan = crate::plan::build(&inputs, &mut diags);
        let got = plan
            .operations
            .iter()
            .map(|r| {
                (
                    r.doc.value.kind.name(),
                    r.doc.value.name.clone(),
                    r.cluster.clone(),
                    r.context.clone(),
                    r.namespace.clone(),
                    r.position,
                    r.wave().number(),
                )
            })
            .collect();
        (got, diags.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn each_document_goes_to_the_datacenter_it_names() {
        let (got, diags) = route(
            "---\napiVersion: medusa.k8ssandra.io/v1alpha1\nkind: MedusaBackupJob\nmetadata: {name: b}\nspec: {cassandraDatacenter: dc2}\n---\napiVersion: control.k8ssandra.io/v1alpha1\nkind: CassandraTask\nmetadata: {name: t}\nspec: {datacenter: {name: dc1, namespace: ns}, jobs: [{name: j, command: cleanup}]}\n",
        );
        assert_eq!(
            got,
            [
                (
                    "MedusaBackupJob",
                    "b".into(),
                    "c".into(),
                    "west".into(),
                    "ns2".into(),
                    1,
                    15
                ),
                (
                    "CassandraTask",
                    "t".into(),
                    "c".into(),
                    "east".into(),
                    "ns".into(),
                    0,
                    5
                ),
            ],
            "{diags:#?}"
        );
    }

    #[test]
    fn a_document_for_no_or_another_namespace_is_reported_not_routed() {
        let (got, diags) = route(
            "---\napiVersion: medusa.k8ssandra.io/v1alpha1\nkind: MedusaBackupJob\nmetadata: {name: b}\nspec: {cassandraDatacenter: dc9}\n---\napiVersion: medusa.k8ssandra.io/v1alpha1\nkind: MedusaBackupJob\nmetadata: {name: b, namespace: other}\nspec: {cassandraDatacenter: dc1}\n",
        );
        assert!(got.is_empty(), "{got:?}");
        assert_eq!(diags.len(), 2, "{diags:#?}");
        assert!(
            diags[0].contains("names datacenter \"dc9\", which no K8ssandraCluster of the repository has (datacenters: ns/dc1, ns2/dc2)"),
            "{diags:#?}"
        );
        assert!(
            diags[1].contains(
                "is for namespace \"other\", but datacenter \"dc1\" is in namespace \"ns\""
            ),
            "{diags:#?}"
        );
    }
}
