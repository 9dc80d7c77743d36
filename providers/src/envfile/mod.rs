//! `envfile`: syncs keys from one env file to another.
//!
//! ```yaml
//! secrets:
//!   provider: envfile
//!   providers:
//!     envfile:
//!       source_file: .env.local     # relative to stagecraft.yml
//!       target_file: .env.staging
//!       lock_timeout: 30s           # wait for another sync of the target (the default)
//! ```
//!
//! `SyncOptions::source` and `target` (the CLI's `--from` and `--to`, relative to the current
//! directory) override the two files. Others read it as a source (`envfile:PATH`, or a plain
//! path), and it takes another provider's keys (`SyncOptions::secrets`) as its source. The files are read in the dialect of python-dotenv 1.2.4
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
//! reads back as exactly the planned keys and values, nothing is written. The target is locked
//! for the whole read-modify-write, so that two syncs into one target run one after the other
//! (waiting at most `lock_timeout`, default 30s); syncs into other files do not wait. The
//! target's owner, group and mode are kept; only regular files are read or replaced (a FIFO, a
//! device or a socket is refused before it is opened). A target with other hard links is
//! replaced, not written through: its other names keep the old content. A sync removes no file
//! it did not make (`crate::fs`).
//!
//! A statement whose value is only `=` signs (`c2VjcmV0==`) counts as a secret pasted on a line
//! of its own, not a key: it is not synced, `--prune` leaves it, and its key is never printed.
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
use hashbrown::hash_table::Entry;
use parse::{Binding, Form, Written};
use schemars::JsonSchema;
use serde::Deserialize;
use stagecraft_core::{
    Action, ConfigError, ConfigWarning, ProviderConfig, ReadOptions, Secrets, SecretsProvider,
    SecretsSource, SyncError, SyncOptions, SyncReport, secrets_provider,
};
use std::hash::BuildHasher;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Syncs keys from one env file (`.env.local`) to another (`.env.staging`).
#[cfg(feature = "envfile")]
#[secrets_provider("envfile", settings = Options, source)]
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
    /// How long a sync waits for another sync of the same target to finish before it gives up
    /// (exit 2), such as `30s` (the default), `500ms` or `2m`.
    #[serde(default, deserialize_with = "crate::duration::timeout")]
    #[schemars(schema_with = "crate::duration::timeout_schema")]
    pub lock_timeout: Option<std::time::Duration>,
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
    /// A file too large for the reader (4 GiB or more).
    #[error("{} is too large to read as an env file (4 GiB or more)", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
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

#[cfg(feature = "envfile")]
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
        // Keys another provider read stand in for the source file.
        let source = match &opts.secrets {
            Some(_) => None,
            None => Some(file(
                &opts.source,
                options.source_file,
                "source",
                "source_file",
                "--from",
            )?),
        };
        let target = file(
            &opts.target,
            options.target_file,
            "target",
            "target_file",
            "--to",
        )?;
        let (keys, dry_run, prune) = (&opts.keys, opts.dry_run, opts.prune);
        let lock_timeout = options.lock_timeout.unwrap_or(fs::DEFAULT_LOCK_TIMEOUT);
        Ok(match (source, &opts.secrets) {
            (Some(source), _) => {
                sync_files_waiting(&source, &target, keys, dry_run, prune, lock_timeout)?
            }
            (None, Some(secrets)) => {
                // Written as env file text, valueless keys bare, and synced as a file is.
                let entries = secrets.entries().iter();
                let mut text = write_string(entries.map(|(k, v)| (k.as_str(), v.as_str())))?;
                for key in &secrets.valueless {
                    encode_key(key, &mut text)?;
                    text.push('\n');
                }
                let from = Path::new(&secrets.source);
                let open_target = || Opened::open(&target, dry_run, lock_timeout);
                sync(from, &text, &target, open_target, keys, prune)?
            }
            (None, None) => unreachable!("the source is a file unless keys were read"),
        })
    }

    fn config_warnings(&self, config: &ProviderConfig) -> Vec<ConfigWarning> {
        let Ok(options) = config.decode::<Options>() else {
            return Vec::new();
        };
        [
            (options.source_file.is_none(), "source_file", "--from"),
            (options.target_file.is_none(), "target_file", "--to"),
        ]
        .into_iter()
        .filter(|(absent, _, _)| *absent)
        .map(|(_, field, flag)| {
            config.warning(format!(
                "no `{field}`: `stagecraft secrets sync` will need {flag}"
            ))
        })
        .chain(missing_source(
            config,
            options.source_file.as_deref(),
            "source_file",
        ))
        .collect()
    }

    fn check_local(&self, config: &ProviderConfig) -> Vec<ConfigError> {
        let Ok(Options {
            target_file: Some(target),
            ..
        }) = config.decode::<Options>()
        else {
            return Vec::new();
        };
        missing_directory_of(config, &target, "target_file")
            .into_iter()
            .collect()
    }
}

