//! Connecting: URL rules, pool settings per backend, migrations, and the
//! mapping of driver errors to [`SinkError`]s with hints.
//!
//! Every query goes through sqlx's `Any` driver with `$1, $2, …`
//! placeholders, which both SQLite and PostgreSQL accept, so one SQL text
//! serves both backends except where noted ([`Backend`] switches).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Once;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Row};

use crate::error::{BoxError, SinkError};

/// How long SQLite waits for another writer before giving up with
/// [`SinkError::Locked`] (`?busy_timeout=MILLISECONDS` in the URL changes
/// it).
pub(crate) const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The database engine behind a [`Sink`](crate::Sink).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite (embedded; bundled libsqlite3): WAL journal,
    /// `synchronous=FULL`.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The backend's name (`sqlite`, `postgres`).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The statement that opens a write transaction: SQLite takes the write
    /// lock at once (`BEGIN IMMEDIATE`), so a transaction never has to
    /// upgrade a read lock, which SQLite cannot wait for.
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// The verb of a multi-row insert. SQLite's is `INSERT OR FAIL`: a
    /// statement that fails keeps the rows it wrote before the failure,
    /// where the default (`ABORT`) undoes them — and to undo them SQLite
    /// copies every page a multi-row statement changes into a journal of
    /// the statement's own, 7–10% of `kaizala ingest`'s CPU (decision
    /// 103). Nothing is kept all the same: every caller of a multi-row
    /// insert rolls its whole transaction back when a statement fails.
    pub(crate) fn insert_rows(self) -> &'static str {
        match self {
            Backend::Sqlite => "INSERT OR FAIL INTO",
            Backend::Postgres => "INSERT INTO",
        }
    }

    /// What locks the rows a `SELECT` reads until the transaction ends:
    /// PostgreSQL's `FOR UPDATE`; nothing on SQLite, whose write
    /// transactions hold the whole database.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed database URL.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub backend: Backend,
    /// The URL handed to sqlx.
    pub url: String,
    /// What to show in messages (password masked).
    pub display: String,
    /// SQLite in memory: one connection only (each connection would get a
    /// database of its own).
    pub memory: bool,
    /// SQLite: how long to wait for another writer.
    pub busy_timeout: Duration,
    /// PostgreSQL: the schema every table, view, log and the migrations
    /// table live in (`?schema=NAME`); `None` for the default search path.
    pub schema: Option<String>,
    /// SQLite: the database file (`None` in memory and on PostgreSQL).
    pub file: Option<PathBuf>,
}

impl Target {
    pub(crate) fn parse(input: &str) -> Result<Target, SinkError> {
        let input = input.trim();
        let bad = |reason: &str| SinkError::BadUrl {
            url: mask_password(input),
            reason: reason.to_owned(),
        };
        if input.is_empty() {
            return Err(bad("it is empty"));
        }
        let lower = input.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            let rest = &input[input.find("://").map_or(0, |i| i + 3)..];
            if rest.is_empty() || rest.starts_with('/') && rest.len() == 1 {
                return Err(bad("no host or database after the scheme"));
            }
            check_tls_params(input).map_err(|reason| bad(&reason))?;
            let (url, schema) = take_schema(input).map_err(|reason| bad(&reason))?;
            return Ok(Target {
                backend: Backend::Postgres,
                url,
                display: mask_password(input),
                memory: false,
                busy_timeout: SQLITE_BUSY_TIMEOUT,
                schema,
                file: None,
            });
        }
        if lower.starts_with("sqlite:") {
            let rest = &input["sqlite:".len()..];
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let (database, params) = match rest.split_once('?') {
                Some((d, p)) => (d, Some(p)),
                None => (rest, None),
            };
            // Our own parameter: `busy_timeout=MILLISECONDS`.
            let mut busy_timeout = SQLITE_BUSY_TIMEOUT;
            let mut kept = Vec::new();
            for pair in params.into_iter().flat_map(|p| p.split('&')) {
                if pair.starts_with("schema=") {
                    return Err(bad(
                        "schema=NAME is for PostgreSQL (an SQLite file holds one sink: use \
                         another file)",
                    ));
                }
                match pair.strip_prefix("busy_timeout=") {
                    Some(ms) => {
                        let ms: u64 = ms
                            .parse()
                            .map_err(|_| bad("busy_timeout takes milliseconds"))?;
                        busy_timeout = Duration::from_millis(ms);
                    }
                    None if !pair.is_empty() => kept.push(pair),
                    None => {}
                }
            }
            let params = (!kept.is_empty()).then(|| kept.join("&"));
            let params = params.as_deref();
            let base = &input[..input.find('?').unwrap_or(input.len())];
            let memory = database == ":memory:"
                || params.is_some_and(|p| p.split('&').any(|kv| kv == "mode=memory"));
            if memory {
                return Ok(Target {
                    backend: Backend::Sqlite,
                    url: match params {
                        Some(p) => format!("{base}?{p}"),
                        None => base.to_owned(),
                    },
                    display: base.to_owned(),
                    memory: true,
                    busy_timeout,
                    schema: None,
                    file: None,
                });
            }
            if database.is_empty() {
                return Err(bad("no file name after sqlite://"));
            }
            let path = PathBuf::from(percent_decode(database).map_err(|e| bad(&e))?);
            check_directory(&path)?;
            let url = match params {
                Some(p) if p.split('&').any(|kv| kv.starts_with("mode=")) => {
                    format!("{base}?{p}")
                }
                Some(p) => format!("{base}?{p}&mode=rwc"),
                None => format!("{base}?mode=rwc"),
            };
            return Ok(Target {
                backend: Backend::Sqlite,
                url,
                display: path.display().to_string(),
                memory: false,
                busy_timeout,
                schema: None,
                file: Some(path),
            });
        }
        if let Some((scheme, _)) = input.split_once("://") {
            return Err(bad(&format!(
                "unsupported scheme {scheme:?} (the sink speaks SQLite and PostgreSQL)"
            )));
        }
        // A plain path: an SQLite file.
        let path = Path::new(input);
        check_directory(path)?;
        let absolute = std::path::absolute(path).map_err(|e| bad(&e.to_string()))?;
        let text = absolute
            .to_str()
            .ok_or_else(|| bad("the path is not valid UTF-8"))?;
        Ok(Target {
            backend: Backend::Sqlite,
            url: format!("sqlite://{}?mode=rwc", percent_encode_path(text)),
            display: path.display().to_string(),
            memory: false,
            busy_timeout: SQLITE_BUSY_TIMEOUT,
            schema: None,
            file: Some(absolute),
        })
    }
}

