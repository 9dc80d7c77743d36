//! A provider declared inside a function body, where no table can name it.

/// Returns the provider's ID.
pub fn declare() -> &'static str {
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

    stagecraft_core::ProviderIdentity::id(&P)
}

stagecraft_core::include_providers!();