/// A warning when the source file that `field` names does not exist on this machine (an env
/// file of secrets is seldom in the repository, so this is not an error).
pub(crate) fn missing_source(
    config: &ProviderConfig,
    file: Option<&Path>,
    field: &str,
) -> Option<ConfigWarning> {
    let path = config.resolve(file?);
    matches!(std::fs::metadata(&path), Err(e) if e.kind() == io::ErrorKind::NotFound).then(|| {
        config.field_warning(
            field,
            "the file does not exist here: `stagecraft secrets sync` will fail unless --from names another",
        )
    })
}

/// An error when the directory that the file `field` names should be written in does not exist.
pub(crate) fn missing_directory_of(
    config: &ProviderConfig,
    file: &Path,
    field: &str,
) -> Option<ConfigError> {
    let path = config.resolve(file);
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty())?;
    (!dir.is_dir()).then(|| {
        config.invalid_field(
            field,
            "the directory of the file does not exist: create it, or correct the path",
        )
    })
}

#[cfg(feature = "envfile")]
impl SecretsSource for EnvFile {
    /// Reads the env file at `location` (relative to the current directory), or the configured
    /// `source_file` (relative to stagecraft.yml).
    async fn read(&self, opts: ReadOptions) -> Result<Secrets, SyncError> {
        let path = match opts.location {
            Some(location) => PathBuf::from(location),
            None => {
                let options = opts.config.decode::<Options>()?;
                let base = opts.config.origin().and_then(Path::parent);
                match options.source_file {
                    Some(file) => base.unwrap_or(Path::new("")).join(file),
                    None => Err(Error::MissingFile {
                        role: "source",
                        setting: setting(&opts.config.yaml_path(), "source_file"),
                        flag: "--from",
                    })?,
                }
            }
        };
        Ok(read_file(&path)?)
    }
}

/// The keys and values of the env file at `path`; a valueless key is recorded, with a warning
/// naming its line (never its text).
pub fn read_file(path: &Path) -> Result<Secrets, Error> {
    let text = fs::read_text(path)?;
    let mut secrets = Secrets::new(path.display().to_string());
    let mut valueless = Vec::new();
    let entries = read_str_valueless(&text, |key, line| {
        tracing::warn!(file = %path.display(), line, "a key without `=` has no value; not synced");
        valueless.push(key.to_owned());
    })
    .map_err(|(line, error)| Error::Parse {
        path: path.to_owned(),
        line,
        error,
    })?;
    for (key, value) in entries {
        secrets.push(key, value);
    }
    secrets.valueless = valueless;
    Ok(secrets)
}

fn setting(section: &str, field: &str) -> String {
    if section.is_empty() {
        field.to_owned()
    } else {
        format!("{section}.{field}")
    }
}

/// Parses env file text, handing each statement to `found`; errors name the file and line.
/// Statements are kept as `u32` offsets, so a file of 4 GiB or more is refused.
fn statements<'a>(path: &Path, text: &'a str, found: impl FnMut(Binding<'a>)) -> Result<(), Error> {
    if u32::try_from(text.len()).is_err() {
        return Err(Error::TooLarge {
            path: path.to_owned(),
        });
    }
    parse::each_binding(text, true, found).map_err(|e| Error::Parse {
        path: path.to_owned(),
        line: e.line,
        error: e.error,
    })
}

/// How many statements to reserve room for: at most one a line, which reserving up front saves
/// growing the key index (and rehashing it). Past one in 8 bytes (a file of short or blank
/// lines) the room grows as needed instead, so that a file of blank lines reserves no more
/// than a fraction of its size.
fn statements_bound(text: &str) -> usize {
    (crate::fs::count_breaks(text.as_bytes()) + 1).min(text.len() / 8 + 1)
}

/// Whether a statement's value is only `=` signs (`c2VjcmV0==` reads as the key `c2VjcmV0`
/// with the value `=`): far more often a secret pasted on a line of its own, ending in base64
/// padding, than a key. Such a line counts as valueless: it is not synced, `--prune` leaves it,
/// and its key is never printed.
fn looks_pasted(b: &Binding<'_>) -> bool {
    b.value.form == Some(Form::Bare)
        && !b.value.text.is_empty()
        && b.value.text.bytes().all(|c| c == b'=')
}

/// The form of a statement's value, or `None` when it counts as valueless: it has no `=`, or
/// [`looks_pasted`].
fn valued_form(b: &Binding<'_>) -> Option<Form> {
    b.value.form.filter(|_| !looks_pasted(b))
}

/// A part of a file's text as `u32` offsets, which keep the records of a large file small.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    /// `statements` refuses texts whose offsets do not fit.
    fn of(start: usize, len: usize) -> Self {
        Span {
            start: start as u32,
            len: len as u32,
        }
    }

    fn of_value(binding: &Binding<'_>) -> Self {
        Span::of(binding.value_start, binding.value.text.len())
    }

    fn in_text(self, text: &str) -> &str {
        let start = self.start as usize;
        &text[start..start + self.len as usize]
    }
}

/// The last statement of a source key.
#[derive(Clone, Copy)]
struct Slot {
    key: Span,
    quoted_key: bool,
    form: Option<Form>,
    value: Span,
}

