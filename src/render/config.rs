//! The CassandraDatacenter `spec.config` object (k8ssandra-operator `createJsonConfig`).
//!
//! Upstream builds this JSON from the merged `CassandraConfig`:
//! - `cassandra-yaml` / `dse-yaml`: the free-form maps, when non-empty. The operator decodes them
//!   with Go's `encoding/json`, so every number is a `float64`; we reproduce the numbers Go
//!   prints (integral values as integers, the rest as floats, at float64 precision).
//! - the typed `jvmOptions` struct, walked field by field: each field's `cass-config` tag names
//!   the target `group/key` per server type and version constraint. A field is written only when
//!   it is set (every field is a pointer or slice, so `false`, `0` and `""` count as set, while
//!   `null` and absence do not). Quantities become integers or floats as in
//!   [`Quantity::to_config_json`].
//!
//! Routing facts worth knowing:
//! - Constraints are Masterminds/semver ones without pre-release parts, so a pre-release server
//!   version (`4.1.0-beta1`) matches none of them: every JVM option, including the
//!   `additional*` lists, is dropped.
//! - Cassandra below 3.11, DSE below 6.8 and HCD below 1.0 only get the `additional*` lists.
//! - The deprecated `heapSize` / `heapNewGenSize` are copied into `heap_initial_size`,
//!   `heap_max_size` and `gc_cms_heap_size_young_generation` when those are unset (upstream's
//!   `HandleDeprecatedJvmOptions`, which runs right before this step; doing it twice is harmless).
//!
//! CRD defaults (`jvmOptions.gc: G1GC` whenever a `jvmOptions` object exists) belong to the
//! defaulting stage before the cluster/DC merge and are *not* applied here. Unknown `jvmOptions`
//! keys are ignored, as the API server prunes them; see [`jvm_option_names`].

use serde_json::{Map, Value};

use crate::model::server::{ServerType, ServerVersion};
use crate::ports::quantity::{
    self, Quantity, go_float_text, go_float_to_json, matches_crd_pattern,
};

/// Why `spec.config` cannot be built from a merged `config` object: a shape or a value the API
/// server would have rejected, or a conflict upstream reports too.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// `config` itself is not an object.
    #[error("expected an object, found {0}")]
    NotAnObject(&'static str),
    /// `cassandraYaml`, `dseYaml` or `jvmOptions` is not an object.
    #[error("{section}: expected an object, found {found}")]
    SectionNotAnObject {
        /// The JSON field name.
        section: &'static str,
        /// The JSON type found instead (`a list`).
        found: &'static str,
    },
    /// A number in `cassandraYaml` / `dseYaml` that Go's `float64` cannot hold.
    #[error("{section}: {reason}")]
    Number {
        /// `cassandraYaml` or `dseYaml`.
        section: &'static str,
        /// Which number, and why.
        reason: NumberError,
    },
    /// A `jvmOptions` field that cannot be read as its Go type.
    #[error("jvmOptions.{field}: {reason}")]
    JvmOption {
        /// The JSON field name.
        field: &'static str,
        /// What is wrong with its value.
        reason: FieldError,
    },
    /// A field's target group already holds a non-object.
    #[error("jvmOptions.{field}: group {key} is not an object")]
    GroupNotAnObject {
        /// The JSON field name.
        field: &'static str,
        /// The key it is written under.
        key: &'static str,
    },
    /// Two fields with the same destination (upstream's key conflict).
    #[error("jvmOptions.{field}: cannot put value: key {key} already exists")]
    KeyConflict {
        /// The JSON field name of the second field.
        field: &'static str,
        /// The key both are written under.
        key: &'static str,
    },
}

/// A number of a free-form map with no `float64` form Go's encoder writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// No float form at all.
    #[error("number {0} is not representable")]
    NotRepresentable(serde_json::Number),
    /// Out of the float range.
    #[error("number {0} is not finite")]
    NotFinite(serde_json::Number),
}

/// What is wrong with the value of one `jvmOptions` field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldError {
    /// A quantity string outside the CRD's pattern.
    #[error(
        "invalid quantity {0:?}: the CRD requires e.g. \"512Mi\", \"1G\", \"1.5\" \
         (an optional sign, a decimal number and an optional suffix)"
    )]
    QuantityPattern(String),
    /// A non-integral number for a quantity.
    #[error("invalid quantity {0}: the CRD accepts an integer or a string such as \"1.5\"")]
    FractionalQuantity(serde_json::Number),
    /// A quantity Go's parser refuses.
    #[error(transparent)]
    Quantity(#[from] quantity::ParseError),
    /// A quantity whose float form cannot be written.
    #[error(transparent)]
    NotJsonNumber(#[from] quantity::NotJsonNumber),
    /// A value of another JSON type (or a non-integral number for an integer).
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// The Go type, in words (`a boolean`).
        expected: &'static str,
        /// The JSON type found, or the number for an integer field.
        found: String,
    },
    /// A list item that is not a string.
    #[error("item {index}: expected a string, found {found}")]
    ItemNotAString {
        /// The item's position.
        index: usize,
        /// The JSON type found.
        found: &'static str,
    },
}

fn wrong_type(expected: &'static str, found: impl Into<String>) -> FieldError {
    FieldError::WrongType {
        expected,
        found: found.into(),
    }
}

