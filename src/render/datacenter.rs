//! The CassandraDatacenter of each datacenter, built the way k8ssandra-operator builds it
//! (spec control-plane §2), plus the per-DC objects that always come with it (metrics agent
//! ConfigMap, per-node configuration).
//!
//! This module owns every field of the CassandraDatacenter. Features add to it in this order,
//! each step working on the DC under construction only ([`render_cluster`]):
//!
//! | step | fields | written by |
//! |---|---|---|
//! | Phase A (`phase_a`) | `spec.config` (cassandraYaml, jvm options: auth, JMX, system replication), pod template from `metadata.pods`, `containers`/`initContainers`/security context/priority class, the `cassandra` container's `LOCAL_JMX` and metrics env, the Vector logger container and volume, the metrics-agent volume, `spec.users` (Reaper, Stargate), `storageConfig` | `phase_a`, with [`super::config::build_config`] (config JSON), [`super::vector`] (logger), [`super::metrics_agent`] (agent file) |
//! | Phase B | initial tokens of the whole cluster | [`super::tokens::try_compute_initial_tokens`] |
//! | Phase C, Medusa | pod template: `medusa`, `medusa-restore` (and a `server-config-init` placeholder), Medusa volumes, the inject-secret pod annotation; `spec.users` (Medusa CQL user); DC annotations (gRPC port, client secret) | a [`super::contribution::Contribution`] from [`super::medusa::contribution`], applied here |
//! | Phase C, per-node config | `per-node-config` init container and volume, the per-node-config hash pod annotation | a contribution from [`super::tokens::per_node_contribution`], applied here (`per_node_config`) |
//! | `new_datacenter` | `metadata` (labels, annotations incl. skip-user-creation), every other `spec` field (size, stopped, serverVersion/Image/Type, racks, clusterName, networking, resources, `managementApiAuth`, additional labels/annotations/service config, tolerations, datacenterName, logger/config-builder resources, cdc) | `new_datacenter` |
//! | once all DCs are built (`finish`) | `spec.podTemplateSpec.metadata.annotations["gitops.k8ssandra.io/config-hash"]`, the sync wave, sync options and Flux prune annotations | `finish` with [`super::config_hash`] |

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::config::build_config;
use super::contribution::Contribution;
use super::labels;
use super::metrics_agent::{metrics_agent_configmap_name, metrics_collector_yaml};
use super::tokens::{self, TokenDc};
use super::vector;
use super::{Kind, Manifest};
use crate::diagnostic::{Code, Diagnostic, has_error};
use crate::json::string_map;
use crate::model::server::ServerType;
use crate::plan::telemetry::TelemetryPlan;
use crate::plan::waves::Wave;
use crate::plan::{ClusterPlan, DcPlan};
use crate::ports::names::cleanup_for_kubernetes;
use crate::ports::quantity::Quantity;
use crate::yaml::Seg;

const SKIP_USER_CREATION: &str = "cassandra.datastax.com/skip-user-creation";
const SYSTEM_REPLICATION_OPTION: &str = "-Dcassandra.system_distributed_replication";
const ALLOW_ALTER_RF: &str = "-Dcassandra.allow_alter_rf_during_range_movement=true";
/// `METRIC_FILTERS` when MCAC is on and the user gave none (upstream `DefaultFilters`).
pub const DEFAULT_MCAC_FILTERS: [&str; 14] = [
    "deny:org.apache.cassandra.metrics.Table",
    "deny:org.apache.cassandra.metrics.table",
    "allow:org.apache.cassandra.metrics.table.live_ss_table_count",
    "allow:org.apache.cassandra.metrics.Table.LiveSSTableCount",
    "allow:org.apache.cassandra.metrics.table.live_disk_space_used",
    "allow:org.apache.cassandra.metrics.table.LiveDiskSpaceUsed",
    "allow:org.apache.cassandra.metrics.Table.Pending",
    "allow:org.apache.cassandra.metrics.Table.Memtable",
    "allow:org.apache.cassandra.metrics.Table.Compaction",
    "allow:org.apache.cassandra.metrics.table.read",
    "allow:org.apache.cassandra.metrics.table.write",
    "allow:org.apache.cassandra.metrics.table.range",
    "allow:org.apache.cassandra.metrics.table.coordinator",
    "allow:org.apache.cassandra.metrics.table.dropped_mutations",
];

/// A DC after Phase A of upstream's pipeline (`createDatacenterConfigs`).
struct DcConfig {
    config: Value,
    pod_template: Map<String, Value>,
    users: Vec<Value>,
    storage_config: Value,
    annotations_override: Option<Map<String, Value>>,
    /// `vector.toml` when the Vector agent is enabled.
    vector_toml: Option<String>,
    /// DC annotations added in Phase C (Medusa's gRPC port and client secret).
    extra_annotations: Map<String, Value>,
}

/// Renders all objects of one K8ssandraCluster.
#[cfg(test)]
pub fn render_cluster(plan: &ClusterPlan<'_>, diags: &mut Vec<Diagnostic>) -> Vec<Manifest> {
    render_cluster_in(plan, None, diags)
}

