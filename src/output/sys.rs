//! File-system primitives of the output writer. Every call works relative to an open directory
//! and never follows a symlink: on Unix through `*at` system calls on directory descriptors
//! (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`), so a symlink swapped in between two calls is refused
//! too. Elsewhere a portable fallback checks each path with `symlink_metadata` before using it,
//! which is the same policy with a window between the check and the use.

use std::io;

/// The type of a directory entry, as found (never following a symlink).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Unknown,
}

impl Kind {
    /// "a symlink", "a FIFO", ... for messages.
    pub(super) fn noun(self) -> &'static str {
        match self {
            Kind::File => "a regular file",
            Kind::Dir => "a directory",
            Kind::Symlink => "a symlink",
            Kind::Fifo => "a FIFO",
            Kind::Socket => "a socket",
            Kind::CharDevice => "a character device",
            Kind::BlockDevice => "a block device",
            Kind::Unknown => "a special file",
        }
    }
}

/// What `lstat` says about an entry.
#[derive(Debug, Clone, Copy)]
pub(super) struct Meta {
    pub kind: Kind,
    /// Permission bits.
    pub mode: u32,
    /// Which file it is, as it is now.
    pub identity: Identity,
}

/// A file's device, inode, size and modification time: an entry whose identity is the same
/// at two moments is the same file with the same content, as far as the file system says.
/// Used to carry an unchanged file into the new tree only if it is still the file compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Identity {
    device: u64,
    inode: u64,
    size: u64,
    modified: (i64, i64),
}

/// The result of a bounded, non-following read.
#[derive(Debug)]
pub(super) enum Read {
    /// The content, and the identity of the file it was read from.
    Bytes(Vec<u8>, Identity),
    /// Not a regular file (found when opening it): nothing was read.
    NotRegular(Kind),
    /// Longer than the limit: nothing is returned.
    TooLarge,
}

