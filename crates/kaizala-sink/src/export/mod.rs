//! Exporting a table, a view or a survey pivot: one query and one row
//! reader ([`run`]) feed every format — the text formats of [`Format`]
//! (written here) and any [`RowWriter`] a caller brings (the CLI's Parquet
//! writer), which gets each column's declared [`ColumnType`] and each row
//! as typed [`Value`]s.

mod columns;
mod incremental;
mod text;

use std::borrow::Cow;
use std::io::Write;

use futures_util::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::{Column, Executor, Row, Statement, ValueRef};

pub(crate) use columns::{Declared, declared, pivot_column};
pub use incremental::{Cursor, Exported, Start};
pub use text::Format;

use crate::db::Db;
use crate::error::SinkError;
use crate::table::Table;
use crate::write::Arg;

/// The type of an exported column, as the schema declares it (not guessed
/// from the values: a column of `NULL`s has its type too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColumnType {
    /// Text ([`Value::Text`]).
    Text,
    /// A 64-bit integer: counts, positions, epoch milliseconds in the raw
    /// tables ([`Value::Integer`]).
    Integer,
    /// A 64-bit float ([`Value::Double`]).
    Double,
    /// A flag ([`Value::Boolean`]): the views' `is_*` columns.
    Boolean,
    /// An instant, milliseconds since the Unix epoch, UTC
    /// ([`Value::Timestamp`]): the views' `*_at` columns.
    Timestamp,
    /// A calendar day, days since 1970-01-01 ([`Value::Date`]).
    Date,
    /// JSON, as text ([`Value::Text`]).
    Json,
    /// Bytes ([`Value::Bytes`]): quarantined bodies.
    Bytes,
}

/// An exported column: its name and declared type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportColumn {
    name: String,
    ty: ColumnType,
}

impl ExportColumn {
    /// A column `name` of type `ty` (as a [`RowWriter`]'s tests give it).
    pub fn new(name: impl Into<String>, ty: ColumnType) -> ExportColumn {
        ExportColumn {
            name: name.into(),
            ty,
        }
    }

    /// The column's name, as in the database (and the CSV header).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its declared type.
    pub fn ty(&self) -> ColumnType {
        self.ty
    }
}

