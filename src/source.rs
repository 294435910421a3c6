//! Input discovery: which files of a repository are read, in which order, and with which limits.
//!
//! What is read depends on the repository only, never on the machine: the only ignore files are
//! the `.gitignore` files inside the repository (not one above it, not `.git/info/exclude`, not
//! the global Git excludes, not `.ignore`), so CI, Argo CD and a laptop read the same files. The
//! same rules ([`IgnoreRules`]) apply to a Git revision read by [`crate::revision`].

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::diagnostic::{Code, Diagnostic};
use crate::model::config::compile_glob;
pub use crate::model::config::{GlobError, check_glob};
use crate::yaml::Pos;

/// Files larger than this are refused (a K8ssandraCluster is a few KiB).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Name of the record of the files `render` wrote, kept at the top of the output directory; a
/// directory holding one is output and never read as input.
pub const OWNED_RECORD: &str = ".k8ssandra-gitops-owned";

/// The only ignore file that counts.
pub const IGNORE_FILE: &str = ".gitignore";

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

/// A file or directory that was not read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Repository-relative path (`/`-separated; directories end with `/`).
    pub rel_path: String,
    /// Why, e.g. `ignored by .gitignore:3 (orders.yaml)` or `output directory`.
    pub reason: String,
}

/// What a walk found.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    /// The YAML files read, sorted by path components.
    pub files: Vec<SourceFile>,
    /// Problems with single entries (too large, not UTF-8, symlinks leaving the repository),
    /// each with the entry's repository-relative path.
    pub diags: Vec<(String, Diagnostic)>,
    /// YAML files and directories that a `.gitignore` rule hides.
    pub ignored: Vec<Skipped>,
    /// Directories not read because they are (or were) an output directory.
    pub excluded: Vec<Skipped>,
    /// How many YAML files were found, read or not (files inside directories that were not
    /// entered are not counted: those directories are in `ignored` and `excluded`).
    pub yaml_seen: usize,
    /// Symlinked files that were read: link path → repository-relative target (an output
    /// directory's file read through a link is still output).
    pub links: BTreeMap<String, String>,
}

/// Where to look.
#[derive(Debug, Clone)]
pub struct Discovery<'a> {
    /// Repository root.
    pub repo: &'a Path,
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

/// Whether a repository-relative path names a YAML file.
#[must_use]
pub fn is_yaml(rel: &str) -> bool {
    rel.ends_with(".yaml") || rel.ends_with(".yml")
}

/// The `.gitignore` rules of a repository, directory by directory, evaluated the way Git and
/// the `ignore` crate's walker do: the deepest file with a matching rule decides, its last
/// matching line wins, and nothing below an ignored directory is read.
#[derive(Debug, Default)]
pub struct IgnoreRules {
    by_dir: BTreeMap<String, Gitignore>,
}

impl IgnoreRules {
    /// Adds the `.gitignore` of `dir` (repository-relative, `""` for the root).
    pub fn add(&mut self, dir: &str, text: &str) {
        let file = if dir.is_empty() {
            IGNORE_FILE.to_string()
        } else {
            format!("{dir}/{IGNORE_FILE}")
        };
        let mut builder = GitignoreBuilder::new(".");
        for (n, line) in text.lines().enumerate() {
            // The line number travels in the rule's origin, so messages can point at it.
            let _ = builder.add_line(Some(PathBuf::from(format!("{file}:{}", n + 1))), line);
        }
        if let Ok(gi) = builder.build()
            && !gi.is_empty()
        {
            self.by_dir.insert(dir.to_string(), gi);
        }
    }

    /// Why `rel` (a path below the repository root) is ignored, as `.gitignore:LINE (PATTERN)`;
    /// `None` when it is read. Only the entry itself is matched: callers never ask about an
    /// entry below an ignored directory.
    #[must_use]
    pub fn why_ignored(&self, rel: &str, is_dir: bool) -> Option<String> {
        let mut dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
        loop {
            if let Some(gi) = self.by_dir.get(dir) {
                let sub = if dir.is_empty() {
                    rel
                } else {
                    &rel[dir.len() + 1..]
                };
                match gi.matched(sub, is_dir) {
                    Match::Ignore(glob) => {
                        let from = glob
                            .from()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default();
                        return Some(format!("{from} ({})", glob.original()));
                    }
                    Match::Whitelist(_) => return None,
                    Match::None => {}
                }
            }
            if dir.is_empty() {
                return None;
            }
            dir = dir.rsplit_once('/').map_or("", |(d, _)| d);
        }
    }
}

