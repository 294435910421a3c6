//! The K8ssandraCluster kind (`k8ssandra.io/v1alpha1`), typed for the fields the renderer reads.
//!
//! Every document is first checked against the upstream CRD schema (see [`crate::schema`]), so
//! these structs only have to carry meaning, not catch typos; they still refuse unknown fields
//! so that a field we forgot to model cannot be dropped silently. Kubernetes core types that we
//! only pass through (containers, affinity, volumes, ...) stay as JSON values: the schema check
//! has already validated them and the renderer copies them unchanged.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

/// String-to-string map with sorted keys (labels, annotations).
pub type StringMap = BTreeMap<String, String>;

/// Object metadata as far as the renderer uses it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Object name.
    #[serde(default)]
    pub name: String,
    /// Namespace (may be empty: then RenderConfig `defaultNamespace` applies).
    #[serde(default)]
    pub namespace: String,
    /// Labels.
    #[serde(default)]
    pub labels: StringMap,
    /// Annotations.
    #[serde(default)]
    pub annotations: StringMap,
}

/// A whole K8ssandraCluster document.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct K8ssandraCluster {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata`.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// `spec`.
    #[serde(default)]
    pub spec: K8ssandraClusterSpec,
    /// `status` is runtime data and ignored.
    #[serde(default)]
    pub status: Option<Value>,
}

impl K8ssandraCluster {
    /// Drops the spare capacity of the JSON parts ([`crate::json::compact`]): every typed
    /// cluster is kept until the end of the run.
    pub fn compact(&mut self) {
        use crate::json::{compact, compact_map};
        let spec = &mut self.spec;
        for v in [
            &mut spec.stargate,
            &mut spec.reaper,
            &mut spec.medusa,
            &mut self.status,
        ]
        .into_iter()
        .flatten()
        {
            compact(v);
        }
        let Some(cassandra) = &mut spec.cassandra else {
            return;
        };
        compact(&mut cassandra.meta);
        compact_map(&mut cassandra.options);
        for v in [
            &mut cassandra.server_encryption_stores,
            &mut cassandra.client_encryption_stores,
        ]
        .into_iter()
        .flatten()
        {
            compact(v);
        }
        cassandra.datacenters.shrink_to_fit();
        for dc in &mut cassandra.datacenters {
            compact(&mut dc.meta);
            compact_map(&mut dc.options);
            if let Some(stargate) = &mut dc.stargate {
                compact(stargate);
            }
        }
    }
}

/// `spec` of a K8ssandraCluster.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct K8ssandraClusterSpec {
    /// `auth` (CRD default true; nil also means enabled).
    pub auth: Option<bool>,
    /// `cassandra`; without it upstream does nothing.
    pub cassandra: Option<CassandraClusterTemplate>,
    /// Deprecated cluster-wide Stargate template (rendered by the components stage).
    pub stargate: Option<Value>,
    /// Reaper template (rendered by the components stage).
    pub reaper: Option<Value>,
    /// Medusa template (rendered by the components stage).
    pub medusa: Option<Value>,
    /// Datacenters outside this cluster's control.
    #[serde(default)]
    pub external_datacenters: Vec<String>,
    /// `internal` (default) or `external`.
    pub secrets_provider: Option<String>,
}

/// The Cassandra cluster name: `spec.cassandra.clusterName`, or the K8ssandraCluster's
/// `metadata.name` when that is empty (upstream `CassClusterName`). The renderer and the
/// reporter both name things after it.
#[must_use]
pub fn cassandra_cluster_name<'a>(object_name: &'a str, cluster_name: &'a str) -> &'a str {
    if cluster_name.is_empty() {
        object_name
    } else {
        cluster_name
    }
}

impl K8ssandraClusterSpec {
    /// `IsAuthEnabled`: nil or true.
    #[must_use]
    pub fn auth_enabled(&self) -> bool {
        self.auth.unwrap_or(true)
    }
}

