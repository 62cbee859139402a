//! The connection the projected tables are written on ([`Writer`]): sqlx's
//! `Any` connection, which every backend speaks; on PostgreSQL the driver's
//! own connection, which can also take rows by `COPY … FROM STDIN` — a
//! little over half the CPU of the same rows by multi-row `INSERT` (the
//! `project` bench, docs/benchmarks.md), which `Any` cannot send; and on an
//! SQLite file a connection of the projector's own ([`crate::direct`]),
//! which runs a whole batch on one blocking thread with its statements
//! kept prepared.
//!
//! Statements are SQL text and [`Arg`]s, made once (`crate::write`), and run
//! on any of them: PostgreSQL's connection runs them through its own `Any`
//! backend, so values are bound and rows decoded exactly as on the pool.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Execute, PgConnection, Row};
use sqlx_core::any::AnyConnectionBackend;

use crate::db::Backend;
use crate::write::{Arg, query, storable};

/// Where derived rows are written (inside the caller's transaction).
#[async_trait]
pub(crate) trait Writer: Send {
    /// The database it writes to.
    fn backend(&self) -> Backend;

    /// Runs `sql` with `args` bound in order; the rows it changed.
    async fn execute(&mut self, sql: &str, args: Vec<Arg>) -> sqlx::Result<u64>;

    /// Runs `sql` with `args`; every row it returned.
    async fn fetch_all(&mut self, sql: &str, args: Vec<Arg>) -> sqlx::Result<Vec<Fetched>>;

    /// Runs `sql` with `args`; its first row, if any.
    async fn fetch_optional(&mut self, sql: &str, args: Vec<Arg>) -> sqlx::Result<Option<Fetched>>;

    /// Appends `rows` (each `columns`' values, in order) to `target` by
    /// `COPY`; `false`, having written nothing, where the connection cannot
    /// (the caller then inserts them).
    async fn copy_rows(
        &mut self,
        _target: &str,
        _columns: &str,
        _rows: &[Vec<Arg>],
    ) -> sqlx::Result<bool> {
        Ok(false)
    }
}

/// A row a [`Writer`] returned.
pub(crate) enum Fetched {
    /// From sqlx.
    Any(AnyRow),
    /// From the SQLite projector's own connection, a value per column
    /// (`NULL` as `Arg::Text(None)`).
    Values(Vec<Arg>),
}

impl Fetched {
    /// Column `index` as text (an error if it is `NULL` or not text).
    pub fn text(&self, index: usize) -> sqlx::Result<String> {
        match self {
            Fetched::Any(row) => row.try_get(index),
            Fetched::Values(values) => match values.get(index) {
                Some(Arg::Text(Some(text))) => Ok(text.clone()),
                other => Err(not_a(index, "text", other)),
            },
        }
    }

    /// Column `index` as text, as [`Fetched::text`] does, moved out of the
    /// row where it holds the value itself (a log body is read once, not
    /// copied again); the column is left empty.
    pub fn take_text(&mut self, index: usize) -> sqlx::Result<String> {
        match self {
            Fetched::Any(row) => row.try_get(index),
            Fetched::Values(values) => match values.get_mut(index) {
                Some(Arg::Text(Some(text))) => Ok(std::mem::take(text)),
                other => Err(not_a(index, "text", other.map(|v| &*v))),
            },
        }
    }

    /// Column `index` as an integer, `None` for `NULL`.
    pub fn int(&self, index: usize) -> sqlx::Result<Option<i64>> {
        match self {
            Fetched::Any(row) => row.try_get(index),
            Fetched::Values(values) => match values.get(index) {
                Some(Arg::Int(value)) => Ok(*value),
                Some(Arg::Text(None) | Arg::Float(None)) => Ok(None),
                other => Err(not_a(index, "an integer", other)),
            },
        }
    }
}

fn not_a(index: usize, what: &str, found: Option<&Arg>) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: index.to_string(),
        source: format!("expected {what}, found {found:?}").into(),
    }
}

#[async_trait]
impl Writer for AnyConnection {
    fn backend(&self) -> Backend {
        if self.backend_name().eq_ignore_ascii_case("sqlite") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }

    async fn execute(&mut self, sql: &str, args: Vec<Arg>) -> sqlx::Result<u64> {
        Ok(query(sql, args).execute(self).await?.rows_affected())
    }

    async fn fetch_all(&mut self, sql: &str, args: Vec<Arg>) -> sqlx::Result<Vec<Fetched>> {
        let rows = query(sql, args).fetch_all(self).await?;
        Ok(rows.into_iter().map(Fetched::Any).collect())
    }

    async fn fetch_optional(&mut self, sql: &str, args: Vec<Arg>) -> sqlx::Result<Option<Fetched>> {
        Ok(query(sql, args)
            .fetch_optional(self)
            .await?
            .map(Fetched::Any))
    }
}

/// `sql` and `args` as sqlx's `Any` backend takes them: the text, whether
/// its statement is kept prepared, and the values.
fn parts(
    sql: &str,
    args: Vec<Arg>,
) -> sqlx::Result<(&str, bool, Option<sqlx::any::AnyArguments<'_>>)> {
    let mut query = query(sql, args);
    let arguments = query.take_arguments().map_err(sqlx::Error::Encode)?;
    Ok((sql, Execute::persistent(&query), arguments))
}

