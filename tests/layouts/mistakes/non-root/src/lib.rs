//! `include_providers!` invoked in a module file instead of the crate root.
pub mod table;

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
