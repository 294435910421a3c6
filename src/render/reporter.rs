//! Manifests of the status reporter (RenderConfig `spec.reporter.enabled`), rendered into the
//! control-plane context: the K8ssandraCluster records it writes status to, its ServiceAccount,
//! least-privilege RBAC, Deployment, metrics Service and ServiceMonitor.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction,
    ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    SeccompProfile, SecurityContext, Service, ServiceAccount, ServicePort, ServiceSpec,
};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};

use super::{Kind, Manifest, Owner};
use crate::json::{object_meta, to_object};
use crate::plan::reporter::ReporterPlan;
use crate::plan::{ClusterPlan, Settings};

/// Name of the reporter's objects.
pub const NAME: &str = "k8ssandra-gitops-reporter";
/// Metrics and probe port.
pub const PORT: i32 = 8080;

fn strings<const N: usize>(pairs: [(&str, &str); N]) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn labels() -> BTreeMap<String, String> {
    strings([
        ("app.kubernetes.io/name", NAME),
        ("app.kubernetes.io/part-of", "k8ssandra-gitops"),
        ("app.kubernetes.io/component", "status-reporter"),
    ])
}

/// What the Deployment, Service and ServiceMonitor select the reporter's pod by.
fn selector() -> BTreeMap<String, String> {
    strings([("app.kubernetes.io/name", NAME)])
}

/// Metadata of a reporter object: its labels, no annotations.
fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    object_meta(name, namespace, labels(), BTreeMap::new())
}

fn list(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

/// An RBAC rule on `resources` of `group` (`""`: the core group).
fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(list(&[group])),
        resources: Some(list(resources)),
        verbs: list(verbs),
        ..PolicyRule::default()
    }
}

/// The reporter's ServiceAccount (in `namespace`) as the one subject of a binding.
fn subjects(namespace: &str) -> Option<Vec<Subject>> {
    Some(vec![Subject {
        kind: "ServiceAccount".into(),
        name: NAME.into(),
        namespace: Some(namespace.into()),
        ..Subject::default()
    }])
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef {
        api_group: Some("rbac.authorization.k8s.io".into()),
        kind: kind.into(),
        name: name.into(),
    }
}

