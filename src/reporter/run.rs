//! The in-cluster reporter process: reads the ClientConfigs of its namespace (and the kubeconfig
//! Secrets they name) like k8ssandra-operator does, observes every datacenter of every
//! K8ssandraCluster record in its context, and writes the [`rollup`](super::rollup) into the
//! record's status subresource with server-side apply. It never writes `spec`.
//!
//! kube-runtime watchers on the K8ssandraClusters and on the CassandraDatacenters, Stargates
//! and Reapers of every context trigger a pass as soon as anything changes; a pass also runs every
//! interval (resync). A context that fails is retried with exponential backoff and named in
//! `status.error`, and never stops the others. `/metrics`, `/healthz` and `/readyz` are
//! served on a plain HTTP port.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};

use super::rollup::{DcObservation, Observed, datacenter_ready, rollup};

/// Field manager of everything the reporter writes.
pub const FIELD_MANAGER: &str = "k8ssandra-gitops-reporter";

/// Settings of the reporter process.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Namespace of the ClientConfigs and kubeconfig Secrets.
    pub namespace: String,
    /// Name of the context the reporter runs in (datacenters without `k8sContext`).
    pub control_plane_context: String,
    /// Time between passes.
    pub interval: Duration,
    /// `host:port` of the metrics and health endpoints (`None`: not served).
    pub listen: Option<String>,
    /// One pass, then exit (for tests and cron-style use).
    pub once: bool,
    /// Keep the additional-seed EndpointSlices of every datacenter filled with the seed pod IPs
    /// of the other datacenters (plus static `additionalSeeds`).
    pub seed_sync: bool,
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn k8ssandra_clusters() -> ApiResource {
    resource(
        "k8ssandra.io",
        "v1alpha1",
        "K8ssandraCluster",
        "k8ssandraclusters",
    )
}
fn cassandra_datacenters() -> ApiResource {
    resource(
        "cassandra.datastax.com",
        "v1beta1",
        "CassandraDatacenter",
        "cassandradatacenters",
    )
}
fn stargates() -> ApiResource {
    resource("stargate.k8ssandra.io", "v1alpha1", "Stargate", "stargates")
}
fn reapers() -> ApiResource {
    resource("reaper.k8ssandra.io", "v1alpha1", "Reaper", "reapers")
}
fn client_configs() -> ApiResource {
    resource(
        "config.k8ssandra.io",
        "v1beta1",
        "ClientConfig",
        "clientconfigs",
    )
}

/// Per-context state: client, failures, backoff.
#[derive(Default)]
struct ContextState {
    client: Option<Client>,
    watching: bool,
    failures: u32,
    retry_at: Option<Instant>,
    last_error: String,
    last_success: Option<SystemTime>,
}

/// What `/metrics` reports.
#[derive(Default)]
struct Metrics {
    /// (cluster, datacenter, context) → (ready, nodes with a host ID, size).
    datacenters: BTreeMap<(String, String, String), (bool, usize, i64)>,
    /// context → (up, last success).
    contexts: BTreeMap<String, (bool, Option<SystemTime>)>,
    passes: u64,
    ready: bool,
}

fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Runs the reporter until killed (or one pass with `once`).
///
/// # Errors
/// When the control-plane cluster cannot be reached at start.
pub async fn run(settings: Settings) -> Result<(), String> {
    let home = Client::try_default()
        .await
        .map_err(|e| format!("failed to create the control-plane client: {e}"))?;
    let metrics = Arc::new(Mutex::new(Metrics::default()));
    if let Some(addr) = &settings.listen {
        serve(addr, Arc::clone(&metrics))?;
    }
    let mut contexts: BTreeMap<String, ContextState> = BTreeMap::new();
    let changed = Arc::new(tokio::sync::Notify::new());
    if !settings.once {
        // The records, and the datacenter kinds of datacenters in the control-plane cluster.
        for ar in [
            k8ssandra_clusters(),
            cassandra_datacenters(),
            stargates(),
            reapers(),
        ] {
            watch(home.clone(), ar, Arc::clone(&changed));
        }
    }
    loop {
        let pass = pass(&home, &settings, &mut contexts, &metrics).await;
        if let Err(e) = &pass {
            eprintln!("{{\"level\":\"error\",\"msg\":{}}}", json!(e));
        }
        if settings.once {
            return pass;
        }
        // Watch every context that has a client and no watchers yet. Watchers outlive client
        // errors: they re-list with their own backoff once the API server is back.
        for (name, state) in &mut contexts {
            if let Some(client) = &state.client
                && !state.watching
            {
                state.watching = true;
                for ar in [cassandra_datacenters(), stargates(), reapers()] {
                    watch(client.clone(), ar, Arc::clone(&changed));
                }
                eprintln!(
                    "{{\"level\":\"info\",\"msg\":\"watching context\",\"context\":{}}}",
                    json!(name)
                );
            }
        }
        tokio::select! {
            () = changed.notified() => {
                // Let a burst of events settle into one pass.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            () = tokio::time::sleep(settings.interval) => {}
        }
    }
}

/// Watches every object of a kind in a cluster (all namespaces) and signals each change.
/// The watcher re-lists and backs off on its own after errors; the periodic pass reports them.
fn watch(client: Client, ar: ApiResource, changed: Arc<tokio::sync::Notify>) {
    use futures::StreamExt;
    use kube::runtime::{WatchStreamExt, watcher};
    let api: Api<DynamicObject> = Api::all_with(client, &ar);
    tokio::spawn(async move {
        let mut events = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        while let Some(event) = events.next().await {
            if let Ok(
                watcher::Event::Apply(_) | watcher::Event::Delete(_) | watcher::Event::InitDone,
            ) = event
            {
                changed.notify_one();
            }
        }
    });
}

async fn client_for(
    home: &Client,
    settings: &Settings,
    name: &str,
    contexts: &mut BTreeMap<String, ContextState>,
) -> Result<Client, String> {
    if name == settings.control_plane_context || name.is_empty() {
        return Ok(home.clone());
    }
    let state = contexts.entry(name.to_string()).or_default();
    if let Some(c) = &state.client {
        return Ok(c.clone());
    }
    let configs: Api<DynamicObject> =
        Api::namespaced_with(home.clone(), &settings.namespace, &client_configs());
    let list = configs
        .list(&ListParams::default())
        .await
        .map_err(|e| format!("cannot list ClientConfigs in {}: {e}", settings.namespace))?;
    let cc = list
        .items
        .iter()
        .find(|c| {
            let ctx = c
                .data
                .pointer("/spec/contextName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let n = c.metadata.name.as_deref().unwrap_or_default();
            (if ctx.is_empty() { n } else { ctx }) == name
        })
        .ok_or_else(|| {
            format!(
                "no ClientConfig for context {name} in {}",
                settings.namespace
            )
        })?;
    let secret_name = cc
        .data
        .pointer("/spec/kubeConfigSecret/name")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("ClientConfig for {name} names no kubeConfigSecret"))?;
    let secrets: Api<Secret> = Api::namespaced(home.clone(), &settings.namespace);
    let secret = secrets
        .get(secret_name)
        .await
        .map_err(|e| format!("cannot read Secret {secret_name}: {e}"))?;
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get("kubeconfig"))
        .ok_or_else(|| format!("Secret {secret_name} has no key kubeconfig"))?;
    let text = String::from_utf8(bytes.0.clone())
        .map_err(|_| format!("Secret {secret_name}: kubeconfig is not UTF-8"))?;
    let kubeconfig =
        Kubeconfig::from_yaml(&text).map_err(|e| format!("Secret {secret_name}: {e}"))?;
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| format!("Secret {secret_name}: {e}"))?;
    let client = Client::try_from(config).map_err(|e| format!("context {name}: {e}"))?;
    state.client = Some(client.clone());
    Ok(client)
}

