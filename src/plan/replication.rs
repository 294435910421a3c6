//! What the plan decides about the system keyspace replication (spec §2.7): the
//! `k8ssandra.io/initial-system-replication` annotation when it is readable, else the computed
//! map. The render module only writes the decided map into the first datacenter's JVM options
//! (issue #11).

use std::collections::BTreeMap;

use super::ClusterPlan;
use crate::diagnostic::{Code, Diagnostic};
use crate::yaml::keys;

/// Annotation that freezes the initial system keyspace replication (JSON `{"dc": rf}`).
pub const INITIAL_SYSTEM_REPLICATION_ANNOTATION: &str = "k8ssandra.io/initial-system-replication";

/// The decided replication of the system keyspaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemReplication {
    /// Replication factor by Cassandra datacenter name.
    pub factors: BTreeMap<String, i64>,
    /// The annotation could not be read (reported): `factors` is the computed map, kept only
    /// so that the datacenters' other problems are reported too; nothing must be built.
    pub annotation_rejected: bool,
}

/// The initial-system-replication annotation is in neither of its JSON forms.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot parse {INITIAL_SYSTEM_REPLICATION_ANNOTATION}: expected JSON like {{\"dc1\":3}} (or the old {{\"datacenters\":[\"dc1\"],\"replicationFactor\":3}})"
)]
struct UnreadableReplication;

/// Decides the cluster's system replication; an unreadable annotation is reported on it.
#[must_use]
pub fn resolve(plan: &ClusterPlan<'_>, diags: &mut Vec<Diagnostic>) -> SystemReplication {
    let annotation = plan
        .doc
        .value
        .metadata
        .annotations
        .get(INITIAL_SYSTEM_REPLICATION_ANNOTATION);
    let Some(text) = annotation else {
        return SystemReplication {
            factors: computed(plan),
            annotation_rejected: false,
        };
    };
    match parse(text) {
        Ok(factors) => SystemReplication {
            factors,
            annotation_rejected: false,
        },
        Err(e) => {
            let mut path = keys(&["metadata", "annotations"]);
            path.extend(keys(&[INITIAL_SYSTEM_REPLICATION_ANNOTATION]));
            diags.push(plan.doc.error(Code::InvalidValue, path, e.to_string()));
            SystemReplication {
                factors: computed(plan),
                annotation_rejected: true,
            }
        }
    }
}

/// The annotation in its current (`{"dc1":3}`) or old form.
fn parse(text: &str) -> Result<BTreeMap<String, i64>, UnreadableReplication> {
    if let Ok(map) = serde_json::from_str::<BTreeMap<String, i64>>(text) {
        return Ok(map);
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct OldFormat {
        datacenters: Vec<String>,
        replication_factor: i64,
    }
    serde_json::from_str::<OldFormat>(text)
        .map(|old| {
            old.datacenters
                .into_iter()
                .map(|dc| (dc, old.replication_factor))
                .collect()
        })
        .map_err(|_| UnreadableReplication)
}

/// Only the first DC in spec order: Cassandra 4.1 cannot reference DCs that do not exist yet.
fn computed(plan: &ClusterPlan<'_>) -> BTreeMap<String, i64> {
    let mut map = BTreeMap::new();
    if let Some(first) = plan.dcs.first() {
        map.insert(
            first.cass_dc_name.clone(),
            i64::from(first.template.size.min(3)),
        );
    }
    for ext in plan.external_datacenters {
        map.insert(ext.clone(), 3);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::{cluster, errors, with_plans};

    const DCS: &str = "    datacenters:\n    - metadata: {name: dc1}\n      size: 5\n";

    #[test]
    fn an_unreadable_annotation_is_reported_there_and_the_computed_map_is_kept() {
        let c = cluster(
            "  annotations:\n    k8ssandra.io/initial-system-replication: \"dc1=3\"\n",
            DCS,
        );
        with_plans(&[("c.yaml", &c)], |plans, diags| {
            assert_eq!(errors(diags), [UnreadableReplication.to_string()]);
            let d = diags.iter().find(|d| d.code == Code::InvalidValue).unwrap();
            assert_eq!(
                crate::yaml::path_string(&d.path),
                r#"metadata.annotations["k8ssandra.io/initial-system-replication"]"#
            );
            let r = &plans[0].system_replication;
            assert!(r.annotation_rejected);
            // Spec §2.7: the first datacenter, at most 3.
            assert_eq!(r.factors, BTreeMap::from([("dc1".to_string(), 3)]));
        });
    }

    #[test]
    fn a_readable_annotation_wins_over_the_computed_map() {
        let c = cluster(
            "  annotations:\n    k8ssandra.io/initial-system-replication: '{\"dc9\":1}'\n",
            DCS,
        );
        with_plans(&[("c.yaml", &c)], |plans, diags| {
            assert!(errors(diags).is_empty(), "{diags:#?}");
            let r = &plans[0].system_replication;
            assert!(!r.annotation_rejected);
            assert_eq!(r.factors, BTreeMap::from([("dc9".to_string(), 1)]));
        });
    }

    #[test]
    fn reads_both_annotation_forms() {
        let want = BTreeMap::from([("dc0".to_string(), 2), ("dc1".to_string(), 3)]);
        assert_eq!(parse(r#"{"dc1":3,"dc0":2}"#).ok(), Some(want));
        let old = parse(r#"{"datacenters":["dc1","dc2"],"replicationFactor":3}"#).ok();
        assert_eq!(
            old,
            Some(BTreeMap::from([
                ("dc1".to_string(), 3),
                ("dc2".to_string(), 3)
            ]))
        );
    }

    #[test]
    fn refuses_other_text() {
        assert!(parse("dc1=3").is_err());
        assert!(parse(r#"{"dc1":"three"}"#).is_err());
    }
}
