use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

/// Listed.
#[secrets_provider("envfile")]
pub struct EnvFile;

/// Forgotten.
#[secrets_provider("encore")]
pub struct Encore;

impl SecretsProvider for EnvFile {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

impl SecretsProvider for Encore {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!(EnvFile);

fn main() {}
