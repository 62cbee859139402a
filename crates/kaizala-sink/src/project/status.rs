//! What `kaizala status` shows: the logs, the projection, its errors and the
//! schema.

use std::fmt;

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::db::{Backend, Db, SCHEMA_VERSION, now_millis};
use crate::error::SinkError;
use crate::schema::ensure::TableStates;
use crate::schema::tables;
use crate::write::query;

use super::wording::{counted, projection_errors, thousands};

/// How many projection errors [`Status`] lists (the newest).
const RECENT_ERRORS: i64 = 10;

/// One log's size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LogSize {
    /// Entries.
    pub entries: u64,
    /// Bytes of bodies.
    pub bytes: u64,
}

/// A projected table's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TableStatus {
    /// The table's name, as in `docs/schema.md`.
    pub name: &'static str,
    /// This release's version of its declaration.
    pub version: u32,
    /// `current` (built from the logs by this release), `outdated` (to
    /// rebuild) or `newer` (built by a newer release; left alone).
    pub state: &'static str,
    /// Rows.
    pub rows: u64,
}

/// A log entry the projector could not map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProjectionError {
    /// Its log position.
    pub position: i64,
    /// `events` or `pull_log`.
    pub log: String,
    /// The event's id, or the pulled document's operation and request.
    pub entry_id: String,
    /// The event type, or the operation.
    pub entry_type: String,
    /// The JSON path at fault, when known.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Who holds a role (the projector, a rebuild), and when it was last heard
/// from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Holder {
    /// `host:pid` (and, for a rebuild, its tables).
    pub who: String,
    /// Milliseconds since it last wrote.
    pub seen_ms_ago: i64,
    /// The log position it last reached.
    pub position: Option<i64>,
    /// Not heard from for so long that its process must have stopped (a
    /// rebuild's lease then passes to the next).
    pub stale: bool,
}

/// The state of a sink's database: [`Sink::status`](crate::Sink::status).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Status {
    /// The database (password masked).
    pub database: String,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The newest migration applied to the logs' schema.
    pub schema_version: i64,
    /// The newest migration this release knows.
    pub release_schema_version: i64,
    /// The event log.
    pub events: LogSize,
    /// The pull log.
    pub pull_log: LogSize,
    /// Bodies in quarantine.
    pub quarantined: u64,
    /// The position of the last log entry, or the watermark when that is
    /// further: positions given to duplicates are never used, and the
    /// projector passes them too.
    pub last_position: i64,
    /// The last log position projected.
    pub watermark: i64,
    /// Log entries not projected yet.
    pub lag_entries: u64,
    /// How long the oldest entry not projected yet has waited, in seconds
    /// (0 when none waits).
    pub lag_seconds: f64,
    /// Who projects.
    pub projector: Option<Holder>,
    /// A rebuild in progress (or one that stopped: [`Holder::stale`]).
    pub rebuild: Option<Holder>,
    /// Tables a stopped rebuild left half-built (`{table}__new`); the
    /// projector drops them once its lease has expired, and the next
    /// rebuild does too.
    pub leftover_tables: Vec<String>,
    /// Every projected table.
    pub tables: Vec<TableStatus>,
    /// Entries the projector could not map.
    pub projection_errors: u64,
    /// The newest of them.
    pub recent_errors: Vec<ProjectionError>,
}

