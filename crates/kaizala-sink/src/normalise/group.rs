//! `GroupAdded`/`GroupRemoved` → `groups`; groups as the API lists them.

use kaizala_types::event::{EventType, GroupEventData};
use kaizala_types::groups::{GroupInfo, SubGroup};

use super::Envelope;
use crate::write::Arg;

/// A row of `groups`. `None` columns leave what is stored as it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GroupRow {
    pub group_id: String,
    pub group_name: Option<String>,
    pub group_type: Option<String>,
    pub image_url: Option<String>,
    pub parent_group_id: Option<String>,
    pub welcome_message: Option<String>,
    pub member_count: Option<i64>,
    pub user_count: Option<i64>,
    /// `Some(Some(t))`: removed at `t`; `Some(None)`: present again; `None`:
    /// unchanged.
    pub removed_at: Option<Option<i64>>,
    pub seen_at: i64,
    /// When it was first seen, if before `seen_at` (rows of a 0.1 database).
    pub first_seen: Option<i64>,
}

impl GroupRow {
    /// The values of `groups`' columns, in order.
    pub fn args(self) -> Vec<Arg> {
        vec![
            self.group_id.into(),
            self.group_name.into(),
            self.group_type.into(),
            self.image_url.into(),
            self.parent_group_id.into(),
            self.welcome_message.into(),
            self.member_count.into(),
            self.user_count.into(),
            self.removed_at.flatten().into(),
            self.first_seen.unwrap_or(self.seen_at).into(),
            self.seen_at.into(),
        ]
    }
}

/// The group added to (or removed from) the watched group's hierarchy;
/// `None` when the event does not name it.
pub(crate) fn from_event(
    envelope: &Envelope<'_>,
    data: Option<&GroupEventData>,
) -> Option<GroupRow> {
    let data = data?;
    let removed = *envelope.event.event_type() == EventType::GroupRemoved;
    Some(GroupRow {
        group_id: data.group_id.as_ref()?.to_string(),
        group_name: data.group_name.clone(),
        group_type: None,
        image_url: data.group_image_url.clone(),
        parent_group_id: data
            .parent_group_id
            .as_ref()
            .map(|g| g.to_string())
            .or_else(|| envelope.group_id.clone()),
        welcome_message: None,
        member_count: None,
        user_count: None,
        removed_at: Some(removed.then_some(envelope.received_at)),
        seen_at: envelope.received_at,
        first_seen: None,
    })
}

/// A group as `GET /groups` lists it.
pub(crate) fn from_info(info: &GroupInfo, seen_at: i64) -> GroupRow {
    GroupRow {
        group_id: info.group_id.to_string(),
        group_name: info.group_name.clone(),
        group_type: info.group_type.as_ref().map(|t| t.to_string()),
        image_url: info.group_image_url.clone(),
        parent_group_id: None,
        welcome_message: info.welcome_message.clone(),
        member_count: info
            .current_level_user_count
            .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        user_count: info
            .user_count
            .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        removed_at: None,
        seen_at,
        first_seen: None,
    }
}

/// A sub-group as listed under `parent`.
pub(crate) fn from_sub_group(sub: &SubGroup, parent: &str, seen_at: i64) -> GroupRow {
    GroupRow {
        group_id: sub.group_id.to_string(),
        group_name: sub.group_name.clone(),
        group_type: sub.group_type.as_ref().map(|t| t.to_string()),
        image_url: sub.group_image_url.clone(),
        parent_group_id: Some(parent.to_owned()),
        welcome_message: sub.welcome_message.clone(),
        member_count: None,
        user_count: None,
        removed_at: None,
        seen_at,
        first_seen: None,
    }
}