/// The Go type of a `JvmOptions` field, which decides how its JSON is read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `*resource.Quantity`.
    Quantity,
    /// `*bool`.
    Bool,
    /// `*int`.
    Int,
    /// `*string`.
    Str,
    /// `[]string`.
    StrList,
}

/// Where a field goes, one variant per distinct shape of `cass-config` tag upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// No tag: only feeds other fields (the deprecated `heapSize`, `heapNewGenSize`).
    Untagged,
    /// `^3.11.x:jvm-options/A;>=4.x,dse@>=6.8.x,hcd@>=1.x.x:jvm-server-options/B`.
    Jvm311AndServer(&'static str, &'static str),
    /// `^3.11.x:jvm-options/A` (Cassandra 3.11 only).
    Jvm311Only(&'static str),
    /// `>=4.x,dse@>=6.8.x,hcd@>=1.x.x:jvm-server-options/A`.
    ServerOnly(&'static str),
    /// `>=4.x,hcd@>=1.x.x:jvm11-server-options/A;dse@>=6.8.x:jvm8-server-options/A`.
    Jdk11Or8(&'static str),
    /// `^3.11.x:jvm-options/A;` plus the [`Route::Jdk11Or8`] routing (GC settings).
    Jvm311AndJdk11Or8(&'static str),
    /// An untyped, unconstrained tag `GROUP/additional-jvm-opts`: every server type and
    /// (release) version.
    Always(&'static str),
}

/// One field of upstream's `JvmOptions` struct.
#[derive(Debug, Clone, Copy)]
pub struct JvmField {
    /// The JSON (CRD) name.
    pub json: &'static str,
    /// The Go type.
    pub kind: FieldKind,
    /// Where the value is written.
    pub route: Route,
}

const fn f(json: &'static str, kind: FieldKind, route: Route) -> JvmField {
    JvmField { json, kind, route }
}

use FieldKind::{Bool, Int, Quantity as Qty, Str, StrList};
use Route::{
    Always, Jdk11Or8, Jvm311AndJdk11Or8, Jvm311AndServer, Jvm311Only, ServerOnly, Untagged,
};

/// Every field of `JvmOptions` in declaration order (apis/k8ssandra/v1alpha1/cassandraconfig_types.go).
pub const JVM_FIELDS: &[JvmField] = &[
    // Memory
    f("heapSize", Qty, Untagged),
    f(
        "heap_initial_size",
        Qty,
        Jvm311AndServer("initial_heap_size", "initial_heap_size"),
    ),
    f(
        "heap_max_size",
        Qty,
        Jvm311AndServer("max_heap_size", "max_heap_size"),
    ),
    // General VM options
    f(
        "vm_enable_assertions",
        Bool,
        Jvm311AndServer("enable_assertions", "enable_assertions"),
    ),
    f(
        "vm_enable_thread_priorities",
        Bool,
        Jvm311AndServer("use_thread_priorities", "use_thread_priorities"),
    ),
    f(
        "vm_enable_non_root_thread_priority",
        Bool,
        Jvm311Only("thread_priority_policy_42"),
    ),
    f(
        "vm_heap_dump_on_out_of_memory_error",
        Bool,
        Jvm311AndServer(
            "heap_dump_on_out_of_memory_error",
            "heap_dump_on_out_of_memory_error",
        ),
    ),
    f(
        "vm_per_thread_stack_size",
        Qty,
        Jvm311AndServer("per_thread_stack_size", "per_thread_stack_size"),
    ),
    f(
        "vm_string_table_size",
        Qty,
        Jvm311AndServer("string_table_size", "string_table_size"),
    ),
    f(
        "vm_always_pre_touch",
        Bool,
        Jvm311AndServer("always_pre_touch", "always_pre_touch"),
    ),
    f(
        "vm_disable_biased_locking",
        Bool,
        Jvm311AndServer("use_biased_locking", "use-biased-locking"),
    ),
    f("vm_use_tlab", Bool, Jvm311AndServer("use_tlb", "use_tlb")),
    f(
        "vm_resize_tlab",
        Bool,
        Jvm311AndServer("resize_tlb", "resize_tlb"),
    ),
    f(
        "vm_disable_perf_shared_mem",
        Bool,
        Jvm311AndServer("perf_disable_shared_mem", "perf_disable_shared_mem"),
    ),
    f(
        "vm_prefer_ipv4",
        Bool,
        Jvm311AndServer("java_net_prefer_ipv4_stack", "java_net_prefer_ipv4_stack"),
    ),
    f("vm_use_numa", Bool, ServerOnly("use_numa")),
    f(
        "vm_print_heap_histogram_on_out_of_memory_error",
        Bool,
        ServerOnly("print_heap_histogram_on_out_of_memory_error"),
    ),
    f(
        "vm_exit_on_out_of_memory_error",
        Bool,
        ServerOnly("exit_on_out_of_memory_error"),
    ),
    f(
        "vm_crash_on_out_of_memory_error",
        Bool,
        ServerOnly("crash_on_out_of_memory_error"),
    ),
    f(
        "vm_guaranteed_safepoint_interval_ms",
        Int,
        ServerOnly("guaranteed-safepoint-interval"),
    ),
    f(
        "netty_eventloop_maxpendingtasks",
        Int,
        ServerOnly("io_netty_eventloop_maxpendingtasks"),
    ),
    f(
        "netty_try_reflection_set_accessible",
        Bool,
        Jdk11Or8("io_netty_try_reflection_set_accessible"),
    ),
    f(
        "nio_maxcachedbuffersize",
        Qty,
        ServerOnly("jdk_nio_maxcachedbuffersize"),
    ),
    f(
        "nio_align_direct_memory",
        Bool,
        ServerOnly("page-align-direct-memory"),
    ),
    f(
        "jdk_allow_attach_self",
        Bool,
        Jdk11Or8("jdk_attach_allow_attach_self"),
    ),
    // Cassandra startup options
    f(
        "cassandra_available_processors",
        Int,
        Jvm311AndServer(
            "cassandra_available_processors",
            "cassandra_available_processors",
        ),
    ),
    f(
        "cassandra_metrics_reporter_config_file",
        Str,
        Jvm311AndServer(
            "cassandra_metrics_reporter_config_file",
            "cassandra_metrics_reporter_config_file",
        ),
    ),
    f(
        "cassandra_ring_delay_ms",
        Int,
        Jvm311AndServer("cassandra_ring_delay_ms", "cassandra_ring_delay_ms"),
    ),
    f(
        "cassandra_triggers_directory",
        Str,
        Jvm311AndServer("cassandra_triggers_dir", "cassandra_triggers_dir"),
    ),
    f(
        "cassandra_write_survey",
        Bool,
        Jvm311AndServer("cassandra_write_survey", "cassandra_write_survey"),
    ),
    f(
        "cassandra_disable_auth_caches_remote_configuration",
        Bool,
        Jvm311AndServer(
            "cassandra_disable_auth_caches_remote_configuration",
            "cassandra_disable_auth_caches_remote_configuration",
        ),
    ),
    f(
        "cassandra_force_default_indexing_page_size",
        Bool,
        Jvm311AndServer(
            "cassandra_force_default_indexing_page_size",
            "cassandra_force_default_indexing_page_size",
        ),
    ),
    f(
        "cassandra_force_3_0_protocol_version",
        Bool,
        Jvm311Only("cassandra_force_3_0_protocol_version"),
    ),
    f(
        "cassandra_expiration_date_overflow_policy",
        Str,
        ServerOnly("cassandra_expiration_date_overflow_policy"),
    ),
    f(
        "cassandra_max_hint_ttl_seconds",
        Int,
        ServerOnly("cassandra_max_hint_ttl"),
    ),
    // GC
    f("gc", Str, Jvm311AndJdk11Or8("garbage_collector")),
    f("heapNewGenSize", Qty, Untagged),
    f(
        "gc_cms_heap_size_young_generation",
        Qty,
        Jvm311Only("heap_size_young_generation"),
    ),
    f("gc_cms_survivor_ratio", Int, Jvm311Only("survivor_ratio")),
    f(
        "gc_cms_max_tenuring_threshold",
        Int,
        Jvm311Only("max_tenuring_threshold"),
    ),
    f(
        "gc_cms_initiating_occupancy_fraction",
        Int,
        Jvm311Only("cms_initiating_occupancy_fraction"),
    ),
    f(
        "gc_cms_wait_duration_ms",
        Int,
        Jvm311Only("cms_wait_duration"),
    ),
    f(
        "gc_g1_rset_updating_pause_time_percent",
        Int,
        Jvm311AndJdk11Or8("g1r_set_updating_pause_time_percent"),
    ),
    f(
        "gc_g1_max_gc_pause_ms",
        Int,
        Jvm311AndJdk11Or8("max_gc_pause_millis"),
    ),
    f(
        "gc_g1_initiating_heap_occupancy_percent",
        Int,
        Jvm311AndJdk11Or8("initiating_heap_occupancy_percent"),
    ),
    f(
        "gc_g1_parallel_threads",
        Int,
        Jvm311AndJdk11Or8("parallel_gc_threads"),
    ),
    f(
        "gc_g1_conc_threads",
        Int,
        Jvm311AndJdk11Or8("conc_gc_threads"),
    ),
    // GC logging (3.11 only)
    f("gc_print_details", Bool, Jvm311Only("print_gc_details")),
    f(
        "gc_print_date_stamps",
        Bool,
        Jvm311Only("print_gc_date_stamps"),
    ),
    f("gc_print_heap", Bool, Jvm311Only("print_heap_at_gc")),
    f(
        "gc_print_tenuring_distribution",
        Bool,
        Jvm311Only("print_tenuring_distribution"),
    ),
    f(
        "gc_print_application_stopped_time",
        Bool,
        Jvm311Only("print_gc_application_stopped_time"),
    ),
    f(
        "gc_print_promotion_failure",
        Bool,
        Jvm311Only("print_promotion_failure"),
    ),
    f(
        "gc_print_flss_statistics",
        Bool,
        Jvm311Only("print_flss_statistics"),
    ),
    f("gc_print_use_log_file", Bool, Jvm311Only("log_gc")),
    f(
        "gc_print_use_log_file_rotation",
        Bool,
        Jvm311Only("use_gc_log_file_rotation"),
    ),
    f(
        "gc_print_number_of_log_files",
        Int,
        Jvm311Only("number_of_gc_log_files"),
    ),
    f(
        "gc_print_log_file_size",
        Qty,
        Jvm311Only("gc_log_file_size"),
    ),
    // JMX
    f("jmx_port", Int, Jvm311AndServer("jmx-port", "jmx-port")),
    f(
        "jmx_connection_type",
        Str,
        Jvm311AndServer("jmx-connection-type", "jmx-connection-type"),
    ),
    f(
        "jmx_remote_ssl",
        Bool,
        Jvm311AndServer("jmx-remote-ssl", "jmx-remote-ssl"),
    ),
    f(
        "jmx_remote_ssl_opts",
        Str,
        Jvm311AndServer("jmx-remote-ssl-opts", "jmx-remote-ssl-opts"),
    ),
    f(
        "jmx_remote_ssl_require_client_auth",
        Bool,
        ServerOnly("jmx-remote-ssl-require-client-auth"),
    ),
    // Debug
    f(
        "debug_unlock_commercial_features",
        Bool,
        Jvm311AndServer("unlock_commercial_features", "unlock_commercial_features"),
    ),
    f(
        "debug_enable_flight_recorder",
        Bool,
        Jvm311AndServer("flight_recorder", "flight_recorder"),
    ),
    f(
        "debug_listen_remote_debuggers",
        Bool,
        Jvm311AndServer("agent_lib_jdwp", "agent_lib_jdwp"),
    ),
    f(
        "debug_disable_contended_annotations",
        Bool,
        ServerOnly("restrict-contended"),
    ),
    f(
        "debug_non_safepoints",
        Bool,
        ServerOnly("debug-non-safepoints"),
    ),
    f(
        "debug_unlock_diagnostic_vm_options",
        Bool,
        ServerOnly("unlock-diagnostic-vm-options"),
    ),
    f("debug_log_compilation", Bool, ServerOnly("log_compilation")),
    f(
        "debug_preserve_frame_pointer",
        Bool,
        ServerOnly("preserve-frame-pointer"),
    ),
    // Free-form lists
    f("additionalOptions", StrList, Always("cassandra-env-sh")),
    f(
        "additionalJvm11ServerOptions",
        StrList,
        Always("jvm11-server-options"),
    ),
    f(
        "additionalJvm8ServerOptions",
        StrList,
        Always("jvm8-server-options"),
    ),
    f(
        "additionalJvmServerOptions",
        StrList,
        Always("jvm-server-options"),
    ),
];

/// The JSON names of every `jvmOptions` field the CRD knows (others are pruned upstream).
#[cfg(test)]
pub fn jvm_option_names() -> impl Iterator<Item = &'static str> {
    JVM_FIELDS.iter().map(|field| field.json)
}

/// Key under which every `Always` list is written.
const ADDITIONAL_JVM_OPTS: &str = "additional-jvm-opts";

/// Deprecated fields and the fields they feed when those are unset.
const DEPRECATED: &[(&str, &[&str])] = &[
    ("heapSize", &["heap_initial_size", "heap_max_size"]),
    ("heapNewGenSize", &["gc_cms_heap_size_young_generation"]),
];

/// Which option files a server type and version can receive (constraint evaluation).
#[derive(Debug, Clone, Copy)]
struct Target {
    /// Cassandra `^3.11.x`.
    cassandra_311: bool,
    /// Cassandra `>=4.x`, DSE `>=6.8.x` or HCD `>=1.x.x`.
    modern: bool,
    /// DSE `>=6.8.x` (its JDK-specific file is jvm8-server-options).
    dse_modern: bool,
    /// Any release version (the unconstrained `*` tags).
    any: bool,
}

impl Target {
    fn new(server_type: ServerType, version: &ServerVersion) -> Self {
        // Masterminds/semver: constraints without a pre-release never match a pre-release.
        if !version.pre.is_empty() {
            return Target {
                cassandra_311: false,
                modern: false,
                dse_modern: false,
                any: false,
            };
        }
        let v = (version.major, version.minor, version.patch);
        let cassandra_311 =
            server_type == ServerType::Cassandra && version.major == 3 && v >= (3, 11, 0);
        let dse_modern = server_type == ServerType::Dse && v >= (6, 8, 0);
        let modern = match server_type {
            ServerType::Cassandra => v >= (4, 0, 0),
            ServerType::Dse => dse_modern,
            ServerType::Hcd => v >= (1, 0, 0),
        };
        Target {
            cassandra_311,
            modern,
            dse_modern,
            any: true,
        }
    }

    /// `(group, key)` for a route, or `None` when no tag alternative matches.
    fn resolve(self, route: Route) -> Option<(&'static str, &'static str)> {
        let jdk = |key| {
            if self.dse_modern {
                Some(("jvm8-server-options", key))
            } else if self.modern {
                Some(("jvm11-server-options", key))
            } else {
                None
            }
        };
        match route {
            Route::Untagged => None,
            Route::Jvm311AndServer(old, new) => {
                if self.cassandra_311 {
                    Some(("jvm-options", old))
                } else if self.modern {
                    Some(("jvm-server-options", new))
                } else {
                    None
                }
            }
            Route::Jvm311Only(key) => self.cassandra_311.then_some(("jvm-options", key)),
            Route::ServerOnly(key) => self.modern.then_some(("jvm-server-options", key)),
            Route::Jdk11Or8(key) => jdk(key),
            Route::Jvm311AndJdk11Or8(key) => {
                if self.cassandra_311 {
                    Some(("jvm-options", key))
                } else {
                    jdk(key)
                }
            }
            Route::Always(group) => self.any.then_some((group, ADDITIONAL_JVM_OPTS)),
        }
    }
}

/// Builds the CassandraDatacenter `spec.config` object.
///
/// `config` = the merged K8ssandraCluster `config` object as JSON:
/// `{"cassandraYaml": {...}, "dseYaml": {...}, "jvmOptions": {...}}` (any key may be absent),
/// with JSON field names exactly as in the CRD, quantities as strings or numbers as the user
/// wrote them. The operator's own insertions (auth settings, `num_tokens`, extra JVM options in
/// `jvmOptions.additionalOptions`) have already been applied by the caller; CRD defaults too.
///
/// Returns the top-level keys upstream would emit (`cassandra-yaml`, `dse-yaml`, `jvm-options`,
/// `jvm-server-options`, `jvm8-server-options`, `jvm11-server-options`, `cassandra-env-sh`),
/// each only when non-empty. Key order is not meaningful.
///
/// # Errors
/// When a part of `config` has the wrong JSON type, or a `jvmOptions` field cannot be read as
/// its Go type (the message names the field) — inputs the API server would have rejected.
pub fn build_config(
    config: &serde_json::Value,
    server_type: ServerType,
    version: &ServerVersion,
) -> Result<serde_json::Map<String, serde_json::Value>, ConfigError> {
    let mut out = Map::new();
    let config = match config {
        Value::Null => return Ok(out),
        Value::Object(map) => map,
        other => return Err(ConfigError::NotAnObject(type_name(other))),
    };

    for (field, key) in [("cassandraYaml", "cassandra-yaml"), ("dseYaml", "dse-yaml")] {
        match config.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) if map.is_empty() => {}
            Some(Value::Object(map)) => {
                let normalized =
                    go_json_numbers(&Value::Object(map.clone())).map_err(|reason| {
                        ConfigError::Number {
                            section: field,
                            reason,
                        }
                    })?;
                out.insert(key.to_string(), normalized);
            }
            Some(other) => {
                return Err(ConfigError::SectionNotAnObject {
                    section: field,
                    found: type_name(other),
                });
            }
        }
    }

    let jvm = match config.get("jvmOptions") {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(ConfigError::SectionNotAnObject {
                section: "jvmOptions",
                found: type_name(other),
            });
        }
    };

    // Read every known field first: upstream decodes the whole struct, so a malformed field
    // fails even when this server version would not use it.
    let mut values: Vec<Option<Value>> = Vec::with_capacity(JVM_FIELDS.len());
    for field in JVM_FIELDS {
        let value = match jvm.get(field.json) {
            None | Some(Value::Null) => None,
            Some(raw) => {
                Some(
                    read_field(field.kind, raw).map_err(|reason| ConfigError::JvmOption {
                        field: field.json,
                        reason,
                    })?,
                )
            }
        };
        values.push(value);
    }
    for (deprecated, targets) in DEPRECATED {
        let Some(source) = index_of(deprecated) else {
            continue;
        };
        let Some(value) = values[source].clone() else {
            continue;
        };
        for target in *targets {
            if let Some(i) = index_of(target)
                && values[i].is_none()
            {
                values[i] = Some(value.clone());
            }
        }
    }

    let target = Target::new(server_type, version);
    for (field, value) in JVM_FIELDS.iter().zip(values) {
        let (Some(value), Some((group, key))) = (value, target.resolve(field.route)) else {
            continue;
        };
        let group = out
            .entry(group.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(group_map) = group else {
            return Err(ConfigError::GroupNotAnObject {
                field: field.json,
                key,
            });
        };
        if group_map.insert(key.to_string(), value).is_some() {
            // Two fields with the same destination: upstream reports a key conflict.
            return Err(ConfigError::KeyConflict {
                field: field.json,
                key,
            });
        }
    }
    Ok(out)
}

fn index_of(json: &str) -> Option<usize> {
    JVM_FIELDS.iter().position(|field| field.json == json)
}

/// Reads one non-null `jvmOptions` value as its Go type and returns what upstream writes.
fn read_field(kind: FieldKind, raw: &Value) -> Result<Value, FieldError> {
    match kind {
        FieldKind::Quantity => {
            if let Value::String(s) = raw
                && !matches_crd_pattern(s)
            {
                return Err(FieldError::QuantityPattern(s.clone()));
            }
            if let Value::Number(n) = raw
                && as_integer(n).is_none()
            {
                return Err(FieldError::FractionalQuantity(n.clone()));
            }
            Ok(Quantity::from_json(raw)?.try_to_config_json()?)
        }
        FieldKind::Bool => match raw {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            other => Err(wrong_type("a boolean", type_name(other))),
        },
        FieldKind::Int => match raw {
            Value::Number(n) => as_integer(n)
                .map(Value::from)
                .ok_or_else(|| wrong_type("an integer", n.to_string())),
            other => Err(wrong_type("an integer", type_name(other))),
        },
        FieldKind::Str => match raw {
            Value::String(s) => Ok(Value::String(s.clone())),
            other => Err(wrong_type("a string", type_name(other))),
        },
        FieldKind::StrList => match raw {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| match item {
                    Value::String(s) => Ok(Value::String(s.clone())),
                    other => Err(FieldError::ItemNotAString {
                        index,
                        found: type_name(other),
                    }),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Err(wrong_type("a list of strings", type_name(other))),
        },
    }
}

/// A JSON number as a Go `int` (64-bit). Integral floats count: `kubectl` sends `5.0` as `5`.
fn as_integer(n: &serde_json::Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if n.is_u64() {
        return None;
    }
    let f = n.as_f64()?;
    if !f.is_finite() {
        return None;
    }
    go_float_text(f).parse().ok()
}

/// Re-expresses every number the way Go prints a `float64` decoded from it.
fn go_json_numbers(v: &Value) -> Result<Value, NumberError> {
    Ok(match v {
        Value::Number(n) => {
            let f = n
                .as_f64()
                .ok_or_else(|| NumberError::NotRepresentable(n.clone()))?;
            go_float_to_json(f).ok_or_else(|| NumberError::NotFinite(n.clone()))?
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(go_json_numbers)
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), go_json_numbers(v)?)))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(s: &str) -> ServerVersion {
        ServerVersion::parse(s).unwrap()
    }

    fn build(config: Value, ty: ServerType, version: &str) -> Value {
        Value::Object(build_config(&config, ty, &v(version)).unwrap_or_else(|e| panic!("{e}")))
    }

    // ---- pkg/cassandra/config_test.go TestCreateJsonConfig (spec §8 rows 12-15) ----

    #[test]
    fn cassandra_yaml_only_4_0_0_and_hcd() {
        let yaml = json!({"num_tokens": 16, "concurrent_reads": 8, "concurrent_writes": 16,
                          "concurrent_counter_writes": 4});
        let want = json!({"cassandra-yaml": yaml.clone()});
        assert_eq!(
            build(
                json!({"cassandraYaml": yaml}),
                ServerType::Cassandra,
                "4.0.0"
            ),
            want
        );
        assert_eq!(
            build(json!({"cassandraYaml": yaml}), ServerType::Hcd, "1.0.0"),
            want
        );
    }

    #[test]
    fn system_replication_additional_options_4_0_0_and_hcd() {
        let opt = "-Dcassandra.system_distributed_replication=dc1:3,dc2:3,dc3:3";
        let config = json!({"jvmOptions": {"additionalOptions": [opt]}});
        let want = json!({"cassandra-env-sh": {"additional-jvm-opts": [opt]}});
        assert_eq!(build(config.clone(), ServerType::Cassandra, "4.0.0"), want);
        assert_eq!(build(config, ServerType::Hcd, "1.0.0"), want);
    }

    #[test]
    fn garbage_collector_routing() {
        assert_eq!(
            build(
                json!({"jvmOptions": {"gc": "G1GC"}}),
                ServerType::Cassandra,
                "3.11.14"
            ),
            json!({"jvm-options": {"garbage_collector": "G1GC"}})
        );
        assert_eq!(
            build(
                json!({"jvmOptions": {"gc": "ZGC"}}),
                ServerType::Cassandra,
                "4.0.0"
            ),
            json!({"jvm11-server-options": {"garbage_collector": "ZGC"}})
        );
    }

    #[test]
    fn dse_6_8_25_simple() {
        let config = json!({
            "jvmOptions": {"gc": "ZGC", "additionalJvm8ServerOptions": ["-XX:+UseConcMarkSweepGC"]},
            "dseYaml": {"authentication_options": {"enabled": true}}
        });
        assert_eq!(
            build(config, ServerType::Dse, "6.8.25"),
            json!({
                "jvm8-server-options": {"garbage_collector": "ZGC",
                                        "additional-jvm-opts": ["-XX:+UseConcMarkSweepGC"]},
                "dse-yaml": {"authentication_options": {"enabled": true}}
            })
        );
    }

    #[test]
    fn dse_6_8_25_multiple_jvm_option_files() {
        let config = json!({
            "jvmOptions": {
                "gc": "ZGC",
                "additionalJvm8ServerOptions": ["-XX:ThreadPriorityPolicy=42", "-XX:+UseConcMarkSweepGC"],
                "additionalJvmServerOptions": ["-Dio.netty.maxDirectMemory=0"]
            },
            "dseYaml": {"authentication_options": {"enabled": true}}
        });
        assert_eq!(
            build(config, ServerType::Dse, "6.8.25"),
            json!({
                "jvm-server-options": {"additional-jvm-opts": ["-Dio.netty.maxDirectMemory=0"]},
                "jvm8-server-options": {
                    "garbage_collector": "ZGC",
                    "additional-jvm-opts": ["-XX:ThreadPriorityPolicy=42", "-XX:+UseConcMarkSweepGC"]
                },
                "dse-yaml": {"authentication_options": {"enabled": true}}
            })
        );
    }

    // ---- pkg/cassandra/config_premarshal_test.go (spec §8 row 16) ----

    #[test]
    fn quantities_become_int_or_float() {
        // Upstream's test uses synthetic fields; heap sizes are real quantity fields.
        let out = build(
            json!({"jvmOptions": {"heap_initial_size": "123Ki", "heap_max_size": "123m"}}),
            ServerType::Cassandra,
            "4.1.0",
        );
        assert_eq!(
            out,
            json!({"jvm-server-options": {"initial_heap_size": 125952, "max_heap_size": 0.123}})
        );
        assert!(out["jvm-server-options"]["initial_heap_size"].is_i64());
    }

    #[test]
    fn heap_1024mi_from_upstream_system_replication_test() {
        let out = build(
            json!({"jvmOptions": {"heap_max_size": "1024Mi",
                                  "additionalOptions": ["-Dcassandra.system_distributed_replication=dc1:3"]}}),
            ServerType::Cassandra,
            "4.0.4",
        );
        assert_eq!(
            out,
            json!({
                "jvm-server-options": {"max_heap_size": 1073741824},
                "cassandra-env-sh": {"additional-jvm-opts": ["-Dcassandra.system_distributed_replication=dc1:3"]}
            })
        );
    }

    // ---- further upstream semantics ----

    #[test]
    fn empty_inputs_produce_nothing() {
        for config in [
            json!(null),
            json!({}),
            json!({"cassandraYaml": {}, "dseYaml": null}),
            json!({"jvmOptions": {}}),
            json!({"jvmOptions": null}),
        ] {
            assert_eq!(build(config, ServerType::Cassandra, "4.1.3"), json!({}));
        }
    }

    #[test]
    fn set_false_zero_and_empty_values_are_written() {
        // Every JvmOptions field is a pointer or slice: only nil is omitted.
        let out = build(
            json!({"jvmOptions": {"vm_enable_assertions": false, "jmx_port": 0,
                                  "jmx_connection_type": "", "additionalOptions": [],
                                  "heap_max_size": "0"}}),
            ServerType::Cassandra,
            "4.1.3",
        );
        assert_eq!(
            out,
            json!({
                "jvm-server-options": {"enable_assertions": false, "jmx-port": 0,
                                       "jmx-connection-type": "", "max_heap_size": 0},
                "cassandra-env-sh": {"additional-jvm-opts": []}
            })
        );
    }

    #[test]
    fn routing_3_11_vs_4_x() {
        let config = json!({"jvmOptions": {
            "vm_disable_biased_locking": true,
            "vm_use_numa": true,
            "gc_print_details": true,
            "gc_g1_max_gc_pause_ms": 300,
            "jdk_allow_attach_self": true,
            "vm_enable_non_root_thread_priority": true,
            "nio_maxcachedbuffersize": "1Mi"
        }});
        assert_eq!(
            build(config.clone(), ServerType::Cassandra, "3.11.14"),
            json!({"jvm-options": {
                "use_biased_locking": true,
                "print_gc_details": true,
                "max_gc_pause_millis": 300,
                "thread_priority_policy_42": true
            }})
        );
        assert_eq!(
            build(config.clone(), ServerType::Cassandra, "4.1.3"),
            json!({
                "jvm-server-options": {"use-biased-locking": true, "use_numa": true,
                                       "jdk_nio_maxcachedbuffersize": 1048576},
                "jvm11-server-options": {"max_gc_pause_millis": 300,
                                         "jdk_attach_allow_attach_self": true}
            })
        );
        assert_eq!(
            build(config.clone(), ServerType::Cassandra, "5.0.2"),
            build(config.clone(), ServerType::Hcd, "1.2.0")
        );
        assert_eq!(
            build(config, ServerType::Dse, "6.8.50"),
            json!({
                "jvm-server-options": {"use-biased-locking": true, "use_numa": true,
                                       "jdk_nio_maxcachedbuffersize": 1048576},
                "jvm8-server-options": {"max_gc_pause_millis": 300,
                                        "jdk_attach_allow_attach_self": true}
            })
        );
    }

    #[test]
    fn unsupported_versions_keep_only_additional_lists() {
        let config = json!({"jvmOptions": {"heap_max_size": "1Gi", "gc": "G1GC",
                                           "additionalJvmServerOptions": ["-Da=b"]}});
        let want = json!({"jvm-server-options": {"additional-jvm-opts": ["-Da=b"]}});
        assert_eq!(build(config.clone(), ServerType::Cassandra, "3.0.29"), want);
        assert_eq!(build(config.clone(), ServerType::Dse, "6.7.17"), want);
        assert_eq!(build(config, ServerType::Hcd, "0.9.0"), want);
    }

    #[test]
    fn pre_release_versions_match_no_constraint() {
        let config = json!({"cassandraYaml": {"num_tokens": 16},
                            "jvmOptions": {"heap_max_size": "1Gi", "additionalOptions": ["-Da=b"]}});
        assert_eq!(
            build(config, ServerType::Cassandra, "5.0.0-beta1"),
            json!({"cassandra-yaml": {"num_tokens": 16}})
        );
    }

    #[test]
    fn deprecated_heap_fields_feed_their_replacements() {
        let config = json!({"jvmOptions": {"heapSize": "2Gi", "heap_max_size": "4Gi",
                                           "heapNewGenSize": "200Mi"}});
        assert_eq!(
            build(config.clone(), ServerType::Cassandra, "3.11.17"),
            json!({"jvm-options": {"initial_heap_size": 2147483648u64,
                                   "max_heap_size": 4294967296u64,
                                   "heap_size_young_generation": 209715200}})
        );
        assert_eq!(
            build(config, ServerType::Cassandra, "4.1.3"),
            json!({"jvm-server-options": {"initial_heap_size": 2147483648u64,
                                          "max_heap_size": 4294967296u64}})
        );
    }

    #[test]
    fn yaml_numbers_are_go_float64() {
        let out = build(
            json!({"cassandraYaml": {"a": 8, "b": 8.0, "c": 0.5, "d": {"e": [1.0, "x", null]},
                                     "big": 12345678901234567891u64}}),
            ServerType::Cassandra,
            "4.1.3",
        );
        assert_eq!(
            out,
            json!({"cassandra-yaml": {"a": 8, "b": 8, "c": 0.5, "d": {"e": [1, "x", null]},
                                      "big": 12345678901234567000u64}})
        );
    }

    #[test]
    fn quantities_accept_integers_and_reject_what_the_crd_rejects() {
        let out = build(
            json!({"jvmOptions": {"heap_max_size": 1073741824}}),
            ServerType::Cassandra,
            "4.1.3",
        );
        assert_eq!(
            out,
            json!({"jvm-server-options": {"max_heap_size": 1073741824}})
        );
        for (bad, fragment) in [
            (json!("1GB"), "invalid quantity"),
            (json!(" 1Gi"), "invalid quantity"),
            (json!(1.5), "invalid quantity"),
            (json!(true), "invalid quantity"),
            (json!("1e1.5"), "invalid quantity"),
        ] {
            let err = build_config(
                &json!({"jvmOptions": {"heap_max_size": bad}}),
                ServerType::Cassandra,
                &v("4.1.3"),
            )
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::JvmOption {
                        field: "heap_max_size",
                        ..
                    }
                ),
                "{err:?}"
            );
            let err = err.to_string();
            assert!(err.starts_with("jvmOptions.heap_max_size: "), "{err}");
            assert!(err.contains(fragment), "{err}");
        }
    }

    #[test]
    fn type_errors_name_the_field_even_when_unused() {
        let err = build_config(
            &json!({"jvmOptions": {"gc_print_details": "yes"}}),
            ServerType::Cassandra,
            &v("4.1.3"),
        )
        .unwrap_err();
        assert_eq!(
            err,
            ConfigError::JvmOption {
                field: "gc_print_details",
                reason: FieldError::WrongType {
                    expected: "a boolean",
                    found: "a string".into(),
                },
            }
        );
        assert_eq!(
            err.to_string(),
            "jvmOptions.gc_print_details: expected a boolean, found a string"
        );
        let err = build_config(
            &json!({"jvmOptions": {"jmx_port": 7199.5}}),
            ServerType::Cassandra,
            &v("4.1.3"),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "jvmOptions.jmx_port: expected an integer, found 7199.5"
        );
        let err = build_config(
            &json!({"jvmOptions": {"additionalOptions": ["a", 1]}}),
            ServerType::Cassandra,
            &v("4.1.3"),
        )
        .unwrap_err();
        assert_eq!(
            err,
            ConfigError::JvmOption {
                field: "additionalOptions",
                reason: FieldError::ItemNotAString {
                    index: 1,
                    found: "a number",
                },
            }
        );
        let err = build_config(
            &json!({"cassandraYaml": []}),
            ServerType::Cassandra,
            &v("4.1.3"),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cassandraYaml: expected an object, found a list"
        );
    }

    #[test]
    fn integral_floats_are_integers() {
        let out = build(
            json!({"jvmOptions": {"jmx_port": 7199.0}}),
            ServerType::Cassandra,
            "4.1.3",
        );
        assert_eq!(out, json!({"jvm-server-options": {"jmx-port": 7199}}));
    }

    #[test]
    fn unknown_jvm_options_are_ignored() {
        assert_eq!(
            build(
                json!({"jvmOptions": {"heap_max_sise": "1Gi"}}),
                ServerType::Cassandra,
                "4.1.3"
            ),
            json!({})
        );
    }

    #[test]
    fn table_is_complete_and_destinations_are_unique() {
        assert_eq!(JVM_FIELDS.len(), 75);
        let mut names: Vec<_> = jvm_option_names().collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 75);
        for (ty, version) in [
            (ServerType::Cassandra, "3.11.14"),
            (ServerType::Cassandra, "4.0.0"),
            (ServerType::Cassandra, "5.0.2"),
            (ServerType::Dse, "6.8.25"),
            (ServerType::Hcd, "1.0.0"),
        ] {
            let target = Target::new(ty, &v(version));
            let mut seen: Vec<_> = JVM_FIELDS
                .iter()
                .filter_map(|f| target.resolve(f.route))
                .collect();
            let total = seen.len();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), total, "{ty} {version}");
        }
    }

    #[test]
    fn every_field_set_at_once() {
        // Expected sizes counted from the upstream tags: 51 `^3.11.x:jvm-options` paths, 43 typed
        // `jvm-server-options` paths, 8 typed jvm11 (Cassandra/HCD) or jvm8 (DSE) paths, plus
        // one additional-jvm-opts list per group.
        let mut jvm = Map::new();
        for field in JVM_FIELDS {
            let value = match field.kind {
                FieldKind::Quantity => json!("1Mi"),
                FieldKind::Bool => json!(true),
                FieldKind::Int => json!(7),
                FieldKind::Str => json!("s"),
                FieldKind::StrList => json!(["-Dx"]),
            };
            jvm.insert(field.json.to_string(), value);
        }
        let config = json!({"jvmOptions": jvm});
        let c311 = build(config.clone(), ServerType::Cassandra, "3.11.14");
        assert_eq!(c311["jvm-options"].as_object().unwrap().len(), 51);
        let c4 = build(config.clone(), ServerType::Cassandra, "4.1.3");
        assert_eq!(c4["jvm-server-options"].as_object().unwrap().len(), 44);
        assert_eq!(c4["jvm11-server-options"].as_object().unwrap().len(), 9);
        assert_eq!(c4["jvm8-server-options"].as_object().unwrap().len(), 1);
        assert_eq!(c4["cassandra-env-sh"].as_object().unwrap().len(), 1);
        assert!(c4.get("jvm-options").is_none());
        let dse = build(config, ServerType::Dse, "6.8.25");
        assert_eq!(dse["jvm8-server-options"].as_object().unwrap().len(), 9);
        assert_eq!(dse["jvm11-server-options"].as_object().unwrap().len(), 1);
        assert_eq!(dse["jvm-server-options"].as_object().unwrap().len(), 44);
    }
}
