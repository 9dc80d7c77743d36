// A provider declared inside a function body (as in a doctest that rustdoc wraps in `fn main`):
// no table can name it, and the error says to declare it at module level.
use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

stagecraft_core::provider_table!();

fn main() {
    /// Declared in a function.
    #[secrets_provider("envfile")]
    pub struct EnvFile;

    impl SecretsProvider for EnvFile {
        async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
            Ok(SyncReport::default())
        }
    }
}
