//! The subcommands.

mod bi;
mod demo;
mod emulator;
mod export;
mod ingest;
mod project;
mod rebuild;
mod serve;
mod sql;
mod status;
mod sync;
mod token;
mod webhook;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use kaizala_emulator::cli::EmulatorArgs;
use kaizala_types::Secret;

use crate::credentials::ConnectionArgs;
use crate::error::{CliError, CliResult};
use crate::front::FrontArgs;

/// What `kaizala` can do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything end to end on this machine: the emulator, a webhook
    /// receiver into SQLite, a survey answered by simulated users, a summary
    /// of what was stored, then the dashboard.
    Demo(demo::DemoArgs),
    /// Receive webhook events into a database: append each to the event
    /// log, acknowledge, and project the typed tables in the background.
    Ingest(IngestArgs),
    /// Pull groups, members, actions, responses and reactions through the
    /// API into a database's pull log, and project them.
    Sync(SyncArgs),
    /// Project the logs into the typed tables: catch up, then follow new
    /// entries until Ctrl-C (or stop once caught up, with --once).
    ///
    /// The database must exist (`ingest`, `sync` and `demo` make one): a
    /// path that names no SQLite file is an error, not a new empty
    /// database. An older database is upgraded in place.
    Project(ProjectArgs),
    /// Re-derive typed tables from the logs, beside the live ones, and swap
    /// them in at once.
    ///
    /// The database must exist (`ingest`, `sync` and `demo` make one): a
    /// path that names no SQLite file is an error, not a new empty
    /// database.
    Rebuild(RebuildArgs),
    /// Show the logs, the projection's watermark and lag, its errors and
    /// the schema version.
    Status(StatusArgs),
    /// Write a table, view or survey pivot as CSV, JSON, NDJSON, CSV for
    /// Excel or Parquet.
    Export(ExportArgs),
    /// Serve a database to its readers: the dashboard page at `/` and the
    /// OData feed (Power BI, Excel) at `/odata/`. Read-only. Off loopback
    /// it needs a credential: --token or --users.
    #[command(visible_alias = "dashboard")]
    Serve(ServeArgs),
    /// SQL for the people who run the database: `grant-readonly`.
    Sql {
        #[command(subcommand)]
        command: sql::SqlCommand,
    },
    /// Files that connect BI tools to the database: `grafana`.
    Bi {
        #[command(subcommand)]
        command: bi::BiCommand,
    },
    /// Run the Kaizala platform emulator (as `kaizala-emulator`).
    Emulator(EmulatorArgs),
    /// Check the connector's credentials: obtain an access token and show
    /// what it grants (never the token).
    Token(ConnectionArgs),
    /// An Airbyte source: `spec`, `check`, `discover`, `read` (the Airbyte
    /// protocol on standard output).
    Airbyte {
        #[command(subcommand)]
        command: crate::connectors::airbyte::AirbyteCommand,
    },
    /// A Singer tap: SCHEMA, RECORD and STATE messages on standard output
    /// (or the catalog, with --discover).
    Singer(crate::connectors::singer::SingerArgs),
    /// Create, list, update and delete webhook subscriptions.
    Webhook {
        #[command(flatten)]
        connection: ConnectionArgs,
        #[command(subcommand)]
        command: webhook::WebhookCommand,
    },
}

/// The database to use.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// The database: a file path or `sqlite://PATH` for SQLite (whose logs
    /// are kept beside it in `PATH-log`: copy the two together), or
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (add
    /// `?sslmode=verify-full&sslrootcert=CA.pem` for a server off this
    /// machine).
    // The URL may hold a password: `--help` must not show the variable's value.
    #[arg(long, env = "KAIZALA_DB", hide_env_values = true, value_name = "URL")]
    pub db: String,
    /// PostgreSQL: keep every table, view and log of the sink in this schema
    /// (created if missing), so it can live in an existing database beside
    /// other data; the same as `?schema=NAME` in the URL.
    #[arg(long, env = "KAIZALA_SCHEMA", value_name = "NAME")]
    pub schema: Option<String>,
}

