//! A provider crate of the attack layout.

/// The `chain-4` provider.
#[stagecraft_core::secrets_provider("chain-4")]
pub struct Provider;

impl stagecraft_core::SecretsProvider for Provider {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}

/// A provider that the feature `extra` adds (chain-2 enables it; chain-3 does not).
#[cfg(feature = "extra")]
#[stagecraft_core::secrets_provider("chain-4-extra")]
pub struct Extra;

#[cfg(feature = "extra")]
impl stagecraft_core::SecretsProvider for Extra {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}

stagecraft_core::include_providers!();
