//! `vault`: syncs env files with HashiCorp Vault or OpenBao (KV version 2).
//!
//! ```yaml
//! secrets:
//!   provider: vault
//!   providers:
//!     vault:
//!       address:                      # default: $VAULT_ADDR; several for failover
//!         - https://vault-1.internal:8200
//!         - https://vault-2.internal:8200
//!       mount: secret                 # the KV v2 mount (default `secret`)
//!       path: myapp                   # each environment is the secret <mount>/data/myapp/<env>
//!       # The token: `token_env: NAME` (a variable), `token_file: PATH`, or by default
//!       # $VAULT_TOKEN, then ~/.vault-token (where `bao login` / `vault login` leave it).
//!       # Or AppRole instead of a token:
//!       # role_id: 4f1c…
//!       # secret_id_env: VAULT_SECRET_ID
//!       # approle_mount: approle
//!       namespace: team-a             # optional; default $VAULT_NAMESPACE
//!       ca_file: /etc/ssl/vault-ca.pem  # optional, relative to stagecraft.yml; default $VAULT_CACERT
//!       timeout: 10s                  # the whole operation's time limit (default 10s; or 2m, 12)
//!       source: .env.local            # optional defaults for --from and --to
//!       target: vault:staging
//! ```
//!
//! A source or target is an env file or `vault:<environment>`: `--from .env.local --to
//! vault:staging` pushes, `--from vault:staging --to .env.staging` pulls (the env file is updated
//! with the `envfile` provider's rules), `--from vault:staging --to vault:prod` copies.
//!
//! Each environment is one KV v2 secret whose fields are the keys, so a sync changes every key
//! in one write. The write is a check-and-set on the version read when the plan was made: a
//! concurrent writer fails the sync ("changed since planned") with nothing written. A sync that
//! changes no value writes nothing (no new version). When the answer to the write is lost, the
//! secret is read again: the write counts as done when the next version holds what was
//! written, and is tried again (on the next server) while the version is unchanged; when that
//! read fails too, the error says the write may have been applied and which version to check.
//! The mount is checked to be KV version 2 before anything is read or written, and reads are
//! forwarded to the active node of an OpenBao cluster (see `client.rs`).
//!
//! A key without `=` in a source env file has no value: it is not synced, the target keeps its
//! value (also with `--prune`), and a warning names its line, as with the `envfile` provider.
//!
//! Fields that are not valid env names (`[A-Za-z_][A-Za-z0-9_]*`) or hold no string are skipped
//! when pulling into an env file, and reported as skipped.

mod client;

pub use client::{Attempt, Reason};

use crate::envfile;
use crate::fs::{self, FsError};
use crate::keys::{self, Order};
use client::{Secret, Servers, Settings};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use stagecraft_core::{
    Action, ConfigError, ConfigWarning, Location, ProviderConfig, ReadOptions, Secrets,
    SecretsProvider, SecretsSource, SyncError, SyncOptions, SyncReport, interrupt,
    secrets_provider,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Syncs env files with HashiCorp Vault or OpenBao (KV v2), one secret per environment.
#[secrets_provider("vault", settings = Options, source)]
#[derive(Debug)]
pub struct Vault;

/// The provider's section of `stagecraft.yml`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The server's URL, or a list of the cluster's servers to fail over between; `$VAULT_ADDR`
    /// when unset.
    #[serde(default, deserialize_with = "addresses")]
    #[schemars(schema_with = "addresses_schema")]
    address: Option<Vec<String>>,
    /// The KV v2 secrets engine's mount.
    #[serde(default = "default_mount", deserialize_with = "secret_path")]
    #[schemars(schema_with = "secret_path_schema")]
    mount: String,
    /// The path under the mount; environment `staging` is the secret `<path>/staging`.
    #[serde(default, deserialize_with = "secret_path")]
    #[schemars(schema_with = "secret_path_schema")]
    path: String,
    /// The environment variable that holds the token (never the token itself); by default
    /// `VAULT_TOKEN`, then the file `~/.vault-token`.
    token_env: Option<String>,
    /// A file that holds the token, relative to `stagecraft.yml`.
    token_file: Option<PathBuf>,
    /// The AppRole role ID, to log in with AppRole instead of a token.
    role_id: Option<String>,
    /// The environment variable that holds the AppRole secret ID.
    secret_id_env: Option<String>,
    /// The mount of the AppRole auth method.
    #[serde(default = "default_approle_mount")]
    approle_mount: String,
    /// The namespace (Vault Enterprise, OpenBao); `$VAULT_NAMESPACE` when unset.
    namespace: Option<String>,
    /// A PEM file of the CA certificates to trust for `https` servers (instead of the
    /// system's); `$VAULT_CACERT` when unset.
    ca_file: Option<PathBuf>,
    /// The time limit of the whole sync, all requests and retries included: seconds (`10`, the
    /// default) or `500ms`, `10s`, `2m`.
    #[serde(default, deserialize_with = "crate::duration::timeout")]
    #[schemars(schema_with = "crate::duration::timeout_schema")]
    timeout: Option<Duration>,
    /// The default source (an env file or `vault:<environment>`), overridden by `--from`.
    source: Option<String>,
    /// The default target, overridden by `--to`.
    target: Option<String>,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_TOKEN_ENV: &str = "VAULT_TOKEN";
/// Where `bao login` and `vault login` leave the token, under the home directory.
const TOKEN_HELPER_FILE: &str = ".vault-token";

fn default_mount() -> String {
    "secret".to_owned()
}

fn default_approle_mount() -> String {
    "approle".to_owned()
}

/// What [`addresses`] reads.
fn addresses_schema(generator: &mut SchemaGenerator) -> Schema {
    let _ = generator;
    let url = json_schema!({ "type": "string", "pattern": "^https?://" });
    json_schema!({
        "anyOf": [url, { "type": "array", "minItems": 1, "items": url }],
    })
}

/// What [`secret_path`] reads.
fn secret_path_schema(generator: &mut SchemaGenerator) -> Schema {
    let _ = generator;
    json_schema!({
        "type": "string",
        "pattern": "^/*((?!\\.\\.?(/|$))[A-Za-z0-9._-]+(/(?=[^/])|/*$))*$",
    })
}

/// One URL or a list of them, each `http://` or `https://`.
fn addresses<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let addresses = match OneOrMany::deserialize(de)
        .map_err(|_| serde::de::Error::custom("expected a URL or a list of URLs"))?
    {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    };
    check_addresses(&addresses).map_err(serde::de::Error::custom)?;
    Ok(Some(addresses))
}

