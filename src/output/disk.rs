//! The output directory on disk: compare it with the tree (`plan`), and replace it in one step
//! (`write`): the new tree is built in a hidden staging directory beside it, then swapped in.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};

use super::sys::{Dir, Kind, Meta, Read, not_found};
use super::{OWNED_RECORD, Tree, WriteError, WriteReport};

/// Largest file read from the output directory (the input limit): anything longer differs.
pub(super) const MAX_READ: u64 = 16 << 20;

/// Middle part of the names of our staging and old directories, next to the output directory:
/// `.<name>.k8ssandra-gitops-staging-<16 hex digits>` and `.<name>.k8ssandra-gitops-old-<...>`.
const STAGING: &str = "k8ssandra-gitops-staging-";
const OLD: &str = "k8ssandra-gitops-old-";

/// Something at a path the writer needs that it must not replace or write through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Conflict {
    /// Path inside the output directory (`""`: the directory itself).
    pub rel: String,
    /// What was found, with the path as shown to the user.
    pub message: String,
    /// How to fix it.
    pub hint: &'static str,
    /// Line of the record that lists the path, when only the record does.
    pub record_line: Option<u32>,
}

/// One planned change of a file.
#[derive(Debug)]
pub(super) enum Old {
    Absent,
    Bytes(Vec<u8>),
    TooLarge,
}

/// What writing the tree would change.
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// Whether the output directory exists.
    pub exists: bool,
    /// Mode of the output directory, when it exists.
    pub mode: Option<u32>,
    pub conflicts: Vec<Conflict>,
    /// Rendered files that are absent or differ, with what is there now.
    pub changed: Vec<(String, Old)>,
    /// Rendered files whose bytes are already right.
    pub unchanged: BTreeSet<String>,
    /// Files of the old record that are no longer rendered, with what is there now.
    pub pruned: Vec<(String, Old)>,
    /// Our staging/old directories left by an interrupted run, next to the output directory.
    pub leftovers: Vec<OsString>,
}

/// The output directory, as its parent and its name.
pub(super) struct Target {
    pub shown: PathBuf,
    pub parent_path: PathBuf,
    pub name: OsString,
}

impl Target {
    pub(super) fn new(dir: &Path) -> Result<Target, WriteError> {
        let resolved;
        let dir_for_name = if dir.file_name().is_some() {
            dir
        } else {
            // `..`, `/`, `x/..`: name the directory it resolves to.
            resolved = std::fs::canonicalize(dir).map_err(super::io("resolve", dir))?;
            &resolved
        };
        let name = dir_for_name
            .file_name()
            .ok_or_else(|| WriteError::Io {
                action: "use as the output directory",
                path: dir.to_path_buf(),
                source: io::Error::other("it has no name"),
            })?
            .to_os_string();
        let parent_path = match dir_for_name.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(Target {
            shown: dir.to_path_buf(),
            parent_path,
            name,
        })
    }

    fn shown(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.shown.display().to_string()
        } else {
            self.shown.join(rel).display().to_string()
        }
    }

    /// `.<name>.<middle><hex>` when `entry` is one of ours.
    fn is_ours(&self, entry: &OsStr, middle: &str) -> bool {
        let mut prefix = OsString::from(".");
        prefix.push(&self.name);
        prefix.push(".");
        prefix.push(middle);
        let (entry, prefix) = (entry.as_encoded_bytes(), prefix.as_encoded_bytes());
        entry.len() == prefix.len() + 16
            && entry.starts_with(prefix)
            && entry[prefix.len()..]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    }

    fn fresh_name(&self, middle: &str) -> OsString {
        let mut n = OsString::from(".");
        n.push(&self.name);
        n.push(".");
        n.push(middle);
        n.push(random_hex());
        n
    }
}

/// 64 unpredictable bits as 16 hex digits: the standard library's randomly keyed SipHash of
/// the time, the process and a counter.
fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:016x}", h.finish())
}

fn io_at(action: &'static str, path: PathBuf) -> impl FnOnce(io::Error) -> WriteError {
    move |source| WriteError::Io {
        action,
        path,
        source,
    }
}

