//! Command line: parse arguments, call the library, print, pick the exit code.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::diagnostic::{self, Code, Diagnostic, Format, did_you_mean};
use crate::guard::Problem;
use crate::output::{Drift, Pass, SourceIndex, Streaming, WriteError, unified_diff};
use crate::render::Manifest;
use crate::source::display_path;
use crate::{Outcome, RenderOptions, Sink, guard, prepare_repo, render_repo};

/// Render K8ssandraCluster specs from Git into plain manifests, one directory per cluster.
#[derive(Debug, Parser)]
#[command(name = "k8ssandra-gitops", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render the repository into the output directory (or check it, or stream one context).
    Render(RenderArgs),
    /// Run every check without writing anything.
    Validate(CommonArgs),
    /// Run as a KRM function: a ResourceList on stdin, the rendered context's objects on stdout.
    Krm,
    /// Show what changes between two revisions, per context, and flag risky changes.
    Plan(PlanArgs),
    /// Run the in-cluster status reporter (control-plane cluster).
    #[cfg(feature = "reporter")]
    Reporter(ReporterArgs),
    /// Argo CD config-management plugin commands.
    Argocd {
        #[command(subcommand)]
        command: ArgocdCommand,
    },
}

#[derive(Debug, Args)]
struct PlanArgs {
    /// Repository directory (inside a Git work tree).
    #[arg(default_value = ".")]
    repo: PathBuf,
    /// The revision to compare from (commit, branch, tag, `HEAD~1`, ...).
    #[arg(long)]
    from: String,
    /// The revision to compare to, or `worktree` for the files as they are now.
    #[arg(long, default_value = "worktree")]
    to: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    output: PlanFormat,
    /// Exit 0 even when risky changes are found (they are still printed).
    #[arg(long)]
    allow_risky: bool,
    /// How to print problems of an invalid revision [default: human on a terminal, else short].
    #[arg(long, value_enum)]
    format: Option<DiagFormat>,
}

#[cfg(feature = "reporter")]
#[derive(Debug, Args)]
struct ReporterArgs {
    /// Namespace of the ClientConfigs and their kubeconfig Secrets [default: $POD_NAMESPACE].
    #[arg(long, env = "POD_NAMESPACE", default_value = "k8ssandra-operator")]
    namespace: String,
    /// Context name of the cluster the reporter runs in.
    #[arg(long, default_value = "control-plane")]
    control_plane_context: String,
    /// Seconds between observation passes.
    #[arg(long, default_value_t = 15)]
    interval: u64,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    listen: String,
    /// One pass, then exit.
    #[arg(long)]
    once: bool,
    /// Keep the additional-seed EndpointSlices filled with the seed IPs of the other datacenters.
    #[arg(long)]
    seed_sync: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PlanFormat {
    Text,
    Json,
}

/// Exit code of `plan` when risky changes are found.
const RISKY: u8 = 3;

#[derive(Debug, Subcommand)]
enum ArgocdCommand {
    /// Render the context named by the plugin (parameter `context` or env `K8S_CONTEXT`) from
    /// the current directory, as one YAML stream on stdout.
    Generate,
}

#[derive(Debug, Args)]
struct CommonArgs {
    /// Repository to read.
    #[arg(default_value = ".")]
    repo: PathBuf,
    /// Also list the documents that were ignored (other kinds), and every file or directory
    /// not read (a `.gitignore` rule, with the rule, or an output directory).
    #[arg(long, short)]
    verbose: bool,
    /// Allow a render that finds no K8ssandraCluster, or that removes every object of a context
    /// the existing output has.
    #[arg(long)]
    allow_empty: bool,
    /// How to print problems [default: human on a terminal, else short].
    #[arg(long, value_enum)]
    format: Option<DiagFormat>,
}

/// `--format`: how problems are printed (see docs/diagnostics.md).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DiagFormat {
    /// One line each: `file:line:col: error[CODE]: path: message (help)`.
    Short,
    /// The source line with a caret, related places and `help:` (rustc-style).
    Human,
    /// One JSON object per line.
    Json,
}

/// Prints problems in the chosen format on stderr.
struct Printer {
    format: Format,
    /// Terminal colours (human form on a terminal, unless `NO_COLOR` is set).
    styled: bool,
    /// Whether the files named by diagnostics are the ones on disk (not a Git revision), so
    /// that the human form can show their lines.
    excerpts: bool,
    /// File texts read for excerpts.
    cache: RefCell<HashMap<PathBuf, Option<String>>>,
}

