//! The `stagecraft` command as a library: sync secrets between env files, Encore dev secrets and
//! secret stores, over the providers of a registry the caller passes.
//!
//! A binary with its own providers is three lines: declare the registry (its providers plus the
//! shipped ones it wants) and hand it to [`run`], which parses the command line, runs the
//! command and returns the exit code (never calling `process::exit`):
//!
//! ```no_run
//! stagecraft_core::secrets_registry!(static REGISTRY = [stagecraft_providers::SECRETS_PROVIDERS]);
//!
//! fn main() -> std::process::ExitCode {
//!     stagecraft::run(&REGISTRY)
//! }
//! ```
//!
//! Every subcommand, flag, exit code and JSON document is the shipped command's, and
//! `secrets providers`, `config schema` and the check of `secrets.provider` cover exactly the
//! registry's providers. [`App`] turns off the process-wide state a run sets up by default: the
//! signal handler, the panic hook and the log subscriber.

#![warn(missing_docs)]

mod config_path;
#[cfg(test)]
mod man_pages;
mod output;
mod run;
mod signals;

use clap::{ArgAction, Args, Parser, Subcommand};
use stagecraft_core::{
    Action, Config, ConfigError, ReadOptions, Registry, Secrets, SyncError, SyncOptions,
    SyncReport, interrupt,
};
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Mutex, OnceLock};
use tracing_subscriber::EnvFilter;

/// Runs the `stagecraft` command over `registry` with the process's arguments and the default
/// [`App`] options, and returns its exit code: `App::new(registry).run()`.
pub fn run(registry: &Registry) -> ExitCode {
    App::new(registry).run()
}

/// Runs the `stagecraft` command over `registry` with `args` (the first is the program's name,
/// as in [`std::env::args_os`]) and the default [`App`] options: `App::new(registry).run_from(args)`.
pub fn run_from<I, T>(registry: &Registry, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    App::new(registry).run_from(args)
}

/// The `stagecraft` command over a registry, with the process-wide state a run sets up.
///
/// By default a run sets up three things for the whole process, as the shipped binary needs;
/// each can be turned off, for a program that has its own:
///
/// - [`signals`](App::signals): a thread that handles Ctrl-C (SIGINT), SIGTERM and SIGHUP
///   (Unix), installed by the first run and kept for the life of the process. While no provider
///   holds an [`interrupt`] guard, a signal ends the process at once with exit code 130 (after
///   printing `error: interrupted`); while one does, the run completes or stops the sync and
///   returns 130. Turned off, the signals keep whatever handling the process gives them, and a
///   sync interrupted by one may leave a temporary copy of the secrets beside its target.
/// - [`panic_hook`](App::panic_hook): a hook that prints `stagecraft panicked at …` without the
///   text the standard library quotes from a string it was slicing (which may hold a secret),
///   set for the run and the previous hook put back after it. Turned off, the process's hook
///   prints panic messages as it does. Either way a panic is caught and the run returns 3.
/// - [`logging`](App::logging): a `tracing` subscriber on stderr, filtered by `-v` or
///   `RUST_LOG`, set as the global default by the first run (later runs change its filter), and
///   left alone when the process already has one. Turned off, the run's events go to whatever
///   subscriber the process has, if any.
///
/// Runs in one process take turns: stdout holds one run's output at a time.
///
/// ```no_run
/// stagecraft_core::secrets_registry!(static REGISTRY = [stagecraft_providers::SECRETS_PROVIDERS]);
///
/// let code = stagecraft::App::new(&REGISTRY)
///     .signals(false)
///     .panic_hook(false)
///     .logging(false)
///     .run_from(["stagecraft", "config", "validate"]);
/// assert_eq!(code, std::process::ExitCode::SUCCESS);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct App<'r> {
    registry: &'r Registry,
    signals: bool,
    panic_hook: bool,
    logging: bool,
}