impl DbArgs {
    /// The URL to connect to: `--db`, with `--schema` added.
    pub fn url(&self) -> String {
        match &self.schema {
            Some(schema) => {
                let joiner = if self.db.contains('?') { '&' } else { '?' };
                format!("{}{joiner}schema={schema}", self.db)
            }
            None => self.db.clone(),
        }
    }
}

/// `kaizala ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address to receive callbacks on.
    #[arg(long, default_value = "127.0.0.1:8070")]
    pub listen: SocketAddr,
    /// The `kz-callback-token` the webhook was created with (best read from
    /// the environment, out of shell history). Give two — the flag twice,
    /// or `OLD,NEW` (a comma separates them) — to accept the current and
    /// the next token while rotating it, with no restart; at most two.
    /// Without one, any sender is accepted.
    #[arg(
        long,
        env = "KAIZALA_CALLBACK_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        action = clap::ArgAction::Append,
        value_delimiter = ',',
        value_parser = secret
    )]
    pub callback_token: Vec<Secret>,
    /// The callback path.
    #[arg(long, default_value = "/")]
    pub path: String,
    /// Largest accepted body, in bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    pub body_limit: usize,
    /// Only append to the event log; leave the typed tables to a
    /// `kaizala project` running elsewhere.
    #[arg(long)]
    pub no_project: bool,
    #[command(flatten)]
    pub front: FrontArgs,
}

/// `kaizala project`.
#[derive(Debug, Args)]
pub struct ProjectArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Stop once caught up with the log instead of following it.
    #[arg(long)]
    pub once: bool,
    /// Log entries per batch (default: 2,000 on PostgreSQL, 500 on SQLite).
    #[arg(long, value_name = "ENTRIES")]
    pub batch: Option<usize>,
}

/// `kaizala rebuild`.
#[derive(Debug, Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Only this table (repeat the flag); every projected table by default.
    #[arg(long = "table", value_name = "TABLE")]
    pub tables: Vec<String>,
}

