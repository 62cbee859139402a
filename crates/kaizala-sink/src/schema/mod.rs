//! The schema, declared once: every table's columns, their SQL type in each
//! dialect, the key, and how an upsert merges each column ([`TableDef`]);
//! every view's SQL per dialect ([`ViewDef`]). The DDL of both dialects and
//! the insert/upsert statements are made from these declarations, so
//! SQLite and PostgreSQL cannot drift apart.
//!
//! Three kinds of table ([`Kind`]):
//!
//! - **logs** (`events`, `pull_log`, `quarantine`): the source of truth,
//!   appended to and never rewritten; created and upgraded by the embedded
//!   migrations (whose result a test compares with these declarations);
//! - **bookkeeping** (`log_state`, `sync_state`, `sink_state`,
//!   `projection_tables`, `handler_queue`): cursors and state, also migrated;
//! - **projections** (everything a dashboard reads): derived from the logs
//!   by the projector, never migrated but rebuilt — a projected table whose
//!   declaration changed (its [`TableDef::version`]) is rebuilt from the logs
//!   beside the old one and swapped in ([`crate::project`]).

/// Epoch milliseconds (an SQL expression, given as a literal) moved by the
/// stored time zone's offset at that instant: the local wall-clock time,
/// counted as if it were UTC ([`tables::TIME_ZONE_OFFSETS`]). A macro so
/// that views written as text can splice it in with `concat!`.
macro_rules! local_ms {
    ($millis:literal) => {
        concat!(
            "(",
            $millis,
            " + COALESCE((SELECT z.offset_ms FROM time_zone_offsets AS z WHERE z.starts_at <= ",
            $millis,
            " ORDER BY z.starts_at DESC LIMIT 1), 0))"
        )
    };
}

pub(crate) mod ensure;
pub(crate) mod tables;
pub(crate) mod views;

use std::fmt::Write as _;

use crate::db::Backend;
use crate::export::ColumnType;

/// A column's type; each maps to one SQL type per dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SqlType {
    /// `TEXT`.
    Text,
    /// `BIGINT`: epoch milliseconds, counts, positions.
    BigInt,
    /// `INTEGER`: flags (0/1) and small numbers.
    Int,
    /// `DOUBLE PRECISION`.
    Double,
    /// `BLOB` / `BYTEA`.
    Blob,
    /// A log position given by the writer: SQLite `INTEGER` (the rowid, when
    /// it is the key), PostgreSQL `BIGINT`.
    Position,
    /// An id the database assigns: SQLite `INTEGER PRIMARY KEY
    /// AUTOINCREMENT`, PostgreSQL `BIGINT GENERATED ALWAYS AS IDENTITY`.
    Serial,
}

impl SqlType {
    fn sql(self, backend: Backend) -> &'static str {
        match (self, backend) {
            (SqlType::Text, _) => "TEXT",
            (SqlType::BigInt, _) => "BIGINT",
            (SqlType::Int, _) => "INTEGER",
            (SqlType::Double, _) => "DOUBLE PRECISION",
            (SqlType::Blob, Backend::Sqlite) => "BLOB",
            (SqlType::Blob, Backend::Postgres) => "BYTEA",
            (SqlType::Position, Backend::Sqlite) => "INTEGER",
            (SqlType::Position, Backend::Postgres) => "BIGINT",
            (SqlType::Serial, Backend::Sqlite) => "INTEGER PRIMARY KEY AUTOINCREMENT",
            (SqlType::Serial, Backend::Postgres) => {
                "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
            }
        }
    }
}

