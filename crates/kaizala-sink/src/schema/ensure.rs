//! Projected tables at connect time, and which of them are current.
//!
//! The migrations create the logs and the bookkeeping tables; the projected
//! tables are made here from their declarations. A projected table is
//! *current* when `projection_tables` records the version and fingerprint
//! of this release's declaration; otherwise it is *outdated* (built by an
//! older release, or not built from the logs yet) and the projector leaves
//! it alone until a rebuild replaces it — except on an empty database,
//! where there is nothing to rebuild from and it is simply recreated.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, Row};

use super::tables::{self, PROJECTION_TABLES};
use super::{TableDef, views};
use crate::db::{Backend, Db, now_millis};
use crate::error::SinkError;
use crate::write::query;

/// The advisory lock PostgreSQL connections take while they create tables,
/// so replicas starting together do not race (per schema, as the
/// projector's).
const ENSURE_LOCK: i64 = 0x6b7a_656e; // "kzen"

/// What the database holds of each projected table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TableStates {
    /// Bumped whenever tables are swapped in: a projector whose states are
    /// of another generation reloads them.
    pub generation: i64,
    /// Built from the logs by this release's declaration.
    pub current: BTreeSet<&'static str>,
    /// To rebuild: built by an older release, or never built from the logs.
    pub outdated: BTreeSet<&'static str>,
    /// Built by a newer release: left alone.
    pub newer: BTreeMap<&'static str, i64>,
}

impl TableStates {
    /// Reads them (inside a transaction or not).
    pub async fn load(conn: &mut AnyConnection) -> Result<TableStates, sqlx::Error> {
        let generation: i64 = query(
            "SELECT value FROM sink_state WHERE name = 'generation'",
            vec![],
        )
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get::<Option<i64>, _>(0))
        .transpose()?
        .flatten()
        .unwrap_or(0);
        let records = records(conn).await?;
        let mut states = TableStates {
            generation,
            ..TableStates::default()
        };
        for table in tables::projected() {
            match records.get(table.name) {
                Some((version, fingerprint))
                    if *version == i64::from(table.version)
                        && *fingerprint == table.fingerprint() =>
                {
                    states.current.insert(table.name);
                }
                Some((version, _)) if *version > i64::from(table.version) => {
                    states.newer.insert(table.name, *version);
                }
                _ => {
                    states.outdated.insert(table.name);
                }
            }
        }
        Ok(states)
    }
}

async fn records(conn: &mut AnyConnection) -> Result<BTreeMap<String, (i64, String)>, sqlx::Error> {
    query(
        "SELECT table_name, version, fingerprint FROM projection_tables",
        vec![],
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| Ok((row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?))))
    .collect()
}

/// The tables and views that exist (in the connection's schema).
pub(crate) async fn existing(
    conn: &mut AnyConnection,
    backend: Backend,
) -> Result<BTreeMap<String, bool>, sqlx::Error> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name, CAST(CASE type WHEN 'view' THEN 1 ELSE 0 END AS BIGINT) \
             FROM sqlite_master WHERE type IN ('table', 'view')"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT), \
             CAST(CASE table_type WHEN 'VIEW' THEN 1 ELSE 0 END AS BIGINT) \
             FROM information_schema.tables WHERE table_schema = current_schema()"
        }
    };
    query(sql, vec![])
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get::<i64, _>(1)? == 1)))
        .collect()
}

