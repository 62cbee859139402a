//! Incremental exports: where an export starts ([`Start`]), the cursor
//! that resumes it ([`Cursor`]), the `WHERE` clause they make, and the next
//! cursor, read from the last exported row.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sqlx::any::AnyRow;

use super::{ColumnType, ExportColumn, Typing, Value};
use crate::db::Db;
use crate::error::SinkError;
use crate::table::Table;
use crate::write::Arg;

/// Where an export starts ([`Sink::export_from`]).
///
/// [`Sink::export_from`]: crate::Sink::export_from
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Start {
    /// Every row.
    All,
    /// The rows whose time is at or after this instant (epoch
    /// milliseconds): when a log entry was received, fetched or logged; an
    /// event's own time (`sent_at`, `changed_at`, `responded_at`)
    /// elsewhere. Only for incremental tables ([`Table::is_incremental`]).
    Since(i64),
    /// The rows after the last one an earlier export gave (its
    /// [`Exported::cursor`]), in export order. Only for incremental tables,
    /// and only with a cursor of the same table.
    After(Cursor),
}

impl Start {
    /// [`Start::Since`] from text: RFC 3339 with an offset or `Z`
    /// (`2026-03-10T20:00:00Z`, `2026-03-10T20:00:00+05:30`), or a date
    /// and time without one (`2026-03-10`, `2026-03-10 08:00`,
    /// `2026-03-10T08:00:00`), read as a local time of the IANA time zone
    /// `zone` (give the sink's, [`Sink::time_zone`]). A local time that
    /// happens twice is its first; one skipped by a clock change, the
    /// instant after. [`SinkError::BadTime`] when unreadable,
    /// [`SinkError::UnknownTimeZone`] for an unknown zone.
    ///
    /// [`Sink::time_zone`]: crate::Sink::time_zone
    pub fn since_text(text: &str, zone: &str) -> Result<Start, SinkError> {
        let text = text.trim();
        let bad = || SinkError::BadTime {
            text: text.to_owned(),
        };
        if let Ok(instant) = text.parse::<jiff::Timestamp>() {
            return Ok(Start::Since(instant.as_millisecond()));
        }
        let local: jiff::civil::DateTime = text.parse().map_err(|_| bad())?;
        let tz = jiff::tz::TimeZone::get(zone.trim()).map_err(|_| SinkError::UnknownTimeZone {
            zone: zone.to_owned(),
        })?;
        let instant = tz
            .to_ambiguous_timestamp(local)
            .compatible()
            .map_err(|_| bad())?;
        Ok(Start::Since(instant.as_millisecond()))
    }
}

/// Where an incremental export stopped: the export-order key of the last
/// row it gave, bound to its table. Opaque: keep its text ([`Display`],
/// `kz1.` and base64url, safe in a shell and a file) and parse it back
/// ([`FromStr`], [`SinkError::BadCursor`] when it is not one) to resume
/// with [`Start::After`].
///
/// [`Display`]: fmt::Display
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    table: Table,
    values: Vec<Key>,
}

/// One value of a cursor: an integer (positions, indexes, times as epoch
/// milliseconds) or text (ids).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Int(i64),
    Text(String),
}

/// What a cursor's text starts with.
const PREFIX: &str = "kz1.";

impl Cursor {
    /// The table it belongs to.
    pub fn table(&self) -> Table {
        self.table
    }

    /// Checks that `values` fit `table`'s cursor columns.
    fn new(table: Table, values: Vec<Key>) -> Result<Cursor, SinkError> {
        let bad = |reason: String| SinkError::BadCursor { reason };
        if !table.is_incremental() {
            return Err(bad(format!("{table} is not exported incrementally")));
        }
        let types = super::columns::declared(table.name());
        let columns: Vec<&str> = table.cursor_columns().collect();
        if columns.len() != values.len() {
            return Err(bad(format!(
                "it holds {} values, but a cursor of {table} has {} ({})",
                values.len(),
                columns.len(),
                columns.join(", ")
            )));
        }
        for (column, value) in columns.iter().zip(&values) {
            let text = types.of(column) == ColumnType::Text;
            if text != matches!(value, Key::Text(_)) {
                return Err(bad(format!(
                    "its value for {table}.{column} is not {}",
                    if text { "text" } else { "an integer" }
                )));
            }
        }
        Ok(Cursor { table, values })
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut array = vec![serde_json::Value::from(self.table.name())];
        array.extend(self.values.iter().map(|value| match value {
            Key::Int(n) => serde_json::Value::from(*n),
            Key::Text(text) => serde_json::Value::from(text.as_str()),
        }));
        let json = serde_json::Value::Array(array).to_string();
        write!(f, "{PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
    }
}

impl FromStr for Cursor {
    type Err = SinkError;

    fn from_str(text: &str) -> Result<Cursor, SinkError> {
        let bad = |reason: &str| SinkError::BadCursor {
            reason: reason.to_owned(),
        };
        let encoded = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or_else(|| bad("it does not start with `kz1.`"))?;
        let json = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| bad("it is not base64url after `kz1.`"))?;
        let array: Vec<serde_json::Value> =
            serde_json::from_slice(&json).map_err(|_| bad("it does not hold a JSON array"))?;
        let (name, values) = array
            .split_first()
            .ok_or_else(|| bad("it names no table"))?;
        let table: Table = name
            .as_str()
            .ok_or_else(|| bad("it names no table"))?
            .parse()
            .map_err(|_| bad("it names no table of this sink"))?;
        let values = values
            .iter()
            .map(|value| match value {
                serde_json::Value::String(text) => Ok(Key::Text(text.clone())),
                serde_json::Value::Number(n) => n
                    .as_i64()
                    .map(Key::Int)
                    .ok_or_else(|| bad("it holds a number that is not an integer")),
                _ => Err(bad("it holds a value that is neither text nor an integer")),
            })
            .collect::<Result<Vec<Key>, SinkError>>()?;
        Cursor::new(table, values)
    }
}

