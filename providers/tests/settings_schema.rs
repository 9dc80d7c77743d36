//! `stagecraft config validate` and the JSON Schema that `stagecraft config schema` prints agree:
//! every config of the corpus is accepted by both or rejected by both. The config side is
//! `Config::parse` + `Config::secrets_provider` (which runs each provider's `check_config`); the
//! schema side is a JSON Schema validator given the YAML as an editor sees it.
//!
//! Besides `envfile`, the registry holds two providers declared here through the attribute: one
//! with settings of every shape (required, integer, enum, list, nested), one without settings.

use schemars::JsonSchema;
use serde::Deserialize;
use stagecraft_core::{
    Config, ProviderIdentity, SecretsProvider, SyncError, SyncOptions, SyncReport, secrets_provider,
};
use std::path::{Path, PathBuf};

/// Syncs into a remote store (a test provider with settings of every shape).
#[secrets_provider("strict", settings = StrictOptions)]
#[derive(Debug)]
pub struct Strict;

/// The settings of `strict`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StrictOptions {
    /// The store's address.
    pub address: String,
    /// How often to retry.
    #[serde(default)]
    pub retries: u32,
    /// Read or write.
    #[serde(default)]
    pub mode: Mode,
    /// Paths in the store.
    #[serde(default)]
    pub paths: Vec<String>,
    /// TLS settings.
    pub tls: Option<Tls>,
    /// The store to try when this one fails.
    pub fallback: Option<Box<Fallback>>,
}

/// A store to fall back to: a recursive type, which the schema keeps in `$defs`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fallback {
    /// The store's address.
    pub address: String,
    /// The store to try when this one fails too.
    pub fallback: Option<Box<Fallback>>,
}

/// How `strict` opens the store.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Read only.
    #[default]
    Read,
    /// Read and write.
    Write,
}

/// TLS settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// The CA bundle.
    pub ca_file: PathBuf,
}

/// Takes no settings.
#[secrets_provider("bare")]
#[derive(Debug)]
pub struct Bare;

impl SecretsProvider for Strict {
    async fn sync(&self, opts: SyncOptions) -> Result<SyncReport, SyncError> {
        let settings = opts.settings::<StrictOptions>()?;
        Ok(SyncReport::new(settings.address, String::new()))
    }
}

