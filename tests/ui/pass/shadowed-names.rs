// Generated code names nothing a user can shadow: these local items break `&str`, `usize`,
// `u16` and the prelude's `Result`/`Ok` if the expansion relies on them.
#![allow(non_camel_case_types, dead_code)]

use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

pub struct str;
pub struct usize;
pub struct u16;
pub struct u64;
pub struct bool;
pub struct Entry;
pub struct Option;
pub struct core;

/// Shadowed all around.
#[secrets_provider("shadowed")]
pub struct Shadowed;

impl SecretsProvider for Shadowed {
    async fn sync(&self, _: SyncOptions) -> ::core::result::Result<SyncReport, SyncError> {
        ::core::result::Result::Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!(Shadowed);

stagecraft_core::secrets_registry!(static REGISTRY = [crate::SECRETS_PROVIDERS]);

fn main() {
    assert!(REGISTRY.has("shadowed"));
}
