//! `encore`: pushes the keys of an env file into Encore's secret manager with the `encore` CLI,
//! or writes them into the app's local overrides, `.secrets.local.cue`.
//!
//! ```yaml
//! secrets:
//!   provider: encore
//!   providers:
//!     encore:
//!       source_file: .env.local     # relative to stagecraft.yml
//!       app_dir: backend            # where encore.app is; default: the directory of stagecraft.yml
//!       types: [dev, preview, local] # the default; or `envs: [staging, qa]` for named environments
//!       binary: encore              # the default: `encore` on PATH
//!       concurrency: 4              # calls running at once (the default)
//!       timeout: 30s                # how long a call may take (the default; or 500ms, 2m, 45)
//! ```
//!
//! `SyncOptions::source` (`--from`) overrides the env file; `SyncOptions::target` (`--to`)
//! overrides the selection: `dev,preview` (environment types), `env:staging,env:qa` (named
//! environments) or `local-overrides`.
//!
//! A push runs `encore secret set --type dev,preview,local KEY` (or `--env staging,qa KEY`) in
//! `app_dir` once per key, all types in one call since Encore keeps one value per group of types
//! and refuses a selection that cuts across a group. The value goes to the child's stdin only,
//! never its arguments or environment (`push.rs`). Encore strips every trailing line break from
//! what it reads, so a value that ends with one, or holds a NUL, is refused before any call.
//!
//! `local-overrides` needs neither the CLI nor a login: the keys are merged into
//! `.secrets.local.cue` at the app's root, next to `encore.app` (found from `app_dir` upwards, as
//! the CLI finds it), where Encore reads it, as CUE strings, the way `envfile` merges an env file
//! (`cue.rs`). Keys must be Encore secret names, ASCII identifiers, for both.
//!
//! What `encore` says on stderr is shown only line by line, and only the lines that hold no form
//! of any value of the sync (`redact.rs`); whether it said it is not logged in is read from its
//! raw text.
//!
//! Others read the local overrides as a source, `encore:local-overrides` (the CLI cannot read
//! the secret manager's values); and a push takes another provider's keys
//! (`SyncOptions::secrets`, such as `--from vault:staging`) instead of the env file.

mod cue;
mod push;
mod redact;

pub use cue::{CueError, read_cue, write_cue_string};

use crate::envfile;
use crate::fs::{self, FsError};
use crate::keys::{self, Order};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use stagecraft_core::{
    ConfigError, ConfigWarning, ProviderConfig, ReadOptions, Secrets, SecretsProvider,
    SecretsSource, SyncError, SyncOptions, SyncReport, secrets_provider,
};
use std::hash::Hash;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Pushes env file keys into Encore's secret manager, or its local overrides file.
#[secrets_provider("encore", settings = Options, source)]
#[derive(Debug)]
pub struct Encore;

/// The provider's section of `stagecraft.yml`. The schema states by hand what serde's
/// attributes accept beyond the types (aliases, a timeout with units) and what [`decode`]
/// checks (`types` or `envs`, not empty, environment names).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = types_or_envs)]
struct Options {
    /// The env file to read, relative to stagecraft.yml.
    source_file: Option<PathBuf>,
    /// The directory of the Encore app (or below it), relative to stagecraft.yml; default: the
    /// directory of stagecraft.yml.
    app_dir: Option<PathBuf>,
    /// The environment types to set: `development` (`dev`), `production` (`prod`), `preview`
    /// (`pr`, `ephemeral`), `local`. Default: dev, preview and local. Exclusive with `envs`.
    // `default` changes nothing for serde (an absent `Option` is `None`) but tells schemars,
    // which cannot see the `Option` through `schema_with`, that the field is optional.
    #[serde(default)]
    #[schemars(schema_with = "types_schema")]
    types: Option<Vec<EnvType>>,
    /// Named environments to set instead of types, such as `staging`.
    #[serde(default)]
    #[schemars(schema_with = "envs_schema")]
    envs: Option<Vec<String>>,
    /// The `encore` executable; default: `encore` on PATH.
    binary: Option<PathBuf>,
    /// How many calls of the CLI run at once; default 4.
    concurrency: Option<NonZeroUsize>,
    /// How long one call may take: seconds (`30`, the default) or `500ms`, `30s`, `2m`.
    #[serde(default, deserialize_with = "crate::duration::timeout")]
    #[schemars(schema_with = "crate::duration::timeout_schema")]
    timeout: Option<Duration>,
}

