//! Every event → `event_index`: where and by whom it happened, so queries
//! need not read the log's bodies.

use super::Envelope;
use crate::write::Arg;

/// A row of `event_index`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EventIndexRow {
    pub event_id: String,
    pub position: i64,
    pub event_type: String,
    pub object_id: Option<String>,
    pub object_type: Option<String>,
    pub group_id: Option<String>,
    pub from_user_id: Option<String>,
    pub received_at: i64,
}

impl EventIndexRow {
    /// The values of `event_index`'s columns, in order.
    pub fn args(self) -> Vec<Arg> {
        vec![
            self.event_id.into(),
            self.position.into(),
            self.event_type.into(),
            self.object_id.into(),
            self.object_type.into(),
            self.group_id.into(),
            self.from_user_id.into(),
            self.received_at.into(),
        ]
    }
}

pub(crate) fn from_event(envelope: &Envelope<'_>, position: i64) -> EventIndexRow {
    let event = envelope.event;
    EventIndexRow {
        event_id: envelope.event_id.to_owned(),
        position,
        event_type: event.event_type().to_string(),
        object_id: event.object_id.as_ref().map(|o| o.to_string()),
        object_type: event.object_type.as_ref().map(|o| o.to_string()),
        group_id: envelope.group_id.clone(),
        from_user_id: envelope.sender_id(),
        received_at: envelope.received_at,
    }
}
