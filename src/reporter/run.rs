//! The in-cluster reporter process: reads the ClientConfigs of its namespace (and the kubeconfig
//! Secrets they name) like k8ssandra-operator does, observes every datacenter of every
//! K8ssandraCluster record in its context, and writes the [`rollup`](super::rollup) into the
//! record's status subresource with server-side apply. It never writes `spec`.
//!
//! Reflectors (one per kind per context: the records, the ClientConfigs, and the
//! CassandraDatacenters, Stargates, Reapers and, for seed sync, seed pods of every context) keep
//! in-memory stores; a pass computes everything from the stores, runs as soon as a store changes,
//! and also every interval (resync). Nothing is listed per pass: a watcher lists when it
//! (re)starts. When a context's ClientConfig or kubeconfig Secret changes, its client and
//! watchers are rebuilt. A context that fails is retried with exponential backoff and named
//! in `status.error`, and never stops the others. `/metrics`, `/healthz` and `/readyz` are
//! served by [`http`](super::http).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube::{Client, Config};
use serde::Deserialize as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, Notify};

use super::error::{ContextError, ReporterError};
use super::http::{self, Metrics, Timeouts};
use super::rollup::{DcObservation, Observed, datacenter_ready, rollup};
use super::watch::{Health, Watched, backoff, combined};
use crate::model::cluster::CassandraClusterTemplate;
use crate::model::labels::{CLUSTER_NAME_LABEL, CLUSTER_NAMESPACE_LABEL};

/// Field manager of everything the reporter writes.
pub const FIELD_MANAGER: &str = "k8ssandra-gitops-reporter";

/// How often the kubeconfig Secret of every context is read again (a rotation is picked up
/// within this time, or at once when the old credentials stop working).
const SECRET_CHECK: Duration = Duration::from_secs(10);

/// How long a watcher may take for its first complete list before its context is reported.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A burst of events settles into one pass.
const DEBOUNCE: Duration = Duration::from_millis(500);

/// The label of cass-operator's seed pods.
const SEED_LABEL: &str = "cassandra.datastax.com/seed-node=true";

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

/// The client and watchers of one context.
struct Connection {
    client: Client,
    /// Hash of the kubeconfig Secret's name and content the client was built from (`None`: the
    /// control-plane context, which uses the reporter's own credentials).
    fingerprint: Option<[u8; 32]>,
    datacenters: Watched,
    stargates: Watched,
    reapers: Watched,
    seed_pods: Option<Watched>,
}

impl Connection {
    fn spawn(
        context: &str,
        client: Client,
        fingerprint: Option<[u8; 32]>,
        seed_sync: bool,
        changed: &Arc<Notify>,
    ) -> Self {
        let all = |ar: &ApiResource, config: watcher::Config| {
            Watched::spawn(
                context,
                Api::all_with(client.clone(), ar),
                ar,
                config,
                Arc::clone(changed),
            )
        };
        let pods = ApiResource::erase::<Pod>(&());
        Self {
            datacenters: all(&cassandra_datacenters(), watcher::Config::default()),
            stargates: all(&stargates(), watcher::Config::default()),
            reapers: all(&reapers(), watcher::Config::default()),
            seed_pods: seed_sync.then(|| all(&pods, watcher::Config::default().labels(SEED_LABEL))),
            client,
            fingerprint,
        }
    }

    fn watchers(&self) -> impl Iterator<Item = &Watched> {
        [&self.datacenters, &self.stargates, &self.reapers]
            .into_iter()
            .chain(self.seed_pods.as_ref())
    }
}

/// Per-context state: connection, configuration failures and their backoff.
#[derive(Default)]
struct ContextState {
    connection: Option<Connection>,
    /// resourceVersion of the ClientConfig the connection was built from.
    client_config_version: Option<String>,
    secret_checked: Option<Instant>,
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<Arc<ContextError>>,
    /// Whether `last_error` was named in a status already (later: "backing off after: …").
    error_reported: bool,
    last_success: Option<SystemTime>,
}

