//! `envfile`: syncs keys from one env file to another.
//!
//! ```yaml
//! secrets:
//!   provider: envfile
//!   providers:
//!     envfile:
//!       source_file: .env.local     # relative to stagecraft.yml
//!       target_file: .env.staging
//! ```
//!
//! `SyncOptions::source` and `target` (the CLI's `--from` and `--to`, relative to the current
//! directory) override the two files. The files are read in the dialect of python-dotenv 1.x
//! without interpolation (see [`parse`]); `$` is never expanded.
//!
//! The target is updated in place: keys whose value changed are rewritten where they stand, new
//! keys are appended, and everything else (comments, blank lines, order, `export` prefixes, line
//! endings, keys the source lacks unless `prune` is set) is kept. The file is replaced
//! atomically, and not at all when no value changed. A dry run reports the same changes and
//! writes nothing.

mod encode;
mod parse;

pub use parse::ParseError;

use crate::fs::{self, FsError};
use parse::{Binding, Document};
use serde::Deserialize;
use stagecraft_core::{Action, KeyChange, SecretsProvider, SyncError, SyncOptions, SyncReport, secrets_provider};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Syncs keys from one env file (`.env.local`) to another (`.env.staging`).
#[secrets_provider("envfile")]
#[derive(Debug)]
pub struct EnvFile;

/// The provider's section of `stagecraft.yml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    /// The env file to read.
    source_file: Option<PathBuf>,
    /// The env file to update.
    target_file: Option<PathBuf>,
}

/// Why an env file sync failed. Never holds a value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Neither the config nor the options name a file.
    #[error("no {role} file: set `{setting}` in stagecraft.yml or pass {flag}")]
    MissingFile {
        /// `source` or `target`.
        role: &'static str,
        /// The YAML path of the setting.
        setting: String,
        /// The command-line flag that sets it.
        flag: &'static str,
    },
    /// A file could not be read or written.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// A line of a file cannot be read.
    #[error("{}:{line}: {error}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line where the statement starts.
        line: usize,
        /// What is wrong.
        error: ParseError,
    },
    /// Keys asked for are not in the source.
    #[error("{} does not define {}", path.display(), keys.join(", "))]
    MissingKeys {
        /// The source file.
        path: PathBuf,
        /// The keys it lacks, in the order asked for.
        keys: Vec<String>,
    },
    /// A value cannot be written in the env file dialect.
    #[error(
        "the value of {key} cannot be written to an env file: it ends with a backslash and spans several lines or has leading or trailing spaces"
    )]
    Unrepresentable {
        /// The key.
        key: String,
    },
}

impl From<Error> for SyncError {
    fn from(error: Error) -> Self {
        match &error {
            Error::Fs(fs) if !fs.is_input() => SyncError::external(error),
            _ => SyncError::input(error),
        }
    }
}

impl SecretsProvider for EnvFile {
    async fn sync(&self, opts: SyncOptions) -> Result<SyncReport, SyncError> {
        let options: Options = opts.config.decode()?;
        // Paths in stagecraft.yml are relative to it; paths given directly, to the current directory.
        let base = opts.config.origin().and_then(Path::parent).unwrap_or(Path::new(""));
        let section = opts.config.yaml_path();
        let file = |given: &Option<String>, configured: Option<PathBuf>, role, field, flag| {
            match (given, configured) {
                (Some(given), _) => Ok(PathBuf::from(given)),
                (None, Some(configured)) => Ok(base.join(configured)),
                (None, None) => Err(Error::MissingFile { role, setting: setting(&section, field), flag }),
            }
        };
        let source = file(&opts.source, options.source_file, "source", "source_file", "--from")?;
        let target = file(&opts.target, options.target_file, "target", "target_file", "--to")?;
        Ok(sync_files(&source, &target, &opts.keys, opts.dry_run, opts.prune)?)
    }
}

fn setting(section: &str, field: &str) -> String {
    if section.is_empty() { field.to_owned() } else { format!("{section}.{field}") }
}

/// Reads and parses an env file, warning about bare keys.
fn parse_file<'a>(path: &Path, text: &'a str) -> Result<Document<'a>, Error> {
    let doc = parse::parse(text).map_err(|e| Error::Parse { path: path.to_owned(), line: e.line, error: e.error })?;
    for bare in doc.bindings.iter().filter(|b| b.value.is_none()) {
        tracing::warn!(file = %path.display(), line = bare.line, key = bare.key, "key without `=` carries no value; skipped");
    }
    Ok(doc)
}

