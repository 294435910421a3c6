//! The metrics agent ConfigMap k8ssandra-operator creates for every datacenter (spec
//! control-plane §2.10, upstream `pkg/telemetry/cassandra_agent`).
//!
//! Its data key `metrics-collector.yaml` holds the management API agent's collector settings:
//! the merged `telemetry.cassandra` of the K8ssandraCluster laid over a built-in default that
//! keeps only a short allow-list of per-table metrics.
//!
//! How upstream builds the text, and so how this module does:
//!
//! 1. Merge. No `telemetry.cassandra` at all gives the default. Otherwise the user object is
//!    deep-merged over the default with goalesce's rules: the default has no `endpoint`, so the
//!    user's is taken as given; `relabels` is a list and lists are replaced as a whole. A missing
//!    (or null) `relabels` keeps the default list, while an explicit `relabels: []` replaces it
//!    with nothing, and then no `relabels` key is written at all (the field is `omitempty`).
//! 2. CRD default. `relabels[].action` has `default: replace` in the K8ssandraCluster CRD, so the
//!    API server writes `action: replace` into every user relabel that does not set it, and that
//!    ends up in the file. The built-in default relabels never pass through the API server, so
//!    only their last entry (`action: drop`) has an action. Input here is the document as written
//!    (without CRD defaults), so this module applies that default itself; an input that already
//!    has it gives the same output.
//! 3. Serialization: `sigs.k8s.io/yaml` v1.6.0, i.e. Go `encoding/json` (fields tagged
//!    `omitempty`: empty strings, zero modulus and empty lists vanish, but `separator` and
//!    `replacement` are pointers, so an empty string there is kept), then that JSON is read back
//!    with `go.yaml.in/yaml/v2` v2.4.4 into generic maps and written out with the same library.
//!    Consequences reproduced by the port in [`crate::ports::yaml_v2`]: keys sorted (yaml.v2's order, which for these keys is
//!    plain alphabetical), block style with sequences not indented under their key, strings
//!    that would read back as another type double-quoted (`"true"`, `"10000"`, `""`), strings
//!    starting with an indicator single-quoted, strings with a newline as literal blocks,
//!    non-printable characters escaped, long plain or quoted scalars folded at 80 columns, an
//!    empty result written as `{}`.
//! 4. The JSON round trip is not neutral for two raw characters (see
//!    [`yaml_v2::read_back_json_string`]). Go's JSON encoder leaves U+007F, the C1 controls and
//!    U+FFFE/U+FFFF unescaped and yaml.v2 refuses to read them ("control characters are not
//!    allowed"), so upstream fails the reconcile for a string containing one; this module
//!    returns an error then. A raw NEL (U+0085) is a line break to yaml.v2 and is folded (to a
//!    space, or newlines) on the way back, and can even make the reader fail.

use serde_json::{Map, Value};

use crate::ports::names::cleanup_for_kubernetes;
use crate::ports::yaml_v2::{self, Node, ReadBackError};

/// The ConfigMap data key (and the file the management API reads under
/// `/opt/management-api/configs`).
pub const METRICS_COLLECTOR_KEY: &str = "metrics-collector.yaml";

/// Name of the metrics agent ConfigMap: `CleanupForKubernetes(<CassClusterName>-<CassDcName>-metrics-agent-config)`,
/// where the cluster name is `spec.cassandra.clusterName` or else the K8ssandraCluster name, and
/// the DC name is the DC's `datacenterName` override or else its `metadata.name` (upstream passes
/// the CassandraDatacenter's `DatacenterName()`).
#[must_use]
pub fn metrics_agent_configmap_name(cass_cluster_name: &str, cass_dc_name: &str) -> String {
    cleanup_for_kubernetes(&format!(
        "{cass_cluster_name}-{cass_dc_name}-metrics-agent-config"
    ))
}

