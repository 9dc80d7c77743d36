//! prov-v 0.1.0.

#[stagecraft_core::secrets_provider("v-one")]
pub struct One;

impl stagecraft_core::SecretsProvider for One {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}

#[cfg(feature = "clash")]
#[stagecraft_core::secrets_provider("v-two")]
pub struct Clash;

#[cfg(feature = "clash")]
impl stagecraft_core::SecretsProvider for Clash {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}

stagecraft_core::include_providers!();
