//! Same input ⇒ byte-identical output, whatever the file names, order, time zone or locale.

use std::fs;

use crate::harness::{TempDir, copy_dir, read_tree, root, run_env};

fn render(
    repo: &std::path::Path,
    out: &std::path::Path,
    env: &[(&str, &str)],
) -> Vec<(String, String)> {
    let run = run_env(repo, &["render", ".", "-o", out.to_str().unwrap()], env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    read_tree(out)
}

#[test]
fn rendering_twice_renaming_and_reordering_inputs_and_changing_tz_and_lang_give_identical_bytes() {
    let fixture = root().join("fixtures/render/multi-dc-three-contexts");
    let out = TempDir::new("det-out");
    let a = TempDir::new("det-a");
    copy_dir(&fixture, a.path());
    let first = render(a.path(), &out.path().join("1"), &[]);
    let again = render(a.path(), &out.path().join("2"), &[]);
    assert_eq!(first, again);

    // Split documents over differently named files, in the opposite order, in a subdirectory.
    let b = TempDir::new("det-b");
    let clients = fs::read_to_string(fixture.join("clientconfigs.yaml")).unwrap();
    let mut docs: Vec<&str> = clients.split("---\n").collect();
    docs.reverse();
    fs::create_dir_all(b.path().join("zz/nested")).unwrap();
    for (i, d) in docs.iter().enumerate() {
        fs::write(b.path().join(format!("zz/nested/{i}-ctx.yml")), d).unwrap();
    }
    fs::copy(fixture.join("cluster.yaml"), b.path().join("AAA.yaml")).unwrap();
    fs::copy(
        fixture.join("render-config.yaml"),
        b.path().join("zz/render.yml"),
    )
    .unwrap();
    let moved = render(
        b.path(),
        &out.path().join("3"),
        &[
            ("TZ", "Pacific/Kiritimati"),
            ("LANG", "tr_TR.UTF-8"),
            ("LC_ALL", "tr_TR.UTF-8"),
        ],
    );
    assert_eq!(first, moved);
    assert!(first.len() > 5);
}

/// A repository of 40 clusters (the example's cluster copied into 39 more namespaces), with or
/// without the example's operations documents (which then name a datacenter of several
/// clusters: an error listing all of them).
fn fleet(with_operations: bool) -> TempDir {
    let examples = root().join("examples");
    let repo = TempDir::new("det-fleet");
    copy_dir(&examples.join("clusters"), &repo.path().join("clusters"));
    copy_dir(&examples.join("contexts"), &repo.path().join("contexts"));
    fs::copy(
        examples.join("render-config.yaml"),
        repo.path().join("render-config.yaml"),
    )
    .unwrap();
    if !with_operations {
        fs::remove_file(repo.path().join("clusters/orders-operations.yaml")).unwrap();
    }
    let cluster = fs::read_to_string(examples.join("clusters/orders.yaml")).unwrap();
    for i in 0..39 {
        let copy = cluster
            .replace("\n  name: orders\n", &format!("\n  name: orders-{i}\n"))
            .replace(
                "\n  namespace: k8ssandra\n",
                &format!("\n  namespace: team-{i}\n"),
            );
        assert_ne!(copy, cluster);
        fs::write(repo.path().join(format!("clusters/copy-{i}.yaml")), copy).unwrap();
    }
    repo
}

#[test]
fn the_number_of_threads_changes_no_byte_of_the_output_or_the_problems() {
    const THREADS: &str = "K8SSANDRA_GITOPS_THREADS";
    let repo = fleet(false);
    let out = TempDir::new("det-threads");
    let one = render(repo.path(), &out.path().join("1"), &[(THREADS, "1")]);
    let many = render(repo.path(), &out.path().join("4"), &[(THREADS, "4")]);
    assert!(one.len() > 40 * 20, "{} files", one.len());
    assert_eq!(one, many);

    let broken = fleet(true);
    let validate =
        |threads: &str| run_env(broken.path(), &["validate", "."], &[(THREADS, threads)]);
    let (one, many) = (validate("1"), validate("4"));
    assert_eq!(one.code, 1, "{}", one.stderr);
    assert!(one.stderr.contains("team-38/orders-38"), "{}", one.stderr);
    assert_eq!(one.stderr, many.stderr);
}
