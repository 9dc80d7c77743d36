//! `stagecraft.yml`: the one module that knows the YAML library, so that it can be swapped here.

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use std::fmt;
use std::io::Read as _;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::Registry;

/// A problem with `stagecraft.yml` or a provider's section of it. Messages name the file, the
/// line and the YAML path; they never quote a value from the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The config file does not exist.
    #[error("config file {} not found", path.display())]
    ConfigNotFound {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// No `--config`, no `STAGECRAFT_CONFIG`, and no `stagecraft.yml` in the directory the
    /// search started from or any of its parents.
    #[error(
        "no {name} in {} or any parent directory; create one, or name it with --config or STAGECRAFT_CONFIG",
        start.display()
    )]
    NotDiscovered {
        /// The file name looked for, `stagecraft.yml`.
        name: String,
        /// The directory the search started from (the current directory).
        start: PathBuf,
    },
    /// The config file could not be read.
    #[error("cannot read config file {}: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        message: String,
    },
    /// The config file is larger than [`MAX_CONFIG_BYTES`]; it was not parsed.
    #[error("config file {} is larger than 1 MiB; refusing to parse it", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The file is not valid YAML, or a value has the wrong shape.
    #[error(
        "{}{location}: {}{message}",
        origin_display(file),
        yaml_path_prefix(path)
    )]
    Invalid {
        /// The config file, when the config came from one.
        file: Option<PathBuf>,
        /// `line L column C`, when known.
        location: Location,
        /// The YAML path of the offending value, such as `secrets.providers.envfile.source_file`.
        path: String,
        /// What is wrong, without the value.
        message: String,
    },
}

fn origin_display(file: &Option<PathBuf>) -> String {
    file.as_ref()
        .map_or_else(|| "config".to_owned(), |f| f.display().to_string())
}

fn yaml_path_prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

/// Something in `stagecraft.yml` that is valid but that a sync may still trip on, such as a
/// setting left to a command-line flag. Like [`ConfigError`], it never quotes a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The config file, when the config came from one.
    pub file: Option<PathBuf>,
    /// Where the section it is about starts.
    pub location: Location,
    /// The YAML path it is about, such as `secrets.providers.envfile`.
    pub path: String,
    /// What may go wrong, and how to avoid it.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}: {}{}",
            origin_display(&self.file),
            self.location,
            yaml_path_prefix(&self.path),
            self.message
        )
    }
}

/// A position in a YAML file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    /// The line, or 0 when unknown.
    pub line: usize,
    /// The column, or 0 when unknown.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            Ok(())
        } else {
            write!(f, ":{}:{}", self.line, self.column)
        }
    }
}

/// A provider's section of `stagecraft.yml` (`secrets.providers.<id>`), decoded by the provider
/// into its own options type with [`ProviderConfig::decode`]. Its `Debug` output shows where the
/// section comes from, never what it holds.
#[derive(Clone, Default)]
pub struct ProviderConfig {
    origin: Option<PathBuf>,
    text: Arc<str>,
    path: Vec<String>,
}

impl ProviderConfig {
    /// A section given directly as YAML text, such as `"source_file: .env.local"`.
    pub fn from_yaml(text: impl Into<Arc<str>>) -> Self {
        ProviderConfig {
            origin: None,
            text: text.into(),
            path: Vec::new(),
        }
    }

