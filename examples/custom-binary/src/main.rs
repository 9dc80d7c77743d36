//! `acme-secrets`: the whole `stagecraft` command, with the `secret-dir` provider beside the
//! shipped ones.

// The binary's registry: the tables of its provider crates, merged and checked (no empty or
// duplicate ID) in const evaluation.
stagecraft_core::secrets_registry!(static REGISTRY = [
    stagecraft_providers::SECRETS_PROVIDERS,
    acme_secrets::SECRETS_PROVIDERS,
]);

fn main() -> std::process::ExitCode {
    stagecraft::run(&REGISTRY)
}
