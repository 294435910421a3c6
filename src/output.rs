//! Output stage: the rendered tree as bytes, compared with and written to disk safely.
//!
//! The tree is streamed ([`Streaming`]): each object's file is compared with the output
//! directory as it comes, and in a write pass the changed ones go into a hidden staging
//! directory beside it; only at the end, when everything rendered without an error, is the
//! staging directory swapped in, all or nothing (see [`Streaming::finish_write`]). An unchanged
//! repository writes nothing. A record of the files we own drives pruning; files we did not
//! create are never overwritten or removed. Reading the output directory never follows a
//! symlink and never opens anything but a regular file.

mod disk;
mod sys;

pub(crate) use disk::OldTree;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic};
use crate::load::Inputs;
use crate::render::{ByContext, Manifest};
use crate::yaml::{Node, Pos, Seg};

pub use crate::source::OWNED_RECORD;

/// The ownership record of an output directory, read exactly as the writer reads it, for the
/// guards that compare it with a new render. `None` when there is no directory or no record.
///
/// # Errors
/// The record cannot be read, is not a regular file, or is too large.
pub fn read_record(dir: &Path) -> Result<Option<String>, disk::RecordError> {
    disk::read_record_at(dir)
}

/// The KSOPS generator of a context whose SOPS Secrets Argo CD delivers (see
/// [`crate::render::Manifest::ksops`]), next to its `kustomization.yaml`.
pub const KSOPS_GENERATOR: &str = "ksops-generator.yaml";

/// Output path (relative, `/`-separated) → file bytes, sorted.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// Builds the whole output tree: one file per object, a kustomization per context, the record.
#[must_use]
pub fn build_tree(rendered: &ByContext) -> Tree {
    tree_from(rendered.iter().map(|(context, manifests)| {
        (
            context.clone(),
            manifests
                .iter()
                .map(|m| (m.rel_path(), m.text(), m.ksops))
                .collect(),
        )
    }))
}

/// Like [`build_tree`], consuming the objects: each is freed once serialized, which keeps the
/// peak memory of large repositories near the size of the output.
#[must_use]
pub fn into_tree(rendered: ByContext) -> Tree {
    tree_from(rendered.into_iter().map(|(context, manifests)| {
        (
            context,
            manifests
                .into_iter()
                .map(|m| (m.rel_path(), m.text(), m.ksops))
                .collect(),
        )
    }))
}

/// Appends `- <prefix><item>` lines (a YAML list of plain path scalars).
fn push_items(out: &mut String, prefix: &str, items: &[String]) {
    for item in items {
        out.push_str("- ");
        out.push_str(prefix);
        out.push_str(item);
        out.push('\n');
    }
}

/// Context → `(output path, file text, decrypted by KSOPS)` of its objects → the tree.
fn tree_from(contexts: impl Iterator<Item = (String, Vec<(String, String, bool)>)>) -> Tree {
    let mut tree = Tree::new();
    for (context, files) in contexts {
        let mut resources = Vec::new();
        let mut encrypted = Vec::new();
        for (rel, text, ksops) in files {
            let inside = rel[context.len() + 1..].to_string();
            tree.insert(rel, text.into_bytes());
            if ksops {
                encrypted.push(inside);
            } else {
                resources.push(inside);
            }
        }
        resources.sort();
        encrypted.sort();
        for (path, text) in kustomization_files(&context, &resources, &encrypted) {
            tree.insert(path, text.into_bytes());
        }
    }
    let mut record = String::from(RECORD_HEADER);
    for path in tree.keys() {
        record.push_str(path);
        record.push('\n');
    }
    tree.insert(OWNED_RECORD.to_string(), record.into_bytes());
    tree
}

/// The first line of the ownership record.
const RECORD_HEADER: &str = "# Files written by k8ssandra-gitops render; it prunes these when they are no longer produced.\n";

