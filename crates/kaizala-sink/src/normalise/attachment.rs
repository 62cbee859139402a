//! `AttachmentCreated` → `attachments`, one row per file.

use kaizala_types::event::AttachmentData;

use super::Envelope;
use crate::write::Arg;

/// A row of `attachments`, keyed by (event id, position of the file).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AttachmentRow {
    pub event_id: String,
    pub item_index: i64,
    pub group_id: Option<String>,
    pub sender_id: Option<String>,
    pub sender_name: Option<String>,
    pub action_type: Option<String>,
    pub caption: Option<String>,
    pub media_url: Option<String>,
    pub file_name: Option<String>,
    pub sent_at: i64,
}

impl AttachmentRow {
    /// The values of `attachments`' columns, in order.
    pub fn args(self) -> Vec<Arg> {
        vec![
            self.event_id.into(),
            self.item_index.into(),
            self.group_id.into(),
            self.sender_id.into(),
            self.sender_name.into(),
            self.action_type.into(),
            self.caption.into(),
            self.media_url.into(),
            self.file_name.into(),
            self.sent_at.into(),
        ]
    }
}

/// One row per file; one row without a file when the event lists none (so
/// the caption is not lost).
pub(crate) fn from_event(
    envelope: &Envelope<'_>,
    data: Option<&AttachmentData>,
) -> Vec<AttachmentRow> {
    let row = |index: usize, url: Option<String>, name: Option<String>| AttachmentRow {
        event_id: envelope.event_id.to_owned(),
        item_index: index as i64,
        group_id: envelope.group_id.clone(),
        sender_id: envelope.sender_id(),
        sender_name: envelope.event.from_user_name.clone(),
        action_type: data
            .and_then(|d| d.action_type.as_ref())
            .map(|t| t.to_string()),
        caption: data.and_then(|d| d.caption.clone()),
        media_url: url,
        file_name: name,
        sent_at: envelope.received_at,
    };
    let media = data.and_then(|d| d.media.as_deref()).unwrap_or_default();
    if media.is_empty() {
        return vec![row(0, None, None)];
    }
    media
        .iter()
        .enumerate()
        .map(|(i, m)| row(i, m.media_url.clone(), m.media_file_name.clone()))
        .collect()
}
