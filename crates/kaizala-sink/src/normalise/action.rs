//! `Announcement`, `JobCreated`, `ActionCreated`, `SurveyCreated`,
//! `PollCreated`, `LetsMeetCreated` → `actions`; actions as the API lists
//! them.

use kaizala_types::actions::{ActionDetails, ActionSummary, DetailsBody, SummaryBody};
use kaizala_types::event::{ActionEventData, AnnouncementData, EventType, JobCreatedData};
use serde_json::Value;

use super::{Envelope, json};
use crate::write::Arg;

/// What `action_type` says for instances of a custom action package.
pub(crate) const CUSTOM: &str = "Custom";

/// A row of `actions`. `None` columns keep what is stored (an event and a
/// pull each know part of an action).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ActionRow {
    pub action_id: String,
    pub group_id: Option<String>,
    pub action_type: Option<String>,
    pub package_id: Option<String>,
    pub reference_id: Option<String>,
    /// The event that announced it.
    pub event_id: Option<String>,
    pub title: Option<String>,
    pub text: Option<String>,
    pub creator_id: Option<String>,
    pub creator_phone: Option<String>,
    pub creator_name: Option<String>,
    pub created_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub is_anonymous: Option<bool>,
    pub response_count: Option<i64>,
    pub questions: Option<String>,
    pub body: Option<String>,
    pub seen_at: i64,
    /// When it was first seen, if before `seen_at` (rows of a 0.1 database).
    pub first_seen: Option<i64>,
}

impl ActionRow {
    /// The values of `actions`' columns, in order.
    pub fn args(self) -> Vec<Arg> {
        vec![
            self.action_id.into(),
            self.group_id.into(),
            self.action_type.into(),
            self.package_id.into(),
            self.reference_id.into(),
            self.event_id.into(),
            self.title.into(),
            self.text.into(),
            self.creator_id.into(),
            self.creator_phone.into(),
            self.creator_name.into(),
            self.created_at.into(),
            self.expires_at.into(),
            self.is_anonymous.into(),
            self.response_count.into(),
            self.questions.into(),
            self.body.into(),
            self.first_seen.unwrap_or(self.seen_at).into(),
            self.seen_at.into(),
        ]
    }

    /// Whether it is an announcement (matched between push and pull, see
    /// [`crate::write`]).
    pub fn is_announcement(&self) -> bool {
        self.action_type.as_deref() == Some(ANNOUNCEMENT)
    }
}

/// What `action_type` says for announcements.
pub(crate) const ANNOUNCEMENT: &str = "Announcement";

fn creator(envelope: &Envelope<'_>) -> ActionRow {
    ActionRow {
        event_id: Some(envelope.event_id.to_owned()),
        group_id: envelope.group_id.clone(),
        creator_id: envelope.sender_id(),
        creator_phone: envelope.event.from_user.clone(),
        creator_name: envelope.event.from_user_name.clone(),
        created_at: Some(envelope.received_at),
        seen_at: envelope.received_at,
        ..Default::default()
    }
}

/// An announcement. Its event carries no action id: the one in `data`
/// when real traffic sends it, else the event's id stands in.
pub(crate) fn from_announcement(
    envelope: &Envelope<'_>,
    data: Option<&AnnouncementData>,
) -> ActionRow {
    let action_id = data
        .and_then(|d| extra_text(&d.extra, "actionId"))
        .unwrap_or_else(|| envelope.event_id.to_owned());
    ActionRow {
        action_id,
        action_type: Some(ANNOUNCEMENT.to_owned()),
        title: data.and_then(|d| d.title.clone()),
        text: data.and_then(|d| d.text.clone()),
        body: data.map(json),
        ..creator(envelope)
    }
}

/// A job (keyed by the event's id when it names no action).
pub(crate) fn from_job_created(
    envelope: &Envelope<'_>,
    data: Option<&JobCreatedData>,
) -> ActionRow {
    ActionRow {
        action_id: data
            .and_then(|d| d.action_id.as_ref())
            .map_or_else(|| envelope.event_id.to_owned(), |a| a.to_string()),
        action_type: Some("Job".to_owned()),
        title: data.and_then(|d| d.title.clone()),
        text: data.and_then(|d| d.text.clone()),
        expires_at: data
            .and_then(|d| d.due_date.as_ref())
            .map(|t| t.unix_millis()),
        body: data.map(json),
        group_id: data
            .and_then(|d| d.group_id.as_ref())
            .map(|g| g.to_string())
            .or_else(|| envelope.group_id.clone()),
        ..creator(envelope)
    }
}

