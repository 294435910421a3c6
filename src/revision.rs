//! Input discovery from a Git revision (for `plan`): the same files, limits and order as
//! [`crate::source::discover`], read from a commit's tree through libgit2 — no checkout, no
//! temporary clone, nothing written.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{
    Discovered, IGNORE_FILE, IgnoreRules, MAX_FILE_BYTES, OWNED_RECORD, Skipped, SourceFile,
    display_path, is_yaml,
};
use crate::yaml::Pos;

/// A failure to read a revision.
#[derive(Debug, thiserror::Error)]
pub enum RevisionError {
    /// The directory is not inside a Git repository.
    #[error("failed to open a Git repository at {path}: {message}")]
    OpenRepo {
        /// The directory given.
        path: PathBuf,
        /// libgit2's message.
        message: String,
    },
    /// The revision does not name a commit.
    #[error("unknown revision {rev:?}: {message}")]
    UnknownRevision {
        /// The revision given.
        rev: String,
        /// libgit2's message.
        message: String,
    },
    /// The repository directory is not in that revision.
    #[error("{path} does not exist at revision {rev}")]
    MissingPath {
        /// Repository-relative directory.
        path: String,
        /// The revision.
        rev: String,
    },
    /// Reading the tree failed.
    #[error("failed to read revision {rev}: {message}")]
    Read {
        /// The revision.
        rev: String,
        /// libgit2's message.
        message: String,
    },
}

