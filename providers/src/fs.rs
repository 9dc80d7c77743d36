//! File access shared by the providers: reading text with errors that name the line of a bad
//! byte, and replacing a file atomically.

use std::fs::{self, File, Permissions};
use std::io::{self, BufWriter, Write};
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
    /// A directory stands where a file is expected.
    #[error("{} is a directory, not a file", path.display())]
    IsADirectory {
        /// The path.
        path: PathBuf,
    },
    /// The directory that should hold a new file does not exist.
    #[error("cannot create {}: directory {} does not exist", path.display(), dir.display())]
    MissingDirectory {
        /// The file to create.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
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
    /// Any other failure of the operating system.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done: `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl FsError {
    /// Whether the user must fix the input (as opposed to an environment failure).
    pub fn is_input(&self) -> bool {
        !matches!(self, FsError::Io { .. })
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

/// Reads a UTF-8 text file.
pub fn read_text(path: &Path) -> Result<String, FsError> {
    let bytes = fs::read(path).map_err(|e| io_error("read", path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + memchr::memchr_iter(b'\n', valid).count();
        FsError::NotUtf8 {
            path: path.to_owned(),
            line,
        }
    })
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
/// directory exists, and it is not a directory or a read-only file.
pub fn check_writable(path: &Path) -> Result<(), FsError> {
    let dir = parent(path);
    if !dir.is_dir() {
        return Err(FsError::MissingDirectory {
            path: path.to_owned(),
            dir: dir.to_owned(),
        });
    }
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(FsError::IsADirectory {
            path: path.to_owned(),
        }),
        Ok(meta) if is_read_only(&meta.permissions()) => Err(FsError::ReadOnly {
            path: path.to_owned(),
        }),
        _ => Ok(()),
    }
}

#[cfg(unix)]
fn is_read_only(permissions: &Permissions) -> bool {
    use std::os::unix::fs::PermissionsExt;
    permissions.mode() & 0o222 == 0
}

#[cfg(not(unix))]
fn is_read_only(permissions: &Permissions) -> bool {
    permissions.readonly()
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Replaces `path` with what `contents` writes, so that a crash at any moment leaves the old
/// file or the new one, never a mix: a temporary file in the same directory, written and flushed
/// to disk, renamed over the target, then the directory flushed. An existing file keeps its
/// permissions; a new one is created readable and writable by its owner only (0600). When
/// `contents` fails, the target is left as it was. A symbolic link is followed, so that the file
/// it points to is replaced and the link stays.
pub fn write_atomically(
    path: &Path,
    contents: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), FsError> {
    check_writable(path)?;
    let resolved;
    let path = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            resolved = fs::canonicalize(path).map_err(|e| io_error("write", path, e))?;
            resolved.as_path()
        }
        _ => path,
    };
    let write_error = |e| io_error("write", path, e);
    let dir = parent(path);
    let existing = fs::metadata(path).ok().map(|m| m.permissions());
    // From here to the end, a signal would leave the temporary copy of the secrets behind.
    let _held = stagecraft_core::interrupt::hold();
    // tempfile creates the file with mode 0600 and removes it if anything below fails.
    let temp = tempfile::Builder::new()
        .prefix(&format!(
            ".{}.",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("stagecraft")
        ))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(write_error)?;
    let mut writer = BufWriter::with_capacity(1 << 16, temp.as_file());
    contents(&mut writer).map_err(write_error)?;
    writer.flush().map_err(write_error)?;
    drop(writer);
    if let Some(permissions) = existing {
        temp.as_file()
            .set_permissions(permissions)
            .map_err(write_error)?;
    }
    temp.as_file().sync_all().map_err(write_error)?;
    temp.persist(path).map_err(|e| write_error(e.error))?;
    sync_dir(dir).map_err(write_error)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
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