impl Printer {
    /// The printer for `--format`; without it, `human` when stderr is a terminal, else `short`.
    fn new(choice: Option<DiagFormat>) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let format = match choice {
            Some(DiagFormat::Short) => Format::Short,
            Some(DiagFormat::Human) => Format::Human,
            Some(DiagFormat::Json) => Format::Json,
            None if terminal => Format::Human,
            None => Format::Short,
        };
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            format,
            styled: format == Format::Human && terminal && !no_color,
            excerpts: true,
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// The one-line form, whatever the terminal (pre-commit hooks, Argo CD).
    fn short() -> Self {
        Self {
            format: Format::Short,
            styled: false,
            excerpts: false,
            cache: RefCell::new(HashMap::new()),
        }
    }

    fn diagnostics(&self, diags: &[Diagnostic]) {
        let mut cache = self.cache.borrow_mut();
        let excerpts = self.excerpts;
        let mut source = |file: &Path| -> Option<String> {
            if !excerpts {
                return None;
            }
            cache
                .entry(file.to_path_buf())
                .or_insert_with(|| read_source(file))
                .clone()
        };
        let mut err = std::io::stderr().lock();
        let _ = diagnostic::write_all(&mut err, diags, self.format, &mut source, self.styled);
    }

    /// The guards' problems: located ones like diagnostics; the others (`error: ...` lines)
    /// as they are, or in the JSON form as objects of code E0603 with no file.
    fn problems(&self, problems: &[Problem]) {
        for p in problems {
            let line = match p {
                Problem::Located(d) => {
                    self.diagnostics(std::slice::from_ref(d));
                    continue;
                }
                Problem::Plain(line) => line,
            };
            let mut err = std::io::stderr().lock();
            if self.format == Format::Json {
                let message = line.strip_prefix("error: ").unwrap_or(line);
                let v = serde_json::json!({
                    "code": Code::OutputLocation.as_str(),
                    "severity": "error",
                    "file": null,
                    "line": 0,
                    "column": 0,
                    "path": null,
                    "message": message,
                    "help": null,
                    "related": [],
                });
                let _ = writeln!(err, "{v}");
            } else {
                let _ = writeln!(err, "{line}");
            }
        }
    }

    /// The closing `error: N problems found` line (left out in the JSON form, where every
    /// line is an object; the exit code says it).
    fn summary(&self, n: usize) {
        if self.format != Format::Json {
            eprintln!(
                "error: {n} problem{} found; nothing was written",
                if n == 1 { "" } else { "s" }
            );
        }
    }
}

/// A file's text for an excerpt: only a regular file within the input size limit, opened
/// without following a symlink and without blocking on a FIFO (a diagnostic may name a file
/// on the output side, such as the ownership record).
fn read_source(file: &Path) -> Option<String> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use rustix::fs::OFlags;
        use std::os::unix::fs::OpenOptionsExt;
        let flags = OFlags::NOFOLLOW | OFlags::NONBLOCK;
        options.custom_flags(i32::try_from(flags.bits()).ok()?);
    }
    #[cfg(not(unix))]
    if std::fs::symlink_metadata(file)
        .ok()?
        .file_type()
        .is_symlink()
    {
        return None;
    }
    let f = options.open(file).ok()?;
    let limit = crate::source::MAX_FILE_BYTES;
    let meta = f.metadata().ok()?;
    if !meta.is_file() || meta.len() > limit {
        return None;
    }
    let mut text = String::new();
    f.take(limit).read_to_string(&mut text).ok()?;
    Some(text)
}

#[derive(Debug, Args)]
struct RenderArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Output directory [default: RenderConfig spec.outputDir, else REPO/rendered].
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Render in memory and compare with the output directory; exit 1 with a diff on drift.
    #[arg(long, conflicts_with = "stdout")]
    check: bool,
    /// Only this context (with --stdout).
    #[arg(long, requires = "stdout")]
    context: Option<String>,
    /// Write the context's objects as one YAML stream to stdout instead of files.
    #[arg(long, requires = "context")]
    stdout: bool,
}

