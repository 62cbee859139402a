//! `sync_state`: one cursor (epoch ms) per key.
//!
//! Keys: `actions/{groupId}/{actionType or package id}` — the newest
//! `sentAt` listed, where the next listing resumes (`fromDate`, inclusive,
//! so nothing sent in the same millisecond is missed; what is listed again
//! is upserted again); `details/{actionId}` — when the action's details and
//! responses were last read.

use sqlx::Row;

use crate::db::{Db, now_millis};
use crate::error::SinkError;
use crate::write::query;

pub(crate) async fn get(db: &Db, key: &str) -> Result<Option<i64>, SinkError> {
    let row = query(
        "SELECT cursor_ms FROM sync_state WHERE sync_key = $1",
        vec![key.into()],
    )
    .fetch_optional(&db.pool)
    .await
    .map_err(|e| db.error("reading a sync cursor", e))?;
    match row {
        Some(row) => row
            .try_get::<Option<i64>, _>(0)
            .map_err(|e| db.error("reading a sync cursor", e)),
        None => Ok(None),
    }
}

pub(crate) async fn set(db: &Db, key: &str, cursor_ms: i64) -> Result<(), SinkError> {
    query(
        "INSERT INTO sync_state (sync_key, cursor_ms, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (sync_key) DO UPDATE SET cursor_ms = excluded.cursor_ms, \
         updated_at = excluded.updated_at",
        vec![key.into(), cursor_ms.into(), now_millis().into()],
    )
    .execute(&db.pool)
    .await
    .map_err(|e| db.error("saving a sync cursor", e))?;
    Ok(())
}
