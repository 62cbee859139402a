//! Actions: listed by type (and by custom package id, for the packages
//! events or earlier syncs have shown), incrementally from the stored
//! `fromDate` cursor.

use futures_util::TryStreamExt;
use kaizala_types::GroupId;
use kaizala_types::actions::{ActionSummary, ActionType};
use sqlx::Row;

use super::{Cursor, Run, SyncPhase, SyncProgress, api_error, state};
use crate::error::SinkError;
use crate::normalise::pulled::Document;
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

/// Actions per pull-log document.
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
        let mut page: Vec<ActionSummary> = Vec::new();
        let document = |page: &[ActionSummary]| {
            Document::actions(
                group_id,
                action_type.as_str(),
                package.as_deref(),
                cursor,
                page,
            )
        };
        loop {
            match stream.try_next().await {
                Ok(Some(summary)) => {
                    newest = newest.max(summary.sent().map(|t| t.unix_millis()));
                    page.push(summary);
                    if page.len() >= PAGE {
                        let n = page.len() as u64;
                        run.append(vec![document(&page)], Vec::new()).await?;
                        page.clear();
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
        let n = page.len() as u64;
        let documents = if page.is_empty() {
            Vec::new()
        } else {
            vec![document(&page)]
        };
        let cursors = match newest {
            Some(at) if Some(at) != cursor => vec![Cursor { key, at }],
            _ => Vec::new(),
        };
        run.append(documents, cursors).await?;
        run.report.actions += n;
        run.advance(n);
    }
    Ok(())
}