/// A PostgreSQL database as a sink URL names it: what another program (a
/// BI tool's data source) needs to reach the same database. The password
/// is left out on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostgresDatabase {
    /// The host name or address (or the directory of a Unix socket).
    pub host: String,
    /// The TCP port (when the URL names none, `PGPORT` or 5432, as libpq does).
    pub port: u16,
    /// The database's name.
    pub database: String,
    /// The user the URL connects as.
    pub user: String,
    /// libpq's `sslmode`: the URL's, or libpq's default (`PGSSLMODE`, else
    /// `prefer`).
    pub sslmode: String,
    /// The CA certificate file the server's certificate is checked against
    /// (`sslrootcert`, else `PGSSLROOTCERT`), if one is named.
    pub sslrootcert: Option<PathBuf>,
    /// The schema the sink lives in (`?schema=NAME`); `None` for the
    /// default search path.
    pub schema: Option<String>,
}

impl PostgresDatabase {
    /// Reads a database URL by the sink's rules (`sslmode`, `sslrootcert`
    /// and `schema` checked as when connecting; libpq's defaults from the
    /// `PG*` variables), without connecting. `Ok(None)` when the URL names
    /// an SQLite database.
    pub fn from_url(url: &str) -> Result<Option<PostgresDatabase>, SinkError> {
        use sqlx::postgres::{PgConnectOptions, PgSslMode};
        let target = Target::parse(url)?;
        if target.backend != Backend::Postgres {
            return Ok(None);
        }
        let options: PgConnectOptions =
            target
                .url
                .parse()
                .map_err(|err: sqlx::Error| SinkError::BadUrl {
                    url: target.display.clone(),
                    reason: err.to_string(),
                })?;
        let host = match options.get_socket() {
            Some(socket) => socket.display().to_string(),
            None => options.get_host().to_owned(),
        };
        let sslmode = match options.get_ssl_mode() {
            PgSslMode::Disable => "disable",
            PgSslMode::Allow => "allow",
            PgSslMode::Prefer => "prefer",
            PgSslMode::Require => "require",
            PgSslMode::VerifyCa => "verify-ca",
            PgSslMode::VerifyFull => "verify-full",
        };
        let sslrootcert = query_params(&target.url)
            .into_iter()
            .find(|(key, _)| ["sslrootcert", "ssl-root-cert", "ssl-ca"].contains(&key.as_str()))
            .map(|(_, file)| file)
            .or_else(|| std::env::var("PGSSLROOTCERT").ok())
            .filter(|file| !file.is_empty())
            .map(PathBuf::from);
        let user = options.get_username().to_owned();
        Ok(Some(PostgresDatabase {
            host,
            port: options.get_port(),
            database: options.get_database().unwrap_or(&user).to_owned(),
            user,
            sslmode: sslmode.to_owned(),
            sslrootcert,
            schema: target.schema,
        }))
    }
}

/// Fails with [`SinkError::MissingDirectory`] when `path`'s directory does
/// not exist.
fn check_directory(path: &Path) -> Result<(), SinkError> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    if parent.as_os_str().is_empty() || parent.is_dir() {
        return Ok(());
    }
    Err(SinkError::MissingDirectory {
        directory: parent.to_path_buf(),
        path: path.to_path_buf(),
    })
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "the path is not valid UTF-8 once decoded".to_owned())
}

/// Escapes what would end or alter the path part of an `sqlite://` URL.
pub(crate) fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// `scheme://user:***@host/db`.
pub(crate) fn mask_password(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[start..].find('/').map_or(url.len(), |i| start + i);
    let Some(at) = url[start..authority_end].rfind('@').map(|i| start + i) else {
        return url.to_owned();
    };
    match url[start..at].find(':').map(|i| start + i) {
        Some(colon) => format!("{}:***{}", &url[..colon], &url[at..]),
        None => url.to_owned(),
    }
}

/// A connection pool and what it connects to.
#[derive(Debug, Clone)]
pub(crate) struct Db {
    /// Every query's pool (on an SQLite file, with the log file attached
    /// read-only: [`crate::log_file`]).
    pub pool: AnyPool,
    /// The pool appends to the logs go through: the log file's own on an
    /// SQLite file, else `pool`.
    pub log_pool: AnyPool,
    pub backend: Backend,
    pub target: Arc<Target>,
    /// How this process's writers of `pool`'s database take turns (SQLite).
    pub turns: Arc<crate::turns::Turns>,
    /// How this process's appends to the logs take turns: `turns` unless
    /// the logs have a file of their own.
    pub log_turns: Arc<crate::turns::Turns>,
    /// The log file, when the logs have one (attached to every connection
    /// of `pool`).
    pub log_file: Option<PathBuf>,
    /// The connection acknowledged events are appended on, when the logs
    /// have a file of their own and this `Db` writes
    /// ([`crate::direct`]: one hop to its thread per batch, where `log_pool`
    /// takes one per statement); else they go through `log_pool`.
    pub appender: Option<crate::direct::Direct>,
    /// The page size of an SQLite file ([`PAGE_SIZE`] when this process
    /// made it; a file made by an older release keeps its own), as SQLite
    /// reported it when the file was opened; `None` in memory and on
    /// PostgreSQL.
    pub page_size: Option<NonZeroU32>,
}