/// Why the `metrics-collector.yaml` text cannot be produced for a DC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentConfigError {
    /// A field of `telemetry.cassandra` does not have the CRD's JSON type.
    #[error("{field}: expected {expected}")]
    WrongType {
        /// The field, below `telemetry.cassandra` (`relabels[0].modulus`).
        field: String,
        /// What the CRD says it is (`a string`).
        expected: &'static str,
    },
    /// A string upstream fails to write (see the module docs, 4.).
    #[error(transparent)]
    Unwritable(#[from] ReadBackError),
}

fn wrong_type(field: impl Into<String>, expected: &'static str) -> AgentConfigError {
    AgentConfigError::WrongType {
        field: field.into(),
        expected,
    }
}

/// The exact text of the `metrics-collector.yaml` key for a DC, given its merged
/// `telemetry.cassandra` object (CRD field names; `None` or null when not set).
///
/// # Errors
/// [`AgentConfigError::WrongType`] when the input does not have the CRD's shape (the schema
/// check normally rejects those first), [`AgentConfigError::Unwritable`] when upstream itself
/// would fail on it (see the module docs, 4.).
pub fn metrics_collector_yaml(
    telemetry_cassandra: Option<&Value>,
) -> Result<String, AgentConfigError> {
    match telemetry_cassandra {
        // Most datacenters set nothing: the default text is built once per process.
        None | Some(Value::Null) => DEFAULT_TEXT
            .get_or_init(|| agent_text(AgentSpec::default_config()))
            .clone(),
        Some(user) => {
            agent_text(AgentSpec::default_config().merged_with(AgentSpec::from_json(user)?))
        }
    }
}

/// `metrics-collector.yaml` without `telemetry.cassandra`.
static DEFAULT_TEXT: std::sync::OnceLock<Result<String, AgentConfigError>> =
    std::sync::OnceLock::new();

/// The text of a merged agent spec.
fn agent_text(spec: AgentSpec) -> Result<String, AgentConfigError> {
    Ok(yaml_v2::to_string(&spec.to_node().read_back()?))
}

// ---------------------------------------------------------------------------------------------
// The Go types (telemetry v1alpha1 CassandraAgentSpec, prometheus-operator RelabelConfig)

/// `CassandraAgentSpec`. `relabels`: `None` is a nil slice, `Some(vec![])` an empty one (they
/// merge differently).
#[derive(Debug, Clone, PartialEq, Default)]
struct AgentSpec {
    endpoint: Option<Endpoint>,
    relabels: Option<Vec<Relabel>>,
}

/// `Endpoint` (`port` is a string in the CRD).
#[derive(Debug, Clone, PartialEq, Default)]
struct Endpoint {
    address: String,
    port: String,
    tls: Option<Tls>,
}

/// `TLSConfig`, JSON names `ca.crt`, `tls.crt`, `tls.key`.
#[derive(Debug, Clone, PartialEq, Default)]
struct Tls {
    ca_file: String,
    cert_file: String,
    key_file: String,
}

/// prometheus-operator `RelabelConfig` (monitoring/v1 v0.89.0).
#[derive(Debug, Clone, PartialEq, Default)]
struct Relabel {
    source_labels: Vec<String>,
    separator: Option<String>,
    target_label: String,
    regex: String,
    modulus: u64,
    replacement: Option<String>,
    action: String,
}

/// Upstream `defaultAgentConfig`: drop every series that has a `table` label, except the listed
/// table metrics.
const DEFAULT_KEPT_TABLE_METRICS: [&str; 11] = [
    "org_apache_cassandra_metrics_table_live_ss_table_count",
    "org_apache_cassandra_metrics_table_live_disk_space_used",
    "org_apache_cassandra_metrics_table_memtable.*",
    "org_apache_cassandra_metrics_table_all_memtables.*",
    "org_apache_cassandra_metrics_table_compaction_bytes_written",
    "org_apache_cassandra_metrics_table_pending_compactions",
    "org_apache_cassandra_metrics_table_read_.*",
    "org_apache_cassandra_metrics_table_write_.*",
    "org_apache_cassandra_metrics_table_range.*",
    "org_apache_cassandra_metrics_table_coordinator_.*",
    "org_apache_cassandra_metrics_table_dropped_mutations",
];

