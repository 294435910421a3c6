//! Routing of the repository's operations documents (Medusa schedules and jobs, CassandraTasks):
//! each goes to the context and namespace of the one datacenter it names, after that datacenter
//! in the rollout.

use super::{ClusterPlan, DcPlan};
use crate::diagnostic::Diagnostic;
use crate::load::{Doc, Inputs};
use crate::model::operations::Operation;
use crate::yaml::Seg;

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
    /// The datacenter's position in its cluster's rollout order.
    pub position: usize,
}

fn seg(p: &[&str]) -> Vec<Seg> {
    p.iter().map(|k| Seg::Key((*k).into())).collect()
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
                    seg(dc_path),
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
                    op.namespace_path.clone().unwrap_or_else(|| seg(&["metadata", "namespace"])),
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
                        seg(dc_path),
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
            position,
        });
    }
    out
}
