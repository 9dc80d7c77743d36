//! A binary in a directory of its own, with a provider in a module file beside it.
mod local;

stagecraft_core::include_registry!(static REGISTRY);

fn main() {
    for id in REGISTRY.ids() {
        println!("{id}");
    }
}
