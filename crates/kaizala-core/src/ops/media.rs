//! Media upload.

use kaizala_types::media::{MediaUploadResponse, format_for_file_name};

use crate::Error;
use crate::endpoint::{Body, Endpoint, Operation};
use crate::multipart::Multipart;

/// The multipart field the file travels in.
pub const FILE_FIELD: &str = "file";

/// `POST /media`: uploads a file (multipart) for a media action.
#[derive(Clone, PartialEq)]
pub struct UploadMedia {
    /// The file's name, extension included.
    pub file_name: String,
    /// Its `Content-Type` (one of [`kaizala_types::media::MEDIA_FORMATS`]).
    pub content_type: String,
    /// The file's content, sent as is.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for UploadMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadMedia")
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl UploadMedia {
    /// An upload whose content type comes from the documented extension
    /// table; a file type the platform does not take is refused here rather
    /// than with a 415 later.
    pub fn from_file_name(file_name: impl Into<String>, data: Vec<u8>) -> Result<Self, Error> {
        let file_name = file_name.into();
        let format = format_for_file_name(&file_name).ok_or_else(|| {
            Error::invalid_input(format!(
                "{file_name:?}: the platform takes .jpg, .jpeg, .png, .mp3, .wav, .doc, .docx, .xls, .xlsx, .ppt, .pptx, .pdf, .mp4 and .3gpp files"
            ))
        })?;
        Ok(UploadMedia {
            file_name,
            content_type: format.content_type.to_owned(),
            data,
        })
    }
}

impl Endpoint for UploadMedia {
    type Response = MediaUploadResponse;
    const OPERATION: Operation = Operation::UploadMedia;

    fn body(&self) -> Result<Body, Error> {
        Ok(Body::Multipart(Multipart::file(
            FILE_FIELD,
            &self.file_name,
            &self.content_type,
            self.data.clone(),
        )))
    }
}
