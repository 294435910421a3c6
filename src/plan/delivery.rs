//! Delivery as RenderConfig asks for it (`spec.argocd`, `spec.flux`), decided before rendering:
//! which delivery objects are wanted, their settings with defaults filled in, and every check of
//! those settings that does not need the list of rendered contexts (gitops spec §2.1–2.2, §3.1).
//! The renderer adds the checks that do (a context named like a delivery directory, a context
//! without an Argo CD destination, a Flux kubeconfig for a context with nothing to render).

use std::collections::BTreeMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::load::{Doc, Inputs};
use crate::model::config::{ArgoCdConfig, FluxConfig, RenderConfigSpec};
use crate::yaml::keys;

use super::{DEFAULT_OUTPUT_DIR, SecretsBackend, Settings};

/// Namespace of the ApplicationSet unless `spec.argocd.namespace` names one.
pub const DEFAULT_ARGOCD_NAMESPACE: &str = "argocd";
/// AppProject of the Applications unless `spec.argocd.project` names one.
pub const DEFAULT_ARGOCD_PROJECT: &str = "default";
/// Git revision Argo CD reads unless `spec.argocd.targetRevision` names one.
pub const DEFAULT_TARGET_REVISION: &str = "HEAD";
/// Namespace of the Kustomizations unless `spec.flux.namespace` names one.
pub const DEFAULT_FLUX_NAMESPACE: &str = "flux-system";
/// Kind of the Flux source unless `spec.flux.sourceRef.kind` names one.
pub const DEFAULT_SOURCE_KIND: &str = "GitRepository";
/// Reconcile interval of the Kustomizations unless `spec.flux.interval` says otherwise.
pub const DEFAULT_FLUX_INTERVAL: &str = "10m";
/// Health-check timeout of the Kustomizations unless `spec.flux.timeout` says otherwise
/// (datacenters take a while).
pub const DEFAULT_FLUX_TIMEOUT: &str = "30m";

/// The delivery objects to render.
#[derive(Debug, Clone)]
pub struct DeliveryPlan<'a> {
    /// The RenderConfig, where the renderer's own delivery checks are reported.
    pub doc: &'a Doc<RenderConfigSpec>,
    /// The Argo CD ApplicationSet (`spec.argocd`).
    pub argocd: Delivery<ArgoCdDelivery>,
    /// The Flux Kustomizations (`spec.flux`).
    pub flux: Delivery<FluxDelivery>,
}

/// One delivery mechanism, as decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery<T> {
    /// RenderConfig does not ask for it.
    Off,
    /// RenderConfig asks for it, but its settings cannot work (reported): nothing of it is
    /// rendered and nothing more about it is checked, since every further problem would follow
    /// from the first.
    Refused,
    /// RenderConfig asks for it, with these settings.
    On(T),
}

impl<T> Delivery<T> {
    /// Whether RenderConfig asks for it (refused or not): its output directory is then taken.
    #[must_use]
    pub fn is_asked(&self) -> bool {
        !matches!(self, Self::Off)
    }
}

/// `spec.argocd`, resolved: one ApplicationSet generating one Application per context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgoCdDelivery {
    /// `repoURL`; `None` when it is missing (reported): there is then no ApplicationSet, but
    /// the destinations are still checked.
    pub repo_url: Option<String>,
    /// `targetRevision`, default [`DEFAULT_TARGET_REVISION`].
    pub target_revision: String,
    /// Path of the output directory in the repository without a trailing `/`: `path`, default
    /// the output directory.
    pub path: String,
    /// Namespace of the ApplicationSet, default [`DEFAULT_ARGOCD_NAMESPACE`].
    pub namespace: String,
    /// AppProject of the Applications, default [`DEFAULT_ARGOCD_PROJECT`].
    pub project: String,
    /// The field every destination gives, the one the Application template names.
    pub destination_field: DestinationField,
    /// The Argo CD destination of each context (its cluster name or server URL).
    pub destinations: BTreeMap<String, String>,
}

/// How Argo CD destinations name a cluster: the template has one field for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationField {
    /// An Argo CD cluster name.
    Name,
    /// An API server URL.
    Server,
}

impl DestinationField {
    /// The field of an Argo CD Application's `spec.destination`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Server => "server",
        }
    }
}

