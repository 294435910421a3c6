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
//!    Consequences reproduced by [`goyaml`]: keys sorted (yaml.v2's order, which for these keys is
//!    plain alphabetical), block style with sequences not indented under their key, strings
//!    that would read back as another type double-quoted (`"true"`, `"10000"`, `""`), strings
//!    starting with an indicator single-quoted, strings with a newline as literal blocks,
//!    non-printable characters escaped, long plain or quoted scalars folded at 80 columns, an
//!    empty result written as `{}`.
//! 4. The JSON round trip is not neutral for two raw characters (see
//!    [`goyaml::read_back_json_string`]). Go's JSON encoder leaves U+007F, the C1 controls and
//!    U+FFFE/U+FFFF unescaped and yaml.v2 refuses to read them ("control characters are not
//!    allowed"), so upstream fails the reconcile for a string containing one; this module
//!    returns an error then. A raw NEL (U+0085) is a line break to yaml.v2 and is folded (to a
//!    space, or newlines) on the way back, and can even make the reader fail.

use serde_json::{Map, Value};

use crate::ports::names::cleanup_for_kubernetes;

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

/// The exact text of the `metrics-collector.yaml` key for a DC, given its merged
/// `telemetry.cassandra` object (CRD field names; `None` or null when not set).
///
/// # Errors
/// A message when the input does not have the CRD's shape (wrong JSON types; the schema check
/// normally rejects those first) or when upstream itself would fail on it (see the module docs, 4.).
pub fn metrics_collector_yaml(telemetry_cassandra: Option<&Value>) -> Result<String, String> {
    let spec = match telemetry_cassandra {
        None | Some(Value::Null) => AgentSpec::default_config(),
        Some(user) => AgentSpec::default_config().merged_with(AgentSpec::from_json(user)?),
    };
    Ok(goyaml::to_string(&spec.to_node().read_back()?))
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
    fn from_json(v: &Value) -> Result<Self, String> {
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
            Some(_) => return Err("relabels: expected a list".to_string()),
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
    fn from_json(v: &Value) -> Result<Self, String> {
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
    fn from_json(v: &Value, path: &str) -> Result<Self, String> {
        let o = object(v, path)?;
        let source_labels = match o.get("sourceLabels") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|l| match l {
                    // Go decodes a null list item into the zero string.
                    Value::Null => Ok(String::new()),
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(format!("{path}.sourceLabels: expected strings")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(format!("{path}.sourceLabels: expected a list")),
        };
        let modulus = match o.get("modulus") {
            None | Some(Value::Null) => 0,
            Some(m) => m
                .as_u64()
                .ok_or_else(|| format!("{path}.modulus: expected a non-negative integer"))?,
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

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{path}: expected an object"))
}

fn string_field(o: &Map<String, Value>, key: &str, path: &str) -> Result<String, String> {
    Ok(optional_string_field(o, key, path)?.unwrap_or_default())
}

fn optional_string_field(
    o: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{path}.{key}: expected a string")),
    }
}

/// `omitempty` for a plain string field.
fn push_str(m: &mut Vec<(&'static str, Node)>, key: &'static str, value: &str) {
    if !value.is_empty() {
        m.push((key, Node::Str(value.to_string())));
    }
}

// ---------------------------------------------------------------------------------------------
// Generic YAML tree

/// What yaml.v2 decodes the JSON into: strings, integers, lists and maps with sorted keys.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Str(String),
    Int(u64),
    Seq(Vec<Node>),
    Map(Vec<(&'static str, Node)>),
}

impl Node {
    /// A map with its keys in yaml.v2's order.
    fn map(mut entries: Vec<(&'static str, Node)>) -> Self {
        entries.sort_by(|a, b| goyaml::key_order(a.0, b.0));
        Self::Map(entries)
    }

    /// What yaml.v2 reads back from the JSON text Go's encoder writes for this tree: every
    /// string through [`goyaml::read_back_json_string`].
    fn read_back(self) -> Result<Self, String> {
        Ok(match self {
            Self::Str(s) => Self::Str(goyaml::read_back_json_string(&s)?),
            Self::Int(n) => Self::Int(n),
            Self::Seq(items) => Self::Seq(
                items
                    .into_iter()
                    .map(Self::read_back)
                    .collect::<Result<_, _>>()?,
            ),
            Self::Map(entries) => Self::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| Ok((k, v.read_back()?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }
}

/// The parts of `go.yaml.in/yaml/v2` v2.4.4 this output goes through: scalar type resolution
/// (to decide quoting), the emitter's scalar analysis and style choice, its writers and its
/// block layout (indent 2, width 80, `\n` line breaks, Unicode allowed, no document markers).
mod goyaml {
    use std::cmp::Ordering;
    use std::sync::LazyLock;

    use regex::Regex;

    use super::Node;

    const INDENT: usize = 2;
    const WIDTH: usize = 80;

    /// The whole document.
    pub(super) fn to_string(root: &Node) -> String {
        let mut e = Emitter {
            out: String::new(),
            column: 0,
            whitespace: true,
            indention: true,
        };
        e.node(
            root,
            None,
            Ctx {
                mapping: false,
                simple_key: false,
            },
        );
        // Document end: finish the last line.
        e.write_indent(None);
        e.out
    }

    /// yaml.v2's map key order (`keyList.Less`) for ASCII keys: letters compare by code, a
    /// letter sorts after a non-letter, digit runs compare as numbers.
    pub(super) fn key_order(a: &str, b: &str) -> Ordering {
        if a == b {
            Ordering::Equal
        } else if key_less(a.as_bytes(), b.as_bytes()) {
            Ordering::Less
        } else {
            Ordering::Greater
        }
    }

    fn key_less(a: &[u8], b: &[u8]) -> bool {
        for i in 0..a.len().min(b.len()) {
            if a[i] == b[i] {
                continue;
            }
            let (al, bl) = (a[i].is_ascii_alphabetic(), b[i].is_ascii_alphabetic());
            if al && bl {
                return a[i] < b[i];
            }
            if al || bl {
                return bl;
            }
            let (mut an, mut bn) = (0u64, 0u64);
            if a[i] == b'0' || b[i] == b'0' {
                // A zero inside a longer number is just a digit.
                if a[..i]
                    .iter()
                    .rev()
                    .take_while(|c| c.is_ascii_digit())
                    .any(|&c| c != b'0')
                {
                    (an, bn) = (1, 1);
                }
            }
            let run = |s: &[u8], mut n: u64| {
                let digits = s[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                for &c in &s[i..i + digits] {
                    n = n.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                }
                (n, i + digits)
            };
            let ((an, ai), (bn, bi)) = (run(a, an), run(b, bn));
            if an != bn {
                return an < bn;
            }
            if ai != bi {
                return ai < bi;
            }
            return a[i] < b[i];
        }
        a.len() < b.len()
    }

    /// The string yaml.v2 reads from the JSON string literal Go's `encoding/json` writes for `s`.
    ///
    /// The encoder escapes everything below U+0020, `"`, `\\`, `<`, `>`, `&`, U+2028 and
    /// U+2029, and the scanner turns those escapes back into the same characters. The rest is
    /// written raw, and two raw characters are not neutral to yaml.v2:
    ///
    /// - its reader refuses U+007F, the C1 controls except NEL, U+FFFE and U+FFFF ("control
    ///   characters are not allowed"): an error;
    /// - NEL (U+0085) is a line break inside a quoted scalar, so it is folded like one: a run of
    ///   raw spaces and NELs containing at least one NEL becomes one space when it holds a single
    ///   NEL, or one `\n` per NEL after the first; and after such a run ending in a NEL (the
    ///   scanner is then at column 0) `---` or `...` followed by a space or NEL is a document
    ///   marker: an error.
    pub(super) fn read_back_json_string(s: &str) -> Result<String, String> {
        if let Some(c) = s.chars().find(
            |&c| matches!(c, '\u{7F}'..='\u{84}' | '\u{86}'..='\u{9F}' | '\u{FFFE}' | '\u{FFFF}'),
        ) {
            return Err(format!(
                "U+{:04X} in {s:?}: k8ssandra-operator cannot write this character (its YAML library rejects control characters)",
                u32::from(c)
            ));
        }
        if !s.contains('\u{85}') {
            return Ok(s.to_string());
        }
        let chars: Vec<char> = s.chars().collect();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        let mut at_line_start = false;
        while i < chars.len() {
            if at_line_start {
                let marker = chars
                    .get(i..i + 3)
                    .is_some_and(|m| m == ['-'; 3] || m == ['.'; 3]);
                if marker && chars.get(i + 3).is_some_and(|&c| c == ' ' || c == '\u{85}') {
                    return Err(format!(
                        "{s:?}: k8ssandra-operator cannot write this string (after NEL, its YAML library reads {:?} as a document marker)",
                        chars[i..i + 3].iter().collect::<String>()
                    ));
                }
            }
            // Content up to the next raw space or NEL.
            while i < chars.len() && !matches!(chars[i], ' ' | '\u{85}') {
                out.push(chars[i]);
                i += 1;
            }
            // A run of spaces and NELs.
            let (mut spaces, mut breaks) = (0usize, 0usize);
            at_line_start = false;
            while i < chars.len() && matches!(chars[i], ' ' | '\u{85}') {
                if chars[i] == ' ' {
                    if breaks == 0 {
                        spaces += 1;
                    }
                    at_line_start = false;
                } else {
                    breaks += 1;
                    at_line_start = true;
                }
                i += 1;
            }
            match breaks {
                0 => out.extend(std::iter::repeat_n(' ', spaces)),
                1 => out.push(' '),
                n => out.extend(std::iter::repeat_n('\n', n - 1)),
            }
        }
        Ok(out)
    }

    // --- character classes of the emitter (yamlprivateh.go) ---

    fn is_printable(c: char) -> bool {
        matches!(c, '\n' | '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            && c != '\u{FEFF}'
    }

    fn is_break(c: char) -> bool {
        matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
    }

    fn is_blank(c: char) -> bool {
        matches!(c, ' ' | '\t')
    }

    fn is_blankz(c: char) -> bool {
        is_blank(c) || is_break(c) || c == '\0'
    }

    // --- type resolution (resolve.go): would this string read back as something else? ---

    /// `canUsePlain` of the encoder: the string resolves to `!!str` and is no base-60 float.
    fn plain_reads_as_string(s: &str) -> bool {
        resolves_to_str(s) && !is_base60_float(s)
    }

    fn resolves_to_str(s: &str) -> bool {
        const SPECIAL: [&str; 35] = [
            "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N",
            "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "", "~", "null",
            "Null", "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf",
        ];
        const SPECIAL_MORE: [&str; 4] = ["+.INF", "-.inf", "-.Inf", "-.INF"];
        // The first byte decides whether resolution is attempted at all ("<<" starts with a
        // byte that is not a hint, so it stays a string).
        let hint = match s.as_bytes().first() {
            None => b'N',
            Some(b'+' | b'-') => b'S',
            Some(b'0'..=b'9') => b'D',
            Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => {
                b'M'
            }
            Some(b'.') => b'.',
            Some(_) => return true,
        };
        if SPECIAL.contains(&s) || SPECIAL_MORE.contains(&s) {
            return false;
        }
        match hint {
            b'.' => !go_parse_float_ok(s),
            b'D' | b'S' => !(parses_as_timestamp(s) || resolves_as_number(&s.replace('_', ""))),
            _ => true,
        }
    }

    fn resolves_as_number(plain: &str) -> bool {
        if go_parse_int(plain, 0).is_some() || go_parse_uint(plain, 0).is_some() {
            return true;
        }
        static YAML_FLOAT: LazyLock<Regex> =
            LazyLock::new(|| compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"));
        if YAML_FLOAT.is_match(plain) && go_parse_float_ok(plain) {
            return true;
        }
        if let Some(rest) = plain.strip_prefix("0b") {
            go_parse_int(rest, 2).is_some() || go_parse_uint(rest, 2).is_some()
        } else if let Some(rest) = plain.strip_prefix("-0b") {
            go_parse_int(&format!("-{rest}"), 2).is_some()
        } else {
            false
        }
    }

    fn compile(pattern: &str) -> Regex {
        Regex::new(pattern).unwrap_or_else(|e| panic!("invalid built-in pattern {pattern:?}: {e}"))
    }

    fn is_base60_float(s: &str) -> bool {
        static BASE60: LazyLock<Regex> =
            LazyLock::new(|| compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$"));
        matches!(s.as_bytes().first(), Some(b'+' | b'-' | b'0'..=b'9'))
            && s.contains(':')
            && BASE60.is_match(s)
    }

    /// Go `strconv.ParseUint(s, base, 64)`; base 0 picks the base from a `0b`/`0o`/`0x`/`0`
    /// prefix and allows `_` between digits.
    fn go_parse_uint(s: &str, base: u32) -> Option<u64> {
        if s.is_empty() {
            return None;
        }
        let auto = base == 0;
        let (digits, base) = if auto {
            let b = s.as_bytes();
            if b[0] == b'0' {
                match b.get(1).map(u8::to_ascii_lowercase) {
                    Some(b'b') if b.len() >= 3 => (&s[2..], 2),
                    Some(b'o') if b.len() >= 3 => (&s[2..], 8),
                    Some(b'x') if b.len() >= 3 => (&s[2..], 16),
                    _ => (&s[1..], 8),
                }
            } else {
                (s, 10)
            }
        } else {
            (s, base)
        };
        let mut underscores = false;
        let mut n: u64 = 0;
        for c in digits.bytes() {
            let d = match c {
                b'_' if auto => {
                    underscores = true;
                    continue;
                }
                b'0'..=b'9' => u32::from(c - b'0'),
                b'a'..=b'z' | b'A'..=b'Z' => u32::from(c.to_ascii_lowercase() - b'a') + 10,
                _ => return None,
            };
            if d >= base {
                return None;
            }
            n = n.checked_mul(u64::from(base))?.checked_add(u64::from(d))?;
        }
        if underscores && !underscore_ok(s) {
            return None;
        }
        Some(n)
    }

    /// Go `strconv.ParseInt(s, base, 64)`.
    fn go_parse_int(s: &str, base: u32) -> Option<i64> {
        let (neg, rest) = match s.as_bytes().first() {
            Some(b'+') => (false, &s[1..]),
            Some(b'-') => (true, &s[1..]),
            _ => (false, s),
        };
        let un = go_parse_uint(rest, base)?;
        if neg {
            0i64.checked_sub_unsigned(un)
        } else {
            i64::try_from(un).ok()
        }
    }

    /// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
    fn underscore_ok(s: &str) -> bool {
        let mut b = s.as_bytes();
        if let Some(b'+' | b'-') = b.first() {
            b = &b[1..];
        }
        let mut saw = b'^';
        let mut i = 0;
        let mut hex = false;
        if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
            i = 2;
            saw = b'0';
            hex = b[1].eq_ignore_ascii_case(&b'x');
        }
        for &c in &b[i..] {
            if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
                saw = b'0';
            } else if c == b'_' {
                if saw != b'0' {
                    return false;
                }
                saw = b'_';
            } else if saw == b'_' {
                return false;
            } else {
                saw = b'!';
            }
        }
        saw != b'_'
    }

    /// Go `strconv.ParseFloat(s, 64)` succeeds, for the decimal syntax (the only one that can
    /// reach it here: strings starting with `.`, and strings matching yaml.v2's float pattern).
    /// Overflow to infinity is an error in Go.
    fn go_parse_float_ok(s: &str) -> bool {
        let b = s.as_bytes();
        let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
        let (mut saw_dot, mut saw_digits, mut underscores) = (false, false, false);
        while i < b.len() {
            match b[i] {
                b'_' => underscores = true,
                b'.' if !saw_dot => saw_dot = true,
                b'0'..=b'9' => saw_digits = true,
                _ => break,
            }
            i += 1;
        }
        if !saw_digits {
            return false;
        }
        if i < b.len() && b[i].eq_ignore_ascii_case(&b'e') {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !b.get(i).is_some_and(u8::is_ascii_digit) {
                return false;
            }
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
                underscores |= b[i] == b'_';
                i += 1;
            }
        }
        if i != b.len() || underscores && !underscore_ok(s) {
            return false;
        }
        let mut cleaned = s.replace('_', "");
        if let Some(rest) = cleaned.strip_prefix('.') {
            cleaned = format!("0.{rest}");
        }
        cleaned.parse::<f64>().is_ok_and(f64::is_finite)
    }

    /// yaml.v2's `parseTimestamp`: `YYYY-` then one of Go's layouts `2006-1-2T15:4:5.999999999Z07:00`
    /// (also with `t`), `2006-1-2 15:4:5.999999999`, `2006-1-2`, with `time.Parse` rules.
    fn parses_as_timestamp(s: &str) -> bool {
        let b = s.as_bytes();
        if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
            return false;
        }
        [
            Layout::DateTimeZone(b'T'),
            Layout::DateTimeZone(b't'),
            Layout::DateSpaceTime,
            Layout::Date,
        ]
        .iter()
        .any(|l| parse_layout(b, *l))
    }

    #[derive(Clone, Copy)]
    enum Layout {
        DateTimeZone(u8),
        DateSpaceTime,
        Date,
    }

    /// Go `getnum(s, false)`: one or two digits.
    fn getnum(s: &[u8]) -> Option<(u32, &[u8])> {
        match s {
            [a, b, rest @ ..] if a.is_ascii_digit() && b.is_ascii_digit() => {
                Some((u32::from(a - b'0') * 10 + u32::from(b - b'0'), rest))
            }
            [a, rest @ ..] if a.is_ascii_digit() => Some((u32::from(a - b'0'), rest)),
            _ => None,
        }
    }

    fn literal(s: &[u8], c: u8) -> Option<&[u8]> {
        s.split_first().filter(|(f, _)| **f == c).map(|(_, r)| r)
    }

    fn parse_layout(b: &[u8], layout: Layout) -> bool {
        let year: u32 = b[..4].iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'));
        let Some(rest) = literal(&b[4..], b'-') else {
            return false;
        };
        let Some((month, rest)) = getnum(rest) else {
            return false;
        };
        if !(1..=12).contains(&month) {
            return false;
        }
        let Some(rest) = literal(rest, b'-') else {
            return false;
        };
        let Some((day, rest)) = getnum(rest) else {
            return false;
        };
        let rest = match layout {
            Layout::Date => Some(rest),
            Layout::DateTimeZone(t) => literal(rest, t).and_then(clock).and_then(zone),
            Layout::DateSpaceTime => {
                // A layout space matches a run of spaces (an empty remainder passes here and
                // fails on the hour).
                if rest.first().is_some_and(|&c| c != b' ') {
                    None
                } else {
                    clock(trim_spaces(rest))
                }
            }
        };
        rest.is_some_and(<[u8]>::is_empty) && day >= 1 && day <= days_in(month, year)
    }

    fn trim_spaces(s: &[u8]) -> &[u8] {
        let n = s.iter().take_while(|&&c| c == b' ').count();
        &s[n..]
    }

    /// `15:4:5.999999999`: hour, minute, second, optional fraction (`.` or `,`, any digits).
    fn clock(s: &[u8]) -> Option<&[u8]> {
        let (hour, s) = getnum(s)?;
        let (min, s) = getnum(literal(s, b':')?)?;
        let (sec, s) = getnum(literal(s, b':')?)?;
        if hour >= 24 || min >= 60 || sec >= 60 {
            return None;
        }
        match s {
            [b'.' | b',', d, ..] if d.is_ascii_digit() => {
                let digits = s[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                Some(&s[1 + digits..])
            }
            _ => Some(s),
        }
    }

    /// `Z07:00`: `Z`, or a sign, two-digit hours (≤ 24), `:`, two-digit minutes (≤ 60).
    fn zone(s: &[u8]) -> Option<&[u8]> {
        if let Some(rest) = literal(s, b'Z') {
            return Some(rest);
        }
        if s.len() < 6 || s[3] != b':' || !matches!(s[0], b'+' | b'-') {
            return None;
        }
        let two = |p: &[u8]| {
            p.iter()
                .all(u8::is_ascii_digit)
                .then(|| u32::from(p[0] - b'0') * 10 + u32::from(p[1] - b'0'))
        };
        let (hr, mm) = (two(&s[1..3])?, two(&s[4..6])?);
        (hr <= 24 && mm <= 60).then_some(&s[6..])
    }

    fn days_in(month: u32, year: u32) -> u32 {
        match month {
            2 if year.is_multiple_of(4)
                && (!year.is_multiple_of(100) || year.is_multiple_of(400)) =>
            {
                29
            }
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    // --- the emitter (emitterc.go) ---

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum Style {
        Plain,
        SingleQuoted,
        DoubleQuoted,
        Literal,
    }

    /// What `yaml_emitter_analyze_scalar` finds out.
    struct Analysis {
        multiline: bool,
        block_plain_allowed: bool,
        single_quoted_allowed: bool,
        block_allowed: bool,
    }

    fn analyze(value: &str) -> Analysis {
        if value.is_empty() {
            return Analysis {
                multiline: false,
                block_plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: false,
            };
        }
        let mut block_indicators = value.starts_with("---") || value.starts_with("...");
        let (mut line_breaks, mut special) = (false, false);
        let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
            (false, false, false, false);
        let (mut break_space, mut space_break) = (false, false);
        let (mut preceded_by_ws, mut previous_space, mut previous_break) = (true, false, false);
        let chars: Vec<char> = value.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let first = i == 0;
            let last = i + 1 == chars.len();
            let followed_by_ws = chars.get(i + 1).is_none_or(|&n| is_blank(n));
            if first {
                match c {
                    '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\''
                    | '"' | '%' | '@' | '`' => {
                        block_indicators = true;
                    }
                    '?' | ':' | '-' if followed_by_ws => block_indicators = true,
                    _ => {}
                }
            } else {
                match c {
                    ':' if followed_by_ws => block_indicators = true,
                    '#' if preceded_by_ws => block_indicators = true,
                    _ => {}
                }
            }
            if !is_printable(c) {
                special = true;
            }
            if c == ' ' {
                leading_space |= first;
                trailing_space |= last;
                break_space |= previous_break;
                (previous_space, previous_break) = (true, false);
            } else if is_break(c) {
                line_breaks = true;
                leading_break |= first;
                trailing_break |= last;
                space_break |= previous_space;
                (previous_space, previous_break) = (false, true);
            } else {
                (previous_space, previous_break) = (false, false);
            }
            preceded_by_ws = is_blankz(c);
        }
        let mut a = Analysis {
            multiline: line_breaks,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: true,
        };
        if leading_space || leading_break || trailing_space || trailing_break {
            a.block_plain_allowed = false;
        }
        if trailing_space {
            a.block_allowed = false;
        }
        if break_space {
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
        }
        if space_break || special {
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
            a.block_allowed = false;
        }
        if line_breaks || block_indicators {
            a.block_plain_allowed = false;
        }
        a
    }

    /// `yaml_emitter_select_scalar_style` in block context.
    fn select_style(requested: Style, a: &Analysis, simple_key: bool) -> Style {
        let mut style = requested;
        if simple_key && a.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain && !a.block_plain_allowed {
            style = Style::SingleQuoted;
        }
        if style == Style::SingleQuoted && !a.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal && (!a.block_allowed || simple_key) {
            style = Style::DoubleQuoted;
        }
        style
    }

    /// Position in the stack of nodes being written.
    #[derive(Clone, Copy)]
    struct Ctx {
        /// The node is a mapping value.
        mapping: bool,
        /// The node is a mapping key.
        simple_key: bool,
    }

    struct Emitter {
        out: String,
        /// Characters (not bytes) on the current line.
        column: usize,
        /// The last thing written was whitespace (no separating space needed).
        whitespace: bool,
        /// Only indentation has been written on the current line so far.
        indention: bool,
    }

    impl Emitter {
        fn put(&mut self, c: char) {
            self.out.push(c);
            self.column += 1;
        }

        fn put_break(&mut self) {
            self.out.push('\n');
            self.column = 0;
        }

        /// Copies a line-break character of the value.
        fn write_break(&mut self, c: char) {
            if c == '\n' {
                self.put_break();
            } else {
                self.out.push(c);
                self.column = 0;
            }
        }

        /// `None` is the indentation before anything is open (-1 upstream).
        fn write_indent(&mut self, indent: Option<usize>) {
            let indent = indent.unwrap_or(0);
            if !self.indention
                || self.column > indent
                || (self.column == indent && !self.whitespace)
            {
                self.put_break();
            }
            while self.column < indent {
                self.put(' ');
            }
            self.whitespace = true;
            self.indention = true;
        }

        fn write_indicator(
            &mut self,
            indicator: &str,
            need_whitespace: bool,
            is_whitespace: bool,
            is_indention: bool,
        ) {
            if need_whitespace && !self.whitespace {
                self.put(' ');
            }
            for c in indicator.chars() {
                self.put(c);
            }
            self.whitespace = is_whitespace;
            self.indention = self.indention && is_indention;
        }

        /// Writes a node whose parent collection is at `indent`.
        fn node(&mut self, node: &Node, indent: Option<usize>, ctx: Ctx) {
            match node {
                Node::Str(s) => {
                    let requested = if s.contains('\n') {
                        Style::Literal
                    } else if plain_reads_as_string(s) {
                        Style::Plain
                    } else {
                        Style::DoubleQuoted
                    };
                    self.scalar(s, requested, indent, ctx);
                }
                Node::Int(n) => self.scalar(&n.to_string(), Style::Plain, indent, ctx),
                Node::Map(entries) if entries.is_empty() => {
                    self.write_indicator("{", true, true, false);
                    self.write_indicator("}", false, false, false);
                }
                Node::Seq(items) if items.is_empty() => {
                    self.write_indicator("[", true, true, false);
                    self.write_indicator("]", false, false, false);
                }
                Node::Map(entries) => {
                    let inner = Some(indent.map_or(0, |i| i + INDENT));
                    for (key, value) in entries {
                        self.write_indent(inner);
                        // Every key here is a short single-line string, i.e. a simple key.
                        self.node(
                            &Node::Str((*key).to_string()),
                            inner,
                            Ctx {
                                mapping: false,
                                simple_key: true,
                            },
                        );
                        self.write_indicator(":", false, false, false);
                        self.node(
                            value,
                            inner,
                            Ctx {
                                mapping: true,
                                simple_key: false,
                            },
                        );
                    }
                }
                Node::Seq(items) => {
                    // A list that is a mapping value sits at its key's indentation.
                    let indentless = ctx.mapping && !self.indention;
                    let inner = Some(match indent {
                        None => 0,
                        Some(i) if indentless => i,
                        Some(i) => i + INDENT,
                    });
                    for item in items {
                        self.write_indent(inner);
                        self.write_indicator("-", true, false, true);
                        self.node(
                            item,
                            inner,
                            Ctx {
                                mapping: false,
                                simple_key: false,
                            },
                        );
                    }
                }
            }
        }

        fn scalar(&mut self, value: &str, requested: Style, indent: Option<usize>, ctx: Ctx) {
            let style = select_style(requested, &analyze(value), ctx.simple_key);
            // Continuation lines of the scalar are indented one step deeper than its parent.
            let indent = indent.map_or(INDENT, |i| i + INDENT);
            let allow_breaks = !ctx.simple_key;
            match style {
                Style::Plain => self.plain(value, indent, allow_breaks),
                Style::SingleQuoted => self.single_quoted(value, indent, allow_breaks),
                Style::DoubleQuoted => self.double_quoted(value, indent, allow_breaks),
                Style::Literal => self.literal(value, indent),
            }
        }

        fn plain(&mut self, value: &str, indent: usize, allow_breaks: bool) {
            if !self.whitespace {
                self.put(' ');
            }
            let chars: Vec<char> = value.chars().collect();
            let (mut spaces, mut breaks) = (false, false);
            for (i, &c) in chars.iter().enumerate() {
                if c == ' ' {
                    if allow_breaks
                        && !spaces
                        && self.column > WIDTH
                        && chars.get(i + 1) != Some(&' ')
                    {
                        self.write_indent(Some(indent));
                    } else {
                        self.put(c);
                    }
                    spaces = true;
                } else if is_break(c) {
                    if !breaks && c == '\n' {
                        self.put_break();
                    }
                    self.write_break(c);
                    self.indention = true;
                    breaks = true;
                } else {
                    if breaks {
                        self.write_indent(Some(indent));
                    }
                    self.put(c);
                    self.indention = false;
                    spaces = false;
                    breaks = false;
                }
            }
            self.whitespace = false;
            self.indention = false;
        }

        fn single_quoted(&mut self, value: &str, indent: usize, allow_breaks: bool) {
            self.write_indicator("'", true, false, false);
            let chars: Vec<char> = value.chars().collect();
            let (mut spaces, mut breaks) = (false, false);
            for (i, &c) in chars.iter().enumerate() {
                if c == ' ' {
                    if allow_breaks
                        && !spaces
                        && self.column > WIDTH
                        && i > 0
                        && i + 1 < chars.len()
                        && chars[i + 1] != ' '
                    {
                        self.write_indent(Some(indent));
                    } else {
                        self.put(c);
                    }
                    spaces = true;
                } else if is_break(c) {
                    if !breaks && c == '\n' {
                        self.put_break();
                    }
                    self.write_break(c);
                    self.indention = true;
                    breaks = true;
                } else {
                    if breaks {
                        self.write_indent(Some(indent));
                    }
                    if c == '\'' {
                        self.put('\'');
                    }
                    self.put(c);
                    self.indention = false;
                    spaces = false;
                    breaks = false;
                }
            }
            self.write_indicator("'", false, false, false);
            self.whitespace = false;
            self.indention = false;
        }

        fn double_quoted(&mut self, value: &str, indent: usize, allow_breaks: bool) {
            self.write_indicator("\"", true, false, false);
            // Upstream tests for a byte order mark at the start of the whole value, not at the
            // current character: a value starting with U+FEFF has every character escaped.
            let bom = value.starts_with('\u{FEFF}');
            let chars: Vec<char> = value.chars().collect();
            let mut spaces = false;
            for (i, &c) in chars.iter().enumerate() {
                if !is_printable(c) || bom || is_break(c) || c == '"' || c == '\\' {
                    self.put('\\');
                    match c {
                        '\0' => self.put('0'),
                        '\u{7}' => self.put('a'),
                        '\u{8}' => self.put('b'),
                        '\t' => self.put('t'),
                        '\n' => self.put('n'),
                        '\u{B}' => self.put('v'),
                        '\u{C}' => self.put('f'),
                        '\r' => self.put('r'),
                        '\u{1B}' => self.put('e'),
                        '"' => self.put('"'),
                        '\\' => self.put('\\'),
                        '\u{85}' => self.put('N'),
                        '\u{A0}' => self.put('_'),
                        '\u{2028}' => self.put('L'),
                        '\u{2029}' => self.put('P'),
                        _ => {
                            let code = u32::from(c);
                            let (marker, digits) = match code {
                                0..=0xFF => ('x', 2),
                                0x100..=0xFFFF => ('u', 4),
                                _ => ('U', 8),
                            };
                            self.put(marker);
                            for c in format!("{code:0digits$X}").chars() {
                                self.put(c);
                            }
                        }
                    }
                    spaces = false;
                } else if c == ' ' {
                    if allow_breaks
                        && !spaces
                        && self.column > WIDTH
                        && i > 0
                        && i + 1 < chars.len()
                    {
                        self.write_indent(Some(indent));
                        if chars[i + 1] == ' ' {
                            self.put('\\');
                        }
                    } else {
                        self.put(c);
                    }
                    spaces = true;
                } else {
                    self.put(c);
                    spaces = false;
                }
            }
            self.write_indicator("\"", false, false, false);
            self.whitespace = false;
            self.indention = false;
        }

        fn literal(&mut self, value: &str, indent: usize) {
            self.write_indicator("|", true, false, false);
            let chars: Vec<char> = value.chars().collect();
            // Block scalar hints: explicit indentation when the text starts with a space or a
            // break, then chomping: `-` without a final break, `+` with more than one.
            if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
                self.write_indicator(&INDENT.to_string(), false, false, false);
            }
            let chomp = match chars.as_slice() {
                [] => Some("-"),
                [.., last] if !is_break(*last) => Some("-"),
                [_] => Some("+"),
                [.., before, _] if is_break(*before) => Some("+"),
                _ => None,
            };
            if let Some(chomp) = chomp {
                self.write_indicator(chomp, false, false, false);
            }
            self.put_break();
            self.indention = true;
            self.whitespace = true;
            let mut breaks = true;
            for &c in &chars {
                if is_break(c) {
                    self.write_break(c);
                    self.indention = true;
                    breaks = true;
                } else {
                    if breaks {
                        self.write_indent(Some(indent));
                    }
                    self.put(c);
                    self.indention = false;
                    breaks = false;
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn key_order_matches_yaml_v2_for_the_keys_used() {
            let mut keys = vec![
                "targetLabel",
                "sourceLabels",
                "separator",
                "replacement",
                "regex",
                "modulus",
                "action",
            ];
            keys.sort_by(|a, b| key_order(a, b));
            assert_eq!(
                keys,
                [
                    "action",
                    "modulus",
                    "regex",
                    "replacement",
                    "separator",
                    "sourceLabels",
                    "targetLabel"
                ]
            );
            let mut keys = vec!["tls.key", "tls.crt", "ca.crt"];
            keys.sort_by(|a, b| key_order(a, b));
            assert_eq!(keys, ["ca.crt", "tls.crt", "tls.key"]);
            // Digit runs compare numerically, letters after non-letters.
            assert_eq!(key_order("a10", "a9"), Ordering::Greater);
            assert_eq!(key_order("a_b", "ab"), Ordering::Less);
        }

        #[test]
        fn resolution() {
            for s in [
                "",
                "true",
                "False",
                "y",
                "NO",
                "on",
                "~",
                "null",
                "10000",
                "-1",
                "+7",
                "0x1F",
                "0o17",
                "017",
                "1_000",
                "0b101",
                "0b+1",
                "1.5",
                ".5",
                "1e3",
                "-.inf",
                ".NaN",
                "2024-01-02",
                "2024-1-2t3:4:5Z",
                "2024-01-02 10:00:00",
                "2024-01-02T10:00:00.5+02:00",
                "18446744073709551615",
                // Too big for an integer but fine as a float; `08` is no octal but a float too.
                "18446744073709551616",
                "08",
                // Underscores are dropped before reading a number.
                "1_",
            ] {
                assert!(!resolves_to_str(s), "{s:?} should not be a string");
            }
            for s in [
                "yes please",
                "<<",
                ".+",
                "1e999",
                "1.5.5",
                "0x",
                "2024-13-01",
                "2024-02-30",
                "2024-01-02x",
                "._5",
                "(.*);(b.*)",
                "should_drop",
                "-",
                "+",
                ".",
                "0b",
                "-0b",
            ] {
                assert!(resolves_to_str(s), "{s:?} should be a string");
            }
            assert!(is_base60_float("1:20"));
            assert!(is_base60_float("-1_0:59.5"));
            assert!(!is_base60_float("1:60"));
            assert!(!is_base60_float("a:1"));
        }
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
        assert!(
            metrics_collector_yaml(Some(&json!({"relabels": [{"regex": "a\u{7f}"}]}))).is_err()
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
        assert!(
            metrics_collector_yaml(Some(&json!({"relabels": [{"regex": "a\u{85}--- b"}]})))
                .is_err()
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
    fn bad_shapes_are_errors() {
        assert!(metrics_collector_yaml(Some(&json!([]))).is_err());
        assert!(metrics_collector_yaml(Some(&json!({"endpoint": {"port": 9000}}))).is_err());
        assert!(metrics_collector_yaml(Some(&json!({"relabels": {}}))).is_err());
        assert!(metrics_collector_yaml(Some(&json!({"relabels": [{"modulus": -1}]}))).is_err());
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
