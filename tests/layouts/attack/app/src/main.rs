//! Prints the IDs of its registry, one a line.
stagecraft_core::include_registry!(static REGISTRY);

fn main() {
    for id in REGISTRY.ids() {
        println!("{id}");
    }
}
