//! The connection the projected tables are written on ([`Writer`]): sqlx's
//! `Any` connection, which every backend speaks, or on PostgreSQL the
//! driver's own connection, which can also take rows by `COPY … FROM
//! STDIN` — a little over half the CPU of the same rows by multi-row
//! `INSERT` (the `project` bench, docs/benchmarks.md), which `Any` cannot
//! send.
//!
//! Statements are built once, as `Any` queries (`crate::write::query`), and
//! run on either: PostgreSQL's connection runs them through its own `Any`
//! backend, so values are bound and rows decoded exactly as on the pool.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Execute, PgConnection};
use sqlx_core::any::AnyConnectionBackend;

use crate::write::{Arg, storable};

/// Where derived rows are written (inside the caller's transaction).
#[async_trait]
pub(crate) trait Writer: Send {
    /// sqlx's name of the backend (`"SQLite"`, `"PostgreSQL"`).
    fn backend_name(&self) -> &str;

    /// Runs `query`; the rows it changed.
    async fn execute<'q>(&mut self, query: Query<'q, Any, AnyArguments<'q>>) -> sqlx::Result<u64>;

    /// Runs `query`; every row it returned.
    async fn fetch_all<'q>(
        &mut self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> sqlx::Result<Vec<AnyRow>>;

    /// Runs `query`; its first row, if any.
    async fn fetch_optional<'q>(
        &mut self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> sqlx::Result<Option<AnyRow>>;

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

#[async_trait]
impl Writer for AnyConnection {
    fn backend_name(&self) -> &str {
        AnyConnection::backend_name(self)
    }

    async fn execute<'q>(&mut self, query: Query<'q, Any, AnyArguments<'q>>) -> sqlx::Result<u64> {
        Ok(query.execute(self).await?.rows_affected())
    }

    async fn fetch_all<'q>(
        &mut self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> sqlx::Result<Vec<AnyRow>> {
        query.fetch_all(self).await
    }

    async fn fetch_optional<'q>(
        &mut self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> sqlx::Result<Option<AnyRow>> {
        query.fetch_optional(self).await
    }
}

/// A query's text, whether its statement is kept prepared, and its values.
fn parts<'q>(
    mut query: Query<'q, Any, AnyArguments<'q>>,
) -> sqlx::Result<(&'q str, bool, Option<AnyArguments<'q>>)> {
    let arguments = query.take_arguments().map_err(sqlx::Error::Encode)?;
    Ok((query.sql(), Execute::persistent(&query), arguments))
}

#[async_trait]
impl Writer for PgConnection {
    fn backend_name(&self) -> &str {
        AnyConnectionBackend::name(self)
    }

    async fn execute<'q>(&mut self, query: Query<'q, Any, AnyArguments<'q>>) -> sqlx::Result<u64> {
        let (sql, persistent, arguments) = parts(query)?;
        let mut results = AnyConnectionBackend::fetch_many(self, sql, persistent, arguments);
        let mut changed = 0;
        while let Some(result) = results.try_next().await? {
            if let sqlx::Either::Left(done) = result {
                changed += done.rows_affected();
            }
        }
        Ok(changed)
    }

    async fn fetch_all<'q>(
        &mut self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> sqlx::Result<Vec<AnyRow>> {
        let (sql, persistent, arguments) = parts(query)?;
        AnyConnectionBackend::fetch_many(self, sql, persistent, arguments)
            .try_filter_map(|result| async move { Ok(result.right()) })
            .try_collect()
            .await
    }

    async fn fetch_optional<'q>(
        &mut self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> sqlx::Result<Option<AnyRow>> {
        let (sql, persistent, arguments) = parts(query)?;
        AnyConnectionBackend::fetch_optional(self, sql, persistent, arguments).await
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
            for c in storable(s).chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
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
        assert_eq!(out, "a\\tb\\nc\\\\d\\re\u{fffd}|\\N|-42|0.1|\\N|\\\\x00ab");
    }
}
