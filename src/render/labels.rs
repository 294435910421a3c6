//! Labels shared by the objects of several render modules.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::plan::ClusterPlan;

pub use crate::model::labels::{
    CLUSTER_NAME_LABEL, CLUSTER_NAMESPACE_LABEL, COMPONENT_LABEL, NAME_LABEL, PART_OF_LABEL,
};

/// `app.kubernetes.io/{name,part-of,component}` as the operator sets them on the objects it
/// creates, for typed objects.
#[must_use]
pub fn operator(component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (NAME_LABEL.to_string(), "k8ssandra-operator".to_string()),
        (PART_OF_LABEL.to_string(), "k8ssandra".to_string()),
        (COMPONENT_LABEL.to_string(), component.to_string()),
    ])
}

/// [`operator`] as a JSON map, for objects built as JSON.
#[must_use]
pub fn operator_labels(component: &str) -> Map<String, Value> {
    json_map(operator(component))
}

/// `k8ssandra.io/cluster-{name,namespace}`: which K8ssandraCluster an object belongs to, in that
/// order.
#[must_use]
pub fn cluster(plan: &ClusterPlan<'_>) -> [(&'static str, String); 2] {
    [
        (CLUSTER_NAME_LABEL, plan.name.clone()),
        (CLUSTER_NAMESPACE_LABEL, plan.namespace.clone()),
    ]
}

/// Labels the control plane puts on everything it creates for a cluster (`CleanedUpByLabels`),
/// for typed objects.
#[must_use]
pub fn cleaned_up_by(plan: &ClusterPlan<'_>) -> BTreeMap<String, String> {
    std::iter::once((
        "k8ssandra.io/cleaned-up-by",
        "k8ssandracluster-controller".to_string(),
    ))
    .chain(cluster(plan))
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// [`cleaned_up_by`] as a JSON map, for objects built as JSON.
#[must_use]
pub fn cleaned_up_by_labels(plan: &ClusterPlan<'_>) -> Map<String, Value> {
    json_map(cleaned_up_by(plan))
}

fn json_map(labels: BTreeMap<String, String>) -> Map<String, Value> {
    labels
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}
