//! A plain library (no build script, no table) that uses a provider crate.
use stagecraft_core::ProviderIdentity as _;

/// The ID of the provider this crate uses.
pub fn hidden_id() -> String {
    prov_hidden::Hidden.id().to_owned()
}