/// Whether the error means "no such entry".
pub(super) fn not_found(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

#[cfg(unix)]
pub(super) use unix::Dir;

#[cfg(not(unix))]
pub(super) use portable::Dir;

#[cfg(unix)]
mod unix {
    use std::ffi::{OsStr, OsString};
    use std::fs::File;
    use std::io::{self, Read as _, Write as _};
    use std::os::fd::OwnedFd;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::Path;

    use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, RawMode};

    use super::{Identity, Kind, Meta, Read};

    /// An open directory.
    #[derive(Debug)]
    pub(in crate::output) struct Dir {
        fd: OwnedFd,
    }

    fn kind(t: FileType) -> Kind {
        match t {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Dir,
            FileType::Symlink => Kind::Symlink,
            FileType::Fifo => Kind::Fifo,
            FileType::Socket => Kind::Socket,
            FileType::CharacterDevice => Kind::CharDevice,
            FileType::BlockDevice => Kind::BlockDevice,
            FileType::Unknown => Kind::Unknown,
        }
    }

    // `RawMode` is u32 on Linux and u16 on Apple systems.
    #[allow(clippy::unnecessary_cast)]
    fn mode(bits: u32) -> Mode {
        Mode::from_raw_mode((bits & 0o7777) as RawMode)
    }

    #[allow(clippy::unnecessary_cast)]
    fn meta(st: &rfs::Stat) -> Meta {
        Meta {
            kind: kind(FileType::from_raw_mode(st.st_mode as RawMode)),
            mode: (st.st_mode as u32) & 0o7777,
            identity: Identity {
                device: st.st_dev,
                inode: st.st_ino,
                size: u64::try_from(st.st_size).unwrap_or(0),
                #[allow(clippy::unnecessary_cast, reason = "the field types differ by target")]
                modified: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            },
        }
    }

    /// Opening a file to read it: never through a symlink, never blocking on a FIFO, never
    /// becoming its controlling terminal.
    const FILE_READ_FLAGS: OFlags = OFlags::RDONLY
        .union(OFlags::NOFOLLOW)
        .union(OFlags::NONBLOCK)
        .union(OFlags::NOCTTY)
        .union(OFlags::CLOEXEC);
    const DIR_FLAGS: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::CLOEXEC)
        .union(OFlags::NOFOLLOW);

    impl Dir {
        /// Opens a directory by path; symlinks in `path` are followed (the caller decides
        /// where the output directory may be).
        pub(in crate::output) fn open_path(path: &Path) -> io::Result<Dir> {
            let fd = rfs::open(
                path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            Ok(Dir { fd })
        }

        /// Takes an exclusive advisory lock on this directory (released when it is closed);
        /// `false` when another process holds it.
        pub(in crate::output) fn try_lock(&self) -> io::Result<bool> {
            match rfs::flock(&self.fd, rfs::FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => Ok(true),
                Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
                Err(e) => Err(e.into()),
            }
        }

        /// `lstat` of an entry; `None` when it does not exist.
        pub(in crate::output) fn stat(&self, name: &OsStr) -> io::Result<Option<Meta>> {
            match rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => Ok(Some(meta(&st))),
                Err(rustix::io::Errno::NOENT) => Ok(None),
                Err(e) => Err(e.into()),
            }
        }

        /// Opens a subdirectory; a symlink is refused (`ELOOP`/`ENOTDIR`).
        pub(in crate::output) fn open_dir(&self, name: &OsStr) -> io::Result<Dir> {
            let fd = rfs::openat(&self.fd, name, DIR_FLAGS, Mode::empty())?;
            Ok(Dir { fd })
        }

        /// A second handle on this directory, for another thread.
        pub(in crate::output) fn try_clone(&self) -> io::Result<Dir> {
            Ok(Dir {
                fd: rustix::io::fcntl_dupfd_cloexec(&self.fd, 0)?,
            })
        }

        /// Opens the directory at `rel` (`/`-separated names) below this one, refusing a
        /// symlink anywhere on the way and never leaving this directory: one `openat2` where
        /// the kernel has it, else one [`Dir::open_dir`] per name.
        pub(in crate::output) fn open_beneath(&self, rel: &str) -> io::Result<Dir> {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            {
                use rfs::ResolveFlags;
                let how =
                    ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
                match rfs::openat2(&self.fd, rel, DIR_FLAGS, Mode::empty(), how) {
                    Ok(fd) => return Ok(Dir { fd }),
                    // Before Linux 5.6, or refused by a sandbox: walk.
                    Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let mut names = rel.split('/');
            let first = names.next().unwrap_or_default();
            let mut dir = self.open_dir(OsStr::new(first))?;
            for name in names {
                dir = dir.open_dir(OsStr::new(name))?;
            }
            Ok(dir)
        }

        /// Reads a regular file of at most `limit` bytes. A symlink, FIFO, device or socket is
        /// never opened (checked before opening, then on the open descriptor, which is opened
        /// non-blocking and without following a symlink in case the entry changed meanwhile).
        pub(in crate::output) fn read_file(&self, name: &OsStr, limit: u64) -> io::Result<Read> {
            let st = rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)?;
            let found = meta(&st).kind;
            if found != Kind::File {
                return Ok(Read::NotRegular(found));
            }
            let fd = match rfs::openat(&self.fd, name, FILE_READ_FLAGS, Mode::empty()) {
                Ok(fd) => fd,
                // O_NOFOLLOW on a symlink that replaced the file since the stat.
                Err(rustix::io::Errno::LOOP) => return Ok(Read::NotRegular(Kind::Symlink)),
                Err(e) => return Err(e.into()),
            };
            let st = rfs::fstat(&fd)?;
            let found = meta(&st);
            if found.kind != Kind::File {
                return Ok(Read::NotRegular(found.kind));
            }
            // Sized from the descriptor's length (one more byte to see the end, or growth past
            // the limit): no doubling, no copying while reading a file of the usual size.
            let size = u64::try_from(st.st_size).unwrap_or(0).min(limit);
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0) + 1);
            File::from(fd)
                .take(limit.saturating_add(1))
                .read_to_end(&mut bytes)?;
            if bytes.len() as u64 > limit {
                return Ok(Read::TooLarge);
            }
            Ok(Read::Bytes(bytes, found.identity))
        }

        /// The names of the entries (without `.` and `..`).
        pub(in crate::output) fn names(&self) -> io::Result<Vec<OsString>> {
            let mut out = Vec::new();
            for entry in rfs::Dir::read_from(&self.fd)? {
                let name = entry?.file_name().to_bytes().to_vec();
                if name != b"." && name != b".." {
                    out.push(OsString::from_vec(name));
                }
            }
            out.sort();
            Ok(out)
        }

        /// Creates a subdirectory (the mode is reduced by the umask).
        pub(in crate::output) fn mkdir(&self, name: &OsStr, bits: u32) -> io::Result<()> {
            Ok(rfs::mkdirat(&self.fd, name, mode(bits))?)
        }

        /// Sets the permission bits of this directory.
        pub(in crate::output) fn set_mode(&self, bits: u32) -> io::Result<()> {
            Ok(rfs::fchmod(&self.fd, mode(bits))?)
        }

        /// Creates a new file with `bytes`; fails if anything exists at `name` (`O_EXCL`,
        /// which also refuses a dangling symlink).
        pub(in crate::output) fn create(&self, name: &OsStr, bytes: &[u8]) -> io::Result<()> {
            let fd = rfs::openat(
                &self.fd,
                name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                mode(0o666),
            )?;
            File::from(fd).write_all(bytes)
        }

        /// Hard-links entry `name` (never following a symlink) as `to_name` in `to`.
        pub(in crate::output) fn link(
            &self,
            name: &OsStr,
            to: &Dir,
            to_name: &OsStr,
        ) -> io::Result<()> {
            Ok(rfs::linkat(
                &self.fd,
                name,
                &to.fd,
                to_name,
                AtFlags::empty(),
            )?)
        }

        /// Copies regular file `name` into a new file `to_name` in `to`, with its mode.
        pub(in crate::output) fn copy(
            &self,
            name: &OsStr,
            to: &Dir,
            to_name: &OsStr,
        ) -> io::Result<()> {
            let src = rfs::openat(&self.fd, name, FILE_READ_FLAGS, Mode::empty())?;
            let st = meta(&rfs::fstat(&src)?);
            if st.kind != Kind::File {
                return Err(io::Error::other(format!("is {}", st.kind.noun())));
            }
            let dst = rfs::openat(
                &to.fd,
                to_name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                mode(st.mode),
            )?;
            let mut dst = File::from(dst);
            io::copy(&mut File::from(src), &mut dst)?;
            Ok(rfs::fchmod(&dst, mode(st.mode))?)
        }

        /// The target of symlink `name`.
        pub(in crate::output) fn read_link(&self, name: &OsStr) -> io::Result<OsString> {
            let target = rfs::readlinkat(&self.fd, name, Vec::new())?;
            Ok(OsString::from_vec(target.into_bytes()))
        }

        /// Creates symlink `name` pointing at `target` (which is not looked at).
        pub(in crate::output) fn symlink(&self, target: &OsStr, name: &OsStr) -> io::Result<()> {
            Ok(rfs::symlinkat(target.as_bytes(), &self.fd, name)?)
        }

        /// Removes an empty subdirectory.
        pub(in crate::output) fn remove_dir(&self, name: &OsStr) -> io::Result<()> {
            Ok(rfs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR)?)
        }

        /// Removes a non-directory entry (a symlink itself, not its target).
        pub(in crate::output) fn unlink(&self, name: &OsStr) -> io::Result<()> {
            Ok(rfs::unlinkat(&self.fd, name, AtFlags::empty())?)
        }

        /// Renames `from` to `to` in this directory, failing if `to` exists where the system
        /// can tell atomically (Linux, Apple); elsewhere a plain rename.
        pub(in crate::output) fn rename_new(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
            #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
            {
                match rfs::renameat_with(&self.fd, from, &self.fd, to, rfs::RenameFlags::NOREPLACE)
                {
                    Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {}
                    other => return Ok(other?),
                }
            }
            Ok(rfs::renameat(&self.fd, from, &self.fd, to)?)
        }

        /// Atomically exchanges entries `a` and `b`. `Ok(false)`: this system or file system
        /// cannot (the caller falls back to two renames).
        pub(in crate::output) fn exchange(&self, a: &OsStr, b: &OsStr) -> io::Result<bool> {
            #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
            {
                match rfs::renameat_with(&self.fd, a, &self.fd, b, rfs::RenameFlags::EXCHANGE) {
                    Ok(()) => Ok(true),
                    Err(
                        rustix::io::Errno::INVAL
                        | rustix::io::Errno::NOSYS
                        | rustix::io::Errno::OPNOTSUPP,
                    ) => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }
            #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
            {
                let _ = (a, b);
                Ok(false)
            }
        }

        /// Renames `from` to `to` in this directory (replacing `to`).
        pub(in crate::output) fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
            Ok(rfs::renameat(&self.fd, from, &self.fd, to)?)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_fifo_is_neither_opened_nor_waited_for() {
            let base = std::env::temp_dir().join(format!("k8sg-sys-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&base);
            std::fs::create_dir_all(&base).unwrap();
            rfs::mknodat(rfs::CWD, base.join("fifo"), FileType::Fifo, mode(0o600), 0).unwrap();
            std::os::unix::fs::symlink("/dev/zero", base.join("zero")).unwrap();
            let dir = Dir::open_path(&base).unwrap();
            assert!(matches!(
                dir.read_file(OsStr::new("fifo"), 10).unwrap(),
                Read::NotRegular(Kind::Fifo)
            ));
            assert!(matches!(
                dir.read_file(OsStr::new("zero"), 10).unwrap(),
                Read::NotRegular(Kind::Symlink)
            ));
            std::fs::write(base.join("big"), [b'x'; 11]).unwrap();
            assert!(matches!(
                dir.read_file(OsStr::new("big"), 10).unwrap(),
                Read::TooLarge
            ));
            std::fs::remove_dir_all(&base).unwrap();
        }
    }
}

/// The fallback for systems without `*at` calls: every path is checked with
/// `symlink_metadata` before it is used. It is compiled everywhere (so it keeps building) and
/// used where Unix is not.
#[cfg_attr(unix, allow(dead_code))]
mod portable {
    use std::ffi::{OsStr, OsString};
    use std::fs::{self, File, OpenOptions};
    use std::io::{self, Read as _, Write as _};
    use std::path::{Path, PathBuf};

    use super::{Identity, Kind, Meta, Read};

    /// A directory, by path.
    #[derive(Debug)]
    pub(in crate::output) struct Dir {
        path: PathBuf,
    }

    fn meta(m: &fs::Metadata) -> Meta {
        let t = m.file_type();
        let kind = if t.is_symlink() {
            Kind::Symlink
        } else if t.is_dir() {
            Kind::Dir
        } else if t.is_file() {
            Kind::File
        } else {
            Kind::Unknown
        };
        Meta {
            kind,
            mode: if m.permissions().readonly() {
                0o555
            } else {
                0o755
            },
            identity: Identity {
                size: m.len(),
                modified: m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or((0, 0), |d| {
                        (
                            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                            i64::from(d.subsec_nanos()),
                        )
                    }),
                ..Identity::default()
            },
        }
    }

    impl Dir {
        /// No advisory locks here: always granted.
        #[allow(
            clippy::unnecessary_wraps,
            reason = "the same signature as the Unix one"
        )]
        pub(in crate::output) fn try_lock(&self) -> io::Result<bool> {
            Ok(true)
        }

        pub(in crate::output) fn open_path(path: &Path) -> io::Result<Dir> {
            if !fs::metadata(path)?.is_dir() {
                return Err(io::Error::other("not a directory"));
            }
            Ok(Dir {
                path: path.to_path_buf(),
            })
        }

        pub(in crate::output) fn stat(&self, name: &OsStr) -> io::Result<Option<Meta>> {
            match fs::symlink_metadata(self.path.join(name)) {
                Ok(m) => Ok(Some(meta(&m))),
                Err(e) if super::not_found(&e) => Ok(None),
                Err(e) => Err(e),
            }
        }

        pub(in crate::output) fn open_dir(&self, name: &OsStr) -> io::Result<Dir> {
            let path = self.path.join(name);
            if fs::symlink_metadata(&path)?.file_type().is_dir() {
                Ok(Dir { path })
            } else {
                Err(io::Error::other("not a directory"))
            }
        }

        #[allow(
            clippy::unnecessary_wraps,
            reason = "the same signature as the Unix one"
        )]
        pub(in crate::output) fn try_clone(&self) -> io::Result<Dir> {
            Ok(Dir {
                path: self.path.clone(),
            })
        }

        pub(in crate::output) fn open_beneath(&self, rel: &str) -> io::Result<Dir> {
            let mut dir = Dir {
                path: self.path.clone(),
            };
            for name in rel.split('/') {
                dir = dir.open_dir(OsStr::new(name))?;
            }
            Ok(dir)
        }

        pub(in crate::output) fn read_file(&self, name: &OsStr, limit: u64) -> io::Result<Read> {
            let path = self.path.join(name);
            let found = meta(&fs::symlink_metadata(&path)?).kind;
            if found != Kind::File {
                return Ok(Read::NotRegular(found));
            }
            let f = File::open(&path)?;
            let m = f.metadata()?;
            if !m.is_file() {
                return Ok(Read::NotRegular(Kind::Unknown));
            }
            let identity = meta(&m).identity;
            let mut bytes = Vec::new();
            f.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
            if bytes.len() as u64 > limit {
                return Ok(Read::TooLarge);
            }
            Ok(Read::Bytes(bytes, identity))
        }

        pub(in crate::output) fn names(&self) -> io::Result<Vec<OsString>> {
            let mut out = Vec::new();
            for e in fs::read_dir(&self.path)? {
                out.push(e?.file_name());
            }
            out.sort();
            Ok(out)
        }

        pub(in crate::output) fn mkdir(&self, name: &OsStr, _bits: u32) -> io::Result<()> {
            fs::create_dir(self.path.join(name))
        }

        pub(in crate::output) fn set_mode(&self, bits: u32) -> io::Result<()> {
            let mut p = fs::metadata(&self.path)?.permissions();
            p.set_readonly(bits & 0o200 == 0);
            fs::set_permissions(&self.path, p)
        }

        pub(in crate::output) fn create(&self, name: &OsStr, bytes: &[u8]) -> io::Result<()> {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(self.path.join(name))?
                .write_all(bytes)
        }

        pub(in crate::output) fn link(
            &self,
            name: &OsStr,
            to: &Dir,
            to_name: &OsStr,
        ) -> io::Result<()> {
            fs::hard_link(self.path.join(name), to.path.join(to_name))
        }

        pub(in crate::output) fn copy(
            &self,
            name: &OsStr,
            to: &Dir,
            to_name: &OsStr,
        ) -> io::Result<()> {
            let from = self.path.join(name);
            if !fs::symlink_metadata(&from)?.is_file() {
                return Err(io::Error::other("not a regular file"));
            }
            let mut src = File::open(&from)?;
            let mut dst = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(to.path.join(to_name))?;
            io::copy(&mut src, &mut dst)?;
            Ok(())
        }

        pub(in crate::output) fn read_link(&self, name: &OsStr) -> io::Result<OsString> {
            Ok(fs::read_link(self.path.join(name))?.into_os_string())
        }

        pub(in crate::output) fn symlink(&self, _target: &OsStr, _name: &OsStr) -> io::Result<()> {
            Err(io::Error::other(
                "cannot recreate a symlink on this system; move it out of the output directory",
            ))
        }

        pub(in crate::output) fn remove_dir(&self, name: &OsStr) -> io::Result<()> {
            fs::remove_dir(self.path.join(name))
        }

        pub(in crate::output) fn unlink(&self, name: &OsStr) -> io::Result<()> {
            fs::remove_file(self.path.join(name))
        }

        pub(in crate::output) fn rename_new(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
            if fs::symlink_metadata(self.path.join(to)).is_ok() {
                return Err(io::Error::from(io::ErrorKind::AlreadyExists));
            }
            fs::rename(self.path.join(from), self.path.join(to))
        }

        pub(in crate::output) fn exchange(&self, _a: &OsStr, _b: &OsStr) -> io::Result<bool> {
            Ok(false)
        }

        pub(in crate::output) fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
            fs::rename(self.path.join(from), self.path.join(to))
        }
    }
}

