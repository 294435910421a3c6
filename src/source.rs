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
        if e.file_name() == ".git" || (e.depth() > 0 && is_output_tree(p)) {
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

/// Whether `dir` is an output tree this tool wrote (it holds the record of owned files): never
/// input, wherever it sits, so the K8ssandraCluster records and routed objects of a committed
/// output cannot be read back as specs (e.g. another directory's `rendered/`).
#[must_use]
pub fn is_output_tree(dir: &Path) -> bool {
    dir.join(crate::output::OWNED_RECORD).is_file()
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

/// Whether `glob` is a usable RenderConfig `spec.include` / `spec.exclude` entry.
///
/// # Errors
/// Empty, absolute, with a `..` component, or not a valid glob: a message saying which.
pub fn check_glob(glob: &str) -> Result<(), String> {
    if glob.trim().is_empty() {
        return Err("empty glob".into());
    }
    if glob.starts_with('/') {
        return Err(format!(
            "glob {glob:?} is absolute: globs are relative to the repository root"
        ));
    }
    if glob.split('/').any(|c| c == "..") {
        return Err(format!(
            "glob {glob:?} leaves the repository ('..'): globs are relative to the repository root"
        ));
    }
    compile_glob(glob).map(|_| ())
}

fn compile_glob(glob: &str) -> Result<globset::Glob, String> {
    let glob = glob.trim_start_matches("./").trim_end_matches('/');
    globset::GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("invalid glob: {}", e.kind()))
}

/// Which repository files are inputs: RenderConfig `spec.include` and `spec.exclude`.
///
/// A glob matches a repository-relative path (with `/` separators) or any directory above it,
/// so `charts` or `charts/` leaves out everything under `charts/`. `*` stays within one path
/// component; `**` crosses them.
#[derive(Debug, Clone)]
pub struct Scope {
    include: Option<globset::GlobSet>,
    exclude: globset::GlobSet,
}

impl Scope {
    /// Builds the scope. No `include` means every file; an empty `include` list means none.
    ///
    /// # Errors
    /// A glob that [`check_glob`] refuses, with its message.
    pub fn new(include: Option<&[String]>, exclude: &[String]) -> Result<Self, String> {
        let set = |globs: &[String]| -> Result<globset::GlobSet, String> {
            let mut b = globset::GlobSetBuilder::new();
            for g in globs {
                check_glob(g)?;
                b.add(compile_glob(g)?);
            }
            b.build().map_err(|e| e.to_string())
        };
        Ok(Self {
            include: include.map(set).transpose()?,
            exclude: set(exclude)?,
        })
    }

    /// Whether the file at `rel_path` is read.
    #[must_use]
    pub fn contains(&self, rel_path: &str) -> bool {
        let matches = |set: &globset::GlobSet| {
            let mut p = rel_path;
            loop {
                if set.is_match(p) {
                    return true;
                }
                match p.rfind('/') {
                    Some(i) => p = &p[..i],
                    None => return false,
                }
            }
        };
        self.include.as_ref().is_none_or(matches) && !matches(&self.exclude)
    }
}

/// Keeps the files in `scope`; `keep` (the RenderConfig's own file) is always kept.
#[must_use]
pub fn filter_scope(files: Vec<SourceFile>, scope: &Scope, keep: &str) -> Vec<SourceFile> {
    files
        .into_iter()
        .filter(|f| f.rel_path == keep || scope.contains(&f.rel_path))
        .collect()
}

#[cfg(test)]
mod scope_tests {
    use super::*;

    fn scope(include: Option<&[&str]>, exclude: &[&str]) -> Scope {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        Scope::new(include.map(own).as_deref(), &own(exclude)).unwrap()
    }

    #[test]
    fn globs_match_files_and_the_directories_above_them() {
        let s = scope(None, &["charts", "*.tmpl.yaml"]);
        assert!(s.contains("clusters/orders.yaml"));
        assert!(!s.contains("charts/db/templates/sts.yaml"));
        assert!(!s.contains("x.tmpl.yaml"));
        // `*` stays within one component.
        assert!(s.contains("a/x.tmpl.yaml"));
        let s = scope(
            Some(&["clusters/**", "render-config.yaml"]),
            &["clusters/old/"],
        );
        assert!(s.contains("clusters/orders.yaml"));
        assert!(s.contains("clusters/eu/dc.yaml"));
        assert!(s.contains("render-config.yaml"));
        assert!(!s.contains("apps/x.yaml"));
        assert!(!s.contains("clusters/old/orders.yaml"));
        assert!(!scope(Some(&[]), &[]).contains("a.yaml"));
    }

    #[test]
    fn bad_globs_are_refused_with_a_reason() {
        assert_eq!(
            check_glob("/etc/*.yaml").unwrap_err(),
            "glob \"/etc/*.yaml\" is absolute: globs are relative to the repository root"
        );
        assert!(
            check_glob("../x")
                .unwrap_err()
                .contains("leaves the repository")
        );
        assert!(
            check_glob("a/[b")
                .unwrap_err()
                .starts_with("invalid glob: ")
        );
        assert_eq!(check_glob(" ").unwrap_err(), "empty glob");
        assert!(check_glob("./clusters/").is_ok());
    }
}
