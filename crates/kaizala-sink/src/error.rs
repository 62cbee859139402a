//! [`SinkError`]: what can go wrong, with a hint at what to do about it.

use std::path::PathBuf;

/// A boxed error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error of the sink. Each variant's message says what to check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The database URL is not one the sink understands.
    #[error(
        "bad database URL {url:?}: {reason} (use sqlite://PATH, sqlite::memory:, \
         postgres://USER:PASSWORD@HOST:PORT/DATABASE, or a plain file path for SQLite)"
    )]
    BadUrl {
        /// The URL as given (password masked).
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The SQLite file's directory does not exist (the sink creates the
    /// file, not its directories).
    #[error(
        "the directory {} of the SQLite database {} does not exist: create it first \
         (mkdir -p {})",
        directory.display(),
        path.display(),
        directory.display()
    )]
    MissingDirectory {
        /// The directory that is missing.
        directory: PathBuf,
        /// The database file asked for.
        path: PathBuf,
    },

    /// SQLite stayed locked by another connection or process for longer
    /// than the busy timeout.
    #[error(
        "the SQLite database {database} is locked: another process kept a write \
         transaction open for more than {} s (is a second `kaizala ingest` or `sync` \
         writing to the same file? Give each its own file, or use PostgreSQL for several \
         writers)",
        *timeout_ms as f64 / 1000.0
    )]
    Locked {
        /// The database (path or URL, password masked).
        database: String,
        /// The busy timeout that ran out, in milliseconds.
        timeout_ms: u64,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// PostgreSQL could not be reached or refused the connection.
    #[error(
        "cannot connect to PostgreSQL at {target}: {reason} (is the server running and \
         listening there, and are the user, password and database name right?)"
    )]
    Unreachable {
        /// Host, port and database (password masked).
        target: String,
        /// What the driver said.
        reason: String,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// The TLS connection to PostgreSQL failed: the server's certificate
    /// was not trusted or does not name the host, or the server does not
    /// speak TLS where the URL's `sslmode` requires it.
    #[error("cannot connect to PostgreSQL at {target} over TLS: {reason}")]
    Tls {
        /// Host, port and database (password masked).
        target: String,
        /// The cause, and what to change.
        reason: String,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// Creating or upgrading the tables failed.
    #[error(
        "migrating the database schema failed: {reason} (a database written by a newer \
         kaizala-sink, or tables of another program with the same names?)"
    )]
    Migrate {
        /// What the migrator said.
        reason: String,
        /// The migrator's error.
        #[source]
        source: BoxError,
    },

    /// A reader opened a database whose schema is not the one this
    /// release reads: older (a writing command upgrades it), newer (a newer
    /// kaizala wrote it), or none at all.
    #[error("{database}: {reason}")]
    SchemaMismatch {
        /// The database (password masked).
        database: String,
        /// What was found, and the command that fixes it.
        reason: String,
    },

    /// A pivot was asked of an action nobody answered (yet).
    #[error("no answers to action {action_id:?} yet: a pivot needs its questions from them")]
    NoAnswers {
        /// The action asked for.
        action_id: String,
    },

    /// A time zone the zone database does not know.
    #[error(
        "unknown time zone {zone:?}: give an IANA name, such as Asia/Kolkata, Europe/London or UTC"
    )]
    UnknownTimeZone {
        /// The name given.
        zone: String,
    },

    /// A name a pivot view cannot have: not lower-case letters, digits and
    /// `_` (1 to 63, starting with a letter), or the name of one of the
    /// sink's own tables or views.
    #[error(
        "{name:?} cannot name a pivot view: use lower-case letters, digits and _ (starting \
         with a letter, at most 63), and no name of the sink's own tables and views"
    )]
    BadViewName {
        /// The name given.
        name: String,
    },

    /// A pivot view of that name already shows another action.
    #[error("the pivot view {name} shows action {action_id:?}: choose another --name")]
    ViewTaken {
        /// The existing view's name.
        name: String,
        /// The action it shows.
        action_id: String,
    },

    /// A role name PostgreSQL could not have.
    #[error("{role:?} is not a role name (1 to 63 bytes, no NUL)")]
    BadRole {
        /// The name given.
        role: String,
    },

    /// Something only PostgreSQL has was asked of another database.
    #[error("{what} are PostgreSQL's: {hint}")]
    NotPostgres {
        /// What was asked for.
        what: &'static str,
        /// What to do instead.
        hint: &'static str,
    },

    /// A query failed.
    #[error("database error while {doing}: {source}")]
    Database {
        /// What the sink was doing.
        doing: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// A Kaizala API call made by [`Sink::sync`](crate::Sink::sync) failed.
    #[error("sync: {what} failed: {source}")]
    Api {
        /// The call, as in `listing members of GROUP`.
        what: String,
        /// The client's error.
        #[source]
        source: kaizala_client::Error,
    },

    /// Writing an export failed.
    #[error("writing the export failed: {0}")]
    Io(#[from] std::io::Error),

    /// An exported value was not of its column's declared type (a time
    /// the view gave in a form it does not document).
    #[error("exporting column {column}: {reason}")]
    BadValue {
        /// The column the value was read from.
        column: String,
        /// What was found instead.
        reason: String,
    },

    /// A text given as an export cursor ([`Cursor`](crate::Cursor)) that
    /// is not one, or not one for the table exported.
    #[error("not a usable export cursor: {reason}")]
    BadCursor {
        /// What is wrong with it.
        reason: String,
    },

    /// An incremental export ([`Start::Since`](crate::Start::Since),
    /// [`Start::After`](crate::Start::After)) of a table exported whole.
    #[error(
        "{table} is exported whole, not incrementally; the incremental tables and views are {incremental}"
    )]
    NotIncremental {
        /// The table asked for.
        table: String,
        /// The incremental ones, comma-separated.
        incremental: String,
    },

    /// A time to export from ([`Start::since_text`](crate::Start::since_text))
    /// that could not be read.
    #[error(
        "{text:?} is not a time: give RFC 3339 (2026-03-10T20:00:00Z, 2026-03-10T20:00:00+05:30) or a date and time of the sink's time zone (2026-03-10, 2026-03-10 08:00, 2026-03-10T08:00:00)"
    )]
    BadTime {
        /// The text given.
        text: String,
    },

    /// The name is not a table or view the sink exports.
    #[error("no table or view named {name:?}: known are {known}")]
    UnknownTable {
        /// The name asked for.
        name: String,
        /// The names that exist, comma-separated.
        known: String,
    },

    /// The table cannot be rebuilt: it is not a projection of the logs.
    #[error(
        "{name} is not rebuilt from the logs (the logs are what the others are rebuilt from): \
         rebuild one of {rebuildable}"
    )]
    NotRebuildable {
        /// The table asked for.
        name: String,
        /// The tables that can be rebuilt, comma-separated.
        rebuildable: String,
    },

    /// Another rebuild holds the lease.
    #[error(
        "a rebuild is already running ({holder}, heard from {seconds_ago} s ago): wait for it \
         to finish (`kaizala status` shows it); a rebuild whose process died gives way after \
         two minutes"
    )]
    RebuildRunning {
        /// Who runs it, and which tables.
        holder: String,
        /// Seconds since it last reported.
        seconds_ago: i64,
    },

    /// The event store's writer task has stopped (its runtime shut down).
    #[error("the event store's writer task has stopped (was its tokio runtime shut down?)")]
    WriterStopped,
}

impl SinkError {
    /// Whether a retry later may succeed (locked database, lost connection,
    /// deadlock between replicas, throttled API call).
    pub fn is_transient(&self) -> bool {
        match self {
            SinkError::Locked { .. } | SinkError::Unreachable { .. } => true,
            SinkError::Database { source, .. } => crate::db::is_transient(source.as_ref()),
            SinkError::Api { source, .. } => matches!(
                source.kind(),
                kaizala_client::ErrorKind::RateLimited { .. }
                    | kaizala_client::ErrorKind::Timeout
                    | kaizala_client::ErrorKind::Transport
            ),
            _ => false,
        }
    }
}
