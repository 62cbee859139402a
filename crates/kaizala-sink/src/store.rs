//! [`SqlEventStore`]: the webhook receiver's durable store — an append to
//! the event log, with group commit.
//!
//! Every `store` call hands its event to one writer task and waits. The
//! writer takes what is queued (up to [`MAX_BATCH`] events) and appends it
//! all in one transaction — each event into `events`, head columns and body
//! as received, unless its `eventId` is there already — commits, and only
//! then answers each caller: [`Stored::New`] or [`Stored::Duplicate`].
//! Nothing else happens before the answer: the typed tables are the
//! projector's work, off the request path ([`crate::project`]). One commit
//! (one `fsync`) serves a whole batch, so throughput grows with concurrency
//! instead of being capped by the disk's sync rate. If the transaction
//! fails, no event of the batch was stored, and every one gets the error
//! (the receiver answers 503 and the platform delivers them again) —
//! unless the failure was not the database's (not a lost connection, a
//! lock or a deadlock): then each caller's events are tried again in a
//! transaction of their own, so one event the database rejects does not
//! fail the others it was batched with.
//!
//! On an SQLite file the transaction runs on the log file's own connection
//! (`Db::appender`, `crate::direct`), in one hop to its thread instead of
//! one per statement: every event of a batch waits for the hops.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use kaizala_webhook::store::{EventStore, IncomingEvent, QuarantinedBody, StoreError, Stored};
use tokio::sync::{mpsc, oneshot};

use crate::db::{Backend, Db, millis};
use crate::error::SinkError;
use crate::log;
use crate::project::Shared;
use crate::schema::tables::{EVENTS, QUARANTINE};
use crate::write::{Arg, insert_counted, query};
use crate::writer::Writer;

/// The most events one transaction takes.
pub const MAX_BATCH: usize = 256;

/// How many times a batch whose transaction hit a deadlock or a busy
/// SQLite is tried before its events fail.
const ATTEMPTS: u32 = 3;

/// How long an event handed out by [`EventQueue::due`] stays claimed
/// before it is due again (should its handler's process die).
///
/// [`EventQueue::due`]: kaizala_webhook::store::EventQueue::due
pub const DEFAULT_CLAIM_LEASE: Duration = Duration::from_secs(300);

/// Counters of a [`SqlEventStore`], for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct StoreStats {
    /// Transactions committed (each a batch of events).
    pub batches: u64,
    /// Batches whose transaction failed (their events got an error).
    pub failed_batches: u64,
    /// Events written in committed batches (new and duplicate).
    pub events: u64,
    /// Events stored for the first time.
    pub new: u64,
    /// Events that were already stored.
    pub duplicates: u64,
    /// The largest batch committed.
    pub largest_batch: u64,
    /// Times appends waited for this process's projector, which had fallen
    /// a few batches behind ([`crate::project`]'s backlog).
    pub projection_waits: u64,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    failed_batches: AtomicU64,
    events: AtomicU64,
    new: AtomicU64,
    duplicates: AtomicU64,
    largest_batch: AtomicU64,
    projection_waits: AtomicU64,
}

struct Job {
    events: Vec<IncomingEvent>,
    reply: oneshot::Sender<Result<Vec<Stored>, Arc<SinkError>>>,
}

/// The [`EventStore`] and [`EventQueue`] of a [`Sink`](crate::Sink):
/// events appended to the event log with group commit (see the [module
/// docs](crate::store)); the handler queue beside it.
///
/// Get one from [`Sink::event_store`](crate::Sink::event_store); clones
/// share the writer. Several processes may store into one PostgreSQL
/// database at once: each `eventId` is stored, and reported
/// [`Stored::New`], exactly once across them.
///
/// [`EventQueue`]: kaizala_webhook::store::EventQueue
#[derive(Clone)]
pub struct SqlEventStore {
    pub(crate) db: Db,
    sender: mpsc::Sender<Job>,
    counters: Arc<Counters>,
    pub(crate) claim_lease: Duration,
}

