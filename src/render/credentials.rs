//! Credentials (DESIGN.md "Secrets", control-plane §3, components §5.3, quirk 7).
//!
//! The control plane generates the superuser, Reaper and Medusa credentials with random
//! passwords in its own namespace and replicates them into every cluster that runs a datacenter.
//! Nothing random can come out of a deterministic renderer, and nothing secret may be written
//! to Git in plain text, so RenderConfig `spec.secrets.backend` says where they come from:
//!
//! - `external` (or `secretsProvider: external` on the K8ssandraCluster): the user provides them;
//!   the datacenter is rendered as upstream renders it for external secrets (references only).
//! - `externalSecrets`: one `ExternalSecret` per needed Secret in every context and namespace
//!   that needs it, all reading the same remote key, so every cluster gets the same value.
//! - `replicate`: the user commits each Secret once, encrypted with SOPS, and it is copied byte
//!   for byte into every context that needs it.
//!
//! The SOPS rule for `replicate`: each value is encrypted with its key path as authenticated
//! data, and the MAC is a hash of the document's values in document order (keys and comments
//! are not hashed). By default *every* value feeds the MAC, the plaintext ones included, so
//! re-serialising the document, adding a label or changing `metadata.namespace` makes SOPS
//! refuse to decrypt it: the copy must be the committed bytes, and a Secret is needed once per
//! namespace. When the file was encrypted with `--mac-only-encrypted` (`sops.mac_only_encrypted:
//! true`), only encrypted values feed the MAC; then a plaintext `metadata.namespace` may be
//! changed, and that one value is the only byte range the renderer rewrites. An encrypted
//! namespace is refused (the copies are placed by namespace).
//!
//! Where a Secret is needed: every context and namespace holding a datacenter of the cluster
//! (upstream's ReplicatedSecret targets). Without a control plane nothing reads the source copy,
//! so none is rendered into the control-plane context unless a datacenter runs there.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::Manifest;
use crate::diagnostic::{Code, Diagnostic};
use crate::load::{Doc, Inputs};
use crate::plan::ClusterPlan;
use crate::yaml::{Pos, Seg};

/// The label the control plane puts on the credentials it generates and replicates.
pub const REPLICATED_BY_LABEL: &str = "k8ssandra.io/replicated-by";
/// The label replicated copies carry: `<kc namespace>.<kc name>` of the ReplicatedSecret.
pub const REPLICATED_SECRET_NAME_LABEL: &str = "k8ssandra.io/replicated-secret-name";

/// The secrets backends, as written in RenderConfig.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The user creates the Secrets; references only.
    External,
    /// ExternalSecret objects reading one remote key per Secret.
    ExternalSecrets,
    /// SOPS-encrypted Secrets from the repository, copied unchanged.
    Replicate,
}

impl Backend {
    /// The backend chosen in RenderConfig, if any.
    #[must_use]
    pub fn from_inputs(inputs: &Inputs) -> Option<Self> {
        let backend = inputs
            .render_config
            .as_ref()?
            .value
            .secrets
            .as_ref()?
            .backend
            .as_deref()?;
        match backend {
            "external" => Some(Self::External),
            "externalSecrets" => Some(Self::ExternalSecrets),
            "replicate" => Some(Self::Replicate),
            _ => None,
        }
    }
}

/// What a credential is for (shown in errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Purpose {
    /// The Cassandra superuser.
    Superuser,
    /// Reaper's CQL role.
    ReaperCql,
    /// Reaper's web UI login.
    ReaperUi,
    /// Medusa's CQL role.
    MedusaCql,
    /// Medusa's object-storage credentials (user-named).
    MedusaStorage,
}

impl Purpose {
    fn describe(self) -> &'static str {
        match self {
            Self::Superuser => "the superuser credentials",
            Self::ReaperCql => "Reaper's CQL credentials",
            Self::ReaperUi => "Reaper's UI credentials",
            Self::MedusaCql => "Medusa's CQL credentials",
            Self::MedusaStorage => "Medusa's storage credentials",
        }
    }

    /// Generated credentials have `username`/`password`; the storage Secret has whatever keys
    /// its provider needs, so it is copied whole.
    fn has_user_and_password(self) -> bool {
        self != Self::MedusaStorage
    }
}

/// One Secret a cluster needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needed {
    /// Secret name.
    pub name: String,
    /// What it is for.
    pub purpose: Purpose,
}

