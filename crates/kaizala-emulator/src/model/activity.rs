//! What happens in groups: messages, actions and their responses, media,
//! reactions.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A text message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// The id returned to the sender.
    pub reference_id: String,
    /// The group it was sent in.
    pub group_id: String,
    /// Sender (user id).
    pub sender: String,
    /// The text as sent.
    pub text: String,
    /// Subscribers it was sent to, for public-group messages.
    #[serde(default)]
    pub to: Vec<String>,
    /// Sent, epoch ms.
    pub sent_ms: i64,
}

/// An action instance (or a media post).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    /// The action's id, the `{actionId}` of action calls.
    pub id: String,
    /// Id of the message that carried it (what reactions refer to).
    pub reference_id: String,
    /// Group it was posted in.
    pub group_id: String,
    /// Built-in type (`Survey`, `Job`, …, `Image`), absent for packages.
    #[serde(default)]
    pub action_type: Option<String>,
    /// Action package id, for custom actions.
    #[serde(default)]
    pub package_id: Option<String>,
    /// The `actionBody` as posted (canonical JSON).
    pub body: Value,
    /// Sender (user id).
    pub sender: String,
    /// Posted, epoch ms.
    pub sent_ms: i64,
    /// Closes, epoch ms (surveys, polls, jobs).
    #[serde(default)]
    pub expiry_ms: Option<i64>,
    /// Responses, oldest first.
    #[serde(default)]
    pub responses: Vec<ActionResponse>,
}

/// A response to an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionResponse {
    /// Its id; posting a response with it updates this one.
    pub response_id: String,
    /// Responder (user id).
    pub responder: String,
    /// The `actionBody` of the response as posted (canonical JSON).
    pub body: Value,
    /// First posted, epoch ms.
    pub created_ms: i64,
    /// Last updated, epoch ms.
    pub updated_ms: i64,
    /// Updated at least once.
    #[serde(default)]
    pub updated: bool,
}

/// An uploaded file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFile {
    /// The opaque `mediaResource` handed back.
    pub resource: String,
    /// The name it was uploaded with.
    pub file_name: String,
    /// The `Content-Type` declared for the upload, or the one its extension
    /// implies.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Where it "is" (the emulator does not serve files).
    pub url: String,
    /// Uploaded, epoch ms.
    pub uploaded_ms: i64,
}

/// A like or a comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reaction {
    /// Reaction id.
    pub id: String,
    /// The action's reference id.
    pub reference_id: String,
    /// The group of the call.
    pub group_id: String,
    /// The group the action was sent in.
    pub source_group_id: String,
    /// Who reacted (user id).
    pub user_id: String,
    /// `Like` or `Comment`.
    pub reaction_type: String,
    /// Comment text.
    #[serde(default)]
    pub comment: Option<String>,
    /// Created or changed, epoch ms.
    pub modified_ms: i64,
}
