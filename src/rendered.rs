//! A repository read and checked, and the ways to render it: in memory by context
//! ([`Rendered::contexts`]) or as the output file tree ([`Rendered::tree`]), handed to a
//! [`Sink`] as it is rendered ([`Rendered::stream`]), or against the output directory
//! ([`Rendered::write`], [`Rendered::check`], [`Rendered::validate`]) with every output-safety
//! guard. The command line and the library share these; the front ends only print.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, has_error};
use crate::guard::{self, Problem};
use crate::output::{Drift, Pass, SourceIndex, Streaming, WriteError, WriteReport};
use crate::render::{ByContext, Manifest};
use crate::{Outcome, Sink};

/// A repository read and checked, not yet rendered ([`crate::render`]). Each method renders
/// it once, in the form the caller needs.
#[derive(Debug)]
pub struct Rendered<'a> {
    /// What is known before rendering; `rendered` is empty.
    pub(crate) outcome: Outcome,
    pub(crate) repo: PathBuf,
    pub(crate) context: Option<&'a str>,
    pub(crate) allow_empty: bool,
}

/// The end of a pass over the output directory ([`Rendered::write`], [`Rendered::check`],
/// [`Rendered::validate`]).
#[derive(Debug)]
pub struct Finished<T> {
    /// Every problem (diagnostics, and [`Outcome::problems`] about the output directory);
    /// `rendered` lists the contexts with objects, each with an empty list.
    pub outcome: Outcome,
    /// Objects rendered, per context.
    pub objects: BTreeMap<String, usize>,
    /// What the pass found or did; `None` when anything in `outcome` is an error: then the
    /// output directory was neither compared nor changed.
    pub result: Option<T>,
}

