//! Declares the CLI's registry: every provider crate it depends on, found by `links` metadata.
fn main() {
    stagecraft_codegen::registry();
}