/// Every Secret the control plane would generate or replicate for this cluster (control-plane
/// §3.1–3.2, components §2.3, §3.1, quirk 7), in a fixed order. Empty with external secrets.
#[must_use]
pub fn needed(plan: &ClusterPlan<'_>) -> Vec<Needed> {
    let spec = &plan.doc.value.spec;
    if spec.external_secrets() {
        return Vec::new();
    }
    let str_at = |v: &Value, path: &[&str]| -> Option<String> {
        let mut cur = v;
        for p in path {
            cur = cur.get(*p)?;
        }
        cur.as_str().map(str::to_string)
    };
    let mut out = vec![Needed {
        name: plan.superuser_secret_name(),
        purpose: Purpose::Superuser,
    }];
    if let Some(reaper) = spec.reaper.as_ref().filter(|r| r.is_object())
        && str_at(reaper, &["reaperRef", "name"])
            .unwrap_or_default()
            .is_empty()
        && spec.auth_enabled()
    {
        let cql = str_at(reaper, &["cassandraUserSecretRef", "name"])
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| super::reaper::default_user_secret_name(plan));
        out.push(Needed {
            name: cql,
            purpose: Purpose::ReaperCql,
        });
        // Only an explicitly empty uiUserSecretRef turns UI authentication off.
        let ui = match reaper.get("uiUserSecretRef").filter(|v| !v.is_null()) {
            None => Some(super::reaper::default_ui_secret_name(plan)),
            Some(r) => str_at(r, &["name"]).filter(|n| !n.is_empty()),
        };
        if let Some(ui) = ui {
            out.push(Needed {
                name: ui,
                purpose: Purpose::ReaperUi,
            });
        }
    }
    if let Some(medusa) = plan.medusa.as_ref() {
        out.push(Needed {
            name: super::medusa::cql_secret_name(plan, medusa),
            purpose: Purpose::MedusaCql,
        });
        if let Some(storage) = str_at(medusa, &["storageProperties", "storageSecretRef", "name"])
            .filter(|n| !n.is_empty())
        {
            out.push(Needed {
                name: storage,
                purpose: Purpose::MedusaStorage,
            });
        }
    }
    // A name used for two purposes is one Secret.
    let mut seen = BTreeSet::new();
    out.retain(|n| seen.insert(n.name.clone()));
    out
}

/// `(context, namespace)` of every datacenter of the cluster, sorted.
fn locations(plan: &ClusterPlan<'_>) -> BTreeSet<(String, String)> {
    plan.dcs
        .iter()
        .map(|dc| (dc.context.clone(), dc.namespace.clone()))
        .collect()
}