/// One value of an exported row. It matches its column's [`ColumnType`]
/// (a `Json` column's values are [`Value::Text`]; a number stored in a
/// text column comes as its text), or is [`Value::Null`].
/// Text and bytes are borrowed from the row being read where they can be.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value<'r> {
    /// `NULL`.
    Null,
    /// The value of an [`Integer`](ColumnType::Integer) column.
    Integer(i64),
    /// The value of a [`Double`](ColumnType::Double) column.
    Double(f64),
    /// The value of a [`Boolean`](ColumnType::Boolean) column.
    Boolean(bool),
    /// Milliseconds since the Unix epoch, UTC.
    Timestamp(i64),
    /// Days since 1970-01-01.
    Date(i32),
    /// Text, or JSON as text.
    Text(Cow<'r, str>),
    /// The value of a [`Bytes`](ColumnType::Bytes) column.
    Bytes(Cow<'r, [u8]>),
}

/// What an export's rows are given to: [`Sink::export_rows`] and
/// [`Sink::export_pivot_rows`] call [`RowWriter::columns`] once, then
/// [`RowWriter::row`] per row, in order. An error stops the export and is
/// returned as [`SinkError::Io`].
///
/// [`Sink::export_rows`]: crate::Sink::export_rows
/// [`Sink::export_pivot_rows`]: crate::Sink::export_pivot_rows
pub trait RowWriter {
    /// The columns, before any row.
    fn columns(&mut self, columns: &[ExportColumn]) -> std::io::Result<()>;

    /// One row: one value per column, in column order.
    fn row(&mut self, values: &[Value<'_>]) -> std::io::Result<()>;
}

/// A query of an export: its SQL, parameters and columns' declared types.
pub(crate) struct Query {
    pub sql: String,
    pub args: Vec<Arg>,
    pub types: Declared,
}

impl Query {
    /// `sql` without parameters (a pivot's).
    pub(crate) fn plain((sql, types): (String, Declared)) -> Query {
        Query {
            sql,
            args: Vec::new(),
            types,
        }
    }
}

/// The query exporting `table` from `start`, in a stable order (its
/// cursor's), and its columns' types.
pub(crate) fn table_query(db: &Db, table: Table, start: &Start) -> Result<Query, SinkError> {
    let select = crate::schema::views::by_name(table.name())
        .map_or_else(|| "*".to_owned(), |view| view.export_columns(db.backend));
    let (filter, args) = incremental::filter(db, table, start)?;
    let sql = format!(
        "SELECT {select} FROM {}{filter} ORDER BY {}",
        table.name(),
        table.order_by()
    );
    Ok(Query {
        sql,
        args,
        types: columns::declared(table.name()),
    })
}

/// Writes the rows of `table` from `start` to `out` as `format`.
pub(crate) async fn export<W: Write + Send>(
    db: &Db,
    table: Table,
    start: &Start,
    format: Format,
    out: W,
) -> Result<Exported, SinkError> {
    let query = table_query(db, table, start)?;
    let ran = export_query(db, query, format, out).await?;
    ran.exported(db, table, start)
}

/// Gives the rows of `table` from `start` to `writer` as typed values.
pub(crate) async fn export_rows<R: RowWriter + Send>(
    db: &Db,
    table: Table,
    start: &Start,
    writer: &mut R,
) -> Result<Exported, SinkError> {
    let query = table_query(db, table, start)?;
    let ran = run(db, query, Typing::Declared, writer).await?;
    ran.exported(db, table, start)
}

/// Writes every row `query` gives to `out` as `format`.
pub(crate) async fn export_query<W: Write + Send>(
    db: &Db,
    query: Query,
    format: Format,
    out: W,
) -> Result<Ran, SinkError> {
    // Excel gets local date-times, made from the typed times; the others
    // the views' UTC text as it is.
    let (zone, times) = if format == Format::ExcelCsv {
        (crate::time_zone::zone(db).await?, Typing::Declared)
    } else {
        (jiff::tz::TimeZone::UTC, Typing::AsStored)
    };
    let mut rows = text::TextRows::new(format, zone, out);
    let ran = run(db, query, times, &mut rows).await?;
    rows.finish()?;
    Ok(ran)
}

/// What [`run`] did: how many rows, its columns, and the last row (kept,
/// not copied, for the next cursor).
pub(crate) struct Ran {
    pub rows: u64,
    columns: Vec<ExportColumn>,
    last: Option<AnyRow>,
}

impl Ran {
    /// What an export of `table` from `start` did, with its next cursor.
    fn exported(self, db: &Db, table: Table, start: &Start) -> Result<Exported, SinkError> {
        let cursor = incremental::next_cursor(db, table, start, &self.columns, self.last.as_ref())?;
        Ok(Exported {
            rows: self.rows,
            cursor,
        })
    }
}

/// How values reach a [`RowWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Typing {
    /// Of their column's declared type: the views' times as
    /// [`Value::Timestamp`], days as [`Value::Date`], and a number SQLite
    /// keeps in a text column as its text.
    Declared,
    /// As the database gives them (times as the views' text,
    /// `YYYY-MM-DD HH:MM:SS.SSS` UTC): what the text formats write.
    AsStored,
}

/// Runs `query` and gives its columns and every row to `writer`.
pub(crate) async fn run<R: RowWriter + Send>(
    db: &Db,
    query: Query,
    typing: Typing,
    writer: &mut R,
) -> Result<Ran, SinkError> {
    let Query { sql, args, types } = query;
    let columns: Vec<ExportColumn> = (&db.pool)
        .prepare(&sql)
        .await
        .map_err(|e| db.error("preparing the export", e))?
        .columns()
        .iter()
        .map(|c| ExportColumn::new(c.name(), types.of(c.name())))
        .collect();
    writer.columns(&columns)?;
    let mut rows = crate::write::query(&sql, args).fetch(&db.pool);
    // The values borrow their row: one vector's storage serves every row,
    // handed back empty after each.
    let mut storage: Vec<Value<'static>> = Vec::with_capacity(columns.len());
    let mut count = 0u64;
    let mut last = None;
    while let Some(row) = rows
        .try_next()
        .await
        .map_err(|e| db.error("reading rows to export", e))?
    {
        let mut values = reuse(std::mem::take(&mut storage));
        for (i, column) in columns.iter().enumerate() {
            values.push(read(db, &row, i, column, typing)?);
        }
        writer.row(&values)?;
        storage = reuse(values);
        count += 1;
        // Moved, not copied: the next cursor is read from it at the end.
        last = Some(row);
    }
    drop(rows);
    Ok(Ran {
        rows: count,
        columns,
        last,
    })
}

/// `values`, emptied, for values of another lifetime (no allocation: the
/// standard library collects in place).
fn reuse<'a>(mut values: Vec<Value<'_>>) -> Vec<Value<'a>> {
    values.clear();
    values.into_iter().map(|_| Value::Null).collect()
}

