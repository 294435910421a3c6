//! k8ssandra-gitops renders K8ssandraCluster specs kept in Git into plain manifests, one
//! directory per target Kubernetes cluster, doing offline what k8ssandra-operator's control plane
//! does at run time.
//!
//! Data flow, in layers that only depend downwards (checked by `tests/layers.rs`):
//!
//! 1. [`ports`] (upstream Go behaviour, once each) and shared JSON helpers;
//! 2. [`yaml`], [`emit`], [`diagnostic`]: located YAML in, canonical YAML out, problems;
//! 3. [`schema`]: the upstream CRD schemas; 4. [`model`]: typed documents;
//! 5. [`source`] + [`load`]: which files are read, parsed and typed ([`guard`] draws the one
//!    boundary between input and output);
//! 6. [`plan`]: merge cluster and datacenter options ([`merge`]), resolve contexts, namespaces,
//!    rollout order, the secrets mode, the Medusa configuration, the Reaper and Stargate
//!    templates with their CRD defaults, and where each operations document goes, and validate
//!    what needs the whole picture;
//! 7. [`render`]: build the objects from the plan (never from the source documents, never
//!    calling `schema`), cluster by cluster; 8. [`output`]: compare
//!    each with the disk as it comes, stage it, swap the new tree in at the end.
//!
//! Every problem found along the way is a [`diagnostic::Diagnostic`]; all of them are reported
//! together and nothing is written when any is an error.
//!
//! The public surface is small: [`render_repo`] / [`render_repo_with`] ([`RenderOptions`]) give
//! an [`Outcome`] with the [`Rendered`] objects ([`Manifest`]) by context and every
//! [`Diagnostic`](diagnostic::Diagnostic). To keep only one cluster's objects in memory at a
//! time, [`prepare_repo`] reads and checks the repository and [`Prepared::stream`] hands the
//! objects to a [`Sink`] as they are rendered (the command line writes them to disk that way).
//! The command line is [`cli`] (feature `cli`). The modules above are internal.
//!
//! ```
//! use k8ssandra_gitops::{RenderOptions, render_repo_with};
//!
//! let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
//! // One context, as the Argo CD plugin renders it; the whole repository is still checked.
//! let options = RenderOptions { context: Some("us-east-1"), ..RenderOptions::default() };
//! let outcome = render_repo_with(&repo, options)?;
//! for problem in &outcome.diagnostics {
//!     eprintln!("{problem}");
//! }
//! assert!(!outcome.has_errors());
//! let objects = &outcome.rendered["us-east-1"];
//! assert!(objects.iter().any(|m| m.kind() == "CassandraDatacenter"));
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
// Without the command line nothing writes or checks a tree on disk (the library renders in
// memory), so the output side of the boundary and the writer are unused there.
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
pub(crate) mod guard;
pub(crate) mod json;
#[cfg(feature = "cli")]
pub(crate) mod krm;
pub(crate) mod load;
pub(crate) mod merge;
pub(crate) mod model;
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
pub(crate) mod output;
pub(crate) mod parallel;
pub(crate) mod plan;
#[cfg(feature = "cli")]
pub(crate) mod plan_diff;
pub(crate) mod ports;
pub(crate) mod render;
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

use diagnostic::{Code, Diagnostic, Severity};
use load::Inputs;

pub use plan::DEFAULT_OUTPUT_DIR;
pub use render::{Manifest, Rendered};

/// Not part of the API: what this repository's own integration tests, benchmarks and data
/// generators (`tools/`) reach inside for (parsing rendered YAML, strict schema validation, the
/// in-memory pipeline, regenerating the embedded schemas). No stability promise.
#[doc(hidden)]
pub mod dev_support {
    pub use crate::load::load;
    pub use crate::output::{build_tree, into_tree};
    pub use crate::render_inputs;
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
    /// The documents read.
    pub inputs: Inputs,
    /// The rendered objects by context (empty when there are errors).
    pub rendered: Rendered,
    /// Every problem, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// Where the output goes (from `-o`, RenderConfig `spec.outputDir`, or the default).
    pub output_dir: PathBuf,
    /// Which of the three chose `output_dir`.
    pub output_source: OutputSource,
    /// What was read and what was not.
    pub read: ReadReport,
}