/// Renders the objects of one K8ssandraCluster's datacenters in `context` (all when `None`).
/// Every datacenter still goes through each step that can fail, so that the problems reported
/// do not depend on the context; the phases that need the whole cluster (the initial tokens)
/// see all of them. The config hash covers only ConfigMaps of a datacenter's own context.
pub fn render_cluster_in(
    plan: &ClusterPlan<'_>,
    context: Option<&str>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Manifest> {
    let before = diags.len();
    let replication = &plan.system_replication.factors;
    // With input the plan reported, phase A runs only for the other problems.
    let mut rejected = plan.system_replication.annotation_rejected;
    let mut configs = Vec::with_capacity(plan.dcs.len());
    for (spec_pos, dc) in plan.dcs.iter().enumerate() {
        match phase_a(plan, dc, spec_pos == 0, replication) {
            Ok(c) => configs.push(c),
            Err(Unbuilt::Reported(d)) => diags.push(*d),
            Err(Unbuilt::RejectedByPlan) => rejected = true,
        }
    }
    if rejected || has_error(&diags[before..]) {
        return Vec::new();
    }

    // Phase B: initial tokens for the whole cluster.
    let token_dcs: Vec<TokenDc<'_>> = plan
        .dcs
        .iter()
        .zip(&configs)
        .map(|(dc, c)| TokenDc {
            meta_name: &dc.template.name,
            size: dc.template.size,
            racks: rack_names(dc),
            cassandra_yaml: c.config.get("cassandraYaml").unwrap_or(&Value::Null),
            has_per_node_config_map_ref: !dc.template.per_node_config_map.is_empty(),
        })
        .collect();
    let initial_tokens =
        match tokens::try_compute_initial_tokens(&plan.cass_cluster_name, &token_dcs) {
            Ok(t) => t,
            Err(e) => {
                diags.push(plan.doc.error(
                    Code::RenderFailed,
                    vec![
                        Seg::Key("spec".into()),
                        Seg::Key("cassandra".into()),
                        Seg::Key("datacenters".into()),
                    ],
                    format!("cannot compute initial tokens: {e}"),
                ));
                return Vec::new();
            }
        };

    // Each datacenter as built, in rollout order: its plan, rollout position, the
    // CassandraDatacenter and the ConfigMaps that come with it.
    let mut built = Vec::with_capacity(plan.dcs.len());
    for (prio_pos, &i) in plan.priority.iter().enumerate() {
        let dc = &plan.dcs[i];
        let mut cfg = configs[i].clone_shallow();
        // Phase C step 2: Medusa, then the per-node configuration, then Vector's ConfigMap.
        let medusa = match &plan.medusa {
            Some(medusa) => match super::medusa::contribution(plan, dc, medusa) {
                Ok(c) => Some(c),
                Err(e) => {
                    diags.push(plan.doc.error(Code::RenderFailed, e.path(), e.to_string()));
                    continue;
                }
            },
            None => None,
        };
        let (per_node, extra) = per_node_config(plan, dc, initial_tokens.as_ref().map(|t| &t[i]));
        let mut failed = false;
        for c in medusa.into_iter().chain(per_node) {
            if let Err((feature, why)) = c.apply(
                &mut cfg.pod_template,
                &mut cfg.users,
                &mut cfg.extra_annotations,
            ) {
                diags.push(plan.doc.error(
                    Code::RenderFailed,
                    dc.path(&["metadata", "pods", "annotations"]),
                    format!(
                        "cannot add the {feature} credentials to {}: {why}",
                        crate::ports::inject_secret::INJECT_SECRET_ANNOTATION
                    ),
                ));
                failed = true;
                break;
            }
        }
        if failed {
            continue;
        }
        if !dc.is_in(context) {
            // Only what can fail, for its problems: nothing of this datacenter is output.
            if let Err(e) = Checked::new(plan, dc, &cfg.config) {
                diags.push(
                    plan.doc
                        .error(Code::RenderFailed, dc.path(&[]), e.to_string()),
                );
            }
            continue;
        }
        match new_datacenter(plan, dc, cfg, prio_pos) {
            Ok((cassdc, mut config_maps)) => {
                config_maps.extend(extra);
                built.push((dc, prio_pos, cassdc, config_maps));
            }
            Err(e) => diags.push(
                plan.doc
                    .error(Code::RenderFailed, dc.path(&[]), e.to_string()),
            ),
        }
    }
    finish(plan, built)
}

/// The last step for the cluster's datacenters, once all are built: the config hash (over every
/// ConfigMap rendered for the cluster in a DC's context and namespace that it mounts, the
/// Medusa one included), the rollout wave of each DC and its ConfigMaps, and the protection of
/// CassandraDatacenters from pruning and deletion by Argo CD and Flux.
fn finish(
    plan: &ClusterPlan<'_>,
    built: Vec<(&DcPlan<'_>, usize, Value, Vec<Value>)>,
) -> Vec<Manifest> {
    use super::config_hash::{CONFIG_HASH_ANNOTATION, content_digest, pod_config_hash};
    // (context, namespace) → ConfigMap name → content digest.
    let mut ours: BTreeMap<(&str, &str), BTreeMap<String, [u8; 32]>> = BTreeMap::new();
    for &(dc, _, _, ref config_maps) in &built {
        let here = ours
            .entry((dc.context.as_str(), dc.namespace.as_str()))
            .or_default();
        for cm in config_maps {
            let name = cm["metadata"]["name"].as_str().unwrap_or_default();
            here.insert(name.to_string(), content_digest(&cm["data"]));
        }
        // One Medusa ConfigMap per namespace: its data is built once there.
        if plan.medusa.is_some() {
            here.entry(crate::plan::medusa::medusa_name(plan))
                .or_insert_with(|| {
                    let data = super::medusa::config_map_data(plan, dc).unwrap_or_default();
                    content_digest(&json!(data))
                });
        }
    }
    let mut out = Vec::new();
    for (dc, prio_pos, mut cassdc, config_maps) in built {
        let key = (dc.context.as_str(), dc.namespace.as_str());
        if let Some(hash) = ours.get(&key).and_then(|o| pod_config_hash(&cassdc, o)) {
            let spec = obj(&mut cassdc["spec"]);
            let pod = obj(spec.entry("podTemplateSpec").or_insert(Value::Null));
            let meta = obj(pod.entry("metadata").or_insert(Value::Null));
            obj(meta.entry("annotations").or_insert(Value::Null))
                .insert(CONFIG_HASH_ANNOTATION.into(), hash.into());
        }
        super::set_annotation(&mut cassdc, super::SYNC_OPTIONS, super::NEVER_PRUNE.into());
        super::set_annotation(&mut cassdc, super::FLUX_PRUNE, "disabled".into());
        let wave = Wave::Datacenter(prio_pos);
        out.push(Manifest::of_dc(
            plan,
            dc,
            wave,
            Kind::CassandraDatacenter,
            cassdc,
        ));
        out.extend(
            config_maps
                .into_iter()
                .map(|cm| Manifest::of_dc(plan, dc, wave, Kind::ConfigMap, cm)),
        );
    }
    out
}

impl DcConfig {
    fn clone_shallow(&self) -> Self {
        Self {
            config: self.config.clone(),
            pod_template: self.pod_template.clone(),
            users: self.users.clone(),
            storage_config: self.storage_config.clone(),
            annotations_override: self.annotations_override.clone(),
            vector_toml: self.vector_toml.clone(),
            extra_annotations: self.extra_annotations.clone(),
        }
    }
}

fn rack_names(dc: &DcPlan<'_>) -> Vec<String> {
    dc.options
        .racks
        .iter()
        .flatten()
        .filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn obj(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// `Unstructured.PutIfAbsent` with a `/`-separated path: sets the value unless a non-null value
/// is already there; intermediate maps are created.
fn put_if_absent(map: &mut Value, path: &str, v: Value) {
    let mut cur = map;
    let parts: Vec<&str> = path.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let m = obj(cur);
        if i == parts.len() - 1 {
            if m.get(*part).is_none_or(Value::is_null) {
                m.insert((*part).to_string(), v);
            }
            return;
        }
        let entry = m
            .entry((*part).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            if !entry.is_null() {
                return; // PutMapNested refuses to overwrite a non-map value
            }
            *entry = Value::Object(Map::new());
        }
        cur = entry;
    }
}

/// `addOptionIfMissing`: prepend to `jvmOptions.additionalOptions` unless present.
fn add_option_if_missing(config: &mut Value, option: &str) {
    let jvm = obj(obj(config)
        .entry("jvmOptions")
        .or_insert_with(|| Value::Object(Map::new())));
    let list = jvm
        .entry("additionalOptions")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    if let Value::Array(items) = list
        && !items.iter().any(|i| i.as_str() == Some(option))
    {
        items.insert(0, Value::String(option.to_string()));
    }
}

fn yaml_get<'v>(config: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = config.get("cassandraYaml")?;
    for p in path.split('/') {
        cur = cur.get(p)?;
    }
    Some(cur)
}

/// Finds (or appends) a container by name in `podTemplateSpec.spec.<list>`.
fn container_mut<'m>(
    pod: &'m mut Map<String, Value>,
    list: &str,
    name: &str,
) -> &'m mut Map<String, Value> {
    let spec = obj(pod
        .entry("spec")
        .or_insert_with(|| Value::Object(Map::new())));
    let items = spec.entry(list).or_insert_with(|| Value::Array(Vec::new()));
    if !items.is_array() {
        *items = Value::Array(Vec::new());
    }
    let Value::Array(items) = items else {
        unreachable!("just made an array")
    };
    let idx = match items
        .iter()
        .position(|c| c.get("name").and_then(Value::as_str) == Some(name))
    {
        Some(i) => i,
        None => {
            items.push(json!({ "name": name }));
            items.len() - 1
        }
    };
    obj(&mut items[idx])
}

