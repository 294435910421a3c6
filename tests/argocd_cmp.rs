//! Argo CD's real config-management-plugin server (`argocd-cmp-server`, built from the Go module
//! proxy by `scripts/build-argocd-cmp-server`) running `argocd/plugin.yaml` with a PATH that holds
//! only BusyBox applets and our binary, as in the Alpine sidecar image; `tests/cmp-driver` calls
//! it over its unix socket the way Argo CD's repo-server does (plugin discovery, the repository
//! tarball, the Application's env and parameters).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{TempDir, copy_dir, root, run_in};

/// The directory with `argocd-cmp-server` and `cmp-driver`, or `None` (test skipped) when they
/// were not built and `K8SSANDRA_GITOPS_REQUIRE_TOOLS` is unset.
fn cmp_bin() -> Option<PathBuf> {
    let dir = std::env::var_os("ARGOCD_CMP_TEST_BIN")
        .map_or_else(|| root().join(".cache/argocd-cmp/bin"), PathBuf::from);
    if dir.join("argocd-cmp-server").is_file() && dir.join("cmp-driver").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("K8SSANDRA_GITOPS_REQUIRE_TOOLS").is_none(),
        "argocd-cmp-server/cmp-driver not found in {} (scripts/build-argocd-cmp-server builds them)",
        dir.display()
    );
    eprintln!("skipped: no argocd-cmp-server; scripts/test builds it");
    None
}

fn busybox() -> Option<PathBuf> {
    let found = std::env::var_os("BUSYBOX").map(PathBuf::from).or_else(|| {
        std::env::var("PATH")
            .unwrap_or_default()
            .split(':')
            .map(|d| Path::new(d).join("busybox"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("K8SSANDRA_GITOPS_REQUIRE_TOOLS").is_none(),
            "busybox not found (scripts/test installs Debian's busybox)"
        );
        eprintln!("skipped: no busybox; scripts/test installs it");
    }
    found
}

/// A running cmp-server with its own socket and work directories; killed on drop.
struct CmpServer {
    child: Child,
    sockets: PathBuf,
    bin: PathBuf,
    dir: TempDir,
}

impl Drop for CmpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl CmpServer {
    /// Starts the server on `plugin.yaml`, with PATH = BusyBox applets + k8ssandra-gitops only.
    fn start(bin: &Path, busybox: &Path, plugin_yaml: &Path) -> Self {
        let dir = TempDir::new("cmp");
        let path_dir = dir.path().join("bin");
        fs::create_dir_all(&path_dir).unwrap();
        let list = Command::new(busybox).arg("--list").output().unwrap();
        for applet in String::from_utf8_lossy(&list.stdout).split_whitespace() {
            std::os::unix::fs::symlink(busybox, path_dir.join(applet)).unwrap();
        }
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_k8ssandra-gitops"),
            path_dir.join("k8ssandra-gitops"),
        )
        .unwrap();
        let config = dir.path().join("config");
        fs::create_dir_all(&config).unwrap();
        fs::copy(plugin_yaml, config.join("plugin.yaml")).unwrap();
        let sockets = dir.path().join("plugins");
        let work = dir.path().join("work");
        fs::create_dir_all(&sockets).unwrap();
        fs::create_dir_all(&work).unwrap();
        let log = fs::File::create(dir.path().join("cmp-server.log")).unwrap();
        let child = Command::new(bin.join("argocd-cmp-server"))
            .args([
                "--config-dir-path",
                config.to_str().unwrap(),
                "--loglevel",
                "info",
            ])
            .env_clear()
            .env("PATH", &path_dir)
            .env("HOME", dir.path())
            .env("ARGOCD_PLUGINSOCKFILEPATH", &sockets)
            .env("ARGOCD_CMP_WORKDIR", &work)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("argocd-cmp-server starts");
        let server = Self {
            child,
            sockets,
            bin: bin.to_path_buf(),
            dir,
        };
        let socket = server.sockets.join("k8ssandra-gitops.sock");
        let start = Instant::now();
        while !socket.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "argocd-cmp-server did not create {}: {}",
                socket.display(),
                server.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("cmp-server.log")).unwrap_or_default()
    }

    /// Calls the server like the repo-server does for an Application with `source`; returns
    /// the source type Argo CD chose and the manifests, or the error the UI would show.
    fn call(&self, checkout: &Path, source: &Value) -> Result<(String, Vec<Value>), String> {
        let out = Command::new(self.bin.join("cmp-driver"))
            .args(["-repo", checkout.to_str().unwrap(), "-source"])
            .arg(source.to_string())
            .env("ARGOCD_PLUGINSOCKFILEPATH", &self.sockets)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        if !out.status.success() {
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            // The error the repo-server returns (what the UI shows); the lines before it are
            // Argo CD's client-side log.
            let at = if stderr.starts_with("error: ") {
                0
            } else {
                stderr.find("\nerror: ").map_or(0, |i| i + 1)
            };
            return Err(stderr[at..].to_string());
        }
        let mut lines = stdout.lines();
        let kind = lines
            .next()
            .and_then(|l| l.strip_prefix("type: "))
            .unwrap_or_else(|| panic!("no source type: {stdout}"))
            .to_string();
        let manifests = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
        Ok((kind, manifests))
    }
}

