use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

const ID: &str = "envfile";

#[secrets_provider(ID)]
pub struct FromConst;

#[secrets_provider(envfile)]
pub struct BareWord;

#[secrets_provider]
pub struct NoArgument;

impl SecretsProvider for FromConst {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!();

fn main() {}
