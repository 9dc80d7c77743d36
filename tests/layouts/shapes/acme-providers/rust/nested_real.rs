/// Found through nested `cfg_attr(…, path)`.
#[stagecraft_core::secrets_provider("acme-nested")]
pub struct Nested;

impl stagecraft_core::SecretsProvider for Nested {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}
