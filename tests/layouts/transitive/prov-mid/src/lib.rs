//! A provider crate that depends on another.

#[stagecraft_core::secrets_provider("mid")]
pub struct Mid;

impl stagecraft_core::SecretsProvider for Mid {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}

stagecraft_core::include_providers!();
