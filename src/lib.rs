//! k8ssandra-gitops renders K8ssandraCluster specs kept in Git into plain manifests, one
//! directory per target Kubernetes cluster, doing offline what k8ssandra-operator's control plane
//! does at run time.
//!
//! Data flow, one module per stage:
//!
//! 1. [`source`]: discover input files (sorted, `.gitignore` honoured, size/encoding/symlink limits);
//! 2. [`yaml`] + [`load`]: parse into located trees, check against the upstream CRD schema
//!    ([`schema`]), type them ([`model`]);
//! 3. [`plan`]: merge cluster and datacenter options ([`merge`]), resolve contexts, namespaces and
//!    rollout order, and validate what needs the whole picture;
//! 4. [`render`]: build the objects;
//! 5. [`output`]: serialize canonically ([`emit`]), then compare with or write to disk.
//!
//! Every problem found along the way is a [`diagnostic::Diagnostic`]; all of them are reported
//! together and nothing is written when any is an error.

#![forbid(unsafe_code)]

pub mod argocd;
pub mod diagnostic;
pub mod emit;
pub(crate) mod json;
pub mod krm;
pub mod load;
pub mod merge;
pub mod model;
pub mod output;
pub mod plan;
pub mod plan_diff;
pub mod ports;
pub mod render;
pub mod reporter;
pub mod revision;
pub mod schema;
pub mod seeds;
pub mod source;
#[cfg(test)]
pub(crate) mod testing;
pub mod yaml;

use std::path::{Component, Path, PathBuf};

use diagnostic::{Diagnostic, Severity};
use load::Inputs;
use render::Rendered;

pub use plan::DEFAULT_OUTPUT_DIR;

/// The result of rendering a repository in memory.
#[derive(Debug)]
pub struct Outcome {
    /// The documents read.
    pub inputs: Inputs,
    /// The rendered objects by context (empty when there are errors).
    pub rendered: Rendered,
    /// Every problem, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// Where the output goes (from `-o`, RenderConfig `spec.outputDir`, or the default).
    pub output_dir: PathBuf,
}

impl Outcome {
    /// Whether any diagnostic is an error.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// A failure that stops before any diagnostic can be given (unreadable repository).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository directory cannot be read.
    #[error("failed to read repository {path}: {source}")]
    ReadRepo {
        /// The repository path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Reads, validates and renders a repository, entirely in memory.
///
/// `output_override` is the `-o` option; without it the output directory comes from RenderConfig
/// or defaults to `REPO/rendered`. The output directory is never read as input.
///
/// # Errors
/// Only when the repository cannot be walked; problems with its content are diagnostics.
pub fn render_repo(repo: &Path, output_override: Option<&Path>) -> Result<Outcome, Error> {
    let default_out =
        output_override.map_or_else(|| repo.join(DEFAULT_OUTPUT_DIR), Path::to_path_buf);
    let discovery = source::Discovery {
        repo,
        output_dir: Some(&default_out),
    };
    let (files, diags) = source::discover(&discovery).map_err(|e| Error::ReadRepo {
        path: repo.to_path_buf(),
        source: e,
    })?;
    Ok(render_source_files(repo, files, diags, output_override))
}

/// Renders files read by any means (the working tree, or a Git revision read by [`revision`]).
/// Files under the output directory (`-o`, RenderConfig `spec.outputDir`, or `rendered`) are
/// never read as input.
#[must_use]
pub fn render_source_files(
    repo: &Path,
    mut files: Vec<source::SourceFile>,
    mut diags: Vec<Diagnostic>,
    output_override: Option<&Path>,
) -> Outcome {
    let default_out =
        output_override.map_or_else(|| repo.join(DEFAULT_OUTPUT_DIR), Path::to_path_buf);
    if output_override.is_none() {
        let prefix = format!("{DEFAULT_OUTPUT_DIR}/");
        files.retain(|f| !f.rel_path.starts_with(&prefix));
    }
    let (mut inputs, mut load_diags) = load::load(&files);

    // RenderConfig may move the output directory: never read what we write.
    let mut output_dir = default_out;
    if output_override.is_none()
        && let Some(rc) = &inputs.render_config
        && let Some(dir) = &rc.value.output_dir
    {
        let rel = Path::new(dir);
        let escapes = dir.is_empty()
            || rel.is_absolute()
            || rel
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
        if escapes {
            load_diags.push(rc.error(
                vec![
                    yaml::Seg::Key("spec".into()),
                    yaml::Seg::Key("outputDir".into()),
                ],
                format!(
                    "outputDir {dir:?} must be a relative path inside the repository (no '..')"
                ),
            ));
        } else {
            output_dir = repo.join(rel);
            let prefix = format!(
                "{}/",
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/")
            );
            let before = files.len();
            files.retain(|f| !f.rel_path.starts_with(&prefix));
            if files.len() != before {
                (inputs, load_diags) = load::load(&files);
            }
        }
    }
    diags.append(&mut load_diags);
    let (rendered, diagnostics) = render_inputs(&inputs, diags);
    Outcome {
        inputs,
        rendered,
        diagnostics,
        output_dir,
    }
}

/// Renders already-loaded inputs (the pure core: no file system access). `diags` holds the
/// problems found so far; rendering is skipped when any of them is an error.
#[must_use]
pub fn render_inputs(inputs: &Inputs, mut diags: Vec<Diagnostic>) -> (Rendered, Vec<Diagnostic>) {
    // Plan and render even when earlier stages found problems, so that one run reports them
    // all; the rendered objects are dropped whenever anything is an error.
    let settings = plan::Settings::from_inputs(inputs);
    let mut later = Vec::new();
    let plans = plan::plan(inputs, &settings, &mut later);
    let mut rendered = render::render(&plans, &settings, &mut later);
    let add = |rendered: &mut Rendered, manifests: Vec<render::Manifest>| {
        for m in manifests {
            rendered.entry(m.context.clone()).or_default().push(m);
        }
    };
    let credentials =
        render::credentials::render(&plans, inputs, &settings.control_plane_context, &mut later);
    let routed = render::medusa::route(&plans, inputs, &rendered, &mut later);
    add(&mut rendered, credentials);
    add(&mut rendered, routed);
    let reporter = render::reporter::render(&plans, inputs, &settings, &mut later);
    add(&mut rendered, reporter);
    let contexts: Vec<String> = rendered.keys().cloned().collect();
    let delivery = render::delivery::render(&plans, &contexts, inputs, &mut later);
    add(&mut rendered, delivery);
    for list in rendered.values_mut() {
        list.sort_by_key(render::Manifest::rel_path);
    }
    diags.extend(
        later
            .into_iter()
            .filter(|d| !inputs.repeats_schema_failure(d)),
    );
    if diags.iter().any(|d| d.severity == Severity::Error) {
        rendered.clear();
    }
    diagnostic::sort(&mut diags);
    (rendered, diags)
}
