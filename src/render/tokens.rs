//! Initial tokens and per-node configuration (spec control-plane §2.12).
//!
//! When every datacenter asks for few vnodes (`num_tokens` < 16), k8ssandra-operator computes
//! evenly spaced initial tokens for the first `rf` pods of each DC and hands them to the pods
//! through a per-node ConfigMap merged into `cassandra.yaml` by an init container.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::names::{cleanup_for_kubernetes, cleanup_subdomain};

/// Image of the per-node-config init container when `perNodeConfigInitContainerImage` is empty:
/// the `k8ssandra-client` image of k8ssandra-operator's ImageConfig.
pub const DEFAULT_PER_NODE_IMAGE: &str = "docker.io/k8ssandra/k8ssandra-client:v0.8.12";

/// One datacenter as the token computation sees it.
#[derive(Debug)]
pub struct TokenDc<'a> {
    /// CassandraDatacenter `metadata.name`.
    pub meta_name: &'a str,
    /// `size`.
    pub size: i32,
    /// Rack names as written (empty: one rack `default`).
    pub racks: Vec<String>,
    /// The DC's cassandraYaml after the operator's defaults (`num_tokens` among them).
    pub cassandra_yaml: &'a Value,
    /// Whether the DC brings its own per-node ConfigMap.
    pub has_per_node_config_map_ref: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Partitioner {
    Murmur3,
    Random,
}

/// Token ring arithmetic in i128. The Random partitioner's range is 2^127, one more than
/// `i128::MAX`, so it is never materialized: divisions and the wrap-around step are written so
/// that no intermediate value leaves the i128 range.
impl Partitioner {
    fn ring_offset(self) -> i128 {
        match self {
            Self::Murmur3 => -(1i128 << 63),
            Self::Random => 0,
        }
    }

    /// `range / d`, truncated (d > 0).
    fn range_div(self, d: i128) -> i128 {
        match self {
            Self::Murmur3 => (1i128 << 64) / d,
            // 2^127 / d == (2^127 - 1) / d unless d divides 2^127 (a power of two).
            Self::Random => {
                let q = i128::MAX / d;
                if (i128::MAX % d) == d - 1 { q + 1 } else { q }
            }
        }
    }

    /// Go's big.Int `Div` (Euclidean) of `-range` by `d` (d > 0): the floor of the quotient.
    fn neg_range_div_floor(self, d: i128) -> i128 {
        let q = self.range_div(d);
        let exact = match self {
            Self::Murmur3 => (1i128 << 64) % d == 0,
            Self::Random => d & (d - 1) == 0, // a power of two divides 2^127 (d ≤ 2^127)
        };
        if exact { -q } else { -q - 1 }
    }

    /// `token + range`, for a token below the ring offset.
    fn wrap(self, token: i128) -> i128 {
        match self {
            Self::Murmur3 => token + (1i128 << 64),
            Self::Random => token + i128::MAX + 1,
        }
    }
}

/// `utils.ComputeTokens`: evenly spaced tokens per DC, each DC shifted by a small offset.
fn compute_tokens(counts: &[usize], p: Partitioner) -> Vec<Vec<String>> {
    let max = counts.iter().copied().max().unwrap_or(0);
    let divisor = (counts.len() * max * 2).max(235) as i128;
    let dc_offset = p.neg_range_div_floor(divisor);
    counts
        .iter()
        .enumerate()
        .map(|(dc, &count)| {
            let start = dc_offset * dc as i128;
            let increment = p.range_div(count.max(1) as i128);
            let mut tokens: Vec<i128> = (0..count)
                .map(|i| {
                    let t = i as i128 * increment + start + p.ring_offset();
                    if t < p.ring_offset() { p.wrap(t) } else { t }
                })
                .collect();
            tokens.sort_unstable();
            tokens.iter().map(i128::to_string).collect()
        })
        .collect()
}

