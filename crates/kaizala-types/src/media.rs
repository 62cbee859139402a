//! Media (`media.md`): upload a file with `POST /media` (multipart), then
//! post the returned [`MediaResource`] as an Image, Album, Audio, Document or
//! Video action (see [`crate::actions::MediaBody`]).

use crate::actions::ActionType;

wire_id! {
    /// The opaque handle `/media` returns for an uploaded file. It may be
    /// base64 JSON or an encrypted token; never parse it, only send it back.
    MediaResource,
}

wire_object! {
    /// The answer of `POST /media`.
    pub struct MediaUploadResponse {
        /// Handle to use in a media action or as an Image answer.
        req media_resource: MediaResource = "mediaResource",
    }
}

/// One row of the documented table of uploadable files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaFormat {
    /// File name extension, lower case, without the dot.
    pub extension: &'static str,
    /// The `Content-Type` the upload must carry (anything else gets 415).
    pub content_type: &'static str,
    /// Which kind of media it is.
    pub kind: MediaKind,
}

/// The media kinds of the table; each is posted with the action type of the
/// same name (images may also be posted as an `Album`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaKind {
    /// `.jpg`, `.jpeg`, `.png`.
    Image,
    /// `.mp3`, `.wav`.
    Audio,
    /// Office documents and PDF.
    Document,
    /// `.mp4`, `.3gpp`.
    Video,
}

impl MediaKind {
    /// The action type to post this kind of media with.
    pub fn action_type(self) -> ActionType {
        match self {
            MediaKind::Image => ActionType::Image,
            MediaKind::Audio => ActionType::Audio,
            MediaKind::Document => ActionType::Document,
            MediaKind::Video => ActionType::Video,
        }
    }
}

/// The supported file formats, from `media.md`.
pub const MEDIA_FORMATS: &[MediaFormat] = &[
    MediaFormat {
        extension: "jpg",
        content_type: "image/jpeg",
        kind: MediaKind::Image,
    },
    MediaFormat {
        extension: "jpeg",
        content_type: "image/jpeg",
        kind: MediaKind::Image,
    },
    MediaFormat {
        extension: "png",
        content_type: "image/png",
        kind: MediaKind::Image,
    },
    MediaFormat {
        extension: "mp3",
        content_type: "audio/mpeg",
        kind: MediaKind::Audio,
    },
    MediaFormat {
        extension: "wav",
        content_type: "audio/wav",
        kind: MediaKind::Audio,
    },
    MediaFormat {
        extension: "doc",
        content_type: "application/msword",
        kind: MediaKind::Document,
    },
    MediaFormat {
        extension: "docx",
        content_type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        kind: MediaKind::Document,
    },
    MediaFormat {
        extension: "xls",
        content_type: "application/vnd.ms-excel",
        kind: MediaKind::Document,
    },
    MediaFormat {
        extension: "xlsx",
        content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        kind: MediaKind::Document,
    },
    MediaFormat {
        extension: "ppt",
        content_type: "application/vnd.ms-powerpoint",
        kind: MediaKind::Document,
    },
    MediaFormat {
        extension: "pptx",
        content_type: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        kind: MediaKind::Document,
    },
    MediaFormat {
        extension: "pdf",
        content_type: "application/pdf",
        kind: MediaKind::Document,
    },
    MediaFormat {
        extension: "mp4",
        content_type: "video/mp4",
        kind: MediaKind::Video,
    },
    MediaFormat {
        extension: "3gpp",
        content_type: "video/3gpp",
        kind: MediaKind::Video,
    },
];

/// The format of a file name (by extension, any letter case), if supported.
///
/// ```
/// use kaizala_types::media::{format_for_file_name, MediaKind};
///
/// let format = format_for_file_name("Quarterly Report.PDF").unwrap();
/// assert_eq!(format.content_type, "application/pdf");
/// assert_eq!(format.kind, MediaKind::Document);
/// assert!(format_for_file_name("notes.txt").is_none());
/// ```
pub fn format_for_file_name(file_name: &str) -> Option<&'static MediaFormat> {
    let (_, extension) = file_name.rsplit_once('.')?;
    MEDIA_FORMATS
        .iter()
        .find(|f| f.extension.eq_ignore_ascii_case(extension))
}

/// The format of an upload's `Content-Type` (parameters ignored), if supported.
pub fn format_for_content_type(content_type: &str) -> Option<&'static MediaFormat> {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    MEDIA_FORMATS
        .iter()
        .find(|f| f.content_type.eq_ignore_ascii_case(essence))
}
