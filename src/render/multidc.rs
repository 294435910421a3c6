//! Multi-datacenter operations (control-plane §4), expressed as objects a GitOps tool applies in
//! order instead of a controller's reconcile loop:
//!
//! - rollout order: Argo CD sync waves within a context follow the datacenter priority order
//!   (each object's module writes the wave [`crate::plan::waves::Wave`] it picks); across
//!   contexts, ApplicationSet RollingSync / Flux `dependsOn` do it;
//! - the `<dc>-rebuild` CassandraTask for every datacenter after the first (§4.3), kept by
//!   cass-operator once finished (`ttlSecondsAfterFinished: 0`) so it never runs twice;
//! - keyspace replication (§4.2) as an idempotent Job per context whose name carries a hash of
//!   its content, so a changed replication re-runs it and an unchanged spec never does;
//! - the additional-seed EndpointSlices for static `additionalSeeds` (§4.5);
//!
//! Which datacenters get a rebuild task and from where, which keyspaces the replication Job
//! sets, and which seeds are ignored, are the plan's ([`crate::plan::multidc`]): this module
//! only builds and reports nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, EnvVarSource, PodSpec, PodTemplateSpec, SecretKeySelector, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{Kind, Manifest};
use crate::json::{object_meta, to_object};
use crate::model::server::ServerType;
use crate::plan::multidc::KeyspaceReplication;
use crate::plan::reporter::ReporterPlan;
use crate::plan::waves::Wave;
use crate::plan::{ClusterPlan, DcPlan};
use crate::ports::names::cleanup_for_kubernetes;
use crate::seeds::{SeedTarget, seed_slice, split_ip};

/// The label the operator puts on rebuild tasks: the DC size, to know when all nodes are done.
pub const REBUILD_NODES_LABEL: &str = "k8ssandra.io/rebuild-nodes";

/// The objects of this module for one cluster, as the plan decided them
/// ([`ClusterPlan::multidc`]).
pub fn render(plan: &ClusterPlan<'_>, reporter: Option<&ReporterPlan>) -> Vec<Manifest> {
    let mut out = Vec::new();
    out.extend(rebuild_tasks(plan));
    out.extend(replication_jobs(plan));
    // With seed sync the reporter owns these objects (static seeds included).
    if !reporter.is_some_and(|r| r.seed_sync) {
        out.extend(seed_slices(plan));
    }
    out
}

/// The `<dc>-rebuild` tasks the plan decided (§4.3).
fn rebuild_tasks(plan: &ClusterPlan<'_>) -> Vec<Manifest> {
    let max_concurrent = plan.multidc.max_concurrent_rebuilds;
    let mut out = Vec::new();
    for rebuild in &plan.multidc.rebuilds {
        let (p, dc) = (rebuild.position, &plan.dcs[rebuild.dc]);
        let mut spec = json!({
            "datacenter": {"name": dc.template.name, "namespace": dc.namespace},
            "jobs": [{
                "name": format!("{}-rebuild", dc.template.name),
                "command": "rebuild",
                "args": {"source_datacenter": rebuild.source},
            }],
            "ttlSecondsAfterFinished": 0,
        });
        if let Some(m) = max_concurrent {
            spec["maxConcurrentPods"] = json!(m);
        }
        // Only the label the operator writes (control-plane §4.3); the task is no object the
        // operator's cleanup looks for, so it carries no cleaned-up-by or cluster labels.
        let labels = json!({ REBUILD_NODES_LABEL: dc.template.size.to_string() });
        out.push(Manifest::of_dc(
            plan,
            dc,
            Wave::RebuildTask(p),
            Kind::CassandraTask,
            json!({
                "apiVersion": "control.k8ssandra.io/v1alpha1",
                "kind": "CassandraTask",
                "metadata": {
                    "name": format!("{}-rebuild", dc.template.name),
                    "namespace": dc.namespace,
                    "labels": labels,
                },
                "spec": spec,
            }),
        ));
    }
    out
}

/// The image cass-operator runs the `cassandra` container with (control-plane §7.1): it has
/// cqlsh, which the replication Job uses.
fn server_image(plan: &ClusterPlan<'_>, dc: &DcPlan<'_>) -> String {
    if !dc.options.server_image.is_empty() {
        return dc.options.server_image.clone();
    }
    match plan.server_type {
        ServerType::Dse => format!("docker.io/datastax/dse-mgmtapi-6_8:{}-ubi", dc.version),
        ServerType::Hcd => format!("docker.io/datastax/hcd:{}-ubi", dc.version),
        ServerType::Cassandra => {
            format!("docker.io/k8ssandra/cass-management-api:{}-ubi", dc.version)
        }
    }
}

