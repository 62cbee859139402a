//! A connection of our own to an SQLite file ([`Direct`]) for the two
//! writers that write the most: each transaction runs on a blocking thread,
//! through rusqlite, with every statement kept prepared.
//!
//! Through sqlx each statement is a message to the connection's worker
//! thread and back, and each value goes through sqlx's `Any` types. The
//! projector's batch of 2,000 entries is some thousands of statements; an
//! acknowledged batch of events is a dozen (begin, the log's positions, the
//! inserts, commit), and the time they spend passing between threads is
//! time every event of the batch waits for its answer. Here the thread that
//! writes is the thread that runs the transaction, and the statements are
//! prepared once per connection.
//!
//! - The projector writes its batches on one ([`Db::batch_writer`]), and a
//!   second reads the log for the next batch while one is written
//!   ([`Direct::read`]: a read transaction, no write lock).
//! - The event store appends acknowledged events to the log file on one
//!   ([`Db::appender`]).
//!
//! The same statements are run as on the other [`Writer`]s (`crate::write`
//! and `crate::log` make them): one way to write the tables, three kinds of
//! connection it runs on.
//!
//! [`Db::batch_writer`]: crate::db::Db::batch_writer
//! [`Db::appender`]: crate::db::Db::appender

use std::borrow::Cow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::types::{Null, ValueRef};
use rusqlite::{Connection, OpenFlags};

use crate::db::Backend;
use crate::write::{Arg, storable};
use crate::writer::{Fetched, Writer};

/// Statements a connection keeps prepared: every statement a batch runs,
/// with room (the tables' upserts in four chunk sizes each, the
/// announcement and member statements, the watermark's).
const PREPARED: usize = 256;

/// A connection to an SQLite file for one writer (cheap to clone: one
/// connection, used by one transaction at a time).
#[derive(Clone)]
pub(crate) struct Direct {
    /// `None` once closed.
    conn: Arc<Mutex<Option<Connection>>>,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Direct")
    }
}

impl Direct {
    /// Opens `file` read-write and runs `setup` (the session's pragmas, the
    /// log file's `ATTACH`).
    pub(crate) fn open(file: &Path, setup: &str) -> sqlx::Result<Direct> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(file, flags).map_err(error)?;
        conn.set_prepared_statement_cache_capacity(PREPARED);
        conn.execute_batch(setup).map_err(error)?;
        Ok(Direct {
            conn: Arc::new(Mutex::new(Some(conn))),
        })
    }

    /// Closes the connection once the transaction in progress, if any, has
    /// ended; later transactions fail with [`sqlx::Error::PoolClosed`], as
    /// a closed pool's queries do.
    pub(crate) async fn close(&self) {
        let conn = self.conn.clone();
        let closing = tokio::task::spawn_blocking(move || {
            conn.lock().unwrap_or_else(|e| e.into_inner()).take()
        });
        // Dropping a rusqlite connection closes it.
        let _ = closing.await;
    }

    /// Runs `work` in a write transaction (`BEGIN IMMEDIATE`) on a blocking
    /// thread, and commits if it returns `Some`; `None` or an error rolls
    /// back. A caller that stops waiting (its future dropped) rolls it back
    /// too: the next statement `work` runs fails.
    pub(crate) async fn transaction<T, F>(&self, work: F) -> sqlx::Result<Option<T>>
    where
        F: AsyncFnOnce(&mut dyn Writer) -> sqlx::Result<Option<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.run("BEGIN IMMEDIATE", work).await
    }

    /// Runs `work` in a read transaction (`BEGIN`: one snapshot, no write
    /// lock) on a blocking thread, as [`Direct::transaction`] does.
    pub(crate) async fn read<T, F>(&self, work: F) -> sqlx::Result<Option<T>>
    where
        F: AsyncFnOnce(&mut dyn Writer) -> sqlx::Result<Option<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.run("BEGIN", work).await
    }

    async fn run<T, F>(&self, begin: &'static str, work: F) -> sqlx::Result<Option<T>>
    where
        F: AsyncFnOnce(&mut dyn Writer) -> sqlx::Result<Option<T>> + Send + 'static,
        T: Send + 'static,
    {
        let stopped = Arc::new(AtomicBool::new(false));
        let _stop = StopOnDrop(stopped.clone());
        let runtime = tokio::runtime::Handle::current();
        self.on_thread(move |conn| {
            let conn = RollbackOnDrop(conn);
            conn.execute_batch(begin).map_err(error)?;
            let mut writer = DirectWriter {
                conn: &mut *conn.0,
                stopped: &stopped,
            };
            // `work` never waits on anything but this thread's statements,
            // so blocking on it is only a way to run it here.
            match runtime.block_on(work(&mut writer)) {
                Ok(Some(value)) => conn
                    .execute_batch("COMMIT")
                    .map_err(error)
                    .map(|()| Some(value)),
                other => other,
            }
        })
        .await
    }

    /// Copies what the write-ahead log holds into the main database file,
    /// as far as readers let it (`PASSIVE`: it takes no lock a writer
    /// waits for).
    pub(crate) async fn checkpoint(&self) -> sqlx::Result<()> {
        self.on_thread(|conn| {
            conn.query_row("PRAGMA main.wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                .map_err(error)
        })
        .await
    }

    /// Runs `f` on the connection, on a blocking thread.
    async fn on_thread<T, F>(&self, f: F) -> sqlx::Result<T>
    where
        F: FnOnce(&mut Connection) -> sqlx::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
            match guard.as_mut() {
                Some(conn) => f(conn),
                None => Err(sqlx::Error::PoolClosed),
            }
        })
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("the SQLite connection's thread failed: {e}")))?
    }
}