/// The keys of a file in the order they first appear, each with its last statement (a key
/// whose last statement has no `=` is valueless).
struct Keys<'a> {
    text: &'a str,
    slots: Vec<Slot>,
    /// Positions in `slots`, by the hash of their key: 4 bytes a key, so that the index of a
    /// large file stays in cache.
    index: HashTable<u32>,
    hasher: FixedState,
}

impl<'a> Keys<'a> {
    /// Parses `text`, handing each valueless statement to `bare` as well.
    fn parse(
        path: &Path,
        text: &'a str,
        mut bare: impl FnMut(&Binding<'a>),
    ) -> Result<Self, Error> {
        // At most one statement a line: reserving that up front (untouched pages cost nothing)
        // saves growing and copying, and rehashing the index.
        let room = statements_bound(text);
        let mut slots: Vec<Slot> = Vec::with_capacity(room);
        let mut index = HashTable::with_capacity(room);
        // Keys come from the user's own files, so a fast hash without DoS resistance is fine.
        let hasher = FixedState::default();
        statements(path, text, |b| {
            let form = valued_form(&b);
            if form.is_none() {
                bare(&b);
            }
            let slot = Slot {
                key: Span::of(b.key_start, b.key.len()),
                quoted_key: b.quoted_key,
                form,
                value: Span::of_value(&b),
            };
            let key_of = |i: &u32| slots[*i as usize].key.in_text(text);
            match index.entry(
                hasher.hash_one(b.key),
                |i| key_of(i) == b.key,
                |i| hasher.hash_one(key_of(i)),
            ) {
                Entry::Occupied(at) => slots[*at.get() as usize] = slot,
                Entry::Vacant(at) => {
                    at.insert(slots.len() as u32);
                    slots.push(slot);
                }
            }
        })?;
        tracing::debug!(file = %path.display(), keys = slots.len(), "read env file");
        Ok(Keys {
            text,
            slots,
            index,
            hasher,
        })
    }

    /// The position of `key` in `slots`, trying `next` first: a file synced from this one lists
    /// most keys in the same order, which saves hashing them. `next` becomes the position after.
    fn find_from(&self, key: &str, next: &mut usize) -> Option<usize> {
        let found = match self.slots.get(*next) {
            Some(slot) if slot.key.in_text(self.text) == key => Some(*next),
            _ => self.find(key),
        };
        if let Some(at) = found {
            *next = at + 1;
        }
        found
    }

    /// The position of `key` in `slots`.
    fn find(&self, key: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(key);
        self.index
            .find(hash, |&i| self.key(i as usize) == key)
            .map(|&i| i as usize)
    }

    fn key(&self, at: usize) -> &'a str {
        self.slots[at].key.in_text(self.text)
    }

    fn value(&self, at: usize) -> Written<'a> {
        let slot = &self.slots[at];
        Written {
            form: slot.form,
            text: slot.value.in_text(self.text),
        }
    }

    fn has_value(&self, at: usize) -> bool {
        self.slots[at].form.is_some()
    }
}

/// What the target holds of a source key (its last statement) and what the sync does to it.
#[derive(Clone, Copy, Default)]
struct Current {
    present: bool,
    form: Option<Form>,
    value: Span,
    /// What the sync does to the key; `None` when it is not selected.
    action: Option<Action>,
}

/// Syncs `keys` (all when empty) from the env file `source` into `target`.
pub fn sync_files(
    source: &Path,
    target: &Path,
    keys: &[String],
    dry_run: bool,
    prune: bool,
) -> Result<SyncReport, Error> {
    sync_files_waiting(
        source,
        target,
        keys,
        dry_run,
        prune,
        fs::DEFAULT_LOCK_TIMEOUT,
    )
}

/// [`sync_files`], waiting at most `lock_timeout` for another sync of the target.
fn sync_files_waiting(
    source: &Path,
    target: &Path,
    keys: &[String],
    dry_run: bool,
    prune: bool,
    lock_timeout: std::time::Duration,
) -> Result<SyncReport, Error> {
    // The target is locked and read while the source is read and parsed. The source's errors
    // come first, and at once: the target's thread may be waiting for its lock, which another
    // sync holds for as long as it writes. Left behind, that thread releases the lock as soon
    // as it gets it.
    let opened = {
        let target = target.to_owned();
        std::thread::spawn(move || Opened::open(&target, dry_run, lock_timeout))
    };
    let source_text = fs::read_text(source)?;
    let open_target = || {
        opened
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    };
    sync(source, &source_text, target, open_target, keys, prune)
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
    let open_target = || Opened::open(target, dry_run, fs::DEFAULT_LOCK_TIMEOUT);
    sync(source, source_text, target, open_target, keys, prune)
}

/// The target as read: locked for the whole read-modify-write, unless it is a dry run, which
/// holds no lock and writes nothing.
struct Opened {
    locked: Option<fs::LockedTarget>,
    text: String,
}