/// Exit code for invalid input, drift, or a failed write.
const FAILURE: u8 = 1;
/// Exit code for a usage error (as clap's), e.g. a command this build leaves out.
#[cfg(not(feature = "git"))]
const USAGE: u8 = 2;

/// Runs the command line.
#[must_use]
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate(args) => validate(&args),
        Command::Render(args) => render(&args),
        Command::Argocd {
            command: ArgocdCommand::Generate,
        } => argocd_generate(),
        Command::Plan(args) => plan(&args),
        #[cfg(feature = "reporter")]
        Command::Reporter(args) => reporter(&args),
        Command::Krm => krm(),
    }
}

fn krm() -> ExitCode {
    let mut input = String::new();
    if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut input) {
        eprintln!("error: cannot read the ResourceList from stdin: {e}");
        return ExitCode::from(FAILURE);
    }
    let response = crate::krm::run(&input);
    let mut err = std::io::stderr().lock();
    for line in &response.messages {
        let _ = writeln!(err, "{line}");
    }
    let mut out = std::io::stdout().lock();
    let written = out
        .write_all(response.resource_list.as_bytes())
        .and_then(|()| out.flush());
    if response.failed || written.is_err() {
        ExitCode::from(FAILURE)
    } else {
        ExitCode::SUCCESS
    }
}

/// Which guards a command applies on top of the diagnostics.
#[derive(Debug, Clone, Copy)]
struct Guards {
    /// The output location checks (commands that write or compare the output tree).
    location: bool,
    /// The mass-deletion guards (unless `--allow-empty`).
    empty: bool,
}

/// Where a command's rendered objects go as they are rendered (issue #13: one cluster's
/// objects alive at a time).
enum Out {
    /// Compared with (and for `render`, written beside) the output directory.
    Disk(Box<Streaming>),
    /// One context's files as text, to print once everything rendered: `(path, text)`.
    Stdout(Vec<(String, String)>),
    /// Only counted, per context: the output directory must not be touched (a location
    /// problem, or invalid input).
    Count(BTreeMap<String, usize>),
}

impl Sink for Out {
    fn objects(&mut self, objects: Vec<(String, Manifest)>) {
        match self {
            // Each object is freed as soon as its file is compared or written.
            Out::Disk(d) => {
                for (path, m) in objects {
                    d.object(path, m);
                }
            }
            Out::Stdout(texts) => {
                texts.extend(objects.into_iter().map(|(p, m)| (p, m.into_text())))
            }
            Out::Count(counts) => {
                for (_, m) in objects {
                    *counts.entry(m.context).or_default() += 1;
                }
            }
        }
    }

    /// Every object's text is written, compared or printed, except in a validation, which only
    /// compares the files that already exist.
    fn wants_text(&self) -> bool {
        match self {
            Out::Disk(d) => d.needs_texts(),
            Out::Stdout(_) => true,
            Out::Count(_) => false,
        }
    }
}

impl Out {
    fn counts(&self) -> BTreeMap<String, usize> {
        match self {
            Out::Disk(d) => d.counts(),
            Out::Count(c) => c.clone(),
            Out::Stdout(_) => BTreeMap::new(),
        }
    }
}

