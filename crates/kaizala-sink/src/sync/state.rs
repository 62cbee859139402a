//! `sync_state`: one cursor (epoch ms) per key.
//!
//! Keys: `actions/{groupId}/{actionType or package id}` — the newest
//! `sentAt` listed, where the next listing resumes (`fromDate`, inclusive,
//! so nothing sent in the same millisecond is missed; what is listed again
//! is logged again, and projects to the same rows); `details/{actionId}` —
//! when the action's details and responses were last read. A cursor moves
//! in the transaction that logs the documents it covers.

use sqlx::{AnyConnection, Row};

use crate::db::Db;
use crate::error::SinkError;
use crate::schema::tables::SYNC_STATE;
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

/// Moves a cursor (inside the caller's transaction).
pub(crate) async fn set(
    conn: &mut AnyConnection,
    key: &str,
    cursor_ms: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    query(
        &format!(
            "{} VALUES ($1, $2, $3){}",
            SYNC_STATE.insert_head("sync_state"),
            SYNC_STATE.upsert_tail("sync_state", &[])
        ),
        vec![key.into(), cursor_ms.into(), now.into()],
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
