//! Render stage: plans → Kubernetes objects, grouped by target context.
//!
//! Each output object has one owning module, which builds it whole, including its rollout
//! wave (a typed [`Wave`] through [`Manifest::placed`]), and names its [`Kind`] and [`Owner`]
//! (cluster, datacenter), which later steps match on instead of reading the object back;
//! nothing edits an object after its owner returns it. Which module renders what:
//!
//! | object | owner |
//! |---|---|
//! | CassandraDatacenter; its metrics-agent, Vector and per-node ConfigMaps; the config hash | [`datacenter`] (field by field: its module docs) |
//! | Reaper | [`reaper`] |
//! | Stargate | [`stargate`] |
//! | ServiceMonitor (per datacenter) | [`service_monitor`] |
//! | Medusa ConfigMap, purge MedusaBackupSchedule; routed operations documents | [`medusa`] |
//! | rebuild CassandraTask, keyspace replication Job, static-seed EndpointSlices | [`multidc`] |
//! | credentials: ExternalSecrets, replicated Secret copies | [`credentials`] |
//! | status reporter: Deployment, RBAC, Service, ServiceMonitor, seed-sync records | [`reporter`] |
//! | ApplicationSet, Flux Kustomizations, kustomizations | [`delivery`] |
//!
//! What these modules read comes from the plan, decided once there: the Reaper and Stargate
//! templates with their CRD defaults ([`crate::plan::templates`]) and which datacenters get
//! those objects, checked ([`crate::plan::reaper`], [`crate::plan::stargate`]: their render
//! modules report nothing), likewise the ServiceMonitors ([`crate::plan::service_monitor`]),
//! the rebuild tasks, replication keyspaces and ignored seeds ([`crate::plan::multidc`]), the
//! effective Medusa template ([`ClusterPlan::medusa`]), the Secrets each cluster needs, the
//! committed SOPS Secrets and what the secrets backend cannot deliver
//! ([`crate::plan::credentials`]), the system keyspace replication
//! ([`crate::plan::replication`]), each datacenter's encryption stores and telemetry, checked
//! ([`crate::plan::encryption`], [`crate::plan::telemetry`]: the datacenter module builds
//! nothing for one they refused, and reports nothing about them),
//! the reporter's cluster records ([`crate::plan::reporter::cluster_record`]), `spec.auth` and
//! `externalDatacenters` ([`ClusterPlan`] fields). No module here calls [`crate::schema`],
//! reaches the loaded inputs or reads the source documents (`plan.doc` only places
//! diagnostics); `tests/layers.rs` checks all three.
//!
//! Features that add to a CassandraDatacenter return values the datacenter module assembles in
//! the order its module docs give: a [`contribution::Contribution`] (containers, volumes, users,
//! annotations) from `medusa::contribution` and `tokens::per_node_contribution`, and plain
//! values from [`config`] (the `config` JSON), [`metrics_agent`], [`vector`] and
//! [`config_hash`].

pub mod config;
pub mod config_hash;
pub mod contribution;
pub mod credentials;
pub mod datacenter;
pub mod delivery;
pub mod kind;
pub mod labels;
pub mod medusa;
pub mod metrics_agent;
pub mod multidc;
pub mod reaper;
pub mod reporter;
pub mod service_monitor;
pub mod stargate;
pub mod stream;
pub mod tokens;
pub mod vector;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::plan::waves::Wave;
use crate::plan::{ClusterPlan, DcPlan};

pub use kind::Kind;

/// Argo CD sync-wave annotation.
pub const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
/// Argo CD per-object sync options.
pub const SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
/// [`SYNC_OPTIONS`] for what Argo CD must never prune or delete (CassandraDatacenters, the
/// reporter's cluster records).
pub const NEVER_PRUNE: &str = "Prune=false,Delete=false";
/// Flux's per-object prune switch (annotation or label).
pub const FLUX_PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";

/// Whose object a manifest is, as its building module knows it: later steps ask this rather
/// than read labels or names back from the object. Small on purpose (issue #13): the cluster's
/// name, which the output path needs anyway, and a datacenter index, no copies of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// The whole repository: the delivery objects (ApplicationSet, Flux Kustomizations) and
    /// the status reporter's own objects. Written directly in their context's directory.
    Repository,
    /// K8ssandraCluster of this name as a whole: what serves all its datacenters in a context
    /// and namespace (credentials, the Medusa ConfigMap) and its reporter record.
    Cluster(String),
    /// A datacenter of K8ssandraCluster `cluster`: its own objects and what is applied after it
    /// (Stargate, Reaper, ServiceMonitor, purge schedule, the operations documents routed to
    /// it, a replication Job it is the contact point of).
    Datacenter {
        /// K8ssandraCluster `metadata.name`.
        cluster: String,
        /// The datacenter's position in `spec.cassandra.datacenters` (`DcPlan::index`).
        dc: usize,
    },
}

