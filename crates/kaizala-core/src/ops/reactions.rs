//! Reactions.

use kaizala_types::reactions::{
    PostReactionRequest, PostReactionResponse, ReactionDetailsResponse, ReactionSummaryResponse,
    ReactionType,
};
use kaizala_types::{Cursor, GroupId, ReferenceId};

endpoint! {
    /// `POST /groups/{groupId}/reaction`: likes or comments on an action.
    PostReaction => PostReaction -> PostReactionResponse {
        /// The group the call is made in: the action's group or one of its parents.
        path group_id: GroupId,
        /// The action reacted to, and a like or a comment.
        json request: PostReactionRequest,
    }
}

endpoint! {
    /// `GET /groups/{groupId}/reaction/{referenceId}/summary`: counts for one action.
    GetReactionSummaryForAction => GetReactionSummaryForAction -> ReactionSummaryResponse {
        /// The group the call is made in: the action's group or one of its parents.
        path group_id: GroupId,
        /// The action (its reference id).
        path reference_id: ReferenceId,
        /// The group the action was sent in.
        query source_group_id: GroupId = "sourceGroupId",
    }
}

endpoint! {
    /// `GET /groups/{groupId}/reaction/summary`: counts for every action of a
    /// group, a page at a time (see [`crate::pagination`]).
    GetReactionSummaryForGroup => GetReactionSummaryForGroup -> ReactionSummaryResponse {
        /// The group the call is made in: the actions' group or one of its parents.
        path group_id: GroupId,
        /// The group the actions were sent in.
        query source_group_id: GroupId = "sourceGroupId",
        /// Where to continue (the previous page's cursor).
        query_opt cursor: Cursor = "cursor",
    }
}

endpoint! {
    /// `GET /groups/{groupId}/reaction/{referenceId}`: the reactions of one
    /// action, a page at a time.
    GetReactionDetails => GetReactionDetails -> ReactionDetailsResponse {
        /// The group the call is made in: the action's group or one of its parents.
        path group_id: GroupId,
        /// The action (its reference id).
        path reference_id: ReferenceId,
        /// The group the action was sent in.
        query source_group_id: GroupId = "sourceGroupId",
        /// Likes or comments.
        query reaction_type: ReactionType = "reactionType",
        /// Where to continue (the previous page's cursor).
        query_opt cursor: Cursor = "cursor",
    }
}
