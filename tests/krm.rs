//! `k8ssandra-gitops krm` under the real kustomize (`kustomize build --enable-alpha-plugins
//! --enable-exec`), compared with `render --context X --stdout` over the same repository.
//!
//! What kustomize changes, and how the comparison treats it:
//! - **Order**: kustomize re-sorts its output (its default "legacy" order: a fixed list of
//!   built-in kinds such as Namespace, ConfigMap, Service first, unknown kinds such as
//!   CassandraDatacenter after them), while `render` orders by output path. Objects are
//!   therefore compared as sets keyed by apiVersion/kind/namespace/name; the test checks that
//!   the keys are unique, so nothing can hide behind the re-sorting.
//! - **Formatting**: kustomize re-serializes (its own key order and quoting). Documents are
//!   compared parsed, with types kept: a string "3" and the integer 3 differ.
//! - **Annotations**: the function marks each object with `config.kubernetes.io/path`/`index`
//!   and their `internal.` twins; kustomize removes them. They are *not* stripped before the
//!   comparison, so the test fails if any tool annotation leaks into the build output.
//!   Likewise for the `config.k8s.io/id`/`kustomize.config.k8s.io/id` annotations kustomize adds
//!   to a transformer's input items.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::harness::{TempDir, assert_valid_manifests, root, run_in, tool};

/// The kustomize binary installed by `scripts/test` (or `$KUSTOMIZE`); `None` (test skipped) when
/// it is missing, unless `K8SSANDRA_GITOPS_REQUIRE_TOOLS` is set (as `scripts/test` does).
fn kustomize() -> Option<PathBuf> {
    tool("KUSTOMIZE", ".cache/bin/kustomize")
}

const BIN: &str = env!("CARGO_BIN_EXE_k8ssandra-gitops");
const CONTEXTS: [&str; 3] = ["control-plane", "us-east-1", "eu-west-1"];

/// A repository with the example specs (three contexts), without their rendered output.
fn example_repo() -> TempDir {
    let dir = TempDir::new("krm");
    // A Git work tree, as under Argo CD or kpt: spec.path may reach anywhere inside it.
    crate::harness::git(dir.path(), &["init", "-q"]);
    for rel in [
        "clusters/orders.yaml",
        "clusters/orders-operations.yaml",
        "contexts/clientconfigs.yaml",
        "render-config.yaml",
    ] {
        let to = dir.path().join(rel);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(root().join("examples").join(rel), to).unwrap();
    }
    dir
}

