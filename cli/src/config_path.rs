//! Which `stagecraft.yml` a command reads: `--config`, else `STAGECRAFT_CONFIG`, else the
//! nearest `stagecraft.yml` in the current directory or its parents, as cargo and git find
//! theirs.

use stagecraft_core::ConfigError;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The file name looked for.
pub(crate) const FILE_NAME: &str = "stagecraft.yml";

/// The variable that names the config file when `--config` does not.
pub(crate) const ENV: &str = "STAGECRAFT_CONFIG";

/// The config file to read: `flag` (`--config`), else `$STAGECRAFT_CONFIG` when set and not
/// empty, else the nearest `stagecraft.yml` from the current directory up. A file found in a
/// parent is named by a relative path (`../../stagecraft.yml`), so that messages point at it
/// from where the user is and the paths in it stay relative to it.
pub(crate) fn find(flag: Option<&Path>) -> Result<PathBuf, ConfigError> {
    find_from(
        flag,
        std::env::var_os(ENV),
        &std::env::current_dir().unwrap_or_default(),
    )
}

fn find_from(
    flag: Option<&Path>,
    env: Option<OsString>,
    current_dir: &Path,
) -> Result<PathBuf, ConfigError> {
    if let Some(path) = flag {
        return Ok(path.to_owned());
    }
    if let Some(path) = env.filter(|path| !path.is_empty()) {
        return Ok(path.into());
    }
    let mut relative = PathBuf::new();
    for dir in current_dir.ancestors() {
        // Anything by that name is the config, even a broken link or a directory: reading it
        // says what is wrong, rather than a file further up being used instead.
        match dir.join(FILE_NAME).symlink_metadata() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => relative.push(".."),
            _ => return Ok(relative.join(FILE_NAME)),
        }
    }
    Err(ConfigError::NotDiscovered {
        name: FILE_NAME.to_owned(),
        start: current_dir.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_the_variable_then_the_nearest_file() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        let not_found = find_from(None, None, &deep).unwrap_err();
        assert!(matches!(not_found, ConfigError::NotDiscovered { .. }));
        std::fs::write(dir.path().join(FILE_NAME), "").unwrap();
        assert_eq!(
            find_from(None, None, &deep).unwrap(),
            Path::new("../../stagecraft.yml")
        );
        assert_eq!(
            find_from(None, Some("".into()), &deep).unwrap(),
            Path::new("../../stagecraft.yml")
        );
        assert_eq!(
            find_from(None, Some("x.yml".into()), &deep).unwrap(),
            Path::new("x.yml")
        );
        assert_eq!(
            find_from(Some(Path::new("y.yml")), Some("x.yml".into()), &deep).unwrap(),
            Path::new("y.yml")
        );
        std::fs::write(deep.join(FILE_NAME), "").unwrap();
        assert_eq!(
            find_from(None, None, &deep).unwrap(),
            Path::new("stagecraft.yml")
        );
    }
}
