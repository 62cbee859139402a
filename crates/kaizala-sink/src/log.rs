//! The two logs — `events` (pushed) and `pull_log` (pulled) — and their
//! shared positions.
//!
//! Every entry gets a position from the `head` counter in `log_state`,
//! inside the transaction that appends it. The counter's row is locked from
//! that update to the commit, so appends by several processes are
//! serialised and positions become visible in order: once a reader sees
//! position `p`, every smaller position is committed (or will never
//! exist). That is what lets the projector keep a single watermark.

use sqlx::{AnyConnection, Row};

use crate::normalise::pulled::Document;
use crate::schema::tables::PULL_LOG;
use crate::write::{Arg, insert_counted, query};
use crate::writer::{Fetched, Writer};

/// Takes `n` positions; returns the first (the others follow it).
pub(crate) async fn reserve(conn: &mut dyn Writer, n: usize) -> Result<i64, sqlx::Error> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let last = conn
        .fetch_optional(
            "UPDATE log_state SET value = value + $1 WHERE name = 'head' RETURNING value",
            vec![n.into()],
        )
        .await?
        .map(|row| row.int(0))
        .transpose()?
        .flatten()
        .ok_or_else(|| sqlx::Error::Protocol("the log has no `head` counter".to_owned()))?;
    Ok(last - n + 1)
}

/// Appends pulled documents, fetched at `fetched_at` (epoch ms), inside
/// the caller's transaction; returns the last position given.
pub(crate) async fn append_documents(
    conn: &mut AnyConnection,
    documents: Vec<Document>,
    fetched_at: i64,
) -> Result<i64, sqlx::Error> {
    if documents.is_empty() {
        return head(conn).await;
    }
    let n = documents.len();
    let first = reserve(conn, n).await?;
    let rows: Vec<Vec<Arg>> = documents
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            vec![
                (first + i as i64).into(),
                fetched_at.into(),
                d.operation.name().into(),
                d.group_id.into(),
                d.request.to_string().into(),
                d.body.into(),
            ]
        })
        .collect();
    insert_counted(conn, &PULL_LOG, "pull_log", "", rows).await?;
    Ok(first + n as i64 - 1)
}

/// The last position given out.
pub(crate) async fn head(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    query("SELECT value FROM log_state WHERE name = 'head'", vec![])
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)
}

/// The position of the last entry in either log (0 when both are empty).
/// Positions given to duplicates are never used, so this may be behind
/// [`head`].
pub(crate) async fn last_entry(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    query(
        "SELECT COALESCE(MAX(p), 0) FROM (SELECT MAX(position) AS p FROM events \
         UNION ALL SELECT MAX(position) FROM pull_log) AS heads",
        vec![],
    )
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)
}

/// An entry of either log.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// A webhook event.
    Event {
        position: i64,
        event_id: String,
        event_type: String,
        received_at: i64,
        payload: String,
    },
    /// A document a sync pulled.
    Pulled {
        position: i64,
        fetched_at: i64,
        operation: String,
        request: String,
        body: String,
    },
}

impl Entry {
    /// Where it stands in the log (positions are shared by `events` and `pull_log`).
    pub fn position(&self) -> i64 {
        match self {
            Entry::Event { position, .. } | Entry::Pulled { position, .. } => *position,
        }
    }

    /// When it was logged (epoch ms).
    pub fn logged_at(&self) -> i64 {
        match self {
            Entry::Event { received_at, .. } => *received_at,
            Entry::Pulled { fetched_at, .. } => *fetched_at,
        }
    }
}

/// Up to `limit` entries of both logs after position `after` and up to
/// `upto`, in position order.
pub(crate) async fn read(
    conn: &mut dyn Writer,
    after: i64,
    upto: i64,
    limit: usize,
) -> Result<Vec<Entry>, sqlx::Error> {
    let limit_arg = i64::try_from(limit).unwrap_or(i64::MAX);
    let range = || vec![after.into(), upto.into(), limit_arg.into()];
    let select = |columns: &str, log: &str| {
        format!(
            "SELECT position, {columns} FROM {log} \
             WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3"
        )
    };
    let events = select("event_id, event_type, received_at, payload", "events");
    let events = conn.fetch_all(&events, range()).await?;
    let pulled = select("fetched_at, operation, request, body", "pull_log");
    let pulled = conn.fetch_all(&pulled, range()).await?;
    let mut entries = Vec::with_capacity(events.len() + pulled.len());
    for mut row in events {
        entries.push(Entry::Event {
            position: required(&row, 0)?,
            event_id: row.take_text(1)?,
            event_type: row.take_text(2)?,
            received_at: required(&row, 3)?,
            payload: row.take_text(4)?,
        });
    }
    for mut row in pulled {
        entries.push(Entry::Pulled {
            position: required(&row, 0)?,
            fetched_at: required(&row, 1)?,
            operation: row.take_text(2)?,
            request: row.take_text(3)?,
            body: row.take_text(4)?,
        });
    }
    // Each list is complete up to its own last position, so the first
    // `limit` of the merge are the first `limit` of both logs.
    entries.sort_by_key(Entry::position);
    entries.truncate(limit);
    Ok(entries)
}

/// Column `index` of a log row: an integer the log's schema never leaves
/// `NULL`.
fn required(row: &Fetched, index: usize) -> Result<i64, sqlx::Error> {
    row.int(index)?.ok_or_else(|| sqlx::Error::ColumnDecode {
        index: index.to_string(),
        source: "NULL in a column the log declares NOT NULL".into(),
    })
}
