//! The output directory on disk: compare it with the tree (`plan`), and replace it in one step
//! (`write`): the new tree is built in a hidden staging directory beside it, then swapped in.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::{OsStr, OsString};
use std::hash::BuildHasher as _;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::sys::{Dir, Identity, Kind, Meta, Read, not_found};
use super::{OWNED_RECORD, WriteError, WriteReport};

/// Largest file read from the output directory (the input limit): anything longer differs.
pub(super) const MAX_READ: u64 = 16 << 20;

/// Middle part of the names of our staging and old directories, next to the output directory:
/// `.<name>.k8ssandra-gitops-staging-<16 hex digits>` and `.<name>.k8ssandra-gitops-old-<...>`.
const STAGING: &str = "k8ssandra-gitops-staging-";
const OLD: &str = "k8ssandra-gitops-old-";

/// The old output directory, shared with the rendering threads: they look for the files that
/// already hold their rendered bytes, in parallel, so that an unchanged re-render is not held
/// up by one thread reading every file. Only a shortcut: what it does not find (any difference,
/// a symlink on the way, a special file, an error) is looked at again by the [`Streamer`].
pub(crate) struct OldTree {
    root: Dir,
    /// Files found holding their rendered bytes: which files they were (only those are
    /// carried into the new tree) and a hash of the bytes; taken by the streamer as their
    /// objects arrive.
    found: Mutex<HashMap<String, (Identity, u64)>>,
    /// Keys of that hash, random per run: the streamer takes a mark only for the very bytes
    /// that were compared. An object looked up and then dropped (a Secret that an earlier
    /// cluster already renders, with other labels) must not vouch for another at its path.
    keys: std::hash::RandomState,
}

impl OldTree {
    /// For each file (`/`-separated path below the output directory, rendered bytes if made),
    /// notes whether the old tree holds exactly those bytes there, never through a symlink.
    /// Files of one directory are looked up through one open directory.
    pub(crate) fn look(&self, files: &[(&str, Option<&[u8]>)]) {
        let mut order: Vec<usize> = (0..files.len()).collect();
        order.sort_by_key(|&i| files[i].0);
        let mut open: Option<(&str, Option<Dir>)> = None;
        let mut found = Vec::new();
        for i in order {
            let (rel, Some(bytes)) = files[i] else {
                continue;
            };
            // Only plain names, never a way up (the fallback walk would follow one).
            if rel.split('/').any(|n| matches!(n, "" | "." | "..")) {
                continue;
            }
            // Every rendered file is in a context's directory; the streamer looks at any other.
            let Some((parent, name)) = rel.rsplit_once('/') else {
                continue;
            };
            if open.as_ref().is_none_or(|(p, _)| *p != parent) {
                open = Some((parent, self.root.open_beneath(parent).ok()));
            }
            let Some((_, Some(dir))) = &open else {
                continue;
            };
            if let Ok(Read::Bytes(old, identity)) =
                dir.read_file(OsStr::new(name), bytes.len() as u64)
                && old == bytes
            {
                found.push((rel.to_string(), (identity, self.keys.hash_one(bytes))));
            }
        }
        if !found.is_empty() {
            self.found
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend(found);
        }
    }

    /// The file at `rel` if a rendering thread found it holding `bytes` ([`OldTree::look`]).
    fn take(&self, rel: &str, bytes: &[u8]) -> Option<Identity> {
        let (identity, hash) = self
            .found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(rel)?;
        (hash == self.keys.hash_one(bytes)).then_some(identity)
    }
}

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
/// The output directory changed under the render (another process, a user): nothing is
/// swapped in; running again renders from what is there then.
fn changed_during_render(path: &Path, what: &str) -> WriteError {
    WriteError::Io {
        action: "carry over",
        path: path.to_path_buf(),
        source: io::Error::other(format!(
            "the output directory changed during the render ({what}); nothing was written, run again"
        )),
    }
}

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
        Ok(Read::Bytes(b, _)) => Ok(parse_record(&String::from_utf8_lossy(&b))),
        Ok(_) => Ok(BTreeMap::new()),
        Err(e) if not_found(&e) => Ok(BTreeMap::new()),
        Err(e) => Err(e),
    }
}

