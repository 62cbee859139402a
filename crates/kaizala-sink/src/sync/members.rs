//! Members and subscribers: each list replaces what `members` held for the
//! group (members, or subscribers), keeping what only events knew (when a
//! member joined).

use std::collections::HashSet;

use futures_util::TryStreamExt;
use kaizala_types::GroupId;
use sqlx::Row;

use super::{Run, SyncPhase, SyncProgress, api_error};
use crate::db::now_millis;
use crate::error::SinkError;
use crate::normalise::member::{self, MemberRow, SUBSCRIBER};
use crate::write::{self, query};

pub(crate) async fn sync_members<F: FnMut(&SyncProgress)>(
    run: &mut Run<'_, F>,
    group_id: &GroupId,
) -> Result<(), SinkError> {
    run.phase(SyncPhase::Members, None);
    let listed = match run.client.group(group_id.clone()).members().list().await {
        Ok(listed) => listed,
        Err(err) if run.skippable(&format!("members of {group_id}"), &err) => return Ok(()),
        Err(err) => return Err(api_error(format!("listing members of {group_id}"), err)),
    };
    let now = now_millis();
    let rows: Vec<MemberRow> = listed
        .iter()
        .map(|m| member::from_member(group_id.as_str(), m, now))
        .collect();
    let count = rows.len() as u64;
    run.report.members += count;
    run.report.members_removed += replace(run, group_id.as_str(), rows, false).await?;
    run.advance(count);
    Ok(())
}

pub(crate) async fn sync_subscribers<F: FnMut(&SyncProgress)>(
    run: &mut Run<'_, F>,
    group_id: &GroupId,
) -> Result<(), SinkError> {
    run.phase(SyncPhase::Subscribers, None);
    let mut stream = std::pin::pin!(run.client.group(group_id.clone()).subscribers().list());
    let now = now_millis();
    let mut rows = Vec::new();
    loop {
        match stream.try_next().await {
            Ok(Some(sub)) => {
                rows.extend(member::from_subscriber(group_id.as_str(), &sub, now));
                if rows.len().is_multiple_of(50) {
                    run.advance(50);
                }
            }
            Ok(None) => break,
            Err(err) if run.skippable(&format!("subscribers of {group_id}"), &err) => {
                return Ok(());
            }
            Err(err) => {
                return Err(api_error(format!("listing subscribers of {group_id}"), err));
            }
        }
    }
    run.report.subscribers += rows.len() as u64;
    run.report.members_removed += replace(run, group_id.as_str(), rows, true).await?;
    Ok(())
}

/// Upserts `rows` and deletes the group's other members (or other
/// subscribers); returns how many were deleted.
async fn replace<F: FnMut(&SyncProgress)>(
    run: &mut Run<'_, F>,
    group_id: &str,
    rows: Vec<MemberRow>,
    subscribers: bool,
) -> Result<u64, SinkError> {
    let db = run.db;
    let listed: HashSet<String> = rows.iter().map(|r| r.member_id.clone()).collect();
    let mut tx = db
        .pool
        .begin_with(db.backend.begin_write())
        .await
        .map_err(|e| db.error("starting a sync transaction", e))?;
    let which = if subscribers { "=" } else { "<>" };
    let stored = query(
        &format!(
            "SELECT member_id FROM members WHERE group_id = $1 \
             AND COALESCE(role, '') {which} '{SUBSCRIBER}'"
        ),
        vec![group_id.into()],
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| db.error("reading members", e))?;
    let mut removed = 0;
    for row in stored {
        let id: String = row.try_get(0).map_err(|e| db.error("reading members", e))?;
        if !listed.contains(&id) {
            query(
                "DELETE FROM members WHERE group_id = $1 AND member_id = $2",
                vec![group_id.into(), id.into()],
            )
            .execute(&mut *tx)
            .await
            .map_err(|e| db.error("removing members", e))?;
            removed += 1;
        }
    }
    write::upsert_members(&mut tx, rows)
        .await
        .map_err(|e| db.error("writing members", e))?;
    tx.commit()
        .await
        .map_err(|e| db.error("committing members", e))?;
    Ok(removed)
}