/// The page size of a new SQLite file (the projected tables; the log file
/// keeps SQLite's 4 KiB). A survey response's `responses` row is about
/// 2 KB, so on 4 KiB pages one or two rows fill a page and every page
/// costs its own write-ahead log frame, checkpoint write and system call;
/// on 16 KiB pages the ack rate with the projector running rose 10–17%
/// (docs/benchmarks.md, 2026-12-05 10:30). SQLite fixes it when the file
/// is first written, so existing files are not changed.
const PAGE_SIZE: u32 = 16_384;

/// The write-ahead log a projector's connection lets grow before its
/// commit checkpoints it, in bytes (in pages, whatever the file's page
/// size). Its `Checkpointer` copies each batch meanwhile (decision 104), so
/// this is the bound on the log's size and the point where it starts over,
/// and the commit that crosses it finds little left to copy.
const PROJECTOR_CHECKPOINT_BYTES: u32 = 64 << 20;

impl Db {
    /// Opens the database at `url` for writing: its schema is migrated and
    /// its projected tables made.
    pub(crate) async fn connect(url: &str) -> Result<Db, SinkError> {
        let db = Db::open(url, true).await?;
        db.migrate().await?;
        crate::schema::ensure::run(&db).await?;
        Ok(db)
    }

    /// [`Db::connect`], for a database that must be there already: a
    /// missing SQLite file is an error, not a new empty database.
    pub(crate) async fn connect_existing(url: &str) -> Result<Db, SinkError> {
        require_file(
            &Target::parse(url)?,
            "the tables are derived from a database's logs, so a new one would hold nothing",
        )?;
        Db::connect(url).await
    }

    /// Opens the database at `url` to read it only: nothing is created or
    /// changed (a SELECT-only role may do it), and the schema must be the
    /// one this release reads.
    pub(crate) async fn connect_read_only(url: &str) -> Result<Db, SinkError> {
        let target = Target::parse(url)?;
        require_file(&target, "a reader creates nothing")?;
        let db = Db::open(url, false).await?;
        db.check_schema_version().await?;
        if let (Some(file), None) = (&db.target.file, &db.log_file) {
            return Err(missing_log_file(&db.target, file));
        }
        Ok(db)
    }

