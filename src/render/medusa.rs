//! Medusa backups (components §3, quirks 4, 6, 7, 8): the effective template (a referenced
//! MedusaConfiguration merged under the cluster's storage properties), the `medusa.ini`
//! ConfigMap, what is injected into each CassandraDatacenter, and the purge schedule.
//!
//! The user's own MedusaBackupSchedule/Job/RestoreJob and CassandraTask documents are copied by
//! [`route`] where the plan routed them ([`crate::plan::operations`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use k8s_openapi::api::core::v1::ConfigMap;

use super::contribution::{Contribution, Merge, SecretInjection};
use super::{Kind, Manifest, Owner};
use crate::diagnostic::{Code, Diagnostic};
use crate::json::{int_at, object_meta, str_at, to_object};
use crate::plan::medusa::{cql_secret_name, medusa_name, medusa_path};
use crate::plan::operations::RoutedOperation;
use crate::plan::waves::Wave;
use crate::plan::{ClusterPlan, DcPlan};
use crate::ports::names::cleanup_for_kubernetes;
use crate::yaml::Seg;

/// The gRPC port Medusa listens on unless `serviceProperties.grpcPort` says otherwise.
pub const DEFAULT_GRPC_PORT: i64 = 50051;
/// The Medusa image of k8ssandra-operator's ImageConfig (control-plane §7.1).
const DEFAULT_IMAGE: (&str, &str, &str, &str) = ("docker.io", "k8ssandra", "medusa", "0.29.1");
/// DC annotation naming the gRPC port, for the Medusa controllers.
pub const GRPC_PORT_ANNOTATION: &str = "medusa.k8ssandra.io/grpc-port";
/// DC annotation naming the gRPC client certificate Secret.
pub const GRPC_CLIENT_SECRET_ANNOTATION: &str = "medusa.k8ssandra.io/grpc-client-secret-name";