/// Paths listed in the record that are safe to touch: relative, every component a plain name
/// that does not start with `.` (the renderer never writes such a path; this refuses `..`,
/// absolute paths, `.git/...` and the record itself).
pub(crate) fn parse_record(text: &str) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let safe = line
            .split('/')
            .all(|c| !c.is_empty() && !c.starts_with('.') && !c.contains(['\\', '\0']));
        if safe {
            out.entry(line.to_string())
                .or_insert(u32::try_from(i + 1).unwrap_or(u32::MAX));
        }
    }
    out
}

/// What the record says is ours: path → line in the record.
fn read_record(dir: &Dir) -> io::Result<BTreeMap<String, u32>> {
    match dir.read_file(OsStr::new(OWNED_RECORD), MAX_READ) {
        Ok(Read::Bytes(b)) => Ok(parse_record(&String::from_utf8_lossy(&b))),
        Ok(_) => Ok(BTreeMap::new()),
        Err(e) if not_found(&e) => Ok(BTreeMap::new()),
        Err(e) => Err(e),
    }
}

/// The record's text in the directory at `path`, read as the writer reads it (never through a
/// symlink, bounded), or `None` when the directory or its record does not exist.
pub(super) fn read_record_at(path: &Path) -> Result<Option<String>, String> {
    // A symlink where the output directory should be is not one we wrote into.
    if std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_dir()) {
        return Ok(None);
    }
    let shown = path.join(OWNED_RECORD);
    let read =
        Dir::open_path(path).and_then(|dir| dir.read_file(OsStr::new(OWNED_RECORD), MAX_READ));
    match read {
        Ok(Read::Bytes(b)) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Ok(Read::NotRegular(_)) => Err(format!(
            "{} is not a regular file (a symlink?); refusing to read it",
            shown.display()
        )),
        Ok(Read::TooLarge) => Err(format!(
            "{} is more than the {MAX_READ}-byte limit",
            shown.display()
        )),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", shown.display())),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want<'a> {
    Write(&'a [u8]),
    Prune,
}

/// An open directory on the way down, or why there is none.
enum Slot {
    Open(Dir),
    Absent,
    Blocked,
}

/// Compares the tree with the output directory; reads nothing but regular files, never
/// follows a symlink, never opens a FIFO or a device.
pub(super) fn plan(target: &Target, tree: &Tree) -> Result<Plan, WriteError> {
    let mut plan = Plan::default();
    let parent = match Dir::open_path(&target.parent_path) {
        Ok(d) => Some(d),
        Err(e) if not_found(&e) => None,
        Err(e) => return Err(io_at("open directory", target.parent_path.clone())(e)),
    };
    let mut root = Slot::Absent;
    if let Some(parent) = &parent {
        for entry in parent
            .names()
            .map_err(io_at("read directory", target.parent_path.clone()))?
        {
            if (target.is_ours(&entry, STAGING) || target.is_ours(&entry, OLD))
                && parent.stat(&entry).ok().flatten().map(|m| m.kind) == Some(Kind::Dir)
            {
                plan.leftovers.push(entry);
            }
        }
        match parent
            .stat(&target.name)
            .map_err(io_at("inspect", target.shown.clone()))?
        {
            None => {}
            Some(Meta {
                kind: Kind::Dir,
                mode,
            }) => {
                root = Slot::Open(
                    parent
                        .open_dir(&target.name)
                        .map_err(io_at("open directory", target.shown.clone()))?,
                );
                plan.exists = true;
                plan.mode = Some(mode);
            }
            Some(m) => {
                plan.conflicts.push(Conflict {
                    rel: String::new(),
                    message: format!(
                        "{}: is {}, expected a directory",
                        target.shown(""),
                        m.kind.noun()
                    ),
                    hint: "remove it; the renderer never writes through a symlink",
                    record_line: None,
                });
                return Ok(plan);
            }
        }
    }
    let record = match &root {
        Slot::Open(d) => read_record(d).map_err(io_at("read", target.shown.join(OWNED_RECORD)))?,
        _ => BTreeMap::new(),
    };
    let mut wants: BTreeMap<&str, Want> = BTreeMap::new();
    for (rel, bytes) in tree {
        wants.insert(rel, Want::Write(bytes));
    }
    for rel in record.keys() {
        wants.entry(rel).or_insert(Want::Prune);
    }
    // Paths sorted as strings: every directory's paths are contiguous, so one stack of open
    // directories (as deep as the tree) serves them all.
    let mut stack: Vec<(String, Slot)> = Vec::new();
    for (rel, want) in &wants {
        let parts: Vec<&str> = rel.split('/').collect();
        let (file, dirs) = parts.split_last().unwrap_or((&"", &[]));
        let keep = stack
            .iter()
            .zip(dirs.iter())
            .take_while(|((s, _), d)| s == *d)
            .count();
        stack.truncate(keep);
        while stack.len() < dirs.len() {
            let depth = stack.len();
            let prefix = dirs[..=depth].join("/");
            let up = stack.last().map_or(&root, |(_, s)| s);
            let slot = match up {
                Slot::Absent => Slot::Absent,
                Slot::Blocked => Slot::Blocked,
                Slot::Open(d) => {
                    let name = OsStr::new(dirs[depth]);
                    match d
                        .stat(name)
                        .map_err(io_at("inspect", target.shown.join(&prefix)))?
                    {
                        None => Slot::Absent,
                        Some(m) if m.kind == Kind::Dir => Slot::Open(
                            d.open_dir(name)
                                .map_err(io_at("open directory", target.shown.join(&prefix)))?,
                        ),
                        // An owned file that is pruned makes room for the directory.
                        Some(m)
                            if m.kind == Kind::File
                                && wants.get(prefix.as_str()) == Some(&Want::Prune) =>
                        {
                            Slot::Absent
                        }
                        Some(m) => {
                            plan.conflicts.push(Conflict {
                                rel: prefix.clone(),
                                message: format!(
                                    "{}: is {}, expected a directory",
                                    target.shown(&prefix),
                                    m.kind.noun()
                                ),
                                hint: if m.kind == Kind::Symlink {
                                    "remove it; the renderer never writes through a symlink"
                                } else {
                                    "move it away or delete it; the renderer writes there"
                                },
                                record_line: None,
                            });
                            Slot::Blocked
                        }
                    }
                }
            };
            stack.push((dirs[depth].to_string(), slot));
        }
        let up = stack.last().map_or(&root, |(_, s)| s);
        let found = match up {
            Slot::Blocked => continue,
            Slot::Absent => Err(io::Error::from(io::ErrorKind::NotFound)),
            Slot::Open(d) => d.read_file(
                OsStr::new(file),
                match want {
                    Want::Write(b) => MAX_READ.max(b.len() as u64),
                    Want::Prune => MAX_READ,
                },
            ),
        };
        let old = match found {
            Ok(Read::Bytes(b)) => Old::Bytes(b),
            Ok(Read::TooLarge) => Old::TooLarge,
            Ok(Read::NotRegular(kind)) => {
                plan.conflicts.push(Conflict {
                    rel: (*rel).to_string(),
                    message: format!(
                        "{}: is {}, expected a regular file",
                        target.shown(rel),
                        kind.noun()
                    ),
                    hint: if kind == Kind::Symlink {
                        "remove it; the renderer never reads or writes through a symlink"
                    } else {
                        "move it away or delete it; the renderer writes there"
                    },
                    record_line: if *want == Want::Prune {
                        record.get(*rel).copied()
                    } else {
                        None
                    },
                });
                continue;
            }
            Err(e) if not_found(&e) => Old::Absent,
            Err(e) => return Err(io_at("read", target.shown.join(rel))(e)),
        };
        match (want, old) {
            (Want::Prune, Old::Absent) => {}
            (Want::Prune, old) => plan.pruned.push(((*rel).to_string(), old)),
            (Want::Write(new), Old::Bytes(b)) if b == *new => {
                plan.unchanged.insert((*rel).to_string());
            }
            (Want::Write(_), Old::Absent) => plan.changed.push(((*rel).to_string(), Old::Absent)),
            (Want::Write(_), old) if record.contains_key(*rel) || *rel == OWNED_RECORD => {
                plan.changed.push(((*rel).to_string(), old));
            }
            (Want::Write(_), _) => plan.conflicts.push(Conflict {
                rel: (*rel).to_string(),
                message: format!(
                    "{}: exists and was not written by k8ssandra-gitops (it is not listed in {OWNED_RECORD}); refusing to overwrite it",
                    target.shown(rel)
                ),
                hint: "move it away or delete it; the renderer writes there",
                record_line: None,
            }),
        }
    }
    Ok(plan)
}

/// The tree to build, as nested directories.
#[derive(Debug, Default)]
struct Layout<'a> {
    files: BTreeMap<&'a str, (&'a str, &'a [u8])>,
    dirs: BTreeMap<&'a str, Layout<'a>>,
}

