use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

/// Copies env files.
///
/// More detail that is not part of the description.
#[secrets_provider("envfile")]
pub struct EnvFile;

impl SecretsProvider for EnvFile {
    async fn sync(&self, opts: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::new(opts.source.unwrap_or_default(), opts.target.unwrap_or_default()))
    }
}

stagecraft_core::provider_table!(EnvFile);
stagecraft_core::secrets_registry!(static REGISTRY = [crate::SECRETS_PROVIDERS]);

fn main() {
    let entry = REGISTRY.entry("envfile").unwrap();
    assert!(entry.type_path().ends_with("::EnvFile"));
    assert_eq!(entry.line(), 7);
    let provider = REGISTRY.get("envfile").unwrap();
    assert_eq!(provider.id(), "envfile");
    assert_eq!(provider.description(), "Copies env files.");
}
