//! The documents a sync keeps in `pull_log`, and the rows they project into.
//!
//! Each document is what one API call answered (or, for listings the
//! client pages through, one page of it), with what was asked: its
//! [`Operation`], a JSON `request` (the group, the action type, the
//! `fromDate` cursor…) and the `body` in the API's own JSON (as the typed
//! models re-encode it: every field kept, unknown ones too). One document
//! is not an API answer: `listingDone` marks the end of a members or
//! subscribers listing, so the projector can tell who is gone.

use kaizala_types::actions::{ActionDetails, ActionSummary, DetailsBody};
use kaizala_types::event::ActionEventData;
use kaizala_types::groups::{GroupInfo, GroupList};
use kaizala_types::members::Member;
use kaizala_types::reactions::ReactionSummary;
use kaizala_types::subgroups::SubGroupList;
use kaizala_types::subscribers::Subscriber;
use kaizala_types::{DecodeError, GroupId};
use serde_json::{Value, json};

use super::action::{self, value_field};
use super::member::{self, MemberOp};
use super::{Rows, group, legacy, reaction, response};

/// What a pulled document answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// `GET /groups?showDetail=true&fetchAllGroups=true`: a `GroupList`.
    ListGroups,
    /// `GET /groups/{groupId}`: a `GroupInfo`.
    GetGroup,
    /// `GET /groups/{groupId}/subGroups`: a `SubGroupList`.
    ListSubGroups,
    /// `GET /groups/{groupId}/members`: the members, an array.
    ListMembers,
    /// `POST /groups/{groupId}/subscribers`: one page of subscribers, an
    /// array.
    ListSubscribers,
    /// The end of a members or subscribers listing: `{"listed": n}`.
    ListingDone,
    /// `GET /groups/{groupId}/actions`: one page of actions, an array.
    ListActions,
    /// `GET /groups/{groupId}/actions/{actionId}?getDetails=true`: an
    /// `ActionDetails` with its responses.
    GetAction,
    /// `GET /groups/{groupId}/reactions`: one page of reaction summaries,
    /// an array.
    ListReactions,
    /// A row of a typed table of a database written before the pull log
    /// existed (kept by the upgrade, `migrations/*/0002_event_log.sql`).
    LegacyRow,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 10] = [
        Operation::ListGroups,
        Operation::GetGroup,
        Operation::ListSubGroups,
        Operation::ListMembers,
        Operation::ListSubscribers,
        Operation::ListingDone,
        Operation::ListActions,
        Operation::GetAction,
        Operation::ListReactions,
        Operation::LegacyRow,
    ];

    /// Its name in `pull_log.operation`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::ListGroups => "listGroups",
            Operation::GetGroup => "getGroup",
            Operation::ListSubGroups => "listSubGroups",
            Operation::ListMembers => "listMembers",
            Operation::ListSubscribers => "listSubscribers",
            Operation::ListingDone => "listingDone",
            Operation::ListActions => "listActions",
            Operation::GetAction => "getAction",
            Operation::ListReactions => "listReactions",
            Operation::LegacyRow => "legacyRow",
        }
    }

    fn parse(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// A document to append to `pull_log`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Document {
    pub operation: Operation,
    pub group_id: Option<String>,
    pub request: Value,
    pub body: String,
}

impl Document {
    fn new(operation: Operation, group_id: Option<&GroupId>, request: Value, body: String) -> Self {
        Document {
            operation,
            group_id: group_id.map(|g| g.to_string()),
            request,
            body,
        }
    }

    /// Every group the token reaches, at every level, with details.
    pub fn groups(list: &GroupList) -> Self {
        let request = json!({"showDetail": true, "fetchAllGroups": true});
        Self::new(Operation::ListGroups, None, request, super::json(list))
    }

    /// One group.
    pub fn group(id: &GroupId, info: &GroupInfo) -> Self {
        let request = json!({"groupId": id});
        Self::new(Operation::GetGroup, Some(id), request, super::json(info))
    }

    /// A group's direct sub-groups.
    pub fn sub_groups(id: &GroupId, list: &SubGroupList) -> Self {
        let request = json!({"groupId": id, "fetchAllGroups": false});
        Self::new(
            Operation::ListSubGroups,
            Some(id),
            request,
            super::json(list),
        )
    }

