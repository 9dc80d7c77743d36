//! The `secret-dir` provider: each secret of an env file becomes a file of its own in a
//! directory, as Docker and Kubernetes mount secrets.
//!
//! ```yaml
//! secrets:
//!   provider: secret-dir
//!   providers:
//!     secret-dir:
//!       source_file: .env.local # relative to stagecraft.yml; --from overrides it
//!       target_dir: secrets     # the directory must exist; --to overrides it
//! ```
//!
//! Each file is replaced atomically, the directory as a whole is not: a sync stopped part-way
//! (a failed write, Ctrl-C) leaves the files written so far, and the next sync completes it.

use serde::Deserialize;
use stagecraft_core::{Action, SecretsProvider, SyncError, SyncOptions, SyncReport};
use stagecraft_providers::{envfile, fs, keys};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Writes each secret of an env file to a file of its own in a directory.
#[stagecraft_core::secrets_provider("secret-dir", settings = Options)]
#[derive(Debug)]
pub struct SecretDir;

/// The provider's section of `stagecraft.yml`: `secrets.providers.secret-dir`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The env file to read, relative to stagecraft.yml. `--from` overrides it.
    pub source_file: Option<PathBuf>,
    /// The directory that gets a file a key, relative to stagecraft.yml. `--to` overrides it.
    pub target_dir: Option<PathBuf>,
}

/// Why a sync failed. Never holds a value.
#[derive(Debug, thiserror::Error)]
enum Error {
    #[error("no {0}: set it in stagecraft.yml or pass {1}")]
    Missing(&'static str, &'static str),
    #[error("{} does not define {}", .0.display(), .1.join(", "))]
    MissingKeys(PathBuf, Vec<String>),
    #[error("the key {0:?} cannot be a file name")]
    NotAFileName(String),
    #[error("cannot {} {}", .0, .1.display())]
    Io(&'static str, PathBuf, #[source] std::io::Error),
}

impl SecretsProvider for SecretDir {
    async fn sync(&self, opts: SyncOptions) -> Result<SyncReport, SyncError> {
        let options = opts.settings::<Options>()?;
        // Paths in stagecraft.yml are relative to it; paths given as flags, to the current one.
        let base = opts.config.origin().and_then(Path::parent);
        let path = |flag: &Option<String>, setting: Option<PathBuf>| {
            let configured = setting.map(|p| base.unwrap_or(Path::new("")).join(p));
            flag.as_ref().map(PathBuf::from).or(configured)
        };
        let source = path(&opts.source, options.source_file)
            .ok_or_else(|| SyncError::input(Error::Missing("source_file", "--from")))?;
        let target = path(&opts.target, options.target_dir)
            .ok_or_else(|| SyncError::input(Error::Missing("target_dir", "--to")))?;

        // Every check comes before the first write. Errors name the file and line, never a value.
        let text = fs::read_text(&source)?;
        let all = envfile::read_str(&text).map_err(|(line, error)| {
            let path = source.clone();
            envfile::Error::Parse { path, line, error }
        })?;
        if let Some((key, _)) = all.iter().find(|(key, _)| !is_file_name(key)) {
            return Err(SyncError::input(Error::NotAFileName(key.clone())));
        }
        // --prune removes the keys the whole source lacks, also with --keys.
        let stale = if opts.prune {
            stale_keys(&target, &all)?
        } else {
            Vec::new()
        };
        let chosen = keys::select(all, &opts.keys, keys::Order::Source)
            .map_err(|missing| SyncError::input(Error::MissingKeys(source.clone(), missing)))?;

        let mut report =
            SyncReport::new(source.display().to_string(), target.display().to_string());
        for (key, value) in &chosen {
            let file = target.join(key);
            // Only a regular file is read: a FIFO or a device is an error, not a wait.
            let action = match fs::read_text_if_exists(&file) {
                Ok(None) => Action::Added,
                Ok(Some(current)) if current == *value => Action::Unchanged,
                Ok(Some(_)) | Err(fs::FsError::NotUtf8 { .. }) => Action::Changed,
                Err(e) => return Err(e.into()),
            };
            if action != Action::Unchanged && !opts.dry_run {
                // A temporary file beside it, renamed over it: `0600` when new.
                fs::write_atomically(&file, |out| out.write_all(value.as_bytes()))?;
                report.written = true;
            }
            report.push(key, action);
        }
        for key in stale {
            if !opts.dry_run {
                let file = target.join(&key);
                std::fs::remove_file(&file)
                    .map_err(|e| SyncError::external(Error::Io("remove", file, e)))?;
                report.written = true;
            }
            report.push(&key, Action::Removed);
        }
        Ok(report)
    }
}

/// Whether `key` can name a file of its own that is not hidden.
fn is_file_name(key: &str) -> bool {
    !key.is_empty() && !key.starts_with('.') && !key.contains(['/', '\\', '\0'])
}

/// The keys in `dir` that `source` lacks, in name order: its entries that are not directories
/// and not hidden (a temporary file `.KEY.XXXXXX.tmp`, Kubernetes' `..data`).
fn stale_keys(dir: &Path, source: &[(String, String)]) -> Result<Vec<String>, SyncError> {
    let error = |e| SyncError::external(Error::Io("list", dir.to_owned(), e));
    let entries = match std::fs::read_dir(dir) {
        // A missing directory has nothing to remove; the first write says it is missing.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        entries => entries.map_err(error)?,
    };
    let in_source: BTreeSet<&str> = source.iter().map(|(key, _)| key.as_str()).collect();
    let mut stale = Vec::new();
    for entry in entries {
        let entry = entry.map_err(error)?;
        let is_dir = entry.file_type().map_err(error)?.is_dir();
        if let Ok(name) = entry.file_name().into_string()
            && !is_dir
            && is_file_name(&name)
            && !in_source.contains(name.as_str())
        {
            stale.push(name);
        }
    }
    stale.sort();
    Ok(stale)
}

// This crate's table of providers, found in its module tree and sorted by ID at compile time,
// with the tables of the provider crates it depends on (which `build.rs` finds).
stagecraft_core::include_providers!();
