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
//! without interpolation (`parse.rs` says how, rule by rule); `$` is never expanded.
//!
//! The target is updated in place: keys whose value changed are rewritten where they stand, new
//! keys are appended, and everything else (comments, blank lines, order, `export` prefixes, line
//! endings, keys the source lacks unless `prune` is set) is kept. The file is replaced
//! atomically, and not at all when no value changed. A dry run reports the same changes and
//! writes nothing.
//!
//! A value is written in the form the source wrote it in: that form reads back as the same
//! string by construction. Only a value whose form depends on what follows it in the source (a
//! quoted value closed by the reader's backtracking) is re-encoded, in the plainest form that
//! this reader and python-dotenv read back unchanged (`encode.rs`).

mod encode;
mod parse;

pub use parse::ParseError;

use crate::fs::{self, FsError};
use foldhash::fast::FixedState;
use hashbrown::HashTable;
use parse::{Binding, Document};
use schemars::JsonSchema;
use serde::Deserialize;
use stagecraft_core::{
    Action, ConfigWarning, KeyChange, ProviderConfig, SecretsProvider, SyncError, SyncOptions,
    SyncReport, secrets_provider,
};
use std::hash::BuildHasher;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Syncs keys from one env file (`.env.local`) to another (`.env.staging`).
#[secrets_provider("envfile", settings = Options)]
#[derive(Debug)]
pub struct EnvFile;

/// The provider's section of `stagecraft.yml`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The env file to read, relative to stagecraft.yml. `--from` overrides it.
    pub source_file: Option<PathBuf>,
    /// The env file to update, relative to stagecraft.yml. `--to` overrides it.
    pub target_file: Option<PathBuf>,
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
    /// A key cannot be written in the env file dialect (it is empty, or starts with `'` and
    /// needs quoting).
    #[error("the key {key:?} cannot be written to an env file")]
    UnrepresentableKey {
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
        let options = opts.settings::<Options>()?;
        // Paths in stagecraft.yml are relative to it; paths given directly, to the current directory.
        let base = opts
            .config
            .origin()
            .and_then(Path::parent)
            .unwrap_or(Path::new(""));
        let section = opts.config.yaml_path();
        let file = |given: &Option<String>, configured: Option<PathBuf>, role, field, flag| match (
            given, configured,
        ) {
            (Some(given), _) => Ok(PathBuf::from(given)),
            (None, Some(configured)) => Ok(base.join(configured)),
            (None, None) => Err(Error::MissingFile {
                role,
                setting: setting(&section, field),
                flag,
            }),
        };
        let source = file(
            &opts.source,
            options.source_file,
            "source",
            "source_file",
            "--from",
        )?;
        let target = file(
            &opts.target,
            options.target_file,
            "target",
            "target_file",
            "--to",
        )?;
        Ok(sync_files(
            &source,
            &target,
            &opts.keys,
            opts.dry_run,
            opts.prune,
        )?)
    }

    fn config_warnings(&self, config: &ProviderConfig) -> Vec<ConfigWarning> {
        let Ok(options) = config.decode::<Options>() else {
            return Vec::new();
        };
        [
            (options.source_file, "source_file", "--from"),
            (options.target_file, "target_file", "--to"),
        ]
        .into_iter()
        .filter(|(file, _, _)| file.is_none())
        .map(|(_, field, flag)| {
            config.warning(format!(
                "no `{field}`: `stagecraft secrets sync` will need {flag}"
            ))
        })
        .collect()
    }
}

fn setting(section: &str, field: &str) -> String {
    if section.is_empty() {
        field.to_owned()
    } else {
        format!("{section}.{field}")
    }
}

/// Reads and parses an env file, warning about bare keys.
fn parse_file<'a>(path: &Path, text: &'a str) -> Result<Document<'a>, Error> {
    let doc = parse::parse(text).map_err(|e| Error::Parse {
        path: path.to_owned(),
        line: e.line,
        error: e.error,
    })?;
    tracing::debug!(file = %path.display(), statements = doc.bindings.len(), "read env file");
    for bare in doc.bindings.iter().filter(|b| b.form.is_none()) {
        tracing::warn!(file = %path.display(), line = bare.line, key = bare.key, "key without `=` carries no value; skipped");
    }
    Ok(doc)
}

/// The last binding of each key that has a value, in the order keys first appear.
struct Values<'d, 'a> {
    order: Vec<&'d Binding<'a>>,
    /// Positions in `order`, by the hash of their key: 4 bytes a key, so that the index of a
    /// large file stays in cache.
    index: HashTable<u32>,
    hasher: FixedState,
}

