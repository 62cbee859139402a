//! The streams: each one a `kz_*` view of the sink (the dashboard
//! contract), cut per group — so a record has the columns, names and
//! answer projection a dashboard over the database sees.

use kaizala_sink::{ColumnType, ExportColumn, RowWriter, Table, Value};
use serde_json::{Map, Value as Json, json};

/// Which rows of the view belong to a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    All,
    /// Members without subscribers.
    Members,
    /// Only subscribers (they share `kz_members`).
    Subscribers,
}

/// The role the sink writes for subscribers of a managed public group.
const SUBSCRIBER: &str = "Subscriber";

/// A stream: where its rows come from, its key and, for the incremental
/// ones, its cursor.
#[derive(Debug)]
pub struct Stream {
    pub name: &'static str,
    table: Table,
    /// The column that says which group a row belongs to.
    group_column: &'static str,
    keep: Keep,
    /// The primary key's columns.
    pub primary_key: &'static [&'static str],
    /// The time column of an incremental stream: what `start_date` cuts
    /// on, and the cursor Airbyte orders a row's versions by (the state
    /// itself holds fingerprints, `state.rs`).
    pub cursor: Option<&'static str>,
}

/// Every stream, in the order they are read.
pub const STREAMS: [Stream; 8] = [
    Stream {
        name: "groups",
        table: Table::KzGroups,
        group_column: "group_id",
        keep: Keep::All,
        primary_key: &["group_id"],
        cursor: None,
    },
    Stream {
        name: "sub_groups",
        table: Table::KzGroups,
        group_column: "parent_group_id",
        keep: Keep::All,
        primary_key: &["parent_group_id", "group_id"],
        cursor: None,
    },
    Stream {
        name: "members",
        table: Table::KzMembers,
        group_column: "group_id",
        keep: Keep::Members,
        primary_key: &["group_id", "member_id"],
        cursor: None,
    },
    Stream {
        name: "subscribers",
        table: Table::KzMembers,
        group_column: "group_id",
        keep: Keep::Subscribers,
        primary_key: &["group_id", "member_id"],
        cursor: None,
    },
    Stream {
        name: "actions",
        table: Table::KzActions,
        group_column: "group_id",
        keep: Keep::All,
        primary_key: &["action_id"],
        cursor: Some("created_at"),
    },
    Stream {
        name: "responses",
        table: Table::KzResponses,
        group_column: "group_id",
        keep: Keep::All,
        primary_key: &["response_id"],
        cursor: Some("responded_at"),
    },
    Stream {
        name: "answers",
        table: Table::KzAnswers,
        group_column: "group_id",
        keep: Keep::All,
        primary_key: &["response_id", "question_index"],
        cursor: Some("responded_at"),
    },
    Stream {
        name: "reactions",
        table: Table::KzReactions,
        group_column: "group_id",
        keep: Keep::All,
        primary_key: &["reference_id"],
        cursor: Some("synced_at"),
    },
];

/// The stream named `name`.
pub fn by_name(name: &str) -> Option<&'static Stream> {
    STREAMS.iter().find(|s| s.name == name)
}

impl Stream {
    /// The view rows come from.
    pub fn table(&self) -> Table {
        self.table
    }

    /// Whether it is read incrementally (has a cursor).
    pub fn incremental(&self) -> bool {
        self.cursor.is_some()
    }

    /// The record schema for the view's columns (JSON Schema, every
    /// column nullable but the key).
    pub fn json_schema(&self, columns: &[ExportColumn]) -> Json {
        let properties: Map<String, Json> = columns
            .iter()
            .map(|c| {
                let nullable = !self.primary_key.contains(&c.name());
                (c.name().to_owned(), column_schema(c.ty(), nullable))
            })
            .collect();
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": true,
            "properties": properties,
        })
    }

    /// The column whose value names a row's unit in the state: one
    /// action, response or reaction (a response's answers are one unit).
    pub fn unit(&self) -> &'static str {
        self.primary_key[0]
    }

    /// A collector of this stream's rows of `group`, from `since`
    /// (exclusive) on its time column.
    pub fn rows_of<'a>(&'a self, group: &'a str, since: Option<i64>) -> Batch<'a> {
        Batch {
            stream: self,
            group,
            since,
            columns: Vec::new(),
            records: Vec::new(),
        }
    }
}