/// Every name that `EnvType` reads, aliases included.
fn types_schema(generator: &mut SchemaGenerator) -> Schema {
    let _ = generator;
    json_schema!({
        "type": ["array", "null"],
        "minItems": 1,
        "items": {
            "enum": ["development", "dev", "production", "prod", "preview", "pr", "ephemeral", "local"],
        },
    })
}

/// Names that [`is_env_name`] accepts.
fn envs_schema(generator: &mut SchemaGenerator) -> Schema {
    let _ = generator;
    json_schema!({
        "type": ["array", "null"],
        "minItems": 1,
        "items": { "type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_-]*$" },
    })
}

/// `types` and `envs` exclude each other.
fn types_or_envs(schema: &mut Schema) {
    let both = json_schema!({
        "required": ["types", "envs"],
        "properties": { "types": { "type": "array" }, "envs": { "type": "array" } },
    });
    schema.insert("not".to_owned(), both.to_value());
}

/// An Encore environment type, as `encore secret set --type` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
enum EnvType {
    #[serde(alias = "dev")]
    Development,
    #[serde(alias = "prod")]
    Production,
    #[serde(alias = "pr", alias = "ephemeral")]
    Preview,
    Local,
}

impl EnvType {
    /// The name passed to `--type`.
    fn as_str(self) -> &'static str {
        match self {
            EnvType::Development => "dev",
            EnvType::Production => "prod",
            EnvType::Preview => "preview",
            EnvType::Local => "local",
        }
    }

    /// The name of its column in `encore secret list`, lowercased.
    fn long_name(self) -> &'static str {
        match self {
            EnvType::Development => "development",
            EnvType::Production => "production",
            EnvType::Preview => "preview",
            EnvType::Local => "local",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "dev" | "development" => EnvType::Development,
            "prod" | "production" => EnvType::Production,
            "preview" | "pr" | "ephemeral" => EnvType::Preview,
            "local" => EnvType::Local,
            _ => return None,
        })
    }
}

/// Where the keys go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selection {
    /// `encore secret set --type a,b,c`.
    Types(Vec<EnvType>),
    /// `encore secret set --env a,b`.
    Envs(Vec<String>),
    /// `.secrets.local.cue` next to `encore.app`.
    LocalOverrides,
}

impl Selection {
    /// The flag and its value for `encore secret set`.
    fn flag(&self) -> Option<(&'static str, String)> {
        match self {
            Selection::Types(types) => Some((
                "--type",
                types
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            )),
            Selection::Envs(envs) => Some(("--env", envs.join(","))),
            Selection::LocalOverrides => None,
        }
    }