/// A path of names (`team/myapp`): no empty, `.` or `..` segment, which the URL would resolve.
fn secret_path<'de, D: Deserializer<'de>>(de: D) -> Result<String, D::Error> {
    let path = String::deserialize(de)?;
    let trimmed = path.trim_matches('/');
    if !trimmed.is_empty() && !trimmed.split('/').all(is_name) {
        return Err(serde::de::Error::custom(
            "expected names of letters, digits, `.`, `_` and `-` separated by `/`",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A path segment or environment name that a URL keeps as it is.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn check_addresses(addresses: &[String]) -> Result<(), String> {
    if addresses.is_empty() {
        return Err("expected at least one address".into());
    }
    for (index, address) in addresses.iter().enumerate() {
        // The address is not quoted: a mistyped one may still hold a password.
        let which = match addresses.len() {
            1 => "the address".to_owned(),
            _ => format!("address {} of {}", index + 1, addresses.len()),
        };
        match url::Url::parse(address) {
            // Vault takes a token, not a password; one in the URL would be shown in errors.
            Ok(url) if !url.username().is_empty() || url.password().is_some() => {
                return Err(format!("{which} must not hold a user name or password"));
            }
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {}
            _ => return Err(format!("{which} is not an http:// or https:// URL")),
        }
    }
    Ok(())
}

/// Why a vault sync failed. Never holds a secret's value or a token.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No address in the config and `$VAULT_ADDR` unset.
    #[error("no vault address: set `{setting}` in stagecraft.yml or VAULT_ADDR")]
    NoAddress {
        /// The YAML path of the setting.
        setting: String,
    },
    /// An address is not a URL.
    #[error("vault address {address:?} is not an http:// or https:// URL")]
    BadAddress {
        /// The address.
        address: String,
    },
    /// A Vault CLI variable holds what the setting it stands in for cannot.
    #[error("environment variable {var}: expected {expected}")]
    BadVaultEnv {
        /// The variable.
        var: &'static str,
        /// What it should hold.
        expected: &'static str,
    },
    /// `$VAULT_ADDR` is not a list of URLs.
    #[error("VAULT_ADDR: {message}")]
    BadVaultAddr {
        /// What is wrong, without the variable's value (it may hold a password).
        message: String,
    },
    /// The CA file cannot be read or holds no certificate.
    #[error("cannot read CA certificates from {path}")]
    CaFile {
        /// The file.
        path: String,
    },
    /// No token from any source.
    #[error(
        "no vault token: environment variable {DEFAULT_TOKEN_ENV} is not set and there is no ~/{TOKEN_HELPER_FILE} (`bao login` writes it); or set `token_env` or `token_file` in stagecraft.yml"
    )]
    NoToken,
    /// The token file cannot be read (only a regular file is read: not a FIFO, say).
    #[error("cannot read the vault token")]
    TokenFile(#[source] FsError),
    /// The token file holds what cannot be a token.
    #[error(
        "{path} holds a character that cannot be in a vault token (only visible ASCII on one line)"
    )]
    BadTokenFile {
        /// The file.
        path: String,
    },
    /// The variable that should hold a credential is unset or empty.
    #[error("environment variable {var} is not set; it must hold the vault {what}")]
    MissingCredential {
        /// The variable.
        var: String,
        /// `token` or `AppRole secret ID`.
        what: &'static str,
    },
    /// The variable holds a character a credential cannot have (such as a pasted newline).
    #[error(
        "environment variable {var} holds a character that cannot be a vault {what} (only visible ASCII; a trailing newline?)"
    )]
    BadCredential {
        /// The variable.
        var: String,
        /// `token` or `AppRole secret ID`.
        what: &'static str,
    },
    /// Both a token and AppRole, or half of AppRole, are configured.
    #[error("{message}")]
    Auth {
        /// What is wrong.
        message: String,
    },
    /// No source or target.
    #[error("no {role}: set `{setting}` in stagecraft.yml or pass {flag}")]
    MissingLocation {
        /// `source` or `target`.
        role: &'static str,
        /// The YAML path of the setting.
        setting: String,
        /// The flag.
        flag: &'static str,
    },
    /// Neither side is `vault:<environment>`.
    #[error(
        "neither {source_name} nor {target} is a vault environment; write one as vault:<environment>, such as vault:staging"
    )]
    NoVaultSide {
        /// The source given.
        source_name: String,
        /// The target given.
        target: String,
    },
    /// `vault:` is followed by something that is not an environment name.
    #[error(
        "{location:?} is not a vault environment: expected vault:<name> with a name of letters, digits, `.`, `_` and `-`"
    )]
    BadEnvironment {
        /// The location given.
        location: String,
    },
    /// The source and the target are the same secret.
    #[error("{location} is both the source and the target")]
    SameLocation {
        /// The location.
        location: String,
    },
    /// An env file could not be read or written.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// An env file cannot be parsed.
    #[error("{}:{line}: {error}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line.
        line: usize,
        /// What is wrong.
        error: envfile::ParseError,
    },
    /// The pull into an env file failed.
    #[error(transparent)]
    EnvFile(#[from] envfile::Error),
    /// The source environment has no secret to read.
    #[error(
        "{source_name} does not exist: the secret {secret} has no current version (never written, or its latest version deleted)"
    )]
    NoSource {
        /// The source.
        source_name: String,
        /// The secret's mount and path.
        secret: String,
    },
    /// Keys asked for are not in the source.
    #[error("{source_name} does not define {}", keys.join(", "))]
    MissingKeys {
        /// The source.
        source_name: String,
        /// The keys it lacks.
        keys: Vec<String>,
    },
    /// Keys asked for cannot be written to an env file.
    #[error("{source_name}: {} cannot be written to an env file (not a valid env name, or not a string)", keys.join(", "))]
    UnwritableKeys {
        /// The source.
        source_name: String,
        /// The keys.
        keys: Vec<String>,
    },
    /// A server refused the request for good.
    #[error("vault at {0}")]
    Server(Attempt),
    /// The mount is a KV version 1 engine.
    #[error(
        "the mount {mount} is a KV version 1 secrets engine; this provider writes KV version 2 (versions, check-and-set): upgrade it (`bao kv enable-versioning {mount}`) or name a KV v2 mount in `mount`"
    )]
    KvVersion1 {
        /// The mount.
        mount: String,
    },
    /// The mount is not a KV engine.
    #[error(
        "the mount {mount} is a {engine:?} secrets engine, not KV version 2; name a KV v2 mount in `mount`"
    )]
    NotKv {
        /// The mount.
        mount: String,
        /// Its type.
        engine: String,
    },
    /// `mount` names a path inside another mount.
    #[error("{mount} is not a mount but a path inside the KV mount {found}: set `mount: {found}`")]
    NotMountPath {
        /// The mount setting.
        mount: String,
        /// The mount that holds it.
        found: String,
    },
    /// The secret has more fields than the servers take in one request.
    #[error(
        "{} refused the write of {keys} keys ({strings} JSON strings): {}. {}",
        list_addresses(attempts),
        list_reasons(attempts),
        too_many_keys_advice(standbys)
    )]
    TooManyKeys {
        /// The number of keys sent.
        keys: usize,
        /// The number of JSON strings in the request.
        strings: usize,
        /// Each server's refusal.
        attempts: Vec<Attempt>,
        /// The servers among them that are standbys.
        standbys: Vec<String>,
    },
    /// The answer to the write was lost and the read that would tell what happened failed.
    #[error(
        "the write to {secret} may have been applied: its answer was lost ({lost}) and reading the secret again to find out failed; check whether version {version} holds this sync's keys (`bao kv get -version={version} {secret}`) before running it again"
    )]
    MayHaveBeenApplied {
        /// The secret's data path.
        secret: String,
        /// The version the write would have made.
        version: u64,
        /// The attempt whose answer was lost.
        lost: Attempt,
        /// Why the read failed.
        #[source]
        settling: Box<Error>,
    },
    /// No server answered within the timeout.
    #[error(
        "no vault server served the request within `timeout` ({timeout:?}): {}",
        list(attempts)
    )]
    Unavailable {
        /// The operation's time budget.
        timeout: Duration,
        /// The last failure of each server.
        attempts: Vec<Attempt>,
    },
    /// The secret changed between the plan and the write.
    #[error(
        "the secret changed since planned (version {planned} when read, now {current}); nothing was written, run the sync again"
    )]
    ChangedSincePlanned {
        /// The version the plan was made on.
        planned: u64,
        /// The version found at the write.
        current: u64,
    },
    /// Interrupted while the write was tried again; the secret is as it was.
    #[error("interrupted; nothing was written")]
    Interrupted,
}

