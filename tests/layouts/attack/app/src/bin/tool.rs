//! A second binary under src/bin/: the same registry.
stagecraft_core::include_registry!(static REGISTRY);

fn main() {
    assert_eq!(env!("APP_FLAVOUR"), "plain");
    for id in REGISTRY.ids() {
        println!("{id}");
    }
}
