//! The library surface (issue #11): `render` gives a `Rendered`, whose forms agree with each
//! other and with the command line, and whose passes over the output directory keep the
//! command line's guards.

use std::fs;

use k8ssandra_gitops::{Problem, RenderOptions, render};

use crate::harness::{TempDir, copy_dir, read_tree, root, run_in};

fn repo(fixture: &str) -> TempDir {
    let t = TempDir::new("library");
    copy_dir(&root().join("fixtures/render").join(fixture), t.path());
    t
}

#[test]
fn the_tree_is_exactly_what_write_leaves_and_check_then_finds_no_drift() {
    let t = repo("multi-dc-three-contexts");
    let (outcome, tree) = render(t.path(), RenderOptions::default()).unwrap().tree();
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    assert_eq!(outcome.rendered.len(), 3, "{:?}", outcome.rendered.keys());
    assert!(outcome.rendered.values().all(Vec::is_empty));

    let written = render(t.path(), RenderOptions::default()).unwrap().write();
    assert!(
        !written.outcome.has_errors(),
        "{:?}",
        written.outcome.problems
    );
    let report = written.result.expect("written").expect("no refusal");
    assert_eq!(report.written.len(), 15, "{report:?}");
    let on_disk = read_tree(&t.path().join("rendered"));
    // Every object is one file; the writer adds a kustomization per context and its record.
    let added = on_disk
        .iter()
        .filter(|(p, _)| p.ends_with("/kustomization.yaml") || p.starts_with('.'))
        .count();
    assert_eq!(
        added,
        4,
        "{:?}",
        on_disk.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    assert_eq!(
        written.objects.values().sum::<usize>(),
        on_disk.len() - added
    );
    let expected: Vec<(String, String)> = tree
        .into_iter()
        .map(|(path, bytes)| (path, String::from_utf8(bytes).unwrap()))
        .collect();
    assert_eq!(on_disk, expected);

    let checked = render(t.path(), RenderOptions::default()).unwrap().check();
    let drift = checked.result.expect("compared").expect("writable");
    assert!(drift.is_empty(), "{drift:?}");
    // The command line agrees: same files, nothing to write.
    let cli = run_in(t.path(), &["render"]);
    assert!(
        cli.stderr
            .ends_with(": 0 written, 0 pruned, 15 unchanged\n"),
        "{}",
        cli.stderr
    );
}

/// Counts what it is given.
struct Count(usize);

impl k8ssandra_gitops::Sink for Count {
    fn objects(&mut self, objects: Vec<(std::sync::Arc<str>, k8ssandra_gitops::Manifest)>) {
        self.0 += objects.len();
    }
}

#[test]
fn a_write_without_any_cluster_is_refused_unless_allowed_and_nothing_is_created() {
    let t = TempDir::new("library-empty");
    fs::write(
        t.path().join("notes.yaml"),
        "kind: ConfigMap\napiVersion: v1\n",
    )
    .unwrap();
    let refused = render(t.path(), RenderOptions::default()).unwrap().write();
    assert!(refused.result.is_none());
    assert!(
        refused.outcome.diagnostics.is_empty(),
        "{:?}",
        refused.outcome.diagnostics
    );
    match refused.outcome.problems.as_slice() {
        [Problem::Plain(message)] => {
            assert!(message.contains("no K8ssandraCluster found"), "{message}");
        }
        other => panic!("expected the empty-render guard, got {other:?}"),
    }
    assert!(!t.path().join("rendered").exists());
    // The stream is what a GitOps tool syncs: the same guard.
    let streamed = render(t.path(), RenderOptions::default())
        .unwrap()
        .stream(&mut Count(0));
    assert_eq!(streamed.problems, refused.outcome.problems);

    let options = RenderOptions {
        allow_empty: true,
        ..RenderOptions::default()
    };
    let allowed = render(t.path(), options).unwrap().write();
    assert!(
        !allowed.outcome.has_errors(),
        "{:?}",
        allowed.outcome.problems
    );
    assert!(allowed.result.expect("written").is_ok());
}

#[test]
fn an_unsafe_output_location_stops_every_pass_before_it_touches_anything() {
    let t = repo("multi-dc-three-contexts");
    let elsewhere = TempDir::new("library-elsewhere");
    std::os::unix::fs::symlink(elsewhere.path(), t.path().join("rendered")).unwrap();
    let finished = render(t.path(), RenderOptions::default()).unwrap().write();
    assert!(finished.result.is_none());
    assert!(!finished.outcome.problems.is_empty());
    let checked = render(t.path(), RenderOptions::default()).unwrap().check();
    assert!(checked.result.is_none());
    assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

#[test]
fn a_write_renders_every_context_even_when_one_was_asked_for() {
    let t = repo("multi-dc-three-contexts");
    let options = RenderOptions {
        context: Some("east"),
        ..RenderOptions::default()
    };
    let one = render(t.path(), options).unwrap().contexts();
    assert!(one.rendered["east"].iter().all(|m| m.context == "east"));
    assert!(
        one.rendered
            .iter()
            .any(|(c, list)| c != "east" && list.is_empty())
    );
    let written = render(t.path(), options).unwrap().write();
    assert_eq!(written.objects.len(), 3, "{:?}", written.objects);
    assert!(written.result.expect("written").is_ok());
}
