//! `stagecraft`: sync secrets between env files, Encore dev secrets and secret stores.
//!
//! `main` parses the command line, calls [`run`], prints `error: …` and its causes on failure,
//! and maps the outcome to the exit code the README documents.

mod output;
mod signals;

use clap::{ArgAction, Args, Parser, Subcommand};
use stagecraft_core::{Action, Config, ConfigError, SyncError, SyncOptions, SyncReport, interrupt};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// Every provider crate the CLI depends on (`build.rs` finds them), and none of its own.
stagecraft_core::include_registry!(static REGISTRY);

const DEFAULT_CONFIG: &str = "stagecraft.yml";

#[derive(Debug, Parser)]
#[command(
    name = "stagecraft",
    version,
    about = "Sync secrets between env files, Encore dev secrets and secret stores"
)]
#[command(
    after_help = "Examples:\n  stagecraft secrets sync --dry-run\n  stagecraft --config deploy/stagecraft.yml secrets sync --keys DATABASE_URL,API_KEY\n  stagecraft secrets sync --provider envfile --from .env.local --to .env.staging\n  stagecraft config validate\n  stagecraft config schema --output stagecraft.schema.json\n\nExit codes: 0 success (also nothing to do), 1 invalid input or config, 2 a provider or external failure (also a failed write to stdout), 3 an internal error, 4 `secrets sync --check` found the target out of sync, 130 interrupted."
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
        after_help = "Examples:\n  stagecraft secrets sync\n  stagecraft secrets sync --dry-run --prune\n  stagecraft secrets sync --keys DATABASE_URL,API_KEY --json\n  stagecraft secrets sync --check   # exit 4 when the target is out of sync\n  stagecraft secrets sync --provider envfile --from .env.local --to .env.staging   # no config file needed"
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
    /// Print the JSON Schema of stagecraft.yml, for editors to complete and check it.
    #[command(
        after_help = "Examples:\n  stagecraft config schema --output stagecraft.schema.json\n\nThen start stagecraft.yml with\n  # yaml-language-server: $schema=./stagecraft.schema.json"
    )]
    Schema {
        /// Write the schema to FILE instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
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
    /// Show the plan, change nothing, and exit with 4 when the target is not in sync (for CI).
    #[arg(long)]
    check: bool,
    /// Remove keys from the target that the source does not have.
    #[arg(long)]
    prune: bool,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    json: bool,
}

/// The exit code of an interruption.
const EXIT_INTERRUPTED: i32 = 130;
/// The exit code of `secrets sync --check` when the target is not in sync.
const EXIT_OUT_OF_SYNC: u8 = 4;

/// Why a command failed, and so its exit code.
#[derive(Debug)]
enum Failure {
    /// The command line could not be parsed (exit 1).
    Usage(clap::Error),
    /// The config file is missing or wrong (exit 1).
    Config(Vec<ConfigError>),
    /// A flag or the input is wrong (exit 1).
    Input(Box<dyn std::error::Error>),
    /// A provider or something outside failed (exit 2).
    External(Box<dyn std::error::Error>),
    /// stdout could not be written (exit 2); a closed pipe is not a failure.
    Stdout(std::io::Error),
    /// A bug: the code panicked (exit 3).
    Internal,
    /// `--check` found the target out of sync (exit 4).
    OutOfSync(OutOfSync),
    /// Ctrl-C, SIGTERM or SIGHUP (exit 130): at once, or once the sync under way completed.
    Interrupted {
        /// Whether a sync under way was completed first.
        completed: bool,
    },
    /// Ctrl-C, SIGTERM or SIGHUP (exit 130) stopped a sync before all its keys were done (a
    /// provider's child processes); its report was printed.
    Stopped,
}

/// The CLI's own messages.
#[derive(Debug, thiserror::Error)]
enum Message {
    #[error("interrupted")]
    Interrupted,
    #[error("interrupted; the sync under way was completed first")]
    InterruptedAfterSync,
    #[error("interrupted; the sync under way was stopped: its report says which keys were done")]
    Stopped,
    #[error("cannot write to stdout: {0}")]
    Stdout(String),
    #[error("internal error (a bug in stagecraft): see the panic message above")]
    Internal,
    #[error("{0}")]
    Usage(String),
}

