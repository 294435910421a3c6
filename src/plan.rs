//! Plan stage: resolve every datacenter of every K8ssandraCluster (target context, namespace,
//! merged options, rollout order) and run the checks that need the whole picture.

pub mod credentials;
pub mod delivery;
pub mod encryption;
pub mod medusa;
pub mod multidc;
pub mod operations;
pub mod reaper;
pub mod replication;
pub mod reporter;
pub mod service_monitor;
pub mod stargate;
pub mod telemetry;
pub mod templates;
pub mod waves;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use crate::diagnostic::{Code, Diagnostic, did_you_mean, has_error};
use crate::load::{Doc, Inputs};
use crate::merge::{merge, merge_telemetry};
use crate::model::cluster::{
    CassandraClusterTemplate, DatacenterOptions, DatacenterTemplate, K8ssandraCluster,
};
use crate::model::server::{ServerType, ServerVersion};
use crate::ports::names::{
    cleanup_for_kubernetes, cleanup_subdomain, is_dns1035_label, is_dns1123_label,
};
use crate::yaml::{Pos, Seg, keys};

/// Default context for datacenters without `k8sContext`.
pub const DEFAULT_CONTROL_PLANE_CONTEXT: &str = "control-plane";
/// Default namespace for K8ssandraClusters without one.
pub const DEFAULT_NAMESPACE: &str = "default";
/// Output directory, relative to the repository, when neither `-o` nor RenderConfig names one.
pub const DEFAULT_OUTPUT_DIR: &str = "rendered";

pub use crate::model::config::SecretsBackend;

/// The backend chosen in RenderConfig, if any.
fn secrets_backend(inputs: &Inputs) -> Option<SecretsBackend> {
    inputs
        .render_config
        .as_ref()?
        .value
        .secrets
        .as_ref()?
        .backend
}

/// Settings that come from RenderConfig (or defaults).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Context of datacenters without `k8sContext`.
    pub control_plane_context: String,
    /// Namespace of K8ssandraClusters without one.
    pub default_namespace: String,
    /// Some input file could not be parsed: the ClientConfig declaring a context may be in it,
    /// so an undeclared context is not reported (it would be a follow-on error).
    pub inputs_incomplete: bool,
    /// Where the `externalSecrets` backend reads from and how committed SOPS copies are
    /// decrypted (RenderConfig `secrets`, `flux`).
    pub credentials: CredentialsSettings,
    /// RenderConfig `secrets.backend`. `external` means what `secretsProvider: external`
    /// means on each K8ssandraCluster (the user provides the Secrets, datacenters only
    /// reference them), so every cluster is then planned with external secrets.
    pub secrets_backend: Option<SecretsBackend>,
}

impl Settings {
    /// Settings from the repository's RenderConfig, if any.
    #[must_use]
    pub fn from_inputs(inputs: &Inputs) -> Self {
        let spec = inputs.render_config.as_ref().map(|d| &d.value);
        Self {
            control_plane_context: spec
                .and_then(|s| s.control_plane_context.clone())
                .unwrap_or_else(|| DEFAULT_CONTROL_PLANE_CONTEXT.to_string()),
            default_namespace: spec
                .and_then(|s| s.default_namespace.clone())
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string()),
            inputs_incomplete: !inputs.unparsed_files.is_empty(),
            secrets_backend: secrets_backend(inputs),
            credentials: CredentialsSettings::from_inputs(inputs),
        }
    }
}

/// RenderConfig's settings for delivering credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsSettings {
    /// `secrets.externalSecrets.storeRef.kind`, default `ClusterSecretStore`.
    pub store_kind: String,
    /// `secrets.externalSecrets.storeRef.name`, when set and not empty.
    pub store_name: Option<String>,
    /// `secrets.externalSecrets.remoteKeyPrefix`: remote key = `<prefix><namespace>/<name>`.
    pub remote_key_prefix: String,
    /// SOPS copies are decrypted by the KSOPS generator of each context's kustomization (Argo
    /// CD with kustomize exec plugins), unless the renderer writes Flux Kustomizations, whose
    /// `spec.decryption` has kustomize-controller decrypt them.
    pub ksops: bool,
}

impl Default for CredentialsSettings {
    fn default() -> Self {
        Self {
            store_kind: "ClusterSecretStore".into(),
            store_name: None,
            remote_key_prefix: String::new(),
            ksops: true,
        }
    }
}

