//! [`Sink`]: the handle on one database.

use std::io::Write;
use std::sync::{Arc, OnceLock};

use kaizala_client::Client;

use crate::db::{Backend, Db};
use crate::error::SinkError;
use crate::export::{self, Exported, Format, RowWriter, Start};
use crate::odata;
use crate::project::rebuild::{self, RebuildProgress, RebuildReport};
use crate::project::status::{self, Lag, Status};
use crate::project::{ProjectionReport, Projector, Shared};
use crate::report::{self, Counts, Dashboard, Summary};
use crate::store::SqlEventStore;
use crate::sync::{self, SyncOptions, SyncProgress, SyncReport};
use crate::table::Table;

/// A database of Kaizala data: events pushed by webhooks (through
/// [`Sink::event_store`]), data pulled through the API ([`Sink::sync`]),
/// and what reads it back ([`Sink::export`], [`Sink::summary`],
/// [`Sink::dashboard`], [`Sink::counts`]).
///
/// Cheap to clone; clones share the connection pool and the event store.
#[derive(Debug, Clone)]
pub struct Sink {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    store: OnceLock<SqlEventStore>,
    projection: Arc<Shared>,
}

impl Sink {
    /// Opens (creating it if needed) the database at `url` and brings its
    /// schema up to date:
    ///
    /// - `sqlite://PATH` or a plain file path: an SQLite file, created if
    ///   missing (its directory must exist); WAL journal,
    ///   `synchronous=FULL` (an acknowledged event survives a power cut),
    ///   a 10 s busy timeout;
    /// - `sqlite::memory:`: SQLite in memory, gone with the `Sink`;
    /// - `postgres://…` or `postgresql://…`: PostgreSQL (the database must
    ///   exist).
    pub async fn connect(url: &str) -> Result<Sink, SinkError> {
        Ok(Sink::over(Db::connect(url).await?))
    }