fn mark_should_drop(source: &str, regex: &str, value: &str) -> Relabel {
    Relabel {
        source_labels: vec![source.to_string()],
        regex: regex.to_string(),
        target_label: "should_drop".to_string(),
        replacement: Some(value.to_string()),
        ..Relabel::default()
    }
}

impl AgentSpec {
    fn default_config() -> Self {
        let mut relabels = vec![mark_should_drop("table", ".+", "true")];
        relabels.extend(
            DEFAULT_KEPT_TABLE_METRICS
                .iter()
                .map(|m| mark_should_drop("__name__", m, "false")),
        );
        relabels.push(Relabel {
            source_labels: vec!["should_drop".to_string()],
            regex: "true".to_string(),
            action: "drop".to_string(),
            ..Relabel::default()
        });
        Self {
            endpoint: None,
            relabels: Some(relabels),
        }
    }

    /// goalesce `DeepMerge(default, user)` for this type: a nil pointer or nil slice on the user
    /// side keeps the default, anything else on the user side wins (slices atomically, even
    /// when empty). Pointers set on both sides would merge field by field, but the default has
    /// no endpoint, so that never happens.
    fn merged_with(self, user: Self) -> Self {
        debug_assert!(self.endpoint.is_none(), "the default has no endpoint");
        Self {
            endpoint: user.endpoint.or(self.endpoint),
            relabels: user.relabels.or(self.relabels),
        }
    }

    /// Reads the user object with Go's decoding rules for these types (unknown fields ignored,
    /// null treated as absent) and applies the CRD default of `relabels[].action`.
    fn from_json(v: &Value) -> Result<Self, AgentConfigError> {
        let o = object(v, "telemetry.cassandra")?;
        let endpoint = match o.get("endpoint") {
            None | Some(Value::Null) => None,
            Some(e) => Some(Endpoint::from_json(e)?),
        };
        let relabels = match o.get("relabels") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, r)| Relabel::from_json(r, &format!("relabels[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(_) => return Err(wrong_type("relabels", "a list")),
        };
        Ok(Self { endpoint, relabels })
    }

    /// The generic value Go's JSON encoder plus yaml.v2's decoder make of the merged spec.
    fn to_node(&self) -> Node {
        let mut top = Vec::new();
        if let Some(e) = &self.endpoint {
            top.push(("endpoint", e.to_node()));
        }
        if let Some(r) = self.relabels.as_ref().filter(|r| !r.is_empty()) {
            top.push((
                "relabels",
                Node::Seq(r.iter().map(Relabel::to_node).collect()),
            ));
        }
        Node::map(top)
    }
}

impl Endpoint {
    fn from_json(v: &Value) -> Result<Self, AgentConfigError> {
        let o = object(v, "endpoint")?;
        let tls = match o.get("tls") {
            None | Some(Value::Null) => None,
            Some(t) => {
                let t = object(t, "endpoint.tls")?;
                Some(Tls {
                    ca_file: string_field(t, "ca.crt", "endpoint.tls")?,
                    cert_file: string_field(t, "tls.crt", "endpoint.tls")?,
                    key_file: string_field(t, "tls.key", "endpoint.tls")?,
                })
            }
        };
        Ok(Self {
            address: string_field(o, "address", "endpoint")?,
            port: string_field(o, "port", "endpoint")?,
            tls,
        })
    }

    fn to_node(&self) -> Node {
        let mut m = Vec::new();
        push_str(&mut m, "address", &self.address);
        push_str(&mut m, "port", &self.port);
        if let Some(t) = &self.tls {
            let mut tm = Vec::new();
            push_str(&mut tm, "ca.crt", &t.ca_file);
            push_str(&mut tm, "tls.crt", &t.cert_file);
            push_str(&mut tm, "tls.key", &t.key_file);
            m.push(("tls", Node::map(tm)));
        }
        Node::map(m)
    }
}

