//! What the plan decides about a cluster's `Reaper` objects (spec components §2.1,
//! control-plane §4.6 and §6.1 rule 7): the validating webhook's Reaper rules, warnings for
//! what upstream accepts but does not use, which datacenters get a Reaper, and that what each
//! object needs can be made (its name, the template's secret-injection annotation). The render
//! module builds exactly what is decided here and reports nothing (issue #11).
//!
//! Decisions (spec `quirks.md`):
//! - #5: each Reaper is paired with its own datacenter by name (upstream pairs spec order with
//!   rollout-priority order by index).
//! - no Reaper for a `stopped` datacenter; with `deploymentMode: SINGLE`, one Reaper, for the
//!   first datacenter that is not stopped.

use serde_json::Value;

use super::templates::{self, ReaperTemplate};
use super::{ClusterPlan, DcPlan};
use crate::diagnostic::{Code, Diagnostic, has_error};
use crate::ports::inject_secret::{INJECT_SECRET_ANNOTATION, SecretInjection, parse_injections};
use crate::ports::names::cleanup_for_kubernetes;
use crate::ports::quantity::Quantity;
use crate::yaml::{Seg, keys};

/// Longest Reaper name whose Service `<name>-service` is still a DNS-1035 label.
const MAX_NAME_LEN: usize = 63 - "-service".len();

/// The Reaper objects of one cluster, decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaperPlan {
    /// The datacenters that get a Reaper object: indexes into [`ClusterPlan::dcs`], in spec
    /// order. Never empty.
    pub dcs: Vec<usize>,
    /// The entries the template's own `k8ssandra.io/inject-secret` pod annotation lists, which
    /// the Reaper credentials are added to (empty when there is none, or when no credentials
    /// are injected: without auth, or with external secrets).
    pub pod_injections: Vec<SecretInjection>,
}

/// Checks the cluster's Reaper template and decides its Reaper objects; `None` when it gets
/// none: no template, a `reaperRef`, every datacenter stopped, or a problem (then `diags`
/// says which).
#[must_use]
pub fn resolve(plan: &ClusterPlan<'_>, diags: &mut Vec<Diagnostic>) -> Option<ReaperPlan> {
    let template = templates::reaper(plan)?;
    let before = diags.len();
    validate(plan, template, diags);
    warn_ignored(plan, template, diags);
    if has_error(&diags[before..]) {
        return None;
    }

    // `reaperRef` set: the control plane creates no Reaper object; it registers the cluster with
    // the referenced Reaper through its REST API at run time, which nothing does offline.
    let reaper_ref = template.reaper_ref();
    if !reaper_ref.is_empty() {
        diags.push(plan.doc.warning(
            Code::NotRendered,
            reaper_path(&["reaperRef", "name"]),
            format!("no Reaper object is rendered for reaperRef; k8ssandra-operator would also register this cluster with Reaper {reaper_ref:?} through its REST API at run time, which k8ssandra-gitops does not do: add the cluster in that Reaper yourself"),
        ));
        return None;
    }

    let single = template.deployment_mode() == "SINGLE";
    let single_dc = plan
        .dcs
        .iter()
        .find(|d| !d.template.stopped)
        .map(|d| d.template.name.as_str());
    let dcs: Vec<usize> = plan
        .dcs
        .iter()
        .enumerate()
        .filter(|(_, dc)| {
            !dc.template.stopped && (!single || single_dc == Some(dc.template.name.as_str()))
        })
        .map(|(i, _)| i)
        .collect();
    let mut named = false;
    for &i in &dcs {
        let dc = &plan.dcs[i];
        let name = reaper_name(plan, dc);
        if name.len() > MAX_NAME_LEN {
            diags.push(plan.doc.error(Code::NameTooLong, dc.cass_dc_name_path(), format!(
                "Reaper name {name:?} has {} characters; its Service {name}-service would exceed 63: shorten the cluster or datacenter name",
                name.len()
            )));
        } else {
            named = true;
        }
    }
    let injected = plan.auth && !plan.external_secrets();
    let pod_injections = match pod_injection_annotation(template).filter(|_| injected) {
        None => Vec::new(),
        Some(text) => {
            match parse_injections(text) {
                Ok(entries) => entries,
                // Reported once for the cluster, and only about an object that could be named.
                Err(why) => {
                    if named {
                        diags.push(plan.doc.error(
                        Code::RenderFailed,
                        reaper_path(&["metadata", "pods", "annotations", INJECT_SECRET_ANNOTATION]),
                        format!("cannot add the Reaper credentials to {INJECT_SECRET_ANNOTATION}: {why}"),
                    ));
                    }
                    return None;
                }
            }
        }
    };
    if has_error(&diags[before..]) || dcs.is_empty() {
        return None;
    }
    Some(ReaperPlan {
        dcs,
        pod_injections,
    })
}