fn list_addresses(attempts: &[Attempt]) -> String {
    attempts
        .iter()
        .map(|a| format!("vault at {}", a.address))
        .collect::<Vec<_>>()
        .join(" and ")
}

fn too_many_keys_advice(standbys: &[String]) -> String {
    if standbys.is_empty() {
        "An OpenBao listener takes 1,000 JSON strings in a request by default (about 490 keys): raise `max_request_json_strings` (and `max_request_size` for the bytes) in the listener config of every node".into()
    } else {
        format!(
            "{} is a standby, which forwards a write to the active node under OpenBao's default limit (1,000 JSON strings, about 490 keys) whatever its own listener says, so raising the limit there cannot help: add the active node's address to `address` (`bao status` shows which node is active), its listener's `max_request_json_strings` raised",
            standbys.join(" and ")
        )
    }
}

fn list_reasons(attempts: &[Attempt]) -> String {
    let mut reasons: Vec<String> = attempts.iter().map(|a| a.reason.to_string()).collect();
    reasons.dedup();
    reasons.join("; ")
}

fn list(attempts: &[Attempt]) -> String {
    attempts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<Error> for SyncError {
    fn from(error: Error) -> Self {
        if let Error::EnvFile(error) = error {
            return error.into();
        }
        let external = match &error {
            Error::Server(_)
            | Error::Unavailable { .. }
            | Error::ChangedSincePlanned { .. }
            | Error::Interrupted
            | Error::KvVersion1 { .. }
            | Error::NotKv { .. }
            | Error::NotMountPath { .. }
            | Error::TooManyKeys { .. }
            | Error::MayHaveBeenApplied { .. } => true,
            Error::TokenFile(fs) => !fs.is_input(),
            Error::Fs(fs) => !fs.is_input(),
            _ => false,
        };
        if external {
            SyncError::external(error)
        } else {
            SyncError::input(error)
        }
    }
}

/// An env file or an environment in Vault, or (as a source only) keys another provider read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    File(PathBuf),
    Vault(String),
    Read(String),
}

