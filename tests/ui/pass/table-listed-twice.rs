// A table listed twice (as a crate reached along two paths is) counts once.
stagecraft_core::secrets_registry!(static REGISTRY = [
    provider_a::SECRETS_PROVIDERS,
    provider_a::SECRETS_PROVIDERS,
]);

fn main() {
    assert_eq!(REGISTRY.ids().collect::<Vec<_>>(), ["envfile", "vault"]);
}