/// A context's `kustomization.yaml` (and its KSOPS generator when some objects are
/// encrypted), given the paths inside the context of its objects, each list sorted.
fn kustomization_files(
    context: &str,
    resources: &[String],
    encrypted: &[String],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut k = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    push_items(&mut k, "", resources);
    if !encrypted.is_empty() {
        // The SOPS Secrets are not resources (kustomize would apply them encrypted): KSOPS,
        // an exec KRM function, reads and decrypts them (kustomize build
        // --enable-alpha-plugins --enable-exec, ksops on PATH).
        k.push_str("generators:\n- ");
        k.push_str(KSOPS_GENERATOR);
        k.push('\n');
        let mut g = String::from(
            "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: k8ssandra-gitops-secrets\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ksops\nfiles:\n",
        );
        push_items(&mut g, "./", encrypted);
        out.push((format!("{context}/{KSOPS_GENERATOR}"), g));
    }
    out.push((format!("{context}/kustomization.yaml"), k));
    out
}

/// A failure to write the output. Nothing was changed: the output directory is as it was.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// An IO operation failed.
    #[error("failed to {action} {path}: {source}")]
    Io {
        /// What we tried to do.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Paths the renderer needs hold something it must not replace or write through (a
    /// symlink, a FIFO, a file it did not write); one diagnostic each.
    #[error("{} path{} in the output directory cannot be written", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    Refused(Vec<Diagnostic>),
}

fn io<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> WriteError + 'p {
    move |source| WriteError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Where each output path comes from (the object's source, for diagnostics).
#[derive(Debug, Default, Clone)]
pub struct Sources(BTreeMap<Arc<str>, Arc<(PathBuf, Pos)>>);

impl Sources {
    /// The source of `rel`, or of the first output path below it (a directory).
    fn of(&self, rel: &str) -> Option<&(PathBuf, Pos)> {
        self.0
            .get(rel)
            .or_else(|| self.0.get(format!("{rel}/kustomization.yaml").as_str()))
            .or_else(|| {
                let prefix = format!("{rel}/");
                self.0
                    .range::<str, _>((
                        std::ops::Bound::Included(prefix.as_str()),
                        std::ops::Bound::Unbounded,
                    ))
                    .next()
                    .filter(|(k, _)| k.starts_with(&prefix))
                    .map(|(_, v)| v)
            })
            .map(|v| &**v)
    }
}

fn conflict_diagnostics(
    dir: &Path,
    conflicts: Vec<disk::Conflict>,
    sources: &Sources,
) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = conflicts
        .into_iter()
        .map(|c| {
            let (file, pos) = match (sources.of(&c.rel), c.record_line) {
                (Some(loc), _) if !c.rel.is_empty() => loc.clone(),
                (_, Some(line)) => (dir.join(OWNED_RECORD), Pos { line, column: 1 }),
                _ => (dir.join(&c.rel), Pos::default()),
            };
            Diagnostic::error(Code::OutputConflict, file, pos, Vec::new(), c.message)
                .with_hint(Some(c.hint.to_string()))
        })
        .collect();
    crate::diagnostic::sort(&mut out);
    out
}

/// Longest file name most file systems take (`NAME_MAX`).
const NAME_MAX: usize = 255;
/// Longest path the system calls of Linux take, without the terminating NUL (`PATH_MAX - 1`).
const PATH_MAX: usize = 4095;

/// Whether `rel` cannot be written below a directory whose absolute path is `base_len` bytes
/// long: a file name longer than 255 bytes or a path longer than 4095.
fn too_long(base_len: usize, rel: &str) -> bool {
    rel.split('/').any(|c| c.len() > NAME_MAX) || base_len + 1 + rel.len() > PATH_MAX
}

