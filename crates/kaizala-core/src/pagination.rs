//! Walking paginated lists: subscribers (string cursor), reaction summaries
//! and details (tick cursor), actions (`fromDate` / `count` / `hasMore`).
//! A [`Pager`] says which request to send next and turns each answer into
//! items; transports loop until it has no request left.

use std::collections::HashSet;

use kaizala_types::ReferenceId;
use kaizala_types::actions::{ActionList, ActionSummary};
use kaizala_types::reactions::{
    ReactionDetail, ReactionDetailsResponse, ReactionSummary, ReactionSummaryResponse,
};
use kaizala_types::subscribers::{Subscriber, SubscriberList};

use crate::endpoint::Endpoint;
use crate::ops::actions::ListActions;
use crate::ops::reactions::{GetReactionDetails, GetReactionSummaryForGroup};
use crate::ops::subscribers::ListSubscribers;

/// An endpoint whose answers come in pages.
pub trait Paginated: Endpoint + Clone {
    /// One entry of a page.
    type Item;
    /// What the walk remembers between pages.
    type State: Default;
    /// The items of `page` (the answer to `self`) and the request for the
    /// next page, if there is one.
    fn next_page(
        &self,
        page: Self::Response,
        state: &mut Self::State,
    ) -> (Vec<Self::Item>, Option<Self>);
}

/// The state of a walk through a paginated list.
#[derive(Debug)]
pub struct Pager<E: Paginated> {
    next: Option<E>,
    state: E::State,
    pages: u32,
}

impl<E: Paginated> Pager<E> {
    /// Upper bound on pages, so a server that keeps handing out cursors
    /// cannot keep a caller looping for ever.
    pub const MAX_PAGES: u32 = 10_000;

    /// A walk starting with `first`.
    pub fn new(first: E) -> Self {
        Pager {
            next: Some(first),
            state: E::State::default(),
            pages: 0,
        }
    }

    /// The request to send next; `None` once the list is exhausted.
    pub fn next_request(&self) -> Option<&E> {
        self.next.as_ref()
    }

    /// Takes the answer to [`Pager::next_request`] and returns its items.
    pub fn advance(&mut self, page: E::Response) -> Vec<E::Item> {
        let Some(current) = self.next.take() else {
            return Vec::new();
        };
        self.pages += 1;
        let (items, next) = current.next_page(page, &mut self.state);
        self.next = next.filter(|_| self.pages < Self::MAX_PAGES);
        items
    }
}

impl Paginated for ListSubscribers {
    type Item = Subscriber;
    type State = ();

    fn next_page(&self, page: SubscriberList, _: &mut ()) -> (Vec<Subscriber>, Option<Self>) {
        // The cursor is present only when another page follows.
        let next = page
            .cursor
            .filter(|_| !page.subscribers.is_empty())
            .map(|cursor| {
                let mut next = self.clone();
                next.request.cursor = Some(cursor);
                next
            });
        (page.subscribers, next)
    }
}

impl Paginated for GetReactionSummaryForGroup {
    type Item = ReactionSummary;
    type State = ();

    fn next_page(
        &self,
        page: ReactionSummaryResponse,
        _: &mut (),
    ) -> (Vec<ReactionSummary>, Option<Self>) {
        // The cursor is "calculated up to here"; an empty page or a cursor
        // that did not move means the end.
        let next = page
            .cursor
            .filter(|cursor| !page.summary.is_empty() && Some(cursor) != self.cursor.as_ref())
            .map(|cursor| GetReactionSummaryForGroup {
                cursor: Some(cursor),
                ..self.clone()
            });
        (page.summary, next)
    }
}

impl Paginated for GetReactionDetails {
    type Item = ReactionDetail;
    type State = ();

    fn next_page(
        &self,
        page: ReactionDetailsResponse,
        _: &mut (),
    ) -> (Vec<ReactionDetail>, Option<Self>) {
        let next = page
            .cursor
            .filter(|cursor| {
                !page.reaction_details.is_empty() && Some(cursor) != self.cursor.as_ref()
            })
            .map(|cursor| GetReactionDetails {
                cursor: Some(cursor),
                ..self.clone()
            });
        (page.reaction_details, next)
    }
}

/// Where an action walk stands: the time of the last item seen and the
/// items seen at exactly that time (the next page starts there, inclusive,
/// so that actions sharing a timestamp are neither skipped nor repeated).
#[derive(Debug, Default)]
pub struct ActionWalk {
    boundary: Option<i64>,
    seen_at_boundary: HashSet<ReferenceId>,
}

impl Paginated for ListActions {
    type Item = ActionSummary;
    type State = ActionWalk;

