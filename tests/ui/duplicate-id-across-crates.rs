// provider_a and provider_b both declare an "envfile" provider.
stagecraft_core::secrets_registry!(static REGISTRY = [
    provider_a::SECRETS_PROVIDERS,
    provider_b::SECRETS_PROVIDERS,
]);

fn main() {
    let _ = REGISTRY.ids();
}
