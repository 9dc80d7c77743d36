//! `[lib] name = "acme"` and `path = "rust/lib.rs"`, and the module shapes the scan must follow
//! as rustc does.
pub mod prelude;
pub mod host;
pub mod nested;
pub mod deep;

/// Present only with the `generated` feature; its directory does not exist.
#[cfg(feature = "generated")]
#[path = "../generated/p.rs"]
pub mod generated;

/// Never compiled: rustc never reads the file, and neither may the scan.
#[cfg(any())]
#[path = "/dev/zero"]
pub mod zero;

stagecraft_core::include_providers!();