/// Reads the YAML files under `repo` (a directory inside a Git work tree) as they are at `rev`,
/// with the rules of [`crate::source::discover`]: the revision's own `.gitignore` files, hidden
/// entries and directories holding an output record are skipped. Symlinks are not followed (a
/// committed symlink could point anywhere); file problems are diagnostics, as with the working
/// tree.
///
/// # Errors
/// When the Git repository, the revision or the directory cannot be found or read.
pub fn read_revision(repo: &Path, rev: &str) -> Result<Discovered, RevisionError> {
    let git = git2::Repository::discover(repo).map_err(|e| RevisionError::OpenRepo {
        path: repo.to_path_buf(),
        message: e.message().to_string(),
    })?;
    let workdir = git
        .workdir()
        .ok_or_else(|| RevisionError::OpenRepo {
            path: repo.to_path_buf(),
            message: "bare repositories are not supported".into(),
        })?
        .canonicalize()
        .map_err(|e| RevisionError::OpenRepo {
            path: repo.to_path_buf(),
            message: e.to_string(),
        })?;
    let dir = repo.canonicalize().map_err(|e| RevisionError::OpenRepo {
        path: repo.to_path_buf(),
        message: e.to_string(),
    })?;
    let sub = dir.strip_prefix(&workdir).unwrap_or(Path::new(""));
    let sub: String = sub
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    let commit = git
        .revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| RevisionError::UnknownRevision {
            rev: rev.to_string(),
            message: e.message().to_string(),
        })?;
    let read_err = |e: git2::Error| RevisionError::Read {
        rev: rev.to_string(),
        message: e.message().to_string(),
    };
    let root_tree = commit.tree().map_err(read_err)?;
    let tree = if sub.is_empty() {
        root_tree
    } else {
        let entry =
            root_tree
                .get_path(Path::new(&sub))
                .map_err(|_| RevisionError::MissingPath {
                    path: sub.clone(),
                    rev: rev.to_string(),
                })?;
        entry
            .to_object(&git)
            .and_then(|o| o.peel_to_tree())
            .map_err(read_err)?
    };

    // The same rules as the working tree: `.gitignore` files of the revision (committed files
    // that a `.gitignore` lists are skipped too), hidden entries, and output trees.
    let mut rules = IgnoreRules::default();
    let mut out = Discovered::default();
    let gitignore_of = |tree: &git2::Tree<'_>| -> Option<String> {
        let entry = tree.get_name(IGNORE_FILE)?;
        if entry.filemode() == 0o120_000 {
            return None;
        }
        let blob = git.find_blob(entry.id()).ok()?;
        (blob.size() as u64 <= MAX_FILE_BYTES)
            .then(|| String::from_utf8_lossy(blob.content()).into_owned())
    };
    if let Some(text) = gitignore_of(&tree) {
        rules.add("", &text);
    }
    let mut entries: Vec<(String, git2::Oid, i32)> = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
        let name = entry.name().unwrap_or_default();
        if name.starts_with('.') {
            return git2::TreeWalkResult::Skip;
        }
        let rel = format!("{parent}{name}");
        if entry.kind() == Some(git2::ObjectType::Tree) {
            if let Some(why) = rules.why_ignored(&rel, true) {
                out.ignored.push(Skipped {
                    rel_path: format!("{rel}/"),
                    reason: format!("ignored by {why}"),
                });
                return git2::TreeWalkResult::Skip;
            }
            let Ok(sub) = git.find_tree(entry.id()) else {
                return git2::TreeWalkResult::Skip;
            };
            if sub.get_name(OWNED_RECORD).is_some() {
                out.excluded.push(Skipped {
                    rel_path: format!("{rel}/"),
                    reason: format!("output directory (holds {OWNED_RECORD})"),
                });
                return git2::TreeWalkResult::Skip;
            }
            if let Some(text) = gitignore_of(&sub) {
                rules.add(&rel, &text);
            }
        } else if entry.kind() == Some(git2::ObjectType::Blob) && is_yaml(&rel) {
            out.yaml_seen += 1;
            if let Some(why) = rules.why_ignored(&rel, false) {
                out.ignored.push(Skipped {
                    rel_path: rel,
                    reason: format!("ignored by {why}"),
                });
            } else {
                entries.push((rel, entry.id(), entry.filemode()));
            }
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(read_err)?;
    // Same order as the working-tree walk: by path components.
    entries.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));

    let (mut files, mut diags) = (Vec::new(), Vec::new());
    for (rel, oid, mode) in entries {
        let shown = display_path(repo, &rel);
        let file_diag = |code: Code, msg: String| {
            (
                rel.clone(),
                Diagnostic::error(code, shown.clone(), Pos::default(), Vec::new(), msg),
            )
        };
        // A committed symlink is followed like in the working tree: to a file inside the
        // repository directory only.
        let oid = if mode == 0o120_000 {
            let link = git.find_blob(oid).map_err(read_err)?;
            let to = String::from_utf8_lossy(link.content()).into_owned();
            let base = rel.rsplit_once('/').map_or("", |(d, _)| d);
            let Some(target) = resolve_link(base, &to) else {
                diags.push(file_diag(
                    Code::BadSymlink,
                    format!("symlink points outside the repository (to {to}); refusing to read it"),
                ));
                continue;
            };
            match tree.get_path(Path::new(&target)) {
                Ok(e) if e.kind() == Some(git2::ObjectType::Blob) && e.filemode() != 0o120_000 => {
                    out.links.insert(rel.clone(), target);
                    e.id()
                }
                Ok(_) => continue, // a directory (never entered) or a chain of links
                Err(_) => {
                    diags.push(file_diag(
                        Code::BadSymlink,
                        format!("cannot follow symlink: {to} does not exist at revision {rev}"),
                    ));
                    continue;
                }
            }
        } else {
            oid
        };
        let blob = git.find_blob(oid).map_err(read_err)?;
        if blob.size() as u64 > MAX_FILE_BYTES {
            diags.push(file_diag(
                Code::UnreadableFile,
                format!(
                    "file is {} bytes at revision {rev}; the limit is {MAX_FILE_BYTES}",
                    blob.size()
                ),
            ));
            continue;
        }
        match std::str::from_utf8(blob.content()) {
            Ok(text) => files.push(SourceFile {
                rel_path: rel,
                display_path: shown,
                text: text.to_string(),
            }),
            Err(e) => diags.push(file_diag(
                Code::UnreadableFile,
                format!("not UTF-8 at revision {rev} (byte {})", e.valid_up_to()),
            )),
        }
    }
    out.files = files;
    out.diags = diags;
    Ok(out)
}

/// The repository-relative path a link in directory `base` pointing to `to` names, or `None`
/// when it is absolute or climbs out of the repository.
fn resolve_link(base: &str, to: &str) -> Option<String> {
    if to.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in to.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::resolve_link;

    #[test]
    fn links_resolve_inside_the_repository_only() {
        assert_eq!(
            resolve_link("a/b", "../c.yaml").as_deref(),
            Some("a/c.yaml")
        );
        assert_eq!(resolve_link("", "./x/y.yaml").as_deref(), Some("x/y.yaml"));
        assert_eq!(resolve_link("a", "../../etc/passwd"), None);
        assert_eq!(resolve_link("a", "/etc/passwd"), None);
    }
}
