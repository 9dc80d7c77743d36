use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct Options {}

#[secrets_provider("envfile", setting = Options)]
pub struct Typo;

#[secrets_provider("encore", settings = Options, description = "x")]
pub struct Unknown;

#[secrets_provider("vault", settings = Options, settings = Options)]
pub struct Twice;

impl SecretsProvider for Typo {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!();

fn main() {}
