//! What is read as input: the README's first command, the one boundary between input and
//! output, where the output may go, the mass-deletion guards, and ignore rules that depend on
//! the repository only (working tree and `plan` alike).

use std::fs;
use std::path::Path;

use crate::harness::{TempDir, copy_dir, git, read_tree, root, run_env, run_in};

fn cluster(name: &str, context: Option<&str>) -> String {
    let ctx = context.map_or(String::new(), |c| format!("      k8sContext: {c}\n"));
    format!(
        "apiVersion: k8ssandra.io/v1alpha1\nkind: K8ssandraCluster\nmetadata:\n  name: {name}\nspec:\n  secretsProvider: external\n  cassandra:\n    serverVersion: 4.1.5\n    storageConfig:\n      cassandraDataVolumeClaimSpec:\n        resources:\n          requests:\n            storage: 1Gi\n    datacenters:\n    - metadata:\n        name: {name}-dc1\n{ctx}      size: 1\n"
    )
}

const CLIENT_EAST: &str =
    "apiVersion: config.k8ssandra.io/v1beta1\nkind: ClientConfig\nmetadata:\n  name: east\n";

/// A repository with a control-plane cluster (`a.yaml`) and one in context `east` (`b.yaml`).
fn two_contexts() -> TempDir {
    let t = TempDir::new("inputs");
    fs::write(t.path().join("a.yaml"), cluster("a", None)).unwrap();
    fs::write(t.path().join("b.yaml"), cluster("b", Some("east"))).unwrap();
    fs::write(t.path().join("contexts.yaml"), CLIENT_EAST).unwrap();
    t
}

fn render_config(t: &Path, extra: &str) {
    fs::write(
        t.join("render-config.yaml"),
        format!(
            "apiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata: {{name: default}}\nspec:\n{extra}"
        ),
    )
    .unwrap();
}

/// The first line of README.md's first code block, without its comment.
fn readme_first_command() -> String {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let block = readme.split("```").nth(1).expect("README has a code block");
    let first = block
        .lines()
        .skip(1) // the info string (`sh`)
        .find(|l| !l.trim().is_empty())
        .unwrap();
    first.split('#').next().unwrap().trim().to_string()
}

#[test]
fn the_readme_first_command_works_on_a_fresh_copy_of_the_examples() {
    let command = readme_first_command();
    assert_eq!(
        command, "cargo run --release -- render examples -o /tmp/k8ssandra-rendered",
        "the README's first command changed: update this test with it"
    );
    let args: Vec<&str> = command
        .split_whitespace()
        .skip_while(|a| *a != "--")
        .skip(1)
        .collect();
    let fresh = TempDir::new("readme");
    copy_dir(&root().join("examples"), &fresh.path().join("examples"));
    let run = run_in(fresh.path(), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.starts_with("rendered argocd, control-plane, eu-west-1, flux, us-east-1 into /tmp/k8ssandra-rendered: "), "{}", run.stderr);
    // The same bytes as the committed output (which was not read back as input).
    let out = read_tree(Path::new("/tmp/k8ssandra-rendered"));
    for (path, text) in read_tree(&root().join("examples/rendered")) {
        let got = out.iter().find(|(p, _)| *p == path).map(|(_, t)| t);
        assert_eq!(got, Some(&text), "{path}");
    }
}

