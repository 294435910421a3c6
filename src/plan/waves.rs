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

/// The datacenter at rollout position `p`, with its ConfigMaps and seed EndpointSlices.
#[must_use]
pub fn datacenter(p: usize) -> i64 {
    i64::try_from(p).unwrap_or(i64::MAX / 20) * 10
}

/// A context's replication Job, after the last datacenter (position `p`) there.
#[must_use]
pub fn replication_job(p: usize) -> i64 {
    datacenter(p) + 2
}

/// The rebuild task of the datacenter at position `p`.
#[must_use]
pub fn rebuild_task(p: usize) -> i64 {
    datacenter(p) + 3
}

/// What runs once the datacenter at position `p` is up: Stargate, Reaper, ServiceMonitors,
/// operations documents.
#[must_use]
pub fn after_datacenter(p: usize) -> i64 {
    datacenter(p) + 5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_position_has_its_own_decade_and_credentials_come_first() {
        assert_eq!(
            [
                datacenter(0),
                replication_job(0),
                rebuild_task(0),
                after_datacenter(0)
            ],
            [0, 2, 3, 5]
        );
        assert_eq!(
            [
                datacenter(2),
                replication_job(2),
                rebuild_task(2),
                after_datacenter(2)
            ],
            [20, 22, 23, 25]
        );
        assert!(CREDENTIALS < datacenter(0));
    }
}
