// A crate that uses the attribute must declare its table (provider_table! or include_providers!).
use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

#[secrets_provider("envfile")]
pub struct EnvFile;

impl SecretsProvider for EnvFile {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

fn main() {}