    /// Fails unless every migration this release embeds, and no other, was
    /// applied.
    async fn check_schema_version(&self) -> Result<(), SinkError> {
        let needed = SCHEMA_VERSION;
        let found = sqlx::query("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await
            .ok()
            .map(|row| row.try_get::<Option<i64>, _>(0).ok().flatten().unwrap_or(0));
        let database = self.target.display.clone();
        let upgrade = format!(
            "upgrade it once with a writing command, as a role that may create tables: \
             `kaizala project --db {database} --once`"
        );
        let reason = match found {
            None | Some(0) => format!(
                "not a kaizala database yet (no schema migrations recorded): {upgrade}, or \
                 point --db at the sink's database"
            ),
            Some(found) if found < needed => format!(
                "the database is at schema migration {found}, and this kaizala reads \
                 migration {needed}: {upgrade}"
            ),
            Some(found) if found > needed => format!(
                "the database is at schema migration {found}, written by a newer kaizala than \
                 this one (migration {needed}): upgrade kaizala"
            ),
            Some(_) => return Ok(()),
        };
        Err(SinkError::SchemaMismatch { database, reason })
    }

    /// Connects, without touching the schema; `writing` makes the log file
    /// of an SQLite file (a reader only attaches one that exists).
    async fn open(url: &str, writing: bool) -> Result<Db, SinkError> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(install_default_drivers);

        let target = Arc::new(Target::parse(url)?);
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        let options = match (target.backend, target.memory) {
            (Backend::Sqlite, true) => options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None),
            (Backend::Sqlite, false) => options.max_connections(4),
            (Backend::Postgres, _) => options.max_connections(8),
        };
        let pragmas = sqlite_pragmas(&target, "FULL");
        let log_file = target
            .file
            .as_deref()
            .map(crate::log_file::path_of)
            .filter(|log| writing || log.is_file());
        let mut session = match (target.backend, &target.schema) {
            (Backend::Sqlite, _) => vec![pragmas.clone()],
            (Backend::Postgres, Some(schema)) => vec![search_path(schema)],
            (Backend::Postgres, None) => vec![],
        };
        if let Some(log) = &log_file {
            session.push(crate::log_file::attach_sql(log, true));
        }
        let mut page_size = None;
        if !target.memory {
            // One plain attempt first: the pool retries a failing connection
            // until its acquire timeout and then reports only that, but a
            // wrong URL, a refused connection or a locked SQLite file should
            // fail now, with its own error.
            let mut probe = AnyConnection::connect(&target.url)
                .await
                .map_err(|e| connect_error(&target, e))?;
            if target.backend == Backend::Sqlite {
                // WAL is persistent: set once (it needs the write lock);
                // the page size first, which a new file takes from it.
                let wal =
                    format!("{pragmas} PRAGMA page_size = {PAGE_SIZE}; PRAGMA journal_mode = WAL;");
                probe
                    .execute(wal.as_str())
                    .await
                    .map_err(|e| connect_error(&target, e))?;
                let size: i64 = sqlx::query_scalar("PRAGMA page_size")
                    .fetch_one(&mut probe)
                    .await
                    .map_err(|e| connect_error(&target, e))?;
                page_size = u32::try_from(size).ok().and_then(NonZeroU32::new);
            }
            if let Some(schema) = &target.schema {
                make_schema(&mut probe, schema)
                    .await
                    .map_err(|e| SinkError::Database {
                        doing: "creating the schema",
                        source: Box::new(e),
                    })?;
            }
            if target.backend == Backend::Postgres && has_lz4(&mut probe).await {
                session.push(LZ4_BODIES.to_owned());
            }
            let _ = probe.close().await;
        }
        // After the database file answered: a wrong path makes no log file.
        let (log_pool, appender) = match &log_file {
            Some(log) if writing => {
                let pool = open_log(&target, log, &pragmas).await?;
                let appender = open_direct(&target, log, &pragmas, "opening the log file").await?;
                (Some(pool), Some(appender))
            }
            _ => (None, None),
        };
        let options = if session.is_empty() {
            options
        } else {
            with_session(options, session.join("; "))
        };
        let pool = options
            .connect(&target.url)
            .await
            .map_err(|e| connect_error(&target, e))?;
        let turns = Arc::new(crate::turns::Turns::new(target.backend, target.memory));
        Ok(Db {
            log_pool: log_pool.unwrap_or_else(|| pool.clone()),
            pool,
            backend: target.backend,
            log_turns: match log_file {
                Some(_) => Arc::new(crate::turns::Turns::new(target.backend, target.memory)),
                None => Arc::clone(&turns),
            },
            turns,
            target,
            log_file,
            appender,
            page_size,
        })
    }

    async fn migrate(&self) -> Result<(), SinkError> {
        let migrator =
            Migrator::new(Embedded(self.backend))
                .await
                .map_err(|e| SinkError::Migrate {
                    reason: e.to_string(),
                    source: Box::new(e),
                })?;
        let failed = |e| match e {
            sqlx::migrate::MigrateError::Execute(inner) => self.error("migrating", inner),
            other => SinkError::Migrate {
                reason: other.to_string(),
                source: Box::new(other),
            },
        };
        let Some(log) = &self.log_file else {
            return migrator.run(&self.pool).await.map_err(failed);
        };
        // The pool's connections attach the log file read-only: migrating
        // and moving tables into it take a connection of their own.
        let doing = "migrating";
        let mut conn = AnyConnection::connect(&self.target.url)
            .await
            .map_err(|e| connect_error(&self.target, e))?;
        let setup = format!(
            "{} {}; PRAGMA log.synchronous = FULL;",
            sqlite_pragmas(&self.target, "FULL"),
            crate::log_file::attach_sql(log, false)
        );
        conn.execute(setup.as_str())
            .await
            .map_err(|e| self.error(doing, e))?;
        migrator.run(&mut conn).await.map_err(failed)?;
        let complete = crate::log_file::split(&mut conn)
            .await
            .map_err(|e| self.error("moving the logs into their own file", e))?;
        let _ = conn.close().await;
        match (complete, &self.target.file) {
            (false, Some(file)) => Err(missing_log_file(&self.target, file)),
            _ => Ok(()),
        }
    }

    /// [`Db::error`] for an append to the logs: a locked database is named
    /// by its log file when it has one.
    pub(crate) fn log_error(&self, doing: &'static str, err: sqlx::Error) -> SinkError {
        match (self.error(doing, err), &self.log_file) {
            (
                SinkError::Locked {
                    timeout_ms, source, ..
                },
                Some(log),
            ) => SinkError::Locked {
                database: log.display().to_string(),
                timeout_ms,
                source,
            },
            (other, _) => other,
        }
    }

    /// Maps a query error to a [`SinkError`], recognising a locked SQLite
    /// database and a lost PostgreSQL connection.
    pub(crate) fn error(&self, doing: &'static str, err: sqlx::Error) -> SinkError {
        if self.backend == Backend::Sqlite && is_sqlite_busy(&err) {
            return SinkError::Locked {
                database: self.target.display.clone(),
                timeout_ms: self.target.busy_timeout.as_millis() as u64,
                source: Box::new(err),
            };
        }
        if self.backend == Backend::Postgres
            && matches!(
                err,
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_)
            )
        {
            return SinkError::Unreachable {
                target: self.target.display.clone(),
                reason: err.to_string(),
                source: Box::new(err),
            };
        }
        SinkError::Database {
            doing,
            source: Box::new(err),
        }
    }
}

/// Fails when `target` is an SQLite file that is not there, saying `why`
/// nothing is made in its place.
fn require_file(target: &Target, why: &str) -> Result<(), SinkError> {
    match &target.file {
        Some(path) if !path.is_file() => Err(SinkError::SchemaMismatch {
            database: target.display.clone(),
            reason: format!(
                "no such database file ({why}: `kaizala demo`, `ingest` or `sync` make one)"
            ),
        }),
        _ => Ok(()),
    }
}

/// An SQLite database file whose log file is missing (or another's).
fn missing_log_file(target: &Target, file: &Path) -> SinkError {
    SinkError::SchemaMismatch {
        database: target.display.clone(),
        reason: format!(
            "its log file {} is missing or holds no logs: the events and pulled documents \
             are kept there, beside the database file; restore it with the database file \
             (copy, move and delete the two together)",
            crate::log_file::path_of(file).display()
        ),
    }
}