/// `spec.flux`, resolved: one Kustomization per context, chained in rollout order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FluxDelivery {
    /// Namespace of the Kustomizations, default [`DEFAULT_FLUX_NAMESPACE`].
    pub namespace: String,
    /// `sourceRef.kind`, default [`DEFAULT_SOURCE_KIND`].
    pub source_kind: String,
    /// `sourceRef.name`, not empty.
    pub source_name: String,
    /// `sourceRef.namespace`, when set.
    pub source_namespace: Option<String>,
    /// Path of the output directory in the source without a trailing `/`: `path`, default
    /// `./<output directory>`.
    pub path: String,
    /// Reconcile interval, default [`DEFAULT_FLUX_INTERVAL`].
    pub interval: String,
    /// Health-check timeout, default [`DEFAULT_FLUX_TIMEOUT`].
    pub timeout: String,
    /// The kubeconfig Secret of each remote context (contexts without one are applied locally).
    pub kube_configs: BTreeMap<String, KubeConfigRef>,
    /// SOPS decryption by kustomize-controller: only with the replicate secrets backend.
    pub decryption: Option<SopsDecryption>,
}

/// A Flux Kustomization's `kubeConfig.secretRef`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeConfigRef {
    /// Secret name (empty when RenderConfig gives none).
    pub secret_name: String,
    /// Key in the Secret, when set (kustomize-controller's default otherwise).
    pub key: Option<String>,
}

/// A Flux Kustomization's `spec.decryption` with provider `sops`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SopsDecryption {
    /// The Secret with the SOPS keys; `None` for kustomize-controller's own KMS credentials.
    pub secret_name: Option<String>,
}

/// The delivery RenderConfig asks for, `None` when it asks for none. Problems with its settings
/// are appended to `diags`.
#[must_use]
pub fn resolve<'a>(
    inputs: &'a Inputs,
    settings: &Settings,
    diags: &mut Vec<Diagnostic>,
) -> Option<DeliveryPlan<'a>> {
    let doc = inputs.render_config.as_ref()?;
    let spec = &doc.value;
    if spec.argocd.is_none() && spec.flux.is_none() {
        return None;
    }
    let replicate = settings.secrets_backend == Some(SecretsBackend::Replicate);
    if replicate && spec.argocd.is_some() && spec.flux.is_some() {
        diags.push(doc.error(
            Code::MissingSetting,
            keys(&["spec", "flux"]),
            "with the replicate secrets backend, the rendered directories are decrypted either by Flux (spec.flux: kustomize-controller's spec.decryption) or by KSOPS under Argo CD (spec.argocd: a ksops generator in each context), not both: keep one of spec.argocd and spec.flux",
        ));
        return Some(DeliveryPlan {
            doc,
            argocd: Delivery::Refused,
            flux: Delivery::Refused,
        });
    }
    let output_dir = spec.output_dir.as_deref().unwrap_or(DEFAULT_OUTPUT_DIR);
    Some(DeliveryPlan {
        doc,
        argocd: spec.argocd.as_ref().map_or(Delivery::Off, |argo| {
            Delivery::On(argocd(doc, argo, output_dir, diags))
        }),
        flux: spec.flux.as_ref().map_or(Delivery::Off, |flux| {
            self::flux(doc, flux, output_dir, replicate, diags)
        }),
    })
}

fn argocd(
    doc: &Doc<RenderConfigSpec>,
    argo: &ArgoCdConfig,
    output_dir: &str,
    diags: &mut Vec<Diagnostic>,
) -> ArgoCdDelivery {
    let repo_url = argo.repo_url.clone().filter(|r| !r.is_empty());
    if repo_url.is_none() {
        diags.push(doc.error(
            Code::MissingSetting,
            keys(&["spec", "argocd"]),
            "spec.argocd needs repoURL: the Git repository Argo CD reads the rendered output from",
        ));
    }
    let configured = argo.destinations.clone().unwrap_or_default();
    let by_name = configured.values().filter(|d| d.name.is_some()).count();
    let by_server = configured.values().filter(|d| d.server.is_some()).count();
    let destination_field = if by_server > 0 && by_name == 0 {
        DestinationField::Server
    } else {
        DestinationField::Name
    };
    for (context, d) in &configured {
        let (given, other) = match destination_field {
            DestinationField::Server => (&d.server, &d.name),
            DestinationField::Name => (&d.name, &d.server),
        };
        if given.as_deref().is_none_or(str::is_empty) || other.is_some() {
            diags.push(doc.error(
                Code::ConflictingSettings,
                keys(&["spec", "argocd", "destinations", context]),
                format!(
                    "every destination must give the same one field, here `{}` (the ApplicationSet template names one)",
                    destination_field.as_str()
                ),
            ));
        }
    }
    let destinations = configured
        .into_iter()
        .map(|(context, d)| (context, d.name.or(d.server).unwrap_or_default()))
        .collect();
    ArgoCdDelivery {
        repo_url,
        target_revision: argo
            .target_revision
            .clone()
            .unwrap_or_else(|| DEFAULT_TARGET_REVISION.into()),
        path: argo
            .path
            .as_deref()
            .unwrap_or(output_dir)
            .trim_end_matches('/')
            .to_string(),
        namespace: argo
            .namespace
            .clone()
            .unwrap_or_else(|| DEFAULT_ARGOCD_NAMESPACE.into()),
        project: argo
            .project
            .clone()
            .unwrap_or_else(|| DEFAULT_ARGOCD_PROJECT.into()),
        destination_field,
        destinations,
    }
}

