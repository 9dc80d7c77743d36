//! `stagecraft secrets run`: a program started with a source's keys added to its environment.
//!
//! On Unix the process is replaced (`execve`): the program gets stagecraft's process ID, its
//! stdin, stdout and stderr, its place in the process group and the terminal, so that its exit
//! code, Ctrl-C, SIGTERM from a supervisor (also as PID 1) and job control are the program's by
//! construction; there is no parent left to forward signals or lose an exit code. Nothing is
//! written to disk, and stagecraft prints nothing of the values.

use stagecraft_core::Secrets;
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::process::Command;

/// Why the environment cannot be built, or the program not started. Never holds a value.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    /// A key that cannot be an environment variable's name.
    #[error(
        "{source_name}: the key {key:?} cannot be an environment variable's name ({reason}); leave it out with --keys"
    )]
    BadName {
        source_name: String,
        key: String,
        reason: &'static str,
    },
    /// A value that an environment variable cannot hold.
    #[error(
        "{source_name}: the value of {key} holds a NUL character, which an environment variable cannot hold"
    )]
    NulValue { source_name: String, key: String },
    /// `--keys` asked for keys the source lacks.
    #[error("{source_name} does not define {}", keys.join(", "))]
    MissingKeys {
        source_name: String,
        keys: Vec<String>,
    },
    /// The program is not found (exit 127, as shells do).
    #[error("{}: command not found", command.to_string_lossy())]
    NotFound { command: OsString },
    /// The program cannot be executed (exit 126, as shells do).
    #[error("{}: cannot execute: {reason}", command.to_string_lossy())]
    NotExecutable { command: OsString, reason: String },
}

impl RunError {
    /// 127 and 126 as shells give them; 1 for the input.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            RunError::NotFound { .. } => 127,
            RunError::NotExecutable { .. } => 126,
            _ => 1,
        }
    }
}

/// How the environment is built.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EnvRules {
    /// The source's value wins over a variable already set (default: the variable wins).
    pub(crate) override_existing: bool,
    /// `${VAR}` and `${VAR:-default}` in values are expanded (default: kept as written).
    pub(crate) expand: bool,
}

/// The variables to set: the source's keys chosen by `keys` (all when empty), checked, with
/// the rules applied. `existing` reads the environment the program would otherwise get.
pub(crate) fn environment(
    secrets: Secrets,
    keys: &[String],
    rules: EnvRules,
    existing: impl Fn(&str) -> Option<OsString>,
) -> Result<Vec<(String, String)>, RunError> {
    let source_name = secrets.source.clone();
    let mut entries = secrets.into_entries();
    if !keys.is_empty() {
        let mut chosen: HashMap<String, String> = entries.drain(..).collect();
        let missing: Vec<String> = keys
            .iter()
            .filter(|k| !chosen.contains_key(*k))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(RunError::MissingKeys {
                source_name,
                keys: missing,
            });
        }
        entries = keys
            .iter()
            .filter_map(|k| chosen.remove_entry(k.as_str()))
            .collect();
    }
    for (key, value) in &entries {
        let reason = if key.is_empty() {
            Some("empty")
        } else if key.contains('=') {
            Some("it holds `=`")
        } else if key.contains('\0') {
            Some("it holds a NUL character")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(RunError::BadName {
                source_name,
                key: key.clone(),
                reason,
            });
        }
        if value.contains('\0') {
            return Err(RunError::NulValue {
                source_name,
                key: key.clone(),
            });
        }
    }
    // What the program sees of each variable set so far, for `${VAR}`.
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut set = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        if !rules.override_existing && existing(&key).is_some() {
            tracing::info!(
                key,
                "kept the variable already set (--override gives the source's)"
            );
            continue;
        }
        let value = if rules.expand {
            expand(&value, |name| match seen.get(name) {
                Some(value) => Some(value.clone()),
                None => existing(name).map(|v| v.to_string_lossy().into_owned()),
            })
        } else {
            value
        };
        if rules.expand {
            seen.insert(key.clone(), value.clone());
        }
        set.push((key, value));
    }
    Ok(set)
}