fn push_env(container: &mut Map<String, Value>, name: &str, value: &str) {
    let env = container
        .entry("env")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(items) = env {
        items.push(json!({ "name": name, "value": value }));
    }
}

/// Why phase A built nothing for a datacenter.
enum Unbuilt {
    /// A problem found while building it.
    Reported(Box<Diagnostic>),
    /// The plan reported a problem with its input.
    RejectedByPlan,
}

/// Phase A for one DC (upstream `Coalesce` + `createDatacenterConfigs`).
fn phase_a(
    plan: &ClusterPlan<'_>,
    dc: &DcPlan<'_>,
    first_in_spec: bool,
    replication: &BTreeMap<String, i64>,
) -> Result<DcConfig, Unbuilt> {
    let o = &dc.options;
    let err = |code: Code, path: &[&str], msg: String| {
        Unbuilt::Reported(Box::new(plan.doc.error(code, dc.path(path), msg)))
    };

    // Coalesce: pod template.
    let mut pod = Map::new();
    let pods_meta = dc.meta.get("pods").cloned().unwrap_or(Value::Null);
    let mut pod_meta = Map::new();
    for key in ["labels", "annotations"] {
        if let Some(v) = pods_meta
            .get(key)
            .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
        {
            pod_meta.insert(key.into(), v.clone());
        }
    }
    if !pod_meta.is_empty() {
        pod.insert("metadata".into(), Value::Object(pod_meta));
    }
    let mut pod_spec = Map::new();
    if let Some(sc) = &o.pod_security_context {
        pod_spec.insert("securityContext".into(), sc.clone());
    }
    if !o.pod_priority_class_name.is_empty() {
        pod_spec.insert(
            "priorityClassName".into(),
            o.pod_priority_class_name.clone().into(),
        );
    }
    if let Some(c) = o.containers.as_ref().filter(|c| !c.is_empty()) {
        pod_spec.insert("containers".into(), Value::Array(c.clone()));
    }
    if let Some(c) = o.init_containers.as_ref().filter(|c| !c.is_empty()) {
        pod_spec.insert("initContainers".into(), Value::Array(c.clone()));
    }
    let mut storage_config = o.storage_config.clone().unwrap_or(Value::Null);
    if let Some(extra) = &o.extra_volumes {
        if !extra.pvcs.is_empty() {
            let sc = obj(&mut storage_config);
            let av = sc
                .entry("additionalVolumes")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = av {
                items.extend(extra.pvcs.iter().cloned());
            }
        }
        if !extra.volumes.is_empty() {
            let vols = pod_spec
                .entry("volumes")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = vols {
                items.extend(extra.volumes.iter().cloned());
            }
        }
    }
    pod.insert("spec".into(), Value::Object(pod_spec));
    container_mut(&mut pod, "containers", "cassandra");

    let mcac_enabled =
        dc.telemetry.get("mcac").and_then(|m| m.get("enabled")) == Some(&Value::Bool(true));
    let mut config = dc.config.clone();
    let external = plan.external_secrets();

    // The plan reported stores that need internal secrets (spec §2.8).
    if dc.encryption.rejected {
        return Err(Unbuilt::RejectedByPlan);
    }
    let client_enc = dc.encryption.client;
    if client_enc {
        add_option_if_missing(&mut config, "-Dcom.sun.management.jmxremote.ssl=true");
        add_option_if_missing(
            &mut config,
            "-Dcom.sun.management.jmxremote.ssl.need.client.auth=true",
        );
    }

    // Auth (spec §2.6).
    let auth = plan.auth;
    let cy = obj(&mut config)
        .entry("cassandraYaml")
        .or_insert_with(|| Value::Object(Map::new()))
        .clone();
    let mut cy = cy;
    if auth && plan.server_type == ServerType::Dse {
        put_if_absent(
            &mut cy,
            "authenticator",
            "com.datastax.bdp.cassandra.auth.DseAuthenticator".into(),
        );
        put_if_absent(
            &mut cy,
            "authorizer",
            "com.datastax.bdp.cassandra.auth.DseAuthorizer".into(),
        );
        put_if_absent(
            &mut cy,
            "role_manager",
            "com.datastax.bdp.cassandra.auth.DseRoleManager".into(),
        );
        let dy = obj(&mut config)
            .entry("dseYaml")
            .or_insert_with(|| Value::Object(Map::new()));
        put_if_absent(dy, "authentication_options/enabled", "true".into());
        put_if_absent(dy, "authorization_options/enabled", "true".into());
        put_if_absent(dy, "role_management_options/mode", "internal".into());
    } else if auth {
        put_if_absent(&mut cy, "authenticator", "PasswordAuthenticator".into());
        put_if_absent(&mut cy, "authorizer", "CassandraAuthorizer".into());
    } else {
        put_if_absent(&mut cy, "authenticator", "AllowAllAuthenticator".into());
        put_if_absent(&mut cy, "authorizer", "AllowAllAuthorizer".into());
    }
    put_if_absent(&mut cy, "role_manager", "CassandraRoleManager".into());
    obj(&mut config).insert("cassandraYaml".into(), cy);

    let reaper = crate::plan::templates::reaper(plan);
    let reaper_requires_jmx = reaper.is_some_and(|r| !r.http_management());
    if reaper_requires_jmx {
        add_option_if_missing(
            &mut config,
            &format!("-Dcom.sun.management.jmxremote.authenticate={auth}"),
        );
        if auth && !external {
            add_option_if_missing(
                &mut config,
                "-Dcassandra.jmx.remote.login.config=CassandraLogin",
            );
            add_option_if_missing(
                &mut config,
                "-Djava.security.auth.login.config=$CASSANDRA_HOME/conf/cassandra-jaas.config",
            );
            add_option_if_missing(
                &mut config,
                "-Dcassandra.jmx.authorizer=org.apache.cassandra.auth.jmx.AuthorizationProxy",
            );
        }
    }

    // System replication, first DC in spec order only (spec §2.7).
    if plan.server_type.is_cassandra_like() && first_in_spec {
        let pairs: Vec<String> = replication
            .iter()
            .map(|(dc, rf)| format!("{dc}:{rf}"))
            .collect();
        add_option_if_missing(
            &mut config,
            &format!("{SYSTEM_REPLICATION_OPTION}={}", pairs.join(",")),
        );
    }
    if plan.server_type.is_cassandra_like() && dc.version.major != 3 {
        add_option_if_missing(&mut config, ALLOW_ALTER_RF);
    }

    // Reaper wiring into the DC (spec §2.1 step 8).
    let mut users = Vec::new();
    if let Some(template) = reaper
        && template.reaper_ref().is_empty()
    {
        if !template.http_management() {
            push_env(
                container_mut(&mut pod, "containers", "cassandra"),
                "LOCAL_JMX",
                "no",
            );
        }
        if auth && !external {
            let name = template.cql_user_secret(plan);
            users.push(json!({ "secretName": name, "superuser": true }));
        }
    }

    // The plan reported the telemetry (MCAC off without the new metrics endpoint, or Vector's
    // scrape settings): see `crate::plan::telemetry`.
    if dc.telemetry_plan == TelemetryPlan::Rejected {
        return Err(Unbuilt::RejectedByPlan);
    }
    // MCAC (spec §2.1 steps 9-10).
    if mcac_enabled {
        let filters = dc
            .telemetry
            .get("mcac")
            .and_then(|m| m.get("metricFilters"))
            .and_then(Value::as_array);
        let value = match filters {
            Some(list) => list
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
            None => DEFAULT_MCAC_FILTERS.join(" "),
        };
        push_env(
            container_mut(&mut pod, "containers", "cassandra"),
            "METRIC_FILTERS",
            &value,
        );
    }

    // Vector agent (step 11): keep a user-declared logger container, append one otherwise.
    let vector_toml = if let TelemetryPlan::Vector(scrape) = dc.telemetry_plan {
        let toml = vector::vector_toml(&dc.telemetry, mcac_enabled, scrape);
        let cm = vector::config_map_name(&plan.sanitized_name, &dc.cass_dc_name);
        let sc = obj(&mut storage_config);
        let av = sc
            .entry("additionalVolumes")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = av {
            items.push(vector::additional_volume(&cm));
        }
        let logger = container_mut(&mut pod, "containers", vector::LOGGER_CONTAINER);
        if let Some(image) = vector::image(&dc.telemetry) {
            logger.insert("image".into(), image.into());
        }
        Some(toml)
    } else {
        None
    };

    // num_tokens, start_rpc, deprecated heap options, smart token allocation (steps 12-14).
    let major3_cassandra = plan.server_type == ServerType::Cassandra && dc.version.major == 3;
    let cy = obj(&mut config)
        .get_mut("cassandraYaml")
        .expect("inserted above");
    put_if_absent(
        cy,
        "num_tokens",
        json!(if major3_cassandra { 256 } else { 16 }),
    );
    if major3_cassandra {
        put_if_absent(cy, "start_rpc", json!(false));
    }
    if matches!(plan.server_type, ServerType::Dse | ServerType::Hcd) {
        put_if_absent(cy, "allocate_tokens_for_local_replication_factor", json!(3));
    }
    if yaml_get(&config, "commitlog_sync_period_in_ms").is_some_and(|v| !v.is_null())
        && yaml_get(&config, "commitlog_sync_batch_window_in_ms").is_some_and(|v| !v.is_null())
    {
        return Err(err(Code::ConflictingSettings, &["config", "cassandraYaml"], "commitlog_sync_period_in_ms and commitlog_sync_batch_window_in_ms are mutually exclusive".into()));
    }
    if let Some(Value::Object(jvm)) = obj(&mut config).get_mut("jvmOptions") {
        if let Some(h) = jvm.get("heapSize").cloned() {
            jvm.entry("heap_initial_size").or_insert_with(|| h.clone());
            jvm.entry("heap_max_size").or_insert(h);
        }
        if let Some(h) = jvm.get("heapNewGenSize").cloned() {
            jvm.entry("gc_cms_heap_size_young_generation").or_insert(h);
        }
    }

    let annotations_override = (!plan.external_datacenters.is_empty()).then(|| {
        let mut m = Map::new();
        m.insert(SKIP_USER_CREATION.into(), "true".into());
        m
    });
    Ok(DcConfig {
        config,
        pod_template: pod,
        users,
        storage_config,
        annotations_override,
        vector_toml,
        extra_annotations: Map::new(),
    })
}