impl Opened {
    fn open(
        target: &Path,
        dry_run: bool,
        lock_timeout: std::time::Duration,
    ) -> Result<Self, Error> {
        let mut locked = if dry_run {
            fs::check_target(target)?;
            None
        } else {
            Some(fs::LockedTarget::lock_existing(target, lock_timeout)?)
        };
        let text = match &mut locked {
            Some(locked) => locked.read_text()?,
            None => fs::read_text_if_exists(target)?,
        };
        Ok(Opened {
            locked,
            text: text.unwrap_or_default(),
        })
    }
}

/// Syncs the source's keys into the target, which `open_target` locks and reads once the
/// source is parsed and its keys are found.
fn sync(
    source: &Path,
    source_text: &str,
    target: &Path,
    open_target: impl FnOnce() -> Result<Opened, Error>,
    keys: &[String],
    prune: bool,
) -> Result<SyncReport, Error> {
    let from = Keys::parse(source, source_text, |bare| {
        // The line may be a secret pasted on a line of its own: only its place is named.
        if looks_pasted(bare) {
            tracing::warn!(file = %source.display(), line = bare.line, "a line whose value is only `=` signs reads as a pasted secret, not a key; not synced");
        } else {
            tracing::warn!(file = %source.display(), line = bare.line, "a key without `=` has no value; not synced");
        }
    })?;
    let selected: Vec<usize> = if keys.is_empty() {
        (0..from.slots.len())
            .filter(|&i| from.has_value(i))
            .collect()
    } else {
        let found: Vec<Option<usize>> = keys
            .iter()
            .map(|k| from.find(k).filter(|&i| from.has_value(i)))
            .collect();
        let missing: Vec<String> = keys
            .iter()
            .zip(&found)
            .filter(|(_, at)| at.is_none())
            .map(|(key, _)| key.clone())
            .collect();
        if !missing.is_empty() {
            return Err(Error::MissingKeys {
                path: source.to_owned(),
                keys: missing,
            });
        }
        // A key asked for twice is synced once.
        let mut asked = vec![false; from.slots.len()];
        found
            .into_iter()
            .flatten()
            .filter(|&i| !std::mem::replace(&mut asked[i], true))
            .collect()
    };
    let Opened {
        mut locked,
        text: mut target_text,
    } = open_target()?;
    if let Some(absent) = locked.as_ref().filter(|locked| !locked.exists()) {
        // A new target is created (empty) to be locked only now that the source is known to be
        // good, so that a bad source leaves nothing behind. It may have appeared meanwhile.
        let mut created = absent.lock_again()?;
        target_text = created.read_text()?.unwrap_or_default();
        locked = Some(created);
    }

    // The target's last statement of each source key; for `--prune`, the keys the source does
    // not mention, in the order they first appear, and whether any statement gives them a value.
    let mut current = vec![Current::default(); from.slots.len()];
    let mut others: foldhash::HashMap<&str, bool> = foldhash::HashMap::default();
    let mut others_order = Vec::new();
    let mut valueless_lines = Vec::new();
    let mut next = 0;
    // The line ending of appended keys: the first that ends a line outside a value.
    let mut line_ending = None;
    let mut outside_values = 0;
    statements(target, &target_text, |b| {
        if line_ending.is_none() {
            let value_end = b.value_start + b.value.text.len();
            line_ending = first_break(&target_text, outside_values..b.value_start)
                .or_else(|| first_break(&target_text, value_end..b.end));
            outside_values = b.end;
        }
        match from.find_from(b.key, &mut next) {
            Some(i) => {
                current[i] = Current {
                    present: true,
                    form: b.value.form,
                    value: Span::of_value(&b),
                    action: None,
                }
            }
            None if prune => {
                let valued = others.entry(b.key).or_insert_with(|| {
                    others_order.push(b.key);
                    false
                });
                let has_value = valued_form(&b).is_some();
                *valued |= has_value;
                if !has_value {
                    valueless_lines.push((b.key, b.line));
                }
            }
            None => {}
        }
    })?;
    let line_ending = line_ending
        .or_else(|| first_break(&target_text, outside_values..target_text.len()))
        .unwrap_or("\n");
    // `--prune` removes the keys the source does not mention; a key it leaves valueless stays.
    // A target key that never has a value is left too: its line may be a secret pasted on a
    // line of its own, which the report would print as a removed key.
    let pruned = |key: &str| others.get(key) == Some(&true);
    for (_, line) in valueless_lines.iter().filter(|(key, _)| !pruned(key)) {
        tracing::warn!(file = %target.display(), line, "a key without `=` has no value; left in place by --prune");
    }

    let mut appended = Vec::new();
    let mut replaced = false;
    for &i in &selected {
        let now = &mut current[i];
        now.action = Some(if !now.present {
            check_representable(&from, i)?;
            appended.push(i);
            Action::Added
        } else if from.value(i).same(&Written {
            form: now.form,
            text: now.value.in_text(&target_text),
        }) {
            Action::Unchanged
        } else {
            replaced = true;
            // A valueless key gets its value where it stands.
            if now.form.is_none() {
                Action::Added
            } else {
                Action::Changed
            }
        });
    }
    let removed: Vec<&str> = others_order.into_iter().filter(|k| pruned(k)).collect();
    let report = |removed: &[&str]| {
        let mut report =
            SyncReport::new(source.display().to_string(), target.display().to_string());
        let keys = selected.iter().map(|&i| from.key(i));
        report.reserve(
            selected.len() + removed.len(),
            keys.clone()
                .chain(removed.iter().copied())
                .map(str::len)
                .sum(),
        );
        for (key, &i) in keys.zip(&selected) {
            report.push(key, current[i].action.unwrap_or(Action::Unchanged));
        }
        for key in removed {
            report.push(key, Action::Removed);
        }
        report
    };
    // A dry run holds no lock; it and a sync with nothing to change write nothing. The target's
    // text goes before the report is made, which keeps the peak memory of an up-to-date run low.
    let writes = replaced || !appended.is_empty() || !removed.is_empty();
    if writes && locked.is_none() {
        // A dry run reports what the sync would meet: a target it could not replace.
        fs::check_writable(target)?;
    }
    let Some(locked) = locked.filter(|_| writes) else {
        // Only a dry run has keys to remove here.
        let removed: Vec<String> = removed.iter().map(|&k| k.to_owned()).collect();
        drop(others);
        drop(target_text);
        return Ok(report(
            &removed.iter().map(String::as_str).collect::<Vec<_>>(),
        ));
    };
    let written = locked.replace(|out| {
        std::thread::scope(|scope| {
            let mut out = Checked::new(out, scope);
            let kept = Kept {
                current: &current,
                pruned: &pruned,
                appended: &appended,
                line_ending,
            };
            write_target(&from, &target_text, &kept, &mut out)
        })
    });
    if let Err(FsError::Io { source, .. }) = &written
        && source.get_ref().is_some_and(|e| e.is::<Unverified>())
    {
        return Err(Error::Unverified {
            path: target.to_owned(),
        });
    }
    written?;
    tracing::debug!(file = %target.display(), "replaced env file");
    let mut report = report(&removed);
    report.written = true;
    Ok(report)
}