    /// The section at `path` (for example `["secrets", "providers", "envfile"]`) of a YAML
    /// document read from `origin`.
    pub fn from_document(origin: &Path, text: Arc<str>, path: &[&str]) -> Self {
        ProviderConfig {
            origin: Some(origin.to_owned()),
            text,
            path: path.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// The file the section comes from, if any.
    pub fn origin(&self) -> Option<&Path> {
        self.origin.as_deref()
    }

    /// The YAML path of the section, such as `secrets.providers.envfile`.
    pub fn yaml_path(&self) -> String {
        self.path.join(".")
    }

    /// Decodes the section. An absent or empty section decodes like an empty map. Errors carry
    /// the file, line, column and full YAML path of the offending value.
    ///
    /// A scalar keeps its YAML type, as it does for an editor checking the file against
    /// `stagecraft config schema`: `source_file: 123` is an integer, not the string `"123"`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.decode_value(self.section()?)
            .map_err(|(error, _)| error)
    }

    /// Decodes the section as [`decode`](Self::decode) does, but reports every setting that is
    /// wrong, not only the first: the setting of each error is set aside and the rest decoded
    /// again, as an editor checking the file against the schema shows them all.
    pub fn decode_all<T: DeserializeOwned>(&self) -> Result<T, Vec<ConfigError>> {
        let mut section = self.section().map_err(|e| vec![e])?;
        let mut errors = Vec::new();
        let mut set_aside = Vec::new();
        loop {
            let (error, setting) = match self.decode_value::<T>(section.clone()) {
                Ok(decoded) if errors.is_empty() => return Ok(decoded),
                Ok(_) => return Err(in_file_order(errors)),
                Err(failed) => failed,
            };
            // A required setting set aside is missing only because of that: said already.
            if let ConfigError::Invalid { message, .. } = &error
                && set_aside
                    .iter()
                    .any(|key| *message == format!("missing field `{key}`"))
            {
                return Err(in_file_order(errors));
            }
            errors.push(error);
            let removed = match (setting, &mut section) {
                (Some(key), serde_yaml::Value::Mapping(map)) => {
                    let removed = map.remove(key.as_str()).is_some();
                    set_aside.push(key);
                    removed
                }
                _ => false,
            };
            if !removed {
                return Err(in_file_order(errors));
            }
        }
    }

    /// The section's value: an absent or empty one is an empty map.
    fn section(&self) -> Result<serde_yaml::Value, ConfigError> {
        let section = if self.text.trim().is_empty() {
            serde_yaml::Value::Null
        } else {
            let root =
                load(&self.text).map_err(|e| invalid(self.origin.clone(), String::new(), &e))?;
            self.path
                .iter()
                .try_fold(root, |value, key| match value {
                    serde_yaml::Value::Mapping(mut map) => map.remove(key.as_str()),
                    _ => None,
                })
                .unwrap_or(serde_yaml::Value::Null)
        };
        Ok(match section {
            serde_yaml::Value::Null => serde_yaml::Value::Mapping(Default::default()),
            section => section,
        })
    }

    /// Decodes `section`; an error comes with the setting (the section's key) it is about, if
    /// any.
    fn decode_value<T: DeserializeOwned>(
        &self,
        section: serde_yaml::Value,
    ) -> Result<T, (ConfigError, Option<String>)> {
        if let Some(inner) = tagged(&section) {
            let setting = inner.first().cloned();
            let message = "a YAML tag such as `!name` is not supported here".to_owned();
            return Err((self.invalid_at(inner, message), setting));
        }
        serde_path_to_error::deserialize(section).map_err(|e| {
            let inner: Vec<String> = e
                .path()
                .iter()
                .map(|segment| match segment {
                    serde_path_to_error::Segment::Seq { index } => index.to_string(),
                    other => other.to_string(),
                })
                .collect();
            let message = redact(&e.into_inner().to_string());
            let setting = inner.first().cloned().or_else(|| {
                message
                    .strip_prefix("unknown field `")
                    .and_then(|rest| rest.split_once('`'))
                    .map(|(field, _)| field.to_owned())
            });
            // A `Value` has no position, so the message ends with none: the path gives it.
            (self.invalid_at(inner, message), setting)
        })
    }

    /// An error about the value at `inner`, a path inside the section; an unknown field is
    /// located at its key.
    fn invalid_at(&self, inner: Vec<String>, message: String) -> ConfigError {
        let path: Vec<&str> = self.path.iter().chain(&inner).map(String::as_str).collect();
        ConfigError::Invalid {
            file: self.origin.clone(),
            location: if self.text.trim().is_empty() {
                Location::default()
            } else if message.starts_with("unknown field") {
                locate_key(&self.text, &path)
            } else {
                locate(&self.text, &path)
            },
            path: path.join("."),
            message,
        }
    }

    /// An error about `field` of this section that decoding cannot find (such as two settings
    /// that exclude each other), located at the field in the file. `message` must not quote a
    /// value.
    pub fn invalid_field(&self, field: &str, message: impl Into<String>) -> ConfigError {
        let mut path: Vec<&str> = self.path.iter().map(String::as_str).collect();
        path.push(field);
        ConfigError::Invalid {
            file: self.origin.clone(),
            location: locate(&self.text, &path),
            path: path.join("."),
            message: message.into(),
        }
    }

    /// A path set in this section, as a sync reads it: relative to the config file's directory
    /// (to the current directory for a section given as text).
    pub fn resolve(&self, path: &Path) -> PathBuf {
        self.origin
            .as_deref()
            .and_then(Path::parent)
            .unwrap_or(Path::new(""))
            .join(path)
    }

    /// A warning about `field` of this section, located at the field. `message` must not quote
    /// a value.
    pub fn field_warning(&self, field: &str, message: impl Into<String>) -> ConfigWarning {
        let mut path: Vec<&str> = self.path.iter().map(String::as_str).collect();
        path.push(field);
        ConfigWarning {
            file: self.origin.clone(),
            location: locate(&self.text, &path),
            path: path.join("."),
            message: message.into(),
        }
    }

    /// A warning about this section, located at its key (`envfile:`), which an empty section has too.
    pub fn warning(&self, message: impl Into<String>) -> ConfigWarning {
        let path: Vec<&str> = self.path.iter().map(String::as_str).collect();
        ConfigWarning {
            file: self.origin.clone(),
            location: if self.origin.is_some() {
                locate_key(&self.text, &path)
            } else {
                Location::default()
            },
            path: self.yaml_path(),
            message: message.into(),
        }
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("origin", &self.origin)
            .field("path", &self.yaml_path())
            .finish_non_exhaustive()
    }
}

/// `errors` sorted by where they are in the file, as an editor lists them.
fn in_file_order(mut errors: Vec<ConfigError>) -> Vec<ConfigError> {
    errors.sort_by_key(|error| match error {
        ConfigError::Invalid { location, .. } => (location.line, location.column),
        _ => (0, 0),
    });
    errors
}

/// Builds [`ConfigError::Invalid`] from a YAML error, keeping its position but not the values it
/// may quote. `path` is the full YAML path (serde_path_to_error writes `.` for the root).
fn invalid(file: Option<PathBuf>, path: String, error: &serde_yaml::Error) -> ConfigError {
    let location = location_of(error);
    let mut message = error.to_string();
    // The position comes last: " at line L column C", or for libyaml errors
    // " at line L column C, while parsing … at line L column C".
    // A quoted value may itself hold " at line ", so there the last one is the position.
    let at = if error_quotes_a_value(&message) {
        message.rfind(" at line ")
    } else {
        message.find(" at line ")
    };
    if let Some(at) = at.filter(|_| location.is_some()) {
        message.truncate(at);
    }
    let path = if path == "." { String::new() } else { path };
    ConfigError::Invalid {
        file,
        location: location.unwrap_or_default(),
        message: redact(without_path(&message, &path)),
        path,
    }
}

/// Whether serde's message may quote a value, so that its text is rebuilt rather than cut.
fn error_quotes_a_value(message: &str) -> bool {
    SERDE_PHRASES.iter().any(|phrase| message.contains(phrase))
}

/// The messages of `serde::de::Error`'s provided methods that quote the offending value.
const SERDE_PHRASES: [&str; 4] = [
    "invalid type: ",
    "invalid value: ",
    "invalid length ",
    "unknown variant ",
];

/// Messages that quote no value: serde's about fields, and this module's own.
const SAFE_PHRASES: [&str; 6] = [
    "unknown field ",
    "missing field ",
    "duplicate field ",
    "duplicate key ",
    "more values once aliases",
    "too many alias expansions",
];

/// `message` without the YAML path serde_yaml puts first, which may differ from `path` (which
/// ends at the offending key): a known message is found where it starts.
fn without_path<'m>(message: &'m str, path: &str) -> &'m str {
    let known = SERDE_PHRASES.iter().chain(&SAFE_PHRASES);
    if let Some(at) = known.filter_map(|p| message.find(p)).min() {
        return &message[at..];
    }
    message
        .strip_prefix(path)
        .and_then(|rest| rest.strip_prefix(": "))
        .unwrap_or(message)
}

