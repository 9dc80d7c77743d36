//! A provider crate reached only through a crate that generates no table.

#[stagecraft_core::secrets_provider("hidden")]
pub struct Hidden;

impl stagecraft_core::SecretsProvider for Hidden {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}

stagecraft_core::include_providers!();
