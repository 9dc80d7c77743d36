//! Records the compiler version, so that the ui tests can tell whether their `.stderr` files
//! (whose wording changes between rustc releases) apply.
use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    println!("cargo:rustc-env=STAGECRAFT_TESTS_RUSTC_VERSION={version}");
}
