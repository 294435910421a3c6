//! Medusa's effective template (components §3.1): the CRD defaults, a referenced
//! MedusaConfiguration of the repository merged under the cluster's storage properties, and
//! the webhook's and controller's checks. Decided once in the plan; render only reads it.

use serde_json::{Value, json};

use super::ClusterPlan;
use crate::diagnostic::{Code, Diagnostic};
use crate::json::{is_deep_zero, str_at};
use crate::load::Inputs;
use crate::schema::{InputKind, apply_defaults};
use crate::yaml::{Seg, keys};

/// The path of a field below `spec.medusa`.
pub(crate) fn medusa_path(rest: &[&str]) -> Vec<Seg> {
    let mut path = keys(&["spec", "medusa"]);
    path.extend(keys(rest));
    path
}

/// `<SanitizedName>-medusa`: upstream names the Medusa ConfigMap, its volume and the default CQL
/// user Secret alike.
#[must_use]
pub fn medusa_name(plan: &ClusterPlan<'_>) -> String {
    format!("{}-medusa", plan.sanitized_name)
}

/// The Secret with Medusa's CQL user: `cassandraUserSecretRef.name`, else [`medusa_name`].
#[must_use]
pub fn cql_secret_name(plan: &ClusterPlan<'_>, medusa: &Value) -> String {
    match str_at(medusa, &["cassandraUserSecretRef", "name"]) {
        "" => medusa_name(plan),
        n => n.to_string(),
    }
}

/// Applies the CRD's defaults to a Medusa template (`spec.medusa`), as the API server does.
pub fn apply_crd_defaults(medusa: &mut Value) {
    apply_defaults(InputKind::K8ssandraCluster, &["spec", "medusa"], medusa);
}

