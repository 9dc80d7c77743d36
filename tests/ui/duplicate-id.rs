mod local {
    use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

    /// Reads .env files.
    #[secrets_provider("envfile")]
    pub struct EnvFile;

    impl SecretsProvider for EnvFile {
        async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
            Ok(SyncReport::default())
        }
    }
}

mod other {
    use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

    /// Also claims to read .env files.
    #[secrets_provider("envfile")]
    pub struct AnotherEnvFile;

    impl SecretsProvider for AnotherEnvFile {
        async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
            Ok(SyncReport::default())
        }
    }
}

stagecraft_core::provider_table!(local::EnvFile, other::AnotherEnvFile);

fn main() {}
