//! Vector agent for Cassandra pods (components §4.4, control-plane §2.10): the `vector.toml`
//! ConfigMap of each datacenter and what is injected into its CassandraDatacenter
//! (`server-system-logger` container, `vector-config` volume, `systemLoggerResources`).
//!
//! Stargate and Reaper Vector sidecars are built by their own data-plane controllers from the
//! `telemetry` of their CRs, so nothing is rendered for them here.

use serde_json::{Value, json};

use crate::plan::telemetry::VectorScrape;
use crate::ports::names::cleanup_for_kubernetes;

/// Name of the additional volume that mounts the ConfigMap at `/etc/vector`.
pub const VOLUME_NAME: &str = "vector-config";
/// The container cass-operator runs the agent in.
pub const LOGGER_CONTAINER: &str = "server-system-logger";

/// MCAC's metrics port (legacy stack): scraped without a path.
const MCAC_METRICS_PORT: i64 = 9103;
/// The management API's metrics port (modern stack): scraped at `/metrics`.
const MODERN_METRICS_PORT: i64 = 9000;

/// `CleanupForKubernetes(<sanitized cluster name>-<Cassandra DC name>-cass-vector)`.
#[must_use]
pub fn config_map_name(sanitized_cluster_name: &str, cass_dc_name: &str) -> String {
    cleanup_for_kubernetes(&format!(
        "{sanitized_cluster_name}-{cass_dc_name}-cass-vector"
    ))
}

/// `systemLoggerResources`: the user's `vector.resources`, else the operator's defaults.
#[must_use]
pub fn logger_resources(telemetry: &Value) -> Value {
    match telemetry.pointer("/vector/resources") {
        Some(r) if r.is_object() => r.clone(),
        _ => json!({
            "requests": {"cpu": "200m", "memory": "128Mi"},
            "limits": {"cpu": "2", "memory": "2Gi"},
        }),
    }
}

/// The agent image the user asked for, if any.
#[must_use]
pub fn image(telemetry: &Value) -> Option<&str> {
    telemetry
        .pointer("/vector/image")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The `additionalVolumes` entry that mounts the ConfigMap.
#[must_use]
pub fn additional_volume(config_map: &str) -> Value {
    json!({
        "name": VOLUME_NAME,
        "mountPath": "/etc/vector",
        "volumeSource": {"configMap": {"name": config_map}},
    })
}

/// One Vector source, transform or sink.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Component {
    name: String,
    kind: String,
    inputs: Vec<String>,
    config: String,
}

impl Component {
    fn new(name: &str, kind: &str, inputs: &[&str], config: &str) -> Self {
        Self {
            name: name.into(),
            kind: kind.into(),
            inputs: inputs.iter().map(|s| (*s).to_string()).collect(),
            config: config.into(),
        }
    }

    fn from_json(v: &Value) -> Self {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
        Self {
            name: s("name").into(),
            kind: s("type").into(),
            inputs: crate::json::string_list(v.get("inputs")),
            config: s("config").into(),
        }
    }
}

/// Where the agent scrapes Cassandra's metrics.
struct Scrape {
    port: i64,
    interval: i64,
    address: String,
    path: &'static str,
    tls: Option<Value>,
}

impl Scrape {
    fn config(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let mut out = format!(
            "endpoints = [ \"{scheme}://{}:{}{}\" ]\nscrape_interval_secs = {}",
            self.address, self.port, self.path, self.interval
        );
        if let Some(tls) = &self.tls {
            for (key, option) in [
                ("ca.crt", "ca_file"),
                ("tls.crt", "crt_file"),
                ("tls.key", "key_file"),
            ] {
                if let Some(file) = tls
                    .get(key)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                {
                    out.push_str(&format!("\ntls.{option} = \"{file}\""));
                }
            }
        }
        out
    }
}

