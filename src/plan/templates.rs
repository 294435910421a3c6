//! The Reaper and Stargate templates of a cluster as the control plane sees them: which block
//! applies, the cluster and datacenter levels merged, and the CRD's OpenAPI defaults that the
//! API server applies (issue #11: render never re-runs schema work).
//!
//! Computed on demand rather than stored in [`ClusterPlan`]: a defaulted template is a JSON
//! tree per cluster (per datacenter for Stargate) that only its render module reads, once, so
//! holding it for every cluster of a large repository would cost memory for nothing (issue #13).
//! What is cheap and read by several modules (`spec.auth`, `externalDatacenters`) is a field of
//! [`ClusterPlan`] instead.

use serde_json::{Map, Value};

use super::{ClusterPlan, DcPlan};
use crate::json::str_in;
use crate::merge::merge;
use crate::schema::{InputKind, apply_defaults};

/// Schema path of the cluster-level Reaper template in a K8ssandraCluster.
const REAPER_PATH: [&str; 2] = ["spec", "reaper"];
/// Schema path of a datacenter-level Stargate template in a K8ssandraCluster.
const STARGATE_DC_PATH: [&str; 5] = ["spec", "cassandra", "datacenters", "[]", "stargate"];
/// Schema path of a rack of a datacenter-level Stargate template.
const STARGATE_RACK_PATH: [&str; 7] = [
    "spec",
    "cassandra",
    "datacenters",
    "[]",
    "stargate",
    "racks",
    "[]",
];

/// The Reaper CRD's default `deploymentMode` (one Reaper per datacenter).
const DEFAULT_DEPLOYMENT_MODE: &str = "PER_DC";

/// A template that is there: `null` (a nil pointer in Go) counts as absent; a non-object was
/// already reported by the schema check.
fn present(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object)
}

/// `spec.reaper` of a cluster.
#[derive(Debug, Clone, Copy)]
pub struct ReaperTemplate<'a> {
    /// The template as written: which fields the user set (warnings, diagnostic placement).
    pub written: &'a Map<String, Value>,
}

/// The cluster's Reaper template, when it has one.
#[must_use]
pub fn reaper<'a>(plan: &ClusterPlan<'a>) -> Option<ReaperTemplate<'a>> {
    present(plan.doc.value.spec.reaper.as_ref()).map(|written| ReaperTemplate { written })
}

impl<'a> ReaperTemplate<'a> {
    /// The template with the CRD defaults applied, as the API server stores it.
    #[must_use]
    pub fn defaulted(&self) -> Map<String, Value> {
        let mut defaulted = Value::Object(self.written.clone());
        apply_defaults(InputKind::K8ssandraCluster, &REAPER_PATH, &mut defaulted);
        match defaulted {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// `reaperRef.name`: a Reaper elsewhere that the cluster registers with instead of getting
    /// its own (`""` when none).
    #[must_use]
    pub fn reaper_ref(&self) -> &'a str {
        str_in(self.written, &["reaperRef", "name"])
    }

    /// `storageType` (`cassandra` when not written).
    #[must_use]
    pub fn storage_type(&self) -> &'a str {
        self.written
            .get("storageType")
            .and_then(Value::as_str)
            .unwrap_or("cassandra")
    }

