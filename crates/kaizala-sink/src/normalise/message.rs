//! `TextMessageCreated` → `messages`.

use kaizala_types::event::TextMessageData;

use super::Envelope;
use crate::write::Arg;

/// A row of `messages`, keyed by the event's id (the platform gives a
/// message no other id in its event).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MessageRow {
    pub event_id: String,
    pub group_id: Option<String>,
    pub sender_id: Option<String>,
    pub sender_phone: Option<String>,
    pub sender_name: Option<String>,
    pub text: Option<String>,
    pub sent_at: i64,
}

impl MessageRow {
    /// The values of `messages`' columns, in order.
    pub fn args(self) -> Vec<Arg> {
        vec![
            self.event_id.into(),
            self.group_id.into(),
            self.sender_id.into(),
            self.sender_phone.into(),
            self.sender_name.into(),
            self.text.into(),
            self.sent_at.into(),
        ]
    }
}

pub(crate) fn from_event(envelope: &Envelope<'_>, data: Option<&TextMessageData>) -> MessageRow {
    let event = envelope.event;
    MessageRow {
        event_id: envelope.event_id.to_owned(),
        group_id: envelope.group_id.clone(),
        sender_id: envelope.sender_id(),
        sender_phone: event.from_user.clone(),
        sender_name: event.from_user_name.clone(),
        text: data.and_then(|d| d.text.clone()),
        sent_at: envelope.received_at,
    }
}