/// The problem with a path found [`too_long`], at its object's source.
fn length_problem(dir: &Path, base_len: usize, rel: &str, sources: &Sources) -> Option<Diagnostic> {
    let (file, pos) = sources
        .of(rel)
        .cloned()
        .unwrap_or_else(|| (dir.join(rel), Pos::default()));
    let problem = |message: String, hint: &str| {
        Diagnostic::error(Code::OutputPathTooLong, file, pos, Vec::new(), message)
            .with_hint(Some(hint.to_string()))
    };
    if let Some(long) = rel.split('/').find(|c| c.len() > NAME_MAX) {
        return Some(problem(
            format!(
                "output file name {long:?} is {} bytes; file systems take at most {NAME_MAX}",
                long.len()
            ),
            "shorten the name",
        ));
    }
    let len = base_len + 1 + rel.len();
    (len > PATH_MAX).then(|| {
        problem(
            format!(
                "output path {} is {len} bytes; the system takes at most {PATH_MAX}",
                dir.join(rel).display()
            ),
            "shorten the names or the output directory",
        )
    })
}

/// The output directory cannot be used at all (for `validate`).
fn location_error(dir: &Path, e: &WriteError) -> Diagnostic {
    Diagnostic::error(
        Code::OutputLocation,
        dir.to_path_buf(),
        Pos::default(),
        Vec::new(),
        e.to_string(),
    )
}

/// One difference between the tree and the output directory, for `render --check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// A file whose bytes differ: on disk (`None`: absent) and rendered (`None`: to be pruned).
    Changed {
        /// Path inside the output directory.
        path: String,
        /// Bytes on disk.
        old: Option<Vec<u8>>,
        /// Rendered bytes.
        new: Option<Vec<u8>>,
    },
    /// Something `render` would refuse, or a difference not shown (never read): the message
    /// names the path, e.g. `rendered/east/x.yaml: is a symlink, expected a regular file`.
    Problem(String),
}

/// The differences a `render --check` pass found: what `render` would refuse, leftovers of an
/// interrupted run, then every changed or pruned file, sorted by path.
fn drift(dir: &Path, done: disk::Streamed) -> Vec<Drift> {
    let shown = |rel: &str| dir.join(rel).display().to_string();
    let parent = disk::Target::new(dir)
        .map(|t| t.parent_path)
        .unwrap_or_default();
    let mut out: Vec<Drift> = done
        .conflicts
        .into_iter()
        .map(|c| Drift::Problem(c.message))
        .collect();
    for name in done.leftovers {
        out.push(Drift::Problem(format!(
            "{}: left by an interrupted render (the next render removes it)",
            parent.join(name).display()
        )));
    }
    let mut changes = Vec::new();
    for (path, old, new) in done.changed {
        changes.push(match old {
            disk::Old::Absent => Drift::Changed {
                path,
                old: None,
                new: Some(new),
            },
            disk::Old::Bytes(b) => Drift::Changed {
                path,
                old: Some(b),
                new: Some(new),
            },
            disk::Old::TooLarge => Drift::Problem(format!(
                "{}: differs (over {} MiB, not shown)",
                shown(&path),
                disk::MAX_READ >> 20
            )),
        });
    }
    for (path, old) in done.pruned {
        changes.push(match old {
            disk::Old::Bytes(b) => Drift::Changed {
                path,
                old: Some(b),
                new: None,
            },
            _ => Drift::Problem(format!(
                "{}: no longer rendered (over {} MiB, not shown)",
                shown(&path),
                disk::MAX_READ >> 20
            )),
        });
    }
    changes.sort_by(|a, b| drift_key(a).cmp(drift_key(b)));
    out.extend(changes);
    out
}

fn drift_key(d: &Drift) -> &str {
    match d {
        Drift::Changed { path, .. } => path,
        Drift::Problem(m) => m,
    }
}

/// Summary of a write.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteReport {
    /// Files created or changed.
    pub written: Vec<String>,
    /// Owned files removed.
    pub pruned: Vec<String>,
    /// Files already up to date.
    pub unchanged: usize,
}

