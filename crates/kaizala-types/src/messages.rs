//! Text messages (`messages.md`).

use crate::{Flag, PhoneNumber, ReferenceId};

wire_object! {
    /// `POST /groups/{groupId}/messages`.
    ///
    /// In a managed public group, `send_to_all_subscribers` or
    /// `subscribers` address subscribers instead of the group.
    pub struct SendMessageRequest {
        /// The text (at most [`SendMessageRequest::MAX_CHARS`] characters).
        /// The vendor's examples spell it `Message`; accepted.
        req message: String = "message",
        /// Public groups: send to every subscriber (needs an admin token).
        opt send_to_all_subscribers: Flag = "sendToAllSubscribers",
        /// Public groups: send only to these subscribers.
        opt subscribers: Vec<PhoneNumber> = "subscribers",
    }
}

impl SendMessageRequest {
    /// The documented limit on message length, in characters.
    pub const MAX_CHARS: usize = 4000;

    /// A text message to the path's group.
    pub fn new(message: impl Into<String>) -> Self {
        SendMessageRequest {
            message: message.into(),
            send_to_all_subscribers: None,
            subscribers: None,
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// The answer of `POST /groups/{groupId}/messages`.
    pub struct SendMessageResponse {
        /// Id of the sent message.
        req reference_id: ReferenceId = "referenceId",
    }
}