/// serde quotes the offending value in "invalid type: string \"…\", expected …", and serde_yaml
/// puts its own YAML path before that in a whole-document parse, so the message is rebuilt from
/// what is known to be safe: the kind of value found (from a fixed list) and what was expected
/// (the deserializer's own words).
fn redact(message: &str) -> String {
    let found = SERDE_PHRASES
        .iter()
        .filter_map(|phrase| message.find(phrase).map(|at| (at, *phrase)))
        .min();
    let Some((at, phrase)) = found else {
        return message.to_owned();
    };
    let rest = &message[at + phrase.len()..];
    // The value comes before the last ", expected": what follows is the deserializer's text.
    let (unexpected, expected) = match rest.rfind(", expected ") {
        Some(split) => (&rest[..split], &rest[split..]),
        None => (rest, ""),
    };
    let expected = match expected.strip_prefix(", expected ") {
        Some(what) => format!(", expected {}", in_user_words(what)),
        None => String::new(),
    };
    match phrase {
        "unknown variant " => format!("unknown variant{expected}"),
        "invalid length " => format!("invalid length{expected}"),
        _ => {
            let found = match kind_of(unexpected) {
                "sequence" => "list",
                "unit value" | "Option value" => "null",
                kind => kind,
            };
            format!("{phrase}{found}{expected}")
        }
    }
}

/// What a deserializer expected, in the words of a YAML user rather than Rust's: serde says
/// `usize`, `path string` and `struct Options` where the file holds numbers, paths and maps.
fn in_user_words(expected: &str) -> std::borrow::Cow<'_, str> {
    let range = |ty: &str| -> Option<(i128, u128)> {
        Some(match ty {
            "u8" => (0, u8::MAX.into()),
            "u16" => (0, u16::MAX.into()),
            "u32" => (0, u32::MAX.into()),
            "u64" | "usize" => (0, u64::MAX.into()),
            "i8" => (i8::MIN.into(), i8::MAX as u128),
            "i16" => (i16::MIN.into(), i16::MAX as u128),
            "i32" => (i32::MIN.into(), i32::MAX as u128),
            "i64" | "isize" => (i64::MIN.into(), i64::MAX as u128),
            _ => return None,
        })
    };
    let words = match expected {
        "path string" => "a path",
        "a sequence" => "a list",
        "f32" | "f64" => "a number",
        "unit" => "null",
        "a character" | "char" => "a single character",
        structure if structure.starts_with("struct ") => "a map of settings",
        _ => {
            if let Some((min, max)) = range(expected) {
                return format!("a whole number from {min} to {max}").into();
            }
            return match expected.strip_prefix("a nonzero ").and_then(range) {
                Some((0, max)) => format!("a whole number from 1 to {max}").into(),
                Some(_) => "a whole number other than 0".into(),
                None => expected.into(),
            };
        }
    };
    words.into()
}

/// The kind of value in serde's `Unexpected` text, such as `string` for `string "s3cr3t"`.
fn kind_of(unexpected: &str) -> &'static str {
    const QUOTED: [&str; 5] = [
        "string",
        "boolean",
        "integer",
        "floating point",
        "character",
    ];
    // `text` is what a deserializer of the project says of a string it cannot read
    // (`Unexpected::Other("text")`, as encore's `timeout` does), not to quote it.
    const BARE: [&str; 12] = [
        "text",
        "byte array",
        "unit value",
        "Option value",
        "newtype struct",
        "sequence",
        "map",
        "enum",
        "unit variant",
        "newtype variant",
        "tuple variant",
        "struct variant",
    ];
    QUOTED
        .into_iter()
        .find(|kind| {
            unexpected
                .strip_prefix(kind)
                .is_some_and(|rest| rest.starts_with([' ']))
        })
        .or_else(|| BARE.into_iter().find(|kind| unexpected == *kind))
        .unwrap_or("value")
}

