//! Argo CD config-management plugin mode (`k8ssandra-gitops argocd generate`).
//!
//! The sidecar runs the generate command in the Application's source path with the plugin
//! environment of gitops spec §1.3. This module decides which context to render from that
//! environment and where the repository root is (the Application may point at any directory of
//! it); the CLI then renders the whole repository and streams the context exactly as
//! `render --context X --stdout` does, and refuses to print an empty stream (with pruning on,
//! an empty stream deletes a cluster).

use std::path::{Component, Path, PathBuf};

/// Why the plugin cannot render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `ARGOCD_APP_SOURCE_PATH` is absolute or climbs out with `..`.
    #[error(
        "the Application's path {path:?} ({ENV_SOURCE_PATH}) must be a relative path inside the repository"
    )]
    PathOutside {
        /// The Application's path.
        path: String,
    },
    /// `ARGOCD_APP_SOURCE_PATH` does not end the working directory.
    #[error(
        "the Application's path {path:?} ({ENV_SOURCE_PATH}) does not end the working directory {}: cannot find the repository root (the plugin needs the whole repository; do not use --plugin-use-manifest-generate-paths)",
        cwd.display()
    )]
    RootNotFound {
        /// The Application's path.
        path: String,
        /// The working directory.
        cwd: PathBuf,
    },
    /// Neither the `context` parameter nor the `K8S_CONTEXT` env is set.
    #[error(
        "no context to render{app}: set the plugin env K8S_CONTEXT (spec.source.plugin.env: [{{name: K8S_CONTEXT, value: <context>}}]) or the plugin parameter `context`"
    )]
    NoContext {
        /// ` of Application "NAME"`, or empty.
        app: String,
    },
}

/// Plugin parameter (`spec.source.plugin.parameters[].name: context`), flattened by Argo CD.
pub const PARAM_CONTEXT: &str = "PARAM_CONTEXT";
/// Plugin env (`spec.source.plugin.env[].name: K8S_CONTEXT`), prefixed by Argo CD.
pub const ENV_CONTEXT: &str = "ARGOCD_ENV_K8S_CONTEXT";

/// The Application's `spec.source.path`, set by Argo CD's repo-server for every plugin call.
pub const ENV_SOURCE_PATH: &str = "ARGOCD_APP_SOURCE_PATH";

/// The repository root, given the working directory (the Application's path inside the
/// checkout the cmp-server unpacked) and `ARGOCD_APP_SOURCE_PATH` (that path, relative to the
/// root): the working directory with the path's components taken off its end. Without the
/// variable, the working directory is the root.
///
/// # Errors
/// The path leaves the repository (`..`, absolute) or does not end the working directory (the
/// checkout is not the whole repository, e.g. the repo-server's
/// `--plugin-use-manifest-generate-paths`): a message naming both.
pub fn repo_root(cwd: &Path, source_path: Option<&str>) -> Result<PathBuf, Error> {
    let Some(source_path) = source_path.filter(|p| !p.trim().is_empty()) else {
        return Ok(cwd.to_path_buf());
    };
    let mut parts = Vec::new();
    for c in Path::new(source_path).components() {
        match c {
            Component::Normal(p) => parts.push(p),
            Component::CurDir => {}
            _ => {
                return Err(Error::PathOutside {
                    path: source_path.to_string(),
                });
            }
        }
    }
    let mut root = cwd;
    for part in parts.iter().rev() {
        match (root.file_name(), root.parent()) {
            (Some(name), Some(parent)) if name == *part => root = parent,
            _ => {
                return Err(Error::RootNotFound {
                    path: source_path.to_string(),
                    cwd: cwd.to_path_buf(),
                });
            }
        }
    }
    Ok(root.to_path_buf())
}

/// Where to render from: the nearest directory, from the Application's path up to the
/// repository root, that holds a RenderConfig in one of its own `*.yaml`/`*.yml` files (a
/// self-contained spec tree inside a larger repository, like this project's `examples/`);
/// else the repository root. Either way the Application's path may be any directory at or
/// below it, and the whole tree is read.
#[must_use]
pub fn render_root(app_path: &Path, repo_root: &Path) -> PathBuf {
    let mut dir = app_path;
    loop {
        if holds_render_config(dir) {
            return dir.to_path_buf();
        }
        match dir.parent() {
            Some(parent) if dir != repo_root && parent.starts_with(repo_root) => dir = parent,
            _ => return repo_root.to_path_buf(),
        }
    }
}

