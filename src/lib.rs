//! k8ssandra-gitops renders K8ssandraCluster specs kept in Git into plain manifests, one
//! directory per target Kubernetes cluster, doing offline what k8ssandra-operator's control plane
//! does at run time.
//!
//! Data flow, in layers that only depend downwards (checked by `tests/layers.rs`):
//!
//! 1. `ports` (upstream Go behaviour, once each) and shared JSON helpers;
//! 2. `yaml`, `emit`, [`diagnostic`]: located YAML in, canonical YAML out, problems;
//! 3. `schema`: the upstream CRD schemas; 4. `model`: typed documents;
//! 5. `source` + `load`: which files are read, parsed and typed (`guard` draws the one
//!    boundary between input and output);
//! 6. `plan`: merge cluster and datacenter options (`merge`), resolve contexts, namespaces,
//!    rollout order, the secrets mode, the Medusa configuration, the Reaper and Stargate
//!    templates with their CRD defaults, and where each operations document goes, and validate
//!    what needs the whole picture;
//! 7. `render`: build the objects from the plan (never from the source documents, never
//!    calling `schema`), cluster by cluster; 8. `output`: compare
//!    each with the disk as it comes, stage it, swap the new tree in at the end.
//!
//! Every problem found along the way is a [`diagnostic::Diagnostic`]; all of them are reported
//! together and nothing is written when any is an error.
//!
//! The public surface is small: `render` ([`RenderOptions`]) reads and checks a repository and
//! gives a [`Rendered`], which renders it once in the form the caller needs: the objects
//! ([`Manifest`]) by context ([`Rendered::contexts`]), the output file tree ([`Rendered::tree`]),
//! a stream to a [`Sink`] that keeps one cluster's objects alive at a time ([`Rendered::stream`]),
//! or the output directory written, compared or validated with every output-safety guard
//! ([`Rendered::write`], [`Rendered::check`], [`Rendered::validate`]). Every result is an
//! [`Outcome`] with every [`Diagnostic`]. The command line is `cli`
//! (feature `cli`), a printer of these. The modules above are internal.
//!
//! ```
//! use k8ssandra_gitops::{RenderOptions, render};
//!
//! let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
//! // One context, as the Argo CD plugin renders it; the whole repository is still checked.
//! let options = RenderOptions { context: Some("us-east-1"), ..RenderOptions::default() };
//! let outcome = render(&repo, options)?.contexts();
//! for problem in &outcome.diagnostics {
//!     eprintln!("{problem}");
//! }
//! assert!(!outcome.has_errors());
//! let objects = &outcome.rendered["us-east-1"];
//! assert!(objects.iter().any(|m| m.kind() == k8ssandra_gitops::Kind::CassandraDatacenter));
//! // Each object's file in the output tree, and its canonical YAML.
//! let first = &objects[0];
//! assert!(first.rel_path().starts_with("us-east-1/"));
//! assert!(first.text().starts_with("apiVersion: "));
//! # Ok::<(), k8ssandra_gitops::Error>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "cli")]
pub(crate) mod argocd;
#[cfg(feature = "cli")]
pub mod cli;
pub mod diagnostic;
pub(crate) mod emit;
pub(crate) mod guard;
pub(crate) mod json;
#[cfg(feature = "cli")]
pub(crate) mod krm;
pub(crate) mod load;
pub(crate) mod merge;
pub(crate) mod model;
pub(crate) mod output;
pub(crate) mod parallel;
pub(crate) mod plan;
#[cfg(feature = "cli")]
pub(crate) mod plan_diff;
pub(crate) mod ports;
pub(crate) mod render;
mod rendered;
pub(crate) mod reporter;
#[cfg(feature = "git")]
pub(crate) mod revision;
pub(crate) mod schema;
pub(crate) mod schema_tools;
pub(crate) mod seeds;
pub(crate) mod source;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod yaml;

use std::path::{Path, PathBuf};

use diagnostic::Diagnostic;
use load::Inputs;

pub use guard::Problem;
pub use output::{Drift, WriteError, WriteReport};
pub use plan::DEFAULT_OUTPUT_DIR;
pub use render::{Kind, Manifest, Owner};
pub use rendered::{Finished, Rendered};
pub use source::Skipped;