#[derive(Debug, thiserror::Error)]
#[error("{target} is not in sync with {from}: {differing} of {keys} keys would change")]
struct OutOfSync {
    from: String,
    target: String,
    differing: usize,
    keys: usize,
}

impl Failure {
    fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) | Failure::Config(_) | Failure::Input(_) => 1,
            Failure::External(_) | Failure::Stdout(_) => 2,
            Failure::Internal => 3,
            Failure::OutOfSync(_) => EXIT_OUT_OF_SYNC.into(),
            Failure::Interrupted { .. } | Failure::Stopped => EXIT_INTERRUPTED,
        }
    }

    /// `error.kind` in the JSON error document.
    fn kind(&self) -> &'static str {
        match self {
            Failure::Usage(_) => "usage",
            Failure::Config(_) => "config",
            Failure::Input(_) => "input",
            Failure::External(_) => "external",
            Failure::Stdout(_) => "stdout",
            Failure::Internal => "internal",
            Failure::OutOfSync(_) => "out_of_sync",
            Failure::Interrupted { .. } | Failure::Stopped => "interrupted",
        }
    }

    /// The errors to print, each with its causes.
    fn errors(&self) -> Vec<Box<dyn std::error::Error + '_>> {
        fn boxed<'a>(e: impl std::error::Error + 'a) -> Box<dyn std::error::Error + 'a> {
            Box::new(e)
        }
        match self {
            Failure::Usage(e) => vec![boxed(Message::Usage(usage_message(e)))],
            Failure::Config(errors) => errors.iter().map(boxed).collect(),
            Failure::Input(e) | Failure::External(e) => vec![Box::from(e.as_ref())],
            Failure::Stdout(e) => vec![boxed(Message::Stdout(e.to_string()))],
            Failure::Internal => vec![boxed(Message::Internal)],
            Failure::OutOfSync(e) => vec![Box::from(e as &dyn std::error::Error)],
            Failure::Interrupted { completed: false } => vec![boxed(Message::Interrupted)],
            Failure::Interrupted { completed: true } => {
                vec![boxed(Message::InterruptedAfterSync)]
            }
            Failure::Stopped => vec![boxed(Message::Stopped)],
        }
    }
}

/// clap's message without its `error: ` prefix and usage lines, for the JSON document.
fn usage_message(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

impl From<SyncError> for Failure {
    fn from(error: SyncError) -> Self {
        match error {
            SyncError::Config(e) => Failure::Config(vec![e]),
            e @ SyncError::Input(_) => Failure::Input(e.into()),
            e @ (SyncError::External(_) | SyncError::Partial { .. }) => Failure::External(e.into()),
        }
    }
}

/// A write to stdout that failed: a closed pipe (`| head`) ends the output quietly, as other
/// command-line tools do; anything else (a full disk) is a failure.
fn stdout_result(result: std::io::Result<()>) -> Result<(), Failure> {
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::Stdout(e)),
        _ => Ok(()),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version, on stdout.
            return match stdout_result(e.print()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(failure) => exit(&failure),
            };
        }
        Err(e) => {
            output::set_json(std::env::args_os().any(|arg| arg == "--json"));
            let _ = e.print();
            return exit(&Failure::Usage(e));
        }
    };
    output::set_json(cli.json());
    init_logging(cli.verbose);
    if let Err(e) = signals::install() {
        return exit(&Failure::External(e.into()));
    }
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
            .unwrap_or("a panic");
        let at = info
            .location()
            .map(|at| format!(" at {}:{}", at.file(), at.line()))
            .unwrap_or_default();
        eprintln!("stagecraft panicked{at}: {}", withhold_quoted(message));
    }));
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(failure)) => exit(&failure),
        // The panic hook has printed the message, which never holds a value.
        Err(_) => exit(&Failure::Internal),
    }
}