/// The pool of an SQLite file's log file (made if missing, in WAL mode):
/// appends only, so at most two connections.
async fn open_log(target: &Target, log: &Path, pragmas: &str) -> Result<AnyPool, SinkError> {
    let text = log.to_str().ok_or_else(|| SinkError::BadUrl {
        url: target.display.clone(),
        reason: "the log file's path is not valid UTF-8".to_owned(),
    })?;
    let url = format!("sqlite://{}?mode=rwc", percent_encode_path(text));
    let failed = |e| connect_error(target, e);
    let mut probe = AnyConnection::connect(&url).await.map_err(failed)?;
    probe
        .execute(format!("{pragmas} PRAGMA journal_mode = WAL;").as_str())
        .await
        .map_err(failed)?;
    let _ = probe.close().await;
    let options = AnyPoolOptions::new()
        .acquire_timeout(Duration::from_secs(30))
        .max_connections(2);
    with_session(options, pragmas.to_owned())
        .connect(&url)
        .await
        .map_err(failed)
}

/// A [`crate::direct::Direct`] connection to `file`, set up with `setup`
/// (opened on a blocking thread: the projector's batch writer and log
/// reader, and the log file's appender, [`Db::appender`]).
async fn open_direct(
    target: &Target,
    file: &Path,
    setup: &str,
    doing: &'static str,
) -> Result<crate::direct::Direct, SinkError> {
    let (file, setup) = (file.to_owned(), setup.to_owned());
    tokio::task::spawn_blocking(move || crate::direct::Direct::open(&file, &setup))
        .await
        .map_err(|e| SinkError::Database {
            doing,
            source: Box::new(e),
        })?
        .map_err(|e| connect_error(target, e))
}

/// `options` running `session` on every connection they open.
fn with_session(options: AnyPoolOptions, session: String) -> AnyPoolOptions {
    options.after_connect(move |conn, _meta| {
        let session = session.clone();
        Box::pin(async move {
            conn.execute(session.as_str()).await?;
            Ok(())
        })
    })
}

/// The session settings of an SQLite connection: the busy timeout, and
/// `synchronous` (`FULL` where commits must reach the disk, `NORMAL` for
/// derived data).
fn sqlite_pragmas(target: &Target, synchronous: &str) -> String {
    format!(
        "PRAGMA busy_timeout = {}; PRAGMA synchronous = {synchronous};",
        target.busy_timeout.as_millis()
    )
}

/// The connection the projector writes its batches on
/// ([`Db::batch_writer`]).
pub(crate) enum BatchWriter {
    Postgres(sqlx::PgConnection),
    /// On an SQLite file, a second connection reads the log: the next
    /// batch is read while one is written, and through rusqlite the log's
    /// rows are read on the projector's thread rather than sent one by one
    /// from sqlx's worker thread through its `Any` conversions. A third
    /// copies each committed batch from the write-ahead log into the file
    /// while the next one is written (decision 104).
    Sqlite {
        writer: crate::direct::Direct,
        log_reader: crate::direct::Direct,
        checkpointer: crate::direct::Checkpointer,
    },
}

impl BatchWriter {
    /// The connection the log is read on beside this one, if any (else the
    /// projector's [`Db::derived_writer`]).
    pub(crate) fn log_reader(&self) -> Option<crate::direct::Direct> {
        match self {
            BatchWriter::Sqlite { log_reader, .. } => Some(log_reader.clone()),
            BatchWriter::Postgres(_) => None,
        }
    }
}

/// A connection for long work of its own (the projector, a rebuild).
pub(crate) enum Conn {
    /// From the pool (SQLite in memory: there is only the one).
    Pooled(PoolConnection<Any>),
    /// Opened apart from the pool, closed when dropped: its settings never
    /// reach another user.
    Own(AnyConnection),
}

impl std::ops::Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Own(c) => c,
        }
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Own(c) => c,
        }
    }
}

impl Db {
    /// A connection of its own whose commits need not wait for the disk:
    /// what it writes is derived from the logs, and a commit lost in a
    /// crash is derived again (its watermark is lost with it). SQLite:
    /// `synchronous=NORMAL` in WAL mode (a later synchronous commit of the
    /// event log syncs it too); PostgreSQL: `synchronous_commit=off`.
    pub(crate) async fn derived_writer(&self) -> Result<Conn, SinkError> {
        let doing = "opening a connection for the projector";
        if self.target.memory {
            let conn = self
                .pool
                .acquire()
                .await
                .map_err(|e| self.error(doing, e))?;
            return Ok(Conn::Pooled(conn));
        }
        let mut conn = AnyConnection::connect(&self.target.url)
            .await
            .map_err(|e| connect_error(&self.target, e))?;
        conn.execute(self.derived_setup().as_str())
            .await
            .map_err(|e| self.error(doing, e))?;
        Ok(Conn::Own(conn))
    }

    /// The connection the projector writes its batches on, set as
    /// [`Db::derived_writer`]'s (`crate::writer`): on PostgreSQL one of the
    /// driver's own kind, which can `COPY`; on an SQLite file one of the
    /// projector's own ([`crate::direct`]). `None` on SQLite in memory,
    /// whose one connection is the pool's.
    pub(crate) async fn batch_writer(&self) -> Result<Option<BatchWriter>, SinkError> {
        match (self.backend, &self.target.file) {
            (Backend::Postgres, _) => {
                let mut conn = sqlx::PgConnection::connect(&self.target.url)
                    .await
                    .map_err(|e| connect_error(&self.target, e))?;
                conn.execute(self.derived_setup().as_str())
                    .await
                    .map_err(|e| self.error("opening a connection for the projector", e))?;
                Ok(Some(BatchWriter::Postgres(conn)))
            }
            (Backend::Sqlite, Some(file)) if !self.target.memory => {
                let setup = self.derived_setup();
                let doing = "opening a connection for the projector";
                let writer = open_direct(&self.target, file, &setup, doing).await?;
                let log_reader = open_direct(&self.target, file, &setup, doing).await?;
                // It only checkpoints the file: no page cache to speak
                // of, no log file attached.
                let checkpointing = sqlite_pragmas(&self.target, "NORMAL");
                let checkpointer = crate::direct::Checkpointer::new(
                    open_direct(&self.target, file, &checkpointing, doing).await?,
                );
                Ok(Some(BatchWriter::Sqlite {
                    writer,
                    log_reader,
                    checkpointer,
                }))
            }
            _ => Ok(None),
        }
    }

