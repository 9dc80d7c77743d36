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
//! directory) override the two files. The files are read in the dialect of python-dotenv 1.2.4
//! without interpolation (`parse.rs` says how, rule by rule); `$` is never expanded. A key
//! whose last statement has no `=` (`KEY`, `export KEY`) has no value: it is not synced, and
//! `--prune` leaves it in the target; the warning names the file and line, never the line's text.
//!
//! The target is updated in place: keys whose value changed are rewritten where they stand, new
//! keys are appended, and everything else (comments, blank lines, order, `export` prefixes, line
//! endings, keys the source lacks unless `prune` is set) is kept. The file is replaced
//! atomically, and not at all when no value changed. A dry run reports the same changes and
//! writes nothing.
//!
//! Writing never loses data: the new text is parsed again before it is written, and unless it
//! reads back as exactly the planned keys and values, nothing is written. The directory of the
//! target is locked for the whole read-modify-write, so that two syncs into one target run one
//! after the other; the target's owner, group and mode are kept; only regular files are read or
//! replaced (a FIFO, a device or a socket is refused before it is opened). A target with other
//! hard links is replaced, not written through: its other names keep the old content.
//!
//! A value is written in the form the source wrote it in (with the target's line ending, when it
//! spans lines): that form reads back as the same string by construction. A bare value that
//! starts with `#` is quoted (`KEY= #x` is an empty value and a comment), an empty value before
//! a comment is written `''`, and values given as strings ([`write_string`]) get the plainest
//! form that this reader and python-dotenv read back unchanged (`encode.rs`).

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
    Action, ConfigWarning, ProviderConfig, SecretsProvider, SyncError, SyncOptions, SyncReport,
    secrets_provider,
};
use std::hash::BuildHasher;
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
    /// A key cannot be written in the env file dialect (it is empty, or starts with `'` and
    /// needs quoting).
    #[error("the key {key:?} cannot be written to an env file")]
    UnrepresentableKey {
        /// The key.
        key: String,
    },
    /// The updated target would not read back as the planned keys and values (a bug of the
    /// writer); nothing was written.
    #[error(
        "the update of {} would not read back as planned; nothing was written (this is a bug, please report it)",
        path.display()
    )]
    Unverified {
        /// The target.
        path: PathBuf,
    },
}

impl From<Error> for SyncError {
    fn from(error: Error) -> Self {
        match &error {
            Error::Fs(fs) if !fs.is_input() => SyncError::external(error),
            Error::Unverified { .. } => SyncError::external(error),
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

/// Parses an env file.
fn parse_file<'a>(path: &Path, text: &'a str) -> Result<Document<'a>, Error> {
    let doc = parse::parse(text).map_err(|e| Error::Parse {
        path: path.to_owned(),
        line: e.line,
        error: e.error,
    })?;
    tracing::debug!(file = %path.display(), statements = doc.bindings.len(), "read env file");
    Ok(doc)
}

/// The last binding of each key, in the order keys first appear. A key whose last binding has
/// no `=` is valueless.
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
        for binding in &doc.bindings {
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

    /// The last binding of `key`, valueless or not.
    fn get(&self, key: &str) -> Option<&'d Binding<'a>> {
        if self.order.is_empty() {
            return None;
        }
        let hash = self.hasher.hash_one(key);
        self.index
            .find(hash, |&i| self.order[i as usize].key == key)
            .map(|&i| self.order[i as usize])
    }

    /// The last binding of `key`, when it has a value.
    fn get_valued(&self, key: &str) -> Option<&'d Binding<'a>> {
        self.get(key).filter(|b| b.form.is_some())
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
    for bare in source_doc.bindings.iter().filter(|b| b.form.is_none()) {
        // The line may be a secret pasted on a line of its own: only its place is named.
        tracing::warn!(file = %source.display(), line = bare.line, "a key without `=` has no value; not synced");
    }
    let source_values = Values::of(&source_doc);
    let mut wanted = foldhash::HashSet::default();
    let selected: Vec<&Binding<'_>> = if keys.is_empty() {
        source_values
            .order
            .iter()
            .copied()
            .filter(|b| b.form.is_some())
            .collect()
    } else {
        let missing: Vec<String> = keys
            .iter()
            .filter(|k| source_values.get_valued(k).is_none())
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(Error::MissingKeys {
                path: source.to_owned(),
                keys: missing,
            });
        }
        keys.iter()
            .filter(|k| wanted.insert(k.as_str()))
            .filter_map(|k| source_values.get(k))
            .collect()
    };

