//! `kaizala singer`: a Singer tap (the Singer spec: SCHEMA, RECORD and
//! STATE messages as JSON lines on standard output; logs on standard
//! error), with stream selection from a catalog and bookmarks in the state.

use std::io::{self, Stdout};
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::config::read_json;
use super::{Config, Failure, Protocol, STREAMS, Selected, State, Stream, emit};
use crate::error::{CliError, CliResult};

/// `kaizala singer`.
#[derive(Debug, Args)]
pub struct SingerArgs {
    /// The configuration (JSON: base_url, application_id,
    /// application_secret, refresh_token, optionally group_ids and
    /// start_date).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The catalog: read the streams it selects (every stream without one).
    #[arg(long, value_name = "FILE", alias = "properties")]
    pub catalog: Option<PathBuf>,
    /// The state of an earlier run (its last STATE message's value).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Print the catalog instead of reading.
    #[arg(long)]
    pub discover: bool,
}

/// Runs the tap.
pub async fn run(args: SingerArgs) -> CliResult {
    let mut out = Singer {
        out: io::stdout(),
        state: State::default(),
    };
    tap(&mut out, &args).await.map_err(|failure| failure.error)
}

async fn tap(out: &mut Singer, args: &SingerArgs) -> Result<(), Failure> {
    let config = Config::read(&args.config)?;
    if args.discover {
        return discover(out).await;
    }
    let selected = match &args.catalog {
        Some(path) => selected(path)?,
        None => STREAMS
            .iter()
            .map(|stream| Selected {
                stream,
                incremental: stream.incremental(),
            })
            .collect(),
    };
    let state = match &args.state {
        Some(path) => parse_state(path)?,
        None => State::default(),
    };
    out.state = state.clone();
    super::read(&config, &selected, state, out).await
}

/// The catalog: per stream its schema, key and replication metadata,
/// selected by default.
async fn discover(out: &mut Singer) -> Result<(), Failure> {
    let streams: Vec<Value> = super::columns()
        .await?
        .into_iter()
        .map(|(stream, columns)| {
            let mut top = json!({
                "inclusion": "available",
                "selected": true,
                "table-key-properties": stream.primary_key,
                "forced-replication-method":
                    if stream.incremental() { "INCREMENTAL" } else { "FULL_TABLE" },
            });
            if let (Some(cursor), Value::Object(map)) = (stream.cursor, &mut top) {
                map.insert("valid-replication-keys".into(), json!([cursor]));
                map.insert("replication-key".into(), json!(cursor));
            }
            let mut metadata = vec![json!({"breadcrumb": [], "metadata": top})];
            metadata.extend(columns.iter().map(|c| {
                let inclusion =
                    if stream.primary_key.contains(&c.name()) || stream.cursor == Some(c.name()) {
                        "automatic"
                    } else {
                        "available"
                    };
                json!({"breadcrumb": ["properties", c.name()],
                       "metadata": {"inclusion": inclusion}})
            }));
            json!({
                "tap_stream_id": stream.name,
                "stream": stream.name,
                "schema": stream.json_schema(&columns),
                "key_properties": stream.primary_key,
                "metadata": metadata,
            })
        })
        .collect();
    emit(&mut out.out.lock(), &json!({"streams": streams}))?;
    Ok(())
}

#[derive(Deserialize)]
struct Catalog {
    streams: Vec<CatalogStream>,
}

#[derive(Deserialize)]
struct CatalogStream {
    tap_stream_id: Option<String>,
    stream: Option<String>,
    /// The legacy stream-level flag.
    selected: Option<bool>,
    #[serde(default)]
    metadata: Vec<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    breadcrumb: Vec<String>,
    metadata: Map<String, Value>,
}

/// The streams a catalog selects (`selected: true` in the metadata whose
/// breadcrumb is empty).
fn selected(path: &Path) -> Result<Vec<Selected>, Failure> {
    let catalog: Catalog = read_json(path, "catalog")?;
    let mut out = Vec::new();
    for entry in catalog.streams {
        let name = entry.tap_stream_id.or(entry.stream).ok_or_else(|| {
            CliError::new(format!(
                "the catalog {} has a stream without tap_stream_id",
                path.display()
            ))
        })?;
        let stream = super::streams::by_name(&name).ok_or_else(|| {
            CliError::new(format!(
                "the catalog {} names an unknown stream {name:?}; the streams are {}",
                path.display(),
                STREAMS.map(|s| s.name).join(", ")
            ))
        })?;
        let top = entry.metadata.iter().find(|m| m.breadcrumb.is_empty());
        let flag = top
            .and_then(|m| m.metadata.get("selected"))
            .and_then(Value::as_bool)
            .or(entry.selected);
        if flag != Some(true) {
            continue;
        }
        let method = top
            .and_then(|m| m.metadata.get("replication-method"))
            .and_then(Value::as_str);
        out.push(Selected {
            stream,
            incremental: stream.incremental() && method != Some("FULL_TABLE"),
        });
    }
    Ok(out)
}

/// The state file: `{"bookmarks": {stream: {"groups": {id: [fingerprint,
/// …]}}}}` (an empty object is no state).
fn parse_state(path: &Path) -> Result<State, Failure> {
    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        bookmarks: State,
        #[serde(default)]
        #[allow(dead_code)]
        currently_syncing: Option<Value>,
    }
    let file: File = read_json(path, "state")?;
    if let Some(name) = file
        .bookmarks
        .streams
        .keys()
        .find(|name| super::streams::by_name(name).is_none())
    {
        return Err(CliError::new(format!(
            "the state {} has a bookmark for an unknown stream {name:?}",
            path.display()
        ))
        .into());
    }
    Ok(file.bookmarks)
}

struct Singer {
    out: Stdout,
    /// Bookmarks so far, written whole in each STATE.
    state: State,
}

impl Singer {
    fn send(&mut self, message: Value) -> io::Result<()> {
        emit(&mut self.out.lock(), &message)
    }
}

impl Protocol for Singer {
    fn schema(&mut self, stream: &Stream, schema: &Value) -> io::Result<()> {
        // No bookmark_properties: the bookmarks are fingerprints of rows,
        // not a column's values (docs/api/decisions.md 94).
        self.send(
            json!({"type": "SCHEMA", "stream": stream.name, "schema": schema,
                         "key_properties": stream.primary_key}),
        )
    }

    fn estimate(&mut self, _stream: &Stream, _rows: usize) -> io::Result<()> {
        Ok(())
    }

    fn record(&mut self, stream: &Stream, record: Map<String, Value>) -> io::Result<()> {
        self.send(
            json!({"type": "RECORD", "stream": stream.name, "record": record,
                         "time_extracted": super::streams::time_text(super::now_ms())}),
        )
    }

    fn state(&mut self, _stream: &Stream, state: &State) -> io::Result<()> {
        self.state = state.clone();
        self.send(json!({"type": "STATE", "value": {"bookmarks": state}}))
    }

    fn log(&mut self, message: &str) -> io::Result<()> {
        eprintln!("kaizala singer: {message}");
        Ok(())
    }
}
