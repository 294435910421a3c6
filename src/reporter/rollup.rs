//! Rollup: what the datacenters, Stargates and Reapers of a K8ssandraCluster report →
//! the K8ssandraCluster `status` (control-plane spec §5.1), as k8ssandra-operator writes it,
//! plus the `Ready` condition our reporter adds for Flux kstatus and Argo CD.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// What the reporter observed for one datacenter of the spec.
#[derive(Debug, Clone, Default)]
pub struct DcObservation {
    /// Context the datacenter runs in.
    pub context: String,
    /// The CassandraDatacenter object, if it exists.
    pub cassandra: Option<Value>,
    /// The Stargate object of the datacenter, if any.
    pub stargate: Option<Value>,
    /// The Reaper object of the datacenter, if any.
    pub reaper: Option<Value>,
}

/// Everything one rollup needs.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The K8ssandraCluster record as stored (spec, metadata.generation, previous status).
    pub cluster: Value,
    /// Observations by CassandraDatacenter `metadata.name`.
    pub datacenters: BTreeMap<String, DcObservation>,
    /// Contexts that could not be read, with the reason.
    pub unreachable: BTreeMap<String, String>,
    /// The current time (RFC 3339), for condition transitions.
    pub now: String,
}

fn condition<'v>(status: &'v Value, kind: &str) -> Option<&'v Value> {
    status
        .get("conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

fn condition_is(status: &Value, kind: &str, value: &str) -> bool {
    condition(status, kind)
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        == Some(value)
}

/// k8ssandra's `GetReadyStatus`: Ready (or, for a stopped DC, Stopped) True and progress Ready,
/// with the current generation observed.
#[must_use]
pub fn datacenter_ready(dc: &Value, stopped: bool) -> bool {
    let status = &dc["status"];
    let generation_seen = match (
        dc.pointer("/metadata/generation"),
        status.get("observedGeneration"),
    ) {
        (Some(g), Some(o)) => g == o,
        (None, _) => true,
        (Some(_), None) => false,
    };
    let wanted = if stopped { "Stopped" } else { "Ready" };
    generation_seen
        && status
            .get("cassandraOperatorProgress")
            .and_then(Value::as_str)
            == Some("Ready")
        && condition_is(status, wanted, "True")
}

/// Keeps the previous transition time of a condition whose status did not change.
fn set_condition(out: &mut Vec<Value>, previous: &Value, kind: &str, status: bool, now: &str) {
    let value = if status { "True" } else { "False" };
    let since = condition(previous, kind)
        .filter(|c| c.get("status").and_then(Value::as_str) == Some(value))
        .and_then(|c| c.get("lastTransitionTime").cloned())
        .unwrap_or_else(|| Value::String(now.to_string()));
    out.push(json!({"type": kind, "status": value, "lastTransitionTime": since}));
}

/// The new `status` of the K8ssandraCluster.
#[must_use]
pub fn rollup(obs: &Observed) -> Value {
    let previous = obs.cluster.get("status").cloned().unwrap_or(Value::Null);
    let spec_dcs: Vec<(String, bool)> = obs
        .cluster
        .pointer("/spec/cassandra/datacenters")
        .and_then(Value::as_array)
        .map(|dcs| {
            dcs.iter()
                .map(|d| {
                    (
                        d.pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        d.get("stopped") == Some(&Value::Bool(true)),
                    )
                })
                .collect()
        })
        .unwrap_or_default();

    let mut datacenters = Map::new();
    let mut all_ready = !spec_dcs.is_empty();
    for (name, stopped) in &spec_dcs {
        let Some(o) = obs.datacenters.get(name) else {
            all_ready = false;
            continue;
        };
        let mut entry = Map::new();
        entry.insert("contextName".into(), o.context.clone().into());
        match &o.cassandra {
            Some(dc) => {
                if let Some(s) = dc.get("status") {
                    entry.insert("cassandra".into(), s.clone());
                }
                all_ready &= datacenter_ready(dc, *stopped);
            }
            None => all_ready = false,
        }
        if let Some(sg) = &o.stargate {
            let mut s = sg.get("status").cloned().unwrap_or_else(|| json!({}));
            if s.get("progress")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .is_empty()
            {
                s["progress"] = "Pending".into();
            }
            entry.insert("stargate".into(), s);
        }
        if let Some(r) = &o.reaper
            && let Some(s) = r.get("status")
        {
            entry.insert("reaper".into(), s.clone());
        }
        datacenters.insert(name.clone(), Value::Object(entry));
    }
    if !obs.unreachable.is_empty() {
        all_ready = false;
    }

    let mut conditions = Vec::new();
    // Sticky, as upstream: once every datacenter has come up, the cluster stays initialized.
    let initialized = all_ready || condition_is(&previous, "CassandraInitialized", "True");
    set_condition(
        &mut conditions,
        &previous,
        "CassandraInitialized",
        initialized,
        &obs.now,
    );
    set_condition(&mut conditions, &previous, "Ready", all_ready, &obs.now);

    let error = if obs.unreachable.is_empty() {
        "None".to_string()
    } else {
        let parts: Vec<String> = obs
            .unreachable
            .iter()
            .map(|(c, why)| format!("{c} ({why})"))
            .collect();
        format!(
            "cannot reach context{}: {}",
            if parts.len() == 1 { "" } else { "s" },
            parts.join(", ")
        )
    };
    let mut status = Map::new();
    status.insert("conditions".into(), Value::Array(conditions));
    status.insert("datacenters".into(), Value::Object(datacenters));
    status.insert("error".into(), error.into());
    // Only a complete observation vouches for the current generation.
    if obs.unreachable.is_empty()
        && let Some(g) = obs.cluster.pointer("/metadata/generation")
    {
        status.insert("observedGeneration".into(), g.clone());
    } else if let Some(g) = previous.get("observedGeneration") {
        status.insert("observedGeneration".into(), g.clone());
    }
    Value::Object(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("data/upstream/health/cassandradatacenter")
                .join(name),
        )
        .unwrap();
        crate::yaml::parse_stream(&text).unwrap()[0].to_json()
    }

    fn cluster(generation: i64, stopped_dc2: bool, previous: Value) -> Value {
        json!({"metadata": {"name": "test-cluster", "generation": generation},
               "spec": {"cassandra": {"datacenters": [
                   {"metadata": {"name": "stage0-test"}},
                   {"metadata": {"name": "dc2"}, "stopped": stopped_dc2}]}},
               "status": previous})
    }

    fn ready_dc(name: &str) -> Value {
        json!({"metadata": {"name": name, "generation": 2}, "status": {
            "cassandraOperatorProgress": "Ready", "observedGeneration": 2,
            "conditions": [{"type": "Ready", "status": "True"}]}})
    }

    fn observed(cluster: Value, dcs: Vec<(&str, &str, Option<Value>)>) -> Observed {
        Observed {
            cluster,
            datacenters: dcs
                .into_iter()
                .map(|(n, ctx, dc)| {
                    (
                        n.to_string(),
                        DcObservation {
                            context: ctx.into(),
                            cassandra: dc,
                            ..Default::default()
                        },
                    )
                })
                .collect(),
            unreachable: BTreeMap::new(),
            now: "2026-11-24T01:00:00Z".into(),
        }
    }

    #[test]
    fn real_ready_datacenter_status_is_copied_and_counts_as_ready() {
        let real = fixture("argocd-pr27959-datacenter-initialized.yaml");
        assert!(
            !datacenter_ready(&real, false)
                || real["status"]["cassandraOperatorProgress"] == "Ready",
            "a DC counts as ready only with progress Ready"
        );
        let mut obs = observed(
            cluster(5, false, Value::Null),
            vec![
                ("stage0-test", "east", Some(real.clone())),
                ("dc2", "west", Some(ready_dc("dc2"))),
            ],
        );
        let status = rollup(&obs);
        assert_eq!(
            status["datacenters"]["stage0-test"]["cassandra"],
            real["status"]
        );
        assert_eq!(status["datacenters"]["stage0-test"]["contextName"], "east");
        assert_eq!(status["error"], "None");
        assert_eq!(status["observedGeneration"], 5);
        let ready = datacenter_ready(&real, false);
        assert_eq!(
            status["conditions"][1],
            json!({"type": "Ready", "status": if ready {"True"} else {"False"}, "lastTransitionTime": "2026-11-24T01:00:00Z"})
        );
        // A later pass keeps the transition time of unchanged conditions.
        obs.cluster["status"] = status.clone();
        obs.now = "2026-11-24T02:00:00Z".into();
        let again = rollup(&obs);
        assert_eq!(again["conditions"], status["conditions"]);
    }

    #[test]
    fn not_ready_missing_and_unreachable_datacenters() {
        let mut updating = ready_dc("stage0-test");
        updating["status"]["cassandraOperatorProgress"] = "Updating".into();
        let obs = observed(
            cluster(3, false, Value::Null),
            vec![("stage0-test", "east", Some(updating))],
        );
        let status = rollup(&obs);
        assert_eq!(
            status["conditions"][0]["status"], "False",
            "not initialized yet"
        );
        assert_eq!(status["conditions"][1]["status"], "False");
        assert!(status["datacenters"].get("dc2").is_none());

        let mut obs = observed(
            cluster(
                3,
                true,
                json!({"observedGeneration": 2, "conditions": [
            {"type": "CassandraInitialized", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}),
            ),
            vec![("stage0-test", "east", Some(ready_dc("stage0-test")))],
        );
        obs.unreachable
            .insert("west".into(), "connection refused".into());
        let status = rollup(&obs);
        assert_eq!(
            status["error"],
            "cannot reach context: west (connection refused)"
        );
        assert_eq!(
            status["conditions"][0],
            json!({"type": "CassandraInitialized", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}),
            "sticky"
        );
        assert_eq!(status["conditions"][1]["status"], "False");
        assert_eq!(
            status["observedGeneration"], 2,
            "an incomplete pass does not vouch for generation 3"
        );
    }

    #[test]
    fn stopped_datacenters_are_ready_when_stopped_and_stargate_progress_defaults() {
        let mut stopped = ready_dc("dc2");
        stopped["status"]["conditions"] =
            json!([{"type": "Stopped", "status": "True"}, {"type": "Ready", "status": "False"}]);
        let mut obs = observed(
            cluster(2, true, Value::Null),
            vec![
                ("stage0-test", "east", Some(ready_dc("stage0-test"))),
                ("dc2", "west", Some(stopped)),
            ],
        );
        obs.datacenters.get_mut("stage0-test").unwrap().stargate = Some(json!({"metadata": {}}));
        obs.datacenters.get_mut("stage0-test").unwrap().reaper =
            Some(json!({"status": {"progress": "Running"}}));
        let status = rollup(&obs);
        assert_eq!(status["conditions"][1]["status"], "True");
        assert_eq!(
            status["datacenters"]["stage0-test"]["stargate"],
            json!({"progress": "Pending"})
        );
        assert_eq!(
            status["datacenters"]["stage0-test"]["reaper"],
            json!({"progress": "Running"})
        );
    }
}
