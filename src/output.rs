//! Output stage: the rendered tree as bytes, compared with and written to disk safely.
//!
//! Nothing is written until everything has rendered. Each file is replaced by rename and only
//! when its bytes changed, so a crash never leaves a truncated manifest and an unchanged repo
//! writes nothing. A record of the files we own drives pruning; files we did not create are
//! never touched.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::render::Rendered;

/// Name of the record of owned files, kept at the top of the output directory.
pub const OWNED_RECORD: &str = ".k8ssandra-gitops-owned";

/// The KSOPS generator of a context whose SOPS Secrets Argo CD delivers (see
/// [`crate::render::Manifest::ksops`]), next to its `kustomization.yaml`.
pub const KSOPS_GENERATOR: &str = "ksops-generator.yaml";

/// Output path (relative, `/`-separated) → file bytes, sorted.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// One differing file: path, bytes on disk (`None`: absent), rendered bytes (`None`: to be pruned).
pub type Drift = (String, Option<Vec<u8>>, Option<Vec<u8>>);

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
        for r in &resources {
            k.push_str("- ");
            k.push_str(r);
            k.push('\n');
        }
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
            for f in &encrypted {
                g.push_str("- ./");
                g.push_str(f);
                g.push('\n');
            }
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
        out.push_str(&m.text());
    }
    out
}

/// A failure to write the output; the message names the path.
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
    /// A symlink inside the output directory would redirect a write.
    #[error("refusing to write through symlink {0} inside the output directory")]
    Symlink(PathBuf),
}

fn io<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> WriteError + 'p {
    move |source| WriteError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Paths listed in an existing record that are safe to touch (relative, no `..`).
fn read_record(dir: &Path) -> BTreeSet<String> {
    let Ok(text) = fs::read_to_string(dir.join(OWNED_RECORD)) else {
        return BTreeSet::new();
    };
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| {
            Path::new(l)
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        })
        .map(str::to_string)
        .collect()
}

/// What differs between the tree and the directory: `(path, old bytes, new bytes)`; `None` means
/// absent. Only files in the tree or in the old record are considered.
#[must_use]
pub fn drift(dir: &Path, tree: &Tree) -> Vec<Drift> {
    let mut out = Vec::new();
    for (rel, bytes) in tree {
        let old = fs::read(dir.join(rel)).ok();
        if old.as_deref() != Some(bytes.as_slice()) {
            out.push((rel.clone(), old, Some(bytes.clone())));
        }
    }
    for rel in read_record(dir) {
        if !tree.contains_key(&rel)
            && let Ok(old) = fs::read(dir.join(&rel))
        {
            out.push((rel, Some(old), None));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
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

/// Writes `tree` under `dir`: changed files by rename, stale owned files removed.
///
/// # Errors
/// The first IO failure, or a symlink inside the output directory.
pub fn write_tree(dir: &Path, tree: &Tree) -> Result<WriteReport, WriteError> {
    let mut report = WriteReport::default();
    fs::create_dir_all(dir).map_err(io("create directory", dir))?;
    let old_record = read_record(dir);
    for (rel, bytes) in tree {
        if rel == OWNED_RECORD {
            continue; // written last, so an interrupted run still prunes next time
        }
        let path = dir.join(rel);
        check_no_symlink(dir, rel)?;
        if fs::read(&path).ok().as_deref() == Some(bytes.as_slice()) {
            report.unchanged += 1;
            continue;
        }
        write_atomic(&path, bytes)?;
        report.written.push(rel.clone());
    }
    for rel in &old_record {
        if tree.contains_key(rel) {
            continue;
        }
        check_no_symlink(dir, rel)?;
        let path = dir.join(rel);
        match fs::remove_file(&path) {
            Ok(()) => {
                report.pruned.push(rel.clone());
                remove_empty_parents(dir, &path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(WriteError::Io {
                    action: "remove",
                    path,
                    source: e,
                });
            }
        }
    }
    let record = &tree[OWNED_RECORD];
    let record_path = dir.join(OWNED_RECORD);
    check_no_symlink(dir, OWNED_RECORD)?;
    if fs::read(&record_path).ok().as_deref() != Some(record.as_slice()) {
        write_atomic(&record_path, record)?;
    }
    Ok(report)
}

fn check_no_symlink(dir: &Path, rel: &str) -> Result<(), WriteError> {
    let mut cur = dir.to_path_buf();
    for part in rel.split('/') {
        cur.push(part);
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => return Err(WriteError::Symlink(cur)),
            Ok(_) => {}
            Err(_) => break, // does not exist yet: nothing below it can be a link
        }
    }
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io("create directory", parent))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp).map_err(io("create", &tmp))?;
        f.write_all(bytes).map_err(io("write", &tmp))?;
        // No fsync per file: rename is atomic against crashes of this process, which is the
        // failure that matters for a renderer whose output is regenerated from Git anyway;
        // syncing 6,000 files would triple the time of a large first render.
        drop(f);
        fs::rename(&tmp, path).map_err(io("rename into place", path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn remove_empty_parents(dir: &Path, file: &Path) {
    let mut cur = file.parent();
    while let Some(p) = cur {
        if p == dir || !p.starts_with(dir) || fs::remove_dir(p).is_err() {
            break;
        }
        cur = p.parent();
    }
}

/// A unified diff of the drift, for `render --check`.
#[must_use]
pub fn unified_diff(drift: &[Drift]) -> String {
    let mut out = String::new();
    for (rel, old, new) in drift {
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
