//! Argo CD config-management plugin mode (`k8ssandra-gitops argocd generate`).
//!
//! The sidecar runs the generate command in the Application's source path with the plugin
//! environment of gitops spec §1.3. This module only decides which context to render from that
//! environment; the CLI then streams it exactly as `render --context X --stdout` does, and
//! refuses to print an empty stream (with pruning on, an empty stream deletes a cluster).

/// Plugin parameter (`spec.source.plugin.parameters[].name: context`), flattened by Argo CD.
pub const PARAM_CONTEXT: &str = "PARAM_CONTEXT";
/// Plugin env (`spec.source.plugin.env[].name: K8S_CONTEXT`), prefixed by Argo CD.
pub const ENV_CONTEXT: &str = "ARGOCD_ENV_K8S_CONTEXT";

/// The context to render: the `context` parameter, else the `K8S_CONTEXT` plugin env.
///
/// # Errors
/// Neither is set (or both are empty): a message that says how to set one.
pub fn context_from_env(get: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    for var in [PARAM_CONTEXT, ENV_CONTEXT] {
        if let Some(v) = get(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
        {
            return Ok(v);
        }
    }
    let app = get("ARGOCD_APP_NAME").map_or_else(String::new, |a| format!(" of Application {a:?}"));
    Err(format!(
        "no context to render{app}: set the plugin env K8S_CONTEXT (spec.source.plugin.env: [{{name: K8S_CONTEXT, value: <context>}}]) or the plugin parameter `context`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn parameter_wins_over_env_and_blank_values_do_not_count() {
        assert_eq!(
            context_from_env(env(&[(ENV_CONTEXT, "east"), (PARAM_CONTEXT, "west")])),
            Ok("west".into())
        );
        assert_eq!(
            context_from_env(env(&[(ENV_CONTEXT, "east"), (PARAM_CONTEXT, " ")])),
            Ok("east".into())
        );
        let e = context_from_env(env(&[("ARGOCD_APP_NAME", "cassandra-east")])).unwrap_err();
        assert!(e.contains("Application \"cassandra-east\""), "{e}");
        assert!(e.contains("K8S_CONTEXT"));
    }
}
