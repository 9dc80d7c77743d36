//! File access shared by the providers: reading a text file with errors that name the line of a
//! bad byte, and replacing a file atomically, safely against other syncs and interruptions.
//!
//! Exit codes follow one rule ([`FsError::is_input`]): a path the user named that does not exist
//! (`ENOENT`: a missing file, a missing directory of a new target, a symbolic link to nothing)
//! is the user's input to fix (1); any other file-system error (permission, a loop of links, a
//! directory, a FIFO or a device where a file is expected, …) is an external failure (2).
//!
//! A sync removes nothing but what it made ([`LockedTarget::replace`]: the new file has no name
//! until it is complete), waits a bounded time for a lock that only a writer of the target can
//! hold ([`LockedTarget`]), and follows no symbolic link that the kernel's `protected_symlinks`
//! rule would refuse. `docs/design.md` explains the design. Written for Linux (`O_TMPFILE`, open
//! file description locks, `/proc`), with fallbacks for other Unix systems that are not tested.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata};
use std::io::{self, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A file that could not be read or written. Never holds the file's content.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The file does not exist.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// The path is a symbolic link to a file that does not exist.
    #[error("{} is a symbolic link to {}, which does not exist", path.display(), to.display())]
    DanglingLink {
        /// The link.
        path: PathBuf,
        /// Where it points.
        to: PathBuf,
    },
    /// The directory that should hold a new file does not exist.
    #[error("cannot create {}: directory {} does not exist", path.display(), dir.display())]
    MissingDirectory {
        /// The file to create.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
    },
    /// A directory stands where a file is expected.
    #[error("{} is a directory, not a file", path.display())]
    IsADirectory {
        /// The path.
        path: PathBuf,
    },
    /// A FIFO, a device or a socket stands where a file is expected.
    #[error("{} is {kind}, not a regular file", path.display())]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is: `a FIFO`, `a character device`, …
        kind: &'static str,
    },
    /// The file is marked read-only (no write permission for anyone).
    #[error("{} is read-only; make it writable to let the sync replace it", path.display())]
    ReadOnly {
        /// The file.
        path: PathBuf,
    },
    /// The file holds bytes that are not UTF-8.
    #[error("{}:{line}: not valid UTF-8", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The line of the first invalid byte.
        line: usize,
    },
    /// Another program changed the target while the sync ran; nothing was written.
    #[error("{} changed while the sync ran; nothing was written, run it again", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// A symbolic link that the kernel's `protected_symlinks` rule would not follow: it is in
    /// a sticky, world-writable directory (such as `/tmp`) and belongs neither to this user
    /// nor to the directory's owner, so its owner would choose the file read or replaced.
    #[error(
        "{} leads through the symbolic link {}, which belongs to another user (uid {owner}) in a shared sticky directory; refusing to follow it: remove the link, or name the file itself",
        path.display(),
        link.display()
    )]
    UnsafeSymlink {
        /// The path as named.
        path: PathBuf,
        /// The link that would be followed.
        link: PathBuf,
        /// Its owner.
        owner: u32,
    },
    /// Another sync held the target's lock for longer than the sync may wait.
    #[error(
        "gave up after {} waiting for the lock on {}{}: another sync of it is still running or is stopped; let it finish (or end it), or raise `lock_timeout`",
        crate::duration::display(*waited),
        path.display(),
        holder.map(|pid| format!(", held by process {pid}")).unwrap_or_default()
    )]
    LockTimeout {
        /// The target.
        path: PathBuf,
        /// How long the sync waited: its timeout.
        waited: std::time::Duration,
        /// The process holding the lock, where it can be known.
        holder: Option<u32>,
    },
    /// The target's directory cannot take a new file.
    #[error(
        "cannot replace {}: its directory {} is not writable, and a sync puts a new file in the target's place; make the directory writable for this user",
        path.display(),
        dir.display()
    )]
    DirectoryNotWritable {
        /// The target.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The target's directory cannot be opened (to create the new file and flush it to disk).
    #[error(
        "cannot open {}, the directory of {}: a sync opens it to create the new file and flush it to disk; give this user read and search permission on it",
        dir.display(),
        path.display()
    )]
    DirectoryNotOpened {
        /// The target.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The new file could not get the target's owner and group.
    #[error(
        "cannot keep the owner and group of {} (uid {uid}, gid {gid}): a sync replaces the file, and only root, or its owner when a member of its group, can give the new file both; run the sync as that user or as root, or change the file's owner to this user",
        path.display()
    )]
    OwnerNotKept {
        /// The target.
        path: PathBuf,
        /// Its owner.
        uid: u32,
        /// Its group.
        gid: u32,
    },
    /// Any other failure of the operating system.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done: `read`, `write`, …
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl FsError {
    /// Whether the user must fix the input (exit code 1): a path they named does not exist, or
    /// a file is not text. Any other file-system error is an external failure (exit code 2).
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            FsError::NotFound { .. }
                | FsError::DanglingLink { .. }
                | FsError::MissingDirectory { .. }
                | FsError::NotUtf8 { .. }
        )
    }
}

impl From<FsError> for stagecraft_core::SyncError {
    fn from(error: FsError) -> Self {
        if error.is_input() {
            stagecraft_core::SyncError::input(error)
        } else {
            stagecraft_core::SyncError::external(error)
        }
    }
}

fn io_error(action: &'static str, path: &Path, source: io::Error) -> FsError {
    let path = path.to_owned();
    match source.kind() {
        io::ErrorKind::NotFound => FsError::NotFound { path },
        io::ErrorKind::IsADirectory => FsError::IsADirectory { path },
        _ => FsError::Io {
            action,
            path,
            source,
        },
    }
}

/// The number of line breaks (`\r\n`, `\n` or `\r`) in `bytes`.
pub(crate) fn count_breaks(bytes: &[u8]) -> usize {
    let Some(first) = memchr::memchr2(b'\n', b'\r', bytes) else {
        return 0;
    };
    let bytes = &bytes[first..];
    let lf = memchr::memchr_iter(b'\n', bytes).count();
    let lone_cr = memchr::memchr_iter(b'\r', bytes)
        .filter(|&i| bytes.get(i + 1) != Some(&b'\n'))
        .count();
    lf + lone_cr
}

/// Refuses anything but a regular file, from its metadata.
fn check_regular(path: &Path, meta: &Metadata) -> Result<(), FsError> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    if kind.is_dir() {
        return Err(FsError::IsADirectory {
            path: path.to_owned(),
        });
    }
    #[cfg(unix)]
    let kind = {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "a special file"
        }
    };
    #[cfg(not(unix))]
    let kind = "a special file";
    Err(FsError::NotRegular {
        path: path.to_owned(),
        kind,
    })
}