/// Both implementations answer the same way for the common cases (the portable one is the
/// fallback of non-Unix systems; this keeps it honest where the tests run).
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::ffi::{OsStr, OsString};

    fn scratch(tag: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("k8sg-sys-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    #[test]
    fn the_portable_fallback_refuses_symlinks_and_creates_exclusively() {
        let base = scratch("portable");
        std::fs::write(base.join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(base.join("secret"), base.join("link")).unwrap();
        std::os::unix::fs::symlink(&base, base.join("dirlink")).unwrap();
        let dir = portable::Dir::open_path(&base).unwrap();
        assert!(matches!(
            dir.read_file(OsStr::new("link"), 100).unwrap(),
            Read::NotRegular(Kind::Symlink)
        ));
        assert!(dir.open_dir(OsStr::new("dirlink")).is_err());
        assert!(dir.create(OsStr::new("link"), b"x").is_err());
        assert_eq!(std::fs::read_to_string(base.join("secret")).unwrap(), "s");
        dir.create(OsStr::new("new"), b"n").unwrap();
        assert!(matches!(
            dir.read_file(OsStr::new("new"), 100).unwrap(),
            Read::Bytes(b, _) if b == b"n"
        ));
        assert_eq!(
            dir.stat(OsStr::new("dirlink")).unwrap().unwrap().kind,
            Kind::Symlink
        );
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn names_are_sorted_without_dot_entries() {
        let base = scratch("names");
        std::fs::write(base.join("b"), "").unwrap();
        std::fs::write(base.join("a"), "").unwrap();
        let dir = Dir::open_path(&base).unwrap();
        assert_eq!(dir.names().unwrap(), vec![OsString::from("a"), "b".into()]);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
