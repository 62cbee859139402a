//! Members and subscribers: each listing, then a `listingDone` document,
//! after which the projector removes the members (or subscribers) of the
//! group the listing did not name — keeping what only events knew (when a
//! member joined).

use futures_util::TryStreamExt;
use kaizala_types::GroupId;

use super::{Run, SyncPhase, SyncProgress, api_error};
use crate::db::now_millis;
use crate::error::SinkError;
use crate::normalise::pulled::Document;

/// Subscribers per pull-log document (the API's page size).
const PAGE: usize = 50;

pub(crate) async fn sync_members<F: FnMut(&SyncProgress)>(
    run: &mut Run<'_, F>,
    group_id: &GroupId,
) -> Result<(), SinkError> {
    run.phase(SyncPhase::Members, None);
    let since = now_millis();
    let listed = match run.client.group(group_id.clone()).members().list().await {
        Ok(listed) => listed,
        Err(err) if run.skippable(&format!("members of {group_id}"), &err) => return Ok(()),
        Err(err) => return Err(api_error(format!("listing members of {group_id}"), err)),
    };
    let count = listed.len() as u64;
    run.report.members += count;
    let documents = vec![
        Document::members(group_id, &listed),
        Document::listing_done(group_id, false, since, count),
    ];
    run.append(documents, Vec::new()).await?;
    run.advance(count);
    Ok(())
}

pub(crate) async fn sync_subscribers<F: FnMut(&SyncProgress)>(
    run: &mut Run<'_, F>,
    group_id: &GroupId,
) -> Result<(), SinkError> {
    run.phase(SyncPhase::Subscribers, None);
    let since = now_millis();
    let mut stream = std::pin::pin!(run.client.group(group_id.clone()).subscribers().list());
    let mut pages = Vec::new();
    let mut page = Vec::new();
    let mut count = 0u64;
    loop {
        match stream.try_next().await {
            Ok(Some(sub)) => {
                page.push(sub);
                count += 1;
                if page.len() == PAGE {
                    pages.push(std::mem::take(&mut page));
                    run.advance(PAGE as u64);
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
    if !page.is_empty() {
        pages.push(page);
    }
    run.report.subscribers += count;
    // The whole listing at once: a listing cut short must not remove those
    // it had not reached.
    let mut documents: Vec<Document> = pages
        .iter()
        .enumerate()
        .map(|(i, page)| Document::subscribers(group_id, i as u64, page))
        .collect();
    documents.push(Document::listing_done(group_id, true, since, count));
    run.append(documents, Vec::new()).await
}