impl<'r> App<'r> {
    /// The command over `registry`, with the signal handler, panic hook and log subscriber on.
    pub fn new(registry: &'r Registry) -> Self {
        App {
            registry,
            signals: true,
            panic_hook: true,
            logging: true,
        }
    }

    /// Whether a run handles Ctrl-C, SIGTERM and SIGHUP (default: yes).
    pub fn signals(mut self, on: bool) -> Self {
        self.signals = on;
        self
    }

    /// Whether a run sets its panic hook, which withholds text that may hold a secret (default:
    /// yes).
    pub fn panic_hook(mut self, on: bool) -> Self {
        self.panic_hook = on;
        self
    }

    /// Whether a run sets up its log subscriber on stderr (default: yes).
    pub fn logging(mut self, on: bool) -> Self {
        self.logging = on;
        self
    }

    /// Runs the command with the process's arguments and returns its exit code.
    pub fn run(self) -> ExitCode {
        self.run_from(std::env::args_os())
    }

    /// Runs the command with `args` (the first is the program's name) and returns its exit
    /// code.
    pub fn run_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        static TURN: Mutex<()> = Mutex::new(());
        // A run that panicked left nothing half-changed that the next one reads.
        let _turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        output::start(false);
        let cli = match Cli::try_parse_from(&args) {
            Ok(cli) => cli,
            Err(e) if !e.use_stderr() => {
                // --help and --version, on stdout.
                return match stdout_result(e.print()) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(failure) => exit(&failure),
                };
            }
            Err(e) => {
                output::start(args.iter().skip(1).any(|arg| arg == "--json"));
                let _ = e.print();
                return exit(&Failure::Usage(e));
            }
        };
        output::start(cli.json());
        if self.logging {
            init_logging(cli.verbose);
        }
        if self.signals
            && let Err(e) = signals::install()
        {
            return exit(&Failure::External(e.into()));
        }
        let previous_hook = self.panic_hook.then(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(panic_hook));
            previous
        });
        // Nothing the closure shares is looked at after a panic but to report it.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_command(self.registry, cli)
        }));
        if let Some(previous) = previous_hook {
            std::panic::set_hook(previous);
        }
        match result {
            Ok(Ok(())) => ExitCode::SUCCESS,
            Ok(Err(failure)) => exit(&failure),
            // The panic hook has printed the message.
            Err(_) => exit(&Failure::Internal),
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "stagecraft",
    version,
    about = "Sync secrets between env files, Encore dev secrets and secret stores"
)]
#[command(
    after_help = "Examples:\n  stagecraft secrets sync --dry-run\n  stagecraft --config deploy/stagecraft.yml secrets sync --keys DATABASE_URL,API_KEY\n  stagecraft secrets sync --provider envfile --from .env.local --to .env.staging\n  stagecraft config validate\n  stagecraft config schema --output stagecraft.schema.json\n  stagecraft secrets run --from vault:staging -- npm test\n\nExit codes: 0 success (also nothing to do), 1 invalid input or config, 2 a provider or external failure (also a failed write to stdout), 3 an internal error, 4 `secrets sync --check` found the target out of sync, 130 interrupted; `secrets run`: 126 COMMAND not executable, 127 not found, else COMMAND's own."
)]
struct Cli {
    /// The config file [default: $STAGECRAFT_CONFIG, else the nearest stagecraft.yml in the
    /// current directory or its parents]. Paths in it are relative to it.
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
    /// Sync secrets, run a program with them, and list the secrets providers.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Check stagecraft.yml (validate) and print its JSON Schema for editors (schema).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the shell completion script for SHELL.
    #[command(
        after_help = "Examples:\n  stagecraft completions bash > ~/.local/share/bash-completion/completions/stagecraft\n  stagecraft completions zsh > ~/.zfunc/_stagecraft   # with fpath+=(~/.zfunc) before compinit\n  stagecraft completions fish > ~/.config/fish/completions/stagecraft.fish\n  stagecraft completions powershell >> $PROFILE\n  stagecraft completions elvish >> ~/.config/elvish/rc.elv"
    )]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum SecretsCommand {
    /// Sync secrets from the source to the target with the configured provider.
    #[command(
        after_help = "Examples:\n  stagecraft secrets sync\n  stagecraft secrets sync --dry-run --prune\n  stagecraft secrets sync --keys DATABASE_URL,API_KEY --json\n  stagecraft secrets sync --check   # exit 4 when the target is out of sync\n  stagecraft secrets sync --provider envfile --from .env.local --to .env.staging   # no config file needed"
    )]
    Sync(SyncArgs),
    /// Run a program with the source's keys added to its environment; nothing is written.
    #[command(
        after_help = "Examples:\n  stagecraft secrets run -- ./server --port 8080\n  stagecraft secrets run --from vault:staging -- npm test\n  stagecraft secrets run --from .env.local --keys DATABASE_URL -- psql\n\nA variable already set in the environment keeps its value (--override gives the source's). Values are passed as written: `${VAR}` is expanded only with --expand.\nOn Unix stagecraft replaces itself with COMMAND: the exit code, signals and job control are COMMAND's. Exit 127: COMMAND not found; 126: not executable; 1 or 2: the source could not be read (COMMAND did not start)."
    )]
    Run(RunArgs),
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