/// Renders the credentials of every planned cluster with the repository's backend, and checks
/// the Secrets committed to the repository (plaintext ones are refused whatever the backend).
pub fn render(
    plans: &[ClusterPlan<'_>],
    inputs: &Inputs,
    control_plane_context: &str,
    context: Option<&str>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Manifest> {
    let committed = committed_secrets(inputs, diags);
    let backend = Backend::from_inputs(inputs);
    if backend == Some(Backend::ExternalSecrets)
        && let Some(rc) = &inputs.render_config
    {
        let store_named = rc
            .value
            .secrets
            .as_ref()
            .and_then(|s| s.external_secrets.as_ref())
            .and_then(|e| e.store_ref.as_ref())
            .and_then(|r| r.name.as_deref())
            .is_some_and(|n| !n.is_empty());
        if !store_named && plans.iter().any(|p| !needed(p).is_empty()) {
            diags.push(
                rc.error(
                    Code::MissingSetting,
                    ["spec", "secrets", "externalSecrets", "storeRef"]
                        .iter()
                        .map(|k| Seg::Key((*k).into()))
                        .collect(),
                    "the externalSecrets backend needs the secret store to read from: set spec.secrets.externalSecrets.storeRef.name (and kind: SecretStore or ClusterSecretStore, default ClusterSecretStore)",
                )
                .with_hint(Some("spec: {secrets: {backend: externalSecrets, externalSecrets: {storeRef: {kind: ClusterSecretStore, name: vault}}}}".into())),
            );
            return Vec::new();
        }
    }
    // SOPS copies are decrypted where they are applied: by kustomize-controller when the
    // renderer writes Flux Kustomizations (their spec.decryption), else by the KSOPS generator
    // of each context's kustomization (Argo CD with kustomize exec plugins enabled).
    let ksops = inputs
        .render_config
        .as_ref()
        .is_none_or(|rc| rc.value.flux.is_none());
    let mut out = Vec::new();
    // (context, namespace, name) → the cluster and remote key that rendered it first.
    let mut placed: BTreeMap<(String, String, String), (String, String)> = BTreeMap::new();
    for plan in plans.iter().filter(|p| p.touches(context)) {
        let needed = needed(plan);
        if needed.is_empty() {
            continue;
        }
        let backend = match backend {
            None => {
                diags.push(no_backend_error(plan, &needed));
                continue;
            }
            // Rendered as external secrets by the datacenter stage (see `effective_inputs`).
            Some(Backend::External) => continue,
            Some(b) => b,
        };
        for (context, namespace) in locations(plan) {
            for n in &needed {
                let remote_key = remote_key(inputs, &plan.namespace, &n.name);
                let key = (context.clone(), namespace.clone(), n.name.clone());
                if let Some((other, other_key)) = placed.get(&key) {
                    // The same Secret from the same remote key (or the same committed file)
                    // serves both clusters; a different remote key under one name cannot.
                    if backend == Backend::ExternalSecrets && *other_key != remote_key {
                        diags.push(plan.doc.error(
                            Code::OutputCollision,
                            vec![Seg::Key("metadata".into())],
                            format!(
                                "Secret {:?} in context {context:?}, namespace {namespace:?} is also needed by K8ssandraCluster {other:?}, which reads it from remote key {other_key:?}, not {remote_key:?}: give the two clusters distinct secret names",
                                n.name
                            ),
                        ));
                    }
                    continue;
                }
                let object = match backend {
                    Backend::ExternalSecrets => Some((
                        external_secret(
                            plan,
                            inputs,
                            n,
                            &namespace,
                            &remote_key,
                            &context,
                            control_plane_context,
                        ),
                        None,
                    )),
                    Backend::Replicate => match replicated_copy(&committed, plan, n, &namespace) {
                        Some((object, text)) => Some((object, Some(text))),
                        None => {
                            diags.push(missing_replicated_error(
                                plan, n, &context, &namespace, &committed,
                            ));
                            None
                        }
                    },
                    Backend::External => None,
                };
                if let Some((object, raw)) = object {
                    placed.insert(key, (plan.name.clone(), remote_key));
                    out.push(Manifest {
                        context: context.clone(),
                        cluster: plan.name.clone(),
                        object,
                        ksops: ksops && raw.is_some(),
                        raw,
                    });
                }
            }
        }
    }
    out
}

/// The remote key of a credential: `<remoteKeyPrefix><K8ssandraCluster namespace>/<name>`.
fn remote_key(inputs: &Inputs, kc_namespace: &str, name: &str) -> String {
    let prefix = inputs
        .render_config
        .as_ref()
        .and_then(|rc| rc.value.secrets.as_ref())
        .and_then(|s| s.external_secrets.as_ref())
        .and_then(|e| e.remote_key_prefix.clone())
        .unwrap_or_default();
    format!("{prefix}{kc_namespace}/{name}")
}

/// Labels of a credential Secret: the ReplicatedBy labels plus Cassandra `commonLabels` as
/// defaults; copies outside the control plane's own namespace also carry the label the
/// ReplicatedSecret controller adds.
fn secret_labels(
    plan: &ClusterPlan<'_>,
    context: &str,
    namespace: &str,
    control_plane_context: &str,
) -> Map<String, Value> {
    let mut labels = Map::new();
    if let Some(Value::Object(common)) = plan.cassandra.meta.get("commonLabels") {
        for (k, v) in common {
            labels.insert(k.clone(), v.clone());
        }
    }
    labels.insert(
        REPLICATED_BY_LABEL.into(),
        "k8ssandracluster-controller".into(),
    );
    labels.insert("k8ssandra.io/cluster-name".into(), plan.name.clone().into());
    labels.insert(
        "k8ssandra.io/cluster-namespace".into(),
        plan.namespace.clone().into(),
    );
    if context != control_plane_context || namespace != plan.namespace {
        labels.insert(
            REPLICATED_SECRET_NAME_LABEL.into(),
            format!("{}.{}", plan.namespace, plan.name).into(),
        );
    }
    labels
}

fn external_secret(
    plan: &ClusterPlan<'_>,
    inputs: &Inputs,
    needed: &Needed,
    namespace: &str,
    remote_key: &str,
    context: &str,
    control_plane_context: &str,
) -> Value {
    let store = inputs
        .render_config
        .as_ref()
        .and_then(|rc| rc.value.secrets.as_ref())
        .and_then(|s| s.external_secrets.as_ref())
        .and_then(|e| e.store_ref.as_ref());
    let store_kind = store
        .and_then(|s| s.kind.clone())
        .unwrap_or_else(|| "ClusterSecretStore".into());
    let store_name = store.and_then(|s| s.name.clone()).unwrap_or_default();
    let labels = secret_labels(plan, context, namespace, control_plane_context);
    let mut template_meta = Map::new();
    template_meta.insert("labels".into(), Value::Object(labels.clone()));
    if let Some(Value::Object(a)) = plan.cassandra.meta.get("commonAnnotations")
        && !a.is_empty()
    {
        template_meta.insert("annotations".into(), Value::Object(a.clone()));
    }
    let mut spec = Map::new();
    spec.insert(
        "secretStoreRef".into(),
        json!({"kind": store_kind, "name": store_name}),
    );
    spec.insert("refreshInterval".into(), "1h".into());
    spec.insert(
        "target".into(),
        json!({
            "name": needed.name,
            "creationPolicy": "Owner",
            "template": {"type": "Opaque", "metadata": template_meta},
        }),
    );
    if needed.purpose.has_user_and_password() {
        spec.insert(
            "data".into(),
            json!([
                {"secretKey": "username", "remoteRef": {"key": remote_key, "property": "username"}},
                {"secretKey": "password", "remoteRef": {"key": remote_key, "property": "password"}},
            ]),
        );
    } else {
        spec.insert("dataFrom".into(), json!([{"extract": {"key": remote_key}}]));
    }
    let mut meta_labels = Map::new();
    meta_labels.insert("k8ssandra.io/cluster-name".into(), plan.name.clone().into());
    meta_labels.insert(
        "k8ssandra.io/cluster-namespace".into(),
        plan.namespace.clone().into(),
    );
    json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {
            "name": needed.name,
            "namespace": namespace,
            "labels": meta_labels,
            // Before any datacenter: cass-operator would otherwise create its own superuser.
            "annotations": {super::multidc::SYNC_WAVE: super::multidc::CREDENTIALS_WAVE.to_string()},
        },
        "spec": spec,
    })
}

