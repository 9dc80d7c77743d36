//! An example of the package: prints the IDs of its registry.
stagecraft_core::include_registry!(static REGISTRY);

fn main() {
    for id in REGISTRY.ids() {
        println!("{id}");
    }
}
