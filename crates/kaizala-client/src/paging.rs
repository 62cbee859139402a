//! Paginated lists as [`Stream`]s of items: pages are fetched as the
//! stream is read.

use std::collections::VecDeque;

use futures_util::Stream;
use futures_util::stream;
use kaizala_core::Error;
use kaizala_core::pagination::{Pager, Paginated};

use crate::Client;

/// Streams every item of the list `first` starts, page by page.
pub(crate) fn items<E>(
    client: Client,
    first: E,
) -> impl Stream<Item = Result<E::Item, Error>> + Send + 'static
where
    E: Paginated + Send + Sync + 'static,
    E::Item: Send + 'static,
    E::State: Send + 'static,
    E::Response: Send,
{
    let state = (client, Pager::new(first), VecDeque::new(), false);
    stream::unfold(
        state,
        |(client, mut pager, mut buffer, mut failed)| async move {
            loop {
                if let Some(item) = buffer.pop_front() {
                    return Some((Ok(item), (client, pager, buffer, failed)));
                }
                if failed {
                    return None;
                }
                let request = pager.next_request()?.clone();
                match client.execute(&request).await {
                    Ok(page) => buffer.extend(pager.advance(page)),
                    Err(err) => {
                        // One error ends the stream: the caller decides whether
                        // to start again.
                        failed = true;
                        return Some((Err(err), (client, pager, buffer, failed)));
                    }
                }
            }
        },
    )
}
