//! A provider crate reached only through prov-mid (and, in a diamond, directly).

#[stagecraft_core::secrets_provider("deep")]
pub struct Deep;

impl stagecraft_core::SecretsProvider for Deep {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}

#[cfg(feature = "clash")]
#[stagecraft_core::secrets_provider("alpha")]
pub struct DeepAlpha;

#[cfg(feature = "clash")]
impl stagecraft_core::SecretsProvider for DeepAlpha {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}

stagecraft_core::include_providers!();
