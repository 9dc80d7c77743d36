//! File access shared by the providers: reading a text file with errors that name the line of a
//! bad byte, and replacing a file atomically, safely against other syncs and interruptions.
//!
//! Exit codes follow one rule ([`FsError::is_input`]): a path the user named that does not exist
//! (`ENOENT`: a missing file, a missing directory of a new target, a symbolic link to nothing)
//! is the user's input to fix (1); any other file-system error (permission, a loop of links, a
//! directory, a FIFO or a device where a file is expected, …) is an external failure (2).

use std::fs::{self, File, Metadata};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

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
    check_regular(path, &fs::metadata(path).map_err(read_error)?)?;
    #[cfg(unix)]
    let file = {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
        File::from(rustix::fs::open(path, flags, Mode::empty()).map_err(|e| read_error(e.into()))?)
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

/// Checks that `path` can be replaced by [`write_atomically`] before any work is done: its
/// directory exists, and it is a regular file (or a symbolic link to one) that is not read-only,
/// or does not exist.
pub fn check_writable(path: &Path) -> Result<(), FsError> {
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
        Ok(meta) => {
            check_regular(path, &meta)?;
            if is_read_only(&meta) {
                return Err(FsError::ReadOnly {
                    path: path.to_owned(),
                });
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => match fs::symlink_metadata(path) {
            // A symbolic link to nothing: refused rather than followed to create a file
            // wherever it points.
            Ok(_) => Err(not_found(path)),
            Err(_) => Ok(()),
        },
        Err(e) => Err(io_error("write", path, e)),
    }
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

/// The longest file name most file systems take (`NAME_MAX`).
const NAME_MAX: usize = 255;
/// The random part of a temporary file's name.
const RANDOM_LEN: usize = 6;
const TEMP_SUFFIX: &str = ".tmp";

/// The start of the name of a temporary file for `target`: `.NAME.`, with `NAME` cut so that
/// the whole name (`.NAME.XXXXXX.tmp`) fits in `NAME_MAX` bytes.
fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let room = NAME_MAX - 2 - RANDOM_LEN - TEMP_SUFFIX.len();
    let mut cut = name.len().min(room);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(".{}.", &name[..cut])
}

/// A target file locked for a read-modify-write: while it lives, no other sync (of this
/// program) can replace a file in the same directory. The lock is an advisory lock on the
/// directory itself, so that it survives the rename and leaves no lock file behind.
#[derive(Debug)]
pub struct LockedTarget {
    /// The path as the user named it, for messages.
    named: PathBuf,
    /// The file replaced: `named`, or the file a symbolic link points to.
    path: PathBuf,
    /// The directory of `path`, open and locked.
    dir: File,
    /// Identity of the target as read, to notice another program replacing it meanwhile.
    read: Option<Identity>,
}

/// What tells two versions of a file apart without reading them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
}

impl Identity {
    fn of(meta: &Metadata) -> Self {
        Identity {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            inode: {
                use std::os::unix::fs::MetadataExt;
                (meta.dev(), meta.ino())
            },
        }
    }
}

impl LockedTarget {
    /// Checks that `path` can be replaced ([`check_writable`]), waits for the lock of its
    /// directory, and removes the temporary files a killed sync of this target left behind.
    pub fn lock(path: &Path) -> Result<Self, FsError> {
        check_writable(path)?;
        let resolved = match fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                fs::canonicalize(path).map_err(|e| io_error("write", path, e))?
            }
            _ => path.to_owned(),
        };
        let dir_path = parent(&resolved);
        let dir = File::open(dir_path).map_err(|e| io_error("open the directory of", path, e))?;
        match dir.lock() {
            Ok(()) => {}
            // A file system without advisory locks: the identity check before the rename
            // still refuses to replace a target that changed meanwhile.
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                tracing::warn!(dir = %dir_path.display(), "the file system cannot lock; concurrent syncs are not serialised");
            }
            Err(e) => return Err(io_error("lock the directory of", path, e)),
        }
        let target = LockedTarget {
            named: path.to_owned(),
            dir,
            read: None,
            path: resolved,
        };
        target.remove_stale_temporary_files();
        Ok(target)
    }

    /// Removes `.NAME.XXXXXX.tmp` files of this target: under the lock, no sync is writing one,
    /// so any that exists was left by a sync that was killed, and holds a copy of secrets.
    fn remove_stale_temporary_files(&self) {
        let prefix = temp_prefix(&self.path);
        let Ok(entries) = fs::read_dir(parent(&self.path)) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(random) = name
                .to_str()
                .and_then(|n| n.strip_prefix(&prefix))
                .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
            else {
                continue;
            };
            let ours =
                random.len() == RANDOM_LEN && random.bytes().all(|b| b.is_ascii_alphanumeric());
            if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
                match fs::remove_file(entry.path()) {
                    Ok(()) => {
                        tracing::info!(file = %entry.path().display(), "removed a temporary file a killed sync left behind")
                    }
                    Err(e) => {
                        tracing::warn!(file = %entry.path().display(), error = %e, "cannot remove a temporary file a killed sync left behind")
                    }
                }
            }
        }
    }

    /// Reads the target, or `None` when it does not exist yet.
    pub fn read_text(&mut self) -> Result<Option<String>, FsError> {
        match open_regular(&self.path) {
            Ok((file, meta)) => {
                self.read = Some(Identity::of(&meta));
                read_open(&self.named, &file, &meta).map(Some)
            }
            Err(FsError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces the target with what `contents` writes, so that a crash at any moment leaves the
    /// old file or the new one, never a mix: a temporary file in the same directory, readable
    /// and writable by its owner only while it is written, written and flushed to disk, given
    /// the target's owner, group and mode (a new file: 0600, whatever the umask), renamed over
    /// the target, then the directory flushed. When `contents` fails, or the target changed
    /// since [`LockedTarget::read_text`], nothing is replaced and the temporary file is removed.
    ///
    /// Interruptions (Ctrl-C, SIGTERM, SIGHUP) are held from the creation of the temporary file
    /// until it is renamed or removed ([`stagecraft_core::interrupt`]).
    ///
    /// A hard link to the target is not written through: the target's name gets a new file, and
    /// the other names keep the old content.
    pub fn replace(
        &self,
        contents: impl FnOnce(&mut (dyn Write + Send)) -> io::Result<()>,
    ) -> Result<(), FsError> {
        let write_error = |e| io_error("write", &self.named, e);
        let guard = stagecraft_core::interrupt::hold();
        let temp = tempfile::Builder::new()
            .prefix(&temp_prefix(&self.path))
            .suffix(TEMP_SUFFIX)
            .rand_bytes(RANDOM_LEN)
            .tempfile_in(parent(&self.path))
            .map_err(write_error)?;
        std::thread::scope(|scope| {
            let mut writer =
                BufWriter::with_capacity(1 << 16, WriteBehind::new(temp.as_file(), scope));
            contents(&mut writer)?;
            writer.flush()
        })
        .map_err(write_error)?;
        temp.as_file().sync_all().map_err(write_error)?;
        // The target is looked at again as late as possible; its owner and mode are given to
        // the copy only once it is complete and on disk, just before the rename (tempfile
        // creates it with mode 0600). The directory's flush after the rename commits the mode.
        let existing = match fs::metadata(&self.path) {
            Ok(meta) => Some(meta),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(write_error(e)),
        };
        // A symbolic link swapped meanwhile would leave the named target as it was.
        let relinked = self.named != self.path
            && fs::canonicalize(&self.named).ok().as_ref() != Some(&self.path);
        if relinked || existing.as_ref().map(Identity::of) != self.read {
            return Err(FsError::Changed {
                path: self.named.clone(),
            });
        }
        keep_owner_and_mode(temp.as_file(), existing.as_ref()).map_err(|e| FsError::Io {
            action: "keep the owner, group and mode of",
            path: self.named.clone(),
            source: e,
        })?;
        temp.persist(&self.path).map_err(|e| write_error(e.error))?;
        let synced = sync_dir(&self.dir).map_err(write_error);
        drop(guard);
        synced
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
    target.read = fs::metadata(&target.path).ok().map(|m| Identity::of(&m));
    target.replace(contents)
}

#[cfg(unix)]
fn sync_dir(dir: &File) -> io::Result<()> {
    dir.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_: &File) -> io::Result<()> {
    Ok(())
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

    #[test]
    fn the_temporary_file_is_private_until_the_rename() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t.env");
        fs::write(&target, "A=1\n").unwrap();
        fs::set_permissions(&target, Permissions::from_mode(0o644)).unwrap();
        write_atomically(&target, |w| {
            w.write_all(b"A=2\n")?;
            let temporary: Vec<_> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "tmp"))
                .collect();
            assert_eq!(temporary.len(), 1);
            assert_eq!(mode(&temporary[0]), 0o600, "while it is written");
            Ok(())
        })
        .unwrap();
        assert_eq!(mode(&target), 0o644);
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