/// Observes one datacenter in its context.
/// Pod IPs of the seed nodes of one datacenter (cass-operator's seed label).
async fn seed_ips(
    client: Client,
    cass_cluster: &str,
    dc_name: &str,
    namespace: &str,
) -> Result<Vec<String>, String> {
    use crate::ports::names::clean_label_value;
    use k8s_openapi::api::core::v1::Pod;
    let pods: Api<Pod> = Api::namespaced(client, namespace);
    let selector = format!(
        "cassandra.datastax.com/cluster={},cassandra.datastax.com/datacenter={},cassandra.datastax.com/seed-node=true",
        clean_label_value(cass_cluster),
        clean_label_value(dc_name)
    );
    let list = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| format!("cannot list seed pods in {namespace}: {e}"))?;
    let mut ips: Vec<String> = list
        .items
        .iter()
        .filter_map(|p| p.status.as_ref()?.pod_ip.clone())
        .filter(|ip| !ip.is_empty())
        .collect();
    ips.sort();
    Ok(ips)
}

/// Writes (or removes, when a family has no address) the two additional-seed EndpointSlices of
/// one datacenter.
async fn write_seed_slices(
    client: Client,
    target: &crate::seeds::SeedTarget<'_>,
    addresses: &[String],
) -> Result<(), String> {
    use crate::seeds::{seed_slice, split_ip};
    use k8s_openapi::api::discovery::v1::EndpointSlice;
    let api: Api<EndpointSlice> = Api::namespaced(client, target.namespace);
    for (family, v4) in [("IPv4", true), ("IPv6", false)] {
        let mine: Vec<String> = addresses
            .iter()
            .filter(|a| split_ip(a) == Some(v4))
            .cloned()
            .collect();
        let slice = seed_slice(target, family, &mine);
        let name = slice["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if mine.is_empty() {
            match api.delete(&name, &Default::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(e) => {
                    return Err(format!(
                        "cannot delete EndpointSlice {}/{name}: {e}",
                        target.namespace
                    ));
                }
            }
            continue;
        }
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&slice),
        )
        .await
        .map_err(|e| {
            format!(
                "cannot write EndpointSlice {}/{name}: {e}",
                target.namespace
            )
        })?;
    }
    Ok(())
}

async fn observe_dc(
    client: Client,
    kc_name: &str,
    kc_namespace: &str,
    dc_name: &str,
    namespace: &str,
) -> Result<DcObservation, String> {
    let dcs: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &cassandra_datacenters());
    let dc = dcs
        .get_opt(dc_name)
        .await
        .map_err(|e| format!("cannot read CassandraDatacenter {namespace}/{dc_name}: {e}"))?;
    let selector = format!(
        "k8ssandra.io/cluster-name={kc_name},k8ssandra.io/cluster-namespace={kc_namespace}"
    );
    let mut obs = DcObservation {
        cassandra: dc.map(|d| serde_json::to_value(d).unwrap_or_default()),
        ..DcObservation::default()
    };
    for (ar, slot) in [(stargates(), 0), (reapers(), 1)] {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
        let list = api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| format!("cannot list {} in {namespace}: {e}", ar.plural))?;
        let found = list
            .items
            .into_iter()
            .find(|o| {
                o.data
                    .pointer("/spec/datacenterRef/name")
                    .and_then(Value::as_str)
                    == Some(dc_name)
            })
            .map(|o| serde_json::to_value(o).unwrap_or_default());
        if slot == 0 {
            obs.stargate = found;
        } else {
            obs.reaper = found;
        }
    }
    Ok(obs)
}