    /// The session settings of a connection that writes derived data.
    fn derived_setup(&self) -> String {
        match self.backend {
            Backend::Sqlite => {
                let mut setup = format!(
                    "{} PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
                    sqlite_pragmas(&self.target, "NORMAL")
                );
                if let Some(size) = self.page_size {
                    let pages = PROJECTOR_CHECKPOINT_BYTES / size.get();
                    let _ = write!(setup, " PRAGMA wal_autocheckpoint = {pages};");
                }
                if let Some(log) = &self.log_file {
                    setup.push(' ');
                    setup.push_str(&crate::log_file::attach_sql(log, true));
                }
                setup
            }
            Backend::Postgres => match &self.target.schema {
                Some(schema) => format!("SET synchronous_commit = off; {}", search_path(schema)),
                None => "SET synchronous_commit = off".to_owned(),
            },
        }
    }
}

/// libpq's `sslmode` values (`allow` is taken as `prefer`'s weaker twin,
/// as sqlx does: it connects without TLS).
const SSL_MODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// The URL's query parameters, decoded (`+` is not a space in a
/// PostgreSQL URL's query, as in libpq).
fn query_params(url: &str) -> Vec<(String, String)> {
    let Some((_, query)) = url.split_once('?') else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |text: &str| percent_decode(text).unwrap_or_else(|_| text.to_owned());
            (decode(key), decode(value))
        })
        .collect()
}

/// Our own parameter `schema=NAME`, taken out of a PostgreSQL URL (sqlx
/// would only warn about it): the URL for sqlx and the schema's name.
fn take_schema(url: &str) -> Result<(String, Option<String>), String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut schema = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        match pair.strip_prefix("schema=") {
            Some(name) => {
                let name = percent_decode(name).unwrap_or_else(|_| name.to_owned());
                check_schema_name(&name)?;
                schema = Some(name);
            }
            None => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, schema))
}

/// A schema name used as it is written: lower-case letters, digits and
/// `_`, not starting with a digit, at most 63 bytes (PostgreSQL's limit),
/// so it never needs quoting and means the same quoted or not.
pub(crate) fn check_schema_name(name: &str) -> Result<(), String> {
    let fine = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.starts_with("pg_");
    if fine {
        Ok(())
    } else {
        Err(format!(
            "schema={name:?}: a schema name is 1 to 63 lower-case letters, digits and _, \
             not starting with a digit or pg_"
        ))
    }
}

