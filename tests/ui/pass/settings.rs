use schemars::JsonSchema;
use serde::Deserialize;
use stagecraft_core::{
    secrets_provider, ProviderConfig, ProviderIdentity, SecretsProvider, SyncError, SyncOptions,
    SyncReport,
};

/// Copies secrets to a store.
#[secrets_provider("store", settings = Options)]
pub struct Store;

/// The settings of `store`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Where the store listens.
    pub address: String,
}

/// Takes no settings.
#[secrets_provider("bare")]
pub struct Bare;

impl SecretsProvider for Store {
    async fn sync(&self, opts: SyncOptions) -> Result<SyncReport, SyncError> {
        let options = opts.settings::<Options>()?;
        Ok(SyncReport::new(options.address, ""))
    }
}

impl SecretsProvider for Bare {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!(Store, Bare);
stagecraft_core::secrets_registry!(static REGISTRY = [crate::SECRETS_PROVIDERS]);

fn main() {
    // `check_config` decodes the declared settings without any code in the provider.
    let store = REGISTRY.get("store").unwrap();
    assert!(store.check_config(&ProviderConfig::from_yaml("address: x")).is_ok());
    let error = store.check_config(&ProviderConfig::from_yaml("adress: x")).unwrap_err();
    assert!(error.to_string().contains("unknown field `adress`"), "{error}");
    // A provider without settings accepts only an empty section.
    let bare = REGISTRY.get("bare").unwrap();
    assert!(bare.check_config(&ProviderConfig::from_yaml("")).is_ok());
    assert!(bare.check_config(&ProviderConfig::from_yaml("x: 1")).is_err());
    // The table entry records the settings, whose schema carries the doc comments.
    assert!(REGISTRY.entry("store").unwrap().settings().takes_settings());
    assert!(!Bare.settings().takes_settings());
    let schema = stagecraft_core::config_schema(&REGISTRY);
    let store = &schema["properties"]["secrets"]["properties"]["providers"]["properties"]["store"];
    assert_eq!(store["description"], "Copies secrets to a store.");
    assert_eq!(store["properties"]["address"]["description"], "Where the store listens.");
}
