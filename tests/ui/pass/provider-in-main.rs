// A doctest's shape: rustdoc wraps code without `fn main` in one, so the provider, its table and
// the registry are all in a function body. The attribute finds the table in scope there.
fn main() {
    use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

    /// Copies one env file to another.
    #[secrets_provider("copy")]
    pub struct Copy;

    impl SecretsProvider for Copy {
        async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
            Ok(SyncReport::default())
        }
    }

    stagecraft_core::provider_table!(Copy);
    stagecraft_core::secrets_registry!(static REGISTRY = [SECRETS_PROVIDERS]);

    assert_eq!(REGISTRY.ids().collect::<Vec<_>>(), ["copy"]);
}
