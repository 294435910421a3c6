//! What the credentials are rendered from, decided (DESIGN.md "Secrets", control-plane §3):
//! which Secrets each cluster needs, whether the repository's secrets backend can deliver any,
//! and the SOPS-encrypted Secrets committed for the `replicate` backend. The render module
//! ([`crate::render::credentials`]) builds the ExternalSecrets and copies from this and
//! [`super::Settings::credentials`]; it never reads the inputs.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{ClusterPlan, SecretsBackend, Settings};
use crate::diagnostic::{Code, Diagnostic};
use crate::load::Inputs;
use crate::model::secret::SopsSecret;
use crate::yaml::keys;

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
    /// The credential, as messages name it.
    #[must_use]
    pub fn describe(self) -> &'static str {
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
    #[must_use]
    pub fn has_user_and_password(self) -> bool {
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
    if plan.external_secrets() {
        return Vec::new();
    }
    let mut out = vec![Needed {
        name: plan.superuser_secret_name(),
        purpose: Purpose::Superuser,
    }];
    if let Some(template) = super::templates::reaper(plan)
        && template.reaper_ref().is_empty()
        && plan.auth
    {
        out.push(Needed {
            name: template.cql_user_secret(plan),
            purpose: Purpose::ReaperCql,
        });
        if let Some(ui) = template.ui_user_secret(plan) {
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
        if let Some(storage) = medusa
            .pointer("/storageProperties/storageSecretRef/name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        {
            out.push(Needed {
                name: storage.to_string(),
                purpose: Purpose::MedusaStorage,
            });
        }
    }
    // A name used for two purposes is one Secret.
    let mut seen = BTreeSet::new();
    out.retain(|n| seen.insert(n.name.clone()));
    out
}

/// What credentials are rendered from, when the backend can render any.
#[derive(Debug)]
pub struct CredentialsPlan<'a> {
    /// The SOPS-encrypted Secrets committed in the repository, in input order: the
    /// `replicate` backend copies them.
    pub committed: Vec<&'a SopsSecret>,
}

/// Checks what the secrets backend needs from RenderConfig; `None` (with a diagnostic) when no
/// credential can be rendered: the `externalSecrets` backend names no secret store while some
/// cluster needs credentials.
#[must_use]
pub fn resolve<'a>(
    inputs: &'a Inputs,
    settings: &Settings,
    clusters: &[ClusterPlan<'_>],
    diags: &mut Vec<Diagnostic>,
) -> Option<CredentialsPlan<'a>> {
    if settings.secrets_backend == Some(SecretsBackend::ExternalSecrets)
        && let Some(rc) = &inputs.render_config
        && settings.credentials.store_name.is_none()
        && clusters.iter().any(|p| !needed(p).is_empty())
    {
        diags.push(
            rc.error(
                Code::MissingSetting,
                keys(&["spec", "secrets", "externalSecrets", "storeRef"]),
                "the externalSecrets backend needs the secret store to read from: set spec.secrets.externalSecrets.storeRef.name (and kind: SecretStore or ClusterSecretStore, default ClusterSecretStore)",
            )
            .with_hint(Some("spec: {secrets: {backend: externalSecrets, externalSecrets: {storeRef: {kind: ClusterSecretStore, name: vault}}}}".into())),
        );
        return None;
    }
    Some(CredentialsPlan {
        committed: inputs.sops_secrets.iter().map(|d| &d.value).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Severity;
    use crate::source::SourceFile;
    use crate::testing::{CONTEXTS, HEAD, plan_one_diagnosed};

    fn needed_of(yaml: &str) -> Vec<(String, Purpose)> {
        plan_one_diagnosed(yaml, |plan, diags| {
            assert!(!crate::diagnostic::has_error(diags), "{diags:#?}");
            needed(plan)
                .into_iter()
                .map(|n| (n.name, n.purpose))
                .collect()
        })
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

    /// Plans the files (name, text) and hands the credentials plan and every problem to
    /// `check`.
    fn with_credentials<R>(
        files: &[(&str, String)],
        check: impl FnOnce(Option<&CredentialsPlan<'_>>, &[Diagnostic]) -> R,
    ) -> R {
        let sources: Vec<SourceFile> = files
            .iter()
            .map(|(name, text)| SourceFile {
                rel_path: (*name).into(),
                display_path: (*name).into(),
                text: text.clone(),
            })
            .collect();
        let (inputs, mut diags) = crate::load::load(&sources);
        let plan = crate::plan::build(&inputs, &mut diags);
        check(plan.credentials.as_ref(), &diags)
    }

    const EXTERNAL_SECRETS: &str = "apiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata: {name: default}\nspec:\n  secrets: {backend: externalSecrets}\n";

    /// The externalSecrets backend without a secret store is refused by the plan, at the
    /// RenderConfig, when some cluster needs credentials: then none are rendered.
    #[test]
    fn external_secrets_need_a_store_when_credentials_are_needed() {
        let cluster = format!(
            "{HEAD}{}{CONTEXTS}",
            BASE.replace("name: Demo", "name: demo")
        );
        with_credentials(
            &[
                ("c.yaml", cluster.clone()),
                ("rc.yaml", EXTERNAL_SECRETS.into()),
            ],
            |credentials, diags| {
                assert!(credentials.is_none());
                let errors: Vec<_> = diags
                    .iter()
                    .filter(|d| d.severity() == Severity::Error)
                    .collect();
                assert_eq!(errors.len(), 1, "{diags:#?}");
                assert_eq!(errors[0].file, std::path::Path::new("rc.yaml"));
                assert_eq!(
                    crate::yaml::path_string(&errors[0].path),
                    "spec.secrets.externalSecrets.storeRef"
                );
            },
        );
        let with_store = EXTERNAL_SECRETS.replace(
            "{backend: externalSecrets}",
            "{backend: externalSecrets, externalSecrets: {storeRef: {name: vault}}}",
        );
        with_credentials(
            &[("c.yaml", cluster.clone()), ("rc.yaml", with_store)],
            |credentials, diags| {
                assert!(diags.is_empty(), "{diags:#?}");
                assert!(credentials.is_some());
            },
        );
        // No cluster needs credentials: nothing to read, nothing to say.
        let external = cluster.replace("spec:\n", "spec:\n  secretsProvider: external\n");
        with_credentials(
            &[("c.yaml", external), ("rc.yaml", EXTERNAL_SECRETS.into())],
            |credentials, diags| {
                assert!(diags.is_empty(), "{diags:#?}");
                assert!(credentials.is_some());
            },
        );
    }

    /// The committed SOPS Secrets are what the plan hands on to the `replicate` backend.
    #[test]
    fn committed_sops_secrets_are_planned() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/render/credentials-replicate");
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .expect("fixture directory")
            .map(|e| e.expect("entry").path())
            .map(|p| {
                let name = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let text = std::fs::read_to_string(&p).expect("fixture file");
                (name, text)
            })
            .collect();
        files.sort();
        let files: Vec<(&str, String)> =
            files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
        with_credentials(&files, |credentials, _| {
            let mut names: Vec<(&str, &str)> = credentials
                .expect("the replicate backend renders credentials")
                .committed
                .iter()
                .map(|s| (s.name.as_str(), s.namespace.as_str()))
                .collect();
            names.sort_unstable();
            assert_eq!(names.len(), 4, "{names:?}");
            assert!(
                names.iter().any(|(n, _)| *n == "ledger-reaper-ui"),
                "{names:?}"
            );
        });
    }
}