/// `${VAR}` and `${VAR:-default}` replaced as docker compose and python-dotenv's `dotenv run`
/// do: VAR's value, empty when unset; `:-` gives the default when VAR is unset or empty. A
/// `$` not followed by a well-formed `${…}` stays as written; a default is not expanded.
pub(crate) fn expand(value: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let Some(close) = after.find('}') else {
            break;
        };
        let inner = &after[..close];
        let (name, default) = match inner.split_once(':') {
            None => (inner, None),
            Some((name, default)) => match default.strip_prefix('-') {
                Some(default) => (name, Some(default)),
                // `${A:x}` is not a reference: kept as written.
                None => {
                    out.push_str("${");
                    rest = after;
                    continue;
                }
            },
        };
        let found = lookup(name);
        match (found, default) {
            (Some(value), Some(default)) if value.is_empty() => out.push_str(default),
            (Some(value), _) => out.push_str(&value),
            (None, Some(default)) => out.push_str(default),
            (None, None) => {}
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Replaces the process with `command`, the variables added to its environment. Returns only
/// when it could not be started.
#[cfg(unix)]
pub(crate) fn exec(command: &[OsString], variables: Vec<(String, String)>) -> Result<u8, RunError> {
    use std::os::unix::process::CommandExt;
    let (program, args) = command.split_first().expect("clap requires the command");
    let mut child = Command::new(program);
    child.args(args).envs(variables);
    // Only returns on failure; on success the process is the program's.
    Err(start_error(program, child.exec()))
}

/// Elsewhere there is no `exec`: the program runs as a child and its exit code is returned.
#[cfg(not(unix))]
pub(crate) fn exec(command: &[OsString], variables: Vec<(String, String)>) -> Result<u8, RunError> {
    let (program, args) = command.split_first().expect("clap requires the command");
    match Command::new(program).args(args).envs(variables).status() {
        Ok(status) => Ok(status.code().map_or(1, |c| c as u8)),
        Err(e) => Err(start_error(program, e)),
    }
}

fn start_error(program: &OsStr, error: std::io::Error) -> RunError {
    match error.kind() {
        std::io::ErrorKind::NotFound => RunError::NotFound {
            command: program.to_owned(),
        },
        _ => RunError::NotExecutable {
            command: program.to_owned(),
            reason: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_braced_references_only() {
        for (value, expanded) in [
            ("postgres://${HOST}:5432", "postgres://db:5432"),
            ("${UNSET}", ""),
            ("${UNSET:-fallback}", "fallback"),
            ("${EMPTY:-fallback}", "fallback"),
            ("${HOST:-fallback}", "db"),
            ("$HOST stays", "$HOST stays"),
            ("p4$$w0rd", "p4$$w0rd"),
            ("${HOST", "${HOST"),
            ("${HOST:x}", "${HOST:x}"),
            ("a${HOST}b${HOST}c", "adbbdbc"),
            ("${UNSET:-${HOST}}", "${HOST}"),
        ] {
            assert_eq!(expand(value, lookup), expanded, "{value}");
        }
    }

    fn secrets(entries: &[(&str, &str)]) -> Secrets {
        let mut secrets = Secrets::new("src");
        for (k, v) in entries {
            secrets.push(*k, *v);
        }
        secrets
    }

    const KEEP: EnvRules = EnvRules {
        override_existing: false,
        expand: false,
    };

    #[test]
    fn existing_variables_win_unless_overridden() {
        let existing = |k: &str| (k == "A").then(|| OsString::from("from-env"));
        let source = secrets(&[("A", "from-source"), ("B", "${A}")]);
        assert_eq!(
            environment(source.clone(), &[], KEEP, existing).unwrap(),
            [("B".to_owned(), "${A}".to_owned())]
        );
        let rules = EnvRules {
            override_existing: true,
            expand: true,
        };
        assert_eq!(
            environment(source.clone(), &[], rules, existing).unwrap(),
            [
                ("A".to_owned(), "from-source".to_owned()),
                ("B".to_owned(), "from-source".to_owned())
            ]
        );
        let rules = EnvRules {
            override_existing: false,
            expand: true,
        };
        assert_eq!(
            environment(source, &[], rules, existing).unwrap(),
            [("B".to_owned(), "from-env".to_owned())]
        );
    }

    #[test]
    fn bad_names_and_nul_values_are_refused_by_key_without_the_value() {
        for (key, value, message) in [
            (
                "A=B",
                "x",
                "the key \"A=B\" cannot be an environment variable's name (it holds `=`)",
            ),
            (
                "",
                "x",
                "the key \"\" cannot be an environment variable's name (empty)",
            ),
            ("N\0UL", "x", "the key \"N\\0UL\" cannot be"),
            (
                "TOKEN",
                "canary\0x",
                "the value of TOKEN holds a NUL character",
            ),
        ] {
            let error = environment(secrets(&[(key, value)]), &[], KEEP, |_| None)
                .unwrap_err()
                .to_string();
            assert!(error.contains(message), "{error}");
            assert!(!error.contains("canary"), "{error}");
        }
        let error = environment(
            secrets(&[("A", "1")]),
            &["A".into(), "Z".into()],
            KEEP,
            |_| None,
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "src does not define Z");
    }
}
