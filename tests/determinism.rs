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

/// The example repository (without its rendered output) plus 39 copies of its cluster, each
/// renamed by `rename(i, text)`, optionally without the example's operations documents.
fn fleet(with_operations: bool, rename: impl Fn(usize, &str) -> String) -> TempDir {
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
        let copy = rename(i, &cluster);
        assert_ne!(copy, cluster);
        fs::write(repo.path().join(format!("clusters/copy-{i:02}.yaml")), copy).unwrap();
    }
    repo
}

#[test]
fn the_number_of_threads_changes_no_byte_of_the_output_or_the_problems() {
    const THREADS: &str = "K8SSANDRA_GITOPS_THREADS";
    // 40 clusters in one namespace, with datacenters of their own but one superuser Secret
    // and one Medusa bucket Secret: the first cluster in plan order (copy-00) renders them,
    // so the output depends on the clusters being handed on in that order.
    let together = fleet(false, |i, text| {
        text.replace("\n  name: orders\n", &format!("\n  name: orders-{i}\n"))
            .replace(
                "clusterName: Orders Prod",
                &format!("clusterName: Orders {i}"),
            )
            .replace("name: us-east\n", &format!("name: us-east-{i}\n"))
            .replace("name: eu-west\n", &format!("name: eu-west-{i}\n"))
            .replace("name: reporting\n", &format!("name: reporting-{i}\n"))
    });
    let out = TempDir::new("det-threads");
    let one = render(together.path(), &out.path().join("1"), &[(THREADS, "1")]);
    let many = render(together.path(), &out.path().join("4"), &[(THREADS, "4")]);
    assert!(one.len() > 40 * 20, "{} files", one.len());
    let superuser: Vec<&str> = one
        .iter()
        .map(|(path, _)| path.as_str())
        .filter(|p| {
            p.starts_with("us-east-1/") && p.ends_with("/externalsecret-orders-superuser.yaml")
        })
        .collect();
    assert_eq!(
        superuser,
        ["us-east-1/k8ssandra/orders-0/externalsecret-orders-superuser.yaml"]
    );
    assert_eq!(one, many);

    // 40 clusters in 40 namespaces, and a Medusa schedule naming a datacenter all of them have:
    // an error that lists every cluster, in the order they were loaded.
    let apart = fleet(true, |i, text| {
        text.replace("\n  name: orders\n", &format!("\n  name: orders-{i}\n"))
            .replace(
                "\n  namespace: k8ssandra\n",
                &format!("\n  namespace: team-{i}\n"),
            )
    });
    let validate = |threads: &str| run_env(apart.path(), &["validate", "."], &[(THREADS, threads)]);
    let (one, many) = (validate("1"), validate("4"));
    assert_eq!(one.code, 1, "{}", one.stderr);
    assert!(one.stderr.contains("team-38/orders-38"), "{}", one.stderr);
    assert_eq!(one.stderr, many.stderr);
}