impl Owner {
    /// The owning K8ssandraCluster's name, when a cluster owns the object.
    #[must_use]
    pub fn cluster(&self) -> Option<&str> {
        match self {
            Self::Repository => None,
            Self::Cluster(cluster) | Self::Datacenter { cluster, .. } => Some(cluster),
        }
    }

    /// The owning datacenter's position in its cluster's `spec.cassandra.datacenters`.
    #[must_use]
    pub fn datacenter(&self) -> Option<usize> {
        match self {
            Self::Datacenter { dc, .. } => Some(*dc),
            _ => None,
        }
    }

    /// Datacenter `dc` of `plan`.
    #[must_use]
    pub(crate) fn of_dc(plan: &ClusterPlan<'_>, dc: &DcPlan<'_>) -> Self {
        Self::Datacenter {
            cluster: plan.name.clone(),
            dc: dc.index,
        }
    }
}

/// One rendered object and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Target context (output directory).
    pub context: String,
    /// Who the object belongs to; its cluster names the output sub-directory.
    owner: Owner,
    /// What the owning module built; agrees with `object["kind"]` ([`Manifest::new`]).
    kind: Kind,
    /// The whole object (apiVersion, kind, metadata, spec...).
    pub object: Value,
    /// Exact bytes to write instead of serialising `object`: a SOPS-encrypted Secret (whose
    /// MAC covers its values in document order), or the serialized `object` itself when the
    /// renderer made the text ahead on its own thread ([`Sink::wants_text`](crate::Sink::wants_text)).
    /// Not a sign of either; [`Manifest::ksops`] tells an encrypted Secret.
    pub raw: Option<String>,
    /// Decrypted at build time by the context's KSOPS generator (a SOPS Secret of the
    /// `replicate` backend delivered by Argo CD): listed under the generator's `files`, not
    /// under the kustomization's `resources`.
    pub ksops: bool,
}

impl Manifest {
    /// A manifest serialised from its object, which is of `kind`.
    ///
    /// # Panics
    ///
    /// In debug builds, when `object["kind"]` is not `kind`: the typed kind is what later
    /// steps decide by, so the two must never drift (every fixture renders through here).
    #[must_use]
    pub fn new(context: String, owner: Owner, kind: Kind, object: Value) -> Self {
        debug_assert_eq!(
            object.get("kind").and_then(Value::as_str),
            Some(kind.as_str()),
            "the object's kind differs from its typed kind"
        );
        Self {
            context,
            owner,
            kind,
            object,
            raw: None,
            ksops: false,
        }
    }

    /// A manifest in `wave` of its cluster's rollout: the building module decides the wave and
    /// writes it as it builds the object ([`SYNC_WAVE`], overriding one the user's metadata may
    /// have carried in).
    #[must_use]
    pub(crate) fn placed(
        context: String,
        owner: Owner,
        kind: Kind,
        wave: Wave,
        mut object: Value,
    ) -> Self {
        set_annotation(&mut object, SYNC_WAVE, wave.number().to_string());
        Self::new(context, owner, kind, object)
    }

    /// An object of datacenter `dc` of `plan`, in its context, in `wave`.
    #[must_use]
    pub(crate) fn of_dc(
        plan: &ClusterPlan<'_>,
        dc: &DcPlan<'_>,
        wave: Wave,
        kind: Kind,
        object: Value,
    ) -> Self {
        Self::placed(
            dc.context.clone(),
            Owner::of_dc(plan, dc),
            kind,
            wave,
            object,
        )
    }

    /// An object that upstream deploys once the datacenters are ready (Stargate, Reaper,
    /// ServiceMonitors, purge schedules): after the last datacenter of `plan` in `dc`'s context.
    #[must_use]
    pub(crate) fn after_datacenters(
        plan: &ClusterPlan<'_>,
        dc: &DcPlan<'_>,
        kind: Kind,
        object: Value,
    ) -> Self {
        let wave = Wave::AfterDatacenter(plan.last_position_in(&dc.context));
        Self::of_dc(plan, dc, wave, kind, object)
    }

