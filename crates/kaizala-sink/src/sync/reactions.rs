//! Reactions: the like and comment counts of every action of the group.

use futures_util::TryStreamExt;
use kaizala_types::GroupId;
use kaizala_types::reactions::ReactionSummary;

use super::{Run, SyncPhase, SyncProgress, api_error};
use crate::db::now_millis;
use crate::error::SinkError;
use crate::normalise::json;
use crate::write::{Arg, insert_many};

const PAGE: usize = 200;

pub(crate) async fn sync_reactions<F: FnMut(&SyncProgress)>(
    run: &mut Run<'_, F>,
    group_id: &GroupId,
) -> Result<(), SinkError> {
    run.phase(SyncPhase::Reactions, None);
    let mut stream = std::pin::pin!(
        run.client
            .group(group_id.clone())
            .reactions()
            .group_summary(group_id.clone())
    );
    let mut page = Vec::new();
    loop {
        match stream.try_next().await {
            Ok(Some(summary)) => {
                page.push(summary);
                if page.len() >= PAGE {
                    write(run, group_id, std::mem::take(&mut page)).await?;
                }
            }
            Ok(None) => break,
            Err(err) if run.skippable(&format!("reactions of {group_id}"), &err) => break,
            Err(err) => return Err(api_error(format!("reading reactions of {group_id}"), err)),
        }
    }
    write(run, group_id, page).await
}

async fn write<F: FnMut(&SyncProgress)>(
    run: &mut Run<'_, F>,
    group_id: &GroupId,
    mut page: Vec<ReactionSummary>,
) -> Result<(), SinkError> {
    if page.is_empty() {
        return Ok(());
    }
    page.sort_by(|a, b| a.reference_id.as_str().cmp(b.reference_id.as_str()));
    page.dedup_by(|a, b| a.reference_id == b.reference_id);
    let now = now_millis();
    let n = page.len() as u64;
    let rows = page
        .iter()
        .map(|s| {
            let counts = s.reactions_count_map.clone().unwrap_or_default();
            vec![
                Arg::from(s.reference_id.as_str()),
                group_id.as_str().into(),
                group_id.as_str().into(),
                Arg::from(i64::try_from(counts.like.unwrap_or(0)).unwrap_or(i64::MAX)),
                Arg::from(i64::try_from(counts.comment.unwrap_or(0)).unwrap_or(i64::MAX)),
                json(&counts).into(),
                now.into(),
            ]
        })
        .collect();
    let db = run.db;
    let mut tx = db
        .pool
        .begin_with(db.backend.begin_write())
        .await
        .map_err(|e| db.error("starting a sync transaction", e))?;
    insert_many(
        &mut tx,
        "INSERT INTO reactions (reference_id, group_id, source_group_id, likes, comments, \
         counts, synced_at)",
        7,
        " ON CONFLICT (reference_id) DO UPDATE SET group_id = excluded.group_id, \
         source_group_id = excluded.source_group_id, likes = excluded.likes, \
         comments = excluded.comments, counts = excluded.counts, synced_at = excluded.synced_at",
        rows,
    )
    .await
    .map_err(|e| db.error("writing reactions", e))?;
    tx.commit()
        .await
        .map_err(|e| db.error("committing reactions", e))?;
    run.report.reactions += n;
    run.advance(n);
    Ok(())
}
