//! What the plan decides about a datacenter's telemetry (components §4.4, spec §2.1 steps
//! 9-11): whether MCAC may be off, whether the Vector agent runs and where it scrapes
//! Cassandra's metrics. The operator refuses MCAC off without the new metrics endpoint, and an
//! invalid `vector.scrapeInterval` or `cassandra.endpoint.port`: the plan reports them and the
//! render module builds from the decided values only (issue #11).

use serde_json::Value;

use super::{ClusterPlan, DcPlan};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::server::{ServerType, ServerVersion};
use crate::yaml::{Seg, keys};

/// `vector.scrapeInterval` when unset.
const DEFAULT_SCRAPE_INTERVAL_SECS: i64 = 30;

/// The telemetry of one datacenter, decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TelemetryPlan {
    /// `vector.enabled` is not `true`.
    #[default]
    NoVector,
    /// The Vector agent runs and scrapes as decided.
    Vector(VectorScrape),
    /// The telemetry is refused (reported): nothing must be built.
    Rejected,
}

/// What the agent's metrics scrape takes from the telemetry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorScrape {
    /// `vector.scrapeInterval` in whole seconds, default 30.
    pub interval_secs: i64,
    /// `cassandra.endpoint.port` when set; else the metrics port of the stack in use.
    pub port: Option<i64>,
}

/// A problem with the telemetry settings: the field below `telemetry` and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TelemetryError {
    /// Path below `telemetry`, e.g. `["cassandra", "endpoint", "port"]`.
    pub path: Vec<&'static str>,
    /// What is wrong.
    pub message: String,
}

/// Decides the telemetry of every datacenter of `plan`. As upstream's datacenter build stops at
/// the first problem, each datacenter gets at most one report, in its order: the encryption
/// stores' ([`super::encryption::resolve`], which runs first), then MCAC, then Vector's.
pub fn resolve(plan: &mut ClusterPlan<'_>, diags: &mut Vec<Diagnostic>) {
    let (doc, server_type) = (plan.doc, plan.server_type);
    for dc in &mut plan.dcs {
        if dc.encryption.rejected {
            // Reported already; nothing is built for the datacenter.
            dc.telemetry_plan = TelemetryPlan::Rejected;
            continue;
        }
        let mcac_enabled = dc.telemetry.pointer("/mcac/enabled") == Some(&Value::Bool(true));
        if !mcac_enabled
            && server_type == ServerType::Cassandra
            && !new_metrics_endpoint(&dc.version)
        {
            diags.push(doc.error(
                Code::ConflictingSettings,
                dc.path(&[]),
                format!(
                    "Cassandra {} has no new metrics endpoint (needs 3.11.13+ or 4.0.4+), so MCAC cannot be disabled: set telemetry.mcac.enabled: true",
                    dc.version
                ),
            ));
            dc.telemetry_plan = TelemetryPlan::Rejected;
            continue;
        }
        if dc.telemetry.pointer("/vector/enabled") != Some(&Value::Bool(true)) {
            dc.telemetry_plan = TelemetryPlan::NoVector;
            continue;
        }
        dc.telemetry_plan = match vector_scrape(&dc.telemetry) {
            Ok(scrape) => TelemetryPlan::Vector(scrape),
            Err(e) => {
                diags.push(doc.error(Code::InvalidValue, telemetry_path(dc, &e.path), e.message));
                TelemetryPlan::Rejected
            }
        };
    }
}

/// `IsNewMetricsEndpointAvailable`: `>3.11.12 <4.0.0` or `>4.0.3`.
fn new_metrics_endpoint(v: &ServerVersion) -> bool {
    (v.greater_than(3, 11, 12) && !v.at_least(4, 0, 0)) || v.greater_than(4, 0, 3)
}

/// The scrape settings of merged `telemetry`.
///
/// # Errors
/// An invalid `vector.scrapeInterval` (checked first) or `cassandra.endpoint.port`.
pub fn vector_scrape(telemetry: &Value) -> Result<VectorScrape, TelemetryError> {
    let interval_secs = match telemetry.pointer("/vector/scrapeInterval") {
        Some(Value::String(s)) => {
            crate::ports::duration::parse_whole_seconds(s).map_err(|_| TelemetryError {
                path: vec!["vector", "scrapeInterval"],
                message: format!(
                    "invalid duration {s:?}: expected a Go duration such as \"30s\" or \"1m30s\""
                ),
            })?
        }
        _ => DEFAULT_SCRAPE_INTERVAL_SECS,
    };
    let port = match telemetry
        .pointer("/cassandra/endpoint/port")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(port) => Some(
            port.parse::<i64>()
                .ok()
                .filter(|p| (1025..=65535).contains(p))
                .ok_or_else(|| TelemetryError {
                    path: vec!["cassandra", "endpoint", "port"],
                    message: format!(
                        "invalid port {port:?} for the Cassandra metrics endpoint: expected a number from 1025 to 65535"
                    ),
                })?,
        ),
        None => None,
    };
    Ok(VectorScrape {
        interval_secs,
        port,
    })
}