/// The last value of each key, in the order keys first appear. Bare keys are left out.
fn values<'d, 'a>(doc: &'d Document<'a>) -> (Vec<(&'a str, &'d Binding<'a>)>, HashMap<&'a str, usize>) {
    let mut order: Vec<(&'a str, &'d Binding<'a>)> = Vec::with_capacity(doc.bindings.len());
    let mut index: HashMap<&'a str, usize> = HashMap::with_capacity(doc.bindings.len());
    for binding in doc.bindings.iter().filter(|b| b.value.is_some()) {
        match index.get(binding.key) {
            Some(&i) => order[i].1 = binding,
            None => {
                index.insert(binding.key, order.len());
                order.push((binding.key, binding));
            }
        }
    }
    (order, index)
}

fn value<'d>(binding: &'d Binding<'_>) -> &'d str {
    binding.value.as_deref().unwrap_or_default()
}

/// Syncs `keys` (all when empty) from the env file `source` into `target`.
pub fn sync_files(source: &Path, target: &Path, keys: &[String], dry_run: bool, prune: bool) -> Result<SyncReport, Error> {
    let source_text = fs::read_text(source)?;
    let source_doc = parse_file(source, &source_text)?;
    let (source_values, source_index) = values(&source_doc);

    let selected: Vec<(&str, &str)> = if keys.is_empty() {
        source_values.iter().map(|(k, b)| (*k, value(b))).collect()
    } else {
        let missing: Vec<String> = keys.iter().filter(|k| !source_index.contains_key(k.as_str())).cloned().collect();
        if !missing.is_empty() {
            return Err(Error::MissingKeys { path: source.to_owned(), keys: missing });
        }
        let mut seen = std::collections::HashSet::new();
        keys.iter()
            .filter(|k| seen.insert(k.as_str()))
            .map(|k| {
                let (key, binding) = source_values[source_index[k.as_str()]];
                (key, value(binding))
            })
            .collect()
    };

    fs::check_writable(target)?;
    let target_text = fs::read_text_if_exists(target)?.unwrap_or_default();
    let target_doc = parse_file(target, &target_text)?;
    let (target_values, target_index) = values(&target_doc);

    let mut report = SyncReport::new(source.display().to_string(), target.display().to_string());
    let mut edits: Vec<Edit<'_>> = Vec::new();
    for &(key, new) in &selected {
        let action = match target_index.get(key).map(|&i| target_values[i].1) {
            None => {
                edits.push(Edit::Append { key, value: new });
                Action::Added
            }
            Some(current) if value(current) == new => Action::Unchanged,
            Some(current) => {
                edits.push(Edit::Replace { binding: current, value: new });
                Action::Changed
            }
        };
        report.changes.push(KeyChange { key: key.to_owned(), action });
    }
    if prune {
        for (key, _) in target_values.iter().filter(|(k, _)| !source_index.contains_key(k)) {
            for binding in target_doc.bindings.iter().filter(|b| b.key == *key) {
                edits.push(Edit::Remove { binding });
            }
            report.changes.push(KeyChange { key: (*key).to_owned(), action: Action::Removed });
        }
    }
    if edits.is_empty() || dry_run {
        return Ok(report);
    }
    let updated = apply(&target_doc, edits)?;
    fs::write_atomically(target, updated.as_bytes())?;
    report.written = true;
    Ok(report)
}

/// A change to the target's text.
enum Edit<'a> {
    Replace { binding: &'a Binding<'a>, value: &'a str },
    Remove { binding: &'a Binding<'a> },
    Append { key: &'a str, value: &'a str },
}

/// The target's text with the edits applied: replacements and removals where they stand,
/// appended keys at the end, in the file's own line ending.
fn apply(doc: &Document<'_>, mut edits: Vec<Edit<'_>>) -> Result<String, Error> {
    let text = doc.text;
    let line_ending = ["\r\n", "\n", "\r"]
        .into_iter()
        .min_by_key(|ending| text.find(ending).unwrap_or(usize::MAX))
        .filter(|ending| text.contains(ending))
        .unwrap_or("\n");
    let position = |edit: &Edit<'_>| match edit {
        Edit::Replace { binding, .. } => binding.value_span.start,
        Edit::Remove { binding } => binding.start,
        Edit::Append { .. } => usize::MAX,
    };
    edits.sort_by_key(position);
    let mut out = String::with_capacity(text.len() + edits.len() * 32);
    let mut copied = 0;
    for edit in &edits {
        match edit {
            Edit::Replace { binding, value } => {
                out.push_str(&text[copied..binding.value_span.start]);
                encode_value(binding.key, value, &mut out)?;
                copied = binding.value_span.end;
                // `KEY="old"#note` is a comment after a quote, but `KEY=new#note` is a value.
                if text[copied..].starts_with('#') {
                    out.push(' ');
                }
            }
            Edit::Remove { binding } => {
                out.push_str(&text[copied..binding.start]);
                copied = binding.end;
            }
            Edit::Append { key, value } => {
                if copied < text.len() {
                    out.push_str(&text[copied..]);
                    copied = text.len();
                }
                if !out.is_empty() && !out.ends_with(['\n', '\r']) {
                    out.push_str(line_ending);
                }
                out.push_str(key);
                out.push('=');
                encode_value(key, value, &mut out)?;
                out.push_str(line_ending);
            }
        }
    }
    out.push_str(&text[copied..]);
    Ok(out)
}

fn encode_value(key: &str, value: &str, out: &mut String) -> Result<(), Error> {
    encode::encode(value, out).map_err(|_| Error::Unrepresentable { key: key.to_owned() })
}

/// Parses env file text into its keys and values (last one wins), for tests and tools.
pub fn read_str(text: &str) -> Result<Vec<(String, String)>, (usize, ParseError)> {
    let doc = parse::parse(text).map_err(|e| (e.line, e.error))?;
    let (values, _) = values(&doc);
    Ok(values.into_iter().map(|(k, b)| (k.to_owned(), value(b).to_owned())).collect())
}

/// Writes keys and values as env file text, one `KEY=value` line each.
pub fn write_string<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<String, Error> {
    let mut out = String::new();
    for (key, value) in entries {
        out.push_str(key);
        out.push('=');
        encode_value(key, value, &mut out)?;
        out.push('\n');
    }
    Ok(out)
}