fn no_backend_error(plan: &ClusterPlan<'_>, needed: &[Needed]) -> Diagnostic {
    let names: Vec<String> = needed
        .iter()
        .map(|n| format!("{} ({})", n.name, n.purpose.describe()))
        .collect();
    plan.doc
        .error(
            Code::NotRenderableOffline,
            vec![Seg::Key("spec".into())],
            format!(
                "K8ssandraCluster {:?} needs credentials that k8ssandra-operator would generate at run time: {}; choose where they come from with RenderConfig spec.secrets.backend: external (you create these Secrets in every cluster; datacenters reference them only), externalSecrets (an ExternalSecret per cluster reads them from your secret store), or replicate (commit each Secret once, encrypted with SOPS, and it is copied to every cluster)",
                plan.name,
                names.join(", ")
            ),
        )
        .with_hint(Some(
            "add a RenderConfig: `apiVersion: gitops.k8ssandra.io/v1alpha1`, `kind: RenderConfig`, `spec: {secrets: {backend: externalSecrets, externalSecrets: {storeRef: {kind: ClusterSecretStore, name: vault}}}}`".into(),
        ))
}

/// The committed Secret to place in `namespace`, as `(object, file text)`: the one committed for
/// that namespace, copied byte for byte; else one whose SOPS MAC leaves `metadata.namespace`
/// out (`mac_only_encrypted`), with only that value changed, preferring the copy in the
/// K8ssandraCluster's namespace (where the control plane keeps the source of its copies).
fn replicated_copy(
    committed: &[CommittedSecret],
    plan: &ClusterPlan<'_>,
    needed: &Needed,
    namespace: &str,
) -> Option<(Value, String)> {
    let same_name = || committed.iter().filter(|s| s.name == needed.name);
    if let Some(s) = same_name().find(|s| s.namespace == namespace) {
        return Some((s.object.clone(), s.text.clone()));
    }
    same_name()
        .filter(|s| s.namespace == plan.namespace)
        .chain(same_name())
        .find_map(|s| s.in_namespace(namespace))
}