impl CredentialsSettings {
    fn from_inputs(inputs: &Inputs) -> Self {
        let spec = inputs.render_config.as_ref().map(|d| &d.value);
        let external = spec
            .and_then(|s| s.secrets.as_ref())
            .and_then(|s| s.external_secrets.as_ref());
        let store = external.and_then(|e| e.store_ref.as_ref());
        let defaults = Self::default();
        Self {
            store_kind: store
                .and_then(|s| s.kind.clone())
                .unwrap_or(defaults.store_kind),
            store_name: store.and_then(|s| s.name.clone()).filter(|n| !n.is_empty()),
            remote_key_prefix: external
                .and_then(|e| e.remote_key_prefix.clone())
                .unwrap_or_default(),
            ksops: spec.is_none_or(|s| s.flux.is_none()),
        }
    }
}

/// One K8ssandraCluster, resolved.
#[derive(Debug)]
pub struct ClusterPlan<'a> {
    /// The source document.
    pub doc: &'a Doc<K8ssandraCluster>,
    /// `spec.cassandra`.
    pub cassandra: &'a CassandraClusterTemplate,
    /// K8ssandraCluster `metadata.name`.
    pub name: String,
    /// K8ssandraCluster namespace (defaulted).
    pub namespace: String,
    /// Cassandra cluster name, unsanitized (`clusterName` or the object name).
    pub cass_cluster_name: String,
    /// `CleanupForKubernetes(cass_cluster_name)`.
    pub sanitized_name: String,
    /// Server type.
    pub server_type: ServerType,
    /// The effective `secretsProvider`: `external` when the cluster or RenderConfig's secrets
    /// backend says so, else the cluster's value, else `internal`.
    pub secrets_provider: String,
    /// Whether Cassandra authentication is on (`spec.auth`, default true).
    pub auth: bool,
    /// `spec.externalDatacenters`: datacenters of the Cassandra cluster that this
    /// K8ssandraCluster does not manage (they count in replication, and users exist already).
    pub external_datacenters: &'a [String],
    /// Datacenters in spec order.
    pub dcs: Vec<DcPlan<'a>>,
    /// Indexes into `dcs` in rollout-priority order.
    pub priority: Vec<usize>,
    /// The effective Medusa template (CRD defaults, a referenced MedusaConfiguration merged in),
    /// when the cluster has a valid one.
    pub medusa: Option<serde_json::Value>,
    /// The cluster's Reaper objects, when it gets any ([`reaper::resolve`]).
    pub reaper: Option<reaper::ReaperPlan>,
    /// Indexes into `dcs` of the datacenters that get a Stargate object, in spec order
    /// ([`stargate::resolve`]).
    pub stargate_dcs: Vec<usize>,
    /// Indexes into `dcs` of the datacenters that get a Cassandra ServiceMonitor, in spec order
    /// ([`service_monitor::resolve`]).
    pub service_monitor_dcs: Vec<usize>,
    /// The rebuild tasks and the replication Job ([`multidc::resolve`]).
    pub multidc: multidc::MultiDcPlan,
    /// The system keyspace replication ([`replication::resolve`]).
    pub system_replication: replication::SystemReplication,
}

/// One datacenter, resolved.
#[derive(Debug)]
pub struct DcPlan<'a> {
    /// Position in `spec.cassandra.datacenters`.
    pub index: usize,
    /// The template as written.
    pub template: &'a DatacenterTemplate,
    /// Target context.
    pub context: String,
    /// Target namespace.
    pub namespace: String,
    /// Merged DatacenterOptions, typed; its `config` is moved to [`DcPlan::config`].
    pub options: DatacenterOptions,
    /// Merged `config` (cassandraYaml, jvmOptions, dseYaml) as JSON, before operator insertions.
    pub config: Value,
    /// Merged metadata (labels, annotations, commonLabels, commonAnnotations, pods, services).
    pub meta: Value,
    /// Merged telemetry.
    pub telemetry: Value,
    /// Parsed server version.
    pub version: ServerVersion,
    /// Cassandra-level DC name: `datacenterName` override, else the object name.
    pub cass_dc_name: String,
    /// The encryption stores' decision ([`encryption::resolve`]).
    pub encryption: encryption::Encryption,
    /// The telemetry's decision: the Vector agent, or refused ([`telemetry::resolve`]).
    pub telemetry_plan: telemetry::TelemetryPlan,
}

