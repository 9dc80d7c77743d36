use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct Options {}

#[secrets_provider("envfile", settings = "Options")]
pub struct FromString;

#[secrets_provider("encore", settings = Options::default())]
pub struct FromExpression;

#[secrets_provider("vault", settings)]
pub struct NoValue;

impl SecretsProvider for FromString {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!();

fn main() {}
