//! From events (and pulled API answers) to rows of the typed tables.
//!
//! One file per event family; each turns an event into rows, and the pull
//! sync builds its rows with the same functions where the data is the same
//! (a response is a response, pushed or pulled), so both paths write the
//! same keys and the same values:
//!
//! | event types | rows |
//! |---|---|
//! | `TextMessageCreated` | [`message`]: `messages` |
//! | `AttachmentCreated` | [`attachment`]: `attachments` (one per file) |
//! | `Announcement`, `JobCreated`, `ActionCreated`, `SurveyCreated`, `PollCreated`, `LetsMeetCreated` | [`action`]: `actions` |
//! | `ActionResponse`, `SurveyResponse`, `JobResponse`, `PollResponse`, `LetsMeetResponse` | [`response`]: `responses` + `answers` |
//! | `MemberAdded`, `MemberRemoved` | [`member`]: `member_changes` + `members` |
//! | `GroupAdded`, `GroupRemoved` | [`group`]: `groups` |
//!
//! Other event types are kept in `events` only.

pub(crate) mod action;
pub(crate) mod attachment;
pub(crate) mod group;
pub(crate) mod member;
pub(crate) mod message;
pub(crate) mod response;

use kaizala_types::event::{Event, EventData, EventType, ObjectType};

use crate::db::millis;
use crate::typed::TypedEvent;

/// Rows to write, by table. [`crate::write::apply`] writes them.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub groups: Vec<group::GroupRow>,
    pub actions: Vec<action::ActionRow>,
    pub responses: Vec<response::ResponseRow>,
    pub messages: Vec<message::MessageRow>,
    pub attachments: Vec<attachment::AttachmentRow>,
    pub member_changes: Vec<member::MemberChangeRow>,
    pub members: Vec<member::MemberOp>,
}

impl Rows {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
            && self.actions.is_empty()
            && self.responses.is_empty()
            && self.messages.is_empty()
            && self.attachments.is_empty()
            && self.member_changes.is_empty()
            && self.members.is_empty()
    }
}

/// What an event's rows share: who, where, when.
#[derive(Debug, Clone)]
pub(crate) struct Envelope<'a> {
    pub event: &'a Event,
    pub event_id: &'a str,
    /// The group the event happened in, when known.
    pub group_id: Option<String>,
    /// When the sink received it (epoch ms).
    pub received_at: i64,
}

impl<'a> Envelope<'a> {
    pub fn new(incoming: &'a TypedEvent) -> Self {
        Envelope {
            event: &incoming.event,
            event_id: incoming.event_id(),
            group_id: event_group(&incoming.event),
            received_at: millis(incoming.received_at),
        }
    }

    pub fn sender_id(&self) -> Option<String> {
        self.event.from_user_id.as_ref().map(|u| u.to_string())
    }
}

/// The group an event happened in: the envelope's `sourceGroupId`, the
/// payload's `sourceGroupId`/`groupId` (not for group events, whose
/// `groupId` is the group added or removed), the envelope's `groupId`, or
/// the `objectId` of a group subscription.
pub(crate) fn event_group(event: &Event) -> Option<String> {
    if let Some(group) = &event.source_group_id {
        return Some(group.to_string());
    }
    let from_data = match event.data() {
        Some(EventData::Action(data)) => data
            .source_group_id
            .as_ref()
            .or(data.group_id.as_ref())
            .map(|g| g.to_string()),
        Some(EventData::JobCreated(data)) => data.group_id.as_ref().map(|g| g.to_string()),
        _ => None,
    };
    from_data
        .or_else(|| event.group_id.as_ref().map(|g| g.to_string()))
        .or_else(|| match (&event.object_type, &event.object_id) {
            (Some(ObjectType::Group), Some(id)) => Some(id.to_string()),
            _ => None,
        })
}

/// Adds the rows `incoming` normalises into (none for unknown types).
pub(crate) fn event_rows(incoming: &TypedEvent, rows: &mut Rows) {
    let envelope = Envelope::new(incoming);
    let event = &incoming.event;
    use EventType as T;
    match event.event_type() {
        T::TextMessageCreated => {
            rows.messages
                .push(message::from_event(&envelope, event.text_message()));
        }
        T::AttachmentCreated => {
            rows.attachments
                .extend(attachment::from_event(&envelope, event.attachment()));
        }
        T::Announcement => {
            rows.actions
                .push(action::from_announcement(&envelope, event.announcement()));
        }
        T::JobCreated => {
            rows.actions
                .push(action::from_job_created(&envelope, event.job_created()));
        }
        T::ActionCreated | T::SurveyCreated | T::PollCreated | T::LetsMeetCreated => {
            if let Some(row) = action::from_action_created(&envelope, event.action()) {
                rows.actions.push(row);
            }
        }
        T::ActionResponse
        | T::SurveyResponse
        | T::JobResponse
        | T::PollResponse
        | T::LetsMeetResponse => {
            if let Some(data) = event.action() {
                let context = response::Context {
                    group_id: envelope.group_id.clone(),
                    action_id: match (&event.object_type, &event.object_id) {
                        (Some(ObjectType::Action), Some(id)) => Some(id.to_string()),
                        _ => None,
                    },
                    fallback_id: envelope.event_id.to_owned(),
                    seen_at: envelope.received_at,
                };
                rows.responses.push(response::from_data(data, &context));
            }
        }
        T::MemberAdded | T::MemberRemoved => {
            member::from_event(&envelope, event.member(), rows);
        }
        T::GroupAdded | T::GroupRemoved => {
            if let Some(row) = group::from_event(&envelope, event.group()) {
                rows.groups.push(row);
            }
        }
        _ => {}
    }
}

/// A JSON value as compact text.
pub(crate) fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    kaizala_types::to_string(value)
}