impl ClusterPlan<'_> {
    /// Whether the user provides the cluster's credentials (`secretsProvider: external`, or
    /// RenderConfig `secrets.backend: external`): datacenters only reference them.
    #[must_use]
    pub fn external_secrets(&self) -> bool {
        self.secrets_provider == "external"
    }

    /// Whether this cluster has a datacenter in `context` (any context when `None`): then it
    /// has objects there, and rendering one context must render it.
    #[must_use]
    pub fn touches(&self, context: Option<&str>) -> bool {
        context.is_none_or(|c| self.dcs.iter().any(|d| d.context == c))
    }

    /// The rollout position of `dcs[dc_index]` (its place in [`ClusterPlan::priority`]).
    #[must_use]
    pub fn position(&self, dc_index: usize) -> usize {
        self.priority
            .iter()
            .position(|&i| i == dc_index)
            .unwrap_or(0)
    }

    /// The rollout position of the last datacenter in `context`: what this cluster applies
    /// there after its datacenters waits for that one.
    #[must_use]
    pub fn last_position_in(&self, context: &str) -> usize {
        self.priority
            .iter()
            .rposition(|&i| self.dcs[i].context == context)
            .unwrap_or(0)
    }

    /// cass-operator's own name for the superuser Secret when a DC names none:
    /// `<CleanupForKubernetes(cluster name)>-superuser`.
    #[must_use]
    pub fn default_superuser_secret_name(&self) -> String {
        format!("{}-superuser", self.sanitized_name)
    }

    /// The superuser Secret the control plane uses: `superuserSecretRef.name`, else the default
    /// (control-plane §3.1).
    #[must_use]
    pub fn superuser_secret_name(&self) -> String {
        if self.cassandra.superuser_secret_name.is_empty() {
            self.default_superuser_secret_name()
        } else {
            self.cassandra.superuser_secret_name.clone()
        }
    }
}

impl DcPlan<'_> {
    /// Whether this DC is in `context` (every DC is when `None`): a one-context render
    /// outputs only those.
    #[must_use]
    pub fn is_in(&self, context: Option<&str>) -> bool {
        context.is_none_or(|c| self.context == c)
    }

    /// The rack names cass-operator will use: the merged racks, or one rack `default`.
    #[must_use]
    pub fn racks(&self) -> Vec<String> {
        effective_racks(&self.options)
    }

    /// Path of this DC template in the K8ssandraCluster document.
    #[must_use]
    pub fn path(&self, rest: &[&str]) -> Vec<Seg> {
        dc_path(self.index, rest)
    }

    /// Where [`DcPlan::cass_dc_name`] is written: `datacenterName` when set, else
    /// `metadata.name` (a name derived from it that is too long is reported there).
    #[must_use]
    pub fn cass_dc_name_path(&self) -> Vec<Seg> {
        if self.template.options.contains_key("datacenterName") {
            self.path(&["datacenterName"])
        } else {
            self.path(&["metadata", "name"])
        }
    }
}

fn effective_racks(options: &DatacenterOptions) -> Vec<String> {
    let named: Vec<String> = options
        .racks
        .iter()
        .flatten()
        .filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    if options.racks.as_ref().is_some_and(|r| !r.is_empty()) {
        named
    } else {
        vec!["default".to_string()]
    }
}

/// `spec.cassandra.datacenters[i].<rest...>`.
#[must_use]
pub fn dc_path(index: usize, rest: &[&str]) -> Vec<Seg> {
    let mut p = vec![
        Seg::Key("spec".into()),
        Seg::Key("cassandra".into()),
        Seg::Key("datacenters".into()),
        Seg::Index(index),
    ];
    p.extend(keys(rest));
    p
}

fn cassandra_path(rest: &[&str]) -> Vec<Seg> {
    let mut p = keys(&["spec", "cassandra"]);
    p.extend(keys(rest));
    p
}

/// Everything the renderer needs, decided: the settings, every cluster, and where each
/// operations document goes.
#[derive(Debug)]
pub struct Plan<'a> {
    /// Settings from RenderConfig (or defaults).
    pub settings: Settings,
    /// The clusters that could be planned, in file order.
    pub clusters: Vec<ClusterPlan<'a>>,
    /// The operations documents and the datacenter each goes to, in file order.
    pub operations: Vec<operations::RoutedOperation<'a>>,
    /// The status reporter, when RenderConfig enables it.
    pub reporter: Option<reporter::ReporterPlan>,
    /// The delivery objects (Argo CD, Flux), when RenderConfig asks for any.
    pub delivery: Option<delivery::DeliveryPlan<'a>>,
    /// What credentials are rendered from, when the secrets backend can render any.
    pub credentials: Option<credentials::CredentialsPlan<'a>>,
}

