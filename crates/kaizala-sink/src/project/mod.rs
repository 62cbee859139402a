//! The projector: every typed table derived from the logs.
//!
//! The logs (`events`, `pull_log`) are the truth; each typed table is a
//! projection of them. The projector reads entries after the stored
//! **watermark** in position order, in large batches, derives their rows
//! ([`derive`], pure), and writes them together with the new watermark in
//! one transaction — so a batch is applied whole or not at all, and a
//! process killed mid-batch loses nothing: the next projector starts from
//! the stored watermark. Writing a batch again changes nothing (every
//! write is an upsert keyed by the entry's ids, merged by the declared
//! rules, and nothing reads a clock), and rows of a batch are written in
//! log order per key, so the result does not depend on where batches
//! begin and end: a [rebuild] equals the incremental result.
//!
//! - Off the request path: `kaizala ingest` runs it in the background
//!   ([`Projector::spawn`]), woken by each commit of the event store;
//!   `kaizala project` runs it alone; [`Projector::catch_up`] projects what
//!   was logged so far and returns (what `sync` does after pulling).
//! - With several replicas on one PostgreSQL, the one holding an advisory
//!   lock projects; the others stand by and take over within a second of
//!   its connection closing. Every batch also locks the watermark's row and
//!   checks it is still the one it read, so two projectors can never apply
//!   the same entries twice, whatever happens.
//! - An entry that does not map (a body whose head was fine but whose
//!   payload does not fit the model, a document that is not what its
//!   operation answers) becomes a row of `projection_errors` with the JSON
//!   path at fault, and the projector moves on. It never blocks.

mod backlog;
pub(crate) mod derive;
pub mod rebuild;
pub mod status;
mod wording;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::{AnyConnection, Connection, PgConnection, Row};
use tokio::sync::{Notify, watch};

use crate::db::{Backend, BatchWriter, Conn, Db, now_millis};
use crate::direct::{Checkpointer, Direct};
use crate::error::SinkError;
use crate::log;
use crate::project::wording::{counted, projection_errors};
use crate::schema::ensure::TableStates;
use crate::schema::tables::SINK_STATE;
use crate::write::{self, Applied, Targets, query};
use crate::writer::Writer;

/// The advisory lock the PostgreSQL projector holds (with the schema's
/// hash as its second key: sinks in two schemas of one database project
/// side by side).
const PROJECTOR_LOCK: i64 = 0x6b7a_7072; // "kzpr"

/// Entries read per batch (PostgreSQL, and an SQLite file, whose appends
/// go to a file of their own).
pub const DEFAULT_BATCH: usize = 2_000;

/// Entries read per batch on SQLite in memory, whose one connection the
/// event store waits for while a batch is written: smaller batches keep
/// that wait short.
pub const DEFAULT_SQLITE_BATCH: usize = 500;

/// How often an idle projector looks for entries other processes logged
/// (entries this process logs wake it at once).
const IDLE_POLL: Duration = Duration::from_millis(200);

/// How long a running projector lets entries gather after a batch that was
/// not full. A batch costs a fixed few statements and a commit whatever its
/// size, and under load every commit of the event store would otherwise
/// wake it for the handful of entries that commit added: gathering them
/// costs this much projection lag and saves most of that fixed cost.
pub const LINGER: Duration = Duration::from_millis(100);

/// The first pause after a failure; it doubles with each failure in a row
/// (up to 10 s), and a step that gets through (a batch, or a race lost to
/// another projector) starts it over.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// How long a standby projector waits before trying for the lock again.
const STANDBY_POLL: Duration = Duration::from_secs(1);

/// How many batches of entries the event store may append ahead of this
/// process's running projector before its appends wait for the next batch
/// (at most 250 ms each time): so the most acknowledgements per second are
/// the most the machine can also project, and the tables never fall far
/// behind. A projector that commits nothing for that long stops holding
/// them back; without a projector in the process nothing waits.
pub const BACKLOG_BATCHES: i64 = 3;

/// How often a running projector looks for outdated tables to rebuild.
const OUTDATED_POLL: Duration = Duration::from_secs(5);

/// State shared by every projector of one [`Sink`](crate::Sink).
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Notified when the event store commits new events.
    pub appended: Arc<Notify>,
    /// How far the event store may run ahead of a running projector.
    pub backlog: backlog::Backlog,
    /// One batch at a time in this process.
    turn: tokio::sync::Mutex<()>,
    /// The table states, cached by generation.
    states: Mutex<Option<TableStates>>,
    stats: Mutex<ProjectorStats>,
}