/// Reads, checks and renders the repository (only `context`'s clusters when given), handing the
/// objects to the output directory as they are rendered (`pass`) or keeping the context's text
/// (`pass` `None`), then prints every problem; `Err` when anything is an error. The output
/// directory is only touched when the inputs loaded without error and its location is sound,
/// and nothing becomes visible there before [`Streaming::finish_write`].
fn load(
    common: &CommonArgs,
    printer: &Printer,
    output: Option<&PathBuf>,
    context: Option<&str>,
    guards: Guards,
    pass: Option<Pass>,
) -> Result<(Outcome, Out), ExitCode> {
    let options = RenderOptions {
        output_override: output.map(PathBuf::as_path),
        context,
    };
    let prepared = prepare_repo(&common.repo, options).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(FAILURE)
    })?;
    let mut problems = Vec::new();
    if guards.location {
        problems.extend(guard::output_location_problems(
            &common.repo,
            &prepared.outcome,
        ));
    }
    let sound = problems.is_empty() && !prepared.outcome.has_errors();
    let mut out = match pass {
        Some(pass) if sound => Out::Disk(Box::new(Streaming::new(
            &prepared.outcome.output_dir,
            pass,
            SourceIndex::new(&prepared.outcome.inputs),
        ))),
        Some(_) => Out::Count(BTreeMap::new()),
        None => Out::Stdout(Vec::new()),
    };
    let outcome = prepared.stream(&mut out);
    if guards.empty && !common.allow_empty && !outcome.has_errors() {
        problems.extend(
            guard::empty_render_problems(&common.repo, &outcome)
                .into_iter()
                .map(Problem::Plain),
        );
        if guards.location && problems.is_empty() {
            problems.extend(
                guard::vanished_contexts(&outcome.output_dir, &out.counts(), &outcome.read)
                    .into_iter()
                    .map(Problem::Plain),
            );
        }
    }
    printer.diagnostics(&outcome.diagnostics);
    printer.problems(&problems);
    let mut err = std::io::stderr().lock();
    if common.verbose {
        for (file, index, kind) in &outcome.inputs.ignored {
            let _ = writeln!(err, "{}: document {index} ignored ({kind})", file.display());
        }
        for s in outcome.read.ignored.iter().chain(&outcome.read.excluded) {
            let _ = writeln!(
                err,
                "{}: not read: {}",
                display_path(&common.repo, &s.rel_path).display(),
                s.reason
            );
        }
    }
    let n = outcome
        .diagnostics
        .iter()
        .filter(|d| d.severity() == crate::diagnostic::Severity::Error)
        .count()
        + problems.len();
    if n > 0 {
        drop(err);
        printer.summary(n);
        // Dropping `out` removes whatever was staged.
        return Err(ExitCode::from(FAILURE));
    }
    Ok((outcome, out))
}

/// Prints problems found after rendering (output paths, the output directory) and fails.
fn refuse(printer: &Printer, problems: &[Diagnostic]) -> ExitCode {
    printer.diagnostics(problems);
    printer.summary(problems.len());
    ExitCode::from(FAILURE)
}

