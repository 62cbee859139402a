//! Reaction summaries a sync pulled → `reactions`.

use kaizala_types::reactions::ReactionSummary;

use super::json;
use crate::write::Arg;

/// A row of `reactions`: the like and comment counts of one action.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReactionRow {
    pub reference_id: String,
    pub group_id: Option<String>,
    pub source_group_id: Option<String>,
    pub likes: i64,
    pub comments: i64,
    pub counts: Option<String>,
    pub synced_at: i64,
}

impl ReactionRow {
    /// The values of `reactions`' columns, in order.
    pub fn args(self) -> Vec<Arg> {
        vec![
            self.reference_id.into(),
            self.group_id.into(),
            self.source_group_id.into(),
            self.likes.into(),
            self.comments.into(),
            self.counts.into(),
            self.synced_at.into(),
        ]
    }
}

pub(crate) fn from_summary(
    group_id: &str,
    summary: &ReactionSummary,
    synced_at: i64,
) -> ReactionRow {
    let counts = summary.reactions_count_map.clone().unwrap_or_default();
    ReactionRow {
        reference_id: summary.reference_id.to_string(),
        group_id: Some(group_id.to_owned()),
        source_group_id: Some(group_id.to_owned()),
        likes: i64::try_from(counts.like.unwrap_or(0)).unwrap_or(i64::MAX),
        comments: i64::try_from(counts.comment.unwrap_or(0)).unwrap_or(i64::MAX),
        counts: Some(json(&counts)),
        synced_at,
    }
}