/// Plans the whole repository: settings, clusters, then the routing of operations documents
/// (which needs every cluster). Problems are appended to `diags`.
#[must_use]
pub fn build<'a>(inputs: &'a Inputs, diags: &mut Vec<Diagnostic>) -> Plan<'a> {
    let settings = Settings::from_inputs(inputs);
    let clusters = plan(inputs, &settings, diags);
    let credentials = credentials::resolve(inputs, &settings, &clusters, diags);
    let operations = operations::route(&clusters, inputs, diags);
    let reporter = reporter::resolve(inputs, diags);
    for cluster in &clusters {
        multidc::check_seeds(cluster, reporter.as_ref(), diags);
    }
    let delivery = delivery::resolve(inputs, &settings, diags);
    Plan {
        settings,
        clusters,
        operations,
        reporter,
        delivery,
        credentials,
    }
}

/// Resolves all clusters. Problems are appended to `diags`; clusters with errors are still
/// returned when a plan could be made, so that later checks can report more problems.
#[must_use]
pub fn plan<'a>(
    inputs: &'a Inputs,
    settings: &Settings,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ClusterPlan<'a>> {
    let contexts: BTreeSet<&str> = inputs
        .client_configs
        .iter()
        .map(|c| c.value.context.as_str())
        .collect();
    check_client_configs(inputs, diags);
    check_context_name(&settings.control_plane_context, inputs, diags);
    let mut seen: BTreeMap<(String, String), &Doc<K8ssandraCluster>> = BTreeMap::new();
    let mut plans = Vec::new();
    // Each cluster plans on its own, on every core; the checks across clusters run here, in
    // input order.
    let plan_one = |doc: &&'a Doc<K8ssandraCluster>| {
        let mut found = Vec::new();
        let plan = plan_cluster(doc, settings, &contexts, &mut found).map(|mut p| {
            p.medusa = medusa::resolve(&p, inputs, &mut found).map(|mut m| {
                crate::json::compact(&mut m);
                m
            });
            p.reaper = reaper::resolve(&p, &mut found);
            p.stargate_dcs = stargate::resolve(&p, &mut found);
            p.system_replication = replication::resolve(&p, &mut found);
            encryption::resolve(&mut p, &mut found);
            telemetry::resolve(&mut p, &mut found);
            p.service_monitor_dcs = service_monitor::resolve(&p, &mut found);
            p.multidc = multidc::resolve(&p, &mut found);
            p
        });
        (*doc, plan, found)
    };
    let docs: Vec<&Doc<K8ssandraCluster>> = inputs.clusters.iter().collect();
    crate::parallel::ordered_map(&docs, plan_one, |(doc, plan, mut found)| {
        diags.append(&mut found);
        let Some(p) = plan else {
            return;
        };
        if let Some(first) = seen.insert((p.namespace.clone(), p.name.clone()), doc) {
            let name_path = vec![Seg::Key("metadata".into()), Seg::Key("name".into())];
            let first_pos = first.locate(&name_path);
            diags.push(
                doc.error(
                    Code::Duplicate,
                    name_path,
                    format!(
                        "K8ssandraCluster {}/{} is defined twice",
                        p.namespace, p.name
                    ),
                )
                .with_related(
                    first.origin.file.clone(),
                    first_pos,
                    "first defined here",
                ),
            );
            return;
        }
        plans.push(p);
    });
    check_collisions(&plans, diags);
    plans
}

fn check_client_configs(inputs: &Inputs, diags: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<&str, &Doc<crate::model::config::ClientConfig>> = BTreeMap::new();
    // Where a ClientConfig names its context.
    let context_path = |cc: &Doc<crate::model::config::ClientConfig>| {
        if cc
            .node
            .get("spec")
            .and_then(|s| s.get("contextName"))
            .is_some()
        {
            vec![Seg::Key("spec".into()), Seg::Key("contextName".into())]
        } else {
            vec![Seg::Key("metadata".into()), Seg::Key("name".into())]
        }
    };
    for cc in &inputs.client_configs {
        let ctx = cc.value.context.as_str();
        let path = context_path(cc);
        if !is_dns1123_label(ctx) {
            diags.push(cc.error(Code::InvalidName, path.clone(), format!(
                "context name {ctx:?} is not a valid DNS label (lowercase letters, digits and '-', at most 63 characters); it names an output directory"
            )));
        }
        if let Some(first) = seen.insert(ctx, cc) {
            diags.push(
                cc.error(
                    Code::Duplicate,
                    path,
                    format!("context {ctx:?} is declared twice"),
                )
                .with_related(
                    first.origin.file.clone(),
                    first.locate(&context_path(first)),
                    "first declared here",
                ),
            );
        }
    }
}

