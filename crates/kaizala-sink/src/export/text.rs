//! The text formats: CSV (RFC 4180), CSV for Excel, JSON and NDJSON.

use std::io::Write;

use base64::Engine as _;

use super::{ExportColumn, RowWriter, Value};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// CSV as RFC 4180 has it: a header line of column names, `CRLF` line
    /// ends, fields holding `,`, `"`, `CR` or `LF` in double quotes (a `"`
    /// doubled), `NULL` as an empty field. Binary values (quarantined
    /// bodies) are base64; flags are `0`/`1`; the views' times
    /// `YYYY-MM-DD HH:MM:SS.SSS` in UTC, the raw tables' epoch ms.
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
    /// non-Latin names), the views' times as local date-times of the sink's
    /// time zone (`YYYY-MM-DD HH:MM:SS.SSS`, which Excel reads as a date and
    /// time), and a text cell starting with `=`, `+`, `-`, `@`, a tab or a
    /// carriage return prefixed with `'`, so Excel shows it as text instead
    /// of running it as a formula.
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

/// A value as text: `None` for `NULL`; numbers as numbers, flags `0`/`1`,
/// bytes base64 (times and days come as the views' text: [`super::Typing`]).
fn text(value: &Value<'_>) -> Option<String> {
    Some(match value {
        Value::Null => return None,
        Value::Integer(n) => n.to_string(),
        Value::Double(f) => f.to_string(),
        Value::Boolean(b) => u8::from(*b).to_string(),
        Value::Timestamp(ms) => ms.to_string(),
        Value::Date(day) => day.to_string(),
        Value::Text(t) => t.as_ref().to_owned(),
        Value::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b),
    })
}

/// A CSV cell: `NULL` empty.
fn csv(value: &Value<'_>) -> String {
    text(value).unwrap_or_default()
}

/// A CSV cell for Excel: times local to `zone`, days as `YYYY-MM-DD`,
/// and text that Excel would run as a formula prefixed with `'` (numbers,
/// even negative ones, stay numbers).
fn excel(value: &Value<'_>, zone: &jiff::tz::TimeZone) -> String {
    match value {
        Value::Text(t) if t.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{t}"),
        Value::Timestamp(ms) => local_time(*ms, zone).unwrap_or_else(|| ms.to_string()),
        Value::Date(days) => day(*days).unwrap_or_else(|| days.to_string()),
        other => csv(other),
    }
}

/// Epoch milliseconds as `YYYY-MM-DD HH:MM:SS.SSS` on `zone`'s clock.
fn local_time(ms: i64, zone: &jiff::tz::TimeZone) -> Option<String> {
    let t = zone.to_datetime(jiff::Timestamp::from_millisecond(ms).ok()?);
    Some(format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.subsec_nanosecond() / 1_000_000
    ))
}

/// Days since 1970-01-01 as `YYYY-MM-DD`.
fn day(days: i32) -> Option<String> {
    let date = jiff::civil::date(1970, 1, 1)
        .checked_add(jiff::Span::new().days(i64::from(days)))
        .ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        date.month(),
        date.day()
    ))
}

/// A JSON value: numbers and flags (`0`/`1`) as numbers, the rest as
/// strings (JSON held in text columns stays a string).
fn json(value: &Value<'_>) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Null => J::Null,
        Value::Integer(n) => J::from(*n),
        Value::Double(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Boolean(b) => J::from(u8::from(*b)),
        Value::Text(t) => J::from(t.as_ref()),
        other => text(other).map_or(J::Null, J::from),
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

/// The [`RowWriter`] of a text format: writes to `out` as rows come;
/// [`TextRows::finish`] ends the document.
pub(crate) struct TextRows<W> {
    format: Format,
    /// The zone of [`Format::ExcelCsv`]'s local times.
    zone: jiff::tz::TimeZone,
    out: W,
    names: Vec<String>,
    count: u64,
}

impl<W: Write> TextRows<W> {
    /// `zone` is the one [`Format::ExcelCsv`] shows times in (the others
    /// get times as text already, [`super::Typing::AsStored`]).
    pub(crate) fn new(format: Format, zone: jiff::tz::TimeZone, out: W) -> TextRows<W> {
        TextRows {
            format,
            zone,
            out,
            names: Vec::new(),
            count: 0,
        }
    }

    /// Ends the document (the JSON array's `]`) and flushes.
    pub(crate) fn finish(mut self) -> std::io::Result<()> {
        if self.format == Format::Json {
            self.out
                .write_all(if self.count > 0 { b"\n]\n" } else { b"]\n" })?;
        }
        self.out.flush()
    }
}

impl<W: Write> RowWriter for TextRows<W> {
    fn columns(&mut self, columns: &[ExportColumn]) -> std::io::Result<()> {
        self.names = columns.iter().map(|c| c.name().to_owned()).collect();
        match self.format {
            Format::Csv => self
                .out
                .write_all(csv_line(self.names.iter().cloned()).as_bytes()),
            Format::ExcelCsv => {
                self.out.write_all("\u{feff}".as_bytes())?;
                self.out
                    .write_all(csv_line(self.names.iter().cloned()).as_bytes())
            }
            Format::Json => self.out.write_all(b"["),
            Format::Ndjson => Ok(()),
        }
    }

    fn row(&mut self, values: &[Value<'_>]) -> std::io::Result<()> {
        let out = &mut self.out;
        match self.format {
            Format::Csv => out.write_all(csv_line(values.iter().map(csv)).as_bytes())?,
            Format::ExcelCsv => {
                let cells = values.iter().map(|v| excel(v, &self.zone));
                out.write_all(csv_line(cells).as_bytes())?;
            }
            Format::Json | Format::Ndjson => {
                if self.format == Format::Json {
                    out.write_all(if self.count > 0 { b",\n{" } else { b"\n{" })?;
                } else {
                    out.write_all(b"{")?;
                }
                for (i, (name, value)) in self.names.iter().zip(values).enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut *out, name).map_err(std::io::Error::from)?;
                    out.write_all(b":")?;
                    serde_json::to_writer(&mut *out, &json(value)).map_err(std::io::Error::from)?;
                }
                out.write_all(if self.format == Format::Ndjson {
                    b"}\n"
                } else {
                    b"}"
                })?;
            }
        }
        self.count += 1;
        Ok(())
    }
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
        let utc = jiff::tz::TimeZone::UTC;
        let text = |t: &str| excel(&Value::Text(t.into()), &utc);
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("+91 99"), "'+91 99");
        assert_eq!(text("-1+2"), "'-1+2");
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text("नमस्ते"), "नमस्ते");
        assert_eq!(excel(&Value::Integer(-5), &utc), "-5");
        assert_eq!(excel(&Value::Double(-0.5), &utc), "-0.5");
    }

    #[test]
    fn excel_times_are_local() {
        // 2026-03-10 20:00:00.250 UTC.
        let at = Value::Timestamp(1_773_172_800_250);
        let kolkata = jiff::tz::TimeZone::get("Asia/Kolkata").unwrap();
        assert_eq!(excel(&at, &kolkata), "2026-03-11 01:30:00.250");
        assert_eq!(
            excel(&at, &jiff::tz::TimeZone::UTC),
            "2026-03-10 20:00:00.250"
        );
        assert_eq!(excel(&Value::Date(20_522), &kolkata), "2026-03-10");
        assert_eq!(excel(&Value::Date(-1), &kolkata), "1969-12-31");
    }
}