/// Explains a path that does not exist: a missing file, or a symbolic link to nothing.
fn not_found(path: &Path) -> FsError {
    match fs::read_link(path) {
        Ok(to) => FsError::DanglingLink {
            path: path.to_owned(),
            to,
        },
        Err(_) => FsError::NotFound {
            path: path.to_owned(),
        },
    }
}

/// Opens a regular file for reading; anything else is refused before it is opened (opening a
/// FIFO would wait for a writer, a device may never end), and checked again once open, since
/// the path may have changed in between.
fn open_regular(path: &Path) -> Result<(File, Metadata), FsError> {
    let read_error = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => not_found(path),
        _ => io_error("read", path, e),
    };
    let physical = check_links(path)?;
    check_regular(path, &fs::metadata(path).map_err(read_error)?)?;
    #[cfg(unix)]
    let file = {
        use rustix::fs::OFlags;
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
        File::from(open_no_symlinks(&physical, flags).map_err(|e| read_error(e.into()))?)
    };
    #[cfg(not(unix))]
    let file = File::open(path).map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    check_regular(path, &meta)?;
    Ok((file, meta))
}

/// Decodes a file's bytes as UTF-8, naming the line of the first bad byte.
fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String, FsError> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        FsError::NotUtf8 {
            path: path.to_owned(),
            line: 1 + count_breaks(valid),
        }
    })
}

fn read_open(path: &Path, mut file: &File, meta: &Metadata) -> Result<String, FsError> {
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)
        .map_err(|e| io_error("read", path, e))?;
    utf8(path, bytes)
}

/// Reads a UTF-8 text file. Only a regular file is read (a symbolic link to one is followed).
pub fn read_text(path: &Path) -> Result<String, FsError> {
    let (file, meta) = open_regular(path)?;
    read_open(path, &file, &meta)
}

