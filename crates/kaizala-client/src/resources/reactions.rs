//! Reactions to a group's actions.

use futures_util::Stream;
use kaizala_core::Error;
use kaizala_core::ops::reactions::{
    GetReactionDetails, GetReactionSummaryForAction, GetReactionSummaryForGroup, PostReaction,
};
use kaizala_types::reactions::{
    PostReactionRequest, PostReactionResponse, ReactionDetail, ReactionSummary, ReactionType,
};
use kaizala_types::{GroupId, ReferenceId};

use crate::Client;

/// `client.group(id).reactions()`.
#[derive(Debug, Clone)]
pub struct Reactions {
    pub(crate) client: Client,
    pub(crate) group_id: GroupId,
}

impl Reactions {
    /// Likes or comments on an action.
    pub async fn post(&self, request: PostReactionRequest) -> Result<PostReactionResponse, Error> {
        self.client
            .execute(&PostReaction {
                group_id: self.group_id.clone(),
                request,
            })
            .await
    }

    /// Reaction counts of one action (sent in `source_group`).
    pub async fn summary(
        &self,
        reference: impl Into<ReferenceId>,
        source_group: impl Into<GroupId>,
    ) -> Result<Vec<ReactionSummary>, Error> {
        let call = GetReactionSummaryForAction {
            group_id: self.group_id.clone(),
            reference_id: reference.into(),
            source_group_id: source_group.into(),
        };
        Ok(self.client.execute(&call).await?.summary)
    }

    /// Reaction counts of every action sent in `source_group`, page by page.
    pub fn group_summary(
        &self,
        source_group: impl Into<GroupId>,
    ) -> impl Stream<Item = Result<ReactionSummary, Error>> + Send + 'static {
        let first = GetReactionSummaryForGroup {
            group_id: self.group_id.clone(),
            source_group_id: source_group.into(),
            cursor: None,
        };
        crate::paging::items(self.client.clone(), first)
    }

    /// The likes or the comments of one action, page by page.
    pub fn details(
        &self,
        reference: impl Into<ReferenceId>,
        source_group: impl Into<GroupId>,
        reaction_type: ReactionType,
    ) -> impl Stream<Item = Result<ReactionDetail, Error>> + Send + 'static {
        let first = GetReactionDetails {
            group_id: self.group_id.clone(),
            reference_id: reference.into(),
            source_group_id: source_group.into(),
            reaction_type,
            cursor: None,
        };
        crate::paging::items(self.client.clone(), first)
    }
}
