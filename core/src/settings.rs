//! Typed provider settings: what `#[secrets_provider("id", settings = Options)]` records about
//! `Options`, and the JSON Schema of `stagecraft.yml`'s `secrets` section built from a registry.

use crate::Registry;
use crate::config::{ConfigError, ProviderConfig};
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::fmt;

/// A provider's settings type, as the attribute records it: how to check a section of
/// `stagecraft.yml` against it, and its JSON Schema. Get a provider's with
/// [`ProviderIdentity::settings`](crate::ProviderIdentity::settings).
#[derive(Clone, Copy)]
pub struct Settings {
    check: fn(&ProviderConfig) -> Result<(), ConfigError>,
    check_all: fn(&ProviderConfig) -> Vec<ConfigError>,
    schema: fn(&mut SchemaGenerator) -> Schema,
    takes_settings: bool,
}

/// The settings of a provider that takes none: an empty section, or none at all.
#[derive(serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NoSettings {}

impl Settings {
    /// The settings of a provider that declares none: any non-empty section is rejected.
    pub const NONE: Settings = Settings {
        takes_settings: false,
        ..Settings::of::<NoSettings>()
    };

    /// The settings type `T`: a `serde::Deserialize` + `schemars::JsonSchema` struct, usually with
    /// `#[serde(deny_unknown_fields)]` and a doc comment on each field.
    pub const fn of<T: DeserializeOwned + JsonSchema>() -> Self {
        Settings {
            check: check::<T>,
            check_all: check_all::<T>,
            schema: SchemaGenerator::subschema_for::<T>,
            takes_settings: true,
        }
    }

    /// Whether the provider declares a settings type.
    pub const fn takes_settings(&self) -> bool {
        self.takes_settings
    }

    /// Decodes `config` as the settings type and reports the first problem with its file, line,
    /// column and YAML path.
    pub fn check(&self, config: &ProviderConfig) -> Result<(), ConfigError> {
        (self.check)(config)
    }

    /// Decodes `config` as the settings type and reports every problem, each with its file,
    /// line, column and YAML path (see [`ProviderConfig::decode_all`]); empty when it decodes.
    pub fn check_all(&self, config: &ProviderConfig) -> Vec<ConfigError> {
        (self.check_all)(config)
    }

    /// The JSON Schema (draft 2020-12) of the settings type, as `generator` writes subschemas: a
    /// `$ref` into its definitions unless its settings inline them, as [`config_schema`]'s do
    /// (then only recursive types land in the definitions).
    pub fn schema(&self, generator: &mut SchemaGenerator) -> Schema {
        (self.schema)(generator)
    }

    /// Whether an absent or empty (`envfile:`) section is accepted, as [`ProviderConfig::decode`]
    /// reads it like an empty map.
    fn accepts_empty(&self) -> bool {
        self.check(&ProviderConfig::default()).is_ok()
    }
}

fn check<T: DeserializeOwned>(config: &ProviderConfig) -> Result<(), ConfigError> {
    config.decode::<T>().map(drop)
}

fn check_all<T: DeserializeOwned>(config: &ProviderConfig) -> Vec<ConfigError> {
    config.decode_all::<T>().err().unwrap_or_default()
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("takes_settings", &self.takes_settings)
            .finish_non_exhaustive()
    }
}

/// The JSON Schema (draft 2020-12) of `stagecraft.yml` as `stagecraft config validate` checks it:
/// a `secrets` section whose `provider` is one of the registry's IDs and whose `providers.<id>`
/// follows that provider's settings; other top-level sections are allowed.
pub fn config_schema(registry: &Registry) -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    // Each provider's schema is written out where it is used, so that an editor shows it there;
    // only recursive types go to `$defs`.
    settings.inline_subschemas = true;
    let mut generator = SchemaGenerator::new(settings);
    let mut ids = Vec::new();
    let mut sections = Map::new();
    let mut needs_section = Vec::new();
    for provider in registry.list() {
        let id = provider.id();
        let settings = provider.settings();
        let mut schema = settings.schema(&mut generator).to_value();
        bound_integers(&mut schema);
        // The title is the Rust type's name (`Options`) and its doc comment describes the
        // settings; the provider's description, shown on hover, says more.
        let mut description = None;
        if let Value::Object(object) = &mut schema {
            object.remove("title");
            description = object.remove("description");
        }
        if !provider.description().is_empty() {
            description = Some(provider.description().into());
        }
        if settings.accepts_empty() {
            schema = json!({ "anyOf": [{ "type": "null" }, schema] });
        }
        if let (Value::Object(object), Some(description)) = (&mut schema, description) {
            object.insert("description".into(), description);
        }
        ids.push(id);
        sections.insert(id.to_owned(), schema);
        needs_section.push(json!({
            "if": { "properties": { "provider": { "const": id } }, "required": ["provider"] },
            "then": { "properties": { "providers": { "required": [id] } } },
        }));
    }
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "stagecraft.yml",
        "description": "A Stagecraft config. `stagecraft config schema` prints this schema from the providers built into the binary.",
        "type": "object",
        "required": ["secrets"],
        "properties": {
            "secrets": {
                "description": "Where secrets are synced from and to.",
                "type": "object",
                "required": ["provider", "providers"],
                "additionalProperties": false,
                "properties": {
                    "provider": {
                        "description": "The secrets provider that `stagecraft secrets sync` uses.",
                        "enum": ids,
                    },
                    "providers": {
                        "description": "Each provider's settings, under its ID.",
                        "type": "object",
                        "additionalProperties": false,
                        "properties": sections,
                    },
                },
                "allOf": needs_section,
            },
        },
    });
    let mut definitions = Value::Object(generator.take_definitions(true));
    bound_integers(&mut definitions);
    if definitions.as_object().is_some_and(|d| !d.is_empty()) {
        schema["$defs"] = definitions;
    }
    schema
}

/// Gives each integer schema the range of its Rust type. schemars states it for `u8` and `i16`
/// but only names the format (`"format": "uint32"`) for wider types, and validators ignore
/// formats: `retries: 4294967296` would pass the schema and fail `config validate`.
fn bound_integers(value: &mut Value) {
    match value {
        Value::Object(object) => {
            let range = match object.get("format").and_then(Value::as_str) {
                Some("uint16") => Some((json!(0), json!(u16::MAX))),
                Some("uint32") => Some((json!(0), json!(u32::MAX))),
                Some("uint64") => Some((json!(0), json!(u64::MAX))),
                Some("uint") => Some((json!(0), json!(usize::MAX))),
                Some("int32") => Some((json!(i32::MIN), json!(i32::MAX))),
                Some("int64") => Some((json!(i64::MIN), json!(i64::MAX))),
                Some("int") => Some((json!(isize::MIN), json!(isize::MAX))),
                _ => None,
            };
            if let Some((min, max)) = range {
                object.entry("minimum").or_insert(min);
                object.entry("maximum").or_insert(max);
            }
            object.values_mut().for_each(bound_integers);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_integers),
        _ => {}
    }
}