impl Rendered<'_> {
    /// The problems found so far (more may come with rendering), unsorted.
    #[must_use]
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.outcome.diagnostics
    }

    /// The output directory: `-o`, RenderConfig `spec.outputDir`, or `REPO/rendered`.
    #[must_use]
    pub fn output_dir(&self) -> &Path {
        &self.outcome.output_dir
    }

    /// Renders in memory: every context's objects, sorted by output path (only
    /// [`RenderOptions::context`](crate::RenderOptions::context)'s, when given, and an empty
    /// list for every other context with objects). Empty when anything is an error.
    #[must_use]
    pub fn contexts(self) -> Outcome {
        let Rendered {
            mut outcome,
            context,
            ..
        } = self;
        let diags = std::mem::take(&mut outcome.diagnostics);
        (outcome.rendered, outcome.diagnostics) = collect_scoped(&outcome.inputs, diags, context);
        outcome
    }

    /// Renders the output tree in memory: output path → file bytes, with the kustomizations,
    /// KSOPS generators and the ownership record the writer adds ([`Rendered::write`] writes
    /// exactly these files). Empty when anything is an error; `rendered` then lists the
    /// contexts with objects, each with an empty list.
    #[must_use]
    pub fn tree(self) -> (Outcome, BTreeMap<String, Vec<u8>>) {
        let mut outcome = self.contexts();
        let by_context = std::mem::take(&mut outcome.rendered);
        outcome.rendered = by_context.keys().map(|c| (c.clone(), Vec::new())).collect();
        (outcome, crate::output::into_tree(by_context))
    }

    /// Renders, handing the objects to `sink` as they are rendered, one cluster at a time
    /// (then the objects about several clusters), so that no more than one cluster's objects
    /// need to be alive at once. Every whole-repository check still runs, but some problems are
    /// only known at the end (for example two objects for one output file): a sink that writes
    /// must not make anything visible before the returned outcome is known to have no error.
    /// Nothing is handed on once any problem is an error.
    ///
    /// A stream is what a GitOps tool syncs, so a repository without any K8ssandraCluster is a
    /// problem ([`Outcome::problems`]) unless
    /// [`RenderOptions::allow_empty`](crate::RenderOptions::allow_empty): syncing an empty
    /// result would prune every object.
    ///
    /// With [`RenderOptions::context`](crate::RenderOptions::context), only that context's
    /// objects are handed on. The returned `rendered` lists every context with objects, each
    /// with an empty list; it is empty when any problem is an error.
    ///
    /// ```
    /// use k8ssandra_gitops::{Manifest, RenderOptions, Sink, render};
    ///
    /// /// Keeps only the size of what it is given.
    /// struct Bytes(usize);
    /// impl Sink for Bytes {
    ///     fn objects(&mut self, objects: Vec<(std::sync::Arc<str>, Manifest)>) {
    ///         self.0 += objects.iter().map(|(_, m)| m.text().len()).sum::<usize>();
    ///     }
    /// }
    /// let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    /// let mut bytes = Bytes(0);
    /// let outcome = render(&repo, RenderOptions::default())?.stream(&mut bytes);
    /// assert!(!outcome.has_errors());
    /// let whole = render(&repo, RenderOptions::default())?.contexts();
    /// let expected: usize = whole.rendered.values().flatten().map(|m| m.text().len()).sum();
    /// assert_eq!(bytes.0, expected);
    /// # Ok::<(), k8ssandra_gitops::Error>(())
    /// ```
    #[must_use]
    pub fn stream(self, sink: &mut dyn Sink) -> Outcome {
        self.stream_to(sink, None)
    }

    /// [`Rendered::stream`], the rendering threads also looking for the files `old_tree`
    /// already holds.
    fn stream_to(self, sink: &mut dyn Sink, old_tree: Option<&crate::output::OldTree>) -> Outcome {
        let Rendered {
            mut outcome,
            repo,
            context,
            allow_empty,
        } = self;
        let diags = std::mem::take(&mut outcome.diagnostics);
        let (contexts, diagnostics) =
            crate::stream_inputs(&outcome.inputs, diags, context, sink, old_tree);
        outcome.diagnostics = diagnostics;
        if !outcome.has_error_diagnostics() {
            outcome.rendered = contexts.into_iter().map(|c| (c, Vec::new())).collect();
        }
        if !allow_empty && !outcome.has_error_diagnostics() {
            outcome.problems.extend(
                guard::empty_render_problems(&repo, &outcome)
                    .into_iter()
                    .map(Problem::Plain),
            );
        }
        outcome
    }

    /// Renders into the output directory: each file is compared with what is there as it
    /// comes and written into a staging directory beside it, which replaces the old tree at the
    /// end; files the tool did not write are never touched. Nothing changes when anything is an
    /// error (`result` is then `None`), when the output location is unsafe (a symlink on the
    /// way, the repository root, ...), when the render would empty the tree or remove a whole
    /// context (unless [`RenderOptions::allow_empty`](crate::RenderOptions::allow_empty)), or
    /// when the writer refuses a path ([`WriteError::Refused`]).
    ///
    /// The whole repository is written; [`RenderOptions::context`](crate::RenderOptions::context)
    /// does not apply (writing one context would prune the others).
    #[must_use]
    pub fn write(self) -> Finished<Result<WriteReport, WriteError>> {
        self.on_disk(Pass::Write).finish(Streaming::finish_write)
    }

    /// Compares the output directory with what [`Rendered::write`] would leave there, with the
    /// same guards; changes nothing. `Ok` holds every difference (none: up to date); `Err` the
    /// paths that could not be written at all (too long for the file system).
    #[must_use]
    pub fn check(self) -> Finished<Result<Vec<Drift>, Vec<Diagnostic>>> {
        self.on_disk(Pass::Check).finish(Streaming::finish_check)
    }

    /// Runs every check [`Rendered::write`] runs, without writing: the result lists what the
    /// writer would refuse in the output directory (empty: a write would succeed).
    #[must_use]
    pub fn validate(self) -> Finished<Vec<Diagnostic>> {
        self.on_disk(Pass::Validate)
            .finish(Streaming::finish_validate)
    }

    /// Streams the whole repository to the output directory for `pass`, after the location
    /// guards and before the emptying guards; the pass is only kept when nothing is an error.
    fn on_disk(mut self, pass: Pass) -> OnDisk {
        self.context = None;
        let location = guard::output_location_problems(&self.repo, &self.outcome);
        let sound = location.is_empty() && !self.outcome.has_errors();
        let mut sink = if sound {
            DiskSink::Stream(Box::new(Streaming::new(
                &self.outcome.output_dir,
                pass,
                SourceIndex::new(&self.outcome.inputs),
            )))
        } else {
            DiskSink::Count(BTreeMap::new())
        };
        let allow_empty = self.allow_empty;
        // The empty-render guard speaks when the input is valid, whatever the location; the
        // location problems come first.
        let old_tree = match &mut sink {
            DiskSink::Stream(s) => s.old_tree(),
            DiskSink::Count(_) => None,
        };
        let mut outcome = self.stream_to(&mut sink, old_tree.as_deref());
        outcome.problems.splice(0..0, location);
        let objects = sink.counts();
        if !allow_empty && !outcome.has_error_diagnostics() && outcome.problems.is_empty() {
            outcome.problems.extend(
                guard::vanished_contexts(&outcome.output_dir, &objects, &outcome.read)
                    .into_iter()
                    .map(Problem::Plain),
            );
        }
        // Dropping an unfinished pass removes whatever it staged.
        let pass = match sink {
            DiskSink::Stream(s) if !outcome.has_errors() => Some(s),
            _ => None,
        };
        OnDisk {
            outcome,
            objects,
            pass,
        }
    }
}