/// Not part of the API: what this repository's own integration tests, benchmarks and data
/// generators (`tools/`) reach inside for (parsing rendered YAML, strict schema validation, the
/// in-memory pipeline, regenerating the embedded schemas). No stability promise.
#[doc(hidden)]
pub mod dev_support {
    use crate::diagnostic::Diagnostic;
    use crate::load::Inputs;
    pub use crate::load::load;
    pub use crate::output::{build_tree, into_tree};

    /// The in-memory pipeline without the file system (`render_inputs` of the crate).
    #[must_use]
    pub fn render_inputs(
        inputs: &Inputs,
        diags: Vec<Diagnostic>,
    ) -> (crate::render::ByContext, Vec<Diagnostic>) {
        crate::render_inputs(inputs, diags)
    }
    pub use crate::schema_tools::{
        ManifestValidator, generate_input_schemas, read_crd, release_form,
    };
    pub use crate::source::SourceFile;
    pub use crate::yaml::{Node, parse_stream};
}

/// Where the output directory was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputSource {
    /// The `-o` option.
    Override,
    /// RenderConfig `spec.outputDir`.
    RenderConfig,
    /// The default, `REPO/rendered`.
    Default,
}

/// What was read and what was not: for `--verbose` and the empty-render guard.
#[derive(Debug, Clone, Default)]
pub struct ReadReport {
    /// YAML files found (read or not; not counting those inside directories not entered).
    pub yaml_seen: usize,
    /// YAML files read as input.
    pub files_read: usize,
    /// YAML files and directories hidden by a `.gitignore` rule, with the rule.
    pub ignored: Vec<source::Skipped>,
    /// Files and directories not read because they are output.
    pub excluded: Vec<source::Skipped>,
    /// Files inside the chosen output directory that hold input documents (it has no
    /// ownership record, so they are not ours): `(repository-relative path, kind)`.
    pub inputs_in_output: Vec<(String, String)>,
}

/// The result of rendering a repository in memory.
#[derive(Debug)]
pub struct Outcome {
    /// The documents read (internal: their typed form is not part of the API).
    pub(crate) inputs: Inputs,
    /// The rendered objects by context (empty when there are errors).
    pub rendered: std::collections::BTreeMap<String, Vec<Manifest>>,
    /// Every problem in the input, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// Problems with the output directory (an unsafe location) and the guards against a
    /// render that would prune everything (no K8ssandraCluster) or a whole context; each is an
    /// error. Only [`Rendered::stream`] and the passes over the output directory look.
    pub problems: Vec<Problem>,
    /// Where the output goes (from `-o`, RenderConfig `spec.outputDir`, or the default).
    pub output_dir: PathBuf,
    /// Which of the three chose `output_dir`.
    pub output_source: OutputSource,
    /// What was read and what was not.
    pub read: ReadReport,
}

impl Outcome {
    /// Whether any diagnostic is an error, or there is any problem.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        !self.problems.is_empty() || self.has_error_diagnostics()
    }

    /// Whether any diagnostic is an error (the input is invalid).
    pub(crate) fn has_error_diagnostics(&self) -> bool {
        diagnostic::has_error(&self.diagnostics)
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

/// What to render and how.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions<'a> {
    /// The `-o` option; without it RenderConfig `spec.outputDir`, else `REPO/rendered`. The
    /// output directory is never read as input.
    pub output_override: Option<&'a Path>,
    /// Render only the objects of this context (`render --context X --stdout`, the Argo CD
    /// plugin, the KRM function). The whole repository is still read, checked and planned; only
    /// clusters with something in this context are rendered, so one Application's refresh does
    /// not pay for the whole fleet. `Outcome::rendered` then holds this context's objects and
    /// an empty list for every other context that has objects. Passes over the output
    /// directory always render every context.
    pub context: Option<&'a str>,
    /// Allow a stream or a write that finds no K8ssandraCluster, or that removes every object
    /// of a context from the output directory (`--allow-empty`).
    pub allow_empty: bool,
}

/// Reads and checks a repository; the returned [`Rendered`] renders it.
///
/// # Errors
/// Only when the repository cannot be walked; problems with its content are diagnostics.
pub fn render<'a>(repo: &Path, options: RenderOptions<'a>) -> Result<Rendered<'a>, Error> {
    let discovered =
        source::discover(&source::Discovery { repo }).map_err(|e| Error::ReadRepo {
            path: repo.to_path_buf(),
            source: e,
        })?;
    Ok(prepare_discovered(repo, discovered, options))
}

