//! Initial tokens and per-node configuration (spec control-plane §2.12).
//!
//! When every datacenter of a cluster runs few vnodes (`num_tokens` < 16), k8ssandra-operator
//! picks `initial_token` values itself: evenly spaced over the ring, each DC slightly shifted,
//! handed out to the first `rf` pods of the DC. They travel in a per-DC ConfigMap holding one
//! `<pod>_cassandra.yaml` fragment per pod; an init container named `per-node-config` merges the
//! pod's fragment into the rendered `cassandra.yaml` with yq. A user `perNodeConfigMapRef` is
//! mounted the same way, and switches the computation off for the whole cluster.
//!
//! Go specifics reproduced here:
//! - integer settings are read as `strconv.Atoi(fmt.Sprintf("%v", v))`, and user values come from
//!   JSON as float64, so `4`, `4.0` and `"4"` are 4, while `4.5`, `true`, `null` and any number of
//!   magnitude ≥ 1e6 (printed as `1e+06`) are not integers;
//! - big.Int division is Euclidean: the negative DC shift rounds toward −∞;
//! - inputs that make the operator panic (no DC, a DC whose token count is ≤ 0) are reported by
//!   [`try_compute_initial_tokens`] instead of being rendered.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Value, json};

use super::contribution::{Contribution, Merge};
use crate::ports::atoi::atoi_of_printed;
use crate::ports::names::{cleanup_for_kubernetes, cleanup_subdomain};

/// Image of the `per-node-config` init container when `perNodeConfigInitContainerImage` is empty:
/// `k8ssandra-client` from k8ssandra-operator's ImageConfig (kustomize
/// `config/cass-operator/imageconfig`: registry `docker.io`, repository `k8ssandra`, tag
/// `v0.8.12`).
pub const DEFAULT_PER_NODE_IMAGE: &str = "docker.io/k8ssandra/k8ssandra-client:v0.8.12";

/// Name of both the init container and the pod volume.
pub const PER_NODE_CONFIG: &str = "per-node-config";

/// Pod-template annotation carrying the hash of the mounted per-node ConfigMap.
pub const PER_NODE_CONFIG_HASH_ANNOTATION: &str = "k8ssandra.io/per-node-config-hash";

/// Largest token count per DC (`num_tokens × rf`) this renderer accepts. Upstream has no limit
/// (it would just allocate that many big integers); beyond this the spec is absurd (more than
/// ~70 000 pods) and [`try_compute_initial_tokens`] reports it rather than exhausting memory.
pub const MAX_TOKENS_PER_DC: i64 = 1 << 20;

/// Token count of a DC when `num_tokens` is absent from cassandraYaml (Cassandra's own default;
/// in practice the operator has always put 16 or 256 there before).
const DEFAULT_NUM_TOKENS: i64 = 1;

/// `allocate_tokens_for_local_replication_factor` when absent.
const DEFAULT_RF: i64 = 3;

/// Initial tokens of one DC: pod name → tokens (decimal strings, ascending).
pub type TokensByPod = BTreeMap<String, Vec<String>>;

/// One datacenter as the token computation sees it (after the cluster→DC merge and the
/// operator's `num_tokens` default have been applied to cassandraYaml).
#[derive(Debug, Clone)]
pub struct TokenDc<'a> {
    /// CassandraDatacenter `metadata.name` (not the `datacenterName` override).
    pub meta_name: &'a str,
    /// `size`.
    pub size: i32,
    /// Merged rack names as written (empty: a single rack `default`).
    pub racks: Vec<String>,
    /// Merged cassandraYaml object; `num_tokens`,
    /// `allocate_tokens_for_local_replication_factor` and `partitioner` are read.
    pub cassandra_yaml: &'a Value,
    /// Whether the DC has a non-empty `perNodeConfigMapRef.name`.
    pub has_per_node_config_map_ref: bool,
}

/// Inputs on which the operator's token computation panics instead of skipping: the reconcile
/// fails every time and no CassandraDatacenter of the cluster is created or updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitialTokensError {
    /// No datacenter at all (upstream indexes the first one).
    NoDatacenters,
    /// `num_tokens × rf` would be ≤ 0, or `rf` ≤ 0 (division by zero, negative slice length or
    /// modulo by zero upstream).
    NoTokens {
        /// `metadata.name` of the DC.
        dc: String,
        /// Its `num_tokens`.
        num_tokens: i64,
        /// Its `rf` (already capped at `size`).
        rf: i64,
    },
    /// More than [`MAX_TOKENS_PER_DC`] tokens (a renderer limit, not an upstream one).
    TooManyTokens {
        /// `metadata.name` of the DC.
        dc: String,
        /// `num_tokens × rf`.
        count: i64,
    },
}

impl fmt::Display for InitialTokensError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoDatacenters => {
                f.write_str("initial token computation needs at least one datacenter (k8ssandra-operator panics)")
            }
            Self::NoTokens { dc, num_tokens, rf } => write!(
                f,
                "datacenter {dc}: num_tokens {num_tokens} with a replication factor of {rf} leaves no initial token to compute (k8ssandra-operator panics); use a positive num_tokens and allocate_tokens_for_local_replication_factor"
            ),
            Self::TooManyTokens { dc, count } => write!(
                f,
                "datacenter {dc}: {count} initial tokens to compute, more than the {MAX_TOKENS_PER_DC} k8ssandra-gitops accepts"
            ),
        }
    }
}

impl std::error::Error for InitialTokensError {}

