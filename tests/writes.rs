//! Safe writes: only changed files are written, owned stale files pruned, foreign files kept,
//! `--check` reports drift as a diff, and failures leave the tree exactly as it was.

use std::fs;

use crate::harness::{TempDir, copy_dir, read_tree, root, run_in};

fn repo() -> TempDir {
    let t = TempDir::new("writes");
    copy_dir(
        &root().join("fixtures/render/multi-dc-three-contexts"),
        t.path(),
    );
    t
}

#[test]
fn rerendering_an_unchanged_repo_writes_nothing() {
    let t = repo();
    let first = run_in(t.path(), &["render"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains(": 15 written, 0 pruned, 0 unchanged"),
        "{}",
        first.stderr
    );
    let mtime = |p: &str| {
        fs::metadata(t.path().join("rendered").join(p))
            .unwrap()
            .modified()
            .unwrap()
    };
    let before = mtime("east/cassandra/global/cassandradatacenter-us-east.yaml");
    let second = run_in(t.path(), &["render"]);
    assert!(
        second
            .stderr
            .ends_with(": 0 written, 0 pruned, 15 unchanged\n"),
        "{}",
        second.stderr
    );
    assert_eq!(
        before,
        mtime("east/cassandra/global/cassandradatacenter-us-east.yaml")
    );
}

#[test]
fn check_reports_drift_as_a_unified_diff_and_passes_once_rendered() {
    let t = repo();
    let missing = run_in(t.path(), &["render", "--check"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stdout
            .contains("--- /dev/null\n+++ b/east/kustomization.yaml\n"),
        "{}",
        missing.stdout
    );
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    let ok = run_in(t.path(), &["render", "--check"]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    assert_eq!(ok.stdout, "");

    let spec = t.path().join("cluster.yaml");
    fs::write(
        &spec,
        fs::read_to_string(&spec)
            .unwrap()
            .replace("size: 2", "size: 4"),
    )
    .unwrap();
    let drift = run_in(t.path(), &["render", "--check"]);
    assert_eq!(drift.code, 1);
    assert!(drift.stdout.contains("--- a/west/cassandra-west/global/cassandradatacenter-us-west.yaml\n+++ b/west/cassandra-west/global/cassandradatacenter-us-west.yaml\n"), "{}", drift.stdout);
    assert!(
        drift.stdout.contains("\n-  size: 2\n+  size: 4\n"),
        "{}",
        drift.stdout
    );
    assert_eq!(
        drift.stderr,
        format!(
            "error: {} is out of date (9 files differ); run `k8ssandra-gitops render` and commit the result\n",
            std::path::Path::new("./rendered").display()
        )
    );
}

#[test]
fn stale_owned_files_are_pruned_and_foreign_files_kept() {
    let t = repo();
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    let out = t.path().join("rendered");
    fs::write(out.join("east/README.md"), "mine\n").unwrap();
    fs::create_dir_all(out.join("notes")).unwrap();
    fs::write(out.join("notes/todo.yaml"), "x: 1\n").unwrap();
    // Drop the eu datacenter: its whole context disappears.
    let spec = t.path().join("cluster.yaml");
    let text = fs::read_to_string(&spec).unwrap();
    let cut = text
        .find("      - metadata:\n          name: eu-central")
        .unwrap();
    fs::write(&spec, &text[..cut]).unwrap();
    // A whole context disappearing is refused unless it is meant (mass-deletion guard)...
    let before = read_tree(&out);
    let guarded = run_in(t.path(), &["render"]);
    assert_eq!(guarded.code, 1, "{}", guarded.stderr);
    assert_eq!(
        guarded.stderr,
        "error: context \"eu\" would lose all 3 of its objects in ./rendered (cassandra/global/cassandradatacenter-eu-central.yaml, cassandra/global/configmap-global-eu-central-metrics-agent-config.yaml, cassandra/global/externalsecret-global-superuser.yaml); likely reason: no datacenter or other object targets context \"eu\" any more; refusing to prune a whole context (pass --allow-empty if this is intended)\nerror: 1 problem found; nothing was written\n"
    );
    assert_eq!(before, read_tree(&out), "the guard wrote nothing");
    let check = run_in(t.path(), &["render", "--check"]);
    assert_eq!(check.code, 1);
    assert!(
        check.stderr.contains("context \"eu\" would lose all 3"),
        "{}",
        check.stderr
    );
    // ... and done with --allow-empty.
    let run = run_in(t.path(), &["render", "--allow-empty"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("0 written, 4 pruned") || run.stderr.contains("1 written, 4 pruned"),
        "{}",
        run.stderr
    );
    assert!(
        !out.join("eu").exists(),
        "the emptied context directory is removed"
    );
    assert_eq!(
        fs::read_to_string(out.join("east/README.md")).unwrap(),
        "mine\n"
    );
    assert_eq!(
        fs::read_to_string(out.join("notes/todo.yaml")).unwrap(),
        "x: 1\n"
    );
}

#[test]
fn invalid_input_leaves_an_existing_tree_exactly_as_it_was() {
    let t = repo();
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    let before = read_tree(&t.path().join("rendered"));
    let spec = t.path().join("cluster.yaml");
    fs::write(
        &spec,
        fs::read_to_string(&spec)
            .unwrap()
            .replace("k8sContext: west", "k8sContext: wast"),
    )
    .unwrap();
    let run = run_in(t.path(), &["render"]);
    assert_eq!(run.code, 1);
    assert_eq!(before, read_tree(&t.path().join("rendered")));
}

#[test]
fn a_tampered_record_cannot_make_the_writer_delete_outside_the_output() {
    let t = repo();
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    fs::write(t.path().join("victim.txt"), "keep\n").unwrap();
    let record = t.path().join("rendered/.k8ssandra-gitops-owned");
    let mut text = fs::read_to_string(&record).unwrap();
    text.push_str("../victim.txt\n/etc/hostname\n");
    fs::write(&record, text).unwrap();
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    assert_eq!(
        fs::read_to_string(t.path().join("victim.txt")).unwrap(),
        "keep\n"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_inside_the_output_directory_are_not_written_through() {
    let t = repo();
    let elsewhere = TempDir::new("elsewhere");
    fs::create_dir_all(t.path().join("rendered")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), t.path().join("rendered/east")).unwrap();
    let run = run_in(t.path(), &["render"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "clientconfigs.yaml:4:3: error[E0601]: ./rendered/east: is a symlink, expected a directory (remove it; the renderer never writes through a symlink)\nerror: 1 problem found; nothing was written\n",
    );
    assert!(fs::read_dir(elsewhere.path()).unwrap().next().is_none());
}

#[test]
fn the_output_directory_of_render_config_is_never_read_as_input() {
    let t = repo();
    fs::write(t.path().join("render-config.yaml"), "apiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata: {name: default}\nspec:\n  outputDir: deploy/out\n  secrets: {backend: external}\n").unwrap();
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    assert!(
        t.path()
            .join("deploy/out/east/kustomization.yaml")
            .is_file()
    );
    // A K8ssandraCluster copy inside the output would be a duplicate if it were read.
    fs::copy(
        t.path().join("cluster.yaml"),
        t.path().join("deploy/out/copy.yaml"),
    )
    .unwrap();
    let check = run_in(t.path(), &["render", "--check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
}
