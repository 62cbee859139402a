//! The handler queue of [`SqlEventStore`], in `handler_queue`: one row per
//! event its handler has still to run for — `due_at` (when it should run
//! next), `attempts`, `dead_at`, `last_error`; a handled event's row is
//! deleted.
//!
//! Events enter the queue from the event log, not on the request path:
//! each [`due`](EventQueue::due) first moves what was logged after
//! `handler_watermark` into the queue (positions become visible in order,
//! so nothing is skipped). A database whose events no handler ever asked
//! for keeps an empty queue.
//!
//! [`due`](EventQueue::due) claims what it hands out by moving its
//! `due_at` a lease ahead ([`SqlEventStore::with_claim_lease`]): the
//! processor reports on it long before that, and should its process die,
//! the event is due again when the lease runs out instead of being lost.
//! The claim is one conditional `UPDATE` per batch, so processors of
//! several replicas on one PostgreSQL never get the same event at once.

use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use kaizala_webhook::store::{DeadLetter, EventQueue, PendingEvent, StoreError};
use sqlx::Row;

use crate::db::{from_millis, millis};
use crate::schema::tables::HANDLER_QUEUE;
use crate::store::{SqlEventStore, to_store_error};
use crate::write::{Arg, query};

/// Events moved from the log into the queue per call.
const ENQUEUE: i64 = 10_000;

impl SqlEventStore {
    fn queue_error(&self, doing: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
        move |e| to_store_error(self.db.error(doing, e))
    }

    async fn update_one(
        &self,
        sql: &str,
        args: Vec<Arg>,
        event_id: &str,
    ) -> Result<(), StoreError> {
        let changed = query(sql, args)
            .execute(&self.db.pool)
            .await
            .map_err(self.queue_error("updating the handler queue"))?
            .rows_affected();
        if changed == 0 {
            return Err(StoreError::new(format!(
                "no event {event_id:?} waits for its handler"
            )));
        }
        Ok(())
    }

    /// Moves events logged since the last call into the queue, due at once.
    async fn enqueue_logged(&self) -> Result<(), StoreError> {
        let doing = "queueing logged events for their handlers";
        let db = &self.db;
        let mut tx = db
            .pool
            .begin_with(db.backend.begin_write())
            .await
            .map_err(self.queue_error(doing))?;
        let watermark: i64 = query(
            &format!(
                "SELECT value FROM sink_state WHERE name = 'handler_watermark'{}",
                db.backend.for_update()
            ),
            vec![],
        )
        .fetch_one(&mut *tx)
        .await
        .and_then(|row| row.try_get::<Option<i64>, _>(0))
        .map_err(self.queue_error(doing))?
        .unwrap_or(0);
        let last: Option<i64> = query(
            "SELECT MAX(position) FROM (SELECT position FROM events WHERE position > $1 \
             ORDER BY position LIMIT $2) AS next",
            vec![watermark.into(), ENQUEUE.into()],
        )
        .fetch_one(&mut *tx)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(self.queue_error(doing))?;
        let Some(last) = last else {
            return Ok(());
        };
        query(
            &format!(
                "{} SELECT event_id, position, 0, received_at, NULL, NULL FROM events \
                 WHERE position > $1 AND position <= $2 ON CONFLICT (event_id) DO NOTHING",
                HANDLER_QUEUE.insert_head("handler_queue")
            ),
            vec![watermark.into(), last.into()],
        )
        .execute(&mut *tx)
        .await
        .map_err(self.queue_error(doing))?;
        query(
            "UPDATE sink_state SET value = $1 WHERE name = 'handler_watermark'",
            vec![last.into()],
        )
        .execute(&mut *tx)
        .await
        .map_err(self.queue_error(doing))?;
        tx.commit().await.map_err(self.queue_error(doing))?;
        Ok(())
    }
}