/// `spec.cassandra`: cluster-only fields; the shared datacenter options stay JSON in
/// [`CassandraClusterTemplate::options`] until they are merged with each datacenter's.
#[derive(Debug, Clone, Default)]
pub struct CassandraClusterTemplate {
    /// `metadata` (labels, annotations, commonLabels, pods, services...).
    pub meta: Value,
    /// `superuserSecretRef.name`.
    pub superuser_secret_name: String,
    /// `datacenters`.
    pub datacenters: Vec<DatacenterTemplate>,
    /// `additionalSeeds`.
    pub additional_seeds: Vec<String>,
    /// `serverEncryptionStores`.
    pub server_encryption_stores: Option<Value>,
    /// `clientEncryptionStores`.
    pub client_encryption_stores: Option<Value>,
    /// `clusterName` override (unsanitized Cassandra cluster name).
    pub cluster_name: String,
    /// `serverType` (CRD default `cassandra`).
    pub server_type: String,
    /// The DatacenterOptions part of `spec.cassandra`, as written.
    pub options: serde_json::Map<String, Value>,
}

/// Keys of `spec.cassandra` that are not DatacenterOptions.
pub const CLUSTER_ONLY_KEYS: &[&str] = &[
    "metadata",
    "superuserSecretRef",
    "datacenters",
    "additionalSeeds",
    "serverEncryptionStores",
    "clientEncryptionStores",
    "clusterName",
    "serverType",
];

/// Keys of a datacenter template that are not DatacenterOptions.
pub const DC_ONLY_KEYS: &[&str] = &[
    "metadata",
    "k8sContext",
    "size",
    "stopped",
    "stargate",
    "perNodeConfigMapRef",
];

impl<'de> Deserialize<'de> for CassandraClusterTemplate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase")]
        struct Named {
            #[serde(default)]
            name: String,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct ClusterOnly {
            #[serde(default)]
            metadata: Value,
            #[serde(default)]
            superuser_secret_ref: Named,
            #[serde(default)]
            datacenters: Vec<DatacenterTemplate>,
            #[serde(default)]
            additional_seeds: Vec<String>,
            server_encryption_stores: Option<Value>,
            client_encryption_stores: Option<Value>,
            #[serde(default)]
            cluster_name: String,
            #[serde(default)]
            server_type: Option<String>,
        }
        let mut all = serde_json::Map::<String, Value>::deserialize(d)?;
        let mut only = serde_json::Map::new();
        for key in CLUSTER_ONLY_KEYS {
            if let Some(v) = all.remove(*key) {
                only.insert((*key).to_string(), v);
            }
        }
        let c: ClusterOnly =
            serde_json::from_value(Value::Object(only)).map_err(serde::de::Error::custom)?;
        // Type-check the options now so errors surface at parse time, not at merge time.
        DatacenterOptions::deserialize(Value::Object(all.clone()))
            .map_err(serde::de::Error::custom)?;
        Ok(Self {
            meta: c.metadata,
            superuser_secret_name: c.superuser_secret_ref.name,
            datacenters: c.datacenters,
            additional_seeds: c.additional_seeds,
            server_encryption_stores: c.server_encryption_stores,
            client_encryption_stores: c.client_encryption_stores,
            cluster_name: c.cluster_name,
            server_type: c.server_type.unwrap_or_else(|| "cassandra".to_string()),
            options: all,
        })
    }
}

/// One element of `spec.cassandra.datacenters`.
#[derive(Debug, Clone, Default)]
pub struct DatacenterTemplate {
    /// `metadata.name` (the CassandraDatacenter object name).
    pub name: String,
    /// `metadata.namespace` (empty: the K8ssandraCluster's namespace).
    pub namespace: String,
    /// The whole `metadata` (labels, annotations, commonLabels, pods, services...).
    pub meta: Value,
    /// `k8sContext` (empty: the control-plane context).
    pub k8s_context: String,
    /// `size`.
    pub size: i32,
    /// `stopped`.
    pub stopped: bool,
    /// Deprecated per-DC Stargate template.
    pub stargate: Option<Value>,
    /// `perNodeConfigMapRef.name`.
    pub per_node_config_map: String,
    /// The DatacenterOptions part, as written.
    pub options: serde_json::Map<String, Value>,
}