impl Place {
    fn parse(given: &str, base: &Path, from_config: bool) -> Result<Place, Error> {
        let Some(environment) = given.strip_prefix("vault:") else {
            let path = PathBuf::from(given);
            return Ok(Place::File(if from_config {
                base.join(path)
            } else {
                path
            }));
        };
        if !is_name(environment) {
            return Err(Error::BadEnvironment {
                location: given.to_owned(),
            });
        }
        Ok(Place::Vault(environment.to_owned()))
    }

    fn label(&self) -> String {
        match self {
            Place::File(path) => path.display().to_string(),
            Place::Vault(environment) => format!("vault:{environment}"),
            Place::Read(source) => source.clone(),
        }
    }
}

/// The checked settings of a sync.
struct Plan {
    options: Options,
    addresses: Vec<String>,
    ca_file: Option<PathBuf>,
    token_file: Option<PathBuf>,
    namespace: Option<String>,
}

fn setting(section: &str, field: &str) -> String {
    if section.is_empty() {
        field.to_owned()
    } else {
        format!("{section}.{field}")
    }
}

fn config_error(config: &ProviderConfig, field: &str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        file: config.origin().map(Path::to_owned),
        location: Location::default(),
        path: setting(&config.yaml_path(), field),
        message: message.to_owned(),
    }
}

/// Checks what `Options` alone cannot: that the auth settings fit together, and that the
/// namespace can be sent (as a header).
fn check_settings(config: &ProviderConfig, options: &Options) -> Result<(), ConfigError> {
    if let Some(namespace) = &options.namespace
        && !namespace.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(config_error(
            config,
            "namespace",
            "expected a namespace of visible ASCII characters, without spaces",
        ));
    }
    match (&options.role_id, &options.secret_id_env) {
        (Some(_), None) => Err(config_error(
            config,
            "secret_id_env",
            "AppRole needs `secret_id_env` (the variable that holds the secret ID) with `role_id`",
        )),
        (None, Some(_)) => Err(config_error(
            config,
            "role_id",
            "AppRole needs `role_id` with `secret_id_env`",
        )),
        (Some(_), Some(_)) if options.token_env.is_some() || options.token_file.is_some() => {
            Err(config_error(
                config,
                if options.token_env.is_some() {
                    "token_env"
                } else {
                    "token_file"
                },
                "set either a token (`token_env`, `token_file`) or AppRole (`role_id`, `secret_id_env`), not both",
            ))
        }
        _ if options.token_env.is_some() && options.token_file.is_some() => Err(config_error(
            config,
            "token_file",
            "set either `token_env` or `token_file`, not both",
        )),
        _ => Ok(()),
    }
}

