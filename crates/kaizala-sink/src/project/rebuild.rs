//! Rebuilding projected tables from the logs, beside the live ones.
//!
//! A rebuild creates `{table}__new` for each table, replays both logs from
//! the first entry into them in large batches (a reader reads and derives
//! the next batch while the last one is written), and catches up with the
//! live tables meanwhile projected: when every projected table is rebuilt,
//! up to the log's head; otherwise up to the watermark the others are at.
//! Then, in one transaction holding the watermark's lock, it projects the
//! last entries, drops the old tables, renames the new ones in, builds
//! their indexes and records them as current. Readers see the old tables
//! until that commit and the new ones after it — never a half-built or an
//! empty table — and the incremental projector goes on from the same
//! watermark on the new tables.
//!
//! One rebuild at a time: it holds a lease (`sink_state.rebuild`),
//! renewed with every batch; a rebuild whose process died leaves it to
//! expire, and the next one starts over.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::{AnyConnection, Connection, Row};
use tokio::sync::mpsc;

use super::derive::{Derived, derive};
use super::{Projector, positions, whoami};
use crate::db::{Backend, Db, now_millis};
use crate::error::SinkError;
use crate::log;
use crate::project::wording::{counted, projection_errors};
use crate::schema::ensure::{self, TableStates};
use crate::schema::tables;
use crate::table::Table;
use crate::write::{self, Targets, building_name, query};

/// Entries per rebuild batch.
const BATCH: usize = 5_000;

/// A rebuild lease not renewed for this long belongs to a dead process.
pub(crate) const LEASE_STALE: Duration = Duration::from_secs(120);

/// A projector holds the lease only for the moment it takes to drop a
/// stopped rebuild's tables, and never renews it: held longer than this,
/// its process died meanwhile (found by the crash campaign).
const CLEARING_STALE: Duration = Duration::from_secs(15);

/// What a rebuild names the tables it builds: `{table}` + this.
pub(crate) const BUILDING_SUFFIX: &str = "__new";

/// Where a rebuild is, reported to its progress callback after every batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RebuildProgress {
    /// The tables being rebuilt.
    pub tables: Vec<&'static str>,
    /// Log entries replayed so far.
    pub done: u64,
    /// Log entries there were when it started (more may arrive).
    pub total: u64,
    /// Swapping the new tables in (the last step).
    pub swapping: bool,
}

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RebuildReport {
    /// The tables rebuilt.
    pub tables: Vec<&'static str>,
    /// Log entries replayed.
    pub entries: u64,
    /// Entries that became projection errors.
    pub errors: u64,
    /// The log position the new tables were built to.
    pub position: i64,
    /// How long it took, in seconds.
    pub seconds: f64,
}

/// `rebuilt answers, responses from 1,024 log entries in 2.1 s (no
/// projection errors); built to position 1024`.
impl std::fmt::Display for RebuildReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rebuilt {} from {} in {:.1} s ({}); built to position {}",
            self.tables.join(", "),
            counted(self.entries, "log entry", "log entries"),
            self.seconds,
            projection_errors(self.errors),
            self.position
        )
    }
}

