use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

#[secrets_provider("")]
pub struct Empty;

impl SecretsProvider for Empty {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!();

fn main() {}
