//! What the plan decides about a datacenter's Vector agent (components §4.4): whether it runs,
//! and where it scrapes Cassandra's metrics from the merged telemetry. The operator refuses an
//! invalid `vector.scrapeInterval` or `cassandra.endpoint.port`: the plan reports them and the
//! render module builds `vector.toml` from the decided values only (issue #11).

use serde_json::Value;

use super::{ClusterPlan, DcPlan};
use crate::diagnostic::{Code, Diagnostic};
use crate::yaml::{Seg, keys};

/// `vector.scrapeInterval` when unset.
const DEFAULT_SCRAPE_INTERVAL_SECS: i64 = 30;

/// The Vector agent of one datacenter, decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum VectorAgent {
    /// `vector.enabled` is not `true`.
    #[default]
    Off,
    /// The agent runs and scrapes as decided.
    On(VectorScrape),
    /// The telemetry is invalid (reported): nothing must be built.
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

/// Decides the Vector agent of every datacenter of `plan`; invalid telemetry is reported
/// where it comes from (the datacenter's `telemetry`, else the cluster's).
pub fn resolve(plan: &mut ClusterPlan<'_>, diags: &mut Vec<Diagnostic>) {
    let doc = plan.doc;
    for dc in &mut plan.dcs {
        if dc.telemetry.pointer("/vector/enabled") != Some(&Value::Bool(true)) {
            dc.vector = VectorAgent::Off;
            continue;
        }
        dc.vector = match vector_scrape(&dc.telemetry) {
            Ok(scrape) => VectorAgent::On(scrape),
            Err(e) => {
                diags.push(doc.error(Code::InvalidValue, telemetry_path(dc, &e.path), e.message));
                VectorAgent::Rejected
            }
        };
    }
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
    use crate::plan::tests::{cluster, with_plans};

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
            let at: Vec<(Code, String)> = diags
                .iter()
                .map(|d| (d.code, crate::yaml::path_string(&d.path)))
                .collect();
            assert_eq!(
                at,
                [(
                    Code::InvalidValue,
                    "spec.cassandra.telemetry.vector.scrapeInterval".to_string()
                )]
            );
            let agents: Vec<VectorAgent> = plans[0].dcs.iter().map(|d| d.vector).collect();
            assert_eq!(
                agents,
                [
                    VectorAgent::Rejected,
                    VectorAgent::Off,
                    VectorAgent::On(VectorScrape {
                        interval_secs: 10,
                        port: None
                    })
                ]
            );
        });
    }
}