/// Copies what an SQLite file's write-ahead log holds into the file, on a
/// connection and a thread of its own, while the writer goes on.
///
/// A commit that finds the write-ahead log past `wal_autocheckpoint` runs
/// the checkpoint itself, before it returns: the projector's batch that
/// crossed 64 MiB waited some hundred milliseconds for the copy, and the
/// acknowledgements held back behind its backlog with it. Nudged after each
/// batch, this connection copies it while the next one is written
/// (`PASSIVE`: it takes no lock the writer waits for). The writer keeps its
/// own threshold: by the time a commit crosses it there is little left to
/// copy, and that checkpoint lets the next transaction start the
/// write-ahead log over, which a checkpoint racing a busy writer seldom
/// does (decision 104).
#[derive(Debug)]
pub(crate) struct Checkpointer {
    conn: Direct,
    running: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Checkpoints on `conn`, a connection to the file used for nothing
    /// else.
    pub(crate) fn new(conn: Direct) -> Checkpointer {
        Checkpointer {
            conn,
            running: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Starts a checkpoint ([`Direct::checkpoint`]) unless one is running
    /// (it copies the newer frames as well when it gets to them, or the
    /// next nudge does). A failure is only logged: the frames stay in the
    /// write-ahead log, and the next checkpoint copies them.
    pub(crate) fn nudge(&self) -> Option<tokio::task::JoinHandle<()>> {
        if self.running.swap(true, Ordering::AcqRel) {
            return None;
        }
        let (conn, running) = (self.conn.clone(), self.running.clone());
        Some(tokio::spawn(async move {
            if let Err(err) = conn.checkpoint().await {
                tracing::warn!(error = %err, "projector: a checkpoint failed");
            }
            running.store(false, Ordering::Release);
        }))
    }
}

/// The connection for one transaction: whatever ends it (`None`, an error,
/// a commit that failed, `work` panicking), a transaction still open when
/// it is dropped is rolled back, so the next one starts on a clean
/// connection.
struct RollbackOnDrop<'a>(&'a mut Connection);

impl std::ops::Deref for RollbackOnDrop<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.0
    }
}

impl Drop for RollbackOnDrop<'_> {
    fn drop(&mut self) {
        if !self.0.is_autocommit() {
            let _ = self.0.execute_batch("ROLLBACK");
        }
    }
}

/// Tells the writing thread its caller stopped waiting.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// [`Direct`]'s connection inside a transaction (`&mut`: a `Writer` is
/// `Send`, and a shared rusqlite connection is not).
struct DirectWriter<'c> {
    conn: &'c mut Connection,
    stopped: &'c AtomicBool,
}

