/// The multi binary's own provider.
#[stagecraft_core::secrets_provider("multi-local")]
pub struct Local;

impl stagecraft_core::SecretsProvider for Local {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}