/// The complete `vector.toml` for a datacenter's merged telemetry, scraping as the plan
/// decided.
#[must_use]
pub fn vector_toml(telemetry: &Value, mcac_enabled: bool, decided: VectorScrape) -> String {
    let mut scrape = Scrape {
        port: decided.port.unwrap_or(if mcac_enabled {
            MCAC_METRICS_PORT
        } else {
            MODERN_METRICS_PORT
        }),
        interval: decided.interval_secs,
        address: "localhost".into(),
        path: if mcac_enabled { "" } else { "/metrics" },
        tls: None,
    };
    if let Some(endpoint) = telemetry.pointer("/cassandra/endpoint") {
        if let Some(address) = endpoint
            .get("address")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            scrape.address = address.to_string();
        }
        if let Some(tls) = endpoint.get("tls").filter(|t| t.is_object()) {
            scrape.tls = Some(tls.clone());
        }
    }

    let user = |kind: &str| -> Vec<Component> {
        telemetry
            .pointer(&format!("/vector/components/{kind}"))
            .and_then(Value::as_array)
            .map(|items| items.iter().map(Component::from_json).collect())
            .unwrap_or_default()
    };
    // User components first, so that a user component named like a default one replaces it.
    let mut sources = user("sources");
    sources.extend(default_sources(&scrape));
    let mut transforms = user("transforms");
    transforms.extend(default_transforms());
    let mut sinks = user("sinks");
    sinks.extend(default_sinks());
    let (sources, transforms, sinks) = drop_unused(sources, transforms, sinks);

    let mut toml = String::new();
    if let Some(raw) = telemetry
        .pointer("/vector/config")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        toml.push_str(raw);
        if !raw.ends_with('\n') {
            toml.push('\n');
        }
    }
    for (section, list, with_inputs) in [
        ("sources", &sources, false),
        ("transforms", &transforms, true),
        ("sinks", &sinks, true),
    ] {
        for c in list {
            toml.push_str(&format!(
                "\n[{section}.{}]\ntype = \"{}\"\n",
                c.name, c.kind
            ));
            if with_inputs {
                toml.push_str(&format!("inputs = [\"{}\"]\n", c.inputs.join("\", \"")));
            }
            if !c.config.is_empty() {
                toml.push_str(&c.config);
                toml.push('\n');
            }
        }
    }
    toml
}

fn default_sources(scrape: &Scrape) -> Vec<Component> {
    vec![
        Component::new("systemlog", "file", &[], SYSTEMLOG_SOURCE),
        Component::new(
            "cassandra_metrics_raw",
            "prometheus_scrape",
            &[],
            &scrape.config(),
        ),
    ]
}

fn default_transforms() -> Vec<Component> {
    vec![
        Component::new(
            "parse_cassandra_log",
            "remap",
            &["systemlog"],
            PARSE_LOG_TRANSFORM,
        ),
        Component::new(
            "cassandra_metrics",
            "remap",
            &["cassandra_metrics_raw"],
            METRICS_TRANSFORM,
        ),
    ]
}

fn default_sinks() -> Vec<Component> {
    vec![Component::new(
        "console_log",
        "console",
        &["systemlog"],
        "target = \"stdout\"\nencoding.codec = \"text\"\n",
    )]
}

/// The operator's pruning (`FilterUnusedPipelines`): transforms nothing consumes are removed
/// one at a time until none is left (a repeated transform name is removed the same way, and
/// that also forgets what the kept one consumed — upstream behaviour, kept so the file is the
/// same); then sources nothing consumes and repeated sources go; repeated sinks keep the first.
fn drop_unused(
    sources: Vec<Component>,
    mut transforms: Vec<Component>,
    sinks: Vec<Component>,
) -> (Vec<Component>, Vec<Component>, Vec<Component>) {
    use std::collections::{BTreeMap, BTreeSet};
    let sink_inputs: BTreeSet<&str> = sinks
        .iter()
        .flat_map(|s| s.inputs.iter().map(String::as_str))
        .collect();
    // input name → names of the transforms that consume it.
    let mut consumers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in &transforms {
        for input in &t.inputs {
            consumers
                .entry(input.clone())
                .or_default()
                .insert(t.name.clone());
        }
    }
    'clean: loop {
        let mut seen = BTreeSet::new();
        for i in 0..transforms.len() {
            let name = transforms[i].name.clone();
            let consumed =
                sink_inputs.contains(name.as_str()) || consumers.contains_key(name.as_str());
            if !consumed || seen.contains(&name) {
                consumers.retain(|_, names| {
                    names.remove(&name);
                    !names.is_empty()
                });
                transforms.remove(i);
                continue 'clean;
            }
            seen.insert(name);
        }
        break;
    }
    let mut seen = BTreeSet::new();
    let sources = sources
        .into_iter()
        .filter(|s| {
            let used = sink_inputs.contains(s.name.as_str()) || consumers.contains_key(&s.name);
            used && seen.insert(s.name.clone())
        })
        .collect();
    let mut seen = BTreeSet::new();
    let sinks = sinks
        .into_iter()
        .filter(|s| seen.insert(s.name.clone()))
        .collect();
    (sources, transforms, sinks)
}

