use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

#[secrets_provider("envfile")]
pub(self) struct EnvFile;

impl SecretsProvider for EnvFile {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!(EnvFile);

fn main() {}
