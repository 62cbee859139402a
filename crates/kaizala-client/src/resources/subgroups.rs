//! Sub-groups of a group.

use kaizala_core::Error;
use kaizala_core::ops::subgroups::{AddSubGroups, CreateSubGroup, ListSubGroups, RemoveSubGroup};
use kaizala_types::GroupId;
use kaizala_types::common::ResultResponse;
use kaizala_types::subgroups::{
    AddSubGroupsRequest, CreateSubGroupRequest, CreateSubGroupResponse, SubGroupList,
};

use crate::Client;

/// `client.group(id).sub_groups()`.
#[derive(Debug, Clone)]
pub struct SubGroups {
    pub(crate) client: Client,
    pub(crate) group_id: GroupId,
}

impl SubGroups {
    /// The sub-groups (every level when `all_levels`).
    pub async fn list(&self, all_levels: bool) -> Result<SubGroupList, Error> {
        self.client
            .execute(&ListSubGroups {
                group_id: self.group_id.clone(),
                fetch_all_groups: Some(all_levels),
            })
            .await
    }

    /// Creates a sub-group.
    pub async fn create(
        &self,
        request: CreateSubGroupRequest,
    ) -> Result<CreateSubGroupResponse, Error> {
        self.client
            .execute(&CreateSubGroup {
                group_id: self.group_id.clone(),
                request,
            })
            .await
    }

    /// Makes existing groups sub-groups of this one.
    pub async fn add(
        &self,
        groups: impl IntoIterator<Item = GroupId>,
    ) -> Result<ResultResponse, Error> {
        let request = AddSubGroupsRequest::new(groups);
        self.client
            .execute(&AddSubGroups {
                group_id: self.group_id.clone(),
                request,
            })
            .await
    }

    /// Detaches a sub-group (the group itself remains).
    pub async fn remove(&self, sub_group: impl Into<GroupId>) -> Result<ResultResponse, Error> {
        self.client
            .execute(&RemoveSubGroup {
                group_id: self.group_id.clone(),
                sub_group_id: sub_group.into(),
            })
            .await
    }
}