/// `stagecraft.yml`, read and checked to be YAML. Other sections of a Stagecraft config
/// (`project`, `backend`, `environments`, …) are accepted and left alone.
#[derive(Clone)]
pub struct Config {
    path: PathBuf,
    text: Arc<str>,
    root: serde_yaml::Mapping,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads and parses the config file at `path`. A file larger than [`MAX_CONFIG_BYTES`] is
    /// refused before parsing; one that is not UTF-8 is refused with the position of the first
    /// byte that is not.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let read_error = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => ConfigError::ConfigNotFound {
                path: path.to_owned(),
            },
            _ => ConfigError::Read {
                path: path.to_owned(),
                message: e.to_string(),
            },
        };
        // Read through `take`, not by the file's size: a pipe (`--config <(…)`) has none.
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge {
                path: path.to_owned(),
            });
        }
        let text = utf8(path, bytes)?;
        Config::parse(path, text)
    }

    /// Parses config text read from `path`.
    pub fn parse(path: &Path, text: impl Into<Arc<str>>) -> Result<Config, ConfigError> {
        let text = text.into();
        let at = |location: Location, message: &str| ConfigError::Invalid {
            file: Some(path.to_owned()),
            location,
            path: String::new(),
            message: message.to_owned(),
        };
        if let Some(location) = too_deep(&text) {
            return Err(at(
                location,
                &format!("collections nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        if let Some(nul) = text.find('\0') {
            return Err(at(
                location_at(&text, nul),
                "NUL character: is the file UTF-16? save it as UTF-8",
            ));
        }
        // First a walk of the whole document that refuses duplicate keys and alias bombs, with
        // the positions of the offending key or value.
        let budget = std::cell::Cell::new(EXTRA_VALUES + text.len());
        let mut track = serde_path_to_error::Track::new();
        let de = serde_yaml::Deserializer::from_str(&text);
        Walk { budget: &budget }
            .deserialize(serde_path_to_error::Deserializer::new(de, &mut track))
            .map_err(|e| invalid(Some(path.to_owned()), track.path().to_string(), &e))?;
        let value = load(&text).map_err(|e| invalid(Some(path.to_owned()), String::new(), &e))?;
        let root = match value {
            serde_yaml::Value::Null => serde_yaml::Mapping::new(),
            serde_yaml::Value::Mapping(root) => root,
            _ => {
                return Err(at(
                    Location { line: 1, column: 1 },
                    "expected a map of sections such as `secrets:`",
                ));
            }
        };
        Ok(Config {
            path: path.to_owned(),
            text,
            root,
        })
    }

    /// The file the config was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The section of provider `id`: `secrets.providers.<id>`.
    pub fn provider_config(&self, id: &str) -> ProviderConfig {
        ProviderConfig::from_document(
            &self.path,
            Arc::clone(&self.text),
            &["secrets", "providers", id],
        )
    }

    /// Checks the `secrets` section against the providers of `registry` and returns the ID of
    /// the provider to use: `provider` when given (a command-line override), else
    /// `secrets.provider`. Reports every problem found, not just the first: unknown keys,
    /// a missing or unknown provider, a missing section for it, sections of unknown providers,
    /// and what each provider finds wrong with its own section.
    pub fn secrets_provider(
        &self,
        registry: &Registry,
        provider: Option<&str>,
    ) -> Result<String, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let secrets = match self.root.get("secrets") {
            None if provider.is_some() => None,
            None => {
                errors.push(self.error(
                    &[],
                    "missing `secrets` section with a `provider`".to_owned(),
                ));
                None
            }
            Some(serde_yaml::Value::Mapping(secrets)) => Some(secrets),
            Some(_) => {
                errors.push(self.error(
                    &["secrets"],
                    "expected a map with `provider` and `providers`".to_owned(),
                ));
                None
            }
        };
        let empty = serde_yaml::Mapping::new();
        let secrets = secrets.unwrap_or(&empty);
        for key in secrets.keys() {
            if !matches!(key.as_str(), Some("provider" | "providers")) {
                let name = key.as_str().map_or_else(|| "?".to_owned(), str::to_owned);
                errors.push(self.error(
                    &["secrets", &name],
                    format!("unknown key `{name}`; expected `provider` or `providers`"),
                ));
            }
        }
        let chosen = match (provider, secrets.get("provider")) {
            (Some(id), _) => Some(id.to_owned()),
            (None, None) if self.root.contains_key("secrets") => {
                errors.push(self.error(&["secrets"], missing_provider(registry)));
                None
            }
            (None, None) => None,
            (None, Some(serde_yaml::Value::String(id))) => match registry.get(id) {
                Ok(_) => Some(id.clone()),
                Err(unknown) => {
                    errors.push(self.error(&["secrets", "provider"], unknown.to_string()));
                    None
                }
            },
            (None, Some(_)) => {
                errors.push(self.error(
                    &["secrets", "provider"],
                    "expected a provider ID such as `envfile`".to_owned(),
                ));
                None
            }
        };
        let from_config = provider.is_none();
        match secrets.get("providers") {
            None if from_config && chosen.is_some() => errors.push(self.error(
                &["secrets"],
                format!(
                    "missing `providers` map with a section for `{}`",
                    chosen.as_deref().unwrap_or_default()
                ),
            )),
            None => {}
            Some(serde_yaml::Value::Mapping(sections)) => {
                for id in sections.keys() {
                    let Some(id) = id.as_str() else {
                        errors.push(self.error(
                            &["secrets", "providers"],
                            "provider IDs must be strings".to_owned(),
                        ));
                        continue;
                    };
                    match registry.get(id) {
                        Ok(found) => {
                            // Every mistake of the settings' types; when there is none, what
                            // the provider checks beyond them. (A provider that declares no
                            // settings type checks its section in `check_config` alone.)
                            let config = self.provider_config(id);
                            let settings = found.settings();
                            let decoding = match settings.takes_settings() {
                                true => settings.check_all(&config),
                                false => Vec::new(),
                            };
                            if decoding.is_empty() {
                                errors.extend(found.check_config(&config).err());
                            } else {
                                errors.extend(decoding);
                            }
                        }
                        Err(unknown) => errors
                            .push(self.error(&["secrets", "providers", id], unknown.to_string())),
                    }
                }
                if let Some(id) = chosen
                    .as_deref()
                    .filter(|id| from_config && !sections.contains_key(*id))
                {
                    errors.push(self.error(
                        &["secrets", "providers"],
                        format!("missing section for provider `{id}`"),
                    ));
                }
            }
            Some(_) => errors.push(self.error(
                &["secrets", "providers"],
                "expected a map of provider sections".to_owned(),
            )),
        }
        match chosen {
            Some(id) if errors.is_empty() => Ok(id),
            _ => Err(errors),
        }
    }

    /// Warnings about the sections of `secrets.providers` that their providers accept: settings
    /// that a sync may still need from the command line. Sections with errors, and those of
    /// unknown providers, are left to [`Config::secrets_provider`].
    pub fn warnings(&self, registry: &Registry) -> Vec<ConfigWarning> {
        let Some(serde_yaml::Value::Mapping(secrets)) = self.root.get("secrets") else {
            return Vec::new();
        };
        let Some(serde_yaml::Value::Mapping(sections)) = secrets.get("providers") else {
            return Vec::new();
        };
        let mut warnings = Vec::new();
        for id in sections.keys().filter_map(serde_yaml::Value::as_str) {
            let Ok(provider) = registry.get(id) else {
                continue;
            };
            let config = self.provider_config(id);
            if provider.check_config(&config).is_ok() {
                warnings.extend(provider.config_warnings(&config));
            }
        }
        warnings
    }

    /// What the providers of the sections that they accept find missing on this machine
    /// ([`SecretsProvider::check_local`](crate::SecretsProvider::check_local)).
    pub fn local_errors(&self, registry: &Registry) -> Vec<ConfigError> {
        let Some(serde_yaml::Value::Mapping(secrets)) = self.root.get("secrets") else {
            return Vec::new();
        };
        let Some(serde_yaml::Value::Mapping(sections)) = secrets.get("providers") else {
            return Vec::new();
        };
        let mut errors = Vec::new();
        for id in sections.keys().filter_map(serde_yaml::Value::as_str) {
            let Ok(provider) = registry.get(id) else {
                continue;
            };
            let config = self.provider_config(id);
            if provider.check_config(&config).is_ok() {
                errors.extend(provider.check_local(&config));
            }
        }
        errors
    }

    /// An error about the value at `path`, located in the file.
    fn error(&self, path: &[&str], message: String) -> ConfigError {
        ConfigError::Invalid {
            file: Some(self.path.clone()),
            location: locate(&self.text, path),
            path: path.join("."),
            message,
        }
    }
}

/// The largest config file [`Config::load`] reads.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The deepest nesting of flow collections parsed: serde_yaml's own limit, checked before
/// parsing because libyaml's time grows with the square of the depth (50,000 levels take
/// seconds).
const MAX_DEPTH: usize = 128;

/// How many values a document may hold once its aliases are expanded, beyond one a byte of its
/// text: more than a document can hold without aliases, far fewer than a "billion laughs" one
/// expands to.
const EXTRA_VALUES: usize = 10_000;

/// The text of a config file, or an error at the first byte that is not UTF-8.
fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String, ConfigError> {
    let encoding = match bytes.as_slice() {
        [0xFF, 0xFE, 0, 0, ..] | [0, 0, 0xFE, 0xFF, ..] => Some("UTF-32"),
        [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..] => Some("UTF-16"),
        _ => None,
    };
    let (location, message) = match (encoding, String::from_utf8(bytes)) {
        (None, Ok(text)) => return Ok(text),
        (Some(encoding), _) => (
            Location { line: 1, column: 1 },
            format!("the file is {encoding}; save it as UTF-8"),
        ),
        (None, Err(e)) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let before = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
            (
                location_at(before, valid),
                "invalid UTF-8; save the file as UTF-8".to_owned(),
            )
        }
    };
    Err(ConfigError::Invalid {
        file: Some(path.to_owned()),
        location,
        path: String::new(),
        message,
    })
}