/// Counters of the projectors of one [`Sink`](crate::Sink).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ProjectorStats {
    /// Batches committed.
    pub batches: u64,
    /// Log entries projected.
    pub entries: u64,
    /// Entries that became projection errors.
    pub errors: u64,
    /// The watermark after the last batch.
    pub watermark: i64,
    /// How long the last entry of the last batch waited in the log before
    /// its rows were committed, in milliseconds.
    pub last_lag_ms: i64,
}

/// `projected 1,024 log entries in 3 batches (no projection errors)`: the
/// one wording of what projecting did, for the commands to print.
fn projected(entries: u64, batches: u64, errors: u64) -> String {
    format!(
        "projected {} in {} ({})",
        counted(entries, "log entry", "log entries"),
        counted(batches, "batch", "batches"),
        projection_errors(errors)
    )
}

/// `projected 1,024 log entries in 3 batches (no projection errors)`: what
/// the projectors of a sink have done so far.
impl std::fmt::Display for ProjectorStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&projected(self.entries, self.batches, self.errors))
    }
}

/// What a [`Projector::catch_up`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProjectionReport {
    /// Log entries projected.
    pub entries: u64,
    /// Batches committed.
    pub batches: u64,
    /// Entries that became projection errors.
    pub errors: u64,
    /// The watermark reached.
    pub watermark: i64,
    /// Responses stored for the first time.
    pub responses_new: u64,
    /// Stored responses replaced by a changed version.
    pub responses_updated: u64,
    /// Responses already stored as they are.
    pub responses_unchanged: u64,
    /// Members (and subscribers) a sync's listing no longer named.
    pub members_removed: u64,
    /// Whether another process was projecting, so this one only waited for
    /// it to pass the log's head (the counts are then this process's only).
    pub projected_elsewhere: bool,
}

impl ProjectionReport {
    fn add(&mut self, step: &Projected) {
        self.entries += step.entries;
        self.batches += 1;
        self.errors += step.errors;
        self.watermark = step.watermark;
        self.responses_new += step.applied.responses_new;
        self.responses_updated += step.applied.responses_updated;
        self.responses_unchanged += step.applied.responses_unchanged;
        self.members_removed += step.applied.members_removed;
    }
}

/// `projected 1,024 log entries in 3 batches (no projection errors);
/// watermark 1024`, or, when another process projects, the position it
/// reached.
impl std::fmt::Display for ProjectionReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.projected_elsewhere {
            return write!(
                f,
                "another process projects this database; it has reached position {}",
                self.watermark
            );
        }
        let done = projected(self.entries, self.batches, self.errors);
        write!(f, "{done}; watermark {}", self.watermark)
    }
}

/// One committed batch.
#[derive(Debug, Clone, Copy, Default)]
struct Projected {
    entries: u64,
    errors: u64,
    watermark: i64,
    applied: Applied,
    lag_ms: i64,
}

/// What one step found.
#[derive(Debug)]
enum Step {
    /// A batch committed.
    Projected(Projected),
    /// Nothing after the watermark.
    Idle,
    /// No table is current (a rebuild will build them all).
    NothingCurrent,
    /// Another projector moved the watermark (or swapped tables) meanwhile:
    /// read again.
    Raced,
}

/// The projector of one database (see the [module docs](self)). Get one
/// from [`Sink::projector`](crate::Sink::projector).
#[derive(Clone)]
pub struct Projector {
    db: Db,
    shared: Arc<Shared>,
    batch: usize,
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projector")
            .field("database", &self.db.target.display)
            .field("batch", &self.batch)
            .field("stats", &self.stats())
            .finish()
    }
}

/// `host:pid`, to tell projectors apart in `kaizala status`.
pub(crate) fn whoami() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{}", std::process::id())
}

impl Projector {
    pub(crate) fn new(db: Db, shared: Arc<Shared>) -> Projector {
        // The appends of an SQLite file have a write lock of their own.
        let batch = match (db.backend, &db.log_file) {
            (Backend::Sqlite, None) => DEFAULT_SQLITE_BATCH,
            _ => DEFAULT_BATCH,
        };
        Projector { db, shared, batch }
    }

    /// The same projector reading `entries` log entries per batch (default
    /// [`DEFAULT_BATCH`]; [`DEFAULT_SQLITE_BATCH`] on SQLite in memory).
    pub fn with_batch(mut self, entries: usize) -> Projector {
        self.batch = entries.max(1);
        self
    }

