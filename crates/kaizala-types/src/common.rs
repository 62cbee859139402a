//! Shapes shared by several resources.

use crate::{Flag, Numeric};

wire_object! {
    /// `{"result": true}` — the answer of calls that only succeed or fail
    /// (adding or removing members, sub-groups, deleting a webhook). The
    /// platform sends the value as a string (`"true"`) as often as not.
    #[derive(Default)]
    pub struct ResultResponse {
        /// Whether the call fully succeeded.
        opt result: Flag = "result",
    }
}

wire_object! {
    /// A media file as the platform links it from events and answers.
    ///
    /// The documented spelling is `mediaUrl`/`mediaFileName`; the
    /// Announcement event sample spells them `url`/`fileName`, accepted too.
    #[derive(Default)]
    pub struct MediaItem {
        /// Where the file can be downloaded.
        opt media_url: String = "mediaUrl" | "url",
        /// The file's name.
        opt media_file_name: String = "mediaFileName" | "fileName",
    }
}

wire_object! {
    /// A named location: a Let's Meet venue, a response's location.
    #[derive(Default)]
    pub struct Place {
        /// Latitude in degrees.
        opt latitude: Numeric = "latitude",
        /// Longitude in degrees.
        opt longitude: Numeric = "longitude",
        /// Display name of the place.
        opt name: String = "name",
    }
}

impl Place {
    /// A place from coordinates and a name.
    pub fn new(latitude: f64, longitude: f64, name: impl Into<String>) -> Self {
        Place {
            latitude: Some(latitude.into()),
            longitude: Some(longitude.into()),
            name: Some(name.into()),
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// The body of an error response, e.g.
    /// `{"message": "...", "errorCode": "InvalidToken", "errorCategoryKey": "AuthException"}`.
    #[derive(Default)]
    pub struct ErrorBody {
        /// Human-readable explanation.
        opt message: String = "message",
        /// Machine-readable code (`InvalidToken`, …).
        opt error_code: String = "errorCode",
        /// Category of the code (`AuthException`, …).
        opt error_category_key: String = "errorCategoryKey",
    }
}

wire_enum! {
    /// A member's role in a group.
    pub enum MemberRole {
        /// Group administrator.
        Admin = "Admin",
        /// Regular member.
        Member = "Member",
        /// Subscriber of a managed public group.
        Subscriber = "Subscriber",
    }
}
