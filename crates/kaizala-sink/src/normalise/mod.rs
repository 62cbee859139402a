//! From log entries to rows of the typed tables.
//!
//! One file per event family; each turns an event into rows, and the
//! documents a sync pulled ([`pulled`]) become rows through the same
//! functions where the data is the same (a response is a response, pushed
//! or pulled), so both paths give the same keys and the same values:
//!
//! | event types | rows |
//! |---|---|
//! | every event | [`event_index`]: `event_index` |
//! | `TextMessageCreated` | [`message`]: `messages` |
//! | `AttachmentCreated` | [`attachment`]: `attachments` (one per file) |
//! | `Announcement`, `JobCreated`, `ActionCreated`, `SurveyCreated`, `PollCreated`, `LetsMeetCreated` | [`action`]: `actions` |
//! | `ActionResponse`, `SurveyResponse`, `JobResponse`, `PollResponse`, `LetsMeetResponse` | [`response`]: `responses` + `answers` |
//! | `MemberAdded`, `MemberRemoved` | [`member`]: `member_changes` + `members` |
//! | `GroupAdded`, `GroupRemoved` | [`group`]: `groups` |
//!
//! Other event types are indexed only. Nothing here reads a clock: a row's
//! times come from its log entry, so projecting the same entries again
//! gives the same rows.

pub(crate) mod action;
pub(crate) mod attachment;
pub(crate) mod event_index;
pub(crate) mod group;
pub(crate) mod legacy;
pub(crate) mod member;
pub(crate) mod message;
pub(crate) mod pulled;
pub(crate) mod reaction;
pub(crate) mod response;

use kaizala_types::event::{Event, EventData, EventType, ObjectType};

use crate::write::Arg;

/// Rows to write, by table, in log order within each. [`crate::write::apply`]
/// writes them.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub event_index: Vec<event_index::EventIndexRow>,
    pub groups: Vec<group::GroupRow>,
    pub actions: Vec<action::ActionRow>,
    pub responses: Vec<response::ResponseRow>,
    pub messages: Vec<message::MessageRow>,
    pub attachments: Vec<attachment::AttachmentRow>,
    pub member_changes: Vec<member::MemberChangeRow>,
    pub members: Vec<member::MemberOp>,
    pub reactions: Vec<reaction::ReactionRow>,
    pub errors: Vec<ErrorRow>,
}

impl Rows {
    /// Adds `other`'s rows after these.
    pub fn append(&mut self, mut other: Rows) {
        self.event_index.append(&mut other.event_index);
        self.groups.append(&mut other.groups);
        self.actions.append(&mut other.actions);
        self.responses.append(&mut other.responses);
        self.messages.append(&mut other.messages);
        self.attachments.append(&mut other.attachments);
        self.member_changes.append(&mut other.member_changes);
        self.members.append(&mut other.members);
        self.reactions.append(&mut other.reactions);
        self.errors.append(&mut other.errors);
    }
}

/// A row of `projection_errors`: a log entry the projector could not map.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ErrorRow {
    pub position: i64,
    /// `events` or `pull_log`.
    pub log: &'static str,
    /// The event's id, or the pulled document's operation.
    pub entry_id: String,
    /// The event type, or the operation.
    pub entry_type: String,
    /// The JSON path at fault, when known.
    pub path: Option<String>,
    pub message: String,
    /// When the entry was logged (epoch ms).
    pub logged_at: i64,
}

impl ErrorRow {
    /// The values of `projection_errors`' columns, in order.
    pub fn args(self) -> Vec<Arg> {
        vec![
            self.position.into(),
            self.log.into(),
            self.entry_id.into(),
            self.entry_type.into(),
            self.path.into(),
            self.message.into(),
            self.logged_at.into(),
        ]
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
    pub fn new(event: &'a Event, received_at: i64) -> Self {
        Envelope {
            event,
            event_id: event.event_id(),
            group_id: event_group(event),
            received_at,
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

/// Adds the rows an event at `position`, received at `received_at` (epoch
/// ms), normalises into.
pub(crate) fn event_rows(event: &Event, position: i64, received_at: i64, rows: &mut Rows) {
    let envelope = Envelope::new(event, received_at);
    rows.event_index
        .push(event_index::from_event(&envelope, position));
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