fn plan(config: &ProviderConfig) -> Result<(Plan, PathBuf), SyncError> {
    let options: Options = config.decode()?;
    check_settings(config, &options)?;
    let section = config.yaml_path();
    let base = config
        .origin()
        .and_then(Path::parent)
        .unwrap_or(Path::new(""))
        .to_owned();
    let addresses = match &options.address {
        Some(addresses) => addresses.clone(),
        None => {
            let from_env = std::env::var("VAULT_ADDR").unwrap_or_default();
            if from_env.trim().is_empty() {
                return Err(Error::NoAddress {
                    setting: setting(&section, "address"),
                }
                .into());
            }
            let addresses: Vec<String> = from_env.split(',').map(|a| a.trim().to_owned()).collect();
            if let Err(message) = check_addresses(&addresses) {
                return Err(Error::BadVaultAddr { message }.into());
            }
            addresses
        }
    };
    // The Vault CLI's variables stand in for the settings; relative paths in them are the
    // shell's, relative to the current directory.
    let ca_file = match &options.ca_file {
        Some(file) => Some(base.join(file)),
        None => env_var("VAULT_CACERT").map(PathBuf::from),
    };
    let namespace = match &options.namespace {
        Some(namespace) => Some(namespace.clone()),
        None => match env_var("VAULT_NAMESPACE") {
            Some(namespace) if !namespace.bytes().all(|b| b.is_ascii_graphic()) => {
                return Err(Error::BadVaultEnv {
                    var: "VAULT_NAMESPACE",
                    expected: "a namespace of visible ASCII characters, without spaces",
                }
                .into());
            }
            namespace => namespace,
        },
    };
    let token_file = options.token_file.as_ref().map(|f| base.join(f));
    let plan = Plan {
        options,
        addresses,
        ca_file,
        token_file,
        namespace,
    };
    Ok((plan, base))
}

/// The source and target of a sync: the given ones, else the configured ones. A source read by
/// another provider (`opts.secrets`) is named as that provider names it.
fn places(opts: &SyncOptions, plan: &Plan, base: &Path) -> Result<(Place, Place), Error> {
    let section = opts.config.yaml_path();
    let options = &plan.options;
    let place = |given: &Option<String>, configured: &Option<String>, role, field, flag| match (
        given, configured,
    ) {
        (Some(given), _) => Place::parse(given, base, false),
        (None, Some(configured)) => Place::parse(configured, base, true),
        (None, None) => Err(Error::MissingLocation {
            role,
            setting: setting(&section, field),
            flag,
        }),
    };
    let source = match &opts.secrets {
        Some(secrets) => Place::Read(secrets.source.clone()),
        None => place(&opts.source, &options.source, "source", "source", "--from")?,
    };
    let target = place(&opts.target, &options.target, "target", "target", "--to")?;
    if let (Place::File(_) | Place::Read(_), Place::File(_)) = (&source, &target) {
        return Err(Error::NoVaultSide {
            source_name: source.label(),
            target: target.label(),
        });
    }
    if source == target {
        return Err(Error::SameLocation {
            location: source.label(),
        });
    }
    Ok((source, target))
}

/// An environment variable's value, `None` when unset or empty (as the Vault CLI reads them).
fn env_var(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

/// Whether the client can send `value` as a header: visible ASCII only.
fn is_header_safe(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic())
}

/// The token in `path`, without the line end a `bao login` or an editor leaves.
fn token_from_file(path: &Path) -> Result<String, Error> {
    let text = fs::read_text(path).map_err(Error::TokenFile)?;
    let token = text.trim_end_matches(['\n', '\r']);
    if is_header_safe(token) {
        Ok(token.to_owned())
    } else {
        Err(Error::BadTokenFile {
            path: path.display().to_string(),
        })
    }
}

fn credential(var: &str, what: &'static str) -> Result<String, Error> {
    match std::env::var(var) {
        // The client sends the token as a header.
        Ok(value) if is_header_safe(&value) => Ok(value),
        Ok(value) if !value.is_empty() => Err(Error::BadCredential {
            var: var.to_owned(),
            what,
        }),
        _ => Err(Error::MissingCredential {
            var: var.to_owned(),
            what,
        }),
    }
}

impl Plan {
    /// The secret's path under the mount for an environment.
    fn secret_path(&self, environment: &str) -> String {
        let path = &self.options.path;
        if path.is_empty() {
            environment.to_owned()
        } else {
            format!("{path}/{environment}")
        }
    }

    async fn connect(&self) -> Result<Servers, Error> {
        let options = &self.options;
        let approle = options
            .role_id
            .as_deref()
            .zip(options.secret_id_env.as_deref());
        let token = match approle {
            Some(_) => None,
            None => Some(self.token()?),
        };
        let mut servers = Servers::new(Settings {
            addresses: &self.addresses,
            token,
            namespace: self.namespace.as_deref(),
            ca_file: self.ca_file.as_deref(),
            timeout: options.timeout.unwrap_or(DEFAULT_TIMEOUT),
        })?;
        if let Some((role_id, secret_id_env)) = approle {
            let secret_id = credential(secret_id_env, "AppRole secret ID")?;
            servers
                .login_approle(&options.approle_mount, role_id, &secret_id)
                .await?;
        }
        Ok(servers)
    }