#[derive(Debug, Args)]
struct RunArgs {
    /// The source: an env file, or `<provider>:<location>` such as `vault:staging` or
    /// `encore:local-overrides`; default: the configured provider's source.
    #[arg(long, value_name = "SOURCE")]
    from: Option<String>,
    /// Only these keys, comma-separated; a key the source lacks is an error.
    #[arg(long, value_name = "KEY,…", value_delimiter = ',')]
    keys: Vec<String>,
    /// Let the source's value replace a variable already set in the environment.
    #[arg(long = "override")]
    override_existing: bool,
    /// Expand `${VAR}` and `${VAR:-default}` in values (from the keys before it and the
    /// environment), as docker compose and `dotenv run` do.
    #[arg(long)]
    expand: bool,
    /// The program and its arguments.
    #[arg(
        value_name = "COMMAND",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<OsString>,
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
    /// `secrets run` could not build the environment (exit 1) or start the program (126, 127).
    Run(run::RunError),
    /// The program that `secrets run` ran as a child (not on Unix) exited with this code.
    #[cfg_attr(unix, allow(dead_code))]
    Exited(u8),
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
            Failure::Run(e) => e.exit_code().into(),
            Failure::Exited(code) => (*code).into(),
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
            Failure::Run(e) if e.exit_code() == 1 => "input",
            Failure::Run(_) | Failure::Exited(_) => "exec",
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
            Failure::Run(e) => vec![Box::from(e as &dyn std::error::Error)],
            Failure::Exited(_) => Vec::new(),
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

/// Prints a panic's message and where it happened, with the text that may hold a value withheld.
fn panic_hook(info: &std::panic::PanicHookInfo<'_>) {
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
            Command::Secrets(SecretsCommand::Run(_)) => false,
            Command::Config(_) | Command::Completions { .. } => false,
        }
    }
}

/// Logs on stderr at the level `-v` asks for, unless `RUST_LOG` says otherwise. The first run
/// sets the subscriber as the global default (unless the process has one: then its events go
/// there); later runs change its filter.
fn init_logging(verbose: u8) {
    type SetFilter = Box<dyn Fn(EnvFilter) + Send + Sync>;
    static SET_FILTER: OnceLock<Option<SetFilter>> = OnceLock::new();
    // The TLS verifier logs each untrusted certificate, at every retry; the vault provider
    // reports what matters itself.
    let default = match verbose {
        0 => "warn,rustls_platform_verifier=off",
        1 => "info,rustls_platform_verifier=off",
        2 => "debug,rustls_platform_verifier=off",
        _ => "trace",
    };
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let set_filter = SET_FILTER.get_or_init(|| {
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_filter_reloading();
        let handle = builder.reload_handle();
        builder.try_init().ok()?;
        Some(Box::new(move |filter| {
            let _ = handle.reload(filter);
        }))
    });
    if let Some(set_filter) = set_filter {
        set_filter(filter());
    }
}

