//! Text messages.

use kaizala_types::GroupId;
use kaizala_types::messages::{SendMessageRequest, SendMessageResponse};

endpoint! {
    /// `POST /groups/{groupId}/messages`.
    SendMessage => SendMessage -> SendMessageResponse {
        /// The group to send the message in.
        path group_id: GroupId,
        /// The text, and for a public group which subscribers get it.
        json request: SendMessageRequest,
    }
}
