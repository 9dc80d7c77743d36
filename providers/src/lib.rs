//! The secrets providers that ship with Stagecraft, listed in [`SECRETS_PROVIDERS`], a table
//! sorted by ID at build time.

mod duration;
pub mod encore;
pub mod envfile;
pub mod fs;
pub mod keys;
pub mod vault;

stagecraft_core::include_providers!();

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
