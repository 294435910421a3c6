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

use crate::model::labels::{CLUSTER_NAME_LABEL, CLUSTER_NAMESPACE_LABEL};
use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{Kind, Manifest, Owner};
use crate::model::secret::SopsSecret;
use crate::plan::credentials::{
    CredentialsPlan, Needed, locations, needed, remote_key, replicated_copy,
};
use crate::plan::{ClusterPlan, SecretsBackend as Backend};

/// The label the control plane puts on the credentials it generates and replicates.
pub const REPLICATED_BY_LABEL: &str = "k8ssandra.io/replicated-by";
/// The label replicated copies carry: `<kc namespace>.<kc name>` of the ReplicatedSecret.
pub const REPLICATED_SECRET_NAME_LABEL: &str = "k8ssandra.io/replicated-secret-name";

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
    /// (context, namespace, name) of every Secret rendered so far.
    first: BTreeSet<(String, String, String)>,
}

/// One cluster's credentials, rendered without knowing the other clusters.
pub struct ClusterCredentials {
    secrets: Vec<Candidate>,
}

/// One Secret of one cluster in one context and namespace.
struct Candidate {
    key: (String, String, String),
    rendered: Manifest,
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

    /// Every credential of one cluster in each of its datacenters' contexts and namespaces (only
    /// in `context`, when given: a one-context render builds no Secret it would drop). What
    /// the backend cannot deliver was reported by the plan
    /// ([`crate::plan::credentials::resolve`]) and is left out.
    pub fn render(&self, plan: &ClusterPlan<'_>, context: Option<&str>) -> ClusterCredentials {
        let (settings, committed) = (self.settings, self.committed);
        let credentials = &settings.credentials;
        let mut out = ClusterCredentials {
            secrets: Vec::new(),
        };
        let needed = needed(plan);
        let backend = match settings.secrets_backend {
            // No backend: the plan reported the credentials the cluster needs.
            None => return out,
            // Rendered as external secrets by the datacenter stage (see `effective_inputs`).
            Some(Backend::External) => return out,
            Some(b) => b,
        };
        let wanted = locations(plan)
            .into_iter()
            .filter(|(c, _)| context.is_none_or(|only| c == only));
        for (context, namespace) in wanted {
            for n in &needed {
                let remote_key = remote_key(settings, plan, n);
                let (kind, object, raw) = match backend {
                    Backend::ExternalSecrets => (
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
                    ),
                    Backend::Replicate => match replicated_copy(committed, plan, n, &namespace) {
                        Some((object, text)) => (Kind::Secret, object, Some(text)),
                        None => continue,
                    },
                    Backend::External => continue,
                };
                out.secrets.push(Candidate {
                    key: (context.clone(), namespace.clone(), n.name.clone()),
                    rendered: Manifest {
                        ksops: credentials.ksops && raw.is_some(),
                        raw,
                        ..Manifest::new(
                            context.clone(),
                            Owner::Cluster(plan.name.clone()),
                            kind,
                            object,
                        )
                    },
                });
            }
        }
        out
    }
}

impl ClusterCredentials {
    /// The Secrets rendered, to finish them on the rendering thread.
    pub fn manifests_mut(&mut self) -> impl Iterator<Item = &mut Manifest> {
        self.secrets.iter_mut().map(|c| &mut c.rendered)
    }
}

impl Placed {
    /// The credentials of one cluster that no earlier cluster rendered: called for each
    /// cluster in plan order (two clusters that need one Secret from different remote keys
    /// were reported by the plan).
    pub fn keep(&mut self, rendered: ClusterCredentials) -> Vec<Manifest> {
        rendered
            .secrets
            .into_iter()
            .filter(|c| self.first.insert(c.key.clone()))
            .map(|c| c.rendered)
            .collect()
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
    labels.insert(CLUSTER_NAME_LABEL.into(), plan.name.clone().into());
    labels.insert(
        CLUSTER_NAMESPACE_LABEL.into(),
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