impl DatacenterTemplate {
    /// The namespace of the CassandraDatacenter: `metadata.namespace`, else its
    /// K8ssandraCluster's (`cluster_namespace`, itself already defaulted). The renderer and the
    /// reporter both place datacenters by it.
    #[must_use]
    pub fn namespace_or<'a>(&'a self, cluster_namespace: &'a str) -> &'a str {
        if self.namespace.is_empty() {
            cluster_namespace
        } else {
            &self.namespace
        }
    }

    /// The context the datacenter runs in: `k8sContext`, else the control-plane context.
    #[must_use]
    pub fn context_or<'a>(&'a self, control_plane_context: &'a str) -> &'a str {
        if self.k8s_context.is_empty() {
            control_plane_context
        } else {
            &self.k8s_context
        }
    }
}

impl<'de> Deserialize<'de> for DatacenterTemplate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize, Default)]
        struct Named {
            #[serde(default)]
            name: String,
            #[serde(default)]
            namespace: String,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct DcOnly {
            #[serde(default)]
            metadata: Value,
            #[serde(default)]
            k8s_context: String,
            #[serde(default)]
            size: i32,
            #[serde(default)]
            stopped: bool,
            stargate: Option<Value>,
            #[serde(default)]
            per_node_config_map_ref: Named,
        }
        let mut all = serde_json::Map::<String, Value>::deserialize(d)?;
        let mut only = serde_json::Map::new();
        for key in DC_ONLY_KEYS {
            if let Some(v) = all.remove(*key) {
                only.insert((*key).to_string(), v);
            }
        }
        let c: DcOnly =
            serde_json::from_value(Value::Object(only)).map_err(serde::de::Error::custom)?;
        let named: Named = serde_json::from_value(c.metadata.clone()).unwrap_or_default();
        DatacenterOptions::deserialize(Value::Object(all.clone()))
            .map_err(serde::de::Error::custom)?;
        Ok(Self {
            name: named.name,
            namespace: named.namespace,
            meta: c.metadata,
            k8s_context: c.k8s_context,
            size: c.size,
            stopped: c.stopped,
            stargate: c.stargate,
            per_node_config_map: c.per_node_config_map_ref.name,
            options: all,
        })
    }
}