/// The 1-based line and column (in characters) of byte `index` of `text`.
fn location_at(text: &str, index: usize) -> Location {
    let before = &text[..index];
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    Location {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

/// Where flow collections (`[`, `{`) first nest deeper than [`MAX_DEPTH`], if they do.
///
/// A scan of the text, not a parse, whose count never falls below the real depth, so that no
/// file can hide its nesting from it: quoted scalars are recognised only where a node can start
/// (so `it's` in a plain scalar starts nothing), brackets in comments do not count, and a bracket
/// opened inside quotes counts until it is closed there, and for good if it is not, in case the
/// quotes were not real. The price: brackets in plain scalars count, and more than 128 brackets
/// left open inside quoted strings (`"[a-z"`) are refused.
fn too_deep(text: &str) -> Option<Location> {
    #[derive(Clone, Copy, PartialEq)]
    enum In {
        Plain,
        Quoted(char),
        Comment,
        /// A tag or anchor (`!t`, `&a`) before a node.
        Property,
    }
    let mut state = In::Plain;
    // Openers outside quotes and not yet closed; openers in quotes that were not closed there;
    // openers in the quotes being scanned and not yet closed.
    let (mut open, mut kept, mut quoted) = (0usize, 0usize, 0usize);
    // Whether the next character starts a node, and whether only indentation and `- ` or `? `
    // come before it on its line.
    let (mut node_start, mut line_start) = (true, true);
    let mut previous = '\n';
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let next_is_space = chars.peek().is_none_or(|(_, n)| n.is_whitespace());
        match (state, c) {
            // YAML's line breaks, as libyaml reads them: `\r` alone, NEL, LS and PS too.
            (
                In::Comment | In::Property | In::Plain,
                '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}',
            ) => {
                state = In::Plain;
                (node_start, line_start) = (true, true);
            }
            (In::Comment, _) => {}
            (In::Property, c) if c.is_whitespace() => state = In::Plain,
            (In::Property, _) => {}
            (In::Quoted('\''), '\'') if chars.peek().is_some_and(|(_, n)| *n == '\'') => {
                chars.next();
            }
            (In::Quoted('"'), '\\') => {
                chars.next();
            }
            (In::Quoted(quote), c) if c == quote => {
                state = In::Plain;
                kept += std::mem::take(&mut quoted);
                node_start = false;
            }
            (In::Quoted(_), '[' | '{') => quoted += 1,
            (In::Quoted(_), ']' | '}') => quoted = quoted.saturating_sub(1),
            (In::Quoted(_), _) => {}
            (In::Plain, ' ' | '\t') => {}
            // YAML's white space: a no-break space before `#` makes it part of a scalar.
            (In::Plain, '#')
                if matches!(
                    previous,
                    ' ' | '\t' | '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'
                ) =>
            {
                state = In::Comment;
            }
            (In::Plain, '\'' | '"') if node_start => state = In::Quoted(c),
            (In::Plain, '!' | '&') if node_start => state = In::Property,
            (In::Plain, '[' | '{') => {
                open += 1;
                (node_start, line_start) = (true, false);
            }
            (In::Plain, ']' | '}') => {
                open = open.saturating_sub(1);
                (node_start, line_start) = (false, false);
            }
            (In::Plain, ',') => node_start = open + kept > 0,
            (In::Plain, ':') if next_is_space || matches!(previous, '\'' | '"') => {
                node_start = true;
            }
            (In::Plain, '-' | '?') if next_is_space && line_start => node_start = true,
            (In::Plain, _) => (node_start, line_start) = (false, false),
        }
        if matches!(c, '[' | '{')
            && matches!(state, In::Plain | In::Quoted(_))
            && open + kept + quoted > MAX_DEPTH
        {
            return Some(location_at(text, at));
        }
        previous = c;
    }
    None
}

/// Visits every value of a document, aliases expanded, failing at a duplicate key (at the key's
/// own position) or once its budget of values is spent (at the value that went over).
struct Walk<'b> {
    budget: &'b std::cell::Cell<usize>,
}

impl Walk<'_> {
    fn spend<E: de::Error>(&self) -> Result<(), E> {
        match self.budget.get().checked_sub(1) {
            Some(left) => {
                self.budget.set(left);
                Ok(())
            }
            None => Err(E::custom(
                "more values once aliases are expanded than the file's size allows (an alias bomb?)",
            )),
        }
    }

    fn child(&self) -> Walk<'_> {
        Walk {
            budget: self.budget,
        }
    }
}

/// serde_yaml's own alias limit fails without a position; as a custom error, it gets that of
/// the collection being read.
fn with_position<E: de::Error>(error: E) -> E {
    if error.to_string() == "repetition limit exceeded" {
        E::custom("too many alias expansions (an alias bomb?)")
    } else {
        error
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.spend()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.spend()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.spend()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.spend()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.spend()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.spend()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.spend()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.spend()?;
        while seq
            .next_element_seed(self.child())
            .map_err(with_position)?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.spend()?;
        let mut seen = std::collections::HashSet::new();
        while map
            .next_key_seed(UniqueKey {
                seen: &mut seen,
                walk: self.child(),
            })
            .map_err(with_position)?
            .is_some()
        {
            map.next_value_seed(self.child()).map_err(with_position)?;
        }
        Ok(())
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged value (`!tag value`).
        let (IgnoredAny, value) = data.variant()?;
        de::VariantAccess::newtype_variant_seed(value, self)
    }
}

