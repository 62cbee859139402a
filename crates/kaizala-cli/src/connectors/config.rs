//! The connector's configuration: one JSON file, the same keys for the
//! Airbyte source and the Singer tap.

use std::path::Path;

use kaizala_client::Client;
use kaizala_core::session::Credentials;
use kaizala_sink::Start;
use kaizala_types::Secret;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{CliError, CliResult};

/// What the configuration file holds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The platform's API address.
    pub base_url: String,
    /// The connector's application id.
    pub application_id: String,
    pub application_secret: Secret,
    pub refresh_token: Secret,
    /// Only these groups; every group the token reaches when absent.
    #[serde(default)]
    pub group_ids: Option<Vec<String>>,
    /// Skip actions, responses and answers from before this time.
    #[serde(default)]
    pub start_date: Option<String>,
}

impl Config {
    /// Reads and checks the file at `path`.
    pub fn read(path: &Path) -> CliResult<Config> {
        let config: Config = read_json(path, "config")?;
        if config.base_url.trim().is_empty() || config.application_id.trim().is_empty() {
            return Err(CliError::new(format!(
                "the config {} is not valid: base_url and application_id must not be empty",
                path.display()
            )));
        }
        config.start_ms()?;
        Ok(config)
    }

    /// `start_date` in epoch milliseconds.
    pub fn start_ms(&self) -> CliResult<Option<i64>> {
        let Some(text) = &self.start_date else {
            return Ok(None);
        };
        match Start::since_text(text, "UTC") {
            Ok(Start::Since(ms)) => Ok(Some(ms)),
            _ => Err(CliError::new(format!(
                "the config's start_date {text:?} is not a time: give RFC 3339, e.g. 2026-01-31T00:00:00Z"
            ))),
        }
    }

    /// A client for these credentials (with its throttle).
    pub fn client(&self) -> CliResult<Client> {
        Ok(Client::builder()
            .credentials(Credentials::new(
                self.application_id.as_str(),
                self.application_secret.clone(),
                self.refresh_token.clone(),
            ))
            .base_url(&self.base_url)
            .build()?)
    }
}

/// The configuration's JSON schema; the secrets marked so Airbyte hides
/// them (`airbyte_secret`).
pub fn schema() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Kaizala",
        "type": "object",
        "required": ["base_url", "application_id", "application_secret", "refresh_token"],
        "additionalProperties": false,
        "properties": {
            "base_url": {
                "type": "string", "title": "API base URL", "order": 0,
                "description": "The Kaizala API's address, e.g. https://api.kaiza.la",
                "examples": ["https://api.kaiza.la"]
            },
            "application_id": {
                "type": "string", "title": "Application id", "order": 1,
                "description": "The connector's application id."
            },
            "application_secret": {
                "type": "string", "title": "Application secret", "order": 2,
                "description": "The connector's application secret.", "airbyte_secret": true
            },
            "refresh_token": {
                "type": "string", "title": "Refresh token", "order": 3,
                "description": "The connector's refresh token.", "airbyte_secret": true
            },
            "group_ids": {
                "type": "array", "items": {"type": "string"}, "title": "Group ids", "order": 4,
                "description": "Only these groups; every group the connector reaches when empty."
            },
            "start_date": {
                "type": "string", "format": "date-time", "title": "Start date", "order": 5,
                "description": "Skip actions, responses and answers from before this time (RFC 3339).",
                "examples": ["2026-01-01T00:00:00Z"]
            }
        }
    })
}

/// Reads a JSON file given as `what` (config, catalog, state), with a
/// one-line error that never repeats its content (it may hold secrets).
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> CliResult<T> {
    let bytes = std::fs::read(path).map_err(|err| {
        CliError::new(format!("cannot read the {what} {}: {err}", path.display()))
    })?;
    serde_json::from_slice(&bytes).map_err(|err| {
        CliError::new(format!(
            "the {what} {} is not valid: {}",
            path.display(),
            without_values(&err)
        ))
    })
}

/// serde's message without the value it quotes (`invalid type: string
/// "…"`), which could be a secret put in the wrong key.
fn without_values(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.find(['"', '`']) {
        Some(at) if text.starts_with("invalid") => format!(
            "{} at line {} column {}",
            text[..at].trim_end(),
            err.line(),
            err.column()
        ),
        _ => text,
    }
}