fn check_context_name(name: &str, inputs: &Inputs, diags: &mut Vec<Diagnostic>) {
    if is_dns1123_label(name) {
        return;
    }
    if let Some(rc) = &inputs.render_config {
        diags.push(rc.error(
            Code::InvalidName,
            vec![Seg::Key("spec".into()), Seg::Key("controlPlaneContext".into())],
            format!("context name {name:?} is not a valid DNS label (lowercase letters, digits and '-', at most 63 characters)"),
        ));
    }
}

fn plan_cluster<'a>(
    doc: &'a Doc<K8ssandraCluster>,
    settings: &Settings,
    contexts: &BTreeSet<&str>,
    diags: &mut Vec<Diagnostic>,
) -> Option<ClusterPlan<'a>> {
    let kc = &doc.value;
    let name = kc.metadata.name.clone();
    let name_path = vec![Seg::Key("metadata".into()), Seg::Key("name".into())];
    if name.is_empty() {
        diags.push(doc.error(
            Code::MissingField,
            Vec::new(),
            "K8ssandraCluster has no metadata.name",
        ));
        return None;
    }
    if !is_dns1123_label(&name) {
        diags.push(doc.error(Code::InvalidName, name_path, format!(
            "name {name:?} is not a valid DNS label (lowercase letters, digits and '-', at most 63 characters)"
        )));
        return None;
    }
    let namespace = if kc.metadata.namespace.is_empty() {
        settings.default_namespace.clone()
    } else {
        kc.metadata.namespace.clone()
    };
    if !is_dns1123_label(&namespace) {
        diags.push(doc.error(
            Code::InvalidName,
            vec![Seg::Key("metadata".into()), Seg::Key("namespace".into())],
            format!("namespace {namespace:?} is not a valid DNS label"),
        ));
        return None;
    }
    let Some(cassandra) = kc.spec.cassandra.as_ref() else {
        diags.push(doc.warning(
            Code::NotRendered,
            vec![Seg::Key("spec".into())],
            "no spec.cassandra: upstream renders nothing for this cluster, and neither do we",
        ));
        return None;
    };
    let Some(server_type) = ServerType::parse(&cassandra.server_type) else {
        diags.push(doc.error(
            Code::ValueNotAllowed,
            cassandra_path(&["serverType"]),
            "serverType must be one of cassandra, dse, hcd",
        ));
        return None;
    };
    let cass_cluster_name =
        crate::model::cluster::cassandra_cluster_name(&name, &cassandra.cluster_name).to_string();
    let sanitized_name = cleanup_for_kubernetes(&cass_cluster_name);
    if sanitized_name.is_empty() {
        diags.push(doc.error(
            Code::InvalidName,
            cassandra_path(&["clusterName"]),
            format!(
                "cluster name {cass_cluster_name:?} has no characters usable in a Kubernetes name"
            ),
        ));
        return None;
    }

    // Upstream ignores these at cluster level (quirk 9): say so instead of staying silent.
    for ignored in ["cdc", "datacenterName"] {
        if cassandra.options.contains_key(ignored) {
            diags.push(doc.warning(Code::IgnoredField, cassandra_path(&[ignored]), format!(
                "{ignored} is ignored at cluster level by k8ssandra-operator; set it on each datacenter"
            )));
        }
    }
    if cassandra.options.contains_key("jmxInitContainerImage") {
        diags.push(doc.warning(
            Code::Deprecated,
            cassandra_path(&["jmxInitContainerImage"]),
            "jmxInitContainerImage is deprecated and ignored",
        ));
    }
    if cassandra.datacenters.is_empty() {
        diags.push(doc.error(
            Code::MissingSetting,
            cassandra_path(&["datacenters"]),
            "at least one datacenter is required",
        ));
        return None;
    }

    let mut cluster_options = Value::Object(cassandra.options.clone());
    apply_crd_defaults(&mut cluster_options);
    let cluster_meta = strip_name(&cassandra.meta);
    // Sized once: a DcPlan is over a kilobyte, and every plan is kept for the whole run.
    let mut dcs = Vec::with_capacity(cassandra.datacenters.len());
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut cass_names: BTreeMap<String, usize> = BTreeMap::new();
    let mut ok = true;
    for (index, dc) in cassandra.datacenters.iter().enumerate() {
        let before = diags.len();
        if let Some(first) = names.insert(&dc.name, index) {
            diags.push(
                doc.error(
                    Code::Duplicate,
                    dc_path(index, &["metadata", "name"]),
                    format!("datacenter {:?} is defined twice", dc.name),
                )
                .with_related(
                    doc.origin.file.clone(),
                    doc.locate(&dc_path(first, &["metadata", "name"])),
                    format!("first defined at datacenters[{first}]"),
                ),
            );
        }
        if let Some(p) = plan_dc(
            doc,
            cassandra,
            &cluster_options,
            &cluster_meta,
            dc,
            index,
            &namespace,
            server_type,
            &sanitized_name,
            settings,
            contexts,
            diags,
        ) {
            if let Some(first) = cass_names.insert(p.cass_dc_name.clone(), index) {
                let first_path = if cassandra.datacenters[first]
                    .options
                    .contains_key("datacenterName")
                {
                    dc_path(first, &["datacenterName"])
                } else {
                    dc_path(first, &["metadata", "name"])
                };
                diags.push(
                    doc.error(
                        Code::Duplicate,
                        dc_path(index, &["datacenterName"]),
                        format!(
                            "Cassandra datacenter name {:?} is used twice",
                            p.cass_dc_name
                        ),
                    )
                    .with_related(
                        doc.origin.file.clone(),
                        doc.locate(&first_path),
                        format!("also used by datacenters[{first}]"),
                    ),
                );
            }
            if !has_error(&diags[before..]) {
                dcs.push(p);
                continue;
            }
        }
        ok = false;
    }
    if !ok {
        return None;
    }
    let priority = priority_order(&dcs);
    Some(ClusterPlan {
        doc,
        cassandra,
        name,
        namespace,
        cass_cluster_name,
        sanitized_name,
        server_type,
        secrets_provider: if settings.secrets_backend == Some(SecretsBackend::External) {
            "external".to_string()
        } else {
            kc.spec
                .secrets_provider
                .clone()
                .unwrap_or_else(|| "internal".to_string())
        },
        auth: kc.spec.auth_enabled(),
        external_datacenters: &kc.spec.external_datacenters,
        dcs,
        priority,
        medusa: None,
        reaper: None,
        stargate_dcs: Vec::new(),
        service_monitor_dcs: Vec::new(),
        multidc: multidc::MultiDcPlan::default(),
        system_replication: replication::SystemReplication::default(),
    })
}

