//! What the plan decides about a cluster's `Stargate` objects (spec components §1.1,
//! control-plane §4.6): which datacenters get one (those with a template at either level that
//! are not `stopped`, and whose derived object names fit), the webhook's deprecation warnings
//! (Stargate is deprecated upstream: every use of either block gets one), and warnings for the
//! upstream behaviours that are reproduced. The render module builds exactly what is decided
//! here and reports nothing (issue #11).
//!
//! Reproduced with a warning: the datacenter's tolerations are not copied (quirk #11); a
//! datacenter-level `allowStargateOnDataNodes: false` cannot override a cluster-level `true`
//! (plain Go bool: false is "unset" for the merge); a Stargate rack whose name matches no rack
//! of the datacenter is ignored by the Stargate controller; a Stargate rack that leaves
//! `heapSize`, `serviceAccount` or `containerImage` unset gets the CRD default there, which wins
//! over the datacenter-level value in the Stargate controller's rack merge.

use serde_json::Value;

use super::templates::{self, StargateTemplate};
use super::{ClusterPlan, DcPlan};
use crate::diagnostic::{Code, Diagnostic, has_error};
use crate::ports::names::cleanup_for_kubernetes;
use crate::yaml::Seg;

/// Longest Kubernetes label value (Deployment names are copied into a pod label).
const MAX_LABEL_LEN: usize = 63;
/// Rack-level fields whose CRD default beats the datacenter-level value in the Stargate
/// controller's rack merge.
const RACK_DEFAULTED: [&str; 3] = ["heapSize", "serviceAccount", "containerImage"];

/// Checks the cluster's Stargate templates and decides which datacenters get a Stargate
/// object: indexes into [`ClusterPlan::dcs`], in spec order. A datacenter with a problem gets
/// none (`diags` says why).
#[must_use]
pub fn resolve(plan: &ClusterPlan<'_>, diags: &mut Vec<Diagnostic>) -> Vec<usize> {
    if templates::stargate_cluster(plan).is_some() {
        diags.push(plan.doc.warning(
            Code::Deprecated,
            vec![Seg::Key("spec".into()), Seg::Key("stargate".into())],
            deprecation("stargate"),
        ));
    }
    let mut out = Vec::new();
    for (i, dc) in plan.dcs.iter().enumerate() {
        let Some(template) = templates::stargate(plan, dc) else {
            continue;
        };
        if template.datacenter.is_some() {
            diags.push(plan.doc.warning(
                Code::Deprecated,
                dc.path(&["stargate"]),
                deprecation("cassandra.datacenters.stargate"),
            ));
        }
        if dc.template.stopped {
            continue;
        }
        let before = diags.len();
        check(plan, dc, &template, diags);
        if !has_error(&diags[before..]) {
            out.push(i);
        }
    }
    out
}

/// `stargate.ResourceName`: `CleanupForKubernetes(<cluster name>-<DatacenterName()>-stargate)`.
#[must_use]
pub fn stargate_name(plan: &ClusterPlan<'_>, dc: &DcPlan<'_>) -> String {
    cleanup_for_kubernetes(&format!(
        "{}-{}-stargate",
        plan.cass_cluster_name, dc.cass_dc_name
    ))
}

/// `stargate.ServiceName`: `CleanupForKubernetes(<cluster name>-<DatacenterName()>-stargate-service)`.
#[must_use]
pub fn service_name(plan: &ClusterPlan<'_>, dc: &DcPlan<'_>) -> String {
    cleanup_for_kubernetes(&format!(
        "{}-{}-stargate-service",
        plan.cass_cluster_name, dc.cass_dc_name
    ))
}

/// `stargate.DeploymentName`:
/// `CleanupForKubernetes(<cluster name>-<DatacenterName()>-<rack>-stargate-deployment)`.
#[must_use]
pub fn deployment_name(plan: &ClusterPlan<'_>, dc: &DcPlan<'_>, rack: &str) -> String {
    cleanup_for_kubernetes(&format!(
        "{}-{}-{rack}-stargate-deployment",
        plan.cass_cluster_name, dc.cass_dc_name
    ))
}

/// The webhook's warning text (`deprecatedWarning`).
fn deprecation(field: &str) -> String {
    format!(
        "K8ssandraCluster is using deprecated field '{field}': Stargate support is deprecated and will be removed in a future release"
    )
}

