//! `plan` over a real Git history (scripted with the git CLI): one commit per risky change, a
//! safe change, an unchanged commit, and errors. Revisions are read through libgit2 only.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::harness::{TempDir, git, run_in};

const BASE: &str = "apiVersion: k8ssandra.io/v1alpha1
kind: K8ssandraCluster
metadata:
  name: shop
  namespace: db
spec:
  cassandra:
    serverVersion: \"4.1.5\"
    storageConfig:
      cassandraDataVolumeClaimSpec:
        storageClassName: standard
        resources:
          requests:
            storage: 10Gi
    datacenters:
      - metadata:
          name: dc1
        k8sContext: east
        size: 3
      - metadata:
          name: dc2
        k8sContext: west
        size: 3
---
apiVersion: config.k8ssandra.io/v1beta1
kind: ClientConfig
metadata: {name: east}
---
apiVersion: config.k8ssandra.io/v1beta1
kind: ClientConfig
metadata: {name: west}
---
apiVersion: config.k8ssandra.io/v1beta1
kind: ClientConfig
metadata: {name: eu}
---
apiVersion: gitops.k8ssandra.io/v1alpha1
kind: RenderConfig
metadata: {name: default}
spec:
  secrets: {backend: external}
";

/// Commits `text` as `specs/cluster.yaml` (the repository is a subdirectory of the Git work
/// tree, as in many platform repos) and tags it.
fn commit(dir: &Path, text: &str, tag: &str) {
    fs::write(dir.join("specs/cluster.yaml"), text).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", tag]);
    git(dir, &["tag", tag]);
}

fn history() -> TempDir {
    let t = TempDir::new("plan-git");
    fs::create_dir_all(t.path().join("specs")).unwrap();
    git(t.path(), &["init", "-q"]);
    let mut text = BASE.to_string();
    commit(t.path(), &text, "c0");
    text = text.replace(
        "    storageConfig:",
        "    config:\n      cassandraYaml:\n        concurrent_reads: 64\n    storageConfig:",
    );
    commit(t.path(), &text, "safe");
    text = text.replace(
        "name: dc2\n        k8sContext: west\n        size: 3",
        "name: dc2\n        k8sContext: west\n        size: 2",
    );
    commit(t.path(), &text, "size");
    text = text.replace("storage: 10Gi", "storage: 20Gi");
    commit(t.path(), &text, "storage");
    text = text.replace("serverVersion: \"4.1.5\"", "serverVersion: \"3.11.17\"");
    commit(t.path(), &text, "downgrade");
    text = text.replace("serverVersion: \"3.11.17\"", "serverVersion: \"5.0.2\"");
    commit(t.path(), &text, "jump");
    text = text.replace(
        "name: dc2\n        k8sContext: west",
        "name: dc2\n        k8sContext: eu",
    );
    commit(t.path(), &text, "context");
    text = text.replace(
        "name: dc1\n        k8sContext: east",
        "name: dc1\n        datacenterName: DC1\n        k8sContext: east",
    );
    commit(t.path(), &text, "dcname");
    let cut = text.find("      - metadata:\n          name: dc2").unwrap();
    let end = text.find("---").unwrap();
    text = format!("{}{}", &text[..cut], &text[end..]);
    commit(t.path(), &text, "removed");
    fs::write(t.path().join("README.md"), "notes\n").unwrap();
    commit(t.path(), &text, "unchanged");
    commit(t.path(), &text.replace("size: 3", "size: three"), "broken");
    t
}

fn plan_json(repo: &Path, from: &str, to: &str) -> (i32, Value, String) {
    let run = run_in(
        repo,
        &[
            "plan", "--from", from, "--to", to, "--output", "json", "specs",
        ],
    );
    let v = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    (run.code, v, run.stderr)
}

fn kinds(v: &Value) -> Vec<String> {
    v["risks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["kind"].as_str().unwrap(),
                r["datacenter"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn every_risky_change_is_flagged_with_exit_3_and_safe_ones_pass() {
    let t = history();
    let repo = t.path();
    let expect: [(&str, &str, &[&str]); 8] = [
        ("c0", "safe", &[]),
        ("safe", "size", &["size-lowered db/shop/dc2"]),
        (
            "size",
            "storage",
            &[
                "storage-size-changed db/shop/dc1",
                "storage-size-changed db/shop/dc2",
            ],
        ),
        (
            "storage",
            "downgrade",
            &[
                "version-downgrade db/shop/dc1",
                "version-downgrade db/shop/dc2",
            ],
        ),
        (
            "downgrade",
            "jump",
            &[
                "version-major-jump db/shop/dc1",
                "version-major-jump db/shop/dc2",
            ],
        ),
        ("jump", "context", &["k8s-context-changed db/shop/dc2"]),
        (
            "context",
            "dcname",
            &[
                "datacenter-name-changed db/shop/dc1",
                "initial-replication-changed db/shop/dc1",
            ],
        ),
        ("dcname", "removed", &["dc-removed db/shop/dc2"]),
    ];
    for (from, to, risks) in expect {
        let (code, v, stderr) = plan_json(repo, from, to);
        assert_eq!(kinds(&v), risks, "{from}..{to}: {v:#}");
        let want = if risks.is_empty() { 0 } else { 3 };
        assert_eq!(code, want, "{from}..{to}: {stderr}");
        assert!(
            !v["contexts"].as_object().unwrap().is_empty(),
            "{from}..{to} changes something"
        );
    }
    // --allow-risky turns the exit code to 0, the risks are still reported.
    let run = run_in(
        repo,
        &[
            "plan",
            "--from",
            "safe",
            "--to",
            "size",
            "--allow-risky",
            "specs",
        ],
    );
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("! [size-lowered] db/shop/dc2 (west)"),
        "{}",
        run.stdout
    );
    // An unchanged render: no changes at all.
    let (code, v, _) = plan_json(repo, "removed", "unchanged");
    assert_eq!(code, 0);
    assert!(v["contexts"].as_object().unwrap().is_empty());
    assert!(v["risks"].as_array().unwrap().is_empty());
}

#[test]
fn human_output_shows_field_level_changes() {
    let t = history();
    let run = run_in(t.path(), &["plan", "--from", "c0", "--to", "size", "specs"]);
    assert_eq!(run.code, 3);
    insta::assert_snapshot!("plan_c0_to_size", run.stdout);
    assert!(
        run.stdout.contains("      spec.size: 3 → 2\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn worktree_is_the_default_target_and_errors_name_the_revision() {
    let t = history();
    // The work tree equals the last commit ("broken" is invalid).
    let run = run_in(t.path(), &["plan", "--from", "unchanged", "specs"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("error: the repository is invalid at worktree:\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("specs/cluster.yaml:"), "{}", run.stderr);
    let run = run_in(
        t.path(),
        &["plan", "--from", "broken", "--to", "unchanged", "specs"],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("error: the repository is invalid at broken:\n"),
        "{}",
        run.stderr
    );
    let run = run_in(t.path(), &["plan", "--from", "no-such-tag", "specs"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("error: unknown revision \"no-such-tag\""),
        "{}",
        run.stderr
    );
    let outside = TempDir::new("plan-nogit");
    let run = run_in(outside.path(), &["plan", "--from", "HEAD"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("error: failed to open a Git repository"),
        "{}",
        run.stderr
    );
    // Fixing the work tree makes worktree comparable again.
    fs::write(t.path().join("specs/cluster.yaml"), BASE).unwrap();
    let run = run_in(t.path(), &["plan", "--from", "c0", "specs"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "No changes between c0 and worktree.\n");
}