/// A unified diff of the changed files, for `render --check` ([`Drift::Problem`]s are not part
/// of it).
#[cfg(feature = "cli")]
#[must_use]
pub fn unified_diff(drift: &[Drift]) -> String {
    let mut out = String::new();
    for d in drift {
        let Drift::Changed {
            path: rel,
            old,
            new,
        } = d
        else {
            continue;
        };
        let old_text = old
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let new_text = new
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let a = if old.is_some() {
            format!("a/{rel}")
        } else {
            "/dev/null".to_string()
        };
        let b = if new.is_some() {
            format!("b/{rel}")
        } else {
            "/dev/null".to_string()
        };
        let diff = similar::TextDiff::from_lines(old_text.as_ref(), new_text.as_ref());
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&a, &b)
                .to_string(),
        );
    }
    out
}

/// The entries of an ownership record that the writer acts on (path → line), ignoring every
/// line it would refuse to touch (`..`, absolute paths, names starting with `.`).
#[must_use]
pub fn record_entries(text: &str) -> std::collections::BTreeMap<String, u32> {
    disk::parse_record(text)
}

/// What a [`Streaming`] pass does with the output directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// `validate`: find what writing would refuse (only files that exist are serialized).
    Validate,
    /// `render --check`: find every difference.
    Check,
    /// `render`: build the new tree beside the output directory and swap it in at the end.
    Write,
}

/// Where the objects of the output tree come from, for diagnostics: the input documents by
/// kind and name, the K8ssandraClusters by name, the ClientConfigs by context. Owned, so that
/// it can live beside the render that borrows the inputs.
#[derive(Debug, Default)]
pub struct SourceIndex {
    by_kind_name: HashMap<(String, String), Arc<(PathBuf, Pos)>>,
    by_context: HashMap<String, Arc<(PathBuf, Pos)>>,
}

impl SourceIndex {
    /// The index of `inputs`.
    #[must_use]
    pub fn new(inputs: &Inputs) -> Self {
        let name_path = [Seg::Key("metadata".into()), Seg::Key("name".into())];
        let docs = inputs
            .clusters
            .iter()
            .map(|d| (&d.node, &d.origin.file, d.locate(&name_path)))
            .chain(
                inputs
                    .client_configs
                    .iter()
                    .map(|d| (&d.node, &d.origin.file, d.locate(&name_path))),
            )
            .chain(
                inputs
                    .others
                    .iter()
                    .map(|d| (&d.node, &d.origin.file, d.locate(&name_path))),
            );
        // One shared location per input document, not a copy of its path per object.
        let mut by_kind_name = HashMap::new();
        for (node, file, pos) in docs {
            let kind = node.get("kind").and_then(Node::as_str).unwrap_or_default();
            let name = node
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Node::as_str)
                .unwrap_or_default();
            by_kind_name
                .entry((kind.to_string(), name.to_string()))
                .or_insert_with(|| Arc::new((file.clone(), pos)));
        }
        let mut by_context = HashMap::new();
        for c in &inputs.client_configs {
            by_context
                .entry(c.value.context.clone())
                .or_insert_with(|| Arc::new((c.origin.file.clone(), c.locate(&name_path))));
        }
        Self {
            by_kind_name,
            by_context,
        }
    }

    /// The input document an object copies (same kind and name), else its K8ssandraCluster.
    fn of(&self, m: &Manifest) -> Option<&Arc<(PathBuf, Pos)>> {
        let key = |kind: &str, name: &str| (kind.to_string(), name.to_string());
        self.by_kind_name
            .get(&key(m.kind().as_str(), m.name()))
            .or_else(|| self.by_kind_name.get(&key("K8ssandraCluster", m.cluster())))
    }
}

/// The output tree streamed object by object: each file is compared with the output
/// directory as it comes (and in a write pass written into the staging directory), so that only
/// the output paths are kept, never the objects or their bytes (issue #13). The kustomizations,
/// the KSOPS generators and the ownership record are added at the end, from the paths. Every
/// rule of [`preflight`], [`check`] and [`write`] holds; the staging directory is removed when
/// the pass is dropped unfinished (for example because the render found an error).
pub struct Streaming {
    dir: PathBuf,
    pass: Pass,
    base_len: usize,
    disk: Result<disk::Streamer, WriteError>,
    index: SourceIndex,
    sources: BTreeMap<Arc<str>, Arc<(PathBuf, Pos)>>,
    /// Objects per context, and the first output path of each.
    contexts: BTreeMap<String, (usize, Arc<str>)>,
    /// Output paths of the objects KSOPS decrypts.
    encrypted: std::collections::BTreeSet<Arc<str>>,
    /// Output paths too long for the file system (never looked up on disk).
    too_long: Vec<Arc<str>>,
    /// Shared with the rendering threads, which find the files already right.
    old_tree: Option<Arc<OldTree>>,
}

