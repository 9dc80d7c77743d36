use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

#[secrets_provider("a-provider-id-that-goes-on-and-on-well-past-the-sixty-four-byte-limit")]
pub struct Long;

impl SecretsProvider for Long {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!();

fn main() {}