/// Walks the repository in sorted order, honouring its `.gitignore` files, and reads every
/// `*.yaml`/`*.yml` file. Hidden entries and `.git` are skipped, and so is every directory that
/// holds a `.k8ssandra-gitops-owned` record (an output tree, current or former). Symlinked files
/// are followed when they stay inside the repository; symlinked directories are never entered.
/// Problems with single entries (too large, not UTF-8, a symlink leaving the repository) are
/// diagnostics, so that all of them are reported together.
///
/// # Errors
/// Only when the repository itself cannot be read.
pub fn discover(d: &Discovery<'_>) -> Result<Discovered, std::io::Error> {
    let root = fs::canonicalize(d.repo)?;
    if !root.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "not a directory",
        ));
    }
    let mut walk = Walk {
        repo: d.repo,
        root: &root,
        rules: IgnoreRules::default(),
        out: Discovered::default(),
    };
    walk.dir(&root, "")?;
    Ok(walk.out)
}

struct Walk<'a> {
    repo: &'a Path,
    root: &'a Path,
    rules: IgnoreRules,
    out: Discovered,
}

impl Walk<'_> {
    fn dir(&mut self, path: &Path, rel: &str) -> Result<(), std::io::Error> {
        let ignore_file = path.join(IGNORE_FILE);
        if fs::symlink_metadata(&ignore_file).is_ok_and(|m| m.is_file())
            && let Ok(bytes) = read_limited(&ignore_file)
        {
            self.rules.add(rel, &String::from_utf8_lossy(&bytes));
        }
        let mut entries: Vec<(String, fs::FileType)> = Vec::new();
        for entry in fs::read_dir(path)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue; // hidden, `.git` included
            }
            entries.push((name, entry.file_type()?));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, ft) in entries {
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let child = path.join(&name);
            let shown = display_path(self.repo, &child_rel);
            if ft.is_dir() {
                if let Some(why) = self.rules.why_ignored(&child_rel, true) {
                    self.out.ignored.push(Skipped {
                        rel_path: format!("{child_rel}/"),
                        reason: format!("ignored by {why}"),
                    });
                } else if fs::symlink_metadata(child.join(OWNED_RECORD)).is_ok() {
                    self.out.excluded.push(Skipped {
                        rel_path: format!("{child_rel}/"),
                        reason: format!("output directory (holds {OWNED_RECORD})"),
                    });
                } else {
                    self.dir(&child, &child_rel)?;
                }
                continue;
            }
            let yaml = is_yaml(&child_rel);
            if ft.is_symlink() {
                let target = fs::canonicalize(&child);
                let target_is_dir = target.as_ref().is_ok_and(|t| t.is_dir());
                if !yaml && !target_is_dir {
                    continue;
                }
                if yaml && !target_is_dir {
                    self.out.yaml_seen += 1;
                }
                if let Some(why) = self.rules.why_ignored(&child_rel, target_is_dir) {
                    self.out.ignored.push(Skipped {
                        rel_path: child_rel,
                        reason: format!("ignored by {why}"),
                    });
                    continue;
                }
                let error = |msg: String| {
                    (
                        child_rel.clone(),
                        Diagnostic::error(
                            Code::BadSymlink,
                            shown.clone(),
                            Pos::default(),
                            vec![],
                            msg,
                        ),
                    )
                };
                match target {
                    Ok(t) if !t.starts_with(self.root) => {
                        let what = if target_is_dir {
                            "symlinked directory"
                        } else {
                            "symlink"
                        };
                        self.out.diags.push(error(format!(
                            "{what} points outside the repository (to {}); refusing to read it",
                            t.display()
                        )));
                    }
                    // A symlinked directory inside the repository is read where it really is.
                    Ok(_) if target_is_dir => {}
                    Ok(t) if t.is_file() => {
                        let target = rel_of(t.strip_prefix(self.root).unwrap_or(&t));
                        self.out.links.insert(child_rel.clone(), target);
                        self.read(&t, child_rel, shown);
                    }
                    Ok(_) => {}
                    Err(e) => self
                        .out
                        .diags
                        .push(error(format!("cannot follow symlink: {e}"))),
                }
                continue;
            }
            if !yaml || !ft.is_file() {
                continue;
            }
            self.out.yaml_seen += 1;
            if let Some(why) = self.rules.why_ignored(&child_rel, false) {
                self.out.ignored.push(Skipped {
                    rel_path: child_rel,
                    reason: format!("ignored by {why}"),
                });
                continue;
            }
            self.read(&child, child_rel, shown);
        }
        Ok(())
    }

    fn read(&mut self, real: &Path, rel_path: String, shown: PathBuf) {
        let rel = rel_path.clone();
        let file_diag = |msg: String| {
            (
                rel.clone(),
                Diagnostic::error(
                    Code::UnreadableFile,
                    shown.clone(),
                    Pos::default(),
                    vec![],
                    msg,
                ),
            )
        };
        match read_limited(real) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => self.out.files.push(SourceFile {
                    rel_path,
                    display_path: shown,
                    text,
                }),
                Err(e) => {
                    let bytes = e.as_bytes();
                    let at = e.utf8_error().valid_up_to();
                    let pos = position_of(&bytes[..at]);
                    self.out.diags.push((
                        rel.clone(),
                        Diagnostic::error(
                            Code::UnreadableFile,
                            shown,
                            pos,
                            Vec::new(),
                            "file is not valid UTF-8 (Kubernetes manifests must be UTF-8)",
                        ),
                    ));
                }
            },
            Err(ReadError::TooLarge(n)) => self.out.diags.push(file_diag(format!(
                "file is {n} bytes, more than the {MAX_FILE_BYTES}-byte limit for an input manifest"
            ))),
            Err(ReadError::Io(e)) => self
                .out
                .diags
                .push(file_diag(format!("cannot read file: {e}"))),
        }
    }
}