impl Streaming {
    /// Starts a pass over the output directory `dir` (see [`Pass`]); only a write pass changes
    /// anything before its end (the missing parents of `dir`, removed again unless the new tree
    /// is swapped in).
    #[must_use]
    pub fn new(dir: &Path, pass: Pass, index: SourceIndex) -> Self {
        let mode = match pass {
            Pass::Validate => disk::Mode::Probe,
            Pass::Check => disk::Mode::Check,
            Pass::Write => disk::Mode::Write,
        };
        let base = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        Self {
            dir: dir.to_path_buf(),
            pass,
            base_len: base.as_os_str().len(),
            disk: disk::Streamer::new(dir, mode),
            index,
            sources: BTreeMap::new(),
            contexts: BTreeMap::new(),
            encrypted: std::collections::BTreeSet::new(),
            too_long: Vec::new(),
            old_tree: None,
        }
    }

    /// A handle on the output directory for the rendering threads, to find the files already
    /// right while they render ([`OldTree::look`]); `None` when there is nothing to compare.
    pub(crate) fn old_tree(&mut self) -> Option<Arc<OldTree>> {
        let tree = Arc::new(self.disk.as_ref().ok().and_then(disk::Streamer::old_tree)?);
        self.old_tree = Some(Arc::clone(&tree));
        Some(tree)
    }

    /// Whether every object's text is needed (a check or a write compares every file; a
    /// validation only those that exist).
    #[must_use]
    pub fn needs_texts(&self) -> bool {
        !matches!(self.pass, Pass::Validate)
    }

