//! The one way every shipped provider reads a duration from `stagecraft.yml`: a positive number
//! of seconds (`45`, `2.5`), or a number with a unit, `ms`, `s` or `m` (`500ms`, `12s`, `2m`).

use schemars::{Schema, SchemaGenerator, json_schema};
use serde::Deserializer;
use std::time::Duration;

/// A duration in seconds (`30`, `2.5`) or with a unit (`500ms`, `30s`, `2m`).
pub(crate) fn timeout<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    struct Seconds;
    impl serde::de::Visitor<'_> for Seconds {
        type Value = f64;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a positive number of seconds, or a duration such as 500ms, 30s or 2m")
        }

        fn visit_f64<E>(self, seconds: f64) -> Result<f64, E> {
            Ok(seconds)
        }

        fn visit_u64<E>(self, seconds: u64) -> Result<f64, E> {
            Ok(seconds as f64)
        }

        fn visit_i64<E>(self, seconds: i64) -> Result<f64, E> {
            Ok(seconds as f64)
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<f64, E> {
            let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
                (ms, 0.001)
            } else if let Some(s) = text.strip_suffix('s') {
                (s, 1.0)
            } else if let Some(m) = text.strip_suffix('m') {
                (m, 60.0)
            } else {
                (text, 1.0)
            };
            number
                .trim()
                .parse::<f64>()
                .map(|n| n * scale)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Other("text"), &self))
        }
    }
    let seconds = deserializer.deserialize_any(Seconds)?;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::invalid_value(serde::de::Unexpected::Float(seconds), &Seconds)
        })
}

/// What [`timeout`] reads: a positive number of seconds, or one followed by `ms`, `s` or `m`.
/// (`null` is refused, as `timeout` refuses it.)
pub(crate) fn timeout_schema(generator: &mut SchemaGenerator) -> Schema {
    let _ = generator;
    json_schema!({
        "anyOf": [
            { "type": "number", "exclusiveMinimum": 0, "maximum": u64::MAX },
            {
                "type": "string",
                "pattern": "^\\s*\\+?(?=[0-9.]*[1-9])([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?\\s*(ms|s|m)?$",
            },
        ],
    })
}

/// A duration as the settings write it: `30s`, `2.5s`, `500ms`.
pub(crate) fn display(duration: Duration) -> String {
    if duration.subsec_millis() == 0 && duration.as_secs() > 0 {
        format!("{}s", duration.as_secs())
    } else if duration.as_secs() == 0 {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}
