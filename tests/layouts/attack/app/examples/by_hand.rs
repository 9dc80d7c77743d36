//! An example with a table of its own (`include_providers!`) and a registry listed by hand.

/// The example's own provider.
#[stagecraft_core::secrets_provider("example-own")]
pub struct Own;

impl stagecraft_core::SecretsProvider for Own {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        Ok(stagecraft_core::SyncReport::default())
    }
}

stagecraft_core::include_providers!();

stagecraft_core::secrets_registry!(static REGISTRY = [crate::SECRETS_PROVIDERS, my_ws::SECRETS_PROVIDERS]; partial);

fn main() {
    for id in REGISTRY.ids() {
        println!("{id}");
    }
}