/// A panic message without the text the standard library quotes from a string it was slicing
/// (`` byte index 9 is not a char boundary; … of `KEY=secret…` ``), which may hold a value.
fn withhold_quoted(message: &str) -> std::borrow::Cow<'_, str> {
    // `… of `TEXT`…` (a char boundary, out of bounds) and `… when slicing `TEXT`…`.
    match [" of `", " slicing `"]
        .iter()
        .find_map(|quote| message.find(quote).map(|at| at + quote.len()))
    {
        Some(at) => format!("{}…` (text withheld)", &message[..at]).into(),
        None => message.into(),
    }
}

/// Reports `failure` (clap has printed its own) and returns its exit code.
fn exit(failure: &Failure) -> ExitCode {
    output::fail(failure);
    ExitCode::from(u8::try_from(failure.exit_code()).unwrap_or(1))
}

impl Cli {
    /// Whether the command prints JSON.
    fn json(&self) -> bool {
        match &self.command {
            Command::Secrets(SecretsCommand::Sync(args)) => args.json,
            Command::Secrets(SecretsCommand::Providers { json }) => *json,
            Command::Config(_) => false,
        }
    }
}

fn init_logging(verbose: u8) {
    // The vault provider's client logs each failed request as an error, even a 404 that the
    // provider expects, and the TLS verifier each untrusted certificate, at every retry; the
    // provider reports what matters itself.
    let default = match verbose {
        0 => "warn,vaultrs=off,rustify=off,rustls_platform_verifier=off",
        1 => "info,vaultrs=off,rustify=off,rustls_platform_verifier=off",
        2 => "debug,vaultrs=off,rustify=off,rustls_platform_verifier=off",
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
            stdout_result(output::providers(&REGISTRY, json))
        }
        Command::Secrets(SecretsCommand::Sync(args)) => sync(cli.config.as_deref(), args),
        Command::Config(ConfigCommand::Validate) => {
            let path = cli.config.as_deref().unwrap_or(Path::new(DEFAULT_CONFIG));
            let config = Config::load(path).map_err(|e| Failure::Config(vec![e]))?;
            let provider = config
                .secrets_provider(&REGISTRY, None)
                .map_err(Failure::Config)?;
            for warning in config.warnings(&REGISTRY) {
                output::print_warning(&warning);
            }
            stdout_result(output::line(&format!(
                "{} is valid: secrets provider {provider}",
                path.display()
            )))
        }
        Command::Config(ConfigCommand::Schema { output }) => schema(output.as_deref()),
    }
}

/// Prints (or writes to `output`) the JSON Schema of `stagecraft.yml` for this binary's providers.
fn schema(output: Option<&Path>) -> Result<(), Failure> {
    let schema = stagecraft_core::config_schema(&REGISTRY);
    let text = serde_json::to_string_pretty(&schema).expect("a JSON value serializes") + "\n";
    match output {
        None => stdout_result(output::document(&text)),
        Some(path) => std::fs::write(path, text).map_err(|e| {
            let error = format!("cannot write {}: {e}", path.display()).into();
            match e.kind() {
                std::io::ErrorKind::NotFound => Failure::Input(error),
                _ => Failure::External(error),
            }
        }),
    }
}

/// Refuses an empty `--provider`, `--from`, `--to` or `--keys` name.
fn check_flags(args: &SyncArgs) -> Result<(), Failure> {
    let flags = [
        ("--provider", &args.provider),
        ("--from", &args.from),
        ("--to", &args.to),
    ];
    for (flag, value) in flags {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(Failure::Input(format!("{flag} is empty").into()));
        }
    }
    if args.keys.iter().any(|k| k.trim().is_empty()) {
        return Err(Failure::Input("--keys has an empty key name".into()));
    }
    Ok(())
}