/// Checks that need the datacenter: object names the Stargate controller derives, and the
/// reproduced upstream behaviours worth a warning. They read the merged template before the
/// CRD defaults: the only default they would see, `size: 1`, is the one assumed when `size`
/// is unset.
fn check(
    plan: &ClusterPlan<'_>,
    dc: &DcPlan<'_>,
    template: &StargateTemplate<'_>,
    diags: &mut Vec<Diagnostic>,
) {
    let (cluster_tpl, dc_tpl, merged) = (template.cluster, template.datacenter, &template.merged);
    let name_at = dc.cass_dc_name_path();
    let service = service_name(plan, dc);
    if service.len() > MAX_LABEL_LEN {
        diags.push(plan.doc.error(Code::NameTooLong, name_at.clone(), format!(
            "the Stargate Service name {service:?} would have {} characters, more than 63: shorten the cluster or datacenter name",
            service.len()
        )));
    }
    // One Deployment per datacenter rack that gets replicas; its name is also a pod label value.
    let racks = dc.racks();
    let size = merged
        .get("size")
        .and_then(Value::as_u64)
        .and_then(|s| usize::try_from(s).ok())
        .unwrap_or(1);
    for rack in racks.iter().take(size) {
        let deployment = deployment_name(plan, dc, rack);
        if deployment.len() > MAX_LABEL_LEN {
            diags.push(plan.doc.error(Code::NameTooLong, name_at.clone(), format!(
                "the Stargate Deployment name {deployment:?} (rack {rack:?}) would have {} characters, more than 63, and the Stargate controller copies it into a pod label: shorten the cluster, datacenter or rack name",
                deployment.len()
            )));
        }
    }

    let cluster_allows =
        cluster_tpl.and_then(|c| c.get("allowStargateOnDataNodes")) == Some(&Value::Bool(true));
    if cluster_allows
        && dc_tpl.and_then(|d| d.get("allowStargateOnDataNodes")) == Some(&Value::Bool(false))
    {
        diags.push(plan.doc.warning(
            Code::Surprising,
            dc.path(&["stargate", "allowStargateOnDataNodes"]),
            "allowStargateOnDataNodes: false does not override the cluster-level true (k8ssandra-operator merges it as a plain bool, where false means unset); Stargate pods may still run on data nodes",
        ));
    }
    if dc
        .options
        .tolerations
        .as_ref()
        .is_some_and(|t| !t.is_empty())
        && merged
            .get("tolerations")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
    {
        let at = if dc_tpl.is_some() {
            dc.path(&["stargate"])
        } else {
            vec![Seg::Key("spec".into()), Seg::Key("stargate".into())]
        };
        diags.push(plan.doc.warning(
            Code::Surprising,
            at,
            "the Stargate pods do not get the datacenter's tolerations (k8ssandra-operator does not copy them); set stargate.tolerations if they must run on the same tainted nodes",
        ));
    }

    let Some(stargate_racks) = dc_tpl
        .and_then(|d| d.get("racks"))
        .and_then(Value::as_array)
    else {
        return;
    };
    for (i, rack) in stargate_racks.iter().enumerate() {
        let Some(rack) = rack.as_object() else {
            continue;
        };
        let mut at = dc.path(&["stargate", "racks"]);
        at.push(Seg::Index(i));
        let name = rack.get("name").and_then(Value::as_str).unwrap_or_default();
        if !racks.iter().any(|r| r == name) {
            let mut at = at.clone();
            at.push(Seg::Key("name".into()));
            diags.push(plan.doc.warning(Code::IgnoredField, at, format!(
                "Stargate rack {name:?} matches no rack of the datacenter ({}): the Stargate controller ignores it",
                racks.join(", ")
            )));
        }
        let defaulted = templates::stargate_rack_defaulted(rack);
        for field in RACK_DEFAULTED {
            let (Some(dc_value), Some(default)) = (merged.get(field), defaulted.get(field)) else {
                continue;
            };
            if rack.contains_key(field) || dc_value.is_null() || dc_value == default {
                continue;
            }
            let mut at = at.clone();
            at.push(Seg::Key(field.into()));
            diags.push(plan.doc.warning(Code::Surprising, at, format!(
                "this rack does not set {field}: the CRD default {} fills it and, in the Stargate controller's rack merge, takes precedence over the datacenter-level {field} {}{}; repeat the value on the rack",
                default,
                dc_value,
                if field == "containerImage" { " (field by field)" } else { "" }
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{cluster, plan_one_diagnosed};

    const DC1: &str = "    - metadata: {name: dc1}\n      k8sContext: east\n      size: 3\n";
    const DC2: &str = "    - metadata: {name: dc2}\n      k8sContext: west\n      size: 3\n";
    const DEPRECATED_DC0: &str = "spec.cassandra.datacenters[0].stargate";

    /// The datacenters the plan gives a Stargate (by name), and every problem found.
    fn decide(yaml: &str) -> (Vec<String>, Vec<Diagnostic>) {
        plan_one_diagnosed(yaml, |plan, diags| {
            let names = plan
                .stargate_dcs
                .iter()
                .map(|&i| plan.dcs[i].template.name.clone())
                .collect();
            (names, diags.to_vec())
        })
    }

    use crate::testing::{errors, warnings};

    /// A template at either level gives every datacenter that is not stopped a Stargate; no
    /// template, none, silently.
    #[test]
    fn which_datacenters_get_a_stargate() {
        let (dcs, diags) = decide(&cluster("c", "", &format!("{DC1}{DC2}")));
        assert!(dcs.is_empty());
        assert!(diags.is_empty(), "{diags:#?}");
        let (dcs, diags) = decide(&cluster("c", "  stargate: null\n", DC1));
        assert!(dcs.is_empty());
        assert!(diags.is_empty(), "{diags:#?}");

        let (dcs, _) = decide(&cluster(
            "c",
            "  stargate: {size: 1}\n",
            &format!("{DC1}{DC2}"),
        ));
        assert_eq!(dcs, ["dc1", "dc2"]);
        let (dcs, _) = decide(&cluster(
            "c",
            "",
            &format!("{DC1}{DC2}      stargate: {{size: 1}}\n"),
        ));
        assert_eq!(dcs, ["dc2"]);
        // Stopped: no Stargate, the deprecation warning still applies.
        let stopped = format!("{DC1}      stopped: true\n      stargate: {{size: 1}}\n{DC2}");
        let (dcs, diags) = decide(&cluster("c", "  stargate: {size: 1}\n", &stopped));
        assert_eq!(dcs, ["dc2"]);
        assert_eq!(warnings(&diags), ["spec.stargate", DEPRECATED_DC0]);
    }

    /// Deprecation warnings (webhook `ValidateDeprecatedFieldUsage`): one per use, at the field.
    #[test]
    fn deprecation_warnings() {
        let dcs = format!("{DC1}{DC2}      stargate: {{size: 1}}\n");
        let (_, diags) = decide(&cluster("c", "  stargate: {size: 1}\n", &dcs));
        assert_eq!(
            warnings(&diags),
            ["spec.stargate", "spec.cassandra.datacenters[1].stargate"]
        );
        assert!(
            diags[0]
                .message
                .starts_with("K8ssandraCluster is using deprecated field 'stargate'"),
            "{diags:#?}"
        );
        assert!(
            diags[1].message.starts_with(
                "K8ssandraCluster is using deprecated field 'cassandra.datacenters.stargate'"
            ),
            "{diags:#?}"
        );
    }

    /// Names the Stargate controller derives must fit: the Service name is a DNS label, each
    /// Deployment name a label value. A datacenter whose names do not fit gets no Stargate.
    #[test]
    fn overlong_names() {
        let long = "a".repeat(40);
        let dc = format!("{DC1}      stargate: {{size: 1}}\n");
        let (dcs, diags) = decide(&cluster(&long, "", &dc));
        assert!(dcs.is_empty());
        let e = errors(&diags);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with(
                "spec.cassandra.datacenters[0].metadata.name: the Stargate Deployment name"
            ),
            "{e:?}"
        );
        let dc = format!(
            "{DC1}      datacenterName: a-very-long-datacenter-name-x\n      stargate: {{size: 1}}\n"
        );
        let (dcs, diags) = decide(&cluster(&"b".repeat(20), "", &dc));
        assert!(dcs.is_empty());
        let e = errors(&diags);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].starts_with(
                "spec.cassandra.datacenters[0].datacenterName: the Stargate Service name"
            ),
            "{e:?}"
        );
        // Only racks that get replicas have a Deployment.
        let dc = "    - metadata: {name: dc1}\n      k8sContext: east\n      size: 3\n      racks: [{name: r1}, {name: a-very-long-rack-name-indeed}]\n      stargate: {size: 1}\n";
        let (dcs, diags) = decide(&cluster(&"c".repeat(20), "", dc));
        assert_eq!(dcs, ["dc1"]);
        assert_eq!(warnings(&diags), [DEPRECATED_DC0]);
        let (dcs, diags) = decide(&cluster(
            &"c".repeat(20),
            "",
            &dc.replace("{size: 1}", "{size: 2}"),
        ));
        assert!(dcs.is_empty());
        assert!(errors(&diags)[0].contains("a-very-long-rack-name-indeed"));
    }

    /// The reproduced upstream behaviours get a warning each, at the field, and the Stargate
    /// is still made.
    #[test]
    fn reproduced_behaviours_warn() {
        let top = "  stargate: {size: 1, allowStargateOnDataNodes: true}\n";
        let dc = "    - metadata: {name: dc1}\n      k8sContext: east\n      size: 3\n      racks: [{name: r1}]\n      tolerations: [{key: k, operator: Exists}]\n      stargate:\n        size: 1\n        heapSize: 1Gi\n        allowStargateOnDataNodes: false\n        racks: [{name: r9, serviceAccount: default}]\n";
        let (dcs, diags) = decide(&cluster("c", top, dc));
        assert_eq!(dcs, ["dc1"]);
        assert!(errors(&diags).is_empty(), "{diags:#?}");
        assert_eq!(
            warnings(&diags),
            [
                "spec.stargate",
                DEPRECATED_DC0,
                "spec.cassandra.datacenters[0].stargate.allowStargateOnDataNodes",
                DEPRECATED_DC0,
                "spec.cassandra.datacenters[0].stargate.racks[0].name",
                "spec.cassandra.datacenters[0].stargate.racks[0].heapSize",
            ]
        );
        assert!(diags[3].message.contains("tolerations"), "{diags:#?}");
        assert!(
            diags[5].message.contains("CRD default \"256Mi\""),
            "{diags:#?}"
        );
    }
}