/// The function's config as kustomize reads it: our kind, an exec function running the
/// built binary, found on PATH as in the README (`on_path`) or named by its absolute path.
fn function_config(context: &str, path: Option<&str>, on_path: bool) -> String {
    let exec = if on_path { "k8ssandra-gitops" } else { BIN };
    let mut text = format!(
        "apiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderFunction\nmetadata:\n  name: render-{context}\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: {exec}\n        args: [krm]\nspec:\n  context: {context}\n"
    );
    if let Some(p) = path {
        text.push_str(&format!("  path: {p}\n"));
    }
    text
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

struct Build {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn build(kustomize: &Path, dir: &Path) -> Build {
    build_with(kustomize, dir, &["--enable-alpha-plugins", "--enable-exec"])
}

fn build_with(kustomize: &Path, dir: &Path, flags: &[&str]) -> Build {
    let out = Command::new(kustomize)
        .arg("build")
        .args(flags)
        .arg(dir)
        .env("PATH", path_with_binary())
        .stdin(Stdio::null())
        .output()
        .expect("kustomize runs");
    Build {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// PATH with the directory of the binary under test first.
fn path_with_binary() -> String {
    format!(
        "{}:{}",
        Path::new(BIN).parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

type Key = (String, String, String, String);

fn key(v: &Value) -> Key {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (
        s(&v["apiVersion"]),
        s(&v["kind"]),
        s(&v["metadata"]["namespace"]),
        s(&v["metadata"]["name"]),
    )
}

/// The documents of a YAML stream, parsed (types kept), in stream order.
fn parse(stream: &str) -> Vec<Value> {
    k8ssandra_gitops::dev_support::parse_stream(stream)
        .expect("valid YAML")
        .iter()
        .map(k8ssandra_gitops::dev_support::Node::to_json)
        .filter(|v| !v.is_null())
        .collect()
}

/// Objects keyed by identity; fails on duplicate keys.
fn by_key(objects: Vec<Value>) -> std::collections::BTreeMap<Key, Value> {
    let mut map = std::collections::BTreeMap::new();
    for o in objects {
        let k = key(&o);
        assert!(map.insert(k.clone(), o).is_none(), "duplicate object {k:?}");
    }
    map
}

fn render_stdout(repo: &Path, context: &str) -> Vec<Value> {
    let run = run_in(repo, &["render", "--context", context, "--stdout"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    parse(&run.stdout)
}

fn assert_same_objects(kustomized: Vec<Value>, rendered: Vec<Value>, context: &str) {
    assert!(!rendered.is_empty(), "{context}: nothing rendered");
    let (k, r) = (by_key(kustomized), by_key(rendered));
    assert_eq!(
        k.keys().collect::<Vec<_>>(),
        r.keys().collect::<Vec<_>>(),
        "{context}: different objects"
    );
    for (id, object) in &r {
        assert_eq!(&k[id], object, "{context}: {id:?} differs");
    }
}

/// The README's generator kustomization: the function, and the guard that fails the build when
/// kustomize skips exec functions (the function marks its config's copy among the items with
/// the context it rendered; the replacement needs that annotation).
fn generator_kustomization(context: &str) -> String {
    format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ngenerators:\n- render.yaml\nreplacements:\n- source:\n    kind: RenderFunction\n    name: render-{context}\n    fieldPath: metadata.annotations.[gitops.k8ssandra.io/rendered-context]\n  targets:\n  - select: {{kind: RenderFunction, name: render-{context}}}\n    fieldPaths: [spec.context]\n"
    )
}

#[test]
fn kustomize_generator_builds_what_render_streams() {
    let Some(kustomize) = kustomize() else { return };
    let repo = example_repo();
    // One kustomization per context, beside the specs: `path: ..` is the repository.
    for context in CONTEXTS {
        let dir = format!("deploy/{context}");
        write(
            repo.path(),
            &format!("{dir}/kustomization.yaml"),
            &generator_kustomization(context),
        );
        write(
            repo.path(),
            &format!("{dir}/render.yaml"),
            &function_config(context, Some("../.."), true),
        );
    }
    let out_dir = TempDir::new("krm-built");
    for context in CONTEXTS {
        let b = build(&kustomize, &repo.path().join("deploy").join(context));
        assert!(b.ok, "{context}: kustomize failed:\n{}", b.stderr);
        // What kustomize hands to kubectl passes the strict upstream schemas.
        let built = out_dir.path().join(format!("{context}.yaml"));
        fs::write(&built, &b.stdout).unwrap();
        assert_valid_manifests(&[&built]);
        let kustomized = parse(&b.stdout);
        let rendered = render_stdout(repo.path(), context);
        // kustomize re-sorts: same objects, and here a different order (ConfigMaps are
        // built-in kinds kustomize puts before the CassandraDatacenter; render sorts by path).
        let order = |objs: &[Value]| objs.iter().map(key).collect::<Vec<_>>();
        if context != "control-plane" {
            assert_ne!(order(&kustomized), order(&rendered), "{context}");
        }
        assert_same_objects(kustomized, rendered, context);
    }
}

#[test]
fn kustomize_transformer_renders_resources_given_as_items() {
    let Some(kustomize) = kustomize() else { return };
    let repo = example_repo();
    // The specs are kustomize resources: the function receives them as items, consumes them,
    // and passes the unrelated Namespace through. The backup schedules are routed like
    // `render` routes them: us-east-1's into its datacenter's namespace, eu-west-1's not at all.
    write(
        repo.path(),
        "extra/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: k8ssandra\n",
    );
    write(
        repo.path(),
        "kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- clusters/orders.yaml\n- clusters/orders-operations.yaml\n- contexts/clientconfigs.yaml\n- render-config.yaml\n- extra/namespace.yaml\ntransformers:\n- render.yaml\n",
    );
    write(
        repo.path(),
        "render.yaml",
        &function_config("us-east-1", None, false),
    );
    let b = build(&kustomize, repo.path());
    assert!(b.ok, "kustomize failed:\n{}", b.stderr);
    assert!(
        b.stdout.contains("name: us-east-nightly") && !b.stdout.contains("eu-west-nightly"),
        "{}",
        b.stdout
    );
    let mut rendered = render_stdout(repo.path(), "us-east-1");
    rendered.push(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "k8ssandra"}
    }));
    assert_same_objects(parse(&b.stdout), rendered, "us-east-1");
}

#[test]
fn kustomize_shows_the_functions_error_and_fails() {
    let Some(kustomize) = kustomize() else { return };
    let repo = example_repo();
    let cluster = repo.path().join("clusters/orders.yaml");
    let text = fs::read_to_string(&cluster).unwrap();
    let broken = text.replacen("size: 3", "size: three", 1);
    assert_ne!(broken, text, "the example has a datacenter of size 3");
    fs::write(&cluster, broken).unwrap();
    write(
        repo.path(),
        "deploy/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ngenerators:\n- render.yaml\n",
    );
    write(
        repo.path(),
        "deploy/render.yaml",
        &function_config("us-east-1", Some(".."), true),
    );
    let b = build(&kustomize, &repo.path().join("deploy"));
    assert!(
        !b.ok,
        "kustomize accepted an invalid cluster:\n{}",
        b.stdout
    );
    assert!(b.stdout.is_empty(), "{}", b.stdout);
    // The function's result, located in the user's file, then kustomize's own error line.
    let line = b
        .stderr
        .lines()
        .find(|l| l.starts_with("../clusters/orders.yaml:"))
        .unwrap_or_else(|| panic!("no located error in:\n{}", b.stderr));
    assert!(
        line.contains(": error[E0202]: spec.cassandra.datacenters[")
            && line.ends_with("].size: expected integer, found string \"three\""),
        "{line}"
    );
    assert!(
        b.stderr.contains("couldn't execute function"),
        "{}",
        b.stderr
    );

    // Without spec.path, kustomize gives a generator no items: the error says what to do.
    write(
        repo.path(),
        "deploy/render.yaml",
        &function_config("us-east-1", None, true),
    );
    let b = build(&kustomize, &repo.path().join("deploy"));
    assert!(!b.ok);
    assert!(
        b.stderr.contains("error: spec.path: no K8ssandraCluster"),
        "{}",
        b.stderr
    );
}

#[test]
fn the_generator_recipe_fails_instead_of_building_nothing_without_exec_plugins() {
    let Some(kustomize) = kustomize() else { return };
    let repo = example_repo();
    write(
        repo.path(),
        "deploy/kustomization.yaml",
        &generator_kustomization("us-east-1"),
    );
    write(
        repo.path(),
        "deploy/render.yaml",
        &function_config("us-east-1", Some(".."), true),
    );
    let dir = repo.path().join("deploy");
    // Alpha plugins without exec: kustomize skips the function. Without the guard it would
    // exit 0 with nothing, which Argo CD's auto-prune turns into deleting every object.
    let b = build_with(&kustomize, &dir, &["--enable-alpha-plugins"]);
    assert!(!b.ok, "built without the function:\n{}", b.stdout);
    assert!(b.stdout.is_empty(), "{}", b.stdout);
    assert!(
        b.stderr.contains(
            "fieldPath `metadata.annotations.[gitops.k8ssandra.io/rendered-context]` is missing"
        ),
        "{}",
        b.stderr
    );
    // The guard is what fails: the same kustomization without it builds nothing, successfully.
    write(
        repo.path(),
        "deploy/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ngenerators:\n- render.yaml\n",
    );
    let b = build_with(&kustomize, &dir, &["--enable-alpha-plugins"]);
    assert!(
        b.ok && b.stdout.trim().is_empty(),
        "{}\n{}",
        b.stdout,
        b.stderr
    );
    // No plugin flags at all: kustomize refuses the generator by itself.
    let b = build_with(&kustomize, &dir, &[]);
    assert!(!b.ok);
    assert!(
        b.stderr.contains("external plugins disabled"),
        "{}",
        b.stderr
    );
}