#[async_trait]
impl EventQueue for SqlEventStore {
    async fn due(&self, now: SystemTime, limit: usize) -> Result<Vec<PendingEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.enqueue_logged().await?;
        let now = millis(now);
        let candidates = query(
            "SELECT position FROM handler_queue WHERE dead_at IS NULL \
             AND due_at <= $1 ORDER BY due_at, position LIMIT $2",
            vec![now.into(), (limit.min(10_000) as i64).into()],
        )
        .fetch_all(&self.db.pool)
        .await
        .map_err(self.queue_error("reading due events"))?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = candidates
            .iter()
            .map(|row| row.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()
            .map_err(self.queue_error("reading due events"))?;
        // Claim them, unless another processor did in between.
        let lease_until = now.saturating_add(self.claim_lease.as_millis() as i64);
        let list = (0..ids.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "UPDATE handler_queue SET due_at = $1 WHERE position IN ({list}) \
             AND dead_at IS NULL AND due_at <= $2 RETURNING position, event_id, attempts"
        );
        let mut args: Vec<Arg> = vec![lease_until.into(), now.into()];
        args.extend(ids.iter().map(|id| Arg::from(*id)));
        let claimed = query(&sql, args)
            .fetch_all(&self.db.pool)
            .await
            .map_err(self.queue_error("claiming due events"))?;
        let mut by_position = std::collections::HashMap::new();
        for row in claimed {
            let read = || -> Result<(i64, String, u32), sqlx::Error> {
                Ok((
                    row.try_get::<i64, _>(0)?,
                    row.try_get(1)?,
                    u32::try_from(row.try_get::<i64, _>(2)?).unwrap_or(u32::MAX),
                ))
            };
            let (position, event_id, attempts) =
                read().map_err(self.queue_error("claiming due events"))?;
            by_position.insert(position, (event_id, attempts));
        }
        // The bodies, from the log.
        let claimed: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|p| by_position.contains_key(p))
            .collect();
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let list = (0..claimed.len())
            .map(|i| format!("${}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        let bodies = query(
            &format!("SELECT position, payload FROM events WHERE position IN ({list})"),
            claimed.iter().map(|p| Arg::from(*p)).collect(),
        )
        .fetch_all(&self.db.pool)
        .await
        .map_err(self.queue_error("reading due events"))?;
        let mut payloads = std::collections::HashMap::new();
        for row in bodies {
            let read =
                || -> Result<(i64, String), sqlx::Error> { Ok((row.try_get(0)?, row.try_get(1)?)) };
            let (position, payload) = read().map_err(self.queue_error("reading due events"))?;
            payloads.insert(position, payload);
        }
        // Oldest first, as selected.
        Ok(claimed
            .iter()
            .filter_map(|p| {
                let (event_id, attempts) = by_position.remove(p)?;
                Some(PendingEvent {
                    event_id,
                    body: Bytes::from(payloads.remove(p)?),
                    attempts,
                })
            })
            .collect())
    }

    async fn next_retry(&self) -> Result<Option<SystemTime>, StoreError> {
        self.enqueue_logged().await?;
        let row = query(
            "SELECT MIN(due_at) FROM handler_queue WHERE dead_at IS NULL",
            vec![],
        )
        .fetch_one(&self.db.pool)
        .await
        .map_err(self.queue_error("reading the next retry time"))?;
        let at: Option<i64> = row
            .try_get(0)
            .map_err(self.queue_error("reading the next retry time"))?;
        Ok(at.map(from_millis))
    }

    async fn handled(&self, event_id: &str) -> Result<(), StoreError> {
        self.update_one(
            "DELETE FROM handler_queue WHERE event_id = $1",
            vec![event_id.into()],
            event_id,
        )
        .await
    }

    async fn retry_later(
        &self,
        event_id: &str,
        attempts: u32,
        retry_at: SystemTime,
        error: &str,
    ) -> Result<(), StoreError> {
        self.update_one(
            "UPDATE handler_queue SET attempts = $2, due_at = $3, last_error = $4 \
             WHERE event_id = $1",
            vec![
                event_id.into(),
                i64::from(attempts).into(),
                millis(retry_at).into(),
                error.into(),
            ],
            event_id,
        )
        .await
    }

    async fn dead_letter(
        &self,
        event_id: &str,
        _event_type: &str,
        attempts: u32,
        error: &str,
        at: SystemTime,
    ) -> Result<(), StoreError> {
        self.update_one(
            "UPDATE handler_queue SET attempts = $2, dead_at = $3, due_at = NULL, \
             last_error = $4 WHERE event_id = $1",
            vec![
                event_id.into(),
                i64::from(attempts).into(),
                millis(at).into(),
                error.into(),
            ],
            event_id,
        )
        .await
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        let rows = query(
            "SELECT q.event_id, e.event_type, q.attempts, q.last_error, q.dead_at \
             FROM handler_queue AS q JOIN events AS e ON e.position = q.position \
             WHERE q.dead_at IS NOT NULL ORDER BY q.dead_at, q.position",
            vec![],
        )
        .fetch_all(&self.db.pool)
        .await
        .map_err(self.queue_error("listing dead letters"))?;
        rows.iter()
            .map(|row| -> Result<DeadLetter, sqlx::Error> {
                Ok(DeadLetter {
                    event_id: row.try_get(0)?,
                    event_type: row.try_get(1)?,
                    attempts: u32::try_from(row.try_get::<i64, _>(2)?).unwrap_or(u32::MAX),
                    error: row.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
                    at: from_millis(row.try_get(4)?),
                })
            })
            .collect::<Result<_, _>>()
            .map_err(self.queue_error("listing dead letters"))
    }

    async fn replay(&self, event_id: &str) -> Result<bool, StoreError> {
        let changed = query(
            "UPDATE handler_queue SET dead_at = NULL, attempts = 0, due_at = 0, \
             last_error = NULL WHERE event_id = $1 AND dead_at IS NOT NULL",
            vec![event_id.into()],
        )
        .execute(&self.db.pool)
        .await
        .map_err(self.queue_error("replaying a dead letter"))?
        .rows_affected();
        Ok(changed > 0)
    }
}