/// A pass over the output directory that streamed every object and may be finished.
struct OnDisk {
    outcome: Outcome,
    objects: BTreeMap<String, usize>,
    pass: Option<Box<Streaming>>,
}

impl OnDisk {
    fn finish<T>(self, end: impl FnOnce(Streaming) -> T) -> Finished<T> {
        Finished {
            outcome: self.outcome,
            objects: self.objects,
            result: self.pass.map(|s| end(*s)),
        }
    }
}

/// Where a pass over the output directory sends the objects: compared with the directory (and
/// for a write, staged beside it), or only counted when the directory must not be touched (an
/// unsafe location, or invalid input).
enum DiskSink {
    Stream(Box<Streaming>),
    Count(BTreeMap<String, usize>),
}

impl DiskSink {
    fn counts(&self) -> BTreeMap<String, usize> {
        match self {
            DiskSink::Stream(s) => s.counts(),
            DiskSink::Count(c) => c.clone(),
        }
    }
}

impl Sink for DiskSink {
    fn objects(&mut self, objects: Vec<(Arc<str>, Manifest)>) {
        match self {
            // Each object is freed as soon as its file is compared or written. In path order,
            // so the streamer keeps each directory open for all its files (a cluster's objects
            // come interleaved across its contexts).
            DiskSink::Stream(s) => {
                let mut objects = objects;
                objects.sort_by(|a, b| a.0.cmp(&b.0));
                for (path, m) in objects {
                    s.object(path, m);
                }
            }
            DiskSink::Count(counts) => {
                for (_, m) in objects {
                    *counts.entry(m.context).or_default() += 1;
                }
            }
        }
    }

    /// A check or a write compares every file; a validation only those that exist.
    fn wants_text(&self) -> bool {
        match self {
            DiskSink::Stream(s) => s.needs_texts(),
            DiskSink::Count(_) => false,
        }
    }
}

/// Keeps every object, by context.
#[derive(Default)]
struct Collect(BTreeMap<String, Vec<(Arc<str>, Manifest)>>);

impl Collect {
    /// Each context's objects into `rendered`, by output path; stable, so objects of one path
    /// (an error) keep their order.
    fn sorted_into(self, rendered: &mut ByContext) {
        for (context, mut list) in self.0 {
            list.sort_by(|a, b| a.0.cmp(&b.0));
            rendered.insert(context, list.into_iter().map(|(_, m)| m).collect());
        }
    }
}

impl Sink for Collect {
    fn objects(&mut self, objects: Vec<(Arc<str>, Manifest)>) {
        for (path, m) in objects {
            self.0.entry(m.context.clone()).or_default().push((path, m));
        }
    }
}

/// [`crate::render_inputs_scoped`]'s collection, for the pure in-memory core.
pub(crate) fn collect_scoped(
    inputs: &crate::load::Inputs,
    diags: Vec<Diagnostic>,
    context: Option<&str>,
) -> (ByContext, Vec<Diagnostic>) {
    let mut collect = Collect::default();
    let (contexts, diags) = crate::stream_inputs(inputs, diags, context, &mut collect, None);
    let mut rendered = ByContext::new();
    if !has_error(&diags) {
        for c in contexts {
            rendered.insert(c, Vec::new());
        }
        collect.sorted_into(&mut rendered);
    }
    (rendered, diags)
}
