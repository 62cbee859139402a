//! Reactions (`reactions.md`): likes and comments on actions.

use crate::{Cursor, GroupId, ReactionId, ReferenceId, Timestamp, UserId};

wire_enum! {
    /// What kind of reaction.
    pub enum ReactionType {
        /// A like.
        Like = "Like",
        /// A comment (with text).
        Comment = "Comment",
    }
}

wire_object! {
    /// `POST /groups/{groupId}/reaction`.
    pub struct PostReactionRequest {
        /// The action reacted to (its reference id).
        req reference_id: ReferenceId = "referenceId",
        /// The group the action was sent in (may differ from the path's
        /// group when that one is a parent).
        req source_group_id: GroupId = "sourceGroupId",
        /// `Like` or `Comment`.
        req reaction_type: ReactionType = "reactionType",
        /// The comment text (comments only).
        opt comment: String = "comment",
    }
}

impl PostReactionRequest {
    /// A like of `reference_id`, sent in `source_group_id`.
    pub fn like(reference_id: impl Into<ReferenceId>, source_group_id: impl Into<GroupId>) -> Self {
        PostReactionRequest {
            reference_id: reference_id.into(),
            source_group_id: source_group_id.into(),
            reaction_type: ReactionType::Like,
            comment: None,
            extra: crate::Extra::new(),
        }
    }

    /// A comment on `reference_id`, sent in `source_group_id`.
    pub fn comment(
        reference_id: impl Into<ReferenceId>,
        source_group_id: impl Into<GroupId>,
        comment: impl Into<String>,
    ) -> Self {
        PostReactionRequest {
            reaction_type: ReactionType::Comment,
            comment: Some(comment.into()),
            ..Self::like(reference_id, source_group_id)
        }
    }
}

wire_object! {
    /// The answer of `POST /groups/{groupId}/reaction`.
    pub struct PostReactionResponse {
        /// The new reaction's id.
        req reaction_id: ReactionId = "reactionId",
    }
}

wire_object! {
    /// The answer of the summary calls, per action
    /// (`…/reaction/{referenceId}/summary`) and per group
    /// (`…/reaction/summary`, paginated).
    pub struct ReactionSummaryResponse {
        /// Group summary: where to continue (a tick count); absent per action.
        opt cursor: Cursor = "cursor",
        /// One entry per action.
        req summary: Vec<ReactionSummary> = "summary",
    }
}

wire_object! {
    /// Reaction counts of one action.
    pub struct ReactionSummary {
        /// The action (its reference id).
        req reference_id: ReferenceId = "referenceId",
        /// Counts by reaction type.
        opt reactions_count_map: ReactionCounts = "reactionsCountMap",
    }
}

wire_object! {
    /// Counts by reaction type (other types stay in `extra`).
    #[derive(Default)]
    pub struct ReactionCounts {
        /// Number of likes.
        opt like: u64 = "like",
        /// Number of comments.
        opt comment: u64 = "comment",
    }
}

wire_object! {
    /// The answer of `GET /groups/{groupId}/reaction/{referenceId}` (paginated).
    pub struct ReactionDetailsResponse {
        /// Where to continue (a tick count).
        opt cursor: Cursor = "cursor",
        /// This page of reactions.
        req reaction_details: Vec<ReactionDetail> = "reactionDetails",
    }
}

wire_object! {
    /// One reaction.
    pub struct ReactionDetail {
        /// Its id.
        req reaction_id: ReactionId = "reactionId",
        /// Who reacted.
        opt user_id: UserId = "userId",
        /// When it was created or last changed (epoch milliseconds).
        opt last_modified_time: Timestamp = "lastModifiedTime",
        /// The comment text (comments).
        opt comment: String = "comment",
    }
}
