//! Actions: post, list, details.

use kaizala_types::actions::{
    ActionDetails, ActionList, ActionType, CreateActionRequest, CreateActionResponse,
};
use kaizala_types::{ActionId, GroupId};

endpoint! {
    /// `POST /groups/{groupId}/actions`: posts an action (or a media file, or
    /// a custom action package instance).
    CreateAction => CreateAction -> CreateActionResponse {
        /// The group to post in.
        path group_id: GroupId,
        /// What to post: the action type and its body.
        json request: CreateActionRequest,
    }
}

endpoint! {
    /// `GET /groups/{groupId}/actions?actionType=…`: one page of actions of a
    /// type (see [`crate::pagination`]).
    ListActions => ListActions -> ActionList {
        /// The group whose actions are listed.
        path group_id: GroupId,
        /// Which type of action.
        query action_type: ActionType = "actionType",
        /// Only actions from this time on, epoch milliseconds.
        query_opt from_date: i64 = "fromDate",
        /// Page size (the platform's default is 30).
        query_opt count: u32 = "count",
    }
}

endpoint! {
    /// `GET /groups/{groupId}/actions/{actionId}`.
    GetAction => GetAction -> ActionDetails {
        /// The group the action was posted in.
        path group_id: GroupId,
        /// The action to read.
        path action_id: ActionId,
        /// Include the individual responses.
        query_opt get_details: bool = "getDetails",
    }
}