/// The line break that starts first in `range` of `text`: `\r\n`, `\r` or `\n`.
fn first_break(text: &str, range: std::ops::Range<usize>) -> Option<&'static str> {
    let at = range.start + memchr::memchr2(b'\r', b'\n', &text.as_bytes()[range])?;
    Some(match &text.as_bytes()[at..] {
        [b'\r', b'\n', ..] => "\r\n",
        [b'\r', ..] => "\r",
        _ => "\n",
    })
}

/// What the plan keeps of the target and adds to it.
struct Kept<'p> {
    /// What the target holds of each source key, and what the sync does to it.
    current: &'p [Current],
    /// Whether `--prune` removes a key.
    pruned: &'p dyn Fn(&str) -> bool,
    /// The source keys to append.
    appended: &'p [usize],
    /// The line ending of the target's statements, for appended keys and copied values.
    line_ending: &'p str,
}

/// Writes the updated target to `out`: the target's text with the changed values rewritten
/// where they stand and the pruned statements left out, then the `appended` source keys, in the
/// file's own line ending. Each statement is planned as it is written: the target's statements
/// in order, less the pruned ones, each last statement of a selected key with the source's
/// value, then the appended ones.
fn write_target<'s, 'w: 's, 'a: 's>(
    from: &Keys<'a>,
    text: &'a str,
    kept: &Kept<'_>,
    out: &mut Checked<'s, 'w, 'a>,
) -> io::Result<()> {
    let Kept {
        current,
        pruned,
        appended,
        line_ending,
    } = *kept;
    let mut copied = 0;
    let mut next = 0;
    let mut result = Ok(());
    // The target was parsed before: this second pass cannot fail.
    let _ = parse::each_binding(text, true, |b| {
        if result.is_err() {
            return;
        }
        let Some(i) = from.find_from(b.key, &mut next) else {
            if pruned(b.key) {
                out.copy(text, copied..b.start, line_ending);
            } else {
                out.chunk.planned.push((b.key, b.value));
                out.copy(text, copied..b.end, line_ending);
            }
            copied = b.end;
            return result = out.flush();
        };
        let now = &current[i];
        let last = now.present && now.value == Span::of_value(&b);
        let selected = last && now.action.is_some();
        if selected && matches!(now.action, Some(Action::Changed | Action::Added)) {
            out.copy(text, copied..b.value_start, line_ending);
            copied = replace_value(text, &b, from.value(i), line_ending, &mut out.chunk.text);
        }
        out.chunk
            .planned
            .push((b.key, if selected { from.value(i) } else { b.value }));
        out.copy(text, copied..b.end, line_ending);
        copied = b.end;
        result = out.flush();
    });
    result?;
    out.copy(text, copied..text.len(), line_ending);
    if !appended.is_empty() && !out.ends_line() {
        out.chunk.text.push_str(line_ending);
    }
    for &i in appended {
        let slot = &from.slots[i];
        let key = from.key(i);
        // `check_representable` accepted this key before anything was written.
        if key_needs_quotes(key, slot.quoted_key) == Ok(true) {
            out.chunk.text.push('\'');
            out.chunk.text.push_str(key);
            out.chunk.text.push_str("'=");
        } else {
            out.chunk.text.push_str(key);
            out.chunk.text.push('=');
        }
        write_value(from.value(i), line_ending, &mut out.chunk.text);
        out.chunk.text.push_str(line_ending);
        out.chunk.planned.push((key, from.value(i)));
        out.flush()?;
    }
    out.finish()
}

