//! The `stagecraft` command over every provider crate this package depends on (`build.rs` finds them).
stagecraft_core::include_registry!(static REGISTRY);

fn main() -> std::process::ExitCode {
    stagecraft::run(&REGISTRY)
}