    /// Parses `--to`: `dev,preview`, `env:staging,env:qa` or `local-overrides`.
    fn parse(to: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::BadTarget {
            target: to.to_owned(),
            reason: reason.to_owned(),
        };
        if to == "local-overrides" {
            return Ok(Selection::LocalOverrides);
        }
        let parts: Vec<&str> = to.split(',').map(str::trim).collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad("it has an empty name"));
        }
        let envs: Vec<&str> = parts
            .iter()
            .filter_map(|p| p.strip_prefix("env:"))
            .collect();
        if envs.len() == parts.len() {
            if let Some(bad_env) = envs.iter().find(|e| !is_env_name(e)) {
                return Err(bad(&format!(
                    "`{bad_env}` is not an environment name (letters, digits, `-` and `_`)"
                )));
            }
            return Ok(Selection::Envs(dedup(envs.iter().map(|e| (*e).to_owned()))));
        }
        if !envs.is_empty() {
            return Err(bad("it mixes `env:` names with environment types"));
        }
        let types = parts
            .iter()
            .map(|p| {
                EnvType::parse(p).ok_or_else(|| {
                    bad(&format!(
                        "`{p}` is not an environment type (dev, prod, preview, local), `env:NAME` or `local-overrides`"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Selection::Types(dedup(types)))
    }
}

fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `items` without repeats, in the order of their first appearance.
fn dedup<T: Eq + Hash + Clone>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = foldhash::HashSet::default();
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}

/// Why an Encore sync failed. Never holds a value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Neither the config nor the options name the env file.
    #[error("no source file: set `{setting}` in stagecraft.yml or pass --from")]
    MissingSource {
        /// The YAML path of the setting.
        setting: String,
    },
    /// A source `encore:<location>` other than the local overrides.
    #[error(
        "encore:{location} cannot be read: the only encore source is encore:local-overrides (the encore CLI does not give out the secret manager's values)"
    )]
    NotReadable {
        /// What followed `encore:`.
        location: String,
    },
    /// `--to` names no selection this provider knows.
    #[error("cannot sync to `{target}`: {reason}")]
    BadTarget {
        /// What was given.
        target: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--prune` was given for Encore's secret manager, where this provider removes nothing.
    #[error(
        "--prune works only with --to local-overrides: the encore provider does not delete secrets from Encore"
    )]
    PruneUnsupported,
    /// The app directory does not exist.
    #[error("app directory {} does not exist", path.display())]
    MissingAppDir {
        /// The directory.
        path: PathBuf,
    },
    /// No `encore.app` in the app directory or above it.
    #[error(
        "no encore.app in {} or any directory above it: set `app_dir` to the Encore app's directory",
        path.display()
    )]
    NoEncoreApp {
        /// The app directory.
        path: PathBuf,
    },
    /// A file could not be read or written.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// A line of the env file cannot be read.
    #[error("{}:{line}: {error}", path.display())]
    Parse {
        /// The env file.
        path: PathBuf,
        /// The line where the statement starts.
        line: usize,
        /// What is wrong.
        error: envfile::ParseError,
    },
    /// Keys asked for are not in the source.
    #[error("{} does not define {}", path.display(), keys.join(", "))]
    MissingKeys {
        /// The env file.
        path: PathBuf,
        /// The keys it lacks, in the order asked for.
        keys: Vec<String>,
    },
    /// A key is not a name Encore accepts for a secret.
    #[error(
        "{}: the key {key:?} is not a valid Encore secret name (an ASCII letter or `_`, then ASCII letters, digits and `_`)",
        path.display()
    )]
    BadKey {
        /// The env file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// A value that Encore would store changed.
    #[error("{}: the value of {key} {reason}; nothing was set", path.display())]
    UnstorableValue {
        /// The env file.
        path: PathBuf,
        /// The key.
        key: String,
        /// Why: it ends with a line break, or holds a NUL.
        reason: &'static str,
    },
    /// `.secrets.local.cue` is not in the subset of CUE this provider reads and writes.
    #[error(transparent)]
    Cue(#[from] CueError),
    /// The `encore` executable cannot be run.
    #[error(
        "cannot run the Encore CLI `{}`: {reason}; install it (see Encore's docs) or set `binary` in stagecraft.yml",
        binary.display()
    )]
    MissingBinary {
        /// The executable.
        binary: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The Encore CLI is not logged in.
    #[error("the Encore CLI is not logged in: run `encore auth login`, then sync again")]
    NotLoggedIn,
    /// The app is not linked with the Encore Platform.
    #[error(
        "the Encore app in {} is not linked with the Encore Platform: run `encore app link` there, or sync to local-overrides",
        app_dir.display()
    )]
    NotLinked {
        /// The app directory.
        app_dir: PathBuf,
    },
    /// Some `encore secret set` calls failed, or were stopped before they finished.
    #[error("{}:{}", calls_failed(*failed, *unknown, *total), render_failures(failures))]
    CallsFailed {
        /// Each key with what `encore` said (cut short, lines that may hold a value withheld),
        /// or why its call was stopped.
        failures: Vec<(String, String)>,
        /// How many keys failed.
        failed: usize,
        /// How many calls were stopped at the timeout: their keys may or may not be set.
        unknown: usize,
        /// How many keys the sync had.
        total: usize,
    },
    /// Keys whose values Encore would refuse to set for the selection, found by a dry run.
    #[error("{} of {total} keys would conflict:{}", conflicts.len(), render_failures(conflicts))]
    WouldConflict {
        /// Each key with where it has a value.
        conflicts: Vec<(String, String)>,
        /// How many keys the sync had.
        total: usize,
    },
    /// `encore secret list` failed, so a dry run cannot say what a push would do.
    #[error("`encore secret list` failed, so a dry run cannot tell what a sync would do: {why}")]
    ListFailed {
        /// What `encore` said (cut short, lines that may hold a value withheld).
        why: String,
    },
    /// A child could not be started for want of file descriptors.
    #[error(
        "cannot start the Encore CLI: too many open files (the limit of open files, `ulimit -n`, is {}); raise it or lower `concurrency`",
        limit.map_or("unlimited".to_owned(), |l| l.to_string())
    )]
    TooManyOpenFiles {
        /// The limit of open files of this process.
        limit: Option<u64>,
    },
}

fn calls_failed(failed: usize, unknown: usize, total: usize) -> String {
    match (failed, unknown) {
        (failed, 0) => format!("{failed} of {total} keys failed"),
        (0, unknown) => format!("{unknown} of {total} keys may or may not be set"),
        (failed, unknown) => {
            format!("{failed} of {total} keys failed and {unknown} may or may not be set")
        }
    }
}

fn render_failures(failures: &[(String, String)]) -> String {
    failures
        .iter()
        .map(|(key, why)| format!("\n  {key}: {why}"))
        .collect()
}

impl From<Error> for SyncError {
    fn from(error: Error) -> Self {
        match &error {
            Error::Fs(fs) if !fs.is_input() => SyncError::external(error),
            Error::MissingBinary { .. }
            | Error::NotLoggedIn
            | Error::NotLinked { .. }
            | Error::CallsFailed { .. }
            | Error::WouldConflict { .. }
            | Error::ListFailed { .. }
            | Error::TooManyOpenFiles { .. } => SyncError::external(error),
            _ => SyncError::input(error),
        }
    }
}

/// Options resolved against the config file and the sync's overrides.
#[derive(Debug)]
struct Plan {
    source: PathBuf,
    app_dir: PathBuf,
    selection: Selection,
    binary: PathBuf,
    concurrency: usize,
    timeout: Duration,
}

const DEFAULT_TYPES: [EnvType; 3] = [EnvType::Development, EnvType::Preview, EnvType::Local];

impl Plan {
    fn new(config: &ProviderConfig, opts: &SyncOptions) -> Result<Self, SyncError> {
        let options = decode(config)?;
        // Paths in stagecraft.yml are relative to it; paths given directly, to the current directory.
        let base = config
            .origin()
            .and_then(Path::parent)
            .unwrap_or(Path::new(""));
        let source = match (&opts.source, options.source_file) {
            _ if let Some(secrets) = &opts.secrets => PathBuf::from(&secrets.source),
            (Some(given), _) => PathBuf::from(given),
            (None, Some(configured)) => base.join(configured),
            (None, None) => Err(Error::MissingSource {
                setting: setting(&config.yaml_path(), "source_file"),
            })?,
        };
        let app_dir = app_dir(config, options.app_dir);
        let selection = match (&opts.target, options.types, options.envs) {
            (Some(to), _, _) => Selection::parse(to)?,
            (None, _, Some(envs)) => Selection::Envs(envs),
            (None, types, None) => {
                Selection::Types(dedup(types.unwrap_or_else(|| DEFAULT_TYPES.to_vec())))
            }
        };
        let binary = options.binary.unwrap_or_else(|| PathBuf::from("encore"));
        // A relative path with a directory part is relative to stagecraft.yml, and made absolute:
        // the child starts in `app_dir`, where a relative path would be looked up. A bare name is
        // looked up on PATH.
        let binary = if binary.components().count() > 1 && binary.is_relative() {
            let joined = base.join(binary);
            // Fails only without a current directory, where nothing relative can be found.
            std::path::absolute(&joined).unwrap_or(joined)
        } else {
            binary
        };
        Ok(Plan {
            source,
            app_dir,
            selection,
            binary,
            concurrency: options.concurrency.map_or(4, NonZeroUsize::get),
            timeout: options.timeout.unwrap_or(Duration::from_secs(30)),
        })
    }
}

fn decode(config: &ProviderConfig) -> Result<Options, ConfigError> {
    let options = config.decode::<Options>()?;
    let invalid = |field: &str, message: &str| config.invalid_field(field, message);
    if options.types.is_some() && options.envs.is_some() {
        return Err(invalid("envs", "set `types` or `envs`, not both"));
    }
    if options.types.as_ref().is_some_and(Vec::is_empty) {
        return Err(invalid("types", "expected at least one environment type"));
    }
    if let Some(envs) = &options.envs {
        if envs.is_empty() {
            return Err(invalid("envs", "expected at least one environment name"));
        }
        if !envs.iter().all(|e| is_env_name(e)) {
            return Err(invalid(
                "envs",
                "an environment name has characters other than letters, digits, `-` and `_`",
            ));
        }
    }
    Ok(options)
}

fn setting(section: &str, field: &str) -> String {
    if section.is_empty() {
        field.to_owned()
    } else {
        format!("{section}.{field}")
    }
}

impl SecretsProvider for Encore {
    async fn sync(&self, opts: SyncOptions) -> Result<SyncReport, SyncError> {
        let plan = Plan::new(&opts.config, &opts)?;
        if !plan.app_dir.is_dir() {
            Err(Error::MissingAppDir {
                path: plan.app_dir.clone(),
            })?;
        }
        let entries = match opts.secrets {
            Some(secrets) => secrets.into_entries(),
            None => read_env(
                &plan.source,
                &fs::read_text(&plan.source).map_err(Error::from)?,
            )?,
        };
        let all_keys: Vec<String> = if opts.prune {
            entries.iter().map(|(k, _)| k.clone()).collect()
        } else {
            Vec::new()
        };
        let entries = select(&plan.source, entries, &opts.keys)?;
        if opts.prune && plan.selection != Selection::LocalOverrides {
            Err(Error::PruneUnsupported)?;
        }
        // Encore reads `.secrets.local.cue` next to `encore.app`, and runs the CLI in the app.
        let app_root = find_encore_app(&plan.app_dir)?;
        for (key, _) in &entries {
            check_key(&plan.source, key)?;
        }
        if plan.selection == Selection::LocalOverrides {
            let mut report = cue::sync_local_overrides(
                &plan.source,
                &app_root,
                &entries,
                &all_keys,
                opts.dry_run,
                opts.prune,
            )?;
            if std::fs::canonicalize(&plan.app_dir).ok().as_ref() != Some(&app_root) {
                report.notes.push(format!(
                    "{} is in {}, next to encore.app, where Encore reads it (app_dir is {})",
                    cue::FILE_NAME,
                    app_root.display(),
                    plan.app_dir.display()
                ));
            }
            return Ok(report);
        }
        for (key, value) in &entries {
            check_storable(&plan.source, key, value)?;
        }
        if opts.dry_run {
            return push::dry_run(&plan, &entries).await;
        }
        push::push(&plan, &entries, opts.progress).await
    }

    fn check_config(&self, config: &ProviderConfig) -> Result<(), ConfigError> {
        decode(config).map(drop)
    }

    fn config_warnings(&self, config: &ProviderConfig) -> Vec<ConfigWarning> {
        match decode(config) {
            Ok(Options {
                source_file: None, ..
            }) => {
                vec![config.warning("no `source_file`: `stagecraft secrets sync` will need --from")]
            }
            Ok(Options {
                source_file: Some(source),
                ..
            }) => envfile::missing_source(config, Some(&source), "source_file")
                .into_iter()
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    fn check_local(&self, config: &ProviderConfig) -> Vec<ConfigError> {
        let Ok(options) = decode(config) else {
            return Vec::new();
        };
        let app_dir = config.resolve(options.app_dir.as_deref().unwrap_or(Path::new("")));
        let app_dir = match app_dir.as_os_str().is_empty() {
            true => PathBuf::from("."),
            false => app_dir,
        };
        let message = match (options.app_dir.is_some(), app_dir.is_dir()) {
            (true, false) => "the directory does not exist",
            (false, false) => "the directory of stagecraft.yml (the default) does not exist",
            _ if find_encore_app(&app_dir).is_ok() => return Vec::new(),
            (true, true) => "no encore.app in this directory or any directory above it",
            (false, true) => {
                "not set, and no encore.app in the directory of stagecraft.yml (the default) or any directory above it: set `app_dir` to the Encore app's directory"
            }
        };
        vec![config.invalid_field("app_dir", message)]
    }
}

impl SecretsSource for Encore {
    /// Reads `local-overrides`, the `.secrets.local.cue` next to `encore.app` (a label given twice counts with
    /// its last value), or without a location the configured `source_file`, an env file.
    async fn read(&self, opts: ReadOptions) -> Result<Secrets, SyncError> {
        let Some(location) = opts.location else {
            let plan = Plan::new(&opts.config, &SyncOptions::new(opts.config.clone()))?;
            return Ok(envfile::read_file(&plan.source)?);
        };
        if location != "local-overrides" {
            Err(Error::NotReadable { location })?;
        }
        let options = decode(&opts.config)?;
        // Where a sync writes it and Encore reads it: next to `encore.app`.
        let app_root = find_encore_app(&app_dir(&opts.config, options.app_dir))?;
        let path = app_root.join(cue::FILE_NAME);
        let text = fs::read_text(&path).map_err(Error::from)?;
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for (key, value) in read_cue(&path, &text).map_err(Error::from)? {
            match index.get(&key) {
                Some(&at) => fields[at] = (key, value),
                None => {
                    index.insert(key.clone(), fields.len());
                    fields.push((key, value));
                }
            }
        }
        let mut secrets = Secrets::new("encore:local-overrides");
        for (key, value) in fields {
            secrets.push(key, value);
        }
        Ok(secrets)
    }
}

/// The directory of the Encore app, relative to stagecraft.yml; default: its directory.
fn app_dir(config: &ProviderConfig, configured: Option<PathBuf>) -> PathBuf {
    let base = config
        .origin()
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    match configured {
        Some(dir) => base.join(dir),
        None if base.as_os_str().is_empty() => PathBuf::from("."),
        None => base.to_owned(),
    }
}

fn read_env(path: &Path, text: &str) -> Result<Vec<(String, String)>, Error> {
    envfile::read_str(text).map_err(|(line, error)| Error::Parse {
        path: path.to_owned(),
        line,
        error,
    })
}

/// The source's entries for `keys` (all when empty), in the order asked for.
fn select(
    path: &Path,
    entries: Vec<(String, String)>,
    keys: &[String],
) -> Result<Vec<(String, String)>, Error> {
    keys::select(entries, keys, Order::Asked).map_err(|missing| Error::MissingKeys {
        path: path.to_owned(),
        keys: missing,
    })
}

/// Fails when `key` is no Encore secret name: an ASCII identifier (which, starting with `-`, the
/// CLI would also read as a flag, and which CUE would not rename).
fn check_key(path: &Path, key: &str) -> Result<(), Error> {
    let mut bytes = key.bytes();
    let identifier = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if identifier {
        Ok(())
    } else {
        Err(Error::BadKey {
            path: path.to_owned(),
            key: key.to_owned(),
        })
    }
}

/// Fails when Encore would store something else than `value`.
fn check_storable(path: &Path, key: &str, value: &str) -> Result<(), Error> {
    let reason = if value.ends_with(['\r', '\n']) {
        "ends with a line break, which Encore strips from what it reads"
    } else if value.contains('\0') {
        "holds a NUL character, which Encore cannot store"
    } else {
        return Ok(());
    };
    Err(Error::UnstorableValue {
        path: path.to_owned(),
        key: key.to_owned(),
        reason,
    })
}

/// The directory of `encore.app`, found in `app_dir` or above as the CLI finds it: from its
/// working directory, links resolved.
fn find_encore_app(app_dir: &Path) -> Result<PathBuf, Error> {
    let absolute = std::fs::canonicalize(app_dir).map_err(|e| {
        Error::Fs(FsError::Io {
            action: "read",
            path: app_dir.to_owned(),
            source: e,
        })
    })?;
    absolute
        .ancestors()
        .find(|dir| dir.join("encore.app").is_file())
        .map(Path::to_owned)
        .ok_or_else(|| Error::NoEncoreApp {
            path: app_dir.to_owned(),
        })
}