/// What a pass can say about one context.
enum View {
    Ready,
    /// Watchers still listing: records with a datacenter there wait for the next pass.
    Pending,
    Failed(String),
}

struct Reporter {
    home: Client,
    settings: Settings,
    changed: Arc<Notify>,
    records: Watched,
    client_configs: Watched,
    contexts: BTreeMap<String, ContextState>,
    metrics: Arc<Mutex<Metrics>>,
}

/// Runs the reporter until killed (or one pass with `once`).
///
/// # Errors
/// When the control-plane cluster cannot be reached at start, the metrics port cannot be
/// opened, or (with `once`) the records cannot be listed or a status cannot be written.
pub async fn run(settings: Settings) -> Result<(), ReporterError> {
    let metrics = Arc::new(Mutex::new(Metrics::default()));
    let server = match &settings.listen {
        Some(addr) => Some(tokio::spawn(http::serve(
            http::bind(addr).await?,
            Arc::clone(&metrics),
            Timeouts::default(),
        ))),
        None => None,
    };
    let home = Client::try_default()
        .await
        .map_err(ReporterError::ControlPlane)?;
    let changed = Arc::new(Notify::new());
    let context = settings.control_plane_context.clone();
    let mut reporter = Reporter {
        records: Watched::spawn(
            &context,
            Api::all_with(home.clone(), &k8ssandra_clusters()),
            &k8ssandra_clusters(),
            watcher::Config::default(),
            Arc::clone(&changed),
        ),
        client_configs: Watched::spawn(
            &context,
            Api::namespaced_with(home.clone(), &settings.namespace, &client_configs()),
            &client_configs(),
            watcher::Config::default(),
            Arc::clone(&changed),
        ),
        home,
        settings,
        changed: Arc::clone(&changed),
        contexts: BTreeMap::new(),
        metrics,
    };
    if reporter.settings.once {
        // Passes until one could observe every record (or found why not), then exit.
        loop {
            if reporter.pass().await? {
                return Ok(());
            }
            tokio::select! {
                () = changed.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
    let mut resync = tokio::time::interval(reporter.settings.interval);
    let mut maintenance = tokio::time::interval(SECRET_CHECK);
    for timer in [&mut resync, &mut maintenance] {
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        timer.tick().await;
    }
    loop {
        if let Err(e) = reporter.pass().await {
            tracing::error!("{e}");
        }
        tokio::select! {
            () = changed.notified() => tokio::time::sleep(DEBOUNCE).await,
            _ = resync.tick() => {}
            _ = maintenance.tick() => {
                if !reporter.maintain().await {
                    continue;
                }
            }
        }
        if server
            .as_ref()
            .is_some_and(tokio::task::JoinHandle::is_finished)
        {
            tracing::error!("the metrics endpoint stopped");
        }
    }
}

impl Reporter {
    /// Between passes: reads the kubeconfig Secrets again, retries contexts whose backoff is
    /// over, and reports watchers that never finished listing. Whether a pass is due.
    async fn maintain(&mut self) -> bool {
        let names: Vec<String> = self.contexts.keys().cloned().collect();
        let mut due = false;
        for name in names {
            due |= self.refresh(&name).await;
            let state = &self.contexts[&name];
            due |= state.connection.as_ref().is_some_and(|c| {
                matches!(combined(c.watchers()), Health::Starting)
                    && c.datacenters.started().elapsed() > START_TIMEOUT
            });
        }
        due
    }

    /// Connects the context, or rebuilds its connection when its ClientConfig or kubeconfig
    /// Secret changed. Whether anything changed (a new connection or a new failure).
    async fn refresh(&mut self, name: &str) -> bool {
        let state = self.contexts.entry(name.to_string()).or_default();
        if state.retry_at.is_some_and(|t| Instant::now() < t) {
            return false;
        }
        match connect(
            &self.home,
            &self.settings,
            &self.client_configs,
            &self.changed,
            name,
            state,
        )
        .await
        {
            Ok(changed) => {
                state.failures = 0;
                state.retry_at = None;
                state.last_error = None;
                changed
            }
            Err(e) => {
                state.connection = None;
                state.client_config_version = None;
                state.failures += 1;
                let wait = backoff(state.failures);
                state.retry_at = Some(Instant::now() + wait);
                tracing::warn!(context = %name, retryInSeconds = wait.as_secs(), "{e}");
                state.last_error = Some(Arc::new(e));
                state.error_reported = false;
                true
            }
        }
    }

    fn view(&mut self, name: &str) -> View {
        let Some(state) = self.contexts.get_mut(name) else {
            return View::Pending;
        };
        if let Some(e) = &state.last_error {
            let text = if state.error_reported {
                format!("backing off after: {e}")
            } else {
                e.to_string()
            };
            state.error_reported = true;
            return View::Failed(text);
        }
        let Some(connection) = &state.connection else {
            return View::Pending;
        };
        match combined(connection.watchers()) {
            Health::Ready => View::Ready,
            Health::Failed(f) => View::Failed(ContextError::Watch(f).to_string()),
            Health::Starting if connection.datacenters.started().elapsed() > START_TIMEOUT => {
                View::Failed(ContextError::Timeout(START_TIMEOUT).to_string())
            }
            Health::Starting => View::Pending,
        }
    }

    /// One pass over the stores. Whether every record was written (a record with a
    /// datacenter in a context that is still listing waits for the next pass).
    async fn pass(&mut self) -> Result<bool, ReporterError> {
        match self.records.health() {
            Health::Ready => {}
            Health::Failed(f) => return Err(ReporterError::Records(f)),
            Health::Starting if self.records.started().elapsed() > START_TIMEOUT => {
                return Err(ReporterError::RecordsTimeout(START_TIMEOUT));
            }
            Health::Starting => return Ok(false),
        }
        let mut records = self.records.store.state();
        records.sort_by(|a, b| {
            (&a.metadata.namespace, &a.metadata.name)
                .cmp(&(&b.metadata.namespace, &b.metadata.name))
        });
        let records: Vec<Value> = records
            .iter()
            .map(|r| serde_json::to_value(&**r).unwrap_or_default())
            .collect();
        // Each record's datacenters, read once for the contexts to refresh and the rollups.
        let placed: Vec<_> = records
            .iter()
            .map(|r| (r, datacenters_of(r, &self.settings.control_plane_context)))
            .collect();
        let needed: BTreeSet<String> = placed
            .iter()
            .filter_map(|(_, dcs)| dcs.as_ref().ok())
            .flatten()
            .map(|dc| dc.context.clone())
            .collect();
        let mut views = BTreeMap::new();
        for name in &needed {
            self.refresh(name).await;
            views.insert(name.clone(), self.view(name));
        }
        let now = SystemTime::now();
        let mut complete = true;
        let mut dc_metrics = BTreeMap::new();
        let mut write_error = None;
        for (record, dcs) in placed {
            let name = crate::json::str_at_pointer(record, "/metadata/name").to_string();
            let namespace = crate::json::str_at_pointer(record, "/metadata/namespace").to_string();
            let dcs = match dcs {
                Ok(dcs) => dcs,
                Err(source) => {
                    // Its status stays as it is: a status from a misread spec would mislead.
                    let e = ReporterError::ReadRecord {
                        namespace: namespace.clone(),
                        name: name.clone(),
                        source,
                    };
                    tracing::warn!(cluster = %format!("{namespace}/{name}"), "{e}");
                    continue;
                }
            };
            if dcs
                .iter()
                .any(|dc| matches!(views.get(&dc.context), Some(View::Pending)))
            {
                complete = false;
                continue;
            }
            let cass_cluster = crate::model::cluster::cassandra_cluster_name(
                &name,
                record
                    .pointer("/spec/cassandra/clusterName")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            )
            .to_string();
            let mut observed = Observed {
                cluster: record.clone(),
                now: rfc3339(now),
                ..Observed::default()
            };
            let mut seeds = Vec::new();
            for dc in &dcs {
                match &views[&dc.context] {
                    View::Failed(why) => {
                        observed.unreachable.insert(dc.context.clone(), why.clone());
                    }
                    View::Pending => {}
                    View::Ready => {
                        let Some(connection) = self
                            .contexts
                            .get(&dc.context)
                            .and_then(|s| s.connection.as_ref())
                        else {
                            continue;
                        };
                        let mut obs = observe_dc(connection, &name, &namespace, dc);
                        obs.context = dc.context.clone();
                        if let Some(pods) = &connection.seed_pods {
                            seeds.push(DcSeeds {
                                dc: dc.name.clone(),
                                context: dc.context.clone(),
                                namespace: dc.namespace.clone(),
                                version: dc.version.clone(),
                                ips: seed_ips(pods, &cass_cluster, &dc.name, &dc.namespace),
                            });
                        }
                        let (ready, nodes) = obs.cassandra.as_ref().map_or((false, 0), |d| {
                            (
                                datacenter_ready(d, dc.stopped),
                                d.pointer("/status/nodeStatuses")
                                    .and_then(Value::as_object)
                                    .map_or(0, serde_json::Map::len),
                            )
                        });
                        dc_metrics.insert(
                            (
                                format!("{namespace}/{name}"),
                                dc.name.clone(),
                                dc.context.clone(),
                            ),
                            (ready, nodes, dc.size),
                        );
                        observed.datacenters.insert(dc.name.clone(), obs);
                    }
                }
            }
            if self.settings.seed_sync {
                let names = ClusterNames {
                    kc: &name,
                    cassandra: &cass_cluster,
                };
                self.sync_seeds(record, names, &seeds, &mut observed).await;
            }
            let status = rollup(&observed);
            let body = json!({
                "apiVersion": "k8ssandra.io/v1alpha1",
                "kind": "K8ssandraCluster",
                "metadata": {"name": name, "namespace": namespace},
                "status": status,
            });
            let api: Api<DynamicObject> =
                Api::namespaced_with(self.home.clone(), &namespace, &k8ssandra_clusters());
            if let Err(source) = api
                .patch_status(
                    &name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&body),
                )
                .await
            {
                let e = ReporterError::WriteStatus {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    source,
                };
                tracing::warn!(cluster = %format!("{namespace}/{name}"), "{e}");
                write_error = Some(e);
            }
        }
        if !complete {
            // The metrics describe complete passes only.
            return write_error.map_or(Ok(false), Err);
        }
        let mut m = self.metrics.lock().await;
        m.datacenters = dc_metrics;
        for (name, view) in &views {
            let up = match view {
                View::Ready => true,
                View::Failed(_) => false,
                View::Pending => continue,
            };
            let state = self.contexts.entry(name.clone()).or_default();
            if up {
                state.last_success = Some(now);
            }
            m.contexts.insert(name.clone(), (up, state.last_success));
        }
        m.passes += 1;
        m.ready = true;
        drop(m);
        write_error.map_or(Ok(true), Err)
    }

    /// For every observed datacenter: the seed pod IPs of all the other datacenters of the
    /// cluster plus the static `additionalSeeds`. A failed write is reported like an
    /// unreachable context.
    async fn sync_seeds(
        &self,
        cluster: &Value,
        names: ClusterNames<'_>,
        seeds: &[DcSeeds],
        observed: &mut Observed,
    ) {
        let static_seeds =
            crate::json::string_list(cluster.pointer("/spec/cassandra/additionalSeeds"));
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
            let target = crate::seeds::SeedTarget {
                kc_name: names.kc,
                cass_cluster_name: names.cassandra,
                dc_name: &this.dc,
                namespace: &this.namespace,
                version: &this.version,
                common_labels: common_labels.as_ref(),
                common_annotations: common_annotations.as_ref(),
            };
            let Some(connection) = self
                .contexts
                .get(&this.context)
                .and_then(|s| s.connection.as_ref())
            else {
                continue;
            };
            if let Err(e) = write_seed_slices(connection.client.clone(), &target, &addresses).await
            {
                tracing::warn!(context = %this.context, "{e}");
                observed
                    .unreachable
                    .insert(this.context.clone(), e.to_string());
            }
        }
    }
}

/// Builds (or keeps) the connection of one context. Whether a new connection was built.
async fn connect(
    home: &Client,
    settings: &Settings,
    client_configs: &Watched,
    changed: &Arc<Notify>,
    name: &str,
    state: &mut ContextState,
) -> Result<bool, ContextError> {
    if name == settings.control_plane_context {
        if state.connection.is_some() {
            return Ok(false);
        }
        state.connection = Some(Connection::spawn(
            name,
            home.clone(),
            None,
            settings.seed_sync,
            changed,
        ));
        tracing::info!(context = %name, "watching context");
        return Ok(true);
    }
    match client_configs.health() {
        Health::Ready => {}
        Health::Failed(source) => {
            return Err(ContextError::ClientConfigs {
                namespace: settings.namespace.clone(),
                source,
            });
        }
        Health::Starting if client_configs.started().elapsed() > START_TIMEOUT => {
            return Err(ContextError::Timeout(START_TIMEOUT));
        }
        Health::Starting => return Ok(false),
    }
    let cc = client_configs
        .store
        .find(|c| {
            let ctx = c
                .data
                .pointer("/spec/contextName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let n = c.metadata.name.as_deref().unwrap_or_default();
            (if ctx.is_empty() { n } else { ctx }) == name
        })
        .ok_or_else(|| ContextError::NoClientConfig {
            context: name.to_string(),
            namespace: settings.namespace.clone(),
        })?;
    let version = cc.metadata.resource_version.clone();
    let failing = state
        .connection
        .as_ref()
        .is_some_and(|c| matches!(combined(c.watchers()), Health::Failed(_)));
    let due = state.connection.is_none()
        || failing
        || state.client_config_version != version
        || state
            .secret_checked
            .is_none_or(|t| t.elapsed() >= SECRET_CHECK);
    if !due {
        return Ok(false);
    }
    let secret_name = cc
        .data
        .pointer("/spec/kubeConfigSecret/name")
        .and_then(Value::as_str)
        .ok_or_else(|| ContextError::NoKubeconfigSecret {
            context: name.to_string(),
        })?;
    let secrets: Api<Secret> = Api::namespaced(home.clone(), &settings.namespace);
    let secret = secrets
        .get(secret_name)
        .await
        .map_err(|source| ContextError::ReadSecret {
            secret: secret_name.to_string(),
            source,
        })?;
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get("kubeconfig"))
        .ok_or_else(|| ContextError::NoKubeconfigKey {
            secret: secret_name.to_string(),
        })?;
    let fingerprint: [u8; 32] = Sha256::new()
        .chain_update(secret_name.as_bytes())
        .chain_update([0])
        .chain_update(&bytes.0)
        .finalize()
        .into();
    state.secret_checked = Some(Instant::now());
    state.client_config_version = version;
    if state
        .connection
        .as_ref()
        .is_some_and(|c| c.fingerprint == Some(fingerprint))
    {
        return Ok(false);
    }
    let text = String::from_utf8(bytes.0.clone()).map_err(|_| ContextError::KubeconfigNotUtf8 {
        secret: secret_name.to_string(),
    })?;
    let bad = |source| ContextError::BadKubeconfig {
        secret: secret_name.to_string(),
        source,
    };
    let kubeconfig = Kubeconfig::from_yaml(&text).map_err(bad)?;
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(bad)?;
    let client = Client::try_from(config).map_err(|source| ContextError::Client {
        context: name.to_string(),
        source,
    })?;
    let rotated = state.connection.is_some();
    // Dropping the old connection stops its watchers.
    state.connection = Some(Connection::spawn(
        name,
        client,
        Some(fingerprint),
        settings.seed_sync,
        changed,
    ));
    if rotated {
        tracing::info!(
            context = %name,
            "kubeconfig changed: watching with the new credentials"
        );
    } else {
        tracing::info!(context = %name, "watching context");
    }
    Ok(true)
}

/// One datacenter of a record's spec, with its defaults applied.
struct SpecDc {
    name: String,
    namespace: String,
    context: String,
    version: String,
    size: i64,
    stopped: bool,
}

/// The datacenters of a record's `spec.cassandra`, read with the model's types and placed by
/// the same rules as the plan: namespace and context default as
/// [`DatacenterTemplate::namespace_or`] and [`DatacenterTemplate::context_or`] say, and the
/// server version is the cluster → datacenter merge's (a datacenter's empty `serverVersion`
/// does not override the cluster's). An error when `spec.cassandra` is not what the model
/// accepts (the record was not written by the renderer, or by a newer version of it).
///
/// [`DatacenterTemplate::namespace_or`]: crate::model::cluster::DatacenterTemplate::namespace_or
/// [`DatacenterTemplate::context_or`]: crate::model::cluster::DatacenterTemplate::context_or
fn datacenters_of(record: &Value, control_plane: &str) -> Result<Vec<SpecDc>, serde_json::Error> {
    let Some(cassandra) = record.pointer("/spec/cassandra") else {
        return Ok(Vec::new());
    };
    let cassandra = CassandraClusterTemplate::deserialize(cassandra)?;
    let namespace = crate::json::str_at_pointer(record, "/metadata/namespace");
    let cluster_options = Value::Object(cassandra.options);
    Ok(cassandra
        .datacenters
        .into_iter()
        .map(|dc| {
            let merged = crate::merge::merge(&cluster_options, &Value::Object(dc.options.clone()));
            SpecDc {
                namespace: dc.namespace_or(namespace).to_string(),
                context: dc.context_or(control_plane).to_string(),
                version: crate::json::str_at_pointer(&merged, "/serverVersion").to_string(),
                size: i64::from(dc.size),
                stopped: dc.stopped,
                name: dc.name,
            }
        })
        .collect())
}

fn in_namespace(o: &DynamicObject, namespace: &str) -> bool {
    o.metadata.namespace.as_deref() == Some(namespace)
}

fn label<'o>(o: &'o DynamicObject, key: &str) -> Option<&'o str> {
    o.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// One datacenter as the context's stores see it.