fn validate(args: &CommonArgs) -> ExitCode {
    let guards = Guards {
        location: true,
        empty: true,
    };
    let printer = Printer::new(args.format);
    match load(args, &printer, None, None, guards, Some(Pass::Validate)) {
        Ok((o, out)) => {
            let o = exit_without_freeing(o);
            let objects: usize = out.counts().values().sum();
            // What render would refuse is known now: output paths too long for the file
            // system, symlinks or hand-written files where it writes.
            if let Out::Disk(d) = out {
                let problems = d.finish_validate();
                if !problems.is_empty() {
                    return refuse(&printer, &problems);
                }
            }
            eprintln!(
                "ok: {} K8ssandraCluster{}, {objects} objects for {} context{}",
                o.inputs.clusters.len(),
                if o.inputs.clusters.len() == 1 {
                    ""
                } else {
                    "s"
                },
                o.rendered.len(),
                if o.rendered.len() == 1 { "" } else { "s" }
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

fn render(args: &RenderArgs) -> ExitCode {
    // --stdout writes no tree: only the empty-render guard applies. --check compares with the
    // tree: a render that would empty it is reported like a write would be (it is drift too).
    let guards = Guards {
        location: !args.stdout,
        empty: true,
    };
    // One context to stdout renders only the clusters with something in it.
    let scope = args.context.as_deref().filter(|_| args.stdout);
    let pass = match (args.stdout, args.check) {
        (true, _) => None,
        (false, true) => Some(Pass::Check),
        (false, false) => Some(Pass::Write),
    };
    let printer = Printer::new(args.common.format);
    let (outcome, out) = match load(
        &args.common,
        &printer,
        args.output.as_ref(),
        scope,
        guards,
        pass,
    ) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let outcome = exit_without_freeing(outcome);
    let out = match out {
        Out::Stdout(texts) => {
            return stream_context(&outcome, texts, args.context.as_deref().unwrap_or_default());
        }
        Out::Disk(d) => d,
        // Only without a sound output directory, which `load` refuses.
        Out::Count(_) => return ExitCode::from(FAILURE),
    };
    let contexts: Vec<String> = outcome.rendered.keys().cloned().collect();
    let dir = &outcome.output_dir;
    if args.check {
        let drift = match out.finish_check() {
            Ok(d) => d,
            Err(problems) => return refuse(&printer, &problems),
        };
        if drift.is_empty() {
            eprintln!("ok: {} is up to date", dir.display());
            return ExitCode::SUCCESS;
        }
        print!("{}", unified_diff(&drift));
        for d in &drift {
            if let Drift::Problem(message) = d {
                eprintln!("error: {message}");
            }
        }
        eprintln!(
            "error: {} is out of date ({} file{} differ); run `k8ssandra-gitops render` and commit the result",
            dir.display(),
            drift.len(),
            if drift.len() == 1 { "" } else { "s" }
        );
        return ExitCode::from(FAILURE);
    }
    match out.finish_write() {
        Ok(report) => {
            eprintln!(
                "rendered {} into {}: {} written, {} pruned, {} unchanged",
                contexts.join(", "),
                dir.display(),
                report.written.len(),
                report.pruned.len(),
                report.unchanged
            );
            ExitCode::SUCCESS
        }
        Err(WriteError::Refused(problems)) => refuse(&printer, &problems),
        Err(e) => {
            eprintln!("error: {e}; the output directory is unchanged");
            ExitCode::from(FAILURE)
        }
    }
}

/// Wraps a large value that lives until the command returns so that it is never dropped: the
/// process exits right after, and the system takes the memory back at once, where freeing
/// every object, string and map of a large repository one by one took a sixth of a `validate`
/// (issue #13). Only for values whose drop does nothing but free memory (no file descriptors,
/// no buffered output), and only in this front end: the library still frees everything.
fn exit_without_freeing<T>(value: T) -> std::mem::ManuallyDrop<T> {
    std::mem::ManuallyDrop::new(value)
}

/// Writes one context as a YAML stream (its files sorted by output path); an empty stream is
/// an error, never a success.
fn stream_context(outcome: &Outcome, mut files: Vec<(String, String)>, context: &str) -> ExitCode {
    // Stable: the order of objects of one path (an error, refused before) does not matter.
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text = String::with_capacity(files.iter().map(|(_, t)| t.len() + 4).sum());
    for (_, t) in &files {
        text.push_str("---\n");
        text.push_str(t);
    }
    let _ = exit_without_freeing(files);
    let text = exit_without_freeing(text);
    if text.is_empty() {
        let hint = did_you_mean(context, outcome.rendered.keys().map(String::as_str));
        let known: Vec<&str> = outcome.rendered.keys().map(String::as_str).collect();
        eprintln!(
            "error: context {context:?} has no objects to render (contexts with objects: {}){}; refusing to print an empty stream",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            },
            hint.map(|h| format!(" ({h})")).unwrap_or_default()
        );
        return ExitCode::from(FAILURE);
    }
    if !print_stdout(&text) {
        return ExitCode::from(FAILURE);
    }
    ExitCode::SUCCESS
}

/// `argocd generate`: the sidecar's generate command (cwd = the Application's source path).
fn argocd_generate() -> ExitCode {
    let context = match crate::argocd::context_from_env(|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(FAILURE);
        }
    };
    // The Application may point at any directory: render the whole repository, from its root,
    // so that messages name repository-relative paths.
    if let Err(e) = enter_render_root() {
        eprintln!("error: {e}");
        return ExitCode::from(FAILURE);
    }
    let common = CommonArgs {
        repo: PathBuf::from("."),
        verbose: false,
        allow_empty: false,
        format: Some(DiagFormat::Short),
    };
    let guards = Guards {
        location: false,
        empty: true,
    };
    match load(
        &common,
        &Printer::short(),
        None,
        Some(&context),
        guards,
        None,
    ) {
        Ok((outcome, Out::Stdout(files))) => {
            stream_context(&exit_without_freeing(outcome), files, &context)
        }
        Ok(_) => ExitCode::from(FAILURE),
        Err(code) => code,
    }
}

/// Why `argocd generate` cannot find where to render from.
#[derive(Debug, thiserror::Error)]
enum RootError {
    #[error("cannot read the working directory: {0}")]
    Cwd(std::io::Error),
    #[error(transparent)]
    Plugin(#[from] crate::argocd::Error),
    #[error("cannot enter the repository root {}: {source}", root.display())]
    Enter {
        root: PathBuf,
        source: std::io::Error,
    },
}

/// Changes into the directory `argocd generate` renders from (see
/// [`crate::argocd::render_root`]).
fn enter_render_root() -> Result<(), RootError> {
    let cwd = std::env::current_dir().map_err(RootError::Cwd)?;
    let source_path = std::env::var(crate::argocd::ENV_SOURCE_PATH).ok();
    let root = crate::argocd::repo_root(&cwd, source_path.as_deref())?;
    let root = crate::argocd::render_root(&cwd, &root);
    std::env::set_current_dir(&root).map_err(|source| RootError::Enter { root, source })
}

/// Renders one side of `plan`; problems are printed with the revision they belong to.
fn render_side(repo: &Path, rev: &str, format: Option<DiagFormat>) -> Result<Outcome, ExitCode> {
    let outcome = if rev == "worktree" {
        render_repo(repo, None).map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(FAILURE)
        })?
    } else {
        #[cfg(feature = "git")]
        {
            let discovered = crate::revision::read_revision(repo, rev).map_err(|e| {
                eprintln!("error: {e}");
                ExitCode::from(FAILURE)
            })?;
            crate::render_discovered(repo, discovered, None)
        }
        #[cfg(not(feature = "git"))]
        {
            eprintln!(
                "error: reading revision {rev:?} needs Git support, which this k8ssandra-gitops was built without (rebuild with `--features git`)"
            );
            return Err(ExitCode::from(USAGE));
        }
    };
    if outcome.has_errors() {
        let mut printer = Printer::new(format);
        // A revision's files are not the ones on disk: no excerpts from them.
        printer.excerpts = rev == "worktree";
        if printer.format != Format::Json {
            eprintln!("error: the repository is invalid at {rev}:");
        }
        printer.diagnostics(&outcome.diagnostics);
        return Err(ExitCode::from(FAILURE));
    }
    Ok(outcome)
}

fn plan(args: &PlanArgs) -> ExitCode {
    let from = match render_side(&args.repo, &args.from, args.format) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let to = match render_side(&args.repo, &args.to, args.format) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let plan = crate::plan_diff::plan(&from.rendered, &to.rendered);
    let text = match args.output {
        PlanFormat::Text => plan.to_text(&args.from, &args.to),
        PlanFormat::Json => {
            let v = serde_json::json!({
                "from": args.from,
                "to": args.to,
                "contexts": plan.contexts,
                "risks": plan.risks,
            });
            format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
        }
    };
    if !print_stdout(&text) {
        return ExitCode::from(FAILURE);
    }
    if !plan.risks.is_empty() && !args.allow_risky {
        eprintln!(
            "error: {} risky change{} (see above); review them, then rerun with --allow-risky to accept",
            plan.risks.len(),
            if plan.risks.len() == 1 { "" } else { "s" }
        );
        return ExitCode::from(RISKY);
    }
    ExitCode::SUCCESS
}

/// Writes `text` to stdout; false when that fails (a closed pipe, a full disk).
fn print_stdout(text: &str) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_ok()
}

