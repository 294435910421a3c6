//! Real Kubernetes API servers (built from the Go module proxy by
//! `scripts/build-kube-test-env`, started here on loopback ports with their own etcd) accept
//! every rendered object of the example repository and of every render fixture: CRDs from
//! `data/upstream/crds/` installed as the operators' release builds install them, then each
//! context's tree applied with server-side apply, as Argo CD and Flux do (a server dry run with
//! strict field validation for the fixtures). A rendered object the API server rejects fails the
//! suite.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{TempDir, root, upstream};

/// The directory with `kube-apiserver`, `etcd` and `kubectl`, or `None` (test skipped) when
/// they were not built and `K8SSANDRA_GITOPS_REQUIRE_TOOLS` is unset.
pub(crate) fn kube_bin() -> Option<PathBuf> {
    let dir = std::env::var_os("KUBE_TEST_BIN")
        .map_or_else(|| root().join(".cache/kube/bin"), PathBuf::from);
    if ["kube-apiserver", "etcd", "kubectl"]
        .iter()
        .all(|b| dir.join(b).is_file())
    {
        return Some(dir);
    }
    crate::harness::skip(&format!(
        "kube-apiserver, etcd and kubectl in {} (scripts/build-kube-test-env builds them)",
        dir.display()
    ));
    None
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One API server with its etcd; both are killed on drop.
pub(crate) struct ApiServer {
    children: Vec<Child>,
    pub(crate) kubeconfig: PathBuf,
    api_args: Vec<String>,
    bin: PathBuf,
    port: u16,
    _dir: TempDir,
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl ApiServer {
    pub(crate) fn start(bin: &Path, name: &str) -> Self {
        let dir = TempDir::new(&format!("apiserver-{name}"));
        let d = dir.path();
        let (etcd_port, peer_port, api_port) = (free_port(), free_port(), free_port());
        let log = |n: &str| fs::File::create(d.join(n)).unwrap();
        let etcd = Command::new(bin.join("etcd"))
            .args([
                "--data-dir",
                d.join("etcd").to_str().unwrap(),
                "--listen-client-urls",
                &format!("http://127.0.0.1:{etcd_port}"),
                "--advertise-client-urls",
                &format!("http://127.0.0.1:{etcd_port}"),
                "--listen-peer-urls",
                &format!("http://127.0.0.1:{peer_port}"),
                "--initial-advertise-peer-urls",
                &format!("http://127.0.0.1:{peer_port}"),
                "--initial-cluster",
                &format!("default=http://127.0.0.1:{peer_port}"),
                "--log-level",
                "warn",
            ])
            .stdout(log("etcd.log"))
            .stderr(log("etcd.err"))
            .spawn()
            .expect("etcd starts");
        let key = d.join("sa.key");
        let ok = Command::new("openssl")
            .args(["genrsa", "-out", key.to_str().unwrap(), "2048"])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "openssl genrsa");
        fs::write(
            d.join("tokens.csv"),
            // An administrator, a user with no permissions (for the RBAC-denied case) and two
            // more administrators for the reporter's credential rotation.
            "admin-token,admin,1,\"system:masters\"\nnobody-token,nobody,2\nrotate-a-token,rotator-a,3,\"system:masters\"\nrotate-b-token,rotator-b,4,\"system:masters\"\n",
        )
        .unwrap();
        let api_args: Vec<String> = [
            &format!("--etcd-servers=http://127.0.0.1:{etcd_port}"),
            &format!("--secure-port={api_port}"),
            "--bind-address=127.0.0.1",
            &format!("--cert-dir={}", d.join("certs").display()),
            &format!("--token-auth-file={}", d.join("tokens.csv").display()),
            "--authorization-mode=RBAC",
            &format!("--service-account-key-file={}", key.display()),
            &format!("--service-account-signing-key-file={}", key.display()),
            "--service-account-issuer=https://kubernetes.default.svc",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--disable-admission-plugins=ServiceAccount",
            "--enable-priority-and-fairness=false",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
        let api = Command::new(bin.join("kube-apiserver"))
            .args(&api_args)
            .stdout(log("apiserver.log"))
            .stderr(log("apiserver.err"))
            .spawn()
            .expect("kube-apiserver starts");
        let kubeconfig = d.join("kubeconfig");
        fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster: {{server: \"https://127.0.0.1:{api_port}\", insecure-skip-tls-verify: true}}\nusers:\n- name: admin\n  user: {{token: admin-token}}\ncontexts:\n- name: {name}\n  context: {{cluster: {name}, user: admin}}\ncurrent-context: {name}\n"
            ),
        )
        .unwrap();
        let server = Self {
            children: vec![etcd, api],
            kubeconfig,
            api_args,
            bin: bin.to_path_buf(),
            port: api_port,
            _dir: dir,
        };
        server.wait_ready(name);
        server
    }

    /// A kubeconfig for this server with the given token (for ClientConfig Secrets).
    fn kubeconfig_for(&self, name: &str, token: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster: {{server: \"https://127.0.0.1:{}\", insecure-skip-tls-verify: true}}\nusers:\n- name: u\n  user: {{token: {token}}}\ncontexts:\n- name: {name}\n  context: {{cluster: {name}, user: u}}\ncurrent-context: {name}\n",
            self.port
        )
    }

    /// Stops the API server (etcd keeps running).
    fn stop_api(&mut self) {
        let mut api = self.children.pop().expect("api server");
        let _ = api.kill();
        let _ = api.wait();
    }

    /// Starts the API server again on the same port and etcd.
    fn start_api(&mut self, name: &str) {
        let d = self._dir.path();
        let log = |n: &str| fs::File::create(d.join(n)).unwrap();
        let api = Command::new(self.bin.join("kube-apiserver"))
            .args(&self.api_args)
            .stdout(log("apiserver2.log"))
            .stderr(log("apiserver.err"))
            .spawn()
            .expect("kube-apiserver restarts");
        self.children.push(api);
        self.wait_ready(name);
    }

    /// Revokes a token: the API server restarts without it (which also ends every open
    /// connection made with it).
    fn revoke_token(&mut self, name: &str, token: &str) {
        let file = self._dir.path().join("tokens.csv");
        let kept: String = fs::read_to_string(&file)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with(&format!("{token},")))
            .map(|l| format!("{l}\n"))
            .collect();
        fs::write(&file, kept).unwrap();
        self.stop_api();
        self.start_api(name);
    }

    fn wait_ready(&self, name: &str) {
        let bin = self.bin.clone();
        let server = self;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let out = server.kubectl(&bin, &["get", "--raw", "/readyz"]);
            if out.0 && out.1.trim() == "ok" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: API server not ready: {}\n{}",
                out.2,
                fs::read_to_string(d_err(server)).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    pub(crate) fn kubectl(&self, bin: &Path, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(bin.join("kubectl"))
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .args(args)
            .output()
            .expect("kubectl runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn d_err(s: &ApiServer) -> PathBuf {
    s._dir.path().join("apiserver.err")
}

/// Server-side apply of a kustomization. The API server publishes a new CRD's schema to its
/// apply machinery asynchronously after `Established`; until then applies can be checked
/// against a stale type, so a failed apply is retried for a while.
fn apply_retrying(s: &ApiServer, bin: &Path, dir: &Path) -> (bool, String, String) {
    apply_retrying_with(s, bin, dir, &[])
}

/// [`apply_retrying`] with extra kubectl arguments.
fn apply_retrying_with(
    s: &ApiServer,
    bin: &Path,
    dir: &Path,
    extra: &[&str],
) -> (bool, String, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut args = vec![
            "apply",
            "--server-side",
            "--field-manager=argocd",
            "-k",
            dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let r = s.kubectl(bin, &args);
        if r.0 || Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

pub(crate) fn kubectl_ok(s: &ApiServer, bin: &Path, args: &[&str]) -> String {
    let (ok, out, err) = s.kubectl(bin, args);
    assert!(ok, "kubectl {args:?}: {err}");
    out
}

pub(crate) fn kubectl_stdin(s: &ApiServer, bin: &Path, args: &[&str], input: &str) {
    use std::io::Write as _;
    let mut child = Command::new(bin.join("kubectl"))
        .arg(format!("--kubeconfig={}", s.kubeconfig.display()))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The vendored upstream CRDs (`data/upstream/crds`) as the operators' release builds install
/// them: `schema_tools::release_form` applies cass-operator's release patches
/// (`config_removal.yaml`, `remove_xkeys.yaml`) to the generated CassandraDatacenter CRD, which
/// is not installable as is for objects with a `config` mapping; see the directory's SOURCE.md.
pub(crate) fn install_crds(s: &ApiServer, bin: &Path) {
    let dir = TempDir::new("crds");
    for entry in fs::read_dir(upstream().join("crds")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let (mut crd, _) = k8ssandra_gitops::dev_support::read_crd(&path).unwrap();
        k8ssandra_gitops::dev_support::release_form(&mut crd).unwrap();
        let name = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".yaml", ".json");
        fs::write(dir.path().join(name), crd.to_string()).unwrap();
    }
    kubectl_ok(
        s,
        bin,
        &[
            "apply",
            "--server-side",
            "--field-manager=test",
            "-f",
            dir.path().to_str().unwrap(),
        ],
    );
    kubectl_ok(
        s,
        bin,
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd",
            "--all",
        ],
    );
}

/// Every apply unit (a directory with a `kustomization.yaml`) below `dir`, sorted.
fn apply_units(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("kustomization.yaml").is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    for e in entries {
        apply_units(&e, out);
    }
}

/// Objects (non-kustomization YAML documents) below `dir`, and the namespaces they name.
fn objects_and_namespaces(dir: &Path) -> (usize, std::collections::BTreeSet<String>) {
    let mut count = 0;
    let mut namespaces = std::collections::BTreeSet::new();
    for (rel, text) in crate::harness::read_tree(dir) {
        if !rel.ends_with(".yaml") || rel.ends_with("kustomization.yaml") {
            continue;
        }
        for doc in k8ssandra_gitops::dev_support::parse_stream(&text).unwrap() {
            let json = doc.to_json();
            if json.is_null() {
                continue;
            }
            count += 1;
            if let Some(ns) = json["metadata"]["namespace"].as_str() {
                namespaces.insert(ns.to_string());
            }
        }
    }
    (count, namespaces)
}

/// SOPS-encrypted Secrets reach the API server decrypted: Flux's kustomize-controller (or
/// Argo CD with a SOPS plugin) decrypts them and drops the `sops` block before applying. The test
/// has no key, so each encrypted value is replaced by a stand-in of the same shape.
fn decrypt_sops_secrets_as_delivery_does(dir: &Path) {
    for (rel, text) in crate::harness::read_tree(dir) {
        if !rel.ends_with(".yaml") {
            continue;
        }
        let docs = k8ssandra_gitops::dev_support::parse_stream(&text).unwrap();
        let [doc] = docs.as_slice() else { continue };
        let mut json = doc.to_json();
        if json["kind"] != "Secret" || json.get("sops").is_none() {
            continue;
        }
        json.as_object_mut().unwrap().remove("sops");
        for field in ["data", "stringData"] {
            if let Some(values) = json.get_mut(field).and_then(|v| v.as_object_mut()) {
                for v in values.values_mut() {
                    // "decrypted" in base64, valid for both fields.
                    *v = serde_json::Value::from("ZGVjcnlwdGVk");
                }
            }
        }
        fs::write(dir.join(rel), json.to_string()).unwrap();
    }
    // Under Argo CD the KSOPS generator turns the listed copies into the decrypted Secrets:
    // here they become plain resources of the kustomization (decrypted above).
    for (rel, text) in crate::harness::read_tree(dir) {
        if !rel.ends_with("kustomization.yaml") {
            continue;
        }
        let mut k = k8ssandra_gitops::dev_support::parse_stream(&text).unwrap()[0].to_json();
        let Some(generators) = k.get("generators").and_then(|g| g.as_array()).cloned() else {
            continue;
        };
        let base = dir.join(&rel).parent().unwrap().to_path_buf();
        let mut resources = k["resources"].as_array().cloned().unwrap_or_default();
        for g in &generators {
            let gen_text = fs::read_to_string(base.join(g.as_str().unwrap())).unwrap();
            let generator =
                k8ssandra_gitops::dev_support::parse_stream(&gen_text).unwrap()[0].to_json();
            assert_eq!(generator["kind"], "ksops", "{rel}: unexpected generator");
            resources.extend(generator["files"].as_array().cloned().unwrap_or_default());
        }
        k["resources"] = serde_json::Value::Array(resources);
        k.as_object_mut().unwrap().remove("generators");
        fs::write(dir.join(&rel), k.to_string()).unwrap();
        fs::remove_file(base.join("ksops-generator.yaml")).ok();
    }
}

#[test]
fn a_real_api_server_accepts_every_rendered_fixture_and_example_object_strictly() {
    let Some(bin) = kube_bin() else { return };
    // Render every fixture the snapshot test renders; the example's output is committed.
    let work = TempDir::new("apiserver-fixtures");
    let example = work.path().join("examples");
    crate::harness::copy_dir(&root().join("examples/rendered"), &example);
    let mut trees = vec![example];
    let mut cases: Vec<PathBuf> = fs::read_dir(root().join("fixtures/render"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    for case in &cases {
        let out = work.path().join(case.file_name().unwrap());
        let run = crate::harness::run_in(case, &["render", ".", "-o", out.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{}: {}", case.display(), run.stderr);
        trees.push(out);
    }
    for tree in &trees {
        decrypt_sops_secrets_as_delivery_does(tree);
    }
    let server = ApiServer::start(&bin, "strict");
    install_crds(&server, &bin);
    let mut namespaces = std::collections::BTreeSet::new();
    let mut expected = 0;
    for tree in &trees {
        let (n, ns) = objects_and_namespaces(tree);
        expected += n;
        namespaces.extend(ns);
    }
    // Dry-run creates still need their namespace to exist.
    for ns in &namespaces {
        kubectl_ok(&server, &bin, &["create", "namespace", ns]);
    }
    let mut applied = 0;
    let mut rejected = Vec::new();
    for tree in &trees {
        let mut units = Vec::new();
        apply_units(tree, &mut units);
        assert!(!units.is_empty(), "{}: no kustomization", tree.display());
        for unit in units {
            // Server-side apply, dry run, unknown or duplicate fields refused
            // (`--validate=strict` is kubectl's fieldValidation=Strict).
            let (ok, out, err) = apply_retrying_with(
                &server,
                &bin,
                &unit,
                &["--dry-run=server", "--validate=strict"],
            );
            if ok {
                applied += out
                    .lines()
                    .filter(|l| l.ends_with("serverside-applied (server dry run)"))
                    .count();
            } else {
                rejected.push(format!("{}: {err}", unit.display()));
            }
        }
    }
    assert!(
        rejected.is_empty(),
        "the API server rejected:\n{}",
        rejected.join("\n")
    );
    assert_eq!(applied, expected, "every rendered object was applied");
    assert!(expected > 200, "objects: {expected}");
    // The same call refuses an unknown field: the checks above are strict.
    let bad = work.path().join("bad");
    fs::create_dir_all(&bad).unwrap();
    fs::write(bad.join("kustomization.yaml"), "resources: [cm.yaml]\n").unwrap();
    fs::write(
        bad.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\ndataa: {a: b}\n",
    )
    .unwrap();
    let (ok, _, err) = server.kubectl(
        &bin,
        &[
            "apply",
            "--server-side",
            "--field-manager=argocd",
            "-k",
            bad.to_str().unwrap(),
            "--dry-run=server",
            "--validate=strict",
        ],
    );
    assert!(!ok && err.contains("dataa"), "{err}");
}

#[test]
fn a_real_api_server_accepts_every_rendered_example_object() {
    let Some(bin) = kube_bin() else { return };
    let server = ApiServer::start(&bin, "control-plane");
    install_crds(&server, &bin);
    let (ok, _, err) = server.kubectl(&bin, &["create", "namespace", "k8ssandra"]);
    assert!(ok, "{err}");
    let (ok, _, err) = server.kubectl(&bin, &["create", "namespace", "argocd"]);
    assert!(ok, "{err}");
    let (ok, _, err) = server.kubectl(&bin, &["create", "namespace", "flux-system"]);
    assert!(ok, "{err}");
    let (ok, _, err) = server.kubectl(&bin, &["create", "namespace", "k8ssandra-operator"]);
    assert!(ok, "{err}");
    let rendered = root().join("examples/rendered");
    let mut applied = 0;
    for entry in fs::read_dir(&rendered).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("kustomization.yaml").is_file() {
            continue;
        }
        let (ok, out, err) = apply_retrying(&server, &bin, &dir);
        assert!(ok, "{}: {err}", dir.display());
        applied += out
            .lines()
            .filter(|l| l.ends_with("serverside-applied"))
            .count();
    }
    let expected: usize = fs::read_to_string(rendered.join(".k8ssandra-gitops-owned"))
        .unwrap()
        .lines()
        .filter(|l| l.ends_with(".yaml") && !l.ends_with("kustomization.yaml"))
        .count();
    assert_eq!(applied, expected, "every rendered object was applied");
    // Stored as rendered: a CassandraDatacenter reads back with our annotations and size.
    let (ok, out, err) = server.kubectl(
        &bin,
        &[
            "get",
            "cassandradatacenter",
            "-n",
            "k8ssandra",
            "reporting",
            "-o",
            "jsonpath={.spec.size} {.metadata.annotations.argocd\\.argoproj\\.io/sync-wave}",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out, "1 20");
}

const REPORTER_NS: &str = "k8ssandra-operator";

/// A two-datacenter cluster over the `east` and `west` servers, rendered by the binary.
const SPEC: &str = "apiVersion: k8ssandra.io/v1alpha1
kind: K8ssandraCluster
metadata:
  name: shop
  namespace: db
spec:
  cassandra:
    serverVersion: \"4.1.5\"
    storageConfig:
      cassandraDataVolumeClaimSpec:
        resources:
          requests:
            storage: 1Gi
    datacenters:
      - metadata: {name: dc1}
        k8sContext: east
        size: 3
      - metadata: {name: dc2}
        k8sContext: west
        size: 1
";

fn dc_status(ready: bool) -> String {
    format!(
        "{{\"status\":{{\"cassandraOperatorProgress\":\"{}\",\"observedGeneration\":1,\"conditions\":[{{\"type\":\"Ready\",\"status\":\"{}\",\"reason\":\"\",\"message\":\"\",\"lastTransitionTime\":\"2026-11-24T00:00:00Z\"}}],\"nodeStatuses\":{{\"shop-dc1-default-sts-0\":{{\"hostID\":\"a\"}}}}}}}}",
        if ready { "Ready" } else { "Updating" },
        if ready { "True" } else { "False" }
    )
}

/// Sets a CassandraDatacenter's status as cass-operator would (ready or still updating).
fn set_dc_status(s: &ApiServer, bin: &Path, dc: &str, ready: bool) {
    kubectl_ok(
        s,
        bin,
        &[
            "patch",
            "cassandradatacenter",
            "-n",
            "db",
            dc,
            "--subresource=status",
            "--type=merge",
            "-p",
            &dc_status(ready),
        ],
    );
}

fn reporter(cp: &ApiServer, extra: &[&str]) -> crate::harness::Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_k8ssandra-gitops"));
    cmd.args(["reporter", "--namespace", REPORTER_NS])
        .args(extra)
        .env("KUBECONFIG", &cp.kubeconfig)
        .stdin(Stdio::null());
    cmd.output().expect("reporter runs").into()
}

fn kc_status(cp: &ApiServer, bin: &Path) -> serde_json::Value {
    let out = kubectl_ok(
        cp,
        bin,
        &["get", "k8ssandracluster", "-n", "db", "shop", "-o", "json"],
    );
    serde_json::from_str::<serde_json::Value>(&out).unwrap()["status"].clone()
}

fn set_kubeconfig_secret(cp: &ApiServer, bin: &Path, context: &str, kubeconfig: &str) {
    let secret = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": format!("{context}-kubeconfig"), "namespace": REPORTER_NS},
        "stringData": {"kubeconfig": kubeconfig},
    });
    kubectl_stdin(
        cp,
        bin,
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=test",
            "-f",
            "-",
        ],
        &secret.to_string(),
    );
}

/// A ClientConfig and its kubeconfig Secret (administrator token) in the control plane for every
/// data-plane server, as the reporter expects them.
fn register_contexts(cp: &ApiServer, bin: &Path, servers: &[(&ApiServer, &str)]) {
    for (s, ctx) in servers {
        set_kubeconfig_secret(cp, bin, ctx, &s.kubeconfig_for(ctx, "admin-token"));
        let cc = serde_json::json!({
            "apiVersion": "config.k8ssandra.io/v1beta1", "kind": "ClientConfig",
            "metadata": {"name": ctx, "namespace": REPORTER_NS},
            "spec": {"kubeConfigSecret": {"name": format!("{ctx}-kubeconfig")}},
        });
        kubectl_stdin(
            cp,
            bin,
            &["apply", "--server-side", "--field-manager=test", "-f", "-"],
            &cc.to_string(),
        );
    }
}

#[test]
fn the_reporter_rolls_up_status_across_real_api_servers() {
    let Some(bin) = kube_bin() else { return };
    let cp = ApiServer::start(&bin, "control-plane");
    let east = ApiServer::start(&bin, "east");
    let mut west = ApiServer::start(&bin, "west");
    for s in [&cp, &east, &west] {
        install_crds(s, &bin);
        kubectl_ok(s, &bin, &["create", "namespace", "db"]);
    }
    // Render the repository; each data-plane server gets its own context.
    let repo = TempDir::new("reporter-repo");
    fs::write(repo.path().join("cluster.yaml"), SPEC).unwrap();
    fs::write(
        repo.path().join("contexts.yaml"),
        "apiVersion: config.k8ssandra.io/v1beta1\nkind: ClientConfig\nmetadata: {name: east}\n---\napiVersion: config.k8ssandra.io/v1beta1\nkind: ClientConfig\nmetadata: {name: west}\n---\napiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata: {name: default}\nspec: {secrets: {backend: external}}\n",
    )
    .unwrap();
    let run = crate::harness::run_in(repo.path(), &["render"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (s, ctx) in [(&east, "east"), (&west, "west")] {
        let dir = repo.path().join("rendered").join(ctx);
        let (ok, _, err) = apply_retrying(s, &bin, &dir);
        assert!(ok, "{}: {err}", dir.display());
    }
    // The control plane holds the record, the ClientConfigs and their kubeconfig Secrets.
    kubectl_ok(&cp, &bin, &["create", "namespace", REPORTER_NS]);
    kubectl_ok(
        &cp,
        &bin,
        &[
            "apply",
            "--server-side",
            "--field-manager=argocd",
            "-f",
            repo.path().join("cluster.yaml").to_str().unwrap(),
        ],
    );
    register_contexts(&cp, &bin, &[(&east, "east"), (&west, "west")]);

    // 1. dc1 ready, dc2 still updating: per-DC status copied, not Ready yet.
    set_dc_status(&east, &bin, "dc1", true);
    set_dc_status(&west, &bin, "dc2", false);
    let run = reporter(&cp, &["--once"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let status = kc_status(&cp, &bin);
    assert_eq!(
        status["datacenters"]["dc1"]["cassandra"]["cassandraOperatorProgress"],
        "Ready"
    );
    assert_eq!(status["datacenters"]["dc1"]["contextName"], "east");
    assert_eq!(
        status["datacenters"]["dc2"]["cassandra"]["cassandraOperatorProgress"],
        "Updating"
    );
    assert_eq!(status["error"], "None");
    let cond = |s: &serde_json::Value, t: &str| {
        s["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == t)
            .map(|c| c["status"].clone())
    };
    assert_eq!(cond(&status, "Ready"), Some("False".into()));

    // 2. Both ready: Ready and CassandraInitialized True, observedGeneration set.
    set_dc_status(&west, &bin, "dc2", true);
    assert_eq!(reporter(&cp, &["--once"]).code, 0);
    let status = kc_status(&cp, &bin);
    assert_eq!(cond(&status, "Ready"), Some("True".into()));
    assert_eq!(cond(&status, "CassandraInitialized"), Some("True".into()));
    assert_eq!(status["observedGeneration"], 1);
    // The reporter owns only status: spec is untouched and managed by the applier.
    let managed = kubectl_ok(
        &cp,
        &bin,
        &[
            "get",
            "k8ssandracluster",
            "-n",
            "db",
            "shop",
            "--show-managed-fields",
            "-o",
            "jsonpath={.metadata.managedFields[*].manager}",
        ],
    );
    assert!(
        managed.contains("k8ssandra-gitops-reporter") && managed.contains("argocd"),
        "{managed}"
    );

    // 3. west goes away: named in error, Ready False, Initialized stays (sticky), east still read.
    west.stop_api();
    let run = reporter(&cp, &["--once"]);
    assert_eq!(
        run.code, 0,
        "one unreachable context never fails the pass: {}",
        run.stderr
    );
    // Logs are JSON lines; the failure names its context.
    let logs = json_lines(&run.stderr);
    assert!(
        logs.iter()
            .all(|l| l["level"].is_string() && l["message"].is_string()),
        "{}",
        run.stderr
    );
    assert!(
        logs.iter()
            .any(|l| l["level"] == "WARN" && l["context"] == "west"),
        "{}",
        run.stderr
    );
    let status = kc_status(&cp, &bin);
    let error = status["error"].as_str().unwrap();
    assert!(error.starts_with("cannot reach context: west ("), "{error}");
    assert_eq!(cond(&status, "Ready"), Some("False".into()));
    assert_eq!(cond(&status, "CassandraInitialized"), Some("True".into()));
    assert_eq!(
        status["datacenters"]["dc1"]["cassandra"]["cassandraOperatorProgress"],
        "Ready"
    );

    // 4. west is back: recovery on the next pass.
    west.start_api("west");
    let run = reporter(&cp, &["--once"]);
    assert_eq!(run.code, 0);
    let status = kc_status(&cp, &bin);
    assert_eq!(status["error"], "None");
    assert_eq!(cond(&status, "Ready"), Some("True".into()));

    // 5. RBAC: a kubeconfig user without permissions gives a clear, named error.
    set_kubeconfig_secret(
        &cp,
        &bin,
        "west",
        &west.kubeconfig_for("west", "nobody-token"),
    );
    assert_eq!(reporter(&cp, &["--once"]).code, 0);
    let error = kc_status(&cp, &bin)["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("west") && error.contains("forbidden"),
        "{error}"
    );

    // 6. Metrics from the long-running mode.
    set_kubeconfig_secret(
        &cp,
        &bin,
        "west",
        &west.kubeconfig_for("west", "rotate-a-token"),
    );
    let logs = TempDir::new("reporter-logs");
    let log_file = logs.path().join("stderr");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_k8ssandra-gitops"))
        .args([
            "reporter",
            "--namespace",
            REPORTER_NS,
            // A long resync: only the watches can make the changes below show up in time.
            "--interval",
            "600",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("KUBECONFIG", &cp.kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log_file).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let metrics = loop {
        let out = Command::new("curl")
            .args(["-fsS", &format!("http://127.0.0.1:{port}/metrics")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("k8ssandra_gitops_passes_total") && !text.contains("passes_total 0") {
            break text;
        }
        assert!(Instant::now() < deadline, "no metrics: {text}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let ready = Command::new("curl")
        .args(["-fsS", &format!("http://127.0.0.1:{port}/readyz")])
        .output()
        .unwrap();
    // A client that connects and sends nothing does not hold up the liveness probe.
    let idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let healthz = http_get(port, "/healthz");
    assert!(healthz.starts_with("HTTP/1.1 200 OK\r\n"), "{healthz}");
    drop(idle);
    // A datacenter status change in a data-plane cluster reaches the record through the watch.
    let wait_ready_is = |want: &str| {
        let deadline = Instant::now() + Duration::from_secs(45);
        loop {
            let status = kc_status(&cp, &bin);
            if cond(&status, "Ready") == Some(want.into()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Ready never became {want}: {status}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    wait_ready_is("True");
    set_dc_status(&west, &bin, "dc2", false);
    wait_ready_is("False");
    set_dc_status(&west, &bin, "dc2", true);
    wait_ready_is("True");

    // 7. Credential rotation: west's Secret gets another user's token, the reporter rebuilds
    // west's client and watchers, and the old token is revoked (west restarts without it,
    // closing every connection). Only the new credentials can see the changes below.
    set_kubeconfig_secret(
        &cp,
        &bin,
        "west",
        &west.kubeconfig_for("west", "rotate-b-token"),
    );
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let text = fs::read_to_string(&log_file).unwrap();
        if json_lines(&text).iter().any(|l| {
            l["context"] == "west"
                && l["level"] == "INFO"
                && l["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("kubeconfig changed"))
        }) {
            break;
        }
        assert!(Instant::now() < deadline, "no rotation logged:\n{text}");
        std::thread::sleep(Duration::from_millis(300));
    }
    west.revoke_token("west", "rotate-a-token");
    let wait_progress_is = |want: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let status = kc_status(&cp, &bin);
            if status["error"] == "None"
                && status["datacenters"]["dc2"]["cassandra"]["cassandraOperatorProgress"] == want
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "dc2 never observed as {want}: {status}\n{}",
                fs::read_to_string(&log_file).unwrap()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    set_dc_status(&west, &bin, "dc2", false);
    wait_progress_is("Updating");
    wait_ready_is("False");
    set_dc_status(&west, &bin, "dc2", true);
    wait_progress_is("Ready");
    wait_ready_is("True");
    let _ = child.kill();
    let _ = child.wait();
    let text = fs::read_to_string(&log_file).unwrap();
    assert!(
        !text.contains("rotate-a-token") && !text.contains("rotate-b-token"),
        "credentials in the log:\n{text}"
    );
    assert!(ready.status.success());
    assert!(metrics.contains("k8ssandra_gitops_datacenter_ready{cluster=\"db/shop\",datacenter=\"dc1\",context=\"east\"} 1\n"), "{metrics}");
    assert!(metrics.contains("k8ssandra_gitops_datacenter_nodes{cluster=\"db/shop\",datacenter=\"dc2\",context=\"west\",state=\"total\"} 1\n"), "{metrics}");
    assert!(
        metrics.contains("k8ssandra_gitops_context_up{context=\"west\"} 1\n"),
        "{metrics}"
    );
}

/// The JSON log lines of a reporter run (every line must be one).
fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"))
        })
        .collect()
}

/// One HTTP/1.1 GET on a fresh connection, bounded by a read timeout.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .unwrap_or_else(|e| panic!("no answer from {path} in time: {e}"));
    answer
}

fn seed_pod(s: &ApiServer, bin: &Path, dc: &str, ip: &str) {
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("shop-{dc}-default-sts-0"), "namespace": "db", "labels": {
            "cassandra.datastax.com/cluster": "shop",
            "cassandra.datastax.com/datacenter": dc,
            "cassandra.datastax.com/seed-node": "true"}},
        "spec": {"containers": [{"name": "cassandra", "image": "example.invalid/cassandra"}]},
    });
    kubectl_stdin(
        s,
        bin,
        &["apply", "--server-side", "--field-manager=test", "-f", "-"],
        &pod.to_string(),
    );
    let status = format!("{{\"status\":{{\"podIP\":\"{ip}\",\"podIPs\":[{{\"ip\":\"{ip}\"}}]}}}}");
    kubectl_ok(
        s,
        bin,
        &[
            "patch",
            "pod",
            "-n",
            "db",
            &format!("shop-{dc}-default-sts-0"),
            "--subresource=status",
            "--type=merge",
            "-p",
            &status,
        ],
    );
}

#[test]
fn seed_sync_fills_each_datacenter_with_the_other_datacenters_seeds() {
    let Some(bin) = kube_bin() else { return };
    let cp = ApiServer::start(&bin, "control-plane");
    let east = ApiServer::start(&bin, "east");
    let west = ApiServer::start(&bin, "west");
    for s in [&cp, &east, &west] {
        install_crds(s, &bin);
        kubectl_ok(s, &bin, &["create", "namespace", "db"]);
    }
    kubectl_ok(&cp, &bin, &["create", "namespace", REPORTER_NS]);
    let spec = SPEC.replace(
        "    serverVersion:",
        "    additionalSeeds: [192.0.2.10, \"2001:db8::10\"]\n    serverVersion:",
    );
    kubectl_stdin(
        &cp,
        &bin,
        &[
            "apply",
            "--server-side",
            "--field-manager=argocd",
            "-f",
            "-",
        ],
        &spec,
    );
    register_contexts(&cp, &bin, &[(&east, "east"), (&west, "west")]);
    seed_pod(&east, &bin, "dc1", "10.1.0.5");
    seed_pod(&west, &bin, "dc2", "10.2.0.7");
    let run = reporter(&cp, &["--once", "--seed-sync"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let addresses = |s: &ApiServer, name: &str| {
        kubectl_ok(
            s,
            &bin,
            &[
                "get",
                "endpointslice",
                "-n",
                "db",
                name,
                "-o",
                "jsonpath={.addressType} {.endpoints[0].addresses} {.metadata.labels.kubernetes\\.io/service-name}",
            ],
        )
    };
    assert_eq!(
        addresses(&east, "shop-shop-dc1-additional-seed-service-ipv4"),
        "IPv4 [\"10.2.0.7\",\"192.0.2.10\"] shop-dc1-additional-seed-service"
    );
    assert_eq!(
        addresses(&west, "shop-shop-dc2-additional-seed-service-ipv4"),
        "IPv4 [\"10.1.0.5\",\"192.0.2.10\"] shop-dc2-additional-seed-service"
    );
    assert_eq!(
        addresses(&west, "shop-shop-dc2-additional-seed-service-ipv6"),
        "IPv6 [\"2001:db8::10\"] shop-dc2-additional-seed-service"
    );
    // A seed moves: the next pass follows it.
    kubectl_ok(
        &west,
        &bin,
        &["delete", "pod", "-n", "db", "shop-dc2-default-sts-0"],
    );
    seed_pod(&west, &bin, "dc2", "10.2.0.9");
    assert_eq!(reporter(&cp, &["--once", "--seed-sync"]).code, 0);
    assert_eq!(
        addresses(&east, "shop-shop-dc1-additional-seed-service-ipv4"),
        "IPv4 [\"10.2.0.9\",\"192.0.2.10\"] shop-dc1-additional-seed-service"
    );
}

/// The reporter's rendered RBAC, applied to a real API server with the RBAC authorizer, grants
/// its ServiceAccount what seed sync does in the control-plane cluster (watch seed pods
/// everywhere, write EndpointSlices in the datacenters' namespaces) and nothing beyond: not
/// EndpointSlices elsewhere, no pod writes. Without seed sync, no pod access at all.
#[test]
fn the_reporters_rendered_rbac_allows_what_seed_sync_does_and_no_more() {
    let Some(bin) = kube_bin() else { return };
    let s = ApiServer::start(&bin, "control-plane");
    install_crds(&s, &bin);
    for ns in ["k8ssandra-operator", "db", "db-two", "elsewhere"] {
        kubectl_ok(&s, &bin, &["create", "namespace", ns]);
    }
    let sa = "system:serviceaccount:k8ssandra-operator:k8ssandra-gitops-reporter";
    let can = |args: &[&str]| {
        let mut all = vec!["auth", "can-i", "--as", sa];
        all.extend_from_slice(args);
        let (_, out, _) = s.kubectl(&bin, &all);
        out.trim() == "yes"
    };
    for seed_sync in [true, false] {
        let repo = TempDir::new("reporter-rbac");
        let fixture = root().join("fixtures/render/reporter-seed-sync");
        for f in ["cluster.yaml", "render-config.yaml"] {
            let text = fs::read_to_string(fixture.join(f)).unwrap();
            let text = if seed_sync {
                text
            } else {
                text.replace("seedSync: true", "seedSync: false")
            };
            fs::write(repo.path().join(f), text).unwrap();
        }
        let out = TempDir::new("reporter-rbac-out");
        let run = crate::harness::run_in(
            repo.path(),
            &["render", ".", "-o", out.path().to_str().unwrap()],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let dir = out.path().join("control-plane");
        let mut rbac = Vec::new();
        for entry in fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with("role")
                || name.starts_with("clusterrole")
                || name.starts_with("serviceaccount")
            {
                rbac.push(fs::read_to_string(dir.join(&name)).unwrap());
            }
        }
        assert!(rbac.len() >= 5, "reporter RBAC not rendered: {rbac:?}");
        kubectl_stdin(
            &s,
            &bin,
            &[
                "apply",
                "--server-side",
                "--field-manager=argocd",
                "-f",
                "-",
            ],
            &rbac.join("---\n"),
        );
        // RBAC changes reach the authorizer's cache asynchronously.
        let deadline = Instant::now() + Duration::from_secs(30);
        while can(&["list", "pods", "--all-namespaces"]) != seed_sync {
            assert!(
                Instant::now() < deadline,
                "seed sync {seed_sync}: list pods in all namespaces is not {seed_sync}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        assert_eq!(can(&["watch", "pods", "--all-namespaces"]), seed_sync);
        for verb in ["get", "create", "patch", "delete"] {
            for ns in ["db", "db-two"] {
                assert_eq!(
                    can(&[verb, "endpointslices.discovery.k8s.io", "-n", ns]),
                    seed_sync,
                    "seed sync {seed_sync}: {verb} endpointslices in {ns}"
                );
            }
            assert!(!can(&[
                verb,
                "endpointslices.discovery.k8s.io",
                "-n",
                "elsewhere"
            ]));
        }
        assert!(!can(&["create", "pods", "-n", "db"]));
        assert!(!can(&["delete", "pods", "-n", "db"]));
        assert!(
            can(&["patch", "k8ssandraclusters.k8ssandra.io/status", "-n", "db"])
                || can(&[
                    "patch",
                    "k8ssandraclusters.k8ssandra.io",
                    "--subresource=status",
                    "-n",
                    "db"
                ])
        );
        // The next round starts from nothing: what this round applied is removed.
        for text in &rbac {
            kubectl_stdin(&s, &bin, &["delete", "--ignore-not-found", "-f", "-"], text);
        }
    }
}

/// Every `kind: RenderConfig` document in the files below `dir` (YAML streams split on `---`).
fn render_configs(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            render_configs(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            let text = fs::read_to_string(&path).unwrap();
            for doc in text.split("\n---") {
                if doc.lines().any(|l| l == "kind: RenderConfig") {
                    out.push((path.clone(), doc.trim_start_matches('\n').to_string()));
                }
            }
        }
    }
}

/// The published RenderConfig CRD (`schemas/`) is what the README says it is: installable, and
/// a strict server-side dry run accepts every RenderConfig the renderer accepts (those of the
/// examples and render fixtures) and refuses the invalid fixture's unknown field and value.
#[test]
fn a_real_api_server_takes_the_render_config_crd_and_agrees_with_the_renderer() {
    let Some(bin) = kube_bin() else { return };
    let server = ApiServer::start(&bin, "renderconfig");
    let crd = root().join("schemas/renderconfigs.gitops.k8ssandra.io.yaml");
    kubectl_ok(
        &server,
        &bin,
        &[
            "apply",
            "--server-side",
            "--field-manager=test",
            "-f",
            crd.to_str().unwrap(),
        ],
    );
    kubectl_ok(
        &server,
        &bin,
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/renderconfigs.gitops.k8ssandra.io",
        ],
    );
    let mut valid = Vec::new();
    render_configs(&root().join("examples"), &mut valid);
    render_configs(&root().join("fixtures/render"), &mut valid);
    // The committed output holds no RenderConfig; every render fixture that has one renders.
    assert!(valid.len() >= 10, "RenderConfigs found: {}", valid.len());
    let work = TempDir::new("renderconfig-crd");
    // A strict server-side dry run of one document: (accepted, stderr).
    let dry_run = |name: &str, doc: &str| -> (bool, String) {
        let file = work.path().join(name);
        fs::write(&file, doc).unwrap();
        let (ok, _, err) = server.kubectl(
            &bin,
            &[
                "apply",
                "--server-side",
                "--field-manager=test",
                "--namespace=default",
                "--dry-run=server",
                "--validate=strict",
                "-f",
                file.to_str().unwrap(),
            ],
        );
        (ok, err)
    };
    let mut rejected = Vec::new();
    for (i, (path, doc)) in valid.iter().enumerate() {
        let (ok, err) = dry_run(&format!("rc-{i}.yaml"), doc);
        if !ok {
            rejected.push(format!("{}: {err}", path.display()));
        }
    }
    assert!(
        rejected.is_empty(),
        "the API server rejected:\n{}",
        rejected.join("\n")
    );

    // The invalid fixture's mistakes, one document each (the server reports the first only).
    let mut invalid = Vec::new();
    render_configs(&root().join("fixtures/invalid/render-config"), &mut invalid);
    let (_, fixture) = &invalid[0];
    let unknown_field = fixture.replace("    backend: sealedSecrets\n", "");
    let unknown_value = fixture.replace(
        "\n    externalSecret:\n      storeRef: {kind: ClusterSecretStore, name: vault}",
        "",
    );
    for (doc, wrong) in [
        (unknown_field, "externalSecret"),
        (unknown_value, "sealedSecrets"),
    ] {
        assert_ne!(&doc, fixture, "the fixture changed: {wrong}");
        let (ok, err) = dry_run("invalid.yaml", &doc);
        assert!(!ok, "accepted with {wrong}:\n{doc}");
        assert!(err.contains(wrong), "{err}");
    }
}