/// A checkout holding this project's example repository at `examples/`, with other files
/// around it as in a real repository.
fn checkout() -> TempDir {
    let t = TempDir::new("cmp-checkout");
    copy_dir(&root().join("examples"), &t.path().join("examples"));
    fs::create_dir_all(t.path().join("apps/web")).unwrap();
    fs::write(
        t.path().join("apps/web/deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n",
    )
    .unwrap();
    t
}

fn plugin_source(path: &str, context: Option<&str>) -> Value {
    let mut plugin = json!({"name": "k8ssandra-gitops"});
    if let Some(c) = context {
        plugin["env"] = json!([{"name": "K8S_CONTEXT", "value": c}]);
    }
    json!({"repoURL": "https://git.example.com/platform/cassandra.git", "targetRevision": "main", "path": path, "plugin": plugin})
}

/// What `render --context X --stdout` prints, as Argo CD reads it (one object per document).
fn rendered(repo: &Path, context: &str) -> Vec<Value> {
    let run = run_in(repo, &["render", ".", "--context", context, "--stdout"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    k8ssandra_gitops::dev_support::parse_stream(&run.stdout)
        .unwrap()
        .iter()
        .map(k8ssandra_gitops::dev_support::Node::to_json)
        .collect()
}

#[test]
fn the_real_cmp_server_renders_every_context_of_the_example_repository() {
    let (Some(bin), Some(busybox)) = (cmp_bin(), busybox()) else {
        return;
    };
    let server = CmpServer::start(&bin, &busybox, &root().join("argocd/plugin.yaml"));
    let repo = checkout();
    let examples = repo.path().join("examples");
    for context in ["control-plane", "eu-west-1", "us-east-1"] {
        let expected = rendered(&examples, context);
        assert!(!expected.is_empty());
        let got = server.call(repo.path(), &plugin_source("examples", Some(context)));
        assert_eq!(
            got,
            Ok(("Plugin".to_string(), expected.clone())),
            "{context}: {}",
            server.log()
        );
        // The plugin parameter, as the UI sets it, works the same way.
        let mut by_param = plugin_source("examples", None);
        by_param["plugin"]["parameters"] = json!([{"name": "context", "string": context}]);
        assert_eq!(
            server.call(repo.path(), &by_param),
            Ok(("Plugin".to_string(), expected))
        );
    }
}

#[test]
fn the_real_cmp_server_renders_for_a_subdirectory_application() {
    let (Some(bin), Some(busybox)) = (cmp_bin(), busybox()) else {
        return;
    };
    let server = CmpServer::start(&bin, &busybox, &root().join("argocd/plugin.yaml"));
    let repo = checkout();
    let expected = rendered(&repo.path().join("examples"), "eu-west-1");
    // The Application's path holds the K8ssandraClusters only: ClientConfigs and RenderConfig
    // live elsewhere in the repository.
    for path in ["examples/clusters", "examples/clusters/"] {
        assert_eq!(
            server.call(repo.path(), &plugin_source(path, Some("eu-west-1"))),
            Ok(("Plugin".to_string(), expected.clone())),
            "{path}: {}",
            server.log()
        );
    }
}

#[test]
fn applications_without_the_plugin_are_not_claimed() {
    let (Some(bin), Some(busybox)) = (cmp_bin(), busybox()) else {
        return;
    };
    let server = CmpServer::start(&bin, &busybox, &root().join("argocd/plugin.yaml"));
    let repo = checkout();
    let plain = |path: &str| json!({"repoURL": "https://git.example.com/x.git", "path": path});
    // Directories full of K8ssandraClusters, and the committed output with its record: Argo CD's
    // own discovery decides, the plugin never claims them.
    assert_eq!(
        server.call(repo.path(), &plain("examples")),
        Ok(("Directory".to_string(), vec![]))
    );
    assert_eq!(
        server.call(repo.path(), &plain("examples/clusters")),
        Ok(("Directory".to_string(), vec![]))
    );
    assert_eq!(
        server.call(repo.path(), &plain("examples/rendered/control-plane")),
        Ok(("Kustomize".to_string(), vec![]))
    );
    assert_eq!(
        server.call(repo.path(), &plain("apps/web")),
        Ok(("Directory".to_string(), vec![]))
    );
    // The generated ApplicationSet's source names its type: no discovery at all.
    let appset = fs::read_to_string(
        repo.path()
            .join("examples/rendered/argocd/applicationset-k8ssandra-gitops.yaml"),
    )
    .unwrap();
    let appset = k8ssandra_gitops::dev_support::parse_stream(&appset).unwrap()[0].to_json();
    let mut source = appset["spec"]["template"]["spec"]["source"].clone();
    source["path"] = json!("examples/rendered/control-plane");
    assert_eq!(
        server.call(repo.path(), &source),
        Ok(("Directory".to_string(), vec![]))
    );
}

#[test]
fn errors_reach_argo_cd_as_errors() {
    let (Some(bin), Some(busybox)) = (cmp_bin(), busybox()) else {
        return;
    };
    let server = CmpServer::start(&bin, &busybox, &root().join("argocd/plugin.yaml"));
    let repo = checkout();
    let err = |r: Result<(String, Vec<Value>), String>| r.expect_err("an error, not manifests");
    // No context.
    let e = err(server.call(repo.path(), &plugin_source("examples", None)));
    assert!(
        e.starts_with("error: error generating manifests in cmp: rpc error: code = Unknown desc = error generating manifests: `k8ssandra-gitops argocd generate` failed exit status 1: error: no context to render of Application \"cassandra-test\": set the plugin env K8S_CONTEXT"),
        "{e}"
    );
    // An unknown context: never an empty stream.
    let e = err(server.call(repo.path(), &plugin_source("examples", Some("us-east-2"))));
    assert!(
        e.contains("error: context \"us-east-2\" has no objects to render")
            && e.contains("(did you mean \"us-east-1\"?)"),
        "{e}"
    );
    // An invalid spec: the located problem.
    let spec = repo.path().join("examples/clusters/orders.yaml");
    fs::write(
        &spec,
        fs::read_to_string(&spec)
            .unwrap()
            .replace("size: 3\n        racks", "size: three\n        racks"),
    )
    .unwrap();
    let e = err(server.call(
        repo.path(),
        &plugin_source("examples/clusters", Some("us-east-1")),
    ));
    assert!(
        e.contains("clusters/orders.yaml:63:9: error[E0202]: spec.cassandra.datacenters[0].size: expected integer, found string \"three\"")
            && e.contains("nothing was written"),
        "{e}"
    );
    // A wrong plugin name is Argo CD's own error.
    let mut wrong = plugin_source("examples", Some("us-east-1"));
    wrong["plugin"]["name"] = json!("k8ssandra");
    let e = err(server.call(repo.path(), &wrong));
    assert!(
        e.starts_with("error: could not find cmp-server plugin with name \"k8ssandra\" supporting the given repository"),
        "{e}"
    );
}

#[test]
fn the_example_install_patches_the_tested_argo_cd_release() {
    let (Some(bin), Some(kustomize)) = (
        cmp_bin(),
        crate::harness::tool("KUSTOMIZE", ".cache/bin/kustomize"),
    ) else {
        return;
    };
    // argocd/ as committed, with the release's install.yaml from the module instead of the URL.
    let dir = TempDir::new("argocd-install");
    copy_dir(&root().join("argocd"), dir.path());
    let k = dir.path().join("kustomization.yaml");
    let text = fs::read_to_string(&k).unwrap();
    let url = "https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.8/manifests/install.yaml";
    assert!(
        text.contains(url),
        "argocd/kustomization.yaml should install the tested release"
    );
    fs::copy(bin.join("install.yaml"), dir.path().join("install.yaml")).unwrap();
    fs::write(&k, text.replace(url, "install.yaml")).unwrap();
    let out = Command::new(kustomize)
        .args(["build", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: Vec<Value> =
        k8ssandra_gitops::dev_support::parse_stream(&String::from_utf8(out.stdout).unwrap())
            .unwrap()
            .iter()
            .map(k8ssandra_gitops::dev_support::Node::to_json)
            .collect();
    let find = |kind: &str, name: &str| {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind}/{name} missing"))
    };
    let params = find("ConfigMap", "argocd-cmd-params-cm");
    assert_eq!(
        params["data"]["applicationsetcontroller.enable.progressive.syncs"],
        "true"
    );
    let cm = find("ConfigMap", "argocd-cm");
    assert!(
        cm["data"]["resource.customizations.health.medusa.k8ssandra.io_MedusaRestoreJob"]
            .is_string()
    );
    let repo_server = find("Deployment", "argocd-repo-server");
    let containers = repo_server["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    let sidecar = containers
        .iter()
        .find(|c| c["name"] == "k8ssandra-gitops")
        .expect("sidecar");
    assert_eq!(
        sidecar["command"],
        json!(["/var/run/argocd/argocd-cmp-server"])
    );
    // The patch merged into the stock Deployment: its own container and volumes are kept, and
    // every volume the sidecar mounts exists.
    assert!(containers.iter().any(|c| c["name"] == "argocd-repo-server"));
    let volumes: Vec<&str> = repo_server["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for m in sidecar["volumeMounts"].as_array().unwrap() {
        assert!(
            volumes.contains(&m["name"].as_str().unwrap()),
            "{m} in {volumes:?}"
        );
    }
    // The ApplicationSet controller reads the flag from that key.
    let appset = find("Deployment", "argocd-applicationset-controller");
    assert!(
        appset
            .to_string()
            .contains("\"key\":\"applicationsetcontroller.enable.progressive.syncs\""),
        "{appset}"
    );
}
