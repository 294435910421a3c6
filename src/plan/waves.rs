//! The rollout order as Argo CD sync waves: which wave each object of a cluster is applied in,
//! decided from the datacenters' rollout positions ([`super::ClusterPlan::priority`]). Render
//! only writes the numbers; across contexts, ApplicationSet RollingSync and Flux `dependsOn`
//! keep the same order.
//!
//! Per datacenter at rollout position `p`: its ConfigMaps, EndpointSlices and the
//! CassandraDatacenter at `10p`; the context's replication Job at `10p + 2` of the last
//! datacenter in that context; the rebuild task at `10p + 3`; Stargate, Reaper, ServiceMonitors
//! and routed operations documents at `10p + 5` (upstream deploys them once every datacenter is
//! ready). Credentials come first, at [`CREDENTIALS`].

/// Credentials: before everything, so cass-operator never generates its own superuser.
pub const CREDENTIALS: i64 = -10;

/// Where an object goes in its cluster's rollout, chosen by the module that builds it. The
/// positions are rollout positions ([`super::ClusterPlan::position`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wave {
    /// Credentials, before everything.
    Credentials,
    /// The datacenter at this position, with its ConfigMaps and seed EndpointSlices.
    Datacenter(usize),
    /// A context's replication Job, after the last datacenter (this position) there.
    ReplicationJob(usize),
    /// The rebuild task of the datacenter at this position.
    RebuildTask(usize),
    /// What runs once the datacenter at this position is up: Stargate, Reaper, ServiceMonitors,
    /// operations documents.
    AfterDatacenter(usize),
}

impl Wave {
    /// The Argo CD sync-wave number.
    #[must_use]
    pub fn number(self) -> i64 {
        match self {
            Self::Credentials => CREDENTIALS,
            Self::Datacenter(p) => decade(p),
            Self::ReplicationJob(p) => decade(p) + 2,
            Self::RebuildTask(p) => decade(p) + 3,
            Self::AfterDatacenter(p) => decade(p) + 5,
        }
    }
}

fn decade(p: usize) -> i64 {
    i64::try_from(p).unwrap_or(i64::MAX / 20) * 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_position_has_its_own_decade_and_credentials_come_first() {
        let at = |p| {
            [
                Wave::Datacenter(p),
                Wave::ReplicationJob(p),
                Wave::RebuildTask(p),
                Wave::AfterDatacenter(p),
            ]
            .map(Wave::number)
        };
        assert_eq!(at(0), [0, 2, 3, 5]);
        assert_eq!(at(2), [20, 22, 23, 25]);
        assert!(Wave::Credentials.number() < Wave::Datacenter(0).number());
    }
}
