//! `acme-secrets`: the whole `stagecraft` command, with the `secret-dir` provider beside the
//! shipped ones.

// The binary's registry: this package's providers and those of every provider crate it depends
// on, at any depth, merged and checked (no empty or duplicate ID) in const evaluation.
stagecraft_core::include_registry!(static REGISTRY);

fn main() -> std::process::ExitCode {
    stagecraft::run(&REGISTRY)
}