const SYSTEMLOG_SOURCE: &str = r#"include = [ "/var/log/cassandra/system.log" ]
read_from = "beginning"
fingerprint.strategy = "device_and_inode"
[sources.systemlog.multiline]
start_pattern = "^(INFO|WARN|ERROR|DEBUG|TRACE|FATAL)"
condition_pattern = "^(INFO|WARN|ERROR|DEBUG|TRACE|FATAL)"
mode = "halt_before"
timeout_ms = 10000
"#;

const PARSE_LOG_TRANSFORM: &str = r#"source = '''
del(.source_type)
.message = string!(.message)
.message = strip_whitespace(.message)
., err = . | parse_groks(.message, patterns: [
  "%{LOGLEVEL:loglevel}\\s+\\[(?<thread>((.+)))\\]\\s+%{TIMESTAMP_ISO8601:timestamp_raw}\\s+%{JAVACLASS:class}:%{NUMBER:line}\\s+-\\s+(?<message>(.+\\n?)+)",
  ]
)
if err != null {
  log("Unable to parse line: " + err, level: "error")
  .message = .message
  .loglevel = "warn"
}  

parsed_timestamp, err = parse_timestamp(.timestamp_raw, format: "%Y-%m-%d %T,%3f")
if err == null {
  .timestamp = parsed_timestamp
} else {
  .timestamp = now()
}
del(.timestamp_raw)

