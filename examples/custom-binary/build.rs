//! Finds the provider crates this one depends on, for `include_providers!` and `include_registry!`.
fn main() {
    stagecraft_codegen::generate();
}
