//! What the credentials are rendered from, decided (DESIGN.md "Secrets", control-plane §3):
//! which Secrets each cluster needs, whether the repository's secrets backend can deliver any,
//! and the SOPS-encrypted Secrets committed for the `replicate` backend. The plan also reports
//! what the backend cannot deliver (no backend chosen, no committed copy for a namespace, two
//! clusters reading one Secret from different remote keys). The render module
//! ([`crate::render::credentials`]) builds the ExternalSecrets and copies from this and
//! [`super::Settings::credentials`]; it never reads the inputs and reports nothing.

use std::collections::{BTreeMap, BTreeSet};

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
    let committed: Vec<&SopsSecret> = inputs.sops_secrets.iter().map(|d| &d.value).collect();
    check_clusters(settings, &committed, clusters, diags);
    Some(CredentialsPlan { committed })
}

/// `(context, namespace)` of every datacenter of the cluster, sorted: where its credentials
/// are needed.
#[must_use]
pub fn locations(plan: &ClusterPlan<'_>) -> BTreeSet<(String, String)> {
    plan.dcs
        .iter()
        .map(|dc| (dc.context.clone(), dc.namespace.clone()))
        .collect()
}

/// The remote key an ExternalSecret reads `needed` from: `<prefix><kc namespace>/<name>`.
#[must_use]
pub fn remote_key(settings: &Settings, plan: &ClusterPlan<'_>, needed: &Needed) -> String {
    format!(
        "{}{}/{}",
        settings.credentials.remote_key_prefix, plan.namespace, needed.name
    )
}