    let mut locked = if dry_run {
        fs::check_writable(target)?;
        None
    } else {
        Some(fs::LockedTarget::lock(target)?)
    };
    let target_text = match &mut locked {
        Some(locked) => locked.read_text()?,
        None => fs::read_text_if_exists(target)?,
    }
    .unwrap_or_default();
    let target_doc = parse_file(target, &target_text)?;
    let target_values = Values::of(&target_doc);
    // `--prune` removes the keys the source does not mention; a key it leaves valueless stays.
    // A target key that never has a value is left too: its line may be a secret pasted on a
    // line of its own, which the report would print as a removed key.
    let valued: foldhash::HashSet<&str> = match prune {
        true => target_doc
            .bindings
            .iter()
            .filter(|b| b.form.is_some())
            .map(|b| b.key)
            .collect(),
        false => foldhash::HashSet::default(),
    };
    let is_pruned = |key: &str| valued.contains(key) && source_values.get(key).is_none();
    let never_valued =
        |b: &&Binding<'_>| !valued.contains(b.key) && source_values.get(b.key).is_none();
    for kept in target_doc
        .bindings
        .iter()
        .filter(|_| prune)
        .filter(never_valued)
    {
        tracing::warn!(file = %target.display(), line = kept.line, "a key without `=` has no value; left in place by --prune");
    }

    let mut report = SyncReport::new(source.display().to_string(), target.display().to_string());
    report.reserve(selected.len(), selected.iter().map(|b| b.key.len()).sum());
    let mut edits = Vec::new();
    let mut appended = Vec::new();
    for &binding in &selected {
        let action = match target_values.get(binding.key) {
            None => {
                check_representable(binding)?;
                appended.push(binding);
                Action::Added
            }
            // Most values of an up-to-date target are written as in the source: those are
            // equal without decoding either.
            Some(current) if same_value(current, binding) => Action::Unchanged,
            Some(current) => {
                edits.push(Edit::Replace {
                    at: current,
                    with: binding,
                });
                // A valueless key gets its value where it stands.
                if current.form.is_none() {
                    Action::Added
                } else {
                    Action::Changed
                }
            }
        };
        report.push(binding.key, action);
    }
    if prune {
        for stale in target_values.order.iter().filter(|b| is_pruned(b.key)) {
            report.push(stale.key, Action::Removed);
        }
        edits.extend(
            target_doc
                .bindings
                .iter()
                .filter(|b| is_pruned(b.key))
                .map(|at| Edit::Remove { at }),
        );
    }
    // A dry run holds no lock; it and a sync with nothing to change write nothing.
    let Some(locked) = locked.filter(|_| !(edits.is_empty() && appended.is_empty())) else {
        return Ok(report);
    };
    let text = apply(&target_doc, edits, &appended);
    // What is written must read back as the plan, statement by statement: the target's
    // statements in order, less the pruned ones, each last statement of a selected key with the
    // source's value, then the appended ones. Then it reads as the planned keys and values.
    let mut planned = target_doc
        .bindings
        .iter()
        .filter(|b| !is_pruned(b.key))
        .map(|b| match source_values.get_valued(b.key) {
            Some(from)
                if (keys.is_empty() || wanted.contains(b.key))
                    && target_values
                        .get(b.key)
                        .is_some_and(|last| std::ptr::eq(last, b)) =>
            {
                (b.key, from)
            }
            _ => (b.key, b),
        })
        .chain(appended.iter().map(|b| (b.key, *b)));
    let mut as_planned = true;
    let parsed = parse::each_binding(&text, |b| {
        as_planned &= planned
            .next()
            .is_some_and(|(key, p)| key == b.key && same_value(p, &b));
    });
    if parsed.is_err() || !as_planned || planned.next().is_some() {
        return Err(Error::Unverified {
            path: target.to_owned(),
        });
    }
    locked.replace(|out| out.write_all(text.as_bytes()))?;
    tracing::debug!(file = %target.display(), "replaced env file");
    report.written = true;
    Ok(report)
}