/// `sslmode` is one libpq knows, and `sslrootcert` names a file: said now,
/// in one line, rather than as a handshake failure later.
fn check_tls_params(url: &str) -> Result<(), String> {
    for (key, value) in query_params(url) {
        match key.as_str() {
            "sslmode" | "ssl-mode" if !SSL_MODES.contains(&value.as_str()) => {
                return Err(format!(
                    "sslmode={value} is not one of {}",
                    SSL_MODES.join(", ")
                ));
            }
            "sslrootcert" | "ssl-root-cert" | "ssl-ca" if !Path::new(&value).is_file() => {
                return Err(format!("sslrootcert={value}: no such file"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// What went wrong in a TLS handshake, and what to change, in one line;
/// `None` when the failure was not TLS's.
fn tls_failure(target: &Target, err: &sqlx::Error) -> Option<String> {
    let params = query_params(&target.url);
    let param = |names: &[&str]| {
        params
            .iter()
            .find(|(key, _)| names.contains(&key.as_str()))
            .map(|(_, value)| value.clone())
    };
    let mode = param(&["sslmode", "ssl-mode"]).unwrap_or_else(|| "prefer".to_owned());
    if let sqlx::Error::Tls(inner) = err
        && inner.to_string().contains("does not support TLS")
    {
        return Some(format!(
            "the server does not accept TLS connections, and sslmode={mode} requires TLS \
             (turn on ssl in the server's postgresql.conf)"
        ));
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        // An I/O error's `source` skips the error it wraps: look inside.
        let wrapped = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        if let Some(tls) = wrapped.or_else(|| current.downcast_ref::<rustls::Error>()) {
            use rustls::CertificateError as Cert;
            let trusted = match param(&["sslrootcert", "ssl-root-cert", "ssl-ca"]) {
                Some(file) => format!("the CA in sslrootcert={file} or a public CA"),
                None => "a public CA (name your own with sslrootcert=FILE)".to_owned(),
            };
            return Some(match tls {
                rustls::Error::InvalidCertificate(Cert::UnknownIssuer) => format!(
                    "the server's certificate is not signed by a CA trusted here: \
                     {trusted} (sslmode={mode})"
                ),
                rustls::Error::InvalidCertificate(
                    Cert::NotValidForName | Cert::NotValidForNameContext { .. },
                ) => format!(
                    "the server's certificate does not name the host {} (sslmode={mode}): \
                     connect by a name the certificate lists",
                    host(&target.url)
                ),
                rustls::Error::InvalidCertificate(Cert::Expired | Cert::ExpiredContext { .. }) => {
                    "the server's certificate has expired".to_owned()
                }
                other => format!("the handshake failed: {other}"),
            });
        }
        source = current.source();
    }
    None
}

/// The host of a PostgreSQL URL, for messages.
fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match host_port.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => host_port,
    }
}

/// The pool's sessions compress what they write out of line (the logs'
/// bodies: a survey response's callback is over the 2 KB at which
/// PostgreSQL compresses a row) with lz4 rather than the default pglz: it
/// costs the appends a fraction of the CPU, and the projector reading the
/// bodies back likewise. A session setting, not a column's, so that it
/// needs no migration and a server built without lz4 keeps pglz.
const LZ4_BODIES: &str = "SET default_toast_compression = lz4";

/// Whether the server can compress with lz4 (PostgreSQL 14 or later, built
/// with it; no answer counts as no).
async fn has_lz4(conn: &mut AnyConnection) -> bool {
    sqlx::query(
        "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' \
         AND 'lz4' = ANY(enumvals)",
    )
    .fetch_optional(&mut *conn)
    .await
    .is_ok_and(|row| row.is_some())
}

/// The statement that puts a connection in `schema` (checked by
/// [`check_schema_name`]: nothing to quote).
fn search_path(schema: &str) -> String {
    format!("SET search_path TO {schema}")
}

/// Creates `schema` unless it exists (looked up first: `CREATE SCHEMA IF
/// NOT EXISTS` needs the right to create, even when there is nothing to
/// create).
async fn make_schema(conn: &mut AnyConnection, schema: &str) -> Result<(), sqlx::Error> {
    let exists = sqlx::query("SELECT 1 FROM pg_namespace WHERE nspname = $1")
        .bind(schema)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    if !exists {
        conn.execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
            .await?;
    }
    Ok(())
}

fn connect_error(target: &Target, err: sqlx::Error) -> SinkError {
    if target.backend == Backend::Postgres
        && let Some(reason) = tls_failure(target, &err)
    {
        return SinkError::Tls {
            target: target.display.clone(),
            reason,
            source: Box::new(err),
        };
    }
    match target.backend {
        Backend::Postgres => {
            let reason = match &err {
                sqlx::Error::Database(db) => match db.code().as_deref() {
                    Some("3D000") => format!("{} (create it first, e.g. `createdb`)", db.message()),
                    Some("28P01" | "28000") => {
                        format!("{} (check user and password)", db.message())
                    }
                    _ => db.message().to_owned(),
                },
                sqlx::Error::PoolTimedOut => "timed out".to_owned(),
                other => other.to_string(),
            };
            SinkError::Unreachable {
                target: target.display.clone(),
                reason,
                source: Box::new(err),
            }
        }
        Backend::Sqlite if is_sqlite_busy(&err) => SinkError::Locked {
            database: target.display.clone(),
            timeout_ms: target.busy_timeout.as_millis() as u64,
            source: Box::new(err),
        },
        Backend::Sqlite => SinkError::Database {
            doing: "opening the SQLite database",
            source: Box::new(err),
        },
    }
}

fn is_sqlite_busy(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("5" | "6" | "517" | "261"))
                || db.message().contains("database is locked")
        }
        _ => false,
    }
}

/// Whether an error is worth retrying the transaction for: a PostgreSQL
/// deadlock or serialization failure, a busy SQLite.
pub(crate) fn is_transient(err: &(dyn std::error::Error + 'static)) -> bool {
    let Some(err) = err.downcast_ref::<sqlx::Error>() else {
        return false;
    };
    match err {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("40P01" | "40001")) || is_sqlite_busy(err)
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => true,
        _ => false,
    }
}

/// The embedded migrations of one backend (`migrations/{sqlite,postgres}/`).
#[derive(Debug)]
struct Embedded(Backend);

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "schema",
        include_str!("../migrations/sqlite/0001_schema.sql"),
    ),
    (
        2,
        "event log",
        include_str!("../migrations/sqlite/0002_event_log.sql"),
    ),
    (
        3,
        "time zone",
        include_str!("../migrations/sqlite/0003_time_zone.sql"),
    ),
    (
        4,
        "log state",
        include_str!("../migrations/sqlite/0004_log_state.sql"),
    ),
];

const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "schema",
        include_str!("../migrations/postgres/0001_schema.sql"),
    ),
    (
        2,
        "event log",
        include_str!("../migrations/postgres/0002_event_log.sql"),
    ),
    (
        3,
        "time zone",
        include_str!("../migrations/postgres/0003_time_zone.sql"),
    ),
    (
        4,
        "log state",
        include_str!("../migrations/postgres/0004_log_state.sql"),
    ),
];