/// Writes the source's value `with` in place of the value of the target statement `at`; returns
/// where the copy of the target goes on.
fn replace_value(
    text: &str,
    at: &Binding<'_>,
    with: Written<'_>,
    line_ending: &str,
    out: &mut String,
) -> usize {
    let after = at.value_start + at.value.text.len();
    let line_end = memchr::memchr2(b'\r', b'\n', &text.as_bytes()[after..])
        .map_or(text.len(), |end| after + end);
    let rest_of_line = &text[after..line_end];
    if at.value.form.is_none() {
        out.push('=');
    }
    if with.decode().is_some_and(|v| v.is_empty()) && !rest_of_line.trim_start().is_empty() {
        // `KEY=  # note` would read the same, but not in older readers.
        out.push_str("''");
    } else {
        write_value(with, line_ending, out);
        // `KEY="old"#note` is a comment after a quote, but `KEY=new#note` is a value.
        if rest_of_line.starts_with('#') {
            out.push(' ');
        }
    }
    after
}

/// A chunk of the new text of a target, with the key and value of each of its statements.
#[derive(Default)]
struct Chunk<'a> {
    text: String,
    planned: Vec<(&'a str, Written<'a>)>,
    /// Whether the chunk starts the file, where a BOM is skipped.
    file_start: bool,
}

impl Chunk<'_> {
    /// Whether the text reads back as exactly the planned statements, in order.
    fn reads_as_planned(&self) -> bool {
        let mut planned = self.planned.iter();
        let mut as_planned = true;
        let parsed = parse::each_binding(&self.text, self.file_start, |b| {
            as_planned &= planned
                .next()
                .is_some_and(|(key, value)| *key == b.key && value.same(&b.value));
        });
        parsed.is_ok() && as_planned && planned.next().is_none()
    }

    /// Writes the chunk if it reads back as planned, and empties it.
    fn check_and_write(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if !self.reads_as_planned() {
            return Err(io::Error::other(Unverified));
        }
        out.write_all(self.text.as_bytes())?;
        self.text.clear();
        self.planned.clear();
        Ok(())
    }
}

/// What stops a write whose text does not read back as planned.
#[derive(Debug, thiserror::Error)]
#[error("the new text does not read back as planned")]
struct Unverified;

/// The new text of a target, written in chunks that are each parsed again before they are
/// written: unless every chunk reads back as exactly the statements planned for it, writing
/// stops and the target is not replaced. A chunk is handed on only when it ends a line, so that
/// each is parsed as it reads in the whole file. Once the text outgrows a chunk, a thread
/// checks and writes each chunk while the next one is made.
struct Checked<'s, 'w, 'a> {
    /// The chunk being made; its `file_start` stays true until a first chunk is handed on.
    chunk: Chunk<'a>,
    /// Whether what was handed on ends with a line break.
    ends_with_break: bool,
    sink: Sink<'s, 'w, 'a>,
}

enum Sink<'s, 'w, 'a> {
    Here(&'w mut (dyn Write + Send), &'s std::thread::Scope<'s, 'w>),
    Thread {
        full: std::sync::mpsc::SyncSender<Chunk<'a>>,
        empty: std::sync::mpsc::Receiver<Chunk<'a>>,
        worker: std::thread::ScopedJoinHandle<'s, io::Result<()>>,
    },
    Gone,
}

/// The size of a chunk: it stays in cache while it is checked.
const CHUNK: usize = 1 << 17;

impl<'s, 'w: 's, 'a: 's> Checked<'s, 'w, 'a> {
    fn new(out: &'w mut (dyn Write + Send), scope: &'s std::thread::Scope<'s, 'w>) -> Self {
        Checked {
            chunk: Chunk {
                text: String::with_capacity(CHUNK + (CHUNK >> 2)),
                planned: Vec::new(),
                file_start: true,
            },
            ends_with_break: false,
            sink: Sink::Here(out, scope),
        }
    }

    /// Whether the text so far is empty or ends with a line break.
    fn ends_line(&self) -> bool {
        match self.chunk.text.as_bytes().last() {
            Some(last) => matches!(last, b'\n' | b'\r'),
            None => self.chunk.file_start || self.ends_with_break,
        }
    }

    /// Copies `range` of the target's `text`. A BOM that would start the new file (everything
    /// before it pruned) gets a line break before it, since a reader skips a BOM there.
    fn copy(&mut self, text: &str, range: std::ops::Range<usize>, line_ending: &str) {
        let part = &text[range.clone()];
        if range.start > 0
            && part.starts_with('\u{feff}')
            && self.chunk.text.is_empty()
            && self.chunk.file_start
        {
            self.chunk.text.push_str(line_ending);
        }
        self.chunk.text.push_str(part);
    }

