//! `kaizala airbyte`: an Airbyte source (the Airbyte protocol: JSON lines
//! on standard output — SPEC, CONNECTION_STATUS, CATALOG, RECORD, STATE
//! per stream, TRACE for errors and estimates, LOG).

use std::io::{self, Stdout};
use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::config::{self, read_json};
use super::{Config, Failure, Protocol, STREAMS, Selected, State, Stream, emit, now_ms};
use crate::error::{CliError, CliResult};

/// The Airbyte protocol's commands.
#[derive(Debug, Subcommand)]
pub enum AirbyteCommand {
    /// Print the connector's specification (its configuration's schema).
    Spec,
    /// Check the configuration: obtain an access token.
    Check {
        /// The configuration (JSON).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Print the catalog of streams.
    Discover {
        /// The configuration (JSON).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Read the streams the configured catalog selects.
    Read {
        /// The configuration (JSON).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The configured catalog (JSON).
        #[arg(long, value_name = "FILE")]
        catalog: PathBuf,
        /// The state of an earlier read (a JSON array of STREAM states).
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
    },
}

/// Runs an Airbyte command; a failure is also told as a TRACE ERROR.
pub async fn run(command: AirbyteCommand) -> CliResult {
    let mut out = Airbyte { out: io::stdout() };
    let result = match command {
        AirbyteCommand::Spec => spec(&mut out),
        AirbyteCommand::Check { config } => check(&mut out, &config).await,
        AirbyteCommand::Discover { config } => discover(&mut out, &config).await,
        AirbyteCommand::Read {
            config,
            catalog,
            state,
        } => read(&mut out, &config, &catalog, state.as_deref()).await,
    };
    match result {
        Ok(()) => Ok(()),
        Err(failure) => {
            let failure_type = if failure.config {
                "config_error"
            } else {
                "system_error"
            };
            let message = failure.error.to_string();
            let _ = emit(
                &mut out.out,
                &json!({"type": "TRACE", "trace": {
                    "type": "ERROR", "emitted_at": now_ms() as f64,
                    "error": {"message": message, "internal_message": message,
                              "failure_type": failure_type}}}),
            );
            Err(failure.error)
        }
    }
}

fn spec(out: &mut Airbyte) -> Result<(), Failure> {
    out.send(json!({"type": "SPEC", "spec": {
        "documentationUrl": "https://github.com/kaizala-rs/kaizala-rs/blob/main/docs/pipelines.md",
        "connectionSpecification": config::schema(),
        "supportsIncremental": true,
        "supported_destination_sync_modes": ["overwrite", "append", "append_dedup"],
    }}))?;
    Ok(())
}

async fn check(out: &mut Airbyte, path: &Path) -> Result<(), Failure> {
    let config = Config::read(path)?;
    let status = match super::check(&config).await {
        Ok(()) => json!({"status": "SUCCEEDED"}),
        Err(failure) if failure.config => {
            json!({"status": "FAILED", "message": failure.error.to_string()})
        }
        Err(failure) => return Err(failure),
    };
    out.send(json!({"type": "CONNECTION_STATUS", "connectionStatus": status}))?;
    Ok(())
}

async fn discover(out: &mut Airbyte, path: &Path) -> Result<(), Failure> {
    Config::read(path)?;
    let streams: Vec<Value> = super::columns()
        .await?
        .into_iter()
        .map(|(stream, columns)| {
            let mut entry = json!({
                "name": stream.name,
                "json_schema": stream.json_schema(&columns),
                "supported_sync_modes": if stream.incremental() {
                    json!(["full_refresh", "incremental"])
                } else {
                    json!(["full_refresh"])
                },
                "source_defined_primary_key":
                    stream.primary_key.iter().map(|k| vec![*k]).collect::<Vec<_>>(),
            });
            if let (Some(cursor), Value::Object(map)) = (stream.cursor, &mut entry) {
                map.insert("source_defined_cursor".into(), json!(true));
                map.insert("default_cursor_field".into(), json!([cursor]));
            }
            entry
        })
        .collect();
    out.send(json!({"type": "CATALOG", "catalog": {"streams": streams}}))?;
    Ok(())
}

async fn read(
    out: &mut Airbyte,
    config: &Path,
    catalog: &Path,
    state: Option<&Path>,
) -> Result<(), Failure> {
    let config = Config::read(config)?;
    let selected = configured(catalog)?;
    let state = match state {
        Some(path) => parse_state(path)?,
        None => State::default(),
    };
    super::read(&config, &selected, state, out).await
}

/// The configured catalog (only what is read here).
#[derive(Deserialize)]
struct ConfiguredCatalog {
    streams: Vec<ConfiguredStream>,
}

#[derive(Deserialize)]
struct ConfiguredStream {
    stream: StreamName,
    sync_mode: SyncMode,
}

#[derive(Deserialize)]
struct StreamName {
    name: String,
}

#[derive(Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum SyncMode {
    FullRefresh,
    Incremental,
}

fn configured(path: &Path) -> Result<Vec<Selected>, Failure> {
    let catalog: ConfiguredCatalog = read_json(path, "catalog")?;
    let mut selected = Vec::new();
    for entry in catalog.streams {
        let stream = super::streams::by_name(&entry.stream.name).ok_or_else(|| {
            CliError::new(format!(
                "the catalog {} names an unknown stream {:?}; the streams are {}",
                path.display(),
                entry.stream.name,
                STREAMS.map(|s| s.name).join(", ")
            ))
        })?;
        // A full-refresh stream asked for incrementally is read in full,
        // as Airbyte's own sources do (PyAirbyte asks so for every stream).
        selected.push(Selected {
            stream,
            incremental: entry.sync_mode == SyncMode::Incremental && stream.incremental(),
        });
    }
    Ok(selected)
}

/// A state message as Airbyte passes it back.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "UPPERCASE")]
enum StateMessage {
    Stream { stream: StreamStateMessage },
}

#[derive(Deserialize)]
struct StreamStateMessage {
    stream_descriptor: StreamName,
    #[serde(default)]
    stream_state: Option<super::StreamState>,
}

/// The state file: an array of per-stream states (an empty object counts
/// as no state, as Airbyte sends one to a first read).
fn parse_state(path: &Path) -> Result<State, Failure> {
    let value: Value = read_json(path, "state")?;
    let messages: Vec<StateMessage> = match value {
        Value::Object(map) if map.is_empty() => Vec::new(),
        Value::Null => Vec::new(),
        value => serde_json::from_value(value).map_err(|err| {
            CliError::new(format!(
                "the state {} is not valid: {err}; it must be a JSON array of STREAM states",
                path.display()
            ))
        })?,
    };
    let mut state = State::default();
    for StateMessage::Stream { stream } in messages {
        let name = stream.stream_descriptor.name;
        if super::streams::by_name(&name).is_none() {
            return Err(CliError::new(format!(
                "the state {} names an unknown stream {name:?}",
                path.display()
            ))
            .into());
        }
        state
            .streams
            .insert(name, stream.stream_state.unwrap_or_default());
    }
    Ok(state)
}

struct Airbyte {
    out: Stdout,
}

impl Airbyte {
    fn send(&mut self, message: Value) -> io::Result<()> {
        emit(&mut self.out.lock(), &message)
    }
}

impl Protocol for Airbyte {
    fn schema(&mut self, _stream: &Stream, _schema: &Value) -> io::Result<()> {
        // The catalog carried it.
        Ok(())
    }

    fn estimate(&mut self, stream: &Stream, rows: usize) -> io::Result<()> {
        self.send(json!({"type": "TRACE", "trace": {
            "type": "ESTIMATE", "emitted_at": now_ms() as f64,
            "estimate": {"name": stream.name, "type": "STREAM", "row_estimate": rows}}}))
    }

    fn record(&mut self, stream: &Stream, record: Map<String, Value>) -> io::Result<()> {
        self.send(json!({"type": "RECORD", "record": {
            "stream": stream.name, "data": record, "emitted_at": now_ms()}}))
    }

    fn state(&mut self, stream: &Stream, state: &State) -> io::Result<()> {
        self.send(json!({"type": "STATE", "state": {
        "type": "STREAM",
        "stream": {
            "stream_descriptor": {"name": stream.name},
            "stream_state": state.of(stream.name),
        }}}))
    }

    fn log(&mut self, message: &str) -> io::Result<()> {
        self.send(json!({"type": "LOG", "log": {"level": "INFO", "message": message}}))
    }
}
