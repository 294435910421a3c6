//! Output stage: the rendered tree as bytes, compared with and written to disk safely.
//!
//! Nothing is written until everything has rendered, and then the output directory is replaced
//! all or nothing ([`write`]); an unchanged repository writes nothing. A record of the files we
//! own drives pruning; files we did not create are never overwritten or removed. Reading the
//! output directory ([`check`], pruning) never follows a symlink and never opens anything but a
//! regular file.

mod disk;
mod sys;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic};
use crate::load::Inputs;
use crate::render::Rendered;
use crate::yaml::{Node, Pos, Seg};

pub use crate::source::OWNED_RECORD;

/// The ownership record of an output directory, read exactly as the writer reads it, for the
/// guards that compare it with a new render. `None` when there is no directory or no record.
///
/// # Errors
/// The record cannot be read, is not a regular file, or is too large.
pub fn read_record(dir: &Path) -> Result<Option<String>, String> {
    disk::read_record_at(dir)
}

/// The KSOPS generator of a context whose SOPS Secrets Argo CD delivers (see
/// [`crate::render::Manifest::ksops`]), next to its `kustomization.yaml`.
pub const KSOPS_GENERATOR: &str = "ksops-generator.yaml";

/// Output path (relative, `/`-separated) → file bytes, sorted.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// Builds the whole output tree: one file per object, a kustomization per context, the record.
#[must_use]
pub fn build_tree(rendered: &Rendered) -> Tree {
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

/// The tree as [`preflight`] needs it, without serializing what it never reads: every output
/// path, with the bytes only of the objects whose file exists in `dir` (compared with it: an
/// identical file is not a conflict) and empty bytes for the rest (absent files are never
/// compared). `validate` uses it; writing and `--check` need [`build_tree`] or [`into_tree`].
/// Existence is a `stat` (never following a symlink at the file itself, reading nothing).
#[must_use]
pub fn preflight_tree(dir: &Path, rendered: &Rendered) -> Tree {
    let present = std::fs::symlink_metadata(dir).is_ok();
    tree_from(rendered.iter().map(|(context, manifests)| {
        (
            context.clone(),
            manifests
                .iter()
                .map(|m| {
                    let rel = m.rel_path();
                    let text = if present && std::fs::symlink_metadata(dir.join(&rel)).is_ok() {
                        m.text()
                    } else {
                        String::new()
                    };
                    (rel, text, m.ksops)
                })
                .collect(),
        )
    }))
}

/// Like [`build_tree`], consuming the objects: each is freed once serialized, which keeps the
/// peak memory of large repositories near the size of the output.
#[must_use]
pub fn into_tree(rendered: Rendered) -> Tree {
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
        let mut k = String::from(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
        );
        push_items(&mut k, "", &resources);
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
            push_items(&mut g, "./", &encrypted);
            tree.insert(format!("{context}/{KSOPS_GENERATOR}"), g.into_bytes());
        }
        tree.insert(format!("{context}/kustomization.yaml"), k.into_bytes());
    }
    let mut record = String::from(
        "# Files written by k8ssandra-gitops render; it prunes these when they are no longer produced.\n",
    );
    for path in tree.keys() {
        record.push_str(path);
        record.push('\n');
    }
    tree.insert(OWNED_RECORD.to_string(), record.into_bytes());
    tree
}

/// Concatenates one context's objects as a YAML stream (`---` between documents).
#[must_use]
pub fn stream(rendered: &Rendered, context: &str) -> String {
    let mut out = String::new();
    for m in rendered.get(context).into_iter().flatten() {
        out.push_str("---\n");
        m.push_text(&mut out);
    }
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
pub struct Sources(BTreeMap<String, Arc<(PathBuf, Pos)>>);

/// The source of every output path: the input document an object copies (same kind and
/// name), else its K8ssandraCluster's `metadata.name`; a context's `kustomization.yaml` points
/// at its ClientConfig.
#[must_use]
pub fn sources(rendered: &Rendered, inputs: &Inputs) -> Sources {
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
    let mut by_kind_name: HashMap<(&str, &str), Arc<(PathBuf, Pos)>> = HashMap::new();
    for (node, file, pos) in docs {
        let kind = node.get("kind").and_then(Node::as_str).unwrap_or_default();
        let name = node
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Node::as_str)
            .unwrap_or_default();
        by_kind_name
            .entry((kind, name))
            .or_insert_with(|| Arc::new((file.clone(), pos)));
    }
    let mut out = BTreeMap::new();
    for (context, manifests) in rendered {
        for m in manifests {
            let found = by_kind_name
                .get(&(m.kind(), m.name()))
                .or_else(|| by_kind_name.get(&("K8ssandraCluster", m.cluster.as_str())));
            if let Some(loc) = found {
                out.insert(m.rel_path(), Arc::clone(loc));
            }
        }
        let kustomization = inputs
            .client_configs
            .iter()
            .find(|c| c.value.context == *context)
            .map(|c| Arc::new((c.origin.file.clone(), c.locate(&name_path))))
            .or_else(|| {
                manifests
                    .first()
                    .and_then(|m| out.get(&m.rel_path()).cloned())
            });
        if let Some(loc) = kustomization {
            out.insert(format!("{context}/kustomization.yaml"), loc);
        }
    }
    Sources(out)
}