/// `medusa.ini` (components §3.2): starts with a newline, every line indented by four spaces,
/// sections separated by an empty line, no trailing newline.
#[must_use]
pub fn medusa_ini(medusa: &Value, kc_name: &str, mgmt_tls: bool, external_secrets: bool) -> String {
    let sp = &medusa["storageProperties"];
    let mut lines: Vec<String> = vec![String::new()];
    let section = |name: &str, entries: Vec<String>, lines: &mut Vec<String>| {
        if lines.len() > 1 {
            lines.push(String::new());
        }
        lines.push(format!("[{name}]"));
        lines.extend(entries);
    };
    let mut cassandra = vec!["use_sudo = false".to_string()];
    let certs = if external_secrets {
        ""
    } else {
        str_at(medusa, &["certificatesSecretRef", "name"])
    };
    if !certs.is_empty() {
        cassandra.extend([
            "certfile = /etc/certificates/rootca.crt".into(),
            "usercert = /etc/certificates/client.crt_signed".into(),
            "userkey = /etc/certificates/client.key".into(),
        ]);
    } else if let Some(stores) = medusa
        .get("clientEncryptionStores")
        .filter(|v| v.is_object())
    {
        for (r, line) in [
            (
                "keystoreSecretRef",
                "certfile = /etc/certificates/certfile/",
            ),
            (
                "truststoreSecretRef",
                "usercert = /etc/certificates/usercert/",
            ),
            (
                "truststorePasswordSecretRef",
                "userkey = /etc/certificates/userkey/",
            ),
        ] {
            if stores.get(r).is_some_and(Value::is_object) {
                cassandra.push(format!("{line}{}", str_at(stores, &[r, "key"])));
            }
        }
    }
    section("cassandra", cassandra, &mut lines);

    let mut storage = vec![
        "use_sudo_for_restore = false".to_string(),
        format!("storage_provider = {}", str_at(sp, &["storageProvider"])),
        format!("bucket_name = {}", str_at(sp, &["bucketName"])),
    ];
    if !str_at(sp, &["storageSecretRef", "name"]).is_empty() {
        storage.push("key_file = /etc/medusa-secrets/credentials".into());
    }
    let prefix = str_at(sp, &["prefix"]);
    storage.push(format!(
        "prefix = {}",
        if prefix.is_empty() { kc_name } else { prefix }
    ));
    storage.push(format!(
        "max_backup_age = {}",
        int_at(sp, &["maxBackupAge"])
    ));
    storage.push(format!(
        "max_backup_count = {}",
        int_at(sp, &["maxBackupCount"])
    ));
    for (key, field) in [("region", "region"), ("host", "host")] {
        if !str_at(sp, &[field]).is_empty() {
            storage.push(format!("{key} = {}", str_at(sp, &[field])));
        }
    }
    if int_at(sp, &["port"]) != 0 {
        storage.push(format!("port = {}", int_at(sp, &["port"])));
    }
    let flag = |b: bool| if b { "True" } else { "False" };
    storage.push(format!(
        "secure = {}",
        flag(sp.get("secure") == Some(&Value::Bool(true)))
    ));
    storage.push(format!(
        "ssl_verify = {}",
        flag(sp.get("sslVerify") == Some(&Value::Bool(true)))
    ));
    if int_at(sp, &["backupGracePeriodInDays"]) != 0 {
        storage.push(format!(
            "backup_grace_period_in_days = {}",
            int_at(sp, &["backupGracePeriodInDays"])
        ));
    }
    for (key, field) in [
        ("api_profile", "apiProfile"),
        ("transfer_max_bandwidth", "transferMaxBandwidth"),
    ] {
        if !str_at(sp, &[field]).is_empty() {
            storage.push(format!("{key} = {}", str_at(sp, &[field])));
        }
    }
    storage.push(format!(
        "concurrent_transfers = {}",
        match int_at(sp, &["concurrentTransfers"]) {
            0 => 1,
            n => n,
        }
    ));
    if int_at(sp, &["multiPartUploadThreshold"]) != 0 {
        storage.push(format!(
            "multi_part_upload_threshold = {}",
            int_at(sp, &["multiPartUploadThreshold"])
        ));
    }
    section("storage", storage, &mut lines);

    let mut grpc = vec!["enabled = 1".to_string()];
    let port = int_at(medusa, &["serviceProperties", "grpcPort"]);
    if port != 0 {
        grpc.push(format!("port = {port}"));
    }
    if medusa
        .pointer("/serviceProperties/encryption")
        .is_some_and(Value::is_object)
    {
        grpc.extend([
            "ca_cert = /etc/certificates/grpc-server-certs/ca.crt".into(),
            "tls_cert = /etc/certificates/grpc-server-certs/tls.crt".into(),
            "tls_key = /etc/certificates/grpc-server-certs/tls.key".into(),
        ]);
    }
    section("grpc", grpc, &mut lines);
    section("logging", vec!["level = DEBUG".into()], &mut lines);
    let mut kubernetes = vec!["use_mgmt_api = 1".to_string(), "enabled = 1".to_string()];
    if mgmt_tls {
        kubernetes.extend([
            "cassandra_url = https://127.0.0.1:8080/api/v0/ops/node/snapshots".into(),
            "ca_cert = /etc/encryption/mgmt/ca.crt".into(),
            "tls_cert = /etc/encryption/mgmt/tls.crt".into(),
            "tls_key = /etc/encryption/mgmt/tls.key".into(),
        ]);
    } else {
        kubernetes.push("cassandra_url = http://127.0.0.1:8080/api/v0/ops/node/snapshots".into());
    }
    section("kubernetes", kubernetes, &mut lines);
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            if !l.is_empty() {
                out.push_str("    ");
            }
        }
        out.push_str(l);
    }
    out
}

fn mgmt_tls(dc: &DcPlan<'_>) -> Option<String> {
    dc.options
        .management_api_auth
        .as_ref()
        .and_then(|m| m.get("manual"))
        .filter(|m| m.is_object())
        .map(|m| str_at(m, &["clientSecretName"]).to_string())
}

/// The image of the Medusa containers and its pull policy (`images.Image` overrides applied to
/// the registry default).
fn image(medusa: &Value) -> (String, String) {
    let (mut registry, mut repository, mut name, mut tag) = (
        DEFAULT_IMAGE.0.to_string(),
        DEFAULT_IMAGE.1.to_string(),
        DEFAULT_IMAGE.2.to_string(),
        DEFAULT_IMAGE.3.to_string(),
    );
    let mut pull = "IfNotPresent".to_string();
    if let Some(img) = medusa.get("containerImage").filter(|v| v.is_object()) {
        for (field, slot) in [
            ("registry", &mut registry),
            ("repository", &mut repository),
            ("name", &mut name),
            ("tag", &mut tag),
            ("pullPolicy", &mut pull),
        ] {
            let v = str_at(img, &[field]);
            if !v.is_empty() {
                *slot = v.to_string();
            }
        }
    }
    let path = if repository.is_empty() {
        name
    } else {
        format!("{repository}/{name}")
    };
    (format!("{registry}/{path}:{tag}"), pull)
}