/// Per-node configuration (spec §2.12): computed tokens or a user ConfigMap. Returns what it
/// adds to the datacenter and the ConfigMap of computed tokens.
fn per_node_config(
    plan: &ClusterPlan<'_>,
    dc: &DcPlan<'_>,
    tokens_by_pod: Option<&BTreeMap<String, Vec<String>>>,
) -> (Option<Contribution>, Option<Value>) {
    let user_cm = &dc.template.per_node_config_map;
    let (cm_name, data, object) = if !user_cm.is_empty() {
        (user_cm.clone(), None, None)
    } else {
        let Some(tokens) = tokens_by_pod.filter(|t| !t.is_empty()) else {
            return (None, None);
        };
        let name = tokens::per_node_config_map_name(
            cleanup_for_kubernetes,
            &plan.cass_cluster_name,
            &dc.cass_dc_name,
        );
        let data = tokens::per_node_config_data(tokens);
        let mut labels = labels::operator("cassandra");
        labels.extend(labels::cleaned_up_by(plan));
        let object = config_map(
            name.clone(),
            dc.namespace.clone(),
            labels,
            BTreeMap::new(),
            data.clone(),
        );
        (name, Some(data), Some(object))
    };
    // The hash rolls the pods when the tokens change. A user-provided ConfigMap is not in the
    // repository, so there is nothing to hash offline (docs/deviations.md).
    let hash = data
        .map(|d| crate::json::content_hash_hex(&serde_json::to_value(d).unwrap_or_default(), 32));
    let image = if dc.options.per_node_config_init_container_image.is_empty() {
        tokens::DEFAULT_PER_NODE_IMAGE
    } else {
        dc.options.per_node_config_init_container_image.as_str()
    };
    let contribution = tokens::per_node_contribution(image, &cm_name, hash.as_deref());
    (Some(contribution), object)
}