/// What an upsert does with a column when the key is already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Merge {
    /// Part of the key.
    Key,
    /// Written when the row is inserted, never changed.
    Fixed,
    /// The newer value, `NULL` included.
    Replace,
    /// The newer value when the writer says it knows one (a statement
    /// variant leaves the column out otherwise).
    ReplaceWhenGiven,
    /// The newer value unless it is `NULL`: a source that does not know a
    /// value never erases it.
    Coalesce,
    /// The stored value unless it is `NULL`.
    KeepFirst,
    /// The smaller of the two.
    Earliest,
    /// When the stored row was last replaced: `NULL` when inserted, the
    /// replacing row's `first_seen_at` on an update.
    ReplacedAt,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub name: &'static str,
    pub ty: SqlType,
    pub not_null: bool,
    pub merge: Merge,
}

/// A column, nullable.
pub(crate) const fn col(name: &'static str, ty: SqlType, merge: Merge) -> Column {
    Column {
        name,
        ty,
        not_null: false,
        merge,
    }
}

/// A column, `NOT NULL`.
pub(crate) const fn req(name: &'static str, ty: SqlType, merge: Merge) -> Column {
    Column {
        name,
        ty,
        not_null: true,
        merge,
    }
}

/// A secondary index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Index {
    /// Its name; the table's name is its prefix.
    pub name: &'static str,
    /// The indexed columns, as SQL (`group_id, sent_at`).
    pub columns: &'static str,
    /// A partial index's condition.
    pub filter: Option<&'static str>,
}

/// What a table is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Appended to, the source of truth; migrated.
    Log,
    /// Cursors and state; migrated.
    Bookkeeping,
    /// Derived from the logs; rebuilt, not migrated.
    Projected,
}

/// One table, declared once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableDef {
    pub name: &'static str,
    pub kind: Kind,
    /// Projected tables: bump it whenever the columns, keys or the rules
    /// that fill the table change, so databases built by an older release
    /// rebuild it from the logs (a test pins each version to the
    /// declaration's fingerprint).
    pub version: u32,
    pub columns: &'static [Column],
    pub key: &'static [&'static str],
    /// Columns unique on their own (besides the key).
    pub unique: &'static [&'static str],
    pub indexes: &'static [Index],
}