async fn pass(
    home: &Client,
    settings: &Settings,
    contexts: &mut BTreeMap<String, ContextState>,
    metrics: &Arc<Mutex<Metrics>>,
) -> Result<(), String> {
    let records: Api<DynamicObject> = Api::all_with(home.clone(), &k8ssandra_clusters());
    let list = records
        .list(&ListParams::default())
        .await
        .map_err(|e| format!("cannot list K8ssandraClusters: {e}"))?;
    let now = SystemTime::now();
    let mut dc_metrics = BTreeMap::new();
    let mut seen_contexts: BTreeMap<String, bool> = BTreeMap::new();
    for kc in &list.items {
        let mut seeds: Vec<DcSeeds> = Vec::new();
        let name = kc.metadata.name.clone().unwrap_or_default();
        let namespace = kc.metadata.namespace.clone().unwrap_or_default();
        let cluster = serde_json::to_value(kc).unwrap_or_default();
        let cass_cluster = cluster
            .pointer("/spec/cassandra/clusterName")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(&name)
            .to_string();
        let mut observed = Observed {
            cluster: cluster.clone(),
            now: rfc3339(now),
            ..Observed::default()
        };
        let dcs = cluster
            .pointer("/spec/cassandra/datacenters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for dc in &dcs {
            let dc_name = dc
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let dc_ns = dc
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or(&namespace);
            let ctx = dc
                .get("k8sContext")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or(&settings.control_plane_context)
                .to_string();
            // Backoff: a context that failed recently is reported, not retried yet.
            if let Some(state) = contexts.get(&ctx)
                && state.retry_at.is_some_and(|t| Instant::now() < t)
            {
                observed.unreachable.insert(
                    ctx.clone(),
                    format!("backing off after: {}", state.last_error),
                );
                seen_contexts.insert(ctx.clone(), false);
                continue;
            }
            let result = match client_for(home, settings, &ctx, contexts).await {
                Ok(client) => match observe_dc(client.clone(), &name, &namespace, dc_name, dc_ns)
                    .await
                {
                    Ok(obs) if settings.seed_sync => {
                        seed_ips(client, &cass_cluster, dc_name, dc_ns)
                            .await
                            .map(|ips| {
                                let version = dc
                                    .get("serverVersion")
                                    .or_else(|| cluster.pointer("/spec/cassandra/serverVersion"))
                                    .and_then(Value::as_str)
                                    .unwrap_or_default()
                                    .to_string();
                                seeds.push(DcSeeds {
                                    dc: dc_name.to_string(),
                                    context: ctx.clone(),
                                    namespace: dc_ns.to_string(),
                                    version,
                                    ips,
                                });
                                obs
                            })
                    }
                    other => other,
                },
                Err(e) => Err(e),
            };
            let state = contexts.entry(ctx.clone()).or_default();
            match result {
                Ok(mut obs) => {
                    state.failures = 0;
                    state.retry_at = None;
                    state.last_success = Some(now);
                    obs.context = ctx.clone();
                    let size = dc.get("size").and_then(Value::as_i64).unwrap_or(0);
                    let stopped = dc.get("stopped") == Some(&Value::Bool(true));
                    let (ready, nodes) = obs.cassandra.as_ref().map_or((false, 0), |d| {
                        (
                            datacenter_ready(d, stopped),
                            d.pointer("/status/nodeStatuses")
                                .and_then(Value::as_object)
                                .map_or(0, |m| m.len()),
                        )
                    });
                    dc_metrics.insert(
                        (
                            format!("{namespace}/{name}"),
                            dc_name.to_string(),
                            ctx.clone(),
                        ),
                        (ready, nodes, size),
                    );
                    seen_contexts.entry(ctx.clone()).or_insert(true);
                    observed.datacenters.insert(dc_name.to_string(), obs);
                }
                Err(e) => {
                    state.failures += 1;
                    state.client = None;
                    let wait = Duration::from_secs((5u64 << state.failures.min(6)).min(300));
                    state.retry_at = Some(Instant::now() + wait);
                    state.last_error = e.clone();
                    eprintln!(
                        "{{\"level\":\"warn\",\"context\":{},\"msg\":{},\"retryInSeconds\":{}}}",
                        json!(ctx),
                        json!(e),
                        wait.as_secs()
                    );
                    observed.unreachable.insert(ctx.clone(), e);
                    seen_contexts.insert(ctx.clone(), false);
                }
            }
        }
        if settings.seed_sync {
            let names = ClusterNames {
                kc: &name,
                cassandra: &cass_cluster,
            };
            sync_seeds(
                home,
                settings,
                contexts,
                &cluster,
                names,
                &seeds,
                &mut observed,
            )
            .await;
        }
        let status = rollup(&observed);
        let body = json!({
            "apiVersion": "k8ssandra.io/v1alpha1",
            "kind": "K8ssandraCluster",
            "metadata": {"name": name, "namespace": namespace},
            "status": status,
        });
        let api: Api<DynamicObject> =
            Api::namespaced_with(home.clone(), &namespace, &k8ssandra_clusters());
        api.patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(|e| {
            format!("cannot write the status of K8ssandraCluster {namespace}/{name}: {e}")
        })?;
    }
    let mut m = metrics
        .lock()
        .map_err(|_| "metrics lock poisoned".to_string())?;
    m.datacenters = dc_metrics;
    for (ctx, up) in seen_contexts {
        let last = contexts.get(&ctx).and_then(|s| s.last_success);
        m.contexts.insert(ctx, (up, last));
    }
    m.passes += 1;
    m.ready = true;
    Ok(())
}