/// `MergeWithDefaults`-like merge of storage properties: the cluster's non-zero values win.
fn merge_under(kc: &Value, base: &Value) -> Value {
    match (kc, base) {
        (Value::Object(k), Value::Object(b)) => {
            let mut out = b.clone();
            for (key, v) in k {
                let merged = match out.get(key) {
                    Some(bv) if v.is_object() && bv.is_object() => merge_under(v, bv),
                    Some(bv) if is_deep_zero(v) => bv.clone(),
                    _ => v.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (k, b) if is_deep_zero(k) => b.clone(),
        (k, _) => k.clone(),
    }
}

/// The effective Medusa template of a cluster (CRD defaults applied, a referenced
/// MedusaConfiguration of the repository merged in), after the webhook's and controller's checks
/// (§3.1). `None` when the cluster has no Medusa or it is invalid (then `diags` says why).
#[must_use]
pub fn resolve(
    plan: &ClusterPlan<'_>,
    inputs: &Inputs,
    diags: &mut Vec<Diagnostic>,
) -> Option<Value> {
    let mut medusa = plan
        .doc
        .value
        .spec
        .medusa
        .clone()
        .filter(Value::is_object)?;
    apply_crd_defaults(&mut medusa);
    let before = diags.len();
    let err = |code: Code, path: &[&str], msg: String| plan.doc.error(code, medusa_path(path), msg);
    let config_ref = str_at(&medusa, &["medusaConfigurationRef", "name"]).to_string();
    if !config_ref.is_empty() {
        let r = &medusa["medusaConfigurationRef"];
        for field in [
            "apiVersion",
            "kind",
            "namespace",
            "uid",
            "resourceVersion",
            "fieldPath",
        ] {
            if !str_at(r, &[field]).is_empty() {
                diags.push(err(
                    Code::InvalidValue,
                    &["medusaConfigurationRef", field],
                    format!("medusaConfigurationRef must only name a MedusaConfiguration in the namespace of the K8ssandraCluster; {field} is not allowed"),
                ));
            }
        }
        if str_at(&medusa, &["storageProperties", "prefix"]).is_empty() {
            diags.push(err(
                Code::MissingSetting,
                &["storageProperties", "prefix"],
                "storageProperties.prefix is required with medusaConfigurationRef, so that clusters sharing the configuration do not share backups".into(),
            ));
        }
        let found = inputs.medusa_configurations.iter().find(|d| {
            d.value.name == config_ref
                && (d.value.namespace.is_empty() || d.value.namespace == plan.namespace)
        });
        match found {
            Some(doc) => {
                // User input like the cluster: checked against its CRD when loaded, reported
                // once however many clusters reference it.
                for d in &doc.value.issues {
                    if !diags.contains(d) {
                        diags.push(d.clone());
                    }
                }
                let base = &doc.value.storage_properties;
                let kc = medusa
                    .get("storageProperties")
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                medusa["storageProperties"] = merge_under(&kc, base);
            }
            None => diags.push(err(
                Code::UnknownReference,
                &["medusaConfigurationRef", "name"],
                format!(
                    "MedusaConfiguration {config_ref:?} (namespace {:?}) is not in the repository: k8ssandra-operator reads its storage settings at run time, offline they must be committed next to the K8ssandraCluster",
                    plan.namespace
                ),
            )),
        }
    } else {
        for field in ["storageProvider", "bucketName"] {
            if str_at(&medusa, &["storageProperties", field]).is_empty() {
                diags.push(err(
                    Code::MissingSetting,
                    &["storageProperties", field],
                    format!("storageProperties.{field} is required (or a medusaConfigurationRef)"),
                ));
            }
        }
    }
    let sp = &medusa["storageProperties"];
    if !str_at(sp, &["storageSecretRef", "name"]).is_empty()
        && str_at(sp, &["credentialsType"]) == "role-based"
    {
        diags.push(err(
            Code::ConflictingSettings,
            &["storageProperties", "credentialsType"],
            "storageSecretRef and credentialsType: role-based exclude each other: role-based credentials come from the pod's identity".into(),
        ));
    }
    // Client encryption towards Cassandra needs client certificates for Medusa.
    let external = plan.external_secrets();
    for dc in &plan.dcs {
        let enc = dc
            .config
            .pointer("/cassandraYaml/client_encryption_options/enabled")
            == Some(&Value::Bool(true));
        if enc
            && medusa
                .get("clientEncryptionStores")
                .is_none_or(Value::is_null)
            && (external || str_at(&medusa, &["certificatesSecretRef", "name"]).is_empty())
        {
            diags.push(err(
                Code::MissingSetting,
                &[],
                format!(
                    "datacenter {} enables client encryption: Medusa needs clientEncryptionStores{}",
                    dc.template.name,
                    if external { "" } else { " (or the deprecated certificatesSecretRef)" }
                ),
            ));
            break;
        }
    }
    (diags.len() == before).then_some(medusa)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crd_defaults_fill_the_medusa_template_but_keep_what_was_written() {
        let mut m =
            json!({"storageProperties": {"storageProvider": "s3", "concurrentTransfers": 4}});
        apply_crd_defaults(&mut m);
        assert_eq!(m["storageProperties"]["storageProvider"], "s3");
        assert_eq!(m["storageProperties"]["concurrentTransfers"], 4);
        assert_eq!(m["storageProperties"]["transferMaxBandwidth"], "50MB/s");
    }

    #[test]
    fn storage_properties_merge_under_the_cluster() {
        let base = json!({"storageProvider": "s3", "bucketName": "shared", "region": "eu", "concurrentTransfers": 8, "storageSecretRef": {"name": "creds"}});
        let kc = json!({"prefix": "team-a", "concurrentTransfers": 0, "transferMaxBandwidth": "50MB/s", "region": "us"});
        let m = merge_under(&kc, &base);
        assert_eq!(m["bucketName"], "shared");
        assert_eq!(m["region"], "us");
        assert_eq!(
            m["concurrentTransfers"], 8,
            "a zero value does not override"
        );
        assert_eq!(m["storageSecretRef"]["name"], "creds");
        assert_eq!(m["prefix"], "team-a");
    }
}
