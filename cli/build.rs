//! Finds the provider crates the `stagecraft` binary depends on, for `include_registry!`.
fn main() {
    stagecraft_codegen::generate();
}