fn missing_replicated_error(
    plan: &ClusterPlan<'_>,
    needed: &Needed,
    context: &str,
    namespace: &str,
    committed: &[CommittedSecret],
) -> Diagnostic {
    let elsewhere: Vec<&str> = committed
        .iter()
        .filter(|s| s.name == needed.name)
        .map(|s| s.namespace.as_str())
        .collect();
    let why = if elsewhere.is_empty() {
        "the repository has no SOPS-encrypted Secret with that name".to_string()
    } else {
        format!(
            "the repository has it for namespace {} only, and its SOPS MAC covers metadata.namespace (SOPS's default), so a copy for another namespace would not decrypt",
            elsewhere.join(", ")
        )
    };
    plan.doc
        .error(
            Code::UnknownReference,
            vec![Seg::Key("spec".into())],
            format!(
                "Secret {:?} ({}) is needed in namespace {namespace:?} of context {context:?}, but {why} (secrets backend replicate)",
                needed.name,
                needed.purpose.describe()
            ),
        )
        .with_hint(Some(format!(
            "commit it as the only document of its file, then encrypt it in place: `kubectl create secret generic {name} -n {namespace} --from-literal=username={name} --from-literal=password=... --dry-run=client -o yaml > {name}.sops.yaml && sops --encrypt --encrypted-regex '^(data|stringData)$' --mac-only-encrypted --in-place {name}.sops.yaml`; with --mac-only-encrypted one file serves every namespace",
            name = needed.name
        )))
}

/// A SOPS-encrypted Secret committed to the repository.
#[derive(Debug, Clone)]
struct CommittedSecret {
    name: String,
    namespace: String,
    object: Value,
    /// The whole file, which is this one document: copied byte for byte.
    text: String,
    /// `sops.mac_only_encrypted: true`: the MAC covers the encrypted values only, so the
    /// (plaintext) `metadata.namespace` may be changed without breaking decryption.
    mac_only_encrypted: bool,
    /// Where the `metadata.namespace` value starts in `text`.
    namespace_pos: Pos,
    /// The file, as shown in diagnostics.
    file: String,
}

impl CommittedSecret {
    /// The copy for another namespace: `text` with only the `metadata.namespace` value
    /// replaced. `None` when the MAC covers the namespace (SOPS's default) or the value is not
    /// a one-line scalar that can be replaced safely.
    fn in_namespace(&self, namespace: &str) -> Option<(Value, String)> {
        if !self.mac_only_encrypted {
            return None;
        }
        let line_index = usize::try_from(self.namespace_pos.line)
            .ok()?
            .checked_sub(1)?;
        let column = usize::try_from(self.namespace_pos.column)
            .ok()?
            .checked_sub(1)?;
        let mut lines: Vec<String> = self.text.split('\n').map(str::to_string).collect();
        let line = lines.get(line_index)?;
        let chars: Vec<char> = line.chars().collect();
        let rest: String = chars.get(column..)?.iter().collect();
        let token_len = match rest.chars().next()? {
            q @ ('"' | '\'') => rest[1..].find(q)? + 2,
            _ => rest
                .find(|c: char| c.is_whitespace() || c == '#')
                .unwrap_or(rest.len()),
        };
        let token = &rest[..token_len];
        if token.trim_matches(['"', '\'']) != self.namespace {
            return None;
        }
        let prefix: String = chars[..column].iter().collect();
        lines[line_index] = format!("{prefix}{namespace}{}", &rest[token_len..]);
        let mut object = self.object.clone();
        object["metadata"]["namespace"] = namespace.into();
        Some((object, lines.join("\n")))
    }
}