    /// A group's members.
    pub fn members(id: &GroupId, members: &[Member]) -> Self {
        let request = json!({"groupId": id});
        Self::new(
            Operation::ListMembers,
            Some(id),
            request,
            super::json(members),
        )
    }

    /// A page of a public group's subscribers.
    pub fn subscribers(id: &GroupId, page: u64, subscribers: &[Subscriber]) -> Self {
        let request = json!({"groupId": id, "page": page});
        let body = super::json(subscribers);
        Self::new(Operation::ListSubscribers, Some(id), request, body)
    }

    /// The end of a listing started at `since` (epoch ms) that gave
    /// `listed` members or subscribers.
    pub fn listing_done(id: &GroupId, subscribers: bool, since: i64, listed: u64) -> Self {
        let listing = if subscribers {
            "subscribers"
        } else {
            "members"
        };
        let request = json!({"groupId": id, "listing": listing, "since": since});
        let body = json!({"listed": listed}).to_string();
        Self::new(Operation::ListingDone, Some(id), request, body)
    }

    /// A page of a group's actions of one type (or custom package), listed
    /// from `from_date`.
    pub fn actions(
        id: &GroupId,
        action_type: &str,
        package: Option<&str>,
        from_date: Option<i64>,
        page: &[ActionSummary],
    ) -> Self {
        let request = json!({"groupId": id, "actionType": action_type,
            "packageId": package, "fromDate": from_date});
        Self::new(Operation::ListActions, Some(id), request, super::json(page))
    }

    /// An action's details with its responses.
    pub fn action(id: &GroupId, action_id: &str, details: &ActionDetails) -> Self {
        let request = json!({"groupId": id, "actionId": action_id, "getDetails": true});
        Self::new(
            Operation::GetAction,
            Some(id),
            request,
            super::json(details),
        )
    }

    /// A page of reaction summaries of a group's actions.
    pub fn reactions(id: &GroupId, page: &[ReactionSummary]) -> Self {
        let request = json!({"groupId": id});
        Self::new(
            Operation::ListReactions,
            Some(id),
            request,
            super::json(page),
        )
    }
}

/// Why a pulled document gave no rows.
#[derive(Debug)]
pub(crate) struct Unmapped {
    pub path: Option<String>,
    pub message: String,
}

impl From<DecodeError> for Unmapped {
    fn from(err: DecodeError) -> Self {
        Unmapped {
            path: (!err.path().is_empty()).then(|| err.path().to_owned()),
            message: err.to_string(),
        }
    }
}

fn unmapped(message: impl Into<String>) -> Unmapped {
    Unmapped {
        path: None,
        message: message.into(),
    }
}

