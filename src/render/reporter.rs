//! Manifests of the status reporter (RenderConfig `spec.reporter.enabled`), rendered into the
//! control-plane context: the K8ssandraCluster records it writes status to, its ServiceAccount,
//! least-privilege RBAC, Deployment, metrics Service and ServiceMonitor.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::Manifest;
use crate::diagnostic::{Code, Diagnostic};
use crate::load::Inputs;
use crate::plan::{ClusterPlan, Settings};
use crate::yaml::Seg;

/// Name of the reporter's objects.
pub const NAME: &str = "k8ssandra-gitops-reporter";
/// Metrics and probe port.
pub const PORT: i64 = 8080;

fn labels() -> Value {
    json!({
        "app.kubernetes.io/name": NAME,
        "app.kubernetes.io/part-of": "k8ssandra-gitops",
        "app.kubernetes.io/component": "status-reporter",
    })
}

/// The reporter's objects, or nothing when it is not enabled.
pub fn render(
    plans: &[ClusterPlan<'_>],
    inputs: &Inputs,
    settings: &Settings,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Manifest> {
    let Some(rc) = &inputs.render_config else {
        return Vec::new();
    };
    let Some(cfg) = rc
        .value
        .reporter
        .as_ref()
        .filter(|r| r.enabled == Some(true))
    else {
        return Vec::new();
    };
    let ns = cfg
        .namespace
        .clone()
        .unwrap_or_else(|| "k8ssandra-operator".into());
    if !crate::ports::names::is_dns1123_label(&ns) {
        diags.push(rc.error(
            Code::InvalidName,
            vec![
                Seg::Key("spec".into()),
                Seg::Key("reporter".into()),
                Seg::Key("namespace".into()),
            ],
            format!("invalid namespace {ns:?}: must be a DNS label"),
        ));
        return Vec::new();
    }
    let cp = settings.control_plane_context.clone();
    let image = cfg.image.clone().unwrap_or_else(|| {
        format!(
            "ghcr.io/k8ssandra-gitops/k8ssandra-gitops:{}",
            env!("CARGO_PKG_VERSION")
        )
    });
    let m = |object: Value| Manifest::new(cp.clone(), String::new(), object);
    let mut out = Vec::new();

    // The records: the K8ssandraClusters themselves, reconciled by nobody, status by us.
    for plan in plans {
        let mut record =
            crate::schema::normalize(crate::schema::InputKind::K8ssandraCluster, &plan.doc.node);
        if let Some(o) = record.as_object_mut() {
            o.remove("status");
        }
        record["metadata"]["namespace"] = plan.namespace.clone().into();
        let ann = record["metadata"]
            .as_object_mut()
            .map(|meta| meta.entry("annotations").or_insert_with(|| json!({})));
        if let Some(Value::Object(a)) = ann {
            a.insert(
                super::SYNC_OPTIONS.into(),
                "Prune=false,Delete=false".into(),
            );
        }
        out.push(Manifest::new(cp.clone(), plan.name.clone(), record));
    }

    // RBAC: its namespace's ClientConfigs and only the kubeconfig Secrets they name.
    let secrets: BTreeSet<String> = inputs
        .client_configs
        .iter()
        .filter(|c| c.value.namespace.is_empty() || c.value.namespace == ns)
        .map(|c| c.value.kube_config_secret.clone())
        .filter(|s| !s.is_empty())
        .collect();
    let mut rules = vec![
        json!({"apiGroups": ["config.k8ssandra.io"], "resources": ["clientconfigs"], "verbs": ["get", "list", "watch"]}),
    ];
    if !secrets.is_empty() {
        rules.push(json!({"apiGroups": [""], "resources": ["secrets"], "resourceNames": secrets, "verbs": ["get"]}));
    }
    out.push(m(json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": NAME, "namespace": ns, "labels": labels()}})));
    out.push(m(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": NAME, "namespace": ns, "labels": labels()}, "rules": rules}),
    ));
    out.push(m(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": NAME, "namespace": ns, "labels": labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": ns}]}),
    ));
    // Cluster-wide: the records (it lists them in every namespace), their status, and the
    // datacenter objects of datacenters that run in the control-plane cluster itself.
    let seed_sync = cfg.seed_sync == Some(true);
    let mut cluster_rules = vec![
        json!({"apiGroups": ["k8ssandra.io"], "resources": ["k8ssandraclusters"], "verbs": ["get", "list", "watch"]}),
        json!({"apiGroups": ["k8ssandra.io"], "resources": ["k8ssandraclusters/status"], "verbs": ["get", "patch"]}),
        json!({"apiGroups": ["cassandra.datastax.com"], "resources": ["cassandradatacenters"], "verbs": ["get", "list", "watch"]}),
        json!({"apiGroups": ["stargate.k8ssandra.io"], "resources": ["stargates"], "verbs": ["get", "list", "watch"]}),
        json!({"apiGroups": ["reaper.k8ssandra.io"], "resources": ["reapers"], "verbs": ["get", "list", "watch"]}),
    ];
    if seed_sync {
        // Seed sync watches the seed pods of every context, this one included, through its own
        // ServiceAccount here (other contexts use their ClientConfig's credentials).
        cluster_rules
            .push(json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]}));
    }
    out.push(m(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": NAME, "labels": labels()},
        "rules": cluster_rules}),
    ));
    out.push(m(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": NAME, "labels": labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": ns}]}),
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
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": seeds, "namespace": dc_ns, "labels": labels()},
                "rules": [{"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                    "verbs": ["get", "create", "patch", "delete"]}]}),
            ));
            out.push(m(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": seeds, "namespace": dc_ns, "labels": labels()},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": seeds},
                "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": ns}]}),
            ));
        }
    }

    let probe = |path: &str| json!({"httpGet": {"path": path, "port": "metrics"}, "periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3});
    let interval = cfg.interval_seconds.unwrap_or(15);
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
    out.push(m(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": ns, "labels": labels()},
        "spec": {
            "replicas": 1,
            // One writer at a time: never two reporters racing on the same status.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            "template": {
                "metadata": {"labels": labels()},
                "spec": {
                    "serviceAccountName": NAME,
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "reporter",
                        "image": image,
                        "command": ["k8ssandra-gitops"],
                        "args": args,
                        "env": [{"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
                        "ports": [{"name": "metrics", "containerPort": PORT, "protocol": "TCP"}],
                        "livenessProbe": probe("/healthz"),
                        "readinessProbe": probe("/readyz"),
                        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
                    }],
                },
            },
        }})));
    out.push(m(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": NAME, "namespace": ns, "labels": labels()},
        "spec": {"selector": {"app.kubernetes.io/name": NAME},
                 "ports": [{"name": "metrics", "port": PORT, "targetPort": "metrics", "protocol": "TCP"}]}})));
    out.push(m(
        json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
        "metadata": {"name": NAME, "namespace": ns, "labels": labels()},
        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
                 "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}]}}),
    ));
    out
}