/// The newest migration this release applies.
pub(crate) const SCHEMA_VERSION: i64 = 4;

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxError>> {
        let list = match self.0 {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        let migrations = list
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// Epoch milliseconds of a point in time (negative before 1970).
pub(crate) fn millis(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// The point in time of epoch milliseconds.
pub(crate) fn from_millis(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// Now, in epoch milliseconds.
pub(crate) fn now_millis() -> i64 {
    millis(SystemTime::now())
}

/// `rows` groups of `cols` placeholders: `($1,$2,…),(…)` numbered from 1
/// (PostgreSQL), or `(?,?,…),(…)` (SQLite: sqlx finds each `$n` by asking
/// SQLite for the parameter's name, a linear search, so a statement of a
/// thousand `$n` parameters spends more time binding than inserting; plain
/// `?` are bound in order).
pub(crate) fn placeholders(positional: bool, cols: usize, rows: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    let mut n = 1;
    for row in 0..rows {
        if row > 0 {
            out.push(',');
        }
        out.push('(');
        for col in 0..cols {
            if col > 0 {
                out.push(',');
            }
            if positional {
                out.push('?');
            } else {
                out.push('$');
                out.push_str(&n.to_string());
            }
            n += 1;
        }
        out.push(')');
    }
    out
}

/// Splits `n` rows into chunks of 64, 16, 4 and 1 rows, so that multi-row
/// statements come in four shapes only (each a cached prepared statement).
pub(crate) fn chunk_sizes(mut n: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    for size in [64, 16, 4, 1] {
        while n >= size {
            sizes.push(size);
            n -= size;
        }
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_reads_as_the_database_it_names_without_its_password() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "not read").unwrap();
        let url = format!(
            "postgres://writer:s3cret@db.example.org:6543/kz%5Fdata?sslmode=verify-full\
             &sslrootcert={}&schema=kaizala",
            ca.display()
        );
        let db = PostgresDatabase::from_url(&url).unwrap().unwrap();
        assert_eq!(
            db,
            PostgresDatabase {
                host: "db.example.org".to_owned(),
                port: 6543,
                database: "kz_data".to_owned(),
                user: "writer".to_owned(),
                sslmode: "verify-full".to_owned(),
                sslrootcert: Some(ca.clone()),
                schema: Some("kaizala".to_owned()),
            }
        );
        assert!(!format!("{db:?}").contains("s3cret"));
        let db = PostgresDatabase::from_url("postgres://u@localhost/kz?sslmode=disable")
            .unwrap()
            .unwrap();
        assert_eq!((db.port, db.sslmode.as_str()), (5432, "disable"));
        assert!(
            PostgresDatabase::from_url("sqlite::memory:")
                .unwrap()
                .is_none()
        );
        let err = PostgresDatabase::from_url("postgres://u:s3cret@h/kz?sslmode=sure")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sslmode=sure") && !err.contains("s3cret"),
            "{err}"
        );
    }

    #[test]
    fn tls_parameters_are_checked_when_parsed() {
        let pg = "postgres://u:secret@db.example.org:5432/kz";
        for mode in SSL_MODES {
            assert!(
                Target::parse(&format!("{pg}?sslmode={mode}")).is_ok(),
                "{mode}"
            );
        }
        let err = Target::parse(&format!("{pg}?sslmode=verify")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("sslmode=verify is not one of disable,"),
            "{text}"
        );
        assert!(!text.contains("secret"), "{text}");
        let err = Target::parse(&format!(
            "{pg}?sslmode=require&sslrootcert=/no/such%20ca.pem"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("sslrootcert=/no/such ca.pem: no such file"),
            "{err}"
        );
        assert_eq!(
            host("postgres://u:p@db.example.org:5432/kz?x=1"),
            "db.example.org"
        );
        assert_eq!(host("postgres://localhost/kz"), "localhost");
        assert_eq!(host("postgres://u@[::1]:5432/kz"), "[::1]");
    }

    #[test]
    fn urls() {
        let t = Target::parse("sqlite::memory:").unwrap();
        assert!(t.memory && t.backend == Backend::Sqlite);
        let t = Target::parse("postgres://u:secret@localhost:5432/db").unwrap();
        assert_eq!(t.backend, Backend::Postgres);
        assert_eq!(t.display, "postgres://u:***@localhost:5432/db");
        assert_eq!(
            Target::parse("postgresql://localhost/db").unwrap().backend,
            Backend::Postgres
        );
        let dir = std::env::temp_dir();
        let t = Target::parse(dir.join("a b#c.db").to_str().unwrap()).unwrap();
        assert!(t.url.starts_with("sqlite:///"), "{}", t.url);
        assert!(t.url.ends_with("a b%23c.db?mode=rwc"), "{}", t.url);
        let t = Target::parse(&format!("sqlite://{}/x.db", dir.display())).unwrap();
        assert!(t.url.ends_with("x.db?mode=rwc"), "{}", t.url);
        let t = Target::parse(&format!("sqlite://{}/x.db?mode=ro", dir.display())).unwrap();
        assert!(t.url.ends_with("x.db?mode=ro"), "{}", t.url);
        let t =
            Target::parse(&format!("sqlite://{}/x.db?busy_timeout=250", dir.display())).unwrap();
        assert!(t.url.ends_with("x.db?mode=rwc"), "{}", t.url);
        assert_eq!(t.busy_timeout, Duration::from_millis(250));
        let t = Target::parse("sqlite::memory:?busy_timeout=5").unwrap();
        assert_eq!((t.url.as_str(), t.memory), ("sqlite::memory:", true));
        assert!(matches!(
            Target::parse("mysql://x/y"),
            Err(SinkError::BadUrl { .. })
        ));
        assert!(matches!(Target::parse(" "), Err(SinkError::BadUrl { .. })));
        match Target::parse("/no/such/dir/x.db") {
            Err(SinkError::MissingDirectory { directory, .. }) => {
                assert_eq!(directory, Path::new("/no/such/dir"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Target::parse("sqlite:///no/such/dir/x.db"),
            Err(SinkError::MissingDirectory { .. })
        ));
    }

    #[test]
    fn chunks_and_placeholders() {
        assert_eq!(chunk_sizes(0), Vec::<usize>::new());
        assert_eq!(chunk_sizes(87), vec![64, 16, 4, 1, 1, 1]);
        assert_eq!(placeholders(false, 2, 2), "($1,$2),($3,$4)");
        assert_eq!(placeholders(true, 3, 1), "(?,?,?)");
        assert_eq!(millis(from_millis(-5)), -5);
        assert_eq!(millis(from_millis(1_700_000_000_123)), 1_700_000_000_123);
    }
}
