// A build script that has work of its own besides the provider crates.
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=APP_FLAVOUR");
    println!("cargo::rustc-env=APP_FLAVOUR=plain");
    stagecraft_codegen::generate();
}
