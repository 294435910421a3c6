//! Bad input: the full stderr is asserted, the exit code is 1, and nothing is written (the
//! `fixtures/invalid` cases are in `invalid_fixtures.rs`).

use std::fs;

use crate::harness::{TempDir, copy_dir, root, run_in};

const CLUSTER: &str = "apiVersion: k8ssandra.io/v1alpha1\nkind: K8ssandraCluster\nmetadata:\n  name: demo\nspec:\n  secretsProvider: external\n  cassandra:\n    serverVersion: 4.1.5\n    storageConfig:\n      cassandraDataVolumeClaimSpec:\n        resources:\n          requests:\n            storage: 1Gi\n    datacenters:\n    - metadata:\n        name: dc1\n      size: 1\n";

#[test]
fn non_utf8_input_is_refused_with_its_position() {
    let tmp = TempDir::new("utf8");
    fs::write(tmp.path().join("cluster.yaml"), CLUSTER).unwrap();
    fs::write(
        tmp.path().join("latin1.yaml"),
        b"kind: ConfigMap\nmetadata:\n  name: caf\xe9\n",
    )
    .unwrap();
    let run = run_in(tmp.path(), &["validate"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "latin1.yaml:3:12: error[E0103]: file is not valid UTF-8 (Kubernetes manifests must be UTF-8)\nerror: 1 problem found; nothing was written\n"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_repository_are_refused_and_inside_ones_followed() {
    let outside = TempDir::new("outside");
    fs::write(outside.path().join("secret.yaml"), CLUSTER).unwrap();
    let tmp = TempDir::new("symlink");
    fs::create_dir(tmp.path().join("specs")).unwrap();
    fs::write(tmp.path().join("specs/real.yaml"), CLUSTER).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.yaml"),
        tmp.path().join("leak.yaml"),
    )
    .unwrap();
    let run = run_in(tmp.path(), &["validate"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let first = run.stderr.lines().next().unwrap();
    assert!(
        first
            .starts_with("leak.yaml:0:0: error[E0104]: symlink points outside the repository (to "),
        "{first}"
    );
    assert!(
        first.ends_with("secret.yaml); refusing to read it"),
        "{first}"
    );

    fs::remove_file(tmp.path().join("leak.yaml")).unwrap();
    // A symlinked directory leaving the repository is refused the same way.
    std::os::unix::fs::symlink(outside.path(), tmp.path().join("more")).unwrap();
    let run = run_in(tmp.path(), &["validate"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!(
            "more:0:0: error[E0104]: symlinked directory points outside the repository (to {}); refusing to read it\nerror: 1 problem found; nothing was written\n",
            fs::canonicalize(outside.path()).unwrap().display()
        )
    );
    fs::remove_file(tmp.path().join("more")).unwrap();
    std::os::unix::fs::symlink("specs/real.yaml", tmp.path().join("alias.yaml")).unwrap();
    let run = run_in(tmp.path(), &["validate"]);
    // The same cluster read twice through a link inside the repository is a duplicate, which
    // proves the link was followed.
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("K8ssandraCluster default/demo is defined twice"),
        "{}",
        run.stderr
    );
}

#[test]
fn oversized_files_are_refused_without_being_parsed() {
    let tmp = TempDir::new("huge");
    fs::write(tmp.path().join("cluster.yaml"), CLUSTER).unwrap();
    let big = "# padding\n".repeat(16 * 1024 * 1024 / 10 + 1);
    fs::write(tmp.path().join("big.yaml"), big).unwrap();
    let run = run_in(tmp.path(), &["validate"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "big.yaml:0:0: error[E0103]: file is 16777220 bytes, more than the 16777216-byte limit for an input manifest\nerror: 1 problem found; nothing was written\n"
    );
}

#[test]
fn usage_errors_exit_2() {
    let tmp = TempDir::new("usage");
    assert_eq!(run_in(tmp.path(), &["render", "--stdout"]).code, 2);
    assert_eq!(
        run_in(
            tmp.path(),
            &["render", "--check", "--stdout", "--context", "x"]
        )
        .code,
        2
    );
    assert_eq!(run_in(tmp.path(), &["frobnicate"]).code, 2);
}

#[test]
fn an_empty_stream_is_an_error_never_an_empty_success() {
    let tmp = TempDir::new("empty");
    fs::write(tmp.path().join("cluster.yaml"), CLUSTER).unwrap();
    let run = run_in(
        tmp.path(),
        &["render", "--context", "control-plan", "--stdout"],
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: context \"control-plan\" has no objects to render (contexts with objects: control-plane) (did you mean \"control-plane\"?); refusing to print an empty stream\n"
    );
    let ok = run_in(
        tmp.path(),
        &["render", "--context", "control-plane", "--stdout"],
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.starts_with("---\napiVersion: "));
    assert_eq!(
        ok.stdout.matches("\n---\n").count() + 1,
        2,
        "one CassandraDatacenter and one ConfigMap"
    );
}

#[test]
fn a_missing_repository_is_reported() {
    let tmp = TempDir::new("missing");
    let run = run_in(tmp.path(), &["validate", "nope"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("error: failed to read repository nope: "),
        "{}",
        run.stderr
    );
}

#[test]
fn other_kinds_are_ignored_and_listed_with_verbose() {
    let tmp = TempDir::new("verbose");
    fs::write(tmp.path().join("cluster.yaml"), CLUSTER).unwrap();
    fs::write(
        tmp.path().join("other.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n---\n# just a comment\n---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: y}\n",
    )
    .unwrap();
    let quiet = run_in(tmp.path(), &["validate"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert_eq!(
        quiet.stderr,
        "ok: 1 K8ssandraCluster, 2 objects for 1 context\n"
    );
    let verbose = run_in(tmp.path(), &["validate", "--verbose"]);
    assert_eq!(
        verbose.stderr,
        "other.yaml: document 0 ignored (v1/Secret)\nother.yaml: document 1 ignored (argoproj.io/v1alpha1/Application)\nok: 1 K8ssandraCluster, 2 objects for 1 context\n"
    );
}

/// `--format human`: the source line with a caret under the column, the related places and a
/// `help:` line (plain: stderr is not a terminal here).
#[test]
fn the_human_format_shows_the_line_a_caret_related_places_and_help() {
    for name in ["unknown-field", "yaml-syntax"] {
        let tmp = TempDir::new("human");
        copy_dir(&root().join("fixtures/invalid").join(name), tmp.path());
        let run = run_in(tmp.path(), &["validate", "--format", "human"]);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        insta::assert_snapshot!(format!("human__{name}"), run.stderr);
    }
    // A duplicate names the first definition, in the other file, with its own excerpt.
    let tmp = TempDir::new("human-duplicate");
    fs::write(tmp.path().join("a.yaml"), CLUSTER).unwrap();
    fs::write(tmp.path().join("b.yaml"), format!("# a copy\n{CLUSTER}")).unwrap();
    let run = run_in(tmp.path(), &["validate", "--format", "human"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!("human__duplicate", run.stderr);
    // The short form of the same problem keeps one line, with the related place in it.
    let run = run_in(tmp.path(), &["validate", "--format", "short"]);
    assert_eq!(
        run.stderr.lines().next().unwrap(),
        "b.yaml:5:3: error[E0301]: metadata.name: K8ssandraCluster default/demo is defined twice (first defined here: a.yaml:4:3)"
    );
}

/// Without `--format`, stderr that is not a terminal gets the one-line form (CI, pre-commit
/// output captured by a pipe, `render --check` in scripts).
#[test]
fn the_default_format_off_a_terminal_is_short() {
    let tmp = TempDir::new("default-format");
    copy_dir(&root().join("fixtures/invalid/unknown-field"), tmp.path());
    let default = run_in(tmp.path(), &["validate"]);
    let short = run_in(tmp.path(), &["validate", "--format", "short"]);
    assert_eq!(default.stderr, short.stderr);
    assert!(
        default
            .stderr
            .starts_with("cluster.yaml:18:9: error[E0201]: "),
        "{}",
        default.stderr
    );
}

/// `--format json`: one object per line on stderr, each with its code, and nothing else
/// (the closing count is left out; the exit code says it).
#[test]
fn the_json_format_is_one_parsable_object_per_problem_with_its_code() {
    let tmp = TempDir::new("json");
    copy_dir(&root().join("fixtures/invalid/unknown-field"), tmp.path());
    for command in [
        &["validate", "--format", "json"][..],
        &["render", "--format", "json"],
    ] {
        let run = run_in(tmp.path(), command);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let objects: Vec<serde_json::Value> = run
            .stderr
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
            .collect();
        assert_eq!(objects.len(), 2, "{}", run.stderr);
        for o in &objects {
            assert_eq!(o["code"], "E0201", "{o}");
            assert_eq!(o["severity"], "error", "{o}");
            assert_eq!(o["file"], "cluster.yaml", "{o}");
        }
        insta::assert_snapshot!("json__unknown-field", run.stderr);
    }
    assert!(!tmp.path().join("rendered").exists());
    // Problems about the output location, which have no file, are objects too.
    let tmp = TempDir::new("json-location");
    fs::write(tmp.path().join("cluster.yaml"), CLUSTER).unwrap();
    let run = run_in(tmp.path(), &["render", "-o", ".", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let objects: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    assert!(!objects.is_empty());
    assert!(
        objects
            .iter()
            .all(|o| o["code"] == "E0603" && o["file"].is_null()),
        "{}",
        run.stderr
    );
    // Those found at RenderConfig spec.outputDir are located there.
    fs::write(
        tmp.path().join("render-config.yaml"),
        "apiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata:\n  name: r\nspec:\n  outputDir: .\n",
    )
    .unwrap();
    let run = run_in(tmp.path(), &["render", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let o: serde_json::Value = serde_json::from_str(run.stderr.lines().next().unwrap()).unwrap();
    assert_eq!(
        (&o["code"], &o["file"], &o["line"], &o["path"]),
        (
            &"E0603".into(),
            &"render-config.yaml".into(),
            &6.into(),
            &"spec.outputDir".into()
        ),
        "{o}"
    );
}

/// On a terminal (a pty from util-linux `script`), the default is the human form, coloured
/// unless `NO_COLOR` is set.
#[cfg(unix)]
#[test]
fn the_default_format_on_a_terminal_is_human() {
    let Some(script) = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .map(std::path::Path::new)
        .find(|p| p.exists())
    else {
        crate::harness::skip("script (util-linux)");
        return;
    };
    let tmp = TempDir::new("tty");
    copy_dir(&root().join("fixtures/invalid/unknown-field"), tmp.path());
    let on_tty = |no_color: bool| {
        let mut cmd = std::process::Command::new(script);
        cmd.args(["-q", "-e", "-c"])
            .arg(format!(
                "{} validate",
                env!("CARGO_BIN_EXE_k8ssandra-gitops")
            ))
            .arg("/dev/null")
            .current_dir(tmp.path())
            .stdin(std::process::Stdio::null())
            .env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
    };
    let plain = on_tty(true);
    assert!(
        plain.contains(
            "error[E0201]: spec.cassandra.datacenters[0].serverversion: unknown field \"serverversion\"\n  --> cluster.yaml:18:9\n"
        ),
        "{plain}"
    );
    assert!(!plain.contains('\u{1b}'), "{plain}");
    assert!(on_tty(false).contains("\u{1b}["));
}