/// Why an ownership record cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A symlink, FIFO or directory where the record should be.
    #[error("{} is not a regular file (a symlink?); refusing to read it", .0.display())]
    NotRegular(PathBuf),
    /// Longer than the writer reads.
    #[error("{} is more than the {MAX_READ}-byte limit", .0.display())]
    TooLarge(PathBuf),
    /// Reading failed.
    #[error("cannot read {}: {}", .0.display(), .1)]
    Io(PathBuf, io::Error),
}

/// The record's text in the directory at `path`, read as the writer reads it (never through a
/// symlink, bounded), or `None` when the directory or its record does not exist.
pub(super) fn read_record_at(path: &Path) -> Result<Option<String>, RecordError> {
    // A symlink where the output directory should be is not one we wrote into.
    if std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_dir()) {
        return Ok(None);
    }
    let shown = path.join(OWNED_RECORD);
    let read =
        Dir::open_path(path).and_then(|dir| dir.read_file(OsStr::new(OWNED_RECORD), MAX_READ));
    match read {
        Ok(Read::Bytes(b, _)) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Ok(Read::NotRegular(_)) => Err(RecordError::NotRegular(shown)),
        Ok(Read::TooLarge) => Err(RecordError::TooLarge(shown)),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(RecordError::Io(shown, e)),
    }
}

/// An open directory on the way down, or why there is none.
enum Slot {
    Open(Dir),
    Absent,
    Blocked,
}

/// Carries what the renderer does not write from the old tree into the staging directory.
struct Fill<'p> {
    /// Owned files no longer rendered: left out.
    pruned: BTreeSet<&'p str>,
    staging_path: PathBuf,
    /// How many unchanged files were carried over (all of them must be).
    carried: std::cell::Cell<usize>,
}