impl DirectWriter<'_> {
    /// `sql` prepared (from the cache), `args` bound.
    fn statement(&self, sql: &str, args: &[Arg]) -> sqlx::Result<rusqlite::CachedStatement<'_>> {
        if self.stopped.load(Ordering::Relaxed) {
            return Err(sqlx::Error::Protocol(
                "the projector stopped waiting for its batch".to_owned(),
            ));
        }
        let mut statement = self.conn.prepare_cached(sql).map_err(error)?;
        for index in 1..=statement.parameter_count() {
            let at = parameter_at(statement.parameter_name(index), index).ok_or_else(|| {
                sqlx::Error::Protocol(format!("parameter {index} of `{sql}` has no number"))
            })?;
            let arg = args.get(at).ok_or_else(|| {
                sqlx::Error::Protocol(format!(
                    "`{sql}` takes parameter {} but has {} values",
                    at + 1,
                    args.len()
                ))
            })?;
            let bound = match arg {
                Arg::Text(Some(text)) => {
                    statement.raw_bind_parameter(index, storable(text).as_ref())
                }
                Arg::Text(None) | Arg::Int(None) | Arg::Float(None) => {
                    statement.raw_bind_parameter(index, Null)
                }
                Arg::Int(Some(n)) => statement.raw_bind_parameter(index, n),
                Arg::Float(Some(f)) => statement.raw_bind_parameter(index, f),
                Arg::Bytes(bytes) => statement.raw_bind_parameter(index, bytes.as_slice()),
            };
            bound.map_err(error)?;
        }
        Ok(statement)
    }

    fn rows(&self, sql: &str, args: &[Arg], limit: usize) -> sqlx::Result<Vec<Fetched>> {
        let mut statement = self.statement(sql, args)?;
        let columns = statement.column_count();
        let mut rows = statement.raw_query();
        let mut fetched = Vec::new();
        while fetched.len() < limit
            && let Some(row) = rows.next().map_err(error)?
        {
            let values = (0..columns)
                .map(|i| row.get_ref(i).map(value).map_err(error))
                .collect::<sqlx::Result<_>>()?;
            fetched.push(Fetched::Values(values));
        }
        Ok(fetched)
    }
}

/// Where the value of parameter `index` (from 1) is in a statement's
/// values: `$N` and `?N` name it, a bare `?` is the next in order.
fn parameter_at(name: Option<&str>, index: usize) -> Option<usize> {
    match name {
        None => Some(index - 1),
        Some(name) => name
            .strip_prefix(['$', '?'])
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n >= 1)
            .map(|n| n - 1),
    }
}

fn value(value: ValueRef<'_>) -> Arg {
    match value {
        ValueRef::Null => Arg::Text(None),
        ValueRef::Integer(n) => Arg::Int(Some(n)),
        ValueRef::Real(f) => Arg::Float(Some(f)),
        // Checked the fast way first: text SQLite holds is UTF-8 unless a
        // writer outside the sink stored other bytes.
        ValueRef::Text(text) => Arg::Text(Some(match std::str::from_utf8(text) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(text).into_owned(),
        })),
        ValueRef::Blob(bytes) => Arg::Bytes(bytes.to_vec()),
    }
}

#[async_trait]
impl Writer for DirectWriter<'_> {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn execute(&mut self, sql: &str, args: Vec<Arg>) -> sqlx::Result<u64> {
        let mut statement = self.statement(sql, &args)?;
        Ok(statement.raw_execute().map_err(error)? as u64)
    }

    async fn fetch_all(&mut self, sql: &str, args: Vec<Arg>) -> sqlx::Result<Vec<Fetched>> {
        self.rows(sql, &args, usize::MAX)
    }

    async fn fetch_optional(&mut self, sql: &str, args: Vec<Arg>) -> sqlx::Result<Option<Fetched>> {
        Ok(self.rows(sql, &args, 1)?.pop())
    }
}