impl SecretsProvider for Bare {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

stagecraft_core::provider_table!(Strict, Bare);

stagecraft_core::secrets_registry!(static REGISTRY = [
    stagecraft_providers::SECRETS_PROVIDERS,
    crate::SECRETS_PROVIDERS,
]);

/// What `stagecraft config validate` says: `Ok(provider)` or the errors.
fn config_verdict(text: &str) -> Result<String, Vec<String>> {
    let config =
        Config::parse(Path::new("stagecraft.yml"), text).map_err(|e| vec![e.to_string()])?;
    config
        .secrets_provider(&REGISTRY, None)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

/// What an editor says: the YAML as JSON, merge keys applied (YAML that does not load, such as a
/// duplicate key, is an error there too), checked against the schema.
fn schema_verdict(validator: &jsonschema::Validator, text: &str) -> Result<(), Vec<String>> {
    let mut yaml: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| vec![e.to_string()])?;
    yaml.apply_merge().map_err(|e| vec![e.to_string()])?;
    let json = serde_json::to_value(yaml).map_err(|e| vec![e.to_string()])?;
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn validator() -> jsonschema::Validator {
    let schema = stagecraft_core::config_schema(&REGISTRY);
    assert!(
        jsonschema::meta::is_valid(&schema),
        "not a valid JSON Schema"
    );
    jsonschema::draft202012::new(&schema).expect("the schema compiles")
}

const SECRETS_ENVFILE: &str = "secrets:\n  provider: envfile\n  providers:\n    envfile:\n";

fn envfile(section: &str) -> String {
    format!("{SECRETS_ENVFILE}{section}")
}

fn vault(section: &str) -> String {
    format!("secrets:\n  provider: vault\n  providers:\n    vault:\n{section}")
}

fn encore(section: &str) -> String {
    format!("secrets:\n  provider: encore\n  providers:\n    encore:\n{section}")
}

fn strict(section: &str) -> String {
    format!("secrets:\n  provider: strict\n  providers:\n    strict:\n{section}")
}

/// The `yaml` blocks of the README (at the start of a line, not inside a Rust block's doc
/// comment): each is a whole config.
fn readme_examples() -> Vec<String> {
    let readme = include_str!("../../README.md");
    readme
        .split("\n```yaml\n")
        .skip(1)
        .map(|block| block[..block.find("```").unwrap()].to_owned())
        .collect()
}

/// Each config, and whether it is valid.
fn corpus() -> Vec<(&'static str, String, bool)> {
    let quickstart = include_str!("../../examples/quickstart/stagecraft.yml").to_owned();
    let header = format!("# yaml-language-server: $schema=./stagecraft.schema.json\n{quickstart}");
    let readme = readme_examples();
    assert!(readme.len() >= 3, "the README's yaml blocks: {readme:?}");
    let mut corpus: Vec<_> = readme
        .into_iter()
        .map(|example| ("a README example", example, true))
        .collect();
    corpus.extend(vec![
        // Valid.
        ("quickstart example", quickstart, true),
        ("with the editor header", header, true),
        (
            "only a source file",
            envfile("      source_file: .env\n"),
            true,
        ),
        ("an empty section", SECRETS_ENVFILE.to_owned(), true),
        (
            "an empty map",
            envfile("      {}\n").replace(":\n      {}", ": {}"),
            true,
        ),
        (
            "a quoted number as file name",
            envfile("      source_file: \"123\"\n"),
            true,
        ),
        (
            "an explicit null file",
            envfile("      source_file: null\n"),
            true,
        ),
        (
            "aliases",
            envfile("      source_file: &f .env\n      target_file: *f\n"),
            true,
        ),
        (
            "a lock timeout",
            envfile("      lock_timeout: 90s\n"),
            true,
        ),
        (
            "a lock timeout in two units",
            envfile("      lock_timeout: 1m 30s\n"),
            false,
        ),
        (
            "a lock timeout as a number of seconds",
            envfile("      lock_timeout: 10\n"),
            true,
        ),
        (
            "flow style",
            "{secrets: {provider: envfile, providers: {envfile: {source_file: a}}}}".to_owned(),
            true,
        ),
        (
            "other top-level sections",
            format!(
                "project: {{name: x}}\nbackend: [a, b]\nenvironments:\n  - staging\n{SECRETS_ENVFILE}      source_file: a\n"
            ),
            true,
        ),
        (
            "every strict setting",
            strict(
                "      address: https://store\n      retries: 3\n      mode: write\n      paths: [a, b]\n      tls:\n        ca_file: ca.pem\n",
            ),
            true,
        ),
        (
            "only the required strict setting",
            strict("      address: x\n"),
            true,
        ),
        (
            "sections of two providers",
            format!("{SECRETS_ENVFILE}      source_file: a\n    strict:\n      address: x\n"),
            true,
        ),
        (
            "a provider without settings",
            "secrets:\n  provider: bare\n  providers:\n    bare:\n".to_owned(),
            true,
        ),
        (
            "a provider without settings, empty map",
            "secrets:\n  provider: bare\n  providers:\n    bare: {}\n".to_owned(),
            true,
        ),
        // The `secrets` section itself.
        (
            "unknown provider",
            envfile("").replace("provider: envfile", "provider: envfle"),
            false,
        ),
        (
            "provider is a number",
            envfile("").replace("provider: envfile", "provider: 1"),
            false,
        ),
        (
            "provider is a list",
            envfile("").replace("provider: envfile", "provider: [envfile]"),
            false,
        ),
        (
            "missing provider",
            "secrets:\n  providers:\n    envfile: {}\n".to_owned(),
            false,
        ),
        (
            "missing providers",
            "secrets:\n  provider: envfile\n".to_owned(),
            false,
        ),
        (
            "providers is a list",
            "secrets:\n  provider: envfile\n  providers: [envfile]\n".to_owned(),
            false,
        ),
        (
            "providers is null",
            "secrets:\n  provider: envfile\n  providers:\n".to_owned(),
            false,
        ),
        (
            "typo in a secrets key",
            "secrets:\n  provider: envfile\n  provders:\n    envfile: {}\n".to_owned(),
            false,
        ),
        (
            "extra secrets key",
            format!("{SECRETS_ENVFILE}  extra: 1\n"),
            false,
        ),
        (
            "no secrets section",
            "project: {name: x}\n".to_owned(),
            false,
        ),
        ("secrets is null", "secrets:\n".to_owned(), false),
        (
            "secrets is a list",
            "secrets: [envfile]\n".to_owned(),
            false,
        ),
        ("empty file", String::new(), false),
        ("a list document", "- secrets\n".to_owned(), false),
        (
            "duplicate key",
            "secrets:\n  provider: envfile\n  provider: envfile\n  providers: {envfile: {}}\n"
                .to_owned(),
            false,
        ),
        // vault: addresses, paths of names, durations read as encore reads them.
        (
            "vault with a cluster",
            vault("      address: [http://a:8200, https://b:8200]\n      path: /team/app/\n      timeout: 90s\n"),
            true,
        ),
        ("vault with no settings", vault("      {}\n"), true),
        ("vault address not http", vault("      address: ftp://a\n"), false),
        ("vault empty address list", vault("      address: []\n"), false),
        ("vault path with ..", vault("      path: team/../sys\n"), false),
        ("vault mount with //", vault("      mount: a//b\n"), false),
        ("vault timeout in seconds", vault("      timeout: 12\n"), true),
        ("vault timeout in minutes", vault("      timeout: 2m\n"), true),
        ("vault zero timeout", vault("      timeout: 0s\n"), false),
        ("vault timeout of two units", vault("      timeout: 1m 30s\n"), false),
        ("vault token in the file", vault("      token: abc\n"), false),
        // Sections under `providers`.
        (
            "extra section under providers",
            format!("{SECRETS_ENVFILE}    aws: {{}}\n"),
            false,
        ),
        (
            "missing section of the chosen provider",
            "secrets:\n  provider: strict\n  providers:\n    envfile: {}\n".to_owned(),
            false,
        ),
        (
            "a numeric provider key",
            format!("{SECRETS_ENVFILE}    1: {{}}\n"),
            false,
        ),
        (
            "a section that is a scalar",
            envfile("").replace("envfile:\n", "envfile: yes\n"),
            false,
        ),
        ("a section that is a list", envfile("      - .env\n"), false),
        (
            "settings for a provider without settings",
            "secrets:\n  provider: bare\n  providers:\n    bare:\n      x: 1\n".to_owned(),
            false,
        ),
        // Fields of a section.
        (
            "typo in a field",
            envfile("      source_fle: .env\n"),
            false,
        ),
        (
            "a number as file name",
            envfile("      source_file: 123\n"),
            false,
        ),
        (
            "a boolean as file name",
            envfile("      source_file: true\n"),
            false,
        ),
        (
            "a list as file name",
            envfile("      source_file: [a]\n"),
            false,
        ),
        (
            "a map as file name",
            envfile("      source_file: {a: b}\n"),
            false,
        ),
        (
            "a tagged value as file name",
            envfile("      source_file: !secret x\n"),
            false,
        ),
        (
            "missing required field",
            strict("      retries: 3\n"),
            false,
        ),
        (
            "null section with a required field",
            "secrets:\n  provider: strict\n  providers:\n    strict:\n".to_owned(),
            false,
        ),
        (
            "a quoted integer",
            strict("      address: x\n      retries: \"3\"\n"),
            false,
        ),
        (
            "a negative integer",
            strict("      address: x\n      retries: -1\n"),
            false,
        ),
        (
            "an integer too large",
            strict("      address: x\n      retries: 4294967296\n"),
            false,
        ),
        (
            "a fraction",
            strict("      address: x\n      retries: 1.5\n"),
            false,
        ),
        (
            "an unknown enum value",
            strict("      address: x\n      mode: append\n"),
            false,
        ),
        (
            "a number in a list of strings",
            strict("      address: x\n      paths: [a, 1]\n"),
            false,
        ),
        (
            "typo in a nested field",
            strict("      address: x\n      tls:\n        ca_fle: ca.pem\n"),
            false,
        ),
        (
            "merge keys",
            "defaults: &d\n  source_file: a\nsecrets:\n  provider: envfile\n  providers:\n    envfile:\n      <<: *d\n      target_file: b\n".to_owned(),
            true,
        ),
        (
            "a merge key bringing a typo",
            "defaults: &d\n  source_fle: a\nsecrets:\n  provider: envfile\n  providers:\n    envfile:\n      <<: *d\n".to_owned(),
            false,
        ),
        (
            "a merge key at the secrets level",
            "base: &b\n  provider: envfile\nsecrets:\n  <<: *b\n  providers:\n    envfile: {}\n".to_owned(),
            true,
        ),
        (
            "missing nested required field",
            strict("      address: x\n      tls: {}\n"),
            false,
        ),
        // encore: what serde reads beyond the types (aliases, a timeout with units) and what its
        // check_config adds (types or envs, not empty, environment names).
        ("encore: type aliases", encore("      types: [development, prod, pr, ephemeral]\n"), true),
        ("encore: named environments", encore("      envs: [staging, qa_2, eu-west]\n"), true),
        ("encore: a timeout in seconds", encore("      timeout: 45\n"), true),
        ("encore: a fractional timeout", encore("      timeout: 2.5\n"), true),
        ("encore: a timeout with units", encore("      timeout: 500ms\n"), true),
        ("encore: a timeout in minutes", encore("      timeout: \" 2 m\"\n"), true),
        ("encore: a timeout with an exponent", encore("      timeout: 1e3ms\n"), true),
        ("encore: concurrency", encore("      concurrency: 8\n"), true),
        ("encore: types: null with envs", encore("      types: null\n      envs: [staging]\n"), true),
        ("encore: types and envs", encore("      types: [dev]\n      envs: [staging]\n"), false),
        ("encore: no types", encore("      types: []\n"), false),
        ("encore: no envs", encore("      envs: []\n"), false),
        ("encore: an unknown type", encore("      types: [staging]\n"), false),
        ("encore: an environment name with a space", encore("      envs: [\"eu west\"]\n"), false),
        ("encore: an environment name starting with -", encore("      envs: [-x]\n"), false),
        ("encore: a zero timeout", encore("      timeout: 0\n"), false),
        ("encore: a zero timeout with units", encore("      timeout: 0.0s\n"), false),
        ("encore: a negative timeout", encore("      timeout: -1\n"), false),
        ("encore: a timeout in hours", encore("      timeout: 2h\n"), false),
        ("encore: a null timeout", encore("      timeout: null\n"), false),
        ("encore: a boolean timeout", encore("      timeout: true\n"), false),
        ("encore: zero concurrency", encore("      concurrency: 0\n"), false),
        ("encore: a typo", encore("      app_dri: backend\n"), false),
        (
            "recursive settings",
            strict(
                "      address: x\n      fallback:\n        address: y\n        fallback: {address: z}\n",
            ),
            true,
        ),
        (
            "typo deep in recursive settings",
            strict(
                "      address: x\n      fallback:\n        address: y\n        fallback: {adress: z}\n",
            ),
            false,
        ),
        (
            "wrong type deep in recursive settings",
            strict(
                "      address: x\n      fallback:\n        fallback: {address: [z]}\n        address: y\n",
            ),
            false,
        ),
        (
            "missing field deep in recursive settings",
            strict("      address: x\n      fallback:\n        fallback: {}\n        address: y\n"),
            false,
        ),
    ]);
    corpus
}

#[test]
fn schema_and_config_validate_agree_on_every_config() {
    let validator = validator();
    // What yaml-language-server applies: the same schema read as draft-07.
    let draft7 = jsonschema::draft7::new(&stagecraft_core::config_schema(&REGISTRY)).unwrap();
    let corpus = corpus();
    assert!(corpus.len() >= 30);
    let mut disagreements = Vec::new();
    for (name, text, valid) in &corpus {
        let config = config_verdict(text);
        let schema = schema_verdict(&validator, text);
        let schema7 = schema_verdict(&draft7, text);
        if config.is_ok() != *valid || schema.is_ok() != *valid || schema7.is_ok() != *valid {
            disagreements.push(format!(
                "{name} (expected {}):\n  config validate: {config:?}\n  schema: {schema:?}\n  as draft-07: {schema7:?}",
                if *valid { "valid" } else { "invalid" }
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// JSON Schema counts `3.0` as an integer; serde does not. An editor accepts `retries: 3.0`,
/// which `config validate` then rejects with its line and column. Pinned so that a change shows.
#[test]
fn known_difference_a_whole_float_for_an_integer() {
    let text = strict("      address: x\n      retries: 3.0\n");
    assert!(schema_verdict(&validator(), &text).is_ok());
    let errors = config_verdict(&text).unwrap_err();
    assert!(
        errors.len() == 1
            && errors[0].starts_with("stagecraft.yml:6:16: secrets.providers.strict.retries: ")
            && errors[0].ends_with("expected a whole number from 0 to 4294967295"),
        "{errors:?}"
    );
}

#[test]
fn errors_name_the_line_column_and_path_of_each_kind_of_mistake() {
    for (text, expected) in [
        (
            envfile("      source_fle: .env\n"),
            "stagecraft.yml:5:7: secrets.providers.envfile.source_fle: unknown field `source_fle`, expected one of `source_file`, `target_file`, `lock_timeout`",
        ),
        (
            envfile("      source_file: 123\n"),
            "stagecraft.yml:5:20: secrets.providers.envfile.source_file: invalid type: integer, expected a path",
        ),
        (
            strict("      address: x\n      paths: [a, 1]\n"),
            "stagecraft.yml:6:18: secrets.providers.strict.paths.1: invalid type: integer, expected a string",
        ),
        (
            envfile("      source_file: !vault x\n"),
            "stagecraft.yml:5:20: secrets.providers.envfile.source_file: a YAML tag such as `!name` is not supported here",
        ),
        (
            strict("      retries: 3\n"),
            "stagecraft.yml:5:7: secrets.providers.strict: missing field `address`",
        ),
        (
            "secrets:\n  provider: bare\n  providers:\n    bare:\n      x: 1\n".to_owned(),
            "stagecraft.yml:5:7: secrets.providers.bare.x: unknown field `x`, there are no fields",
        ),
    ] {
        assert_eq!(config_verdict(&text).unwrap_err(), [expected], "{text}");
    }
}

#[test]
fn validate_warns_about_settings_left_to_flags() {
    // Paths are relative to the current directory here (the package's), where Cargo.toml is.
    let warnings = |text: &str| -> Vec<String> {
        let config = Config::parse(Path::new("stagecraft.yml"), text).unwrap();
        config.secrets_provider(&REGISTRY, None).unwrap();
        config
            .warnings(&REGISTRY)
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        warnings(&format!(
            "{SECRETS_ENVFILE}      source_file: Cargo.toml\n    encore:\n      types: [dev]\n"
        )),
        [
            "stagecraft.yml:4:5: secrets.providers.envfile: no `target_file`: `stagecraft secrets sync` will need --to",
            "stagecraft.yml:6:5: secrets.providers.encore: no `source_file`: `stagecraft secrets sync` will need --from",
        ]
    );
    assert!(warnings(&encore("      source_file: Cargo.toml\n")).is_empty());
    // A section with errors gets errors, not warnings; `strict` and `bare` never warn.
    assert!(
        warnings(&format!(
            "{}    strict:\n      address: x\n",
            envfile("      source_file: Cargo.toml\n      target_file: b\n")
        ))
        .is_empty()
    );
}

#[test]
fn no_value_reaches_an_error() {
    let canary = "canary-3b1f9e";
    for section in [
        format!("      address: x\n      retries: {canary}\n"),
        format!("      address: x\n      mode: {canary}\n"),
        format!("      address: [{canary}]\n"),
        format!("      address: x\n      tls: {canary}\n"),
    ] {
        let errors = config_verdict(&strict(&section)).unwrap_err();
        assert!(!errors.join("\n").contains(canary), "{errors:?}");
    }
}

/// yaml-language-server checks schemas as draft-07 does: the schema must use no keyword that
/// draft-07 lacks (`prefixItems`, `dependentRequired`, `unevaluatedProperties`, …), or an
/// editor would silently skip that check. `$defs` is allowed as a place that `$ref` reaches by a
/// JSON pointer, which every draft follows.
#[test]
fn the_schema_uses_only_keywords_that_draft_07_has() {
    const KEYWORDS: &[&str] = &[
        "$schema",
        "title",
        "description",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "enum",
        "const",
        "anyOf",
        "oneOf",
        "allOf",
        "if",
        "then",
        "items",
        "format",
        "minimum",
        "maximum",
        "default",
        "$ref",
        "$defs",
        "not",
        "pattern",
        "minItems",
        "exclusiveMinimum",
    ];
    fn walk(schema: &serde_json::Value, at: &str, found: &mut Vec<String>) {
        let Some(object) = schema.as_object() else {
            return;
        };
        for (keyword, value) in object {
            if !KEYWORDS.contains(&keyword.as_str()) {
                found.push(format!("{at}/{keyword}"));
            }
            match keyword.as_str() {
                "properties" | "$defs" => {
                    for (name, sub) in value.as_object().unwrap() {
                        walk(sub, &format!("{at}/{keyword}/{name}"), found);
                    }
                }
                "anyOf" | "oneOf" | "allOf" => {
                    for (i, sub) in value.as_array().unwrap().iter().enumerate() {
                        walk(sub, &format!("{at}/{keyword}/{i}"), found);
                    }
                }
                "items" | "if" | "then" | "additionalProperties" => {
                    walk(value, &format!("{at}/{keyword}"), found)
                }
                _ => {}
            }
        }
    }
    let schema = stagecraft_core::config_schema(&REGISTRY);
    let mut found = Vec::new();
    walk(&schema, "", &mut found);
    assert!(found.is_empty(), "keywords that draft-07 lacks: {found:?}");
    // `$defs` is only a place for recursive types, reached by JSON pointers that any draft follows.
    assert_eq!(
        schema["$defs"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["Fallback"]
    );
}

#[test]
fn the_settings_reach_the_provider_and_the_table() {
    let opts = SyncOptions::new(stagecraft_core::ProviderConfig::from_yaml(
        "address: https://store",
    ));
    let report = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(Strict.sync(opts))
        .unwrap();
    assert_eq!(report.source, "https://store");
    assert!(Strict.settings().takes_settings());
    assert!(!Bare.settings().takes_settings());
    let entry = REGISTRY.entry("envfile").unwrap();
    assert!(entry.settings().takes_settings());
}