/// Value `index` of `row`, as `column`'s declared type.
fn read<'r>(
    db: &Db,
    row: &'r AnyRow,
    index: usize,
    column: &ExportColumn,
    typing: Typing,
) -> Result<Value<'r>, SinkError> {
    use sqlx::any::AnyTypeInfoKind as K;
    let failed = |e| db.error("reading rows to export", e);
    let raw = row.try_get_raw(index).map_err(failed)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().kind();
    let value = match kind {
        K::Null => Value::Null,
        K::SmallInt | K::Integer | K::BigInt => {
            let n: i64 = row.try_get(index).map_err(failed)?;
            match column.ty {
                _ if typing == Typing::AsStored => Value::Integer(n),
                ColumnType::Boolean => Value::Boolean(n != 0),
                ColumnType::Double => Value::Double(n as f64),
                ColumnType::Timestamp => Value::Timestamp(n),
                _ => Value::Integer(n),
            }
        }
        K::Real | K::Double => Value::Double(row.try_get(index).map_err(failed)?),
        K::Bool => Value::Boolean(row.try_get(index).map_err(failed)?),
        K::Blob => Value::Bytes(Cow::Borrowed(row.try_get(index).map_err(failed)?)),
        K::Text => {
            let text: &str = row.try_get(index).map_err(failed)?;
            let bad = |what: &str| SinkError::BadValue {
                column: column.name.clone(),
                reason: format!("{text:?} is not {what}"),
            };
            match column.ty {
                _ if typing == Typing::AsStored => Value::Text(Cow::Borrowed(text)),
                ColumnType::Timestamp => Value::Timestamp(
                    columns::parse_time(text)
                        .ok_or_else(|| bad("a time (YYYY-MM-DD HH:MM:SS.SSS)"))?,
                ),
                ColumnType::Date => {
                    Value::Date(columns::parse_day(text).ok_or_else(|| bad("a day (YYYY-MM-DD)"))?)
                }
                _ => Value::Text(Cow::Borrowed(text)),
            }
        }
    };
    // SQLite types values, not columns: a number in a text column (an
    // option of `json_each`, say) is given as the text it reads as.
    let text = |t: String| Value::Text(Cow::Owned(t));
    Ok(match (typing, column.ty, value) {
        (Typing::Declared, ColumnType::Text | ColumnType::Json, Value::Integer(n)) => {
            text(n.to_string())
        }
        (Typing::Declared, ColumnType::Text | ColumnType::Json, Value::Double(f)) => {
            text(f.to_string())
        }
        (Typing::Declared, ColumnType::Text | ColumnType::Json, Value::Boolean(b)) => {
            text(u8::from(b).to_string())
        }
        (_, _, value) => value,
    })
}