    /// Objects streamed, per context.
    #[must_use]
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.contexts
            .iter()
            .map(|(c, (n, _))| (c.clone(), *n))
            .collect()
    }

    /// One object at output path `path`.
    pub fn object(&mut self, path: Arc<str>, m: Manifest) {
        match self.contexts.get_mut(&m.context) {
            Some((n, first)) => {
                *n += 1;
                if path < *first {
                    first.clone_from(&path);
                }
            }
            None => {
                self.contexts.insert(m.context.clone(), (1, path.clone()));
            }
        }
        if let Some(loc) = self.index.of(&m) {
            self.sources.insert(path.clone(), Arc::clone(loc));
        }
        if m.ksops {
            self.encrypted.insert(path.clone());
        }
        if let (Some(tree), Ok(d), Some(text)) = (&self.old_tree, &mut self.disk, &m.raw)
            && !too_long(self.base_len, &path)
            && d.found_unchanged(&path, tree, text.as_bytes())
        {
            return;
        }
        self.file(path, || m.into_text().into_bytes());
    }

    fn file(&mut self, path: Arc<str>, bytes: impl FnOnce() -> Vec<u8>) {
        if too_long(self.base_len, &path) {
            self.too_long.push(path);
        } else if let Ok(d) = &mut self.disk {
            d.file(path, bytes);
        }
    }

    /// Adds the kustomizations, KSOPS generators and the record (as [`build_tree`] makes
    /// them), then checks the lengths of all paths: the problems, when any is too long.
    fn complete(&mut self) -> Vec<Diagnostic> {
        for (context, (_, first)) in &self.contexts {
            let kustomization = format!("{context}/kustomization.yaml");
            let loc = self
                .by_context(context)
                .or_else(|| self.sources.get(first).cloned());
            if let Some(loc) = loc {
                self.sources.insert(kustomization.into(), loc);
            }
        }
        let contexts: Vec<String> = self.contexts.keys().cloned().collect();
        let mut files: Vec<(String, String)> = Vec::new();
        if let Ok(d) = &self.disk {
            let paths: Vec<&str> = d.paths().collect();
            for context in &contexts {
                let prefix = format!("{context}/");
                let start = paths.partition_point(|p| *p < prefix.as_str());
                let mut resources = Vec::new();
                let mut encrypted = Vec::new();
                for p in paths[start..].iter().take_while(|p| p.starts_with(&prefix)) {
                    let inside = p[prefix.len()..].to_string();
                    if self.encrypted.contains(*p) {
                        encrypted.push(inside);
                    } else {
                        resources.push(inside);
                    }
                }
                // Too long for the file system: not on disk, still listed (the pass fails).
                for p in self.too_long.iter().filter(|p| p.starts_with(&prefix)) {
                    resources.push(p[prefix.len()..].to_string());
                }
                resources.sort();
                files.extend(kustomization_files(context, &resources, &encrypted));
            }
        }
        for (path, text) in files {
            self.file(path.into(), || text.into_bytes());
        }
        let mut record = String::from(RECORD_HEADER);
        if let Ok(d) = &self.disk {
            for path in d.paths() {
                record.push_str(path);
                record.push('\n');
            }
        }
        self.file(OWNED_RECORD.into(), || record.into_bytes());
        if self.too_long.is_empty() {
            return Vec::new();
        }
        let mut paths = std::mem::take(&mut self.too_long);
        paths.sort();
        let sources = Sources(std::mem::take(&mut self.sources));
        let mut out = Vec::new();
        for rel in &paths {
            out.extend(length_problem(&self.dir, self.base_len, rel, &sources));
        }
        crate::diagnostic::sort(&mut out);
        out
    }

    fn by_context(&self, context: &str) -> Option<Arc<(PathBuf, Pos)>> {
        self.index.by_context.get(context).cloned()
    }

    /// Ends a `validate` pass: what `render` would refuse.
    #[must_use]
    pub fn finish_validate(mut self) -> Vec<Diagnostic> {
        let too_long = self.complete();
        if !too_long.is_empty() {
            return too_long;
        }
        let sources = Sources(std::mem::take(&mut self.sources));
        match std::mem::replace(&mut self.disk, Err(placeholder())).and_then(disk::Streamer::finish)
        {
            Ok(done) => conflict_diagnostics(&self.dir, done.conflicts, &sources),
            Err(e) => vec![location_error(&self.dir, &e)],
        }
    }

    /// Ends a `render --check` pass: every difference, or the problems that make the tree
    /// impossible to write (paths too long).
    ///
    /// # Errors
    /// The paths too long for the file system, one diagnostic each.
    pub fn finish_check(mut self) -> Result<Vec<Drift>, Vec<Diagnostic>> {
        let too_long = self.complete();
        if !too_long.is_empty() {
            return Err(too_long);
        }
        let done = match std::mem::replace(&mut self.disk, Err(placeholder()))
            .and_then(disk::Streamer::finish)
        {
            Ok(d) => d,
            Err(e) => return Ok(vec![Drift::Problem(e.to_string())]),
        };
        Ok(drift(&self.dir, done))
    }

    /// Ends a write pass: swaps the new tree in, unless something was refused.
    ///
    /// # Errors
    /// As [`write`]; paths too long for the file system are [`WriteError::Refused`] too. The
    /// output directory is then as it was.
    pub fn finish_write(mut self) -> Result<WriteReport, WriteError> {
        let too_long = self.complete();
        if !too_long.is_empty() {
            return Err(WriteError::Refused(too_long));
        }
        let sources = Sources(std::mem::take(&mut self.sources));
        let done = std::mem::replace(&mut self.disk, Err(placeholder()))
            .and_then(disk::Streamer::finish)?;
        if !done.conflicts.is_empty() {
            return Err(WriteError::Refused(conflict_diagnostics(
                &self.dir,
                done.conflicts,
                &sources,
            )));
        }
        Ok(done.report)
    }
}

