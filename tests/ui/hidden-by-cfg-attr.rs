// A generator that reads source text cannot see through cfg_attr; the membership check can.
use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

#[cfg_attr(all(), secrets_provider("envfile"))]
pub struct EnvFile;

impl SecretsProvider for EnvFile {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!();

fn main() {}
