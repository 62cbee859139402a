//! The Airbyte source and the Singer tap: one core, two protocol writers.
//!
//! A read syncs one group at a time, with `kaizala-client` (its throttle
//! keeps a steady run clear of 429s), into a scratch SQLite sink — the
//! pull, normalisation and projection of `kaizala sync` — and emits that
//! group's rows of each selected stream's `kz_*` view (of an incremental
//! one, those the state's fingerprints do not hold), then the state.
//! A failure part way ends the read with an error; the state emitted
//! before it covers exactly the groups whose records came before it.

pub mod airbyte;
mod config;
pub mod singer;
mod state;
mod streams;

use std::io::{self, Write};

use kaizala_client::Client;
use kaizala_sink::{ExportColumn, Sink, SinkError, SyncOptions};
use serde_json::{Map, Value};

use crate::error::CliError;
pub use config::Config;
pub use state::{State, StreamState};
pub use streams::{STREAMS, Stream};

/// What a protocol writes at each point of a read.
pub trait Protocol {
    /// A stream is about to be read: its record schema.
    fn schema(&mut self, stream: &Stream, schema: &Value) -> io::Result<()>;
    /// How many records of `stream` are coming for the group being read.
    fn estimate(&mut self, stream: &Stream, rows: usize) -> io::Result<()>;
    fn record(&mut self, stream: &Stream, record: Map<String, Value>) -> io::Result<()>;
    /// The state after a group's records of `stream`.
    fn state(&mut self, stream: &Stream, state: &State) -> io::Result<()>;
    /// Something to tell the operator.
    fn log(&mut self, message: &str) -> io::Result<()>;
}

/// A stream to read, and how.
#[derive(Debug, Clone, Copy)]
pub struct Selected {
    pub stream: &'static Stream,
    /// Only rows new or changed since the state (else every row).
    pub incremental: bool,
}

/// Why a read or check failed: a message, and whether the configuration
/// (credentials, a file) is at fault rather than the system.
#[derive(Debug)]
pub struct Failure {
    /// The one line to show.
    pub error: CliError,
    /// The user's configuration must change.
    pub config: bool,
}

impl From<CliError> for Failure {
    fn from(error: CliError) -> Self {
        Failure {
            error,
            config: true,
        }
    }
}

impl From<SinkError> for Failure {
    fn from(err: SinkError) -> Self {
        let config = match &err {
            SinkError::Api { source, .. } => matches!(
                source.kind(),
                kaizala_client::ErrorKind::Unauthorized { .. }
                    | kaizala_client::ErrorKind::Forbidden { .. }
            ),
            _ => false,
        };
        Failure {
            error: CliError::from(err),
            config,
        }
    }
}

impl From<kaizala_client::Error> for Failure {
    fn from(err: kaizala_client::Error) -> Self {
        let config = matches!(
            err.kind(),
            kaizala_client::ErrorKind::Unauthorized { .. }
                | kaizala_client::ErrorKind::Forbidden { .. }
        );
        Failure {
            error: CliError::from(err),
            config,
        }
    }
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Failure {
            error: CliError::new(format!("cannot write to standard output: {err}")),
            config: false,
        }
    }
}

/// The scratch database a read pulls into, removed when dropped.
struct Scratch {
    sink: Sink,
    _dir: tempfile::TempDir,
}

impl Scratch {
    async fn open() -> Result<Scratch, Failure> {
        let dir = tempfile::tempdir().map_err(|err| Failure {
            error: CliError::new(format!("cannot create a scratch directory: {err}")),
            config: false,
        })?;
        let url = format!("sqlite://{}", dir.path().join("scratch.db").display());
        let sink = Sink::connect(&url).await?;
        Ok(Scratch { sink, _dir: dir })
    }
}

/// Every stream's view columns, from an empty scratch sink (the same
/// columns a read emits).
pub async fn columns() -> Result<Vec<(&'static Stream, Vec<ExportColumn>)>, Failure> {
    let scratch = Scratch::open().await?;
    let mut out = Vec::new();
    for stream in &STREAMS {
        let mut batch = stream.rows_of("", None);
        scratch.sink.export_rows(stream.table(), &mut batch).await?;
        out.push((stream, batch.columns));
    }
    scratch.sink.close().await;
    Ok(out)
}

/// Obtains an access token: the credentials work.
pub async fn check(config: &Config) -> Result<(), Failure> {
    config.client()?.auth().refresh().await?;
    Ok(())
}

/// Reads `selected` streams group by group, from `state`, into `out`.
pub async fn read(
    config: &Config,
    selected: &[Selected],
    mut state: State,
    out: &mut dyn Protocol,
) -> Result<(), Failure> {
    let client = config.client()?;
    let start = config.start_ms()?;
    let schemas = columns().await?;
    for pick in selected {
        if let Some((stream, columns)) = schemas.iter().find(|(s, _)| s.name == pick.stream.name) {
            out.schema(stream, &stream.json_schema(columns))?;
        }
    }
    let groups = group_ids(config, &client).await?;
    out.log(&format!("reading {} groups", groups.len()))?;
    let scratch = Scratch::open().await?;
    for group in &groups {
        let options = SyncOptions {
            groups: Some(vec![group.as_str().into()]),
        };
        let report = scratch.sink.sync(&client, options, |_| {}).await?;
        for skipped in &report.skipped {
            out.log(&format!("skipped: {skipped}"))?;
        }
        for pick in selected {
            let stream = pick.stream;
            // start_date bounds what has a time of its own.
            let since = match (start, stream.cursor) {
                (Some(start), Some("created_at" | "responded_at")) => Some(start - 1),
                _ => None,
            };
            let mut batch = stream.rows_of(group, since);
            scratch.sink.export_rows(stream.table(), &mut batch).await?;
            let records = if pick.incremental {
                state.changed(stream.name, group, batch.records, stream.unit())
            } else {
                batch.records
            };
            out.estimate(stream, records.len())?;
            for record in records {
                out.record(stream, record)?;
            }
            if pick.incremental {
                out.state(stream, &state)?;
            }
        }
    }
    scratch.sink.close().await;
    Ok(())
}

/// The groups to read: the config's, else every group the token reaches.
async fn group_ids(config: &Config, client: &Client) -> Result<Vec<String>, Failure> {
    if let Some(ids) = config.group_ids.as_ref().filter(|ids| !ids.is_empty()) {
        return Ok(ids.clone());
    }
    let list = client.groups().list_detailed(true).await?;
    let mut ids: Vec<String> = Vec::new();
    for info in list.groups {
        let id = info.group_id.to_string();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// One JSON line to standard output, flushed, so a reader (and a state
/// after the records it covers) sees it at once.
pub fn emit(out: &mut impl Write, message: &Value) -> io::Result<()> {
    serde_json::to_writer(&mut *out, message)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