impl Status {
    /// Whether the projection has caught up with the log and every table
    /// is current.
    pub fn is_caught_up(&self) -> bool {
        self.lag_entries == 0 && self.tables.iter().all(|t| t.state == "current")
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

async fn one_i64(
    conn: &mut AnyConnection,
    sql: &str,
    args: Vec<crate::write::Arg>,
) -> Result<i64, sqlx::Error> {
    query(sql, args)
        .fetch_one(&mut *conn)
        .await?
        .try_get::<Option<i64>, _>(0)
        .map(|v| v.unwrap_or(0))
}

async fn log_size(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
    body: &str,
) -> Result<LogSize, sqlx::Error> {
    let entries = one_i64(conn, &format!("SELECT COUNT(*) FROM {table}"), vec![]).await?;
    let bytes = match backend {
        Backend::Postgres => {
            one_i64(
                conn,
                &format!("SELECT CAST(pg_total_relation_size('{table}') AS BIGINT)"),
                vec![],
            )
            .await?
        }
        Backend::Sqlite => {
            one_i64(
                conn,
                &format!("SELECT CAST(COALESCE(SUM(LENGTH({body})), 0) AS BIGINT) FROM {table}"),
                vec![],
            )
            .await?
        }
    };
    Ok(LogSize {
        entries: count(entries),
        bytes: count(bytes),
    })
}

async fn holder(
    conn: &mut AnyConnection,
    name: &str,
    now: i64,
    stale_after: Option<std::time::Duration>,
) -> Result<Option<Holder>, sqlx::Error> {
    let row = query(
        "SELECT detail, updated_at, value FROM sink_state WHERE name = $1",
        vec![name.into()],
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let who: Option<String> = row.try_get(0)?;
    let at: Option<i64> = row.try_get(1)?;
    let position: Option<i64> = row.try_get(2)?;
    let seen_ms_ago = at.map_or(0, |at| (now - at).max(0));
    Ok(who.map(|who| Holder {
        who,
        seen_ms_ago,
        position,
        stale: stale_after.is_some_and(|d| seen_ms_ago > d.as_millis() as i64),
    }))
}

/// How far the projection is behind the logs:
/// [`Sink::lag`](crate::Sink::lag).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Lag {
    /// Log entries not projected yet.
    pub entries: u64,
    /// How long the oldest entry not projected yet has waited, in seconds
    /// (0 when none waits).
    pub seconds: f64,
}

impl Lag {
    /// `entries` waiting, the oldest for `seconds`.
    pub fn new(entries: u64, seconds: f64) -> Lag {
        Lag { entries, seconds }
    }
}

/// The lag alone: cheap enough to ask every few seconds (`/readyz`), unlike
/// the whole status, which counts every table.
pub(crate) async fn lag(db: &Db) -> Result<Lag, SinkError> {
    let doing = "reading the projection lag";
    let mut conn = db.pool.acquire().await.map_err(|e| db.error(doing, e))?;
    let (watermark, _) = super::positions(&mut *conn, db.backend, false)
        .await
        .map_err(|e| db.error(doing, e))?;
    lag_after(&mut conn, watermark, now_millis())
        .await
        .map_err(|e| db.error(doing, e))
}

/// The entries after `watermark`, and how long the oldest has waited.
async fn lag_after(conn: &mut AnyConnection, watermark: i64, now: i64) -> Result<Lag, sqlx::Error> {
    let entries = count(
        one_i64(
            conn,
            "SELECT (SELECT COUNT(*) FROM events WHERE position > $1) + \
             (SELECT COUNT(*) FROM pull_log WHERE position > $1)",
            vec![watermark.into()],
        )
        .await?,
    );
    let oldest = one_i64(
        conn,
        "SELECT MIN(at) FROM (\
         SELECT (SELECT received_at FROM events WHERE position > $1 ORDER BY position LIMIT 1) AS at \
         UNION ALL \
         SELECT (SELECT fetched_at FROM pull_log WHERE position > $1 ORDER BY position LIMIT 1)) AS w",
        vec![watermark.into()],
    )
    .await?;
    let seconds = if entries == 0 || oldest == 0 {
        0.0
    } else {
        (now - oldest).max(0) as f64 / 1000.0
    };
    Ok(Lag { entries, seconds })
}

pub(crate) async fn status(db: &Db) -> Result<Status, SinkError> {
    let doing = "reading the status";
    let mut conn = db.pool.acquire().await.map_err(|e| db.error(doing, e))?;
    let conn = &mut *conn;
    let e = |err| db.error(doing, err);
    let now = now_millis();
    let schema_version = one_i64(
        conn,
        "SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE",
        vec![],
    )
    .await
    .map_err(e)?;
    let events = log_size(conn, db.backend, "events", "payload")
        .await
        .map_err(e)?;
    let pull_log = log_size(conn, db.backend, "pull_log", "body")
        .await
        .map_err(e)?;
    let quarantined = count(
        one_i64(conn, "SELECT COUNT(*) FROM quarantine", vec![])
            .await
            .map_err(e)?,
    );
    let last_position = crate::log::last_entry(conn).await.map_err(e)?;
    let (watermark, _) = super::positions(conn, db.backend, false).await.map_err(e)?;
    let last_position = last_position.max(watermark);
    let Lag {
        entries: lag_entries,
        seconds: lag_seconds,
    } = lag_after(conn, watermark, now).await.map_err(e)?;
    let states = TableStates::load(conn).await.map_err(e)?;
    let mut table_status = Vec::new();
    for table in tables::projected() {
        let rows = count(
            one_i64(
                conn,
                &format!("SELECT COUNT(*) FROM {}", table.name),
                vec![],
            )
            .await
            .map_err(e)?,
        );
        let state = if states.current.contains(table.name) {
            "current"
        } else if states.newer.contains_key(table.name) {
            "newer"
        } else {
            "outdated"
        };
        table_status.push(TableStatus {
            name: table.name,
            version: table.version,
            state,
            rows,
        });
    }
    let projection_errors = count(
        one_i64(conn, "SELECT COUNT(*) FROM projection_errors", vec![])
            .await
            .map_err(e)?,
    );
    let recent_errors = query(
        "SELECT position, log, entry_id, entry_type, path, message FROM projection_errors \
         ORDER BY position DESC LIMIT $1",
        vec![RECENT_ERRORS.into()],
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(e)?
    .iter()
    .map(|row| {
        Ok(ProjectionError {
            position: row.try_get(0)?,
            log: row.try_get(1)?,
            entry_id: row.try_get(2)?,
            entry_type: row.try_get(3)?,
            path: row.try_get(4)?,
            message: row.try_get(5)?,
        })
    })
    .collect::<Result<_, sqlx::Error>>()
    .map_err(e)?;
    Ok(Status {
        database: db.target.display.clone(),
        backend: db.backend.name(),
        schema_version,
        release_schema_version: SCHEMA_VERSION,
        events,
        pull_log,
        quarantined,
        last_position,
        watermark,
        lag_entries,
        lag_seconds,
        // An idle projector writes nothing: its age says nothing.
        projector: holder(conn, "projector", now, None).await.map_err(e)?,
        rebuild: holder(conn, "rebuild", now, Some(super::rebuild::LEASE_STALE))
            .await
            .map_err(e)?,
        leftover_tables: super::rebuild::leftovers(conn, db.backend)
            .await
            .map_err(e)?,
        tables: table_status,
        projection_errors,
        recent_errors,
    })
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / f64::from(1u32 << 30)),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "database     {} ({})", self.database, self.backend)?;
        let upgrade = if self.schema_version < self.release_schema_version {
            " — older than this release: any command that writes upgrades it"
        } else {
            ""
        };
        let current = self.tables.iter().filter(|t| t.state == "current").count();
        writeln!(
            f,
            "schema       migration {} of {}{upgrade}; projected tables: {current} of {} current",
            self.schema_version,
            self.release_schema_version,
            self.tables.len()
        )?;
        writeln!(
            f,
            "logs         events {} ({}), pull_log {} ({}), quarantine {}",
            thousands(self.events.entries),
            bytes(self.events.bytes),
            thousands(self.pull_log.entries),
            bytes(self.pull_log.bytes),
            thousands(self.quarantined)
        )?;
        writeln!(
            f,
            "projection   watermark {} of {}; lag {} entries, {:.1} s",
            self.watermark,
            self.last_position,
            thousands(self.lag_entries),
            self.lag_seconds
        )?;
        match &self.projector {
            Some(p) => writeln!(
                f,
                "projector    {}, last batch {:.1} s ago",
                p.who,
                p.seen_ms_ago as f64 / 1000.0
            )?,
            None => writeln!(f, "projector    none has run yet")?,
        }
        if let Some(r) = &self.rebuild {
            writeln!(
                f,
                "rebuild      {} (at position {}, heard from {:.1} s ago){}",
                r.who,
                r.position.map_or_else(|| "-".to_owned(), |p| p.to_string()),
                r.seen_ms_ago as f64 / 1000.0,
                if r.stale {
                    " — stopped: the next rebuild takes over"
                } else {
                    ""
                }
            )?;
        }
        if !self.leftover_tables.is_empty() {
            writeln!(
                f,
                "leftovers    {} (a stopped rebuild's; the projector drops them once its lease expires)",
                self.leftover_tables.join(", ")
            )?;
        }
        for t in &self.tables {
            writeln!(
                f,
                "  {:<18} v{:<3} {:<9} {:>17}",
                t.name,
                t.version,
                t.state,
                counted(t.rows, "row", "rows")
            )?;
        }
        writeln!(
            f,
            "errors       {}",
            projection_errors(self.projection_errors)
        )?;
        for err in &self.recent_errors {
            writeln!(
                f,
                "  position {} ({} {} {}){}: {}",
                err.position,
                err.log,
                err.entry_type,
                err.entry_id,
                err.path
                    .as_deref()
                    .map(|p| format!(" at {p}"))
                    .unwrap_or_default(),
                err.message
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
    }
}