/// The reporter's objects, or nothing when it is not enabled.
pub fn render(
    plans: &[ClusterPlan<'_>],
    reporter: Option<&ReporterPlan>,
    settings: &Settings,
) -> Vec<Manifest> {
    let Some(reporter) = reporter else {
        return Vec::new();
    };
    let ns = reporter.namespace.clone();
    let cp = settings.control_plane_context.clone();
    let image = reporter.image.clone();
    let m = |kind: Kind, object: Value| Manifest::new(cp.clone(), Owner::Repository, kind, object);
    let mut out = Vec::new();

    // The records: the K8ssandraClusters themselves, reconciled by nobody, status by us.
    for plan in plans {
        let mut record = crate::plan::reporter::cluster_record(plan);
        super::set_annotation(&mut record, super::SYNC_OPTIONS, super::NEVER_PRUNE.into());
        out.push(Manifest::new(
            cp.clone(),
            Owner::Cluster(plan.name.clone()),
            Kind::K8ssandraCluster,
            record,
        ));
    }

    // RBAC: its namespace's ClientConfigs and only the kubeconfig Secrets they name.
    let secrets = &reporter.kubeconfig_secrets;
    let mut rules = vec![rule(
        "config.k8ssandra.io",
        &["clientconfigs"],
        &["get", "list", "watch"],
    )];
    if !secrets.is_empty() {
        rules.push(PolicyRule {
            resource_names: Some(secrets.iter().cloned().collect()),
            ..rule("", &["secrets"], &["get"])
        });
    }
    out.push(m(
        Kind::ServiceAccount,
        to_object(&ServiceAccount {
            metadata: meta(NAME, Some(&ns)),
            ..ServiceAccount::default()
        }),
    ));
    out.push(m(
        Kind::Role,
        to_object(&Role {
            metadata: meta(NAME, Some(&ns)),
            rules: Some(rules),
        }),
    ));
    out.push(m(
        Kind::RoleBinding,
        to_object(&RoleBinding {
            metadata: meta(NAME, Some(&ns)),
            role_ref: role_ref("Role", NAME),
            subjects: subjects(&ns),
        }),
    ));
    // Cluster-wide: the records (it lists them in every namespace), their status, and the
    // datacenter objects of datacenters that run in the control-plane cluster itself.
    let seed_sync = reporter.seed_sync;
    let watch = ["get", "list", "watch"];
    let mut cluster_rules = vec![
        rule("k8ssandra.io", &["k8ssandraclusters"], &watch),
        rule(
            "k8ssandra.io",
            &["k8ssandraclusters/status"],
            &["get", "patch"],
        ),
        rule("cassandra.datastax.com", &["cassandradatacenters"], &watch),
        rule("stargate.k8ssandra.io", &["stargates"], &watch),
        rule("reaper.k8ssandra.io", &["reapers"], &watch),
    ];
    if seed_sync {
        // Seed sync watches the seed pods of every context, this one included, through its own
        // ServiceAccount here (other contexts use their ClientConfig's credentials).
        cluster_rules.push(rule("", &["pods"], &["list", "watch"]));
    }
    out.push(m(
        Kind::ClusterRole,
        to_object(&ClusterRole {
            metadata: meta(NAME, None),
            rules: Some(cluster_rules),
            ..ClusterRole::default()
        }),
    ));
    out.push(m(
        Kind::ClusterRoleBinding,
        to_object(&ClusterRoleBinding {
            metadata: meta(NAME, None),
            role_ref: role_ref("ClusterRole", NAME),
            subjects: subjects(&ns),
        }),
    ));

    // Seed sync writes the additional-seed EndpointSlices of the datacenters that run in the
    // control-plane cluster: only in their namespaces, so a Role in each (names are at most
    // 253 characters; a namespace at most 63).
    if seed_sync {
        let namespaces: BTreeSet<&str> = plans
            .iter()
            .flat_map(|p| p.dcs.iter())
            .filter(|dc| dc.context == cp)
            .map(|dc| dc.namespace.as_str())
            .collect();
        for dc_ns in namespaces {
            // The namespace in the name too: cluster-wide reporter objects share one directory.
            let seeds = format!("{NAME}-seeds-{dc_ns}");
            out.push(m(
                Kind::Role,
                to_object(&Role {
                    metadata: meta(&seeds, Some(dc_ns)),
                    rules: Some(vec![rule(
                        "discovery.k8s.io",
                        &["endpointslices"],
                        &["get", "create", "patch", "delete"],
                    )]),
                }),
            ));
            out.push(m(
                Kind::RoleBinding,
                to_object(&RoleBinding {
                    metadata: meta(&seeds, Some(dc_ns)),
                    role_ref: role_ref("Role", &seeds),
                    subjects: subjects(&ns),
                }),
            ));
        }
    }

    let interval = reporter.interval_seconds;
    let mut args = vec![
        "reporter".to_string(),
        "--control-plane-context".into(),
        cp.clone(),
        "--interval".into(),
        interval.to_string(),
        "--listen".into(),
        format!("0.0.0.0:{PORT}"),
    ];
    if seed_sync {
        args.push("--seed-sync".into());
    }
    out.push(m(
        Kind::Deployment,
        to_object(&deployment(&ns, image, args)),
    ));
    out.push(m(
        Kind::Service,
        to_object(&Service {
            metadata: meta(NAME, Some(&ns)),
            spec: Some(ServiceSpec {
                selector: Some(selector()),
                ports: Some(vec![ServicePort {
                    name: Some("metrics".into()),
                    port: PORT,
                    target_port: Some(IntOrString::String("metrics".into())),
                    protocol: Some("TCP".into()),
                    ..ServicePort::default()
                }]),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        }),
    ));
    // Not a core type: no k8s-openapi struct to build it with.
    out.push(m(
        Kind::ServiceMonitor,
        json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
        "metadata": {"name": NAME, "namespace": ns, "labels": labels()},
        "spec": {"selector": {"matchLabels": selector()},
                 "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}]}}),
    ));
    out
}

/// The reporter's Deployment: one unprivileged container running `args`.
fn deployment(ns: &str, image: String, args: Vec<String>) -> Deployment {
    let probe = |path: &str| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("metrics".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(10),
        timeout_seconds: Some(2),
        failure_threshold: Some(3),
        ..Probe::default()
    };
    let quantities = |pairs: &[(&str, &str)]| -> BTreeMap<String, Quantity> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), Quantity((*v).to_string())))
            .collect()
    };
    let container = Container {
        name: "reporter".into(),
        image: Some(image),
        command: Some(list(&["k8ssandra-gitops"])),
        args: Some(args),
        env: Some(vec![EnvVar {
            name: "POD_NAMESPACE".into(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: "metadata.namespace".into(),
                    ..ObjectFieldSelector::default()
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        }]),
        ports: Some(vec![ContainerPort {
            name: Some("metrics".into()),
            container_port: PORT,
            protocol: Some("TCP".into()),
            ..ContainerPort::default()
        }]),
        liveness_probe: Some(probe("/healthz")),
        readiness_probe: Some(probe("/readyz")),
        resources: Some(ResourceRequirements {
            requests: Some(quantities(&[("cpu", "50m"), ("memory", "64Mi")])),
            limits: Some(quantities(&[("memory", "256Mi")])),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(list(&["ALL"])),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        ..Container::default()
    };
    Deployment {
        metadata: meta(NAME, Some(ns)),
        spec: DeploymentSpec {
            replicas: Some(1),
            // One writer at a time: never two reporters racing on the same status.
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".into()),
                ..DeploymentStrategy::default()
            }),
            selector: LabelSelector {
                match_labels: Some(selector()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels()),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(NAME.into()),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(65532),
                        run_as_group: Some(65532),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..SeccompProfile::default()
                        }),
                        ..PodSecurityContext::default()
                    }),
                    containers: vec![container],
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    }
}