/// Where a merged telemetry field comes from: the datacenter when it sets `telemetry`, else
/// the cluster level.
fn telemetry_path(dc: &DcPlan<'_>, rest: &[&str]) -> Vec<Seg> {
    let mut path = if dc.template.options.contains_key("telemetry") {
        dc.path(&["telemetry"])
    } else {
        keys(&["spec", "cassandra", "telemetry"])
    };
    path.extend(keys(rest));
    path
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::tests::{cluster, codes_at, with_plans};

    #[test]
    fn intervals_and_ports_are_parsed() {
        let t = json!({"vector": {"enabled": true, "scrapeInterval": "1m30s"},
            "cassandra": {"endpoint": {"port": "9443"}}});
        assert_eq!(
            vector_scrape(&t),
            Ok(VectorScrape {
                interval_secs: 90,
                port: Some(9443)
            })
        );
        assert_eq!(
            vector_scrape(&json!({"vector": {"enabled": true}})),
            Ok(VectorScrape {
                interval_secs: 30,
                port: None
            })
        );
    }

    #[test]
    fn bad_ports_and_durations_are_errors() {
        let t = json!({"vector": {"enabled": true}, "cassandra": {"endpoint": {"port": "80"}}});
        let e = vector_scrape(&t).unwrap_err();
        assert_eq!(e.path, ["cassandra", "endpoint", "port"]);
        assert!(e.message.contains("1025 to 65535"));
        let t = json!({"vector": {"enabled": true, "scrapeInterval": "30 seconds"}});
        let e = vector_scrape(&t).unwrap_err();
        assert_eq!(e.path, ["vector", "scrapeInterval"]);
    }

    #[test]
    fn invalid_telemetry_is_reported_where_it_is_written() {
        let bad = "      vector: {enabled: true, scrapeInterval: soon}\n";
        // dc1 inherits the cluster's telemetry; dc2 sets its own (merged over the cluster's).
        let c = cluster(
            "",
            &format!(
                "    telemetry:\n{bad}    datacenters:\n    - metadata: {{name: dc1}}\n      size: 1\n    - metadata: {{name: dc2}}\n      size: 1\n      telemetry:\n        vector: {{enabled: false}}\n    - metadata: {{name: dc3}}\n      size: 1\n      telemetry:\n        vector: {{scrapeInterval: 10s}}\n"
            ),
        );
        with_plans(&[("c.yaml", &c)], |plans, diags| {
            let at = codes_at(diags);
            assert_eq!(
                at,
                [(
                    Code::InvalidValue,
                    "spec.cassandra.telemetry.vector.scrapeInterval".to_string()
                )]
            );
            let decided: Vec<TelemetryPlan> =
                plans[0].dcs.iter().map(|d| d.telemetry_plan).collect();
            assert_eq!(
                decided,
                [
                    TelemetryPlan::Rejected,
                    TelemetryPlan::NoVector,
                    TelemetryPlan::Vector(VectorScrape {
                        interval_secs: 10,
                        port: None
                    })
                ]
            );
        });
    }

    /// Each datacenter gets at most one report: encryption first, then MCAC, then Vector.
    #[test]
    fn one_report_per_datacenter_in_upstream_order() {
        let bad_vector = "      telemetry:\n        mcac: {enabled: false}\n        vector: {enabled: true, scrapeInterval: soon}\n";
        // Cassandra 4.0.1 has no new metrics endpoint: MCAC off is refused before Vector.
        let c = cluster(
            "",
            &format!(
                "    datacenters:\n    - metadata: {{name: dc1}}\n      size: 1\n      serverVersion: 4.0.1\n{bad_vector}    - metadata: {{name: dc2}}\n      size: 1\n{bad_vector}"
            ),
        );
        with_plans(&[("c.yaml", &c)], |plans, diags| {
            let at = codes_at(diags);
            assert_eq!(
                at,
                [
                    (
                        Code::ConflictingSettings,
                        "spec.cassandra.datacenters[0]".to_string()
                    ),
                    (
                        Code::InvalidValue,
                        "spec.cassandra.datacenters[1].telemetry.vector.scrapeInterval".to_string()
                    )
                ]
            );
            assert!(
                plans[0]
                    .dcs
                    .iter()
                    .all(|d| d.telemetry_plan == TelemetryPlan::Rejected)
            );
        });
        // Refused encryption stores: no telemetry report for that datacenter.
        let c = cluster(
            "",
            &format!(
                "    clientEncryptionStores:\n      keystoreSecretRef: {{name: ks}}\n      truststoreSecretRef: {{name: ts}}\n    config:\n      cassandraYaml:\n        client_encryption_options: {{enabled: true}}\n    datacenters:\n    - metadata: {{name: dc1}}\n      size: 1\n{bad_vector}"
            ),
        );
        with_plans(&[("c.yaml", &c)], |_, diags| {
            let codes: Vec<Code> = diags.iter().map(|d| d.code).collect();
            assert_eq!(codes, [Code::NotRenderableOffline]);
        });
    }

    #[test]
    fn the_new_metrics_endpoint_versions() {
        let v = |s: &str| ServerVersion::parse(s).unwrap();
        for (version, has) in [
            ("3.11.12", false),
            ("3.11.13", true),
            ("4.0.3", false),
            ("4.0.4", true),
            ("4.1.0", true),
        ] {
            assert_eq!(new_metrics_endpoint(&v(version)), has, "{version}");
        }
    }
}
