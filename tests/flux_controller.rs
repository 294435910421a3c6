//! Flux's real kustomize-controller (built from the Go module proxy by
//! `scripts/build-flux-kustomize-controller`) delivers the `replicate` backend's SOPS-encrypted
//! Secrets: it runs against a real kube-apiserver (`tests/apiserver.rs`), fetches the rendered
//! repository from a GitRepository artifact the test serves on loopback (the test plays
//! source-controller), decrypts the copies with the age key in the Secret that RenderConfig's
//! `spec.flux.decryption.secretRef` names, applies every context in `dependsOn` order and waits
//! for it with the rendered `healthCheckExprs` (the test plays the operators, writing the
//! statuses they would). The Secrets in the cluster must hold the plaintext that was encrypted.
//! The controller must also evaluate the rendered `healthCheckExprs` (the first context stays
//! not Ready while its datacenter has no status, which kstatus alone would accept) and honour
//! `dependsOn` (nothing of the second context is applied before the first is Ready).

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::apiserver::{ApiServer, free_port, install_crds, kube_bin, kubectl_ok, kubectl_stdin};
use crate::harness::{TempDir, run_in, tool, upstream};
use crate::sops::{FLUX, age_keygen, encrypted_repo, password, sops};

/// The kustomize-controller binary (`$KUSTOMIZE_CONTROLLER`, else where the build script puts it).
fn kustomize_controller() -> Option<PathBuf> {
    tool(
        "KUSTOMIZE_CONTROLLER",
        ".cache/flux-kc/bin/kustomize-controller",
    )
}

/// A timestamp for the statuses the test writes (any valid RFC 3339 time serves).
const NOW: &str = "2026-01-01T00:00:00Z";

