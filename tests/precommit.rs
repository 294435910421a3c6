//! The hooks of `.pre-commit-hooks.yaml` under the real `pre-commit`, in a temporary git
//! repository: a spec changed without re-rendering fails the commit with a diff; after `render`
//! the commit goes through.
//!
//! Hermetic: the hook repository is a local git repository holding this checkout's
//! `.pre-commit-hooks.yaml`, `PRE_COMMIT_HOME` is temporary, and the `-system` hooks run the
//! binary built for the tests (put first on PATH). The `language: rust` hooks are checked to be
//! the `-system` hooks with only `language` (and id/description) changed, and one of them runs
//! for real: pre-commit `cargo install`s this crate (default features: the lean CLI) from a
//! hook repository holding this checkout, into a persistent target directory
//! (`.cache/precommit-rust-target`) so that only the first run compiles the dependencies.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::harness::tool;
use crate::harness::{TempDir, root};

const BIN: &str = env!("CARGO_BIN_EXE_k8ssandra-gitops");

fn pre_commit() -> Option<PathBuf> {
    tool("PRE_COMMIT_BIN", ".cache/precommit-venv/bin/pre-commit")
}

struct Out {
    ok: bool,
    text: String,
}

/// Runs a command in `dir` with a controlled environment: our binary first on PATH, no user
/// or system git configuration, a fixed identity, a private pre-commit cache.
fn run(dir: &Path, home: &Path, program: &Path, args: &[&str]) -> Out {
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", home.join("pre-commit"))
        // The `language: rust` hook's `cargo install`: a persistent target directory keeps
        // later runs incremental (only the first one compiles the dependencies).
        .env("CARGO_TARGET_DIR", rust_hook_target())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .env_remove("PRE_COMMIT")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("command runs");
    Out {
        ok: out.status.success(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn git(dir: &Path, home: &Path, args: &[&str]) -> Out {
    run(dir, home, Path::new("git"), args)
}

fn must(out: Out, what: &str) -> String {
    assert!(out.ok, "{what} failed:\n{}", out.text);
    out.text
}

fn hooks() -> Vec<Value> {
    let text = fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap();
    let docs = k8ssandra_gitops::dev_support::parse_stream(&text).unwrap();
    docs[0]
        .to_json()
        .as_array()
        .expect("a list of hooks")
        .clone()
}

#[test]
fn hooks_file_is_valid_and_rust_hooks_mirror_system_hooks() {
    let Some(pre_commit) = pre_commit() else {
        return;
    };
    let home = TempDir::new("precommit-home");
    must(
        run(
            &root(),
            home.path(),
            &pre_commit,
            &["validate-manifest", ".pre-commit-hooks.yaml"],
        ),
        "pre-commit validate-manifest",
    );
    let hooks = hooks();
    let ids: Vec<&str> = hooks.iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "k8ssandra-gitops-check",
            "k8ssandra-gitops-render",
            "k8ssandra-gitops-check-system",
            "k8ssandra-gitops-render-system"
        ]
    );
    for hook in &hooks {
        assert_eq!(hook["pass_filenames"], false, "{hook}");
        assert_eq!(hook["require_serial"], true, "{hook}");
    }
    assert_eq!(
        hooks[0]["entry"],
        "k8ssandra-gitops render --check --format short"
    );
    for (rust, system) in [(&hooks[0], &hooks[2]), (&hooks[1], &hooks[3])] {
        assert_eq!(rust["language"], "rust");
        assert_eq!(system["language"], "system");
        let strip = |h: &Value| {
            let mut h = h.clone();
            for k in ["id", "language", "description"] {
                h.as_object_mut().unwrap().remove(k);
            }
            h
        };
        assert_eq!(strip(rust), strip(system));
    }
}

/// A user repository with the example specs rendered and committed, whose pre-commit config
/// uses `hook` from a local hook repository holding this checkout's hooks file.
struct UserRepo {
    _tmp: TempDir,
    home: PathBuf,
    repo: PathBuf,
    pre_commit: PathBuf,
}

/// Where the `language: rust` hooks build (see [`run`]).
fn rust_hook_target() -> PathBuf {
    root().join(".cache/precommit-rust-target")
}

/// Copies this checkout's files (tracked, or new and not ignored) to `to`: what pre-commit
/// clones from the hook repository.
fn copy_checkout(to: &Path, home: &Path) {
    let listed = must(
        git(
            &root(),
            home,
            &[
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
        ),
        "git ls-files",
    );
    for rel in listed.split('\0').filter(|r| !r.is_empty()) {
        let from = root().join(rel);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let dest = to.join(rel);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::copy(&from, &dest).unwrap();
    }
}

impl UserRepo {
    fn new(pre_commit: PathBuf, hook: &str) -> Self {
        Self::with_hooks(pre_commit, hook, false)
    }

    /// `whole_crate`: the hook repository holds this whole crate (for `language: rust`, which
    /// builds it), not only `.pre-commit-hooks.yaml`.
    fn with_hooks(pre_commit: PathBuf, hook: &str, whole_crate: bool) -> Self {
        let tmp = TempDir::new("precommit");
        let home = tmp.path().join("home");
        let hooks_repo = tmp.path().join("hooks");
        let repo = tmp.path().join("repo");
        for d in [&home, &hooks_repo, &repo] {
            fs::create_dir_all(d).unwrap();
        }
        if whole_crate {
            copy_checkout(&hooks_repo, &home);
        } else {
            fs::copy(
                root().join(".pre-commit-hooks.yaml"),
                hooks_repo.join(".pre-commit-hooks.yaml"),
            )
            .unwrap();
        }
        must(git(&hooks_repo, &home, &["init", "-q"]), "git init");
        must(git(&hooks_repo, &home, &["add", "-A"]), "git add");
        must(
            git(&hooks_repo, &home, &["commit", "-q", "-m", "hooks"]),
            "git commit",
        );
        let rev = must(git(&hooks_repo, &home, &["rev-parse", "HEAD"]), "rev-parse");

        for rel in [
            "clusters/orders.yaml",
            "contexts/clientconfigs.yaml",
            "render-config.yaml",
        ] {
            let to = repo.join(rel);
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::copy(root().join("examples").join(rel), to).unwrap();
        }
        fs::write(
            repo.join(".pre-commit-config.yaml"),
            format!(
                "repos:\n- repo: {}\n  rev: {}\n  hooks:\n  - id: {hook}\n",
                hooks_repo.display(),
                rev.trim()
            ),
        )
        .unwrap();
        let this = Self {
            _tmp: tmp,
            home,
            repo,
            pre_commit,
        };
        must(git(&this.repo, &this.home, &["init", "-q"]), "git init");
        must(
            run(&this.repo, &this.home, &this.pre_commit, &["install"]),
            "pre-commit install",
        );
        this.render();
        let first = this.commit("specs and their rendered output");
        assert!(first.ok, "the first commit is up to date:\n{}", first.text);
        this
    }

    fn render(&self) {
        must(
            run(&self.repo, &self.home, Path::new(BIN), &["render"]),
            "render",
        );
    }

    /// `git add -A && git commit`, through the installed hook.
    fn commit(&self, message: &str) -> Out {
        must(git(&self.repo, &self.home, &["add", "-A"]), "git add");
        git(&self.repo, &self.home, &["commit", "-m", message])
    }

    fn head(&self) -> String {
        must(
            git(&self.repo, &self.home, &["rev-parse", "HEAD"]),
            "rev-parse",
        )
    }

    /// Changes the first datacenter's size from 3 to 4.
    fn resize(&self) {
        let path = self.repo.join("clusters/orders.yaml");
        let text = fs::read_to_string(&path).unwrap();
        let changed = text.replacen("size: 3", "size: 4", 1);
        assert_ne!(changed, text);
        fs::write(path, changed).unwrap();
    }
}

#[test]
fn check_hook_fails_a_commit_with_stale_output_and_passes_after_render() {
    let Some(pre_commit) = pre_commit() else {
        return;
    };
    let user = UserRepo::new(pre_commit, "k8ssandra-gitops-check-system");
    let before = user.head();

    user.resize();
    let stale = user.commit("resize without rendering");
    assert!(
        !stale.ok,
        "commit with stale output went through:\n{}",
        stale.text
    );
    assert_eq!(user.head(), before, "no commit was made");
    // pre-commit shows the hook's name, its failure, and the diff the hook printed.
    assert!(
        stale.text.contains("rendered manifests are up to date"),
        "{}",
        stale.text
    );
    assert!(stale.text.contains("Failed"), "{}", stale.text);
    assert!(
        stale.text.contains("-  size: 3\n+  size: 4\n"),
        "{}",
        stale.text
    );
    assert!(stale.text.contains("is out of date"), "{}", stale.text);

    user.render();
    let fixed = user.commit("resize, rendered");
    assert!(fixed.ok, "{}", fixed.text);
    assert!(fixed.text.contains("Passed"), "{}", fixed.text);
    assert_ne!(user.head(), before);
    let status = must(
        git(&user.repo, &user.home, &["status", "--porcelain"]),
        "status",
    );
    assert_eq!(status, "", "everything is committed");
}

#[test]
fn render_hook_rewrites_the_output_and_fails_until_it_is_staged() {
    let Some(pre_commit) = pre_commit() else {
        return;
    };
    let user = UserRepo::new(pre_commit, "k8ssandra-gitops-render-system");
    let before = user.head();

    user.resize();
    let stale = user.commit("resize without rendering");
    assert!(!stale.ok, "{}", stale.text);
    assert!(
        stale.text.contains("files were modified by this hook"),
        "{}",
        stale.text
    );
    assert_eq!(user.head(), before);

    // The hook re-rendered: staging its output lets the commit through.
    let again = user.commit("resize, rendered by the hook");
    assert!(again.ok, "{}", again.text);
    assert_ne!(user.head(), before);
}

#[test]
fn rust_hook_builds_the_lean_cli_and_fails_a_stale_commit() {
    let Some(pre_commit) = pre_commit() else {
        return;
    };
    // pre-commit runs `cargo install --bins --root <env> --path .` in its clone of this
    // repository: the default features, which must be the lean CLI.
    let user = UserRepo::with_hooks(pre_commit, "k8ssandra-gitops-check", true);
    let installed: Vec<PathBuf> = fs::read_dir(user.home.join("pre-commit"))
        .unwrap()
        .filter_map(|e| {
            let p = e
                .unwrap()
                .path()
                .join("rustenv-system/bin/k8ssandra-gitops");
            p.is_file().then_some(p)
        })
        .collect();
    assert_eq!(
        installed.len(),
        1,
        "pre-commit built the binary: {installed:?}"
    );
    // What the build compiled: no reporter stack (kube, tokio, rustls, ring), no libgit2, and
    // no C compiler (`cc`) anywhere.
    let mut crates: Vec<String> = fs::read_dir(rust_hook_target().join("release/.fingerprint"))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.rsplit_once('-')
                .map_or(name.clone(), |(c, _)| c.to_string())
        })
        .collect();
    crates.sort();
    crates.dedup();
    for heavy in [
        "kube",
        "kube-client",
        "tokio",
        "rustls",
        "ring",
        "git2",
        "libgit2-sys",
        "cc",
    ] {
        assert!(
            !crates.iter().any(|c| c == heavy),
            "{heavy} was built: {crates:?}"
        );
    }
    assert!(crates.iter().any(|c| c == "clap"), "{crates:?}");

    let before = user.head();
    user.resize();
    let stale = user.commit("resize without rendering");
    assert!(!stale.ok, "{}", stale.text);
    assert!(
        stale.text.contains("-  size: 3\n+  size: 4\n"),
        "{}",
        stale.text
    );
    assert_eq!(user.head(), before);
    user.render();
    let fixed = user.commit("resize, rendered");
    assert!(fixed.ok, "{}", fixed.text);
}
