//! Runs the real binary and the strict manifest validator.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The vendored upstream data: CRDs, Kubernetes OpenAPI documents, conformance corpus, status
/// exports (see `data/upstream/README.md`).
pub fn upstream() -> PathBuf {
    root().join("data/upstream")
}

/// A test that needs an external program it cannot find: fails when
/// `K8SSANDRA_GITOPS_REQUIRE_TOOLS` is set (as `scripts/test` does), else says on the process's
/// stderr, which `cargo test` does not capture, which test was skipped and how to run it.
pub fn skip(needs: &str) {
    assert!(
        std::env::var_os("K8SSANDRA_GITOPS_REQUIRE_TOOLS").is_none(),
        "{needs} not found (scripts/test installs it)"
    );
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {test}: needs {needs} (run scripts/test)"
    );
}

/// The program at `$env`, else at `installed` below the crate root (where `scripts/test` puts
/// it); `None` after [`skip`] when it is missing.
pub fn tool(env: &str, installed: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env).map_or_else(|| root().join(installed), PathBuf::from);
    if path.is_file() {
        return Some(path);
    }
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    skip(&format!("{name} (${env} or {})", path.display()));
    None
}

/// A finished run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `k8ssandra-gitops ARGS` in `cwd` with a fixed environment and stdin closed.
pub fn run_in(cwd: &Path, args: &[&str]) -> Run {
    run_env(cwd, args, &[])
}

/// Like [`run_in`] with extra environment variables.
pub fn run_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_k8ssandra-gitops"));
    cmd.args(args).current_dir(cwd).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("binary runs").into()
}

/// A fresh temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "k8ssandra-gitops-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file below `dir` as `(relative path, content)`, sorted; dotfiles included.
pub fn read_tree(dir: &Path) -> Vec<(String, String)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// The tree as one text for a snapshot.
pub fn tree_text(dir: &Path) -> String {
    read_tree(dir)
        .into_iter()
        .map(|(p, c)| format!("=== {p}\n{c}"))
        .collect()
}

/// Checks every object below the given paths strictly, in process, against the vendored upstream
/// CRDs and Kubernetes OpenAPI documents (see the crate's `schema_tools` module), and asserts that
/// nothing is wrong. One validator serves the whole test run, so each schema is built once.
pub fn assert_valid_manifests(paths: &[&Path]) {
    use k8ssandra_gitops::dev_support::ManifestValidator;
    // One validator for the whole run (schemas are compiled on first use and kept). Besides
    // the vendored upstream data it knows KSOPS's generator configuration (tests/schemas), a
    // kind upstream ships no CRD for.
    static VALIDATOR: std::sync::OnceLock<ManifestValidator> = std::sync::OnceLock::new();
    let report = VALIDATOR
        .get_or_init(|| {
            ManifestValidator::new(&upstream()).with_crd_dir(&root().join("tests/schemas"))
        })
        .validate(paths);
    assert!(
        report.problems.is_empty(),
        "strict validation failed ({} objects):\n{}",
        report.objects,
        report.problems.join("\n")
    );
    assert!(report.objects > 0, "no objects found in {paths:?}");
}

pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every problem: a Secret with `data`/`stringData` whose values are not all SOPS-encrypted.
pub fn plaintext_secrets(dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let docs = k8ssandra_gitops::dev_support::parse_stream(&text)
                .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.message));
            for doc in docs {
                let v = doc.to_json();
                if v["kind"] != "Secret" {
                    continue;
                }
                let encrypted = v.get("sops").is_some_and(serde_json::Value::is_object);
                for key in ["data", "stringData"] {
                    let Some(values) = v.get(key).and_then(serde_json::Value::as_object) else {
                        continue;
                    };
                    for (k, value) in values {
                        let sealed = value.as_str().is_some_and(|s| s.starts_with("ENC["));
                        if !(encrypted && sealed) {
                            problems.push(format!(
                                "{}: Secret {}: {key}.{k} is not SOPS-encrypted",
                                path.display(),
                                v["metadata"]["name"]
                            ));
                        }
                    }
                }
            }
        }
    }
    problems
}

/// Fails the test when any Secret under `dir` carries plaintext data.
pub fn assert_no_plaintext_secrets(dir: &Path) {
    let problems = plaintext_secrets(dir);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