impl std::fmt::Debug for SqlEventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlEventStore")
            .field("backend", &self.db.backend)
            .field("database", &self.db.target.display)
            .field("stats", &self.stats())
            .finish()
    }
}

impl SqlEventStore {
    /// Starts the writer task (on the current tokio runtime); the
    /// projection's `shared` state is told of every commit that stored a
    /// new event, and holds appends back while this process's projector is
    /// too far behind.
    pub(crate) fn start(db: Db, shared: Arc<Shared>) -> SqlEventStore {
        let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
        let counters = Arc::new(Counters::default());
        tokio::spawn(writer(db.clone(), receiver, Arc::clone(&counters), shared));
        SqlEventStore {
            db,
            sender,
            counters,
            claim_lease: DEFAULT_CLAIM_LEASE,
        }
    }

    /// The same store with another claim lease for
    /// [`EventQueue::due`](kaizala_webhook::store::EventQueue::due)
    /// (default [`DEFAULT_CLAIM_LEASE`]).
    pub fn with_claim_lease(mut self, lease: Duration) -> SqlEventStore {
        self.claim_lease = lease;
        self
    }

    /// The database engine.
    pub fn backend(&self) -> Backend {
        self.db.backend
    }

    /// The counters so far.
    pub fn stats(&self) -> StoreStats {
        let c = &self.counters;
        StoreStats {
            batches: c.batches.load(Ordering::Relaxed),
            failed_batches: c.failed_batches.load(Ordering::Relaxed),
            events: c.events.load(Ordering::Relaxed),
            new: c.new.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            largest_batch: c.largest_batch.load(Ordering::Relaxed),
            projection_waits: c.projection_waits.load(Ordering::Relaxed),
        }
    }

    /// Stores several events in one transaction (with whatever else is
    /// queued): all or none. The answer has one entry per event, in order;
    /// of events sharing an id, the first is [`Stored::New`] (if none was
    /// stored before) and the others [`Stored::Duplicate`].
    pub async fn store_batch(&self, events: &[IncomingEvent]) -> Result<Vec<Stored>, SinkError> {
        self.write(events.to_vec()).await
    }

    /// Hands events to the writer and waits for the commit.
    async fn write(&self, events: Vec<IncomingEvent>) -> Result<Vec<Stored>, SinkError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        let job = Job { events, reply };
        self.sender
            .send(job)
            .await
            .map_err(|_| SinkError::WriterStopped)?;
        match answer.await {
            Ok(Ok(stored)) => Ok(stored),
            Ok(Err(err)) => Err(shared_error(&err)),
            Err(_) => Err(SinkError::WriterStopped),
        }
    }

    /// Keeps a body in `quarantine`.
    async fn insert_quarantined(&self, body: &QuarantinedBody) -> Result<(), SinkError> {
        let columns = "body, reason_code, reason, received_at";
        debug_assert_eq!(QUARANTINE.columns.len(), 5);
        query(
            &format!("INSERT INTO quarantine ({columns}) VALUES ($1, $2, $3, $4)"),
            vec![
                body.body.to_vec().into(),
                body.reason_code.into(),
                (&body.reason).into(),
                millis(body.received_at).into(),
            ],
        )
        .execute(&self.db.log_pool)
        .await
        .map_err(|e| self.db.log_error("quarantining a body", e))?;
        Ok(())
    }
}

/// A copy of an error shared by every event of a failed batch.
fn shared_error(err: &Arc<SinkError>) -> SinkError {
    match &**err {
        SinkError::WriterStopped => SinkError::WriterStopped,
        other => SinkError::Database {
            doing: "storing a batch of events",
            source: Box::new(SharedError(Arc::clone(err), other.to_string())),
        },
    }
}

/// An error that failed a whole batch, shared by its events.
#[derive(Debug)]
struct SharedError(Arc<SinkError>, String);

