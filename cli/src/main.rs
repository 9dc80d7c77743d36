//! `stagecraft`: sync secrets between env files, Encore dev secrets and secret stores.
//!
//! `main` parses the command line, calls [`run`], prints `error: …` and its causes on failure,
//! and maps the outcome to the exit code the README documents.

mod output;
mod signals;

use clap::{ArgAction, Args, Parser, Subcommand};
use stagecraft_core::{Config, ConfigError, SyncError, SyncOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

stagecraft_core::secrets_registry!(static REGISTRY = [stagecraft_providers::SECRETS_PROVIDERS]);

const DEFAULT_CONFIG: &str = "stagecraft.yml";

#[derive(Debug, Parser)]
#[command(
    name = "stagecraft",
    version,
    about = "Sync secrets between env files, Encore dev secrets and secret stores"
)]
#[command(
    after_help = "Examples:\n  stagecraft secrets sync --dry-run\n  stagecraft --config deploy/stagecraft.yml secrets sync --keys DATABASE_URL,API_KEY\n  stagecraft secrets sync --provider envfile --from .env.local --to .env.staging\n  stagecraft config validate\n\nExit codes: 0 success (also nothing to do), 1 invalid input or config, 2 a provider or external failure, 3 an internal error, 130 interrupted (after completing the sync under way)."
)]
struct Cli {
    /// The config file [default: ./stagecraft.yml].
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,

    /// Log more on stderr: -v info, -vv debug, -vvv trace. RUST_LOG overrides.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sync secrets and list the secrets providers.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Check stagecraft.yml.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum SecretsCommand {
    /// Sync secrets from the source to the target with the configured provider.
    #[command(
        after_help = "Examples:\n  stagecraft secrets sync\n  stagecraft secrets sync --dry-run --prune\n  stagecraft secrets sync --keys DATABASE_URL,API_KEY --json\n  stagecraft secrets sync --provider envfile --from .env.local --to .env.staging   # no config file needed"
    )]
    Sync(SyncArgs),
    /// List the registered secrets providers, in order, with a description each.
    #[command(
        after_help = "Examples:\n  stagecraft secrets providers\n  stagecraft secrets providers --json"
    )]
    Providers {
        /// Print one JSON document instead of a list.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Report every problem in stagecraft.yml, not just the first.
    #[command(
        after_help = "Examples:\n  stagecraft config validate\n  stagecraft --config deploy/stagecraft.yml config validate"
    )]
    Validate,
}

#[derive(Debug, Args)]
struct SyncArgs {
    /// The provider to use, instead of `secrets.provider`.
    #[arg(long, value_name = "ID")]
    provider: Option<String>,
    /// The source (a file, an environment), instead of the provider's configured one.
    #[arg(long, value_name = "SOURCE")]
    from: Option<String>,
    /// The target, instead of the provider's configured one.
    #[arg(long, value_name = "TARGET")]
    to: Option<String>,
    /// Only these keys, comma-separated; a key the source lacks is an error.
    #[arg(long, value_name = "KEY,…", value_delimiter = ',')]
    keys: Vec<String>,
    /// Show the plan; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Remove keys from the target that the source does not have.
    #[arg(long)]
    prune: bool,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    json: bool,
}

/// Why a command failed, and so its exit code.
#[derive(Debug)]
enum Failure {
    /// The config file is missing or wrong (exit 1).
    Config(Vec<ConfigError>),
    /// A flag or the input is wrong (exit 1).
    Input(Box<dyn std::error::Error>),
    /// A provider or something outside failed (exit 2).
    External(Box<dyn std::error::Error>),
    /// Ctrl-C or SIGTERM arrived while a sync ran; it was let finish first (exit 130).
    Interrupted,
}

#[derive(Debug, thiserror::Error)]
#[error("interrupted; the sync under way was completed first")]
struct Interrupted;

