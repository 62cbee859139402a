//! The handler queue of [`SqlEventStore`], on the `events` table's
//! columns: `due_at` (when the handler should run next; `NULL` once handled
//! or dead), `attempts`, `handled_at`, `dead_at`, `last_error`.
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

use crate::db::{from_millis, millis, now_millis};
use crate::store::{SqlEventStore, to_store_error};
use crate::write::{Arg, query};

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
            return Err(StoreError::new(format!("no stored event {event_id:?}")));
        }
        Ok(())
    }
}

#[async_trait]
impl EventQueue for SqlEventStore {
    async fn due(&self, now: SystemTime, limit: usize) -> Result<Vec<PendingEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = millis(now);
        let candidates = query(
            "SELECT id FROM events WHERE handled_at IS NULL AND dead_at IS NULL \
             AND due_at <= $1 ORDER BY due_at, id LIMIT $2",
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
            "UPDATE events SET due_at = $1 WHERE id IN ({list}) AND handled_at IS NULL \
             AND dead_at IS NULL AND due_at <= $2 RETURNING id, event_id, payload, attempts"
        );
        let mut args: Vec<Arg> = vec![lease_until.into(), now.into()];
        args.extend(ids.iter().map(|id| Arg::from(*id)));
        let claimed = query(&sql, args)
            .fetch_all(&self.db.pool)
            .await
            .map_err(self.queue_error("claiming due events"))?;
        let mut by_id = std::collections::HashMap::new();
        for row in claimed {
            let read = || -> Result<(i64, PendingEvent), sqlx::Error> {
                Ok((
                    row.try_get::<i64, _>(0)?,
                    PendingEvent {
                        event_id: row.try_get(1)?,
                        body: Bytes::from(row.try_get::<String, _>(2)?),
                        attempts: u32::try_from(row.try_get::<i64, _>(3)?).unwrap_or(u32::MAX),
                    },
                ))
            };
            let (id, pending) = read().map_err(self.queue_error("claiming due events"))?;
            by_id.insert(id, pending);
        }
        // Oldest first, as selected.
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    async fn next_retry(&self) -> Result<Option<SystemTime>, StoreError> {
        let row = query(
            "SELECT MIN(due_at) FROM events WHERE handled_at IS NULL AND dead_at IS NULL",
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
            "UPDATE events SET handled_at = $2, due_at = NULL WHERE event_id = $1",
            vec![event_id.into(), now_millis().into()],
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
            "UPDATE events SET attempts = $2, due_at = $3, last_error = $4 WHERE event_id = $1",
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
            "UPDATE events SET attempts = $2, dead_at = $3, due_at = NULL, last_error = $4 \
             WHERE event_id = $1",
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
            "SELECT event_id, event_type, attempts, last_error, dead_at FROM events \
             WHERE dead_at IS NOT NULL ORDER BY dead_at, id",
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
            "UPDATE events SET dead_at = NULL, attempts = 0, due_at = 0, last_error = NULL \
             WHERE event_id = $1 AND dead_at IS NOT NULL",
            vec![event_id.into()],
        )
        .execute(&self.db.pool)
        .await
        .map_err(self.queue_error("replaying a dead letter"))?
        .rows_affected();
        Ok(changed > 0)
    }
}
