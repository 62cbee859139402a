//! Responses to actions.

use kaizala_types::responses::{ActionResponseRequest, ActionResponseResponse};
use kaizala_types::{ActionId, GroupId};

endpoint! {
    /// `POST /groups/{groupId}/actions/{actionId}/responses`: responds (or,
    /// with a `responseId`, updates a response).
    PostActionResponse => PostActionResponse -> ActionResponseResponse {
        /// The group.
        path group_id: GroupId,
        /// The action.
        path action_id: ActionId,
        /// The response.
        json request: ActionResponseRequest,
    }
}