/// Serves one tarball over HTTP on 127.0.0.1, as source-controller serves artifacts; stops on
/// drop.
struct ArtifactServer {
    port: u16,
    served: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The artifact's path on the server.
const ARTIFACT_PATH: &str = "/gitrepository/flux-system/cassandra/artifact.tar.gz";

impl ArtifactServer {
    fn start(body: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (served2, stop2) = (served.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                if respond(&mut stream, &body) {
                    served2.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        Self {
            port,
            served,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}{ARTIFACT_PATH}", self.port)
    }
}

impl Drop for ArtifactServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers one HTTP/1.1 request: the tarball for `GET ARTIFACT_PATH`, 404 otherwise. Returns
/// whether the tarball was sent.
fn respond(stream: &mut TcpStream, body: &[u8]) -> bool {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let first = String::from_utf8_lossy(&request)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let found = first.starts_with(&format!("GET {ARTIFACT_PATH} "));
    let (status, body): (&str, &[u8]) = if found {
        ("200 OK", body)
    } else {
        ("404 Not Found", b"not found")
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let ok = stream.write_all(head.as_bytes()).is_ok() && stream.write_all(body).is_ok();
    ok && found
}

/// A running kustomize-controller; killed on drop.
struct Controller {
    child: Child,
    log: PathBuf,
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Controller {
    fn start(bin: &Path, kubeconfig: &Path, dir: &Path) -> Self {
        let log = dir.join("kustomize-controller.log");
        let tmp = dir.join("tmp");
        fs::create_dir_all(&tmp).unwrap();
        let child = Command::new(bin)
            .args([
                "--watch-all-namespaces",
                &format!("--metrics-addr=127.0.0.1:{}", free_port()),
                &format!("--health-addr=127.0.0.1:{}", free_port()),
                "--enable-leader-election=false",
                // Re-check the dependsOn chain quickly (default 30s).
                "--requeue-dependency=2s",
            ])
            .env("KUBECONFIG", kubeconfig)
            .env("RUNTIME_NAMESPACE", "flux-system")
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&log).unwrap())
            .stderr(Stdio::from(
                fs::OpenOptions::new().append(true).open(&log).unwrap(),
            ))
            .spawn()
            .expect("kustomize-controller starts");
        Self { child, log }
    }

    /// Fails the test with the Kustomizations' conditions and the controller's log.
    fn fail(&self, s: &ApiServer, bin: &Path, why: &str) -> ! {
        let (_, ks, _) = s.kubectl(bin, &["get", "kustomizations", "-A", "-o", "json"]);
        let conditions: Vec<String> = serde_json::from_str::<Value>(&ks)
            .ok()
            .and_then(|v| v["items"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|k| {
                format!(
                    "{}: {}",
                    k["metadata"]["name"],
                    serde_json::to_string_pretty(&k["status"]["conditions"]).unwrap()
                )
            })
            .collect();
        let (_, statuses, _) = s.kubectl(
            bin,
            &[
                "get",
                "cassandradatacenters,cassandratasks,reapers,jobs",
                "-A",
                "-o",
                "jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name} generation {.metadata.generation}: {.status}{\"\\n\"}{end}",
            ],
        );
        // The dependsOn retry line repeats every two seconds: counted, not printed.
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let retry = "Dependencies do not meet ready condition";
        let retries = log.lines().filter(|l| l.contains(retry)).count();
        let log: Vec<&str> = log.lines().filter(|l| !l.contains(retry)).collect();
        panic!(
            "{why}\nKustomization conditions:\n{}\nstatuses:\n{statuses}\nkustomize-controller log ({retries} lines \"{retry}\" left out):\n{}",
            conditions.join("\n"),
            log.join("\n")
        );
    }
}

fn parse(text: &str) -> Vec<Value> {
    k8ssandra_gitops::dev_support::parse_stream(text)
        .expect("valid YAML")
        .iter()
        .map(k8ssandra_gitops::dev_support::Node::to_json)
        .filter(|v| !v.is_null())
        .collect()
}

/// The objects a rendered context's `kustomization.yaml` lists.
fn context_objects(dir: &Path) -> Vec<Value> {
    let k = parse(&fs::read_to_string(dir.join("kustomization.yaml")).unwrap()).remove(0);
    k["resources"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| parse(&fs::read_to_string(dir.join(r.as_str().unwrap())).unwrap()))
        .collect()
}

/// Flux's inventory id of an object: `<namespace>_<name>_<group>_<kind>`.
fn inventory_id(o: &Value) -> String {
    let api = o["apiVersion"].as_str().unwrap();
    let group = api.rsplit_once('/').map_or("", |(g, _)| g);
    format!(
        "{}_{}_{group}_{}",
        o["metadata"]["namespace"].as_str().unwrap_or_default(),
        o["metadata"]["name"].as_str().unwrap(),
        o["kind"].as_str().unwrap()
    )
}

/// `kind.group` (or `kind`) for kubectl.
fn resource(o: &Value) -> String {
    let kind = o["kind"].as_str().unwrap().to_lowercase();
    match o["apiVersion"].as_str().unwrap().rsplit_once('/') {
        Some((group, _)) => format!("{kind}.{group}"),
        None => kind,
    }
}

fn kubectl_json(s: &ApiServer, bin: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&kubectl_ok(s, bin, &all)).unwrap()
}

/// Plays the operators: gives each CassandraDatacenter, CassandraTask and Job the controller
/// applied the status its operator (or the Job controller, which this API server lacks) would
/// write once done, so that the rendered `healthCheckExprs` (and kstatus for the Jobs) can report
/// them Current. CassandraDatacenters get theirs only when `datacenters` is set. Returns
/// `Kind/namespace/name` of every such object in the cluster.
fn play_operators(s: &ApiServer, bin: &Path, datacenters: bool) -> Vec<String> {
    let list = kubectl_json(
        s,
        bin,
        &["get", "cassandradatacenters,cassandratasks,jobs", "-A"],
    );
    let mut seen = Vec::new();
    for item in list["items"].as_array().unwrap() {
        let (name, namespace) = (
            item["metadata"]["name"].as_str().unwrap(),
            item["metadata"]["namespace"].as_str().unwrap(),
        );
        seen.push(format!(
            "{}/{namespace}/{name}",
            item["kind"].as_str().unwrap()
        ));
        let status = &item["status"];
        let patch = match item["kind"].as_str().unwrap() {
            "CassandraDatacenter"
                if datacenters && status.get("cassandraOperatorProgress").is_none() =>
            {
                json!({
                "cassandraOperatorProgress": "Ready",
                "observedGeneration": item["metadata"]["generation"],
                "conditions": [{"type": "Ready", "status": "True", "reason": "", "message": "",
                    "lastTransitionTime": NOW}],
                })
            }
            "CassandraTask" if status.get("completionTime").is_none() => json!({
                "startTime": NOW,
                "completionTime": NOW,
                "succeeded": 1,
                "conditions": [{"type": "Complete", "status": "True", "reason": "Completed", "message": "",
                    "lastTransitionTime": NOW}],
            }),
            // Flux counts a Job as Current once it is complete (the replication Job gates the
            // next context); the API server accepts completion with these fields only.
            "Job" if status.get("completionTime").is_none() => json!({
                "startTime": NOW,
                "completionTime": NOW,
                "succeeded": 1,
                "conditions": [
                    {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                        "message": "", "lastTransitionTime": NOW, "lastProbeTime": NOW},
                    {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                        "message": "", "lastTransitionTime": NOW, "lastProbeTime": NOW},
                ],
            }),
            _ => continue,
        };
        kubectl_ok(
            s,
            bin,
            &[
                "patch",
                &resource(item),
                name,
                "-n",
                namespace,
                "--subresource=status",
                "--type=merge",
                "-p",
                &json!({"status": patch}).to_string(),
            ],
        );
    }
    seen
}

fn ready_condition(k: &Value) -> Option<&Value> {
    k["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")
}

#[test]
fn flux_kustomize_controller_decrypts_and_applies_every_context() {
    let (Some(bin), Some(controller), Some(sops), Some(keygen)) =
        (kube_bin(), kustomize_controller(), sops(), age_keygen())
    else {
        return;
    };

    // A repository whose Secrets are committed SOPS-encrypted (tests/sops.rs), rendered in place
    // as a user would commit it.
    let enc = encrypted_repo(&sops, &keygen, FLUX);
    let repo = enc.repo.path();
    let r = run_in(repo, &["render", ".", "-o", "rendered"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rendered = repo.join("rendered");
    let contexts = ["east", "west"];
    let flux: Vec<Value> = contexts
        .iter()
        .map(|c| {
            parse(
                &fs::read_to_string(
                    rendered.join(format!("flux/kustomization-cassandra-{c}.yaml")),
                )
                .unwrap(),
            )
            .remove(0)
        })
        .collect();
    let flux_ns = flux[0]["metadata"]["namespace"]
        .as_str()
        .unwrap()
        .to_string();
    let source = &flux[0]["spec"]["sourceRef"];
    assert_eq!(
        source["kind"], "GitRepository",
        "the test plays a GitRepository"
    );
    let source_name = source["name"].as_str().unwrap();
    let decryption_secret = flux[0]["spec"]["decryption"]["secretRef"]["name"]
        .as_str()
        .unwrap();
    for (k, c) in flux.iter().zip(contexts) {
        assert_eq!(k["spec"]["path"], format!("./rendered/{c}"), "{k}");
        assert_eq!(k["spec"]["decryption"]["provider"], "sops", "{k}");
    }

    // What was committed: each copy encrypted, with the namespace it goes to.
    let mut objects = Vec::new();
    let mut namespaces = BTreeSet::from([flux_ns.clone()]);
    let mut secrets = Vec::new();
    for c in contexts {
        let objs = context_objects(&rendered.join(c));
        for o in &objs {
            let ns = o["metadata"]["namespace"].as_str().unwrap().to_string();
            namespaces.insert(ns.clone());
            if o["kind"] == "Secret" {
                let name = o["metadata"]["name"].as_str().unwrap().to_string();
                let value = o["stringData"]["password"].as_str().unwrap();
                assert!(value.starts_with("ENC["), "{c}: {name} is not encrypted");
                secrets.push((ns, name));
            }
        }
        objects.push(objs);
    }
    secrets.sort();
    assert_eq!(
        secrets
            .iter()
            .map(|(ns, n)| format!("{ns}/{n}"))
            .collect::<Vec<_>>(),
        [
            "db/ledger-reaper",
            "db/ledger-reaper-ui",
            "db/ledger-superuser",
            "db-west/ledger-reaper",
            "db-west/ledger-reaper-ui",
            "db-west/ledger-superuser",
        ]
    );

    // The repository as source-controller would store it: a .tar.gz, with its sha256 digest.
    let work = TempDir::new("flux-controller");
    let tarball = work.path().join("artifact.tar.gz");
    let ok = Command::new("tar")
        .args(["-czf", tarball.to_str().unwrap(), "-C"])
        .arg(repo)
        .arg(".")
        .status()
        .expect("tar runs")
        .success();
    assert!(ok, "tar");
    let bytes = fs::read(&tarball).unwrap();
    let sha256: String = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let revision = format!("main@sha1:{}", &sha256[..40]);
    let server = ArtifactServer::start(bytes.clone());

    // The cluster: CRDs of what the tree applies and of Flux's sources, the namespaces (the
    // renderer does not create them), the decryption key and the GitRepository.
    let api = ApiServer::start(&bin, "flux");
    install_crds(&api, &bin);
    let sources = upstream().join("flux-source-crds");
    kubectl_ok(
        &api,
        &bin,
        &[
            "apply",
            "--server-side",
            "--field-manager=test",
            "-f",
            sources.to_str().unwrap(),
        ],
    );
    kubectl_ok(
        &api,
        &bin,
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd",
            "--all",
        ],
    );
    for ns in &namespaces {
        kubectl_ok(&api, &bin, &["create", "namespace", ns]);
    }
    kubectl_ok(
        &api,
        &bin,
        &[
            "create",
            "secret",
            "generic",
            decryption_secret,
            "-n",
            &flux_ns,
            &format!("--from-file=sops.agekey={}", enc.key_file.display()),
        ],
    );
    kubectl_stdin(
        &api,
        &bin,
        &["apply", "--server-side", "--field-manager=test", "-f", "-"],
        &json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": source_name, "namespace": flux_ns},
            "spec": {"interval": "1h", "url": "https://git.example.com/cassandra.git",
                "ref": {"branch": "main"}},
        })
        .to_string(),
    );
    let status = json!({"status": {
        "observedGeneration": 1,
        "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
            "message": format!("stored artifact for revision '{revision}'"),
            "lastTransitionTime": NOW, "observedGeneration": 1}],
        "artifact": {
            "path": ARTIFACT_PATH.trim_start_matches('/'),
            "url": server.url(),
            "revision": revision,
            "digest": format!("sha256:{sha256}"),
            "lastUpdateTime": NOW,
            "size": bytes.len(),
        },
    }});
    kubectl_ok(
        &api,
        &bin,
        &[
            "patch",
            "gitrepository",
            source_name,
            "-n",
            &flux_ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            &status.to_string(),
        ],
    );
    // The rendered Flux directory, applied once as the README says.
    kubectl_ok(
        &api,
        &bin,
        &[
            "apply",
            "--server-side",
            "--field-manager=test",
            "-k",
            rendered.join("flux").to_str().unwrap(),
        ],
    );