/// A scalar map key, for finding duplicates: `1` and `"1"` differ, as in YAML.
#[derive(PartialEq, Eq, Hash)]
enum SeenKey {
    Str(String),
    Int(i128),
    Float(u64),
    Bool(bool),
    Null,
}

/// A map key that must differ from the keys before it in its map. Keys that are collections or
/// tagged are only walked.
struct UniqueKey<'s, 'b> {
    seen: &'s mut std::collections::HashSet<SeenKey>,
    walk: Walk<'b>,
}

impl UniqueKey<'_, '_> {
    fn insert<E: de::Error>(self, key: SeenKey) -> Result<(), E> {
        self.walk.spend()?;
        let shown = match &key {
            SeenKey::Str(s) => format!("`{s}`"),
            SeenKey::Int(i) => format!("`{i}`"),
            SeenKey::Float(bits) => format!("`{}`", f64::from_bits(*bits)),
            SeenKey::Bool(b) => format!("`{b}`"),
            SeenKey::Null => "`null`".to_owned(),
        };
        if self.seen.insert(key) {
            Ok(())
        } else {
            Err(E::custom(format!("duplicate key {shown}")))
        }
    }
}

impl<'de> DeserializeSeed<'de> for UniqueKey<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKey<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map key")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.insert(SeenKey::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.insert(SeenKey::Int(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.insert(SeenKey::Int(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.insert(SeenKey::Float(v.to_bits()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.insert(SeenKey::Str(v.to_owned()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.insert(SeenKey::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.insert(SeenKey::Null)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.walk.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.walk.visit_map(map)
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        self.walk.visit_enum(data)
    }
}

fn missing_provider(registry: &Registry) -> String {
    let ids: Vec<&str> = registry.ids().collect();
    format!("missing `provider`; set it to one of: {}", ids.join(", "))
}

/// Where the value at `path` starts, found by deserializing the file with a seed that fails
/// there: serde_yaml attaches the position of the failing value to the error.
fn locate(text: &str, path: &[&str]) -> Location {
    locate_in(text, path, false)
}

/// Where the key of the value at `path` is, for an error about the key itself (`unknown field`).
fn locate_key(text: &str, path: &[&str]) -> Location {
    locate_in(text, path, true)
}

