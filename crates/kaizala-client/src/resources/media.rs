//! Media uploads.

use std::path::Path;

use kaizala_core::Error;
use kaizala_core::ops::media::UploadMedia;
use kaizala_types::media::MediaUploadResponse;

use crate::Client;

/// `client.media()`.
#[derive(Debug, Clone)]
pub struct Media {
    pub(crate) client: Client,
}

impl Media {
    /// Uploads a file; its content type comes from its extension (the
    /// documented table), and types the platform refuses are refused here.
    pub async fn upload_path(&self, path: impl AsRef<Path>) -> Result<MediaUploadResponse, Error> {
        let path = path.as_ref();
        let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            Error::invalid_input(format!("{} has no usable file name", path.display()))
        })?;
        let upload = UploadMedia::from_file_name(name, Vec::new())?;
        let data = tokio::fs::read(path).await.map_err(|e| {
            Error::with_source(
                kaizala_core::ErrorKind::InvalidInput(format!("cannot read {}", path.display())),
                e,
            )
        })?;
        self.client.execute(&UploadMedia { data, ..upload }).await
    }

    /// Uploads bytes under `file_name` (whose extension picks the content type).
    pub async fn upload_bytes(
        &self,
        file_name: &str,
        data: Vec<u8>,
    ) -> Result<MediaUploadResponse, Error> {
        self.client
            .execute(&UploadMedia::from_file_name(file_name, data)?)
            .await
    }
}
