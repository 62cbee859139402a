//! Responses: each action's details with `getDetails=true`, logged whole;
//! the projector reads its responses exactly as the webhook path's.

use kaizala_types::GroupId;
use sqlx::Row;

use super::{Cursor, Run, SyncPhase, SyncProgress, api_error, state};
use crate::db::now_millis;
use crate::error::SinkError;
use crate::normalise::action::CUSTOM;
use crate::normalise::pulled::Document;
use crate::write::query;

pub(crate) async fn sync_responses<F: FnMut(&SyncProgress)>(
    run: &mut Run<'_, F>,
    group_id: &GroupId,
) -> Result<(), SinkError> {
    let db = run.db;
    let actions: Vec<(String, Option<i64>)> = query(
        &format!(
            "SELECT action_id, expires_at FROM actions WHERE group_id = $1 \
             AND action_type IN ('Survey', 'Job', 'Poll', 'LetsMeet', '{CUSTOM}') \
             ORDER BY action_id"
        ),
        vec![group_id.as_str().into()],
    )
    .fetch_all(&db.pool)
    .await
    .map_err(|e| db.error("reading actions", e))?
    .iter()
    .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
    .collect::<Result<_, sqlx::Error>>()
    .map_err(|e| db.error("reading actions", e))?;

    run.phase(SyncPhase::Responses, Some(actions.len() as u64));
    for (action_id, expires_at) in actions {
        let key = format!("details/{action_id}");
        let last_read = state::get(db, &key).await?;
        if let (Some(expired), Some(read)) = (expires_at, last_read)
            && expired < read
        {
            // Closed before we last read it: nothing can have changed.
            run.report.actions_skipped += 1;
            run.advance(1);
            continue;
        }
        let started = now_millis();
        let details = match run
            .client
            .group(group_id.clone())
            .actions()
            .get(action_id.as_str(), true)
            .await
        {
            Ok(details) => details,
            Err(err) if run.skippable(&format!("details of action {action_id}"), &err) => {
                run.advance(1);
                continue;
            }
            Err(err) => {
                return Err(api_error(format!("reading action {action_id}"), err));
            }
        };
        let document = Document::action(group_id, &action_id, &details);
        run.append(vec![document], vec![Cursor { key, at: started }])
            .await?;
        run.report.action_details += 1;
        run.advance(1);
    }
    Ok(())
}