/// A survey, poll, Let's Meet or custom action; `None` when the event
/// names no action.
pub(crate) fn from_action_created(
    envelope: &Envelope<'_>,
    data: Option<&ActionEventData>,
) -> Option<ActionRow> {
    let data = data?;
    let package_id = data
        .action_package_id
        .as_ref()
        .or(data.package_id.as_ref())
        .map(|p| p.to_string());
    let action_type = match envelope.event.event_type() {
        EventType::SurveyCreated => Some("Survey".to_owned()),
        EventType::PollCreated => Some("Poll".to_owned()),
        EventType::LetsMeetCreated => Some("LetsMeet".to_owned()),
        _ => package_id.as_ref().map(|_| CUSTOM.to_owned()),
    };
    let questions = match &data.questions {
        Some(questions) => Some(json(questions)),
        // The documentation's sample of a creation carries answered
        // questions instead: keep their titles, types and options.
        None if !data.questions().is_empty() => Some(json(
            &data
                .questions()
                .iter()
                .map(|q| {
                    let mut q = q.clone();
                    q.answer = None;
                    q
                })
                .collect::<Vec<_>>(),
        )),
        None => None,
    };
    let mut row = creator(envelope);
    if let Some(creator_id) = &data.creator_id {
        row.creator_id = Some(creator_id.to_string());
    }
    Some(ActionRow {
        action_id: data.action_id.as_ref()?.to_string(),
        group_id: data
            .source_group_id
            .as_ref()
            .or(data.group_id.as_ref())
            .map(|g| g.to_string())
            .or(row.group_id.take()),
        action_type,
        package_id,
        title: data.title.clone(),
        is_anonymous: data.is_anonymous.map(|f| f.get()),
        questions,
        body: Some(json(data)),
        ..row
    })
}

/// An action as `GET …/actions` lists it; `None` for actions without an id
/// (media posts). `custom_package` is the package listed, if any.
pub(crate) fn from_summary(
    group_id: &str,
    summary: &ActionSummary,
    custom_package: Option<&str>,
    seen_at: i64,
) -> Option<ActionRow> {
    let mut row = ActionRow {
        group_id: Some(group_id.to_owned()),
        action_type: match custom_package {
            Some(_) => Some(CUSTOM.to_owned()),
            None => summary.action_type.as_ref().map(|t| t.to_string()),
        },
        package_id: custom_package.map(str::to_owned),
        reference_id: summary.reference_id.as_ref().map(|r| r.to_string()),
        creator_phone: summary.sender.clone(),
        created_at: summary.sent().map(|t| t.unix_millis()),
        body: summary.action_body.as_ref().map(json),
        seen_at,
        ..Default::default()
    };
    let id = match summary.action_body.as_ref()? {
        SummaryBody::Survey(s) => {
            row.title = s.title.clone();
            row.response_count = s.response_count.map(count);
            row.expires_at = s.expiry_date.as_ref().map(|t| t.unix_millis());
            s.action_id.as_ref()?.to_string()
        }
        SummaryBody::Job(j) => {
            row.title = j.title.clone();
            row.response_count = j.response_count.map(count);
            row.expires_at = j.due_date.as_ref().map(|t| t.unix_millis());
            j.action_id.as_ref()?.to_string()
        }
        SummaryBody::Poll(p) => {
            row.title = p.question.clone();
            row.expires_at = p.expiry_date.as_ref().map(|t| t.unix_millis());
            p.action_id.as_ref()?.to_string()
        }
        SummaryBody::LetsMeet(m) => {
            row.title = m.title.clone();
            row.text = m.agenda.clone();
            m.action_id.as_ref()?.to_string()
        }
        SummaryBody::Other(value) => {
            row.title = value_text(value, "title");
            row.text = value_text(value, "message");
            row.response_count = value_field(value, "responseCount").and_then(Value::as_i64);
            row.package_id = row
                .package_id
                .take()
                .or_else(|| value_text(value, "packageId"));
            value_text(value, "actionId")?
        }
        _ => return None,
    };
    row.action_id = id;
    Some(row)
}

/// What an action's details add: its response count, title and expiry.
pub(crate) fn from_details(
    action_id: &str,
    group_id: &str,
    details: &ActionDetails,
    seen_at: i64,
) -> ActionRow {
    let mut row = ActionRow {
        action_id: action_id.to_owned(),
        group_id: Some(group_id.to_owned()),
        reference_id: details.reference_id.as_ref().map(|r| r.to_string()),
        seen_at,
        ..Default::default()
    };
    match &details.action_details {
        Some(DetailsBody::Survey(s)) => {
            row.title = s.title.clone();
            row.response_count = s.response_count.map(count);
            row.expires_at = s.expiry_date.as_ref().map(|t| t.unix_millis());
        }
        Some(DetailsBody::Job(j)) => {
            row.title = j.title.clone();
            row.response_count = j.response_count.map(count);
            row.expires_at = j.due_date.as_ref().map(|t| t.unix_millis());
        }
        Some(DetailsBody::Other(value)) => {
            row.response_count = value_field(value, "responseCount").and_then(Value::as_i64);
        }
        _ => {}
    }
    row
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A property of a JSON object in any letter case.
pub(crate) fn value_field<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    value
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn value_text(value: &Value, key: &str) -> Option<String> {
    value_field(value, key)?.as_str().map(str::to_owned)
}

fn extra_text(extra: &kaizala_types::Extra, key: &str) -> Option<String> {
    extra
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_owned)
}