fn locate_in(text: &str, path: &[&str], at_key: bool) -> Location {
    /// Fails on whatever value it is given, once the value's first event has been read.
    struct Here;
    impl<'de> serde::Deserialize<'de> for Here {
        fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(Here)
        }
    }
    impl<'de> Visitor<'de> for Here {
        type Value = Here;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("nothing")
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Here, E> {
            Err(E::custom("here"))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Here, E> {
            Err(E::custom("here"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Here, E> {
            Err(E::custom("here"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Here, E> {
            Err(E::custom("here"))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Here, E> {
            Err(E::custom("here"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Here, E> {
            Err(E::custom("here"))
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Here, A::Error> {
            Err(de::Error::custom("here"))
        }
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Here, A::Error> {
            Err(de::Error::custom("here"))
        }
    }
    let start = Location { line: 1, column: 1 };
    if path.is_empty() {
        return start;
    }
    let section = Section::<Here> {
        at_key,
        ..Section::new(path)
    };
    match section.deserialize(serde_yaml::Deserializer::from_str(text)) {
        Err(e) => location_of(&e).unwrap_or(start),
        Ok(_) => start,
    }
}

/// The document as a value, with merge keys (`<<: *defaults`) applied, as editors read them.
fn load(text: &str) -> Result<serde_yaml::Value, serde_yaml::Error> {
    let mut value: serde_yaml::Value = serde_yaml::from_str(text)?;
    value.apply_merge()?;
    Ok(value)
}

/// The path of the first value with a YAML tag (`!vault x`): a provider that reads the untagged
/// value would silently ignore what the tag asks for.
fn tagged(value: &serde_yaml::Value) -> Option<Vec<String>> {
    match value {
        serde_yaml::Value::Tagged(_) => Some(Vec::new()),
        serde_yaml::Value::Sequence(items) => items.iter().enumerate().find_map(|(i, item)| {
            let mut path = tagged(item)?;
            path.insert(0, i.to_string());
            Some(path)
        }),
        serde_yaml::Value::Mapping(map) => map.iter().find_map(|(key, item)| {
            let mut path = tagged(item)?;
            path.insert(0, key.as_str().unwrap_or("?").to_owned());
            Some(path)
        }),
        _ => None,
    }
}

fn location_of(error: &serde_yaml::Error) -> Option<Location> {
    error.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    })
}

/// Deserializes the value at a path of nested maps as `T`, skipping everything else, so that
/// positions in errors are positions in the whole file.
struct Section<'p, T> {
    path: &'p [&'p str],
    /// Fail on the last key of the path instead of its value.
    at_key: bool,
    marker: PhantomData<T>,
}

impl<'p, T> Section<'p, T> {
    fn new(path: &'p [&'p str]) -> Self {
        Section {
            path,
            at_key: false,
            marker: PhantomData,
        }
    }

    fn inner(&self) -> Self {
        Section {
            path: &self.path[1..],
            at_key: self.at_key,
            marker: PhantomData,
        }
    }
}

/// A map key that fails when it is `fail_on`, so that the error carries the key's position.
struct Key<'a> {
    fail_on: Option<&'a str>,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        match self.fail_on {
            Some(fail_on) if fail_on == key => Err(E::custom("here")),
            _ => Ok(key.to_owned()),
        }
    }
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Section<'_, T> {
    type Value = Option<T>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        match self.path.split_first() {
            None => Option::<T>::deserialize(deserializer),
            Some(_) => deserializer.deserialize_any(self),
        }
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Section<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a map with a `{}` key", self.path[0])
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        let mut found = None;
        let fail_on = (self.at_key && self.path.len() == 1).then_some(self.path[0]);
        while let Some(key) = map.next_key_seed(Key { fail_on })? {
            if key == self.path[0] {
                found = map.next_value_seed(self.inner())?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    /// A path segment that is a number picks an element of a sequence.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
        let index = self.path[0].parse::<usize>().ok();
        let mut found = None;
        for i in 0.. {
            if Some(i) == index {
                match seq.next_element_seed(self.inner())? {
                    Some(value) => found = value,
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
        }
        Ok(found)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }
}

use serde::Deserialize as _;

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Options {
        source_file: Option<String>,
        #[serde(default)]
        retries: u32,
    }

    const DOC: &str = "project: demo\nsecrets:\n  provider: envfile\n  providers:\n    envfile:\n      source_file: .env.local\n      retries: hunter2\n    other: {}\n";

    fn section(text: &str, id: &str) -> ProviderConfig {
        ProviderConfig::from_document(
            Path::new("stagecraft.yml"),
            text.into(),
            &["secrets", "providers", id],
        )
    }

    #[test]
    fn decode_reports_file_line_and_path_without_the_value() {
        let err = section(DOC, "envfile").decode::<Options>().unwrap_err();
        let msg = err.to_string();
        assert_eq!(
            msg,
            "stagecraft.yml:7:16: secrets.providers.envfile.retries: invalid type: string, expected a whole number from 0 to 4294967295"
        );
        assert!(!msg.contains("hunter2"));
    }

    #[test]
    fn decode_reads_the_section_and_ignores_the_rest() {
        let text = DOC.replace("hunter2", "3");
        let opts: Options = section(&text, "envfile").decode().unwrap();
        assert_eq!(
            opts,
            Options {
                source_file: Some(".env.local".into()),
                retries: 3
            }
        );
        let other: Options = section(&text, "other").decode().unwrap();
        assert_eq!(
            other,
            Options {
                source_file: None,
                retries: 0
            }
        );
        let absent: Options = section(&text, "absent").decode().unwrap();
        assert_eq!(
            absent,
            Options {
                source_file: None,
                retries: 0
            }
        );
    }

    #[test]
    fn a_value_that_a_deserializer_calls_text_is_not_quoted() {
        assert_eq!(
            redact("invalid value: text, expected a duration"),
            "invalid value: text, expected a duration"
        );
        assert_eq!(
            redact("invalid value: text \"s3cr3t\", expected a duration"),
            "invalid value: value, expected a duration"
        );
    }

    #[test]
    fn decode_all_reports_every_setting_in_file_order() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Required {
            address: String,
            retries: Option<u32>,
            source_file: Option<std::path::PathBuf>,
        }
        let text = "secrets:\n  providers:\n    p:\n      source_file: [a]\n      bogus: 1\n      address: !tag x\n      retries: -1\n";
        let errors: Vec<String> = section(text, "p")
            .decode_all::<Required>()
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errors,
            [
                "stagecraft.yml:4:20: secrets.providers.p.source_file: invalid type: list, expected a path",
                "stagecraft.yml:5:7: secrets.providers.p.bogus: unknown field `bogus`, expected one of `address`, `retries`, `source_file`",
                "stagecraft.yml:6:16: secrets.providers.p.address: a YAML tag such as `!name` is not supported here",
                "stagecraft.yml:7:16: secrets.providers.p.retries: invalid value: integer, expected a whole number from 0 to 4294967295",
            ]
        );
        // A required setting that is simply absent is reported once.
        let absent = section("secrets:\n  providers:\n    p:\n      retries: 1\n", "p")
            .decode_all::<Required>()
            .unwrap_err();
        assert_eq!(absent.len(), 1);
        assert!(absent[0].to_string().ends_with("missing field `address`"));
    }

    #[test]
    fn unknown_fields_are_named() {
        let err = ProviderConfig::from_yaml("source_fle: x")
            .decode::<Options>()
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `source_fle`"),
            "{err}"
        );
    }

    fn check(text: &str, flag: Option<&str>) -> Result<String, Vec<String>> {
        use crate::{ProviderIdentity, SecretsProvider, SyncError, SyncOptions, SyncReport};
        struct Strict(&'static str);
        impl ProviderIdentity for Strict {
            fn id(&self) -> &str {
                self.0
            }
        }
        impl SecretsProvider for Strict {
            async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
                Ok(SyncReport::default())
            }
            fn check_config(&self, config: &ProviderConfig) -> Result<(), ConfigError> {
                config.decode::<Options>().map(drop)
            }
        }
        let registry = Registry::new("test");
        registry.register(Strict("envfile"));
        registry.register(Strict("encore"));
        let config =
            Config::parse(Path::new("stagecraft.yml"), text).map_err(|e| vec![e.to_string()])?;
        config
            .secrets_provider(&registry, flag)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn secrets_section_is_checked_whole() {
        let good = "project: demo\nsecrets:\n  provider: envfile\n  providers:\n    envfile:\n      source_file: a\n";
        assert_eq!(check(good, None), Ok("envfile".to_owned()));
        let bad = "secrets:\n  provider: envfle\n  provder: x\n  providers:\n    envfile:\n      retries: many\n    vault: {}\n";
        assert_eq!(
            check(bad, None).unwrap_err(),
            [
                "stagecraft.yml:3:12: secrets.provder: unknown key `provder`; expected `provider` or `providers`",
                "stagecraft.yml:2:13: secrets.provider: unknown secrets provider \"envfle\"; did you mean \"envfile\"? (registered: encore, envfile)",
                "stagecraft.yml:6:16: secrets.providers.envfile.retries: invalid type: string, expected a whole number from 0 to 4294967295",
                "stagecraft.yml:7:12: secrets.providers.vault: unknown secrets provider \"vault\" (registered: encore, envfile)",
            ]
        );
    }

    #[test]
    fn missing_pieces_are_named() {
        assert_eq!(
            check("", None).unwrap_err(),
            ["stagecraft.yml:1:1: missing `secrets` section with a `provider`"]
        );
        assert_eq!(
            check("secrets:\n  providers: {}\n", None).unwrap_err(),
            ["stagecraft.yml:2:3: secrets: missing `provider`; set it to one of: encore, envfile"]
        );
        assert_eq!(
            check(
                "secrets:\n  provider: encore\n  providers:\n    envfile: {}\n",
                None
            )
            .unwrap_err(),
            ["stagecraft.yml:4:5: secrets.providers: missing section for provider `encore`"]
        );
        assert_eq!(
            check("secrets:\n  provider: encore\n  providers: [a]\n", None).unwrap_err(),
            ["stagecraft.yml:3:14: secrets.providers: expected a map of provider sections"]
        );
        assert_eq!(
            check("secrets: {}\n", Some("encore")),
            Ok("encore".to_owned())
        );
        assert_eq!(check("", Some("encore")), Ok("encore".to_owned()));
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let err = check("secrets:\n  provider: [envfile\n", None).unwrap_err();
        assert!(err[0].starts_with("stagecraft.yml:3:1: "), "{err:?}");
        let err = check("- a\n- b\n", None).unwrap_err();
        assert_eq!(
            err,
            ["stagecraft.yml:1:1: expected a map of sections such as `secrets:`"]
        );
    }

    fn parse_error(text: &str) -> String {
        Config::parse(Path::new("c.yml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn tagged_values_are_not_quoted() {
        for (tag, expected) in [
            ("!!float", "a float"),
            ("!!int", "an integer"),
            ("!!bool", "a boolean"),
            ("!!null", "null"),
        ] {
            assert_eq!(
                parse_error(&format!("project:\n  api_token: {tag} s3cr3t\n")),
                format!(
                    "c.yml:2:14: project.api_token: invalid value: string, expected {expected}"
                )
            );
        }
        // A value that imitates the message around it.
        let err = parse_error("a:\n  - !!int \"s3cr3t, expected x at line 9 column 9\"\n");
        assert_eq!(
            err,
            "c.yml:2:5: a[0]: invalid value: string, expected an integer"
        );
    }

    #[test]
    fn duplicate_keys_are_reported_where_they_repeat() {
        assert_eq!(
            parse_error("a: 1\nb:\n  c: 1\n  d: 2\n  'c': 3\n"),
            "c.yml:5:3: b.c: duplicate key `c`"
        );
        assert_eq!(
            parse_error("a: 1\n1: x\n\"a\": 2\n"),
            "c.yml:3:1: a: duplicate key `a`"
        );
        assert!(Config::parse(Path::new("c.yml"), "a: 1\n'1': 2\n1: 3\n").is_ok());
    }

    #[test]
    fn alias_bombs_are_refused_with_a_position() {
        let mut text = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (from, to) in ["abcdefgh".chars().zip("bcdefghi".chars())]
            .into_iter()
            .flatten()
        {
            text.push_str(&format!(
                "{to}: &{to} [*{from},*{from},*{from},*{from},*{from},*{from},*{from},*{from}]\n"
            ));
        }
        let err = parse_error(&text);
        assert!(err.starts_with("c.yml:") && err.contains("alias"), "{err}");
        assert!(!err.starts_with("c.yml: "), "{err}");
        // One large anchor repeated many times: quadratic without a budget.
        let mut text = format!("a: &a [{}x]\nb: [", "x,".repeat(10_000));
        text.push_str(&"*a,".repeat(200));
        text.push_str("*a]\n");
        let err = parse_error(&text);
        assert_eq!(
            err,
            "c.yml:1:1222: b[2][607]: more values once aliases are expanded than the file's size allows (an alias bomb?)"
        );
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let err = parse_error(&format!(
            "a: {}{}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ));
        assert_eq!(
            err,
            "c.yml:1:132: collections nested deeper than 128 levels"
        );
        let err = parse_error(&format!("a: {}", "{a: ".repeat(100_000)));
        assert_eq!(
            err,
            "c.yml:1:516: collections nested deeper than 128 levels"
        );
        // Nesting hidden behind a quote that is not one, or closed by brackets in quotes.
        for hiding in [
            "a: it's\nb: ",
            "a: x - 'y\nb: ",
            "a: x [ 'y\nb: ",
            "b: [x 'y, ",
            "b: ",
        ] {
            let text = format!("{hiding}{}'z{}'\n", "[".repeat(200), "]".repeat(200));
            let err = parse_error(&text);
            assert!(
                err.ends_with(": collections nested deeper than 128 levels"),
                "{hiding:?}: {err}"
            );
        }
        let text = format!("{} !t '{}'", "[".repeat(200), "]".repeat(200));
        assert!(parse_error(&text).ends_with("deeper than 128 levels"));
        // YAML's line breaks (`\r`, NEL, LS, PS) end a comment; only a space or a tab before `#`
        // starts one (a no-break space is part of the scalar).
        for hiding in ["#\r", "#\u{85}", "#\u{2028}", "#\u{2029}", "x\u{a0}#: "] {
            let text = format!("{hiding}a: {}{}\n", "[".repeat(200), "]".repeat(200));
            assert!(
                too_deep(&text).is_some(),
                "{hiding:?}: nesting hidden from the scan"
            );
        }
        // Brackets in comments do not count, nor those closed inside their quotes.
        let quoted = format!(
            "a: '{0}'\nb: \"{0}\" # {1}\n",
            "[x]{y}".repeat(200),
            "[".repeat(200)
        );
        Config::parse(Path::new("c.yml"), quoted).unwrap();
        // Quoted brackets closed inside their quotes, many times over.
        let mut flows = "x: \"[a-z\"\n".to_owned();
        flows.push_str(&"y: [{'k': \"[v]\", \"u\":'{}', w: 'it''s [x]'}]\n".repeat(500));
        assert_eq!(too_deep(&flows), None);
    }

    #[test]
    fn encodings_other_than_utf8_are_named() {
        let dir = std::env::temp_dir().join(format!("stagecraft-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let load = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            let err = Config::load(&path).unwrap_err().to_string();
            err.strip_prefix(&path.display().to_string())
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            load("utf16.yml", b"\xff\xfea\x00:\x00 \x001\x00\n\x00"),
            ":1:1: the file is UTF-16; save it as UTF-8"
        );
        assert_eq!(
            load("bom-less.yml", b"a\x00:\x00 \x001\x00"),
            ":1:2: NUL character: is the file UTF-16? save it as UTF-8"
        );
        assert_eq!(
            load("latin1.yml", b"a: 1\nbb: caf\xe9 s3cr3t\n"),
            ":2:8: invalid UTF-8; save the file as UTF-8"
        );
        let big = format!("a: '{}'\n", "x".repeat(1 << 20));
        let path = dir.join("big.yml");
        std::fs::write(&path, big).unwrap();
        assert_eq!(
            Config::load(&path).unwrap_err(),
            ConfigError::TooLarge { path }
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn debug_shows_no_values() {
        let debug = format!("{:?}", section(DOC, "envfile"));
        assert!(
            !debug.contains("hunter2") && !debug.contains(".env.local"),
            "{debug}"
        );
    }
}
