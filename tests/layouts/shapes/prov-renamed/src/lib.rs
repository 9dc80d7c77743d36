//! A provider crate the app depends on under another name.
/// Alpha.
#[stagecraft_core::secrets_provider("alpha")]
pub struct Alpha;

impl stagecraft_core::SecretsProvider for Alpha {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}

stagecraft_core::include_providers!();
