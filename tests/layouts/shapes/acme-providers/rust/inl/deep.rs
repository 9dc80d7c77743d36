use crate::prelude::*;

/// Declared through the prelude's alias, in a file found through an inline `#[path]`.
#[provider("acme-prelude")]
pub struct Prelude;

impl stagecraft_core::SecretsProvider for Prelude {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}