/// The request's `key` as text.
fn text(request: &Value, key: &str) -> Option<String> {
    request.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Adds the rows of a pulled document, fetched at `fetched_at` (epoch ms).
pub(crate) fn document_rows(
    operation: &str,
    request: &str,
    body: &str,
    fetched_at: i64,
    rows: &mut Rows,
) -> Result<(), Unmapped> {
    let op = Operation::parse(operation)
        .ok_or_else(|| unmapped(format!("unknown pulled document {operation:?}")))?;
    let request: Value = serde_json::from_str(request)
        .map_err(|e| unmapped(format!("the request is not JSON: {e}")))?;
    let group_id = text(&request, "groupId");
    let group = || {
        group_id
            .clone()
            .ok_or_else(|| unmapped("the request names no groupId"))
    };
    match op {
        Operation::ListGroups => {
            let list: GroupList = kaizala_types::from_str(body)?;
            for info in &list.groups {
                group_rows(info, fetched_at, rows);
            }
        }
        Operation::GetGroup => {
            let info: GroupInfo = kaizala_types::from_str(body)?;
            group_rows(&info, fetched_at, rows);
        }
        Operation::ListSubGroups => {
            let list: SubGroupList = kaizala_types::from_str(body)?;
            for parent in list.groups() {
                let parent_id = parent.group_id.to_string();
                for sub in parent.sub_groups.as_deref().unwrap_or_default() {
                    rows.groups
                        .push(group::from_sub_group(sub, &parent_id, fetched_at));
                }
            }
        }
        Operation::ListMembers => {
            let group_id = group()?;
            let members: Vec<Member> = kaizala_types::from_str(body)?;
            rows.members.extend(
                members
                    .iter()
                    .map(|m| MemberOp::Upsert(member::from_member(&group_id, m, fetched_at))),
            );
        }
        Operation::ListSubscribers => {
            let group_id = group()?;
            let page: Vec<Subscriber> = kaizala_types::from_str(body)?;
            rows.members.extend(
                page.iter()
                    .filter_map(|s| member::from_subscriber(&group_id, s, fetched_at))
                    .map(MemberOp::Upsert),
            );
        }
        Operation::ListingDone => {
            let subscribers = match text(&request, "listing").as_deref() {
                Some("members") => false,
                Some("subscribers") => true,
                other => return Err(unmapped(format!("unknown listing {other:?}"))),
            };
            let since = request
                .get("since")
                .and_then(Value::as_i64)
                .ok_or_else(|| unmapped("the listing has no `since`"))?;
            rows.members.push(MemberOp::ListingDone {
                group_id: group()?,
                subscribers,
                since,
            });
        }
        Operation::ListActions => {
            let group_id = group()?;
            let package = text(&request, "packageId");
            let page: Vec<ActionSummary> = kaizala_types::from_str(body)?;
            rows.actions.extend(page.iter().filter_map(|summary| {
                action::from_summary(&group_id, summary, package.as_deref(), fetched_at)
            }));
        }
        Operation::GetAction => {
            let group_id = group()?;
            let action_id = text(&request, "actionId")
                .ok_or_else(|| unmapped("the request names no actionId"))?;
            let details: ActionDetails = kaizala_types::from_str(body)?;
            rows.actions.push(action::from_details(
                &action_id, &group_id, &details, fetched_at,
            ));
            let responses: Vec<ActionEventData> = match &details.action_details {
                Some(DetailsBody::Survey(s)) => s.responses.clone().unwrap_or_default(),
                Some(DetailsBody::Job(j)) => j.responses.clone().unwrap_or_default(),
                Some(DetailsBody::Other(value)) => match value_field(value, "responses") {
                    Some(list) => kaizala_types::from_value(list.clone())
                        .map_err(|e| with_prefix(e, "actionDetails.responses"))?,
                    None => Vec::new(),
                },
                _ => Vec::new(),
            };
            let context = response::Context {
                group_id: Some(group_id),
                action_id: Some(action_id),
                fallback_id: String::new(),
                seen_at: fetched_at,
            };
            rows.responses.extend(
                responses
                    .iter()
                    .filter(|r| r.response_id.is_some())
                    .map(|r| response::from_data(r, &context)),
            );
        }
        Operation::ListReactions => {
            let group_id = group()?;
            let page: Vec<ReactionSummary> = kaizala_types::from_str(body)?;
            rows.reactions.extend(
                page.iter()
                    .map(|s| reaction::from_summary(&group_id, s, fetched_at)),
            );
        }
        Operation::LegacyRow => {
            let table =
                text(&request, "table").ok_or_else(|| unmapped("the request names no table"))?;
            legacy::rows(&table, body, fetched_at, rows)?;
        }
    }
    Ok(())
}

fn with_prefix(err: DecodeError, prefix: &str) -> Unmapped {
    let path = match err.path() {
        "" => prefix.to_owned(),
        p if p.starts_with('[') => format!("{prefix}{p}"),
        p => format!("{prefix}.{p}"),
    };
    Unmapped {
        path: Some(path),
        message: err.to_string(),
    }
}

/// A group as listed, and its sub-groups when the listing names them.
fn group_rows(info: &GroupInfo, fetched_at: i64, rows: &mut Rows) {
    rows.groups.push(group::from_info(info, fetched_at));
    for sub in info.sub_groups.as_deref().unwrap_or_default() {
        rows.groups.push(group::from_sub_group(
            sub,
            info.group_id.as_str(),
            fetched_at,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::parse(op.name()), Some(op));
        }
        assert_eq!(Operation::parse("dropTables"), None);
    }

    #[test]
    fn a_document_that_does_not_fit_names_the_path() {
        let mut rows = Rows::default();
        let err = document_rows(
            "listMembers",
            r#"{"groupId": "g1"}"#,
            r#"[{"id": "u1", "mobileNumber": 12}]"#,
            5,
            &mut rows,
        )
        .unwrap_err();
        assert!(err.path.is_some(), "{err:?}");
        let err = document_rows("listMembers", "{}", "[]", 5, &mut rows).unwrap_err();
        assert!(err.message.contains("groupId"), "{err:?}");
    }
}