impl<'d, 'a> Values<'d, 'a> {
    fn of(doc: &'d Document<'a>) -> Self {
        let mut order: Vec<&'d Binding<'a>> = Vec::with_capacity(doc.bindings.len());
        let mut index = HashTable::with_capacity(doc.bindings.len());
        // Keys come from the user's own files, so a fast hash without DoS resistance is fine.
        let hasher = FixedState::default();
        for binding in doc.bindings.iter().filter(|b| b.form.is_some()) {
            let hash = hasher.hash_one(binding.key);
            match index.find(hash, |&i| order[i as usize].key == binding.key) {
                Some(&i) => order[i as usize] = binding,
                None => {
                    let position = u32::try_from(order.len()).expect("fewer than 2^32 statements");
                    index
                        .insert_unique(hash, position, |&i| hasher.hash_one(order[i as usize].key));
                    order.push(binding);
                }
            }
        }
        Values {
            order,
            index,
            hasher,
        }
    }

    fn get(&self, key: &str) -> Option<&'d Binding<'a>> {
        if self.order.is_empty() {
            return None;
        }
        let hash = self.hasher.hash_one(key);
        self.index
            .find(hash, |&i| self.order[i as usize].key == key)
            .map(|&i| self.order[i as usize])
    }
}

/// Syncs `keys` (all when empty) from the env file `source` into `target`.
pub fn sync_files(
    source: &Path,
    target: &Path,
    keys: &[String],
    dry_run: bool,
    prune: bool,
) -> Result<SyncReport, Error> {
    let source_text = fs::read_text(source)?;
    sync_text(source, &source_text, target, keys, dry_run, prune)
}

/// Syncs `keys` (all when empty) from env file text into the env file `target`, with the same
/// rules as [`sync_files`]; `source` names the text in messages and the report. Other providers
/// use it to write what they read elsewhere into an env file (encode it with [`write_string`]).
pub fn sync_text(
    source: &Path,
    source_text: &str,
    target: &Path,
    keys: &[String],
    dry_run: bool,
    prune: bool,
) -> Result<SyncReport, Error> {
    let source_doc = parse_file(source, source_text)?;
    let source_values = Values::of(&source_doc);
    let chosen: Vec<&Binding<'_>>;
    let selected: &[&Binding<'_>] = if keys.is_empty() {
        &source_values.order
    } else {
        let missing: Vec<String> = keys
            .iter()
            .filter(|k| source_values.get(k).is_none())
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(Error::MissingKeys {
                path: source.to_owned(),
                keys: missing,
            });
        }
        let mut seen = foldhash::HashSet::default();
        chosen = keys
            .iter()
            .filter(|k| seen.insert(k.as_str()))
            .filter_map(|k| source_values.get(k))
            .collect();
        &chosen
    };

    fs::check_writable(target)?;
    let target_text = fs::read_text_if_exists(target)?.unwrap_or_default();
    let target_doc = parse_file(target, &target_text)?;
    let target_values = Values::of(&target_doc);

    let mut report = SyncReport::new(source.display().to_string(), target.display().to_string());
    report.changes.reserve(selected.len());
    let mut in_place = Vec::new();
    let mut appended = Vec::new();
    for &binding in selected {
        let action = match target_values.get(binding.key) {
            None => {
                check_representable(binding)?;
                appended.push(binding);
                Action::Added
            }
            Some(current) if current.value() == binding.value() => Action::Unchanged,
            Some(current) => {
                check_representable(binding)?;
                in_place.push(Edit::Replace {
                    at: current,
                    with: binding,
                });
                Action::Changed
            }
        };
        report.changes.push(KeyChange {
            key: binding.key.to_owned(),
            action,
        });
    }
    if prune {
        for stale in target_values
            .order
            .iter()
            .filter(|b| source_values.get(b.key).is_none())
        {
            in_place.extend(
                target_doc
                    .bindings
                    .iter()
                    .filter(|b| b.key == stale.key)
                    .map(|at| Edit::Remove { at }),
            );
            report.changes.push(KeyChange {
                key: stale.key.to_owned(),
                action: Action::Removed,
            });
        }
    }
    if (in_place.is_empty() && appended.is_empty()) || dry_run {
        return Ok(report);
    }
    fs::write_atomically(target, |out| apply(&target_doc, in_place, &appended, out))?;
    tracing::debug!(file = %target.display(), "replaced env file");
    report.written = true;
    Ok(report)
}

/// A change to a statement of the target.
enum Edit<'d, 'a> {
    /// Give `at` the value of the source's `with`.
    Replace {
        at: &'d Binding<'a>,
        with: &'d Binding<'a>,
    },
    /// Delete the line(s) of `at`.
    Remove { at: &'d Binding<'a> },
}

