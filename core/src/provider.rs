//! The provider traits and the values a sync takes and returns.

use crate::config::{ConfigError, ConfigWarning, ProviderConfig};
use crate::settings::Settings;
use crate::source::{DynSecretsSource, Secrets};
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::ser::{SerializeSeq, SerializeStruct, Serializer};
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

    /// The provider as a source that others can read from, when it is one:
    /// `#[secrets_provider("id", source)]` records it. The default is `None`; a provider
    /// registered at run time that implements [`SecretsSource`](crate::SecretsSource) returns
    /// `Some(self)`.
    fn source(&self) -> Option<&dyn DynSecretsSource> {
        None
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

    /// What `stagecraft config validate` finds missing on this machine in a section that
    /// [`check_config`] accepts, without touching a remote: a directory or file that the
    /// project's layout should hold. A sync does not call it (its flags may name other places).
    /// What varies by machine (a variable, a file of secrets) is better a warning, in
    /// [`config_warnings`](SecretsProvider::config_warnings). The default finds nothing.
    ///
    /// [`check_config`]: SecretsProvider::check_config
    fn check_local(&self, config: &ProviderConfig) -> Vec<ConfigError> {
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

    #[doc(hidden)]
    fn check_local_dyn(&self, config: &ProviderConfig) -> Vec<ConfigError>;
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

    fn check_local_dyn(&self, config: &ProviderConfig) -> Vec<ConfigError> {
        self.check_local(config)
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

    /// What `stagecraft config validate` finds missing on this machine in a section that
    /// `check_config` accepts.
    pub fn check_local(&self, config: &ProviderConfig) -> Vec<ConfigError> {
        self.check_local_dyn(config)
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
    /// The source's keys, already read by another provider (`--from vault:staging` into
    /// `encore`). When set, the provider takes them instead of reading `source`, and names
    /// `secrets.source` in its report and messages.
    pub secrets: Option<Secrets>,
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

    /// Sets the keys already read from another provider's source.
    pub fn secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Sets whether to show progress on stderr.
    pub fn progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }
}

/// What a sync did (or, in a dry run, would do) to each key. It never holds a value.
///
/// The keys are kept in one string, with an offset and an action per key: a report of 100,000
/// keys is two allocations, not 100,000. Build it with [`push`](Self::push), read it with
/// [`actions`](Self::actions) and [`counts`](Self::counts):
///
/// ```
/// use stagecraft_core::{Action, SyncReport};
///
/// let mut report = SyncReport::new(".env.local", ".env.staging");
/// report.push("API_KEY", Action::Added);
/// report.push("DATABASE_URL", Action::Unchanged);
/// assert_eq!(
///     report.actions().collect::<Vec<_>>(),
///     [("API_KEY", Action::Added), ("DATABASE_URL", Action::Unchanged)]
/// );
/// assert_eq!(report.counts().get(Action::Unchanged), 1);
/// assert!(report.has_changes());
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncReport {
    /// The source that was read, as the provider names it.
    pub source: String,
    /// The target that was (or would be) written.
    pub target: String,
    /// Whether the target was written. False in a dry run and when nothing changed.
    pub written: bool,
    /// What the reader of the report should know about it, such as what a dry run cannot tell.
    pub notes: Vec<String>,
    /// Every key's name, one after the other.
    keys: String,
    /// Each key, in the order the provider handled them: where its name ends in `keys`, and
    /// what happened to it. 8 bytes a key.
    changes: Vec<Change>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Change {
    end: u32,
    action: Action,
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

    /// Records what happened to `key`, after the keys recorded so far.
    ///
    /// # Panics
    /// When the report's key names would exceed 4 GiB in all.
    pub fn push(&mut self, key: &str, action: Action) {
        self.keys.push_str(key);
        let end =
            u32::try_from(self.keys.len()).expect("a sync report holds at most 4 GiB of key names");
        self.changes.push(Change { end, action });
    }

    /// Makes room for `keys` more keys whose names take `key_bytes` bytes in all.
    pub fn reserve(&mut self, keys: usize, key_bytes: usize) {
        self.changes.reserve(keys);
        self.keys.reserve(key_bytes);
    }

    /// How many keys the report holds.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// Whether the report holds no key.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Each key with what happened to it, in order.
    pub fn actions(&self) -> impl Iterator<Item = (&str, Action)> {
        let (mut rest, mut start) = (self.keys.as_str(), 0);
        self.changes.iter().map(move |change| {
            let end = change.end as usize;
            let (key, after) = rest.split_at(end - start);
            (rest, start) = (after, end);
            (key, change.action)
        })
    }

    /// Replaces each key's action with `f(action)`, such as to mark the keys that a stopped
    /// sync did not write as skipped.
    pub fn map_actions(&mut self, mut f: impl FnMut(Action) -> Action) {
        for change in &mut self.changes {
            change.action = f(change.action);
        }
    }

    /// How many keys got `action`. To know it for several actions, [`counts`](Self::counts)
    /// goes over the keys once.
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    /// How many keys got each action, in one pass over the keys.
    pub fn counts(&self) -> ActionCounts {
        let mut counts = ActionCounts::default();
        for change in &self.changes {
            counts.0[change.action.index()] += 1;
        }
        counts
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

/// How one key of a report serializes and shows in `Debug`: as the `KeyChange` struct that
/// reports held before they kept their keys in one string, so JSON consumers see no change.
#[derive(Debug, Serialize)]
struct KeyChange<'a> {
    key: &'a str,
    action: Action,
}

/// The report's keys as a sequence of [`KeyChange`]s.
struct KeyChanges<'a>(&'a SyncReport);

impl Serialize for KeyChanges<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (key, action) in self.0.actions() {
            seq.serialize_element(&KeyChange { key, action })?;
        }
        seq.end()
    }
}

impl fmt::Debug for KeyChanges<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.0
                    .actions()
                    .map(|(key, action)| KeyChange { key, action }),
            )
            .finish()
    }
}