impl Fill<'_> {
    fn err(&self, action: &'static str, rel: &str) -> impl FnOnce(io::Error) -> WriteError {
        io_at(action, self.staging_path.join(rel))
    }

    /// Fills `new` (empty, ours) with what `old` (at `rel`, a directory without rendered
    /// files) holds, but for the pruned files.
    fn fill(&self, old: &Dir, new: &Dir, rel: &str) -> Result<(), WriteError> {
        for name in old.names().map_err(self.err("read directory", rel))? {
            let child = format!("{rel}/{}", name.to_string_lossy());
            let Some(m) = old.stat(&name).map_err(self.err("inspect", &child))? else {
                continue;
            };
            if !self.pruned.contains(child.as_str()) {
                self.keep(old, new, &name, m, &child)?;
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
                self.fill(&old_sub, &new_sub, child)?;
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

/// What a streaming pass ([`Streamer`]) does with each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// `validate`: find what writing would refuse; only files that exist are serialized.
    Probe,
    /// `render --check`: also every difference, with the bytes of the changed files.
    Check,
    /// `render`: also build the new tree in a staging directory, to swap in at the end.
    Write,
}

/// What became of a streamed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// The file on disk already holds these bytes; the identity of the file compared (only
    /// that file is carried into the new tree: one replaced or edited since is not).
    Unchanged(Identity),
    /// Absent or different (in write mode: written into the staging directory).
    Changed,
    /// Refused, or not looked at (a problem was found).
    Refused,
}

/// A directory on the way down: the old tree's, and (in write mode, once needed) the staging
/// tree's.
struct Level {
    name: String,
    old: Slot,
    new: Option<Dir>,
}

/// Compares files with the output directory as they come, one at a time (and in write mode
/// writes the changed ones into a staging directory), so that no tree of all the bytes is ever
/// held (issue #13). The same rules as [`plan`] and [`write`]: nothing but regular files read,
/// never through a symlink; every file read once; a file not in the record never replaced.
/// The staging directory is removed when the streamer is dropped without [`Streamer::finish`].
pub(super) struct Streamer {
    mode: Mode,
    target: Target,
    parent: Option<Dir>,
    root: Slot,
    exists: bool,
    dir_mode: Option<u32>,
    record: BTreeMap<String, u32>,
    leftovers: Vec<OsString>,
    /// Each with the path whose lookup found it (their order in a whole-tree plan).
    conflicts: Vec<(String, Conflict)>,
    /// Every path streamed.
    /// Keyed by the path the render hands on (shared with the rest of the bookkeeping).
    files: BTreeMap<Arc<str>, Fate>,
    /// Check mode: absent or different files, with the old and new bytes.
    changed: Vec<(String, Old, Vec<u8>)>,
    stack: Vec<Level>,
    /// The staging directory, once a file had to be written.
    staging: Option<(OsString, Dir)>,
    /// Directories created on the way to the output directory's parent, to remove again when
    /// nothing is swapped in.
    created: Vec<PathBuf>,
    /// The first IO failure; nothing more is done after it.
    error: Option<WriteError>,
}

/// What a finished streaming pass found.
#[derive(Debug, Default)]
pub(super) struct Streamed {
    pub conflicts: Vec<Conflict>,
    pub leftovers: Vec<OsString>,
    /// Check mode: absent or different files, old and new bytes.
    pub changed: Vec<(String, Old, Vec<u8>)>,
    /// Files of the old record no longer rendered (check mode: with their bytes).
    pub pruned: Vec<(String, Old)>,
    pub report: WriteReport,
}

impl Streamer {
    /// Opens the output directory for a streaming pass. Only write mode changes anything here:
    /// it creates the missing parents of the output directory (removed again unless the new
    /// tree is swapped in) and puts back a tree left aside by an interrupted run.
    pub(super) fn new(dir: &Path, mode: Mode) -> Result<Streamer, WriteError> {
        let target = Target::new(dir)?;
        let mut created = Vec::new();
        if mode == Mode::Write {
            let mut missing = Vec::new();
            let mut p = target.parent_path.as_path();
            while std::fs::symlink_metadata(p).is_err() {
                missing.push(p.to_path_buf());
                match p.parent() {
                    Some(up) if !up.as_os_str().is_empty() => p = up,
                    _ => break,
                }
            }
            for p in missing.into_iter().rev() {
                match std::fs::create_dir(&p) {
                    Ok(()) => created.push(p),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => {
                        remove_created(&created);
                        return Err(io_at("create directory", p)(e));
                    }
                }
            }
        }
        let mut s = Streamer {
            mode,
            target,
            parent: None,
            root: Slot::Absent,
            exists: false,
            dir_mode: None,
            record: BTreeMap::new(),
            leftovers: Vec::new(),
            conflicts: Vec::new(),
            files: BTreeMap::new(),
            changed: Vec::new(),
            stack: Vec::new(),
            staging: None,
            created,
            error: None,
        };
        if let Err(e) = s.open() {
            remove_created(&s.created);
            s.created.clear();
            return Err(e);
        }
        Ok(s)
    }

    fn open(&mut self) -> Result<(), WriteError> {
        let target = &self.target;
        let parent = match Dir::open_path(&target.parent_path) {
            Ok(d) => d,
            Err(e) if not_found(&e) && self.mode != Mode::Write => return Ok(()),
            Err(e) => return Err(io_at("open directory", target.parent_path.clone())(e)),
        };
        if self.mode == Mode::Write {
            recover(target, &parent)?;
        }
        for entry in parent
            .names()
            .map_err(io_at("read directory", target.parent_path.clone()))?
        {
            if (target.is_ours(&entry, STAGING) || target.is_ours(&entry, OLD))
                && parent.stat(&entry).ok().flatten().map(|m| m.kind) == Some(Kind::Dir)
            {
                self.leftovers.push(entry);
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
                ..
            }) => {
                self.root = Slot::Open(
                    parent
                        .open_dir(&target.name)
                        .map_err(io_at("open directory", target.shown.clone()))?,
                );
                self.exists = true;
                self.dir_mode = Some(mode);
            }
            Some(m) => {
                self.conflicts.push((
                    String::new(),
                    Conflict {
                        rel: String::new(),
                        message: format!(
                            "{}: is {}, expected a directory",
                            target.shown(""),
                            m.kind.noun()
                        ),
                        hint: "remove it; the renderer never writes through a symlink",
                        record_line: None,
                    },
                ));
                self.root = Slot::Blocked;
            }
        }
        if let Slot::Open(d) = &self.root {
            // One writer at a time: a second render into the same directory would build its
            // tree from the one the first swaps away and removes. The lock is on the output
            // directory itself (held while it is open), so renders into other directories
            // beside it are not held up.
            if self.mode == Mode::Write
                && !d.try_lock().map_err(io_at("lock", target.shown.clone()))?
            {
                return Err(WriteError::Io {
                    action: "lock",
                    path: target.shown.clone(),
                    source: io::Error::other(
                        "another k8ssandra-gitops render is writing this directory; run again when it is done",
                    ),
                });
            }
            self.record = read_record(d).map_err(io_at("read", target.shown.join(OWNED_RECORD)))?;
        }
        self.parent = Some(parent);
        Ok(())
    }

    /// Whether a problem was found (nothing would be written).
    pub(super) fn refused(&self) -> bool {
        !self.conflicts.is_empty() || self.error.is_some()
    }

    /// Compares (and in write mode writes) one file; `bytes` makes its content, called only
    /// when needed (in probe mode only for a file that exists). A path streamed twice (two
    /// objects for one file, an error the renderer reports) is looked at once.
    pub(super) fn file(&mut self, rel: Arc<str>, bytes: impl FnOnce() -> Vec<u8>) {
        if self.error.is_some() || matches!(self.root, Slot::Blocked) {
            return;
        }
        if self.files.contains_key(&*rel) {
            return;
        }
        let fate = match self.compare(&rel, bytes) {
            Ok(f) => f,
            Err(e) => {
                self.error = Some(e);
                Fate::Refused
            }
        };
        self.files.insert(rel, fate);
    }

    /// A handle on the old tree for the rendering threads ([`OldTree`]), when there is one to
    /// compare with (a check or a write).
    pub(super) fn old_tree(&self) -> Option<OldTree> {
        match (&self.root, self.mode) {
            (Slot::Open(root), Mode::Check | Mode::Write) => {
                root.try_clone().ok().map(|root| OldTree {
                    root,
                    found: Mutex::new(HashMap::new()),
                    keys: std::hash::RandomState::new(),
                })
            }
            _ => None,
        }
    }

    /// Records `rel` as unchanged when a rendering thread found exactly `bytes` there
    /// ([`OldTree::look`]): it is then neither read again nor written. `false` when it did not.
    pub(super) fn found_unchanged(&mut self, rel: &Arc<str>, tree: &OldTree, bytes: &[u8]) -> bool {
        let Some(identity) = tree.take(rel, bytes) else {
            return false;
        };
        if self.error.is_none() && !matches!(self.root, Slot::Blocked) {
            self.files
                .entry(Arc::clone(rel))
                .or_insert(Fate::Unchanged(identity));
        }
        true
    }

    /// Opens the directories of `rel` in the old tree (reusing the ones of the last path),
    /// noting what blocks the way. `None` when the way is blocked.
    fn descend(&mut self, rel: &str) -> Result<Option<usize>, WriteError> {
        let dirs: Vec<&str> = rel.split('/').collect();
        let dirs = &dirs[..dirs.len() - 1];
        let keep = self
            .stack
            .iter()
            .zip(dirs.iter())
            .take_while(|(l, d)| l.name == **d)
            .count();
        self.stack.truncate(keep);
        while self.stack.len() < dirs.len() {
            let depth = self.stack.len();
            let prefix = dirs[..=depth].join("/");
            let up = self.stack.last().map_or(&self.root, |l| &l.old);
            let slot = match up {
                Slot::Absent => Slot::Absent,
                Slot::Blocked => Slot::Blocked,
                Slot::Open(d) => {
                    let name = OsStr::new(dirs[depth]);
                    match d
                        .stat(name)
                        .map_err(io_at("inspect", self.target.shown.join(&prefix)))?
                    {
                        None => Slot::Absent,
                        Some(m) if m.kind == Kind::Dir => {
                            Slot::Open(d.open_dir(name).map_err(io_at(
                                "open directory",
                                self.target.shown.join(&prefix),
                            ))?)
                        }
                        // An owned file makes room for the directory: no rendered file is
                        // named like a directory (they end in `.yaml`, directories are DNS
                        // labels), so it is pruned.
                        Some(m) if m.kind == Kind::File && self.record.contains_key(&prefix) => {
                            Slot::Absent
                        }
                        Some(m) => {
                            self.conflicts.push((
                                rel.to_string(),
                                Conflict {
                                    rel: prefix.clone(),
                                    message: format!(
                                        "{}: is {}, expected a directory",
                                        self.target.shown(&prefix),
                                        m.kind.noun()
                                    ),
                                    hint: if m.kind == Kind::Symlink {
                                        "remove it; the renderer never writes through a symlink"
                                    } else {
                                        "move it away or delete it; the renderer writes there"
                                    },
                                    record_line: None,
                                },
                            ));
                            Slot::Blocked
                        }
                    }
                }
            };
            self.stack.push(Level {
                name: dirs[depth].to_string(),
                old: slot,
                new: None,
            });
        }
        let up = self.stack.last().map_or(&self.root, |l| &l.old);
        Ok((!matches!(up, Slot::Blocked)).then_some(dirs.len()))
    }

    /// Reads the old file of `rel` (its directories opened by [`Streamer::descend`]).
    fn read_old(&self, rel: &str, limit: u64) -> Result<Option<Read>, WriteError> {
        let file = OsStr::new(rel.rsplit('/').next().unwrap_or(rel));
        let up = self.stack.last().map_or(&self.root, |l| &l.old);
        let found = match up {
            Slot::Open(d) => d.read_file(file, limit),
            _ => return Ok(None),
        };
        match found {
            Ok(r) => Ok(Some(r)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(io_at("read", self.target.shown.join(rel))(e)),
        }
    }

    fn compare(&mut self, rel: &str, bytes: impl FnOnce() -> Vec<u8>) -> Result<Fate, WriteError> {
        if self.descend(rel)?.is_none() {
            return Ok(Fate::Refused);
        }
        let mut old = self.read_old(rel, MAX_READ)?;
        let new = match (&old, self.mode) {
            (None, Mode::Probe) => return Ok(Fate::Changed),
            (Some(Read::NotRegular(_)), _) => None,
            _ => Some(bytes()),
        };
        if let (Some(Read::TooLarge), Some(new)) = (&old, &new)
            && new.len() as u64 > MAX_READ
        {
            old = self.read_old(rel, new.len() as u64)?;
        }
        let owned = self.record.contains_key(rel) || rel == OWNED_RECORD;
        let (old, new) = match (old, new) {
            (Some(Read::NotRegular(kind)), _) => {
                self.conflicts.push((
                    rel.to_string(),
                    Conflict {
                        rel: rel.to_string(),
                        message: format!(
                            "{}: is {}, expected a regular file",
                            self.target.shown(rel),
                            kind.noun()
                        ),
                        hint: if kind == Kind::Symlink {
                            "remove it; the renderer never reads or writes through a symlink"
                        } else {
                            "move it away or delete it; the renderer writes there"
                        },
                        record_line: None,
                    },
                ));
                return Ok(Fate::Refused);
            }
            (_, None) => return Ok(Fate::Refused),
            (Some(Read::Bytes(b, identity)), Some(new)) if b == new => {
                return Ok(Fate::Unchanged(identity));
            }
            (None, Some(new)) => (Old::Absent, new),
            (Some(Read::Bytes(b, _)), Some(new)) if owned => (Old::Bytes(b), new),
            (Some(Read::TooLarge), Some(new)) if owned => (Old::TooLarge, new),
            (Some(_), Some(_)) => {
                self.conflicts.push((
                    rel.to_string(),
                    Conflict {
                        rel: rel.to_string(),
                        message: format!(
                            "{}: exists and was not written by k8ssandra-gitops (it is not listed in {OWNED_RECORD}); refusing to overwrite it",
                            self.target.shown(rel)
                        ),
                        hint: "move it away or delete it; the renderer writes there",
                        record_line: None,
                    },
                ));
                return Ok(Fate::Refused);
            }
        };
        match self.mode {
            Mode::Probe => {}
            Mode::Check => self.changed.push((rel.to_string(), old, new)),
            Mode::Write if self.refused() => {}
            Mode::Write => self.stage(rel, &new)?,
        }
        Ok(Fate::Changed)
    }

    /// The staging directory, created at the first use.
    fn staging(&mut self) -> Result<&Dir, WriteError> {
        if self.staging.is_none() {
            let parent = self.parent.as_ref().ok_or_else(|| WriteError::Io {
                action: "open directory",
                path: self.target.parent_path.clone(),
                source: io::Error::from(io::ErrorKind::NotFound),
            })?;
            let name = loop {
                let name = self.target.fresh_name(STAGING);
                match parent.mkdir(&name, if self.exists { 0o700 } else { 0o777 }) {
                    Ok(()) => break name,
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => {
                        return Err(io_at(
                            "create directory",
                            self.target.parent_path.join(&name),
                        )(e));
                    }
                }
            };
            let dir = parent
                .open_dir(&name)
                .map_err(io_at("open directory", self.target.parent_path.join(&name)))?;
            self.staging = Some((name, dir));
        }
        Ok(&self.staging.as_ref().expect("created above").1)
    }

    fn staging_path(&self, rel: &str) -> PathBuf {
        let name = self
            .staging
            .as_ref()
            .map(|(n, _)| n.clone())
            .unwrap_or_default();
        self.target.parent_path.join(name).join(rel)
    }

    /// Writes `rel` into the staging directory, creating its directories there (each new one
    /// private while it is filled when the old tree has it, see [`Fill`]).
    fn stage(&mut self, rel: &str, bytes: &[u8]) -> Result<(), WriteError> {
        self.staging()?;
        for depth in 0..self.stack.len() {
            if self.stack[depth].new.is_some() {
                continue;
            }
            let prefix: Vec<&str> = self.stack[..=depth]
                .iter()
                .map(|l| l.name.as_str())
                .collect();
            let shown = self.staging_path(&prefix.join("/"));
            let up = match depth {
                0 => &self.staging.as_ref().expect("created above").1,
                _ => self.stack[depth - 1].new.as_ref().expect("opened above"),
            };
            let level = &self.stack[depth];
            let name = OsStr::new(&level.name);
            let bits = if matches!(level.old, Slot::Open(_)) {
                0o700
            } else {
                0o777
            };
            match up.mkdir(name, bits) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_at("create directory", shown)(e)),
            }
            let dir = up.open_dir(name).map_err(io_at("open directory", shown))?;
            self.stack[depth].new = Some(dir);
        }
        let up = match self.stack.last() {
            Some(l) => l.new.as_ref().expect("opened above"),
            None => &self.staging.as_ref().expect("created above").1,
        };
        let file = OsStr::new(rel.rsplit('/').next().unwrap_or(rel));
        up.create(file, bytes)
            .map_err(io_at("write", self.staging_path(rel)))
    }

    /// Every path streamed so far, sorted.
    pub(super) fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(|k| &**k)
    }

    /// Ends the pass: looks at the files of the old record that were not streamed (pruned),
    /// then, in write mode and when nothing was refused, completes the staging directory (files
    /// already right and files the renderer did not write are hard-linked from the old tree,
    /// as [`write`] does) and swaps it in. Nothing is written when nothing changed.
    pub(super) fn finish(mut self) -> Result<Streamed, WriteError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let mut pruned = Vec::new();
        let record: Vec<(String, u32)> = self
            .record
            .iter()
            .filter(|(rel, _)| !self.files.contains_key(rel.as_str()))
            .map(|(rel, line)| (rel.clone(), *line))
            .collect();
        if !matches!(self.root, Slot::Blocked) {
            for (rel, line) in record {
                if self.descend(&rel)?.is_none() {
                    continue;
                }
                match self.read_old(&rel, MAX_READ)? {
                    None => {}
                    Some(Read::Bytes(b, _)) => pruned.push((rel, Old::Bytes(b))),
                    Some(Read::TooLarge) => pruned.push((rel, Old::TooLarge)),
                    Some(Read::NotRegular(kind)) => self.conflicts.push((
                        rel.clone(),
                        Conflict {
                            message: format!(
                                "{}: is {}, expected a regular file",
                                self.target.shown(&rel),
                                kind.noun()
                            ),
                            rel,
                            hint: if kind == Kind::Symlink {
                                "remove it; the renderer never reads or writes through a symlink"
                            } else {
                                "move it away or delete it; the renderer writes there"
                            },
                            record_line: Some(line),
                        },
                    )),
                }
            }
        }
        self.stack.clear();
        self.conflicts.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Streamed {
            conflicts: std::mem::take(&mut self.conflicts)
                .into_iter()
                .map(|(_, c)| c)
                .collect(),
            leftovers: std::mem::take(&mut self.leftovers),
            changed: std::mem::take(&mut self.changed),
            pruned,
            report: WriteReport::default(),
        };
        if self.mode != Mode::Write || !out.conflicts.is_empty() {
            return Ok(out);
        }
        let changed: Vec<String> = self
            .files
            .iter()
            .filter(|(_, f)| **f == Fate::Changed)
            .map(|(p, _)| p.to_string())
            .collect();
        out.report = WriteReport {
            written: changed
                .iter()
                .filter(|p| *p != OWNED_RECORD)
                .cloned()
                .collect(),
            pruned: out.pruned.iter().map(|(p, _)| p.clone()).collect(),
            unchanged: self
                .files
                .iter()
                .filter(|(p, f)| matches!(f, Fate::Unchanged(_)) && &***p != OWNED_RECORD)
                .count(),
        };
        if let Some(parent) = &self.parent {
            for entry in &out.leftovers {
                remove_tree(parent, entry)
                    .map_err(io_at("remove", self.target.parent_path.join(entry)))?;
            }
        }
        if changed.is_empty() && out.pruned.is_empty() {
            return Ok(out);
        }
        self.staging()?;
        let staging_path = self.staging_path("");
        let (name, new) = self.staging.take().expect("created above");
        let parent = self.parent.take().expect("kept above");
        let built = (|| {
            if let Slot::Open(old) = &self.root {
                let fill = Fill {
                    pruned: out.pruned.iter().map(|(p, _)| p.as_str()).collect(),
                    staging_path: staging_path.clone(),
                    carried: std::cell::Cell::new(0),
                };
                self.complete(&fill, old, &new, "")?;
                // A file compared as unchanged that has vanished since would leave the new
                // tree without it while its record and kustomization list it.
                let unchanged = self
                    .files
                    .values()
                    .filter(|f| matches!(f, Fate::Unchanged(_)))
                    .count();
                if fill.carried.get() != unchanged {
                    return Err(changed_during_render(
                        &self.target.shown,
                        "a file found unchanged was removed",
                    ));
                }
            }
            if let Some(mode) = self.dir_mode {
                new.set_mode(mode)
                    .map_err(io_at("set the mode of", staging_path.clone()))?;
            }
            swap(&self.target, &parent, &name, self.exists)
        })();
        match built {
            Ok(()) => {
                self.created.clear();
                Ok(out)
            }
            Err(e) => {
                let _ = remove_tree(&parent, &name);
                Err(e)
            }
        }
    }

    /// Carries into `new` what the old directory `old` (at `rel`) holds and the render keeps:
    /// unchanged files (hard-linked), directories with rendered files (recursively, modes
    /// restored), and every file the renderer did not write ([`Fill::keep`]); pruned files and
    /// the old record are left out.
    fn complete(&self, fill: &Fill, old: &Dir, new: &Dir, rel: &str) -> Result<(), WriteError> {
        for name in old.names().map_err(fill.err("read directory", rel))? {
            let child = if rel.is_empty() {
                name.to_string_lossy().into_owned()
            } else {
                format!("{rel}/{}", name.to_string_lossy())
            };
            let Some(m) = old.stat(&name).map_err(fill.err("inspect", &child))? else {
                continue;
            };
            let ours = name.to_str().is_some();
            match ours.then(|| self.files.get(child.as_str())).flatten() {
                Some(Fate::Unchanged(identity)) => {
                    // Only the very file compared: one replaced (by a symlink, say) or edited
                    // since must not be carried under a rendered name.
                    if m.kind != Kind::File || *identity != m.identity {
                        return Err(changed_during_render(
                            &self.target.shown.join(&child),
                            "it was replaced or modified after it was compared",
                        ));
                    }
                    fill.carried.set(fill.carried.get() + 1);
                    if old.link(&name, new, &name).is_err() {
                        old.copy(&name, new, &name)
                            .map_err(fill.err("copy", &child))?;
                    }
                    continue;
                }
                Some(_) => continue,
                None => {}
            }
            let prefix = format!("{child}/");
            let wanted = ours
                && self
                    .files
                    .range::<str, _>((
                        std::ops::Bound::Included(prefix.as_str()),
                        std::ops::Bound::Unbounded,
                    ))
                    .next()
                    .is_some_and(|(k, _)| k.starts_with(&prefix));
            if wanted && m.kind == Kind::Dir {
                let old_sub = old
                    .open_dir(&name)
                    .map_err(fill.err("open directory", &child))?;
                match new.mkdir(&name, 0o700) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(fill.err("create directory", &child)(e)),
                }
                let new_sub = new
                    .open_dir(&name)
                    .map_err(fill.err("open directory", &child))?;
                self.complete(fill, &old_sub, &new_sub, &child)?;
                new_sub
                    .set_mode(m.mode)
                    .map_err(fill.err("set the mode of", &child))?;
            } else if wanted
                || fill.pruned.contains(child.as_str())
                || (rel.is_empty() && name == OWNED_RECORD)
            {
                // Built while streaming (an owned file made room for it), or pruned.
            } else {
                fill.keep(old, new, &name, m, &child)?;
            }
        }
        Ok(())
    }
}

