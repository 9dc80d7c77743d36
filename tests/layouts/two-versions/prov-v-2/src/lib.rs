//! prov-v 0.2.0.

#[stagecraft_core::secrets_provider("v-two")]
pub struct Two;

impl stagecraft_core::SecretsProvider for Two {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}

stagecraft_core::include_providers!();
