//! `stagecraft`: sync secrets between env files, Encore dev secrets and secret stores.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

stagecraft_core::secrets_registry!(static REGISTRY = [stagecraft_providers::SECRETS_PROVIDERS]);

#[derive(Debug, Parser)]
#[command(name = "stagecraft", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with secrets.
    #[command(subcommand)]
    Secrets(Secrets),
}

#[derive(Debug, Subcommand)]
enum Secrets {
    /// List the registered secrets providers, in order, with a description each.
    Providers,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Secrets(Secrets::Providers) => {
            for provider in REGISTRY.list() {
                println!("{}\t{}", provider.id(), provider.description());
            }
        }
    }
    ExitCode::SUCCESS
}