/// A ConfigMap, built with the typed Kubernetes API so its shape is checked at compile time.
fn config_map(
    name: String,
    namespace: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    data: BTreeMap<String, String>,
) -> Value {
    use k8s_openapi::api::core::v1::ConfigMap;
    crate::json::to_object(&ConfigMap {
        metadata: crate::json::object_meta(name, Some(&namespace), labels, annotations),
        data: Some(data),
        ..ConfigMap::default()
    })
}

/// A datacenter setting that cannot be rendered, found while assembling the CassandraDatacenter.
#[derive(Debug, thiserror::Error)]
enum DatacenterError {
    /// `config` (cassandraYaml, jvmOptions, dseYaml).
    #[error("config: {0}")]
    Config(#[from] super::config::ConfigError),
    /// `mgmtAPIHeap`.
    #[error("mgmtAPIHeap: {0}")]
    MgmtApiHeap(crate::ports::quantity::ParseError),
    /// `telemetry.cassandra` (the metrics agent's settings).
    #[error("telemetry.cassandra: {0}")]
    MetricsAgent(#[from] super::metrics_agent::AgentConfigError),
}

/// What `NewDatacenter` reads from a DC's input that can be refused, read before anything is
/// built from it.
struct Checked {
    /// The operator's `spec.config` JSON.
    config_json: Map<String, Value>,
    /// `mgmtAPIHeap`, when set.
    mgmt_api_heap: Option<Quantity>,
    /// The metrics agent's `metrics-collector.yaml`.
    agent_yaml: String,
}

impl Checked {
    /// Reads them in the order upstream refuses them: config, heap, metrics agent.
    fn new(
        plan: &ClusterPlan<'_>,
        dc: &DcPlan<'_>,
        config: &Value,
    ) -> Result<Self, DatacenterError> {
        let config_json = build_config(config, plan.server_type, &dc.version)?;
        let mgmt_api_heap = dc
            .options
            .mgmt_api_heap
            .as_ref()
            .map(Quantity::from_json)
            .transpose()
            .map_err(DatacenterError::MgmtApiHeap)?;
        let agent_yaml = metrics_collector_yaml(dc.telemetry.get("cassandra"))?;
        Ok(Self {
            config_json,
            mgmt_api_heap,
            agent_yaml,
        })
    }
}

/// `NewDatacenter` + the rest of Phase C for one DC; `prio_pos` is its rollout position.
/// Returns the CassandraDatacenter and the ConfigMaps built with it.
fn new_datacenter(
    plan: &ClusterPlan<'_>,
    dc: &DcPlan<'_>,
    cfg: DcConfig,
    prio_pos: usize,
) -> Result<(Value, Vec<Value>), DatacenterError> {
    let o = &dc.options;
    let DcConfig {
        config,
        mut pod_template,
        users,
        mut storage_config,
        annotations_override,
        vector_toml,
        extra_annotations,
    } = cfg;

    let Checked {
        config_json,
        mgmt_api_heap,
        agent_yaml,
    } = Checked::new(plan, dc, &config)?;

    // Labels: base, then merged meta labels, then cluster-level labels on top.
    let mut labels = labels::operator_labels("cassandra");
    labels.extend(labels::cleaned_up_by_labels(plan));
    labels.extend(string_map(dc.meta.get("labels")));
    let mut annotations =
        annotations_override.unwrap_or_else(|| string_map(dc.meta.get("annotations")));
    annotations.extend(extra_annotations);
    if prio_pos > 0 {
        annotations.insert(SKIP_USER_CREATION.into(), "true".into());
    }
    labels.extend(string_map(plan.cassandra.meta.get("labels")));
    annotations.extend(string_map(plan.cassandra.meta.get("annotations")));

    // MANAGEMENT_API_HEAP_SIZE, then MGMT_API_DISABLE_MCAC (spec §2.9 env order).
    if let Some(q) = mgmt_api_heap {
        push_env(
            container_mut(&mut pod_template, "containers", "cassandra"),
            "MANAGEMENT_API_HEAP_SIZE",
            &q.value_ceil().to_string(),
        );
    }
    let mcac_enabled =
        dc.telemetry.get("mcac").and_then(|m| m.get("enabled")) == Some(&Value::Bool(true));
    if !mcac_enabled {
        push_env(
            container_mut(&mut pod_template, "containers", "cassandra"),
            "MGMT_API_DISABLE_MCAC",
            "true",
        );
    }

    // Metrics agent ConfigMap and its additional volume (created for every DC).
    let agent_name = metrics_agent_configmap_name(&plan.cass_cluster_name, &dc.cass_dc_name);
    {
        let sc = obj(&mut storage_config);
        let av = sc
            .entry("additionalVolumes")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = av {
            items.push(json!({
                "name": "metrics-agent-config",
                "mountPath": "/opt/management-api/configs",
                "volumeSource": { "configMap": {
                    "name": agent_name,
                    "items": [{ "key": super::metrics_agent::METRICS_COLLECTOR_KEY, "path": super::metrics_agent::METRICS_COLLECTOR_KEY }],
                }},
            }));
        }
    }

    let mut s = Map::new();
    s.insert("size".into(), json!(dc.template.size));
    if dc.template.stopped {
        s.insert("stopped".into(), json!(true));
    }
    s.insert("serverVersion".into(), dc.version.to_string().into());
    if !o.server_image.is_empty() {
        s.insert("serverImage".into(), o.server_image.clone().into());
    }
    s.insert("serverType".into(), plan.server_type.as_str().into());
    if !config_json.is_empty() {
        s.insert("config".into(), Value::Object(config_json));
    }
    if let Some(r) = o.racks.as_ref().filter(|r| !r.is_empty()) {
        s.insert("racks".into(), Value::Array(r.clone()));
    }
    s.insert("storageConfig".into(), storage_config);
    s.insert("clusterName".into(), plan.cass_cluster_name.clone().into());
    if !plan.external_secrets() {
        s.insert(
            "superuserSecretName".into(),
            plan.superuser_secret_name().into(),
        );
    }
    if !users.is_empty() {
        s.insert("users".into(), Value::Array(users));
    }
    if let Some(n) = &o.networking {
        let mut net = Map::new();
        if let Some(np) = n.node_port.as_ref().filter(|v| !v.is_null()) {
            net.insert("nodePort".into(), np.clone());
        }
        if n.host_network == Some(true) {
            net.insert("hostNetwork".into(), json!(true));
        }
        s.insert("networking".into(), Value::Object(net));
    }
    // Resources of user-declared sidecars that cass-operator manages itself.
    let find = |list: &str, name: &str| -> Option<Value> {
        pod_template
            .get("spec")?
            .get(list)?
            .as_array()?
            .iter()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))?
            .get("resources")
            .filter(|r| r.get("limits").is_some() || r.get("requests").is_some())
            .cloned()
    };
    // The user's logger container resources win over Vector's (`NewDatacenter`).
    if let Some(r) = find("containers", vector::LOGGER_CONTAINER) {
        s.insert("systemLoggerResources".into(), r);
    } else if vector_toml.is_some() {
        s.insert(
            "systemLoggerResources".into(),
            vector::logger_resources(&dc.telemetry),
        );
    }
    if let Some(r) = find("initContainers", "server-config-init") {
        s.insert("configBuilderResources".into(), r);
    }
    s.insert("podTemplateSpec".into(), Value::Object(pod_template));
    if let Some(cdc) = &o.cdc {
        s.insert("cdc".into(), cdc.clone());
    }
    if let Some(w) = &o.dse_workloads {
        s.insert(
            "dseWorkloads".into(),
            serde_json::to_value(w).unwrap_or_default(),
        );
    }
    if !o.service_account.is_empty() {
        s.insert(
            "serviceAccountName".into(),
            o.service_account.clone().into(),
        );
    }
    if let Some(b) = o.read_only_root_filesystem {
        s.insert("readOnlyRootFilesystem".into(), json!(b));
    }
    if let Some(r) = &o.resources {
        s.insert("resources".into(), r.clone());
    }
    if o.soft_pod_anti_affinity == Some(true) {
        s.insert("allowMultipleNodesPerWorker".into(), json!(true));
    }
    if let Some(m) = &o.management_api_auth {
        s.insert("managementApiAuth".into(), m.clone());
    }
    if let Some(l) = dc.meta.get("commonLabels").filter(|v| v.is_object()) {
        s.insert("additionalLabels".into(), l.clone());
    }
    if let Some(a) = dc.meta.get("commonAnnotations").filter(|v| v.is_object()) {
        s.insert("additionalAnnotations".into(), a.clone());
    }
    s.insert(
        "additionalServiceConfig".into(),
        additional_service_config(plan, dc),
    );
    if let Some(t) = &o.tolerations
        && !t.is_empty()
    {
        s.insert("tolerations".into(), Value::Array(t.clone()));
    }
    if !o.datacenter_name.is_empty() {
        s.insert("datacenterName".into(), o.datacenter_name.clone().into());
    }