/// A relative path with `/` separators.
fn rel_of(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deepest_gitignore_decides_and_names_its_line() {
        let mut rules = IgnoreRules::default();
        rules.add("", "# comment\n*.tmp.yaml\norders.yaml\n");
        rules.add("clusters", "!orders.yaml\n");
        assert_eq!(
            rules.why_ignored("orders.yaml", false).as_deref(),
            Some(".gitignore:3 (orders.yaml)")
        );
        assert_eq!(rules.why_ignored("clusters/orders.yaml", false), None);
        assert_eq!(
            rules.why_ignored("clusters/x.tmp.yaml", false).as_deref(),
            Some(".gitignore:2 (*.tmp.yaml)")
        );
        assert_eq!(rules.why_ignored("clusters/shop.yaml", false), None);
    }

    #[test]
    fn anchored_and_directory_rules() {
        let mut rules = IgnoreRules::default();
        rules.add("", "/build/\ngen\n");
        assert!(rules.why_ignored("build", true).is_some());
        assert!(rules.why_ignored("build", false).is_none());
        assert!(rules.why_ignored("a/build", true).is_none());
        assert!(rules.why_ignored("a/gen", true).is_some());
    }
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

/// Why a [`Scope`] cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// A glob that [`check_glob`] refuses.
    #[error(transparent)]
    Glob(#[from] GlobError),
    /// The globs do not combine into one matcher.
    #[error(transparent)]
    Set(globset::Error),
}

impl Scope {
    /// Builds the scope. No `include` means every file; an empty `include` list means none.
    ///
    /// # Errors
    /// A glob that [`check_glob`] refuses, or globs globset cannot combine.
    pub fn new(include: Option<&[String]>, exclude: &[String]) -> Result<Self, ScopeError> {
        let set = |globs: &[String]| -> Result<globset::GlobSet, ScopeError> {
            let mut b = globset::GlobSetBuilder::new();
            for g in globs {
                check_glob(g)?;
                b.add(compile_glob(g)?);
            }
            b.build().map_err(ScopeError::Set)
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
        let err = check_glob("/etc/*.yaml").unwrap_err();
        assert_eq!(err, GlobError::Absolute("/etc/*.yaml".into()));
        assert_eq!(
            err.to_string(),
            "glob \"/etc/*.yaml\" is absolute: globs are relative to the repository root"
        );
        assert_eq!(
            check_glob("x/../../y"),
            Err(GlobError::LeavesRepository("x/../../y".into()))
        );
        assert!(
            check_glob("../x")
                .unwrap_err()
                .to_string()
                .contains("leaves the repository")
        );
        let err = check_glob("./a/[b").unwrap_err();
        assert!(
            matches!(&err, GlobError::Syntax { glob, kind: globset::ErrorKind::UnclosedClass } if glob == "./a/[b"),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("invalid glob: "), "{err}");
        assert_eq!(check_glob(" "), Err(GlobError::Empty));
        assert_eq!(check_glob(" ").unwrap_err().to_string(), "empty glob");
        assert!(check_glob("./clusters/").is_ok());
        assert!(matches!(
            Scope::new(Some(&["/x".into()]), &[]),
            Err(ScopeError::Glob(GlobError::Absolute(_)))
        ));
    }
}
