//! The line between input and output, and the checks that keep a render from doing damage.
//!
//! - [`apply_boundary`]: what is never read as input — a directory holding the
//!   `.k8ssandra-gitops-owned` record (skipped by the walk itself), the default `rendered/`, the
//!   `-o` target and RenderConfig `spec.outputDir` — decided in this one place, for the working
//!   tree and for Git revisions alike, with or without `-o`.
//! - `output_location_problems`: where the output may go. Every path component from the
//!   repository down to the output directory is checked without following symlinks.
//! - [`empty_render_problems`] and [`vanished_contexts`]: a render that finds no
//!   K8ssandraCluster, or that would remove every object of a context, is refused unless
//!   `--allow-empty` says it is meant.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic};
use crate::load::is_input;
use crate::output::OWNED_RECORD;
use crate::source::{Discovered, Skipped, SourceFile};
use crate::yaml::{self, Node, Seg};
use crate::{DEFAULT_OUTPUT_DIR, Outcome, OutputSource, ReadReport};

/// A problem found by `output_location_problems`: located in the RenderConfig that chose the
/// output directory, or about `-o` or the default directory (an `error: ...` line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// At RenderConfig `spec.outputDir`.
    Located(Diagnostic),
    /// Not in any file.
    Plain(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Located(d) => d.fmt(f),
            Self::Plain(s) => f.write_str(s),
        }
    }
}

/// Where the output goes, and what was taken out of the input because of it.
#[derive(Debug, Clone)]
pub struct Boundary {
    /// The output directory.
    pub output_dir: PathBuf,
    /// What chose it.
    pub source: OutputSource,
    /// Output directories that held files, which were dropped from the input.
    pub excluded: Vec<Skipped>,
    /// Files of the chosen output directory that hold input documents: `(path, kind)`.
    pub inputs_in_output: Vec<(String, String)>,
}

/// RenderConfig `spec.outputDir` must name a directory inside the repository: checked before
/// anything else looks at the output side.
#[must_use]
pub fn output_dir_setting_problem(inputs: &crate::load::Inputs) -> Option<Diagnostic> {
    let rc = inputs.render_config.as_ref()?;
    let dir = rc.value.output_dir.as_ref()?;
    if relative_inside(dir).is_some() {
        return None;
    }
    Some(rc.error(
        Code::OutputLocation,
        vec![Seg::Key("spec".into()), Seg::Key("outputDir".into())],
        format!("outputDir {dir:?} must be a relative path inside the repository (no '..')"),
    ))
}