    /// Who the object belongs to.
    #[must_use]
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// The object's kind, as the module that built it named it.
    #[must_use]
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The owning K8ssandraCluster's name (output sub-directory); empty for the objects about
    /// the whole repository.
    #[must_use]
    pub fn cluster(&self) -> &str {
        self.owner.cluster().unwrap_or_default()
    }

    /// The file content: the raw text when there is one, else the canonical YAML.
    #[must_use]
    pub fn text(&self) -> String {
        match &self.raw {
            Some(raw) => raw.clone(),
            None => crate::emit::object_to_yaml(&self.object),
        }
    }

    /// [`Manifest::text`], without copying a text that is already there.
    #[must_use]
    pub fn into_text(self) -> String {
        match self.raw {
            Some(raw) => raw,
            None => crate::emit::object_to_yaml(&self.object),
        }
    }

    /// Serializes the object now and keeps the text, so that the thread that renders the
    /// object pays for it rather than the one that writes it ([`stream::render_plan`]).
    pub(crate) fn prepare_text(&mut self) {
        if self.raw.is_none() {
            self.raw = Some(crate::emit::object_to_yaml(&self.object));
        }
    }

    /// Appends [`Manifest::text`] to `out`.
    pub fn push_text(&self, out: &mut String) {
        match &self.raw {
            Some(raw) => out.push_str(raw),
            None => crate::emit::push_object(out, &self.object),
        }
    }

    fn field(&self, path: &[&str]) -> &str {
        let mut v = &self.object;
        for p in path {
            v = &v[*p];
        }
        v.as_str().unwrap_or_default()
    }

    /// `metadata.name`.
    #[must_use]
    pub fn name(&self) -> &str {
        self.field(&["metadata", "name"])
    }

    /// `metadata.namespace`.
    #[must_use]
    pub fn namespace(&self) -> &str {
        self.field(&["metadata", "namespace"])
    }

    /// Path inside the output directory: `<context>/<namespace>/<cluster>/<kind>-<name>.yaml`.
    /// Every component was validated as a DNS label or subdomain before rendering, so no path
    /// can leave the output directory.
    #[must_use]
    pub fn rel_path(&self) -> String {
        // Built in one allocation, `metadata` looked up once: this runs for every object in
        // the sort, the output tree and the sources (a tenth of a re-render, issue #13).
        let kind = self.kind.as_str();
        let metadata = &self.object["metadata"];
        let name = metadata["name"].as_str().unwrap_or_default();
        // Objects about the whole repository (ApplicationSet, Flux Kustomizations, the
        // reporter's own) have no cluster: `<context>/<kind>-<name>.yaml`.
        let cluster = self.owner.cluster();
        let namespace = match cluster {
            None => "",
            Some(_) => metadata["namespace"].as_str().unwrap_or_default(),
        };
        let mut out = String::with_capacity(
            self.context.len()
                + namespace.len()
                + cluster.map_or(0, str::len)
                + kind.len()
                + name.len()
                + 9,
        );
        out.push_str(&self.context);
        out.push('/');
        if let Some(cluster) = cluster {
            out.push_str(namespace);
            out.push('/');
            out.push_str(cluster);
            out.push('/');
        }
        let start = out.len();
        out.push_str(kind);
        out[start..].make_ascii_lowercase();
        out.push('-');
        out.push_str(name);
        out.push_str(".yaml");
        out
    }
}

/// Everything rendered, by context, each sorted by output path.
pub type ByContext = BTreeMap<String, Vec<Manifest>>;