/// What an export did ([`Sink::export_from`]).
///
/// [`Sink::export_from`]: crate::Sink::export_from
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Exported {
    /// How many rows it wrote.
    pub rows: u64,
    /// Where to resume for the rows after these ([`Start::After`]): the
    /// last row's cursor; the cursor given when no row was newer; `None`
    /// for a table exported whole, or when nothing was exported from
    /// [`Start::All`] or [`Start::Since`].
    pub cursor: Option<Cursor>,
}

/// The `WHERE` clause (with a leading space, or empty) that starts an
/// export of `table` at `start`, and its parameters.
pub(crate) fn filter(
    db: &Db,
    table: Table,
    start: &Start,
) -> Result<(String, Vec<Arg>), SinkError> {
    if matches!(start, Start::All) {
        return Ok((String::new(), Vec::new()));
    }
    let Some(since) = table.since_column() else {
        return Err(SinkError::NotIncremental {
            table: table.name().to_owned(),
            incremental: Table::incremental_names(),
        });
    };
    let types = super::columns::declared(table.name());
    // A view's time is compared as the view writes one, so that equal
    // instants compare equal; a table's epoch milliseconds as they are.
    // (Typed as an integer: PostgreSQL would take `$1 / 1000.0`'s for a
    // numeric, which sqlx's `Any` driver cannot bind.)
    let literal = |column: &str, index: usize| {
        if types.of(column) == ColumnType::Timestamp {
            crate::schema::view_time(db.backend, &format!("CAST(${index} AS BIGINT)"))
        } else {
            format!("${index}")
        }
    };
    match start {
        Start::All => Ok((String::new(), Vec::new())),
        Start::Since(millis) => Ok((
            format!(" WHERE {since} >= {}", literal(since, 1)),
            vec![Arg::Int(Some(*millis))],
        )),
        Start::After(cursor) => {
            if cursor.table != table {
                return Err(SinkError::BadCursor {
                    reason: format!(
                        "it is a cursor of {}, not of {table}: export {} with it, or {table} without it",
                        cursor.table, cursor.table
                    ),
                });
            }
            let columns: Vec<&str> = table.cursor_columns().collect();
            let literals: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, column)| literal(column, i + 1))
                .collect();
            let args = cursor
                .values
                .iter()
                .map(|value| match value {
                    Key::Int(n) => Arg::Int(Some(*n)),
                    Key::Text(text) => Arg::Text(Some(text.clone())),
                })
                .collect();
            Ok((
                format!(
                    " WHERE ({}) > ({})",
                    columns.join(", "),
                    literals.join(", ")
                ),
                args,
            ))
        }
    }
}

/// The next cursor of an export of `table` from `start` that gave `last`
/// as its last row (`None` when it gave none), its columns `columns`.
pub(crate) fn next_cursor(
    db: &Db,
    table: Table,
    start: &Start,
    columns: &[ExportColumn],
    last: Option<&AnyRow>,
) -> Result<Option<Cursor>, SinkError> {
    if !table.is_incremental() {
        return Ok(None);
    }
    let Some(row) = last else {
        return Ok(match start {
            Start::After(cursor) => Some(cursor.clone()),
            _ => None,
        });
    };
    let mut values = Vec::new();
    for name in table.cursor_columns() {
        let missing = || SinkError::BadValue {
            column: name.to_owned(),
            reason: format!("the export of {table} has no such column"),
        };
        let index = columns
            .iter()
            .position(|c| c.name() == name)
            .ok_or_else(missing)?;
        // Typed: a view's time, given as text, read back to epoch ms.
        let value = match super::read(db, row, index, &columns[index], Typing::Declared)? {
            Value::Integer(n) | Value::Timestamp(n) => Key::Int(n),
            Value::Text(text) => Key::Text(text.into_owned()),
            other => {
                return Err(SinkError::BadValue {
                    column: name.to_owned(),
                    reason: format!("{other:?} cannot resume an export"),
                });
            }
        };
        values.push(value);
    }
    Cursor::new(table, values).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_through_text() {
        let cursor = Cursor::new(
            Table::KzMessages,
            vec![Key::Int(1_700_000_000_123), Key::Text("ev/1 é".to_owned())],
        )
        .unwrap();
        let text = cursor.to_string();
        assert!(text.starts_with("kz1."), "{text}");
        assert!(
            text[4..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{text}"
        );
        assert_eq!(text.parse::<Cursor>().unwrap(), cursor);
    }

    #[test]
    fn since_reads_utc_offsets_and_local_times() {
        let at = |text: &str, zone: &str| match Start::since_text(text, zone).unwrap() {
            Start::Since(ms) => ms,
            other => panic!("{other:?}"),
        };
        let utc = 1_773_172_800_000; // 2026-03-10T20:00:00Z
        assert_eq!(at("2026-03-10T20:00:00Z", "Asia/Kolkata"), utc);
        assert_eq!(at("2026-03-11T01:30:00+05:30", "UTC"), utc);
        assert_eq!(at("2026-03-11 01:30", "Asia/Kolkata"), utc);
        assert_eq!(at("2026-03-11T01:30:00", "asia/kolkata"), utc);
        assert_eq!(at("2026-03-10", "UTC"), utc - 20 * 3_600_000);
        for bad in ["", "yesterday", "2026-13-01", "10/03/2026"] {
            let err = Start::since_text(bad, "UTC").unwrap_err();
            assert!(matches!(err, SinkError::BadTime { .. }), "{bad}: {err}");
        }
    }
}
