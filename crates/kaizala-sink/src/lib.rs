//! Kaizala data in SQL tables a dashboard can query: events pushed by
//! webhooks and data pulled through the API, in SQLite (embedded, the
//! default) or PostgreSQL.
//!
//! **The logs are the truth; every typed table is a projection of them.**
//!
//! - [`Sink::connect`] opens a database by URL (`sqlite://PATH`, a plain
//!   file path, `sqlite::memory:`, `postgres://…`) and creates or upgrades
//!   the schema ([`docs/schema.md`]).
//! - [`Sink::event_store`] is the webhook receiver's [`EventStore`] and
//!   [`EventQueue`]: each event is appended to the event log (`events`,
//!   once per `eventId`, its body as received) with group commit — one
//!   `fsync` serves many concurrent deliveries — and acknowledged only
//!   after the commit. Nothing else happens on the request path.
//! - [`Sink::sync`] pulls groups, sub-groups, members, subscribers,
//!   actions (from the stored `fromDate` cursor), responses and reaction
//!   counts through `kaizala_client` into the pull log (`pull_log`).
//! - The [`Projector`] derives `groups`, `members`, `member_changes`,
//!   `messages`, `attachments`, `actions`, `responses` + `answers`,
//!   `reactions`, `event_index` and `projection_errors` from both logs, in
//!   large batches, idempotently, behind a stored watermark:
//!   [`Projector::spawn`] in the background, [`Sink::project`] to catch up
//!   now. [`Sink::rebuild`] re-derives tables from the logs beside the live
//!   ones and swaps them in; [`Sink::status`] shows the logs, the lag and
//!   the errors.
//! - [`Sink::export`] (CSV, JSON, NDJSON), [`Sink::export_rows`] (typed
//!   rows, to a [`RowWriter`] of the caller's: the CLI's Parquet writer),
//!   [`Sink::summary`], [`Sink::dashboard`], [`Sink::counts`] read it back.
//!   [`Sink::export_from`] and [`Sink::export_rows_from`] export
//!   incrementally: from a [`Start`] (a time, or the opaque [`Cursor`] an
//!   earlier export returned in its [`Exported`]).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::time::SystemTime;
//! use kaizala_sink::{Format, Sink, Table};
//! use kaizala_webhook::store::{EventStore, IncomingEvent, Stored};
//!
//! let dir = tempfile::tempdir()?;
//! let sink = Sink::connect(dir.path().join("kaizala.db").to_str().unwrap()).await?;
//! let store = sink.event_store();
//!
//! let body = br#"{"eventId": "e1", "eventType": "SurveyResponse", "objectId": "g1",
//!     "objectType": "Group", "data": {"actionId": "a1", "groupId": "g1", "responseId": "r1",
//!     "responseDetails": {"responseWithQuestions": [
//!         {"title": "Stock level", "type": "SingleOption",
//!          "options": [{"title": "Low"}, {"title": "OK"}], "answer": ["OK"]},
//!         {"title": "Cartons", "type": "Numeric", "answer": 12}]}}}"#;
//! let event = IncomingEvent::new(body.as_slice(), SystemTime::now())?;
//! assert_eq!(store.store(&event).await?, Stored::New); // in the log: acknowledge
//! assert_eq!(store.store(&event).await?, Stored::Duplicate); // a redelivery
//!
//! // The typed tables follow the log (`kaizala ingest` projects in the
//! // background; here, catch up at once).
//! let projected = sink.project().await?;
//! assert_eq!((projected.entries, projected.errors), (1, 0));
//! let counts = sink.counts().await?;
//! assert_eq!(counts.get(Table::Events), 1);
//! assert_eq!(counts.get(Table::Responses), 1);
//! assert_eq!(counts.get(Table::Answers), 2);
//!
//! let mut csv = Vec::new();
//! sink.export(Table::AnswerDistribution, Format::Csv, &mut csv).await?;
//! assert_eq!(
//!     String::from_utf8(csv)?,
//!     "action_id,question_index,question_title,option,count\r\na1,0,Stock level,OK,1\r\n"
//! );
//! assert!(sink.status().await?.is_caught_up());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Timestamps are epoch milliseconds (UTC) in `BIGINT` columns, flags
//! integers 0/1, JSON text — the same in both backends, so one dashboard
//! query serves both.
//!
//! [`docs/schema.md`]: https://github.com/kaizala-rs/kaizala-rs/blob/main/docs/schema.md
//! [`EventStore`]: kaizala_webhook::store::EventStore
//! [`EventQueue`]: kaizala_webhook::store::EventQueue

mod db;
mod direct;
mod error;
mod export;
mod fnv;
mod grants;
mod log;
mod log_file;
mod normalise;
pub mod odata;
mod pivot;
pub mod project;
mod queue;
mod report;
mod schema;
mod sink;
pub mod store;
pub mod sync;
mod table;
mod time_zone;
mod turns;
mod write;
mod writer;

pub use db::{Backend, PostgresDatabase};
pub use error::{BoxError, SinkError};
pub use export::{ColumnType, Cursor, ExportColumn, Exported, Format, RowWriter, Start, Value};
pub use log_file::sqlite_files;
pub use project::rebuild::{RebuildProgress, RebuildReport};
pub use project::status::{Lag, Status};
pub use project::{ProjectionReport, Projector, ProjectorHandle, ProjectorStats};
pub use report::{
    Counts, DailyResponses, Dashboard, HourlyEvents, LatestMessage, OptionCount,
    QuestionDistribution, Summary, TypeCount,
};
pub use sink::Sink;
pub use store::{SqlEventStore, StoreStats};
pub use sync::{SyncOptions, SyncPhase, SyncProgress, SyncReport};
pub use table::Table;