impl<'a> Layout<'a> {
    fn new(tree: &'a Tree) -> Self {
        let mut root = Layout::default();
        for (rel, bytes) in tree {
            let mut node = &mut root;
            let mut parts = rel.split('/').peekable();
            while let Some(part) = parts.next() {
                if parts.peek().is_none() {
                    node.files.insert(part, (rel.as_str(), bytes.as_slice()));
                } else {
                    node = node.dirs.entry(part).or_default();
                }
            }
        }
        root
    }
}

/// Fills `new` (empty, ours) with what `old` holds and `want` says.
struct Fill<'p> {
    plan_unchanged: &'p BTreeSet<String>,
    pruned: BTreeSet<&'p str>,
    staging_path: PathBuf,
}

impl Fill<'_> {
    fn err(&self, action: &'static str, rel: &str) -> impl FnOnce(io::Error) -> WriteError {
        io_at(action, self.staging_path.join(rel))
    }

    fn fill(
        &self,
        old: Option<&Dir>,
        new: &Dir,
        want: Option<&Layout>,
        rel: &str,
    ) -> Result<(), WriteError> {
        let join = |name: &str| {
            if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            }
        };
        let mut names: BTreeSet<OsString> = BTreeSet::new();
        if let Some(old) = old {
            names.extend(old.names().map_err(self.err("read directory", rel))?);
        }
        if let Some(w) = want {
            names.extend(w.files.keys().map(OsString::from));
            names.extend(w.dirs.keys().map(OsString::from));
        }
        for name in &names {
            let text = name.to_str();
            let child = join(&name.to_string_lossy());
            let meta = match old {
                Some(o) => o.stat(name).map_err(self.err("inspect", &child))?,
                None => None,
            };
            if let Some((path, bytes)) = text.and_then(|t| want?.files.get(t)) {
                let linked = match (old, meta) {
                    (Some(o), Some(m))
                        if m.kind == Kind::File && self.plan_unchanged.contains(*path) =>
                    {
                        o.link(name, new, name).is_ok()
                    }
                    _ => false,
                };
                if !linked {
                    new.create(name, bytes).map_err(self.err("write", &child))?;
                }
            } else if let Some(sub) = text.and_then(|t| want?.dirs.get(t)) {
                let old_sub = match (old, meta) {
                    (Some(o), Some(m)) if m.kind == Kind::Dir => Some(
                        o.open_dir(name)
                            .map_err(self.err("open directory", &child))?,
                    ),
                    _ => None,
                };
                new.mkdir(name, if old_sub.is_some() { 0o700 } else { 0o777 })
                    .map_err(self.err("create directory", &child))?;
                let new_sub = new
                    .open_dir(name)
                    .map_err(self.err("open directory", &child))?;
                self.fill(old_sub.as_ref(), &new_sub, Some(sub), &child)?;
                if let Some(m) = meta.filter(|_| old_sub.is_some()) {
                    new_sub
                        .set_mode(m.mode)
                        .map_err(self.err("set the mode of", &child))?;
                }
            } else if let (Some(o), Some(m)) = (old, meta) {
                // Not rendered: foreign, or owned and pruned.
                if self.pruned.contains(child.as_str()) || (rel.is_empty() && name == OWNED_RECORD)
                {
                    continue;
                }
                self.keep(o, new, name, m, &child)?;
            }
        }
        Ok(())
    }

    /// Carries a file the renderer does not write into the new tree: directories recreated,
    /// symlinks recreated as symlinks (never followed), everything else hard-linked (or
    /// copied where the file system refuses a link).
    fn keep(
        &self,
        old: &Dir,
        new: &Dir,
        name: &OsStr,
        m: Meta,
        child: &str,
    ) -> Result<(), WriteError> {
        match m.kind {
            Kind::Dir => {
                let old_sub = old
                    .open_dir(name)
                    .map_err(self.err("open directory", child))?;
                new.mkdir(name, 0o700)
                    .map_err(self.err("create directory", child))?;
                let new_sub = new
                    .open_dir(name)
                    .map_err(self.err("open directory", child))?;
                self.fill(Some(&old_sub), &new_sub, None, child)?;
                let was_empty = old_sub
                    .names()
                    .map_err(self.err("read directory", child))?
                    .is_empty();
                let is_empty = new_sub
                    .names()
                    .map_err(self.err("read directory", child))?
                    .is_empty();
                if is_empty && !was_empty {
                    // Everything in it was pruned: the directory goes too.
                    new.remove_dir(name)
                        .map_err(self.err("remove directory", child))?;
                } else {
                    new_sub
                        .set_mode(m.mode)
                        .map_err(self.err("set the mode of", child))?;
                }
            }
            Kind::Symlink => {
                let target = old
                    .read_link(name)
                    .map_err(self.err("read symlink", child))?;
                new.symlink(&target, name)
                    .map_err(self.err("recreate symlink", child))?;
            }
            Kind::File => {
                if old.link(name, new, name).is_err() {
                    old.copy(name, new, name).map_err(self.err("copy", child))?;
                }
            }
            _ => old.link(name, new, name).map_err(self.err("link", child))?,
        }
        Ok(())
    }
}