impl Outcome {
    /// Whether any diagnostic is an error.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity() == Severity::Error)
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
/// or defaults to `REPO/rendered`. The output directory is never read as input (see
/// [`guard::apply_boundary`]).
///
/// # Errors
/// Only when the repository cannot be walked; problems with its content are diagnostics.
pub fn render_repo(repo: &Path, output_override: Option<&Path>) -> Result<Outcome, Error> {
    render_repo_with(
        repo,
        RenderOptions {
            output_override,
            context: None,
        },
    )
}

/// What to render and where it would go.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions<'a> {
    /// The `-o` option; without it RenderConfig `spec.outputDir`, else `REPO/rendered`.
    pub output_override: Option<&'a Path>,
    /// Render only the objects of this context (`render --context X --stdout`, the Argo CD
    /// plugin, the KRM function). The whole repository is still read, checked and planned; only
    /// clusters with something in this context are rendered, so one Application's refresh does
    /// not pay for the whole fleet. `Outcome::rendered` then holds this context's objects and
    /// an empty list for every other context that has objects.
    pub context: Option<&'a str>,
}

/// [`render_repo`] with every option.
///
/// # Errors
/// Only when the repository cannot be walked; problems with its content are diagnostics.
pub fn render_repo_with(repo: &Path, options: RenderOptions<'_>) -> Result<Outcome, Error> {
    Ok(prepare_repo(repo, options)?.render())
}

/// Renders files read by any means (the working tree, or a Git revision read by [`revision`]),
/// after removing everything on the output side of [`guard::apply_boundary`].
#[must_use]
pub fn render_discovered(
    repo: &Path,
    discovered: source::Discovered,
    output_override: Option<&Path>,
) -> Outcome {
    render_discovered_with(
        repo,
        discovered,
        RenderOptions {
            output_override,
            context: None,
        },
    )
}

/// [`render_discovered`] with every option.
#[must_use]
pub fn render_discovered_with(
    repo: &Path,
    discovered: source::Discovered,
    options: RenderOptions<'_>,
) -> Outcome {
    prepare_discovered(repo, discovered, options).render()
}

/// Reads and checks a repository without rendering it yet: [`Prepared::render`] renders it in
/// memory, [`Prepared::stream`] hands the objects to a [`Sink`] cluster by cluster.
///
/// # Errors
/// Only when the repository cannot be walked; problems with its content are diagnostics.
pub fn prepare_repo<'a>(repo: &Path, options: RenderOptions<'a>) -> Result<Prepared<'a>, Error> {
    let discovered =
        source::discover(&source::Discovery { repo }).map_err(|e| Error::ReadRepo {
            path: repo.to_path_buf(),
            source: e,
        })?;
    Ok(prepare_discovered(repo, discovered, options))
}

/// [`prepare_repo`] for files read by any means (see [`render_discovered`]).
#[must_use]
pub fn prepare_discovered<'a>(
    repo: &Path,
    mut discovered: source::Discovered,
    options: RenderOptions<'a>,
) -> Prepared<'a> {
    let boundary = guard::apply_boundary(repo, &mut discovered, options.output_override);
    let source::Discovered {
        mut files,
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
    let (mut inputs, mut load_diags) = load::load(&files);
    // RenderConfig may narrow the inputs (`spec.include` / `spec.exclude`); its own file stays.
    // Invalid globs were reported with the RenderConfig, which is then not loaded.
    if let Some(rc) = &inputs.render_config
        && (rc.value.include.is_some() || rc.value.exclude.is_some())
        && let Ok(scope) = source::Scope::new(
            rc.value.include.as_deref(),
            rc.value.exclude.as_deref().unwrap_or_default(),
        )
    {
        let keep = rc.origin.rel_path.clone();
        let before = files.len();
        files = source::filter_scope(files, &scope, &keep);
        if files.len() != before {
            (inputs, load_diags) = load::load(&files);
        }
        // Files refused while reading (too large, not UTF-8) are out of scope too.
        diags.retain(|(rel, _)| scope.contains(rel));
    }
    drop(files);
    let mut diags: Vec<Diagnostic> = diags.into_iter().map(|(_, d)| d).collect();
    if let Some(rc) = &inputs.render_config
        && let Some(dir) = &rc.value.output_dir
        && guard::relative_inside(dir).is_none()
    {
        load_diags.push(rc.error(
            Code::OutputLocation,
            vec![
                yaml::Seg::Key("spec".into()),
                yaml::Seg::Key("outputDir".into()),
            ],
            format!("outputDir {dir:?} must be a relative path inside the repository (no '..')"),
        ));
    }
    diags.append(&mut load_diags);
    Prepared {
        outcome: Outcome {
            inputs,
            rendered: Rendered::new(),
            diagnostics: diags,
            output_dir: boundary.output_dir,
            output_source: boundary.source,
            read,
        },
        context: options.context,
    }
}

