//! Responses to actions.

use kaizala_types::responses::{ActionResponseRequest, ActionResponseResponse};
use kaizala_types::{ActionId, GroupId};

endpoint! {
    /// `POST /groups/{groupId}/actions/{actionId}/responses`: responds (or,
    /// with a `responseId`, updates a response).
    PostActionResponse => PostActionResponse -> ActionResponseResponse {
        /// The group the action was posted in.
        path group_id: GroupId,
        /// The action responded to.
        path action_id: ActionId,
        /// The answers, with a `responseId` when an earlier response is updated.
        json request: ActionResponseRequest,
    }
}
