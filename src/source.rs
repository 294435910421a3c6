//! Input discovery: which files of a repository are read, in which order, and with which limits.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::yaml::Pos;

/// Files larger than this are refused (a K8ssandraCluster is a few KiB).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// One input file, read and decoded.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the repository root, with `/` separators (stable across machines).
    pub rel_path: String,
    /// Path to show in diagnostics.
    pub display_path: PathBuf,
    /// The text.
    pub text: String,
}

/// Where to look and what to skip.
#[derive(Debug, Clone)]
pub struct Discovery<'a> {
    /// Repository root.
    pub repo: &'a Path,
    /// Output directory, skipped even when it does not exist yet.
    pub output_dir: Option<&'a Path>,
}

/// How a repo-relative path is shown in messages: prefixed with the repository path as the user
/// gave it, except for `.`.
#[must_use]
pub fn display_path(repo: &Path, rel: &str) -> PathBuf {
    if repo == Path::new(".") || repo.as_os_str().is_empty() {
        PathBuf::from(rel)
    } else {
        repo.join(rel)
    }
}

/// Walks the repository in sorted order honouring `.gitignore`, and reads every `*.yaml`/`*.yml`
/// file. Problems with single files (too large, not UTF-8, symlink out of the repo) are returned
/// as diagnostics, so that all of them are reported together.
///
/// # Errors
/// Only when the repository itself cannot be read.
pub fn discover(d: &Discovery<'_>) -> Result<(Vec<SourceFile>, Vec<Diagnostic>), std::io::Error> {
    let root = fs::canonicalize(d.repo)?;
    if !root.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "not a directory",
        ));
    }
    let skip = d
        .output_dir
        .map(absolutize)
        .map(|o| fs::canonicalize(&o).unwrap_or(o));
    let mut walker = ignore::WalkBuilder::new(&root);
    walker
        .hidden(true)
        .git_global(false) // a developer's global ignores must not change what CI renders
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(std::cmp::Ord::cmp);
    let skip_filter = skip.clone();
    walker.filter_entry(move |e| {
        let p = e.path();
        if e.file_name() == ".git" {
            return false;
        }
        skip_filter.as_ref().is_none_or(|s| p != s.as_path())
    });

    let mut files = Vec::new();
    let mut diags = Vec::new();
    for entry in walker.build() {
        let entry = entry.map_err(|e| std::io::Error::other(e.to_string()))?;
        let path = entry.path();
        let is_yaml = path.extension().is_some_and(|x| x == "yaml" || x == "yml");
        if !is_yaml || entry.depth() == 0 {
            continue;
        }
        let rel = path.strip_prefix(&root).unwrap_or(path);
        let rel_path = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let shown = display_path(d.repo, &rel_path);
        let file_diag =
            |msg: String| Diagnostic::error(shown.clone(), Pos::default(), Vec::new(), msg);

        let ft = entry.file_type();
        let real = if ft.is_some_and(|t| t.is_symlink()) {
            match fs::canonicalize(path) {
                Ok(target) if target.starts_with(&root) => {
                    if skip.as_ref().is_some_and(|s| target.starts_with(s)) || !target.is_file() {
                        continue;
                    }
                    target
                }
                Ok(target) => {
                    diags.push(file_diag(format!(
                        "symlink points outside the repository (to {}); refusing to read it",
                        target.display()
                    )));
                    continue;
                }
                Err(e) => {
                    diags.push(file_diag(format!("cannot follow symlink: {e}")));
                    continue;
                }
            }
        } else if ft.is_some_and(|t| t.is_file()) {
            path.to_path_buf()
        } else {
            continue;
        };
        match read_limited(&real) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => files.push(SourceFile {
                    rel_path,
                    display_path: shown,
                    text,
                }),
                Err(e) => {
                    let bytes = e.as_bytes();
                    let at = e.utf8_error().valid_up_to();
                    let pos = position_of(&bytes[..at]);
                    diags.push(Diagnostic::error(
                        shown,
                        pos,
                        Vec::new(),
                        "file is not valid UTF-8 (Kubernetes manifests must be UTF-8)",
                    ));
                }
            },
            Err(ReadError::TooLarge(n)) => diags.push(file_diag(format!(
                "file is {n} bytes, more than the {MAX_FILE_BYTES}-byte limit for an input manifest"
            ))),
            Err(ReadError::Io(e)) => diags.push(file_diag(format!("cannot read file: {e}"))),
        }
    }
    Ok((files, diags))
}

fn absolutize(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

enum ReadError {
    TooLarge(u64),
    Io(std::io::Error),
}

fn read_limited(path: &Path) -> Result<Vec<u8>, ReadError> {
    let file = fs::File::open(path).map_err(ReadError::Io)?;
    let len = file.metadata().map_err(ReadError::Io)?.len();
    if len > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(len));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // Read one byte past the limit so a file that grows while we read is still caught.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

/// 1-based line and column of the position right after `prefix`.
fn position_of(prefix: &[u8]) -> Pos {
    let line = prefix.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = prefix
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&prefix[line_start..])
        .chars()
        .count()
        + 1;
    Pos {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
    }
}