/// The two partitioners the operator knows how to compute tokens for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Partitioner {
    /// Ring `[-2^63, 2^63)`.
    Murmur3,
    /// Ring `[0, 2^127)`.
    Random,
}

impl Partitioner {
    /// From the `partitioner` setting: absent means Murmur3; a string is matched by substring
    /// (Murmur3 first); anything else is unsupported.
    fn from_setting(v: Option<&Value>) -> Option<Self> {
        match v {
            None => Some(Self::Murmur3),
            Some(Value::String(s)) if s.contains("Murmur3Partitioner") => Some(Self::Murmur3),
            Some(Value::String(s)) if s.contains("RandomPartitioner") => Some(Self::Random),
            Some(_) => None,
        }
    }

    /// Smallest token.
    const fn lowest(self) -> i128 {
        match self {
            Self::Murmur3 => -(1 << 63),
            Self::Random => 0,
        }
    }

    /// Number of tokens on the ring (2^127 does not fit in i128, hence u128).
    const fn size(self) -> u128 {
        match self {
            Self::Murmur3 => 1 << 64,
            Self::Random => 1 << 127,
        }
    }
}

/// What the operator gathers per DC before computing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DcInfo {
    num_tokens: i64,
    rf: i64,
    partitioner: Partitioner,
}

/// The per-DC settings, or `None` when the operator gives up on this cluster because of this DC.
fn dc_info(dc: &TokenDc<'_>) -> Option<DcInfo> {
    if dc.has_per_node_config_map_ref {
        return None;
    }
    let yaml = dc.cassandra_yaml;
    let num_tokens = match yaml.get("num_tokens") {
        None => DEFAULT_NUM_TOKENS,
        Some(v) => atoi_of_printed(v).filter(|n| *n < 16)?,
    };
    let rf = match yaml.get("allocate_tokens_for_local_replication_factor") {
        None => DEFAULT_RF,
        Some(v) => atoi_of_printed(v)?,
    }
    .min(i64::from(dc.size));
    let partitioner = Partitioner::from_setting(yaml.get("partitioner"))?;
    Some(DcInfo {
        num_tokens,
        rf,
        partitioner,
    })
}

/// `utils.ComputeTokens`: for each DC, `count` tokens evenly spaced over the whole ring, starting
/// from the ring's lowest token shifted back by `dc_index × ring/divisor`, wrapped into the ring,
/// sorted. Every count must be ≥ 1.
fn ring_tokens(counts: &[u64], p: Partitioner) -> Vec<Vec<i128>> {
    let size = p.size();
    let widest = counts.iter().copied().max().unwrap_or(1);
    // The DSE original keeps a floor of 235 on the divisor, which nearly always wins.
    let divisor = (counts.len() as u128 * u128::from(widest) * 2).max(235);
    // -size / divisor with Go's Euclidean division: rounded toward -inf. Below 2^127/235: fits.
    let shift = -(size.div_ceil(divisor) as i128);
    counts
        .iter()
        .enumerate()
        .map(|(dc, &count)| {
            let start = shift * dc as i128;
            let step = size / u128::from(count);
            let mut tokens: Vec<i128> = (0..count)
                .map(|i| {
                    // i × step < count × step ≤ size ≤ 2^127, so the cast is exact.
                    let t = (u128::from(i) * step) as i128 + start + p.lowest();
                    if t < p.lowest() {
                        // The sum lies inside the ring, so it is representable and the wrapping
                        // addition is exact (2^127 itself is not an i128).
                        t.wrapping_add_unsigned(size)
                    } else {
                        t
                    }
                })
                .collect();
            tokens.sort_unstable();
            tokens
        })
        .collect()
}

/// The first `rf` pods of the DC, racks taken round-robin:
/// `<cluster>-<dc>-<rack[i % racks]>-sts-<i / racks>` (cass-operator's StatefulSet naming:
/// CleanupForKubernetes on cluster and DC, CleanupSubdomain on the rack).
fn first_pods(cluster_name: &str, dc: &TokenDc<'_>, rf: usize) -> Vec<String> {
    let default_rack = ["default".to_string()];
    let racks: &[String] = if dc.racks.is_empty() {
        &default_rack
    } else {
        &dc.racks
    };
    let prefix = format!(
        "{}-{}",
        cleanup_for_kubernetes(cluster_name),
        cleanup_for_kubernetes(dc.meta_name)
    );
    (0..rf)
        .map(|i| {
            let rack = cleanup_subdomain(&racks[i % racks.len()]);
            format!("{prefix}-{rack}-sts-{}", i / racks.len())
        })
        .collect()
}

/// Token `i` goes to pod `i % pods`, keeping the tokens' order within each pod.
fn deal(pods: &[String], tokens: &[String]) -> TokensByPod {
    let mut by_pod = TokensByPod::new();
    for (pod, token) in pods.iter().cycle().zip(tokens) {
        by_pod.entry(pod.clone()).or_default().push(token.clone());
    }
    by_pod
}