/// Single-quoted for `sh`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The Job's script: replication is set only for datacenters that have joined the ring (a
/// later context's Job completes it), never removes a datacenter, and is safe to re-run.
fn replication_script(keyspaces: &[KeyspaceReplication]) -> String {
    let mut s = String::from(
        "set -eu\n\
         cq() { cqlsh \"$CASSANDRA_HOST\" 9042 ${CQL_USERNAME:+-u \"$CQL_USERNAME\" -p \"$CQL_PASSWORD\"} \"$@\"; }\n\
         # Retry until the datacenter accepts CQL (it may still be starting).\n\
         n=0; until live=$(cq -e 'SELECT data_center FROM system.local; SELECT data_center FROM system.peers;'); do\n\
         \x20 n=$((n+1)); [ $n -lt 60 ] || exit 1; sleep 10\n\
         done\n\
         joined() { printf '%s\\n' \"$live\" | sed 's/^ *//; s/ *$//' | grep -Fxq \"$1\"; }\n\
         # set KEYSPACE CREATE MERGE DC:RF...: NetworkTopologyStrategy for the joined DCs.\n\
         set_replication() {\n\
         \x20 ks=$1; create=$2; merge=$3; shift 3; opts=''\n\
         \x20 for pair in \"$@\"; do dc=${pair%:*}; rf=${pair##*:}\n\
         \x20   if joined \"$dc\"; then opts=\"$opts, '$dc': $rf\"; fi\n\
         \x20 done\n\
         \x20 [ -n \"$opts\" ] || return 0\n\
         \x20 if [ \"$create\" = yes ]; then\n\
         \x20   cq -e \"CREATE KEYSPACE IF NOT EXISTS \\\"$ks\\\" WITH replication = {'class': 'NetworkTopologyStrategy'$opts};\"\n\
         \x20 fi\n\
         \x20 if [ \"$merge\" = yes ]; then\n\
         \x20   current=$(cq -e \"SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = '$ks';\" | grep -o \"{.*}\" | head -n 1)\n\
         \x20   [ -n \"$current\" ] || { echo \"keyspace $ks does not exist\" >&2; return 1; }\n\
         \x20   merged=${current%\\}}\n\
         \x20   for pair in \"$@\"; do dc=${pair%:*}; rf=${pair##*:}\n\
         \x20     case \"$current\" in *\"'$dc'\"*) ;; *) if joined \"$dc\"; then merged=\"$merged, '$dc': '$rf'\"; fi ;; esac\n\
         \x20   done\n\
         \x20   cq -e \"ALTER KEYSPACE \\\"$ks\\\" WITH replication = $merged};\"\n\
         \x20 else\n\
         \x20   cq -e \"ALTER KEYSPACE \\\"$ks\\\" WITH replication = {'class': 'NetworkTopologyStrategy'$opts};\"\n\
         \x20 fi\n\
         }\n",
    );
    for k in keyspaces {
        let _ = write!(
            s,
            "set_replication {} {} {}",
            sh_quote(&k.keyspace),
            if k.create { "yes" } else { "no" },
            if k.merge { "yes" } else { "no" },
        );
        for (dc, rf) in &k.factors {
            let _ = write!(s, " {}", sh_quote(&format!("{dc}:{rf}")));
        }
        s.push('\n');
    }
    if keyspaces.iter().any(|k| k.keyspace == "data_endpoint_auth") {
        s.push_str(
            "cq -e 'CREATE TABLE IF NOT EXISTS \"data_endpoint_auth\".\"token\" (auth_token uuid PRIMARY KEY, username text, created_timestamp int);'\n",
        );
    }
    s
}

/// `<cleaned cluster name>-<LabelResourceName>-service`: the datacenter's CQL service.
fn dc_service(plan: &ClusterPlan<'_>, dc: &DcPlan<'_>) -> String {
    format!(
        "{}-{}-service",
        plan.sanitized_name,
        cleanup_for_kubernetes(&dc.template.name)
    )
}