impl TableDef {
    /// The column names in order, comma-separated.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether it has a column of that name.
    #[cfg(test)]
    pub fn has_column(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c.name == name)
    }

    /// `CREATE TABLE target (…)` in `backend`'s dialect (secondary indexes
    /// apart: [`TableDef::index_sql`]).
    pub fn create_sql(&self, backend: Backend, target: &str) -> String {
        let mut sql = format!("CREATE TABLE {target} (");
        let serial_key = self.columns.iter().any(|c| c.ty == SqlType::Serial);
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let _ = write!(sql, "{} {}", c.name, c.ty.sql(backend));
            if c.not_null && c.ty != SqlType::Serial {
                sql.push_str(" NOT NULL");
            }
            if self.unique.contains(&c.name) {
                sql.push_str(" UNIQUE");
            }
        }
        if !serial_key {
            let _ = write!(
                sql,
                ", CONSTRAINT {target}_pkey PRIMARY KEY ({})",
                self.key.join(", ")
            );
        }
        sql.push(')');
        sql
    }

    /// `CREATE INDEX name ON target (…)`.
    pub fn index_sql(&self, index: &Index, target: &str, name: &str) -> String {
        let mut sql = format!("CREATE INDEX {name} ON {target} ({})", index.columns);
        if let Some(filter) = index.filter {
            let _ = write!(sql, " WHERE {filter}");
        }
        sql
    }

    /// `INSERT INTO target (every column)`: the head of a one-row insert
    /// that binds every column in declaration order. Multi-row inserts are
    /// made by `crate::write` from the declaration, with the dialect's
    /// verb ([`Backend::insert_rows`]).
    pub fn insert_head(&self, target: &str) -> String {
        self.insert_head_with("INSERT INTO", target)
    }

    /// [`TableDef::insert_head`] with another verb (`INSERT OR FAIL INTO`).
    pub fn insert_head_with(&self, verb: &str, target: &str) -> String {
        format!("{verb} {target} ({})", self.column_list())
    }

    /// The conflict clause of an upsert into `target`: each column merged
    /// by its rule; `skip` names [`Merge::ReplaceWhenGiven`] columns the
    /// rows do not give. `DO NOTHING` when nothing may change.
    pub fn upsert_tail(&self, target: &str, skip: &[&str]) -> String {
        let sets: Vec<String> = self
            .columns
            .iter()
            .filter_map(|c| {
                let n = c.name;
                Some(match c.merge {
                    Merge::Key | Merge::Fixed => return None,
                    Merge::ReplaceWhenGiven if skip.contains(&n) => return None,
                    Merge::Replace | Merge::ReplaceWhenGiven => format!("{n} = excluded.{n}"),
                    Merge::Coalesce => format!("{n} = COALESCE(excluded.{n}, {target}.{n})"),
                    Merge::KeepFirst => format!("{n} = COALESCE({target}.{n}, excluded.{n})"),
                    Merge::Earliest => format!(
                        "{n} = CASE WHEN {target}.{n} IS NULL OR excluded.{n} < {target}.{n} \
                         THEN excluded.{n} ELSE {target}.{n} END"
                    ),
                    Merge::ReplacedAt => format!("{n} = excluded.first_seen_at"),
                })
            })
            .collect();
        let key = self.key.join(", ");
        if sets.is_empty() {
            format!(" ON CONFLICT ({key}) DO NOTHING")
        } else {
            format!(" ON CONFLICT ({key}) DO UPDATE SET {}", sets.join(", "))
        }
    }

    /// A fingerprint of everything that shapes the table (both dialects'
    /// DDL, indexes, merge rules) and its version: FNV-1a, 64 bits, hex —
    /// stable across releases and platforms.
    pub fn fingerprint(&self) -> String {
        let mut text = format!("v{};", self.version);
        for backend in [Backend::Sqlite, Backend::Postgres] {
            text.push_str(&self.create_sql(backend, self.name));
            for index in self.indexes {
                text.push_str(&self.index_sql(index, self.name, index.name));
            }
        }
        text.push_str(&self.upsert_tail(self.name, &[]));
        crate::fnv::fnv1a(&text)
    }
}

/// One view, declared once: its SQL per dialect, or its columns typed
/// once ([`Stable`]) and written out for each dialect.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ViewDef {
    pub name: &'static str,
    /// The projected tables it reads (it exists only while they are current).
    pub reads: &'static [&'static str],
    pub body: ViewBody,
}

/// What a view selects.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ViewBody {
    /// The same query written for each dialect.
    Sql {
        sqlite: &'static str,
        postgres: &'static str,
    },
    /// Typed columns over one `FROM` clause.
    Stable(&'static Stable),
}

/// A view of the dashboard contract (`kz_*`): each column's expression and
/// kind, and one `FROM … [GROUP BY …]` for both dialects (or one each).
#[derive(Debug)]
pub(crate) struct Stable {
    pub columns: &'static [(&'static str, Out)],
    /// `FROM …` and anything after it.
    pub from: &'static str,
    /// PostgreSQL's own `FROM …`, when it differs.
    pub from_postgres: Option<&'static str>,
}