/// [`render`] for files read by any means (the working tree, or a Git revision read by
/// `revision`), after removing everything on the output side of [`guard::apply_boundary`].
#[must_use]
pub(crate) fn prepare_discovered<'a>(
    repo: &Path,
    mut discovered: source::Discovered,
    options: RenderOptions<'a>,
) -> Rendered<'a> {
    let boundary = guard::apply_boundary(repo, &mut discovered, options.output_override);
    let source::Discovered {
        files,
        mut diags,
        ignored,
        mut excluded,
        yaml_seen,
        links: _,
    } = discovered;
    excluded.extend(boundary.excluded);
    let read = ReadReport {
        yaml_seen,
        files_read: files.len(),
        ignored,
        excluded,
        inputs_in_output: boundary.inputs_in_output,
    };
    let (inputs, mut load_diags) = load::load_in_scope(files, &mut diags);
    let mut diags: Vec<Diagnostic> = diags.into_iter().map(|(_, d)| d).collect();
    load_diags.extend(guard::output_dir_setting_problem(&inputs));
    diags.append(&mut load_diags);
    Rendered {
        outcome: Outcome {
            inputs,
            rendered: render::ByContext::new(),
            diagnostics: diags,
            problems: Vec::new(),
            output_dir: boundary.output_dir,
            output_source: boundary.source,
            read,
        },
        repo: repo.to_path_buf(),
        context: options.context,
        allow_empty: options.allow_empty,
    }
}

/// Receives the objects of a streaming render ([`Rendered::stream`]).
pub trait Sink {
    /// One batch: one cluster's objects, one cluster's credentials, or one of the steps about
    /// several clusters; each object with its path in the output tree
    /// ([`Manifest::rel_path`]), in no particular order.
    fn objects(&mut self, objects: Vec<(std::sync::Arc<str>, Manifest)>);

    /// Whether the sink needs the text of (nearly) every object: then the objects are
    /// serialized on the threads that render them ([`Manifest::text`] is then only a copy).
    fn wants_text(&self) -> bool {
        false
    }
}

/// Renders already-loaded inputs (the pure core: no file system access). `diags` holds the
/// problems found so far; rendering is skipped when any of them is an error.
#[must_use]
pub(crate) fn render_inputs(
    inputs: &Inputs,
    diags: Vec<Diagnostic>,
) -> (render::ByContext, Vec<Diagnostic>) {
    render_inputs_scoped(inputs, diags, None)
}

/// [`render_inputs`], rendering only the clusters with objects in `context` when one is given
/// (see [`RenderOptions::context`]).
#[must_use]
pub(crate) fn render_inputs_scoped(
    inputs: &Inputs,
    diags: Vec<Diagnostic>,
    context: Option<&str>,
) -> (render::ByContext, Vec<Diagnostic>) {
    rendered::collect_scoped(inputs, diags, context)
}