/// Rollout priority (upstream `dcUpgradePriority`): analytics 3, search 1, everything else 2;
/// a stable sort keeps spec order among equals, as Go's insertion sort does for small slices.
fn priority_order(dcs: &[DcPlan<'_>]) -> Vec<usize> {
    let prio = |d: &DcPlan<'_>| match d.options.dse_workloads {
        Some(w) if w.analytics_enabled => 3,
        Some(w) if w.search_enabled => 1,
        _ => 2,
    };
    let mut order: Vec<usize> = (0..dcs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(prio(&dcs[i])));
    order
}

/// OpenAPI defaults the API server applies to DatacenterOptions before the controller merges
/// them (spec §1.6). Defaults only fill fields whose parent object exists, so a datacenter that
/// has any `jvmOptions` gets `gc: G1GC`, which then wins over a cluster-level `gc`, as upstream.
fn apply_crd_defaults(options: &mut Value) {
    if let Some(Value::Object(jvm)) = options
        .get_mut("config")
        .and_then(|c| c.get_mut("jvmOptions"))
    {
        jvm.entry("gc")
            .or_insert_with(|| Value::String("G1GC".into()));
    }
    if let Some(Value::Array(relabels)) = options
        .get_mut("telemetry")
        .and_then(|t| t.get_mut("cassandra"))
        .and_then(|c| c.get_mut("relabels"))
    {
        for r in relabels.iter_mut().filter_map(Value::as_object_mut) {
            r.entry("action")
                .or_insert_with(|| Value::String("replace".into()));
        }
    }
}

