//! Documents a repository keeps next to its clusters for the operators to act on: Medusa
//! schedules and jobs and CassandraTasks (copied into the context and namespace of the
//! datacenter they name), and the MedusaConfigurations a cluster's Medusa may reference.

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::schema::InputKind;
use crate::yaml::Seg;

/// The only served version of the operations kinds.
pub const OPERATION_VERSION: &str = "v1alpha1";

/// A kind of operations document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    /// `medusa.k8ssandra.io` MedusaBackupSchedule.
    MedusaBackupSchedule,
    /// `medusa.k8ssandra.io` MedusaBackupJob.
    MedusaBackupJob,
    /// `medusa.k8ssandra.io` MedusaRestoreJob.
    MedusaRestoreJob,
    /// `control.k8ssandra.io` CassandraTask.
    CassandraTask,
}

impl OperationKind {
    /// Every operations kind.
    pub const ALL: [Self; 4] = [
        Self::MedusaBackupSchedule,
        Self::MedusaBackupJob,
        Self::MedusaRestoreJob,
        Self::CassandraTask,
    ];

    /// The kind name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::MedusaBackupSchedule => "MedusaBackupSchedule",
            Self::MedusaBackupJob => "MedusaBackupJob",
            Self::MedusaRestoreJob => "MedusaRestoreJob",
            Self::CassandraTask => "CassandraTask",
        }
    }

    /// The API group.
    #[must_use]
    pub fn group(self) -> &'static str {
        match self {
            Self::CassandraTask => "control.k8ssandra.io",
            _ => "medusa.k8ssandra.io",
        }
    }

    /// The CRD schema the document is checked against.
    #[must_use]
    pub fn schema(self) -> InputKind {
        match self {
            Self::MedusaBackupSchedule => InputKind::MedusaBackupSchedule,
            Self::MedusaBackupJob => InputKind::MedusaBackupJob,
            Self::MedusaRestoreJob => InputKind::MedusaRestoreJob,
            Self::CassandraTask => InputKind::CassandraTask,
        }
    }

    /// Where the document names its datacenter.
    #[must_use]
    pub fn datacenter_path(self) -> &'static [&'static str] {
        match self {
            Self::MedusaBackupSchedule => &["spec", "backupSpec", "cassandraDatacenter"],
            Self::MedusaBackupJob | Self::MedusaRestoreJob => &["spec", "cassandraDatacenter"],
            Self::CassandraTask => &["spec", "datacenter", "name"],
        }
    }

    /// Where it names that datacenter's namespace besides `metadata.namespace` (a
    /// CassandraTask, whose datacenter cass-operator looks up there).
    #[must_use]
    pub fn namespace_path(self) -> Option<&'static [&'static str]> {
        match self {
            Self::CassandraTask => Some(&["spec", "datacenter", "namespace"]),
            _ => None,
        }
    }

    /// The operations kind of a document of this `apiVersion` and `kind`, whatever its version
    /// (a wrong one is reported, not ignored).
    #[must_use]
    pub fn of(api_version: &str, kind: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == kind && api_version.split('/').next() == Some(k.group()))
    }
}

/// An operations document, checked against its CRD, that names its datacenter.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Its kind.
    pub kind: OperationKind,
    /// `metadata.name`.
    pub name: String,
    /// The datacenter it names (`metadata.name` of a datacenter template).
    pub datacenter: String,
    /// The namespace it names for that datacenter (`metadata.namespace`, else a CassandraTask's
    /// `spec.datacenter.namespace`), empty when it names none.
    pub namespace: String,
    /// Where it names that namespace.
    pub namespace_path: Option<Vec<Seg>>,
    /// The document as JSON, copied into the output.
    pub object: Value,
}

/// A `medusa.k8ssandra.io` MedusaConfiguration of the repository (any version).
#[derive(Debug, Clone)]
pub struct MedusaConfiguration {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (empty: the namespace of the cluster that references it).
    pub namespace: String,
    /// `spec.storageProperties` (null when absent).
    pub storage_properties: Value,
    /// Its problems (an unsupported version, CRD schema violations): found once when loading,
    /// reported only when a cluster references it, like upstream, which reads it then.
    pub issues: Vec<Diagnostic>,
}