    /// `deploymentMode` as the API server stores it: the CRD default `PER_DC` when not written,
    /// `""` when written as something other than a string (as [`Self::defaulted`] reads).
    #[must_use]
    pub fn deployment_mode(&self) -> &'a str {
        self.written
            .get("deploymentMode")
            .map_or(DEFAULT_DEPLOYMENT_MODE, |v| v.as_str().unwrap_or_default())
    }

    /// The Secret with Reaper's CQL user: `cassandraUserSecretRef.name`, else upstream's
    /// `DefaultUserSecretName`, `<CleanupForKubernetes(cluster name)>-reaper`. The datacenter
    /// lists it as a user, the Reaper object names it, the credentials deliver it.
    #[must_use]
    pub fn cql_user_secret(&self, plan: &ClusterPlan<'_>) -> String {
        match str_in(self.written, &["cassandraUserSecretRef", "name"]) {
            "" => format!("{}-reaper", plan.sanitized_name),
            name => name.to_string(),
        }
    }

    /// The Secret with Reaper's UI login: `uiUserSecretRef.name`, else upstream's
    /// [`reaper_default_ui_secret_name`]; `None` when an explicitly empty `uiUserSecretRef`
    /// turns UI authentication off.
    #[must_use]
    pub fn ui_user_secret(&self, plan: &ClusterPlan<'_>) -> Option<String> {
        match self.written.get("uiUserSecretRef").filter(|v| !v.is_null()) {
            None => Some(reaper_default_ui_secret_name(plan)),
            Some(r) => r
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .map(str::to_string),
        }
    }

    /// The keyspace Reaper keeps its data in: `keyspace`, `reaper_db` when unset or empty.
    #[must_use]
    pub fn keyspace(&self) -> &'a str {
        Some(str_in(self.written, &["keyspace"]))
            .filter(|k| !k.is_empty())
            .unwrap_or("reaper_db")
    }

    /// Whether Reaper talks to Cassandra through the management API (`httpManagement.enabled`,
    /// default true) rather than JMX.
    #[must_use]
    pub fn http_management(&self) -> bool {
        self.written
            .get("httpManagement")
            .and_then(|h| h.get("enabled"))
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }
}

/// `DefaultUiSecretName`: `<CleanupForKubernetes(cluster name)>-reaper-ui`.
#[must_use]
pub fn reaper_default_ui_secret_name(plan: &ClusterPlan<'_>) -> String {
    format!("{}-reaper-ui", plan.sanitized_name)
}

/// The Stargate templates that apply to one datacenter.
#[derive(Debug, Clone)]
pub struct StargateTemplate<'a> {
    /// The cluster-level `spec.stargate`, as written.
    pub cluster: Option<&'a Map<String, Value>>,
    /// The datacenter's own `stargate`, as written.
    pub datacenter: Option<&'a Map<String, Value>>,
    /// Both merged, before the CRD defaults (`StargateDatacenterTemplate.MergeWith`).
    pub merged: Map<String, Value>,
}

/// The cluster-level Stargate template, when the cluster has one.
#[must_use]
pub fn stargate_cluster<'a>(plan: &ClusterPlan<'a>) -> Option<&'a Map<String, Value>> {
    present(plan.doc.value.spec.stargate.as_ref())
}

/// The Stargate template of `dc`: its own block merged over the cluster-level one (the
/// datacenter wins); `None` when neither level has one.
#[must_use]
pub fn stargate<'a>(plan: &ClusterPlan<'a>, dc: &DcPlan<'a>) -> Option<StargateTemplate<'a>> {
    let cluster = stargate_cluster(plan);
    let datacenter = present(dc.template.stargate.as_ref());
    let merged = merge_stargate(cluster, datacenter)?;
    Some(StargateTemplate {
        cluster,
        datacenter,
        merged,
    })
}

/// Whether some datacenter of the cluster has a Stargate template (its keyspace is then
/// created by the operator).
#[must_use]
pub fn uses_stargate(plan: &ClusterPlan<'_>) -> bool {
    stargate_cluster(plan).is_some()
        || plan
            .dcs
            .iter()
            .any(|d| present(d.template.stargate.as_ref()).is_some())
}