fn strip_name(meta: &Value) -> Value {
    match meta {
        Value::Object(m) => {
            let mut m = m.clone();
            m.remove("name");
            m.remove("namespace");
            Value::Object(m)
        }
        _ => Value::Object(serde_json::Map::new()),
    }
}

#[allow(clippy::too_many_arguments)]
fn plan_dc<'a>(
    doc: &Doc<K8ssandraCluster>,
    _cassandra: &CassandraClusterTemplate,
    cluster_options: &Value,
    cluster_meta: &Value,
    dc: &'a DatacenterTemplate,
    index: usize,
    kc_namespace: &str,
    server_type: ServerType,
    sanitized_name: &str,
    settings: &Settings,
    contexts: &BTreeSet<&str>,
    diags: &mut Vec<Diagnostic>,
) -> Option<DcPlan<'a>> {
    let err_count = diags.len();
    // Webhook rule 1: the object name must be a DNS-1035 label.
    if !is_dns1035_label(&dc.name) {
        diags.push(doc.error(Code::InvalidName, dc_path(index, &["metadata", "name"]), format!(
            "invalid datacenter name {:?}: must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter); use datacenterName for the Cassandra-level name",
            dc.name
        )));
    }
    let namespace = dc.namespace_or(kc_namespace).to_string();
    if !is_dns1123_label(&namespace) {
        diags.push(doc.error(
            Code::InvalidName,
            dc_path(index, &["metadata", "namespace"]),
            format!("namespace {namespace:?} is not a valid DNS label"),
        ));
    }
    // Webhook rule 2 (ours: declared by a ClientConfig). With a file that could not be parsed,
    // the declaring ClientConfig may be in it.
    let context = dc.context_or(&settings.control_plane_context).to_string();
    if !dc.k8s_context.is_empty()
        && !contexts.contains(dc.k8s_context.as_str())
        && dc.k8s_context != settings.control_plane_context
        && !settings.inputs_incomplete
    {
        let hint = did_you_mean(
            &dc.k8s_context,
            contexts
                .iter()
                .copied()
                .chain([settings.control_plane_context.as_str()]),
        );
        let declared = if contexts.is_empty() {
            "no ClientConfig declares any context".to_string()
        } else {
            format!(
                "declared: {}",
                contexts.iter().copied().collect::<Vec<_>>().join(", ")
            )
        };
        diags.push(
            doc.error(
                Code::UnknownContext,
                dc_path(index, &["k8sContext"]),
                format!(
                    "unknown k8sContext {:?}: no ClientConfig declares it ({declared})",
                    dc.k8s_context
                ),
            )
            .with_hint(hint),
        );
    }
    if dc.size < 1 {
        diags.push(doc.error(
            Code::InvalidValue,
            dc_path(index, &["size"]),
            "size must be at least 1",
        ));
    }
    for ignored in ["rebuild", "jmxInitContainerImage"] {
        if dc.options.contains_key(ignored) {
            let why = if ignored == "rebuild" {
                "only spec.cassandra.rebuild is read"
            } else {
                "it is deprecated"
            };
            diags.push(doc.warning(
                Code::IgnoredField,
                dc_path(index, &[ignored]),
                format!("{ignored} is ignored by k8ssandra-operator at datacenter level ({why})"),
            ));
        }
    }

    // Merge (spec §1.7). datacenterName and cdc come from the DC only.
    let mut cluster_opts = cluster_options.clone();
    if let Value::Object(m) = &mut cluster_opts {
        m.remove("datacenterName");
        m.remove("cdc");
        m.remove("telemetry");
    }
    let mut dc_opts = Value::Object(dc.options.clone());
    apply_crd_defaults(&mut dc_opts);
    if let Value::Object(m) = &mut dc_opts {
        m.remove("telemetry");
    }
    let mut merged = merge(&cluster_opts, &dc_opts);
    let telemetry = merge_telemetry(
        cluster_options.get("telemetry").unwrap_or(&Value::Null),
        dc.options.get("telemetry").unwrap_or(&Value::Null),
    );
    if let Value::Object(m) = &mut merged
        && !telemetry.is_null()
    {
        m.insert("telemetry".to_string(), telemetry.clone());
    }
    let mut options: DatacenterOptions = match serde_json::from_value(merged) {
        Ok(o) => o,
        Err(e) => {
            diags.push(doc.error(
                Code::MergeFailed,
                dc_path(index, &[]),
                format!("cannot merge datacenter options: {e}"),
            ));
            return None;
        }
    };
    let meta = merge(cluster_meta, &strip_name(&dc.meta));

    // DCConfigIncomplete and webhook rule 3.
    let version = if options.server_version.is_empty() {
        diags.push(doc.error(
            Code::MissingSetting,
            dc_path(index, &[]),
            "serverVersion must be set at cluster level or on this datacenter",
        ));
        None
    } else {
        let v = ServerVersion::parse(&options.server_version);
        if v.is_none() {
            let at = if dc.options.contains_key("serverVersion") {
                dc_path(index, &["serverVersion"])
            } else {
                cassandra_path(&["serverVersion"])
            };
            diags.push(doc.error(
                Code::InvalidValue,
                at,
                format!(
                    "serverVersion {:?} is not a semantic version (major.minor.patch)",
                    options.server_version
                ),
            ));
        }
        v
    };
    if options.storage_config.is_none() {
        diags.push(doc.error(
            Code::MissingSetting,
            dc_path(index, &[]),
            "storageConfig must be defined at cluster level or dc level",
        ));
    }
    // Webhook rule 4: only the DC's own fields count.
    if dc.options.get("softPodAntiAffinity") == Some(&Value::Bool(true))
        && !dc.options.contains_key("resources")
    {
        diags.push(doc.error(
            Code::MissingSetting,
            dc_path(index, &["softPodAntiAffinity"]),
            "softPodAntiAffinity requires resources to be set on the datacenter",
        ));
    }
    // Webhook rule 8: StatefulSet names.
    let racks = effective_racks(&options);
    for rack in &racks {
        let sts = format!(
            "{sanitized_name}-{}-{}-sts",
            cleanup_for_kubernetes(&dc.name),
            cleanup_subdomain(rack)
        );
        if sts.len() > 60 {
            diags.push(doc.error(Code::NameTooLong, dc_path(index, &["metadata", "name"]), format!(
                "StatefulSet name {sts:?} would be {} characters, more than 60: shorten the cluster, datacenter or rack name",
                sts.len()
            )));
        }
    }
    let _ = server_type;
    if diags.len() > err_count && has_error(&diags[err_count..]) {
        return None;
    }
    let version = version?;
    let cass_dc_name = if options.datacenter_name.is_empty() {
        dc.name.clone()
    } else {
        options.datacenter_name.clone()
    };
    // Moved out, not copied: every plan lives until the end of the run, and nothing reads
    // `options.config` after this.
    let mut config = options
        .config
        .take()
        .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
    // Merged maps hold room for about twice their entries; kept for the whole run.
    options.compact();
    let mut meta = meta;
    let mut telemetry = telemetry;
    for kept in [&mut config, &mut meta, &mut telemetry] {
        crate::json::compact(kept);
    }
    Some(DcPlan {
        index,
        template: dc,
        context,
        namespace,
        options,
        config,
        meta,
        telemetry,
        version,
        cass_dc_name,
        encryption: encryption::Encryption::default(),
        telemetry_plan: telemetry::TelemetryPlan::NoVector,
    })
}

/// Two datacenters that would be written to the same object in one cluster are an error.
fn check_collisions(plans: &[ClusterPlan<'_>], diags: &mut Vec<Diagnostic>) {
    /// The cluster (namespace, name) that renders an object first, and where.
    type First<'a> = ((&'a str, &'a str), (&'a PathBuf, Pos));
    let mut seen: BTreeMap<(&str, &str, &str), First<'_>> = BTreeMap::new();
    for p in plans {
        for dc in &p.dcs {
            let key = (
                dc.context.as_str(),
                dc.namespace.as_str(),
                dc.template.name.as_str(),
            );
            let at = dc.path(&["metadata", "name"]);
            let here = (
                (p.namespace.as_str(), p.name.as_str()),
                (&p.doc.origin.file, p.doc.locate(&at)),
            );
            if let Some(((other_ns, other), (file, pos))) = seen.insert(key, here) {
                diags.push(p.doc.error(Code::OutputCollision, at, format!(
                    "CassandraDatacenter {}/{} in context {} is also rendered by K8ssandraCluster {other_ns}/{other}",
                    dc.namespace, dc.template.name, dc.context
                )).with_related(file.clone(), pos, "also rendered here"));
            }
        }
    }
}

#[cfg(test)]
mod tests;
