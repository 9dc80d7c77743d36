use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

#[secrets_provider("two-ids", "b")]
pub struct TwoIds;

#[secrets_provider("crate-twice", crate = ::stagecraft_core, crate = ::stagecraft_core)]
pub struct CrateTwice;

#[secrets_provider("unknown-key", krate = ::stagecraft_core)]
pub struct UnknownKey;

#[secrets_provider("crate-as-string", crate = "stagecraft_core")]
pub struct CrateAsString;

impl SecretsProvider for TwoIds {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!();

fn main() {}
