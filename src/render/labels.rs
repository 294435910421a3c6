//! Labels shared by the objects of several render modules.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::plan::ClusterPlan;

/// Labels the control plane puts on everything it creates for a cluster (`CleanedUpByLabels`),
/// for typed objects.
#[must_use]
pub fn cleaned_up_by(plan: &ClusterPlan<'_>) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "k8ssandra.io/cleaned-up-by".to_string(),
            "k8ssandracluster-controller".to_string(),
        ),
        ("k8ssandra.io/cluster-name".to_string(), plan.name.clone()),
        (
            "k8ssandra.io/cluster-namespace".to_string(),
            plan.namespace.clone(),
        ),
    ])
}

/// [`cleaned_up_by`] as a JSON map, for objects built as JSON.
#[must_use]
pub fn cleaned_up_by_labels(plan: &ClusterPlan<'_>) -> Map<String, Value> {
    cleaned_up_by(plan)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}