    /// The token, from the first of: `token_env`, `token_file`, `$VAULT_TOKEN`, `~/.vault-token`.
    fn token(&self) -> Result<String, Error> {
        if let Some(var) = &self.options.token_env {
            return credential(var, "token");
        }
        if let Some(file) = &self.token_file {
            return token_from_file(file);
        }
        if std::env::var_os(DEFAULT_TOKEN_ENV).is_some_and(|v| !v.is_empty()) {
            return credential(DEFAULT_TOKEN_ENV, "token");
        }
        match std::env::var_os("HOME").filter(|home| !home.is_empty()) {
            Some(home) => match token_from_file(&Path::new(&home).join(TOKEN_HELPER_FILE)) {
                Err(Error::TokenFile(FsError::NotFound { .. })) => Err(Error::NoToken),
                found => found,
            },
            None => Err(Error::NoToken),
        }
    }

    async fn read(&self, servers: &Servers, environment: &str) -> Result<Secret, Error> {
        let path = self.secret_path(environment);
        let secret = servers.read(&self.options.mount, &path).await?;
        tracing::debug!(
            mount = self.options.mount,
            path,
            version = secret.version,
            fields = secret.fields.len(),
            "read vault secret"
        );
        Ok(secret)
    }
}

impl SecretsProvider for Vault {
    async fn sync(&self, mut opts: SyncOptions) -> Result<SyncReport, SyncError> {
        let (plan, base) = plan(&opts.config)?;
        let (source_place, target_place) = places(&opts, &plan, &base)?;
        // Read env files before any request, so that a bad file fails fast.
        let mut valueless = Vec::new();
        let pushed = match (&source_place, opts.secrets.take()) {
            (Place::File(path), _) => Some(read_env_file(path, &mut valueless)?),
            (Place::Read(_), Some(secrets)) => {
                valueless = secrets.valueless.clone();
                Some(secrets.into_entries())
            }
            _ => None,
        };
        if let Place::File(path) = &target_place {
            fs::check_writable(path).map_err(Error::from)?;
        }
        let servers = plan.connect().await?;
        // Before anything is read or written: a KV version 1 mount would take a KV v2 write
        // as a secret of its own.
        for place in [&source_place, &target_place] {
            if let Place::Vault(environment) = place {
                let path = plan.secret_path(environment);
                servers.check_mount(&plan.options.mount, &path).await?;
            }
        }
        let source_label = source_place.label();
        let source: Vec<(String, Value)> = match (&source_place, pushed) {
            (_, Some(pushed)) => pushed
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
            (Place::Vault(environment), None) => {
                let secret = plan.read(&servers, environment).await?;
                // Read as empty, a mistyped source would make `--prune` empty the target.
                if !secret.found {
                    return Err(Error::NoSource {
                        source_name: source_label,
                        secret: format!("{}/{}", plan.options.mount, plan.secret_path(environment)),
                    }
                    .into());
                }
                secret.fields.into_iter().collect()
            }
            (Place::File(_) | Place::Read(_), None) => unreachable!("the source was read above"),
        };
        let report = match &target_place {
            Place::File(path) => pull(&source_label, source, path, &opts)?,
            Place::Vault(environment) => {
                // `--prune` removes what the source lacks, not what `--keys` left out nor a key
                // the source leaves valueless (as envfile).
                let mentioned: foldhash::HashSet<String> = source
                    .iter()
                    .map(|(key, _)| key.clone())
                    .chain(valueless)
                    .collect();
                let source = select(&source_label, source, &opts.keys)?;
                let to = (environment.as_str(), &mentioned);
                push(&plan, &servers, &source_label, source, to, &opts).await?
            }
            Place::Read(_) => unreachable!("a target is never read by another provider"),
        };
        Ok(report)
    }

    fn check_config(&self, config: &ProviderConfig) -> Result<(), ConfigError> {
        let options = config.decode::<Options>()?;
        check_settings(config, &options)
    }