/// Reads a UTF-8 text file, or `None` when it does not exist.
pub fn read_text_if_exists(path: &Path) -> Result<Option<String>, FsError> {
    match read_text(path) {
        Ok(text) => Ok(Some(text)),
        Err(FsError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Refuses a path whose resolution follows a symbolic link that the kernel's
/// `protected_symlinks` rule would refuse, whether or not the kernel has it on: a link in a
/// sticky, world-writable directory (such as `/tmp`) that belongs neither to this user nor to
/// the directory's owner. Such a link lets its owner choose the file that is read or replaced.
/// Every link on the way is checked, as the kernel does; whatever else goes wrong (a missing
/// part, a loop) is left for the open that follows to report. Returns the path with the links
/// it checked resolved (absolute; the parts after a missing one as they are), for an open that
/// follows no further link.
#[cfg(unix)]
fn check_links(path: &Path) -> Result<PathBuf, FsError> {
    use std::ffi::OsString;
    use std::os::unix::fs::MetadataExt;
    use std::path::Component;
    fn push(pending: &mut Vec<OsString>, path: &Path) {
        pending.extend(path.components().rev().map(|c| c.as_os_str().to_owned()));
    }
    let euid = rustix::process::geteuid().as_raw();
    let mut resolved = match std::env::current_dir() {
        Ok(dir) => dir,
        Err(_) if path.is_absolute() => PathBuf::from("/"),
        Err(_) => return Ok(path.to_owned()),
    };
    let mut pending = Vec::new();
    push(&mut pending, path);
    let mut links = 0;
    // What is left unresolved is appended as it is.
    let rest = |resolved: PathBuf, part: &OsString, pending: &[OsString]| {
        let mut path = resolved.join(part);
        path.extend(pending.iter().rev());
        path
    };
    while let Some(part) = pending.pop() {
        match Path::new(&part).components().next() {
            Some(Component::RootDir | Component::Prefix(_)) => resolved = PathBuf::from(&part),
            Some(Component::ParentDir) => {
                resolved.pop();
            }
            Some(Component::Normal(name)) => {
                let next = resolved.join(name);
                let Ok(meta) = fs::symlink_metadata(&next) else {
                    return Ok(rest(resolved, &part, &pending));
                };
                if !meta.file_type().is_symlink() {
                    resolved = next;
                    continue;
                }
                links += 1;
                let (Ok(dir), Ok(to), true) =
                    (fs::metadata(&resolved), fs::read_link(&next), links <= 40)
                else {
                    return Ok(rest(resolved, &part, &pending));
                };
                let sticky_and_shared = dir.mode() & 0o1002 == 0o1002;
                if sticky_and_shared && meta.uid() != euid && meta.uid() != dir.uid() {
                    return Err(FsError::UnsafeSymlink {
                        path: path.to_owned(),
                        link: next,
                        owner: meta.uid(),
                    });
                }
                push(&mut pending, &to);
            }
            Some(Component::CurDir) | None => {}
        }
    }
    Ok(resolved)
}

#[cfg(not(unix))]
fn check_links(path: &Path) -> Result<PathBuf, FsError> {
    Ok(path.to_owned())
}

/// Checks what [`LockedTarget::lock`] needs: the target's directory exists, and the target is a
/// regular file (or a symbolic link to one that the `protected_symlinks` rule accepts), or does
/// not exist. Whether it can be replaced is [`check_writable`]'s question.
pub fn check_target(path: &Path) -> Result<(), FsError> {
    check_links(path)?;
    let dir = parent(path);
    if !dir.is_dir() {
        return Err(match fs::metadata(dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => io_error("write", path, e),
            Ok(_) => io_error("write", path, io::Error::from(io::ErrorKind::NotADirectory)),
            Err(_) => FsError::MissingDirectory {
                path: path.to_owned(),
                dir: dir.to_owned(),
            },
        });
    }
    match fs::metadata(path) {
        Ok(meta) => check_regular(path, &meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => match fs::symlink_metadata(path) {
            // A symbolic link to nothing: refused rather than followed to create a file
            // wherever it points.
            Ok(_) => Err(not_found(path)),
            Err(_) => Ok(()),
        },
        Err(e) => Err(io_error("write", path, e)),
    }
}

/// Checks that [`write_atomically`] (or [`LockedTarget::replace`]) can replace `path`, before
/// any work is done, with an error that says what to change: its directory exists, is writable
/// and can be opened; it is a regular file (or a symbolic link to one) that is not read-only
/// and whose owner and group the new file can be given, or it does not exist. A dry run that
/// would write calls it to report what the sync would meet.
pub fn check_writable(path: &Path) -> Result<(), FsError> {
    check_target(path)?;
    let resolved = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
        }
        _ => path.to_owned(),
    };
    let dir = parent(&resolved);
    if let Ok(meta) = fs::metadata(&resolved) {
        if is_read_only(&meta) {
            return Err(FsError::ReadOnly {
                path: path.to_owned(),
            });
        }
        check_owner(path, &meta)?;
    }
    check_directory(path, dir)?;
    File::open(dir).map_err(|source| FsError::DirectoryNotOpened {
        path: path.to_owned(),
        dir: dir.to_owned(),
        source,
    })?;
    Ok(())
}

/// Whether this user can create and rename files in `dir`.
#[cfg(unix)]
fn check_directory(path: &Path, dir: &Path) -> Result<(), FsError> {
    use rustix::fs::{Access, AtFlags, CWD};
    rustix::fs::accessat(
        CWD,
        dir,
        Access::WRITE_OK | Access::EXEC_OK,
        AtFlags::EACCESS,
    )
    .map_err(|e| FsError::DirectoryNotWritable {
        path: path.to_owned(),
        dir: dir.to_owned(),
        source: e.into(),
    })
}

#[cfg(not(unix))]
fn check_directory(_: &Path, _: &Path) -> Result<(), FsError> {
    Ok(())
}

/// Whether the new file can be given the target's owner and group: as root, or as the owner
/// in the file's group (`fchown` to one's own groups is allowed).
#[cfg(unix)]
fn check_owner(path: &Path, meta: &Metadata) -> Result<(), FsError> {
    use std::os::unix::fs::MetadataExt;
    let euid = rustix::process::geteuid().as_raw();
    let in_group = || {
        meta.gid() == rustix::process::getegid().as_raw()
            || rustix::process::getgroups()
                .is_ok_and(|groups| groups.iter().any(|g| g.as_raw() == meta.gid()))
    };
    if euid == 0 || (meta.uid() == euid && in_group()) {
        return Ok(());
    }
    Err(FsError::OwnerNotKept {
        path: path.to_owned(),
        uid: meta.uid(),
        gid: meta.gid(),
    })
}

#[cfg(not(unix))]
fn check_owner(_: &Path, _: &Metadata) -> Result<(), FsError> {
    Ok(())
}

#[cfg(unix)]
fn is_read_only(meta: &Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o222 == 0
}

#[cfg(not(unix))]
fn is_read_only(meta: &Metadata) -> bool {
    meta.permissions().readonly()
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// How long a sync waits for the lock of a target that another sync holds, unless told
/// otherwise (the `envfile` provider's `lock_timeout`).
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a held lock is tried again.
const LOCK_RETRY: Duration = Duration::from_millis(50);

/// A target file locked for a read-modify-write: while it lives, no other sync (of this
/// program) replaces the same file. Syncs into different files never wait for each other.
///
/// The lock is an open file description lock (`F_OFD_SETLK`) for writing on the target itself,
/// so no lock file is left. Taking a write lock needs the file open for writing, so only a user
/// who could write the target anyway can hold it; a read lock, which any reader can take, is
/// never waited for: syncs take none, so it is not theirs. A target renamed over while a sync
/// waited is locked again under its new identity. A target that does not exist yet is created
/// empty (0600, only if still absent) to be locked; unless a sync replaces it, it is removed
/// again when the lock is dropped, if it is still that file and still empty.
/// Waiting says so, with the holder's process where it can be known, and ends after a bounded
/// time ([`FsError::LockTimeout`]).
#[derive(Debug)]
pub struct LockedTarget {
    /// The path as the user named it, for messages.
    named: PathBuf,
    /// The file replaced: `named`, or the file a symbolic link points to.
    path: PathBuf,
    /// The directory of `path`, open: the new file is made in it and put in place by name
    /// relative to it, so that a directory swapped meanwhile cannot redirect the write.
    dir: File,
    /// The file name of `path` in `dir`.
    name: OsString,
    /// The target as opened, and locked when this user can write it; `None` when it does not
    /// exist (and could not be created here).
    file: Option<File>,
    /// Whether `file` was created empty by this lock, to be removed again unless replaced.
    created: bool,
    /// Held while a created file exists, so that an interruption does not leave it behind.
    _created_guard: Option<stagecraft_core::interrupt::Guard>,
    /// How long the lock was waited for at most.
    timeout: Duration,
    /// Identity of the target as read, to notice another program replacing it meanwhile.
    read: Option<Identity>,
}

/// What tells two versions of a file apart without reading them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: (u64, u64),
}

impl Identity {
    fn of(meta: &Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Identity {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode: (meta.dev(), meta.ino()),
        }
    }
}

impl LockedTarget {
    /// [`LockedTarget::lock_waiting`] with [`DEFAULT_LOCK_TIMEOUT`].
    pub fn lock(path: &Path) -> Result<Self, FsError> {
        Self::lock_waiting(path, DEFAULT_LOCK_TIMEOUT)
    }

    /// Opens the target for a read-modify-write and locks it, waiting at most `timeout` for
    /// another sync that holds it. The target must be a regular file or absent, in an existing
    /// directory; whether it can be replaced is checked by [`LockedTarget::replace`], so that a
    /// target that needs no change may be read-only.
    pub fn lock_waiting(path: &Path, timeout: Duration) -> Result<Self, FsError> {
        Self::open_and_lock(path, timeout, true)
    }

    /// [`LockedTarget::lock_waiting`], except that a target that does not exist is not created
    /// (so not locked): [`LockedTarget::lock_again`] does that once the caller knows that it will
    /// go on, so that a failure before leaves nothing behind.
    pub fn lock_existing(path: &Path, timeout: Duration) -> Result<Self, FsError> {
        Self::open_and_lock(path, timeout, false)
    }

    /// Whether the target existed (or was created) when it was locked.
    pub fn exists(&self) -> bool {
        self.file.is_some()
    }

    /// Locks the same target again with [`LockedTarget::lock_waiting`], creating it if absent.
    pub fn lock_again(&self) -> Result<Self, FsError> {
        Self::lock_waiting(&self.named, self.timeout)
    }

    fn open_and_lock(path: &Path, timeout: Duration, create: bool) -> Result<Self, FsError> {
        check_target(path)?;
        let resolved = match fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                fs::canonicalize(path).map_err(|e| io_error("write", path, e))?
            }
            _ => path.to_owned(),
        };
        let Some(name) = resolved.file_name().map(OsString::from) else {
            return Err(FsError::IsADirectory {
                path: path.to_owned(),
            });
        };
        let dir_path = parent(&resolved);
        // Opened by the path with the links that were checked resolved, following no other: a
        // link swapped into a directory on the way since the check is refused.
        let physical = check_links(path)?;
        let dir =
            open_directory(parent(&physical)).map_err(|source| FsError::DirectoryNotOpened {
                path: path.to_owned(),
                dir: dir_path.to_owned(),
                source,
            })?;
        let waiting_since = Instant::now();
        let mut told = false;
        let mut created = false;
        let mut created_guard = None;
        let file = loop {
            let (file, writable) = match open_in(&dir, &name) {
                Ok(opened) => opened,
                Err(e) if e.kind() == io::ErrorKind::NotFound && !create => break None,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    // Held from before the file exists to the end of the lock, so that an
                    // interruption does not leave the file behind.
                    let guard = stagecraft_core::interrupt::hold();
                    match create_in(&dir, &name) {
                        Ok(Some(file)) => {
                            created = true;
                            created_guard = Some(guard);
                            (file, true)
                        }
                        // Created by someone else meanwhile: that one is opened and locked.
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                        // Not creatable here (a directory this user cannot write): nothing to
                        // lock, and the replace, if one is needed, says why it cannot be done.
                        Ok(None) => break None,
                        Err(e) => return Err(io_error("write", path, e)),
                    }
                }
                Err(e) => return Err(io_error("read", path, e)),
            };
            let meta = file.metadata().map_err(|e| io_error("read", path, e))?;
            check_regular(path, &meta)?;
            if !writable {
                // Nobody waits for this user's lock: the replace refuses a file it cannot
                // write, and a target already in sync needs none.
                break Some(file);
            }
            match try_lock(&file, &meta) {
                Lock::Taken => {}
                Lock::Busy { holder } => {
                    let waited = waiting_since.elapsed();
                    if waited >= timeout {
                        return Err(FsError::LockTimeout {
                            path: path.to_owned(),
                            waited: timeout,
                            holder,
                        });
                    }
                    if !told {
                        told = true;
                        let held = holder
                            .map(|pid| format!("; process {pid} holds its lock"))
                            .unwrap_or_default();
                        tracing::warn!(
                            "waiting for another sync of {} to finish{held}; giving up after {}",
                            path.display(),
                            crate::duration::display(timeout)
                        );
                    }
                    std::thread::sleep(LOCK_RETRY.min(timeout - waited));
                    continue;
                }
            }
            // The sync that held the lock may have renamed a new file over this one: then this
            // lock guards nothing, and the new file is locked instead.
            match identity_in(&dir, &name) {
                Ok(Some(now)) if now == Identity::of(&meta) => break Some(file),
                Ok(_) => {
                    created = false;
                    created_guard = None;
                    continue;
                }
                Err(e) => return Err(io_error("read", path, e)),
            }
        };
        Ok(LockedTarget {
            named: path.to_owned(),
            path: resolved,
            dir,
            name,
            file,
            created,
            _created_guard: created_guard.filter(|_| created),
            timeout,
            read: None,
        })
    }

    /// Reads the target, or `None` when it does not exist yet.
    pub fn read_text(&mut self) -> Result<Option<String>, FsError> {
        let Some(mut file) = self.file.as_ref() else {
            return Ok(None);
        };
        let meta = file
            .metadata()
            .map_err(|e| io_error("read", &self.named, e))?;
        self.read = Some(Identity::of(&meta));
        file.seek(io::SeekFrom::Start(0))
            .map_err(|e| io_error("read", &self.named, e))?;
        read_open(&self.named, file, &meta).map(Some)
    }

    /// Replaces the target with what `contents` writes, so that a crash at any moment leaves the
    /// old file or the new one, never a mix, and leaves no other file: the new file is made
    /// without a name (`O_TMPFILE`) in the target's directory, readable and writable by its
    /// owner only while it is written, written and flushed to disk, given the target's owner,
    /// group and mode (a new file: 0600, whatever the umask), linked into the directory and
    /// renamed over the target, then the directory is flushed. Where the file system cannot
    /// make a file without a name, it gets one, `.NAME.stagecraft-XXXXXXXXXXXXXXXX.tmp`, from
    /// the start. When `contents` fails, or the target changed since
    /// [`LockedTarget::read_text`], nothing is replaced, and a name given is removed, checked
    /// to still be the file made here. Nothing else is ever removed.
    ///
    /// What cannot work is refused first, saying what to change ([`check_writable`]).
    /// Interruptions (Ctrl-C, SIGTERM, SIGHUP) are held from the creation of the new file
    /// until it is in place or gone ([`stagecraft_core::interrupt`]).
    ///
    /// A hard link to the target is not written through: the target's name gets a new file, and
    /// the other names keep the old content.
    pub fn replace(
        &self,
        contents: impl FnOnce(&mut (dyn Write + Send)) -> io::Result<()>,
    ) -> Result<(), FsError> {
        check_writable(&self.named)?;
        let write_error = |e| io_error("write", &self.named, e);
        let guard = stagecraft_core::interrupt::hold();
        let temp = Temp::create(&self.dir, &self.name).map_err(write_error)?;
        std::thread::scope(|scope| {
            let mut writer = BufWriter::with_capacity(1 << 16, WriteBehind::new(&temp.file, scope));
            contents(&mut writer)?;
            writer.flush()
        })
        .map_err(write_error)?;
        temp.file.sync_all().map_err(write_error)?;
        // The target is looked at again as late as possible; its owner and mode are given to
        // the copy only once it is complete and on disk, just before it is put in place. The
        // directory's flush afterwards commits the mode.
        let now = identity_in(&self.dir, &self.name).map_err(write_error)?;
        // A symbolic link swapped meanwhile would leave the named target as it was.
        let relinked = self.named != self.path
            && fs::canonicalize(&self.named).ok().as_ref() != Some(&self.path);
        if relinked || now != self.read {
            return Err(FsError::Changed {
                path: self.named.clone(),
            });
        }
        let existing = match (&self.file, &now) {
            (Some(file), Some(_)) => Some(file.metadata().map_err(write_error)?),
            _ => None,
        };
        keep_owner_and_mode(&temp.file, existing.as_ref()).map_err(|e| FsError::Io {
            action: "keep the owner, group and mode of",
            path: self.named.clone(),
            source: e,
        })?;
        match temp.put_in_place(&self.name, existing.is_some()) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Created by someone else since it was found missing.
                return Err(FsError::Changed {
                    path: self.named.clone(),
                });
            }
            placed => placed.map_err(write_error)?,
        }
        let synced = self.dir.sync_all().map_err(write_error);
        drop(guard);
        synced
    }
}

