use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

/// Has a schema but cannot be read from `stagecraft.yml`.
#[derive(schemars::JsonSchema)]
pub struct NotDeserialize {
    pub path: String,
}

#[secrets_provider("envfile", settings = NotDeserialize)]
pub struct EnvFile;

impl SecretsProvider for EnvFile {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!(EnvFile);

fn main() {}
