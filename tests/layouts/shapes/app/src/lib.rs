//! The library of a lib+bin package: its own provider.
/// The app's own provider.
#[stagecraft_core::secrets_provider("app-lib")]
pub struct AppLib;

impl stagecraft_core::SecretsProvider for AppLib {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}

stagecraft_core::include_providers!();