#[test]
fn no_output_directory_is_read_as_input_with_or_without_o() {
    let t = two_contexts();
    let dup = cluster("a", None);
    // A former output tree (it holds the record), the default `rendered/`, RenderConfig's
    // outputDir and the -o target each hold a copy that would be a duplicate if read.
    for dir in ["old", "rendered", "gen"] {
        fs::create_dir_all(t.path().join(dir)).unwrap();
        fs::write(t.path().join(dir).join("copy.yaml"), &dup).unwrap();
    }
    fs::write(t.path().join("old/.k8ssandra-gitops-owned"), "").unwrap();
    render_config(t.path(), "  outputDir: gen\n");
    let elsewhere = TempDir::new("inputs-elsewhere");
    let target = elsewhere.path().join("o");
    let with_o = run_in(t.path(), &["render", "-o", target.to_str().unwrap(), "-v"]);
    assert_eq!(with_o.code, 0, "{}", with_o.stderr);
    for line in [
        "old/: not read: output directory (holds .k8ssandra-gitops-owned)\n",
        "rendered/: not read: output directory (the default output directory)\n",
        "gen/: not read: output directory (RenderConfig spec.outputDir)\n",
    ] {
        assert!(with_o.stderr.contains(line), "{line}{}", with_o.stderr);
    }
    // Without -o, RenderConfig's gen/ is the output directory: once it is ours, fine.
    fs::write(t.path().join("gen/.k8ssandra-gitops-owned"), "").unwrap();
    let without_o = run_in(t.path(), &["validate"]);
    assert_eq!(without_o.code, 0, "{}", without_o.stderr);
    // -o inside the repository: its directory is not read either; holding inputs of its own
    // (no ownership record), it is refused instead of silently dropping them.
    fs::create_dir(t.path().join("out")).unwrap();
    fs::write(t.path().join("out/copy.yaml"), &dup).unwrap();
    let inside = run_in(t.path(), &["render", "-o", "out"]);
    assert_eq!(
        inside.stderr,
        "error: -o out: the output directory holds input files (out/copy.yaml has a K8ssandraCluster) and no .k8ssandra-gitops-owned record; it is never read as input, so those files would be ignored (choose another directory)\nerror: 1 problem found; nothing was written\n"
    );
    fs::write(t.path().join("out/.k8ssandra-gitops-owned"), "").unwrap();
    let inside = run_in(t.path(), &["render", "-o", "out"]);
    assert_eq!(inside.code, 0, "{}", inside.stderr);
}

