//! A configuration that cannot be used, and the dotted key to blame.

use std::path::PathBuf;

use super::ENV_PREFIX;

/// A configuration that cannot be used, with the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML at all (no key to blame).
    #[error("the config file is not valid TOML: {0}")]
    Parse(String),
    /// A value is missing, unknown or wrong.
    #[error("`{key}`: {message}")]
    Invalid {
        /// The dotted key, e.g. `sites.demo.allowed_origins`.
        key: String,
        /// What is wrong and what to do.
        message: String,
    },
}

pub(super) fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// Turns figment's error into one that names the dotted key, and the
/// environment variable when the value came from one.
pub(super) fn name_the_key(error: figment::Error, file: &str) -> ConfigError {
    use figment::error::Kind;
    let mut path = error.path.clone();
    let message = match &error.kind {
        Kind::UnknownField(field, expected) => {
            if path.last() != Some(field) {
                path.push(field.clone());
            }
            format!(
                "unknown key (misspelt?); keys here: {}",
                expected.join(", ")
            )
        }
        Kind::MissingField(field) => {
            if path.last().map(String::as_str) != Some(field.as_ref()) {
                path.push(field.to_string());
            }
            "is required".to_owned()
        }
        other => other.to_string(),
    };
    if path.is_empty() {
        return ConfigError::Parse(format!("{message} (in {file})"));
    }
    let variable = format!("{ENV_PREFIX}{}", path.join("__").to_ascii_uppercase());
    let from_env = error
        .metadata
        .as_ref()
        .is_some_and(|metadata| metadata.name.contains("environment"));
    let origin = if matches!(error.kind, Kind::MissingField(_)) {
        format!("add it to {file} or set {variable}")
    } else if from_env {
        format!("set by the environment variable {variable}")
    } else {
        format!("in {file}")
    };
    invalid(path.join("."), format!("{message} ({origin})"))
}
