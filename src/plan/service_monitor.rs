//! What the plan decides about the Cassandra `ServiceMonitor`s (spec components §4.1 and §4.2):
//! which datacenters get one (merged `telemetry.prometheus.enabled` true, and `commonLabels`
//! that are valid Kubernetes labels), and the labels the operator forces over `commonLabels`.
//! The render module builds exactly what is decided here and reports nothing (issue #11).
//!
//! `commonLabels` end up as object labels, so keys and values must be valid Kubernetes label
//! keys and values (the API server would refuse the object); a user label that the operator
//! overwrites is reported as a warning instead of vanishing silently.

use serde_json::Value;

use super::{ClusterPlan, DcPlan};
use crate::diagnostic::{Code, Diagnostic, has_error};
use crate::model::labels::{
    CLUSTER_NAME_LABEL, CLUSTER_NAMESPACE_LABEL, COMPONENT_LABEL, PART_OF_LABEL,
};
use crate::ports::names::{cleanup_for_kubernetes, is_label_value, is_qualified_name};
use crate::yaml::{Seg, keys};

/// `<telemetry>.<section>.enabled == true` (a missing section or flag is false).
#[must_use]
pub fn enabled(telemetry: &Value, section: &str) -> bool {
    telemetry.get(section).and_then(|s| s.get("enabled")) == Some(&Value::Bool(true))
}

/// cass-operator `LabelResourceName()` of the datacenter, offline: the cleaned object name
/// (`status.datacenterName` is the object name once the datacenter has been Ready).
#[must_use]
pub fn label_resource_name(dc: &DcPlan<'_>) -> String {
    cleanup_for_kubernetes(&dc.template.name)
}

/// The labels k8ssandra-operator sets on the ServiceMonitor over the user's `commonLabels`.
#[must_use]
pub fn forced_labels(plan: &ClusterPlan<'_>, dc: &DcPlan<'_>) -> [(&'static str, String); 6] {
    [
        ("app.kubernetes.io/managed-by", "k8ssandra-operator".into()),
        (PART_OF_LABEL, "k8ssandra".into()),
        (CLUSTER_NAME_LABEL, plan.name.clone()),
        ("k8ssandra.io/datacenter", label_resource_name(dc)),
        (CLUSTER_NAMESPACE_LABEL, plan.namespace.clone()),
        (COMPONENT_LABEL, "telemetry".into()),
    ]
}

/// Checks the `commonLabels` of every datacenter with Prometheus enabled and decides which get
/// a ServiceMonitor: indexes into [`ClusterPlan::dcs`], in spec order. A datacenter whose labels
/// are not valid gets none (`diags` says why).
#[must_use]
pub fn resolve(plan: &ClusterPlan<'_>, diags: &mut Vec<Diagnostic>) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, dc) in plan.dcs.iter().enumerate() {
        if !enabled(&dc.telemetry, "prometheus") {
            continue;
        }
        let before = diags.len();
        check_labels(plan, dc, diags);
        if !has_error(&diags[before..]) {
            out.push(i);
        }
    }
    out
}

/// `spec.cassandra.telemetry.prometheus.commonLabels.<key>`.
fn cluster_common_label_path(key: &str) -> Vec<Seg> {
    keys(&[
        "spec",
        "cassandra",
        "telemetry",
        "prometheus",
        "commonLabels",
        key,
    ])
}

/// Where a merged `commonLabels` key was written: on the datacenter if it sets that key, else at
/// cluster level.
fn common_label_path(dc: &DcPlan<'_>, key: &str) -> Vec<Seg> {
    let on_dc = dc
        .template
        .options
        .get("telemetry")
        .and_then(|t| t.get("prometheus"))
        .and_then(|p| p.get("commonLabels"))
        .and_then(|l| l.get(key))
        .is_some();
    if on_dc {
        dc.path(&["telemetry", "prometheus", "commonLabels", key])
    } else {
        cluster_common_label_path(key)
    }
}