/// `{"source", "target", "changes": [{"key", "action"}, …], "written", "notes"}`, with `notes`
/// left out when there are none.
impl Serialize for SyncReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = if self.notes.is_empty() { 4 } else { 5 };
        let mut report = serializer.serialize_struct("SyncReport", fields)?;
        report.serialize_field("source", &self.source)?;
        report.serialize_field("target", &self.target)?;
        report.serialize_field("changes", &KeyChanges(self))?;
        report.serialize_field("written", &self.written)?;
        if self.notes.is_empty() {
            report.skip_field("notes")?;
        } else {
            report.serialize_field("notes", &self.notes)?;
        }
        report.end()
    }
}

/// Keys and actions only, as the JSON shows them.
impl fmt::Debug for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncReport")
            .field("source", &self.source)
            .field("target", &self.target)
            .field("changes", &KeyChanges(self))
            .field("written", &self.written)
            .field("notes", &self.notes)
            .finish()
    }
}

/// How many keys of a [`SyncReport`] got each action: [`SyncReport::counts`].
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct ActionCounts([usize; Action::ALL.len()]);

impl ActionCounts {
    /// How many keys got `action`.
    pub fn get(&self, action: Action) -> usize {
        self.0[action.index()]
    }
}

/// `{Added: 2, Changed: 0, …}`
impl fmt::Debug for ActionCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(Action::ALL.iter().map(|&action| (action, self.get(action))))
            .finish()
    }
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
    /// Its write was started and did not finish (a call stopped at a timeout or an
    /// interruption): the target may or may not hold the new value.
    Unknown,
}

impl Action {
    /// Every action, each at its [`index`](Self::index).
    const ALL: [Action; 8] = [
        Action::Added,
        Action::Changed,
        Action::Unchanged,
        Action::Removed,
        Action::Skipped,
        Action::Set,
        Action::Failed,
        Action::Unknown,
    ];

    /// The action's place in [`ActionCounts`]. A new action gets the next one, and its place in
    /// [`ALL`](Self::ALL).
    const fn index(self) -> usize {
        match self {
            Action::Added => 0,
            Action::Changed => 1,
            Action::Unchanged => 2,
            Action::Removed => 3,
            Action::Skipped => 4,
            Action::Set => 5,
            Action::Failed => 6,
            Action::Unknown => 7,
        }
    }

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
            Action::Unknown => "unknown",
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One key of each action, with names that JSON and `Debug` must escape, and an empty one.
    fn report() -> SyncReport {
        let mut report = SyncReport::new("a.env", "b \"env\"");
        for (key, action) in [
            ("ALPHA", Action::Added),
            ("É\n\"x", Action::Changed),
            ("", Action::Unchanged),
            ("R", Action::Removed),
            ("S", Action::Skipped),
            ("T", Action::Set),
            ("F", Action::Failed),
        ] {
            report.push(key, action);
        }
        report
    }

    /// The JSON of a report, byte for byte, as `serde_json` wrote it when each key was a
    /// `KeyChange { key: String, action }` in a `Vec` (captured from that code).
    #[test]
    fn json_is_what_it_was_with_a_string_per_key() {
        let mut report = report();
        assert_eq!(
            serde_json::to_string(&report).unwrap(),
            r#"{"source":"a.env","target":"b \"env\"","changes":[{"key":"ALPHA","action":"added"},{"key":"É\n\"x","action":"changed"},{"key":"","action":"unchanged"},{"key":"R","action":"removed"},{"key":"S","action":"skipped"},{"key":"T","action":"set"},{"key":"F","action":"failed"}],"written":false}"#
        );
        report.notes.push("a note".to_owned());
        report.written = true;
        assert_eq!(
            serde_json::to_string(&report).unwrap(),
            r#"{"source":"a.env","target":"b \"env\"","changes":[{"key":"ALPHA","action":"added"},{"key":"É\n\"x","action":"changed"},{"key":"","action":"unchanged"},{"key":"R","action":"removed"},{"key":"S","action":"skipped"},{"key":"T","action":"set"},{"key":"F","action":"failed"}],"written":true,"notes":["a note"]}"#
        );
        assert_eq!(
            serde_json::to_string(&SyncReport::default()).unwrap(),
            r#"{"source":"","target":"","changes":[],"written":false}"#
        );
    }

