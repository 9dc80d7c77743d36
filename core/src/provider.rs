//! The provider traits and the values a sync takes and returns.

use crate::config::{ConfigError, ConfigWarning, ProviderConfig};
use crate::settings::Settings;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::error::Error as StdError;

/// A provider's identity. `#[secrets_provider]` implements it from the provider's `ID` and doc
/// comment; implement it by hand only for a provider registered at run time.
pub trait ProviderIdentity {
    /// The unique identifier of this provider, such as `"envfile"`.
    fn id(&self) -> &str;

    /// A one-line description of what the provider syncs.
    fn description(&self) -> &str {
        ""
    }

    /// The provider's settings type, which `#[secrets_provider("id", settings = Options)]`
    /// declares. The default, [`Settings::NONE`], accepts only an empty section; a provider
    /// registered at run time that takes settings returns `Settings::of::<Options>()`.
    fn settings(&self) -> Settings {
        Settings::NONE
    }
}

/// A secrets provider: moves secrets from a source to a target.
///
/// Implementations write a native `async fn`:
///
/// ```
/// use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};
///
/// /// Syncs nothing, loudly.
/// #[secrets_provider("noop")]
/// pub struct Noop;
///
/// impl SecretsProvider for Noop {
///     async fn sync(&self, opts: SyncOptions) -> Result<SyncReport, SyncError> {
///         Ok(SyncReport::default())
///     }
/// }
///
/// stagecraft_core::provider_table!(Noop);
/// # fn main() {}
/// ```
///
/// Dropping the returned future cancels the sync; a provider must then leave the target as it
/// was and no child process behind.
pub trait SecretsProvider: ProviderIdentity + Send + Sync + 'static {
    /// Syncs secrets from `opts.source` to `opts.target`.
    fn sync(&self, opts: SyncOptions)
    -> impl Future<Output = Result<SyncReport, SyncError>> + Send;

    /// Checks the provider's section of `stagecraft.yml` without syncing, for
    /// `stagecraft config validate`. The default decodes it as the provider's
    /// [settings](ProviderIdentity::settings) type, or accepts only an empty section when the
    /// provider declares none.
    fn check_config(&self, config: &ProviderConfig) -> Result<(), ConfigError> {
        self.settings().check(config)
    }

    /// What `stagecraft config validate` warns about in a section that [`check_config`]
    /// accepts: settings that a sync can still do without, given command-line flags. Build each
    /// with [`ProviderConfig::warning`]. The default warns about nothing.
    ///
    /// [`check_config`]: SecretsProvider::check_config
    fn config_warnings(&self, config: &ProviderConfig) -> Vec<ConfigWarning> {
        let _ = config;
        Vec::new()
    }
}

/// A boxed sync future, as [`DynSecretsProvider`] returns it.
pub type SyncFuture<'a> = Pin<Box<dyn Future<Output = Result<SyncReport, SyncError>> + Send + 'a>>;

/// The dyn-compatible form of [`SecretsProvider`] that tables and registries store. Every
/// `SecretsProvider` implements it; call `sync` on a `&dyn DynSecretsProvider`.
pub trait DynSecretsProvider: ProviderIdentity + Send + Sync + 'static {
    #[doc(hidden)]
    fn sync_boxed(&self, opts: SyncOptions) -> SyncFuture<'_>;

    #[doc(hidden)]
    fn check_config_dyn(&self, config: &ProviderConfig) -> Result<(), ConfigError>;

    #[doc(hidden)]
    fn config_warnings_dyn(&self, config: &ProviderConfig) -> Vec<ConfigWarning>;
}

impl<P: SecretsProvider> DynSecretsProvider for P {
    fn sync_boxed(&self, opts: SyncOptions) -> SyncFuture<'_> {
        Box::pin(self.sync(opts))
    }

    fn check_config_dyn(&self, config: &ProviderConfig) -> Result<(), ConfigError> {
        self.check_config(config)
    }

    fn config_warnings_dyn(&self, config: &ProviderConfig) -> Vec<ConfigWarning> {
        self.config_warnings(config)
    }
}

impl dyn DynSecretsProvider {
    /// Syncs secrets from `opts.source` to `opts.target`.
    pub fn sync(&self, opts: SyncOptions) -> SyncFuture<'_> {
        self.sync_boxed(opts)
    }

    /// Checks the provider's section of `stagecraft.yml` without syncing.
    pub fn check_config(&self, config: &ProviderConfig) -> Result<(), ConfigError> {
        self.check_config_dyn(config)
    }

    /// What `stagecraft config validate` warns about in a section that `check_config` accepts.
    pub fn config_warnings(&self, config: &ProviderConfig) -> Vec<ConfigWarning> {
        self.config_warnings_dyn(config)
    }
}

impl fmt::Debug for dyn DynSecretsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsProvider")
            .field("id", &self.id())
            .finish()
    }
}