/// Which tables a rebuild of `wanted` builds: projected tables only (a
/// log is what the others are rebuilt from), with those written together
/// with them; every projected table when `wanted` is empty.
pub(crate) fn tables_for(wanted: &[Table]) -> Result<BTreeSet<&'static str>, SinkError> {
    if wanted.is_empty() {
        return Ok(tables::projected().map(|t| t.name).collect());
    }
    let mut set = BTreeSet::new();
    for table in wanted {
        let def = tables::by_name(table.name())
            .filter(|d| d.kind == crate::schema::Kind::Projected)
            .ok_or_else(|| SinkError::NotRebuildable {
                name: table.name().to_owned(),
                rebuildable: tables::projected()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        set.insert(def.name);
        set.extend(tables::written_with(def.name));
    }
    Ok(set)
}

/// Rebuilds `tables` (see the [module docs](self)).
pub(crate) async fn rebuild<F: FnMut(&RebuildProgress) + Send>(
    projector: &Projector,
    tables: BTreeSet<&'static str>,
    mut progress: F,
) -> Result<RebuildReport, SinkError> {
    let started = Instant::now();
    let db = &projector.db;
    let doing = "rebuilding tables";
    let mut conn = db.derived_writer().await?;
    let names: Vec<&'static str> = tables.iter().copied().collect();
    let me = format!("{}:{} {}", whoami(), now_millis(), names.join(","));
    take_lease_after_clearing(&mut conn, db, &me).await?;
    let result = async {
        let full = tables::projected().all(|t| tables.contains(t.name));
        for name in &names {
            let def = declared(name)?;
            let target = building_name(name);
            query(&format!("DROP TABLE IF EXISTS {target}"), vec![])
                .execute(&mut *conn)
                .await
                .map_err(|e| db.error(doing, e))?;
            query(&def.create_sql(db.backend, &target), vec![])
                .execute(&mut *conn)
                .await
                .map_err(|e| db.error(doing, e))?;
        }
        let total = log_size(&mut conn).await.map_err(|e| db.error(doing, e))?;
        let mut report = RebuildReport {
            tables: names.clone(),
            entries: 0,
            errors: 0,
            position: i64::MIN,
            seconds: 0.0,
        };
        let mut at = RebuildProgress {
            tables: names.clone(),
            done: 0,
            total,
            swapping: false,
        };
        progress(&at);
        let targets = Targets::building(db.backend, &tables);
        build(db, &mut conn, &me, full, &targets, &mut report, |done| {
            at.done = done;
            progress(&at);
        })
        .await?;
        at.swapping = true;
        progress(&at);
        swap(db, &mut conn, &me, full, &tables, &targets, &mut report).await?;
        report.seconds = started.elapsed().as_secs_f64();
        at.swapping = false;
        at.done = report.entries;
        progress(&at);
        Ok(report)
    }
    .await;
    if result.is_err() {
        release_lease(&mut conn, &me).await;
    }
    result
}

/// Rebuilds the outdated tables of `states`; what it did, if it ran. When
/// another rebuild holds the lease, waits up to `wait` for the tables to
/// become current.
pub(crate) async fn build_outdated(
    projector: &Projector,
    states: &TableStates,
    wait: Duration,
) -> Result<Option<RebuildReport>, SinkError> {
    let tables: BTreeSet<&'static str> = states.outdated.iter().copied().collect();
    tracing::info!(tables = ?tables, "rebuilding tables not built from the logs by this release");
    match rebuild(projector, tables, |_| {}).await {
        Ok(report) => {
            tracing::info!(
                entries = report.entries,
                seconds = report.seconds,
                "tables rebuilt"
            );
            Ok(Some(report))
        }
        Err(SinkError::RebuildRunning { .. }) if !wait.is_zero() => {
            let deadline = Instant::now() + wait;
            let mut conn = projector
                .db
                .pool
                .acquire()
                .await
                .map_err(|e| projector.db.error("waiting for a rebuild", e))?;
            while Instant::now() < deadline {
                let states = TableStates::load(&mut conn)
                    .await
                    .map_err(|e| projector.db.error("waiting for a rebuild", e))?;
                if states.outdated.is_empty() {
                    return Ok(None);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(None)
        }
        Err(SinkError::RebuildRunning { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The tables a rebuild was building, left by one whose process died.
pub(crate) async fn leftovers(
    conn: &mut AnyConnection,
    backend: Backend,
) -> Result<Vec<String>, sqlx::Error> {
    Ok(ensure::existing(conn, backend)
        .await?
        .into_iter()
        .filter(|(name, view)| !view && name.ends_with(BUILDING_SUFFIX))
        .map(|(name, _)| name)
        .collect())
}

/// Drops the tables a dead rebuild left, once its lease has expired (and
/// under the lease, so no rebuild starts meanwhile); how many it dropped.
pub(crate) async fn clear_leftovers(
    projector: &Projector,
    conn: &mut AnyConnection,
) -> Result<usize, SinkError> {
    let db = &projector.db;
    let doing = "dropping the tables a stopped rebuild left";
    let left = leftovers(conn, db.backend)
        .await
        .map_err(|e| db.error(doing, e))?;
    if left.is_empty() {
        return Ok(0);
    }
    let me = format!("{}:{} {CLEARING}", whoami(), now_millis());
    match take_lease(conn, db, &me).await {
        Ok(()) => {}
        Err(SinkError::RebuildRunning { .. }) => return Ok(0),
        Err(err) => return Err(err),
    }
    let result = async {
        for table in &left {
            query(&format!("DROP TABLE IF EXISTS {table}"), vec![])
                .execute(&mut *conn)
                .await
                .map_err(|e| db.error(doing, e))?;
        }
        Ok(left.len())
    }
    .await;
    release_lease(conn, &me).await;
    if let Ok(n) = &result {
        tracing::info!(tables = n, "dropped the tables a stopped rebuild left");
    }
    result
}

/// Entries in both logs.
async fn log_size(conn: &mut AnyConnection) -> Result<u64, sqlx::Error> {
    let n: i64 = query(
        "SELECT (SELECT COUNT(*) FROM events) + (SELECT COUNT(*) FROM pull_log)",
        vec![],
    )
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How far a rebuild goes before its swap: the log's head when every
/// table is rebuilt, else the watermark the others are at.
async fn bound(conn: &mut AnyConnection, backend: Backend, full: bool) -> Result<i64, sqlx::Error> {
    if full {
        log::head(conn).await
    } else {
        Ok(positions(conn, backend, false).await?.0)
    }
}

/// Replays the logs into the new tables until it has caught up with
/// [`bound`].
async fn build(
    db: &Db,
    conn: &mut AnyConnection,
    me: &str,
    full: bool,
    targets: &Targets,
    report: &mut RebuildReport,
    mut progress: impl FnMut(u64),
) -> Result<(), SinkError> {
    let doing = "rebuilding tables";
    let (sender, mut batches) = mpsc::channel::<Result<Derived, SinkError>>(2);
    // The reader reads and derives ahead on a connection of its own (SQLite
    // in memory has one connection only: it then reads in turn).
    let reader = if db.target.memory {
        None
    } else {
        let mut read_conn = db.pool.acquire().await.map_err(|e| db.error(doing, e))?;
        let db = db.clone();
        Some(tokio::spawn(async move {
            let mut after = i64::MIN;
            loop {
                let (next, more) = match read_batch(&db, &mut read_conn, after, full).await {
                    Ok(Some((derived, more))) => (Ok(derived), more),
                    Ok(None) => return,
                    Err(err) => (Err(err), false),
                };
                if let Ok(Derived {
                    last: Some((last, _)),
                    ..
                }) = &next
                {
                    after = *last;
                }
                if sender.send(next).await.is_err() || !more {
                    return;
                }
            }
        }))
    };
    let mut after = i64::MIN;
    loop {
        let derived = match reader {
            Some(_) => match batches.recv().await {
                Some(next) => next?,
                None => break,
            },
            None => match read_batch(db, conn, after, full).await? {
                Some((derived, _)) => derived,
                None => break,
            },
        };
        let Some((last, _)) = derived.last else { break };
        let _turn = db.turns.background().await;
        let mut tx = conn
            .begin_with(db.backend.begin_write())
            .await
            .map_err(|e| db.error(doing, e))?;
        write::apply(&mut *tx, derived.rows, targets)
            .await
            .map_err(|e| db.error(doing, e))?;
        renew_lease(&mut tx, me, last)
            .await
            .map_err(|e| db.error(doing, e))?;
        tx.commit().await.map_err(|e| db.error(doing, e))?;
        after = last;
        report.entries += derived.entries;
        report.errors += derived.errors;
        report.position = last;
        progress(report.entries);
    }
    if let Some(reader) = reader {
        reader.await.map_err(|e| SinkError::Database {
            doing,
            source: Box::new(e),
        })?;
    }
    Ok(())
}

/// Reads and derives the batch after `after`, up to [`bound`], and whether
/// more may follow (the batch was full); `None` once caught up. What a
/// batch that is not full leaves, the swap projects.
async fn read_batch(
    db: &Db,
    conn: &mut AnyConnection,
    after: i64,
    full: bool,
) -> Result<Option<(Derived, bool)>, SinkError> {
    let doing = "reading the log";
    let upto = bound(conn, db.backend, full)
        .await
        .map_err(|e| db.error(doing, e))?;
    let entries = log::read(conn, after, upto, BATCH)
        .await
        .map_err(|e| db.error(doing, e))?;
    if entries.is_empty() {
        return Ok(None);
    }
    let more = entries.len() == BATCH;
    let derived = tokio::task::spawn_blocking(move || derive(&entries))
        .await
        .map_err(|e| SinkError::Database {
            doing,
            source: Box::new(e),
        })?;
    Ok(Some((derived, more)))
}

/// Projects the last entries into the new tables and swaps them in, in one
/// transaction holding the watermark's lock.
async fn swap(
    db: &Db,
    conn: &mut AnyConnection,
    me: &str,
    full: bool,
    tables: &BTreeSet<&'static str>,
    targets: &Targets,
    report: &mut RebuildReport,
) -> Result<(), SinkError> {
    let doing = "swapping the rebuilt tables in";
    if db.backend == Backend::Sqlite {
        // No rewriting (or checking) of other views while renaming: views
        // over the old tables would otherwise fail the rename.
        query("PRAGMA legacy_alter_table = ON", vec![])
            .execute(&mut *conn)
            .await
            .map_err(|e| db.error(doing, e))?;
    }
    let result = async {
        let _turn = db.turns.background().await;
        let mut tx = conn
            .begin_with(db.backend.begin_write())
            .await
            .map_err(|e| db.error(doing, e))?;
        let (watermark, generation) = positions(&mut *tx, db.backend, true)
            .await
            .map_err(|e| db.error(doing, e))?;
        let upto = if full {
            log::head(&mut tx).await.map_err(|e| db.error(doing, e))?
        } else {
            watermark
        };
        let mut after = report.position;
        loop {
            let entries = log::read(&mut *tx, after, upto, BATCH)
                .await
                .map_err(|e| db.error(doing, e))?;
            let Some(last) = entries.last().map(log::Entry::position) else {
                break;
            };
            let derived = derive(&entries);
            report.entries += derived.entries;
            report.errors += derived.errors;
            write::apply(&mut *tx, derived.rows, targets)
                .await
                .map_err(|e| db.error(doing, e))?;
            after = last;
        }
        report.position = upto;
        swap_tables(&mut tx, db.backend, tables, upto)
            .await
            .map_err(|e| db.error(doing, e))?;
        if full {
            query(
                "UPDATE sink_state SET value = $1, updated_at = $2 WHERE name = 'watermark'",
                vec![upto.into(), now_millis().into()],
            )
            .execute(&mut *tx)
            .await
            .map_err(|e| db.error(doing, e))?;
        }
        query(
            "UPDATE sink_state SET value = $1 WHERE name = 'generation'",
            vec![(generation + 1).into()],
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| db.error(doing, e))?;
        release_lease(&mut tx, me).await;
        tx.commit().await.map_err(|e| db.error(doing, e))?;
        Ok(())
    }
    .await;
    if db.backend == Backend::Sqlite {
        let _ = query("PRAGMA legacy_alter_table = OFF", vec![])
            .execute(&mut *conn)
            .await;
    }
    result
}

/// Drops the old tables (and the views over them), renames the new ones
/// in, builds their indexes, records them, and recreates the views.
async fn swap_tables(
    tx: &mut AnyConnection,
    backend: Backend,
    tables: &BTreeSet<&'static str>,
    built_to: i64,
) -> Result<(), sqlx::Error> {
    let existing = ensure::existing(tx, backend).await?;
    ensure::drop_views(tx, &existing).await?;
    for def in tables::projected().filter(|t| tables.contains(t.name)) {
        let name = def.name;
        let target = building_name(name);
        if existing.get(name) == Some(&false) {
            query(&format!("DROP TABLE {name}"), vec![])
                .execute(&mut *tx)
                .await?;
        }
        query(&format!("ALTER TABLE {target} RENAME TO {name}"), vec![])
            .execute(&mut *tx)
            .await?;
        if backend == Backend::Postgres {
            query(
                &format!("ALTER TABLE {name} RENAME CONSTRAINT {target}_pkey TO {name}_pkey"),
                vec![],
            )
            .execute(&mut *tx)
            .await?;
        }
        for index in def.indexes {
            query(&def.index_sql(index, name, index.name), vec![])
                .execute(&mut *tx)
                .await?;
        }
        ensure::record_built(tx, def, built_to).await?;
    }
    let states = TableStates::load(tx).await?;
    ensure::create_views(tx, backend, &states.current).await
}

/// The declaration of a table a rebuild was given (they all come from
/// [`tables_for`]).
fn declared(name: &str) -> Result<&'static crate::schema::TableDef, SinkError> {
    tables::by_name(name).ok_or_else(|| SinkError::NotRebuildable {
        name: name.to_owned(),
        rebuildable: tables::projected()
            .map(|t| t.name)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Takes the rebuild lease (`me` names the process and the tables), or
/// fails naming who holds it.
/// The last word of the lease's holder while a projector drops a stopped
/// rebuild's tables ([`clear_leftovers`]).
const CLEARING: &str = "clearing";

/// [`take_lease`], waiting out a projector that holds it only to drop a
/// stopped rebuild's tables (moments; a rebuild started then would
/// otherwise be refused as if another rebuild ran).
async fn take_lease_after_clearing(
    conn: &mut AnyConnection,
    db: &Db,
    me: &str,
) -> Result<(), SinkError> {
    // Past CLEARING_STALE the lease is taken over: wait a little longer.
    let deadline = Instant::now() + CLEARING_STALE + Duration::from_secs(5);
    loop {
        match take_lease(conn, db, me).await {
            Err(SinkError::RebuildRunning { holder, .. })
                if holder.ends_with(CLEARING) && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

async fn take_lease(conn: &mut AnyConnection, db: &Db, me: &str) -> Result<(), SinkError> {
    let doing = "taking the rebuild lease";
    let now = now_millis();
    query(
        &format!(
            "{} VALUES ('rebuild', NULL, NULL, NULL) ON CONFLICT (name) DO NOTHING",
            tables::SINK_STATE.insert_head("sink_state")
        ),
        vec![],
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| db.error(doing, e))?;
    let taken = query(
        "UPDATE sink_state SET value = NULL, detail = $1, updated_at = $2 \
         WHERE name = 'rebuild' AND (detail IS NULL OR updated_at < $3 \
         OR (detail LIKE $4 AND updated_at < $5))",
        vec![
            me.into(),
            now.into(),
            (now - LEASE_STALE.as_millis() as i64).into(),
            format!("% {CLEARING}").into(),
            (now - CLEARING_STALE.as_millis() as i64).into(),
        ],
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| db.error(doing, e))?
    .rows_affected()
        == 1;
    if taken {
        return Ok(());
    }
    let row = query(
        "SELECT detail, updated_at FROM sink_state WHERE name = 'rebuild'",
        vec![],
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| db.error(doing, e))?;
    let holder: Option<String> = row.try_get(0).map_err(|e| db.error(doing, e))?;
    let at: Option<i64> = row.try_get(1).map_err(|e| db.error(doing, e))?;
    Err(SinkError::RebuildRunning {
        holder: holder.unwrap_or_default(),
        seconds_ago: at.map_or(0, |at| (now - at).max(0) / 1000),
    })
}

async fn renew_lease(conn: &mut AnyConnection, me: &str, position: i64) -> Result<(), sqlx::Error> {
    query(
        "UPDATE sink_state SET value = $1, updated_at = $2 \
         WHERE name = 'rebuild' AND detail = $3",
        vec![position.into(), now_millis().into(), me.into()],
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn release_lease(conn: &mut AnyConnection, me: &str) {
    let _ = query(
        "UPDATE sink_state SET value = NULL, detail = NULL, updated_at = $1 \
         WHERE name = 'rebuild' AND detail = $2",
        vec![now_millis().into(), me.into()],
    )
    .execute(&mut *conn)
    .await;
}