impl std::fmt::Display for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.0)
    }
}

pub(crate) fn to_store_error(err: SinkError) -> StoreError {
    StoreError::caused_by(err.to_string(), err)
}

#[async_trait]
impl EventStore for SqlEventStore {
    async fn store(&self, event: &IncomingEvent) -> Result<Stored, StoreError> {
        let stored = self
            .store_batch(std::slice::from_ref(event))
            .await
            .map_err(to_store_error)?;
        Ok(stored[0])
    }

    async fn quarantine(&self, body: &QuarantinedBody) -> Result<(), StoreError> {
        self.insert_quarantined(body).await.map_err(to_store_error)
    }
}

/// The writer task: batch, write, commit, answer; until every store handle
/// is gone.
async fn writer(
    db: Db,
    mut receiver: mpsc::Receiver<Job>,
    counters: Arc<Counters>,
    shared: Arc<Shared>,
) {
    while let Some(first) = receiver.recv().await {
        // Events keep arriving while it waits: the batch only grows.
        if shared.backlog.room().await {
            counters.projection_waits.fetch_add(1, Ordering::Relaxed);
        }
        let mut count = first.events.len();
        let mut jobs = vec![first];
        while count < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => {
                    count += job.events.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let events: Vec<&IncomingEvent> = jobs.iter().flat_map(|j| &j.events).collect();
        match write_with_retries(&db, &events).await {
            Ok((stored, last)) => {
                committed(&counters, &shared, &stored, last);
                let mut stored = stored.into_iter();
                for job in jobs {
                    let answer: Vec<Stored> = stored.by_ref().take(job.events.len()).collect();
                    let _ = job.reply.send(Ok(answer));
                }
            }
            Err(err) if jobs.len() > 1 && !err.is_transient() => {
                // Something in one caller's events, not the database: give
                // each caller a transaction of its own, so one bad event
                // does not keep failing the others it was batched with.
                tracing::warn!(error = %err, jobs = jobs.len(), "a batch failed; retrying its events apart");
                counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                for job in jobs {
                    let events: Vec<&IncomingEvent> = job.events.iter().collect();
                    let result = write_with_retries(&db, &events).await;
                    match &result {
                        Ok((stored, last)) => committed(&counters, &shared, stored, *last),
                        Err(_) => {
                            counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    let _ = job
                        .reply
                        .send(result.map(|(stored, _)| stored).map_err(Arc::new));
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, events = events.len(), "a batch of events failed");
                counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                let err = Arc::new(err);
                for job in jobs {
                    let _ = job.reply.send(Err(Arc::clone(&err)));
                }
            }
        }
    }
}

/// What follows an append that committed, up to log position `last`: it
/// is counted, the backlog grows, and the projector wakes if an event was
/// new.
fn committed(counters: &Counters, shared: &Shared, stored: &[Stored], last: i64) {
    counters.committed(stored);
    shared.backlog.appended(last);
    if stored.contains(&Stored::New) {
        shared.appended.notify_one();
    }
}

impl Counters {
    fn committed(&self, stored: &[Stored]) {
        let new = stored.iter().filter(|s| **s == Stored::New).count() as u64;
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.events
            .fetch_add(stored.len() as u64, Ordering::Relaxed);
        self.new.fetch_add(new, Ordering::Relaxed);
        self.duplicates
            .fetch_add(stored.len() as u64 - new, Ordering::Relaxed);
        self.largest_batch
            .fetch_max(stored.len() as u64, Ordering::Relaxed);
    }
}

/// [`write_batch`], tried again after a deadlock or a busy database.
async fn write_with_retries(
    db: &Db,
    events: &[&IncomingEvent],
) -> Result<(Vec<Stored>, i64), SinkError> {
    let mut attempt = 1;
    loop {
        match write_batch(db, events).await {
            Err(err) if attempt < ATTEMPTS && err.is_transient() => {
                tracing::debug!(attempt, error = %err, "retrying a batch of events");
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Appends one batch in one transaction; the answer per event, in order,
/// and the last position it took.
async fn write_batch(db: &Db, events: &[&IncomingEvent]) -> Result<(Vec<Stored>, i64), SinkError> {
    // The first of each id is a candidate; later ones are duplicates.
    let mut seen = HashSet::new();
    let first: Vec<bool> = events.iter().map(|e| seen.insert(e.event_id())).collect();
    let rows: Vec<Vec<Arg>> = events
        .iter()
        .zip(&first)
        .filter(|(_, first)| **first)
        .map(|(e, _)| event_args(e))
        .collect();
    let candidates = rows.len();

    let _turn = db.log_turns.ack().await;
    let appended = match &db.appender {
        Some(direct) => direct
            .transaction(async move |tx: &mut dyn Writer| append(tx, rows).await.map(Some))
            .await
            .map_err(|e| db.log_error("appending events", e))?
            .ok_or_else(|| SinkError::Database {
                doing: "appending events",
                source: "the append's transaction was not committed".into(),
            })?,
        None => {
            let mut tx = db
                .log_pool
                .begin_with(db.backend.begin_write())
                .await
                .map_err(|e| db.log_error("starting a transaction", e))?;
            let appended = append(&mut *tx, rows)
                .await
                .map_err(|e| db.log_error("appending events", e))?;
            tx.commit()
                .await
                .map_err(|e| db.log_error("committing events", e))?;
            appended
        }
    };

    let stored = events
        .iter()
        .zip(first)
        .map(|(event, first)| {
            let new = match &appended.inserted {
                None => first,
                Some(inserted) => first && inserted.contains(event.event_id()),
            };
            if new { Stored::New } else { Stored::Duplicate }
        })
        .collect();
    Ok((stored, appended.start + candidates as i64 - 1))
}

/// What [`append`] did.
struct Appended {
    /// The first position it took.
    start: i64,
    /// The ids it stored, when some of the rows were not (`None`: all were).
    inserted: Option<HashSet<String>>,
}

/// Appends `rows` (from [`event_args`], each with a distinct `eventId`)
/// inside the caller's transaction, at positions in their order (the
/// position of an id stored already stays unused).
async fn append(tx: &mut dyn Writer, mut rows: Vec<Vec<Arg>>) -> Result<Appended, sqlx::Error> {
    let start = log::reserve(tx, rows.len()).await?;
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = (start + i as i64).into();
    }
    let candidates = rows.len() as u64;
    let appended = insert_counted(
        tx,
        &EVENTS,
        "events",
        " ON CONFLICT (event_id) DO NOTHING",
        rows,
    )
    .await?;
    // Which were new, only asked when some were not: `RETURNING` would
    // cost every batch a decoded row per event.
    let inserted = if appended == candidates {
        None
    } else {
        let last = start + candidates as i64 - 1;
        let rows = tx
            .fetch_all(
                "SELECT event_id FROM events WHERE position BETWEEN $1 AND $2",
                vec![start.into(), last.into()],
            )
            .await?;
        Some(
            rows.iter()
                .map(|row| row.text(0))
                .collect::<Result<_, _>>()?,
        )
    };
    Ok(Appended { start, inserted })
}

/// The values of `events`' columns for `incoming`, its position left for
/// [`append`] to set.
fn event_args(incoming: &IncomingEvent) -> Vec<Arg> {
    let payload = match std::str::from_utf8(&incoming.body) {
        Ok(text) => text.to_owned(),
        // The receiver only passes UTF-8 JSON; a hand-made event may not be.
        Err(_) => String::from_utf8_lossy(&incoming.body).into_owned(),
    };
    vec![
        Arg::Int(None),
        incoming.event_id().into(),
        incoming.event_type().to_string().into(),
        millis(incoming.received_at).into(),
        payload.into(),
    ]
}
