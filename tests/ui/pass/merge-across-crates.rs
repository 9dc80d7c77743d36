use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

/// A local provider.
#[secrets_provider("aws.sm")]
pub struct Aws;

impl SecretsProvider for Aws {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!(Aws);

// `ENCORE_ONLY` is a subset of provider_b's providers: the list says it leaves some out.
stagecraft_core::secrets_registry!(pub static REGISTRY = [
    provider_a::SECRETS_PROVIDERS,
    provider_b::ENCORE_ONLY,
    crate::SECRETS_PROVIDERS,
]; partial);

fn main() {
    let ids: Vec<_> = REGISTRY.ids().collect();
    assert_eq!(ids, ["aws.sm", "encore", "envfile", "vault"]);
    assert_eq!(REGISTRY.entry("envfile").unwrap().type_path(), "provider_a::envfile::EnvFile");
    assert!(REGISTRY.entry("envfile").unwrap().file().ends_with("provider-a/src/envfile.rs"));
}