/// Removes a directory tree of ours without following symlinks; read-only directories inside
/// are made writable first.
fn remove_tree(parent: &Dir, name: &OsStr) -> io::Result<()> {
    let dir = parent.open_dir(name)?;
    let _ = dir.set_mode(0o700);
    for entry in dir.names()? {
        match dir.stat(&entry)? {
            Some(m) if m.kind == Kind::Dir => remove_tree(&dir, &entry)?,
            Some(_) => dir.unlink(&entry)?,
            None => {}
        }
    }
    parent.remove_dir(name)
}

/// Replaces the output directory with the tree: all or nothing.
pub(super) fn write(target: &Target, tree: &Tree) -> Result<(Plan, WriteReport), WriteError> {
    std::fs::create_dir_all(&target.parent_path)
        .map_err(io_at("create directory", target.parent_path.clone()))?;
    let parent = Dir::open_path(&target.parent_path)
        .map_err(io_at("open directory", target.parent_path.clone()))?;
    recover(target, &parent)?;
    let plan = plan(target, tree)?;
    if !plan.conflicts.is_empty() {
        return Ok((plan, WriteReport::default()));
    }
    for entry in &plan.leftovers {
        remove_tree(&parent, entry).map_err(io_at("remove", target.parent_path.join(entry)))?;
    }
    let report = WriteReport {
        written: plan
            .changed
            .iter()
            .map(|(p, _)| p.clone())
            .filter(|p| p != OWNED_RECORD)
            .collect(),
        pruned: plan.pruned.iter().map(|(p, _)| p.clone()).collect(),
        unchanged: plan.unchanged.iter().filter(|p| *p != OWNED_RECORD).count(),
    };
    if plan.changed.is_empty() && plan.pruned.is_empty() {
        return Ok((plan, report));
    }
    let staging = loop {
        let name = target.fresh_name(STAGING);
        match parent.mkdir(&name, if plan.exists { 0o700 } else { 0o777 }) {
            Ok(()) => break name,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_at("create directory", target.parent_path.join(&name))(e)),
        }
    };
    let staging_path = target.parent_path.join(&staging);
    let built = (|| {
        let new = parent
            .open_dir(&staging)
            .map_err(io_at("open directory", staging_path.clone()))?;
        let old = if plan.exists {
            Some(
                parent
                    .open_dir(&target.name)
                    .map_err(io_at("open directory", target.shown.clone()))?,
            )
        } else {
            None
        };
        let fill = Fill {
            plan_unchanged: &plan.unchanged,
            pruned: plan.pruned.iter().map(|(p, _)| p.as_str()).collect(),
            staging_path: staging_path.clone(),
        };
        fill.fill(old.as_ref(), &new, Some(&Layout::new(tree)), "")?;
        if let Some(mode) = plan.mode {
            new.set_mode(mode)
                .map_err(io_at("set the mode of", staging_path.clone()))?;
        }
        swap(target, &parent, &staging, plan.exists)
    })();
    match built {
        Ok(()) => Ok((plan, report)),
        Err(e) => {
            let _ = remove_tree(&parent, &staging);
            Err(e)
        }
    }
}