/// Creates `def` as `target` with its indexes (named after `target`).
pub(crate) async fn create_table(
    conn: &mut AnyConnection,
    backend: Backend,
    def: &TableDef,
    target: &str,
) -> Result<(), sqlx::Error> {
    query(&def.create_sql(backend, target), vec![])
        .execute(&mut *conn)
        .await?;
    for index in def.indexes {
        let name = index.name.replacen(def.name, target, 1);
        query(&def.index_sql(index, target, &name), vec![])
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Records `def` as built from the logs up to `built_to`.
pub(crate) async fn record_built(
    conn: &mut AnyConnection,
    def: &TableDef,
    built_to: i64,
) -> Result<(), sqlx::Error> {
    let tail = PROJECTION_TABLES.upsert_tail("projection_tables", &[]);
    query(
        &format!(
            "{} VALUES ($1, $2, $3, $4, $5){tail}",
            PROJECTION_TABLES.insert_head("projection_tables")
        ),
        vec![
            def.name.into(),
            i64::from(def.version).into(),
            def.fingerprint().into(),
            now_millis().into(),
            built_to.into(),
        ],
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Drops every declared view, and every registered pivot view, that
/// exists.
pub(crate) async fn drop_views(
    conn: &mut AnyConnection,
    existing: &BTreeMap<String, bool>,
) -> Result<(), sqlx::Error> {
    let pivots: Vec<String> = crate::pivot::registered(conn)
        .await?
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let names = pivots
        .iter()
        .map(String::as_str)
        .chain(views::ALL.iter().map(|view| view.name));
    for name in names {
        if existing.get(name) == Some(&true) {
            query(&format!("DROP VIEW IF EXISTS {name}"), vec![])
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Creates every declared view that does not exist and whose tables are
/// all `current`.
pub(crate) async fn create_views(
    conn: &mut AnyConnection,
    backend: Backend,
    current: &BTreeSet<&'static str>,
) -> Result<(), sqlx::Error> {
    let existing = existing(conn, backend).await?;
    for view in views::ALL {
        if !existing.contains_key(view.name) && view.reads.iter().all(|t| current.contains(t)) {
            query(&view.create_sql(backend), vec![])
                .execute(&mut *conn)
                .await?;
        }
    }
    // Pivot views, with the questions of now (one nobody answered since
    // a rebuild waits for its answers, registered).
    if crate::pivot::READS.iter().all(|t| current.contains(t)) {
        for (name, action_id) in crate::pivot::registered(conn).await? {
            if !existing.contains_key(&name) {
                crate::pivot::create_view(conn, backend, &name, &action_id).await?;
            }
        }
    }
    Ok(())
}

/// Makes sure every projected table exists (see the module docs).
pub(crate) async fn run(db: &Db) -> Result<(), SinkError> {
    let doing = "creating the projected tables";
    let mut conn = db.pool.acquire().await.map_err(|e| db.error(doing, e))?;
    let mut tx = sqlx::Connection::begin_with(&mut *conn, db.backend.begin_write())
        .await
        .map_err(|e| db.error(doing, e))?;
    if db.backend == Backend::Postgres {
        query(
            "SELECT pg_advisory_xact_lock(CAST($1 AS INTEGER), hashtext(current_schema()))",
            vec![ENSURE_LOCK.into()],
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| db.error(doing, e))?;
    }
    ensure(&mut tx, db.backend)
        .await
        .map_err(|e| db.error(doing, e))?;
    tx.commit().await.map_err(|e| db.error(doing, e))?;
    Ok(())
}

async fn ensure(conn: &mut AnyConnection, backend: Backend) -> Result<(), sqlx::Error> {
    let existing = existing(conn, backend).await?;
    let states = TableStates::load(conn).await?;
    let logs_empty = query(
        "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM events LIMIT 1) AS e) + \
         (SELECT COUNT(*) FROM (SELECT 1 FROM pull_log LIMIT 1) AS p)",
        vec![],
    )
    .fetch_one(&mut *conn)
    .await?
    .try_get::<i64, _>(0)?
        == 0;
    let watermark: i64 = query(
        "SELECT value FROM sink_state WHERE name = 'watermark'",
        vec![],
    )
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;

    let mut current = states.current.clone();
    let replace: Vec<&TableDef> = if logs_empty {
        tables::projected()
            .filter(|t| states.outdated.contains(t.name))
            .collect()
    } else {
        Vec::new()
    };
    if !replace.is_empty() {
        // Nothing to rebuild from: make them anew.
        drop_views(conn, &existing).await?;
        for table in replace {
            if existing.contains_key(table.name) {
                query(&format!("DROP TABLE {}", table.name), vec![])
                    .execute(&mut *conn)
                    .await?;
            }
            create_table(conn, backend, table, table.name).await?;
            record_built(conn, table, watermark).await?;
            current.insert(table.name);
        }
    }
    for table in tables::projected() {
        if !existing.contains_key(table.name) && !current.contains(table.name) {
            // Readers find it (empty) until the projector builds it.
            create_table(conn, backend, table, table.name).await?;
        }
    }
    // Views hold no data: one whose declaration changed is simply made anew.
    let fingerprint = views::fingerprint(backend);
    let made_by: Option<String> =
        query("SELECT detail FROM sink_state WHERE name = 'views'", vec![])
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| row.try_get::<Option<String>, _>(0))
            .transpose()?
            .flatten();
    if made_by.as_deref() != Some(fingerprint.as_str()) {
        drop_views(conn, &existing).await?;
        crate::project::note(conn, "views", None, &fingerprint, now_millis()).await?;
    }
    create_views(conn, backend, &current).await
}