impl Drop for LockedTarget {
    /// Removes the empty file the lock created for a new target, unless it was replaced: only if
    /// the name is still that file, and it is still empty.
    fn drop(&mut self) {
        let Some(file) = self.file.as_ref().filter(|_| self.created) else {
            return;
        };
        let Ok(own) = file.metadata() else {
            return;
        };
        let own = Identity::of(&own);
        if own.len == 0
            && identity_in(&self.dir, &self.name).is_ok_and(|now| now == Some(own))
            && let Err(error) =
                rustix::fs::unlinkat(&self.dir, &self.name, rustix::fs::AtFlags::empty())
        {
            tracing::warn!(file = %self.named.display(), %error, "cannot remove the empty file created to lock a new target");
        }
    }
}

/// Creates `name` in `dir`, empty and 0600, only if it does not exist (`AlreadyExists`
/// otherwise); `None` when this user cannot create files there.
fn create_in(dir: &File, name: &OsStr) -> io::Result<Option<File>> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::CREATE | OFlags::EXCL | OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o600)) {
        Ok(fd) => {
            let file = File::from(fd);
            // The umask may have narrowed it; it is what a new target gets.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
            Ok(Some(file))
        }
        Err(rustix::io::Errno::ACCESS | rustix::io::Errno::ROFS | rustix::io::Errno::PERM) => {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens a path whose symbolic links [`check_links`] resolved, following none that appeared
/// since (`openat2` with `RESOLVE_NO_SYMLINKS`; a plain open before Linux 5.6 and elsewhere).
#[cfg(unix)]
fn open_no_symlinks(
    path: &Path,
    flags: rustix::fs::OFlags,
) -> rustix::io::Result<std::os::fd::OwnedFd> {
    use rustix::fs::Mode;
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, ResolveFlags};
        match rustix::fs::openat2(CWD, path, flags, Mode::empty(), ResolveFlags::NO_SYMLINKS) {
            Err(rustix::io::Errno::NOSYS) => rustix::fs::open(path, flags, Mode::empty()),
            opened => opened,
        }
    }
    #[cfg(not(target_os = "linux"))]
    rustix::fs::open(path, flags, Mode::empty())
}