fn flux(
    doc: &Doc<RenderConfigSpec>,
    flux: &FluxConfig,
    output_dir: &str,
    replicate: bool,
    diags: &mut Vec<Diagnostic>,
) -> Delivery<FluxDelivery> {
    let source = flux.source_ref.clone().unwrap_or_default();
    let Some(source_name) = source.name.filter(|n| !n.is_empty()) else {
        diags.push(doc.error(
            Code::MissingSetting,
            keys(&["spec", "flux"]),
            "spec.flux needs sourceRef.name: the GitRepository (or OCIRepository/Bucket) with the rendered output",
        ));
        return Delivery::Refused;
    };
    let decryption = match (&flux.decryption, replicate) {
        (Some(d), true) => {
            let mut secret_name = None;
            if let Some(r) = &d.secret_ref {
                match r.name.as_deref().filter(|n| !n.is_empty()) {
                    Some(name) => secret_name = Some(name.to_string()),
                    None => diags.push(doc.error(
                        Code::MissingSetting,
                        keys(&["spec", "flux", "decryption", "secretRef"]),
                        "secretRef needs the name of the Secret with the SOPS keys (leave secretRef out to use kustomize-controller's own KMS credentials)",
                    )),
                }
            }
            Some(SopsDecryption { secret_name })
        }
        (None, true) => {
            diags.push(
                doc.error(
                    Code::MissingSetting,
                    keys(&["spec", "flux"]),
                    "the replicate secrets backend commits SOPS-encrypted Secrets, which kustomize-controller must decrypt: set spec.flux.decryption.secretRef.name to the Secret with the SOPS keys (or `decryption: {}` to use kustomize-controller's own KMS credentials)",
                )
                .with_hint(Some(
                    "spec: {flux: {decryption: {secretRef: {name: sops-age}}}}".into(),
                )),
            );
            None
        }
        (Some(_), false) => {
            diags.push(doc.warning(
                Code::IgnoredField,
                keys(&["spec", "flux", "decryption"]),
                "only the replicate secrets backend commits encrypted Secrets; spec.flux.decryption is not used",
            ));
            None
        }
        (None, false) => None,
    };
    let kube_configs = flux
        .kube_configs
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(context, kc)| {
            (
                context,
                KubeConfigRef {
                    secret_name: kc.secret_name.unwrap_or_default(),
                    key: kc.key,
                },
            )
        })
        .collect();
    let path = flux
        .path
        .clone()
        .unwrap_or_else(|| format!("./{output_dir}"));
    Delivery::On(FluxDelivery {
        namespace: flux
            .namespace
            .clone()
            .unwrap_or_else(|| DEFAULT_FLUX_NAMESPACE.into()),
        source_kind: source.kind.unwrap_or_else(|| DEFAULT_SOURCE_KIND.into()),
        source_name,
        source_namespace: source.namespace,
        path: path.trim_end_matches('/').to_string(),
        interval: flux
            .interval
            .clone()
            .unwrap_or_else(|| DEFAULT_FLUX_INTERVAL.into()),
        timeout: flux
            .timeout
            .clone()
            .unwrap_or_else(|| DEFAULT_FLUX_TIMEOUT.into()),
        kube_configs,
        decryption,
    })
}

#[cfg(test)]
mod tests {
    //! Each check of the delivery settings, and the defaults, as the README's RenderConfig
    //! reference states them (not as the code happens to produce them).

    use super::*;
    use crate::source::SourceFile;

