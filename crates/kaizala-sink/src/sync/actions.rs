//! Actions: listed by type (and by custom package id, for the packages
//! events have shown), incrementally from the stored `fromDate` cursor.

use futures_util::TryStreamExt;
use kaizala_types::GroupId;
use kaizala_types::actions::ActionType;
use sqlx::Row;

use super::{Run, SyncPhase, SyncProgress, api_error, state};
use crate::db::now_millis;
use crate::error::SinkError;
use crate::normalise::{Rows, action};
use crate::write::query;

/// The built-in action types listed (media posts are not: they take no
/// responses and their events fill `attachments`).
const LISTED: [ActionType; 5] = [
    ActionType::Survey,
    ActionType::Job,
    ActionType::Poll,
    ActionType::LetsMeet,
    ActionType::Announcement,
];

/// Rows written per transaction while listing.
const PAGE: usize = 100;

pub(crate) async fn sync_actions<F: FnMut(&SyncProgress)>(
    run: &mut Run<'_, F>,
    group_id: &GroupId,
) -> Result<(), SinkError> {
    run.phase(SyncPhase::Actions, None);
    let db = run.db;
    let packages: Vec<String> = query(
        "SELECT DISTINCT package_id FROM actions WHERE group_id = $1 \
         AND package_id IS NOT NULL ORDER BY package_id",
        vec![group_id.as_str().into()],
    )
    .fetch_all(&db.pool)
    .await
    .map_err(|e| db.error("reading action packages", e))?
    .iter()
    .map(|row| row.try_get(0))
    .collect::<Result<_, _>>()
    .map_err(|e| db.error("reading action packages", e))?;

    let kinds = LISTED.into_iter().map(|t| (t, None)).chain(
        packages
            .into_iter()
            .map(|p| (ActionType::from(p.as_str()), Some(p))),
    );
    for (action_type, package) in kinds {
        let key = format!("actions/{group_id}/{action_type}");
        let cursor = state::get(db, &key).await?;
        let mut newest = cursor;
        let mut stream = std::pin::pin!(
            run.client
                .group(group_id.clone())
                .actions()
                .list_since(action_type.clone(), cursor)
        );
        let mut rows = Rows::default();
        loop {
            match stream.try_next().await {
                Ok(Some(summary)) => {
                    let now = now_millis();
                    if let Some(row) =
                        action::from_summary(group_id.as_str(), &summary, package.as_deref(), now)
                    {
                        newest = newest.max(row.created_at);
                        rows.actions.push(row);
                    }
                    if rows.actions.len() >= PAGE {
                        let n = rows.actions.len() as u64;
                        run.apply(std::mem::take(&mut rows)).await?;
                        run.report.actions += n;
                        run.advance(n);
                    }
                }
                Ok(None) => break,
                Err(err)
                    if run.skippable(&format!("{action_type} actions of {group_id}"), &err) =>
                {
                    break;
                }
                Err(err) => {
                    return Err(api_error(
                        format!("listing {action_type} actions of {group_id}"),
                        err,
                    ));
                }
            }
        }
        let n = rows.actions.len() as u64;
        run.apply(rows).await?;
        run.report.actions += n;
        run.advance(n);
        if let Some(newest) = newest
            && Some(newest) != cursor
        {
            state::set(db, &key, newest).await?;
        }
    }
    Ok(())
}