fn env(mode: &str, cql_secret: Option<&str>) -> Value {
    let mut env = vec![
        json!({"name": "MEDUSA_MODE", "value": mode}),
        json!({"name": "MEDUSA_TMP_DIR", "value": "/var/lib/cassandra"}),
        json!({"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}),
    ];
    if let Some(secret) = cql_secret {
        for (var, key) in [("CQL_USERNAME", "username"), ("CQL_PASSWORD", "password")] {
            env.push(
                json!({"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}),
            );
        }
    }
    Value::Array(env)
}

fn mounts(plan: &ClusterPlan<'_>, dc: &DcPlan<'_>, medusa: &Value, external: bool) -> Value {
    let mut m = vec![
        json!({"name": "server-config", "mountPath": "/etc/cassandra"}),
        json!({"name": "server-data", "mountPath": "/var/lib/cassandra"}),
        json!({"name": medusa_name(plan), "mountPath": "/etc/medusa"}),
        json!({"name": "podinfo", "mountPath": "/etc/podinfo"}),
        json!({"name": "medusa-tmp", "mountPath": "/tmp"}),
    ];
    if !external && !str_at(medusa, &["certificatesSecretRef", "name"]).is_empty() {
        m.push(json!({"name": "certificates", "mountPath": "/etc/certificates"}));
    } else if medusa
        .get("clientEncryptionStores")
        .is_some_and(Value::is_object)
    {
        for n in ["certfile", "usercert", "userkey"] {
            m.push(json!({"name": n, "mountPath": format!("/etc/certificates/{n}")}));
        }
    }
    if !str_at(
        medusa,
        &["serviceProperties", "encryption", "serverSecretName"],
    )
    .is_empty()
    {
        m.push(json!({"name": "grpc-server-certs", "mountPath": "/etc/certificates/grpc-server-certs"}));
    }
    let storage_secret = str_at(medusa, &["storageProperties", "storageSecretRef", "name"]);
    if !storage_secret.is_empty() {
        m.push(json!({"name": storage_secret, "mountPath": "/etc/medusa-secrets"}));
    }
    if mgmt_tls(dc).is_some() {
        m.push(json!({"name": "mgmt-encryption", "mountPath": "/etc/encryption/mgmt"}));
    }
    Value::Array(m)
}

fn resources(medusa: &Value, field: &str) -> Value {
    medusa
        .get(field)
        .filter(|v| v.is_object())
        .cloned()
        .unwrap_or_else(
            || json!({"requests": {"cpu": "100m", "memory": "100Mi"}, "limits": {"memory": "8Gi"}}),
        )
}

/// A user probe that changes the handler of the medusa container's probe (`{field}.{handler}`).
#[derive(Debug, thiserror::Error)]
#[error(
    "{field}.{handler}: the probe handler of the medusa container cannot be changed, only its timings"
)]
pub struct ProbeHandlerChanged {
    field: String,
    handler: String,
}

impl ProbeHandlerChanged {
    /// Where the probe was written: `spec.medusa.<field>`.
    #[must_use]
    pub fn path(&self) -> Vec<Seg> {
        medusa_path(&[&self.field])
    }
}

/// Merges a user probe over the default; changing the handler is refused (as upstream).
fn probe(medusa: &Value, field: &str, port: i64) -> Result<Value, ProbeHandlerChanged> {
    let mut command = vec![
        "/bin/grpc_health_probe".to_string(),
        format!("--addr=:{port}"),
    ];
    if medusa
        .pointer("/serviceProperties/encryption")
        .is_some_and(Value::is_object)
    {
        command.extend(
            [
                "--tls",
                "--tls-ca-cert=/etc/certificates/grpc-server-certs/ca.crt",
                "--tls-client-cert=/etc/certificates/grpc-server-certs/tls.crt",
                "--tls-client-key=/etc/certificates/grpc-server-certs/tls.key",
            ]
            .map(str::to_string),
        );
    }
    let mut p = json!({
        "exec": {"command": command},
        "initialDelaySeconds": 10,
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 10,
    });
    if let Some(Value::Object(user)) = medusa.get(field) {
        for (k, v) in user {
            if matches!(k.as_str(), "exec" | "httpGet" | "tcpSocket" | "grpc") {
                if p.get(k) != Some(v) {
                    return Err(ProbeHandlerChanged {
                        field: field.to_string(),
                        handler: k.clone(),
                    });
                }
                continue;
            }
            if !crate::json::is_omitempty_zero(v) {
                p[k.as_str()] = v.clone();
            }
        }
    }
    Ok(p)
}

/// Everything Medusa adds to one datacenter (§3.3): containers, volumes, its CQL user, DC
/// annotations and the credentials injection, applied by the datacenter module.
///
/// # Errors
/// A probe whose handler was changed.
pub fn contribution(
    plan: &ClusterPlan<'_>,
    dc: &DcPlan<'_>,
    medusa: &Value,
) -> Result<Contribution, ProbeHandlerChanged> {
    let mut out = Contribution::default();
    let external = plan.external_secrets();
    let cql = (!external).then(|| cql_secret_name(plan, medusa));
    let (image, pull) = image(medusa);
    let security = medusa
        .get("securityContext")
        .filter(|v| v.is_object())
        .cloned();
    let container = |name: &str, mode: &str, res: &str| {
        let mut c = Map::new();
        c.insert("name".into(), name.into());
        c.insert("image".into(), image.clone().into());
        c.insert("imagePullPolicy".into(), pull.clone().into());
        if let Some(s) = &security {
            c.insert("securityContext".into(), s.clone());
        }
        c.insert("env".into(), env(mode, cql.as_deref()));
        c.insert("volumeMounts".into(), mounts(plan, dc, medusa, external));
        c.insert("resources".into(), resources(medusa, res));
        c
    };

    // medusa-restore: rebuilt in place, or appended after cass-operator's server-config-init.
    let restore = Value::Object(container(
        "medusa-restore",
        "RESTORE",
        "initContainerResources",
    ));
    out.init_containers.push((restore, Merge::ByName));
    let port = match int_at(medusa, &["serviceProperties", "grpcPort"]) {
        0 => DEFAULT_GRPC_PORT,
        p => {
            out.dc_annotations
                .push((GRPC_PORT_ANNOTATION.into(), p.to_string().into()));
            p
        }
    };
    let mut main = container("medusa", "GRPC", "containerResources");
    main.insert(
        "ports".into(),
        json!([{"name": "grpc", "containerPort": port, "protocol": "TCP"}]),
    );
    for (field, key) in [
        ("readinessProbe", "readinessProbe"),
        ("livenessProbe", "livenessProbe"),
    ] {
        let p = probe(medusa, field, port)?;
        main.insert(key.into(), p);
    }
    // Upstream keeps the field order of corev1.Container; ours is sorted on output anyway.
    out.containers.push((Value::Object(main), Merge::ByName));

    // Pod volumes, added or replaced by name, in upstream's order.
    let mut volumes =
        vec![json!({"name": medusa_name(plan), "configMap": {"name": medusa_name(plan)}})];
    let storage_secret = str_at(medusa, &["storageProperties", "storageSecretRef", "name"]);
    if !storage_secret.is_empty() {
        volumes.push(json!({"name": storage_secret, "secret": {"secretName": storage_secret}}));
    }
    volumes.push(json!({"name": "podinfo", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}));
    let certs = str_at(medusa, &["certificatesSecretRef", "name"]);
    if !external && !certs.is_empty() {
        volumes.push(json!({"name": "certificates", "secret": {"secretName": certs}}));
    } else if let Some(stores) = medusa
        .get("clientEncryptionStores")
        .filter(|v| v.is_object())
    {
        for (r, n) in [
            ("keystoreSecretRef", "certfile"),
            ("truststoreSecretRef", "usercert"),
            ("truststorePasswordSecretRef", "userkey"),
        ] {
            if stores.get(r).is_some_and(Value::is_object) {
                volumes.push(
                    json!({"name": n, "secret": {"secretName": str_at(stores, &[r, "name"])}}),
                );
            }
        }
    }
    if let Some(secret) = mgmt_tls(dc) {
        volumes.push(json!({"name": "mgmt-encryption", "secret": {"secretName": secret}}));
    }
    volumes.push(json!({"name": "medusa-tmp", "emptyDir": {}}));
    let server_certs = str_at(
        medusa,
        &["serviceProperties", "encryption", "serverSecretName"],
    );
    if !server_certs.is_empty() {
        volumes.push(json!({"name": "grpc-server-certs", "secret": {"secretName": server_certs}}));
    }
    out.volumes
        .extend(volumes.into_iter().map(|v| (v, Merge::ByName)));

    let client_secret = str_at(
        medusa,
        &["serviceProperties", "encryption", "clientSecretName"],
    );
    if !client_secret.is_empty() {
        out.dc_annotations
            .push((GRPC_CLIENT_SECRET_ANNOTATION.into(), client_secret.into()));
    }
    if let Some(cql) = cql {
        out.users
            .push(json!({"secretName": cql, "superuser": true}));
        // Quirk 6: always on the pod template, not only when pod annotations already exist.
        out.secret_injections.push(SecretInjection {
            feature: "Medusa",
            secret: cql,
            containers: &["medusa", "medusa-restore"],
        });
    }
    Ok(out)
}

/// A ConfigMap's `data`.
pub type ConfigMapData = BTreeMap<String, String>;

/// The data of the Medusa ConfigMap that datacenter `dc` mounts ([`medusa_name`] in its
/// namespace), when the cluster has Medusa. Datacenters sharing a namespace share the ConfigMap
/// ([`render`] refuses them when their data differs); the datacenter module hashes this data.
#[must_use]
pub fn config_map_data(
    plan: &ClusterPlan<'_>,
    dc: &DcPlan<'_>,
) -> Option<BTreeMap<String, String>> {
    let medusa = plan.medusa.as_ref()?;
    let ini = medusa_ini(
        medusa,
        &plan.name,
        mgmt_tls(dc).is_some(),
        plan.external_secrets(),
    );
    Some(BTreeMap::from([("medusa.ini".to_string(), ini)]))
}

/// The Medusa ConfigMaps (one per namespace with a datacenter, quirk 8 refused) and purge
/// schedules of one cluster.
pub fn render(plan: &ClusterPlan<'_>, diags: &mut Vec<Diagnostic>) -> Vec<Manifest> {
    let Some(medusa) = &plan.medusa else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // (context, namespace) → (first DC there in spec order, its data, the earliest rollout
    // position there: the ConfigMap comes with the first datacenter that mounts it).
    let mut by_namespace: BTreeMap<(String, String), (String, ConfigMapData, usize)> =
        BTreeMap::new();
    for dc in &plan.dcs {
        let data = config_map_data(plan, dc).unwrap_or_default();
        let position = plan.position(dc.index);
        let key = (dc.context.clone(), dc.namespace.clone());
        match by_namespace.get_mut(&key) {
            Some((first, other, _)) if *other != data => diags.push(plan.doc.error(
                Code::OutputCollision,
                dc.path(&["managementApiAuth"]),
                format!(
                    "datacenters {first} and {} share namespace {:?} and so the {} ConfigMap, but need different medusa.ini files (management API TLS differs); k8ssandra-operator would let them overwrite each other — put them in different namespaces or give both the same managementApiAuth",
                    dc.template.name,
                    dc.namespace,
                    medusa_name(plan)
                ),
            )),
            Some((_, _, earliest)) => *earliest = (*earliest).min(position),
            None => {
                by_namespace.insert(key, (dc.template.name.clone(), data, position));
            }
        }
    }
    for ((context, namespace), (_, data, position)) in by_namespace {
        let config_map = ConfigMap {
            metadata: object_meta(
                medusa_name(plan),
                Some(&namespace),
                super::labels::cleaned_up_by(plan),
                BTreeMap::new(),
            ),
            data: Some(data),
            ..ConfigMap::default()
        };
        out.push(Manifest::placed(
            context,
            Owner::Cluster(plan.name.clone()),
            Kind::ConfigMap,
            Wave::Datacenter(position),
            to_object(&config_map),
        ));
    }
    if medusa.get("purgeBackups") != Some(&Value::Bool(false)) {
        for dc in &plan.dcs {
            // Quirk 4: named after and pointing at the DC object name, cleaned.
            let name = cleanup_for_kubernetes(&format!(
                "{}-{}-medusa-purge",
                plan.sanitized_name, dc.template.name
            ));
            out.push(Manifest::after_datacenters(
                plan,
                dc,
                Kind::MedusaBackupSchedule,
                json!({
                    "apiVersion": "medusa.k8ssandra.io/v1alpha1",
                    "kind": "MedusaBackupSchedule",
                    "metadata": {
                        "name": name,
                        "namespace": dc.namespace,
                        "labels": super::labels::cleaned_up_by_labels(plan),
                    },
                    "spec": {
                        "cronSchedule": "0 0 * * *",
                        "operationType": "purge",
                        "backupSpec": {"cassandraDatacenter": dc.template.name, "backupType": "differential"},
                    },
                }),
            ));
        }
    }
    out
}

/// `(context, kind, namespace, name)` of an object.
pub type RouteKey = (String, Kind, String, String);

/// Which cluster's object holds each key that a routed operations document would take, so that
/// a document never replaces a cluster's object; gathered while the clusters stream past
/// (only the routed keys are kept, not every object).
#[derive(Debug, Default)]
pub struct RouteOwners(BTreeMap<RouteKey, (String, String)>);

impl RouteOwners {
    /// Keys of the routed documents, none owned yet.
    #[must_use]
    pub fn wanted(routed: &[RoutedOperation<'_>]) -> BTreeSet<RouteKey> {
        routed
            .iter()
            .map(|r| {
                (
                    r.context.clone(),
                    r.operation().kind.into(),
                    r.namespace.clone(),
                    r.operation().name.clone(),
                )
            })
            .collect()
    }

    /// Notes a cluster's object when a routed document wants its key. Of two clusters' objects
    /// with one key, the one whose output path sorts last is named (as a render of the whole
    /// repository at once names it).
    pub fn note(&mut self, wanted: &BTreeSet<RouteKey>, m: &Manifest) {
        // Only an object of an operations kind can have a routed document's key: the others
        // are passed over before any key is built.
        if wanted.is_empty() || !m.kind().is_operation() {
            return;
        }
        let key = (
            m.context.clone(),
            m.kind(),
            m.namespace().to_string(),
            m.name().to_string(),
        );
        if !wanted.contains(&key) {
            return;
        }
        let path = m.rel_path();
        match self.0.get(&key) {
            Some((p, _)) if *p > path => {}
            _ => {
                self.0.insert(key, (path, m.cluster().to_string()));
            }
        }
    }
}

/// Copies the repository's Medusa schedules/jobs and CassandraTasks into the context and
/// namespace of the datacenter the plan routed them to. `owners` holds the clusters' objects
/// that those documents would replace (see [`RouteOwners`]): a routed document must not.
pub fn route(
    routed: &[RoutedOperation<'_>],
    owners: &RouteOwners,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Manifest> {
    // (context, kind, namespace, name) of every object written so far, and who writes it
    // (and where, for a routed document).
    type Writer = (String, Option<(std::path::PathBuf, crate::yaml::Pos)>);
    let mut taken: BTreeMap<RouteKey, Writer> = owners
        .0
        .iter()
        .map(|(key, (_, cluster))| (key.clone(), (format!("K8ssandraCluster {cluster}"), None)))
        .collect();
    let mut out = Vec::new();
    for r in routed {
        let (doc, operation) = (r.doc, r.operation());
        let (kind, name) = (operation.kind.name(), operation.name.as_str());
        let key = (
            r.context.clone(),
            operation.kind.into(),
            r.namespace.clone(),
            name.to_string(),
        );
        if let Some((owner, place)) = taken.get(&key) {
            let mut d = doc.error(
                Code::OutputCollision,
                vec![Seg::Key("metadata".into()), Seg::Key("name".into())],
                format!(
                    "{kind} {}/{name} in context {} is already written by {owner}; give this one another name",
                    r.namespace, r.context
                ),
            );
            if let Some((file, pos)) = place {
                d = d.with_related(file.clone(), *pos, "first written here");
            }
            diags.push(d);
            continue;
        }
        taken.insert(
            key,
            (
                "another document".to_string(),
                Some((doc.origin.file.clone(), doc.locate(&[]))),
            ),
        );
        let mut object = operation.object.clone();
        object["metadata"]["namespace"] = r.namespace.clone().into();
        if operation.kind.namespace_path().is_some() {
            // cass-operator looks the datacenter up in spec.datacenter.namespace: without it, the
            // task would never find its datacenter.
            object["spec"]["datacenter"]["namespace"] = r.namespace.clone().into();
        }
        // After the datacenter it names is up, unless the user chose a wave.
        let annotations = object["metadata"]
            .as_object_mut()
            .map(|m| m.entry("annotations").or_insert_with(|| json!({})));
        if let Some(Value::Object(a)) = annotations {
            a.entry(super::SYNC_WAVE)
                .or_insert_with(|| r.wave().number().to_string().into());
        }
        let owner = Owner::Datacenter {
            cluster: r.cluster.clone(),
            dc: r.dc,
        };
        out.push(Manifest::new(
            r.context.clone(),
            owner,
            operation.kind.into(),
            object,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::medusa::apply_crd_defaults;

    fn ini(storage: Value, extra: Value) -> String {
        let mut m = json!({"storageProperties": storage});
        if let Value::Object(e) = extra {
            for (k, v) in e {
                m[k.as_str()] = v;
            }
        }
        apply_crd_defaults(&mut m);
        medusa_ini(&m, "demo", false, false)
    }

    /// Written from the layout of components §3.2, line by line.
    #[test]
    fn s3_compatible_layout_line_by_line() {
        let got = ini(
            json!({"storageProvider": "s3_compatible", "bucketName": "k8ssandra-medusa", "prefix": "test",
                   "storageSecretRef": {"name": "medusa-bucket-key"}, "host": "minio.minio.svc", "port": 9000, "secure": false}),
            json!({"serviceProperties": {"grpcPort": 55055}}),
        );
        let expected = [
            "",
            "    [cassandra]",
            "    use_sudo = false",
            "",
            "    [storage]",
            "    use_sudo_for_restore = false",
            "    storage_provider = s3_compatible",
            "    bucket_name = k8ssandra-medusa",
            "    key_file = /etc/medusa-secrets/credentials",
            "    prefix = test",
            "    max_backup_age = 0",
            "    max_backup_count = 0",
            "    host = minio.minio.svc",
            "    port = 9000",
            "    secure = False",
            "    ssl_verify = False",
            "    transfer_max_bandwidth = 50MB/s",
            "    concurrent_transfers = 1",
            "    multi_part_upload_threshold = 104857600",
            "",
            "    [grpc]",
            "    enabled = 1",
            "    port = 55055",
            "",
            "    [logging]",
            "    level = DEBUG",
            "",
            "    [kubernetes]",
            "    use_mgmt_api = 1",
            "    enabled = 1",
            "    cassandra_url = http://127.0.0.1:8080/api/v0/ops/node/snapshots",
        ];
        let lines: Vec<&str> = got.split('\n').collect();
        assert_eq!(lines, expected);
        assert!(!got.ends_with('\n'));
    }

    #[test]
    fn optional_lines_certificates_and_mgmt_tls() {
        let mut m = json!({
            "storageProperties": {"storageProvider": "google_storage", "bucketName": "b", "region": "eu",
                                  "secure": true, "sslVerify": true, "backupGracePeriodInDays": 3,
                                  "apiProfile": "p", "concurrentTransfers": 4, "maxBackupAge": 7, "maxBackupCount": 2},
            "certificatesSecretRef": {"name": "c"},
            "serviceProperties": {"encryption": {"serverSecretName": "s"}},
        });
        apply_crd_defaults(&mut m);
        let got = medusa_ini(&m, "kc", true, false);
        for line in [
            "\n    certfile = /etc/certificates/rootca.crt\n    usercert = /etc/certificates/client.crt_signed\n    userkey = /etc/certificates/client.key\n",
            "\n    prefix = kc\n    max_backup_age = 7\n    max_backup_count = 2\n    region = eu\n    secure = True\n    ssl_verify = True\n    backup_grace_period_in_days = 3\n    api_profile = p\n    transfer_max_bandwidth = 50MB/s\n    concurrent_transfers = 4\n",
            "\n    ca_cert = /etc/certificates/grpc-server-certs/ca.crt\n",
            "\n    cassandra_url = https://127.0.0.1:8080/api/v0/ops/node/snapshots\n    ca_cert = /etc/encryption/mgmt/ca.crt\n    tls_cert = /etc/encryption/mgmt/tls.crt\n    tls_key = /etc/encryption/mgmt/tls.key",
        ] {
            assert!(got.contains(line), "missing {line:?} in\n{got}");
        }
        assert!(!got.contains("key_file"));
    }

    #[test]
    fn client_encryption_stores_name_their_keys() {
        let m = json!({"storageProperties": {"storageProvider": "s3", "bucketName": "b"},
            "clientEncryptionStores": {"keystoreSecretRef": {"name": "ks", "key": "keystore.jks"}, "truststoreSecretRef": {"name": "ts", "key": "truststore.jks"}}});
        let got = medusa_ini(&m, "kc", false, false);
        assert!(got.contains("\n    certfile = /etc/certificates/certfile/keystore.jks\n    usercert = /etc/certificates/usercert/truststore.jks\n\n    [storage]"));
    }

    #[test]
    fn image_overrides() {
        assert_eq!(
            image(&json!({})),
            (
                "docker.io/k8ssandra/medusa:0.29.1".into(),
                "IfNotPresent".into()
            )
        );
        assert_eq!(
            image(
                &json!({"containerImage": {"registry": "reg.local", "tag": "0.30.0", "pullPolicy": "Always"}})
            ),
            ("reg.local/k8ssandra/medusa:0.30.0".into(), "Always".into())
        );
    }

    #[test]
    fn probe_timings_merge_but_handlers_are_refused() {
        let p = probe(
            &json!({"readinessProbe": {"periodSeconds": 30}}),
            "readinessProbe",
            50051,
        )
        .unwrap();
        assert_eq!(p["periodSeconds"], 30);
        assert_eq!(
            p["exec"]["command"],
            json!(["/bin/grpc_health_probe", "--addr=:50051"])
        );
        let e = probe(
            &json!({"livenessProbe": {"httpGet": {"port": 80}}}),
            "livenessProbe",
            50051,
        )
        .unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.handler.as_str()),
            ("livenessProbe", "httpGet")
        );
        assert_eq!(
            crate::yaml::path_string(&e.path()),
            "spec.medusa.livenessProbe"
        );
        assert!(e.to_string().contains("cannot be changed"));
    }

    /// The routed document belongs to the datacenter it names, by its place in the spec, not
    /// its place in the rollout: here the analytics datacenter (second in the spec) rolls out
    /// first.
    #[test]
    fn a_routed_document_is_owned_by_the_datacenter_it_names() {
        use crate::testing::{CONTEXTS, HEAD, cluster};
        let dcs = "    - {metadata: {name: plain}, k8sContext: east, size: 1}\n    - {metadata: {name: analytics}, k8sContext: east, size: 1, dseWorkloads: {analyticsEnabled: true}}\n";
        let c = cluster("c", "  secretsProvider: external\n", dcs).replace(
            "serverVersion: 4.1.8",
            "serverType: dse\n    serverVersion: 6.8.50",
        );
        let job = "---\napiVersion: medusa.k8ssandra.io/v1alpha1\nkind: MedusaBackupJob\nmetadata: {name: b}\nspec: {cassandraDatacenter: plain}\n";
        let files = vec![crate::source::SourceFile {
            rel_path: "c.yaml".into(),
            display_path: "c.yaml".into(),
            text: format!("{HEAD}{c}{CONTEXTS}{job}"),
        }];
        let (inputs, diags) = crate::load::load(&files);
        let (rendered, diags) = crate::render_inputs(&inputs, diags);
        assert!(!crate::diagnostic::has_error(&diags), "{diags:#?}");
        let owner = |kind: Kind, name: &str| {
            let m = rendered["east"]
                .iter()
                .find(|m| m.kind() == kind && m.name() == name)
                .unwrap_or_else(|| panic!("no {kind} {name}"));
            (
                m.owner().clone(),
                m.object["metadata"]["annotations"][super::super::SYNC_WAVE].clone(),
            )
        };
        let dc = |dc| Owner::Datacenter {
            cluster: "c".into(),
            dc,
        };
        assert_eq!(owner(Kind::MedusaBackupJob, "b"), (dc(0), json!("15")));
        assert_eq!(
            owner(Kind::CassandraDatacenter, "plain"),
            (dc(0), json!("10"))
        );
        assert_eq!(
            owner(Kind::CassandraDatacenter, "analytics"),
            (dc(1), json!("0"))
        );
    }
}
