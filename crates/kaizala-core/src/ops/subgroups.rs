//! Sub-groups.

use kaizala_types::GroupId;
use kaizala_types::common::ResultResponse;
use kaizala_types::subgroups::{
    AddSubGroupsRequest, CreateSubGroupRequest, CreateSubGroupResponse, SubGroupList,
};

endpoint! {
    /// `GET /groups/{groupId}/subGroups`.
    ListSubGroups => ListSubGroups -> SubGroupList {
        /// The parent group.
        path group_id: GroupId,
        /// Every level of the hierarchy, not only direct sub-groups.
        query_opt fetch_all_groups: bool = "fetchAllGroups",
    }
}

endpoint! {
    /// `POST /groups/{groupId}/subGroups`: creates a sub-group.
    CreateSubGroup => CreateSubGroup -> CreateSubGroupResponse {
        /// The parent group.
        path group_id: GroupId,
        /// The new sub-group's name, picture, members and welcome message.
        json request: CreateSubGroupRequest,
    }
}

endpoint! {
    /// `PUT /groups/{groupId}/subGroups`: makes existing groups sub-groups.
    AddSubGroups => AddSubGroups -> ResultResponse {
        /// The parent group.
        path group_id: GroupId,
        /// The ids of the existing groups to put under the parent.
        json request: AddSubGroupsRequest,
    }
}

endpoint! {
    /// `DELETE /groups/{groupId}/subGroups/{subGroupId}`: detaches a sub-group.
    RemoveSubGroup => RemoveSubGroup -> ResultResponse {
        /// The parent group.
        path group_id: GroupId,
        /// The sub-group to detach.
        path sub_group_id: GroupId,
    }
}
