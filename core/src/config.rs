//! `stagecraft.yml`: the one module that knows the YAML library, so that it can be swapped here.

use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// The config file could not be read.
    #[error("cannot read config file {}: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        message: String,
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
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        let path: Vec<&str> = self.path.iter().map(String::as_str).collect();
        let found = if self.text.trim().is_empty() {
            None
        } else {
            let mut track = serde_path_to_error::Track::new();
            let de = serde_yaml::Deserializer::from_str(&self.text);
            let de = serde_path_to_error::Deserializer::new(de, &mut track);
            Section::<T>::new(&path)
                .deserialize(de)
                .map_err(|e| self.invalid(track.path().to_string(), e))?
        };
        match found {
            Some(value) => Ok(value),
            None => serde_yaml::from_value(serde_yaml::Value::Mapping(Default::default()))
                .map_err(|e| self.invalid(self.yaml_path(), e)),
        }
    }

    fn invalid(&self, path: String, error: serde_yaml::Error) -> ConfigError {
        invalid(self.origin.clone(), path, &error)
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

/// Builds [`ConfigError::Invalid`] from a YAML error, keeping its position but not the values it
/// may quote. `path` is the full YAML path (serde_path_to_error writes `.` for the root).
pub(crate) fn invalid(
    file: Option<PathBuf>,
    path: String,
    error: &serde_yaml::Error,
) -> ConfigError {
    let location = error
        .location()
        .map(|l| Location {
            line: l.line(),
            column: l.column(),
        })
        .unwrap_or_default();
    let mut message = error.to_string();
    if let Some(at) = message.find(" at line ") {
        message.truncate(at);
    }
    // serde_yaml prefixes the path of the enclosing map, which `path` already covers.
    if let Some((head, rest)) = message.split_once(": ") {
        if path.starts_with(head) {
            message = rest.to_owned();
        }
    }
    let path = if path == "." { String::new() } else { path };
    ConfigError::Invalid {
        file,
        location,
        path,
        message: redact(&message),
    }
}

/// serde quotes the offending value in "invalid type: string \"…\", expected …": keep only the
/// kind of value, since the value may be a secret.
fn redact(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let kind = rest.split([' ', ',']).next().unwrap_or("");
            let expected = rest.find(", expected").map_or("", |at| &rest[at..]);
            return format!("{prefix}{kind}{expected}");
        }
    }
    // `unknown variant `x`, expected one of …` quotes the value in backticks.
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let expected = rest.find(", expected").map_or("", |at| &rest[at..]);
        return format!("unknown variant{expected}");
    }
    message.to_owned()
}

/// Deserializes the value at a path of nested maps as `T`, skipping everything else, so that
/// positions in errors are positions in the whole file.
struct Section<'p, T> {
    path: &'p [&'p str],
    marker: PhantomData<T>,
}

impl<'p, T> Section<'p, T> {
    fn new(path: &'p [&'p str]) -> Self {
        Section {
            path,
            marker: PhantomData,
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
        while let Some(key) = map.next_key::<String>()? {
            if key == self.path[0] {
                found = map.next_value_seed(Section::<T>::new(&self.path[1..]))?;
            } else {
                map.next_value::<IgnoredAny>()?;
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
            "stagecraft.yml:7:16: secrets.providers.envfile.retries: invalid type: string, expected u32"
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
    fn unknown_fields_are_named() {
        let err = ProviderConfig::from_yaml("source_fle: x")
            .decode::<Options>()
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `source_fle`"),
            "{err}"
        );
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