/// `kaizala status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `kaizala sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Only these groups (repeat the flag); every group the token reaches by default.
    #[arg(long = "group", value_name = "ID")]
    pub groups: Vec<String>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `kaizala export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The table or view: a `kz_*` view of the dashboard contract (kz_groups,
    /// kz_members, kz_member_changes, kz_messages, kz_attachments,
    /// kz_actions, kz_responses, kz_answers, kz_reactions, kz_events,
    /// kz_responses_daily, kz_answer_counts), or a table (events, pull_log,
    /// quarantine, event_index, groups, members, member_changes, messages,
    /// attachments, actions, responses, answers, reactions,
    /// projection_errors, sync_state) or older view (responses_per_day,
    /// answer_distribution).
    #[arg(long, required_unless_present = "pivot", conflicts_with = "pivot")]
    pub table: Option<String>,
    /// Instead of a table: the survey pivot of this action — one row per
    /// response, one column per question, named after its title and typed
    /// by its type.
    #[arg(long, value_name = "ACTION_ID")]
    pub pivot: Option<String>,
    /// `csv`, `json`, `ndjson`, `excel-csv` or `parquet`. Parquet has typed
    /// columns (times as UTC timestamps in milliseconds, days as dates,
    /// flags as booleans, integers, doubles, text and JSON as UTF-8),
    /// snappy-compressed, for DuckDB, Power BI, Spark or a warehouse; it
    /// needs the `parquet` feature (on by default).
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// CSV for Excel (the same as `--format excel-csv`): a UTF-8 byte
    /// order mark, and cells that Excel would run as formulas shown as text.
    #[arg(long, conflicts_with = "format")]
    pub excel: bool,
    /// Write here instead of standard output: to a temporary file beside
    /// it, renamed over it once complete, so a reader never sees half an
    /// export and a failed one leaves the old file as it was.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Export only the rows at or after TIME: RFC 3339 with an offset or
    /// `Z` (2026-03-10T20:00:00Z, 2026-03-10T20:00:00+05:30), or a date
    /// and time without one (2026-03-10, "2026-03-10 08:00"), a local time
    /// of the sink's time zone (`kaizala sql set-timezone`). The time is
    /// when an event was received (events, event_index, kz_events,
    /// quarantine), fetched (pull_log) or logged (projection_errors), else
    /// its own time (sent_at, changed_at, responded_at). Only for the
    /// tables and views with a time or log order: events, pull_log,
    /// quarantine, event_index, member_changes, messages, attachments,
    /// responses, projection_errors, kz_member_changes, kz_messages,
    /// kz_attachments, kz_responses, kz_answers, kz_events.
    #[arg(long, value_name = "TIME", conflicts_with_all = ["pivot", "after"])]
    pub since: Option<String>,
    /// Export only the rows after those an earlier export gave: the cursor
    /// it printed (`next cursor: kz1.…` on standard error). Each export of
    /// an incremental table (see --since) prints the cursor to give next.
    #[arg(long, value_name = "CURSOR", conflicts_with = "pivot")]
    pub after: Option<String>,
    /// Keep the cursor in FILE, for a job run again and again: start after
    /// the cursor in FILE when it exists (else from --since, or from the
    /// start), and write the next cursor to it once the export is
    /// complete (and --out written), replacing it whole.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["pivot", "after"])]
    pub cursor_file: Option<PathBuf>,
}

/// `kaizala serve` (and its alias `kaizala dashboard`).
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address to serve on. Off loopback (0.0.0.0, a LAN address) it
    /// needs --token or --users.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// Rows per page of the OData feed: a longer result ends with an
    /// `@odata.nextLink` to the next page, which Power BI and Excel follow.
    #[arg(long, value_name = "ROWS", default_value_t = crate::odata::DEFAULT_PAGE_SIZE,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub page_size: u64,
    /// A bearer token readers must present (`Authorization: Bearer
    /// TOKEN`). Best read from the environment, out of shell history.
    #[arg(
        long,
        env = "KAIZALA_SERVE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        value_parser = secret
    )]
    pub token: Option<Secret>,
    /// A file of readers, one `user:password` a line (`#` starts a
    /// comment), for HTTP Basic authentication — what Power BI and Excel
    /// call "Basic". Keep it readable by its owner only (chmod 600).
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
    #[command(flatten)]
    pub front: FrontArgs,
}

/// Runs a command.
pub async fn run(command: Command) -> CliResult {
    match command {
        Command::Demo(args) => demo::run(args).await,
        Command::Ingest(args) => ingest::run(args).await,
        Command::Sync(args) => sync::run(args).await,
        Command::Project(args) => project::run(args).await,
        Command::Rebuild(args) => rebuild::run(args).await,
        Command::Status(args) => status::run(args).await,
        Command::Export(args) => export::run(args).await,
        Command::Serve(args) => serve::run(args).await,
        Command::Sql { command } => sql::run(command).await,
        Command::Bi { command } => bi::run(command).await,
        Command::Emulator(args) => emulator::run(args).await,
        Command::Token(connection) => token::run(&connection).await,
        Command::Airbyte { command } => crate::connectors::airbyte::run(command).await,
        Command::Singer(args) => crate::connectors::singer::run(args).await,
        Command::Webhook {
            connection,
            command,
        } => webhook::run(&connection, command).await,
    }
}

/// Binds `addr`, with a clear error.
pub async fn bind(addr: SocketAddr) -> CliResult<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|err| CliError::bind(addr, &err))
}

/// Waits for Ctrl-C (or SIGTERM).
pub async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// A secret argument, kept out of `Debug` output.
pub(crate) fn secret(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value))
}
