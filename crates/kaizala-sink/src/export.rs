//! Exporting a table or view as CSV (RFC 4180) or JSON.

use std::io::Write;

use base64::Engine as _;
use futures_util::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::{Column, Executor, Row, Statement, ValueRef};

use crate::db::Db;
use crate::error::SinkError;
use crate::table::Table;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// CSV as RFC 4180 has it: a header line of column names, `CRLF` line
    /// ends, fields holding `,`, `"`, `CR` or `LF` in double quotes (a `"`
    /// doubled), `NULL` as an empty field. Binary values (quarantined
    /// bodies) are base64; flags are `0`/`1`; timestamps epoch ms.
    Csv,
    /// A JSON array of objects, one per row, keys in column order; `NULL`
    /// as `null`, numbers as numbers, binary values as base64 strings. JSON
    /// held in text columns (`payload`, `json_value`, …) stays a string.
    Json,
    /// Newline-delimited JSON: the objects of [`Format::Json`], one per
    /// line, no array around them (what `jq`, BigQuery and DuckDB stream).
    Ndjson,
    /// [`Format::Csv`] for Excel: a UTF-8 byte order mark first (without
    /// it Excel reads the file in the machine's ANSI code page and garbles
    /// non-Latin names), and a text cell starting with `=`, `+`, `-`, `@`,
    /// a tab or a carriage return prefixed with `'`, so Excel shows it as
    /// text instead of running it as a formula.
    ExcelCsv,
}

impl std::str::FromStr for Format {
    type Err = String;

    /// `csv`, `json`, `ndjson` or `excel-csv`, in any letter case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            "excel-csv" | "excel" => Ok(Format::ExcelCsv),
            other => Err(format!(
                "unknown export format {other:?} (csv, json, ndjson or excel-csv)"
            )),
        }
    }
}

/// One value of a row, whichever the backend.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
}

impl Cell {
    pub(crate) fn read(row: &AnyRow, index: usize) -> Result<Cell, sqlx::Error> {
        use sqlx::any::AnyTypeInfoKind as K;
        let raw = row.try_get_raw(index)?;
        if raw.is_null() {
            return Ok(Cell::Null);
        }
        let kind = raw.type_info().kind();
        Ok(match kind {
            K::SmallInt | K::Integer | K::BigInt => Cell::Int(row.try_get(index)?),
            K::Real | K::Double => Cell::Float(row.try_get(index)?),
            K::Bool => Cell::Bool(row.try_get(index)?),
            K::Blob => Cell::Bytes(row.try_get(index)?),
            K::Text => Cell::Text(row.try_get(index)?),
            K::Null => Cell::Null,
        })
    }

    /// The cell for Excel: text that Excel would run as a formula is
    /// prefixed with `'` (numbers, even negative ones, stay numbers).
    fn excel(&self) -> String {
        match self {
            Cell::Text(t) if t.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{t}"),
            other => other.csv(),
        }
    }

    fn csv(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Int(n) => n.to_string(),
            Cell::Float(f) => f.to_string(),
            Cell::Bool(b) => u8::from(*b).to_string(),
            Cell::Text(t) => t.clone(),
            Cell::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b),
        }
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Cell::Null => Value::Null,
            Cell::Int(n) => Value::from(*n),
            Cell::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Cell::Bool(b) => Value::from(u8::from(*b)),
            Cell::Text(t) => Value::from(t.as_str()),
            Cell::Bytes(b) => Value::from(base64::engine::general_purpose::STANDARD.encode(b)),
        }
    }
}

/// A CSV field, quoted when it must be.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn csv_line(fields: impl IntoIterator<Item = String>) -> String {
    let mut line = fields
        .into_iter()
        .map(|f| csv_field(&f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// Writes every row of `table` to `out`; returns how many.
pub(crate) async fn export<W: Write + Send>(
    db: &Db,
    table: Table,
    format: Format,
    out: W,
) -> Result<u64, SinkError> {
    let select = crate::schema::views::by_name(table.name())
        .map_or_else(|| "*".to_owned(), |view| view.export_columns(db.backend));
    let sql = format!(
        "SELECT {select} FROM {} ORDER BY {}",
        table.name(),
        table.order_by()
    );
    export_query(db, &sql, format, out).await
}

/// Writes every row `sql` gives to `out`; returns how many.
pub(crate) async fn export_query<W: Write + Send>(
    db: &Db,
    sql: &str,
    format: Format,
    mut out: W,
) -> Result<u64, SinkError> {
    let columns: Vec<String> = (&db.pool)
        .prepare(sql)
        .await
        .map_err(|e| db.error("preparing the export", e))?
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    let mut rows = sqlx::query(sql).fetch(&db.pool);
    let mut count = 0u64;
    match format {
        Format::Csv => out.write_all(csv_line(columns.iter().cloned()).as_bytes())?,
        Format::ExcelCsv => {
            out.write_all("\u{feff}".as_bytes())?;
            out.write_all(csv_line(columns.iter().cloned()).as_bytes())?;
        }
        Format::Json => out.write_all(b"[")?,
        Format::Ndjson => {}
    }
    while let Some(row) = rows
        .try_next()
        .await
        .map_err(|e| db.error("reading rows to export", e))?
    {
        let cells = (0..columns.len())
            .map(|i| Cell::read(&row, i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| db.error("reading rows to export", e))?;
        match format {
            Format::Csv => out.write_all(csv_line(cells.iter().map(Cell::csv)).as_bytes())?,
            Format::ExcelCsv => {
                out.write_all(csv_line(cells.iter().map(Cell::excel)).as_bytes())?;
            }
            Format::Json | Format::Ndjson => {
                if format == Format::Json {
                    out.write_all(if count > 0 { b",\n{" } else { b"\n{" })?;
                } else {
                    out.write_all(b"{")?;
                }
                for (i, (name, cell)) in columns.iter().zip(&cells).enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut out, name).map_err(std::io::Error::from)?;
                    out.write_all(b":")?;
                    serde_json::to_writer(&mut out, &cell.json()).map_err(std::io::Error::from)?;
                }
                out.write_all(if format == Format::Ndjson {
                    b"}\n"
                } else {
                    b"}"
                })?;
            }
        }
        count += 1;
    }
    if format == Format::Json {
        out.write_all(if count > 0 { b"\n]\n" } else { b"]\n" })?;
    }
    out.flush()?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_it_must() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\r\nlines"), "\"two\r\nlines\"");
        assert_eq!(
            csv_line(["a".to_owned(), String::new(), "c,d".to_owned()]),
            "a,,\"c,d\"\r\n"
        );
    }

    #[test]
    fn excel_cells_never_run_as_formulas() {
        let text = |t: &str| Cell::Text(t.to_owned()).excel();
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("+91 99"), "'+91 99");
        assert_eq!(text("-1+2"), "'-1+2");
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text("नमस्ते"), "नमस्ते");
        assert_eq!(Cell::Int(-5).excel(), "-5");
        assert_eq!(Cell::Float(-0.5).excel(), "-0.5");
    }
}