    /// What a sync would miss on this machine: the token, the address, the CA file. Warnings,
    /// since they belong to the machine that syncs, not to the project.
    fn config_warnings(&self, config: &ProviderConfig) -> Vec<ConfigWarning> {
        let Ok(options) = config.decode::<Options>() else {
            return Vec::new();
        };
        let unset = |var: &str| std::env::var_os(var).is_none_or(|value| value.is_empty());
        let missing = |file: &Path| matches!(std::fs::metadata(config.resolve(file)), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
        let mut warnings = Vec::new();
        let mut warn = |field: Option<&str>, message: &str| {
            warnings.push(match field {
                Some(field) => config.field_warning(field, message),
                None => config.warning(message),
            });
        };
        match &options {
            Options {
                secret_id_env: Some(var),
                ..
            } if unset(var) => warn(
                Some("secret_id_env"),
                "the variable it names is not set here",
            ),
            Options {
                role_id: Some(_), ..
            } => {}
            Options {
                token_env: Some(var),
                ..
            } if unset(var) => warn(Some("token_env"), "the variable it names is not set here"),
            Options {
                token_file: Some(file),
                ..
            } if missing(file) => warn(Some("token_file"), "the file does not exist here"),
            Options {
                token_env: None,
                token_file: None,
                ..
            } if unset(DEFAULT_TOKEN_ENV)
                && std::env::var_os("HOME")
                    .is_none_or(|home| missing(&Path::new(&home).join(TOKEN_HELPER_FILE))) =>
            {
                warn(
                    None,
                    "no token here: VAULT_TOKEN is not set and there is no ~/.vault-token (`bao login` writes it)",
                )
            }
            _ => {}
        }
        if options.address.is_none() && unset("VAULT_ADDR") {
            warn(None, "no `address`, and VAULT_ADDR is not set here");
        }
        if options.ca_file.as_deref().is_some_and(missing) {
            warn(Some("ca_file"), "the file does not exist here");
        }
        warnings
    }
}

impl SecretsSource for Vault {
    /// Reads the environment `location` (`staging` in `vault:staging`), or the configured
    /// `source` (an env file or `vault:<environment>`). Fields that hold no string are left out,
    /// each with a warning naming it.
    async fn read(&self, opts: ReadOptions) -> Result<Secrets, SyncError> {
        let (plan, base) = plan(&opts.config)?;
        let place = match (&opts.location, &plan.options.source) {
            (Some(environment), _) => Place::parse(&format!("vault:{environment}"), &base, false)?,
            (None, Some(configured)) => Place::parse(configured, &base, true)?,
            (None, None) => Err(Error::MissingLocation {
                role: "source",
                setting: setting(&opts.config.yaml_path(), "source"),
                flag: "--from",
            })?,
        };
        let environment = match place {
            Place::Vault(environment) => environment,
            Place::File(path) => return Ok(envfile::read_file(&path).map_err(Error::from)?),
            Place::Read(_) => unreachable!("a place parsed from text is a file or an environment"),
        };
        let label = format!("vault:{environment}");
        let servers = plan.connect().await?;
        let path = plan.secret_path(&environment);
        servers.check_mount(&plan.options.mount, &path).await?;
        let secret = plan.read(&servers, &environment).await?;
        if !secret.found {
            return Err(Error::NoSource {
                source_name: label,
                secret: format!("{}/{path}", plan.options.mount),
            }
            .into());
        }
        let mut secrets = Secrets::new(&label);
        for (key, value) in secret.fields {
            match value {
                Value::String(value) => secrets.push(key, value),
                _ => tracing::warn!(source = label, key, "field skipped: not a string"),
            }
        }
        Ok(secrets)
    }
}

/// The keys and values of an env file; its valueless keys (a key without `=`: not synced, the
/// target's value kept) are added to `valueless`, each with a warning naming its line.
fn read_env_file(path: &Path, valueless: &mut Vec<String>) -> Result<Vec<(String, String)>, Error> {
    let text = fs::read_text(path)?;
    envfile::read_str_valueless(&text, |key, line| {
        // The line may be a secret pasted on a line of its own: only its place is named.
        tracing::warn!(file = %path.display(), line, "a key without `=` has no value; not synced");
        valueless.push(key.to_owned());
    })
    .map_err(|(line, error)| Error::Parse {
        path: path.to_owned(),
        line,
        error,
    })
}

/// The source's keys chosen by `--keys` (all when empty), in the source's order.
fn select(
    source_label: &str,
    source: Vec<(String, Value)>,
    keys: &[String],
) -> Result<Vec<(String, Value)>, Error> {
    keys::select(source, keys, Order::Source).map_err(|missing| Error::MissingKeys {
        source_name: source_label.to_owned(),
        keys: missing,
    })
}

/// Whether a field can be a key of an env file that every reader takes.
fn is_env_name(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Writes the source's fields into an env file, with the envfile provider's merge rules.
fn pull(
    source_label: &str,
    source: Vec<(String, Value)>,
    target: &Path,
    opts: &SyncOptions,
) -> Result<SyncReport, Error> {
    let (writable, skipped): (Vec<_>, Vec<_>) = source
        .into_iter()
        .partition(|(key, value)| is_env_name(key) && value.is_string());
    let skipped: Vec<String> = skipped.into_iter().map(|(key, _)| key).collect();
    let is_skipped: foldhash::HashSet<&str> = skipped.iter().map(String::as_str).collect();
    let unwritable: Vec<String> = opts
        .keys
        .iter()
        .filter(|k| is_skipped.contains(k.as_str()))
        .cloned()
        .collect();
    if !unwritable.is_empty() {
        return Err(Error::UnwritableKeys {
            source_name: source_label.to_owned(),
            keys: unwritable,
        });
    }
    let mut text = envfile::write_string(
        writable
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default())),
    )?;
    if opts.prune {
        // A skipped field is in the source: `--prune` must not remove its key from the file.
        // A key without `=` has no value, is not synced and is kept (the envfile rule).
        for key in skipped.iter().filter(|k| is_env_name(k)) {
            text.push_str(key);
            text.push('\n');
        }
    }
    let mut report = envfile::sync_text(
        Path::new(source_label),
        &text,
        target,
        &opts.keys,
        opts.dry_run,
        opts.prune,
    )?;
    if opts.keys.is_empty() {
        for key in skipped {
            tracing::warn!(
                source = source_label,
                key,
                "field skipped: not a valid env name, or not a string"
            );
            report.push(&key, Action::Skipped);
        }
    }
    Ok(report)
}