    /// [`Sink::connect`] for a database that must exist already — what
    /// projecting and rebuilding want, since they derive the tables from
    /// the logs a database holds: a missing SQLite file fails with
    /// [`SinkError::SchemaMismatch`] rather than becoming a new, empty
    /// database (a mistyped path would otherwise succeed on nothing and
    /// leave a stray file). An existing database is migrated as by
    /// [`Sink::connect`]; on PostgreSQL, where `connect` creates no database
    /// either, the two are the same.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("never-made.db");
    /// let err = kaizala_sink::Sink::open_existing(path.to_str().unwrap())
    ///     .await
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("no such database file"), "{err}");
    /// assert!(!path.exists());
    /// # }
    /// ```
    pub async fn open_existing(url: &str) -> Result<Sink, SinkError> {
        Ok(Sink::over(Db::connect_existing(url).await?))
    }

    fn over(db: Db) -> Sink {
        Sink {
            inner: Arc::new(Inner {
                db,
                store: OnceLock::new(),
                projection: Arc::default(),
            }),
        }
    }

    /// Opens the database at `url` to read it only — what exports,
    /// dashboards and other readers use. Nothing is created, migrated or
    /// written, so a role with SELECT rights alone can do it (see
    /// `kaizala sql grant-readonly`). Fails with
    /// [`SinkError::SchemaMismatch`], naming the command that upgrades it,
    /// when the database's schema is older than this release reads (or
    /// newer, or missing).
    ///
    /// Writing through such a `Sink` ([`Sink::event_store`],
    /// [`Sink::sync`], [`Sink::project`]…) is not prevented here: the
    /// database refuses it when the role may not write.
    pub async fn open_read_only(url: &str) -> Result<Sink, SinkError> {
        Ok(Sink::over(Db::connect_read_only(url).await?))
    }

    /// The PostgreSQL statements that let `role` read every table and view
    /// of this sink — those there now and those later rebuilds make — and
    /// write nothing: `GRANT CONNECT` on the database, `USAGE` on the
    /// sink's schema, `SELECT` on its tables, and default privileges for
    /// the tables the current role makes later (so run it with the URL the
    /// sink writes with). [`SinkError::NotPostgres`] on SQLite.
    ///
    /// ```no_run
    /// # async fn grants() -> Result<(), kaizala_sink::SinkError> {
    /// let sink = kaizala_sink::Sink::open_read_only("postgres://kz@db.example.org/kaizala").await?;
    /// for statement in sink.read_only_grants("grafana").await? {
    ///     println!("{statement};");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn read_only_grants(&self, role: &str) -> Result<Vec<String>, SinkError> {
        crate::grants::read_only(&self.inner.db, role).await
    }

    /// Runs [`Sink::read_only_grants`]'s statements in one transaction, and
    /// returns them.
    pub async fn grant_read_only(&self, role: &str) -> Result<Vec<String>, SinkError> {
        crate::grants::grant_read_only(&self.inner.db, role).await
    }

    /// Keeps the survey pivot of `action_id` ([`Sink::export_pivot`]) as a
    /// view, for a BI tool to read like a table: named `name`, or `pivot_`
    /// and the action's title made safe; returns the name. Its columns
    /// have the `kz_*` views' types (PostgreSQL `timestamptz` for
    /// `responded_at`). The view is registered, so a rebuild, which swaps
    /// the tables under it, makes it again; calling this again (or a
    /// rebuild) picks up questions added since. [`SinkError::NoAnswers`]
    /// when nobody answered the action yet; [`SinkError::BadViewName`] and
    /// [`SinkError::ViewTaken`] for a name it cannot have.
    ///
    /// ```no_run
    /// # async fn pivot() -> Result<(), kaizala_sink::SinkError> {
    /// let sink = kaizala_sink::Sink::connect("postgres://kz@db.example.org/kaizala").await?;
    /// let view = sink.keep_pivot_view("a1b2c3", Some("store_visits")).await?;
    /// assert_eq!(view, "store_visits");
    /// # Ok(()) }
    /// ```
    pub async fn keep_pivot_view(
        &self,
        action_id: &str,
        name: Option<&str>,
    ) -> Result<String, SinkError> {
        crate::pivot::keep_as_view(&self.inner.db, action_id, name).await
    }

    /// The OData feed's entity sets ([`odata::Model`]): the stable views
    /// and every survey pivot view ([`Sink::keep_pivot_view`]) that
    /// exists, with the properties its view has now. Reads only.
    pub async fn odata_model(&self) -> Result<odata::Model, SinkError> {
        odata::load(&self.inner.db).await
    }

    /// The OData entity set `name` ([`Sink::odata_model`]'s, read alone),
    /// or `None`.
    pub async fn odata_entity_set(
        &self,
        name: &str,
    ) -> Result<Option<odata::EntitySet>, SinkError> {
        odata::entity_set(&self.inner.db, name).await
    }

    /// Gives `writer` a page of `query`'s rows ([`ODataQuery::page_sql`])
    /// as values of their declared types (times as
    /// [`Value::Timestamp`](crate::Value::Timestamp), days as
    /// [`Value::Date`](crate::Value::Date)); returns how many.
    ///
    /// [`ODataQuery::page_sql`]: odata::ODataQuery::page_sql
    pub async fn odata_page<R: RowWriter + Send>(
        &self,
        query: &odata::ODataQuery,
        served: u64,
        limit: u64,
        writer: &mut R,
    ) -> Result<u64, SinkError> {
        let page = query.page_sql(served, limit);
        let query = export::Query {
            sql: page.sql().to_owned(),
            args: page.args().to_vec(),
            types: query.types().clone(),
        };
        Ok(
            export::run(&self.inner.db, query, export::Typing::Declared, writer)
                .await?
                .rows,
        )
    }

    /// How many rows match `query`'s filter, whatever its page.
    pub async fn odata_count(&self, query: &odata::ODataQuery) -> Result<u64, SinkError> {
        let db = &self.inner.db;
        let count: i64 = query
            .count_sql()
            .query()
            .fetch_one(&db.pool)
            .await
            .and_then(|row| sqlx::Row::try_get(&row, 0))
            .map_err(|e| db.error("counting the feed's rows", e))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Makes `zone` (an IANA name such as `Asia/Kolkata`, any letter case)
    /// the sink's time zone: the daily views (`kz_responses_daily`,
    /// `responses_per_day`) bucket by its days from then on, and Excel
    /// exports and the dashboard show its local times. Returns the zone's
    /// canonical name; [`SinkError::UnknownTimeZone`] for a name the zone
    /// database does not know. The default is UTC.
    ///
    /// ```no_run
    /// # async fn zone() -> Result<(), kaizala_sink::SinkError> {
    /// let sink = kaizala_sink::Sink::connect("sqlite:kaizala.db").await?;
    /// assert_eq!(sink.set_time_zone("asia/kolkata").await?, "Asia/Kolkata");
    /// assert_eq!(sink.time_zone().await?, "Asia/Kolkata");
    /// # Ok(()) }
    /// ```
    pub async fn set_time_zone(&self, zone: &str) -> Result<String, SinkError> {
        crate::time_zone::set(&self.inner.db, zone).await
    }

    /// The sink's time zone ([`Sink::set_time_zone`]): its IANA name, `UTC`
    /// unless set.
    pub async fn time_zone(&self) -> Result<String, SinkError> {
        crate::time_zone::get(&self.inner.db).await
    }

    /// The database engine.
    pub fn backend(&self) -> Backend {
        self.inner.db.backend
    }

    /// The database, as shown in messages (password masked).
    pub fn database(&self) -> &str {
        &self.inner.db.target.display
    }

    /// The connection pool, for queries of your own (sqlx's `Any` driver:
    /// write `$1, $2, …` placeholders; they work on both backends).
    pub fn pool(&self) -> &sqlx::AnyPool {
        &self.inner.db.pool
    }

    /// The pool that appends to the logs go through. On an SQLite file the
    /// logs (`events`, `pull_log`, `quarantine`, `sync_state`,
    /// `log_state`) are kept in a file of their own beside it, `<file>-log`,
    /// so that acknowledgements never wait for the projector's write lock:
    /// this pool's connections open that file, and [`Sink::pool`]'s attach
    /// it read-only. Otherwise it is [`Sink::pool`].
    pub fn log_pool(&self) -> &sqlx::AnyPool {
        &self.inner.db.log_pool
    }

    /// The event store to give the webhook receiver
    /// (`kaizala_webhook::Server::new(config, sink.event_store())`). The
    /// first call starts its writer task on the current tokio runtime;
    /// later calls return clones of it.
    pub fn event_store(&self) -> SqlEventStore {
        self.inner
            .store
            .get_or_init(|| {
                SqlEventStore::start(self.inner.db.clone(), self.inner.projection.clone())
            })
            .clone()
    }

    /// The projector, which derives the typed tables from the logs
    /// ([`crate::project`]): [`Projector::spawn`] runs it in the
    /// background (woken by every commit of [`Sink::event_store`]),
    /// [`Projector::catch_up`] projects what was logged so far.
    pub fn projector(&self) -> Projector {
        Projector::new(self.inner.db.clone(), self.inner.projection.clone())
    }

    /// Projects everything logged so far into the typed tables, and
    /// returns what it did ([`Projector::catch_up`]).
    pub async fn project(&self) -> Result<ProjectionReport, SinkError> {
        self.projector().catch_up().await
    }

    /// Rebuilds `tables` (every projected table when empty) from the logs,
    /// beside the live ones, and swaps them in at once
    /// ([`crate::project::rebuild`]), calling `progress` after every batch.
    pub async fn rebuild<F>(
        &self,
        tables: &[Table],
        progress: F,
    ) -> Result<RebuildReport, SinkError>
    where
        F: FnMut(&RebuildProgress) + Send,
    {
        let tables = rebuild::tables_for(tables)?;
        rebuild::rebuild(&self.projector(), tables, progress).await
    }

    /// How far the projection is behind the logs: entries not projected
    /// yet and how long the oldest has waited (what [`Sink::status`] shows,
    /// without counting every table).
    pub async fn lag(&self) -> Result<Lag, SinkError> {
        status::lag(&self.inner.db).await
    }

    /// The logs' sizes, the projection's watermark and lag, its errors and
    /// the schema versions: what `kaizala status` prints.
    pub async fn status(&self) -> Result<Status, SinkError> {
        status::status(&self.inner.db).await
    }

    /// Pulls groups, members, subscribers, actions, responses and reaction
    /// counts through `client` into the pull log and projects them (see
    /// [`crate::sync`]), calling `progress` after every step.
    pub async fn sync<F>(
        &self,
        client: &Client,
        options: SyncOptions,
        progress: F,
    ) -> Result<SyncReport, SinkError>
    where
        F: FnMut(&SyncProgress) + Send,
    {
        sync::run(&self.inner.db, &self.projector(), client, options, progress).await
    }

    /// Writes every row of `table` to `writer` as `format`; returns the
    /// number of rows. [`Sink::export_from`] from [`Start::All`].
    pub async fn export<W: Write + Send>(
        &self,
        table: Table,
        format: Format,
        writer: W,
    ) -> Result<u64, SinkError> {
        Ok(self
            .export_from(table, &Start::All, format, writer)
            .await?
            .rows)
    }

    /// Writes the rows of `table` from `start` to `writer` as `format`, in
    /// export order: every row ([`Start::All`]), those at or after an
    /// instant ([`Start::Since`]), or those after an earlier export's last
    /// ([`Start::After`]). Returns how many, and the cursor to resume
    /// after them ([`Exported::cursor`]), for an incremental table
    /// ([`Table::is_incremental`]). [`SinkError::NotIncremental`] for
    /// `Since`/`After` on a table exported whole; [`SinkError::BadCursor`]
    /// for a cursor of another table.
    ///
    /// ```no_run
    /// # async fn resume() -> Result<(), kaizala_sink::SinkError> {
    /// use kaizala_sink::{Format, Sink, Start, Table};
    /// let sink = Sink::open_read_only("sqlite:kaizala.db").await?;
    /// let first = sink.export_from(Table::KzMessages, &Start::All, Format::Ndjson, std::io::sink()).await?;
    /// if let Some(cursor) = first.cursor {
    ///     // Later: only the messages stored since.
    ///     let newer = sink.export_from(Table::KzMessages, &Start::After(cursor), Format::Ndjson, std::io::stdout()).await?;
    ///     eprintln!("{} new messages", newer.rows);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn export_from<W: Write + Send>(
        &self,
        table: Table,
        start: &Start,
        format: Format,
        writer: W,
    ) -> Result<Exported, SinkError> {
        export::export(&self.inner.db, table, start, format, writer).await
    }

    /// Writes the pivot of `action_id`'s responses to `writer` as
    /// `format`: one row per response (its current answers), one column per
    /// visible question, named after its title (lower-case, `_` for
    /// anything else, made unique) and typed by its type (a number for
    /// `Numeric`, the option's title for `SingleOption`, the JSON array of
    /// titles for `MultiOption`, text otherwise), after `response_id`,
    /// `responded_at`, `responder_id`, `responder_name`, `group_id` and
    /// `group_name`. Returns the number of rows;
    /// [`SinkError::NoAnswers`] when nobody answered it yet.
    pub async fn export_pivot<W: Write + Send>(
        &self,
        action_id: &str,
        format: Format,
        writer: W,
    ) -> Result<u64, SinkError> {
        let query = export::Query::plain(crate::pivot::query(&self.inner.db, action_id).await?);
        Ok(export::export_query(&self.inner.db, query, format, writer)
            .await?
            .rows)
    }

    /// Gives every row of `table` to `writer` as typed values, in the
    /// order [`Sink::export`] writes them: first the columns, each with the
    /// type its declaration gives ([`ColumnType`](crate::ColumnType): the
    /// views' times as [`Value::Timestamp`](crate::Value::Timestamp), days
    /// as dates, flags as booleans, JSON as text; a raw table's columns as
    /// stored), then each row. Returns the number of rows. The same query
    /// and row reader as [`Sink::export`]; what the CLI writes Parquet
    /// with.
    pub async fn export_rows<R: RowWriter + Send>(
        &self,
        table: Table,
        writer: &mut R,
    ) -> Result<u64, SinkError> {
        Ok(self
            .export_rows_from(table, &Start::All, writer)
            .await?
            .rows)
    }

    /// [`Sink::export_rows`] from `start`, as [`Sink::export_from`]: the
    /// rows of `table` from there as typed values, and the cursor to resume
    /// after them.
    pub async fn export_rows_from<R: RowWriter + Send>(
        &self,
        table: Table,
        start: &Start,
        writer: &mut R,
    ) -> Result<Exported, SinkError> {
        export::export_rows(&self.inner.db, table, start, writer).await
    }

    /// [`Sink::export_pivot`]'s rows as typed values (as
    /// [`Sink::export_rows`]): `responded_at` a timestamp, a `Numeric`
    /// question's column a double, a `MultiOption` question's JSON, the
    /// others text.
    pub async fn export_pivot_rows<R: RowWriter + Send>(
        &self,
        action_id: &str,
        writer: &mut R,
    ) -> Result<u64, SinkError> {
        let query = export::Query::plain(crate::pivot::query(&self.inner.db, action_id).await?);
        Ok(
            export::run(&self.inner.db, query, export::Typing::Declared, writer)
                .await?
                .rows,
        )
    }

    /// Events per type, responses, answer distributions.
    pub async fn summary(&self) -> Result<Summary, SinkError> {
        report::summary(&self.inner.db).await
    }

    /// What the dashboard page shows.
    pub async fn dashboard(&self) -> Result<Dashboard, SinkError> {
        report::dashboard(&self.inner.db).await
    }

    /// Rows per table.
    pub async fn counts(&self) -> Result<Counts, SinkError> {
        report::counts(&self.inner.db).await
    }

    /// Closes the pools and the log file's appender: waits for queries in
    /// flight; later calls fail.
    pub async fn close(&self) {
        self.inner.db.pool.close().await;
        self.inner.db.log_pool.close().await;
        if let Some(appender) = &self.inner.db.appender {
            appender.close().await;
        }
    }
}