#[cfg(feature = "reporter")]
fn reporter(args: &ReporterArgs) -> ExitCode {
    let settings = crate::reporter::run::Settings {
        namespace: args.namespace.clone(),
        control_plane_context: args.control_plane_context.clone(),
        interval: std::time::Duration::from_secs(args.interval.max(1)),
        listen: (!args.once).then(|| args.listen.clone()),
        once: args.once,
        seed_sync: args.seed_sync,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::from(FAILURE);
        }
    };
    crate::reporter::logging::init();
    match runtime.block_on(crate::reporter::run::run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(FAILURE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn excerpts_are_read_from_regular_files_only_never_through_a_symlink_or_a_fifo() {
        let dir =
            std::env::temp_dir().join(format!("k8ssandra-gitops-excerpt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.yaml"), "a: 1\n").unwrap();
        std::os::unix::fs::symlink(dir.join("a.yaml"), dir.join("link.yaml")).unwrap();
        let fifo = std::process::Command::new("mkfifo")
            .arg(dir.join("fifo.yaml"))
            .status()
            .unwrap();
        assert!(fifo.success());
        assert_eq!(read_source(&dir.join("a.yaml")).as_deref(), Some("a: 1\n"));
        assert_eq!(read_source(&dir.join("link.yaml")), None);
        // Opening a FIFO for reading would wait for a writer; it is refused at once.
        assert_eq!(read_source(&dir.join("fifo.yaml")), None);
        assert_eq!(read_source(&dir.join("missing.yaml")), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
