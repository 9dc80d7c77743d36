//! A provider library without `links`: crates that depend on it could not find it.
/// P.
#[stagecraft_core::secrets_provider("p")]
pub struct P;

impl stagecraft_core::SecretsProvider for P {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}

stagecraft_core::include_providers!();