/// `DefaultResourceName`: `CleanupForKubernetes(<cluster name>-<DatacenterName()>-reaper)`.
#[must_use]
pub fn reaper_name(plan: &ClusterPlan<'_>, dc: &DcPlan<'_>) -> String {
    cleanup_for_kubernetes(&format!(
        "{}-{}-reaper",
        plan.cass_cluster_name, dc.cass_dc_name
    ))
}

/// The template's `metadata.pods.annotations["k8ssandra.io/inject-secret"]`, when it is a
/// string (anything else is replaced, as upstream's map of strings cannot hold it).
fn pod_injection_annotation<'a>(template: ReaperTemplate<'a>) -> Option<&'a str> {
    template
        .written
        .get("metadata")?
        .get("pods")?
        .get("annotations")?
        .get(INJECT_SECRET_ANNOTATION)?
        .as_str()
}

/// The validating webhook's Reaper rules (control-plane §6.1 rule 7), on the template with
/// the CRD defaults (none applies below `storageConfig`).
fn validate(plan: &ClusterPlan<'_>, template: ReaperTemplate<'_>, diags: &mut Vec<Diagnostic>) {
    if template.storage_type() != "local" {
        return;
    }
    let raw = template.written;
    let written = |key: &str| raw.contains_key(key);
    let storage_type_path = if written("storageType") {
        reaper_path(&["storageType"])
    } else {
        reaper_path(&[])
    };
    match raw.get("storageConfig").filter(|v| !v.is_null()) {
        None => diags.push(plan.doc.error(
            Code::MissingSetting,
            storage_type_path.clone(),
            "storageType local requires storageConfig (a PersistentVolumeClaim spec with accessModes and resources.requests.storage)",
        )),
        Some(sc) => {
            if sc.get("accessModes").is_none_or(Value::is_null) {
                diags.push(plan.doc.error(
                    Code::MissingSetting,
                    reaper_path(&["storageConfig"]),
                    "storageType local requires storageConfig.accessModes",
                ));
            }
            let requests = sc
                .get("resources")
                .and_then(|r| r.get("requests"))
                .filter(|r| !r.is_null());
            match requests {
                None => diags.push(plan.doc.error(
                    Code::MissingSetting,
                    reaper_path(&["storageConfig"]),
                    "storageType local requires storageConfig.resources.requests.storage",
                )),
                Some(req) => {
                    let zero = req
                        .get("storage")
                        .is_none_or(|q| Quantity::from_json(q).is_ok_and(|q| q.is_zero()));
                    if zero {
                        let at = if req.get("storage").is_some() {
                            reaper_path(&["storageConfig", "resources", "requests", "storage"])
                        } else {
                            reaper_path(&["storageConfig", "resources", "requests"])
                        };
                        diags.push(plan.doc.error(
                            Code::InvalidValue,
                            at,
                            "storageType local requires a non-zero storageConfig.resources.requests.storage",
                        ));
                    }
                }
            }
        }
    }
    if template.deployment_mode() == "PER_DC" {
        let (at, how) = if written("deploymentMode") {
            (reaper_path(&["deploymentMode"]), "")
        } else {
            (storage_type_path, " (deploymentMode defaults to PER_DC)")
        };
        diags.push(plan.doc.error(Code::ConflictingSettings, at, format!(
            "storageType local cannot be used with deploymentMode PER_DC{how}: one Reaper per datacenter needs the shared cassandra storage; use deploymentMode SINGLE or storageType cassandra"
        )));
    }
}

