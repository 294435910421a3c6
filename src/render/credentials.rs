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

use super::{Kind, Manifest, Owner};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::secret::SopsSecret;
use crate::plan::credentials::{CredentialsPlan, Needed, needed};
use crate::plan::{ClusterPlan, SecretsBackend as Backend};
use crate::yaml::Seg;

/// The label the control plane puts on the credentials it generates and replicates.
pub const REPLICATED_BY_LABEL: &str = "k8ssandra.io/replicated-by";
/// The label replicated copies carry: `<kc namespace>.<kc name>` of the ReplicatedSecret.
pub const REPLICATED_SECRET_NAME_LABEL: &str = "k8ssandra.io/replicated-secret-name";

/// `(context, namespace)` of every datacenter of the cluster, sorted.
fn locations(plan: &ClusterPlan<'_>) -> BTreeSet<(String, String)> {
    plan.dcs
        .iter()
        .map(|dc| (dc.context.clone(), dc.namespace.clone()))
        .collect()
}

/// The credentials of every planned cluster with the repository's backend, rendered cluster by
/// cluster so that a streaming render hands each cluster's Secrets on with its other objects
/// (issue #13): a Secret needed by two clusters in one context and namespace is rendered once,
/// by the first. [`Credentials::render`] builds one cluster's Secrets on any thread;
/// [`Placed::keep`] then keeps, in plan order, those no earlier cluster rendered.
pub struct Credentials<'a> {
    settings: &'a crate::plan::Settings,
    committed: &'a [&'a SopsSecret],
}

/// Which credentials the clusters kept so far rendered.
#[derive(Default)]
pub struct Placed {
    /// (context, namespace, name) → the cluster and remote key that rendered it first.
    first: BTreeMap<(String, String, String), (String, String)>,
}

/// One cluster's credentials, rendered without knowing the other clusters.
pub struct ClusterCredentials {
    /// The cluster cannot have its credentials at all (no backend chosen).
    refused: Option<Diagnostic>,
    secrets: Vec<Candidate>,
}

/// One Secret of one cluster in one context and namespace, or why it cannot be rendered.
struct Candidate {
    key: (String, String, String),
    remote_key: String,
    rendered: Result<Manifest, Diagnostic>,
}

impl<'a> Credentials<'a> {
    /// The credentials the plan says can be rendered ([`crate::plan::credentials::resolve`]),
    /// with the repository's settings.
    #[must_use]
    pub fn new(plan: &'a CredentialsPlan<'_>, settings: &'a crate::plan::Settings) -> Self {
        Self {
            settings,
            committed: &plan.committed,
        }
    }

    /// Every credential of one cluster in each of its datacenters' contexts and namespaces.
    pub fn render(&self, plan: &ClusterPlan<'_>) -> ClusterCredentials {
        let (settings, committed) = (self.settings, self.committed);
        let credentials = &settings.credentials;
        let mut out = ClusterCredentials {
            refused: None,
            secrets: Vec::new(),
        };
        let needed = needed(plan);
        if needed.is_empty() {
            return out;
        }
        let backend = match settings.secrets_backend {
            None => {
                out.refused = Some(no_backend_error(plan, &needed));
                return out;
            }
            // Rendered as external secrets by the datacenter stage (see `effective_inputs`).
            Some(Backend::External) => return out,
            Some(b) => b,
        };
        for (context, namespace) in locations(plan) {
            for n in &needed {
                let remote_key = format!(
                    "{}{}/{}",
                    credentials.remote_key_prefix, plan.namespace, n.name
                );
                let object = match backend {
                    Backend::ExternalSecrets => Ok((
                        Kind::ExternalSecret,
                        external_secret(
                            plan,
                            credentials,
                            n,
                            &namespace,
                            &remote_key,
                            &context,
                            &settings.control_plane_context,
                        ),
                        None,
                    )),
                    Backend::Replicate => match replicated_copy(committed, plan, n, &namespace) {
                        Some((object, text)) => Ok((Kind::Secret, object, Some(text))),
                        None => Err(missing_replicated_error(
                            plan, n, &context, &namespace, committed,
                        )),
                    },
                    Backend::External => continue,
                };
                out.secrets.push(Candidate {
                    key: (context.clone(), namespace.clone(), n.name.clone()),
                    remote_key,
                    rendered: object.map(|(kind, object, raw)| Manifest {
                        ksops: credentials.ksops && raw.is_some(),
                        raw,
                        ..Manifest::new(
                            context.clone(),
                            Owner::Cluster(plan.name.clone()),
                            kind,
                            object,
                        )
                    }),
                });
            }
        }
        out
    }
}

