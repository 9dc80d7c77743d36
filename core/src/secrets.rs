//! The default registry and its functions, the counterpart of the Go package's `Register`,
//! `Get`, `Has`, `IDs` and `List`.
//!
//! It starts empty and holds the providers registered at run time. A binary that wants its
//! providers' static tables declares its own registry with
//! [`secrets_registry!`](crate::secrets_registry).

use crate::{DynSecretsProvider, Providers, Registry, SecretsProvider, UnknownProvider};

static DEFAULT: Registry = Registry::new("stagecraft_core::secrets::Registry");

/// The default registry.
pub fn default_registry() -> &'static Registry {
    &DEFAULT
}

/// Registers a provider in the default registry; see [`Registry::register`] for the panics.
pub fn register<P: SecretsProvider>(provider: P) {
    DEFAULT.register(provider);
}

/// The provider with this ID in the default registry.
pub fn get(id: &str) -> Result<&'static dyn DynSecretsProvider, UnknownProvider> {
    DEFAULT.get(id)
}

/// Whether the default registry has a provider with this ID.
pub fn has(id: &str) -> bool {
    DEFAULT.has(id)
}

/// The IDs of the default registry, sorted.
pub fn ids() -> impl ExactSizeIterator<Item = &'static str> {
    DEFAULT.ids()
}

/// The providers of the default registry, sorted by ID.
pub fn list() -> Providers {
    DEFAULT.list()
}
