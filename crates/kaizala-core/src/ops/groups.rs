//! Groups.

use kaizala_types::GroupId;
use kaizala_types::groups::{CreateGroupRequest, CreateGroupResponse, GroupList};

endpoint! {
    /// `POST /groups`: creates a group (or a managed public group).
    CreateGroup => CreateGroup -> CreateGroupResponse {
        /// The new group's name, welcome message, members and type.
        json request: CreateGroupRequest,
    }
}

endpoint! {
    /// `GET /groups`: the groups the token can reach.
    #[derive(Default)]
    ListGroups => ListGroups -> GroupList {
        /// Return every detail (counts, flags).
        query_opt show_detail: bool = "showDetail",
        /// Return sub-groups as well as parents.
        query_opt fetch_all_groups: bool = "fetchAllGroups",
    }
}

endpoint! {
    /// `GET /groups/{groupId}`: one group.
    GetGroup => GetGroup -> GroupList {
        /// The group to read.
        path group_id: GroupId,
    }
}