impl Relabel {
    fn from_json(v: &Value, path: &str) -> Result<Self, AgentConfigError> {
        let o = object(v, path)?;
        let source_labels = match o.get("sourceLabels") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|l| match l {
                    // Go decodes a null list item into the zero string.
                    Value::Null => Ok(String::new()),
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(wrong_type(format!("{path}.sourceLabels"), "strings")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(wrong_type(format!("{path}.sourceLabels"), "a list")),
        };
        let modulus = match o.get("modulus") {
            None | Some(Value::Null) => 0,
            Some(m) => m
                .as_u64()
                .ok_or_else(|| wrong_type(format!("{path}.modulus"), "a non-negative integer"))?,
        };
        let action = match o.get("action") {
            // CRD `default: replace` (the API server also replaces a null by the default).
            None | Some(Value::Null) => "replace".to_string(),
            Some(_) => string_field(o, "action", path)?,
        };
        Ok(Self {
            source_labels,
            separator: optional_string_field(o, "separator", path)?,
            target_label: string_field(o, "targetLabel", path)?,
            regex: string_field(o, "regex", path)?,
            modulus,
            replacement: optional_string_field(o, "replacement", path)?,
            action,
        })
    }

    fn to_node(&self) -> Node {
        let mut m = Vec::new();
        if !self.source_labels.is_empty() {
            m.push((
                "sourceLabels",
                Node::Seq(
                    self.source_labels
                        .iter()
                        .map(|s| Node::Str(s.clone()))
                        .collect(),
                ),
            ));
        }
        if let Some(s) = &self.separator {
            m.push(("separator", Node::Str(s.clone())));
        }
        push_str(&mut m, "targetLabel", &self.target_label);
        push_str(&mut m, "regex", &self.regex);
        if self.modulus != 0 {
            m.push(("modulus", Node::Int(self.modulus)));
        }
        if let Some(r) = &self.replacement {
            m.push(("replacement", Node::Str(r.clone())));
        }
        push_str(&mut m, "action", &self.action);
        Node::map(m)
    }
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, AgentConfigError> {
    v.as_object().ok_or_else(|| wrong_type(path, "an object"))
}

fn string_field(o: &Map<String, Value>, key: &str, path: &str) -> Result<String, AgentConfigError> {
    Ok(optional_string_field(o, key, path)?.unwrap_or_default())
}

fn optional_string_field(
    o: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, AgentConfigError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong_type(format!("{path}.{key}"), "a string")),
    }
}