fn holds_render_config(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    paths.iter().any(|p| {
        let yaml = p.extension().is_some_and(|x| x == "yaml" || x == "yml");
        let hidden = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        // Only regular files: a symlink could point anywhere.
        let file = std::fs::symlink_metadata(p)
            .is_ok_and(|m| m.is_file() && m.len() <= crate::source::MAX_FILE_BYTES);
        yaml && !hidden
            && file
            && std::fs::read_to_string(p).is_ok_and(|text| {
                text.contains("RenderConfig")
                    && crate::yaml::parse_stream(&text).is_ok_and(|docs| {
                        docs.iter().any(|d| {
                            let field = |k: &str| {
                                d.get(k)
                                    .and_then(crate::yaml::Node::as_str)
                                    .unwrap_or_default()
                            };
                            field("kind") == "RenderConfig"
                                && crate::load::is_input(field("apiVersion"), "RenderConfig")
                        })
                    })
            })
    })
}

/// The context to render: the `context` parameter, else the `K8S_CONTEXT` plugin env.
///
/// # Errors
/// Neither is set (or both are empty): a message that says how to set one.
pub fn context_from_env(get: impl Fn(&str) -> Option<String>) -> Result<String, Error> {
    for var in [PARAM_CONTEXT, ENV_CONTEXT] {
        if let Some(v) = get(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
        {
            return Ok(v);
        }
    }
    let app = get("ARGOCD_APP_NAME").map_or_else(String::new, |a| format!(" of Application {a:?}"));
    Err(Error::NoContext { app })
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
    fn the_repository_root_is_the_working_directory_minus_the_application_path() {
        let cwd = Path::new("/tmp/_cmp_server/4f1e/deploy/clusters");
        let root = Path::new("/tmp/_cmp_server/4f1e");
        for p in ["deploy/clusters", "./deploy/clusters/", "deploy//clusters"] {
            assert_eq!(repo_root(cwd, Some(p)), Ok(root.to_path_buf()), "{p}");
        }
        for p in [None, Some(""), Some("."), Some("./")] {
            assert_eq!(repo_root(cwd, p), Ok(cwd.to_path_buf()), "{p:?}");
        }
        let e = repo_root(cwd, Some("apps/clusters"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("does not end the working directory /tmp/_cmp_server/4f1e/deploy/clusters"),
            "{e}"
        );
        // Deeper than the working directory: never above the filesystem root.
        assert!(repo_root(Path::new("/a"), Some("x/a")).is_err());
        let e = repo_root(cwd, Some("../clusters")).unwrap_err().to_string();
        assert!(
            e.contains("must be a relative path inside the repository"),
            "{e}"
        );
        assert!(repo_root(cwd, Some("/deploy/clusters")).is_err());
    }

    #[test]
    fn rendering_starts_at_the_nearest_render_config_up_to_the_repository_root() {
        let t = std::env::temp_dir().join(format!("k8ssandra-gitops-root-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&t);
        let specs = t.join("teams/db");
        std::fs::create_dir_all(specs.join("clusters/eu")).unwrap();
        std::fs::create_dir_all(t.join("apps")).unwrap();
        std::fs::write(
            specs.join("clusters/eu/orders.yaml"),
            "kind: K8ssandraCluster\n",
        )
        .unwrap();
        // Another kind of the same name, and an unparsable file, do not count.
        std::fs::write(
            t.join("teams/x.yaml"),
            "apiVersion: other.io/v1\nkind: RenderConfig\n",
        )
        .unwrap();
        std::fs::write(
            specs.join("clusters/broken.yaml"),
            "kind: RenderConfig\n  : [\n",
        )
        .unwrap();
        assert_eq!(render_root(&specs.join("clusters/eu"), &t), t);
        assert_eq!(render_root(&t.join("apps"), &t), t);
        std::fs::write(
            specs.join("render.yaml"),
            "apiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\n",
        )
        .unwrap();
        assert_eq!(render_root(&specs.join("clusters/eu"), &t), specs);
        assert_eq!(render_root(&specs, &t), specs);
        // Never above the repository root, even when one is there.
        assert_eq!(
            render_root(&t.join("apps"), &t.join("apps")),
            t.join("apps")
        );
        std::fs::remove_dir_all(&t).unwrap();
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
        let e = context_from_env(env(&[("ARGOCD_APP_NAME", "cassandra-east")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Application \"cassandra-east\""), "{e}");
        assert!(e.contains("K8S_CONTEXT"));
    }
}