/// One replication Job per context, when the plan decided the cluster gets one.
fn replication_jobs(plan: &ClusterPlan<'_>) -> Vec<Manifest> {
    let keyspaces = &plan.multidc.replication;
    if keyspaces.is_empty() {
        return Vec::new();
    }
    let script = replication_script(keyspaces);
    // The last running datacenter of each context in priority order is the contact point.
    let mut last_by_context: BTreeMap<&str, &DcPlan<'_>> = BTreeMap::new();
    for &i in &plan.priority {
        let dc = &plan.dcs[i];
        if !dc.template.stopped {
            last_by_context.insert(&dc.context, dc);
        }
    }
    // With external secrets the DC names no superuser Secret and cass-operator uses its own
    // default name, `<cleaned cluster name>-superuser`.
    let superuser = if plan.external_secrets() {
        plan.default_superuser_secret_name()
    } else {
        plan.superuser_secret_name()
    };
    let mut out = Vec::new();
    for dc in last_by_context.values() {
        let host = format!("{}.{}", dc_service(plan, dc), dc.namespace);
        let mut env = vec![EnvVar {
            name: "CASSANDRA_HOST".into(),
            value: Some(host),
            ..EnvVar::default()
        }];
        if plan.auth {
            for (var, key) in [("CQL_USERNAME", "username"), ("CQL_PASSWORD", "password")] {
                env.push(EnvVar {
                    name: var.into(),
                    value_from: Some(EnvVarSource {
                        secret_key_ref: Some(SecretKeySelector {
                            name: superuser.clone(),
                            key: key.into(),
                            ..SecretKeySelector::default()
                        }),
                        ..EnvVarSource::default()
                    }),
                    ..EnvVar::default()
                });
            }
        }
        let container = Container {
            name: "replication".into(),
            image: Some(server_image(plan, dc)),
            command: Some(vec!["/bin/sh".into(), "-c".into(), script.clone()]),
            env: Some(env),
            security_context: Some(SecurityContext {
                allow_privilege_escalation: Some(false),
                ..SecurityContext::default()
            }),
            ..Container::default()
        };
        // The name carries a hash of what the Job runs: a changed replication re-runs it.
        let hash =
            crate::json::content_hash_hex(&serde_json::to_value(&container).unwrap_or_default(), 5);
        let name = format!(
            "{}-replication-{hash}",
            truncate(
                &plan.sanitized_name,
                63 - "-replication-".len() - hash.len()
            )
        );
        let component = || {
            BTreeMap::from([(
                "app.kubernetes.io/component".to_string(),
                "keyspace-replication".to_string(),
            )])
        };
        let mut labels = super::labels::cleaned_up_by(plan);
        labels.extend(component());
        let job = Job {
            metadata: object_meta(name, Some(&dc.namespace), labels, BTreeMap::new()),
            spec: Some(JobSpec {
                backoff_limit: Some(6),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(component()),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(PodSpec {
                        restart_policy: Some("OnFailure".into()),
                        containers: vec![container],
                        ..PodSpec::default()
                    }),
                },
                ..JobSpec::default()
            }),
            ..Job::default()
        };
        out.push(Manifest::of_dc(
            plan,
            dc,
            Wave::ReplicationJob(plan.last_position_in(&dc.context)),
            Kind::Job,
            to_object(&job),
        ));
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    let t: String = s.chars().take(max).collect();
    t.trim_end_matches('-').to_string()
}