/// One observed datacenter's seed pods, for seed sync.
struct DcSeeds {
    dc: String,
    context: String,
    namespace: String,
    version: String,
    ips: Vec<String>,
}

/// The K8ssandraCluster name and its Cassandra cluster name.
#[derive(Clone, Copy)]
struct ClusterNames<'a> {
    kc: &'a str,
    cassandra: &'a str,
}

/// For every observed datacenter: the seed pod IPs of all the other datacenters of the cluster
/// plus the static `additionalSeeds`. A failed write is reported like an unreachable context.
async fn sync_seeds(
    home: &Client,
    settings: &Settings,
    contexts: &mut BTreeMap<String, ContextState>,
    cluster: &Value,
    names: ClusterNames<'_>,
    seeds: &[DcSeeds],
    observed: &mut Observed,
) {
    let static_seeds = crate::json::string_list(cluster.pointer("/spec/cassandra/additionalSeeds"));
    let common_labels = cluster
        .pointer("/spec/cassandra/metadata/commonLabels")
        .cloned();
    let common_annotations = cluster
        .pointer("/spec/cassandra/metadata/commonAnnotations")
        .cloned();
    for this in seeds {
        let mut addresses: Vec<String> = seeds
            .iter()
            .filter(|other| other.dc != this.dc)
            .flat_map(|other| other.ips.iter().cloned())
            .collect();
        addresses.extend(static_seeds.iter().cloned());
        let ctx = &this.context;
        let target = crate::seeds::SeedTarget {
            kc_name: names.kc,
            cass_cluster_name: names.cassandra,
            dc_name: &this.dc,
            namespace: &this.namespace,
            version: &this.version,
            common_labels: common_labels.as_ref(),
            common_annotations: common_annotations.as_ref(),
        };
        let result = match client_for(home, settings, ctx, contexts).await {
            Ok(client) => write_seed_slices(client, &target, &addresses).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            eprintln!(
                "{{\"level\":\"warn\",\"context\":{},\"msg\":{}}}",
                json!(ctx),
                json!(e)
            );
            observed.unreachable.insert(ctx.clone(), e);
        }
    }
}