impl From<SyncError> for Failure {
    fn from(error: SyncError) -> Self {
        match error {
            SyncError::Config(e) => Failure::Config(vec![e]),
            e @ SyncError::Input(_) => Failure::Input(e.into()),
            e @ SyncError::External(_) => Failure::External(e.into()),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(1);
        }
    };
    init_logging(cli.verbose);
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(failure)) => {
            let code = match &failure {
                Failure::Config(errors) => {
                    errors.iter().for_each(|e| output::print_error(e));
                    1
                }
                Failure::Input(error) => {
                    output::print_error(error.as_ref());
                    1
                }
                Failure::External(error) => {
                    output::print_error(error.as_ref());
                    2
                }
                Failure::Interrupted => {
                    output::print_error(&Interrupted);
                    130
                }
            };
            ExitCode::from(code)
        }
        // The panic hook has printed the message, which never holds a value.
        Err(_) => ExitCode::from(3),
    }
}

fn init_logging(verbose: u8) {
    // The vault provider's client logs each failed request as an error, even a 404 that the
    // provider expects; the provider reports what matters itself.
    let default = match verbose {
        0 => "warn,vaultrs=off,rustify=off",
        1 => "info,vaultrs=off,rustify=off",
        2 => "debug,vaultrs=off,rustify=off",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Secrets(SecretsCommand::Providers { json }) => {
            output::providers(&REGISTRY, json);
            Ok(())
        }
        Command::Secrets(SecretsCommand::Sync(args)) => sync(cli.config.as_deref(), args),
        Command::Config(ConfigCommand::Validate) => {
            let path = cli.config.as_deref().unwrap_or(Path::new(DEFAULT_CONFIG));
            let config = Config::load(path).map_err(|e| Failure::Config(vec![e]))?;
            let provider = config
                .secrets_provider(&REGISTRY, None)
                .map_err(Failure::Config)?;
            println!("{} is valid: secrets provider {provider}", path.display());
            Ok(())
        }
    }
}

fn sync(config_path: Option<&Path>, args: SyncArgs) -> Result<(), Failure> {
    if args.keys.iter().any(|k| k.trim().is_empty()) {
        return Err(Failure::Input("--keys has an empty key name".into()));
    }
    // With the provider, source and target all on the command line, no config file is needed.
    let self_sufficient = args.provider.is_some() && args.from.is_some() && args.to.is_some();
    let config = match Config::load(config_path.unwrap_or(Path::new(DEFAULT_CONFIG))) {
        Ok(config) => Some(config),
        Err(ConfigError::ConfigNotFound { .. }) if self_sufficient && config_path.is_none() => None,
        Err(e) => return Err(Failure::Config(vec![e])),
    };
    let id = match &config {
        Some(config) => config
            .secrets_provider(&REGISTRY, args.provider.as_deref())
            .map_err(Failure::Config)?,
        None => args.provider.clone().unwrap_or_default(),
    };
    let provider = REGISTRY.get(&id).map_err(|e| Failure::Input(e.into()))?;
    let mut opts = SyncOptions::new(config.map(|c| c.provider_config(&id)).unwrap_or_default())
        .keys(args.keys)
        .dry_run(args.dry_run)
        .prune(args.prune);
    opts.source = args.from;
    opts.target = args.to;
    tracing::info!(
        provider = id,
        dry_run = args.dry_run,
        prune = args.prune,
        "syncing secrets"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::External(e.into()))?;
    let mut held = runtime
        .block_on(async { signals::Held::new() })
        .map_err(|e| Failure::External(e.into()))?;
    let report = runtime.block_on(provider.sync(opts))?;
    tracing::info!(
        keys = report.changes.len(),
        written = report.written,
        "sync finished"
    );
    // The sync is done; failing to print its report (a closed pipe) is an external failure.
    output::report(&id, &report, args.dry_run, args.json)
        .map_err(|e| Failure::External(e.into()))?;
    if runtime.block_on(held.arrived()) {
        return Err(Failure::Interrupted);
    }
    Ok(())
}
