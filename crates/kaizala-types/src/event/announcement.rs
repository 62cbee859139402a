//! `Announcement`.

use crate::common::MediaItem;

wire_object! {
    /// Payload of `Announcement`: an announcement was posted.
    #[derive(Default)]
    pub struct AnnouncementData {
        /// The announcement's title, if it has one.
        opt title: String = "title",
        /// The announcement's message.
        opt text: String = "text",
        /// Pictures (the sample spells their properties `url`/`fileName`).
        opt media: Vec<MediaItem> = "media",
    }
}