#[cfg(unix)]
#[test]
fn the_output_directory_never_is_or_passes_through_a_symlink() {
    use std::os::unix::fs::symlink;
    let victim = TempDir::new("victim");
    let t = two_contexts();
    // rendered -> victim
    symlink(victim.path(), t.path().join("rendered")).unwrap();
    let run = run_in(t.path(), &["render"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!(
            "error: output directory ./rendered: ./rendered -> {} is a symlink; the output directory and every directory on the way to it must be real directories (symlinks are never followed on the output side)\nerror: 1 problem found; nothing was written\n",
            victim.path().display()
        )
    );
    assert_eq!(run_in(t.path(), &["render", "--check"]).code, 1);
    assert!(fs::read_dir(victim.path()).unwrap().next().is_none());
    fs::remove_file(t.path().join("rendered")).unwrap();

    // RenderConfig outputDir: the symlink itself, then a symlinked parent.
    symlink(victim.path(), t.path().join("gen")).unwrap();
    render_config(t.path(), "  outputDir: gen\n");
    let run = run_in(t.path(), &["render"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(&format!(
            "render-config.yaml:5:3: error[E0603]: spec.outputDir: ./gen -> {} is a symlink;",
            victim.path().display()
        )),
        "{}",
        run.stderr
    );
    render_config(t.path(), "  outputDir: gen/deploy\n");
    let run = run_in(t.path(), &["validate"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("render-config.yaml:5:3: error[E0603]: spec.outputDir: ./gen -> "),
        "{}",
        run.stderr
    );
    assert!(fs::read_dir(victim.path()).unwrap().next().is_none());

    // -o outside the repository: allowed when real, refused when a symlink.
    fs::remove_file(t.path().join("render-config.yaml")).unwrap();
    fs::remove_file(t.path().join("gen")).unwrap();
    let link = victim.path().join("link");
    let real = TempDir::new("real-out");
    symlink(real.path(), &link).unwrap();
    let run = run_in(t.path(), &["render", "-o", link.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(&format!(
            "error: -o {}: the output directory is a symlink;",
            link.display()
        )),
        "{}",
        run.stderr
    );
    let run = run_in(t.path(), &["render", "-o", real.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn the_output_directory_is_never_the_repository_an_ancestor_or_a_work_tree() {
    let t = two_contexts();
    render_config(t.path(), "  outputDir: .\n");
    let run = run_in(t.path(), &["render"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "render-config.yaml:5:3: error[E0603]: spec.outputDir: the output directory is the repository root; rendered files would mix with the inputs (choose a subdirectory such as `rendered`)\nerror: 1 problem found; nothing was written\n"
    );
    fs::remove_file(t.path().join("render-config.yaml")).unwrap();
    let run = run_in(t.path(), &["render", "-o", ".."]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("error: -o ..: the output directory is an ancestor of the repository;"),
        "{}",
        run.stderr
    );
    let work_tree = TempDir::new("work-tree");
    fs::create_dir(work_tree.path().join(".git")).unwrap();
    let run = run_in(
        t.path(),
        &["render", "-o", work_tree.path().to_str().unwrap()],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("the output directory holds .git"),
        "{}",
        run.stderr
    );
    // A directory of inputs (no ownership record) is refused rather than silently skipped.
    fs::create_dir(t.path().join("specs")).unwrap();
    fs::rename(t.path().join("b.yaml"), t.path().join("specs/b.yaml")).unwrap();
    render_config(t.path(), "  outputDir: specs\n");
    let run = run_in(t.path(), &["render"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "render-config.yaml:5:3: error[E0603]: spec.outputDir: the output directory holds input files (specs/b.yaml has a K8ssandraCluster) and no .k8ssandra-gitops-owned record; it is never read as input, so those files would be ignored (choose another directory)\nerror: 1 problem found; nothing was written\n"
    );
    assert!(!t.path().join("specs/.k8ssandra-gitops-owned").exists());
}

#[test]
fn a_render_without_any_cluster_is_refused_unless_allowed() {
    let t = TempDir::new("empty-render");
    fs::write(t.path().join(".gitignore"), "# generated\n\na.yaml\n").unwrap();
    fs::write(t.path().join("a.yaml"), cluster("a", None)).unwrap();
    fs::write(t.path().join("notes.yaml"), "kind: ConfigMap\n").unwrap();
    let expected = "error: no K8ssandraCluster found in .: 2 YAML files seen, 1 read, 1 ignored by .gitignore; a.yaml is ignored by .gitignore:3 (a.yaml); refusing to render an empty result, which would prune every object (pass --allow-empty if this is intended)\nerror: 1 problem found; nothing was written\n";
    for args in [
        &["render"][..],
        &["render", "--check"],
        &["validate"],
        &["render", "--context", "control-plane", "--stdout"],
    ] {
        let run = run_in(t.path(), args);
        assert_eq!((run.code, run.stderr.as_str()), (1, expected), "{args:?}");
    }
    let run = run_env(
        t.path(),
        &["argocd", "generate"],
        &[("ARGOCD_ENV_K8S_CONTEXT", "control-plane")],
    );
    assert_eq!((run.code, run.stderr.as_str()), (1, expected));
    assert!(!t.path().join("rendered").exists());
    let verbose = run_in(t.path(), &["validate", "--verbose"]);
    assert!(
        verbose
            .stderr
            .contains("notes.yaml: document 0 ignored (/ConfigMap)\na.yaml: not read: ignored by .gitignore:3 (a.yaml)\n"),
        "{}",
        verbose.stderr
    );
    let allowed = run_in(t.path(), &["render", "--allow-empty"]);
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
}

#[test]
fn a_context_that_would_lose_every_object_names_the_likely_reason() {
    let t = two_contexts();
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    let before = read_tree(&t.path().join("rendered"));
    fs::write(
        t.path().join(".gitignore"),
        "# scratch files\n*.tmp\nb.yaml\n",
    )
    .unwrap();
    let run = run_in(t.path(), &["render"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: context \"east\" would lose all 2 of its objects in ./rendered (default/b/cassandradatacenter-b-dc1.yaml, default/b/configmap-b-b-dc1-metrics-agent-config.yaml); likely reason: b.yaml is ignored by .gitignore:3 (b.yaml); refusing to prune a whole context (pass --allow-empty if this is intended)\nerror: 1 problem found; nothing was written\n"
    );
    assert_eq!(before, read_tree(&t.path().join("rendered")));
}

#[test]
fn only_gitignore_files_inside_the_repository_hide_inputs() {
    let outer = TempDir::new("outer");
    let repo = outer.path().join("repo");
    fs::create_dir(&repo).unwrap();
    fs::write(repo.join("a.yaml"), cluster("a", None)).unwrap();
    // Above the repository, in .git/info/exclude, in the global excludes, and `.ignore`: none
    // of them counts.
    fs::write(outer.path().join(".gitignore"), "*.yaml\n").unwrap();
    git(&repo, &["init", "-q"]);
    fs::write(repo.join(".git/info/exclude"), "a.yaml\n").unwrap();
    fs::write(repo.join(".ignore"), "a.yaml\n").unwrap();
    let global = outer.path().join("global-excludes");
    fs::write(&global, "a.yaml\n").unwrap();
    let config = outer.path().join("gitconfig");
    fs::write(
        &config,
        format!("[core]\n\texcludesFile = {}\n", global.display()),
    )
    .unwrap();
    let run = run_env(
        &repo,
        &["validate"],
        &[
            ("GIT_CONFIG_GLOBAL", config.to_str().unwrap()),
            ("HOME", outer.path().to_str().unwrap()),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "ok: 1 K8ssandraCluster, 2 objects for 1 context\n"
    );
}

#[cfg(feature = "git")]
#[test]
fn plan_reads_exactly_the_files_render_reads() {
    let t = TempDir::new("plan-files");
    let repo = t.path();
    git(repo, &["init", "-q"]);
    fs::write(repo.join("a.yaml"), cluster("a", None)).unwrap();
    // Committed although .gitignore lists it (added with -f): neither side reads it.
    fs::write(repo.join(".gitignore"), "scratch.yaml\n").unwrap();
    fs::write(repo.join("scratch.yaml"), "size: [unclosed\n").unwrap();
    // A committed former output tree with a copy of the cluster: neither side reads it.
    fs::create_dir(repo.join("old")).unwrap();
    fs::write(repo.join("old/.k8ssandra-gitops-owned"), "").unwrap();
    fs::write(repo.join("old/copy.yaml"), cluster("a", None)).unwrap();
    // Symlinks are followed alike: one into an ignored directory is read (the link is not
    // ignored), one into an output tree is not.
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        fs::write(repo.join("b.yaml"), cluster("b", Some("east"))).unwrap();
        fs::write(repo.join(".gitignore"), "scratch.yaml\nhidden/\n").unwrap();
        fs::create_dir(repo.join("hidden")).unwrap();
        fs::write(repo.join("hidden/contexts.yaml"), CLIENT_EAST).unwrap();
        symlink("hidden/contexts.yaml", repo.join("contexts.yaml")).unwrap();
        symlink("old/copy.yaml", repo.join("linked.yaml")).unwrap();
        git(repo, &["add", "-f", "hidden/contexts.yaml"]);
    }
    git(repo, &["add", "-A"]);
    git(repo, &["add", "-f", "scratch.yaml"]);
    git(repo, &["commit", "-q", "-m", "c0"]);
    let render = run_in(repo, &["validate"]);
    assert_eq!(render.code, 0, "{}", render.stderr);
    #[cfg(unix)]
    assert_eq!(
        render.stderr,
        "ok: 2 K8ssandraClusters, 4 objects for 2 contexts\n"
    );
    let plan = run_in(repo, &["plan", "--from", "HEAD"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert_eq!(plan.stdout, "No changes between HEAD and worktree.\n");
}

/// Input strings reach the emitter unchanged: one starting with a digit and a multi-byte
/// character made it panic, and DEL, C1 controls and NEL went out raw inside double quotes
/// (readers refuse or fold them). Both now render as escaped strings that read back exactly.
#[test]
fn strings_the_emitter_once_mishandled_render_and_read_back() {
    let t = TempDir::new("emitter-strings");
    let text = cluster("demo", None).replace(
        "      size: 1\n",
        "      size: 1\n      config:\n        jvmOptions:\n          additionalOptions: [\"1é\", \"a\\x7Fb\\x85c\"]\n",
    );
    fs::write(t.path().join("cluster.yaml"), text).unwrap();
    let run = run_in(
        t.path(),
        &["render", "--stdout", "--context", "control-plane"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(r#""1é""#), "{}", run.stdout);
    assert!(
        run.stdout.contains(r#""a\u007Fb\u0085c""#),
        "{}",
        run.stdout
    );
    let docs = k8ssandra_gitops::dev_support::parse_stream(&run.stdout).unwrap();
    let found: Vec<String> = docs
        .iter()
        .map(|d| d.to_json().to_string())
        .filter(|j| j.contains("1é"))
        .collect();
    assert_eq!(found.len(), 1, "{}", run.stdout);
    assert!(found[0].contains("\"a\u{7f}b\u{85}c\""), "{}", found[0]);
}