/// Puts the staging directory in place of the output directory in one step where the system
/// can (`renameat2(RENAME_EXCHANGE)` on Linux, `RENAME_SWAP` on Apple systems), then removes
/// the old tree. Elsewhere: two renames, the old tree first moved aside (see [`recover`]).
fn swap(target: &Target, parent: &Dir, staging: &OsStr, exists: bool) -> Result<(), WriteError> {
    if !exists {
        return parent
            .rename_new(staging, &target.name)
            .map_err(io_at("rename into place", target.shown.clone()));
    }
    if parent
        .exchange(staging, &target.name)
        .map_err(io_at("swap in", target.shown.clone()))?
    {
        // The staging name now holds the old tree; a failure to remove it is cleaned up by
        // the next run.
        let _ = remove_tree(parent, staging);
        return Ok(());
    }
    let aside = target.fresh_name(OLD);
    parent
        .rename(&target.name, &aside)
        .map_err(io_at("move aside", target.shown.clone()))?;
    if let Err(e) = parent.rename(staging, &target.name) {
        let _ = parent.rename(&aside, &target.name);
        return Err(io_at("rename into place", target.shown.clone())(e));
    }
    let _ = remove_tree(parent, &aside);
    Ok(())
}

/// After a run stopped between the two renames of the fallback swap, the output directory is
/// missing and the previous tree sits aside: put it back.
fn recover(target: &Target, parent: &Dir) -> Result<(), WriteError> {
    if parent
        .stat(&target.name)
        .map_err(io_at("inspect", target.shown.clone()))?
        .is_some()
    {
        return Ok(());
    }
    let names = parent
        .names()
        .map_err(io_at("read directory", target.parent_path.clone()))?;
    let aside: Vec<&OsString> = names.iter().filter(|n| target.is_ours(n, OLD)).collect();
    if let [one] = aside.as_slice() {
        parent
            .rename_new(one, &target.name)
            .map_err(io_at("restore", target.shown.clone()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tampered_record_entries_are_ignored() {
        let got = parse_record(
            "# header\n../x\n/etc/passwd\n.git/config\na/../b\na//b\n.k8ssandra-gitops-owned\nok/a.yaml\nok/a.yaml\n",
        );
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            vec![("ok/a.yaml".to_string(), 8)]
        );
    }

    #[test]
    fn only_our_exact_leftover_names_are_recognised() {
        let t = Target::new(Path::new("repo/rendered")).unwrap();
        assert_eq!(t.parent_path, Path::new("repo"));
        assert!(t.is_ours(
            OsStr::new(".rendered.k8ssandra-gitops-staging-0123456789abcdef"),
            STAGING
        ));
        for other in [
            ".rendered.k8ssandra-gitops-staging-0123456789abcde",
            ".rendered.k8ssandra-gitops-staging-0123456789ABCDEF",
            ".rendered.k8ssandra-gitops-staging-0123456789abcdef0",
            ".other.k8ssandra-gitops-staging-0123456789abcdef",
            "rendered",
        ] {
            assert!(!t.is_ours(OsStr::new(other), STAGING), "{other}");
        }
        let fresh = t.fresh_name(STAGING);
        assert!(t.is_ours(&fresh, STAGING));
        assert_ne!(fresh, t.fresh_name(STAGING));
        assert_eq!(
            Target::new(Path::new("rendered")).unwrap().parent_path,
            Path::new(".")
        );
    }
}