/// The Secrets in the repository. Plaintext ones are refused; encrypted ones must be alone in
/// their file (so the copy can be the exact bytes the SOPS MAC was computed over) and name
/// their namespace (the copy cannot change it).
fn committed_secrets(inputs: &Inputs, diags: &mut Vec<Diagnostic>) -> Vec<CommittedSecret> {
    let mut out = Vec::new();
    for doc in &inputs.others {
        let node = &doc.node;
        let text = |k: &str| node.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        // Any document of kind Secret: a plaintext one is refused even with a wrong apiVersion.
        if text("kind") != "Secret" {
            continue;
        }
        let object = node.to_json();
        let has_sops = object.get("sops").is_some_and(Value::is_object);
        let carries_data = ["data", "stringData"].iter().any(|k| {
            object
                .get(*k)
                .is_some_and(|v| v.as_object().is_some_and(|m| !m.is_empty()))
        });
        if !has_sops {
            if carries_data {
                diags.push(secret_error(
                    Code::CommittedSecret,
                    doc,
                    Vec::new(),
                    "plaintext Secret in the repository: credentials must never be committed unencrypted; encrypt it with SOPS (`sops --encrypt --encrypted-regex '^(data|stringData)$' --in-place FILE`) or use the externalSecrets backend",
                ));
            }
            continue;
        }
        if text("apiVersion") != "v1" {
            continue;
        }
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        // SOPS metadata does not make values encrypted: an `--encrypted-regex` that misses
        // `data` leaves them in plain text next to a valid `sops:` block.
        let mut plain = false;
        for key in ["data", "stringData"] {
            for (k, v) in object
                .get(key)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if !v.as_str().is_some_and(|s| s.starts_with("ENC[")) {
                    plain = true;
                    diags.push(secret_error(
                        Code::CommittedSecret,
                        doc,
                        vec![Seg::Key(key.into()), Seg::Key(k.clone())],
                        "value in plain text although the file has SOPS metadata: every value of data and stringData must be encrypted (`sops --encrypt --encrypted-regex '^(data|stringData)$' --in-place FILE`)",
                    ));
                }
            }
        }
        // SOPS encrypts data and stringData, not annotations: kubectl apply's
        // last-applied-configuration (or any annotation holding the object) keeps the values in
        // plain text, and the copy would carry them into every context.
        for (k, v) in object
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let Some(text) = v.as_str().filter(|t| !t.starts_with("ENC[")) else {
                continue;
            };
            let holds_data = serde_json::from_str::<Value>(text)
                .ok()
                .or_else(|| {
                    crate::yaml::parse_stream(text)
                        .ok()
                        .and_then(|d| d.first().map(crate::yaml::Node::to_json))
                })
                .is_some_and(|o| o.get("data").is_some() || o.get("stringData").is_some());
            if k == "kubectl.kubernetes.io/last-applied-configuration" || holds_data {
                plain = true;
                diags.push(secret_error(
                    Code::CommittedSecret,
                    doc,
                    vec![
                        Seg::Key("metadata".into()),
                        Seg::Key("annotations".into()),
                        Seg::Key(k.clone()),
                    ],
                    "annotation holds the Secret in plain text (SOPS does not encrypt annotations, and every copy would carry it): remove the annotation, e.g. create the file with `kubectl create secret ... --dry-run=client -o yaml` instead of `kubectl get -o yaml`, then encrypt it again",
                ));
            }
        }
        if plain {
            continue;
        }
        let Some(namespace) = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            diags.push(secret_error(
                Code::CommittedSecret,
                doc,
                vec![Seg::Key("metadata".into())],
                "a SOPS-encrypted Secret must set metadata.namespace: the renderer copies the file and never adds a value to it (SOPS's MAC would no longer match)",
            ));
            continue;
        };
        if namespace.starts_with("ENC[") {
            diags.push(secret_error(
                Code::CommittedSecret,
                doc,
                vec![Seg::Key("metadata".into()), Seg::Key("namespace".into())],
                "metadata.namespace of a SOPS-encrypted Secret must stay in plain text: the renderer places the copies by namespace (encrypt only data and stringData: `--encrypted-regex '^(data|stringData)$'`)",
            ));
            continue;
        }
        let mac_only_encrypted = matches!(
            object.pointer("/sops/mac_only_encrypted"),
            Some(Value::Bool(true))
        ) || object
            .pointer("/sops/mac_only_encrypted")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("true"));
        let namespace_pos = node
            .get("metadata")
            .and_then(|m| m.get("namespace"))
            .map(|n| n.pos)
            .unwrap_or_default();
        let Some(file_text) = inputs.secret_files.get(&doc.origin.rel_path) else {
            diags.push(secret_error(
                Code::CommittedSecret,
                doc,
                Vec::new(),
                "a SOPS-encrypted Secret must be the only document in its file, so that it can be copied byte for byte",
            ));
            continue;
        };
        if let Some(first) = out
            .iter()
            .find(|s: &&CommittedSecret| s.name == name && s.namespace == namespace)
        {
            diags.push(
                secret_error(
                    Code::Duplicate,
                    doc,
                    vec![Seg::Key("metadata".into())],
                    &format!(
                        "a second SOPS-encrypted Secret {name:?} for namespace {namespace:?}; keep one"
                    ),
                )
                .with_related(first.file.clone(), first.namespace_pos, "first defined here"),
            );
            continue;
        }
        out.push(CommittedSecret {
            name,
            namespace: namespace.to_string(),
            object,
            text: file_text.clone(),
            mac_only_encrypted,
            namespace_pos,
            file: doc.origin.file.display().to_string(),
        });
    }
    out
}