/// Opens a directory to make files in it and flush it (which needs it open for reading). One
/// that this user may search but not read is opened as a path only (`O_PATH`): enough to open
/// and lock the target, and so to find it in sync; a replace refuses it first
/// ([`FsError::DirectoryNotOpened`]).
fn open_directory(dir: &Path) -> io::Result<File> {
    use rustix::fs::OFlags;
    let flags = OFlags::DIRECTORY | OFlags::CLOEXEC;
    let open = |flags| open_no_symlinks(dir, flags);
    match open(flags | OFlags::RDONLY) {
        #[cfg(target_os = "linux")]
        Err(rustix::io::Errno::ACCESS) => Ok(File::from(open(flags | OFlags::PATH)?)),
        opened => Ok(File::from(opened?)),
    }
}

/// Opens `name` in `dir` without following a symbolic link (one put there since the path was
/// resolved is refused), for reading and writing when this user can write it, else for
/// reading; says which.
fn open_in(dir: &File, name: &OsStr) -> io::Result<(File, bool)> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    match rustix::fs::openat(dir, name, flags | OFlags::RDWR, Mode::empty()) {
        Ok(fd) => Ok((File::from(fd), true)),
        Err(rustix::io::Errno::ACCESS | rustix::io::Errno::ROFS | rustix::io::Errno::PERM) => {
            let fd = rustix::fs::openat(dir, name, flags | OFlags::RDONLY, Mode::empty())?;
            Ok((File::from(fd), false))
        }
        Err(e) => Err(e.into()),
    }
}

/// The identity of `name` in `dir` (not following a symbolic link), or `None` when it does not
/// exist.
fn identity_in(dir: &File, name: &OsStr) -> io::Result<Option<Identity>> {
    match rustix::fs::statat(dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(Identity {
            len: stat.st_size as u64,
            modified: std::time::SystemTime::UNIX_EPOCH.checked_add(Duration::new(
                stat.st_mtime as u64,
                stat.st_mtime_nsec as u32,
            )),
            inode: (stat.st_dev, stat.st_ino),
        })),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The outcome of trying to lock a target.
enum Lock {
    /// Taken (or the file system has no locks: the identity check before the rename still
    /// refuses to replace a target that changed meanwhile).
    Taken,
    /// Another sync, or another writer of the file, holds it.
    Busy {
        /// Its process, where it can be known.
        holder: Option<u32>,
    },
}

/// Tries to take a write lock on the whole of `file`, without waiting.
#[cfg(target_os = "linux")]
fn try_lock(file: &File, meta: &Metadata) -> Lock {
    use nix::fcntl::{FcntlArg, fcntl};
    use nix::libc;
    let whole = |kind: libc::c_int| libc::flock {
        l_type: kind as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    let error = match fcntl(file, FcntlArg::F_OFD_SETLK(&whole(libc::F_WRLCK))) {
        Ok(_) => return Lock::Taken,
        Err(error) => error,
    };
    if !matches!(error, nix::errno::Errno::EAGAIN | nix::errno::Errno::EACCES) {
        tracing::warn!(file = %file_name_of(meta), %error, "the file system cannot lock; concurrent syncs are not serialised");
        return Lock::Taken;
    }
    let mut conflict = whole(libc::F_WRLCK);
    if fcntl(file, FcntlArg::F_OFD_GETLK(&mut conflict)).is_ok() {
        match i32::from(conflict.l_type) {
            // Released in between: the next try takes it.
            libc::F_UNLCK => return Lock::Busy { holder: None },
            // Only readers: no sync holds it (syncs take write locks), and waiting for a reader
            // would let any user who can read the target block its syncs.
            libc::F_RDLCK => {
                tracing::debug!("the target has read locks only; not waiting for them");
                return Lock::Taken;
            }
            _ => {}
        }
        if let Ok(pid) = u32::try_from(conflict.l_pid)
            && pid > 0
        {
            return Lock::Busy { holder: Some(pid) };
        }
    }
    Lock::Busy {
        holder: lock_holder(meta),
    }
}

/// Elsewhere, `flock`: any reader of the target can hold it.
#[cfg(not(target_os = "linux"))]
fn try_lock(file: &File, _: &Metadata) -> Lock {
    match file.try_lock() {
        Ok(()) => Lock::Taken,
        Err(std::fs::TryLockError::WouldBlock) => Lock::Busy { holder: None },
        Err(std::fs::TryLockError::Error(error)) => {
            tracing::warn!(%error, "the file system cannot lock; concurrent syncs are not serialised");
            Lock::Taken
        }
    }
}

#[cfg(target_os = "linux")]
fn file_name_of(meta: &Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!("inode {}", meta.ino())
}

/// The process holding a write lock on the file of `meta`: open file description locks show no
/// process in `/proc/locks`, but each process's `/proc/PID/fdinfo` lists the locks of the files
/// it has open, for the processes this user may inspect.
#[cfg(target_os = "linux")]
fn lock_holder(meta: &Metadata) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let dev = meta.dev();
    let file = format!(
        " {:02x}:{:02x}:{} ",
        rustix::fs::major(dev),
        rustix::fs::minor(dev),
        meta.ino()
    );
    let own = std::process::id();
    fs::read_dir("/proc").ok()?.flatten().find_map(|process| {
        let pid: u32 = process.file_name().to_str()?.parse().ok()?;
        if pid == own {
            return None;
        }
        let fds = fs::read_dir(process.path().join("fdinfo")).ok()?;
        fds.flatten()
            .filter_map(|fd| fs::read_to_string(fd.path()).ok())
            .any(|info| {
                info.lines().any(|line| {
                    line.starts_with("lock:")
                        && !line.contains("->")
                        && line.contains(" WRITE ")
                        && line.contains(&file)
                })
            })
            .then_some(pid)
    })
}

/// The random part of a name: unique enough, and checked (`O_EXCL`, `linkat`'s `EEXIST`).
fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

/// The longest file name most file systems take (`NAME_MAX`).
const NAME_MAX: usize = 255;

/// A name for the new file of `target` while it gets one: `.NAME.stagecraft-XXXXXXXXXXXXXXXX.tmp`,
/// with `NAME` cut so that the whole fits in `NAME_MAX` bytes.
fn temp_name(target: &OsStr) -> OsString {
    let name = target.to_string_lossy();
    let random = random_hex();
    let room = NAME_MAX - ".".len() - ".stagecraft-".len() - random.len() - ".tmp".len();
    let mut cut = name.len().min(room);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(".{}.stagecraft-{random}.tmp", &name[..cut]).into()
}

/// The new file of a target, in the target's directory.
struct Temp<'d> {
    file: File,
    dir: &'d File,
    /// Its name, while it has one that is not the target's: removed on drop, if it is still
    /// this file.
    name: Option<OsString>,
}

