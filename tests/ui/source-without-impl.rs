use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

/// Says it can be read from, but implements no `SecretsSource`.
#[secrets_provider("readable", source)]
pub struct Readable;

impl SecretsProvider for Readable {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!(Readable);

fn main() {}