impl Drop for Streamer {
    fn drop(&mut self) {
        // Not finished (a problem was found, or the caller gave up): nothing is swapped in.
        if let (Some(parent), Some((name, _))) = (&self.parent, &self.staging) {
            let _ = remove_tree(parent, name);
        }
        remove_created(&self.created);
    }
}

/// Removes directories created on the way to the output directory (deepest first), when
/// they are still empty.
fn remove_created(created: &[PathBuf]) {
    for p in created.iter().rev() {
        let _ = std::fs::remove_dir(p);
    }
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

    /// The rendering threads' shortcut finds only a regular file with exactly the bytes,
    /// reached through real directories below the output directory; all else is left to
    /// the streamer.
    #[cfg(unix)]
    #[test]
    fn old_tree_finds_only_identical_regular_files_below_it() {
        use std::os::unix::fs::symlink;
        let base = std::env::temp_dir().join(format!("k8sg-oldtree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let out = base.join("out");
        std::fs::create_dir_all(out.join("ctx/ns")).unwrap();
        std::fs::create_dir_all(base.join("elsewhere")).unwrap();
        std::fs::write(out.join("ctx/ns/same.yaml"), "a: 1\n").unwrap();
        std::fs::write(out.join("ctx/ns/other.yaml"), "a: 2\n").unwrap();
        std::fs::write(out.join("ctx/top.yaml"), "t\n").unwrap();
        std::fs::write(base.join("elsewhere/same.yaml"), "a: 1\n").unwrap();
        symlink(base.join("elsewhere"), out.join("ctx/linked")).unwrap();
        symlink(out.join("ctx/ns/same.yaml"), out.join("ctx/ns/link.yaml")).unwrap();
        let tree = OldTree {
            root: Dir::open_path(&out).unwrap(),
            found: Mutex::new(HashMap::new()),
            keys: std::hash::RandomState::new(),
        };
        let files: Vec<(&str, Option<&[u8]>)> = vec![
            ("ctx/ns/same.yaml", Some(b"a: 1\n")),
            ("ctx/ns/other.yaml", Some(b"a: 1\n")),
            ("ctx/linked/same.yaml", Some(b"a: 1\n")),
            ("ctx/ns/link.yaml", Some(b"a: 1\n")),
            ("ctx/../out/ctx/ns/same.yaml", Some(b"a: 1\n")),
            ("ctx/ns/absent.yaml", Some(b"a: 1\n")),
            ("ctx/top.yaml", Some(b"t\n")),
            ("ctx/ns/unmade.yaml", None),
            ("ctx/ns/longer.yaml", Some(b"a: 1\nmore\n")),
        ];
        std::fs::write(out.join("ctx/ns/unmade.yaml"), "").unwrap();
        std::fs::write(out.join("ctx/ns/longer.yaml"), "a: 1\n").unwrap();
        tree.look(&files);
        let mut found: Vec<String> = tree.found.lock().unwrap().keys().cloned().collect();
        found.sort();
        assert_eq!(found, ["ctx/ns/same.yaml", "ctx/top.yaml"]);
        assert!(tree.take("ctx/top.yaml", b"t\n").is_some());
        assert!(tree.take("ctx/top.yaml", b"t\n").is_none(), "taken once");
        // A mark vouches only for the bytes compared: another object at the same path (one
        // looked up, then dropped) is looked at again by the streamer.
        assert!(tree.take("ctx/ns/same.yaml", b"a: 2\n").is_none());
        tree.look(&[("ctx/ns/same.yaml", Some(b"a: 1\n"))]);
        assert!(tree.take("ctx/ns/same.yaml", b"a: 1\n").is_some());
        std::fs::remove_dir_all(&base).unwrap();
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