impl<'d> Temp<'d> {
    /// A file without a name (`O_TMPFILE`), or where the file system cannot make one, a file
    /// with a new name, created only if that name is free. Either is 0600 (or less, by the umask).
    fn create(dir: &'d File, target: &OsStr) -> io::Result<Self> {
        use rustix::fs::{Mode, OFlags};
        use rustix::io::Errno;
        let mode = Mode::from_raw_mode(0o600);
        #[cfg(target_os = "linux")]
        match rustix::fs::openat(
            dir,
            ".",
            OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
            mode,
        ) {
            Ok(fd) => {
                return Ok(Temp {
                    file: File::from(fd),
                    dir,
                    name: None,
                });
            }
            // No O_TMPFILE in this file system (EOPNOTSUPP) or kernel (EISDIR, EINVAL).
            Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL) => {}
            Err(e) => return Err(e.into()),
        }
        Self::named(dir, target)
    }

    /// A file with a new name of [`temp_name`]'s form, created only if the name is free.
    fn named(dir: &'d File, target: &OsStr) -> io::Result<Self> {
        use rustix::fs::{Mode, OFlags};
        let flags =
            OFlags::CREATE | OFlags::EXCL | OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        loop {
            let name = temp_name(target);
            match rustix::fs::openat(dir, &name, flags, Mode::from_raw_mode(0o600)) {
                Ok(fd) => {
                    return Ok(Temp {
                        file: File::from(fd),
                        dir,
                        name: Some(name),
                    });
                }
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Puts the file in `target`'s place: over it when `replace`, else only if no file has
    /// that name (`AlreadyExists` otherwise). A file without a name is linked in: directly as
    /// a new target, or under a new name that is then renamed over the target (a link cannot
    /// replace a file).
    fn put_in_place(mut self, target: &OsStr, replace: bool) -> io::Result<()> {
        use rustix::fs::{RenameFlags, renameat, renameat_with};
        if self.name.is_none() {
            if !replace {
                return self.link_as(target);
            }
            loop {
                let name = temp_name(target);
                match self.link_as(&name) {
                    Ok(()) => break self.name = Some(name),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        let name = self.name.clone().expect("named above");
        let linked = if replace {
            renameat(self.dir, &name, self.dir, target).map(|()| false)
        } else {
            match renameat_with(self.dir, &name, self.dir, target, RenameFlags::NOREPLACE) {
                // A file system without RENAME_NOREPLACE: a link does not replace either; the
                // temporary name is then removed on drop.
                Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                    let flags = rustix::fs::AtFlags::empty();
                    rustix::fs::linkat(self.dir, &name, self.dir, target, flags).map(|()| true)
                }
                renamed => renamed.map(|()| false),
            }
        }?;
        if !linked {
            self.name = None;
        }
        Ok(())
    }

    /// Gives the file without a name the name `name` in its directory.
    fn link_as(&self, name: &OsStr) -> io::Result<()> {
        use rustix::fs::{AtFlags, CWD, linkat};
        use std::os::fd::AsRawFd;
        let proc_path = format!("/proc/self/fd/{}", self.file.as_raw_fd());
        match linkat(
            CWD,
            proc_path.as_str(),
            self.dir,
            name,
            AtFlags::SYMLINK_FOLLOW,
        ) {
            // No /proc: AT_EMPTY_PATH does the same where this process may use it.
            Err(rustix::io::Errno::NOENT) => {
                linkat(&self.file, "", self.dir, name, AtFlags::EMPTY_PATH)?
            }
            linked => linked?,
        }
        Ok(())
    }

    /// Whether `name` in the directory is this file.
    fn is_named(&self, name: &OsStr) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Ok(own) = self.file.metadata() else {
            return false;
        };
        identity_in(self.dir, name)
            .ok()
            .flatten()
            .is_some_and(|found| found.inode == (own.dev(), own.ino()))
    }
}

impl Drop for Temp<'_> {
    /// Removes the name the file was given, only if that name is still this file: nothing a
    /// sync did not make is ever removed.
    fn drop(&mut self) {
        let Some(name) = self.name.take() else {
            return;
        };
        if self.is_named(&name)
            && let Err(error) = rustix::fs::unlinkat(self.dir, &name, rustix::fs::AtFlags::empty())
        {
            tracing::warn!(file = ?name, %error, "cannot remove the temporary file of a failed sync");
        }
    }
}

/// How much is written between two flushes to disk in the background.
const WRITE_BEHIND: u64 = 1 << 20;

/// Writes to a file, and from its second MiB on has a background thread flush what is written so
/// far to disk (`fdatasync`) each MiB, so that the disk writes while the rest is still being made
/// and the final flush has less to wait for. A small file starts no thread.
struct WriteBehind<'scope, 'env> {
    file: &'env File,
    scope: &'scope std::thread::Scope<'scope, 'env>,
    written: u64,
    /// Wakes the flushing thread; a wake-up while one is pending is dropped.
    flush: Option<std::sync::mpsc::SyncSender<()>>,
}

impl<'scope, 'env> WriteBehind<'scope, 'env> {
    fn new(file: &'env File, scope: &'scope std::thread::Scope<'scope, 'env>) -> Self {
        WriteBehind {
            file,
            scope,
            written: 0,
            flush: None,
        }
    }
}

impl Write for WriteBehind<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        let before = self.written / WRITE_BEHIND;
        self.written += n as u64;
        if self.written / WRITE_BEHIND > before {
            let file = self.file;
            let flush = self.flush.get_or_insert_with(|| {
                let (flush, flushes) = std::sync::mpsc::sync_channel(1);
                // Its errors are those of the final flush, which reports them.
                self.scope
                    .spawn(move || flushes.iter().for_each(|()| drop(file.sync_data())));
                flush
            });
            let _ = flush.try_send(());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Gives `file` the owner, group and mode of `target`, or mode 0600 for a new target (set
/// explicitly: the umask narrowed the mode the file was created with).
#[cfg(unix)]
fn keep_owner_and_mode(file: &File, target: Option<&Metadata>) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Some(target) = target else {
        return file.set_permissions(fs::Permissions::from_mode(0o600));
    };
    let own = file.metadata()?;
    if (own.uid(), own.gid()) != (target.uid(), target.gid()) {
        // Changing the owner clears set-user-ID bits, so the mode comes after.
        std::os::unix::fs::fchown(file, Some(target.uid()), Some(target.gid()))?;
    }
    file.set_permissions(fs::Permissions::from_mode(target.mode() & 0o7777))
}

#[cfg(not(unix))]
fn keep_owner_and_mode(file: &File, target: Option<&Metadata>) -> io::Result<()> {
    match target {
        Some(target) => file.set_permissions(target.permissions()),
        None => Ok(()),
    }
}

/// Replaces `path` with what `contents` writes: [`LockedTarget::lock`], then
/// [`LockedTarget::replace`]. A symbolic link is followed, so that the file it points to is
/// replaced and the link stays.
pub fn write_atomically(
    path: &Path,
    contents: impl FnOnce(&mut (dyn Write + Send)) -> io::Result<()>,
) -> Result<(), FsError> {
    let mut target = LockedTarget::lock(path)?;
    target.read = match &target.file {
        Some(file) => Some(Identity::of(
            &file.metadata().map_err(|e| io_error("read", path, e))?,
        )),
        None => None,
    };
    target.replace(contents)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::fs::Permissions;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_are_private_and_existing_ones_keep_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join(".env");
        write_atomically(&new, |w| w.write_all(b"A=1\n")).unwrap();
        assert_eq!(mode(&new), 0o600);
        fs::set_permissions(&new, Permissions::from_mode(0o640)).unwrap();
        write_atomically(&new, |w| w.write_all(b"A=2\n")).unwrap();
        assert_eq!(mode(&new), 0o640);
        assert_eq!(fs::read_to_string(&new).unwrap(), "A=2\n");
        let failed = write_atomically(&new, |w| {
            w.write_all(b"A=3\n")?;
            Err(io::Error::other("the writer fails halfway"))
        });
        assert!(matches!(failed, Err(FsError::Io { .. })));
        assert_eq!(
            fs::read_to_string(&new).unwrap(),
            "A=2\n",
            "a failed write leaves the target as it was"
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            [".env"],
            "no temporary or backup file is left behind"
        );
    }

    /// The files this process has open that have no name in `dir` (`O_TMPFILE`), with their mode.
    fn unnamed_files_in(dir: &Path) -> Vec<u32> {
        let prefix = format!("{}/#", dir.canonicalize().unwrap().display());
        fs::read_dir("/proc/self/fd")
            .unwrap()
            .flatten()
            .filter(|fd| {
                fs::read_link(fd.path()).is_ok_and(|to| to.to_string_lossy().starts_with(&prefix))
            })
            .map(|fd| fs::metadata(fd.path()).unwrap().permissions().mode() & 0o777)
            .collect()
    }

    #[test]
    fn the_new_file_has_no_name_and_is_private_until_it_is_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t.env");
        fs::write(&target, "A=1\n").unwrap();
        fs::set_permissions(&target, Permissions::from_mode(0o644)).unwrap();
        write_atomically(&target, |w| {
            w.write_all(b"A=2\n")?;
            assert_eq!(
                fs::read_dir(dir.path()).unwrap().count(),
                1,
                "no name while written"
            );
            assert_eq!(
                unnamed_files_in(dir.path()),
                [0o600],
                "private while written"
            );
            Ok(())
        })
        .unwrap();
        assert_eq!(mode(&target), 0o644);
        assert_eq!(fs::read_to_string(&target).unwrap(), "A=2\n");
    }

    #[test]
    fn a_named_temporary_file_is_removed_only_while_it_is_the_file_made() {
        // The way of file systems without O_TMPFILE.
        let dir = tempfile::tempdir().unwrap();
        let open = File::open(dir.path()).unwrap();
        let temp = Temp::named(&open, OsStr::new("t.env")).unwrap();
        let name = temp.name.clone().unwrap();
        let name = name.to_str().unwrap();
        assert!(
            name.starts_with(".t.env.stagecraft-") && name.ends_with(".tmp"),
            "{name}"
        );
        assert_eq!(mode(&dir.path().join(name)), 0o600);
        drop(temp);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "removed when it fails"
        );
        // Another file put in its place meanwhile is not ours: it stays.
        let temp = Temp::named(&open, OsStr::new("t.env")).unwrap();
        let path = dir.path().join(temp.name.as_ref().unwrap());
        fs::write(dir.path().join("user"), "keep").unwrap();
        fs::rename(dir.path().join("user"), &path).unwrap();
        drop(temp);
        assert_eq!(fs::read_to_string(&path).unwrap(), "keep");
        // Put in place, over a target or as a new one, it leaves no other name.
        fs::remove_file(&path).unwrap();
        let temp = Temp::named(&open, OsStr::new("new.env")).unwrap();
        temp.put_in_place(OsStr::new("new.env"), false).unwrap();
        let temp = Temp::named(&open, OsStr::new("new.env")).unwrap();
        let exists = temp.put_in_place(OsStr::new("new.env"), false).unwrap_err();
        assert_eq!(exists.kind(), io::ErrorKind::AlreadyExists);
        let temp = Temp::named(&open, OsStr::new("new.env")).unwrap();
        temp.put_in_place(OsStr::new("new.env"), true).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["new.env"]);
    }

    #[test]
    fn a_target_is_locked_alone_and_the_wait_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.env");
        fs::write(&path, "A=1\n").unwrap();
        fs::write(dir.path().join("other.env"), "A=1\n").unwrap();
        let held = LockedTarget::lock(&path).unwrap();
        let started = Instant::now();
        let error = LockedTarget::lock_waiting(&path, Duration::from_millis(300)).unwrap_err();
        assert!(matches!(error, FsError::LockTimeout { .. }), "{error}");
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(started.elapsed() < Duration::from_secs(5));
        // Another file of the same directory does not wait.
        let started = Instant::now();
        LockedTarget::lock_waiting(&dir.path().join("other.env"), Duration::from_secs(10)).unwrap();
        assert!(started.elapsed() < Duration::from_secs(1));
        // A waiter gets the lock of the file that the holder put in place.
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| {
                let mut target =
                    LockedTarget::lock_waiting(&path, Duration::from_secs(30)).unwrap();
                target.read_text().unwrap()
            });
            std::thread::sleep(Duration::from_millis(200));
            let mut held = held;
            held.read_text().unwrap();
            held.replace(|w| w.write_all(b"A=2\n")).unwrap();
            drop(held);
            assert_eq!(waiter.join().unwrap().as_deref(), Some("A=2\n"));
        });
    }

    #[test]
    fn links_are_resolved_as_they_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap().join("real");
        fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
        let checked = check_links(&dir.path().join("link/../link/new.env")).unwrap();
        assert_eq!(checked, real.join("new.env"));
        // A directory opened by that path refuses a link put there since.
        let other = dir.path().join("other");
        fs::create_dir(&other).unwrap();
        fs::remove_dir(&real).unwrap();
        std::os::unix::fs::symlink(&other, &real).unwrap();
        assert!(File::open(&real).is_ok(), "a plain open follows it");
        let error = open_directory(&real).unwrap_err();
        assert_eq!(
            error.raw_os_error(),
            Some(rustix::io::Errno::LOOP.raw_os_error())
        );
    }

    #[test]
    fn a_new_target_is_locked_too_and_left_absent_when_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.env");
        let mut first = LockedTarget::lock(&path).unwrap();
        assert_eq!(first.read_text().unwrap().as_deref(), Some(""));
        let error = LockedTarget::lock_waiting(&path, Duration::from_millis(200)).unwrap_err();
        assert!(matches!(error, FsError::LockTimeout { .. }), "{error}");
        drop(first);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing written, nothing left"
        );
        // Two syncs of a new target: the second waits and reads what the first wrote.
        let first = LockedTarget::lock(&path).unwrap();
        std::thread::scope(|scope| {
            let second = scope.spawn(|| {
                let mut target =
                    LockedTarget::lock_waiting(&path, Duration::from_secs(30)).unwrap();
                target.read_text().unwrap()
            });
            std::thread::sleep(Duration::from_millis(200));
            let mut first = first;
            first.read_text().unwrap();
            first.replace(|w| w.write_all(b"A=1\n")).unwrap();
            drop(first);
            assert_eq!(second.join().unwrap().as_deref(), Some("A=1\n"));
        });
        assert_eq!(mode(&path), 0o600);
        // An empty target someone else made is not removed.
        fs::write(&path, "").unwrap();
        drop(LockedTarget::lock(&path).unwrap());
        assert!(path.exists());
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_read_lock_is_not_waited_for() {
        use nix::fcntl::{FcntlArg, fcntl};
        use nix::libc;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.env");
        fs::write(&path, "A=1\n").unwrap();
        // What any user who can read the target can hold.
        let reader = File::open(&path).unwrap();
        let read_lock = libc::flock {
            l_type: libc::F_RDLCK as libc::c_short,
            l_whence: libc::SEEK_SET as libc::c_short,
            l_start: 0,
            l_len: 0,
            l_pid: 0,
        };
        fcntl(&reader, FcntlArg::F_OFD_SETLK(&read_lock)).unwrap();
        let started = Instant::now();
        write_atomically(&path, |w| w.write_all(b"A=2\n")).unwrap();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(fs::read_to_string(&path).unwrap(), "A=2\n");
    }

    #[test]
    fn a_target_changed_by_another_program_meanwhile_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.env");
        fs::write(&path, "A=1\n").unwrap();
        let mut target = LockedTarget::lock(&path).unwrap();
        assert_eq!(target.read_text().unwrap().as_deref(), Some("A=1\n"));
        // An editor saves the file while the sync works on what it read.
        fs::write(&path, "A=1\nB=2\n").unwrap();
        let error = target.replace(|w| w.write_all(b"A=3\n")).unwrap_err();
        assert!(matches!(error, FsError::Changed { .. }), "{error}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "A=1\nB=2\n");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file is left"
        );
    }

    #[test]
    fn a_symlink_swapped_meanwhile_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.env"), "A=1\n").unwrap();
        fs::write(dir.path().join("b.env"), "B=1\n").unwrap();
        let link = dir.path().join(".env");
        std::os::unix::fs::symlink("a.env", &link).unwrap();
        let mut target = LockedTarget::lock(&link).unwrap();
        assert_eq!(target.read_text().unwrap().as_deref(), Some("A=1\n"));
        fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink("b.env", &link).unwrap();
        let error = target.replace(|w| w.write_all(b"A=2\n")).unwrap_err();
        assert!(matches!(error, FsError::Changed { .. }), "{error}");
        assert_eq!(
            fs::read_to_string(dir.path().join("a.env")).unwrap(),
            "A=1\n"
        );
        assert_eq!(fs::read_to_string(&link).unwrap(), "B=1\n");
    }

    #[test]
    fn a_symlink_is_followed_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.env");
        fs::write(&real, "A=1\n").unwrap();
        let link = dir.path().join(".env");
        std::os::unix::fs::symlink("real.env", &link).unwrap();
        write_atomically(&link, |w| w.write_all(b"A=2\n")).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "A=2\n");
    }

    #[test]
    fn refuses_what_it_cannot_replace() {
        let dir = tempfile::tempdir().unwrap();
        let missing_dir = dir.path().join("nope/.env");
        assert!(matches!(
            write_atomically(&missing_dir, |_| Ok(())),
            Err(FsError::MissingDirectory { .. })
        ));
        assert!(matches!(
            write_atomically(dir.path(), |_| Ok(())),
            Err(FsError::IsADirectory { .. })
        ));
        let read_only = dir.path().join("ro.env");
        fs::write(&read_only, "A=1\n").unwrap();
        fs::set_permissions(&read_only, Permissions::from_mode(0o444)).unwrap();
        assert!(matches!(
            write_atomically(&read_only, |w| w.write_all(b"A=2\n")),
            Err(FsError::ReadOnly { .. })
        ));
        assert_eq!(fs::read_to_string(&read_only).unwrap(), "A=1\n");
    }

    #[test]
    fn read_errors_name_the_line_of_a_bad_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin1.env");
        fs::write(&path, b"A=1\nB=caf\xe9\n").unwrap();
        let error = read_text(&path).unwrap_err();
        assert!(matches!(error, FsError::NotUtf8 { line: 2, .. }), "{error}");
        assert!(matches!(
            read_text(&dir.path().join("x")),
            Err(FsError::NotFound { .. })
        ));
        assert!(matches!(
            read_text(dir.path()),
            Err(FsError::IsADirectory { .. })
        ));
    }
}
