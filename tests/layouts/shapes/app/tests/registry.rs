//! An integration test of the package with a registry of its own.
stagecraft_core::include_registry!(static REGISTRY);

#[test]
fn the_registry_holds_every_provider() {
    let ids: Vec<_> = REGISTRY.ids().collect();
    assert_eq!(
        ids,
        ["acme-deep", "acme-nested", "acme-prelude", "alpha", "app-lib"]
    );
}