fn secret_error(code: Code, doc: &Doc<()>, path: Vec<Seg>, message: &str) -> Diagnostic {
    doc.error(code, path, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::render_one;

    fn needed_of(yaml: &str) -> Vec<(String, Purpose)> {
        let mut got = Vec::new();
        let (_, diags) = render_one(yaml, |plan, _| {
            got = needed(plan)
                .into_iter()
                .map(|n| (n.name, n.purpose))
                .collect();
            Vec::new()
        });
        assert!(diags.is_empty(), "{diags:#?}");
        got
    }

    const BASE: &str = "metadata: {name: Demo, namespace: db}\nspec:\n  cassandra:\n    clusterName: My Cluster\n    serverVersion: 4.1.5\n    storageConfig: {cassandraDataVolumeClaimSpec: {storageClassName: standard}}\n    datacenters: [{metadata: {name: dc1}, size: 1}]\n";

    #[test]
    fn superuser_always_and_named_after_the_sanitized_cluster_name() {
        let base = BASE.replace("name: Demo", "name: demo");
        assert_eq!(
            needed_of(&base),
            [("mycluster-superuser".to_string(), Purpose::Superuser)]
        );
        // Even with auth off (control-plane §3.1).
        let off = base.replace("spec:\n", "spec:\n  auth: false\n");
        assert_eq!(needed_of(&off).len(), 1);
        // And none with secretsProvider external.
        let ext = base.replace("spec:\n", "spec:\n  secretsProvider: external\n");
        assert!(needed_of(&ext).is_empty());
    }

    #[test]
    fn reaper_and_medusa_credentials() {
        let base = BASE.replace("name: Demo", "name: demo");
        let with = format!(
            "{base}  reaper: {{}}\n  medusa:\n    storageProperties:\n      storageProvider: s3\n      bucketName: b\n      storageSecretRef: {{name: s3-creds}}\n"
        );
        assert_eq!(
            needed_of(&with),
            [
                ("mycluster-superuser".to_string(), Purpose::Superuser),
                ("mycluster-reaper".to_string(), Purpose::ReaperCql),
                ("mycluster-reaper-ui".to_string(), Purpose::ReaperUi),
                ("mycluster-medusa".to_string(), Purpose::MedusaCql),
                ("s3-creds".to_string(), Purpose::MedusaStorage),
            ]
        );
        // UI auth off by an explicitly empty ref; no Reaper credentials without auth or with
        // a reaperRef.
        let ui_off = format!("{base}  reaper: {{uiUserSecretRef: {{}}}}\n");
        assert_eq!(needed_of(&ui_off).len(), 2);
        let no_auth =
            format!("{base}  reaper: {{}}\n").replace("spec:\n", "spec:\n  auth: false\n");
        assert_eq!(needed_of(&no_auth).len(), 1);
        let reaper_ref = format!("{base}  reaper: {{reaperRef: {{name: central}}}}\n");
        assert_eq!(needed_of(&reaper_ref).len(), 1);
    }

    fn committed_of(text: &str) -> (Vec<CommittedSecret>, Vec<Diagnostic>) {
        committed_of_files(&[text])
    }

    fn committed_of_files(texts: &[&str]) -> (Vec<CommittedSecret>, Vec<Diagnostic>) {
        let files: Vec<_> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| crate::source::SourceFile {
                rel_path: format!("s{i}.sops.yaml"),
                display_path: format!("s{i}.sops.yaml").into(),
                text: (*text).into(),
            })
            .collect();
        let (inputs, diags) = crate::load::load(&files);
        assert!(diags.is_empty(), "{diags:#?}");
        let mut diags = Vec::new();
        let got = committed_secrets(&inputs, &mut diags);
        (got, diags)
    }

    const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n    name: s\n    namespace: db # source\ndata:\n    password: ENC[AES256_GCM,data:aGk=,iv:x,tag:y,type:str]\nsops:\n    mac: ENC[AES256_GCM,data:m,iv:x,tag:y,type:str]\n    version: 3.9.4\n";

    #[test]
    fn only_a_mac_over_encrypted_values_lets_the_namespace_change() {
        // SOPS's default MAC covers metadata.namespace: no copy for another namespace.
        let (got, diags) = committed_of(SECRET);
        assert!(diags.is_empty(), "{diags:#?}");
        assert!(got[0].in_namespace("db-west").is_none());

        let mac_only = SECRET.replace("    version:", "    mac_only_encrypted: true\n    version:");
        let (got, _) = committed_of(&mac_only);
        let (object, text) = got[0].in_namespace("db-west").unwrap();
        assert_eq!(object["metadata"]["namespace"], "db-west");
        // Every other byte is the committed file's, the comment after the value included.
        assert_eq!(
            text,
            mac_only.replace("namespace: db # source", "namespace: db-west # source")
        );

        let quoted = mac_only.replace("namespace: db #", "namespace: \"db\" #");
        let (got, _) = committed_of(&quoted);
        let (_, text) = got[0].in_namespace("other").unwrap();
        assert!(text.contains("    namespace: other # source\n"), "{text}");
    }

    #[test]
    fn an_annotation_holding_the_plaintext_secret_is_refused() {
        let applied = SECRET.replace(
            "    namespace: db # source\n",
            "    namespace: db # source\n    annotations:\n        kubectl.kubernetes.io/last-applied-configuration: |\n            {\"apiVersion\":\"v1\",\"data\":{\"password\":\"aGk=\"},\"kind\":\"Secret\"}\n",
        );
        let (got, diags) = committed_of(&applied);
        assert!(got.is_empty(), "never copied");
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert_eq!(diags[0].pos.line, 7);
        assert_eq!(
            diags[0].path,
            [
                Seg::Key("metadata".into()),
                Seg::Key("annotations".into()),
                Seg::Key("kubectl.kubernetes.io/last-applied-configuration".into())
            ]
        );
        assert!(
            diags[0]
                .message
                .starts_with("annotation holds the Secret in plain text")
        );
        // Any annotation carrying the object's data, whatever its name.
        let copied = SECRET.replace(
            "    namespace: db # source\n",
            "    namespace: db # source\n    annotations:\n        backup/original: '{stringData: {password: hunter2}}'\n        team: data\n",
        );
        let (got, diags) = committed_of(&copied);
        assert!(got.is_empty());
        assert_eq!(diags.len(), 1, "{diags:#?}");
        // An ordinary annotation is fine.
        let fine = SECRET.replace(
            "    namespace: db # source\n",
            "    namespace: db # source\n    annotations:\n        team: data\n",
        );
        let (got, diags) = committed_of(&fine);
        assert_eq!((got.len(), diags.len()), (1, 0), "{diags:#?}");
    }

    #[test]
    fn sops_metadata_does_not_excuse_plaintext_values_or_an_encrypted_namespace() {
        let half = SECRET.replace("\ndata:\n", "\ndata:\n    username: c2VjcmV0\n");
        let (got, diags) = committed_of(&half);
        assert!(got.is_empty());
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert_eq!(diags[0].pos.line, 7);
        assert_eq!(
            diags[0].path,
            [Seg::Key("data".into()), Seg::Key("username".into())]
        );
        assert!(
            diags[0]
                .message
                .contains("value in plain text although the file has SOPS metadata")
        );

        let hidden = SECRET.replace(
            "namespace: db # source",
            "namespace: ENC[AES256_GCM,data:ZGI=,iv:x,tag:y,type:str]",
        );
        let (got, diags) = committed_of(&hidden);
        assert!(got.is_empty());
        assert!(
            diags[0].message.contains("must stay in plain text"),
            "{diags:#?}"
        );
    }

    #[test]
    fn one_committed_secret_per_name_and_namespace() {
        let other = SECRET.replace("namespace: db #", "namespace: db-west #");
        let (got, diags) = committed_of_files(&[SECRET, &other, SECRET]);
        assert_eq!(got.len(), 2);
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert_eq!(diags[0].file, std::path::PathBuf::from("s2.sops.yaml"));
        assert_eq!(
            diags[0].to_string(),
            "s2.sops.yaml:3:1: error[E0301]: metadata: a second SOPS-encrypted Secret \"s\" for namespace \"db\"; keep one (first defined here: s0.sops.yaml:5:16)",
            "{diags:#?}"
        );
    }
}