/// The core of every render: plans `inputs` and streams the objects (only `context`'s, when
/// given) to `sink`; then checks the output paths of all of them for collisions. Returns the
/// contexts to list (every context with objects; with `context`, also every datacenter's) and
/// every problem, sorted. Nothing reaches `sink` when `diags` already holds an error.
pub(crate) fn stream_inputs(
    inputs: &Inputs,
    mut diags: Vec<Diagnostic>,
    context: Option<&str>,
    sink: &mut dyn Sink,
    old_tree: Option<&output::OldTree>,
) -> (std::collections::BTreeSet<String>, Vec<Diagnostic>) {
    // Plan and render even when earlier stages found problems, so that one run reports them
    // all; nothing is handed on whenever anything is an error.
    let failed = diagnostic::has_error(&diags);
    let mut later = Vec::new();
    let plan = plan::build(inputs, &mut later);
    let mut paths = Paths::default();
    // Serialized on the rendering threads, which also find the files already right on disk.
    let prepare = |objects: &mut [&mut Manifest]| {
        for m in objects.iter_mut() {
            m.prepare_text();
        }
        if let Some(old) = old_tree {
            let paths: Vec<String> = objects.iter().map(|m| m.rel_path()).collect();
            let files: Vec<(&str, Option<&[u8]>)> = paths
                .iter()
                .zip(objects.iter())
                .map(|(p, m)| (p.as_str(), m.raw.as_deref().map(str::as_bytes)))
                .collect();
            old.look(&files);
        }
    };
    let prepare: Option<&render::stream::Prepare<'_>> = sink.wants_text().then_some(&prepare);
    let mut contexts =
        render::stream::render_plan(&plan, context, prepare, &mut later, &mut |step, objects| {
            if failed {
                return;
            }
            let batch: Vec<(std::sync::Arc<str>, Manifest)> = objects
                .into_iter()
                .filter(|m| context.is_none_or(|c| m.context == c))
                .map(|m| (m.rel_path().into(), m))
                .collect();
            paths.note(step, &batch);
            sink.objects(batch);
        });
    if context.is_some() {
        contexts.extend(
            plan.clusters
                .iter()
                .flat_map(|p| p.dcs.iter().map(|d| d.context.clone())),
        );
    }
    later.extend(paths.collisions());
    diags.extend(
        later
            .into_iter()
            .filter(|d| !inputs.repeats_schema_failure(d)),
    );
    diagnostic::sort(&mut diags);
    (contexts, diags)
}

/// The output path of every object handed on, for the collision check: what it is and when it
/// came, not the object.
#[derive(Default)]
struct Paths {
    entries: Vec<PathEntry>,
}

struct PathEntry {
    path: std::sync::Arc<str>,
    /// The step and the position within the steps of its kind: the order in which a render
    /// of the whole repository at once lists objects of one path.
    order: (render::stream::Step, usize),
    /// `Kind namespace/name`, from the typed kind (boxed: no spare capacity, one entry is
    /// kept for every object of the run).
    what: Box<str>,
}

impl Paths {
    fn note(&mut self, step: render::stream::Step, batch: &[(std::sync::Arc<str>, Manifest)]) {
        let seq = self.entries.len();
        self.entries
            .extend(batch.iter().enumerate().map(|(i, (path, m))| PathEntry {
                path: path.clone(),
                order: (step, seq + i),
                what: format!("{} {}/{}", m.kind(), m.namespace(), m.name()).into(),
            }));
    }

    /// Two objects that map to one output file would silently overwrite each other (and the
    /// sync would miss one): an error naming both, whatever produced them (for example a
    /// committed operations document named like a generated one).
    fn collisions(mut self) -> Vec<Diagnostic> {
        self.entries
            .sort_unstable_by(|a, b| a.path.cmp(&b.path).then(a.order.cmp(&b.order)));
        let mut out = Vec::new();
        for pair in self.entries.windows(2) {
            let [prev, next] = pair else { continue };
            if prev.path == next.path {
                out.push(collision(&prev.path, &prev.what, &next.what));
            }
        }
        out
    }
}

fn collision(path: &str, first: &str, second: &str) -> Diagnostic {
    Diagnostic::error(
        diagnostic::Code::OutputCollision,
        path.to_string(),
        yaml::Pos::default(),
        Vec::new(),
        format!("two rendered objects ({first} and {second}) would be written to the same file"),
    )
    .with_hint(Some("rename one of them; nothing was written".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_objects_for_one_output_file_are_an_error_naming_both() {
        let role = |ns: &str| {
            let m = render::Manifest::new(
                "cp".into(),
                Owner::Repository,
                Kind::Role,
                serde_json::json!({"kind": "Role", "metadata": {"name": "r", "namespace": ns}}),
            );
            (m.rel_path().into(), m)
        };
        let step = render::stream::Step::Cluster;
        let mut paths = Paths::default();
        // The later step's object is named second although it came first.
        paths.note(render::stream::Step::Reporter, &[role("b")]);
        paths.note(step, &[role("a")]);
        let found = paths.collisions();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].file, PathBuf::from("cp/role-r.yaml"));
        assert!(
            found[0].message.contains("Role a/r and Role b/r"),
            "{}",
            found[0].message
        );
        let mut paths = Paths::default();
        paths.note(step, &[role("a")]);
        assert!(paths.collisions().is_empty());
    }
}
