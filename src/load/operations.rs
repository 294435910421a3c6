//! Operations documents (Medusa schedules and jobs, CassandraTasks) and MedusaConfigurations:
//! typed once here, each checked against its CRD. Where an operations document goes is decided
//! by the plan; which MedusaConfiguration a cluster uses too.

use super::Doc;
use crate::diagnostic::{Code, Diagnostic};
use crate::json::str_at;
use crate::model::operations::{MedusaConfiguration, OPERATION_VERSION, Operation, OperationKind};
use crate::schema::InputKind;
use crate::yaml::{Seg, keys};

/// Reads an operations document of `kind`: its version, its CRD schema (user input, checked
/// like a K8ssandraCluster, so that the GitOps tool never meets an object the API server
/// refuses), a MedusaBackupSchedule's cron expression, and that it names one datacenter and at
/// most one namespace for it. `None` when it cannot be placed (`diags` says why).
pub(super) fn operation(
    doc: &Doc<()>,
    kind: OperationKind,
    diags: &mut Vec<Diagnostic>,
) -> Option<Operation> {
    let v = doc.node.to_json();
    let api = str_at(&v, &["apiVersion"]);
    let kind_name = kind.name();
    let expected = format!("{}/{OPERATION_VERSION}", kind.group());
    if api != expected {
        diags.push(doc.error(
            Code::UnsupportedApiVersion,
            keys(&["apiVersion"]),
            format!("unsupported apiVersion {api:?} for {kind_name}: expected {expected:?}"),
        ));
        return None;
    }
    let issues = crate::schema::check(kind.schema(), &doc.node);
    let failed: Vec<Vec<Seg>> = issues.iter().map(|i| i.path.clone()).collect();
    for issue in issues {
        diags.push(
            doc.error(issue.code, issue.path, issue.message)
                .with_hint(issue.hint),
        );
    }
    let schema_failed_at = |p: &[&str]| {
        let p = keys(p);
        failed.iter().any(|f| p.starts_with(f) || f.starts_with(&p))
    };
    if kind == OperationKind::MedusaBackupSchedule
        && !schema_failed_at(&["spec", "cronSchedule"])
        && let Err(why) = crate::ports::cron::check(str_at(&v, &["spec", "cronSchedule"]))
    {
        diags.push(doc.error(
            Code::InvalidValue,
            keys(&["spec", "cronSchedule"]),
            format!("k8ssandra-operator's webhook refuses this cronSchedule: {why}"),
        ).with_hint(Some("minute hour day-of-month month day-of-week, e.g. \"30 2 * * *\"; or @daily, @every 12h".into())));
    }
    let name = str_at(&v, &["metadata", "name"]).to_string();
    let dc_path = kind.datacenter_path();
    let datacenter = str_at(&v, dc_path).to_string();
    if datacenter.is_empty() {
        if !schema_failed_at(dc_path) {
            diags.push(doc.error(
                Code::MissingSetting,
                keys(dc_path),
                format!("{kind_name} names no datacenter: set {}", dc_path.join(".")),
            ));
        }
        return None;
    }
    // Where the document says its datacenter lives: metadata.namespace, and for a
    // CassandraTask also spec.datacenter.namespace (where cass-operator looks it up).
    let ns_ref_path = kind.namespace_path();
    let meta_ns = str_at(&v, &["metadata", "namespace"]);
    let ref_ns = ns_ref_path.map_or("", |p| str_at(&v, p));
    if let Some(p) = ns_ref_path
        && !meta_ns.is_empty()
        && !ref_ns.is_empty()
        && meta_ns != ref_ns
    {
        diags.push(doc.error(
            Code::NamespaceMismatch,
            keys(p),
            format!(
                "{kind_name} {name:?} is in namespace {meta_ns:?} but {} is {ref_ns:?}: it is rendered next to its datacenter, so both must name the datacenter's namespace",
                p.join(".")
            ),
        ));
        return None;
    }
    let (namespace, namespace_path) = if meta_ns.is_empty() {
        (ref_ns.to_string(), ns_ref_path.map(keys))
    } else {
        (meta_ns.to_string(), Some(keys(&["metadata", "namespace"])))
    };
    Some(Operation {
        kind,
        name,
        datacenter,
        namespace,
        namespace_path,
        object: v,
    })
}

/// Reads a `medusa.k8ssandra.io` MedusaConfiguration (any version): what a referencing cluster
/// needs, and its problems, kept for when a cluster references it.
pub(super) fn medusa_configuration(doc: &Doc<()>) -> MedusaConfiguration {
    let v = doc.node.to_json();
    let api = str_at(&v, &["apiVersion"]);
    let mut issues = Vec::new();
    if api != "medusa.k8ssandra.io/v1alpha1" {
        issues.push(doc.error(
            Code::UnsupportedApiVersion,
            vec![Seg::Key("apiVersion".into())],
            format!("unsupported apiVersion {api:?} for MedusaConfiguration: expected \"medusa.k8ssandra.io/v1alpha1\""),
        ));
    }
    for issue in crate::schema::check(InputKind::MedusaConfiguration, &doc.node) {
        issues.push(
            doc.error(issue.code, issue.path, issue.message)
                .with_hint(issue.hint),
        );
    }
    MedusaConfiguration {
        name: str_at(&v, &["metadata", "name"]).to_string(),
        namespace: str_at(&v, &["metadata", "namespace"]).to_string(),
        storage_properties: v
            .pointer("/spec/storageProperties")
            .cloned()
            .unwrap_or(serde_json::Value::Null),
        issues,
    }
}