/// rusqlite's error as sqlx's: SQLite's own errors keep their extended code
/// (`crate::db` tells a busy database by it, as from sqlx's).
fn error(err: rusqlite::Error) -> sqlx::Error {
    match err {
        rusqlite::Error::SqliteFailure(failure, message) => {
            sqlx::Error::Database(Box::new(SqliteFailure {
                code: failure.extended_code,
                message: message.unwrap_or_else(|| failure.to_string()),
            }))
        }
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// An error SQLite returned on [`Direct`]'s connection.
#[derive(Debug)]
struct SqliteFailure {
    /// The extended result code.
    code: i32,
    message: String,
}

impl std::fmt::Display for SqliteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for SqliteFailure {}

impl sqlx::error::DatabaseError for SqliteFailure {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                sqlx::error::ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => sqlx::error::ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => sqlx::error::ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => sqlx::error::ErrorKind::CheckViolation,
            _ => sqlx::error::ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Kind, Merge, SqlType, TableDef, req};

    #[test]
    fn parameters_are_found_by_their_number() {
        assert_eq!(parameter_at(None, 3), Some(2));
        assert_eq!(parameter_at(Some("$1"), 5), Some(0));
        assert_eq!(parameter_at(Some("?12"), 1), Some(11));
        assert_eq!(parameter_at(Some("$0"), 1), None);
        assert_eq!(parameter_at(Some(":name"), 1), None);
    }

    /// Table `t`'s declaration, for the inserts built from one.
    const T: TableDef = TableDef {
        name: "t",
        kind: Kind::Bookkeeping,
        version: 1,
        columns: &[
            req("k", SqlType::Text, Merge::Key),
            req("n", SqlType::BigInt, Merge::Fixed),
        ],
        key: &["k"],
        unique: &[],
        indexes: &[],
    };

    /// An empty file, which is an empty database (`open` makes no file).
    fn empty_database() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.db");
        std::fs::File::create(&file).unwrap();
        (dir, file)
    }

    /// A database in WAL mode, opened with `setup` as well, whose table `t`
    /// is made by `ddl`.
    async fn with_table(
        setup: &str,
        ddl: &'static str,
    ) -> (tempfile::TempDir, std::path::PathBuf, Direct) {
        let (dir, file) = empty_database();
        let direct = Direct::open(&file, &format!("PRAGMA journal_mode = WAL; {setup}")).unwrap();
        direct
            .transaction(async move |w: &mut dyn Writer| {
                w.execute(ddl, vec![]).await?;
                Ok(Some(()))
            })
            .await
            .unwrap();
        (dir, file, direct)
    }

    /// The rows of table `t`, read on `direct`.
    async fn row_count(direct: &Direct) -> i64 {
        let count = direct
            .read(async |w: &mut dyn Writer| {
                let row = w.fetch_optional("SELECT COUNT(*) FROM t", vec![]).await?;
                Ok(row.map(|r| r.int(0)))
            })
            .await;
        count.unwrap().unwrap().unwrap().unwrap()
    }

    #[tokio::test]
    async fn a_checkpointer_copies_what_the_writer_committed_into_the_file() {
        // A writer that never checkpoints itself: its commits stay in the
        // write-ahead log until the checkpointer copies them.
        let (_dir, file, writer) = with_table(
            "PRAGMA wal_autocheckpoint = 0;",
            "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)",
        )
        .await;
        writer
            .transaction(async |w: &mut dyn Writer| {
                for k in 0..500 {
                    w.execute(
                        "INSERT INTO t (k, v) VALUES ($1, $2)",
                        vec![k.into(), "x".repeat(1000).into()],
                    )
                    .await?;
                }
                Ok(Some(()))
            })
            .await
            .unwrap();
        let size = || std::fs::metadata(&file).unwrap().len();
        assert!(
            size() < 100_000,
            "checkpointed before the nudge: {} bytes",
            size()
        );

        let checkpointer = Checkpointer::new(Direct::open(&file, "").unwrap());
        checkpointer.nudge().expect("none running").await.unwrap();
        assert!(size() >= 500_000, "not checkpointed: {} bytes", size());
        // The writer goes on, and its rows are all there.
        assert_eq!(row_count(&writer).await, 500);
    }

    /// Text that is not UTF-8 (written by hand, not by the sink) reads back
    /// with U+FFFD where its bad bytes were; UTF-8 reads as it is.
    #[tokio::test]
    async fn text_that_is_not_utf8_reads_with_replacement_characters() {
        let (_dir, file) = empty_database();
        let direct = Direct::open(&file, "").unwrap();
        let odd = direct
            .read(async |w: &mut dyn Writer| {
                w.fetch_all("SELECT CAST(x'61ff62' AS TEXT), 'é€'", vec![])
                    .await
                    .map(Some)
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(odd[0].text(0).unwrap(), "a\u{fffd}b");
        assert_eq!(odd[0].text(1).unwrap(), "é€");
    }

    #[tokio::test]
    async fn a_batch_commits_whole_or_not_at_all() {
        let (_dir, _file, direct) =
            with_table("", "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER)").await;
        let insert = "INSERT INTO t (k, n) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET n = $2";
        // Committed: values bound by their number, text with a NUL stored as
        // every backend stores it, rows read back.
        let read = direct
            .transaction(async move |w: &mut dyn Writer| {
                w.execute(insert, vec!["a\0b".into(), 1.into()]).await?;
                w.execute(insert, vec!["c".into(), Arg::Int(None)]).await?;
                w.fetch_all("SELECT k, n FROM t ORDER BY k", vec![])
                    .await
                    .map(Some)
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].text(0).unwrap(), "a\u{fffd}b");
        assert_eq!(read[0].int(1).unwrap(), Some(1));
        assert_eq!(read[1].int(1).unwrap(), None);
        // `None`: rolled back.
        let none = direct
            .transaction(async move |w: &mut dyn Writer| {
                w.execute(insert, vec!["d".into(), 4.into()]).await?;
                Ok(None::<()>)
            })
            .await
            .unwrap();
        assert!(none.is_none());
        // An error: rolled back, the database's code kept.
        let err = direct
            .transaction(async move |w: &mut dyn Writer| {
                w.execute(insert, vec!["e".into(), 5.into()]).await?;
                w.execute("INSERT INTO t (k, n) VALUES ('a\u{fffd}b', 9)", vec![])
                    .await?;
                Ok(Some(()))
            })
            .await
            .unwrap_err();
        let db = err.as_database_error().expect("a database error");
        assert!(db.is_unique_violation(), "{err}");
        assert_eq!(row_count(&direct).await, 2);
        // A batch that panics leaves its transaction open on the thread;
        // the next one rolls it back and goes on.
        let panicked = direct
            .transaction(async move |w: &mut dyn Writer| {
                w.execute(insert, vec!["f".into(), 6.into()]).await?;
                if w.backend() == Backend::Sqlite {
                    panic!("a batch that panics");
                }
                Ok(Some(()))
            })
            .await;
        assert!(panicked.is_err());
        assert_eq!(row_count(&direct).await, 2);
    }

    #[tokio::test]
    async fn a_read_sees_the_last_commit_and_takes_no_write_lock() {
        let (_dir, file, writer) = with_table("", "CREATE TABLE t (n INTEGER)").await;
        let reader = Direct::open(&file, "").unwrap();
        writer
            .transaction(async |w: &mut dyn Writer| {
                w.execute("INSERT INTO t (n) VALUES (1)", vec![]).await?;
                Ok(Some(()))
            })
            .await
            .unwrap();
        // Read while the writer holds the write lock with a row not yet
        // committed: the read goes through at once (no busy timeout is
        // set, so waiting for the lock would fail) and sees the last commit.
        let seen = writer
            .transaction(async move |w: &mut dyn Writer| {
                w.execute("INSERT INTO t (n) VALUES (2)", vec![]).await?;
                let read = reader
                    .read(async |r: &mut dyn Writer| {
                        let rows = r.fetch_all("SELECT n FROM t ORDER BY n", vec![]).await?;
                        rows.iter()
                            .map(|row| row.int(0))
                            .collect::<Result<Vec<_>, _>>()
                            .map(Some)
                    })
                    .await?;
                Ok(Some(read))
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seen, Some(vec![Some(1)]));
    }

    /// `INSERT OR FAIL` keeps the rows a failing statement wrote before it
    /// failed; the transaction around it must not.
    #[tokio::test]
    async fn a_statement_failing_halfway_leaves_nothing_once_its_transaction_ends() {
        let (_dir, _file, direct) = with_table(
            "",
            "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL)",
        )
        .await;
        // 70 rows: a chunk of 64 that succeeds, then one of 4 whose third
        // row breaks `NOT NULL`.
        let rows: Vec<Vec<Arg>> = (0..70)
            .map(|i| {
                let n = if i == 66 { None } else { Some(i) };
                vec![format!("k{i}").into(), Arg::Int(n)]
            })
            .collect();
        let err = direct
            .transaction(async move |w: &mut dyn Writer| {
                let changed = crate::write::insert_counted(w, &T, "t", "", rows).await?;
                Ok(Some(changed))
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("NOT NULL"), "{err}");
        let count = row_count(&direct).await;
        assert_eq!(count, 0, "rows of the failed transaction were kept");
    }
}