    let mut ctrl = Controller::start(&controller, &api.kubeconfig, work.path());

    // The first context's datacenter gets its status only after the controller has been
    // checking health for longer than its 5 s poll interval: without the rendered
    // `healthCheckExprs`, kstatus would count a datacenter without status as Current at once.
    // The second context's datacenter must not exist before the first context is Ready.
    let first = format!("cassandra-{}", contexts[0]);
    let second_dc = objects[1]
        .iter()
        .find(|o| o["kind"] == "CassandraDatacenter")
        .map(|o| {
            format!(
                "CassandraDatacenter/{}/{}",
                o["metadata"]["namespace"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .unwrap();
    let mut checking_health_since: Option<Instant> = None;
    // Bounded: both contexts are normally Ready within a minute.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let release = checking_health_since.is_some_and(|t| t.elapsed() > Duration::from_secs(8));
        let seen = play_operators(&api, &bin, release);
        let ks = kubectl_json(&api, &bin, &["get", "kustomizations", "-n", &flux_ns]);
        let items = ks["items"].as_array().unwrap();
        let mut ready = 0;
        for k in items {
            let is_first = k["metadata"]["name"] == first.as_str();
            let checking = k["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter().any(|c| {
                    c["type"] == "Healthy"
                        && c["status"] == "Unknown"
                        && c["message"]
                            .as_str()
                            .is_some_and(|m| m.starts_with("Running health checks"))
                })
            });
            if is_first && checking && checking_health_since.is_none() {
                checking_health_since = Some(Instant::now());
            }
            let Some(c) = ready_condition(k) else {
                continue;
            };
            if is_first && c["status"] != "True" && seen.contains(&second_dc) {
                ctrl.fail(
                    &api,
                    &bin,
                    &format!("{second_dc} was applied before {first} was Ready (dependsOn)"),
                );
            }
            match c["status"].as_str() {
                Some("True") if is_first && !release => ctrl.fail(
                    &api,
                    &bin,
                    &format!(
                        "{first} became Ready while its CassandraDatacenter had no status: \
                         the healthCheckExprs were not applied"
                    ),
                ),
                Some("True") => ready += 1,
                // `dependsOn`: west waits for east.
                Some("False") if c["reason"] != "DependencyNotReady" => ctrl.fail(
                    &api,
                    &bin,
                    &format!("{} failed: {}", k["metadata"]["name"], c["message"]),
                ),
                _ => {}
            }
        }
        if ready == contexts.len() && items.len() == contexts.len() {
            break;
        }
        if let Ok(Some(code)) = ctrl.child.try_wait() {
            ctrl.fail(&api, &bin, &format!("kustomize-controller exited: {code}"));
        }
        if Instant::now() > deadline {
            ctrl.fail(
                &api,
                &bin,
                "the Kustomizations did not become Ready within 300 s",
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        server.served.load(Ordering::SeqCst) > 0,
        "the artifact was never fetched"
    );

    // Every context applied from the artifact's revision, exactly the rendered objects.
    for (c, objs) in contexts.iter().zip(&objects) {
        let k = kubectl_json(
            &api,
            &bin,
            &[
                "get",
                "kustomization",
                &format!("cassandra-{c}"),
                "-n",
                &flux_ns,
            ],
        );
        assert_eq!(k["status"]["lastAppliedRevision"], revision.as_str(), "{c}");
        let inventory: BTreeSet<String> = k["status"]["inventory"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect();
        let expected: BTreeSet<String> = objs.iter().map(inventory_id).collect();
        assert_eq!(inventory, expected, "{c}: inventory");
        for o in objs {
            let live = kubectl_json(
                &api,
                &bin,
                &[
                    "get",
                    &resource(o),
                    o["metadata"]["name"].as_str().unwrap(),
                    "-n",
                    o["metadata"]["namespace"].as_str().unwrap(),
                    "--show-managed-fields",
                ],
            );
            let managers: Vec<&str> = live["metadata"]["managedFields"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|m| m["manager"].as_str())
                .collect();
            assert!(
                managers.contains(&"kustomize-controller"),
                "{c}: {} not applied by kustomize-controller: {managers:?}",
                inventory_id(o)
            );
        }
    }

    // The Secrets hold the plaintext that was encrypted, nothing of SOPS left.
    for (ns, name) in &secrets {
        let live = kubectl_json(&api, &bin, &["get", "secret", name, "-n", ns]);
        assert!(live.get("sops").is_none(), "{ns}/{name}: {live}");
        let secret: k8s_openapi::api::core::v1::Secret =
            serde_json::from_value(live.clone()).unwrap();
        let data = secret.data.unwrap_or_default();
        assert_eq!(
            data.keys().collect::<Vec<_>>(),
            ["password"],
            "{ns}/{name}: {live}"
        );
        assert_eq!(
            String::from_utf8_lossy(&data["password"].0),
            password(name),
            "{ns}/{name}"
        );
    }
}