fn render_metrics(m: &Metrics) -> String {
    let mut s = String::new();
    s.push_str("# HELP k8ssandra_gitops_datacenter_ready Whether the datacenter is ready (Ready condition, progress Ready, generation observed).\n# TYPE k8ssandra_gitops_datacenter_ready gauge\n");
    for ((c, d, x), (ready, _, _)) in &m.datacenters {
        s.push_str(&format!("k8ssandra_gitops_datacenter_ready{{cluster=\"{c}\",datacenter=\"{d}\",context=\"{x}\"}} {}\n", u8::from(*ready)));
    }
    s.push_str("# HELP k8ssandra_gitops_datacenter_nodes Nodes of the datacenter: spec size (total) and nodes with a host ID in its status (joined).\n# TYPE k8ssandra_gitops_datacenter_nodes gauge\n");
    for ((c, d, x), (_, joined, size)) in &m.datacenters {
        s.push_str(&format!("k8ssandra_gitops_datacenter_nodes{{cluster=\"{c}\",datacenter=\"{d}\",context=\"{x}\",state=\"joined\"}} {joined}\n"));
        s.push_str(&format!("k8ssandra_gitops_datacenter_nodes{{cluster=\"{c}\",datacenter=\"{d}\",context=\"{x}\",state=\"total\"}} {size}\n"));
    }
    s.push_str("# HELP k8ssandra_gitops_context_up Whether the last attempt to read the context succeeded.\n# TYPE k8ssandra_gitops_context_up gauge\n");
    for (ctx, (up, _)) in &m.contexts {
        s.push_str(&format!(
            "k8ssandra_gitops_context_up{{context=\"{ctx}\"}} {}\n",
            u8::from(*up)
        ));
    }
    s.push_str("# HELP k8ssandra_gitops_context_last_success_age_seconds Seconds since the context was last read successfully.\n# TYPE k8ssandra_gitops_context_last_success_age_seconds gauge\n");
    for (ctx, (_, last)) in &m.contexts {
        if let Some(t) = last {
            let age = SystemTime::now()
                .duration_since(*t)
                .map_or(0.0, |d| d.as_secs_f64());
            s.push_str(&format!(
                "k8ssandra_gitops_context_last_success_age_seconds{{context=\"{ctx}\"}} {age:.0}\n"
            ));
        }
    }
    s.push_str(&format!("# HELP k8ssandra_gitops_passes_total Completed observation passes.\n# TYPE k8ssandra_gitops_passes_total counter\nk8ssandra_gitops_passes_total {}\n", m.passes));
    s
}

/// Serves `/metrics`, `/healthz` (process alive) and `/readyz` (one pass done).
fn serve(addr: &str, metrics: Arc<Mutex<Metrics>>) -> Result<(), String> {
    let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut line = String::new();
            let mut reader = BufReader::new(&stream);
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (code, body) = match path.as_str() {
                "/metrics" => (
                    "200 OK",
                    metrics
                        .lock()
                        .map(|m| render_metrics(&m))
                        .unwrap_or_default(),
                ),
                "/healthz" => ("200 OK", "ok\n".to_string()),
                "/readyz" => {
                    if metrics.lock().is_ok_and(|m| m.ready) {
                        ("200 OK", "ok\n".to_string())
                    } else {
                        (
                            "503 Service Unavailable",
                            "no pass completed yet\n".to_string(),
                        )
                    }
                }
                _ => ("404 Not Found", "not found\n".to_string()),
            };
            let mut out = &stream;
            let _ = write!(
                out,
                "HTTP/1.1 {code}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_480_245)),
            "2026-11-24T00:30:45Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn metrics_text() {
        let mut m = Metrics::default();
        m.datacenters.insert(
            ("db/shop".into(), "dc1".into(), "east".into()),
            (true, 3, 3),
        );
        m.contexts.insert("west".into(), (false, None));
        let text = render_metrics(&m);
        assert!(text.contains("k8ssandra_gitops_datacenter_ready{cluster=\"db/shop\",datacenter=\"dc1\",context=\"east\"} 1\n"));
        assert!(text.contains("k8ssandra_gitops_datacenter_nodes{cluster=\"db/shop\",datacenter=\"dc1\",context=\"east\",state=\"total\"} 3\n"));
        assert!(text.contains("k8ssandra_gitops_context_up{context=\"west\"} 0\n"));
    }
}