/// Renders one planned cluster's own objects. Its problems are added to `diags`; when any of
/// them is an error the objects must not be used. With `context`, its datacenters in other
/// contexts are checked but not built, and neither are their Reapers, ServiceMonitors and
/// Stargates; the cluster's other objects are built in every context (the operations kinds
/// among them are what routed documents must not replace, there too).
pub fn render_cluster(
    plan: &ClusterPlan<'_>,
    context: Option<&str>,
    reporter: Option<&crate::plan::reporter::ReporterPlan>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Manifest> {
    let mut objects = datacenter::render_cluster_in(plan, context, diags);
    // These are about one datacenter each and cannot fail: other contexts' are not built.
    objects.extend(reaper::render(plan, context));
    objects.extend(service_monitor::render(plan, context));
    objects.extend(stargate::render(plan, context));
    objects.extend(medusa::render(plan, diags));
    objects.extend(multidc::render(plan, reporter));
    objects
}

/// Sets `metadata.annotations[key]` of `object`, creating the map when needed.
pub(crate) fn set_annotation(object: &mut Value, key: &str, value: String) {
    let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if let Some(annotations) = annotations.as_object_mut() {
        annotations.insert(key.into(), value.into());
    }
}

/// Kubernetes stores resource quantities as strings (`cpu: 1` reads back as `"1"`, and Go's
/// encoder writes every `Quantity` as a string). Numbers in resource lists (`requests`,
/// `limits`, `capacity`) and in the named scalar quantity fields are written that way, so that
/// a GitOps diff against the live object stays quiet. Subtrees under `skip` (free-form Cassandra
/// settings) keep their types.
pub(crate) fn stringify_quantities(v: &mut Value, scalar_keys: &[&str], skip: &[&str]) {
    fn walk(v: &mut Value, in_list: bool, scalar_keys: &[&str], skip: &[&str]) {
        match v {
            Value::Object(m) if in_list => {
                for child in m.values_mut() {
                    if let Value::Number(n) = child {
                        *child = Value::String(n.to_string());
                    }
                }
            }
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    if skip.contains(&k.as_str()) {
                        continue;
                    }
                    if scalar_keys.contains(&k.as_str())
                        && let Value::Number(n) = child
                    {
                        *child = Value::String(n.to_string());
                        continue;
                    }
                    let list = matches!(k.as_str(), "requests" | "limits" | "capacity")
                        && child.is_object();
                    walk(child, list, scalar_keys, skip);
                }
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|i| walk(i, false, scalar_keys, skip)),
            _ => {}
        }
    }
    walk(v, false, scalar_keys, skip);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn role(owner: Owner) -> Manifest {
        Manifest::new(
            "cp".into(),
            owner,
            Kind::Role,
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": "r", "namespace": "ns"}}),
        )
    }

    #[test]
    fn only_objects_of_a_cluster_go_in_its_namespace_and_cluster_directory() {
        let dc = Owner::Datacenter {
            cluster: "demo".into(),
            dc: 1,
        };
        assert_eq!(role(dc.clone()).rel_path(), "cp/ns/demo/role-r.yaml");
        assert_eq!(role(dc.clone()).cluster(), "demo");
        assert_eq!(dc.datacenter(), Some(1));
        let cluster = role(Owner::Cluster("demo".into()));
        assert_eq!(cluster.rel_path(), "cp/ns/demo/role-r.yaml");
        assert_eq!(cluster.owner().datacenter(), None);
        let repository = role(Owner::Repository);
        assert_eq!(repository.rel_path(), "cp/role-r.yaml");
        assert_eq!(repository.cluster(), "");
    }

    #[test]
    fn one_context_renders_a_cluster_as_the_whole_render_does_there() {
        let yaml = crate::testing::cluster(
            "demo",
            "  reaper: {}\n  stargate: {size: 1}\n",
            "    - {metadata: {name: dc1}, k8sContext: east, size: 3, telemetry: {prometheus: {enabled: true}}}\n    - {metadata: {name: dc2}, k8sContext: west, size: 3, telemetry: {prometheus: {enabled: true}}}\n",
        );
        let (whole, whole_diags) = crate::testing::render_one(&yaml, |plan, diags| {
            render_cluster(plan, None, None, diags)
        });
        for kind in [Kind::Reaper, Kind::ServiceMonitor, Kind::Stargate] {
            assert_eq!(
                whole.iter().filter(|m| m.kind() == kind).count(),
                2,
                "{kind} in {whole:#?}"
            );
        }
        for context in ["east", "west"] {
            let (one, diags) = crate::testing::render_one(&yaml, |plan, diags| {
                render_cluster(plan, Some(context), None, diags)
            });
            let one: Vec<&Manifest> = one.iter().filter(|m| m.context == context).collect();
            let expected: Vec<&Manifest> = whole.iter().filter(|m| m.context == context).collect();
            assert_eq!(one, expected, "{context}");
            assert_eq!(diags, whole_diags, "{context}");
        }
    }

    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "the object's kind differs from its typed kind")]
    fn a_typed_kind_that_differs_from_the_objects_kind_is_caught_where_it_is_built() {
        let _ = Manifest::new(
            "cp".into(),
            Owner::Repository,
            Kind::ConfigMap,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}),
        );
    }
}