/// Whether two bindings have the same value (or are both valueless); written the same way,
/// they do without decoding.
fn same_value(a: &Binding<'_>, b: &Binding<'_>) -> bool {
    (a.form == b.form && a.written == b.written) || a.value() == b.value()
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

/// The target's text with the edits applied where they stand and the `appended` source bindings
/// added at the end, in the file's own line ending.
fn apply(doc: &Document<'_>, mut edits: Vec<Edit<'_, '_>>, appended: &[&Binding<'_>]) -> String {
    let text = doc.text;
    let mut out = String::with_capacity(
        text.len()
            + appended
                .iter()
                .map(|b| b.key.len() + b.written.len() + 4)
                .sum::<usize>(),
    );
    let line_ending = match memchr::memchr2(b'\r', b'\n', text.as_bytes()).map(|at| &text[at..]) {
        Some(rest) if rest.starts_with("\r\n") => "\r\n",
        Some(rest) if rest.starts_with('\r') => "\r",
        _ => "\n",
    };
    edits.sort_by_key(|edit| match edit {
        Edit::Replace { at, .. } => at.value_start,
        Edit::Remove { at } => at.start,
    });
    let mut copied = 0;
    for edit in &edits {
        match edit {
            Edit::Replace { at, with } => {
                out.push_str(&text[copied..at.value_start]);
                copied = at.value_start + at.written.len();
                let line_end = memchr::memchr2(b'\r', b'\n', &text.as_bytes()[copied..])
                    .map_or(text.len(), |end| copied + end);
                let rest_of_line = &text[copied..line_end];
                if at.form.is_none() {
                    out.push('=');
                }
                if with.value().is_some_and(|v| v.is_empty())
                    && !rest_of_line.trim_start().is_empty()
                {
                    // `KEY=  # note` would read the same, but not in older readers.
                    out.push_str("''");
                } else {
                    write_value(with, line_ending, &mut out);
                    // `KEY="old"#note` is a comment after a quote, but `KEY=new#note` is a value.
                    if rest_of_line.starts_with('#') {
                        out.push(' ');
                    }
                }
            }
            Edit::Remove { at } => {
                out.push_str(&text[copied..at.start]);
                copied = at.end;
            }
        }
    }
    out.push_str(&text[copied..]);
    if !appended.is_empty() && !out.is_empty() && !out.ends_with(['\n', '\r']) {
        out.push_str(line_ending);
    }
    for binding in appended {
        // `check_representable` accepted this key before anything was written.
        if key_needs_quotes(binding) == Ok(true) {
            out.push('\'');
            out.push_str(binding.key);
            out.push_str("'=");
        } else {
            out.push_str(binding.key);
            out.push('=');
        }
        write_value(binding, line_ending, &mut out);
        out.push_str(line_ending);
    }
    out
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

/// Fails when a source key that will be appended has no form that reads back the same.
fn check_representable(binding: &Binding<'_>) -> Result<(), Error> {
    key_needs_quotes(binding)
        .map(drop)
        .map_err(|_| Error::UnrepresentableKey {
            key: binding.key.to_owned(),
        })
}

fn encode_key(key: &str, out: &mut String) -> Result<(), Error> {
    encode::encode_key(key, out).map_err(|_| Error::UnrepresentableKey {
        key: key.to_owned(),
    })
}

/// Writes a source binding's value as the source wrote it, which reads the same anywhere (a
/// quoted value ends at its first unescaped quote), with its line breaks in the target's
/// `line_ending`. A bare value that starts with `#` is quoted instead, since after `= ` it
/// would read as a comment.
fn write_value(binding: &Binding<'_>, line_ending: &str, out: &mut String) {
    let written = binding.written;
    if binding.form == Some(parse::Form::Bare) {
        if written.starts_with('#') {
            return encode::encode(written, out);
        }
        // A bare value is one line.
        return out.push_str(written);
    }
    let mut rest = written;
    while let Some(at) = memchr::memchr2(b'\r', b'\n', rest.as_bytes()) {
        out.push_str(&rest[..at]);
        out.push_str(line_ending);
        let skip = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[at + skip..];
    }
    out.push_str(rest);
}

/// The keys of env file text that some statement gives a value (`KEY=…`), in the order they
/// first appear: the keys `--prune` may remove. For tests and tools.
pub fn valued_keys(text: &str) -> Result<Vec<&str>, (usize, ParseError)> {
    let doc = parse::parse(text).map_err(|e| (e.line, e.error))?;
    let mut seen = foldhash::HashSet::default();
    Ok(doc
        .bindings
        .iter()
        .filter(|b| b.form.is_some() && seen.insert(b.key))
        .map(|b| b.key)
        .collect())
}

/// Parses env file text into its keys and values (last one wins), for tests and tools. A key
/// whose last statement has no `=` is left out, as `load_dotenv` sets nothing for it.
pub fn read_str(text: &str) -> Result<Vec<(String, String)>, (usize, ParseError)> {
    let doc = parse::parse(text).map_err(|e| (e.line, e.error))?;
    let values = Values::of(&doc);
    Ok(values
        .order
        .iter()
        .filter_map(|b| Some((b.key.to_owned(), b.value()?.into_owned())))
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
        encode::encode(value, &mut out);
        out.push('\n');
    }
    Ok(out)
}
