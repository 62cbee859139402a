//! `Announcement`.

use crate::common::MediaItem;

wire_object! {
    /// Payload of `Announcement`: an announcement was posted.
    #[derive(Default)]
    pub struct AnnouncementData {
        /// Title.
        opt title: String = "title",
        /// Text.
        opt text: String = "text",
        /// Pictures (the sample spells their properties `url`/`fileName`).
        opt media: Vec<MediaItem> = "media",
    }
}
