//! An integration test whose registry would include a provider crate that is only a
//! dev-dependency. Cargo passes `links` metadata to build scripts from [dependencies] only, so
//! `include_registry!` cannot find it, and the registry's first use says so.
stagecraft_core::include_registry!(static REGISTRY);

#[test]
#[should_panic(
    expected = "dev::REGISTRY::ids: a secrets provider is compiled into this program but missing from the registry: `prov_dev::Provider` with id \"dev\" (prov-dev 0.1.0, prov-dev/src/lib.rs:5); a provider crate that is only a dev-dependency is not found by `include_registry!`"
)]
fn a_dev_dependency_provider_crate_is_named_at_the_registry_first_use() {
    let _ = prov_dev::Provider;
    let _ = REGISTRY.ids();
}
