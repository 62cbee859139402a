//! [`Sink`]: the handle on one database.

use std::io::Write;
use std::sync::{Arc, OnceLock};

use kaizala_client::Client;

use crate::db::{Backend, Db};
use crate::error::SinkError;
use crate::export::{self, Format};
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
        let db = Db::connect(url).await?;
        Ok(Sink {
            inner: Arc::new(Inner {
                db,
                store: OnceLock::new(),
            }),
        })
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

    /// The event store to give the webhook receiver
    /// (`kaizala_webhook::Server::new(config, sink.event_store())`). The
    /// first call starts its writer task on the current tokio runtime;
    /// later calls return clones of it.
    pub fn event_store(&self) -> SqlEventStore {
        self.inner
            .store
            .get_or_init(|| SqlEventStore::start(self.inner.db.clone()))
            .clone()
    }

    /// Pulls groups, members, subscribers, actions, responses and reaction
    /// counts through `client` (see [`crate::sync`]), calling `progress`
    /// after every step.
    pub async fn sync<F>(
        &self,
        client: &Client,
        options: SyncOptions,
        progress: F,
    ) -> Result<SyncReport, SinkError>
    where
        F: FnMut(&SyncProgress) + Send,
    {
        sync::run(&self.inner.db, client, options, progress).await
    }

    /// Writes every row of `table` to `writer` as `format`; returns the
    /// number of rows.
    pub async fn export<W: Write + Send>(
        &self,
        table: Table,
        format: Format,
        writer: W,
    ) -> Result<u64, SinkError> {
        export::export(&self.inner.db, table, format, writer).await
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

    /// Closes the pool: waits for queries in flight; later calls fail.
    pub async fn close(&self) {
        self.inner.db.pool.close().await;
    }
}