/// What the backend cannot deliver, cluster by cluster in plan order: every credential with no
/// backend chosen; for `replicate`, a Secret with no committed copy for a namespace; for
/// `externalSecrets`, a Secret two clusters need in one context and namespace from different
/// remote keys (the first cluster's Secret is the one rendered there).
fn check_clusters(
    settings: &Settings,
    committed: &[&SopsSecret],
    clusters: &[ClusterPlan<'_>],
    diags: &mut Vec<Diagnostic>,
) {
    // (context, namespace, name) → the cluster and remote key of the first that gets it.
    let mut first: BTreeMap<(String, String, String), (String, String)> = BTreeMap::new();
    for plan in clusters {
        let needed = needed(plan);
        if needed.is_empty() {
            continue;
        }
        let backend = match settings.secrets_backend {
            None => {
                diags.push(no_backend_error(plan, &needed));
                continue;
            }
            // The datacenters only reference them.
            Some(SecretsBackend::External) => continue,
            Some(b) => b,
        };
        for (context, namespace) in locations(plan) {
            for n in &needed {
                let remote_key = remote_key(settings, plan, n);
                let key = (context.clone(), namespace.clone(), n.name.clone());
                if let Some((other, other_key)) = first.get(&key) {
                    // The same Secret from the same remote key (or the same committed file)
                    // serves both clusters; a different remote key under one name cannot.
                    if backend == SecretsBackend::ExternalSecrets && *other_key != remote_key {
                        let (context, namespace, name) = &key;
                        diags.push(plan.doc.error(
                            Code::OutputCollision,
                            keys(&["metadata"]),
                            format!(
                                "Secret {name:?} in context {context:?}, namespace {namespace:?} is also needed by K8ssandraCluster {other:?}, which reads it from remote key {other_key:?}, not {remote_key:?}: give the two clusters distinct secret names",
                            ),
                        ));
                    }
                    continue;
                }
                if backend == SecretsBackend::Replicate
                    && replicated_copy(committed, plan, n, &namespace).is_none()
                {
                    diags.push(missing_replicated_error(
                        plan, n, &context, &namespace, committed,
                    ));
                    continue;
                }
                first.insert(key, (plan.name.clone(), remote_key));
            }
        }
    }
}

/// The committed Secret to place in `namespace`, as `(object, file text)`: the one committed for
/// that namespace, copied byte for byte; else one whose SOPS MAC leaves `metadata.namespace`
/// out (`mac_only_encrypted`), with only that value changed, preferring the copy in the
/// K8ssandraCluster's namespace (where the control plane keeps the source of its copies).
#[must_use]
pub fn replicated_copy(
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

fn no_backend_error(plan: &ClusterPlan<'_>, needed: &[Needed]) -> Diagnostic {
    let names: Vec<String> = needed
        .iter()
        .map(|n| format!("{} ({})", n.name, n.purpose.describe()))
        .collect();
    plan.doc
        .error(
            Code::NotRenderableOffline,
            keys(&["spec"]),
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
            keys(&["spec"]),
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

    /// Plans the files (name, text) and hands the whole plan and every problem to `check`.
    fn with_plan<R>(
        files: &[(&str, String)],
        check: impl FnOnce(&crate::plan::Plan<'_>, &[Diagnostic]) -> R,
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
        check(&plan, &diags)
    }

    /// Plans the files (name, text) and hands the credentials plan and every problem to
    /// `check`.
    fn with_credentials<R>(
        files: &[(&str, String)],
        check: impl FnOnce(Option<&CredentialsPlan<'_>>, &[Diagnostic]) -> R,
    ) -> R {
        with_plan(files, |plan, diags| check(plan.credentials.as_ref(), diags))
    }

    /// The files of a render fixture as (name, text), sorted by name.
    fn fixture(name: &str) -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/render")
            .join(name);
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .expect("fixture directory")
            .map(|e| e.expect("entry").path())
            .map(|p| {
                let name = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                (name, std::fs::read_to_string(&p).expect("fixture file"))
            })
            .collect();
        files.sort();
        files
    }

    /// Renders the credentials of every cluster as a whole render does (only `context`'s,
    /// when given): each cluster's, less those an earlier cluster placed.
    fn render_credentials(
        plan: &crate::plan::Plan<'_>,
        context: Option<&str>,
    ) -> Vec<crate::render::Manifest> {
        let Some(credentials) = plan
            .credentials
            .as_ref()
            .map(|c| crate::render::credentials::Credentials::new(c, &plan.settings))
        else {
            return Vec::new();
        };
        let mut placed = crate::render::credentials::Placed::default();
        plan.clusters
            .iter()
            .flat_map(|cluster| placed.keep(credentials.render(cluster, context)))
            .collect()
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
        let files = fixture("credentials-replicate");
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

    /// A one-context render builds only that context's Secrets, and exactly those a whole
    /// render puts there (the first cluster in plan order still places a shared one).
    #[test]
    fn credentials_of_one_context_are_the_whole_renders_in_that_context() {
        let files = fixture("multi-dc-three-contexts");
        let files: Vec<(&str, String)> =
            files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
        with_plan(&files, |plan, diags| {
            assert!(!crate::diagnostic::has_error(diags), "{diags:?}");
            assert!(
                plan.credentials.is_some(),
                "the externalSecrets backend renders credentials"
            );
            let render = |context: Option<&str>| -> Vec<(String, String)> {
                render_credentials(plan, context)
                    .iter()
                    .map(|m| (m.context.clone(), m.text()))
                    .collect()
            };
            let whole = render(None);
            let contexts: BTreeSet<&str> = whole.iter().map(|(c, _)| c.as_str()).collect();
            assert_eq!(contexts.len(), 3, "{contexts:?}");
            for context in contexts {
                let expected: Vec<(String, String)> = whole
                    .iter()
                    .filter(|(c, _)| c == context)
                    .cloned()
                    .collect();
                assert!(!expected.is_empty());
                assert_eq!(render(Some(context)), expected, "{context}");
            }
        });
    }

    /// Plans the files (name, text), renders the credentials of every cluster as a whole
    /// render does, and returns every problem (`file path: message`, errors only) and the
    /// rendered Secrets (`context/namespace/name`).
    fn plan_and_render(files: &[(&str, String)]) -> (Vec<String>, Vec<String>) {
        with_plan(files, |plan, diags| {
            let errors = diags
                .iter()
                .filter(|d| d.severity() == Severity::Error)
                .map(|d| {
                    format!(
                        "{} {}: {}",
                        d.file.display(),
                        crate::yaml::path_string(&d.path),
                        d.message
                    )
                })
                .collect();
            let secrets = render_credentials(plan, None)
                .iter()
                .map(|m| format!("{}/{}/{}", m.context, m.namespace(), m.name()))
                .collect();
            (errors, secrets)
        })
    }

    fn demo() -> String {
        format!(
            "{HEAD}{}{CONTEXTS}",
            BASE.replace("name: Demo", "name: demo")
        )
    }

    /// Without a secrets backend, a cluster that needs credentials is an error of the plan,
    /// and nothing is rendered for it.
    #[test]
    fn no_backend_is_an_error_of_the_plan() {
        let (errors, secrets) = plan_and_render(&[("c.yaml", demo())]);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].starts_with("c.yaml spec: K8ssandraCluster \"demo\" needs credentials that k8ssandra-operator would generate at run time: mycluster-superuser (the superuser credentials); "),
            "{errors:#?}"
        );
        assert!(secrets.is_empty(), "{secrets:?}");
    }

    const REPLICATE: &str = "apiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata: {name: default}\nspec:\n  secrets: {backend: replicate}\n";

    /// With `replicate`, a Secret with no committed copy is an error of the plan, and render
    /// leaves it out.
    #[test]
    fn a_missing_replicated_copy_is_an_error_of_the_plan() {
        let (errors, secrets) =
            plan_and_render(&[("c.yaml", demo()), ("rc.yaml", REPLICATE.into())]);
        assert_eq!(
            errors,
            vec![
                "c.yaml spec: Secret \"mycluster-superuser\" (the superuser credentials) is needed in namespace \"db\" of context \"control-plane\", but the repository has no SOPS-encrypted Secret with that name (secrets backend replicate)".to_string()
            ]
        );
        assert!(secrets.is_empty(), "{secrets:?}");
    }

    /// Two clusters that need one Secret in one context and namespace from different remote
    /// keys are an error of the plan, at the second; the first cluster's Secret is rendered.
    #[test]
    fn one_secret_from_two_remote_keys_is_an_error_of_the_plan() {
        let rc = EXTERNAL_SECRETS.replace(
            "{backend: externalSecrets}",
            "{backend: externalSecrets, externalSecrets: {storeRef: {name: vault}}}",
        );
        let cluster = |name: &str, namespace: &str| {
            format!(
                "{HEAD}metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  cassandra:\n    superuserSecretRef: {{name: shared-superuser}}\n    serverVersion: 4.1.5\n    storageConfig: {{cassandraDataVolumeClaimSpec: {{storageClassName: standard}}}}\n    datacenters: [{{metadata: {{name: {name}-dc1, namespace: shared}}, size: 1}}]\n"
            )
        };
        let (errors, secrets) = plan_and_render(&[
            ("a.yaml", cluster("a", "one")),
            ("b.yaml", cluster("b", "two")),
            ("rc.yaml", rc),
        ]);
        assert_eq!(
            errors,
            vec![
                "b.yaml metadata: Secret \"shared-superuser\" in context \"control-plane\", namespace \"shared\" is also needed by K8ssandraCluster \"a\", which reads it from remote key \"one/shared-superuser\", not \"two/shared-superuser\": give the two clusters distinct secret names".to_string()
            ]
        );
        assert_eq!(secrets, vec!["control-plane/shared/shared-superuser"]);
    }
}