/// Writes the target's text with the edits applied where they stand and the `appended` source
/// bindings added at the end, in the file's own line ending.
fn apply(
    doc: &Document<'_>,
    mut in_place: Vec<Edit<'_, '_>>,
    appended: &[&Binding<'_>],
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut out = Chunks {
        out,
        buf: Vec::with_capacity(Chunks::SIZE),
        last: None,
    };
    let text = doc.text;
    let line_ending = match text.find(['\r', '\n']).map(|at| &text[at..]) {
        Some(rest) if rest.starts_with("\r\n") => "\r\n",
        Some(rest) if rest.starts_with('\r') => "\r",
        _ => "\n",
    };
    in_place.sort_by_key(|edit| match edit {
        Edit::Replace { at, .. } => at.value_start,
        Edit::Remove { at } => at.start,
    });
    let mut copied = 0;
    for edit in &in_place {
        match edit {
            Edit::Replace { at, with } => {
                out.push(&text.as_bytes()[copied..at.value_start])?;
                write_value(with, &mut out)?;
                copied = at.value_start + at.written.len();
                // `KEY="old"#note` is a comment after a quote, but `KEY=new#note` is a value.
                if text[copied..].starts_with('#') {
                    out.push(b" ")?;
                }
            }
            Edit::Remove { at } => {
                out.push(&text.as_bytes()[copied..at.start])?;
                copied = at.end;
            }
        }
    }
    out.push(&text.as_bytes()[copied..])?;
    if !appended.is_empty() && out.last.is_some_and(|b| b != b'\n' && b != b'\r') {
        out.push(line_ending.as_bytes())?;
    }
    for binding in appended {
        // `check_representable` accepted this key before anything was written.
        if key_needs_quotes(binding) == Ok(true) {
            out.push(b"'")?;
            out.push(binding.key.as_bytes())?;
            out.push(b"'=")?;
        } else {
            out.push(binding.key.as_bytes())?;
            out.push(b"=")?;
        }
        write_value(binding, &mut out)?;
        out.push(line_ending.as_bytes())?;
    }
    out.finish()
}

/// Gathers the output in 64 KiB chunks, since each line is several small pieces that would
/// otherwise each pay for a call through `dyn Write`. Remembers the last byte, to know whether
/// an appended key starts a line of its own.
struct Chunks<'w> {
    out: &'w mut dyn Write,
    buf: Vec<u8>,
    last: Option<u8>,
}

impl Chunks<'_> {
    const SIZE: usize = 1 << 16;

    fn push(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Some(&last) = bytes.last() {
            self.last = Some(last);
        }
        if self.buf.len() + bytes.len() > Self::SIZE {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        if bytes.len() > Self::SIZE {
            return self.out.write_all(bytes);
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    fn finish(self) -> io::Result<()> {
        self.out.write_all(&self.buf)
    }
}

/// Whether a source key must be written in quotes (`encode::key_needs_quotes`). A key the
/// source wrote unquoted has none of the characters that need them, so only one that starts
/// with a BOM (which the reader skips at the start of a file) or was quoted is looked at.
fn key_needs_quotes(binding: &Binding<'_>) -> Result<bool, encode::Unrepresentable> {
    if binding.quoted_key || binding.key.starts_with('\u{feff}') {
        encode::key_needs_quotes(binding.key)
    } else {
        Ok(false)
    }
}

/// Fails when a source key or value that will be written has no form that reads back the same.
fn check_representable(binding: &Binding<'_>) -> Result<(), Error> {
    key_needs_quotes(binding).map_err(|_| Error::UnrepresentableKey {
        key: binding.key.to_owned(),
    })?;
    if binding.is_portable() {
        return Ok(());
    }
    encode_value(
        binding.key,
        &binding.value().unwrap_or_default(),
        &mut String::new(),
    )
}

fn encode_key(key: &str, out: &mut String) -> Result<(), Error> {
    encode::encode_key(key, out).map_err(|_| Error::UnrepresentableKey {
        key: key.to_owned(),
    })
}

/// Writes a source binding's value: as it was written when that form reads the same anywhere
/// (it does by construction, being what the value was read from), else in the plainest form
/// that reads back the same.
fn write_value(binding: &Binding<'_>, out: &mut Chunks<'_>) -> io::Result<()> {
    if binding.is_portable() {
        return out.push(binding.written.as_bytes());
    }
    let mut encoded = String::new();
    // `check_representable` accepted this value before anything was written.
    encode::encode(&binding.value().unwrap_or_default(), &mut encoded)
        .map_err(|_| io::Error::other("a value checked as representable is not"))?;
    out.push(encoded.as_bytes())
}

fn encode_value(key: &str, value: &str, out: &mut String) -> Result<(), Error> {
    encode::encode(value, out).map_err(|_| Error::Unrepresentable {
        key: key.to_owned(),
    })
}

/// Parses env file text into its keys and values (last one wins), for tests and tools.
pub fn read_str(text: &str) -> Result<Vec<(String, String)>, (usize, ParseError)> {
    let doc = parse::parse(text).map_err(|e| (e.line, e.error))?;
    let values = Values::of(&doc);
    Ok(values
        .order
        .iter()
        .map(|b| (b.key.to_owned(), b.value().unwrap_or_default().into_owned()))
        .collect())
}

/// Writes keys and values as env file text, one `KEY=value` line each.
pub fn write_string<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<String, Error> {
    let mut out = String::new();
    for (key, value) in entries {
        encode_key(key, &mut out)?;
        out.push('=');
        encode_value(key, value, &mut out)?;
        out.push('\n');
    }
    Ok(out)
}
