use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

/// Can be read from `stagecraft.yml` but has no schema for `stagecraft config schema`.
#[derive(serde::Deserialize)]
pub struct NotJsonSchema {
    pub path: String,
}

#[secrets_provider("envfile", settings = NotJsonSchema)]
pub struct EnvFile;

impl SecretsProvider for EnvFile {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!(EnvFile);

fn main() {}