/// Rows gathered from an export of a stream's view ([`RowWriter`]).
pub struct Batch<'a> {
    stream: &'a Stream,
    group: &'a str,
    since: Option<i64>,
    /// The view's columns.
    pub columns: Vec<ExportColumn>,
    /// The records, as JSON objects.
    pub records: Vec<Map<String, Json>>,
}

impl RowWriter for Batch<'_> {
    fn columns(&mut self, columns: &[ExportColumn]) -> std::io::Result<()> {
        self.columns = columns.to_vec();
        Ok(())
    }

    fn row(&mut self, values: &[Value<'_>]) -> std::io::Result<()> {
        let get = |name: &str| {
            self.columns
                .iter()
                .position(|c| c.name() == name)
                .map(|i| &values[i])
        };
        let text = |name: &str| match get(name) {
            Some(Value::Text(t)) => Some(t.to_string()),
            _ => None,
        };
        if text(self.stream.group_column).as_deref() != Some(self.group) {
            return Ok(());
        }
        let subscriber = text("role").as_deref() == Some(SUBSCRIBER);
        match self.stream.keep {
            Keep::Members if subscriber => return Ok(()),
            Keep::Subscribers if !subscriber => return Ok(()),
            _ => {}
        }
        if let Some(cursor) = self.stream.cursor {
            let at = match get(cursor) {
                Some(Value::Timestamp(ms)) | Some(Value::Integer(ms)) => Some(*ms),
                _ => None,
            };
            if at.zip(self.since).is_some_and(|(at, since)| at <= since) {
                return Ok(());
            }
        }
        let record = self
            .columns
            .iter()
            .zip(values)
            .map(|(c, v)| (c.name().to_owned(), to_json(c.ty(), v)))
            .collect();
        self.records.push(record);
        Ok(())
    }
}

fn column_schema(ty: ColumnType, nullable: bool) -> Json {
    let (kind, extra) = match ty {
        ColumnType::Integer => ("integer", None),
        ColumnType::Double => ("number", None),
        ColumnType::Boolean => ("boolean", None),
        ColumnType::Timestamp => (
            "string",
            Some(json!({"format": "date-time", "airbyte_type": "timestamp_with_timezone"})),
        ),
        ColumnType::Date => ("string", Some(json!({"format": "date"}))),
        // JSON columns keep their text: a warehouse gets the document as
        // the database holds it, whatever shape an answer took.
        _ => ("string", None),
    };
    let mut schema = if nullable {
        json!({"type": [kind, "null"]})
    } else {
        json!({"type": kind})
    };
    if let (Some(Json::Object(extra)), Json::Object(map)) = (extra, &mut schema) {
        map.extend(extra);
    }
    schema
}

fn to_json(ty: ColumnType, value: &Value<'_>) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Integer(n) if ty == ColumnType::Boolean => Json::Bool(*n != 0),
        Value::Integer(n) => json!(n),
        Value::Double(x) => json!(x),
        Value::Boolean(b) => json!(b),
        Value::Timestamp(ms) => time_text(*ms).map_or_else(|| json!(ms), Json::String),
        Value::Date(days) => jiff::civil::date(1970, 1, 1)
            .checked_add(jiff::Span::new().days(i64::from(*days)))
            .map_or_else(|_| json!(days), |d| Json::String(d.to_string())),
        Value::Text(t) => Json::String(t.to_string()),
        Value::Bytes(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        _ => Json::Null,
    }
}

/// RFC 3339 in UTC, with milliseconds.
pub fn time_text(ms: i64) -> Option<String> {
    let t = jiff::Timestamp::from_millisecond(ms).ok()?;
    Some(format!("{t:.3}"))
}