    let mut metadata = Map::new();
    metadata.insert("name".into(), dc.template.name.clone().into());
    metadata.insert("namespace".into(), dc.namespace.clone().into());
    metadata.insert("labels".into(), Value::Object(labels));
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), Value::Object(annotations));
    }
    let mut s = Value::Object(s);
    super::stringify_quantities(&mut s, &[], &["cassandraYaml", "config"]);
    let cassdc = json!({
        "apiVersion": "cassandra.datastax.com/v1beta1",
        "kind": "CassandraDatacenter",
        "metadata": metadata,
        "spec": s,
    });

    let mut cm_labels = super::labels::cleaned_up_by(plan);
    for (k, v) in crate::json::string_pairs(&string_map(plan.cassandra.meta.get("commonLabels"))) {
        cm_labels.entry(k).or_insert(v);
    }
    let common_annotations =
        crate::json::string_pairs(&string_map(plan.cassandra.meta.get("commonAnnotations")));
    let mut config_maps = Vec::new();
    // The Vector ConfigMap gets the same labels and annotations as the metrics agent's.
    if let Some(toml) = vector_toml {
        config_maps.push(config_map(
            vector::config_map_name(&plan.sanitized_name, &dc.cass_dc_name),
            dc.namespace.clone(),
            cm_labels.clone(),
            common_annotations.clone(),
            BTreeMap::from([("vector.toml".to_string(), toml)]),
        ));
    }
    config_maps.push(config_map(
        agent_name,
        dc.namespace.clone(),
        cm_labels,
        common_annotations,
        BTreeMap::from([(
            super::metrics_agent::METRICS_COLLECTOR_KEY.to_string(),
            agent_yaml,
        )]),
    ));
    Ok((cassdc, config_maps))
}