/// `omitempty` for a plain string field.
fn push_str(m: &mut Vec<(&'static str, Node)>, key: &'static str, value: &str) {
    if !value.is_empty() {
        m.push((key, Node::Str(value.to_string())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The default relabels as upstream's `cassandra_agent_config_test.go` writes them (its
    /// `endpointDefinedYaml` without the endpoint).
    const DEFAULT_RELABELS: &str = r#"relabels:
- regex: .+
  replacement: "true"
  sourceLabels:
  - table
  targetLabel: should_drop
- regex: org_apache_cassandra_metrics_table_live_ss_table_count
  replacement: "false"
  sourceLabels:
  - __name__
  targetLabel: should_drop
- regex: org_apache_cassandra_metrics_table_live_disk_space_used
  replacement: "false"
  sourceLabels:
  - __name__
  targetLabel: should_drop
- regex: org_apache_cassandra_metrics_table_memtable.*
  replacement: "false"
  sourceLabels:
  - __name__
  targetLabel: should_drop
- regex: org_apache_cassandra_metrics_table_all_memtables.*
  replacement: "false"
  sourceLabels:
  - __name__
  targetLabel: should_drop
- regex: org_apache_cassandra_metrics_table_compaction_bytes_written
  replacement: "false"
  sourceLabels:
  - __name__
  targetLabel: should_drop
- regex: org_apache_cassandra_metrics_table_pending_compactions
  replacement: "false"
  sourceLabels:
  - __name__
  targetLabel: should_drop
- regex: org_apache_cassandra_metrics_table_read_.*
  replacement: "false"
  sourceLabels:
  - __name__
  targetLabel: should_drop
- regex: org_apache_cassandra_metrics_table_write_.*
  replacement: "false"
  sourceLabels:
  - __name__
  targetLabel: should_drop
- regex: org_apache_cassandra_metrics_table_range.*
  replacement: "false"
  sourceLabels:
  - __name__
  targetLabel: should_drop
- regex: org_apache_cassandra_metrics_table_coordinator_.*
  replacement: "false"
  sourceLabels:
  - __name__
  targetLabel: should_drop
- regex: org_apache_cassandra_metrics_table_dropped_mutations
  replacement: "false"
  sourceLabels:
  - __name__
  targetLabel: should_drop
- action: drop
  regex: "true"
  sourceLabels:
  - should_drop
"#;

    fn render(v: &Value) -> String {
        metrics_collector_yaml(Some(v)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn default_without_telemetry() {
        assert_eq!(
            metrics_collector_yaml(None).as_deref(),
            Ok(DEFAULT_RELABELS)
        );
        assert_eq!(
            metrics_collector_yaml(Some(&Value::Null)).as_deref(),
            Ok(DEFAULT_RELABELS)
        );
        // An empty object (or one with only nulls) merges to the default.
        assert_eq!(render(&json!({})), DEFAULT_RELABELS);
        assert_eq!(
            render(&json!({"endpoint": null, "relabels": null})),
            DEFAULT_RELABELS
        );
    }

    #[test]
    fn upstream_all_defined() {
        // Test_GetTelemetryAgentConfigMapAllDefined (the Go test sets `action: drop` itself).
        let t = json!({"endpoint": {"port": "10000"},
            "relabels": [{"sourceLabels": ["tag1", "tag2"], "separator": ";", "regex": "(.*);(b.*)", "action": "drop"}]});
        let expected = r#"endpoint:
  port: "10000"
relabels:
- action: drop
  regex: (.*);(b.*)
  separator: ;
  sourceLabels:
  - tag1
  - tag2
"#;
        assert_eq!(render(&t), expected);
    }

    #[test]
    fn upstream_endpoint_only_keeps_default_relabels() {
        // Test_GetTelemetryAgentConfigMapWithDefinedEndpoint.
        let t = json!({"endpoint": {"address": "192.168.1.10", "port": "50000"}});
        let expected =
            format!("endpoint:\n  address: 192.168.1.10\n  port: \"50000\"\n{DEFAULT_RELABELS}");
        assert_eq!(render(&t), expected);
    }

    #[test]
    fn upstream_relabels_only() {
        // Test_GetTelemetryAgentConfigMapWithDefinedRelabels.
        let t = json!({"relabels": [{"sourceLabels": ["tag1", "tag2"], "separator": ";", "regex": "(.*);(b.*)", "action": "drop"}]});
        let expected = "relabels:\n- action: drop\n  regex: (.*);(b.*)\n  separator: ;\n  sourceLabels:\n  - tag1\n  - tag2\n";
        assert_eq!(render(&t), expected);
    }

    #[test]
    fn upstream_tls_endpoint() {
        // TestTelemetryEnableTLS (upstream only reads the CA file back; the layout follows the
        // same rules as the other cases).
        let t = json!({"endpoint": {"address": "192.168.1.10", "port": "50000",
            "tls": {"ca.crt": "/opt/management-api/certs/ca.crt"}}});
        let expected = format!(
            "endpoint:\n  address: 192.168.1.10\n  port: \"50000\"\n  tls:\n    ca.crt: /opt/management-api/certs/ca.crt\n{DEFAULT_RELABELS}"
        );
        assert_eq!(render(&t), expected);
    }

    #[test]
    fn crd_default_action_is_written_for_user_relabels() {
        let t = json!({"relabels": [{"sourceLabels": ["__name__"], "regex": "foo_.*", "targetLabel": "x", "replacement": "$1"}]});
        let expected = "relabels:\n- action: replace\n  regex: foo_.*\n  replacement: $1\n  sourceLabels:\n  - __name__\n  targetLabel: x\n";
        assert_eq!(render(&t), expected);
        // Already defaulted input gives the same text.
        let t = json!({"relabels": [{"sourceLabels": ["__name__"], "regex": "foo_.*", "targetLabel": "x", "replacement": "$1", "action": "replace"}]});
        assert_eq!(render(&t), expected);
        // An empty relabel becomes just the default action.
        assert_eq!(
            render(&json!({"relabels": [{}]})),
            "relabels:\n- action: replace\n"
        );
    }

    #[test]
    fn empty_relabels_replace_the_default_with_nothing() {
        assert_eq!(render(&json!({"relabels": []})), "{}\n");
        assert_eq!(
            render(&json!({"endpoint": {}, "relabels": []})),
            "endpoint: {}\n"
        );
        assert_eq!(
            render(&json!({"endpoint": {"port": "9000", "tls": {}}, "relabels": []})),
            "endpoint:\n  port: \"9000\"\n  tls: {}\n"
        );
    }

    #[test]
    fn pointer_fields_keep_empty_strings_and_modulus_is_an_integer() {
        let t = json!({"relabels": [{"sourceLabels": [], "separator": "", "replacement": "", "regex": "", "targetLabel": "",
            "modulus": 8, "action": "hashmod"}]});
        assert_eq!(
            render(&t),
            "relabels:\n- action: hashmod\n  modulus: 8\n  replacement: \"\"\n  separator: \"\"\n"
        );
    }

    #[test]
    fn quoting_styles() {
        let t = json!({"relabels": [{"regex": "[a-z]+", "replacement": "*x", "separator": "a: b", "targetLabel": "yes",
            "action": "Keep", "sourceLabels": ["1.5", "2024-01-02", "0x10", "a#b", "a #b", " lead", "it's", "\tx"]}]});
        let expected = r#"relabels:
- action: Keep
  regex: '[a-z]+'
  replacement: '*x'
  separator: 'a: b'
  sourceLabels:
  - "1.5"
  - "2024-01-02"
  - "0x10"
  - a#b
  - 'a #b'
  - ' lead'
  - it's
  - "\tx"
  targetLabel: "yes"
"#;
        assert_eq!(render(&t), expected);
    }

    #[test]
    fn multiline_strings_are_literal_blocks() {
        let t = json!({"relabels": [{"regex": "a\nb", "replacement": "x\n", "separator": "y\n\n", "targetLabel": "\nz",
            "action": "drop", "sourceLabels": ["trailing \nspace", "tab\t\n"]}]});
        let expected = "relabels:\n- action: drop\n  regex: |-\n    a\n    b\n  replacement: |\n    x\n  separator: |+\n    y\n\n  sourceLabels:\n  - \"trailing \\nspace\"\n  - \"tab\\t\\n\"\n  targetLabel: |2-\n\n    z\n";
        assert_eq!(render(&t), expected);
    }

    #[test]
    fn long_scalars_fold_at_80_columns() {
        // The first space past column 80 becomes a line break plus the scalar's indentation.
        let words = "word ".repeat(20);
        let t = json!({"relabels": [{"regex": words.trim_end(), "action": "drop"}]});
        let expected = format!(
            "relabels:\n- action: drop\n  regex: {}\n    {}\n",
            "word ".repeat(15).trim_end(),
            "word ".repeat(5).trim_end()
        );
        assert_eq!(render(&t), expected);
        // Quoted scalars fold too.
        let t = json!({"relabels": [{
            "regex": "k8ssandra-operator keeps only a short allow-list of per-table metrics by default: here is a long line",
            "replacement": "'quoted' k8ssandra-operator keeps only a short allow-list of per-table metrics by default",
            "action": "drop"}]});
        let expected = r"relabels:
- action: drop
  regex: 'k8ssandra-operator keeps only a short allow-list of per-table metrics by
    default: here is a long line'
  replacement: '''quoted'' k8ssandra-operator keeps only a short allow-list of per-table
    metrics by default'
";
        assert_eq!(render(&t), expected);
    }

    #[test]
    fn control_characters_fail_like_upstream() {
        assert_eq!(
            metrics_collector_yaml(Some(&json!({"relabels": [{"regex": "a\u{7f}"}]}))),
            Err(AgentConfigError::Unwritable(
                ReadBackError::ControlCharacter {
                    character: '\u{7f}',
                    text: "a\u{7f}".into(),
                }
            ))
        );
        assert!(metrics_collector_yaml(Some(&json!({"endpoint": {"address": "\u{9c}"}}))).is_err());
        // Characters Go's JSON encoder escapes come back and are escaped by the emitter; a raw
        // NEL is read back as a folded line break, i.e. a space.
        assert_eq!(
            render(
                &json!({"relabels": [{"regex": "\u{1}\u{85}\u{feff}x\u{1F600}", "action": "drop"}]})
            ),
            "relabels:\n- action: drop\n  regex: \"\\x01 \\uFEFFx\\U0001F600\"\n"
        );
    }

    #[test]
    fn nel_is_folded_when_read_back() {
        let t = json!({"relabels": [{"regex": "a\u{85}b", "replacement": "a \u{85}\u{85} b", "action": "drop"}]});
        assert_eq!(
            render(&t),
            "relabels:\n- action: drop\n  regex: a b\n  replacement: |-\n    a\n    b\n"
        );
        // After a NEL, `--- ` reads as a document marker and upstream fails.
        let err = metrics_collector_yaml(Some(&json!({"relabels": [{"regex": "a\u{85}--- b"}]})))
            .unwrap_err();
        assert_eq!(
            err,
            AgentConfigError::Unwritable(ReadBackError::DocumentMarker {
                marker: "---".into(),
                text: "a\u{85}--- b".into(),
            })
        );
        assert_eq!(
            err.to_string(),
            "\"a\\u{85}--- b\": k8ssandra-operator cannot write this string (after NEL, its YAML library reads \"---\" as a document marker)"
        );
        assert!(
            metrics_collector_yaml(Some(&json!({"relabels": [{"regex": "a\u{85} --- b"}]})))
                .is_ok()
        );
    }

    #[test]
    fn emitter_quirks() {
        // A value starting with U+FEFF has every character escaped; LS is a line break that is
        // copied raw and followed by the indentation.
        let t = json!({"relabels": [{"regex": "\u{feff}a b", "separator": "x\u{2028}y", "replacement": "x\u{2028}y\nz", "action": "drop"}]});
        assert_eq!(
            render(&t),
            "relabels:\n- action: drop\n  regex: \"\\uFEFF\\x61\\x20\\x62\"\n  replacement: |-\n    x\u{2028}    y\n    z\n  separator: 'x\u{2028}    y'\n"
        );
    }

    #[test]
    fn bad_shapes_are_errors_naming_the_field() {
        let err = |v: Value| metrics_collector_yaml(Some(&v)).unwrap_err().to_string();
        assert_eq!(err(json!([])), "telemetry.cassandra: expected an object");
        assert_eq!(
            err(json!({"endpoint": {"port": 9000}})),
            "endpoint.port: expected a string"
        );
        assert_eq!(err(json!({"relabels": {}})), "relabels: expected a list");
        assert_eq!(
            metrics_collector_yaml(Some(&json!({"relabels": [{"modulus": -1}]}))),
            Err(AgentConfigError::WrongType {
                field: "relabels[0].modulus".into(),
                expected: "a non-negative integer",
            })
        );
    }

    #[test]
    fn configmap_name() {
        // Spec §8 row 28 (controllers/k8ssandra/cassandra_metrics_agent_test.go).
        assert_eq!(
            metrics_agent_configmap_name("test", "dc1"),
            "test-dc1-metrics-agent-config"
        );
        assert_eq!(
            metrics_agent_configmap_name("Not K8s_Compliant", "dc1"),
            "notk8s-compliant-dc1-metrics-agent-config"
        );
    }
}