/// How a stable view's column is typed in each dialect.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Out {
    /// As stored: text, integer or double.
    Plain(&'static str),
    /// Epoch milliseconds: PostgreSQL `timestamptz`; SQLite ISO 8601 UTC
    /// text, `YYYY-MM-DD HH:MM:SS.SSS`.
    Time(&'static str),
    /// Epoch milliseconds to a day in the stored time zone: PostgreSQL
    /// `date`; SQLite `YYYY-MM-DD` text.
    Day(&'static str),
    /// A 0/1 flag: PostgreSQL `boolean`; SQLite 0 and 1.
    Flag(&'static str),
    /// JSON text: PostgreSQL `jsonb`; SQLite text.
    Json(&'static str),
}

/// Epoch milliseconds (`millis`, an SQL expression) as a view's time
/// column holds them ([`Out::Time`]): SQLite `YYYY-MM-DD HH:MM:SS.SSS` UTC
/// text, PostgreSQL `timestamptz`. Applied to a bound parameter, it gives a
/// value that compares equal to the view's for the same instant.
pub(crate) fn view_time(backend: Backend, millis: &str) -> String {
    match backend {
        Backend::Sqlite => {
            format!("strftime('%Y-%m-%d %H:%M:%f', ({millis}) / 1000.0, 'unixepoch')")
        }
        Backend::Postgres => format!("to_timestamp(({millis}) / 1000.0)"),
    }
}

/// Epoch milliseconds (`millis`, an SQL expression) as the text exports
/// give on both backends: `YYYY-MM-DD HH:MM:SS.SSS` in UTC, as SQLite's
/// views hold it (sqlx's `Any` driver reads no PostgreSQL `timestamptz`).
pub(crate) fn time_text(backend: Backend, millis: &str) -> String {
    let time = view_time(backend, millis);
    match backend {
        Backend::Sqlite => time,
        Backend::Postgres => timestamp_text(&time),
    }
}

/// A PostgreSQL `timestamptz` as [`time_text`]'s text.
fn timestamp_text(timestamp: &str) -> String {
    format!("to_char({timestamp} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS')")
}

/// [`local_ms!`] of an expression known at run time.
pub(crate) fn local_ms(millis: &str) -> String {
    const TEMPLATE: &str = local_ms!("{millis}");
    TEMPLATE.replace("{millis}", millis)
}

impl Out {
    fn sql(self, backend: Backend) -> String {
        match (self, backend) {
            (Out::Plain(e), _) => e.to_owned(),
            (Out::Time(e), _) => view_time(backend, e),
            (Out::Day(e), Backend::Sqlite) => {
                format!("date({} / 1000, 'unixepoch')", local_ms(e))
            }
            (Out::Day(e), Backend::Postgres) => format!(
                "CAST(to_timestamp({} / 1000.0) AT TIME ZONE 'UTC' AS date)",
                local_ms(e)
            ),
            (Out::Flag(e), Backend::Sqlite) => e.to_owned(),
            (Out::Flag(e), Backend::Postgres) => format!("(({e}) <> 0)"),
            (Out::Json(e), Backend::Sqlite) => e.to_owned(),
            (Out::Json(e), Backend::Postgres) => format!("CAST({e} AS jsonb)"),
        }
    }
}

impl ViewDef {
    /// `CREATE VIEW name AS …` in `backend`'s dialect.
    pub fn create_sql(&self, backend: Backend) -> String {
        let body = match (self.body, backend) {
            (ViewBody::Sql { sqlite, .. }, Backend::Sqlite) => sqlite.trim().to_owned(),
            (ViewBody::Sql { postgres, .. }, Backend::Postgres) => postgres.trim().to_owned(),
            (ViewBody::Stable(view), _) => {
                let columns: Vec<String> = view
                    .columns
                    .iter()
                    .map(|(name, out)| format!("{} AS {name}", out.sql(backend)))
                    .collect();
                let from = match backend {
                    Backend::Postgres => view.from_postgres.unwrap_or(view.from),
                    Backend::Sqlite => view.from,
                };
                format!("SELECT {} {}", columns.join(", "), from.trim())
            }
        };
        format!("CREATE VIEW {} AS {body}", self.name)
    }

    /// What to select from it for an export: on PostgreSQL, its times,
    /// days and JSON as text (times as `YYYY-MM-DD HH:MM:SS.SSS` in UTC,
    /// as SQLite's view gives them), which sqlx's `Any` driver can read;
    /// `*` otherwise.
    pub fn export_columns(&self, backend: Backend) -> String {
        match (self.body, backend) {
            (ViewBody::Stable(view), Backend::Postgres) => view
                .columns
                .iter()
                .map(|(name, out)| export_column(backend, name, *out))
                .collect::<Vec<_>>()
                .join(", "),
            _ => "*".to_owned(),
        }
    }
}

/// What to select for a stable view's column `name` of kind `out`, as
/// [`ViewDef::export_columns`] selects it: on PostgreSQL, times, days and
/// JSON as text, which sqlx's `Any` driver can read; the column otherwise.
pub(crate) fn export_column(backend: Backend, name: &str, out: Out) -> String {
    let ty = match out {
        Out::Time(_) => ColumnType::Timestamp,
        Out::Day(_) => ColumnType::Date,
        Out::Json(_) => ColumnType::Json,
        Out::Plain(_) | Out::Flag(_) => ColumnType::Text,
    };
    readable_column(backend, name, ty)
}

/// What to select for a view's column `column` (its SQL name, perhaps
/// quoted) of type `ty` so that sqlx's `Any` driver can read it: on
/// PostgreSQL, times, days and JSON as text (named `column` still); the
/// column otherwise.
pub(crate) fn readable_column(backend: Backend, column: &str, ty: ColumnType) -> String {
    match (ty, backend) {
        (_, Backend::Sqlite) => column.to_owned(),
        (ColumnType::Timestamp, Backend::Postgres) => {
            format!("{} AS {column}", timestamp_text(column))
        }
        (ColumnType::Date | ColumnType::Json, Backend::Postgres) => {
            format!("CAST({column} AS TEXT) AS {column}")
        }
        (_, Backend::Postgres) => column.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::tables::{ALL, GROUPS, MESSAGES};
    use super::*;

    #[test]
    fn ddl_per_dialect() {
        let sqlite = MESSAGES.create_sql(Backend::Sqlite, "messages");
        assert!(sqlite.starts_with("CREATE TABLE messages (event_id TEXT NOT NULL"));
        assert!(sqlite.ends_with("CONSTRAINT messages_pkey PRIMARY KEY (event_id))"));
        let events = super::tables::EVENTS.create_sql(Backend::Postgres, "events");
        assert!(events.contains("position BIGINT NOT NULL"), "{events}");
        assert!(events.contains("event_id TEXT NOT NULL UNIQUE"), "{events}");
        let quarantine = super::tables::QUARANTINE.create_sql(Backend::Sqlite, "quarantine");
        assert!(quarantine.contains("id INTEGER PRIMARY KEY AUTOINCREMENT"));
        assert!(!quarantine.contains("pkey"), "{quarantine}");
    }

    #[test]
    fn upserts_follow_the_merge_rules() {
        let tail = GROUPS.upsert_tail("groups__new", &["removed_at"]);
        assert!(tail.starts_with(" ON CONFLICT (group_id) DO UPDATE SET "));
        assert!(
            tail.contains("group_name = COALESCE(excluded.group_name, groups__new.group_name)")
        );
        assert!(!tail.contains("removed_at"), "{tail}");
        assert!(!tail.contains("first_seen_at"), "{tail}");
        assert!(
            GROUPS
                .upsert_tail("groups", &[])
                .contains("removed_at = excluded.removed_at")
        );
        assert_eq!(
            MESSAGES.upsert_tail("messages", &[]),
            " ON CONFLICT (event_id) DO NOTHING"
        );
    }

    #[test]
    fn every_key_and_index_names_declared_columns() {
        for table in ALL {
            for key in table.key {
                assert!(table.has_column(key), "{}: key {key}", table.name);
            }
            for unique in table.unique {
                assert!(table.has_column(unique), "{}: {unique}", table.name);
            }
            for index in table.indexes {
                assert!(index.name.starts_with(table.name), "{}", index.name);
                for column in index.columns.split(',') {
                    assert!(table.has_column(column.trim()), "{}", index.name);
                }
            }
            for c in table.columns {
                assert_eq!(
                    c.merge == Merge::Key,
                    table.key.contains(&c.name),
                    "{}.{}",
                    table.name,
                    c.name
                );
            }
        }
    }
}
