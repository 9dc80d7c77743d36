//! The secrets providers that ship with Stagecraft, listed in [`SECRETS_PROVIDERS`], a table
//! sorted by ID at build time.
//!
//! Each provider is a cargo feature, all on by default; `--no-default-features --features
//! envfile` builds the env file provider without an HTTP client or a TLS stack. The [`envfile`]
//! module's reader and writer are always built: the other providers read env files with them.

mod duration;
#[cfg(feature = "encore")]
pub mod encore;
// Without the `envfile` feature, only what the reader and writer need of it is used.
#[cfg_attr(not(feature = "envfile"), allow(dead_code, unused_imports))]
pub mod envfile;
pub mod fs;
pub mod keys;
#[cfg(feature = "vault")]
pub mod vault;

stagecraft_core::include_providers!();

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