/// A RenderConfig `outputDir` as a normalized repository-relative path (`""` for `.`), or
/// `None` when it is empty, absolute or climbs with `..`.
#[must_use]
pub fn relative_inside(dir: &str) -> Option<String> {
    if dir.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    for c in Path::new(dir).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// `path` made absolute (against the working directory) and normalized without touching the
/// file system: `.` dropped, `..` removes the previous component.
#[must_use]
pub fn lexical_absolute(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |c| c.join(path))
    };
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path` relative to `repo` (`/`-separated, `""` for the repository itself) when it lies inside
/// it as written; `None` otherwise.
#[must_use]
pub fn rel_inside(repo: &Path, path: &Path) -> Option<String> {
    let rel = lexical_absolute(path)
        .strip_prefix(lexical_absolute(repo))
        .ok()?
        .to_path_buf();
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

fn under(rel_file: &str, dir: &str) -> bool {
    !dir.is_empty()
        && rel_file.len() > dir.len()
        && rel_file.starts_with(dir)
        && rel_file.as_bytes()[dir.len()] == b'/'
}

/// RenderConfig `spec.outputDir`, read from the first RenderConfig among `files` without
/// loading the others (only files that mention the kind are parsed).
fn prescan_output_dir(files: &[SourceFile]) -> Option<String> {
    for f in files.iter().filter(|f| f.text.contains("RenderConfig")) {
        let Ok(docs) = yaml::parse_stream(&f.text) else {
            continue;
        };
        for d in docs {
            let text = |k: &str| {
                d.get(k)
                    .and_then(Node::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            if text("kind") == "RenderConfig"
                && text("apiVersion").split('/').next() == Some("gitops.k8ssandra.io")
            {
                return d
                    .get("spec")
                    .and_then(|s| s.get("outputDir"))
                    .and_then(Node::as_str)
                    .map(str::to_string);
            }
        }
    }
    None
}

/// Removes every file on the output side from `d.files` and decides the output directory.
///
/// Never read as input, with or without `-o`: directories holding `.k8ssandra-gitops-owned`
/// (the walk does not enter them), `rendered/`, the `-o` target when it lies inside the
/// repository, and RenderConfig `spec.outputDir` (found before anything else is loaded).
#[must_use]
pub fn apply_boundary(repo: &Path, d: &mut Discovered, output_override: Option<&Path>) -> Boundary {
    let mut dirs: Vec<(String, &'static str)> = vec![(
        DEFAULT_OUTPUT_DIR.to_string(),
        "the default output directory",
    )];
    if let Some(o) = output_override
        && let Some(rel) = rel_inside(repo, o)
        && !rel.is_empty()
    {
        dirs.push((rel, "the -o output directory"));
    }
    let mut held: Vec<(SourceFile, usize)> = Vec::new();
    let take = |files: &mut Vec<SourceFile>,
                held: &mut Vec<(SourceFile, usize)>,
                dirs: &[(String, &str)],
                from: usize| {
        let mut kept = Vec::with_capacity(files.len());
        for f in files.drain(..) {
            match dirs[from..]
                .iter()
                .position(|(dir, _)| under(&f.rel_path, dir))
            {
                Some(i) => held.push((f, from + i)),
                None => kept.push(f),
            }
        }
        *files = kept;
    };
    take(&mut d.files, &mut held, &dirs, 0);
    // A problem with an entry on the output side (or on the way to it) is the output side's:
    // the location checks report it.
    let output_side = |rel: &str, dir: &str| rel == dir || under(rel, dir) || under(dir, rel);
    d.diags
        .retain(|(rel, _)| !dirs.iter().any(|(dir, _)| output_side(rel, dir)));
    let rc_rel = prescan_output_dir(&d.files).and_then(|dir| relative_inside(&dir));
    if let Some(rel) = rc_rel.as_ref().filter(|r| !r.is_empty()) {
        dirs.push((rel.clone(), "RenderConfig spec.outputDir"));
        take(&mut d.files, &mut held, &dirs, dirs.len() - 1);
        d.diags.retain(|(f, _)| !output_side(f, rel));
    }
    // A link into an output directory (or a former output tree) reads output: drop it.
    let links = std::mem::take(&mut d.links);
    let owned: Vec<&str> = d
        .excluded
        .iter()
        .map(|s| s.rel_path.trim_end_matches('/'))
        .collect();
    d.files.retain(|f| {
        links.get(&f.rel_path).is_none_or(|t| {
            !dirs.iter().any(|(dir, _)| under(t, dir)) && !owned.iter().any(|dir| under(t, dir))
        })
    });
    let (output_dir, source, chosen) = match (output_override, &rc_rel) {
        (Some(o), _) => (o.to_path_buf(), OutputSource::Override, rel_inside(repo, o)),
        (None, Some(rel)) => (
            repo.join(rel),
            OutputSource::RenderConfig,
            Some(rel.clone()),
        ),
        (None, None) => (
            repo.join(DEFAULT_OUTPUT_DIR),
            OutputSource::Default,
            Some(DEFAULT_OUTPUT_DIR.to_string()),
        ),
    };
    let mut excluded = Vec::new();
    for (i, (dir, why)) in dirs.iter().enumerate() {
        if held.iter().any(|(_, j)| *j == i) {
            excluded.push(Skipped {
                rel_path: format!("{dir}/"),
                reason: format!("output directory ({why})"),
            });
        }
    }
    let mut inputs_in_output = Vec::new();
    if let Some(chosen) = chosen.filter(|c| !c.is_empty()) {
        for (f, _) in held.iter().filter(|(f, _)| under(&f.rel_path, &chosen)) {
            if !f.text.contains("kind") {
                continue;
            }
            for doc in yaml::parse_stream(&f.text).unwrap_or_default() {
                let text = |k: &str| {
                    doc.get(k)
                        .and_then(Node::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                if is_input(&text("apiVersion"), &text("kind")) {
                    inputs_in_output.push((f.rel_path.clone(), text("kind")));
                    break;
                }
            }
        }
    }
    Boundary {
        output_dir,
        source,
        excluded,
        inputs_in_output,
    }
}

/// Problems with where the output would go, as printable lines (a RenderConfig source is
/// pointed at by `file:line:col: error[E0603]: spec.outputDir: ...`).
///
/// Checked without following any symlink:
/// - inside the repository (the default, RenderConfig `outputDir`, or `-o` inside it): every
///   existing component from the repository down to the output directory must be a real
///   directory; the output directory must not be the repository root;
/// - `-o` outside the repository: the directory itself must not be a symlink, and with a
///   relative `-o` neither may any existing component below the working directory; it must not
///   be the repository or one of its ancestors, nor reach into the repository through a symlink;
/// - anywhere: the output directory must not hold `.git`, nor (inside the repository, without
///   an ownership record) files with K8ssandraCluster, ClientConfig or RenderConfig documents.
#[must_use]
pub fn output_location_problems(repo: &Path, outcome: &Outcome) -> Vec<Problem> {
    let out = &outcome.output_dir;
    let rc = outcome.inputs.render_config.as_ref();
    let seg = vec![Seg::Key("spec".into()), Seg::Key("outputDir".into())];
    let say = |msg: String| -> Problem {
        match (outcome.output_source, rc) {
            (OutputSource::RenderConfig, Some(doc)) => {
                Problem::Located(doc.error(Code::OutputLocation, seg.clone(), msg))
            }
            (OutputSource::Override, _) => {
                Problem::Plain(format!("error: -o {}: {msg}", out.display()))
            }
            _ => Problem::Plain(format!("error: output directory {}: {msg}", out.display())),
        }
    };
    let mut problems = Vec::new();
    let Ok(root) = fs::canonicalize(repo) else {
        return problems;
    };
    match rel_inside(repo, out) {
        Some(rel) if rel.is_empty() => problems.push(say(
            "the output directory is the repository root; rendered files would mix with the inputs (choose a subdirectory such as `rendered`)".into(),
        )),
        Some(rel) => {
            if let Some(p) = symlink_on_the_way(repo, &rel) {
                problems.push(say(p));
            }
        }
        None => {
            let abs = lexical_absolute(out);
            if lexical_absolute(repo).starts_with(&abs) {
                problems.push(say(
                    "the output directory is an ancestor of the repository; rendering there would mix output with the inputs".into(),
                ));
            } else if let Ok(real) = fs::canonicalize(out)
                && root.starts_with(&real)
            {
                problems.push(say(format!(
                    "the output directory is (through a symlink) {}, an ancestor of the repository",
                    real.display()
                )));
            } else {
                let from_cwd = (!out.is_absolute()).then(|| out.to_path_buf());
                if let Some(p) = from_cwd
                    .and_then(|rel| symlink_on_the_way(Path::new("."), &rel.to_string_lossy()))
                {
                    problems.push(say(p));
                } else if fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink()) {
                    problems.push(say(
                        "the output directory is a symlink; give the real directory (symlinks are never followed on the output side)".into(),
                    ));
                } else if let Some(real) = deepest_existing(out)
                    && real.starts_with(&root)
                {
                    problems.push(say(format!(
                        "the output directory reaches into the repository ({}) through a symlink",
                        real.display()
                    )));
                }
            }
        }
    }
    if fs::symlink_metadata(out.join(".git")).is_ok() {
        problems.push(say(
            "the output directory holds .git: it is a Git work tree, not an output directory"
                .into(),
        ));
    }
    if let Some((file, kind)) = outcome.read.inputs_in_output.first() {
        problems.push(say(format!(
            "the output directory holds input files ({file} has a {kind}) and no {OWNED_RECORD} record; it is never read as input, so those files would be ignored (choose another directory)",
        )));
    }
    problems
}

/// The first component of `rel` below `base` that is a symlink or not a directory, as a
/// message; components that do not exist yet end the check (the writer creates them).
fn symlink_on_the_way(base: &Path, rel: &str) -> Option<String> {
    let mut cur = base.to_path_buf();
    for part in rel.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            cur.push(part);
            continue;
        }
        cur.push(part);
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&cur)
                    .map(|t| format!(" -> {}", t.display()))
                    .unwrap_or_default();
                return Some(format!(
                    "{}{target} is a symlink; the output directory and every directory on the way to it must be real directories (symlinks are never followed on the output side)",
                    cur.display()
                ));
            }
            Ok(m) if !m.is_dir() => {
                return Some(format!("{} exists and is not a directory", cur.display()));
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    None
}

/// The canonical form of the deepest existing ancestor of `path` (itself included).
fn deepest_existing(path: &Path) -> Option<PathBuf> {
    let abs = lexical_absolute(path);
    abs.ancestors().find_map(|a| fs::canonicalize(a).ok())
}

/// The "no K8ssandraCluster" guard: rendering nothing would prune everything.
#[must_use]
pub fn empty_render_problems(repo: &Path, outcome: &Outcome) -> Vec<String> {
    if !outcome.inputs.clusters.is_empty() {
        return Vec::new();
    }
    let r = &outcome.read;
    vec![format!(
        "error: no K8ssandraCluster found in {}: {} YAML file{} seen, {} read, {}{}; refusing to render an empty result, which would prune every object (pass --allow-empty if this is intended)",
        repo.display(),
        r.yaml_seen,
        plural(r.yaml_seen),
        r.files_read,
        describe_ignored(r),
        likely_reason(r)
            .map(|s| format!("; {s}"))
            .unwrap_or_default(),
    )]
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn describe_ignored(r: &ReadReport) -> String {
    let files = r
        .ignored
        .iter()
        .filter(|s| !s.rel_path.ends_with('/'))
        .count();
    let dirs = r.ignored.len() - files;
    let mut s = format!("{files} ignored by .gitignore");
    if dirs > 0 {
        s.push_str(&format!(
            " (and {dirs} ignored director{})",
            if dirs == 1 { "y" } else { "ies" }
        ));
    }
    if !r.excluded.is_empty() {
        s.push_str(&format!(
            ", {} output director{} not read",
            r.excluded.len(),
            if r.excluded.len() == 1 { "y" } else { "ies" }
        ));
    }
    s
}

/// The ignored entries, named, as the likely reason something disappeared.
fn likely_reason(r: &ReadReport) -> Option<String> {
    if r.ignored.is_empty() {
        return None;
    }
    let named: Vec<String> = r
        .ignored
        .iter()
        .take(3)
        .map(|s| format!("{} is {}", s.rel_path, s.reason))
        .collect();
    let more = r.ignored.len().saturating_sub(3);
    Some(format!(
        "{}{}",
        named.join(", "),
        if more > 0 {
            format!(" and {more} more (--verbose lists them)")
        } else {
            String::new()
        }
    ))
}

/// Contexts that the existing output tree (its record) has objects for and the new render has
/// none for: each is a problem line naming the context, what would disappear and the likely
/// reason. `objects` counts the new render's objects per context.
#[must_use]
pub fn vanished_contexts(
    output_dir: &Path,
    objects: &BTreeMap<String, usize>,
    read: &ReadReport,
) -> Vec<String> {
    let record = match crate::output::read_record(output_dir) {
        Ok(Some(text)) => text,
        Ok(None) => return Vec::new(),
        Err(e) => return vec![format!("error: {e}")],
    };
    let mut old: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    // The entries the writer itself would act on (one rule for both).
    let entries = crate::output::record_entries(&record);
    for line in entries.keys() {
        if let Some((context, rest)) = line.split_once('/')
            && rest != "kustomization.yaml"
        {
            old.entry(context).or_default().push(rest);
        }
    }
    let mut problems = Vec::new();
    for (context, files) in old {
        if objects.get(context).copied().unwrap_or(0) > 0 {
            continue;
        }
        let shown: Vec<&str> = files.iter().take(3).copied().collect();
        let reason = likely_reason(read).unwrap_or_else(|| {
            format!("no datacenter or other object targets context {context:?} any more")
        });
        problems.push(format!(
            "error: context {context:?} would lose all {} of its objects in {} ({}{}); likely reason: {reason}; refusing to prune a whole context (pass --allow-empty if this is intended)",
            files.len(),
            output_dir.display(),
            shown.join(", "),
            if files.len() > 3 { ", ..." } else { "" },
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_dirs_normalize_and_refuse_escapes() {
        assert_eq!(relative_inside("rendered").as_deref(), Some("rendered"));
        assert_eq!(relative_inside("./a/./b").as_deref(), Some("a/b"));
        assert_eq!(relative_inside(".").as_deref(), Some(""));
        assert_eq!(relative_inside("../x"), None);
        assert_eq!(relative_inside("/abs"), None);
        assert_eq!(relative_inside(""), None);
    }

    #[test]
    fn paths_inside_the_repository_are_found_lexically() {
        assert_eq!(
            rel_inside(Path::new("/r/repo"), Path::new("/r/repo/out/x")).as_deref(),
            Some("out/x")
        );
        assert_eq!(
            rel_inside(Path::new("/r/repo"), Path::new("/r/repo/a/../b")).as_deref(),
            Some("b")
        );
        assert_eq!(
            rel_inside(Path::new("/r/repo"), Path::new("/r/repo")).as_deref(),
            Some("")
        );
        assert_eq!(
            rel_inside(Path::new("/r/repo"), Path::new("/r/repo2")),
            None
        );
        assert_eq!(
            rel_inside(Path::new("/r/repo"), Path::new("/tmp/out")),
            None
        );
        assert!(under("rendered/a.yaml", "rendered"));
        assert!(!under("rendered2/a.yaml", "rendered"));
        assert!(!under("rendered", "rendered"));
    }
}
