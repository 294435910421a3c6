//! The kinds of object the renderer writes, as a type: the module that builds an object names
//! its kind, so that what later decides on objects (the output collision check, `plan`'s
//! datacenter risks, the routed documents' owners) matches on this, never on `kind` read back
//! from the JSON (issue #11).
//!
//! Every rendered object has one of these kinds, the copied documents included: the routed
//! operations documents are of an [`OperationKind`], the replicated credentials are Secrets
//! (the loader keeps no other committed kind). So there is no catch-all for a kind the user
//! chose: an object of a new kind needs a variant here, and [`Manifest::new`](super::Manifest::new)
//! checks (in debug builds) that it agrees with the object's `kind`.

use std::fmt;

use crate::model::operations::OperationKind;

/// The kind of a rendered object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `cassandra.datastax.com` CassandraDatacenter.
    CassandraDatacenter,
    /// `control.k8ssandra.io` CassandraTask (rebuild tasks, routed tasks).
    CassandraTask,
    /// `medusa.k8ssandra.io` MedusaBackupSchedule (purge schedules, routed schedules).
    MedusaBackupSchedule,
    /// `medusa.k8ssandra.io` MedusaBackupJob (routed).
    MedusaBackupJob,
    /// `medusa.k8ssandra.io` MedusaRestoreJob (routed).
    MedusaRestoreJob,
    /// `reaper.k8ssandra.io` Reaper.
    Reaper,
    /// `stargate.k8ssandra.io` Stargate.
    Stargate,
    /// `monitoring.coreos.com` ServiceMonitor.
    ServiceMonitor,
    /// `k8ssandra.io` K8ssandraCluster: the status reporter's cluster records.
    K8ssandraCluster,
    /// `external-secrets.io` ExternalSecret.
    ExternalSecret,
    /// Secret: a committed SOPS-encrypted Secret, copied.
    Secret,
    /// ConfigMap.
    ConfigMap,
    /// `discovery.k8s.io` EndpointSlice (static seeds).
    EndpointSlice,
    /// `batch` Job (keyspace replication).
    Job,
    /// `apps` Deployment (the status reporter).
    Deployment,
    /// Service (the status reporter's metrics).
    Service,
    /// ServiceAccount (the status reporter's).
    ServiceAccount,
    /// `rbac.authorization.k8s.io` Role.
    Role,
    /// `rbac.authorization.k8s.io` RoleBinding.
    RoleBinding,
    /// `rbac.authorization.k8s.io` ClusterRole.
    ClusterRole,
    /// `rbac.authorization.k8s.io` ClusterRoleBinding.
    ClusterRoleBinding,
    /// `argoproj.io` ApplicationSet.
    ApplicationSet,
    /// `kustomize.toolkit.fluxcd.io` Kustomization (not kustomize's `kustomization.yaml`, which
    /// the output writer adds and which is no rendered object).
    FluxKustomization,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Self; 23] = [
        Self::CassandraDatacenter,
        Self::CassandraTask,
        Self::MedusaBackupSchedule,
        Self::MedusaBackupJob,
        Self::MedusaRestoreJob,
        Self::Reaper,
        Self::Stargate,
        Self::ServiceMonitor,
        Self::K8ssandraCluster,
        Self::ExternalSecret,
        Self::Secret,
        Self::ConfigMap,
        Self::EndpointSlice,
        Self::Job,
        Self::Deployment,
        Self::Service,
        Self::ServiceAccount,
        Self::Role,
        Self::RoleBinding,
        Self::ClusterRole,
        Self::ClusterRoleBinding,
        Self::ApplicationSet,
        Self::FluxKustomization,
    ];

    /// The object's `kind` field, as written.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CassandraDatacenter => "CassandraDatacenter",
            Self::CassandraTask => "CassandraTask",
            Self::MedusaBackupSchedule => "MedusaBackupSchedule",
            Self::MedusaBackupJob => "MedusaBackupJob",
            Self::MedusaRestoreJob => "MedusaRestoreJob",
            Self::Reaper => "Reaper",
            Self::Stargate => "Stargate",
            Self::ServiceMonitor => "ServiceMonitor",
            Self::K8ssandraCluster => "K8ssandraCluster",
            Self::ExternalSecret => "ExternalSecret",
            Self::Secret => "Secret",
            Self::ConfigMap => "ConfigMap",
            Self::EndpointSlice => "EndpointSlice",
            Self::Job => "Job",
            Self::Deployment => "Deployment",
            Self::Service => "Service",
            Self::ServiceAccount => "ServiceAccount",
            Self::Role => "Role",
            Self::RoleBinding => "RoleBinding",
            Self::ClusterRole => "ClusterRole",
            Self::ClusterRoleBinding => "ClusterRoleBinding",
            Self::ApplicationSet => "ApplicationSet",
            Self::FluxKustomization => "Kustomization",
        }
    }

    /// Whether a routed operations document can be of this kind (and so take the place of an
    /// object of it).
    #[must_use]
    pub fn is_operation(self) -> bool {
        OperationKind::ALL
            .into_iter()
            .any(|k| Self::from(k) == self)
    }
}

impl From<OperationKind> for Kind {
    fn from(kind: OperationKind) -> Self {
        match kind {
            OperationKind::MedusaBackupSchedule => Self::MedusaBackupSchedule,
            OperationKind::MedusaBackupJob => Self::MedusaBackupJob,
            OperationKind::MedusaRestoreJob => Self::MedusaRestoreJob,
            OperationKind::CassandraTask => Self::CassandraTask,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_text() {
        let mut texts: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), Kind::ALL.len());
    }

    #[test]
    fn an_operations_kind_keeps_its_name_and_only_those_are_operations() {
        for k in OperationKind::ALL {
            assert_eq!(Kind::from(k).as_str(), k.name());
            assert!(Kind::from(k).is_operation());
        }
        let operations = Kind::ALL.iter().filter(|k| k.is_operation()).count();
        assert_eq!(operations, OperationKind::ALL.len());
        assert!(!Kind::CassandraDatacenter.is_operation());
    }
}