    /// Hands the chunk on to be checked and written when it is large enough and ends a line.
    fn flush(&mut self) -> io::Result<()> {
        // It is called at the end of a statement, so a `\r` there is a whole line break.
        if self.chunk.text.len() < CHUNK || !self.chunk.text.ends_with(['\n', '\r']) {
            return Ok(());
        }
        self.sink = match std::mem::replace(&mut self.sink, Sink::Gone) {
            Sink::Here(out, scope) => {
                let (full, chunks) = std::sync::mpsc::sync_channel::<Chunk<'a>>(1);
                let (done, empty) = std::sync::mpsc::channel();
                let worker = scope.spawn(move || {
                    for mut chunk in chunks {
                        chunk.check_and_write(out)?;
                        // The maker may be gone after an error of its own.
                        let _ = done.send(chunk);
                    }
                    Ok(())
                });
                Sink::Thread {
                    full,
                    empty,
                    worker,
                }
            }
            started => started,
        };
        let Sink::Thread { full, empty, .. } = &self.sink else {
            unreachable!("the thread was started")
        };
        let next = empty.try_recv().unwrap_or_default();
        let chunk = std::mem::replace(
            &mut self.chunk,
            Chunk {
                file_start: false,
                ..next
            },
        );
        self.ends_with_break = chunk.text.ends_with(['\n', '\r']);
        if full.send(chunk).is_err() {
            // The thread stopped at an error, which `finish` returns.
            return self.finish();
        }
        Ok(())
    }

    /// Checks and writes what is left, and waits for the thread.
    fn finish(&mut self) -> io::Result<()> {
        match std::mem::replace(&mut self.sink, Sink::Gone) {
            Sink::Here(out, _) => self.chunk.check_and_write(out),
            Sink::Thread { full, worker, .. } => {
                let last = std::mem::take(&mut self.chunk);
                let sent = full.send(last);
                drop(full);
                let written = worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                written?;
                sent.map_err(|_| io::Error::other("the writer stopped"))
            }
            Sink::Gone => Err(io::Error::other("the writer stopped")),
        }
    }
}

/// Whether a source key must be written in quotes (`encode::key_needs_quotes`). A key the
/// source wrote unquoted has none of the characters that need them, so only one that starts
/// with a BOM (which the reader skips at the start of a file) or was quoted is looked at.
fn key_needs_quotes(key: &str, quoted: bool) -> Result<bool, encode::Unrepresentable> {
    if quoted || key.starts_with('\u{feff}') {
        encode::key_needs_quotes(key)
    } else {
        Ok(false)
    }
}

/// Fails when a source key that will be appended has no form that reads back the same.
fn check_representable(from: &Keys<'_>, at: usize) -> Result<(), Error> {
    let key = from.key(at);
    key_needs_quotes(key, from.slots[at].quoted_key)
        .map(drop)
        .map_err(|_| Error::UnrepresentableKey {
            key: key.to_owned(),
        })
}

fn encode_key(key: &str, out: &mut String) -> Result<(), Error> {
    encode::encode_key(key, out).map_err(|_| Error::UnrepresentableKey {
        key: key.to_owned(),
    })
}