/// `additionalServiceConfig` from merged `metadata.services`; the all-pods service always gets the
/// cluster name/namespace labels.
fn additional_service_config(plan: &ClusterPlan<'_>, dc: &DcPlan<'_>) -> Value {
    let services = dc.meta.get("services");
    let mut out = Map::new();
    for (from, to) in [
        ("dcService", "dcService"),
        ("seedService", "seedService"),
        ("allPodsService", "allpodsService"),
        ("additionalSeedService", "additionalSeedService"),
        ("nodePortService", "nodePortService"),
    ] {
        let src = services.and_then(|s| s.get(from));
        let mut add = Map::new();
        if let Some(l) = src
            .and_then(|s| s.get("labels"))
            .and_then(Value::as_object)
            .filter(|m| !m.is_empty())
        {
            add.insert("additionalLabels".into(), Value::Object(l.clone()));
        }
        if let Some(a) = src
            .and_then(|s| s.get("annotations"))
            .and_then(Value::as_object)
            .filter(|m| !m.is_empty())
        {
            add.insert("additionalAnnotations".into(), Value::Object(a.clone()));
        }
        if to == "allpodsService" {
            let labels = obj(add
                .entry("additionalLabels")
                .or_insert_with(|| Value::Object(Map::new())));
            for (key, value) in labels::cluster(plan) {
                labels.insert(key.into(), value.into());
            }
        }
        if !add.is_empty() {
            out.insert(to.into(), Value::Object(add));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::config_hash::CONFIG_HASH_ANNOTATION;
    use crate::render::{FLUX_PRUNE, SYNC_OPTIONS, SYNC_WAVE};
    use crate::testing::{STORAGE, by_name, render_one};

    /// Three DCs, rolled out in spec order: dc1 and dc2 share namespace `db` in `east`, dc3 is
    /// alone in `west`. Medusa and few vnodes (computed tokens) are on.
    fn three(extra_dc2: &str) -> String {
        format!(
            "metadata: {{name: demo, namespace: db}}
spec:
  medusa:
    storageProperties: {{storageProvider: s3, bucketName: b, storageSecretRef: {{name: s3-key}}}}
  cassandra:
    serverVersion: 4.1.5
{STORAGE}    config: {{cassandraYaml: {{num_tokens: 4}}}}
    datacenters:
    - {{metadata: {{name: dc1}}, k8sContext: east, size: 3}}
    - {{metadata: {{name: dc2}}, k8sContext: east, size: 3{extra_dc2}}}
    - {{metadata: {{name: dc3}}, k8sContext: west, size: 3}}
"
        )
    }

    fn render(yaml: &str) -> Vec<Manifest> {
        let (out, diags) = render_one(yaml, |plan, diags| {
            let mut all = render_cluster(plan, diags);
            all.extend(crate::render::medusa::render(plan, diags));
            all
        });
        assert!(!has_error(&diags), "{diags:#?}");
        out
    }

    fn wave(m: &Manifest) -> &str {
        m.object["metadata"]["annotations"][SYNC_WAVE]
            .as_str()
            .unwrap_or_default()
    }

    fn config_hash(m: &Manifest) -> &str {
        m.object["spec"]["podTemplateSpec"]["metadata"]["annotations"][CONFIG_HASH_ANNOTATION]
            .as_str()
            .expect("config hash")
    }

    #[test]
    fn one_context_builds_its_datacenters_as_the_whole_render_and_reports_the_same_problems() {
        // dc2 (in `east`) has metrics-agent settings upstream refuses to write.
        let refused = ", telemetry: {cassandra: {relabels: [{regex: \"a\\x7f\"}]}}";
        for extra in ["", refused] {
            let yaml = three(extra);
            let (whole, whole_diags) = render_one(&yaml, render_cluster);
            assert_eq!(
                whole_diags
                    .iter()
                    .any(|d| d.message.starts_with("telemetry.cassandra:")),
                extra == refused,
                "{whole_diags:#?}"
            );
            for context in ["east", "west", "elsewhere"] {
                let (one, diags) = render_one(&yaml, |plan, diags| {
                    render_cluster_in(plan, Some(context), diags)
                });
                let expected: Vec<&Manifest> =
                    whole.iter().filter(|m| m.context == context).collect();
                assert_eq!(one.iter().collect::<Vec<_>>(), expected, "{context}");
                assert_eq!(diags, whole_diags, "{context}");
            }
        }
    }

    #[test]
    fn each_datacenter_and_its_config_maps_share_its_rollout_wave_and_dcs_are_protected() {
        let out = render(&three(""));
        for (dc, expected) in [("dc1", "0"), ("dc2", "10"), ("dc3", "20")] {
            let m = by_name(&out, dc);
            assert_eq!(m.kind(), Kind::CassandraDatacenter);
            assert_eq!(wave(m), expected, "{dc}");
            let a = &m.object["metadata"]["annotations"];
            assert_eq!(a[SYNC_OPTIONS], "Prune=false,Delete=false");
            assert_eq!(a[FLUX_PRUNE], "disabled");
            let agent = by_name(&out, &format!("demo-{dc}-metrics-agent-config"));
            assert_eq!(wave(agent), expected, "{dc} metrics agent");
            let per_node = by_name(&out, &format!("demo-{dc}-per-node-config"));
            assert_eq!(wave(per_node), expected, "{dc} per-node config");
        }
        // The Medusa ConfigMap of `east/db` comes with the first DC there to roll out.
        let medusa: Vec<&Manifest> = out
            .iter()
            .filter(|m| m.name() == "demo-medusa" && m.context == "east")
            .collect();
        assert_eq!(medusa.len(), 1);
        assert_eq!(wave(medusa[0]), "0");
    }

    #[test]
    fn medusa_comes_before_the_per_node_configuration_after_one_placeholder() {
        let out = render(&three(""));
        let dc = &by_name(&out, "dc2").object;
        let names: Vec<&str> = dc["spec"]["podTemplateSpec"]["spec"]["initContainers"]
            .as_array()
            .expect("init containers")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            ["server-config-init", "medusa-restore", "per-node-config"]
        );
        let volumes: Vec<&str> = dc["spec"]["podTemplateSpec"]["spec"]["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(volumes.first(), Some(&"demo-medusa"));
        assert_eq!(volumes.last(), Some(&"per-node-config"));
    }

    #[test]
    fn the_config_hash_covers_what_each_dc_mounts_and_nothing_else() {
        let base = render(&three(""));
        // dc2's own metrics-agent settings change: its hash changes, dc1's (same namespace)
        // and dc3's do not.
        let changed = render(&three(
            ", telemetry: {cassandra: {relabels: [{sourceLabels: [a], targetLabel: b}]}}",
        ));
        assert_ne!(
            config_hash(by_name(&base, "dc2")),
            config_hash(by_name(&changed, "dc2"))
        );
        for dc in ["dc1", "dc3"] {
            assert_eq!(
                config_hash(by_name(&base, dc)),
                config_hash(by_name(&changed, dc)),
                "{dc}"
            );
        }
        // The shared Medusa ConfigMap rolls every DC that mounts it.
        let bucket = render(&three("").replace("bucketName: b", "bucketName: other"));
        for dc in ["dc1", "dc2", "dc3"] {
            assert_ne!(
                config_hash(by_name(&base, dc)),
                config_hash(by_name(&bucket, dc)),
                "{dc}"
            );
        }
    }
}
