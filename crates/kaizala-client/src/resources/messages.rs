//! Text messages.

use kaizala_core::Error;
use kaizala_core::ops::messages::SendMessage;
use kaizala_types::GroupId;
use kaizala_types::messages::{SendMessageRequest, SendMessageResponse};

use crate::Client;

/// `client.group(id).messages()`.
#[derive(Debug, Clone)]
pub struct Messages {
    pub(crate) client: Client,
    pub(crate) group_id: GroupId,
}

impl Messages {
    /// Sends a text message to the group.
    pub async fn send(&self, text: impl Into<String>) -> Result<SendMessageResponse, Error> {
        self.send_request(SendMessageRequest::new(text)).await
    }

    /// Sends a message as described (public groups: to all or some subscribers).
    pub async fn send_request(
        &self,
        request: SendMessageRequest,
    ) -> Result<SendMessageResponse, Error> {
        let chars = request.message.chars().count();
        if chars > SendMessageRequest::MAX_CHARS {
            return Err(Error::invalid_input(format!(
                "a message holds at most {} characters; this one has {chars}",
                SendMessageRequest::MAX_CHARS
            )));
        }
        self.client
            .execute(&SendMessage {
                group_id: self.group_id.clone(),
                request,
            })
            .await
    }
}