/// Writes a source value as the source wrote it, which reads the same anywhere (a quoted value
/// ends at its first unescaped quote), with its line breaks in the target's `line_ending`. A
/// bare value that starts with `#` is quoted instead, since after `= ` it would read as a
/// comment.
fn write_value(value: Written<'_>, line_ending: &str, out: &mut String) {
    let written = value.text;
    if value.form == Some(Form::Bare) {
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
    let mut seen = foldhash::HashSet::default();
    let mut keys = Vec::new();
    parse::each_binding(text, true, |b| {
        if b.value.form.is_some() && seen.insert(b.key) {
            keys.push(b.key);
        }
    })
    .map_err(|e| (e.line, e.error))?;
    Ok(keys)
}

/// Parses env file text into its keys and values (last one wins), for tests and tools. A key
/// whose last statement has no `=` is left out, as `load_dotenv` sets nothing for it.
pub fn read_str(text: &str) -> Result<Vec<(String, String)>, (usize, ParseError)> {
    read_str_valueless(text, |_, _| {})
}

/// Like [`read_str`], and hands each valueless key (its last statement has no `=`: it is not
/// synced) to `valueless` with the line of that statement, in the order keys first appear.
pub fn read_str_valueless(
    text: &str,
    mut valueless: impl FnMut(&str, usize),
) -> Result<Vec<(String, String)>, (usize, ParseError)> {
    let room = statements_bound(text);
    let mut order: Vec<(&str, Written<'_>, usize)> = Vec::with_capacity(room);
    let mut index: HashTable<usize> = HashTable::with_capacity(room);
    let hasher = FixedState::default();
    parse::each_binding(text, true, |b| {
        match index.entry(
            hasher.hash_one(b.key),
            |&i| order[i].0 == b.key,
            |&i| hasher.hash_one(order[i].0),
        ) {
            Entry::Occupied(at) => {
                let last = &mut order[*at.get()];
                (last.1, last.2) = (b.value, b.line);
            }
            Entry::Vacant(at) => {
                at.insert(order.len());
                order.push((b.key, b.value, b.line));
            }
        }
    })
    .map_err(|e| (e.line, e.error))?;
    Ok(order
        .into_iter()
        .filter_map(|(key, value, line)| match value.decode() {
            Some(value) => Some((key.to_owned(), value.into_owned())),
            None => {
                valueless(key, line);
                None
            }
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bare(text: &str) -> Written<'_> {
        Written {
            form: Some(Form::Bare),
            text,
        }
    }

    #[test]
    fn a_chunk_is_written_only_when_it_reads_back_as_planned() {
        let mut file = Vec::new();
        let chunk = |text: &str, planned: Vec<(&'static str, Written<'static>)>| Chunk {
            text: text.to_owned(),
            planned,
            file_start: true,
        };
        chunk("# c\nA=1\n", vec![("A", bare("1"))])
            .check_and_write(&mut file)
            .unwrap();
        // Another value, another key, a statement too many or too few: nothing is written.
        for (text, planned) in [
            ("A=2\n", vec![("A", bare("1"))]),
            ("B=1\n", vec![("A", bare("1"))]),
            ("A=1\nB=1\n", vec![("A", bare("1"))]),
            ("A=1\n", vec![("A", bare("1")), ("B", bare("1"))]),
            ("A=\"1\n", vec![("A", bare("1"))]),
        ] {
            let error = chunk(text, planned).check_and_write(&mut file).unwrap_err();
            assert!(error.get_ref().unwrap().is::<Unverified>(), "{text:?}");
        }
        assert_eq!(file, b"# c\nA=1\n");
    }

    /// Hands `lines` (each planned as `A=1`) to a checker, one at a time.
    fn write_lines(lines: &[&str]) -> (io::Result<()>, Vec<u8>) {
        let mut file = Vec::new();
        let result = std::thread::scope(|scope| {
            let mut out = Checked::new(&mut file, scope);
            for line in lines {
                out.chunk.text.push_str(line);
                out.chunk.planned.push(("A", bare("1")));
                out.flush()?;
            }
            out.finish()
        });
        (result, file)
    }

    #[test]
    fn chunks_are_checked_and_written_in_order_by_a_thread() {
        let line = "A=1\n".to_owned() + &"# padding\n".repeat(1000);
        let lines = vec![line.as_str(); 3 * CHUNK / line.len()];
        let (result, file) = write_lines(&lines);
        result.unwrap();
        assert_eq!(file, lines.concat().as_bytes());
        // A chunk that does not read back as planned stops the writing: what follows is not
        // written, and the error says why.
        let mut broken = lines.clone();
        let at = broken.len() - 3;
        broken[at] = "A=2\n";
        let (result, file) = write_lines(&broken);
        assert!(result.unwrap_err().get_ref().unwrap().is::<Unverified>());
        assert!(file.len() < broken[..at].concat().len());
    }

    /// Records the size of each write.
    #[derive(Default)]
    struct Writes {
        sizes: Vec<usize>,
        bytes: Vec<u8>,
    }

    impl Write for Writes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.sizes.push(buf.len());
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn keys_the_source_does_not_mention_are_written_in_chunks_too() {
        for line_ending in ["\n", "\r\n", "\r"] {
            written_in_chunks(line_ending);
        }
    }

    fn written_in_chunks(line_ending: &str) {
        // A small source appended to a large target whose keys it does not mention: the
        // target's statements go out chunk by chunk, not as one copy of the whole file, whatever
        // its line ending.
        let target: String = (0..40_000)
            .map(|i| format!("OTHER_{i}=value-{i}{line_ending}"))
            .collect();
        let from = Keys::parse(Path::new("source"), "NEW=1\n", |_| {}).unwrap();
        let current = vec![Current::default(); from.slots.len()];
        let mut file = Writes::default();
        std::thread::scope(|scope| {
            let mut out = Checked::new(&mut file, scope);
            let kept = Kept {
                current: &current,
                pruned: &|_| false,
                appended: &[0],
                line_ending,
            };
            write_target(&from, &target, &kept, &mut out)
        })
        .unwrap();
        assert_eq!(file.bytes, format!("{target}NEW=1{line_ending}").as_bytes());
        assert!(target.len() > 4 * CHUNK);
        assert!(
            file.sizes.iter().all(|&n| n < 2 * CHUNK),
            "{:?}",
            file.sizes
        );
    }

    #[test]
    fn a_chunk_waits_for_the_end_of_a_line() {
        let long = "# padding\n".repeat(CHUNK / 8) + "A=1";
        let (result, file) = write_lines(&[&long, "\rA=1"]);
        // Handed on only at the end: as one chunk, the lone `\r` ends a line.
        result.unwrap();
        assert_eq!(file.len(), long.len() + 4);
        let mut file = Vec::new();
        std::thread::scope(|scope| {
            let mut out = Checked::new(&mut file, scope);
            out.chunk.text.push_str(&long);
            out.flush().unwrap();
            assert!(!out.ends_line());
            assert!(matches!(out.sink, Sink::Here(..)));
        });
    }
}