/// Each merged `commonLabels` entry must be a valid label; one the operator overwrites is a
/// warning.
fn check_labels(plan: &ClusterPlan<'_>, dc: &DcPlan<'_>, diags: &mut Vec<Diagnostic>) {
    let forced = forced_labels(plan, dc);
    let common = dc
        .telemetry
        .get("prometheus")
        .and_then(|p| p.get("commonLabels"))
        .and_then(Value::as_object);
    for (key, value) in common.into_iter().flatten() {
        let path = common_label_path(dc, key);
        let Some(value) = value.as_str() else {
            diags.push(
                plan.doc
                    .error(Code::WrongType, path, "label value must be a string"),
            );
            continue;
        };
        if !is_qualified_name(key) {
            diags.push(plan.doc.error(Code::InvalidName, path, format!(
                "{key:?} is not a valid label key (optional DNS subdomain prefix and '/', then at most 63 characters: alphanumerics, '-', '_', '.', starting and ending with an alphanumeric); it would be a label of the ServiceMonitor"
            )));
            continue;
        }
        if !is_label_value(value) {
            diags.push(plan.doc.error(Code::InvalidName, path, format!(
                "{value:?} is not a valid label value (at most 63 characters: alphanumerics, '-', '_', '.', starting and ending with an alphanumeric); it would be a label of the ServiceMonitor"
            )));
            continue;
        }
        if let Some((_, forced_value)) = forced.iter().find(|(k, _)| *k == key)
            && forced_value != value
        {
            diags.push(plan.doc.warning(
                Code::IgnoredField,
                path,
                format!(
                    "k8ssandra-operator sets {key}={forced_value} on the Cassandra ServiceMonitor; this value is ignored"
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Severity;
    use crate::testing::{cluster, plan_one_diagnosed};

    /// The datacenters the plan gives a ServiceMonitor (by name), and every error and warning
    /// as `path: message`.
    fn decide(yaml: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
        plan_one_diagnosed(yaml, |plan, diags| {
            let names = plan
                .service_monitor_dcs
                .iter()
                .map(|&i| plan.dcs[i].template.name.clone())
                .collect();
            let of = |severity| {
                diags
                    .iter()
                    .filter(|d| d.severity() == severity)
                    .map(|d| format!("{}: {}", crate::yaml::path_string(&d.path), d.message))
                    .collect()
            };
            (names, of(Severity::Error), of(Severity::Warning))
        })
    }

    /// Only datacenters with Prometheus enabled (at either level) get one.
    #[test]
    fn datacenters_with_prometheus_enabled_get_a_service_monitor() {
        let (names, errors, warnings) = decide(&cluster(
            "demo",
            "",
            "    - metadata: {name: dc1}\n      size: 1\n      telemetry: {prometheus: {enabled: true}}\n    - metadata: {name: dc2}\n      size: 1\n",
        ));
        assert_eq!(names, vec!["dc1"]);
        assert!(
            errors.is_empty() && warnings.is_empty(),
            "{errors:?} {warnings:?}"
        );
    }

    /// A datacenter with an invalid label gets none; the error is where the label was written.
    #[test]
    fn an_invalid_common_label_is_an_error_and_no_service_monitor() {
        let (names, errors, _) = decide(&cluster(
            "demo",
            "",
            "    - metadata: {name: dc1}\n      size: 1\n      telemetry: {prometheus: {enabled: true, commonLabels: {a: \"not ok\"}}}\n    - metadata: {name: dc2}\n      size: 1\n      telemetry: {prometheus: {enabled: true, commonLabels: {b: ok}}}\n",
        ));
        assert_eq!(names, vec!["dc2"]);
        assert_eq!(
            errors,
            vec![
                "spec.cassandra.datacenters[0].telemetry.prometheus.commonLabels.a: \"not ok\" is not a valid label value (at most 63 characters: alphanumerics, '-', '_', '.', starting and ending with an alphanumeric); it would be a label of the ServiceMonitor"
                    .to_string()
            ]
        );
    }

    /// A label the operator overwrites is a warning, not a reason to drop the object.
    #[test]
    fn an_overwritten_label_is_a_warning() {
        let (names, errors, warnings) = decide(&cluster(
            "demo",
            "",
            "    - metadata: {name: dc1}\n      size: 1\n      telemetry: {prometheus: {enabled: true, commonLabels: {k8ssandra.io/cluster-name: other}}}\n",
        ));
        assert_eq!(names, vec!["dc1"]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            warnings,
            vec![
                "spec.cassandra.datacenters[0].telemetry.prometheus.commonLabels[\"k8ssandra.io/cluster-name\"]: k8ssandra-operator sets k8ssandra.io/cluster-name=demo on the Cassandra ServiceMonitor; this value is ignored"
                    .to_string()
            ]
        );
    }
}
