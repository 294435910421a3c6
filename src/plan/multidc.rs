//! What the plan decides about the multi-datacenter operations (control-plane §4): which
//! datacenters get a `<dc>-rebuild` CassandraTask and from which source (§4.3), which
//! keyspaces the replication Job sets (§4.2), and which static `additionalSeeds` are ignored
//! (§4.5). The render module ([`crate::render::multidc`]) builds exactly what is decided here
//! and reports nothing (issue #11).

use std::collections::BTreeMap;

use serde_json::Value;

use super::reporter::ReporterPlan;
use super::{ClusterPlan, DcPlan, templates};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::server::ServerType;
use crate::seeds::split_ip;
use crate::yaml::{Seg, keys};

/// The multi-datacenter objects of one cluster, decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MultiDcPlan {
    /// The rebuild tasks, in priority order.
    pub rebuilds: Vec<Rebuild>,
    /// `spec.cassandra.rebuild.maxConcurrentRebuilds`: unset, or the limit (`i64::MAX` for 0,
    /// "no limit").
    pub max_concurrent_rebuilds: Option<i64>,
    /// What the replication Job sets; empty when the cluster gets no replication Job.
    pub replication: Vec<KeyspaceReplication>,
}

/// One `<dc>-rebuild` CassandraTask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuild {
    /// The datacenter's rollout position (its place in [`ClusterPlan::priority`]).
    pub position: usize,
    /// Index into [`ClusterPlan::dcs`] of the datacenter to rebuild.
    pub dc: usize,
    /// The Cassandra name of the datacenter it streams from.
    pub source: String,
}

/// One keyspace and its desired replication per Cassandra DC name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyspaceReplication {
    /// Keyspace name.
    pub keyspace: String,
    /// Create the keyspace first when missing (Reaper's and Stargate's, as upstream ensures).
    pub create: bool,
    /// Add to the current replication instead of replacing it (user keyspaces).
    pub merge: bool,
    /// `(Cassandra DC name, replication factor)`.
    pub factors: Vec<(String, i64)>,
}

/// Decides the cluster's rebuild tasks and replication Job, reporting the inputs they cannot
/// be built from.
#[must_use]
pub fn resolve(plan: &ClusterPlan<'_>, diags: &mut Vec<Diagnostic>) -> MultiDcPlan {
    let (source, max_concurrent_rebuilds) = rebuild_settings(plan);
    MultiDcPlan {
        rebuilds: rebuilds(plan, source.as_deref(), diags),
        max_concurrent_rebuilds,
        replication: replication(plan, diags),
    }
}