    /// The counters of this process's projectors so far.
    pub fn stats(&self) -> ProjectorStats {
        *self.shared.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Projects every entry logged before the call, then returns: the
    /// tables are then as current as the log was. Tables not built from
    /// the logs yet are [rebuilt](crate::Sink::rebuild) first. If another
    /// process holds the projector's role (PostgreSQL replicas), waits for
    /// it to get there instead (up to `wait`).
    pub async fn catch_up(&self) -> Result<ProjectionReport, SinkError> {
        self.catch_up_within(Duration::from_secs(300)).await
    }

    pub(crate) async fn catch_up_within(
        &self,
        wait: Duration,
    ) -> Result<ProjectionReport, SinkError> {
        let doing = "catching up with the log";
        let (mut conn, mut batches) = self.connections().await?;
        let target = log::last_entry(&mut conn)
            .await
            .map_err(|e| self.db.error(doing, e))?;
        let states = self.states(&mut conn, None).await?;
        let mut report = ProjectionReport::default();
        if !states.outdated.is_empty()
            && let Some(rebuilt) = rebuild::build_outdated(self, &states, wait).await?
        {
            report.entries += rebuilt.entries;
            report.errors += rebuilt.errors;
            report.watermark = rebuilt.position;
        }
        if !self.take_role(&mut conn).await? {
            report.projected_elsewhere = true;
            report.watermark = self.wait_for(&mut conn, target, wait).await?;
            return Ok(report);
        }
        let result = async {
            let mut ahead = None;
            loop {
                match self.step(&mut conn, batches.as_mut(), &mut ahead).await? {
                    Step::Projected(step) => {
                        report.add(&step);
                        if step.watermark >= target {
                            break;
                        }
                    }
                    Step::Raced => {}
                    Step::Idle | Step::NothingCurrent => break,
                }
            }
            Ok::<_, SinkError>(())
        }
        .await;
        self.drop_role(&mut conn).await;
        result?;
        report.watermark = self.watermark(&mut conn).await?;
        Ok(report)
    }

    /// Starts projecting in the background until
    /// [`ProjectorHandle::shutdown`]: whatever is logged is projected
    /// within moments — events this process stores at once, or within
    /// [`LINGER`] when a batch was just written; entries other processes
    /// log within 200 ms. Tables not built from the
    /// logs yet are rebuilt meanwhile (without stopping the others).
    ///
    /// It runs on a thread of its own, on a single-threaded tokio runtime:
    /// a batch is a chain of round trips to the database, and on a runtime
    /// shared with a receiver each answer would wait behind the request
    /// handlers queued there before the next statement went out (on
    /// PostgreSQL, `kaizala ingest` acknowledged about a tenth more events
    /// a second this way; docs/benchmarks.md). SQLite in memory is the
    /// exception: its projector borrows the event store's one connection,
    /// which must go back to the pool on the runtime it came from, so it
    /// runs on the caller's (which must then be a tokio runtime's).
    ///
    /// # Panics
    ///
    /// If the operating system cannot start a thread (as
    /// [`std::thread::spawn`]), or, in memory, outside a tokio runtime.
    pub fn spawn(&self) -> ProjectorHandle {
        let (stop, stopped) = watch::channel(false);
        // Dropped when the projector stops (or never starts), which is what
        // `shutdown` waits for.
        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        let projector = self.clone();
        let work = async move {
            let _done = done;
            projector.run(stopped).await;
        };
        if self.db.target.memory {
            tokio::spawn(work);
        } else {
            std::thread::Builder::new()
                // Linux keeps 15 bytes of a thread's name: both fit.
                .name("kaizala-project".to_owned())
                .spawn(move || {
                    // Its blocking threads derive the batches and, on an
                    // SQLite file, read, write and checkpoint them through
                    // rusqlite: named, so `top -H` and `perf` tell them apart
                    // from the receiver's.
                    match tokio::runtime::Builder::new_current_thread()
                        .thread_name("kaizala-batches")
                        .enable_all()
                        .build()
                    {
                        Ok(runtime) => runtime.block_on(work),
                        Err(err) => {
                            tracing::error!(error = %err, "projector: cannot start its runtime")
                        }
                    }
                })
                .expect("starting the projector's thread");
        }
        ProjectorHandle {
            stop,
            finished: Some(finished),
            projector: self.clone(),
        }
    }

    /// The background loop.
    async fn run(&self, mut stopped: watch::Receiver<bool>) {
        let mut conn = None;
        let mut batches = None;
        let mut holding = false;
        let mut rebuilding: Option<tokio::task::JoinHandle<()>> = None;
        let mut outdated_checked: Option<Instant> = None;
        let mut backoff = FIRST_BACKOFF;
        // The batch read while the last one was written, if any.
        let mut ahead = None;
        while !*stopped.borrow() {
            if conn.is_none() {
                holding = false;
                match self.connections().await {
                    Ok((c, b)) => (conn, batches) = (Some(c), b),
                    Err(err) => {
                        tracing::warn!(error = %err, "projector: cannot connect; retrying");
                        pause(&mut stopped, backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                        continue;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            if !holding {
                match self.take_role(c).await {
                    Ok(true) => {
                        holding = true;
                        tracing::info!("projector: projecting");
                        if let Ok(watermark) = self.watermark(c).await {
                            let limit = BACKLOG_BATCHES * self.batch as i64;
                            self.shared.backlog.projecting(Some((limit, watermark)));
                        }
                    }
                    Ok(false) => {
                        pause(&mut stopped, STANDBY_POLL).await;
                        continue;
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "projector: lost its connection");
                        conn = None;
                        continue;
                    }
                }
            }
            // Tables to build from the logs: beside the others, in a task
            // of their own (looked for now and then: they appear only with
            // an upgrade, or when a rebuild failed).
            let look = rebuilding.as_ref().is_none_or(|t| t.is_finished())
                && outdated_checked.is_none_or(|at| at.elapsed() >= OUTDATED_POLL);
            if look {
                outdated_checked = Some(Instant::now());
                if let Err(err) = rebuild::clear_leftovers(self, c).await {
                    tracing::warn!(error = %err, "projector: could not drop a stopped rebuild's tables");
                }
                if let Ok(states) = self.states(c, None).await
                    && !states.outdated.is_empty()
                {
                    let projector = self.clone();
                    rebuilding = Some(tokio::spawn(async move {
                        if let Err(err) =
                            rebuild::build_outdated(&projector, &states, Duration::ZERO).await
                        {
                            tracing::warn!(error = %err, "projector: rebuilding outdated tables failed");
                        }
                    }));
                }
            }
            let stepped = self.step(c, batches.as_mut(), &mut ahead).await;
            if self.db.target.memory {
                // SQLite in memory has one connection: the event store needs it
                // between batches.
                conn = None;
            }
            match stepped {
                Ok(step @ (Step::Projected(_) | Step::Raced)) => {
                    backoff = FIRST_BACKOFF;
                    if matches!(step, Step::Projected(p) if p.entries < self.batch as u64) {
                        pause(&mut stopped, LINGER).await;
                    }
                }
                Ok(Step::Idle) | Ok(Step::NothingCurrent) => {
                    // The database answered: a failure after this one is
                    // a new outage, not the same one.
                    backoff = FIRST_BACKOFF;
                    tokio::select! {
                        _ = self.shared.appended.notified() => {}
                        _ = tokio::time::sleep(IDLE_POLL) => {}
                        _ = stopped.changed() => {}
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "projector: a batch failed; retrying");
                    if err.is_transient() {
                        conn = None;
                    }
                    pause(&mut stopped, backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        self.shared.backlog.projecting(None);
        if let Some(c) = conn.as_mut() {
            self.drop_role(c).await;
        }
        if let Some(task) = rebuilding {
            task.abort();
        }
    }

    /// The projector's connections: one for everything, and (but on SQLite
    /// in memory) one its batches are written on ([`Db::batch_writer`]).
    async fn connections(&self) -> Result<(Conn, Option<BatchWriter>), SinkError> {
        Ok((
            self.db.derived_writer().await?,
            self.db.batch_writer().await?,
        ))
    }

    /// The projector's role: PostgreSQL's advisory lock (held by the
    /// connection until it closes or [`Projector::drop_role`]); on SQLite,
    /// whose writers take turns anyway, always granted.
    async fn take_role(&self, conn: &mut AnyConnection) -> Result<bool, SinkError> {
        if self.db.backend != Backend::Postgres {
            return Ok(true);
        }
        query(
            "SELECT CAST(pg_try_advisory_lock(CAST($1 AS INTEGER), hashtext(current_schema())) AS INTEGER)",
            vec![PROJECTOR_LOCK.into()],
        )
        .fetch_one(&mut *conn)
        .await
        .and_then(|row| row.try_get::<i32, _>(0))
        .map(|got| got == 1)
        .map_err(|e| self.db.error("taking the projector's lock", e))
    }

    async fn drop_role(&self, conn: &mut AnyConnection) {
        if self.db.backend == Backend::Postgres {
            let _ = query(
                "SELECT pg_advisory_unlock(CAST($1 AS INTEGER), hashtext(current_schema()))",
                vec![PROJECTOR_LOCK.into()],
            )
            .execute(&mut *conn)
            .await;
        }
    }

    /// Waits until the watermark reaches `target`; returns it.
    async fn wait_for(
        &self,
        conn: &mut AnyConnection,
        target: i64,
        wait: Duration,
    ) -> Result<i64, SinkError> {
        let deadline = Instant::now() + wait;
        loop {
            let watermark = self.watermark(conn).await?;
            if watermark >= target || Instant::now() >= deadline {
                return Ok(watermark);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn watermark(&self, conn: &mut AnyConnection) -> Result<i64, SinkError> {
        let (watermark, _) = positions(conn, self.db.backend, false)
            .await
            .map_err(|e| self.db.error("reading the watermark", e))?;
        Ok(watermark)
    }

    /// The table states, reloaded when the generation is not `generation`.
    async fn states(
        &self,
        conn: &mut AnyConnection,
        generation: Option<i64>,
    ) -> Result<TableStates, SinkError> {
        if let Some(generation) = generation
            && let Some(states) = self
                .shared
                .states
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .filter(|s| s.generation == generation)
        {
            return Ok(states.clone());
        }
        let states = TableStates::load(conn)
            .await
            .map_err(|e| self.db.error("reading the table states", e))?;
        *self.shared.states.lock().unwrap_or_else(|e| e.into_inner()) = Some(states.clone());
        Ok(states)
    }

    /// Projects one batch: the one read ahead during the last step if there
    /// is one (topped up to a full batch), else one read now. Where batches
    /// are written on a connection of their own (all but SQLite in memory),
    /// the next batch is read (on `conn`, or on an SQLite file on the batch
    /// writer's log reader) and derived while this one is written: reading,
    /// decoding and deriving overlap with writing and committing instead of
    /// taking turns.
    async fn step(
        &self,
        conn: &mut AnyConnection,
        mut batches: Option<&mut BatchWriter>,
        ahead: &mut Option<Prepared>,
    ) -> Result<Step, SinkError> {
        let _turn = self.shared.turn.lock().await;
        let reader = batches.as_deref().and_then(BatchWriter::log_reader);
        let reader = reader.as_ref();
        let mut batch = match ahead.take() {
            Some(read) => self.top_up(conn, reader, read).await?,
            None => match self.prepare(conn, reader).await? {
                Ok(batch) => batch,
                Err(step) => return Ok(step),
            },
        };
        let rows = std::mem::take(&mut batch.derived.rows);
        let (written, next) = match batches.as_deref_mut() {
            Some(writer) => tokio::join!(
                self.commit(Writing::of(writer), &batch, rows),
                self.read_after(conn, reader, &batch, self.batch)
            ),
            None => (
                self.commit(Writing::Any(conn), &batch, rows).await,
                Ok(None),
            ),
        };
        if let (Ok(Step::Projected(_)), Ok(next)) = (&written, next) {
            *ahead = next;
        }
        match written {
            Err(err) if batch.entries.len() > 1 && !err.is_transient() => {
                // Something in one entry the database refuses: the entries
                // one by one, so the others are not held up by it.
                tracing::warn!(error = %err, "projector: a batch failed; projecting its entries one by one");
                let mut total = Projected::default();
                let (mut at, generation) = batch.after;
                for entry in batch.entries {
                    let mut one =
                        Prepared::derive((at, generation), batch.targets.clone(), vec![entry])
                            .await?;
                    let rows = std::mem::take(&mut one.derived.rows);
                    let on = match batches.as_deref_mut() {
                        Some(writer) => Writing::of(writer),
                        None => Writing::Any(&mut *conn),
                    };
                    let step = match self.commit(on, &one, rows).await {
                        Ok(Step::Projected(step)) => step,
                        Ok(other) => return Ok(other),
                        Err(err) if !err.is_transient() => self.refuse(conn, &one, &err).await?,
                        Err(err) => return Err(err),
                    };
                    at = step.watermark;
                    total.entries += step.entries;
                    total.errors += step.errors;
                    total.watermark = step.watermark;
                    total.applied += step.applied;
                    total.lag_ms = step.lag_ms;
                }
                Ok(Step::Projected(total))
            }
            other => other,
        }
    }

    /// Reads the next batch after the stored watermark and derives it; the
    /// step to report instead when there is nothing to project.
    async fn prepare(
        &self,
        conn: &mut AnyConnection,
        reader: Option<&Direct>,
    ) -> Result<Result<Prepared, Step>, SinkError> {
        let doing = "projecting a batch";
        let after = positions(conn, self.db.backend, false)
            .await
            .map_err(|e| self.db.error(doing, e))?;
        let states = self.states(conn, Some(after.1)).await?;
        if states.current.is_empty() {
            return Ok(Err(Step::NothingCurrent));
        }
        let targets = Targets::live(self.db.backend, &states.current);
        let entries = self.read_log(conn, reader, after.0, self.batch).await?;
        if entries.is_empty() {
            return Ok(Err(Step::Idle));
        }
        Ok(Ok(Prepared::derive(after, targets, entries).await?))
    }

    /// Up to `limit` entries after `batch`, derived as the batch that
    /// follows it (`None` when there are none yet).
    async fn read_after(
        &self,
        conn: &mut AnyConnection,
        reader: Option<&Direct>,
        batch: &Prepared,
        limit: usize,
    ) -> Result<Option<Prepared>, SinkError> {
        let Some(last) = batch.entries.last().map(log::Entry::position) else {
            return Ok(None);
        };
        let entries = self.read_log(conn, reader, last, limit).await?;
        if entries.is_empty() {
            return Ok(None);
        }
        let after = (last, batch.after.1);
        Ok(Some(
            Prepared::derive(after, batch.targets.clone(), entries).await?,
        ))
    }

    /// Up to `limit` log entries after position `after`: on `reader` where
    /// the batches have one ([`BatchWriter::log_reader`]), else on `conn`.
    async fn read_log(
        &self,
        conn: &mut AnyConnection,
        reader: Option<&Direct>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<log::Entry>, SinkError> {
        let read = match reader {
            Some(direct) => direct
                .read(async move |r: &mut dyn Writer| {
                    log::read(r, after, i64::MAX, limit).await.map(Some)
                })
                .await
                .map(Option::unwrap_or_default),
            None => log::read(conn, after, i64::MAX, limit).await,
        };
        read.map_err(|e| self.db.error("reading the log", e))
    }

    /// `batch` with the entries logged since it was read, up to a full
    /// batch (it was read while the one before it was written, so it holds
    /// only what had arrived by then).
    async fn top_up(
        &self,
        conn: &mut AnyConnection,
        reader: Option<&Direct>,
        mut batch: Prepared,
    ) -> Result<Prepared, SinkError> {
        let room = self.batch.saturating_sub(batch.entries.len());
        if room > 0
            && let Some(more) = self.read_after(conn, reader, &batch, room).await?
        {
            batch.extend(more);
        }
        Ok(batch)
    }

    /// Writes `batch` and its watermark, if the watermark is still the one
    /// it follows (and the tables of its generation).
    async fn commit(
        &self,
        on: Writing<'_>,
        batch: &Prepared,
        rows: crate::normalise::Rows,
    ) -> Result<Step, SinkError> {
        let derived = &batch.derived;
        let Some((last, logged_at)) = derived.last else {
            return Ok(Step::Idle);
        };
        let Some(applied) = self
            .write_batch(on, batch.after, rows, &batch.targets, last)
            .await?
        else {
            return Ok(Step::Raced);
        };
        let step = Projected {
            entries: derived.entries,
            errors: derived.errors,
            watermark: last,
            applied,
            lag_ms: now_millis().saturating_sub(logged_at),
        };
        let mut stats = self.shared.stats.lock().unwrap_or_else(|e| e.into_inner());
        stats.batches += 1;
        stats.entries += step.entries;
        stats.errors += step.errors;
        stats.watermark = last;
        stats.last_lag_ms = step.lag_ms;
        drop(stats);
        self.shared.backlog.projected(last);
        Ok(Step::Projected(step))
    }

    /// Writes `rows` and moves the watermark to `last` in one transaction
    /// on `on`, if the watermark and generation are still `expected`;
    /// `None` when another projector moved them meanwhile.
    async fn write_batch(
        &self,
        on: Writing<'_>,
        expected: (i64, i64),
        rows: crate::normalise::Rows,
        targets: &Targets,
        last: i64,
    ) -> Result<Option<Applied>, SinkError> {
        let doing = "projecting a batch";
        let _turn = self.db.turns.background().await;
        let begin = self.db.backend.begin_write();
        let written = match on {
            Writing::Any(conn) => {
                in_transaction(conn, begin, self.db.backend, expected, rows, targets, last).await
            }
            Writing::Postgres(conn) => {
                in_transaction(conn, begin, self.db.backend, expected, rows, targets, last).await
            }
            Writing::Sqlite(direct, checkpointer) => {
                let (backend, targets) = (self.db.backend, targets.clone());
                let written = direct
                    .transaction(async move |tx: &mut dyn Writer| {
                        write_checked(tx, backend, expected, rows, &targets, last).await
                    })
                    .await;
                if matches!(written, Ok(Some(_))) {
                    checkpointer.nudge();
                }
                written
            }
        };
        written.map_err(|e| self.db.error(doing, e))
    }

    /// Records the entry of `one` (a batch of one the database refused) as
    /// a projection error and moves the watermark past it.
    async fn refuse(
        &self,
        conn: &mut AnyConnection,
        one: &Prepared,
        err: &SinkError,
    ) -> Result<Projected, SinkError> {
        let doing = "recording a projection error";
        let Some(entry) = one.entries.first() else {
            return Ok(Projected::default());
        };
        tracing::warn!(position = entry.position(), error = %err, "projector: entry refused by the database");
        let (log, id, kind) = match entry {
            log::Entry::Event {
                event_id,
                event_type,
                ..
            } => ("events", event_id.clone(), event_type.clone()),
            log::Entry::Pulled { operation, .. } => {
                ("pull_log", operation.clone(), operation.clone())
            }
        };
        let mut rows = crate::normalise::Rows::default();
        rows.errors.push(crate::normalise::ErrorRow {
            position: entry.position(),
            log,
            entry_id: id,
            entry_type: kind,
            path: None,
            message: format!("the database refused its rows: {err}"),
            logged_at: entry.logged_at(),
        });
        let written = self
            .write_batch(
                Writing::Any(conn),
                one.after,
                rows,
                &one.targets,
                entry.position(),
            )
            .await?;
        if written.is_none() {
            return Err(SinkError::Database {
                doing,
                source: "another projector moved the watermark".into(),
            });
        }
        Ok(Projected {
            entries: 1,
            errors: 1,
            watermark: entry.position(),
            applied: Applied::default(),
            lag_ms: 0,
        })
    }
}

/// A batch read from the log and derived, not yet written.
struct Prepared {
    /// The watermark and generation it follows: it is written only if they
    /// are still the stored ones.
    after: (i64, i64),
    targets: Targets,
    entries: Vec<log::Entry>,
    derived: derive::Derived,
}

impl Prepared {
    /// Derives `entries` (off the async threads when there are many: it is
    /// the projector's heaviest work in the process).
    async fn derive(
        after: (i64, i64),
        targets: Targets,
        entries: Vec<log::Entry>,
    ) -> Result<Prepared, SinkError> {
        let (entries, derived) = if entries.len() > 64 {
            tokio::task::spawn_blocking(move || {
                let derived = derive::derive(&entries);
                (entries, derived)
            })
            .await
            .map_err(|e| SinkError::Database {
                doing: "deriving a batch's rows",
                source: Box::new(e),
            })?
        } else {
            let derived = derive::derive(&entries);
            (entries, derived)
        };
        Ok(Prepared {
            after,
            targets,
            entries,
            derived,
        })
    }

    /// Appends `next`, the batch that follows this one.
    fn extend(&mut self, next: Prepared) {
        self.entries.extend(next.entries);
        self.derived.append(next.derived);
    }
}

/// The connection a batch is written on: the projector's own, or its
/// [`BatchWriter`] ([`crate::writer`]).
enum Writing<'c> {
    Any(&'c mut AnyConnection),
    Postgres(&'c mut PgConnection),
    Sqlite(&'c Direct, &'c Checkpointer),
}

impl<'c> Writing<'c> {
    fn of(writer: &'c mut BatchWriter) -> Writing<'c> {
        match writer {
            BatchWriter::Postgres(conn) => Writing::Postgres(conn),
            BatchWriter::Sqlite {
                writer,
                checkpointer,
                ..
            } => Writing::Sqlite(writer, checkpointer),
        }
    }
}

/// [`Projector::write_batch`] on `conn`, in a transaction begun with
/// `begin` and committed if it wrote (dropped unfinished — an error, a
/// race — it rolls back).
async fn in_transaction<C>(
    conn: &mut C,
    begin: &'static str,
    backend: Backend,
    expected: (i64, i64),
    rows: crate::normalise::Rows,
    targets: &Targets,
    last: i64,
) -> Result<Option<Applied>, sqlx::Error>
where
    C: Connection,
    <C::Database as sqlx::Database>::Connection: Writer,
{
    let mut tx = conn.begin_with(begin).await?;
    let written = write_checked(&mut *tx, backend, expected, rows, targets, last).await?;
    if written.is_some() {
        tx.commit().await?;
    }
    Ok(written)
}

/// Inside a write transaction: writes `rows` and moves the watermark to
/// `last`, if the watermark and generation are still `expected`.
async fn write_checked(
    tx: &mut dyn Writer,
    backend: Backend,
    expected: (i64, i64),
    rows: crate::normalise::Rows,
    targets: &Targets,
    last: i64,
) -> Result<Option<Applied>, sqlx::Error> {
    if positions(tx, backend, true).await? != expected {
        return Ok(None);
    }
    let applied = write::apply(tx, rows, targets).await?;
    advance(tx, last).await?;
    Ok(Some(applied))
}

/// Sleeps `d`, or until stopped.
async fn pause(stopped: &mut watch::Receiver<bool>, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stopped.changed() => {}
    }
}

/// The watermark and the generation, locked until the transaction ends
/// when `lock` (PostgreSQL; SQLite's write transaction holds everything).
pub(crate) async fn positions(
    conn: &mut dyn Writer,
    backend: Backend,
    lock: bool,
) -> Result<(i64, i64), sqlx::Error> {
    let sql = format!(
        "SELECT name, value FROM sink_state WHERE name IN ('watermark', 'generation') \
         ORDER BY name{}",
        if lock { backend.for_update() } else { "" }
    );
    let mut watermark = 0;
    let mut generation = 0;
    for row in conn.fetch_all(&sql, vec![]).await? {
        let name = row.text(0)?;
        let value = row.int(1)?;
        match name.as_str() {
            "watermark" => watermark = value.unwrap_or(0),
            _ => generation = value.unwrap_or(0),
        }
    }
    Ok((watermark, generation))
}

/// Moves the watermark to `to` and notes who projected, when.
async fn advance(conn: &mut dyn Writer, to: i64) -> Result<(), sqlx::Error> {
    let now = now_millis();
    conn.execute(
        "UPDATE sink_state SET value = $1, updated_at = $2 WHERE name = 'watermark'",
        vec![to.into(), now.into()],
    )
    .await?;
    note(conn, "projector", Some(to), &whoami(), now).await
}

/// Upserts a named row of `sink_state`.
pub(crate) async fn note(
    conn: &mut dyn Writer,
    name: &str,
    value: Option<i64>,
    detail: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    conn.execute(
        &format!(
            "{} VALUES ($1, $2, $3, $4){}",
            SINK_STATE.insert_head("sink_state"),
            SINK_STATE.upsert_tail("sink_state", &[])
        ),
        vec![name.into(), value.into(), detail.into(), at.into()],
    )
    .await?;
    Ok(())
}

/// A projector running in the background ([`Projector::spawn`]). Dropping
/// it tells the projector to stop after the batch in flight;
/// [`shutdown`](ProjectorHandle::shutdown) does too, and returns once it
/// has.
#[derive(Debug)]
pub struct ProjectorHandle {
    stop: watch::Sender<bool>,
    /// Resolves (its sender dropped) once the projector has stopped.
    finished: Option<tokio::sync::oneshot::Receiver<()>>,
    projector: Projector,
}

impl ProjectorHandle {
    /// The counters of this process's projectors so far.
    pub fn stats(&self) -> ProjectorStats {
        self.projector.stats()
    }

    /// Stops after the batch in flight; returns once stopped.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(finished) = self.finished.take() {
            let _ = finished.await;
        }
    }
}

impl Drop for ProjectorHandle {
    /// Tells the projector to stop after the batch in flight, without
    /// waiting for it (a batch cut short would roll back anyway).
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