/// Static `additionalSeeds` → `<kc>-<additional seed service>-ipv4|-ipv6` per datacenter
/// (§4.5). Only slices with addresses are rendered (an endpoint needs at least one); the
/// seeds of the other datacenters are runtime data, added by the reporter's seed sync.
fn seed_slices(plan: &ClusterPlan<'_>) -> Vec<Manifest> {
    let seeds = &plan.cassandra.additional_seeds;
    if seeds.is_empty() {
        return Vec::new();
    }
    // Host names are left out (the plan warned about them).
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for seed in seeds {
        match split_ip(seed) {
            Some(true) => v4.push(seed.clone()),
            Some(false) => v6.push(seed.clone()),
            None => {}
        }
    }
    let mut out = Vec::new();
    for dc in &plan.dcs {
        let target = SeedTarget {
            kc_name: &plan.name,
            cass_cluster_name: &plan.cass_cluster_name,
            dc_name: &dc.template.name,
            namespace: &dc.namespace,
            version: &dc.version.to_string(),
            common_labels: dc.meta.get("commonLabels"),
            common_annotations: dc.meta.get("commonAnnotations"),
        };
        for (family, addresses) in [("IPv4", &v4), ("IPv6", &v6)] {
            if !addresses.is_empty() {
                out.push(Manifest::of_dc(
                    plan,
                    dc,
                    Wave::Datacenter(plan.position(dc.index)),
                    Kind::EndpointSlice,
                    seed_slice(&target, family, addresses),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;
    use crate::render::{FLUX_PRUNE, SYNC_OPTIONS, SYNC_WAVE};
    use crate::testing::render_one;
    use serde_json::Value;

    const THREE: &str = "metadata: {name: global, namespace: db}
spec:
  reaper: {}
  cassandra:
    serverVersion: 4.1.5
    storageConfig: {cassandraDataVolumeClaimSpec: {storageClassName: standard}}
    additionalSeeds: [10.0.0.1, 'fd00::1', seed.example.com]
    datacenters:
    - {metadata: {name: dc1}, k8sContext: east, size: 3}
    - {metadata: {name: dc2}, k8sContext: west, size: 1}
    - {metadata: {name: dc3}, k8sContext: west, size: 5, datacenterName: DC3}
";

    fn objects(yaml: &str) -> (Vec<Manifest>, Vec<Diagnostic>) {
        render_one(yaml, |plan, diags| {
            let mut all = super::super::datacenter::render_cluster(plan, diags);
            all.extend(render(plan, None));
            all
        })
    }

    fn find<'a>(all: &'a [Manifest], kind: Kind, name: &str) -> &'a Value {
        &all.iter()
            .find(|m| m.kind() == kind && m.name() == name)
            .unwrap_or_else(|| {
                panic!(
                    "{kind}/{name} in {:?}",
                    all.iter()
                        .map(|m| format!("{}/{}", m.kind(), m.name()))
                        .collect::<Vec<_>>()
                )
            })
            .object
    }

    #[test]
    fn every_dc_after_the_first_gets_a_rebuild_task_from_the_first() {
        let (all, diags) = objects(THREE);
        // The host-name seed is the plan's to warn about (plan::multidc::check_seeds).
        assert!(diags.is_empty(), "{diags:#?}");
        assert!(all.iter().all(|m| m.name() != "dc1-rebuild"));
        let t = find(&all, Kind::CassandraTask, "dc3-rebuild");
        assert_eq!(t["spec"]["jobs"][0]["args"]["source_datacenter"], "dc1");
        assert_eq!(t["spec"]["jobs"][0]["command"], "rebuild");
        assert_eq!(t["spec"]["ttlSecondsAfterFinished"], 0);
        assert_eq!(
            t["spec"]["datacenter"],
            json!({"name": "dc3", "namespace": "db"})
        );
        // Exactly the operator's labels: the node count, nothing else.
        assert_eq!(t["metadata"]["labels"], json!({ REBUILD_NODES_LABEL: "5" }));
        assert!(t["spec"].get("maxConcurrentPods").is_none());
    }

    /// Deviation (docs/deviations.md, Multi-datacenter operations): with `datacenterName`
    /// overrides upstream compares the Cassandra DC name with the target's object name, so the
    /// target itself passes that filter and can become its own rebuild source (seen with
    /// upstream's multi-dc-dse fixture). We only pick from datacenters that came up before it.
    #[test]
    fn a_datacenter_never_rebuilds_from_itself_with_datacenter_name_overrides() {
        let yaml = "metadata: {name: dse, namespace: db}
spec:
  cassandra:
    serverVersion: 6.8.50
    serverType: dse
    storageConfig: {cassandraDataVolumeClaimSpec: {storageClassName: standard}}
    datacenters:
    - {metadata: {name: search}, k8sContext: east, size: 1, datacenterName: search-dc}
    - {metadata: {name: cassandra}, k8sContext: west, size: 1, datacenterName: cass-dc}
";
        let (all, _) = objects(yaml);
        let t = find(&all, Kind::CassandraTask, "cassandra-rebuild");
        assert_eq!(
            t["spec"]["jobs"][0]["args"]["source_datacenter"],
            "search-dc"
        );
        assert_eq!(t["spec"]["datacenter"]["name"], "cassandra");
    }

    #[test]
    fn source_dc_and_max_concurrency_from_the_cluster_rebuild_settings() {
        let yaml = THREE.replace(
            "    additionalSeeds",
            "    rebuild: {sourceDc: dc2, maxConcurrentRebuilds: 0}\n    additionalSeeds",
        );
        let (all, diags) = objects(&yaml);
        // dc2 cannot rebuild from itself.
        assert!(diags.iter().any(|d| {
            d.message
                .contains("\"dc2\" is also a datacenter to rebuild")
        }));
        let t = find(&all, Kind::CassandraTask, "dc3-rebuild");
        assert_eq!(t["spec"]["jobs"][0]["args"]["source_datacenter"], "dc2");
        assert_eq!(t["spec"]["maxConcurrentPods"], json!(i64::MAX));
    }

    #[test]
    fn replication_job_per_context_with_min3_per_dc_and_stable_hashed_names() {
        let (all, _) = objects(THREE);
        let jobs: Vec<&Manifest> = all.iter().filter(|m| m.kind() == Kind::Job).collect();
        assert_eq!(jobs.len(), 2, "one per context");
        let west = jobs.iter().find(|m| m.context == "west").unwrap();
        let c = &west.object["spec"]["template"]["spec"]["containers"][0];
        // Contact point: the last DC of the context in priority order.
        assert_eq!(c["env"][0]["value"], "global-dc3-service.db");
        assert_eq!(
            c["env"][1]["valueFrom"]["secretKeyRef"]["name"],
            "global-superuser"
        );
        assert_eq!(
            c["image"],
            "docker.io/k8ssandra/cass-management-api:4.1.5-ubi"
        );
        let script = c["command"][2].as_str().unwrap();
        assert!(
            script.contains("set_replication 'system_auth' no no 'dc1:3' 'dc2:1' 'DC3:3'\n"),
            "{script}"
        );
        assert!(script.contains("set_replication 'reaper_db' yes no 'dc1:3' 'dc2:1' 'DC3:3'\n"));
        // Same content → same name; a size change → a new Job name.
        let (again, _) = objects(THREE);
        let name = |all: &[Manifest]| {
            all.iter()
                .find(|m| m.kind() == Kind::Job && m.context == "west")
                .unwrap()
                .name()
                .to_string()
        };
        assert_eq!(name(&all), name(&again));
        assert!(name(&all).starts_with("global-replication-"));
        let (bigger, _) = objects(&THREE.replace("size: 1}", "size: 3}"));
        assert_ne!(name(&all), name(&bigger));
        // Waves: dc2 (p1) at 10, dc3 (p2) at 20, the west Job after dc3, rebuilds after their DC.
        let wave =
            |kind: Kind, n: &str| find(&all, kind, n)["metadata"]["annotations"][SYNC_WAVE].clone();
        assert_eq!(wave(Kind::CassandraDatacenter, "dc1"), "0");
        assert_eq!(wave(Kind::CassandraDatacenter, "dc3"), "20");
        assert_eq!(wave(Kind::CassandraTask, "dc2-rebuild"), "13");
        assert_eq!(wave(Kind::CassandraTask, "dc3-rebuild"), "23");
        assert_eq!(west.object["metadata"]["annotations"][SYNC_WAVE], "22");
        let dc = find(&all, Kind::CassandraDatacenter, "dc1");
        assert_eq!(
            dc["metadata"]["annotations"][SYNC_OPTIONS],
            "Prune=false,Delete=false"
        );
        assert_eq!(dc["metadata"]["annotations"][FLUX_PRUNE], "disabled");
    }

    #[test]
    fn single_dc_clusters_need_no_job_or_rebuild() {
        let one = "metadata: {name: solo}\nspec:\n  cassandra:\n    serverVersion: 4.1.5\n    storageConfig: {cassandraDataVolumeClaimSpec: {storageClassName: standard}}\n    datacenters: [{metadata: {name: dc1}, size: 3}]\n";
        let (all, diags) = objects(one);
        assert!(diags.is_empty(), "{diags:#?}");
        assert!(all.iter().all(|m| m.kind() != Kind::Job
            && m.kind() != Kind::CassandraTask
            && m.kind() != Kind::EndpointSlice));
    }

    #[test]
    fn user_keyspaces_merge_into_the_current_replication() {
        let yaml = THREE.replace(
            "metadata: {name: global, namespace: db}",
            "metadata:\n  name: global\n  namespace: db\n  annotations:\n    k8ssandra.io/dc-replication: '{\"dc2\": {\"orders\": 3, \"skip\": 0}}'",
        );
        let (all, _) = objects(&yaml);
        let job = all.iter().find(|m| m.kind() == Kind::Job).unwrap();
        let script = job.object["spec"]["template"]["spec"]["containers"][0]["command"][2]
            .as_str()
            .unwrap();
        assert!(script.contains("set_replication 'orders' no yes 'dc2:3'\n"));
        assert!(!script.contains("'skip'"));
    }

    #[test]
    fn additional_seeds_split_by_family_with_cass_operator_labels() {
        let (all, _) = objects(THREE);
        let v4 = find(
            &all,
            Kind::EndpointSlice,
            "global-global-dc2-additional-seed-service-ipv4",
        );
        assert_eq!(v4["addressType"], "IPv4");
        assert_eq!(v4["endpoints"], json!([{"addresses": ["10.0.0.1"]}]));
        assert_eq!(
            v4["metadata"]["labels"]["kubernetes.io/service-name"],
            "global-dc2-additional-seed-service"
        );
        assert_eq!(
            v4["metadata"]["labels"]["cassandra.datastax.com/datacenter"],
            "dc2"
        );
        let v6 = find(
            &all,
            Kind::EndpointSlice,
            "global-global-dc2-additional-seed-service-ipv6",
        );
        assert_eq!(v6["endpoints"], json!([{"addresses": ["fd00::1"]}]));
        assert_eq!(v6["metadata"]["annotations"][SYNC_WAVE], "10");
    }

    /// Runs the real script under `sh` with a stand-in `cqlsh` that answers the DC query with
    /// `dc1` and `dc2` joined (`DC3` not yet) and the current replication of `orders`, and
    /// records every statement.
    #[test]
    fn the_script_only_names_joined_dcs_and_merges_user_keyspaces() {
        let dir =
            std::env::temp_dir().join(format!("k8ssandra-gitops-cqlsh-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let fake = dir.join("cqlsh");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\nshift 2\n[ \"$1\" = -u ] && shift 4\nstmt=$2\nprintf '%s\\n' \"$stmt\" >> {log}\ncase \"$stmt\" in\n  *system.local*) printf '\\n data_center\\n-------------\\n         dc1\\n\\n(1 rows)\\n data_center\\n-------------\\n         dc2\\n\\n(1 rows)\\n' ;;\n  *system_schema.keyspaces*) printf \" replication\\n---\\n {{'class': 'org.apache.cassandra.locator.NetworkTopologyStrategy', 'dc1': '3'}}\\n\" ;;\nesac\n",
                log = log.display()
            ),
        )
        .unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&fake)
            .status()
            .unwrap();
        let keyspaces = vec![
            KeyspaceReplication {
                keyspace: "system_auth".into(),
                create: false,
                merge: false,
                factors: vec![("dc1".into(), 3), ("dc2".into(), 1), ("DC3".into(), 3)],
            },
            KeyspaceReplication {
                keyspace: "reaper_db".into(),
                create: true,
                merge: false,
                factors: vec![("dc1".into(), 3)],
            },
            KeyspaceReplication {
                keyspace: "orders".into(),
                create: false,
                merge: true,
                factors: vec![("dc2".into(), 2), ("DC3".into(), 3)],
            },
        ];
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(replication_script(&keyspaces))
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    dir.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("CASSANDRA_HOST", "h")
            .env("CQL_USERNAME", "u")
            .env("CQL_PASSWORD", "p")
            .status()
            .unwrap();
        let statements = std::fs::read_to_string(&log).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(status.success());
        let lines: Vec<&str> = statements.lines().collect();
        assert_eq!(
            lines[1..],
            [
                "ALTER KEYSPACE \"system_auth\" WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 1};",
                "CREATE KEYSPACE IF NOT EXISTS \"reaper_db\" WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3};",
                "ALTER KEYSPACE \"reaper_db\" WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3};",
                "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = 'orders';",
                "ALTER KEYSPACE \"orders\" WITH replication = {'class': 'org.apache.cassandra.locator.NetworkTopologyStrategy', 'dc1': '3', 'dc2': '2'};",
            ]
        );
    }

    #[test]
    fn script_quoting() {
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
    }
}
