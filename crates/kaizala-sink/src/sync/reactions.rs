//! Reactions: the like and comment counts of every action of the group.

use futures_util::TryStreamExt;
use kaizala_types::GroupId;

use super::{Run, SyncPhase, SyncProgress, api_error};
use crate::error::SinkError;
use crate::normalise::pulled::Document;

/// Reaction summaries per pull-log document.
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
                    let n = page.len() as u64;
                    run.append(vec![Document::reactions(group_id, &page)], Vec::new())
                        .await?;
                    page.clear();
                    run.report.reactions += n;
                    run.advance(n);
                }
            }
            Ok(None) => break,
            Err(err) if run.skippable(&format!("reactions of {group_id}"), &err) => break,
            Err(err) => return Err(api_error(format!("reading reactions of {group_id}"), err)),
        }
    }
    if !page.is_empty() {
        let n = page.len() as u64;
        run.append(vec![Document::reactions(group_id, &page)], Vec::new())
            .await?;
        run.report.reactions += n;
        run.advance(n);
    }
    Ok(())
}
