//! Sources: what a provider that can be read from offers the others.
//!
//! A provider declares it with `#[secrets_provider("id", source)]` and implements
//! [`SecretsSource`]; the registry records it in the provider's table entry, and
//! [`ProviderIdentity::source`](crate::ProviderIdentity::source) hands it out. A source written
//! `<id>:<location>` (`vault:staging`, `encore:local-overrides`) is read by that provider with
//! its own section of `stagecraft.yml`, and the keys go to any provider's sync as
//! [`SyncOptions::secrets`](crate::SyncOptions::secrets), or to a program's environment.

use crate::config::ProviderConfig;
use crate::provider::{ProviderIdentity, SyncError};
use core::fmt;
use core::future::Future;
use core::pin::Pin;

/// A provider that can be read from.
///
/// ```
/// use stagecraft_core::{secrets_provider, ReadOptions, Secrets, SecretsProvider, SecretsSource,
///     SyncError, SyncOptions, SyncReport};
///
/// /// Reads one fixed key.
/// #[secrets_provider("fixed", source)]
/// pub struct Fixed;
///
/// impl SecretsProvider for Fixed {
///     async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
///         Ok(SyncReport::default())
///     }
/// }
///
/// impl SecretsSource for Fixed {
///     async fn read(&self, opts: ReadOptions) -> Result<Secrets, SyncError> {
///         let mut secrets = Secrets::new(format!("fixed:{}", opts.location.unwrap_or_default()));
///         secrets.push("GREETING", "hello");
///         Ok(secrets)
///     }
/// }
///
/// stagecraft_core::provider_table!(Fixed);
/// # fn main() {}
/// ```
pub trait SecretsSource: ProviderIdentity + Send + Sync + 'static {
    /// Reads the keys at `opts.location` (what follows `<id>:`), or at the provider's configured
    /// source when it is `None`. A source that does not exist is an error, never empty: read as
    /// empty, a mistyped source would make `--prune` empty the target.
    fn read(&self, opts: ReadOptions) -> impl Future<Output = Result<Secrets, SyncError>> + Send;
}

/// A boxed read future, as [`DynSecretsSource`] returns it.
pub type ReadFuture<'a> = Pin<Box<dyn Future<Output = Result<Secrets, SyncError>> + Send + 'a>>;

/// The dyn-compatible form of [`SecretsSource`] that table entries store.
pub trait DynSecretsSource: ProviderIdentity + Send + Sync + 'static {
    #[doc(hidden)]
    fn read_boxed(&self, opts: ReadOptions) -> ReadFuture<'_>;
}

impl<S: SecretsSource> DynSecretsSource for S {
    fn read_boxed(&self, opts: ReadOptions) -> ReadFuture<'_> {
        Box::pin(self.read(opts))
    }
}

impl dyn DynSecretsSource {
    /// Reads the keys at `opts.location`.
    pub fn read(&self, opts: ReadOptions) -> ReadFuture<'_> {
        self.read_boxed(opts)
    }
}

impl fmt::Debug for dyn DynSecretsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsSource")
            .field("id", &self.id())
            .finish()
    }
}

/// What to read.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReadOptions {
    /// The reading provider's section of `stagecraft.yml`.
    pub config: ProviderConfig,
    /// What follows `<id>:` in the source; `None` for the provider's configured source.
    pub location: Option<String>,
}

impl ReadOptions {
    /// Options with the given provider config and the configured source.
    pub fn new(config: ProviderConfig) -> Self {
        ReadOptions {
            config,
            location: None,
        }
    }

    /// Sets the location.
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }
}

/// The keys and values a source holds, in its order, and the keys it names without a value.
/// `Debug` shows the keys only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// The source as reports and messages name it, such as `vault:staging`.
    pub source: String,
    entries: Vec<(String, String)>,
    /// Keys the source names without a value (a key without `=` in an env file): not synced,
    /// not set, the target's value kept (also with `--prune`).
    pub valueless: Vec<String>,
}

impl Secrets {
    /// No keys, read from `source`.
    pub fn new(source: impl Into<String>) -> Self {
        Secrets {
            source: source.into(),
            ..Self::default()
        }
    }

    /// Adds a key after those added so far.
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.entries.push((key.into(), value.into()));
    }

    /// The keys and values, in the source's order.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// The keys and values, taken.
    pub fn into_entries(self) -> Vec<(String, String)> {
        self.entries
    }

    /// How many keys have a value.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key has a value.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The keys only: a value never reaches a log or a panic message.
impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("source", &self.source)
            .field(
                "keys",
                &self.entries.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("valueless", &self.valueless)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_keys_and_never_values() {
        let mut secrets = Secrets::new("vault:staging");
        secrets.push("API_KEY", "canary-source-5b1e");
        secrets.valueless.push("BARE".into());
        let shown = format!("{secrets:?}");
        assert!(!shown.contains("canary"), "{shown}");
        assert_eq!(
            shown,
            r#"Secrets { source: "vault:staging", keys: ["API_KEY"], valueless: ["BARE"] }"#
        );
        let opts = crate::SyncOptions::default().secrets(secrets);
        assert!(!format!("{opts:?}").contains("canary"));
    }
}