impl Sources {
    /// The source of `rel`, or of the first output path below it (a directory).
    fn of(&self, rel: &str) -> Option<&(PathBuf, Pos)> {
        self.0
            .get(rel)
            .or_else(|| self.0.get(&format!("{rel}/kustomization.yaml")))
            .or_else(|| {
                let prefix = format!("{rel}/");
                self.0
                    .range(prefix.clone()..)
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

/// Everything `render` could fail on that can be known before writing: file names longer than
/// 255 bytes, paths longer than 4095 bytes, and, given the output directory, what `write`
/// would refuse (a symlink, FIFO or device at a path it writes, a file it did not write, ...).
/// One diagnostic each, at the object's source.
#[must_use]
pub fn preflight(dir: &Path, tree: &Tree, sources: &Sources, disk: bool) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let base = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let base_len = base.as_os_str().len();
    let source = |rel: &str| {
        sources
            .of(rel)
            .cloned()
            .unwrap_or_else(|| (dir.join(rel), Pos::default()))
    };
    for rel in tree.keys() {
        if let Some(long) = rel.split('/').find(|c| c.len() > NAME_MAX) {
            let (file, pos) = source(rel);
            out.push(
                Diagnostic::error(
                    Code::OutputPathTooLong,
                    file,
                    pos,
                    Vec::new(),
                    format!(
                        "output file name {long:?} is {} bytes; file systems take at most {NAME_MAX}",
                        long.len()
                    ),
                )
                .with_hint(Some("shorten the name".to_string())),
            );
            continue;
        }
        let len = base_len + 1 + rel.len();
        if len > PATH_MAX {
            let (file, pos) = source(rel);
            out.push(
                Diagnostic::error(
                    Code::OutputPathTooLong,
                    file,
                    pos,
                    Vec::new(),
                    format!(
                        "output path {} is {len} bytes; the system takes at most {PATH_MAX}",
                        dir.join(rel).display()
                    ),
                )
                .with_hint(Some(
                    "shorten the names or the output directory".to_string(),
                )),
            );
        }
    }
    if disk && out.is_empty() {
        match disk::Target::new(dir).and_then(|t| disk::plan(&t, tree)) {
            Ok(plan) => out.extend(conflict_diagnostics(dir, plan.conflicts, sources)),
            Err(e) => out.push(Diagnostic::error(
                Code::OutputLocation,
                dir.to_path_buf(),
                Pos::default(),
                Vec::new(),
                e.to_string(),
            )),
        }
    }
    crate::diagnostic::sort(&mut out);
    out
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

/// Compares the tree with the output directory, reading only regular files (bounded, never
/// through a symlink, never a FIFO or a device). Only files in the tree or in the old record are
/// considered; leftovers of an interrupted run count too.
#[must_use]
pub fn check(dir: &Path, tree: &Tree) -> Vec<Drift> {
    let target = match disk::Target::new(dir) {
        Ok(t) => t,
        Err(e) => return vec![Drift::Problem(e.to_string())],
    };
    let plan = match disk::plan(&target, tree) {
        Ok(p) => p,
        Err(e) => return vec![Drift::Problem(e.to_string())],
    };
    let shown = |rel: &str| dir.join(rel).display().to_string();
    let mut out: Vec<Drift> = plan
        .conflicts
        .into_iter()
        .map(|c| Drift::Problem(c.message))
        .collect();
    for name in plan.leftovers {
        out.push(Drift::Problem(format!(
            "{}: left by an interrupted render (the next render removes it)",
            target.parent_path.join(name).display()
        )));
    }
    let mut changes = Vec::new();
    for (path, old) in plan.changed {
        let new = tree.get(&path).cloned();
        changes.push(match old {
            disk::Old::Absent => Drift::Changed {
                path,
                old: None,
                new,
            },
            disk::Old::Bytes(b) => Drift::Changed {
                path,
                old: Some(b),
                new,
            },
            disk::Old::TooLarge => Drift::Problem(format!(
                "{}: differs (over {} MiB, not shown)",
                shown(&path),
                disk::MAX_READ >> 20
            )),
        });
    }
    for (path, old) in plan.pruned {
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

/// Makes the output directory hold `tree`, all or nothing.
///
/// Nothing is written when nothing changed. Otherwise the new tree is built in a hidden
/// staging directory beside the output directory (`.<name>.k8ssandra-gitops-staging-<random>`):
/// unchanged files and every file the renderer did not write are hard-linked from the old tree
/// (symlinks recreated as symlinks, never followed), changed files written into new files
/// created exclusively, files of the old record that are no longer rendered left out. Then the
/// staging directory replaces the output directory in one atomic exchange (Linux
/// `renameat2(RENAME_EXCHANGE)`, Apple `RENAME_SWAP`; elsewhere two renames, see the README)
/// and the old tree is removed. Leftovers of an interrupted run are removed first.
///
/// # Errors
/// An IO failure, or [`WriteError::Refused`] when a path the renderer writes holds a symlink,
/// a FIFO, a device, a directory or a file the renderer did not write; in every case the
/// output directory is left as it was.
pub fn write(dir: &Path, tree: &Tree, sources: &Sources) -> Result<WriteReport, WriteError> {
    let target = disk::Target::new(dir)?;
    let (plan, report) = disk::write(&target, tree)?;
    if !plan.conflicts.is_empty() {
        return Err(WriteError::Refused(conflict_diagnostics(
            dir,
            plan.conflicts,
            sources,
        )));
    }
    Ok(report)
}

/// A unified diff of the changed files, for `render --check` ([`Drift::Problem`]s are not part
/// of it).
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
