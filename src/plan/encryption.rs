//! What the plan decides about a datacenter's encryption stores (spec §2.8): whether client
//! encryption is on (then JMX uses TLS too), and whether the stores can be rendered at all.
//! With internal secrets, k8ssandra-operator reads the keystore passwords from Secrets at run
//! time and writes them in plain text into the CassandraDatacenter config, which cannot be done
//! from Git: the plan reports that and the render module builds nothing for the datacenter
//! (issue #11).

use serde_json::Value;

use super::{ClusterPlan, DcPlan};
use crate::diagnostic::{Code, Diagnostic};
use crate::yaml::keys;

/// The decision for one datacenter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Encryption {
    /// `clientEncryptionStores` with `client_encryption_options.enabled: true`.
    pub client: bool,
    /// The stores need internal secrets (reported): nothing must be built.
    pub rejected: bool,
}

/// Decides the encryption of every datacenter of `plan`; each one whose stores need internal
/// secrets is reported at the cluster's store field.
pub fn resolve(plan: &mut ClusterPlan<'_>, diags: &mut Vec<Diagnostic>) {
    let external = plan.external_secrets();
    let (doc, cassandra) = (plan.doc, plan.cassandra);
    let client_stores = cassandra.client_encryption_stores.is_some();
    let server_stores = cassandra.server_encryption_stores.is_some();
    for dc in &mut plan.dcs {
        dc.encryption = decide(dc, client_stores, server_stores, external);
        if dc.encryption.rejected {
            let which = if dc.encryption.client {
                "clientEncryptionStores"
            } else {
                "serverEncryptionStores"
            };
            diags.push(doc.error(
                Code::NotRenderableOffline,
                keys(&["spec", "cassandra", which]),
                "encryption stores with internal secrets cannot be rendered offline: k8ssandra-operator reads the keystore passwords from Secrets at run time and writes them in plain text into the CassandraDatacenter config; use secretsProvider: external and set the store paths and passwords in cassandraYaml yourself",
            ));
        }
    }
}

fn decide(dc: &DcPlan<'_>, client_stores: bool, server_stores: bool, external: bool) -> Encryption {
    let yaml = |path: &str| dc.config.pointer(&format!("/cassandraYaml/{path}"));
    let client =
        client_stores && yaml("client_encryption_options/enabled") == Some(&Value::Bool(true));
    let server = server_stores
        && yaml("server_encryption_options/internode_encryption")
            .is_some_and(|v| !v.is_null() && v != "none");
    Encryption {
        client,
        rejected: (client || server) && !external,
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Code;
    use crate::plan::tests::{cluster, codes_at, with_plans};

    const DC: &str = "    datacenters:\n    - metadata: {name: dc1}\n      size: 1\n";
    const CLIENT: &str = "    clientEncryptionStores:\n      keystoreSecretRef: {name: ks}\n      truststoreSecretRef: {name: ts}\n    config:\n      cassandraYaml:\n        client_encryption_options: {enabled: true}\n";
    const SERVER: &str = "    serverEncryptionStores:\n      keystoreSecretRef: {name: ks}\n      truststoreSecretRef: {name: ts}\n    config:\n      cassandraYaml:\n        server_encryption_options: {internode_encryption: all}\n";

    fn with(
        secrets: &str,
        cassandra: &str,
        check: impl FnOnce(&[super::Encryption], Vec<(Code, String)>),
    ) {
        let c = cluster("", &format!("{cassandra}{DC}"))
            .replace("spec:\n", &format!("spec:\n{secrets}"));
        with_plans(&[("c.yaml", &c)], |plans, diags| {
            let found = codes_at(diags);
            check(
                &plans[0]
                    .dcs
                    .iter()
                    .map(|d| d.encryption)
                    .collect::<Vec<_>>(),
                found,
            );
        });
    }

    #[test]
    fn stores_with_internal_secrets_are_reported_at_the_store_field() {
        with("", CLIENT, |enc, found| {
            assert!(enc[0].rejected && enc[0].client);
            assert_eq!(
                found,
                [(
                    Code::NotRenderableOffline,
                    "spec.cassandra.clientEncryptionStores".to_string()
                )]
            );
        });
        with("", SERVER, |enc, found| {
            assert!(enc[0].rejected && !enc[0].client);
            assert_eq!(
                found,
                [(
                    Code::NotRenderableOffline,
                    "spec.cassandra.serverEncryptionStores".to_string()
                )]
            );
        });
    }

    #[test]
    fn external_secrets_or_disabled_encryption_render() {
        with("  secretsProvider: external\n", CLIENT, |enc, found| {
            assert_eq!(
                enc[0],
                super::Encryption {
                    client: true,
                    rejected: false
                }
            );
            assert!(found.is_empty(), "{found:?}");
        });
        let off = SERVER.replace("internode_encryption: all", "internode_encryption: none");
        with("", &off, |enc, found| {
            assert_eq!(enc[0], super::Encryption::default());
            assert!(found.is_empty(), "{found:?}");
        });
    }
}