#[async_trait]
impl Writer for PgConnection {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn execute(&mut self, sql: &str, args: Vec<Arg>) -> sqlx::Result<u64> {
        let (sql, persistent, arguments) = parts(sql, args)?;
        let mut results = AnyConnectionBackend::fetch_many(self, sql, persistent, arguments);
        let mut changed = 0;
        while let Some(result) = results.try_next().await? {
            if let sqlx::Either::Left(done) = result {
                changed += done.rows_affected();
            }
        }
        Ok(changed)
    }

    async fn fetch_all(&mut self, sql: &str, args: Vec<Arg>) -> sqlx::Result<Vec<Fetched>> {
        let (sql, persistent, arguments) = parts(sql, args)?;
        AnyConnectionBackend::fetch_many(self, sql, persistent, arguments)
            .try_filter_map(|result| async move { Ok(result.right().map(Fetched::Any)) })
            .try_collect()
            .await
    }

    async fn fetch_optional(&mut self, sql: &str, args: Vec<Arg>) -> sqlx::Result<Option<Fetched>> {
        let (sql, persistent, arguments) = parts(sql, args)?;
        let row = AnyConnectionBackend::fetch_optional(self, sql, persistent, arguments).await?;
        Ok(row.map(Fetched::Any))
    }

    async fn copy_rows(
        &mut self,
        target: &str,
        columns: &str,
        rows: &[Vec<Arg>],
    ) -> sqlx::Result<bool> {
        let mut text = String::new();
        for row in rows {
            for (i, value) in row.iter().enumerate() {
                if i > 0 {
                    text.push('\t');
                }
                copy_text(&mut text, value);
            }
            text.push('\n');
        }
        let mut copy = self
            .copy_in_raw(&format!("COPY {target} ({columns}) FROM STDIN"))
            .await?;
        if let Err(err) = copy.send(text.into_bytes()).await {
            let _ = copy.abort("sending the rows failed").await;
            return Err(err);
        }
        copy.finish().await?;
        Ok(true)
    }
}

/// `value` in `COPY`'s text format.
fn copy_text(out: &mut String, value: &Arg) {
    use std::fmt::Write as _;
    match value {
        Arg::Text(None) | Arg::Int(None) | Arg::Float(None) => out.push_str("\\N"),
        Arg::Int(Some(n)) => {
            let _ = write!(out, "{n}");
        }
        // Rust prints the shortest text that reads back as the same
        // double; PostgreSQL reads `NaN`, `inf` and `-inf` too.
        Arg::Float(Some(f)) => {
            let _ = write!(out, "{f}");
        }
        Arg::Text(Some(s)) => {
            // Runs without a byte to escape are copied whole (the bytes
            // escaped are ASCII, so a run always ends on a char boundary):
            // pushing char by char was a third of the projector thread's
            // time on PostgreSQL.
            let s = storable(s);
            let mut run = 0;
            for (at, byte) in s.bytes().enumerate() {
                let escaped = match byte {
                    b'\\' => "\\\\",
                    b'\t' => "\\t",
                    b'\n' => "\\n",
                    b'\r' => "\\r",
                    _ => continue,
                };
                out.push_str(&s[run..at]);
                out.push_str(escaped);
                run = at + 1;
            }
            out.push_str(&s[run..]);
        }
        Arg::Bytes(bytes) => {
            // bytea's hex input, its backslash escaped for `COPY`.
            out.push_str("\\\\x");
            for b in bytes {
                let _ = write!(out, "{b:02x}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_as_copy_reads_them() {
        let mut out = String::new();
        for (i, value) in [
            Arg::Text(Some("a\tb\nc\\d\re\0".to_owned())),
            Arg::Text(Some("é\t→\0ü".to_owned())),
            Arg::Text(None),
            Arg::Int(Some(-42)),
            Arg::Float(Some(0.1)),
            Arg::Float(None),
            Arg::Bytes(vec![0, 0xab]),
        ]
        .iter()
        .enumerate()
        {
            if i > 0 {
                out.push('|');
            }
            copy_text(&mut out, value);
        }
        assert_eq!(
            out,
            "a\\tb\\nc\\\\d\\re\u{fffd}|é\\t→\u{fffd}ü|\\N|-42|0.1|\\N|\\\\x00ab"
        );
    }
    #[test]
    fn a_taken_text_is_moved_out_and_a_wrong_column_is_an_error() {
        let mut row = Fetched::Values(vec![
            Arg::Text(Some("body".to_owned())),
            Arg::Int(Some(7)),
            Arg::Text(None),
        ]);
        assert_eq!(row.text(0).unwrap(), "body");
        assert_eq!(row.take_text(0).unwrap(), "body");
        assert_eq!(row.text(0).unwrap(), "", "moved out, not copied");
        for column in [1, 2, 3] {
            let err = row.take_text(column).unwrap_err().to_string();
            assert!(err.contains("expected text"), "column {column}: {err}");
        }
        assert_eq!(row.int(1).unwrap(), Some(7), "other columns untouched");
    }
}