/// Warnings for template fields upstream accepts but does not use.
fn warn_ignored(plan: &ClusterPlan<'_>, template: ReaperTemplate<'_>, diags: &mut Vec<Diagnostic>) {
    let raw = template.written;
    for (key, why) in [
        (
            "jmxUserSecretRef",
            "JMX authentication uses the CQL role of cassandraUserSecretRef",
        ),
        (
            "initContainerImage",
            "the schema init container uses the main containerImage",
        ),
    ] {
        if raw.contains_key(key) {
            diags.push(plan.doc.warning(
                Code::Deprecated,
                reaper_path(&[key]),
                format!("{key} is deprecated and ignored by the Reaper controller ({why}); it is copied into the Reaper object unchanged, as k8ssandra-operator does"),
            ));
        }
    }
    let effective = plan.secrets_provider.as_str();
    if let Some(Value::String(sp)) = raw.get("secretsProvider")
        && sp != effective
    {
        diags.push(plan.doc.warning(
            Code::IgnoredField,
            reaper_path(&["secretsProvider"]),
            format!("reaper secretsProvider {sp:?} is ignored: the Reaper objects get the cluster's spec.secretsProvider ({effective:?})"),
        ));
    }
    if template.deployment_mode() == "CONTROL_PLANE" && template.reaper_ref().is_empty() {
        let at = reaper_path(&["deploymentMode"]);
        diags.push(plan.doc.warning(Code::Surprising, at, "deploymentMode CONTROL_PLANE is not handled specially by k8ssandra-operator: one Reaper is created per datacenter, as with PER_DC; to use a Reaper running in the control plane, set reaperRef"));
    }
    if plan.auth
        && !plan.external_secrets()
        && template.reaper_ref().is_empty()
        && plan
            .cassandra
            .meta
            .get("commonAnnotations")
            .and_then(|a| a.get(INJECT_SECRET_ANNOTATION))
            .is_some()
    {
        diags.push(plan.doc.warning(
            Code::Surprising,
            vec![
                Seg::Key("spec".into()),
                Seg::Key("cassandra".into()),
                Seg::Key("metadata".into()),
                Seg::Key("commonAnnotations".into()),
                Seg::Key(INJECT_SECRET_ANNOTATION.into()),
            ],
            "this common annotation replaces the Reaper pods' own k8ssandra.io/inject-secret (as in k8ssandra-operator), so the Reaper credentials are not mounted unless it lists them",
        ));
    }
}