/// The config file, or `None` when there is none and the flags name the provider, source and
/// target. When flags are used without a config file, the missing ones are named.
fn load_config(config_path: Option<&Path>, args: &SyncArgs) -> Result<Option<Config>, Failure> {
    let path = config_path.unwrap_or(Path::new(DEFAULT_CONFIG));
    match Config::load(path) {
        Ok(config) => Ok(Some(config)),
        Err(ConfigError::ConfigNotFound { .. })
            if config_path.is_none()
                && (args.provider.is_some() || args.from.is_some() || args.to.is_some()) =>
        {
            let missing: Vec<&str> = [
                ("--provider", args.provider.is_none()),
                ("--from", args.from.is_none()),
                ("--to", args.to.is_none()),
            ]
            .into_iter()
            .filter_map(|(flag, missing)| missing.then_some(flag))
            .collect();
            if missing.is_empty() {
                return Ok(None);
            }
            Err(Failure::Input(
                format!(
                    "missing {}: without a config file ({DEFAULT_CONFIG} not found), --provider, --from and --to are all needed",
                    missing.join(" and ")
                )
                .into(),
            ))
        }
        Err(e) => Err(Failure::Config(vec![e])),
    }
}

fn sync(config_path: Option<&Path>, args: SyncArgs) -> Result<(), Failure> {
    check_flags(&args)?;
    let config = load_config(config_path, &args)?;
    let id = match &config {
        Some(config) => config
            .secrets_provider(&REGISTRY, args.provider.as_deref())
            .map_err(Failure::Config)?,
        None => args.provider.clone().unwrap_or_default(),
    };
    let provider = REGISTRY.get(&id).map_err(|e| Failure::Input(e.into()))?;
    let dry_run = args.dry_run || args.check;
    let mut opts = SyncOptions::new(config.map(|c| c.provider_config(&id)).unwrap_or_default())
        .keys(args.keys)
        .dry_run(dry_run)
        .prune(args.prune)
        .progress(!args.json && std::io::stderr().is_terminal());
    opts.source = args.from;
    opts.target = args.to;
    tracing::info!(
        provider = id,
        dry_run,
        prune = args.prune,
        "syncing secrets"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::External(e.into()))?;
    let (report, outcome) = match runtime.block_on(provider.sync(opts)) {
        // Some keys failed: the report says which were synced, then the error says why.
        Err(SyncError::Partial { report, error }) => (*report, Err(Failure::External(error))),
        result => {
            let report = result?;
            tracing::info!(
                keys = report.len(),
                written = report.written,
                "sync finished"
            );
            let outcome = outcome(&report, args.check);
            (report, outcome)
        }
    };
    // The sync is done: its report is printed whatever happens next. When stdout fails too, the
    // sync's own failure keeps its exit code, after the line about stdout.
    match (
        stdout_result(output::report(&id, &report, dry_run, args.json)),
        outcome,
    ) {
        (Err(stdout), Err(failure)) => {
            output::fail(&stdout);
            Err(failure)
        }
        (printed, outcome) => outcome.and(printed),
    }
}

/// What a finished sync means for the exit code: an interruption, or drift found by `--check`.
fn outcome(report: &SyncReport, check: bool) -> Result<(), Failure> {
    if interrupt::is_requested() {
        // Keys left `skipped` or `unknown`: the provider stopped instead of completing.
        let counts = report.counts();
        return Err(
            if counts.get(Action::Skipped) + counts.get(Action::Unknown) > 0 {
                Failure::Stopped
            } else {
                Failure::Interrupted { completed: true }
            },
        );
    }
    if check && report.has_changes() {
        return Err(Failure::OutOfSync(OutOfSync {
            differing: report
                .actions()
                .filter(|(_, action)| !matches!(action, Action::Unchanged | Action::Skipped))
                .count(),
            keys: report.len(),
            from: report.source.clone(),
            target: report.target.clone(),
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::withhold_quoted;

    #[test]
    fn a_slicing_panic_prints_no_text_of_the_string() {
        let text = String::from("KEY=canary-31337-é");
        let end = text.len() - 1;
        let panic = std::panic::catch_unwind(|| text[..end].len()).unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(message.contains("canary"), "{message}");
        let shown = withhold_quoted(message);
        assert!(!shown.contains("canary"), "{shown}");
        assert!(shown.contains("not a char boundary"), "{shown}");
        for kept in ["plain message", "duplicate ID `envfile`"] {
            assert_eq!(withhold_quoted(kept), kept);
        }
    }
}