fn observe_dc(
    connection: &Connection,
    kc_name: &str,
    kc_namespace: &str,
    dc: &SpecDc,
) -> DcObservation {
    let to_value = |o: Arc<DynamicObject>| serde_json::to_value(&*o).unwrap_or_default();
    let cassandra = connection
        .datacenters
        .store
        .find(|o| in_namespace(o, &dc.namespace) && o.metadata.name.as_deref() == Some(&dc.name))
        .map(to_value);
    // The Stargate and Reaper of the datacenter: labelled with the record, pointing at the DC.
    let of_dc = |o: &DynamicObject| {
        in_namespace(o, &dc.namespace)
            && label(o, CLUSTER_NAME_LABEL) == Some(kc_name)
            && label(o, CLUSTER_NAMESPACE_LABEL) == Some(kc_namespace)
            && o.data
                .pointer("/spec/datacenterRef/name")
                .and_then(Value::as_str)
                == Some(&dc.name)
    };
    DcObservation {
        context: String::new(),
        cassandra,
        stargate: connection.stargates.store.find(of_dc).map(to_value),
        reaper: connection.reapers.store.find(of_dc).map(to_value),
    }
}

/// Pod IPs of the seed nodes of one datacenter (cass-operator's seed label), sorted.
fn seed_ips(pods: &Watched, cass_cluster: &str, dc_name: &str, namespace: &str) -> Vec<String> {
    use crate::ports::names::clean_label_value;
    let cluster = clean_label_value(cass_cluster);
    let dc = clean_label_value(dc_name);
    let mut ips: Vec<String> = pods
        .store
        .state_filter(|p| {
            in_namespace(p, namespace)
                && label(p, "cassandra.datastax.com/cluster") == Some(cluster.as_str())
                && label(p, "cassandra.datastax.com/datacenter") == Some(dc.as_str())
        })
        .iter()
        .filter_map(|p| p.data.pointer("/status/podIP").and_then(Value::as_str))
        .filter(|ip| !ip.is_empty())
        .map(str::to_string)
        .collect();
    ips.sort();
    ips
}

