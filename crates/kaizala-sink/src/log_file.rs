//! On an SQLite file, the logs live in a file of their own, `<file>-log`.
//!
//! SQLite has one write lock per database file. With the logs and the
//! projected tables in one file, each acknowledgement waited for the
//! projector's batch in progress, and the projector for the appends
//! (docs/benchmarks.md, "Acknowledged events"). So the tables an append
//! writes ([`LOG_FILE`]: both logs, the quarantine, the sync cursors and
//! the logs' position counter) are kept in a second file beside the
//! database file, which holds the projected tables, the views and the
//! projector's bookkeeping:
//!
//! - appends connect to the log file alone (`Db::log_pool`, and `Db::appender`
//!   for acknowledged events);
//! - every other connection attaches it read-only as `log`: queries name
//!   the logs' tables as before (SQLite looks an unqualified name up in
//!   `main`, then in the attached databases), a reader sees both files, and
//!   `BEGIN IMMEDIATE` takes only the database file's write lock, since
//!   SQLite only reads a read-only attachment;
//! - the migrations run on a connection that attaches it read-write, and
//!   [`split`] then moves the logs' tables of a database file written before
//!   into it.
//!
//! A commit writes one file only, which is what makes the layout safe:
//! appends write only the log file, and the projector writes only the
//! database file, where its watermark says how far it read the log. The two
//! files are one sink: copy, move and delete them together (with their
//! `-wal` and `-shm` files).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sqlx::{AnyConnection, Executor, Row};

use crate::db::Backend;
use crate::schema::tables::LOG_FILE;

/// The suffix that names the log file after the database file.
pub(crate) const SUFFIX: &str = "-log";

/// The log file of the SQLite database file `file`.
pub(crate) fn path_of(file: &Path) -> PathBuf {
    suffixed(file, SUFFIX)
}

/// `file` with `suffix` added to its name.
fn suffixed(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The files an SQLite sink at `file` is made of: the database file, its
/// log file (`<file>-log`, which keeps the logs) and each one's `-wal` and
/// `-shm` files while they exist. Copy, move and delete them together.
///
/// ```
/// use std::path::{Path, PathBuf};
///
/// let files = kaizala_sink::sqlite_files(Path::new("/data/kz.db"));
/// assert_eq!(files[0], PathBuf::from("/data/kz.db"));
/// assert!(files.contains(&PathBuf::from("/data/kz.db-log")));
/// assert_eq!(files.len(), 6);
/// ```
pub fn sqlite_files(file: &Path) -> Vec<PathBuf> {
    let log = path_of(file);
    [file, log.as_path()]
        .into_iter()
        .flat_map(|f| ["", "-wal", "-shm"].map(|suffix| suffixed(f, suffix)))
        .collect()
}

/// `ATTACH DATABASE` of the log file `log` as `log`, read-only or not.
pub(crate) fn attach_sql(log: &Path, read_only: bool) -> String {
    let absolute = std::path::absolute(log).unwrap_or_else(|_| log.to_path_buf());
    // A URI (sqlx opens connections with SQLITE_OPEN_URI), for `mode=ro`;
    // its path escaped as the sink's URLs are, then quoted for SQL.
    let path = crate::db::percent_encode_path(&absolute.to_string_lossy()).replace('\'', "''");
    let mode = if read_only { "ro" } else { "rw" };
    format!("ATTACH DATABASE 'file:{path}?mode={mode}' AS log")
}

/// Moves the tables of [`LOG_FILE`] that are still in the database file
/// (one written before the logs had a file of their own, or just migrated)
/// into the log file, attached read-write as `log` on `conn`.
///
/// Two commits, the log file's first: rows are copied, then dropped from
/// the database file. A crash between them leaves the rows in both files,
/// and the next start copies nothing new and drops them; no order of
/// crashes loses a row.
///
/// Whether the log file then holds every table of [`LOG_FILE`]: not when
/// the database file was split before and its log file is missing.
pub(crate) async fn split(conn: &mut AnyConnection) -> Result<bool, sqlx::Error> {
    let in_main = tables(conn, "main").await?;
    let in_log = tables(conn, "log").await?;
    let moving: Vec<_> = LOG_FILE
        .into_iter()
        .filter(|t| in_main.contains(t.name))
        .collect();
    if moving.is_empty() {
        return Ok(LOG_FILE.iter().all(|t| in_log.contains(t.name)));
    }
    let mut copy = String::from("BEGIN IMMEDIATE; ");
    for table in &moving {
        if !in_log.contains(table.name) {
            let create = table.create_sql(Backend::Sqlite, table.name);
            let body = create
                .strip_prefix("CREATE TABLE ")
                .expect("create_sql starts with CREATE TABLE");
            copy.push_str(&format!("CREATE TABLE log.{body}; "));
        }
        let columns = table.column_list();
        copy.push_str(&format!(
            "INSERT OR IGNORE INTO log.{name} ({columns}) SELECT {columns} FROM main.{name}; ",
            name = table.name
        ));
    }
    copy.push_str("COMMIT");
    run(conn, &copy).await?;
    let mut drop = String::from("BEGIN IMMEDIATE; ");
    for table in &moving {
        drop.push_str(&format!("DROP TABLE main.{}; ", table.name));
    }
    drop.push_str("COMMIT");
    run(conn, &drop).await?;
    Ok(true)
}

/// Runs `script`, rolling back what it left open if it fails.
async fn run(conn: &mut AnyConnection, script: &str) -> Result<(), sqlx::Error> {
    if let Err(err) = conn.execute(sqlx::raw_sql(script)).await {
        let _ = conn.execute("ROLLBACK").await;
        return Err(err);
    }
    Ok(())
}

/// The tables of the attached database `schema`.
async fn tables(conn: &mut AnyConnection, schema: &str) -> Result<BTreeSet<String>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT name FROM {schema}.sqlite_master WHERE type = 'table'"
    ))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| row.try_get::<String, _>(0))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_file_sits_beside_the_database_file() {
        assert_eq!(
            path_of(Path::new("/data/kz.db")),
            PathBuf::from("/data/kz.db-log")
        );
    }

    #[test]
    fn attaching_escapes_what_a_uri_or_a_string_would_end_at() {
        let sql = attach_sql(Path::new("/data/it's 100%?#.db-log"), true);
        assert_eq!(
            sql,
            "ATTACH DATABASE 'file:/data/it''s 100%25%3F%23.db-log?mode=ro' AS log"
        );
    }
}