    /// Resolves a RenderConfig whose `spec` is `spec` (YAML at two-space indent); returns the
    /// plan (owning nothing: the inputs are leaked for the test's lifetime) and every
    /// diagnostic as the user reads it.
    fn resolve_spec(spec: &str) -> (Option<DeliveryPlan<'static>>, Vec<String>) {
        let files = vec![SourceFile {
            rel_path: "rc.yaml".into(),
            display_path: "rc.yaml".into(),
            text: format!(
                "apiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata: {{name: default}}\nspec:\n{spec}"
            ),
        }];
        let (inputs, mut diags) = crate::load::load(&files);
        assert!(diags.is_empty(), "{diags:?}");
        let inputs: &'static Inputs = Box::leak(Box::new(inputs));
        let settings = Settings::from_inputs(inputs);
        let plan = resolve(inputs, &settings, &mut diags);
        (plan, diags.iter().map(ToString::to_string).collect())
    }

    fn argocd_of(plan: Option<DeliveryPlan<'_>>) -> ArgoCdDelivery {
        match plan.expect("a delivery plan").argocd {
            Delivery::On(a) => a,
            other => panic!("Argo CD is {other:?}"),
        }
    }

    fn flux_of(plan: Option<DeliveryPlan<'_>>) -> FluxDelivery {
        match plan.expect("a delivery plan").flux {
            Delivery::On(f) => f,
            other => panic!("Flux is {other:?}"),
        }
    }

    #[test]
    fn without_argocd_or_flux_there_is_nothing_to_deliver() {
        let (plan, diags) = resolve_spec("  outputDir: out\n");
        assert!(plan.is_none());
        assert!(diags.is_empty(), "{diags:?}");
        let (inputs, _) = crate::load::load(&[]);
        let settings = Settings::from_inputs(&inputs);
        assert!(resolve(&inputs, &settings, &mut Vec::new()).is_none());
    }

    #[test]
    fn argocd_defaults_fill_namespace_project_revision_and_path() {
        let (plan, diags) = resolve_spec(
            "  argocd:\n    repoURL: https://git.example.com/db.git\n    destinations: {east: {name: east}}\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            argocd_of(plan),
            ArgoCdDelivery {
                repo_url: Some("https://git.example.com/db.git".into()),
                target_revision: "HEAD".into(),
                path: "rendered".into(),
                namespace: "argocd".into(),
                project: "default".into(),
                destination_field: DestinationField::Name,
                destinations: [("east".to_string(), "east".to_string())].into(),
            }
        );
    }