fn run_command(registry: &Registry, cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Secrets(SecretsCommand::Providers { json }) => {
            stdout_result(output::providers(registry, json))
        }
        Command::Secrets(SecretsCommand::Sync(args)) => sync(registry, cli.config.as_deref(), args),
        Command::Secrets(SecretsCommand::Run(args)) => {
            run_program(registry, cli.config.as_deref(), args)
        }
        Command::Config(ConfigCommand::Validate) => {
            let path =
                config_path::find(cli.config.as_deref()).map_err(|e| Failure::Config(vec![e]))?;
            let config = Config::load(&path).map_err(|e| Failure::Config(vec![e]))?;
            let provider = config
                .secrets_provider(registry, None)
                .map_err(Failure::Config)?;
            for warning in config.warnings(registry) {
                output::print_warning(&warning);
            }
            let missing = config.local_errors(registry);
            if !missing.is_empty() {
                return Err(Failure::Config(missing));
            }
            stdout_result(output::line(&format!(
                "{} is valid: secrets provider {provider}",
                path.display()
            )))
        }
        Command::Config(ConfigCommand::Schema { output }) => schema(registry, output.as_deref()),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command(), "stagecraft", &mut script);
            stdout_result(output::document(&String::from_utf8_lossy(&script)))
        }
    }
}

/// The command line's definition, as clap builds it.
fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Prints (or writes to `output`) the JSON Schema of `stagecraft.yml` for the registry's providers.
fn schema(registry: &Registry, output: Option<&Path>) -> Result<(), Failure> {
    let schema = stagecraft_core::config_schema(registry);
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
    match config_path::find(config_path).and_then(|path| Config::load(&path)) {
        Ok(config) => Ok(Some(config)),
        Err(ConfigError::NotDiscovered { .. })
            if (args.provider.is_some() || args.from.is_some() || args.to.is_some()) =>
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
                    "missing {}: without a config file (no {} here or in a parent directory), --provider, --from and --to are all needed",
                    missing.join(" and "),
                    config_path::FILE_NAME
                )
                .into(),
            ))
        }
        Err(e) => Err(Failure::Config(vec![e])),
    }
}

fn sync(registry: &Registry, config_path: Option<&Path>, args: SyncArgs) -> Result<(), Failure> {
    check_flags(&args)?;
    let config = load_config(config_path, &args)?;
    let id = match &config {
        Some(config) => config
            .secrets_provider(registry, args.provider.as_deref())
            .map_err(Failure::Config)?,
        None => args.provider.clone().unwrap_or_default(),
    };
    let provider = registry.get(&id).map_err(|e| Failure::Input(e.into()))?;
    let dry_run = args.dry_run || args.check;
    let provider_config = config.as_ref().map(|c| c.provider_config(&id));
    let mut opts = SyncOptions::new(provider_config.unwrap_or_default())
        .keys(args.keys)
        .dry_run(dry_run)
        .prune(args.prune)
        .progress(!args.json && std::io::stderr().is_terminal());
    opts.target = args.to;
    // Another provider's source is read with its own section and handed over as keys.
    match args
        .from
        .as_deref()
        .and_then(|from| foreign_source(registry, from, &id))
    {
        Some((reader, location)) => {
            let section = config.as_ref().map(|c| c.provider_config(reader));
            let read = ReadOptions::new(section.unwrap_or_default()).location(location);
            opts.secrets = Some(block_on(read_source(registry, reader, read))??);
        }
        None => opts.source = args.from,
    }
    tracing::info!(
        provider = id,
        dry_run,
        prune = args.prune,
        "syncing secrets"
    );
    let (report, outcome) = match block_on(provider.sync(opts))? {
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

/// Runs a provider's future to completion on a runtime of the calling thread.
fn block_on<T>(future: impl std::future::Future<Output = T>) -> Result<T, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::External(e.into()))?;
    Ok(runtime.block_on(future))
}

