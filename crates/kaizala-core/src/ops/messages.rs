//! Text messages.

use kaizala_types::GroupId;
use kaizala_types::messages::{SendMessageRequest, SendMessageResponse};

endpoint! {
    /// `POST /groups/{groupId}/messages`.
    SendMessage => SendMessage -> SendMessageResponse {
        /// The group.
        path group_id: GroupId,
        /// The message.
        json request: SendMessageRequest,
    }
}