/// A repository read and checked, not yet rendered ([`prepare_repo`]).
#[derive(Debug)]
pub struct Prepared<'a> {
    /// What is known before rendering: the inputs, where the output goes, what was read, and
    /// the problems found so far (unsorted); `rendered` is empty.
    pub outcome: Outcome,
    context: Option<&'a str>,
}

impl Prepared<'_> {
    /// Plans and renders in memory: [`render_repo_with`].
    #[must_use]
    pub fn render(self) -> Outcome {
        let mut collect = Collect::default();
        let mut outcome = self.stream(&mut collect);
        if !outcome.has_errors() {
            collect.sorted_into(&mut outcome.rendered);
        }
        outcome
    }

    /// Plans and renders, handing the objects to `sink` as they are rendered, one cluster at a
    /// time (then the objects about several clusters), so that no more than one cluster's
    /// objects need to be alive at once. Every whole-repository check still runs, but some
    /// problems are only known at the end (for example two objects for one output file): a
    /// sink that writes must not make anything visible before the returned outcome is known to
    /// have no error. Nothing is handed on once any problem is an error.
    ///
    /// With [`RenderOptions::context`], only that context's objects are handed on. The
    /// returned `rendered` lists every context with objects (as [`render_repo_with`] does),
    /// each with an empty list; it is empty when any problem is an error.
    ///
    /// ```
    /// use k8ssandra_gitops::{Manifest, RenderOptions, Sink, prepare_repo, render_repo_with};
    ///
    /// /// Keeps only the size of what it is given.
    /// struct Bytes(usize);
    /// impl Sink for Bytes {
    ///     fn objects(&mut self, objects: Vec<(String, Manifest)>) {
    ///         self.0 += objects.iter().map(|(_, m)| m.text().len()).sum::<usize>();
    ///     }
    /// }
    /// let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    /// let mut bytes = Bytes(0);
    /// let outcome = prepare_repo(&repo, RenderOptions::default())?.stream(&mut bytes);
    /// assert!(!outcome.has_errors());
    /// let whole = render_repo_with(&repo, RenderOptions::default())?;
    /// let expected: usize = whole.rendered.values().flatten().map(|m| m.text().len()).sum();
    /// assert_eq!(bytes.0, expected);
    /// # Ok::<(), k8ssandra_gitops::Error>(())
    /// ```
    #[must_use]
    pub fn stream(self, sink: &mut dyn Sink) -> Outcome {
        let Prepared {
            mut outcome,
            context,
        } = self;
        let diags = std::mem::take(&mut outcome.diagnostics);
        let (contexts, diagnostics) = stream_inputs(&outcome.inputs, diags, context, sink);
        outcome.diagnostics = diagnostics;
        if !outcome.has_errors() {
            outcome.rendered = contexts.into_iter().map(|c| (c, Vec::new())).collect();
        }
        outcome
    }
}

/// Receives the objects of a streaming render ([`Prepared::stream`]).
pub trait Sink {
    /// One batch: one cluster's objects, one cluster's credentials, or one of the steps about
    /// several clusters; each object with its path in the output tree
    /// ([`Manifest::rel_path`]), in no particular order.
    fn objects(&mut self, objects: Vec<(String, Manifest)>);