/// Cluster-level `spec.cassandra.rebuild` (the DC-level field is ignored upstream, quirk 9).
fn rebuild_settings(plan: &ClusterPlan<'_>) -> (Option<String>, Option<i64>) {
    let rebuild = plan.cassandra.options.get("rebuild");
    let source = rebuild
        .and_then(|r| r.get("sourceDc"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| {
            plan.doc
                .value
                .metadata
                .annotations
                .get("k8ssandra.io/rebuild-src-dc")
                .filter(|s| !s.is_empty())
                .cloned()
        });
    // nil → unset; 0 → no limit (MaxInt); n → n.
    let max = rebuild
        .and_then(|r| r.get("maxConcurrentRebuilds"))
        .and_then(Value::as_i64)
        .map(|n| if n == 0 { i64::MAX } else { n });
    (source, max)
}

/// `<dc>-rebuild` for every datacenter after the first in priority order (§4.3). A stopped
/// datacenter cannot join an existing cluster upstream, so it gets none.
fn rebuilds(
    plan: &ClusterPlan<'_>,
    source: Option<&str>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Rebuild> {
    let mut out = Vec::new();
    for (p, &i) in plan.priority.iter().enumerate().skip(1) {
        let dc = &plan.dcs[i];
        if dc.template.stopped {
            continue;
        }
        // Ready by then: the datacenters before this one in priority order, listed in spec order.
        let ready: Vec<&DcPlan<'_>> = plan
            .dcs
            .iter()
            .filter(|d| plan.priority[..p].contains(&d.index) && !d.template.stopped)
            .collect();
        let src = match source {
            Some(s) if s == dc.cass_dc_name => {
                diags.push(plan.doc.error(
                    Code::ConflictingSettings,
                    rebuild_path(),
                    format!(
                        "rebuild source datacenter {s:?} is also a datacenter to rebuild ({}); the first datacenter in rollout order must be the source",
                        dc.template.name
                    ),
                ));
                continue;
            }
            Some(s) => {
                if !ready.iter().any(|d| d.cass_dc_name == s) {
                    diags.push(plan.doc.error(
                        Code::UnknownReference,
                        rebuild_path(),
                        format!(
                            "rebuild source datacenter {s:?} is not a running datacenter that comes before {} in rollout order ({})",
                            dc.template.name,
                            ready.iter().map(|d| d.cass_dc_name.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                    continue;
                }
                s.to_string()
            }
            // Upstream compares the Cassandra DC name with the target's object name here.
            None => match ready.iter().find(|d| d.cass_dc_name != dc.template.name) {
                Some(d) => d.cass_dc_name.clone(),
                None => continue,
            },
        };
        out.push(Rebuild {
            position: p,
            dc: i,
            source: src,
        });
    }
    out
}

fn rebuild_path() -> Vec<Seg> {
    keys(&["spec", "cassandra", "rebuild", "sourceDc"])
}

/// What the replication Job sets (§4.2), the same in every context: empty when the cluster
/// needs no Job (no running datacenter, or one datacenter and no keyspace to create) or when a
/// name in it cannot go into the script (reported).
fn replication(plan: &ClusterPlan<'_>, diags: &mut Vec<Diagnostic>) -> Vec<KeyspaceReplication> {
    let running = plan.dcs.iter().filter(|d| !d.template.stopped).count();
    let keyspaces = replication_plan(plan);
    // One datacenter gets its system keyspaces right at bootstrap (the replication JVM option);
    // Reaper's and Stargate's keyspaces are created by the operator even then.
    let creates = keyspaces.iter().any(|k| k.create);
    if running == 0 || (running + plan.external_datacenters.len() < 2 && !creates) {
        return Vec::new();
    }
    let unsafe_names: Vec<&str> = keyspaces
        .iter()
        .flat_map(|k| {
            std::iter::once(k.keyspace.as_str()).chain(k.factors.iter().map(|(d, _)| d.as_str()))
        })
        .filter(|n| !script_safe(n))
        .collect();
    if !unsafe_names.is_empty() {
        diags.push(plan.doc.error(
            Code::InvalidName,
            keys(&["spec", "cassandra"]),
            format!(
                "cannot render the keyspace replication Job: {} {} characters other than letters, digits, '_', '-' and '.'",
                unsafe_names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", "),
                if unsafe_names.len() == 1 { "has" } else { "have" }
            ),
        ));
        return Vec::new();
    }
    keyspaces
}

/// Every keyspace the replication Job would set.
fn replication_plan(plan: &ClusterPlan<'_>) -> Vec<KeyspaceReplication> {
    let mut system: Vec<(String, i64)> = plan
        .dcs
        .iter()
        .filter(|d| !d.template.stopped)
        .map(|d| {
            (
                d.cass_dc_name.clone(),
                i64::from(d.template.size.clamp(0, 3)),
            )
        })
        .collect();
    system.extend(plan.external_datacenters.iter().map(|d| (d.clone(), 3)));
    let mut keyspaces = vec!["system_auth", "system_distributed", "system_traces"];
    if plan.server_type == ServerType::Dse {
        keyspaces.extend(["dse_leases", "dse_perf", "dse_security"]);
    }
    let mut out: Vec<KeyspaceReplication> = keyspaces
        .into_iter()
        .map(|k| KeyspaceReplication {
            keyspace: k.into(),
            create: false,
            merge: false,
            factors: system.clone(),
        })
        .collect();
    if templates::uses_stargate(plan) {
        out.push(KeyspaceReplication {
            keyspace: "data_endpoint_auth".into(),
            create: true,
            merge: false,
            factors: system.clone(),
        });
    }
    if let Some(reaper) = templates::reaper(plan)
        && reaper.reaper_ref().is_empty()
        && reaper.storage_type() == "cassandra"
    {
        out.push(KeyspaceReplication {
            keyspace: reaper.keyspace().into(),
            create: true,
            merge: false,
            factors: system.clone(),
        });
    }
    out.extend(user_keyspaces(plan));
    out
}

/// `k8ssandra.io/dc-replication`: `{"<dc>": {"<keyspace>": rf}}` (§4.7); rf 0 skips. Invalid
/// JSON was reported while planning the cluster; here it simply yields nothing.
fn user_keyspaces(plan: &ClusterPlan<'_>) -> Vec<KeyspaceReplication> {
    let Some(text) = plan
        .doc
        .value
        .metadata
        .annotations
        .get("k8ssandra.io/dc-replication")
    else {
        return Vec::new();
    };
    let Ok(Value::Object(by_dc)) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let mut by_keyspace: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for (dc, keyspaces) in &by_dc {
        for (ks, rf) in keyspaces.as_object().into_iter().flatten() {
            if let Some(rf) = rf.as_i64().filter(|rf| *rf > 0) {
                by_keyspace
                    .entry(ks.clone())
                    .or_default()
                    .push((dc.clone(), rf));
            }
        }
    }
    by_keyspace
        .into_iter()
        .map(|(keyspace, factors)| KeyspaceReplication {
            keyspace,
            create: false,
            merge: true,
            factors,
        })
        .collect()
}

/// Names that go into the script (keyspaces, DC names) are restricted to what needs no
/// quoting in CQL, `sh` or `grep`.
fn script_safe(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Static `additionalSeeds` that are not IP addresses are ignored, as k8ssandra-operator
/// ignores host names: a warning for each, unless the reporter keeps the seed EndpointSlices
/// (`reporter.seedSync`), when the renderer writes none.
pub fn check_seeds(
    plan: &ClusterPlan<'_>,
    reporter: Option<&ReporterPlan>,
    diags: &mut Vec<Diagnostic>,
) {
    if reporter.is_some_and(|r| r.seed_sync) {
        return;
    }
    for (i, seed) in plan.cassandra.additional_seeds.iter().enumerate() {
        if split_ip(seed).is_none() {
            diags.push(plan.doc.warning(
                Code::IgnoredField,
                vec![
                    Seg::Key("spec".into()),
                    Seg::Key("cassandra".into()),
                    Seg::Key("additionalSeeds".into()),
                    Seg::Index(i),
                ],
                format!("additional seed {seed:?} is not an IP address and is ignored, as k8ssandra-operator ignores host names"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Severity;
    use crate::testing::plan_one_diagnosed;

    const THREE: &str = "metadata: {name: global, namespace: db}
spec:
  cassandra:
    serverVersion: 4.1.5
    storageConfig: {cassandraDataVolumeClaimSpec: {storageClassName: standard}}
    additionalSeeds: [10.0.0.1, 'fd00::1', seed.example.com]
    datacenters:
    - {metadata: {name: dc1}, k8sContext: east, size: 3}
    - {metadata: {name: dc2}, k8sContext: west, size: 1}
    - {metadata: {name: dc3}, k8sContext: west, size: 5, datacenterName: DC3}
";

    /// The plan's multi-datacenter decisions and its errors (`path: message`).
    fn decide(yaml: &str) -> (MultiDcPlan, Vec<String>) {
        plan_one_diagnosed(yaml, |plan, diags| {
            let errors = diags
                .iter()
                .filter(|d| d.severity() == Severity::Error)
                .map(|d| format!("{}: {}", crate::yaml::path_string(&d.path), d.message))
                .collect();
            (plan.multidc.clone(), errors)
        })
    }

    /// Every datacenter after the first in rollout order rebuilds from the first.
    #[test]
    fn rebuilds_from_the_first_datacenter() {
        let (multidc, errors) = decide(THREE);
        assert!(errors.is_empty(), "{errors:#?}");
        let sources: Vec<(usize, usize, &str)> = multidc
            .rebuilds
            .iter()
            .map(|r| (r.position, r.dc, r.source.as_str()))
            .collect();
        assert_eq!(sources, vec![(1, 1, "dc1"), (2, 2, "dc1")]);
        assert_eq!(multidc.max_concurrent_rebuilds, None);
        assert_eq!(multidc.replication.len(), 3, "the system keyspaces");
    }

    /// A source that is itself rebuilt is an error, and that datacenter gets no task.
    #[test]
    fn a_source_that_is_rebuilt_is_an_error_and_no_task() {
        let yaml = THREE.replace(
            "    additionalSeeds",
            "    rebuild: {sourceDc: dc2, maxConcurrentRebuilds: 0}\n    additionalSeeds",
        );
        let (multidc, errors) = decide(&yaml);
        assert_eq!(
            errors,
            vec![
                "spec.cassandra.rebuild.sourceDc: rebuild source datacenter \"dc2\" is also a datacenter to rebuild (dc2); the first datacenter in rollout order must be the source"
                    .to_string()
            ]
        );
        let rebuilt: Vec<usize> = multidc.rebuilds.iter().map(|r| r.dc).collect();
        assert_eq!(rebuilt, vec![2]);
        assert_eq!(multidc.max_concurrent_rebuilds, Some(i64::MAX));
    }

    /// A name the replication script cannot carry is an error, and there is no Job.
    #[test]
    fn an_unsafe_name_is_an_error_and_no_replication_job() {
        let yaml = THREE.replace("datacenterName: DC3", "datacenterName: \"DC'3\"");
        let (multidc, errors) = decide(&yaml);
        assert!(multidc.replication.is_empty());
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].starts_with(
                "spec.cassandra: cannot render the keyspace replication Job: \"DC'3\""
            ),
            "{errors:#?}"
        );
        assert!(script_safe("DC-1.east_2"));
        assert!(!script_safe("dc1; rm -rf /"));
        assert!(!script_safe("o'k"));
    }

    /// A host name among the static seeds is a warning, unless the reporter keeps the seeds.
    #[test]
    fn a_host_name_seed_is_a_warning_unless_the_reporter_keeps_the_seeds() {
        let warnings = |seed_sync: Option<bool>| {
            plan_one_diagnosed(THREE, |plan, _| {
                let reporter = seed_sync.map(|seed_sync| ReporterPlan {
                    namespace: "r".into(),
                    image: "i".into(),
                    interval_seconds: 15,
                    seed_sync,
                    kubeconfig_secrets: std::collections::BTreeSet::new(),
                });
                let mut diags = Vec::new();
                check_seeds(plan, reporter.as_ref(), &mut diags);
                diags
                    .iter()
                    .map(|d| format!("{}: {}", crate::yaml::path_string(&d.path), d.message))
                    .collect::<Vec<_>>()
            })
        };
        let expected = vec![
            "spec.cassandra.additionalSeeds[2]: additional seed \"seed.example.com\" is not an IP address and is ignored, as k8ssandra-operator ignores host names"
                .to_string(),
        ];
        assert_eq!(warnings(None), expected);
        assert_eq!(warnings(Some(false)), expected);
        assert!(warnings(Some(true)).is_empty());
    }

    /// The whole plan runs the seed check with the reporter it decided (none here).
    #[test]
    fn the_plan_of_the_repository_warns_about_host_name_seeds() {
        let files = vec![crate::source::SourceFile {
            rel_path: "c.yaml".into(),
            display_path: "c.yaml".into(),
            text: format!(
                "{}{THREE}{}",
                crate::testing::HEAD,
                crate::testing::CONTEXTS
            ),
        }];
        let (inputs, mut diags) = crate::load::load(&files);
        let _plan = crate::plan::build(&inputs, &mut diags);
        let seeds: Vec<String> = diags
            .iter()
            .filter(|d| d.message.contains("is not an IP address"))
            .map(|d| crate::yaml::path_string(&d.path))
            .collect();
        assert_eq!(seeds, vec!["spec.cassandra.additionalSeeds[2]"]);
    }
}