/// A source `<id>:<location>` whose `<id>` is a provider of the registry that can be read from,
/// other than `own` (which reads its own prefix itself, as `vault:staging` to `vault:prod`):
/// the provider's ID and the location. Anything else is a path.
fn foreign_source<'a>(registry: &Registry, from: &'a str, own: &str) -> Option<(&'a str, &'a str)> {
    let (id, location) = from.split_once(':')?;
    let readable = id != own && registry.has(id) && registry.get(id).ok()?.source().is_some();
    readable.then_some((id, location))
}

/// Reads the provider `id`'s source.
async fn read_source(registry: &Registry, id: &str, opts: ReadOptions) -> Result<Secrets, Failure> {
    let provider = registry.get(id).map_err(|e| Failure::Input(e.into()))?;
    let source = provider.source().ok_or_else(|| {
        let error = match &opts.location {
            Some(_) => format!("{id}: this provider cannot be read from (`stagecraft secrets providers` lists the sources); for a file of that name write ./{id}:…"),
            None => format!("the configured provider {id} cannot be read from: pass --from"),
        };
        Failure::Input(error.into())
    })?;
    tracing::info!(provider = id, location = opts.location, "reading secrets");
    Ok(source.read(opts).await?)
}

/// `secrets run`: reads the source, builds the environment, and replaces the process with the
/// program (on Unix; elsewhere runs it and returns its exit code).
fn run_program(
    registry: &Registry,
    config_path: Option<&Path>,
    args: RunArgs,
) -> Result<(), Failure> {
    if args.from.as_deref().is_some_and(|v| v.trim().is_empty()) {
        return Err(Failure::Input("--from is empty".into()));
    }
    if args.keys.iter().any(|k| k.trim().is_empty()) {
        return Err(Failure::Input("--keys has an empty key name".into()));
    }
    // A config file is needed only for the configured source or a provider's settings.
    let config = match config_path::find(config_path).and_then(|path| Config::load(&path)) {
        Ok(config) => Some(config),
        Err(ConfigError::NotDiscovered { .. }) if args.from.is_some() => None,
        Err(e) => return Err(Failure::Config(vec![e])),
    };
    let section = |id: &str| {
        config
            .as_ref()
            .map(|c| c.provider_config(id))
            .unwrap_or_default()
    };
    let secrets = match (&args.from, &config) {
        (Some(from), _) => match from.split_once(':') {
            Some((id, location)) if registry.has(id) => {
                let read = ReadOptions::new(section(id)).location(location);
                block_on(read_source(registry, id, read))??
            }
            // A plain path is an env file.
            _ => stagecraft_providers::envfile::read_file(Path::new(from))
                .map_err(|e| Failure::from(SyncError::from(e)))?,
        },
        (None, Some(config)) => {
            let id = config
                .secrets_provider(registry, None)
                .map_err(Failure::Config)?;
            block_on(read_source(registry, &id, ReadOptions::new(section(&id))))??
        }
        (None, None) => unreachable!("a missing config file without --from is an error above"),
    };
    let rules = run::EnvRules {
        override_existing: args.override_existing,
        expand: args.expand,
    };
    let variables = run::environment(secrets, &args.keys, rules, |key| std::env::var_os(key))
        .map_err(Failure::Run)?;
    tracing::info!(variables = variables.len(), "starting the program");
    // A signal from here on ends stagecraft as before (130), or reaches the program once it
    // has replaced stagecraft: the handlers do not survive `exec`.
    match run::exec(&args.command, variables).map_err(Failure::Run)? {
        0 => Ok(()),
        code => Err(Failure::Exited(code)),
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