    /// Whether the sink needs the text of (nearly) every object: then the objects are
    /// serialized on the threads that render them ([`Manifest::text`] is then only a copy).
    fn wants_text(&self) -> bool {
        false
    }
}

/// Keeps every object, by context.
#[derive(Default)]
struct Collect(std::collections::BTreeMap<String, Vec<(String, Manifest)>>);

impl Collect {
    /// Each context's objects into `rendered`, by output path; stable, so objects of one path
    /// (an error) keep their order.
    fn sorted_into(self, rendered: &mut Rendered) {
        for (context, mut list) in self.0 {
            list.sort_by(|a, b| a.0.cmp(&b.0));
            rendered.insert(context, list.into_iter().map(|(_, m)| m).collect());
        }
    }
}

impl Sink for Collect {
    fn objects(&mut self, objects: Vec<(String, Manifest)>) {
        for (path, m) in objects {
            self.0.entry(m.context.clone()).or_default().push((path, m));
        }
    }
}

/// Renders already-loaded inputs (the pure core: no file system access). `diags` holds the
/// problems found so far; rendering is skipped when any of them is an error.
#[must_use]
pub fn render_inputs(inputs: &Inputs, diags: Vec<Diagnostic>) -> (Rendered, Vec<Diagnostic>) {
    render_inputs_scoped(inputs, diags, None)
}

/// [`render_inputs`], rendering only the clusters with objects in `context` when one is given
/// (see [`RenderOptions::context`]).
#[must_use]
pub fn render_inputs_scoped(
    inputs: &Inputs,
    diags: Vec<Diagnostic>,
    context: Option<&str>,
) -> (Rendered, Vec<Diagnostic>) {
    let mut collect = Collect::default();
    let (contexts, diags) = stream_inputs(inputs, diags, context, &mut collect);
    let mut rendered = Rendered::new();
    if !diags.iter().any(|d| d.severity() == Severity::Error) {
        for c in contexts {
            rendered.insert(c, Vec::new());
        }
        collect.sorted_into(&mut rendered);
    }
    (rendered, diags)
}

/// The core of every render: plans `inputs` and streams the objects (only `context`'s, when
/// given) to `sink`; then checks the output paths of all of them for collisions. Returns the
/// contexts to list (every context with objects; with `context`, also every datacenter's) and
/// every problem, sorted. Nothing reaches `sink` when `diags` already holds an error.
fn stream_inputs(
    inputs: &Inputs,
    mut diags: Vec<Diagnostic>,
    context: Option<&str>,
    sink: &mut dyn Sink,
) -> (std::collections::BTreeSet<String>, Vec<Diagnostic>) {
    // Plan and render even when earlier stages found problems, so that one run reports them
    // all; nothing is handed on whenever anything is an error.
    let failed = diags.iter().any(|d| d.severity() == Severity::Error);
    let mut later = Vec::new();
    let plan = plan::build(inputs, &mut later);
    let mut paths = Paths::default();
    let texts = sink.wants_text();
    let mut contexts =
        render::stream::render_plan(&plan, context, texts, &mut later, &mut |step, objects| {
            if failed {
                return;
            }
            let batch: Vec<(String, Manifest)> = objects
                .into_iter()
                .filter(|m| context.is_none_or(|c| m.context == c))
                .map(|m| (m.rel_path(), m))
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
    path: String,
    /// The step and the position within the steps of its kind: the order in which a render
    /// of the whole repository at once lists objects of one path.
    order: (render::stream::Step, usize),
    /// `Kind namespace/name`.
    what: String,
}

impl Paths {
    fn note(&mut self, step: render::stream::Step, batch: &[(String, Manifest)]) {
        let seq = self.entries.len();
        self.entries
            .extend(batch.iter().enumerate().map(|(i, (path, m))| PathEntry {
                path: path.clone(),
                order: (step, seq + i),
                what: format!("{} {}/{}", m.kind(), m.namespace(), m.name()),
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
                String::new(),
                serde_json::json!({"kind": "Role", "metadata": {"name": "r", "namespace": ns}}),
            );
            (m.rel_path(), m)
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