/// DatacenterOptions: settable on the cluster and on each datacenter, merged DC-over-cluster.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatacenterOptions {
    /// `serverVersion`.
    #[serde(default)]
    pub server_version: String,
    /// `serverImage`.
    #[serde(default)]
    pub server_image: String,
    /// `config` (cassandraYaml, jvmOptions, dseYaml).
    pub config: Option<Value>,
    /// `storageConfig` (cass-operator StorageConfig, passed through).
    pub storage_config: Option<Value>,
    /// `networking` (`nodePort`, `hostNetwork`).
    pub networking: Option<Networking>,
    /// `resources`.
    pub resources: Option<Value>,
    /// `racks`.
    pub racks: Option<Vec<Value>>,
    /// Deprecated and ignored upstream (a warning is printed). Accepted, not kept: the merge
    /// reads the raw JSON, and a copy here would live as long as the plan.
    #[expect(
        dead_code,
        reason = "typed so deny_unknown_fields accepts it; the merge reads the raw JSON"
    )]
    pub jmx_init_container_image: Option<IgnoredAny>,
    /// `softPodAntiAffinity` → `allowMultipleNodesPerWorker`.
    pub soft_pod_anti_affinity: Option<bool>,
    /// `tolerations`.
    pub tolerations: Option<Vec<Value>>,
    /// `mgmtAPIHeap` (a quantity).
    #[serde(rename = "mgmtAPIHeap")]
    pub mgmt_api_heap: Option<Value>,
    /// `telemetry`: accepted, not kept (the plan keeps the merged telemetry once, as JSON).
    #[expect(
        dead_code,
        reason = "typed so deny_unknown_fields accepts it; the merge reads the raw JSON"
    )]
    pub telemetry: Option<IgnoredAny>,
    /// `cdc` (DC level only upstream).
    pub cdc: Option<Value>,
    /// `containers`.
    pub containers: Option<Vec<Value>>,
    /// `initContainers`.
    pub init_containers: Option<Vec<Value>>,
    /// `extraVolumes` (`volumes`, `pvcs`).
    pub extra_volumes: Option<ExtraVolumes>,
    /// `dseWorkloads`.
    pub dse_workloads: Option<DseWorkloads>,
    /// `podSecurityContext`.
    pub pod_security_context: Option<Value>,
    /// `podPriorityClassName`.
    #[serde(default)]
    pub pod_priority_class_name: String,
    /// `managementApiAuth`.
    pub management_api_auth: Option<Value>,
    /// Deprecated image of the per-node-config init container.
    #[serde(default)]
    pub per_node_config_init_container_image: String,
    /// `serviceAccount` → `serviceAccountName`.
    #[serde(default)]
    pub service_account: String,
    /// Cassandra-level datacenter name override.
    #[serde(default)]
    pub datacenter_name: String,
    /// `readOnlyRootFilesystem`.
    pub read_only_root_filesystem: Option<bool>,
    /// `rebuild` (only the cluster-level value is read upstream): accepted, not kept.
    #[expect(
        dead_code,
        reason = "typed so deny_unknown_fields accepts it; the merge reads the raw JSON"
    )]
    pub rebuild: Option<IgnoredAny>,
}

impl DatacenterOptions {
    /// Drops the spare capacity of the JSON parts ([`crate::json::compact`]): the merged
    /// options of every datacenter are kept in its plan until the end of the run.
    pub fn compact(&mut self) {
        use crate::json::compact;
        let single = [
            &mut self.config,
            &mut self.storage_config,
            &mut self.resources,
            &mut self.mgmt_api_heap,
            &mut self.cdc,
            &mut self.pod_security_context,
            &mut self.management_api_auth,
        ];
        single.into_iter().flatten().for_each(compact);
        if let Some(node_port) = self.networking.as_mut().and_then(|n| n.node_port.as_mut()) {
            compact(node_port);
        }
        let volumes = self
            .extra_volumes
            .as_mut()
            .map(|e| [&mut e.volumes, &mut e.pvcs]);
        let lists = [
            self.racks.as_mut(),
            self.tolerations.as_mut(),
            self.containers.as_mut(),
            self.init_containers.as_mut(),
        ];
        for list in lists
            .into_iter()
            .flatten()
            .chain(volumes.into_iter().flatten())
        {
            list.shrink_to_fit();
            list.iter_mut().for_each(compact);
        }
    }
}

/// `networking` of DatacenterOptions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Networking {
    /// Node ports.
    pub node_port: Option<Value>,
    /// `hostNetwork`.
    pub host_network: Option<bool>,
}

/// `extraVolumes` of DatacenterOptions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExtraVolumes {
    /// Pod volumes.
    #[serde(default)]
    pub volumes: Vec<Value>,
    /// PVC-backed additional volumes.
    #[serde(default)]
    pub pvcs: Vec<Value>,
}

/// `dseWorkloads`.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DseWorkloads {
    /// Analytics (Spark).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub analytics_enabled: bool,
    /// Graph.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub graph_enabled: bool,
    /// Search (Solr).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub search_enabled: bool,
}