    /// `Debug` also reads as it did, and shows keys and actions only.
    #[test]
    fn debug_is_what_it_was() {
        let mut report = report();
        report.notes.push("a note".to_owned());
        report.written = true;
        assert_eq!(
            format!("{report:?}"),
            r#"SyncReport { source: "a.env", target: "b \"env\"", changes: [KeyChange { key: "ALPHA", action: Added }, KeyChange { key: "É\n\"x", action: Changed }, KeyChange { key: "", action: Unchanged }, KeyChange { key: "R", action: Removed }, KeyChange { key: "S", action: Skipped }, KeyChange { key: "T", action: Set }, KeyChange { key: "F", action: Failed }], written: true, notes: ["a note"] }"#
        );
    }

    #[test]
    fn keys_come_back_in_order_with_their_actions() {
        let report = report();
        assert_eq!(report.len(), 7);
        assert!(!report.is_empty());
        assert_eq!(
            report.actions().collect::<Vec<_>>(),
            [
                ("ALPHA", Action::Added),
                ("É\n\"x", Action::Changed),
                ("", Action::Unchanged),
                ("R", Action::Removed),
                ("S", Action::Skipped),
                ("T", Action::Set),
                ("F", Action::Failed),
            ]
        );
        let empty = SyncReport::default();
        assert!(empty.is_empty());
        assert_eq!(empty.actions().count(), 0);
    }

    #[test]
    fn counts_agree_with_count() {
        let mut report = report();
        report.push("ALPHA", Action::Added);
        report.push("BETA", Action::Added);
        let counts = report.counts();
        for action in Action::ALL {
            assert_eq!(counts.get(action), report.count(action), "{action}");
        }
        assert_eq!(counts.get(Action::Added), 3);
        assert_eq!(
            format!("{counts:?}"),
            "{Added: 3, Changed: 1, Unchanged: 1, Removed: 1, Skipped: 1, Set: 1, Failed: 1, Unknown: 0}"
        );
        assert_eq!(SyncReport::default().counts(), ActionCounts::default());
    }

    #[test]
    fn each_action_has_its_own_index() {
        for (i, action) in Action::ALL.into_iter().enumerate() {
            assert_eq!(action.index(), i, "{action}");
        }
    }

    #[test]
    fn map_actions_rewrites_actions_and_keeps_keys() {
        let mut report = report();
        report.map_actions(|action| match action {
            Action::Unchanged => Action::Unchanged,
            _ => Action::Skipped,
        });
        assert_eq!(report.count(Action::Skipped), 6);
        assert!(!report.has_changes());
        assert_eq!(
            report.actions().map(|(key, _)| key).collect::<Vec<_>>(),
            ["ALPHA", "É\n\"x", "", "R", "S", "T", "F"]
        );
    }

    /// Many keys of every length from 0 to 99 bytes, multi-byte characters included, reserved
    /// too little and then too much: each comes back whole, in order, with its own action.
    #[test]
    fn many_keys_of_any_length_come_back_whole() {
        let keys: Vec<(String, Action)> = (0..10_000)
            .map(|i| {
                let key = "é".repeat(i % 50) + &"K".repeat(i % 2);
                (key, Action::ALL[i % Action::ALL.len()])
            })
            .collect();
        let mut report = SyncReport::default();
        report.reserve(10, 10);
        for (key, action) in &keys {
            report.push(key, *action);
            if report.len() == 5_000 {
                report.reserve(1_000_000, 10_000_000);
            }
        }
        assert_eq!(report.len(), keys.len());
        assert!(
            report
                .actions()
                .eq(keys.iter().map(|(key, action)| (key.as_str(), *action)))
        );
    }

    /// Two reports are equal when their keys and actions are, however they were reserved.
    #[test]
    fn equality_is_by_keys_and_actions() {
        let mut reserved = SyncReport::new("a.env", "b \"env\"");
        reserved.reserve(100, 1000);
        let mut split = SyncReport::new("a.env", "b \"env\"");
        reserved.push("AB", Action::Added);
        split.push("A", Action::Added);
        assert_ne!(reserved, split);
        let mut same = SyncReport::new("a.env", "b \"env\"");
        same.push("AB", Action::Added);
        assert_eq!(reserved, same);
        assert_eq!(reserved.clone(), same);
    }
}