/// Writes (or removes, when a family has no address) the two additional-seed EndpointSlices of
/// one datacenter.
async fn write_seed_slices(
    client: Client,
    target: &crate::seeds::SeedTarget<'_>,
    addresses: &[String],
) -> Result<(), ContextError> {
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
        let failed = |verb, source| ContextError::SeedSlice {
            verb,
            namespace: target.namespace.to_string(),
            name: name.clone(),
            source,
        };
        if mine.is_empty() {
            match api.delete(&name, &Default::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(e) => return Err(failed("delete", e)),
            }
            continue;
        }
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&slice),
        )
        .await
        .map_err(|e| failed("write", e))?;
    }
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
    fn spec_datacenters_get_their_defaults() {
        let record = json!({
            "metadata": {"name": "shop", "namespace": "db"},
            "spec": {"cassandra": {"serverVersion": "4.1.5", "datacenters": [
                {"metadata": {"name": "dc1"}, "k8sContext": "east", "size": 3},
                {"metadata": {"name": "dc2", "namespace": "other"}, "serverVersion": "5.0.2",
                 "stopped": true},
            ]}},
        });
        let dcs = datacenters_of(&record, "control-plane").expect("a spec the model accepts");
        assert_eq!(
            (
                dcs[0].context.as_str(),
                dcs[0].namespace.as_str(),
                dcs[0].version.as_str(),
                dcs[0].size,
                dcs[0].stopped
            ),
            ("east", "db", "4.1.5", 3, false)
        );
        assert_eq!(
            (
                dcs[1].context.as_str(),
                dcs[1].namespace.as_str(),
                dcs[1].version.as_str(),
                dcs[1].size,
                dcs[1].stopped
            ),
            ("control-plane", "other", "5.0.2", 0, true)
        );
    }

    #[test]
    fn an_empty_datacenter_server_version_keeps_the_clusters_as_the_merge_does() {
        let record = json!({
            "metadata": {"name": "shop", "namespace": "db"},
            "spec": {"cassandra": {"serverVersion": "4.1.5", "datacenters": [
                {"metadata": {"name": "dc1"}, "serverVersion": "", "size": 1},
            ]}},
        });
        let dcs = datacenters_of(&record, "control-plane").expect("a spec the model accepts");
        assert_eq!(dcs[0].version, "4.1.5");
    }

    #[test]
    fn a_record_without_datacenters_has_none_and_one_the_model_refuses_is_an_error() {
        let record = json!({"metadata": {"name": "shop", "namespace": "db"}, "spec": {}});
        assert!(
            datacenters_of(&record, "control-plane")
                .expect("no spec.cassandra")
                .is_empty()
        );
        let record = json!({
            "metadata": {"name": "shop", "namespace": "db"},
            "spec": {"cassandra": {"datacenters": [{"metadata": {"name": "dc1"}, "size": "three"}]}},
        });
        assert!(datacenters_of(&record, "control-plane").is_err());
    }
}
