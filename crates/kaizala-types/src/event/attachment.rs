//! `AttachmentCreated`.

use crate::actions::ActionType;
use crate::common::MediaItem;

wire_object! {
    /// Payload of `AttachmentCreated`: a picture (or other file) was sent.
    #[derive(Default)]
    pub struct AttachmentData {
        /// The files.
        opt media: Vec<MediaItem> = "media",
        /// What kind of attachment (`Image`).
        opt action_type: ActionType = "actionType",
        /// The text sent with the files.
        opt caption: String = "caption",
    }
}