/// What to sync.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SyncOptions {
    /// The provider's section of `stagecraft.yml` (`secrets.providers.<id>`), which the provider
    /// decodes into its own typed options.
    pub config: ProviderConfig,
    /// The source environment or location (such as `.env.local`); overrides the config.
    pub source: Option<String>,
    /// The target environment or location (such as `.env.staging`); overrides the config.
    pub target: Option<String>,
    /// The keys to sync; empty means all.
    pub keys: Vec<String>,
    /// Compute the report but change nothing.
    pub dry_run: bool,
    /// Remove keys from the target that the source does not have.
    pub prune: bool,
    /// Show progress on stderr while the sync runs (the CLI sets it on a terminal without
    /// `--json`). Only providers whose calls take a while use it.
    pub progress: bool,
}

impl SyncOptions {
    /// Options with the given provider config and everything else unset.
    pub fn new(config: ProviderConfig) -> Self {
        SyncOptions {
            config,
            ..Self::default()
        }
    }

    /// Decodes the provider's section of `stagecraft.yml` (`config`) as its settings type, the
    /// one named in `#[secrets_provider("id", settings = Options)]`: `opts.settings::<Options>()?`.
    /// Errors carry the file, line, column and YAML path.
    pub fn settings<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.config.decode()
    }

    /// Sets the source.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets the target.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Sets the keys to sync (empty means all).
    pub fn keys<K: Into<String>>(mut self, keys: impl IntoIterator<Item = K>) -> Self {
        self.keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Sets dry run.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Sets prune.
    pub fn prune(mut self, prune: bool) -> Self {
        self.prune = prune;
        self
    }

    /// Sets whether to show progress on stderr.
    pub fn progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }
}

/// What a sync did (or, in a dry run, would do) to each key. It never holds a value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SyncReport {
    /// The source that was read, as the provider names it.
    pub source: String,
    /// The target that was (or would be) written.
    pub target: String,
    /// Each key, in the order the provider handled them.
    pub changes: Vec<KeyChange>,
    /// Whether the target was written. False in a dry run and when nothing changed.
    pub written: bool,
    /// What the reader of the report should know about it, such as what a dry run cannot tell.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl SyncReport {
    /// An empty report for a sync from `source` to `target`.
    pub fn new(source: impl Into<String>, target: impl Into<String>) -> Self {
        SyncReport {
            source: source.into(),
            target: target.into(),
            ..Self::default()
        }
    }

    /// Each key with what happened to it, in order.
    pub fn actions(&self) -> impl Iterator<Item = (&str, Action)> {
        self.changes.iter().map(|c| (c.key.as_str(), c.action))
    }

    /// How many keys got `action`.
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    /// Whether the sync changes anything.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| {
            !matches!(
                c.action,
                Action::Unchanged | Action::Skipped | Action::Failed
            )
        })
    }
}

/// One key of a [`SyncReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyChange {
    /// The key's name.
    pub key: String,
    /// What happened to it.
    pub action: Action,
}

/// What a sync did to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// New in the target.
    Added,
    /// In the target with another value, now replaced.
    Changed,
    /// In the target with the same value.
    Unchanged,
    /// Removed from the target (prune).
    Removed,
    /// Not synced, for a reason the provider logs.
    Skipped,
    /// Written to a target that cannot tell whether the value was new, changed or the same
    /// (such as Encore's secret manager); in a dry run, a key that exists and will be overwritten.
    Set,
    /// Its write failed; the error of the sync says why.
    Failed,
}

impl Action {
    /// The lowercase name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Added => "added",
            Action::Changed => "changed",
            Action::Unchanged => "unchanged",
            Action::Removed => "removed",
            Action::Skipped => "skipped",
            Action::Set => "set",
            Action::Failed => "failed",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a sync failed. Providers keep their own error types and wrap them by who must act:
/// the user (config, input) or the environment (external). No variant ever holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The provider's section of `stagecraft.yml` is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The input is wrong: a malformed source, a missing key.
    #[error(transparent)]
    Input(Box<dyn StdError + Send + Sync>),
    /// Something outside failed: the file system, a child process, a remote store.
    #[error(transparent)]
    External(Box<dyn StdError + Send + Sync>),
    /// Some keys failed and others were synced: `report` says which (an exit status of 2 in
    /// the CLI, which prints the report and then the error).
    #[error("{error}")]
    Partial {
        /// What happened to each key, the failed ones included.
        report: Box<SyncReport>,
        /// Why the failed keys failed.
        error: Box<dyn StdError + Send + Sync>,
    },
}

impl SyncError {
    /// Wraps an error in the input.
    pub fn input(error: impl StdError + Send + Sync + 'static) -> Self {
        SyncError::Input(Box::new(error))
    }

    /// Wraps an error of the environment.
    pub fn external(error: impl StdError + Send + Sync + 'static) -> Self {
        SyncError::External(Box::new(error))
    }
}
