//! The Flux Kustomizations' `healthCheckExprs` under kustomize-controller's own evaluator
//! (`github.com/fluxcd/pkg/runtime/cel`, built by `scripts/test` into `.cache/bin/flux-health`
//! with the small driver in `scripts/flux-health/`): for each kind, objects in the states the
//! operators write get the kstatus result Flux acts on (`Current` lets the next Kustomization in
//! the `dependsOn` chain start, `Failed` stops it, `InProgress` keeps waiting).
//!
//! Flux evaluates `inProgress`, then `failed`, then `current`, after its built-in check that a
//! `status.observedGeneration` equals `metadata.generation`. An object without any `status` is
//! not in the tables: the expressions then fail to evaluate (`status` is undefined), which
//! kstatus reports as Unknown, and Flux keeps waiting, as for InProgress.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::harness::root;
use crate::harness::tool;

fn flux_health() -> Option<PathBuf> {
    tool("FLUX_HEALTH", ".cache/bin/flux-health")
}

/// The kstatus result of each object under one `healthCheckExprs` entry.
fn evaluate(bin: &PathBuf, check: &Value, objects: &[Value]) -> Vec<String> {
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flux-health runs");
    let input = json!({
        "current": check["current"],
        "failed": check["failed"],
        "inProgress": check.get("inProgress").cloned().unwrap_or(json!("")),
        "objects": objects,
    });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        check["kind"],
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn with_status(kind: &str, generation: i64, status: Value) -> Value {
    json!({"kind": kind, "metadata": {"name": "x", "generation": generation}, "status": status})
}

/// The health checks of a rendered Kustomization of the example repository.
fn checks() -> Vec<Value> {
    let text = std::fs::read_to_string(
        root().join("examples/rendered/flux/kustomization-cassandra-us-east-1.yaml"),
    )
    .unwrap();
    let k = k8ssandra_gitops::dev_support::parse_stream(&text).unwrap()[0].to_json();
    k["spec"]["healthCheckExprs"].as_array().unwrap().clone()
}

/// An object's `status`, its `metadata.generation`, and the kstatus result Flux must give it.
type Case = (Value, i64, &'static str);

fn cond(t: &str, s: &str) -> Value {
    json!({"type": t, "status": s})
}

#[test]
fn flux_waits_for_datacenters_tasks_backups_and_restores() {
    let Some(bin) = flux_health() else { return };
    let checks = checks();
    let kinds: Vec<&str> = checks.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "CassandraDatacenter",
            "CassandraTask",
            "MedusaBackupJob",
            "MedusaRestoreJob"
        ]
    );
    let t = "2026-01-01T00:00:00Z";
    // kind → (status, generation, expected kstatus result)
    let cases: [(&str, Vec<Case>); 4] = [
        (
            "CassandraDatacenter",
            vec![
                (json!({}), 1, "InProgress"),
                (
                    json!({"observedGeneration": 1, "cassandraOperatorProgress": "Updating", "conditions": [cond("Ready", "False")]}),
                    1,
                    "InProgress",
                ),
                (
                    json!({"observedGeneration": 1, "cassandraOperatorProgress": "Ready", "conditions": [cond("Ready", "True")]}),
                    1,
                    "Current",
                ),
                // A spec change not yet seen by cass-operator.
                (
                    json!({"observedGeneration": 1, "cassandraOperatorProgress": "Ready", "conditions": [cond("Ready", "True")]}),
                    2,
                    "InProgress",
                ),
                (
                    json!({"observedGeneration": 1, "cassandraOperatorProgress": "Ready", "conditions": [cond("Stopped", "True"), cond("Ready", "False")]}),
                    1,
                    "Current",
                ),
                (
                    json!({"observedGeneration": 1, "conditions": [cond("Valid", "False")]}),
                    1,
                    "Failed",
                ),
            ],
        ),
        (
            "CassandraTask",
            vec![
                (json!({}), 1, "InProgress"),
                (json!({"startTime": t, "active": 3}), 1, "InProgress"),
                (
                    json!({"startTime": t, "completionTime": t, "succeeded": 3, "conditions": [cond("Complete", "True")]}),
                    1,
                    "Current",
                ),
                (
                    json!({"startTime": t, "completionTime": t, "succeeded": 2, "failed": 1}),
                    1,
                    "Failed",
                ),
                (
                    json!({"startTime": t, "conditions": [cond("Failed", "True")]}),
                    1,
                    "Failed",
                ),
            ],
        ),
        (
            "MedusaBackupJob",
            vec![
                (json!({}), 1, "InProgress"),
                (
                    json!({"startTime": t, "inProgress": ["pod-0", "pod-1"]}),
                    1,
                    "InProgress",
                ),
                (
                    json!({"startTime": t, "finishTime": t, "finished": ["pod-0", "pod-1"]}),
                    1,
                    "Current",
                ),
                (
                    json!({"startTime": t, "finishTime": t, "finished": ["pod-0"], "failed": ["pod-1"]}),
                    1,
                    "Failed",
                ),
            ],
        ),
        (
            "MedusaRestoreJob",
            vec![
                (json!({}), 1, "InProgress"),
                (
                    json!({"startTime": t, "restorePrepared": true, "inProgress": ["pod-0"]}),
                    1,
                    "InProgress",
                ),
                (
                    json!({"startTime": t, "finishTime": t, "finished": ["pod-0"], "datacenterStopped": t}),
                    1,
                    "Current",
                ),
                (
                    json!({"startTime": t, "finishTime": t, "failed": ["pod-0"]}),
                    1,
                    "Failed",
                ),
                // The operator refused the restore (e.g. an unknown backup): a message, no nodes.
                (
                    json!({"message": "backup not found", "finishTime": t}),
                    1,
                    "Failed",
                ),
            ],
        ),
    ];
    for (kind, table) in cases {
        let check = checks.iter().find(|c| c["kind"] == kind).unwrap();
        let objects: Vec<Value> = table
            .iter()
            .map(|(s, g, _)| with_status(kind, *g, s.clone()))
            .collect();
        let want: Vec<&str> = table.iter().map(|(_, _, w)| *w).collect();
        assert_eq!(evaluate(&bin, check, &objects), want, "{kind}");
    }
}
