stagecraft_core::secrets_registry!(static REGISTRY = [
    provider_a::SECRETS_PROVIDERS,
    provider_a::SECRETS_PROVIDERS,
]);

fn main() {}
