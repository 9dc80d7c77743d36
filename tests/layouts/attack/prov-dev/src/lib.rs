//! A provider crate of the attack layout.

/// The `dev` provider.
#[stagecraft_core::secrets_provider("dev")]
pub struct Provider;

impl stagecraft_core::SecretsProvider for Provider {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}

stagecraft_core::include_providers!();