    fn next_page(
        &self,
        page: ActionList,
        walk: &mut ActionWalk,
    ) -> (Vec<ActionSummary>, Option<Self>) {
        let has_more = page.has_more.is_some_and(|f| f.get());
        let before = walk.boundary;
        let mut items = Vec::with_capacity(page.actions.len());
        for action in page.actions {
            let at = action.sent().map(|t| t.unix_millis());
            let repeated = match (&action.reference_id, at) {
                (Some(id), Some(at)) if Some(at) == before => walk.seen_at_boundary.contains(id),
                _ => false,
            };
            if let Some(at) = at {
                if walk.boundary.is_none_or(|b| at > b) {
                    walk.boundary = Some(at);
                    walk.seen_at_boundary.clear();
                }
                if Some(at) == walk.boundary
                    && let Some(id) = &action.reference_id
                {
                    walk.seen_at_boundary.insert(id.clone());
                }
            }
            if !repeated {
                items.push(action);
            }
        }
        let next = match walk.boundary {
            Some(boundary) if has_more => {
                // A page of nothing new at the same boundary would repeat for
                // ever: step past it.
                let from = if items.is_empty() && Some(boundary) == before {
                    boundary + 1
                } else {
                    boundary
                };
                Some(ListActions {
                    from_date: Some(from),
                    ..self.clone()
                })
            }
            _ => None,
        };
        (items, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kaizala_types::actions::ActionType;
    use kaizala_types::subscribers::ListSubscribersRequest;

    fn subscribers(json: &str) -> SubscriberList {
        kaizala_types::from_str(json).unwrap()
    }

    #[test]
    fn subscribers_follow_the_cursor_until_it_is_absent() {
        let mut pager = Pager::new(ListSubscribers {
            group_id: "g".into(),
            request: ListSubscribersRequest::default(),
        });
        let items = pager.advance(subscribers(
            r#"{"subscribers": [{"id": "1"}, {"id": "2"}], "cursor": "abc"}"#,
        ));
        assert_eq!(items.len(), 2);
        assert_eq!(
            pager.next_request().unwrap().request.cursor,
            Some("abc".into())
        );
        let items = pager.advance(subscribers(r#"{"subscribers": [{"id": "3"}]}"#));
        assert_eq!(items.len(), 1);
        assert!(pager.next_request().is_none());
    }

    #[test]
    fn reaction_cursors_stop_when_they_stop_moving() {
        let first = GetReactionSummaryForGroup {
            group_id: "g".into(),
            source_group_id: "g".into(),
            cursor: None,
        };
        let mut pager = Pager::new(first);
        pager.advance(
            kaizala_types::from_str(
                r#"{"cursor": 636674054802000000, "summary": [{"referenceId": "r"}]}"#,
            )
            .unwrap(),
        );
        assert_eq!(
            pager
                .next_request()
                .unwrap()
                .cursor
                .as_ref()
                .unwrap()
                .to_string(),
            "636674054802000000"
        );
        pager.advance(
            kaizala_types::from_str(
                r#"{"cursor": 636674054802000000, "summary": [{"referenceId": "s"}]}"#,
            )
            .unwrap(),
        );
        assert!(pager.next_request().is_none(), "same cursor again");

        let details = GetReactionDetails {
            group_id: "g".into(),
            reference_id: "r".into(),
            source_group_id: "g".into(),
            reaction_type: "Like".into(),
            cursor: None,
        };
        let mut pager = Pager::new(details);
        pager.advance(kaizala_types::from_str(r#"{"cursor": 5, "reactionDetails": []}"#).unwrap());
        assert!(pager.next_request().is_none(), "empty page");
    }

    fn actions(json: &str) -> ActionList {
        kaizala_types::from_str(json).unwrap()
    }

    #[test]
    fn actions_resume_at_the_last_timestamp_without_repeats_or_gaps() {
        let first = ListActions {
            group_id: "g".into(),
            action_type: ActionType::Survey,
            from_date: None,
            count: Some(2),
        };
        let mut pager = Pager::new(first);
        let page1 = pager.advance(actions(
            r#"{"actions": [{"referenceId": "a", "creationTime": 100}, {"referenceId": "b", "creationTime": 200}], "hasMore": true}"#,
        ));
        assert_eq!(page1.len(), 2);
        assert_eq!(pager.next_request().unwrap().from_date, Some(200_000));
        // The next page starts at 200 s inclusive: `b` again, then `c` at the
        // same second, which must not be lost.
        let page2 = pager.advance(actions(
            r#"{"actions": [{"referenceId": "b", "creationTime": 200}, {"referenceId": "c", "creationTime": 200}], "hasMore": true}"#,
        ));
        assert_eq!(
            page2
                .iter()
                .map(|a| a.reference_id.clone().unwrap().into_string())
                .collect::<Vec<_>>(),
            ["c"]
        );
        assert_eq!(pager.next_request().unwrap().from_date, Some(200_000));
        // Nothing new at the boundary: step past it instead of looping.
        let page3 = pager.advance(actions(
            r#"{"actions": [{"referenceId": "b", "creationTime": 200}, {"referenceId": "c", "creationTime": 200}], "hasMore": true}"#,
        ));
        assert!(page3.is_empty());
        assert_eq!(pager.next_request().unwrap().from_date, Some(200_001));
        let page4 = pager.advance(actions(r#"{"actions": [{"referenceId": "d", "sentAt": "2017-12-20T08:33:51Z"}], "hasMore": false}"#));
        assert_eq!(page4.len(), 1);
        assert!(pager.next_request().is_none());
    }

    #[test]
    fn a_server_that_never_stops_is_cut_off() {
        let mut pager = Pager::new(ListSubscribers {
            group_id: "g".into(),
            request: ListSubscribersRequest::default(),
        });
        let mut pages = 0;
        while pager.next_request().is_some() {
            pager.advance(subscribers(&format!(
                r#"{{"subscribers": [{{"id": "x"}}], "cursor": "c{pages}"}}"#
            )));
            pages += 1;
        }
        assert_eq!(pages, Pager::<ListSubscribers>::MAX_PAGES);
    }
}