/// An integer setting as Go reads it (`strconv.Atoi(fmt.Sprintf("%v", v))`): integers, and
/// floats or strings that print as integers.
fn go_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Per DC (input order), pod name → tokens; `None` when upstream computes nothing.
#[must_use]
pub fn compute_initial_tokens(
    cluster_name: &str,
    dcs: &[TokenDc<'_>],
) -> Option<Vec<BTreeMap<String, Vec<String>>>> {
    let mut infos = Vec::with_capacity(dcs.len());
    for dc in dcs {
        if dc.has_per_node_config_map_ref {
            return None;
        }
        let num_tokens = match dc.cassandra_yaml.get("num_tokens") {
            Some(v) => go_int(v).filter(|n| *n < 16)?,
            None => 1,
        };
        let mut rf = match dc
            .cassandra_yaml
            .get("allocate_tokens_for_local_replication_factor")
        {
            Some(v) => go_int(v)?,
            None => 3,
        };
        rf = rf.min(i64::from(dc.size));
        let partitioner = match dc.cassandra_yaml.get("partitioner") {
            None => Partitioner::Murmur3,
            Some(Value::String(s)) if s.contains("Murmur3Partitioner") => Partitioner::Murmur3,
            Some(Value::String(s)) if s.contains("RandomPartitioner") => Partitioner::Random,
            Some(_) => return None,
        };
        infos.push((num_tokens, rf, partitioner));
    }
    let partitioner = infos.first()?.2;
    if infos.iter().any(|i| i.2 != partitioner) || infos.iter().any(|i| i.0 < 0 || i.1 < 0) {
        return None;
    }
    let counts: Vec<usize> = infos
        .iter()
        .map(|(n, rf, _)| usize::try_from(n * rf).unwrap_or(0))
        .collect();
    let all = compute_tokens(&counts, partitioner);
    let cluster = cleanup_for_kubernetes(cluster_name);
    Some(
        dcs.iter()
            .zip(&infos)
            .zip(all)
            .map(|((dc, (_, rf, _)), tokens)| {
                let racks: Vec<String> = if dc.racks.is_empty() {
                    vec!["default".to_string()]
                } else {
                    dc.racks.clone()
                };
                let pods: Vec<String> = (0..usize::try_from(*rf).unwrap_or(0))
                    .map(|i| {
                        let rack = &racks[i % racks.len()];
                        format!(
                            "{cluster}-{}-{}-sts-{}",
                            cleanup_for_kubernetes(dc.meta_name),
                            cleanup_subdomain(rack),
                            i / racks.len()
                        )
                    })
                    .collect();
                let mut by_pod: BTreeMap<String, Vec<String>> = BTreeMap::new();
                if !pods.is_empty() {
                    for (i, t) in tokens.into_iter().enumerate() {
                        by_pod
                            .entry(pods[i % pods.len()].clone())
                            .or_default()
                            .push(t);
                    }
                }
                by_pod
            })
            .collect(),
    )
}

/// ConfigMap data: `<pod>_cassandra.yaml` → a newline, then `initial_token: t1,t2,...`.
#[must_use]
pub fn per_node_config_data(
    tokens_by_pod: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, String> {
    tokens_by_pod
        .iter()
        .map(|(pod, tokens)| {
            (
                format!("{pod}_cassandra.yaml"),
                format!("\ninitial_token: {}", tokens.join(",")),
            )
        })
        .collect()
}

/// `CleanupForKubernetes(<cass cluster name>-<cass dc name>-per-node-config)`.
#[must_use]
pub fn per_node_config_map_name(
    cleanup: fn(&str) -> String,
    cass_cluster_name: &str,
    cass_dc_name: &str,
) -> String {
    cleanup(&format!(
        "{cass_cluster_name}-{cass_dc_name}-per-node-config"
    ))
}

/// The `per-node-config` init container: merges `/per-node-config/<pod>_*` into the rendered
/// configuration files with yq.
#[must_use]
pub fn per_node_init_container(image: &str) -> Value {
    let script = concat!(
        "if [ -e /per-node-config/${POD_NAME}_* ]; then ",
        "for src in /per-node-config/${POD_NAME}_*; do ",
        "dest=/config/`echo $src | cut -d \"_\" -f2`; ",
        "yq ea '. as $item ireduce ({}; . * $item)' -i $dest $src && echo merged $src into $dest || exit 1; ",
        "done; ",
        "echo done merging per-node config for pod $POD_NAME; ",
        "else ",
        "echo no per-node config found for pod $POD_NAME; ",
        "fi"
    );
    json!({
        "name": "per-node-config",
        "image": image,
        "command": ["sh", "-c", script],
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"cpu": "100m", "memory": "64Mi"},
        },
        "volumeMounts": [
            {"name": "server-config", "mountPath": "/config"},
            {"name": "per-node-config", "mountPath": "/per-node-config"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    })
}

/// The `per-node-config` pod volume.
#[must_use]
pub fn per_node_volume(config_map_name: &str) -> Value {
    json!({"name": "per-node-config", "configMap": {"name": config_map_name}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_string()).collect()
    }

    // Expected values: upstream pkg/utils/tokens_test.go (generated with the original DSE script).
    #[test]
    fn tokens_match_the_upstream_vectors() {
        use Partitioner::{Murmur3, Random};
        assert_eq!(
            compute_tokens(&[3], Murmur3),
            vec![s(&[
                "-9223372036854775808",
                "-3074457345618258603",
                "3074457345618258602"
            ])]
        );
        assert_eq!(
            compute_tokens(&[3], Random),
            vec![s(&[
                "0",
                "56713727820156410577229101238628035242",
                "113427455640312821154458202477256070484"
            ])]
        );
        assert_eq!(
            compute_tokens(&[4, 4], Murmur3)[1],
            s(&[
                "-4690182801719768975",
                "-78496783292381071",
                "4533189235135006833",
                "9144875253562394737"
            ])
        );
        assert_eq!(
            compute_tokens(&[4, 4], Random)[1],
            s(&[
                "41811290829115311202148688466350243003",
                "84346586694232619135070514395321269435",
                "126881882559349927067992340324292295867",
                "169417178424467235000914166253263322299"
            ])
        );
        assert_eq!(
            compute_tokens(&[4, 3, 5], Murmur3)[2],
            s(&[
                "-5691016788697627627",
                "-2001667973955717304",
                "1687680840786193019",
                "5377029655528103342",
                "9066378470270013666"
            ])
        );
        assert_eq!(
            compute_tokens(&[4, 3, 5], Random)[2],
            s(&[
                "32580226620089852884791185817935254287",
                "66608463312183699231128646561112075432",
                "100636700004277545577466107304288896577",
                "134664936696371391923803568047465717722",
                "168693173388465238270141028790642538870"
            ])
        );
        assert_eq!(
            compute_tokens(&[3, 3], Murmur3)[1],
            s(&[
                "-3152954128910639674",
                "2995960562325877531",
                "9144875253562394737"
            ])
        );
    }

    // Golden fact 22: cluster1/dc1, size 3, num_tokens 1, no racks.
    #[test]
    fn one_token_per_pod_for_a_single_rack_dc() {
        let yaml = json!({"num_tokens": 1});
        let dcs = [TokenDc {
            meta_name: "dc1",
            size: 3,
            racks: vec![],
            cassandra_yaml: &yaml,
            has_per_node_config_map_ref: false,
        }];
        let t = compute_initial_tokens("cluster1", &dcs).unwrap();
        assert_eq!(
            t[0]["cluster1-dc1-default-sts-0"],
            s(&["-9223372036854775808"])
        );
        assert_eq!(
            t[0]["cluster1-dc1-default-sts-1"],
            s(&["-3074457345618258603"])
        );
        assert_eq!(
            t[0]["cluster1-dc1-default-sts-2"],
            s(&["3074457345618258602"])
        );
    }

    // Golden fact 23: which pods get entries, rack-round-robin.
    #[test]
    fn only_the_first_rf_pods_get_tokens_in_rack_round_robin_order() {
        let y1 = json!({"num_tokens": 4});
        let y2 = json!({"num_tokens": 4, "allocate_tokens_for_local_replication_factor": 5});
        let dcs = [
            TokenDc {
                meta_name: "dc1",
                size: 5,
                racks: vec![],
                cassandra_yaml: &y1,
                has_per_node_config_map_ref: false,
            },
            TokenDc {
                meta_name: "dc2",
                size: 10,
                racks: s(&["rack1", "rack2", "rack3"]),
                cassandra_yaml: &y2,
                has_per_node_config_map_ref: false,
            },
        ];
        let t = compute_initial_tokens("test1", &dcs).unwrap();
        assert_eq!(
            t[0].keys().cloned().collect::<Vec<_>>(),
            s(&[
                "test1-dc1-default-sts-0",
                "test1-dc1-default-sts-1",
                "test1-dc1-default-sts-2"
            ])
        );
        assert_eq!(
            t[1].keys().cloned().collect::<Vec<_>>(),
            s(&[
                "test1-dc2-rack1-sts-0",
                "test1-dc2-rack1-sts-1",
                "test1-dc2-rack2-sts-0",
                "test1-dc2-rack2-sts-1",
                "test1-dc2-rack3-sts-0"
            ])
        );
        assert!(t[0].values().all(|v| v.len() == 4));
        assert!(t[1].values().all(|v| v.len() == 4));
    }

    #[test]
    fn nothing_is_computed_with_many_vnodes_a_user_config_map_or_mixed_partitioners() {
        let small = json!({"num_tokens": 4});
        let big = json!({"num_tokens": 16});
        let random =
            json!({"num_tokens": 4, "partitioner": "org.apache.cassandra.dht.RandomPartitioner"});
        let dc = |y| TokenDc {
            meta_name: "dc1",
            size: 3,
            racks: vec![],
            cassandra_yaml: y,
            has_per_node_config_map_ref: false,
        };
        assert!(compute_initial_tokens("c", &[dc(&big)]).is_none());
        assert!(compute_initial_tokens("c", &[dc(&small), dc(&random)]).is_none());
        assert!(
            compute_initial_tokens(
                "c",
                &[TokenDc {
                    has_per_node_config_map_ref: true,
                    ..dc(&small)
                }]
            )
            .is_none()
        );
        assert_eq!(
            per_node_config_data(&BTreeMap::from([("p-0".to_string(), s(&["1", "2"]))])),
            BTreeMap::from([(
                "p-0_cassandra.yaml".to_string(),
                "\ninitial_token: 1,2".to_string()
            )])
        );
    }
}