/// Writes the source's keys into the environment's secret, in one check-and-set write;
/// `--prune` removes the fields whose keys are not among `mentioned` (every key of the source).
async fn push(
    plan: &Plan,
    servers: &Servers,
    source_label: &str,
    source: Vec<(String, Value)>,
    (environment, mentioned): (&str, &foldhash::HashSet<String>),
    opts: &SyncOptions,
) -> Result<SyncReport, Error> {
    let target = plan.read(servers, environment).await?;
    let mut report = SyncReport::new(source_label, format!("vault:{environment}"));
    let mut fields = target.fields.clone();
    report.reserve(source.len(), source.iter().map(|(key, _)| key.len()).sum());
    for (key, value) in source {
        let action = match fields.get(&key) {
            None => Action::Added,
            Some(current) if *current == value => Action::Unchanged,
            Some(_) => Action::Changed,
        };
        fields.insert(key.clone(), value);
        report.push(&key, action);
    }
    if opts.prune {
        let stale: Vec<String> = target
            .fields
            .keys()
            .filter(|k| !mentioned.contains(k.as_str()))
            .cloned()
            .collect();
        for key in stale {
            fields.remove(&key);
            report.push(&key, Action::Removed);
        }
    }
    if !report.has_changes() || opts.dry_run {
        return Ok(report);
    }
    let path = plan.secret_path(environment);
    let written = {
        // One request; stopping half-way would leave unknown whether it was applied.
        let _held = interrupt::hold();
        servers
            .write(&plan.options.mount, &path, &fields, target.version)
            .await
    };
    let version = match written {
        Err(Error::Interrupted) => {
            // Nothing was written: the keys that would have changed are reported skipped.
            report.map_actions(|action| match action {
                Action::Unchanged => Action::Unchanged,
                _ => Action::Skipped,
            });
            return Ok(report);
        }
        written => written?,
    };
    tracing::info!(
        mount = plan.options.mount,
        path,
        version,
        "wrote vault secret"
    );
    report.written = true;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(yaml: &str) -> Result<Options, ConfigError> {
        ProviderConfig::from_yaml(yaml).decode()
    }

    #[test]
    fn env_names() {
        for good in ["A", "_A1", "DATABASE_URL", "a"] {
            assert!(is_env_name(good), "{good}");
        }
        for bad in ["", "1A", "A-B", "A.B", "A B", "É"] {
            assert!(!is_env_name(bad), "{bad}");
        }
    }

    #[test]
    fn places() {
        let base = Path::new("conf");
        assert_eq!(
            Place::parse("vault:prod-2", base, false).unwrap(),
            Place::Vault("prod-2".into())
        );
        assert_eq!(
            Place::parse(".env", base, true).unwrap(),
            Place::File("conf/.env".into())
        );
        for bad in [
            "vault:",
            "vault:..",
            "vault:a/b",
            "vault:a b",
            "vault:%2e%2e",
        ] {
            assert!(Place::parse(bad, base, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_is_checked_without_quoting_values() {
        assert_eq!(decode("path: /team/app/\n").unwrap().path, "team/app");
        assert_eq!(decode("").unwrap().mount, "secret");
        for (yaml, message) in [
            ("path: ../sys\n", "expected names"),
            ("mount: a//b\n", "expected names"),
            ("address: []\n", "at least one address"),
            ("address: 12\n", "a URL or a list"),
            ("token: s.abc\n", "unknown field `token`"),
        ] {
            let error = decode(yaml).unwrap_err().to_string();
            assert!(error.contains(message), "{yaml}: {error}");
            assert!(!error.contains("s.abc"), "{error}");
        }
        let options = decode("role_id: r\n").unwrap();
        let error = check_settings(&ProviderConfig::from_yaml("role_id: r"), &options).unwrap_err();
        assert!(error.to_string().contains("secret_id_env"), "{error}");
    }

    #[test]
    fn select_keeps_source_order_and_names_missing_keys() {
        let source: Vec<(String, Value)> = ["A", "B", "C"]
            .iter()
            .map(|k| ((*k).to_owned(), Value::Null))
            .collect();
        let keys = vec!["C".to_owned(), "A".to_owned()];
        let chosen = select("src", source.clone(), &keys).unwrap();
        assert_eq!(
            chosen.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["A", "C"]
        );
        let error = select("src", source, &["Z".to_owned()]).unwrap_err();
        assert_eq!(error.to_string(), "src does not define Z");
    }
}