/// Stands in for a streamer that was taken.
fn placeholder() -> WriteError {
    WriteError::Refused(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_map(name: &str, value: &str) -> Manifest {
        Manifest::new(
            "ctx".into(),
            crate::render::Owner::Cluster("c".into()),
            crate::render::Kind::ConfigMap,
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "ns"}, "data": {"k": value}}),
        )
    }

    /// Renders `a` and `b` into `dir`; `tamper` runs after both were compared, before the end.
    fn render(dir: &Path, b: &str, tamper: impl FnOnce()) -> Result<WriteReport, WriteError> {
        let mut pass = Streaming::new(dir, Pass::Write, SourceIndex::new(&Inputs::default()));
        for m in [config_map("a", "same"), config_map("b", b)] {
            pass.object(m.rel_path().into(), m);
        }
        tamper();
        pass.finish_write()
    }

    /// An empty directory of this test process under the system's temporary directory.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("k8ssandra-gitops-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn leftovers(parent: &Path) -> Vec<String> {
        std::fs::read_dir(parent)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect()
    }

    /// An unchanged file is carried into the new tree only if it is still the file that was
    /// compared: replaced by a symlink, edited or removed during the render, nothing is swapped
    /// in (the next run renders from what is there then).
    #[test]
    #[cfg(unix)]
    fn a_file_changed_during_the_render_is_not_carried_over() {
        let parent = scratch("carry");
        let dir = parent.join("rendered");
        render(&dir, "one", || {}).expect("first render");
        let a = dir.join("ctx/ns/c/configmap-a.yaml");
        let b = dir.join("ctx/ns/c/configmap-b.yaml");
        let b_before = std::fs::read(&b).unwrap();
        for (what, tamper) in [
            (
                "symlink",
                Box::new(|| {
                    std::fs::remove_file(&a).unwrap();
                    std::os::unix::fs::symlink("/etc/passwd", &a).unwrap();
                }) as Box<dyn Fn()>,
            ),
            (
                "edit",
                Box::new(|| {
                    std::fs::remove_file(&a).ok();
                    std::fs::write(&a, "edited: true\n").unwrap();
                }),
            ),
            (
                "removal",
                Box::new(|| {
                    std::fs::remove_file(&a).ok();
                }),
            ),
        ] {
            // Start from the rendered file each time.
            let _ = std::fs::remove_file(&a);
            render(&dir, "one", || {}).expect("re-render restores a");
            let err = render(&dir, "two", &*tamper).expect_err(what);
            assert!(
                err.to_string().contains("changed during the render"),
                "{what}: {err}"
            );
            assert_eq!(
                std::fs::read(&b).unwrap(),
                b_before,
                "{what}: old tree kept"
            );
            assert!(
                leftovers(&parent).is_empty(),
                "{what}: {:?}",
                leftovers(&parent)
            );
        }
        let _ = std::fs::remove_dir_all(&parent);
    }

    /// Two renders into one directory at once: the second is refused (it would build on the
    /// tree the first removes), and the first completes.
    #[test]
    #[cfg(unix)]
    fn a_second_concurrent_render_into_one_directory_is_refused() {
        let parent = scratch("lock");
        let dir = parent.join("rendered");
        render(&dir, "one", || {}).expect("first render");
        let first = render(&dir, "two", || {
            let second = render(&dir, "three", || {}).expect_err("refused while the first runs");
            assert!(
                second
                    .to_string()
                    .contains("another k8ssandra-gitops render"),
                "{second}"
            );
            // Another directory beside it is not held up.
            render(&parent.join("other"), "x", || {}).expect("a sibling directory renders");
        });
        first.expect("the first render completes");
        let b = std::fs::read_to_string(dir.join("ctx/ns/c/configmap-b.yaml")).unwrap();
        assert!(b.contains("k: two"), "{b}");
        let _ = std::fs::remove_dir_all(&parent);
    }
}
