use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

#[cfg(any())]
#[secrets_provider("hidden")]
pub struct Hidden;

#[secrets_provider("shown")]
#[cfg(all())]
pub struct Shown;

impl SecretsProvider for Shown {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!(#[cfg(any())] Hidden, #[cfg(all())] Shown);

fn main() {
    assert_eq!(SECRETS_PROVIDERS.len(), 1);
    assert_eq!(SECRETS_PROVIDERS[0].id(), "shown");
}
