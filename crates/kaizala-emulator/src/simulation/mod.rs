//! The simulation API, `/admin/simulate/…`: virtual users act in a group —
//! send messages and pictures, answer surveys, polls, jobs and custom
//! actions in bulk, like and comment, join and leave — with the same state
//! changes and the same webhook events the API's own calls make. It is the
//! source of realistic event streams for demos, dashboards and tests (like
//! the Stripe CLI's `trigger`). Documented in `docs/emulator.md`.
//!
//! Every call answers a summary: the events produced per type and the ids
//! created. All randomness comes from the emulator's random source, so a
//! run with `random_seed` set repeats itself.

mod answers;
mod attachments;
mod corpus;
mod membership;
mod messages;
mod random;
mod reactions;
mod request;
mod responses;
mod users;

use std::collections::BTreeMap;

use bytes::Bytes;
use http::Method;
use serde_json::{Map, Value, json};

use kaizala_types::event::EventType;

use crate::events::Happening;
use crate::http::{ApiError, Reply};
use crate::model::{Group, State};
use crate::shared::Shared;

/// The simulation endpoints: name, what to send, what it produces.
const ENDPOINTS: &[(&str, &str, &str)] = &[
    (
        "messages",
        "{groupId, count, text?}",
        "members send text messages: TextMessageCreated",
    ),
    (
        "attachments",
        "{groupId, count, caption?}",
        "members send pictures: AttachmentCreated",
    ),
    (
        "responses",
        "{groupId, actionId, count, updateFraction?, users?}",
        "virtual users answer a survey, poll, Let's Meet or custom action, or job assignees mark it done: \
         SurveyResponse, ActionResponse, PollResponse, LetsMeetResponse, JobResponse (and MemberAdded for people who join to answer)",
    ),
    (
        "reactions",
        "{groupId, referenceId, likes, comments}",
        "members like and comment on an action or message (no webhook event exists for reactions)",
    ),
    (
        "members",
        "{groupId, join, leave}",
        "people join and leave: MemberAdded, MemberRemoved",
    ),
];

/// Handles `method /admin/simulate/{path}`.
pub async fn handle(
    shared: &Shared,
    method: &Method,
    path: &[&str],
    _query: &[(String, String)],
    body: &Bytes,
) -> Result<Reply, ApiError> {
    match (method.as_str(), path) {
        ("GET", []) => Ok(index()),
        ("POST", ["messages"]) => messages::simulate(shared, body),
        ("POST", ["attachments"]) => attachments::simulate(shared, body),
        ("POST", ["responses"]) => responses::simulate(shared, body),
        ("POST", ["reactions"]) => reactions::simulate(shared, body),
        ("POST", ["members"]) => membership::simulate(shared, body),
        (_, []) => Err(ApiError::method_not_allowed("GET")),
        (_, [name]) if ENDPOINTS.iter().any(|(n, _, _)| n == name) => {
            Err(ApiError::method_not_allowed("POST"))
        }
        _ => Err(ApiError::not_found(format!(
            "no simulation /admin/simulate/{}; GET /admin/simulate lists them",
            path.join("/")
        ))),
    }
}

fn index() -> Reply {
    let endpoints: Vec<Value> = ENDPOINTS
        .iter()
        .map(|(name, body, produces)| json!({"method": "POST", "path": format!("/admin/simulate/{name}"), "body": body, "produces": produces}))
        .collect();
    Reply::ok(&json!({"endpoints": endpoints}))
}

/// What a simulation produced.
#[derive(Debug, Default)]
pub struct Produced {
    /// The happenings, in order, for webhooks.
    pub happenings: Vec<Happening>,
    /// How many of each event type.
    pub counts: BTreeMap<String, u64>,
    /// Virtual users created.
    pub created_users: u64,
    /// No active webhook of the tenant could hear anything: happenings are
    /// only counted (a 100,000-response run need not build them).
    pub unheard: bool,
}

impl Produced {
    /// Notes whether any webhook of `tenant` is listening.
    pub fn listen(&mut self, state: &State, tenant: &str) {
        self.unheard = !state
            .webhooks
            .values()
            .any(|w| w.active && w.tenant == tenant);
    }

    /// Records a happening.
    pub fn push(&mut self, happening: Happening) {
        self.count(&happening.event_type);
        if !self.unheard {
            self.happenings.push(happening);
        }
    }

    /// Records a happening of this type without keeping it (when
    /// [`Produced::unheard`]).
    pub fn count(&mut self, event_type: &EventType) {
        *self.counts.entry(event_type.to_string()).or_default() += 1;
    }
}

/// Publishes what happened (the state is unlocked by now) and answers the
/// summary: `summary`'s fields plus `events` (counts per event type) and
/// `usersCreated`.
fn finish(shared: &Shared, produced: Produced, mut summary: Map<String, Value>) -> Reply {
    summary.insert("events".into(), json!(produced.counts));
    summary.insert("usersCreated".into(), json!(produced.created_users));
    crate::delivery::publish(shared, produced.happenings);
    Reply::ok(&Value::Object(summary))
}

/// The group `id` (404 otherwise).
fn group<'s>(state: &'s State, id: &str) -> Result<&'s Group, ApiError> {
    state
        .groups
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("no group {id}")))
}

/// The group's members, in a stable order; a 400 on `groupId` when it has none.
fn members(group: &Group) -> Result<Vec<String>, ApiError> {
    if group.members.is_empty() {
        return Err(ApiError::bad_field(
            "groupId",
            format!("the group {} has no members to act", group.id),
        ));
    }
    Ok(group.members.keys().cloned().collect())
}
