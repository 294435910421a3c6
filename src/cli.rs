//! Command line: parse arguments, call the library, print, pick the exit code.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::diagnostic::{self, Code, Diagnostic, Format, did_you_mean};
use crate::guard::Problem;
use crate::output::{Drift, WriteError, unified_diff};
use crate::render::Manifest;
use crate::source::display_path;
use crate::{Outcome, RenderOptions, Rendered, Sink};

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

/// Files as `(output path, text)`.
type PathTexts = Vec<(std::sync::Arc<str>, String)>;

/// One context's files as text, to print once everything rendered.
#[derive(Default)]
struct Texts(PathTexts);

impl Sink for Texts {
    fn objects(&mut self, objects: Vec<(std::sync::Arc<str>, Manifest)>) {
        self.0
            .extend(objects.into_iter().map(|(p, m)| (p, m.into_text())));
    }

    /// Every object is printed.
    fn wants_text(&self) -> bool {
        true
    }
}

/// Reads and checks the repository (nothing rendered yet); only `context`'s clusters will be
/// rendered when given.
fn start<'a>(
    common: &CommonArgs,
    output: Option<&'a PathBuf>,
    context: Option<&'a str>,
) -> Result<Rendered<'a>, ExitCode> {
    let options = RenderOptions {
        output_override: output.map(PathBuf::as_path),
        context,
        allow_empty: common.allow_empty,
    };
    crate::render(&common.repo, options).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(FAILURE)
    })
}

/// Prints every problem of `outcome` (and with `--verbose` what was not read); `Err` when
/// anything is an error.
fn report(common: &CommonArgs, printer: &Printer, outcome: &Outcome) -> Result<(), ExitCode> {
    printer.diagnostics(&outcome.diagnostics);
    printer.problems(&outcome.problems);
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
        + outcome.problems.len();
    if n > 0 {
        drop(err);
        printer.summary(n);
        return Err(ExitCode::from(FAILURE));
    }
    Ok(())
}

/// Renders one context as text (`render --context X --stdout`, `argocd generate`).
fn context_texts(
    common: &CommonArgs,
    printer: &Printer,
    context: &str,
) -> Result<(Outcome, PathTexts), ExitCode> {
    let mut texts = Texts::default();
    let outcome = start(common, None, Some(context))?.stream(&mut texts);
    report(common, printer, &outcome)?;
    Ok((outcome, texts.0))
}

/// Prints problems found after rendering (output paths, the output directory) and fails.
fn refuse(printer: &Printer, problems: &[Diagnostic]) -> ExitCode {
    printer.diagnostics(problems);
    printer.summary(problems.len());
    ExitCode::from(FAILURE)
}

fn validate(args: &CommonArgs) -> ExitCode {
    let printer = Printer::new(args.format);
    let finished = match start(args, None, None) {
        Ok(rendered) => rendered.validate(),
        Err(code) => return code,
    };
    if let Err(code) = report(args, &printer, &finished.outcome) {
        return code;
    }
    let o = exit_without_freeing(finished.outcome);
    // What render would refuse is known now: output paths too long for the file system,
    // symlinks or hand-written files where it writes.
    let refused = finished.result.unwrap_or_default();
    if !refused.is_empty() {
        return refuse(&printer, &refused);
    }
    let objects: usize = finished.objects.values().sum();
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

fn render(args: &RenderArgs) -> ExitCode {
    let printer = Printer::new(args.common.format);
    if args.stdout {
        // One context to stdout renders only the clusters with something in it.
        let context = args.context.as_deref().unwrap_or_default();
        return match context_texts(&args.common, &printer, context) {
            Ok((outcome, texts)) => stream_context(&exit_without_freeing(outcome), texts, context),
            Err(code) => code,
        };
    }
    let rendered = match start(&args.common, args.output.as_ref(), None) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if args.check {
        // A render that would empty the tree is reported like a write would be (drift too).
        let finished = rendered.check();
        if let Err(code) = report(&args.common, &printer, &finished.outcome) {
            return code;
        }
        let outcome = exit_without_freeing(finished.outcome);
        let dir = &outcome.output_dir;
        let drift = match finished.result {
            Some(Ok(d)) => d,
            Some(Err(problems)) => return refuse(&printer, &problems),
            None => return ExitCode::from(FAILURE),
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
    let finished = rendered.write();
    if let Err(code) = report(&args.common, &printer, &finished.outcome) {
        return code;
    }
    let outcome = exit_without_freeing(finished.outcome);
    let contexts: Vec<String> = outcome.rendered.keys().cloned().collect();
    let dir = &outcome.output_dir;
    match finished.result {
        Some(Ok(report)) => {
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
        Some(Err(WriteError::Refused(problems))) => refuse(&printer, &problems),
        Some(Err(e)) => {
            eprintln!("error: {e}; the output directory is unchanged");
            ExitCode::from(FAILURE)
        }
        None => ExitCode::from(FAILURE),
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
fn stream_context(outcome: &Outcome, mut files: PathTexts, context: &str) -> ExitCode {
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
    match context_texts(&common, &Printer::short(), &context) {
        Ok((outcome, files)) => stream_context(&exit_without_freeing(outcome), files, &context),
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
        crate::render(repo, RenderOptions::default())
            .map_err(|e| {
                eprintln!("error: {e}");
                ExitCode::from(FAILURE)
            })?
            .contexts()
    } else {
        #[cfg(feature = "git")]
        {
            let discovered = crate::revision::read_revision(repo, rev).map_err(|e| {
                eprintln!("error: {e}");
                ExitCode::from(FAILURE)
            })?;
            crate::prepare_discovered(repo, discovered, RenderOptions::default()).contexts()
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