    #[test]
    fn argocd_settings_win_over_the_defaults_and_the_path_loses_its_trailing_slash() {
        let (plan, diags) = resolve_spec(
            "  outputDir: out\n  argocd:\n    repoURL: r\n    targetRevision: v1\n    path: deploy/out/\n    namespace: gitops\n    project: db\n    destinations: {east: {server: \"https://east\"}}\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        let argo = argocd_of(plan);
        assert_eq!(
            (
                argo.target_revision.as_str(),
                argo.path.as_str(),
                argo.namespace.as_str(),
                argo.project.as_str()
            ),
            ("v1", "deploy/out", "gitops", "db")
        );
        assert_eq!(argo.destination_field, DestinationField::Server);
        assert_eq!(argo.destinations["east"], "https://east");
        // Without `path`, the output directory.
        let (plan, _) = resolve_spec("  outputDir: out/\n  argocd: {repoURL: r}\n");
        assert_eq!(argocd_of(plan).path, "out");
    }

    #[test]
    fn argocd_without_repo_url_is_an_error_but_its_destinations_are_still_checked() {
        let (plan, diags) = resolve_spec(
            "  argocd:\n    repoURL: \"\"\n    destinations: {east: {name: east}, west: {server: w}}\n",
        );
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(
            diags[0].starts_with("rc.yaml:5:3: error[")
                && diags[0].ends_with("]: spec.argocd: spec.argocd needs repoURL: the Git repository Argo CD reads the rendered output from"),
            "{diags:?}"
        );
        assert!(
            diags[1].contains("spec.argocd.destinations.west: every destination must give the same one field, here `name`"),
            "{diags:?}"
        );
        assert_eq!(argocd_of(plan).repo_url, None);
    }

    #[test]
    fn a_destination_with_both_fields_or_an_empty_one_is_an_error() {
        let (_, diags) = resolve_spec(
            "  argocd:\n    repoURL: r\n    destinations: {a: {name: a, server: s}, b: {name: \"\"}, c: {name: c}}\n",
        );
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(
            diags[0].contains("spec.argocd.destinations.a: "),
            "{diags:?}"
        );
        assert!(
            diags[1].contains("spec.argocd.destinations.b: "),
            "{diags:?}"
        );
    }

    #[test]
    fn flux_defaults_fill_namespace_source_kind_interval_timeout_and_path() {
        let (plan, diags) = resolve_spec(
            "  flux:\n    sourceRef: {name: cassandra}\n    kubeConfigs: {east: {secretName: east-kc, key: config}, west: {}}\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            flux_of(plan),
            FluxDelivery {
                namespace: "flux-system".into(),
                source_kind: "GitRepository".into(),
                source_name: "cassandra".into(),
                source_namespace: None,
                path: "./rendered".into(),
                interval: "10m".into(),
                timeout: "30m".into(),
                kube_configs: [
                    (
                        "east".to_string(),
                        KubeConfigRef {
                            secret_name: "east-kc".into(),
                            key: Some("config".into())
                        }
                    ),
                    (
                        "west".to_string(),
                        KubeConfigRef {
                            secret_name: String::new(),
                            key: None
                        }
                    ),
                ]
                .into(),
                decryption: None,
            }
        );
    }

    #[test]
    fn flux_without_a_source_name_is_refused() {
        let (plan, diags) = resolve_spec(
            "  secrets: {backend: replicate}\n  flux:\n    sourceRef: {kind: OCIRepository}\n",
        );
        // Refused: the missing decryption of the replicate backend is not reported on top.
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].contains("spec.flux: spec.flux needs sourceRef.name"),
            "{diags:?}"
        );
        let plan = plan.expect("a delivery plan");
        assert_eq!(plan.flux, Delivery::Refused);
        assert_eq!(plan.argocd, Delivery::Off);
    }

    #[test]
    fn replicate_with_both_argocd_and_flux_refuses_both() {
        let (plan, diags) =
            resolve_spec("  secrets: {backend: replicate}\n  argocd: {}\n  flux: {}\n");
        // Nothing else is reported: neither the missing repoURL nor the missing source.
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].contains("spec.flux: with the replicate secrets backend, the rendered directories are decrypted either by Flux"),
            "{diags:?}"
        );
        let plan = plan.expect("a delivery plan");
        assert_eq!(
            (plan.argocd, plan.flux),
            (Delivery::Refused, Delivery::Refused)
        );
    }

    #[test]
    fn replicate_with_flux_needs_decryption() {
        let (plan, diags) =
            resolve_spec("  secrets: {backend: replicate}\n  flux: {sourceRef: {name: s}}\n");
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].contains(
                "spec.flux: the replicate secrets backend commits SOPS-encrypted Secrets"
            ) && diags[0].ends_with(" (spec: {flux: {decryption: {secretRef: {name: sops-age}}}})"),
            "{diags:?}"
        );
        assert_eq!(flux_of(plan).decryption, None);
        let (plan, diags) = resolve_spec(
            "  secrets: {backend: replicate}\n  flux: {sourceRef: {name: s}, decryption: {secretRef: {name: sops-age}}}\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            flux_of(plan).decryption,
            Some(SopsDecryption {
                secret_name: Some("sops-age".into())
            })
        );
        // `decryption: {}`: kustomize-controller's own KMS credentials.
        let (plan, diags) = resolve_spec(
            "  secrets: {backend: replicate}\n  flux: {sourceRef: {name: s}, decryption: {}}\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            flux_of(plan).decryption,
            Some(SopsDecryption { secret_name: None })
        );
    }

    #[test]
    fn a_secret_ref_without_a_name_is_an_error_and_decryption_stays_on() {
        let (plan, diags) = resolve_spec(
            "  secrets: {backend: replicate}\n  flux: {sourceRef: {name: s}, decryption: {secretRef: {}}}\n",
        );
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].contains("error[")
                && diags[0].contains("spec.flux.decryption.secretRef: secretRef needs the name"),
            "{diags:?}"
        );
        assert_eq!(
            flux_of(plan).decryption,
            Some(SopsDecryption { secret_name: None })
        );
    }

    #[test]
    fn decryption_without_the_replicate_backend_is_ignored_with_a_warning() {
        let (plan, diags) =
            resolve_spec("  flux: {sourceRef: {name: s}, decryption: {secretRef: {name: k}}}\n");
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].contains("warning[")
                && diags[0].contains("spec.flux.decryption: only the replicate secrets backend"),
            "{diags:?}"
        );
        assert_eq!(flux_of(plan).decryption, None);
    }
}