pod_name, err = get_env_var("POD_NAME")
if err == null {
  .pod_name = pod_name
}
node_name, err = get_env_var("NODE_NAME")
if err == null {
  .node_name = node_name
}
cluster, err = get_env_var("CLUSTER_NAME")
if err == null {
  .cluster = cluster
}
datacenter, err = get_env_var("DATACENTER_NAME")
if err == null {
  .datacenter = datacenter
}
rack, err = get_env_var("RACK_NAME")
if err == null {
  .rack = rack
}
namespace, err = get_env_var("NAMESPACE")
if err == null {
  .namespace = namespace
}
'''
"#;

const METRICS_TRANSFORM: &str = r#"source = '''
namespace, err = get_env_var("NAMESPACE")
if err == null {
  .tags.namespace = namespace
}
'''
"#;

#[cfg(test)]
mod tests {
    use super::*;

    /// `vector.toml` with the scrape the plan decides for `t`.
    fn build(t: &Value, mcac_enabled: bool) -> String {
        let decided = crate::plan::telemetry::vector_scrape(t).expect("valid telemetry");
        vector_toml(t, mcac_enabled, decided)
    }

    fn telemetry(v: Value) -> Value {
        json!({ "vector": v })
    }

    #[test]
    fn defaults_keep_only_the_system_log_pipeline() {
        // Spec §4.4: "With no user components the result is just systemlog + console_log".
        let toml = build(&telemetry(json!({"enabled": true})), false);
        let headers: Vec<&str> = toml.lines().filter(|l| l.starts_with("[")).collect();
        assert_eq!(
            headers,
            [
                "[sources.systemlog]",
                "[sources.systemlog.multiline]",
                "[sinks.console_log]"
            ]
        );
        assert!(toml.starts_with("\n[sources.systemlog]\ntype = \"file\"\ninclude = [ \"/var/log/cassandra/system.log\" ]\n"));
        assert!(toml.ends_with(
            "\n[sinks.console_log]\ntype = \"console\"\ninputs = [\"systemlog\"]\ntarget = \"stdout\"\nencoding.codec = \"text\"\n\n"
        ));
        assert!(!toml.contains("cassandra_metrics"));
    }

    #[test]
    fn a_user_sink_pulls_in_the_default_metrics_pipeline() {
        let t = telemetry(json!({
            "enabled": true,
            "scrapeInterval": "1m30s",
            "components": {"sinks": [
                {"name": "prom", "type": "prometheus_exporter", "inputs": ["cassandra_metrics"], "config": "address = \"0.0.0.0:9091\""}
            ]}
        }));
        let toml = build(&t, false);
        let expected_metrics = "\n[sources.cassandra_metrics_raw]\ntype = \"prometheus_scrape\"\nendpoints = [ \"http://localhost:9000/metrics\" ]\nscrape_interval_secs = 90\n";
        assert!(toml.contains(expected_metrics), "{toml}");
        assert!(toml.contains("\n[transforms.cassandra_metrics]\ntype = \"remap\"\ninputs = [\"cassandra_metrics_raw\"]\nsource = '''\n"));
        // The unused log parser is pruned; user sinks come before the default sink.
        assert!(!toml.contains("parse_cassandra_log"));
        let prom = toml.find("[sinks.prom]");
        let console = toml.find("[sinks.console_log]");
        assert!(prom < console);
        assert!(toml.contains("[sinks.prom]\ntype = \"prometheus_exporter\"\ninputs = [\"cassandra_metrics\"]\naddress = \"0.0.0.0:9091\"\n"));
    }

    #[test]
    fn mcac_scrapes_the_legacy_port_without_a_path_and_endpoint_overrides_apply() {
        let sink = json!({"sinks": [{"name": "s", "type": "console", "inputs": ["cassandra_metrics_raw"]}]});
        let toml = build(
            &telemetry(json!({"enabled": true, "components": sink})),
            true,
        );
        assert!(
            toml.contains("endpoints = [ \"http://localhost:9103\" ]\nscrape_interval_secs = 30\n")
        );

        let mut t = telemetry(json!({"enabled": true, "components": sink}));
        t["cassandra"] = json!({"endpoint": {"address": "10.0.0.1", "port": "9443", "tls": {"ca.crt": "/ca", "tls.key": "/key"}}});
        let toml = build(&t, false);
        assert!(toml.contains("endpoints = [ \"https://10.0.0.1:9443/metrics\" ]\nscrape_interval_secs = 30\ntls.ca_file = \"/ca\"\ntls.key_file = \"/key\"\n"), "{toml}");
    }

    #[test]
    fn raw_config_comes_first_and_gets_a_newline() {
        let toml = build(
            &telemetry(json!({"enabled": true, "config": "[api]\nenabled = true"})),
            false,
        );
        assert!(toml.starts_with("[api]\nenabled = true\n\n[sources.systemlog]\n"));
    }

    #[test]
    fn a_user_component_replaces_a_default_of_the_same_name() {
        let t = telemetry(json!({"enabled": true, "components": {
            "sinks": [{"name": "console_log", "type": "blackhole", "inputs": ["systemlog"]}]
        }}));
        let toml = build(&t, false);
        assert!(
            toml.contains("[sinks.console_log]\ntype = \"blackhole\"\ninputs = [\"systemlog\"]\n")
        );
        assert_eq!(toml.matches("[sinks.console_log]").count(), 1);
    }

    #[test]
    fn transforms_without_consumers_are_pruned_in_chains() {
        let t = telemetry(json!({"enabled": true, "components": {
            "sources": [{"name": "extra", "type": "file"}],
            "transforms": [
                {"name": "a", "type": "remap", "inputs": ["extra"]},
                {"name": "b", "type": "remap", "inputs": ["a"]}
            ]
        }}));
        let toml = build(&t, false);
        // b feeds nothing, so it goes; then a feeds nothing, then the source `extra`.
        for gone in ["[transforms.a]", "[transforms.b]", "[sources.extra]"] {
            assert!(!toml.contains(gone), "{gone} should be pruned:\n{toml}");
        }
    }

    #[test]
    fn names_resources_and_volume() {
        assert_eq!(config_map_name("demo", "dc1"), "demo-dc1-cass-vector");
        assert_eq!(config_map_name("Demo_X", "DC1"), "demo-x-dc1-cass-vector");
        assert_eq!(
            logger_resources(&telemetry(json!({"enabled": true}))),
            json!({"requests": {"cpu": "200m", "memory": "128Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}})
        );
        assert_eq!(
            additional_volume("x")["volumeSource"]["configMap"]["name"],
            "x"
        );
    }
}