impl ClusterCredentials {
    /// The Secrets rendered, to finish them on the rendering thread.
    pub fn manifests_mut(&mut self) -> impl Iterator<Item = &mut Manifest> {
        self.secrets
            .iter_mut()
            .filter_map(|c| c.rendered.as_mut().ok())
    }
}

impl Placed {
    /// The credentials of one cluster that no earlier cluster rendered: called for each
    /// cluster in plan order. Two clusters that need one Secret from different remote keys are
    /// an error.
    pub fn keep(
        &mut self,
        plan: &ClusterPlan<'_>,
        rendered: ClusterCredentials,
        backend: Option<Backend>,
        diags: &mut Vec<Diagnostic>,
    ) -> Vec<Manifest> {
        diags.extend(rendered.refused);
        let mut out = Vec::new();
        for Candidate {
            key,
            remote_key,
            rendered,
        } in rendered.secrets
        {
            if let Some((other, other_key)) = self.first.get(&key) {
                // The same Secret from the same remote key (or the same committed file)
                // serves both clusters; a different remote key under one name cannot.
                if backend == Some(Backend::ExternalSecrets) && *other_key != remote_key {
                    let (context, namespace, name) = &key;
                    diags.push(plan.doc.error(
                        Code::OutputCollision,
                        vec![Seg::Key("metadata".into())],
                        format!(
                            "Secret {name:?} in context {context:?}, namespace {namespace:?} is also needed by K8ssandraCluster {other:?}, which reads it from remote key {other_key:?}, not {remote_key:?}: give the two clusters distinct secret names",
                        ),
                    ));
                }
                continue;
            }
            match rendered {
                Ok(m) => {
                    self.first.insert(key, (plan.name.clone(), remote_key));
                    out.push(m);
                }
                Err(d) => diags.push(d),
            }
        }
        out
    }
}

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
    credentials: &crate::plan::CredentialsSettings,
    needed: &Needed,
    namespace: &str,
    remote_key: &str,
    context: &str,
    control_plane_context: &str,
) -> Value {
    let store_kind = &credentials.store_kind;
    let store_name = credentials.store_name.as_deref().unwrap_or_default();
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
            "annotations": {super::SYNC_WAVE: crate::plan::waves::Wave::Credentials.number().to_string()},
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
            "add a RenderConfig: `apiVersion: gitops.k8ssandra.io/v1alpha1`, `kind: RenderConfig`, `metadata: {name: default}`, `spec: {secrets: {backend: externalSecrets, externalSecrets: {storeRef: {kind: ClusterSecretStore, name: vault}}}}`".into(),
        ))
}

/// The committed Secret to place in `namespace`, as `(object, file text)`: the one committed for
/// that namespace, copied byte for byte; else one whose SOPS MAC leaves `metadata.namespace`
/// out (`mac_only_encrypted`), with only that value changed, preferring the copy in the
/// K8ssandraCluster's namespace (where the control plane keeps the source of its copies).
fn replicated_copy(
    committed: &[&SopsSecret],
    plan: &ClusterPlan<'_>,
    needed: &Needed,
    namespace: &str,
) -> Option<(Value, String)> {
    let same_name = || committed.iter().copied().filter(|s| s.name == needed.name);
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
    committed: &[&SopsSecret],
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