/// `spec.reaper.<rest...>`.
fn reaper_path(rest: &[&str]) -> Vec<Seg> {
    let mut p = keys(&["spec", "reaper"]);
    p.extend(keys(rest));
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{cluster, plan_one_diagnosed};

    const ONE_DC: &str = "    - metadata: {name: dc1}\n      k8sContext: east\n      size: 3\n";
    const TWO_DCS: &str = "    - metadata: {name: dc1}\n      k8sContext: east\n      size: 3\n    - metadata: {name: dc2}\n      k8sContext: west\n      size: 3\n";

    /// The plan's Reaper decision for the one cluster of `yaml`, and every problem found.
    fn decide(yaml: &str) -> (Option<ReaperPlan>, Vec<Diagnostic>) {
        plan_one_diagnosed(yaml, |plan, diags| (plan.reaper.clone(), diags.to_vec()))
    }

    use crate::testing::{errors, warnings};

    /// The datacenters that get a Reaper, by name.
    fn reaper_dcs(yaml: &str) -> Vec<String> {
        plan_one_diagnosed(yaml, |plan, diags| {
            assert!(diags.is_empty(), "{diags:#?}");
            plan.reaper.as_ref().map_or_else(Vec::new, |r| {
                r.dcs
                    .iter()
                    .map(|&i| plan.dcs[i].template.name.clone())
                    .collect()
            })
        })
    }

    #[test]
    fn no_template_no_reaper_and_nothing_said() {
        let (decided, diags) = decide(&cluster("test", "", ONE_DC));
        assert_eq!(decided, None);
        assert!(diags.is_empty(), "{diags:#?}");
    }

    /// control-plane §4.6 / components §2.1: one Reaper per datacenter that is not stopped;
    /// SINGLE: one, for the first that is not stopped; every datacenter stopped: none.
    #[test]
    fn which_datacenters_get_a_reaper() {
        assert_eq!(
            reaper_dcs(&cluster("test", "  reaper: {}\n", TWO_DCS)),
            ["dc1", "dc2"]
        );
        let first_stopped =
            TWO_DCS.replacen("      size: 3\n", "      size: 3\n      stopped: true\n", 1);
        assert_eq!(
            reaper_dcs(&cluster("test", "  reaper: {}\n", &first_stopped)),
            ["dc2"]
        );
        let single = "  reaper: {deploymentMode: SINGLE}\n";
        assert_eq!(reaper_dcs(&cluster("test", single, TWO_DCS)), ["dc1"]);
        assert_eq!(
            reaper_dcs(&cluster("test", single, &first_stopped)),
            ["dc2"]
        );
        let all_stopped =
            TWO_DCS.replace("      size: 3\n", "      size: 3\n      stopped: true\n");
        assert!(reaper_dcs(&cluster("test", "  reaper: {}\n", &all_stopped)).is_empty());
    }

    /// Webhook rule 7 (golden fact 33): local storage needs a storage claim, and not PER_DC
    /// (the CRD default). A refused template gets no Reaper.
    #[test]
    fn local_storage_rules() {
        let (decided, diags) = decide(&cluster("test", "  reaper: {storageType: local}\n", ONE_DC));
        assert_eq!(decided, None);
        let e = errors(&diags);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e.iter().any(|m| m
                == "spec.reaper.storageType: storageType local requires storageConfig (a PersistentVolumeClaim spec with accessModes and resources.requests.storage)"),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.starts_with("spec.reaper.storageType: ")
                && m.contains("PER_DC (deploymentMode defaults")),
            "{e:?}"
        );

        let (decided, diags) = decide(&cluster(
            "test",
            "  reaper:\n    storageType: local\n    deploymentMode: SINGLE\n    storageConfig:\n      resources: {requests: {storage: \"0\"}}\n",
            ONE_DC,
        ));
        assert_eq!(decided, None);
        let e = errors(&diags);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].starts_with("spec.reaper.storageConfig: ") && e[0].contains("accessModes"),
            "{e:?}"
        );
        assert!(
            e[1].starts_with("spec.reaper.storageConfig.resources.requests.storage: "),
            "{e:?}"
        );

        let (_, diags) = decide(&cluster(
            "test",
            "  reaper:\n    storageType: local\n    deploymentMode: PER_DC\n    storageConfig:\n      accessModes: [ReadWriteOnce]\n",
            ONE_DC,
        ));
        let e = errors(&diags);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e.iter()
                .any(|m| m.starts_with("spec.reaper.storageConfig: ")
                    && m.ends_with("resources.requests.storage")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|m| m.starts_with("spec.reaper.deploymentMode: ")),
            "{e:?}"
        );

        assert_eq!(
            reaper_dcs(&cluster(
                "test",
                "  reaper:\n    storageType: local\n    deploymentMode: SINGLE\n    storageConfig:\n      accessModes: [ReadWriteOnce]\n      resources: {requests: {storage: 1Gi}}\n",
                TWO_DCS,
            )),
            ["dc1"]
        );
    }

    /// Deprecated and ignored fields: a warning each, and the Reaper objects are still made.
    #[test]
    fn deprecated_and_ignored_fields_warn() {
        let (decided, diags) = decide(&cluster(
            "test",
            "  reaper:\n    jmxUserSecretRef: {name: jmx}\n    initContainerImage: {name: old}\n    secretsProvider: external\n    deploymentMode: CONTROL_PLANE\n",
            TWO_DCS,
        ));
        assert!(errors(&diags).is_empty(), "{diags:#?}");
        assert_eq!(
            warnings(&diags),
            [
                "spec.reaper.jmxUserSecretRef",
                "spec.reaper.initContainerImage",
                "spec.reaper.secretsProvider",
                "spec.reaper.deploymentMode"
            ]
        );
        assert_eq!(decided.map(|r| r.dcs), Some(vec![0, 1]), "as PER_DC");
    }

    /// A common inject-secret annotation replaces the Reaper pods' own: warned about when the
    /// Reaper credentials would be injected.
    #[test]
    fn common_injection_annotation_warns() {
        let yaml = cluster("test", "  reaper: {}\n", ONE_DC).replace(
            "    serverVersion: 4.1.8\n",
            "    serverVersion: 4.1.8\n    metadata:\n      commonAnnotations: {k8ssandra.io/inject-secret: '[]'}\n",
        );
        let (decided, diags) = decide(&yaml);
        assert_eq!(
            warnings(&diags),
            [r#"spec.cassandra.metadata.commonAnnotations["k8ssandra.io/inject-secret"]"#]
        );
        assert!(decided.is_some());
        let (_, diags) = decide(&yaml.replace("spec:\n", "spec:\n  auth: false\n"));
        assert!(
            diags.is_empty(),
            "no credentials, nothing replaced: {diags:#?}"
        );
    }

    /// `reaperRef` set ⇒ no Reaper object (components §2.1), with a warning; a template with
    /// errors gets only the errors.
    #[test]
    fn reaper_ref_means_no_reaper() {
        let (decided, diags) = decide(&cluster(
            "test",
            "  reaper:\n    reaperRef: {name: reaper1}\n    uiUserSecretRef: {name: reaper-ui-secret}\n",
            TWO_DCS,
        ));
        assert_eq!(decided, None);
        assert_eq!(warnings(&diags), ["spec.reaper.reaperRef.name"]);
        assert!(diags[0].message.contains("\"reaper1\""), "{diags:#?}");

        let (decided, diags) = decide(&cluster(
            "test",
            "  reaper:\n    reaperRef: {name: reaper1}\n    storageType: local\n",
            TWO_DCS,
        ));
        assert_eq!(decided, None);
        assert!(warnings(&diags).is_empty(), "{diags:#?}");
        assert_eq!(errors(&diags).len(), 2, "{diags:#?}");
    }

    /// A Reaper name whose Service name would not be a DNS label is refused. The StatefulSet
    /// name rule caps it at exactly 55 characters for object names; only a longer
    /// `datacenterName` can go beyond.
    #[test]
    fn overlong_name() {
        let long = "a".repeat(44);
        let (decided, diags) = decide(&cluster(&long, "  reaper: {}\n", ONE_DC));
        assert!(diags.is_empty(), "{diags:#?}");
        assert_eq!(decided.map(|r| r.dcs), Some(vec![0]));
        plan_one_diagnosed(&cluster(&long, "  reaper: {}\n", ONE_DC), |plan, _| {
            assert_eq!(reaper_name(plan, &plan.dcs[0]).len(), MAX_NAME_LEN);
        });
        let dc = ONE_DC.replace(
            "      size: 3\n",
            "      size: 3\n      datacenterName: a-long-dc-name\n",
        );
        let (decided, diags) = decide(&cluster(&long, "  reaper: {}\n", &dc));
        assert_eq!(decided, None);
        let e = errors(&diags);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("spec.cassandra.datacenters[0].datacenterName: Reaper name"),
            "{e:?}"
        );
    }

    /// The template's own inject-secret annotation is read by the plan: its entries are kept
    /// for render, an unreadable one is refused (only when credentials are injected).
    #[test]
    fn pod_injection_annotation_is_read_or_refused() {
        let with = |value: &str| {
            format!(
                "  reaper:\n    metadata:\n      pods:\n        annotations:\n          k8ssandra.io/inject-secret: '{value}'\n"
            )
        };
        let (decided, diags) = decide(&cluster(
            "test",
            &with(r#"[{"name": "mine", "path": "/p"}]"#),
            ONE_DC,
        ));
        assert!(diags.is_empty(), "{diags:#?}");
        let decided = decided.expect("a Reaper");
        assert_eq!(
            decided.pod_injections,
            parse_injections(r#"[{"name": "mine", "path": "/p"}]"#).unwrap()
        );
        assert_eq!(decided.pod_injections.len(), 1);

        let (decided, diags) = decide(&cluster("test", &with("nope"), TWO_DCS));
        assert_eq!(decided, None);
        let e = errors(&diags);
        assert_eq!(e.len(), 1, "once for the cluster: {e:?}");
        assert!(
            e[0].starts_with(
                r#"spec.reaper.metadata.pods.annotations["k8ssandra.io/inject-secret"]: cannot add the Reaper credentials to k8ssandra.io/inject-secret: not valid JSON"#
            ),
            "{e:?}"
        );

        // Without auth nothing is injected, so the annotation is copied as written.
        let (decided, diags) = decide(&cluster(
            "test",
            &format!("  auth: false\n{}", with("nope")),
            ONE_DC,
        ));
        assert!(diags.is_empty(), "{diags:#?}");
        assert_eq!(decided.map(|r| r.pod_injections), Some(Vec::new()));
    }
}