/// Initial tokens as the operator computes them, per DC (input order), pod name → tokens
/// (decimal strings, ascending). `dcs` must be in `spec.cassandra.datacenters` order (not
/// priority order): a DC's index shifts its tokens.
///
/// `Ok(None)` when the operator skips the computation (some DC has a `perNodeConfigMapRef`,
/// `num_tokens` ≥ 16 or not an integer, a non-integer
/// `allocate_tokens_for_local_replication_factor`, an unsupported partitioner, or the DCs'
/// partitioners differ).
///
/// # Errors
/// When the operator would panic, or the token count is beyond [`MAX_TOKENS_PER_DC`].
pub fn try_compute_initial_tokens(
    cluster_name: &str,
    dcs: &[TokenDc<'_>],
) -> Result<Option<Vec<TokensByPod>>, InitialTokensError> {
    let Some(infos) = dcs.iter().map(dc_info).collect::<Option<Vec<_>>>() else {
        return Ok(None);
    };
    let Some(partitioner) = infos.first().map(|i| i.partitioner) else {
        return Err(InitialTokensError::NoDatacenters);
    };
    if infos.iter().any(|i| i.partitioner != partitioner) {
        return Ok(None);
    }
    let mut counts = Vec::with_capacity(infos.len());
    for (dc, info) in dcs.iter().zip(&infos) {
        if info.num_tokens <= 0 || info.rf <= 0 {
            return Err(InitialTokensError::NoTokens {
                dc: dc.meta_name.to_string(),
                num_tokens: info.num_tokens,
                rf: info.rf,
            });
        }
        // Both factors are positive, num_tokens < 16 and rf ≤ i32::MAX: no overflow.
        let count = info.num_tokens * info.rf;
        if count > MAX_TOKENS_PER_DC {
            return Err(InitialTokensError::TooManyTokens {
                dc: dc.meta_name.to_string(),
                count,
            });
        }
        counts.push(count.unsigned_abs());
    }
    let all = ring_tokens(&counts, partitioner);
    Ok(Some(
        dcs.iter()
            .zip(&infos)
            .zip(all)
            .map(|((dc, info), tokens)| {
                // rf ≤ count ≤ MAX_TOKENS_PER_DC: fits in usize.
                let pods = first_pods(cluster_name, dc, info.rf.unsigned_abs() as usize);
                let tokens: Vec<String> = tokens.iter().map(i128::to_string).collect();
                deal(&pods, &tokens)
            })
            .collect(),
    ))
}

/// [`try_compute_initial_tokens`] with its errors folded into `None`. Returns `None` when
/// upstream would not compute initial tokens for this cluster, else, per DC (same order as the
/// input, which must be spec order), the map pod name → tokens.
///
/// `cluster_name` is the Cassandra cluster name (`spec.cassandra.clusterName` or the kc name);
/// it is passed through CleanupForKubernetes, so the sanitized name works as well.
#[must_use]
#[cfg(test)]
pub fn compute_initial_tokens(cluster_name: &str, dcs: &[TokenDc<'_>]) -> Option<Vec<TokensByPod>> {
    try_compute_initial_tokens(cluster_name, dcs).ok().flatten()
}

/// The per-node ConfigMap `data` for one DC: `<podName>_cassandra.yaml` → a newline followed by
/// `initial_token: t1,t2,...` (no trailing newline). An empty result means upstream creates no
/// ConfigMap (and deletes one it owns) and mounts nothing.
#[must_use]
pub fn per_node_config_data(tokens_by_pod: &TokensByPod) -> BTreeMap<String, String> {
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

/// Name of the generated per-node ConfigMap:
/// `CleanupForKubernetes(<cass cluster name>-<cass dc name>-per-node-config)`, where the cluster
/// name is `spec.cassandra.clusterName` or the kc name and the DC name is `datacenterName` or
/// `metadata.name` (both unsanitized).
#[must_use]
pub fn per_node_config_map_name(
    cleanup: fn(&str) -> String,
    cass_cluster_name: &str,
    cass_dc_name: &str,
) -> String {
    cleanup(&format!(
        "{cass_cluster_name}-{cass_dc_name}-{PER_NODE_CONFIG}"
    ))
}

/// The `per-node-config` init container (corev1.Container JSON, fields in Go's order). An empty
/// `image` means [`DEFAULT_PER_NODE_IMAGE`], as upstream.
#[must_use]
pub fn per_node_init_container(image: &str) -> Value {
    let image = if image.is_empty() {
        DEFAULT_PER_NODE_IMAGE
    } else {
        image
    };
    // For each `/per-node-config/<pod>_<file>`, deep-merge it into `/config/<file>` with yq.
    let script = [
        "if [ -e /per-node-config/${POD_NAME}_* ]; then ",
        "for src in /per-node-config/${POD_NAME}_*; do ",
        "dest=/config/`echo $src | cut -d \"_\" -f2`; ",
        "yq ea '. as $item ireduce ({}; . * $item)' -i $dest $src && echo merged $src into $dest || exit 1; ",
        "done; ",
        "echo done merging per-node config for pod $POD_NAME; ",
        "else ",
        "echo no per-node config found for pod $POD_NAME; ",
        "fi",
    ]
    .concat();
    json!({
        "name": PER_NODE_CONFIG,
        "image": image,
        "command": ["sh", "-c", script],
        "env": [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
        ],
        "resources": {
            "limits": {"cpu": "100m", "memory": "64Mi"},
            "requests": {"cpu": "10m", "memory": "16Mi"}
        },
        "volumeMounts": [
            {"name": "server-config", "mountPath": "/config"},
            {"name": PER_NODE_CONFIG, "mountPath": "/per-node-config"},
            {"name": "tmp", "mountPath": "/tmp"}
        ]
    })
}

/// The `per-node-config` pod volume backed by the given ConfigMap.
#[must_use]
pub fn per_node_volume(config_map_name: &str) -> Value {
    json!({"name": PER_NODE_CONFIG, "configMap": {"name": config_map_name}})
}

/// The whole per-node mount, as the operator adds it to a DC's pod template once the ConfigMap
/// is known (after Medusa, before Vector and `NewDatacenter`):
/// 1. `metadata.annotations[k8ssandra.io/per-node-config-hash] = hash`;
/// 2. the `per-node-config` init container, appended after `server-config-init` (a placeholder
///    `{name: server-config-init}` is added when the pod has none; Go also writes its empty
///    `resources: {}`, we omit empty objects, see docs/deviations.md), with no de-duplication: a
///    user init container of that name stays, and the pod then has two;
/// 3. the `per-node-config` volume, appended to `spec.volumes` (same, no de-duplication).
///
/// An empty `image` means [`DEFAULT_PER_NODE_IMAGE`].
#[must_use]
pub fn per_node_contribution(
    image: &str,
    config_map_name: &str,
    hash: Option<&str>,
) -> Contribution {
    Contribution {
        // Offline, a user-provided ConfigMap cannot be hashed: no annotation then (deviations.md).
        pod_annotations: hash
            .map(|h| (PER_NODE_CONFIG_HASH_ANNOTATION.to_string(), h.into()))
            .into_iter()
            .collect(),
        init_containers: vec![(per_node_init_container(image), Merge::Append)],
        volumes: vec![(per_node_volume(config_map_name), Merge::Append)],
        ..Contribution::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_string()).collect()
    }

    fn ring(counts: &[u64], p: Partitioner) -> Vec<Vec<String>> {
        ring_tokens(counts, p)
            .iter()
            .map(|dc| dc.iter().map(i128::to_string).collect())
            .collect()
    }

    fn dc<'a>(name: &'a str, size: i32, racks: &[&str], yaml: &'a Value) -> TokenDc<'a> {
        TokenDc {
            meta_name: name,
            size,
            racks: strs(racks),
            cassandra_yaml: yaml,
            has_per_node_config_map_ref: false,
        }
    }

    fn map(entries: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        entries
            .iter()
            .map(|(k, v)| ((*k).to_string(), strs(v)))
            .collect()
    }

    // ---- pkg/utils/tokens_test.go (TestComputeTokens), every case ----

    const M3_3: [&str; 3] = [
        "-9223372036854775808",
        "-3074457345618258603",
        "3074457345618258602",
    ];
    const RP_3: [&str; 3] = [
        "0",
        "56713727820156410577229101238628035242",
        "113427455640312821154458202477256070484",
    ];
    const M3_4: [&str; 4] = [
        "-9223372036854775808",
        "-4611686018427387904",
        "0",
        "4611686018427387904",
    ];
    const RP_4: [&str; 4] = [
        "0",
        "42535295865117307932921825928971026432",
        "85070591730234615865843651857942052864",
        "127605887595351923798765477786913079296",
    ];
    const M3_3_SECOND: [&str; 3] = [
        "-3152954128910639674",
        "2995960562325877531",
        "9144875253562394737",
    ];
    const RP_3_SECOND: [&str; 3] = [
        "55989722784154413846455963776007251813",
        "112703450604310824423685065014635287055",
        "169417178424467235000914166253263322299",
    ];

    #[test]
    fn upstream_single_dc_rings() {
        assert_eq!(ring(&[3], Partitioner::Murmur3), vec![strs(&M3_3)]);
        assert_eq!(ring(&[3], Partitioner::Random), vec![strs(&RP_3)]);
        assert_eq!(ring(&[4], Partitioner::Murmur3), vec![strs(&M3_4)]);
        assert_eq!(ring(&[4], Partitioner::Random), vec![strs(&RP_4)]);
    }

    #[test]
    fn upstream_two_dc_rings() {
        assert_eq!(
            ring(&[3, 3], Partitioner::Murmur3),
            vec![strs(&M3_3), strs(&M3_3_SECOND)]
        );
        assert_eq!(
            ring(&[3, 3], Partitioner::Random),
            vec![strs(&RP_3), strs(&RP_3_SECOND)]
        );
        assert_eq!(
            ring(&[4, 4], Partitioner::Murmur3),
            vec![
                strs(&M3_4),
                strs(&[
                    "-4690182801719768975",
                    "-78496783292381071",
                    "4533189235135006833",
                    "9144875253562394737",
                ])
            ]
        );
        assert_eq!(
            ring(&[4, 4], Partitioner::Random),
            vec![
                strs(&RP_4),
                strs(&[
                    "41811290829115311202148688466350243003",
                    "84346586694232619135070514395321269435",
                    "126881882559349927067992340324292295867",
                    "169417178424467235000914166253263322299",
                ])
            ]
        );
    }

    #[test]
    fn upstream_three_dc_rings() {
        assert_eq!(
            ring(&[4, 3, 5], Partitioner::Murmur3),
            vec![
                strs(&M3_4),
                strs(&M3_3_SECOND),
                strs(&[
                    "-5691016788697627627",
                    "-2001667973955717304",
                    "1687680840786193019",
                    "5377029655528103342",
                    "9066378470270013666",
                ])
            ]
        );
        assert_eq!(
            ring(&[4, 3, 5], Partitioner::Random),
            vec![
                strs(&RP_4),
                strs(&RP_3_SECOND),
                strs(&[
                    "32580226620089852884791185817935254287",
                    "66608463312183699231128646561112075432",
                    "100636700004277545577466107304288896577",
                    "134664936696371391923803568047465717722",
                    "168693173388465238270141028790642538870",
                ])
            ]
        );
    }

    // ---- pkg/cassandra/tokens_test.go (TestComputeInitialTokens) ----

    // Golden fact §8 row 22.
    #[test]
    fn upstream_single_dc_num_tokens_below_16() {
        let yaml = json!({"num_tokens": 1});
        let got = compute_initial_tokens("cluster1", &[dc("dc1", 3, &[], &yaml)]);
        assert_eq!(
            got,
            Some(vec![map(&[
                ("cluster1-dc1-default-sts-0", &["-9223372036854775808"]),
                ("cluster1-dc1-default-sts-1", &["-3074457345618258603"]),
                ("cluster1-dc1-default-sts-2", &["3074457345618258602"]),
            ])])
        );
    }

    #[test]
    fn upstream_single_dc_num_tokens_16() {
        let yaml = json!({"num_tokens": 16});
        assert_eq!(
            try_compute_initial_tokens("cluster1", &[dc("dc1", 3, &[], &yaml)]),
            Ok(None)
        );
    }

    #[test]
    fn upstream_multi_dc_num_tokens_below_16() {
        let y1 = json!({"num_tokens": 4});
        let y2 = json!({"num_tokens": 8, "allocate_tokens_for_local_replication_factor": 5});
        let racks = ["rack1", "rack2", "rack3"];
        let got = compute_initial_tokens(
            "cluster1",
            &[dc("dc1", 3, &racks, &y1), dc("dc2", 10, &racks, &y2)],
        );
        let dc1 = map(&[
            (
                "cluster1-dc1-rack1-sts-0",
                &[
                    "-9223372036854775808",
                    "-4611686018427387905",
                    "-2",
                    "4611686018427387901",
                ],
            ),
            (
                "cluster1-dc1-rack2-sts-0",
                &[
                    "-7686143364045646507",
                    "-3074457345618258604",
                    "1537228672809129299",
                    "6148914691236517202",
                ],
            ),
            (
                "cluster1-dc1-rack3-sts-0",
                &[
                    "-6148914691236517206",
                    "-1537228672809129303",
                    "3074457345618258600",
                    "7686143364045646503",
                ],
            ),
        ]);
        let dc2 = map(&[
            (
                "cluster1-dc2-rack1-sts-0",
                &[
                    "-8840700218304418089",
                    "-6534857209090724139",
                    "-4229014199877030189",
                    "-1923171190663336239",
                    "382671818550357711",
                    "2688514827764051661",
                    "4994357836977745611",
                    "7300200846191439561",
                ],
            ),
            (
                "cluster1-dc2-rack2-sts-0",
                &[
                    "-8379531616461679299",
                    "-6073688607247985349",
                    "-3767845598034291399",
                    "-1462002588820597449",
                    "843840420393096501",
                    "3149683429606790451",
                    "5455526438820484401",
                    "7761369448034178351",
                ],
            ),
            (
                "cluster1-dc2-rack3-sts-0",
                &[
                    "-7918363014618940509",
                    "-5612520005405246559",
                    "-3306676996191552609",
                    "-1000833986977858659",
                    "1305009022235835291",
                    "3610852031449529241",
                    "5916695040663223191",
                    "8222538049876917141",
                ],
            ),
            (
                "cluster1-dc2-rack1-sts-1",
                &[
                    "-7457194412776201719",
                    "-5151351403562507769",
                    "-2845508394348813819",
                    "-539665385135119869",
                    "1766177624078574081",
                    "4072020633292268031",
                    "6377863642505961981",
                    "8683706651719655931",
                ],
            ),
            (
                "cluster1-dc2-rack2-sts-1",
                &[
                    "-6996025810933462929",
                    "-4690182801719768979",
                    "-2384339792506075029",
                    "-78496783292381079",
                    "2227346225921312871",
                    "4533189235135006821",
                    "6839032244348700771",
                    "9144875253562394737",
                ],
            ),
        ]);
        assert_eq!(got, Some(vec![dc1, dc2]));
    }

    // ---- controllers/k8ssandra/per_node_config_test.go: golden fact §8 row 23 ----

    #[test]
    fn golden_row_23_only_the_first_rf_pods_get_entries() {
        let y1 = json!({"num_tokens": 4});
        let y2 = json!({"num_tokens": 4, "allocate_tokens_for_local_replication_factor": 5});
        let got = compute_initial_tokens(
            "test1",
            &[
                dc("dc1", 5, &[], &y1),
                dc("dc2", 10, &["rack1", "rack2", "rack3"], &y2),
            ],
        )
        .expect("tokens");
        let keys =
            |i: usize| -> Vec<String> { per_node_config_data(&got[i]).into_keys().collect() };
        assert_eq!(
            keys(0),
            strs(&[
                "test1-dc1-default-sts-0_cassandra.yaml",
                "test1-dc1-default-sts-1_cassandra.yaml",
                "test1-dc1-default-sts-2_cassandra.yaml",
            ])
        );
        assert_eq!(
            keys(1),
            strs(&[
                "test1-dc2-rack1-sts-0_cassandra.yaml",
                "test1-dc2-rack1-sts-1_cassandra.yaml",
                "test1-dc2-rack2-sts-0_cassandra.yaml",
                "test1-dc2-rack2-sts-1_cassandra.yaml",
                "test1-dc2-rack3-sts-0_cassandra.yaml",
            ])
        );
        assert!(got.iter().flat_map(BTreeMap::values).all(|t| t.len() == 4));
        assert_eq!(
            per_node_config_map_name(cleanup_for_kubernetes, "test1", "dc2"),
            "test1-dc2-per-node-config"
        );
    }

    // ---- Test_collectTokenAllocationInfos / computeDc* / checkPartitioner ----

    #[test]
    fn upstream_allocation_infos() {
        let y1 = json!({"num_tokens": 1, "partitioner": "Murmur3Partitioner"});
        let y2 = json!({"num_tokens": 8, "partitioner": "Murmur3Partitioner",
                        "allocate_tokens_for_local_replication_factor": 5});
        let info = |n, rf| DcInfo {
            num_tokens: n,
            rf,
            partitioner: Partitioner::Murmur3,
        };
        assert_eq!(dc_info(&dc("dc1", 3, &[], &y1)), Some(info(1, 3)));
        assert_eq!(dc_info(&dc("dc2", 5, &[], &y2)), Some(info(8, 5)));

        for yaml in [
            json!({"num_tokens": 256, "allocate_tokens_for_local_replication_factor": 5}),
            json!({"num_tokens": "not a number"}),
            json!({"num_tokens": 4, "partitioner": "unknown"}),
            json!({"num_tokens": 4, "allocate_tokens_for_local_replication_factor": "not a number"}),
        ] {
            assert_eq!(dc_info(&dc("dc1", 3, &[], &yaml)), None, "{yaml}");
            let ok = json!({"num_tokens": 1});
            assert_eq!(
                try_compute_initial_tokens(
                    "cluster1",
                    &[dc("dc1", 3, &[], &ok), dc("dc2", 5, &[], &yaml)]
                ),
                Ok(None),
                "{yaml}"
            );
        }
    }

    #[test]
    fn upstream_num_tokens() {
        let n = |yaml: Value| dc_info(&dc("dc1", 3, &[], &yaml)).map(|i| i.num_tokens);
        assert_eq!(n(json!({"num_tokens": 8})), Some(8));
        assert_eq!(n(json!({"num_tokens": 16})), None);
        assert_eq!(n(json!({"num_tokens": "not a number"})), None);
        assert_eq!(n(json!({})), Some(1));
    }

    #[test]
    fn upstream_partitioners() {
        let p = |v: Value| Partitioner::from_setting(v.get("partitioner"));
        assert_eq!(p(json!({})), Some(Partitioner::Murmur3));
        assert_eq!(
            p(json!({"partitioner": "Murmur3Partitioner"})),
            Some(Partitioner::Murmur3)
        );
        assert_eq!(
            p(json!({"partitioner": "org.apache.cassandra.dht.Murmur3Partitioner"})),
            Some(Partitioner::Murmur3)
        );
        assert_eq!(
            p(json!({"partitioner": "RandomPartitioner"})),
            Some(Partitioner::Random)
        );
        assert_eq!(
            p(json!({"partitioner": "org.apache.cassandra.dht.RandomPartitioner"})),
            Some(Partitioner::Random)
        );
        assert_eq!(
            p(json!({"partitioner": "org.apache.cassandra.dht.ByteOrderedPartitioner"})),
            None
        );
        assert_eq!(p(json!({"partitioner": null})), None);
    }

    #[test]
    fn upstream_replication_factor() {
        let rf = |size, yaml: Value| dc_info(&dc("dc1", size, &[], &yaml)).map(|i| i.rf);
        assert_eq!(rf(3, json!({})), Some(3));
        assert_eq!(rf(2, json!({})), Some(2));
        let five = json!({"allocate_tokens_for_local_replication_factor": 5});
        assert_eq!(rf(10, five.clone()), Some(5));
        assert_eq!(rf(3, five), Some(3));
        assert_eq!(
            rf(
                3,
                json!({"allocate_tokens_for_local_replication_factor": "not a number"})
            ),
            None
        );
    }

    #[test]
    fn partitioner_mismatch_and_random_partitioner() {
        let m = json!({"num_tokens": 1});
        let r =
            json!({"num_tokens": 1, "partitioner": "org.apache.cassandra.dht.RandomPartitioner"});
        assert_eq!(
            try_compute_initial_tokens("c", &[dc("dc1", 3, &[], &m), dc("dc2", 3, &[], &r)]),
            Ok(None)
        );
        // Same tokens as the upstream 2-DC Random ring, dealt one per pod.
        let got = compute_initial_tokens("c", &[dc("dc1", 3, &[], &r), dc("dc2", 3, &[], &r)])
            .expect("tokens");
        assert_eq!(got[0]["c-dc1-default-sts-1"], strs(&[RP_3[1]]));
        assert_eq!(got[1]["c-dc2-default-sts-2"], strs(&[RP_3_SECOND[2]]));
    }

    #[test]
    fn user_config_map_anywhere_disables_everything() {
        let y = json!({"num_tokens": 4});
        let mut with_ref = dc("dc2", 3, &[], &y);
        with_ref.has_per_node_config_map_ref = true;
        assert_eq!(
            try_compute_initial_tokens("c", &[dc("dc1", 3, &[], &y), with_ref]),
            Ok(None)
        );
    }

    // ---- Test_assignInitialTokens ----

    fn numbered(n: usize) -> Vec<String> {
        (1..=n).map(|i| i.to_string()).collect()
    }

    #[test]
    fn upstream_assignments() {
        let none = json!({});
        let single = dc("dc1", 9, &[], &none);
        let two_racks = dc("dc1", 9, &["rack1", "rack2"], &none);
        let dc2 = dc("dc2", 9, &[], &none);
        let dc2_racks = dc("dc2", 9, &["rack1", "rack2", "rack3"], &none);
        let assign = |d: &TokenDc<'_>, rf, n| deal(&first_pods("cluster1", d, rf), &numbered(n));

        assert_eq!(
            assign(&single, 3, 12),
            map(&[
                ("cluster1-dc1-default-sts-0", &["1", "4", "7", "10"]),
                ("cluster1-dc1-default-sts-1", &["2", "5", "8", "11"]),
                ("cluster1-dc1-default-sts-2", &["3", "6", "9", "12"]),
            ])
        );
        assert_eq!(
            assign(&single, 3, 3),
            map(&[
                ("cluster1-dc1-default-sts-0", &["1"]),
                ("cluster1-dc1-default-sts-1", &["2"]),
                ("cluster1-dc1-default-sts-2", &["3"]),
            ])
        );
        assert_eq!(
            assign(&two_racks, 3, 12),
            map(&[
                ("cluster1-dc1-rack1-sts-0", &["1", "4", "7", "10"]),
                ("cluster1-dc1-rack2-sts-0", &["2", "5", "8", "11"]),
                ("cluster1-dc1-rack1-sts-1", &["3", "6", "9", "12"]),
            ])
        );
        assert_eq!(
            assign(&dc2, 5, 40),
            map(&[
                (
                    "cluster1-dc2-default-sts-0",
                    &["1", "6", "11", "16", "21", "26", "31", "36"]
                ),
                (
                    "cluster1-dc2-default-sts-1",
                    &["2", "7", "12", "17", "22", "27", "32", "37"]
                ),
                (
                    "cluster1-dc2-default-sts-2",
                    &["3", "8", "13", "18", "23", "28", "33", "38"]
                ),
                (
                    "cluster1-dc2-default-sts-3",
                    &["4", "9", "14", "19", "24", "29", "34", "39"]
                ),
                (
                    "cluster1-dc2-default-sts-4",
                    &["5", "10", "15", "20", "25", "30", "35", "40"]
                ),
            ])
        );
        assert_eq!(
            assign(&dc2, 5, 5),
            map(&[
                ("cluster1-dc2-default-sts-0", &["1"]),
                ("cluster1-dc2-default-sts-1", &["2"]),
                ("cluster1-dc2-default-sts-2", &["3"]),
                ("cluster1-dc2-default-sts-3", &["4"]),
                ("cluster1-dc2-default-sts-4", &["5"]),
            ])
        );
        assert_eq!(
            assign(&dc2_racks, 5, 40),
            map(&[
                (
                    "cluster1-dc2-rack1-sts-0",
                    &["1", "6", "11", "16", "21", "26", "31", "36"]
                ),
                (
                    "cluster1-dc2-rack2-sts-0",
                    &["2", "7", "12", "17", "22", "27", "32", "37"]
                ),
                (
                    "cluster1-dc2-rack3-sts-0",
                    &["3", "8", "13", "18", "23", "28", "33", "38"]
                ),
                (
                    "cluster1-dc2-rack1-sts-1",
                    &["4", "9", "14", "19", "24", "29", "34", "39"]
                ),
                (
                    "cluster1-dc2-rack2-sts-1",
                    &["5", "10", "15", "20", "25", "30", "35", "40"]
                ),
            ])
        );
    }

    #[test]
    fn pod_names_use_cass_operator_cleanups() {
        let none = json!({});
        let d = dc("DC_1", 3, &["Rack_A", "r.b"], &none);
        assert_eq!(
            first_pods("Not K8s_Compliant", &d, 3),
            strs(&[
                "notk8s-compliant-dc-1-rack-a-sts-0",
                "notk8s-compliant-dc-1-r.b-sts-0",
                "notk8s-compliant-dc-1-rack-a-sts-1",
            ])
        );
    }

    // ---- Go's reading of integer settings ----

    #[test]
    fn integer_settings_are_read_as_go_reads_them() {
        // The reading itself is the ports::atoi port, with Go's vectors; here, its use.
        // A huge RF is not an integer for Go, so nothing is computed (rather than capping).
        let y = json!({"num_tokens": 4, "allocate_tokens_for_local_replication_factor": 1_000_000});
        assert_eq!(
            try_compute_initial_tokens("c", &[dc("dc1", 3, &[], &y)]),
            Ok(None)
        );
        // A string num_tokens is fine.
        let y = json!({"num_tokens": "1"});
        assert!(compute_initial_tokens("c", &[dc("dc1", 3, &[], &y)]).is_some());
    }

    // ---- inputs on which the operator panics ----

    #[test]
    fn panicking_inputs_are_errors() {
        assert_eq!(
            try_compute_initial_tokens("c", &[]),
            Err(InitialTokensError::NoDatacenters)
        );
        for (yaml, n, rf) in [
            (json!({"num_tokens": 0}), 0, 3),
            (json!({"num_tokens": -2}), -2, 3),
            (
                json!({"num_tokens": 4, "allocate_tokens_for_local_replication_factor": 0}),
                4,
                0,
            ),
            (
                json!({"num_tokens": -1, "allocate_tokens_for_local_replication_factor": -1}),
                -1,
                -1,
            ),
        ] {
            let ok = json!({"num_tokens": 1});
            assert_eq!(
                try_compute_initial_tokens(
                    "c",
                    &[dc("dc1", 3, &[], &ok), dc("dc2", 3, &[], &yaml)]
                ),
                Err(InitialTokensError::NoTokens {
                    dc: "dc2".into(),
                    num_tokens: n,
                    rf
                }),
                "{yaml}"
            );
            assert_eq!(
                compute_initial_tokens("c", &[dc("dc2", 3, &[], &yaml)]),
                None
            );
        }
        // A skip reason anywhere wins over a panic elsewhere (upstream checks all DCs first).
        let zero = json!({"num_tokens": 0});
        let big = json!({"num_tokens": 16});
        assert_eq!(
            try_compute_initial_tokens("c", &[dc("dc1", 3, &[], &zero), dc("dc2", 3, &[], &big)]),
            Ok(None)
        );
        let y = json!({"num_tokens": 15, "allocate_tokens_for_local_replication_factor": 100_000});
        assert_eq!(
            try_compute_initial_tokens("c", &[dc("dc1", 100_000, &[], &y)]),
            Err(InitialTokensError::TooManyTokens {
                dc: "dc1".into(),
                count: 1_500_000
            })
        );
    }

    // ---- pkg/nodeconfig ----

    #[test]
    fn upstream_config_map_data_and_name() {
        let tokens = map(&[
            ("pod1", &["token1", "token2"]),
            ("pod2", &["token3", "token4"]),
        ]);
        let data = per_node_config_data(&tokens);
        assert_eq!(
            data,
            BTreeMap::from([
                (
                    "pod1_cassandra.yaml".to_string(),
                    "\ninitial_token: token1,token2".to_string()
                ),
                (
                    "pod2_cassandra.yaml".to_string(),
                    "\ninitial_token: token3,token4".to_string()
                ),
            ])
        );
        assert!(per_node_config_data(&BTreeMap::new()).is_empty());
        assert_eq!(
            per_node_config_map_name(cleanup_for_kubernetes, "kc1", "dc1"),
            "kc1-dc1-per-node-config"
        );
        assert_eq!(
            per_node_config_map_name(cleanup_for_kubernetes, "Not K8s_Compliant", "DC1"),
            "notk8s-compliant-dc1-per-node-config"
        );
    }

    #[test]
    fn upstream_init_container_and_volume() {
        let c = per_node_init_container("test-registry/test/yq-test:1.2.3");
        assert_eq!(
            serde_json::to_string(&c).expect("json"),
            concat!(
                r#"{"name":"per-node-config","image":"test-registry/test/yq-test:1.2.3","#,
                r#""command":["sh","-c","if [ -e /per-node-config/${POD_NAME}_* ]; then "#,
                r#"for src in /per-node-config/${POD_NAME}_*; do "#,
                r#"dest=/config/`echo $src | cut -d \"_\" -f2`; "#,
                r#"yq ea '. as $item ireduce ({}; . * $item)' -i $dest $src && echo merged $src into $dest || exit 1; "#,
                r#"done; echo done merging per-node config for pod $POD_NAME; "#,
                r#"else echo no per-node config found for pod $POD_NAME; fi"],"#,
                r#""env":[{"name":"POD_NAME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}],"#,
                r#""resources":{"limits":{"cpu":"100m","memory":"64Mi"},"requests":{"cpu":"10m","memory":"16Mi"}},"#,
                r#""volumeMounts":[{"name":"server-config","mountPath":"/config"},"#,
                r#"{"name":"per-node-config","mountPath":"/per-node-config"},"#,
                r#"{"name":"tmp","mountPath":"/tmp"}]}"#
            )
        );
        assert_eq!(per_node_init_container("")["image"], DEFAULT_PER_NODE_IMAGE);
        assert_eq!(
            per_node_volume("test-dc1-per-node-config"),
            json!({"name": "per-node-config", "configMap": {"name": "test-dc1-per-node-config"}})
        );
    }

    #[test]
    fn upstream_mount() {
        let mut pod = Map::new();
        per_node_contribution("", "test-dc1-per-node-config", Some("h1"))
            .apply(&mut pod, &mut Vec::new(), &mut Map::new())
            .expect("applies");
        assert_eq!(
            Value::Object(pod),
            json!({
                "metadata": {"annotations": {"k8ssandra.io/per-node-config-hash": "h1"}},
                "spec": {
                    "initContainers": [
                        {"name": "server-config-init"},
                        per_node_init_container(DEFAULT_PER_NODE_IMAGE)
                    ],
                    "volumes": [per_node_volume("test-dc1-per-node-config")]
                }
            })
        );
    }

    #[test]
    fn mount_keeps_existing_server_config_init_and_appends_last() {
        let Value::Object(mut pod) = json!({
            "metadata": {"annotations": {"a": "b"}},
            "spec": {
                "initContainers": [
                    {"name": "user-init"},
                    {"name": "server-config-init", "resources": {"limits": {"cpu": "1"}}},
                    {"name": "medusa-restore"}
                ],
                "volumes": [{"name": "v1"}]
            }
        }) else {
            unreachable!()
        };
        per_node_contribution("img", "cm", Some("h"))
            .apply(&mut pod, &mut Vec::new(), &mut Map::new())
            .expect("applies");
        let names = |k: &str| -> Vec<String> {
            pod["spec"][k]
                .as_array()
                .expect("array")
                .iter()
                .map(|c| c["name"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        assert_eq!(
            names("initContainers"),
            strs(&[
                "user-init",
                "server-config-init",
                "medusa-restore",
                "per-node-config"
            ])
        );
        assert_eq!(names("volumes"), strs(&["v1", "per-node-config"]));
        assert_eq!(pod["spec"]["initContainers"][3]["image"], "img");
        assert_eq!(
            pod["metadata"]["annotations"],
            json!({"a": "b", "k8ssandra.io/per-node-config-hash": "h"})
        );
    }
}