impl StargateTemplate<'_> {
    /// The merged template with the CRD defaults applied (quirk #3: after the merge, so that a
    /// default never beats a value set at the cluster level).
    #[must_use]
    pub fn defaulted(&self) -> Map<String, Value> {
        let mut defaulted = Value::Object(self.merged.clone());
        apply_defaults(
            InputKind::K8ssandraCluster,
            &STARGATE_DC_PATH,
            &mut defaulted,
        );
        match defaulted {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}

/// A rack of a datacenter-level Stargate template with the CRD defaults applied.
#[must_use]
pub fn stargate_rack_defaulted(rack: &Map<String, Value>) -> Value {
    let mut defaulted = Value::Object(rack.clone());
    apply_defaults(
        InputKind::K8ssandraCluster,
        &STARGATE_RACK_PATH,
        &mut defaulted,
    );
    defaulted
}

/// `StargateDatacenterTemplate.MergeWith`, on the templates as written (quirk #3: the CRD
/// defaults come after). A datacenter-level `allowStargateOnDataNodes: false` is the zero value
/// of a plain Go bool, which goalesce never lets override.
fn merge_stargate(
    cluster: Option<&Map<String, Value>>,
    dc: Option<&Map<String, Value>>,
) -> Option<Map<String, Value>> {
    match (cluster, dc) {
        (None, None) => None,
        (Some(c), None) => Some(c.clone()),
        (None, Some(d)) => Some(d.clone()),
        (Some(c), Some(d)) => {
            let mut d = d.clone();
            if d.get("allowStargateOnDataNodes") == Some(&Value::Bool(false)) {
                d.remove("allowStargateOnDataNodes");
            }
            match merge(&Value::Object(c.clone()), &Value::Object(d)) {
                Value::Object(m) => Some(m),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::{cluster, plan_one};

    const DC1: &str = "    - metadata: {name: dc1}\n      k8sContext: east\n      size: 3\n";

    /// The schema paths used for defaulting exist (a typo would silently default nothing).
    #[test]
    fn default_paths_exist_in_the_schema() {
        for path in [&REAPER_PATH[..], &STARGATE_DC_PATH, &STARGATE_RACK_PATH] {
            assert!(
                apply_defaults(InputKind::K8ssandraCluster, path, &mut json!({})),
                "{path:?}"
            );
        }
    }

    #[test]
    fn no_reaper_block_means_no_reaper_template() {
        plan_one(&cluster("c", "", DC1), |plan| {
            assert!(reaper(plan).is_none());
        });
    }

    #[test]
    fn the_reaper_template_is_defaulted_by_the_crd_and_keeps_what_was_written() {
        let top = "  reaper:\n    keyspace: ''\n    heapSize: 1Gi\n";
        plan_one(&cluster("c", top, DC1), |plan| {
            let r = reaper(plan).expect("a Reaper template");
            assert_eq!(r.written.len(), 2, "as written: {:?}", r.written);
            let d = r.defaulted();
            assert_eq!(d["heapSize"], "1Gi", "a written value wins");
            assert!(
                d.len() > r.written.len(),
                "the CRD adds defaults: {d:?} vs {:?}",
                r.written
            );
            assert_eq!(r.keyspace(), "reaper_db", "an empty keyspace is unset");
            assert_eq!(r.storage_type(), "cassandra");
            assert!(r.http_management());
            assert_eq!(r.reaper_ref(), "");
        });
    }

    #[test]
    fn the_cql_user_secret_is_the_one_named_else_upstreams_default() {
        for (reaper_block, expected) in [
            ("  reaper: {}\n", "c-reaper"),
            (
                "  reaper:\n    cassandraUserSecretRef: {name: ''}\n",
                "c-reaper",
            ),
            (
                "  reaper:\n    cassandraUserSecretRef: {name: mine}\n",
                "mine",
            ),
        ] {
            plan_one(&cluster("c", reaper_block, DC1), |plan| {
                let r = reaper(plan).expect("a Reaper template");
                assert_eq!(r.cql_user_secret(plan), expected, "{reaper_block}");
            });
        }
    }

    /// The plan checks the Reaper template without defaulting it: the defaults its checks
    /// assume (`deploymentMode`, `storageType`, none below `storageConfig`) must be the CRD's.
    #[test]
    fn the_reaper_defaults_the_checks_assume_are_the_crds() {
        for top in [
            "  reaper: {}\n",
            "  reaper: {deploymentMode: SINGLE, storageType: local}\n",
            "  reaper: {deploymentMode: null}\n",
            "  reaper:\n    storageConfig: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n",
        ] {
            plan_one(&cluster("c", top, DC1), |plan| {
                let r = reaper(plan).expect("a Reaper template");
                let d = r.defaulted();
                assert_eq!(
                    r.deployment_mode(),
                    str_in(&d, &["deploymentMode"]),
                    "{top}"
                );
                assert_eq!(
                    r.storage_type() == "local",
                    str_in(&d, &["storageType"]) == "local",
                    "{top}"
                );
                assert_eq!(
                    d.get("storageConfig"),
                    r.written.get("storageConfig"),
                    "{top}"
                );
            });
        }
    }

    #[test]
    fn the_ui_user_secret_is_the_one_named_else_upstreams_default_unless_emptied() {
        for (reaper_block, expected) in [
            ("  reaper: {}\n", Some("c-reaper-ui")),
            ("  reaper: {uiUserSecretRef: null}\n", Some("c-reaper-ui")),
            ("  reaper: {uiUserSecretRef: {name: mine}}\n", Some("mine")),
            ("  reaper: {uiUserSecretRef: {name: ''}}\n", None),
            ("  reaper: {uiUserSecretRef: {}}\n", None),
        ] {
            plan_one(&cluster("c", reaper_block, DC1), |plan| {
                let r = reaper(plan).expect("a Reaper template");
                assert_eq!(
                    r.ui_user_secret(plan).as_deref(),
                    expected,
                    "{reaper_block}"
                );
            });
        }
    }

    #[test]
    fn reaper_settings_as_written() {
        let top = "  reaper:\n    keyspace: repairs\n    storageType: local\n    httpManagement: {enabled: false}\n    reaperRef: {name: central}\n";
        plan_one(&cluster("c", top, DC1), |plan| {
            let r = reaper(plan).expect("a Reaper template");
            assert_eq!(
                (r.keyspace(), r.storage_type(), r.reaper_ref()),
                ("repairs", "local", "central")
            );
            assert!(!r.http_management());
        });
    }

    #[test]
    fn stargate_merges_the_datacenter_over_the_cluster_then_defaults() {
        let top =
            "  stargate:\n    size: 2\n    heapSize: 512Mi\n    allowStargateOnDataNodes: true\n";
        let dc = format!(
            "{DC1}      stargate:\n        size: 1\n        allowStargateOnDataNodes: false\n"
        );
        plan_one(&cluster("c", top, &dc), |plan| {
            assert!(uses_stargate(plan));
            let t = stargate(plan, &plan.dcs[0]).expect("a Stargate template");
            assert!(t.cluster.is_some() && t.datacenter.is_some());
            assert_eq!(t.merged["size"], 1, "the datacenter wins");
            assert_eq!(t.merged["heapSize"], "512Mi", "the cluster fills in");
            assert_eq!(
                t.merged["allowStargateOnDataNodes"], true,
                "false is Go's zero value and never overrides"
            );
            let d = t.defaulted();
            assert_eq!(d["heapSize"], "512Mi", "a default never beats the cluster");
            assert!(d.len() > t.merged.len(), "the CRD adds defaults: {d:?}");
        });
    }

    #[test]
    fn stargate_of_the_datacenter_level_alone_gets_the_crd_defaults() {
        let dc = format!("{DC1}      stargate:\n        size: 1\n");
        plan_one(&cluster("c", "", &dc), |plan| {
            assert!(stargate_cluster(plan).is_none());
            let t = stargate(plan, &plan.dcs[0]).expect("a Stargate template");
            assert_eq!(t.defaulted()["heapSize"], "256Mi");
        });
    }

    #[test]
    fn no_stargate_block_at_either_level_means_none() {
        plan_one(&cluster("c", "", DC1), |plan| {
            assert!(!uses_stargate(plan));
            assert!(stargate(plan, &plan.dcs[0]).is_none());
        });
    }

    #[test]
    fn a_stargate_rack_gets_the_crd_defaults() {
        let rack = json!({"name": "r1"});
        let d = stargate_rack_defaulted(rack.as_object().unwrap());
        assert_eq!(d["name"], "r1");
        assert_eq!(d["serviceAccount"], "default");
    }
}
