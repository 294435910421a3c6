//! ClientConfig (which target contexts exist) and our own RenderConfig.

use serde::Deserialize;

use crate::diagnostic::did_you_mean;
use crate::yaml::{Node, Seg, Value};

/// The API version of RenderConfig.
pub const RENDER_CONFIG_API_VERSION: &str = "gitops.k8ssandra.io/v1alpha1";

/// A `config.k8ssandra.io/v1beta1` ClientConfig: declares one target context.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `metadata.name`.
    pub name: String,
    /// The context name: `spec.contextName`, else `metadata.name`.
    pub context: String,
}

impl ClientConfig {
    /// Reads the fields we use from a schema-checked document.
    #[must_use]
    pub fn from_node(doc: &Node) -> Self {
        let name = doc
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_string();
        let context = doc
            .get("spec")
            .and_then(|s| s.get("contextName"))
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty())
            .map_or_else(|| name.clone(), str::to_string);
        Self { name, context }
    }
}

/// `spec` of our RenderConfig kind. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenderConfigSpec {
    /// Output directory relative to the repository (default `rendered`).
    pub output_dir: Option<String>,
    /// Context that receives datacenters without `k8sContext` (default `control-plane`).
    pub control_plane_context: Option<String>,
    /// Namespace for K8ssandraClusters without `metadata.namespace` (default `default`).
    pub default_namespace: Option<String>,
    /// Where credentials come from.
    pub secrets: Option<SecretsConfig>,
}

/// `spec.secrets`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretsConfig {
    /// `external`, `externalSecrets` or `replicate`.
    pub backend: Option<String>,
    /// Settings of the `externalSecrets` backend.
    pub external_secrets: Option<ExternalSecretsConfig>,
}

/// `spec.secrets.externalSecrets`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalSecretsConfig {
    /// The (Cluster)SecretStore to read from.
    pub store_ref: Option<StoreRef>,
    /// Remote key = `<prefix><namespace>/<secret name>`.
    pub remote_key_prefix: Option<String>,
}

/// A reference to a SecretStore or ClusterSecretStore.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoreRef {
    /// `SecretStore` or `ClusterSecretStore`.
    pub kind: Option<String>,
    /// Store name.
    pub name: Option<String>,
}

/// The shape of a RenderConfig document, for precise unknown-field and type errors.
enum Shape {
    Map(&'static [(&'static str, Shape)]),
    Str,
    Enum(&'static [&'static str]),
    Any,
}

const STORE_REF: Shape = Shape::Map(&[
    ("kind", Shape::Enum(&["SecretStore", "ClusterSecretStore"])),
    ("name", Shape::Str),
]);
const EXTERNAL_SECRETS: Shape =
    Shape::Map(&[("storeRef", STORE_REF), ("remoteKeyPrefix", Shape::Str)]);
const SECRETS: Shape = Shape::Map(&[
    (
        "backend",
        Shape::Enum(&["external", "externalSecrets", "replicate"]),
    ),
    ("externalSecrets", EXTERNAL_SECRETS),
]);
const SPEC: Shape = Shape::Map(&[
    ("outputDir", Shape::Str),
    ("controlPlaneContext", Shape::Str),
    ("defaultNamespace", Shape::Str),
    ("secrets", SECRETS),
]);
const METADATA: Shape = Shape::Map(&[
    ("name", Shape::Str),
    ("namespace", Shape::Str),
    ("labels", Shape::Any),
    ("annotations", Shape::Any),
]);
const DOCUMENT: Shape = Shape::Map(&[
    ("apiVersion", Shape::Str),
    ("kind", Shape::Str),
    ("metadata", METADATA),
    ("spec", SPEC),
]);

/// A problem in a RenderConfig: path, message, hint.
pub type ShapeIssue = (Vec<Seg>, String, Option<String>);

/// Checks a RenderConfig document against its shape; returns every problem.
#[must_use]
pub fn check_render_config(doc: &Node) -> Vec<ShapeIssue> {
    let mut out = Vec::new();
    check_shape(doc, &DOCUMENT, &mut Vec::new(), &mut out);
    out
}

fn check_shape(node: &Node, shape: &Shape, path: &mut Vec<Seg>, out: &mut Vec<ShapeIssue>) {
    match (shape, &node.value) {
        (Shape::Any, _) | (_, Value::Null) => {}
        (Shape::Str, Value::Str(_)) => {}
        (Shape::Enum(allowed), Value::Str(s)) => {
            if !allowed.contains(&s.as_str()) {
                let hint = did_you_mean(s, allowed.iter().copied());
                out.push((
                    path.clone(),
                    format!(
                        "unsupported value {s:?}: must be one of {}",
                        allowed.join(", ")
                    ),
                    hint,
                ));
            }
        }
        (Shape::Map(fields), Value::Map(entries)) => {
            for (k, v) in entries {
                path.push(Seg::Key(k.name.clone()));
                match fields.iter().find(|(name, _)| *name == k.name) {
                    Some((_, s)) => check_shape(v, s, path, out),
                    None => {
                        let hint = did_you_mean(&k.name, fields.iter().map(|(n, _)| *n));
                        out.push((path.clone(), "unknown field".to_string(), hint));
                    }
                }
                path.pop();
            }
        }
        (Shape::Map(_), _) => out.push((path.clone(), "expected a mapping".to_string(), None)),
        (Shape::Str | Shape::Enum(_), _) => {
            out.push((path.clone(), "expected a string".to_string(), None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_config_problems_are_all_reported_with_hints() {
        let doc = &crate::yaml::parse_stream(
            "apiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nspec:\n  outputdir: x\n  secrets:\n    backend: externalSecret\n    externalSecrets: {storeRef: {kind: Vault}}\n",
        )
        .unwrap()[0];
        let issues = check_render_config(doc);
        let printed: Vec<String> = issues
            .iter()
            .map(|(p, m, h)| format!("{} {m} {h:?}", crate::yaml::path_string(p)))
            .collect();
        assert_eq!(
            printed,
            [
                "spec.outputdir unknown field Some(\"did you mean \\\"outputDir\\\"?\")",
                "spec.secrets.backend unsupported value \"externalSecret\": must be one of external, externalSecrets, replicate Some(\"did you mean \\\"externalSecrets\\\"?\")",
                "spec.secrets.externalSecrets.storeRef.kind unsupported value \"Vault\": must be one of SecretStore, ClusterSecretStore None",
            ]
        );
    }
}
